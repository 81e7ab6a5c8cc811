"""Resuming without mixing: ``run --seeds`` after a kill, checkpoints kept on a failed exit status, a
validation's scenario file in its tasks, sweeps resumed only by their code, reproducible Sobol'
intervals, scheduler addresses checked before anything is written, and outputs written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import runner
from experiments.cli import main
from experiments.cli.run import SEEDS_FILE, SEEDS_SUMMARY_FILE
from tests.support import seeds_run

TINY = ["--days", "3", "--set", "hedge_funds.n_funds=20", "--no-progress", "--quiet"]


def _seeds_argv(out: Path, seeds: str = "1-2", *extra: str) -> list[str]:
    return ["run", "--scenario", "risk_off", "--seeds", seeds, *TINY, "--out", str(out), *extra]


def _killed_after_seed_1(out: Path, monkeypatch) -> Path:
    """``run --seeds 1-2`` as a kill after its first seed leaves it: seed 1 written and recorded in the
    checkpoint, seed 2 neither, no tables."""
    import shutil

    with monkeypatch.context() as patch:
        patch.setattr(runner.shutil, "rmtree", lambda *a, **k: None)  # keep the checkpoint, as if killed
        assert main(_seeds_argv(out)) == 0
    checkpoint = out.with_name(out.name + ".checkpoint")
    (second,) = [p for p in checkpoint.glob("*.pkl") if pickle.loads(p.read_bytes())["seed"] == 2]
    second.unlink()
    shutil.rmtree(out / "seed-2")
    for table in (SEEDS_FILE, SEEDS_SUMMARY_FILE):
        (out / table).unlink()
    return checkpoint


# -- run --seeds: a killed writer's leftovers, and other settings -----------------------------------------


def test_a_seed_directory_left_half_written_by_a_kill_does_not_block_the_rerun(tmp_path):
    out = tmp_path / "seeds"
    (out / ".seed-1.tmp-k1lled0x").mkdir(parents=True)  # killed while writing the first seed: no checkpoint
    (out / ".seed-1.tmp-k1lled0x" / "timeseries.parquet").write_bytes(b"part")
    (out / ".tmp-0123abcd-seeds.csv").write_text("part")  # killed while writing a table
    assert main(_seeds_argv(out)) == 0  # no --force needed
    assert sorted(p.name for p in out.iterdir()) == ["seed-1", "seed-2", SEEDS_FILE, SEEDS_SUMMARY_FILE]


def test_a_resumed_command_removes_what_the_killed_attempt_left_half_written(tmp_path, monkeypatch):
    out = tmp_path / "seeds"
    checkpoint = _killed_after_seed_1(out, monkeypatch)
    (out / ".seed-2.tmp-k1lled0x").mkdir()
    (out / ".seed-2.old-k1lled0x").mkdir()
    assert main(_seeds_argv(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed-1", "seed-2", SEEDS_FILE, SEEDS_SUMMARY_FILE]
    assert not checkpoint.exists()


def test_a_command_with_other_settings_does_not_resume_another_ones_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "seeds"
    checkpoint = _killed_after_seed_1(out, monkeypatch)
    capsys.readouterr()
    other = ["run", "--scenario", "risk_off", "--seeds", "4-5", "--days", "4", "--set", "hedge_funds.n_funds=20",
             "--no-progress", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(other) == 2
    (err,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]  # one line
    assert "seeds 1,2 there, 4,5 here" in err and "3 trading days there, 4 here" in err
    assert "--force" in err
    assert main(_seeds_argv(out, "1-2", "--set", "hedge_funds.max_leverage=3")) == 2  # same seeds and days
    assert "another configuration" in capsys.readouterr().err
    assert not (out / "seed-4").exists() and checkpoint.is_dir()  # nothing written, the checkpoint kept
    assert main(other + ["--force"]) == 0  # --force replaces the unfinished command's runs
    assert not checkpoint.exists()


def test_a_seed_that_fails_keeps_the_finished_seeds_for_the_next_attempt(tmp_path, monkeypatch, capsys):
    import model.results

    out = tmp_path / "seeds"
    write_run = model.results.write_run

    def fails_for_seed_2(result, where):
        if result.seed == 2:
            raise OSError(28, "No space left on device")
        return write_run(result, where)

    with monkeypatch.context() as patch:
        patch.setattr(model.results, "write_run", fails_for_seed_2)
        assert main(_seeds_argv(out)) == 1
    assert "seed 2" in capsys.readouterr().err
    checkpoint = out.with_name(out.name + ".checkpoint")
    assert len(list(checkpoint.glob("*.pkl"))) == 1  # seed 1, kept although nothing raised out of the block
    ran = seeds_run(monkeypatch)
    assert main(_seeds_argv(out)) == 0
    assert ran == [2] and not checkpoint.exists()


# -- the checkpoint is let go only when the command completed ------------------------------------------------


def test_a_checkpoint_marked_kept_survives_a_block_that_ends_without_an_error(tmp_path):
    where = tmp_path / "out.checkpoint"
    with runner.resumable(where) as checkpoint:
        runner.run_tasks(abs, [-1, 2])
        checkpoint.keep()
    assert len(list(where.glob("*.pkl"))) == 2
    with runner.resumable(where) as checkpoint:
        assert runner.run_tasks(abs, [-1, 2]) == [1, 2] and checkpoint.found == 2
    assert not where.exists()


def test_a_figures_command_that_fails_keeps_its_checkpoint(tmp_path):
    from experiments.cli.figures import _failed

    where = tmp_path / "figs.checkpoint"
    with runner.resumable(where):
        runner.run_tasks(abs, [-1])
        assert _failed("cannot write to figs: No space left on device") == 1
    assert len(list(where.glob("*.pkl"))) == 1


def test_a_command_that_returns_a_failed_status_keeps_its_checkpoint(tmp_path, capsys):
    """validate cannot write its report (a directory stands where validation.json goes): it exits 1, and
    its finished runs stay for the next attempt, which resumes from them."""
    from experiments.cli import main

    out = tmp_path / "v"
    (out / "validation.json" / "x").mkdir(parents=True)
    args = ["validate", "--out", str(out), "--seeds", "2", "--days", "150", "--burn-in", "40", "--episode-days", "29",
            "--no-progress", "--quiet"]  # fmt: skip
    assert main(args) == 1
    checkpoint = out.with_name(out.name + ".checkpoint")
    assert len(list(checkpoint.glob("*.pkl"))) >= 4  # two seeds of the baseline and of the episode at least
    (out / "validation.json" / "x").rmdir()
    (out / "validation.json").rmdir()
    assert main(args) == 0 and not checkpoint.exists()


def test_a_command_with_other_settings_leaves_another_ones_checkpoint_for_it(tmp_path):
    """A second command into the same OUT (``figures --only`` after a stopped ``figures``) reuses the
    stopped command's finished runs, and on completing leaves them, and its record, for that command."""
    where = tmp_path / "figs.checkpoint"
    whole, part = {"command": "figures", "only": None}, {"command": "figures", "only": "fan"}
    with runner.resumable(where, whole) as checkpoint:
        runner.run_tasks(abs, [-1, -2])
        checkpoint.keep()  # stopped
    with runner.resumable(where, part) as checkpoint:
        assert runner.run_tasks(abs, [-2, -3]) == [2, 3] and checkpoint.found == 1
    assert len(list(where.glob("*.pkl"))) == 3 and runner.checkpoint_settings(where) == whole
    with runner.resumable(where, whole) as checkpoint:  # the stopped command, again: it completes
        assert runner.run_tasks(abs, [-1, -2]) == [1, 2] and checkpoint.found == 2
    assert not where.exists()


