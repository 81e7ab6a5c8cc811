"""``carry-unwind run``: several seeds with a table over them, CSV export; runs of 3 days, 20 funds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.cli.run import HEADLINE, SEEDS_FILE, SEEDS_SUMMARY_FILE, seeds_summary
from model.results import load
from tests.support import seeds_run

TINY = ["--days", "3", "--set", "hedge_funds.n_funds=20", "--no-progress", "--quiet"]


@pytest.fixture(scope="module")
def three_seeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("seeds") / "risk_off"
    assert main(["run", "--scenario", "risk_off", "--seeds", "1-2,5", *TINY, "--out", str(out), "--csv"]) == 0
    return out


def test_each_seed_is_a_complete_run_in_its_own_directory(three_seeds):
    for seed in (1, 2, 5):
        run = load(three_seeds / f"seed-{seed}")
        assert run.seed == seed and run.days == 3
        csv = pd.read_csv(three_seeds / f"seed-{seed}" / "timeseries.csv")
        assert np.allclose(csv["usdjpy"], run.timeseries["usdjpy"], rtol=1e-12, atol=0)


def test_a_seed_of_a_multi_seed_run_equals_the_single_run(three_seeds, tmp_path):
    assert main(["run", "--scenario", "risk_off", "--seed", "2", *TINY, "--out", str(tmp_path / "one")]) == 0
    single = load(tmp_path / "one")
    pd.testing.assert_frame_equal(single.timeseries, load(three_seeds / "seed-2").timeseries)


def test_table_over_seeds_has_median_and_5_95_range_of_every_headline_figure(three_seeds, capsys):
    per_seed = pd.read_csv(three_seeds / SEEDS_FILE)
    assert list(per_seed["seed"]) == [1, 2, 5]
    table = pd.read_csv(three_seeds / SEEDS_SUMMARY_FILE)
    assert list(table.columns) == ["figure", "label", "n", "median", "p5", "p95"]
    assert list(table["figure"]) == [key for key, _ in HEADLINE]
    for row in table.itertuples():
        x = per_seed[row.figure].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        assert row.n == len(x)
        assert row.median == pytest.approx(np.median(x))
        # the 5th and 95th percentiles, linearly interpolated between the seeds' sorted values
        s = np.sort(x)
        for q, got in ((5, row.p5), (95, row.p95)):
            rank = q / 100 * (len(s) - 1)
            lo = int(math.floor(rank))
            hi = min(lo + 1, len(s) - 1)
            assert got == pytest.approx(s[lo] + (rank - lo) * (s[hi] - s[lo]))


def test_seeds_summary_skips_undefined_values():
    per_seed = pd.DataFrame({key: [1.0, np.nan, 3.0] for key, _ in HEADLINE})
    table = seeds_summary(per_seed)
    assert (table["n"] == 2).all() and (table["median"] == 2.0).all()


def test_seeds_go_through_the_shared_runner_and_pickle_for_its_workers(three_seeds, tmp_path, monkeypatch):
    """Workers get each task pickled; the runner's executors agree (tests/experiments/test_runner.py)."""
    import pickle

    import experiments.runner as runner

    calls = []

    def recording(fn, tasks, **kwargs):
        tasks = [pickle.loads(pickle.dumps(t)) for t in tasks]  # what a worker process receives
        calls.append(kwargs["workers"])
        return [pickle.loads(pickle.dumps(fn))(t) for t in tasks]

    monkeypatch.setattr(runner, "run_tasks", recording)
    out = tmp_path / "par"
    assert main(["run", "--scenario", "risk_off", "--seeds", "1-2,5", *TINY, "--workers", "2", "--out", str(out)]) == 0
    assert calls == [2]
    pd.testing.assert_frame_equal(pd.read_csv(out / SEEDS_FILE), pd.read_csv(three_seeds / SEEDS_FILE))


def test_seeds_refuse_to_overwrite_without_force(three_seeds, capsys):
    assert main(["run", "--scenario", "risk_off", "--seeds", "1-2,5", *TINY, "--out", str(three_seeds)]) == 2
    assert "--force" in capsys.readouterr().err


def test_force_replaces_the_runs_in_out_and_keeps_none_of_them_beside_the_new_seeds(tmp_path, capsys):
    """--seeds --force into a directory that holds one run, then other seeds: what was there is gone
    (a single run's files would still read as a run of OUT), and files run did not write are refused."""
    out = tmp_path / "out"
    assert main(["run", "--seed", "9", *TINY, "--out", str(out)]) == 0
    assert main(["run", "--seeds", "1-2", *TINY, "--force", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed-1", "seed-2", SEEDS_FILE, SEEDS_SUMMARY_FILE]
    assert main(["run", "--seeds", "3", *TINY, "--force", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed-3", SEEDS_FILE, SEEDS_SUMMARY_FILE]
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["run", "--seeds", "4", *TINY, "--force", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.txt" in err
    assert (out / "seed-3").is_dir() and (out / "notes.txt").read_text() == "mine"  # nothing removed


def test_an_interrupted_multi_seed_run_goes_on_from_its_finished_seeds(three_seeds, tmp_path, monkeypatch):
    """Seeds 1 and 5 finished before the interruption, seed 2 did not: the same command, run again
    without --force, runs seed 2 alone and writes the tables an uninterrupted run writes."""
    import pickle
    import shutil

    from experiments import runner

    out = tmp_path / "risk_off"
    argv = ["run", "--scenario", "risk_off", "--seeds", "1-2,5", *TINY, "--out", str(out)]
    with monkeypatch.context() as patch:
        patch.setattr(runner.shutil, "rmtree", lambda *a, **k: None)  # keep the checkpoint, as if killed
        assert main(argv) == 0
    checkpoint = tmp_path / "risk_off.checkpoint"
    (unfinished,) = [p for p in checkpoint.glob("*.pkl") if pickle.loads(p.read_bytes())["seed"] == 2]
    unfinished.unlink()
    shutil.rmtree(out / "seed-2")
    for table in (SEEDS_FILE, SEEDS_SUMMARY_FILE):
        (out / table).unlink()
    ran = seeds_run(monkeypatch)
    assert main(argv) == 0  # no --force needed: the command goes on
    assert ran == [2]
    pd.testing.assert_frame_equal(pd.read_csv(out / SEEDS_FILE), pd.read_csv(three_seeds / SEEDS_FILE))
    pd.testing.assert_frame_equal(load(out / "seed-2").timeseries, load(three_seeds / "seed-2").timeseries)
    assert not checkpoint.exists()


def test_check_every_day_reaches_the_run_and_changes_no_number(tmp_path, monkeypatch):
    import model.results as results

    seen = []
    monkeypatch.setattr(results, "_check_day", lambda model, where: seen.append(model.day))
    assert main(["run", "--seed", "4", *TINY, "--check-every-day", "--out", str(tmp_path / "a")]) == 0
    assert seen == [1, 2, 3]
    assert main(["run", "--seed", "4", *TINY, "--out", str(tmp_path / "b")]) == 0
    pd.testing.assert_frame_equal(load(tmp_path / "a").timeseries, load(tmp_path / "b").timeseries)
