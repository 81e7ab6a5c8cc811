"""The tutorial notebooks run top to bottom on the installed packages, and are committed without outputs.

Each notebook is executed with ``nbclient`` (what ``pytest --nbmake`` uses) in a kernel started from
this interpreter: a kernel spec named ``python3`` is written to a temporary directory that is put
first on ``JUPYTER_PATH``, so a ``python3`` kernel registered elsewhere (another Python, another
virtual environment) cannot be picked up instead. ``pytest --nbmake notebooks/`` runs them too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


# A probe run after a notebook's last cell, in its kernel, and what its printed output must satisfy: what the
# notebook shows, beyond that it runs. The quickstart's scatter marks the margin-called funds: some must be marked.
PROBES = {
    "01_quickstart.ipynb": (
        'print(sum(len(c.get_offsets()) for c in fig.axes[0].collections if c.get_label().startswith("margin call")))',
        lambda out: int(out) > 0,
        "the scatter of the funds after the shock marks no margin-called fund",
    ),
}


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory) -> Path:
    """A Jupyter data directory with a ``python3`` kernel spec that runs this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3 (carry-unwind tests)", "language": "python"})
    )
    return root


def test_the_four_tutorials_are_there():
    assert NAMES == [
        "01_quickstart.ipynb",
        "02_compare_scenarios.ipynb",
        "03_sweep_sensitivity.ipynb",
        "04_hypotheses.ipynb",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear the outputs"
            assert "sys.path" not in cell.source, f"{name}: import from the installed packages"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, kernel_path, monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # what the notebooks write goes away with the test
    for var in ("NUMBA_CACHE_DIR", "CARRY_UNWIND_NUMBA_BASE"):  # the kernel runs in notebooks/: keep the cache
        if os.environ.get(var):
            monkeypatch.setenv(var, str(Path(os.environ[var]).resolve()))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    probe = PROBES.get(name)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(probe[0]))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, f"{name}: no figure was displayed"
    if probe:
        out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream").strip()
        assert probe[1](out), f"{name}: {probe[2]} (probe printed {out!r})"