def test_a_cli_command_into_a_stopped_ones_out_keeps_its_finished_runs(tmp_path, monkeypatch):
    """``validate`` stopped after its runs, then a ``validate`` with other seeds into the same OUT: the
    stopped one's runs are still there after the second completes, and the first, again, removes them."""
    out = tmp_path / "v"
    first = ["validate", "--out", str(out), "--seeds", "2", "--days", "150", "--burn-in", "40", "--episode-days",
             "29", "--no-progress", "--quiet"]  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(runner.shutil, "rmtree", lambda *a, **k: None)  # keep the checkpoint, as if killed
        assert main(first) == 0
    checkpoint = runner.beside(out)
    kept = {p.name for p in checkpoint.glob("*.pkl")}
    assert len(kept) >= 4
    second = [a if a != "2" else "3" for a in first]  # --seeds 3 (validate takes two at least)
    assert main(second) == 0
    assert kept <= {p.name for p in checkpoint.glob("*.pkl")}  # nothing of the first command's was removed
    assert main(first + ["--workers", "1"]) == 0  # the first command again (a runtime option changed)
    assert not checkpoint.exists()


# -- validate: the episode scenario's contents are part of each task ----------------------------------------


def test_validation_tasks_carry_the_episode_files_hash_and_runs_are_unchanged(tmp_path, monkeypatch):
    from experiments.analysis import validation

    scenario = tmp_path / "sentiment_shock.toml"
    scenario.write_text('name = "sentiment_shock"\n\n[[events]]\nday = 2\nkind = "risk_shock"\nlog_jump = 0.5\n')
    seen = []

    def capture(tasks, workers, progress):
        seen.append(list(tasks))
        raise KeyboardInterrupt  # stop before any run

    def episode_tasks() -> list[tuple]:
        """The episode's tasks of a validation run started now."""
        seen.clear()
        monkeypatch.setattr(validation, "_run_all", capture)
        with pytest.raises(KeyboardInterrupt):
            validation.run_validation(tmp_path / "v", seeds=2, days=400, episode_scenario=str(scenario), episode_days=5)
        return [t for t in seen[0] if t[0] == str(scenario)]

    episode = episode_tasks()
    assert len(episode) == 2
    assert all(t[4] == hashlib.sha256(scenario.read_bytes()).hexdigest() for t in episode)
    before = runner.Checkpoint(tmp_path / "c").key(validation.run_one, episode[0])
    scenario.write_text(scenario.read_text().replace("0.5", "0.7"))  # the file edited between two attempts
    after = runner.Checkpoint(tmp_path / "c").key(validation.run_one, episode_tasks()[0])
    assert before != after  # a stored run of the old file is not found

    # the hash changes nothing in the run itself, and a file edited after its task was made is refused
    task = (str(scenario), 3, 5, {"hedge_funds__n_funds": 20})
    digest = hashlib.sha256(scenario.read_bytes()).hexdigest()
    plain, hashed = validation.run_one(task), validation.run_one((*task, digest))
    assert plain.keys() == hashed.keys()
    for key in plain:
        np.testing.assert_array_equal(plain[key], hashed[key])
    with pytest.raises(ValueError, match="changed while validate ran"):
        validation.run_one((*task, "0" * 64))


