"""Parameter sweeps: specifications, designs, metrics, executors, storage, resume.

The runs are tiny (20 funds, 30 days) so that the whole file takes seconds of simulation; the
time goes into starting worker processes and a Dask LocalCluster, which the tests of executor
equivalence need to be real.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.metrics import METRICS, run_metrics
from experiments.cli import main
from experiments.sweeps import (
    SpecError,
    design_table,
    load_manifest,
    load_results,
    load_spec,
    make_tasks,
    parse_spec,
    replicate_seed,
    run_one,
    run_sweep,
    spec_to_toml,
    to_xarray,
)

ROOT = Path(__file__).resolve().parents[2]

TINY = """
[sweep]
name = "tiny"
design = "grid"
days = 30
replicates = 2
metrics = ["usdjpy_max_fall_pct", "hf_margin_calls_total", "hf_gross_max_drawdown_pct", "mof_intervention_jpy_tn"]

[fixed]
hedge_funds.n_funds = 20

[parameters]
hedge_funds.max_leverage = { values = [2.0, 10.0] }
hedge_funds.trend_share = { range = [0.0, 0.5], num = 3 }
"""


def assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal bit for bit: exact float comparison (assert_frame_equal's default has a tolerance)."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The tiny sweep run serially in this process (also compiles the kernels before any worker starts)."""
    tmp = tmp_path_factory.mktemp("reference")
    spec_path = write(tmp, TINY)
    run_sweep(load_spec(spec_path), tmp / "out", executor="serial", progress=False)
    return spec_path, load_results(tmp / "out")


# -- specification ------------------------------------------------------------------------------


def spec_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    return str(info.value)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("hedge_funds.max_leverage", "hedge_funds.max_levrage"), "did you mean 'hedge_funds.max_leverage'"),
        (("hedge_funds.max_leverage", "hedging.max_leverage"), "unknown parameter 'hedging.max_leverage'"),
        (("[2.0, 10.0]", "[2.0, 200.0]"), "hedge_funds.max_leverage: value 200.0: hedge_funds.max_leverage"),
        (("range = [0.0, 0.5]", "range = [0.0, 1.5]"), "hedge_funds.trend_share: upper bound 1.5"),
        (("range = [0.0, 0.5]", "range = [0.5, 0.0]"), "expected lo < hi"),
        ((", num = 3", ""), "the grid design needs 'num'"),
        (('design = "grid"', 'design = "factorial"'), "design = 'factorial' is not allowed"),
        (('design = "grid"', 'design = "sobol"\nsamples = 12'), "needs a power of two"),
        (('design = "grid"', 'design = "lhs"'), "the lhs design needs samples"),
        (('design = "grid"', 'design = "saltelli"\nsamples = 8'), "needs a continuous 'range"),
        (('"hf_margin_calls_total"', '"hf_margin_calls"'), "unknown metric 'hf_margin_calls'"),
        (("replicates = 2", "replicates = 0"), "replicates = 0 is not allowed"),
        (("replicates = 2", "replicate = 2"), "unknown key 'replicate' in [sweep] (did you mean 'replicates'?)"),
        (("hedge_funds.n_funds = 20", "hedge_funds.n_funds = 0"), "[fixed]: hedge_funds.n_funds = 0"),
        (("hedge_funds.n_funds = 20", "hedge_funds.trend_share = 0.1"), "both in [fixed] and in [parameters]"),
        (("days = 30", 'days = 30\nscenario = "no_such_scenario"'), "unknown scenario 'no_such_scenario'"),
        (("[fixed]", "[fixd]"), "unknown table 'fixd'"),
        (("name = ", "name = = "), "malformed TOML"),
    ],
)
def test_bad_specifications_are_rejected_naming_the_culprit(tmp_path, edit, expected):
    old, new = edit
    assert old in TINY
    message = spec_error(tmp_path, TINY.replace(old, new, 1))
    assert expected in message
    assert message.startswith(str(tmp_path / "spec.toml"))


