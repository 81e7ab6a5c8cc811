"""The paper figures: every quick figure is written as PDF, PNG and sidecar with its provenance, at a
journal width, and the same command gives the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.analysis import figures
from experiments.analysis.style import ONE_COLUMN_IN, TWO_COLUMN_IN
from experiments.cli import main
from experiments.runner import code_fingerprint

PNG_DPI = 300


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    assert main(["figures", "--out", str(out), "--quick"]) == 0
    return out


def _pdf_string(raw: bytes, key: str) -> str:
    """The literal string of ``/key (...)`` in a PDF's document information, unescaped."""
    start = raw.index(f"/{key} (".encode()) + len(key) + 3
    out, i = bytearray(), start
    while raw[i : i + 1] != b")":
        if raw[i : i + 1] == b"\\":
            i += 1
        out += raw[i : i + 1]
        i += 1
    return out.decode("latin-1")


def test_help_describes_every_figure(capsys):
    assert main(["figures", "--help"]) == 0
    text = capsys.readouterr().out
    for name in figures.FIGURES:
        assert name in text


def test_unknown_figure_is_a_one_line_usage_error(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--only", "no_such_figure"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carry-unwind: error: --only: unknown figure 'no_such_figure'")
    assert "\n" not in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_each_figure_has_pdf_png_and_sidecar_with_provenance(quick_dir, name):
    from model import __version__
    from model.results import git_commit

    sidecar = json.loads((quick_dir / f"{name}.json").read_text())
    assert sidecar["figure"] == name and sidecar["quick"] is True
    assert sidecar["version"] == __version__
    assert sidecar["git_commit"] == git_commit()
    assert sidecar["code_fingerprint"] == code_fingerprint()
    assert sidecar["seeds"] and all(isinstance(s, int) for s in sidecar["seeds"])
    assert sidecar["configuration"] and sidecar["data"]
    assert sidecar["files"] == [f"{name}.pdf", f"{name}.png"]
    provenance = {k: v for k, v in sidecar.items() if k not in ("files", "data")}

    png = Image.open(quick_dir / f"{name}.png")
    assert png.text["Software"] == f"carry-unwind {__version__}"
    assert json.loads(png.text["Description"]) == provenance
    # printed at a one- or two-column width
    assert png.size[0] in (round(ONE_COLUMN_IN * PNG_DPI), round(TWO_COLUMN_IN * PNG_DPI))

    raw = (quick_dir / f"{name}.pdf").read_bytes()
    assert raw.startswith(b"%PDF")
    assert _pdf_string(raw, "Creator") == f"carry-unwind {__version__}"
    assert json.loads(_pdf_string(raw, "Subject")) == provenance
    assert b"/CreationDate" not in raw  # nothing in the file depends on when it was made
    assert b"/FontFile2" in raw  # TrueType fonts embedded (no Type 3)


def test_replay_draws_only_the_documented_observations(quick_dir):
    data = json.loads((quick_dir / "aug2024_replay.json").read_text())["data"]
    anchors = data["observed"]["anchors"]
    # both closes, as the model's USD/JPY is: the highest close before the fall and the 5 Aug close
    assert [(a["date"], a["usdjpy"]) for a in anchors] == [("2024-07-10", 161.7), ("2024-08-05", 144.0)]
    n = len(data["dates"])
    band = data["usdjpy"]
    assert len(band["median"]) == n
    assert all(lo <= m <= hi for lo, m, hi in zip(band["q05"], band["median"], band["q95"], strict=True))
    # the variant conditional on the Fed's repricing: its medians over the same days, named as conditional
    assert "conditional" in data["conditional"]["scenario"]
    assert len(data["conditional"]["usdjpy_median"]) == len(data["conditional"]["carry_index_median"]) == n
    assert data["conditional"]["usdjpy_median"][0] == band["median"][0]  # the same day 0


def test_band_is_the_median_and_the_5th_and_95th_percentiles_over_runs():
    from experiments.analysis.figures.settings import band

    # 21 runs, two days: run k is at k on day 0 and at -2k on day 1, so the sorted values are evenly spaced
    # and the 5th, 50th and 95th percentiles fall on the 2nd, 11th and 20th of them
    runs = np.arange(21.0)
    b = band(np.column_stack([runs, -2.0 * runs[::-1]]))
    assert b == {"q05": [1.0, -38.0], "median": [10.0, -20.0], "q95": [19.0, -2.0]}


def test_phase_diagram_grids_have_the_shape_of_leverage_by_trigger(quick_dir):
    data = json.loads((quick_dir / "phase_diagram.json").read_text())["data"]
    shape = (len(data["surprise_sd"]), len(data["max_leverage"]))
    for key in ("surge_on_pct", "surge_off_pct", "amplification"):
        assert (len(data[key]), len(data[key][0])) == shape
        assert np.all(np.isfinite(np.asarray(data[key], dtype=float)))
    assert data["reference"]["surprise_sd"] == 3.0  # the risk_off scenario's own surprise


def test_the_full_phase_grid_holds_the_risk_off_cell_at_the_default_leverage_cap():
    """The paper figure outlines the cell that is the risk_off scenario; the default cap moved (11.5 to
    12.19, then 7.643, 8.124, 5.913 and 5.563) off a grid written by hand once, and the outline and its legend entry
    vanished silently."""
    from experiments.analysis.figures.phase import _reference_cell
    from experiments.analysis.figures.settings import PHASE_GRID
    from model.config import ModelConfig

    levs, jumps = PHASE_GRID[False]
    ref = {"max_leverage": ModelConfig().hedge_funds.max_leverage, "surprise_sd": 3.0}
    cell = _reference_cell({"reference": ref, "max_leverage": levs, "surprise_sd": jumps})
    assert cell is not None and levs[cell[0]] == ref["max_leverage"] and jumps[cell[1]] == 3.0
    assert (
        _reference_cell({"reference": {**ref, "max_leverage": 11.5}, "max_leverage": levs, "surprise_sd": jumps})
        is None
    )


def test_same_command_gives_the_same_numbers(quick_dir, tmp_path):
    name = "fiscal_vs_monetary"
    figures.write_figure(name, tmp_path, quick=True)
    again = json.loads((tmp_path / f"{name}.json").read_text())
    first = json.loads((quick_dir / f"{name}.json").read_text())
    assert again["data"] == first["data"]
    assert again["seeds"] == first["seeds"] and again["configuration"] == first["configuration"]


def test_plot_functions_take_axes_and_return_them():
    from matplotlib.figure import Figure

    replay = figures.replay_paths([1, 2], days=30)
    a, b = Figure().subplots(1, 2)
    assert figures.plot_replay_usdjpy(replay, a) is a
    assert figures.plot_replay_carry(replay, b) is b
    assert a.get_title(loc="left") == "USD/JPY"