# -- sweeps: resumed only by the code that started them ------------------------------------------------------

SWEEP = """
[sweep]
design = "grid"
days = 3
metrics = ["usdjpy_max_fall_pct"]
[fixed]
hedge_funds.n_funds = 20
[parameters]
hedge_funds.max_leverage = { range = [2.0, 4.0], num = 2 }
"""


def test_a_sweep_started_by_other_code_is_not_resumed(tmp_path, monkeypatch):
    from experiments.sweeps import SpecError, parse_spec, run_sweep
    from experiments.sweeps.store import code_identity, load_manifest

    spec = parse_spec(SWEEP, "s.toml")
    out = tmp_path / "sweep"
    run_sweep(spec, out, executor="serial", progress=False)
    manifest = load_manifest(out)
    assert manifest["code_fingerprint"] == runner.code_fingerprint() == code_identity()["code_fingerprint"]
    monkeypatch.setattr(runner, "code_fingerprint", lambda: manifest["code_fingerprint"].replace("numpy", "numpy 0"))
    with pytest.raises(SpecError, match="the code differs from the code that ran the sweep .* another --out"):
        run_sweep(spec, out, executor="serial", resume=True, progress=False)


def test_a_malformed_scheduler_address_is_one_line_and_writes_nothing(tmp_path, capsys):
    from experiments.sweeps import SpecError, parse_spec, run_sweep

    spec_path = tmp_path / "s.toml"
    spec_path.write_text(SWEEP)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec_path), "--out", str(out), "--scheduler", "bogus", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler = 'bogus' is not allowed" in err and "HOST:PORT" in err
    with pytest.raises(SpecError, match="scheduler = 'tcp://bogus' is not allowed"):
        run_sweep(parse_spec(SWEEP, "s.toml"), out, scheduler="tcp://bogus", progress=False)
    assert not out.exists()
    assert runner.scheduler_address_problem("tcp://10.0.0.5:8786") is None
    assert runner.scheduler_address_problem("[::1]:8786") is None


# -- Sobol' confidence intervals are reproducible -------------------------------------------------------------