def test_spec_round_trips_through_its_dict_and_toml(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    from experiments.sweeps import SweepSpec

    assert SweepSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()
    again = parse_spec(spec_to_toml(spec), "again.toml")
    assert again.digest() == spec.digest()


def test_scenario_file_is_read_relative_to_the_spec_and_embedded(tmp_path):
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "calm.toml").write_text('name = "calm"\n[overrides.market]\nrisk_news_sd = 0.01\n')
    spec = load_spec(write(tmp_path, TINY.replace("days = 30", 'days = 30\nscenario = "scen/calm.toml"')))
    assert "risk_news_sd = 0.01" in spec.scenario_text
    row = run_one(spec.to_dict(), make_tasks(spec, design_table(spec))[0])
    assert row["status"] == "ok", row["error"]


# -- designs ------------------------------------------------------------------------------------


def test_grid_is_the_full_product_with_the_last_parameter_fastest(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    d = design_table(spec)
    assert spec.n_points == len(d) == 6
    assert d["hedge_funds.max_leverage"].tolist() == [2.0, 2.0, 2.0, 10.0, 10.0, 10.0]
    assert d["hedge_funds.trend_share"].tolist() == [0.0, 0.25, 0.5] * 2
    assert d["point"].tolist() == list(range(6))


RANDOM_DESIGN = """
[sweep]
design = "{design}"
samples = {samples}
days = 30
[parameters]
hedge_funds.max_leverage = {{ range = [2.0, 20.0] }}
dealers.fx_capacity_usd_bn = {{ range = [100.0, 1600.0], log = true }}
hedge_funds.reentry_delay_days = {{ range = [20, 200] }}
"""


@pytest.mark.parametrize(
    ("design", "samples", "n_points"), [("lhs", 50, 50), ("sobol", 64, 64), ("saltelli", 16, 80), ("morris", 6, 24)]
)
def test_sampled_designs_stay_in_bounds_and_are_reproducible(tmp_path, design, samples, n_points):
    spec = load_spec(write(tmp_path, RANDOM_DESIGN.format(design=design, samples=samples)))
    d = design_table(spec)
    assert spec.n_points == len(d) == n_points
    assert d["hedge_funds.max_leverage"].between(2.0, 20.0).all()
    assert d["dealers.fx_capacity_usd_bn"].between(100.0, 1600.0).all()
    days = d["hedge_funds.reentry_delay_days"]
    assert days.dtype == np.int64 and days.between(20, 200).all()
    assert_identical(d, design_table(spec))
    if design in ("lhs", "sobol"):
        # log-uniform: as many points below the geometric midpoint as above it (to sampling noise)
        below = (np.log10(d["dealers.fx_capacity_usd_bn"]) < np.log10(400.0)).mean()
        assert 0.35 < below < 0.65
    if design == "lhs":  # one point in each of the n strata of every parameter
        u = (d["hedge_funds.max_leverage"] - 2.0) / 18.0
        assert sorted(np.floor(u * n_points).astype(int)) == list(range(n_points))


def test_replicates_share_seeds_across_points_and_run_ids_are_stable(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    tasks = make_tasks(spec, design_table(spec))
    assert len(tasks) == spec.n_runs == 12
    assert len({t["run_id"] for t in tasks}) == 12
    for r in range(spec.replicates):  # common random numbers
        assert {t["seed"] for t in tasks if t["replicate"] == r} == {replicate_seed(spec.base_seed, r)}
    assert replicate_seed(1, 0) != replicate_seed(2, 0)
    assert [t["run_id"] for t in make_tasks(spec, design_table(spec))] == [t["run_id"] for t in tasks]


# -- metrics ------------------------------------------------------------------------------------


def test_metrics_cover_every_name_and_reuse_the_headline_figures():
    from model.results import run_simulation

    result = run_simulation(seed=3, days=40, hedge_funds__n_funds=20)
    m = run_metrics(result.timeseries)
    assert list(m) == list(METRICS)
    assert all(isinstance(v, float) for v in m.values())
    s = result.summary
    assert m["usdjpy_max_fall_pct"] == s["usdjpy_max_fall_pct"]
    assert m["hf_margin_calls_total"] == s["hf_margin_calls_total"]
    usdjpy = result.timeseries["usdjpy"].to_numpy()
    assert m["usdjpy_worst_day_pct"] == pytest.approx(max(0.0, 100 * (1 - np.min(usdjpy[1:] / usdjpy[:-1]))))
    if m["usdjpy_max_fall_days"] > 0:
        assert m["usdjpy_max_fall_speed_pct_per_day"] == pytest.approx(
            m["usdjpy_max_fall_pct"] / m["usdjpy_max_fall_days"]
        )


def test_every_metric_of_a_hand_built_time_series_is_its_hand_computed_value():
    """Every entry of ``METRICS`` on an 11-day time series built here, against numbers worked out by hand
    (in the comments): the largest fall and surge of USD/JPY, its worst day and worst five-day fall (its worst
    four-day fall differs), the carry stock's trough day and days from peak to trough (its peak is not day 0),
    the funds' equity drawdown in %, the UST yield's largest rise above and fall below its day-0 level (of
    different sizes), and the counts, peaks and means the sweep takes from the headline figures. The return
    moments are the textbook formulas (SciPy's bias-corrected kurtosis), computed here from the path."""
    from scipy.stats import kurtosis

    usdjpy = np.array([100.0, 120, 118, 115, 112, 110, 96, 102, 108, 105, 90])
    ts = pd.DataFrame(
        {
            "day": np.arange(11),
            "usdjpy": usdjpy,
            "hf_gross_usd_bn": [50.0, 55, 60, 58, 45, 40, 42, 48, 52, 56, 59],
            "hf_equity_usd_bn": [10.0, 12, 9, 11, 13, 10.4, 11, 12, 12.5, 11.7, 12],
            "hf_margin_calls": [0, 0, 0, 0, 2, 3, 1, 0, 0, 0, 0],
            "hf_failures": [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
            "hf_alive": [20, 20, 20, 20, 20, 20, 19, 19, 19, 19, 18],
            "risk_index": [1.0, 1.2, 1.1, 1.5, 2.0, 3.5, 2.8, 2.0, 1.6, 1.8, 3.0],
            "ust10y_yield": [0.0400, 0.0410, 0.0430, 0.0425, 0.0390, 0.0365, 0.0380, 0.0395, 0.0410, 0.0420, 0.0405],
            "jgb10y_yield": [0.0100, 0.0102, 0.0105, 0.0107, 0.0110, 0.0112, 0.0115, 0.0117, 0.0120, 0.0122, 0.0125],
            # day 0 is the initial state, not a clearing: its residual and iterations do not count
            "clearing_residual": [0.5, 1e-9, 2e-9, 4e-9, 1e-9, 3e-9, 1e-10, 2e-10, 1e-9, 5e-10, 1e-9],
            "clearing_iterations": [0, 3, 4, 3, 5, 6, 4, 3, 3, 4, 5],
            "mof_intervention_jpy_tn": [0.0, 0, 0, 0, 0, 0, 2.5, 1.5, 0, 0, 0],
        }
    )
    r = np.log(usdjpy[1:] / usdjpy[:-1])
    expected = {
        # USD/JPY peaks at 120 on day 1; its lowest close after that is 90 on day 10: 1 − 90/120 = 25 %, 9 days
        # (the whole run is shorter than the 60-day window, so the largest surge is the same fall)
        "usdjpy_surge_60d_pct": 25.0,
        "usdjpy_surge_60d_days": 9.0,
        "usdjpy_max_fall_pct": 25.0,
        "usdjpy_max_fall_days": 9.0,
        "usdjpy_max_fall_peak_day": 1.0,
        "usdjpy_max_fall_trough_day": 10.0,
        "usdjpy_max_fall_speed_pct_per_day": 25.0 / 9.0,
        # one-day falls: 96/110 (12.7 %) and 90/105, the worst: 1 − 90/105 = 1/7
        "usdjpy_worst_day_pct": 100.0 / 7.0,
        # five-day ratios s[t+5]/s[t]: 110/100, 96/120 = 0.8, 102/118, 108/115, 105/112, 90/110 = 0.818: 20 %
        # (the worst four-day fall, 96/118, is 18.6 %)
        "usdjpy_worst_week_pct": 20.0,
        "usdjpy_end": 90.0,
        "usdjpy_logret_sd": float(np.sqrt(np.sum((r - r.mean()) ** 2) / (len(r) - 1))),
        "usdjpy_logret_excess_kurtosis": float(kurtosis(r, fisher=True, bias=False)),
        # the carry stock peaks at 60 on day 2 (never regained) and troughs at 40 on day 5: 1/3, 3 days
        "hf_gross_max_drawdown_pct": 100.0 / 3.0,
        "hf_gross_trough_day": 5.0,
        "hf_gross_days_to_trough": 3.0,
        # equity: 12 → 9 (days 1-2) is 25 %; 13 → 10.4 (days 4-5) only 20 %
        "hf_equity_max_drawdown_pct": 25.0,
        "hf_margin_calls_total": 6.0,  # 2 + 3 + 1
        "hf_failures_total": 2.0,
        "hf_alive_end": 18.0,
        "mof_intervention_jpy_tn": 4.0,  # 2.5 + 1.5
        "mof_intervention_days": 2.0,
        "risk_index_peak": 3.5,
        # UST 10y from 4.00 %: ends at 4.05 % (+5 bp), highest 4.30 % (+30 bp), lowest 3.65 % (−35 bp)
        "ust10y_change_bp": 5.0,
        "ust10y_max_rise_bp": 30.0,
        "ust10y_max_fall_bp": 35.0,
        "jgb10y_change_bp": 25.0,  # 1.00 % → 1.25 %
        "clearing_residual_max": 4e-9,  # days 1-10 (day 0's 0.5 is no clearing)
        "clearing_iterations_mean": 4.0,  # (3+4+3+5+6+4+3+3+4+5)/10
    }
    assert set(expected) == set(METRICS)  # a metric added later must be added here
    m = run_metrics(ts)
    assert list(m) == list(METRICS) and all(isinstance(v, float) for v in m.values())
    for name, want in expected.items():
        assert m[name] == pytest.approx(want, rel=1e-9, abs=1e-15), name


def test_intervention_metric_picks_up_the_mof_column_when_it_exists():
    from model.results import run_simulation

    ts = run_simulation(seed=1, days=20, hedge_funds__n_funds=20).timeseries
    without = ts.drop(columns=["mof_intervention_jpy_tn"], errors="ignore")
    assert run_metrics(without)["mof_intervention_jpy_tn"] == 0.0
    assert run_metrics(without)["mof_intervention_days"] == 0.0
    flows = np.zeros(len(ts))
    flows[[5, 6, 9]] = [1.5, 2.0, 0.5]
    m = run_metrics(without.assign(mof_intervention_jpy_tn=flows))
    assert m["mof_intervention_jpy_tn"] == pytest.approx(4.0)
    assert m["mof_intervention_days"] == 3.0


# -- execution ----------------------------------------------------------------------------------


def test_results_are_identical_on_processes_and_on_a_dask_cluster(tmp_path, tiny_reference):
    from distributed import LocalCluster

    spec_path, reference = tiny_reference
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "local", executor="local", workers=2, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)

    assert (reference["status"] == "ok").all()
    key = ["run_id"]
    for name in ("local", "dask"):
        df = load_results(tmp_path / name)
        assert_identical(df.sort_values(key).reset_index(drop=True), reference.sort_values(key).reset_index(drop=True))
    # the runs really differ between points and replicates: equality is not trivially true
    assert reference["usdjpy_max_fall_pct"].nunique() > 6


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = load_spec(
        write(
            tmp_path,
            # thin FX liquidity and large customer flows: at the lowest real-money capacity a day moves
            # USD/JPY by more than the plausibility bound within days (a ClearingError), never at 2,800
            TINY.replace(
                "hedge_funds.trend_share = { range = [0.0, 0.5], num = 3 }",
                "real_money.capacity_usd_bn = { values = [2800.0, 300.0] }",
            ).replace(
                "hedge_funds.n_funds = 20",
                "hedge_funds.n_funds = 20\ndealers.fx_capacity_usd_bn = 20.0\nreal_money.trade_flow_sd_usd_bn = 40.0",
            ),
        )
    )
    report = run_sweep(spec, tmp_path / "out", executor="dask", workers=1, progress=False)
    assert report.complete and report.n_error == 4 and report.n_ok == 4
    df = load_results(tmp_path / "out")
    bad = df[df["real_money.capacity_usd_bn"] == 300.0]
    assert (bad["status"] == "error").all()
    assert bad["error"].str.startswith("ClearingError").all()
    assert bad["usdjpy_max_fall_pct"].isna().all()
    good = df[df["real_money.capacity_usd_bn"] == 2800.0]
    assert (good["status"] == "ok").all() and good["error"].isna().all()

    # a resume leaves failed runs alone; --retry-failed runs them again, without duplicating a row
    assert run_sweep(spec, tmp_path / "out", executor="serial", resume=True, progress=False).n_new == 0
    again = run_sweep(spec, tmp_path / "out", executor="serial", resume=True, retry_failed=True, progress=False)
    assert again.n_new == 4
    after = load_results(tmp_path / "out")
    assert after["run_id"].is_unique and len(after) == 8
    assert_identical(after, df)  # the same errors, deterministically


def _part_count(out: Path) -> int:
    runs = out / "runs"
    return len(list(runs.glob("part-*.parquet"))) if runs.is_dir() else 0


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_parts(proc: subprocess.Popen, out: Path, n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while _part_count(out) < n:
        assert proc.poll() is None, f"the sweep ended before it could be interrupted:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "no results were written in time"
        time.sleep(0.01)


def test_an_interrupted_and_killed_sweep_resumes_to_exactly_the_uninterrupted_result(tmp_path):
    spec_path = write(
        tmp_path,
        """
        [sweep]
        design = "grid"
        days = 120
        replicates = 6
        metrics = ["usdjpy_max_fall_pct", "hf_gross_max_drawdown_pct", "ust10y_change_bp"]
        [fixed]
        hedge_funds.n_funds = 200
        [parameters]
        hedge_funds.max_leverage = { range = [2.0, 20.0], num = 10 }
        """,
    )
    spec = load_spec(spec_path)
    run_sweep(spec, tmp_path / "reference", executor="serial", progress=False)
    reference = load_results(tmp_path / "reference")
    out = tmp_path / "out"

    # 1. Ctrl-C (SIGINT to the whole process group, as a terminal sends it) on the command line
    cli = [sys.executable, "-m", "experiments.cli", "sweep", str(spec_path), "--out", str(out), "--workers", "2"]
    proc = _start([*cli, "--no-progress"])
    _wait_for_parts(proc, out, 1)
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "--resume" in output and "Traceback" not in output
    n_interrupted = len(load_results(out))

    # 2. SIGKILL of the sweep and its workers (a killed machine), writing every batch as it lands
    code = (
        "from experiments.sweeps import load_spec, run_sweep; "
        f"run_sweep(load_spec({str(spec_path)!r}), {str(out)!r}, workers=2, resume=True, progress=False, "
        "flush_seconds=0)"
    )
    proc = _start([sys.executable, "-c", code])
    _wait_for_parts(proc, out, _part_count(out) + 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = load_results(out)
    assert n_interrupted < len(partial) < spec.n_runs
    assert partial["run_id"].is_unique

    # 3. resume to the end: every run exactly once, equal to the uninterrupted sweep
    report = run_sweep(spec, out, executor="serial", resume=True, progress=False)
    assert report.complete and report.n_new == spec.n_runs - len(partial)
    final = load_results(out)
    assert final["run_id"].is_unique
    assert set(final["run_id"]) == {t["run_id"] for t in make_tasks(spec, design_table(spec))}
    assert_identical(final, reference)
    sessions = load_manifest(out)["sessions"]
    # the killed session is on record (it was written before its first run), marked by the next one,
    # with the rows its part files hold
    assert [s["outcome"] for s in sessions] == ["interrupted", "killed", "complete"]
    assert sessions[1]["runs_written"] == len(partial) - n_interrupted
    assert sessions[2]["runs_written"] == spec.n_runs - len(partial)


def _pool_workers() -> list[int]:
    """Process ids of this process's multiprocessing workers (Linux /proc)."""
    pids = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            listed = children.read_text().split()
        except OSError:  # the thread ended since the glob
            continue
        for pid in listed:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:  # the process ended since it was listed (a helper process, a worker leaving)
                continue
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
    return pids


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the worker processes through /proc")
def test_a_killed_worker_process_is_replaced_and_no_run_is_lost(tmp_path, tiny_reference, caplog, monkeypatch):
    """A worker is killed right after the sweep wrote its first part, from inside that write (no thread
    racing the sweep): the batches not yet submitted then go to a pool that lost a worker."""
    from experiments.sweeps import executors
    from experiments.sweeps.store import SweepStore

    # the tiny sweep with longer runs, so that the surviving worker is still busy while the pool's
    # manager notices the death
    spec_path = write(tmp_path, TINY.replace("days = 30", "days = 150"))
    assert "days = 150" in spec_path.read_text()
    spec = load_spec(spec_path)
    # more one-run batches than the sweep keeps in flight (2 per worker), so when the first part is
    # written some are still waiting to be submitted: the sweep cannot end before it sees the dead worker
    assert len(executors._batches(list(range(spec.n_runs)), 2)) > 2 * 2
    run_sweep(spec, tmp_path / "reference", executor="serial", progress=False)
    reference = load_results(tmp_path / "reference")
    out = tmp_path / "out"
    killed: list[int] = []
    write_rows = SweepStore.write_rows

    def write_then_kill_a_worker(self, rows):
        write_rows(self, rows)
        if not killed:
            workers = _pool_workers()
            assert workers, "no worker process to kill after the first part"
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])

    monkeypatch.setattr(SweepStore, "write_rows", write_then_kill_a_worker)
    report = run_sweep(spec, out, executor="local", workers=2, progress=False, flush_seconds=0)
    assert len(killed) == 1
    assert "a worker process died; restarting the pool" in caplog.text
    assert report.complete
    df = load_results(out)
    assert df["run_id"].is_unique
    assert_identical(df, reference)


def test_an_output_directory_holds_one_sweep(tmp_path, tiny_reference):
    spec_path, _ = tiny_reference
    spec = load_spec(spec_path)
    out = tmp_path / "out"
    run_sweep(spec, out, executor="serial", progress=False)
    with pytest.raises(SpecError, match="pass --resume"):
        run_sweep(spec, out, executor="serial", progress=False)
    other = parse_spec(spec_to_toml(spec).replace("days = 30", "days = 31"), "other.toml")
    with pytest.raises(SpecError, match="days: 30 there, 31 here"):
        run_sweep(other, out, executor="serial", resume=True, progress=False)
    # a varied parameter's range changed: named, with the field that differs (not JSON cut mid-word)
    wider = parse_spec(spec_to_toml(spec).replace("range = [0.0, 0.5]", "range = [0.0, 0.4]"), "wider.toml")
    changed = r"parameters: parameter hedge_funds.trend_share: range \[0.0, 0.5\] there, \[0.0, 0.4\] here"
    with pytest.raises(SpecError, match=changed):
        run_sweep(wider, out, executor="serial", resume=True, progress=False)


@pytest.mark.parametrize("name", ["../../x", "a b", "", ".hidden", "x" * 101])
def test_a_sweep_name_is_checked_like_a_scenario_name(tmp_path, name):
    message = spec_error(tmp_path, TINY.replace('name = "tiny"', f"name = {name!r}".replace("'", '"')))
    assert f"name = {name!r} is not allowed; expected 1-100 letters, digits" in message


def test_a_directory_of_other_files_is_refused_and_left_as_it_was(tmp_path, tiny_reference):
    """A user's own spec.toml (the name the sweep gives its copy), or a run's files, would be overwritten
    or mixed with the sweep's: refused before anything is written there, the lock included."""
    spec_path, _ = tiny_reference
    spec = load_spec(spec_path)
    for name in ("spec.toml", "summary.json"):
        out = tmp_path / name.replace(".", "_")
        out.mkdir()
        (out / name).write_text("mine")
        with pytest.raises(SpecError, match=f"holds files that are not a sweep \\({name}\\)"):
            run_sweep(spec, out, executor="serial", progress=False)
        assert [p.name for p in out.iterdir()] == [name] and (out / name).read_text() == "mine"
    # what a sweep stopped before its manifest leaves is its own: it starts again there
    out = tmp_path / "stopped"
    (out / "runs").mkdir(parents=True)
    (out / "design.parquet").write_bytes(b"")
    (out / "spec.toml").write_text("")
    (out / ".sweep.lock").write_text("")
    assert run_sweep(spec, out, executor="serial", progress=False).complete


# -- loading ------------------------------------------------------------------------------------


def test_results_load_to_pandas_and_xarray(tmp_path, tiny_reference):
    _, df = tiny_reference
    assert list(df.columns[:4]) == ["run_id", "point", "replicate", "seed"]
    assert df.attrs["design"] == "grid" and df.attrs["parameters"] == [
        "hedge_funds.max_leverage",
        "hedge_funds.trend_share",
    ]
    assert (df["version"] == __import__("model").__version__).all()
    ds = to_xarray(df)
    assert dict(ds.sizes) == {"hedge_funds.max_leverage": 2, "hedge_funds.trend_share": 3, "replicate": 2}
    one = df[
        (df["hedge_funds.max_leverage"] == 10.0) & (df["hedge_funds.trend_share"] == 0.25) & (df["replicate"] == 1)
    ]
    value = ds["usdjpy_max_fall_pct"].sel(
        {"hedge_funds.max_leverage": 10.0, "hedge_funds.trend_share": 0.25, "replicate": 1}
    )
    assert float(value) == one["usdjpy_max_fall_pct"].item()
    assert ds["seed"].values.tolist() == [replicate_seed(1, r) for r in range(2)]

    by_point = to_xarray(df, dims=["point", "replicate"])
    assert dict(by_point.sizes) == {"point": 6, "replicate": 2}
    assert by_point["hedge_funds.trend_share"].dims == ("point",)
    by_point.to_netcdf(tmp_path / "tiny.nc", engine="h5netcdf")


def test_full_time_series_are_kept_when_the_spec_asks(tmp_path):
    spec = load_spec(write(tmp_path, TINY.replace("days = 30", "days = 30\ntimeseries = true")))
    run_sweep(spec, tmp_path / "out", executor="serial", progress=False)
    df = load_results(tmp_path / "out")
    for rid in df["run_id"]:
        ts = pd.read_parquet(tmp_path / "out" / "timeseries" / f"{rid}.parquet")
        assert len(ts) == 31
    first = df.iloc[0]
    ts = pd.read_parquet(tmp_path / "out" / "timeseries" / f"{first['run_id']}.parquet")
    assert run_metrics(ts)["usdjpy_max_fall_pct"] == first["usdjpy_max_fall_pct"]


# -- command line -------------------------------------------------------------------------------


def test_command_line_sweep(tmp_path, capsys, tiny_reference):
    spec_path, reference = tiny_reference
    out = tmp_path / "out"
    assert main(["sweep", str(spec_path), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "12 of 12 recorded: 12 ok, 0 failed" in printed
    assert_identical(load_results(out), reference)
    assert (out / "spec.toml").read_text() == spec_path.read_text()  # comments and all

    assert main(["sweep", str(spec_path), "--out", str(out), "--no-progress"]) == 2
    assert main(["sweep", str(spec_path), "--out", str(out), "--retry-failed"]) == 2
    assert main(["sweep", str(spec_path), "--out", str(out), "--executor", "local", "--scheduler", "tcp://x:1"]) == 2
    err = capsys.readouterr().err
    assert "pass --resume" in err and "--retry-failed goes with --resume" in err and "--scheduler" in err
    bad = write(tmp_path, TINY.replace("hedge_funds.max_leverage", "hedge_funds.nope"), "bad.toml")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hedge_funds.nope" in err
    assert not math.isnan(reference["usdjpy_max_fall_pct"].iloc[0])
