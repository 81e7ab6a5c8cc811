"""Resuming, reviewed: the checkpoints' code identity names Mesa and pyarrow; a one-seed ``run --seeds``
resumes whatever its progress display; an unreachable Dask scheduler is refused before a sweep writes
anything; the figures' sensitivity sweep keeps its finished runs for the next attempt."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import textwrap
import threading
from importlib import metadata

import pytest

from experiments import runner
from experiments.cli import main
from tests.experiments.test_resume_fixes import SWEEP  # a grid of two 3-day runs


@pytest.fixture
def same_code(monkeypatch):
    """The code fingerprint held at its value now, for a test that runs a command twice: an edit of the
    working tree between the attempts (another change in progress) must not make the test fail."""
    fingerprint = runner.code_fingerprint()
    monkeypatch.setattr(runner, "code_fingerprint", lambda: fingerprint)


# -- the code fingerprint: Mesa and pyarrow ------------------------------------------------------------------


@pytest.mark.parametrize("library", ["mesa", "pyarrow"])
def test_the_code_fingerprint_changes_with_the_version_of_mesa_or_pyarrow(monkeypatch, library):
    before = runner.code_fingerprint()
    assert f" {library} {metadata.version(library)}" in before
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.1" if name == library else real(name))
    after = runner.code_fingerprint()
    assert after != before and f" {library} 0.0.1" in after
    assert after.split()[:2] == before.split()[:2]  # the package version and the source hash are unchanged


def test_a_library_that_is_not_installed_is_named_with_a_stable_marker(monkeypatch):
    real = metadata.version

    def without_mesa(name):
        if name == "mesa":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", without_mesa)
    first, second = runner.code_fingerprint(), runner.code_fingerprint()
    assert first == second and f" mesa {runner.NOT_INSTALLED} " in first
    assert len(first.split()) % 2 == 0  # still "name version" pairs after the source hash, as _code_diff reads it


# -- run --seeds with one seed: progress display is not part of a result's identity ------------------------------

TINY = ["--days", "3", "--set", "hedge_funds.n_funds=20"]


@pytest.mark.parametrize(("first", "second"), [([], ["--quiet"]), (["--quiet"], []), ([], ["--no-progress"])])
def test_a_one_seed_command_resumes_with_other_progress_flags(tmp_path, monkeypatch, same_code, first, second):
    import model.results
    from experiments.cli.run import SEEDS_FILE, SEEDS_SUMMARY_FILE

    out = tmp_path / "seeds"
    argv = ["run", "--scenario", "risk_off", "--seeds", "1", *TINY, "--out", str(out)]
    shown: list[bool] = []  # the progress flag of every run the model made
    simulate = model.results.run_simulation

    def recording(*args, progress=False, **kwargs):
        shown.append(progress)
        return simulate(*args, progress=progress, **kwargs)

    monkeypatch.setattr(model.results, "run_simulation", recording)
    with monkeypatch.context() as patch:
        patch.setattr(runner.shutil, "rmtree", lambda *a, **k: None)  # keep the checkpoint, as if killed
        assert main(argv + first) == 0
    for table in (SEEDS_FILE, SEEDS_SUMMARY_FILE):  # killed before its tables were written
        (out / table).unlink()
    checkpoint = runner.beside(out)
    assert len(list(checkpoint.glob("*.pkl"))) == 1
    assert shown == [not first]  # one seed in this process: the model's bar unless --quiet

    assert main(argv + second) == 0
    assert shown == [not first]  # the seed was not run again
    assert (out / SEEDS_FILE).is_file() and not checkpoint.exists()


# -- an unreachable Dask scheduler: refused before anything is written --------------------------------------------


def _closed_port() -> int:
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    from experiments.sweeps import SweepError, parse_spec, run_sweep

    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT_SECONDS", 1.0)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    spec_path = tmp_path / "s.toml"
    spec_path.write_text(SWEEP)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec_path), "--out", str(out), "--scheduler", address, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"scheduler = {address!r} cannot be reached" in err
    assert "running Dask scheduler" in err
    assert not out.exists()
    with pytest.raises(SweepError, match="cannot be reached"):
        run_sweep(parse_spec(SWEEP, "s.toml"), out, scheduler=address, progress=False)
    assert not out.exists()


@pytest.mark.parametrize("greeting", [b"", b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 200 OK\r\n\r\nhello"])
def test_a_peer_that_is_not_a_scheduler_is_refused_in_one_line_within_the_deadline(greeting):
    """Something that accepts the connection but is not Dask (silent, an SSH banner, a web server) must
    not hang the probe or escape it as an exception: one line (the probe's own deadline, its timeout
    plus the time its process may take to start, ends a probe that hangs)."""
    pytest.importorskip("distributed")

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []

    def answer():
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                held.append(conn)
                if greeting:
                    conn.sendall(greeting)

    threading.Thread(target=answer, daemon=True).start()
    try:
        problem = runner.scheduler_connection_problem(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=1.0)
        assert isinstance(problem, str) and problem.strip() and "\n" not in problem
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_without_distributed_the_scheduler_is_not_probed(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # "import distributed" raises ImportError
    assert runner.scheduler_connection_problem("tcp://127.0.0.1:1") is None


# -- figures: the sensitivity sweep resumes ---------------------------------------------------------------------

TINY_SOBOL = textwrap.dedent(
    """\
    [sweep]
    name = "figure_sensitivity_test"
    scenario = "risk_off"
    days = 5
    design = "saltelli"
    samples = 8
    second_order = false
    replicates = 1
    base_seed = 1
    design_seed = 0
    metrics = ["usdjpy_max_fall_pct", "hf_gross_max_drawdown_pct"]

    [fixed]
    hedge_funds.n_funds = 20

    [parameters]
    hedge_funds.max_leverage = { range = [2.0, 20.0] }
    dealers.capacity_risk_elasticity = { range = [0.0, 2.0] }
    """
)  # 8 x (2 + 2) = 32 runs, in batches of 4


def test_an_interrupted_sensitivity_figure_resumes_from_its_finished_runs(tmp_path, monkeypatch, capsys, same_code):
    pytest.importorskip("SALib")
    from experiments.analysis.figures import sensitivity as figure
    from experiments.sweeps import executors, load_results

    monkeypatch.setattr(figure, "sensitivity_spec_text", lambda quick: TINY_SOBOL)
    ran: list[str] = []  # the run ids computed, over every attempt
    run_batch = executors.run_batch

    def counting(spec, tasks):
        ran.extend(t["run_id"] for t in tasks)
        return run_batch(spec, tasks)

    def interrupted_at_the_third_batch(spec, tasks):
        if len(ran) >= 8:
            raise KeyboardInterrupt
        return counting(spec, tasks)

    out = tmp_path / "figs"
    argv = ["figures", "--out", str(out), "--quick", "--only", "sensitivity"]
    checkpoint = runner.beside(out)
    with monkeypatch.context() as patch:
        patch.setattr(executors, "run_batch", interrupted_at_the_third_batch)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted; 8 of 32 runs of the sensitivity sweep are kept in " in err and "resumes" in err
    kept = list(checkpoint.glob("sensitivity-*/sweep"))  # the sweep runs in a folder of the checkpoint
    assert len(ran) == 8 and len(kept) == 1 and len(load_results(kept[0])) == 8  # the finished runs are kept

    monkeypatch.setattr(executors, "run_batch", counting)
    assert main(argv) == 0
    assert len(ran) == 32 and len(set(ran)) == 32  # the rerun did the other 24 runs only
    assert not checkpoint.exists()  # removed once the command completed

    fresh = tmp_path / "fresh"  # the same figure without an interruption: the same numbers
    assert main(["figures", "--out", str(fresh), "--quick", "--only", "sensitivity"]) == 0
    resumed, whole = (json.loads((d / "sensitivity.json").read_text()) for d in (out, fresh))
    assert resumed["data"] == whole["data"] and resumed["configuration"] == whole["configuration"]
    assert not runner.beside(fresh).exists()


def test_a_sweep_outside_a_resumable_command_keeps_nothing_beside_it(tmp_path):
    from experiments.sweeps import parse_spec, run_sweep

    run_sweep(parse_spec(SWEEP, "s.toml"), tmp_path / "sweep", executor="serial", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