def test_sobol_confidence_intervals_do_not_depend_on_the_global_random_state():
    from experiments.analysis.sensitivity import analyze
    from experiments.sweeps import design_table, make_tasks, parse_spec

    spec = parse_spec(
        textwrap.dedent(
            """
            [sweep]
            design = "saltelli"
            samples = 64
            metrics = ["usdjpy_max_fall_pct"]
            [parameters]
            hedge_funds.max_leverage = { range = [2.0, 20.0] }
            hedge_funds.trend_share = { range = [0.0, 0.5] }
            """
        ),
        "s.toml",
    )
    design = design_table(spec)
    rows = [
        {"run_id": t["run_id"], "point": t["point"], "replicate": t["replicate"], "seed": t["seed"], **t["params"],
         "usdjpy_max_fall_pct": t["params"]["hedge_funds.max_leverage"] + 10 * t["params"]["hedge_funds.trend_share"],
         "status": "ok", "error": None}
        for t in make_tasks(spec, design)
    ]  # fmt: skip
    results = pd.DataFrame(rows)
    np.random.seed(1)
    first = analyze(results, spec).table
    np.random.seed(2)
    second = analyze(results, spec).table
    pd.testing.assert_frame_equal(first, second, check_exact=True)


# -- outputs are written atomically ------------------------------------------------------------------------


@pytest.fixture
def atomic_paths(monkeypatch):
    """The paths written through experiments.runner.atomic_write (a temporary file, then a rename).

    The writers are imported first, as a whole test run has them: a module that took its own reference to
    atomic_write at import would then keep the original, and its writes would not be seen here."""
    import experiments.sweeps.store  # noqa: F401

    written: list[Path] = []
    original = runner.atomic_write

    def recording(path, write):
        written.append(Path(path))
        return original(path, write)

    monkeypatch.setattr(runner, "atomic_write", recording)
    return written


def test_a_figure_interrupted_while_saved_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from experiments.analysis.plots import save_figure

    path = tmp_path / "overview.png"
    path.write_bytes(b"previous")
    fig = Figure()
    fig.subplots().plot([0, 1])

    def killed(self, fname, **kw):
        with open(fname, "wb") if isinstance(fname, (str, Path)) else contextlib.nullcontext(fname) as f:
            f.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", killed)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, path)
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["overview.png"]


def test_the_run_tables_figures_and_sensitivity_outputs_are_written_atomically(tmp_path, atomic_paths):
    from matplotlib.figure import Figure

    from experiments.analysis.figures.registry import save_with_provenance
    from experiments.analysis.hypotheses_report import save_figure_atomic
    from experiments.analysis.sensitivity import SensitivityResult, write_outputs

    out = tmp_path / "seeds"
    assert main(_seeds_argv(out)) == 0
    assert {out / SEEDS_FILE, out / SEEDS_SUMMARY_FILE} <= set(atomic_paths)

    fig = Figure()
    fig.subplots().plot([0, 1])
    provenance = {"title": "t", "version": "0", "git_commit": None}
    assert set(save_with_provenance(fig, tmp_path, "f", provenance, {"x": [1]})) <= set(atomic_paths)
    assert save_figure_atomic is runner.save_figure_atomic  # hN.png of the hypotheses report

    table = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.1, 0.2], "S1_conf": [0.01, 0.02], "ST": [0.1, 0.3],
                          "ST_conf": [0.01, 0.02]})  # fmt: skip
    result = SensitivityResult("sobol", "usdjpy_max_fall_pct", table, None, "s", 8, 1, 0.95, 100)
    assert set(write_outputs(result, tmp_path / "sens")) <= set(atomic_paths)


def test_a_sweeps_files_are_written_atomically(tmp_path, atomic_paths):
    """The sweep's store writes through experiments.runner.atomic_write, looked up at each call. Before, it had
    imported its own reference, so the fixture's replacement saw none of its writes and this test failed."""
    from experiments.sweeps import parse_spec, run_sweep

    spec = parse_spec(SWEEP.replace("days = 3", "days = 3\ntimeseries = true"), "s.toml")
    out = tmp_path / "sweep"
    run_sweep(spec, out, executor="serial", progress=False, spec_text=SWEEP)
    files = {out / name for name in ("spec.toml", "manifest.json", "design.parquet")}
    files |= set((out / "runs").glob("part-*.parquet")) | set((out / "timeseries").glob("*.parquet"))
    assert len(files) == 3 + 1 + 2 and files <= set(atomic_paths)
