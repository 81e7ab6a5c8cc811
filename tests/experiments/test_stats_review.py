"""Regression tests of a review of the statistics, the validation and the calibration scripts.

Each test fails on the code before the fix it covers: the validation when every run fails, the
autocorrelation of a flat series, ``--hold`` in the baseline calibration, the worst fall of a series
with a NaN, and the median objective's count of runs with an undefined statistic. No test runs the
model: the runs are replaced by planted results.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.statistics import ABS_ACF_LAGS, ACF_LAGS, autocorrelation, moments, return_statistics
from experiments.cli import main

# -- validate when every run fails ---------------------------------------------------------------


def _every_run_fails(monkeypatch):
    """Every run of the validation, the baseline's, the episode's and the episode facts', ends in a
    clearing failure, as the runs return it."""
    from experiments.analysis import episode_facts, validation
    from model.clearing import ClearingError

    def failed_run(task):
        return {"seed": task[1], "failed": str(ClearingError("markets did not clear on day 3"))}

    def failed_fact_run(task):
        scenario, seed, days, columns, *rest = task
        return {"failed": "markets did not clear on day 3", **{c: [math.nan] * (days + 1) for c in columns}}

    monkeypatch.setattr(validation, "run_one", failed_run)
    monkeypatch.setattr(episode_facts, "_run", failed_fact_run)


def test_validate_with_every_run_failed_writes_the_report_and_the_figures_of_the_data(tmp_path, monkeypatch, capsys):
    """Every run failed: not a usage error (it was "need at least one array to concatenate", exit 2, and
    no figures). The report says so, every judged statistic fails, and the figures show the data alone."""
    _every_run_fails(monkeypatch)
    out = tmp_path / "v"
    argv = ["validate", "--out", str(out), "--seeds", "2", "--days", "100", "--burn-in", "0", "--no-progress"]
    assert main(argv) == 0
    assert "error" not in capsys.readouterr().err
    report = json.loads((out / "validation.json").read_text())
    assert len(report["failed_runs"]) == 4  # two baseline runs and two episode runs
    judged = [row for row in report["statistics"].values() if row["judged"]]
    assert judged and not any(row["pass"] or row["pass_without_plaza"] for row in judged)
    for stem in ("validation", "validation_statistics"):
        for suffix in ("png", "pdf"):
            assert (out / f"{stem}.{suffix}").stat().st_size > 0
    assert not (out / "episode.png").exists()  # no episode run completed: no paths to draw
    # the joint test without a seed says how many parameters were fitted, as with seeds (it said 0)
    from experiments.analysis.targets import FITTED_TO_STATISTICS

    for key in ("data", "data_without_plaza"):
        assert report["joint"][key]["chi2"]["fitted"] == len(FITTED_TO_STATISTICS)
    assert f"6 − {len(FITTED_TO_STATISTICS)} = " in (out / "validation.md").read_text()


def test_a_value_error_inside_the_validation_is_not_a_usage_error(tmp_path, monkeypatch):
    """Only the arguments' errors are usage errors (exit 2): a ValueError raised by the work itself, after
    the arguments were checked, is a failure of the program and keeps its traceback."""
    from experiments.analysis import validation

    def broken(*args, **kwargs):
        raise ValueError("a failure inside the work")

    _every_run_fails(monkeypatch)
    monkeypatch.setattr(validation, "validation_figure", broken)
    argv = ["validate", "--out", str(tmp_path / "v"), "--seeds", "2", "--days", "100", "--burn-in", "0",
            "--no-progress"]  # fmt: skip
    with pytest.raises(ValueError, match="a failure inside the work"):
        main(argv)


def test_the_validation_figure_without_a_completed_run_draws_the_data_alone():
    from experiments.analysis.validation import load_usdjpy_data
    from experiments.analysis.validation_plots import validation_figure

    data = load_usdjpy_data()[0]
    fig = validation_figure([], data, title="baseline: 0 of 2 seeds")
    dist, acf = fig.axes
    assert [line.get_label() for line in dist.get_lines()] == ["normal, same mean/sd"]  # the data's fit only
    assert not any("model" in line.get_label() for ax in fig.axes for line in ax.get_lines())
    assert all(any("no run completed" in t.get_text() for t in ax.texts) for ax in (dist, acf))
    # with a completed run the model is drawn as before
    run = np.random.default_rng(1).standard_normal(300) * 0.007
    fig = validation_figure([run], data)
    assert any(line.get_label() == "model, median over seeds" for line in fig.axes[1].get_lines())
    assert not any(t.get_text() for ax in fig.axes for t in ax.texts)


# -- the autocorrelation of a flat series --------------------------------------------------------


@pytest.mark.parametrize(
    "value, n", [(0.001, 200), (-0.002, 300), (0.0123456, 1750), (0.3, 2000), (7.77e-3, 300), (-0.0137, 1750)]
)
def test_the_autocorrelation_of_a_constant_series_is_undefined(value, n):
    """Constant returns (or constant |returns|) have no autocorrelation: NaN, as their skewness and kurtosis
    are, not the (n − k)/n that the mean's rounding error left (0.995 at lag 1 and 0.75 at lag 50 for 200
    returns of 0.001). Each case is one where the computed mean is a few units in the last place off the
    constant, which left a tiny positive denominator."""
    r = np.full(n, value)
    stats = return_statistics(r)
    assert math.isnan(moments(r)["skewness"])
    for k in ABS_ACF_LAGS:
        assert math.isnan(stats[f"abs_acf_lag{k}"]), k
    for k in ACF_LAGS:
        assert math.isnan(stats[f"acf_lag{k}"]), k
    # the many-series version the data's bootstrap uses
    from experiments.analysis.judgement import row_statistics

    rows = row_statistics(np.vstack([r, np.random.default_rng(0).standard_normal(n)]))
    for k in ABS_ACF_LAGS:
        assert math.isnan(rows[f"abs_acf_lag{k}"][0]) and math.isfinite(rows[f"abs_acf_lag{k}"][1])


def test_a_flat_series_of_absolute_returns_is_undefined_but_its_signs_are_not():
    """Returns of ±0.001 in turn: |r| is flat (no autocorrelation), r is not (−(n − 1)/n at lag 1)."""
    r = np.tile([0.001, -0.001], 500)
    assert np.isnan(autocorrelation(np.abs(r), (1, 20))).all()
    assert autocorrelation(r, (1,))[0] == pytest.approx(-999 / 1000, abs=1e-12)
    # a series varying by far more than its rounding keeps its value, the usual estimator's
    x = 1.0 + 1e-9 * np.random.default_rng(2).standard_normal(500)
    d = x - x.mean()
    assert autocorrelation(x, (1,))[0] == pytest.approx(float(d[:-1] @ d[1:] / (d @ d)), rel=1e-12)


def test_seeds_with_constant_returns_count_against_the_data_not_for_it():
    """Three of six seeds with constant returns used to put 0.995 into the model's range of the |return|
    autocorrelation at lag 1; now they are seeds without a value, which the rule counts against the data."""
    from experiments.analysis.validation import data_bootstrap, load_usdjpy_data, statistics_report

    data, data_np = load_usdjpy_data()[0], load_usdjpy_data(without_plaza=True)[0]
    n = 300
    rng = np.random.default_rng(3)
    model = [np.full(n, 0.001)] * 3 + [rng.standard_normal(n) * 0.007 for _ in range(3)]
    boot = data_bootstrap({"data": data, "data_without_plaza": data_np}, n, resamples=200)
    report = statistics_report(model, data, data_np, length=n, bootstrap=boot)
    row = report["abs_acf_lag1"]
    assert row["seeds_without_value"] == 3 and all(math.isnan(v) for v in row["per_seed"][:3])
    assert row["pass"] is False and row["pass_without_plaza"] is False


# -- the baseline calibration's --hold -----------------------------------------------------------


def test_holding_every_searched_field_is_refused_and_points_to_score_defaults(monkeypatch, capsys):
    """Five fields held left no bounds: 30 candidates at one point, 12 seeds each, exit 0."""
    from experiments.calibration import baseline

    def no_search(*args, **kwargs):
        raise AssertionError("the search ran")

    monkeypatch.setattr("experiments.calibration.search.search", no_search)
    held = [arg for field in baseline.BOUNDS for arg in ("--hold", field.replace("__", "."))]
    with pytest.raises(SystemExit) as caught:
        baseline.main(held)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--hold = " in err and "hedge_funds.risk_aversion_median" in err
    assert "leaves nothing to search" in err and "--score-defaults" in err
    # with the caps searched one field is left: that is a search
    seen = {}

    def fake_search(run, score, bounds, **kw):
        seen["bounds"] = dict(bounds)
        return {"best": {"objective": 0.0}, "candidates": []}

    monkeypatch.setattr("experiments.calibration.search.search", fake_search)
    assert baseline.main([*held, "--search-caps"]) == 0
    assert list(seen["bounds"]) == ["hedge_funds__max_leverage"]


def test_holding_the_caps_without_searching_them_is_refused(monkeypatch, capsys):
    """It was accepted, recorded in the result's ``held``, and changed nothing: the caps are searched only
    with --search-caps."""
    from experiments.calibration import baseline

    def no_search(*args, **kwargs):
        raise AssertionError("the search ran")

    monkeypatch.setattr("experiments.calibration.search.search", no_search)
    with pytest.raises(SystemExit) as caught:
        baseline.main(["--hold", "hedge_funds.max_leverage"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "--hold hedge_funds.max_leverage is not allowed without --search-caps" in err


# -- the worst fall of a series with a NaN --------------------------------------------------------


def test_the_worst_fall_of_a_series_with_a_nan_is_nan_not_zero():
    """A 20% fall before a NaN used to read as 0.0 (max(0, NaN)): prices with a NaN are a failed run's."""
    from experiments.analysis.metrics import _worst_fall_pct, run_metrics

    s = np.array([100.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0, np.nan])
    assert math.isnan(_worst_fall_pct(s, 1)) and math.isnan(_worst_fall_pct(s, 5))
    assert _worst_fall_pct(s[:-1], 1) == pytest.approx(20.0)  # the valid part, for comparison
    assert _worst_fall_pct(np.array([100.0, 110.0]), 1) == 0.0  # never falls
    n = len(s)
    ts = pd.DataFrame({
        "day": np.arange(n), "usdjpy": s, "hf_gross_usd_bn": np.full(n, 100.0), "hf_equity_usd_bn": np.full(n, 10.0),
        "ust10y_yield": np.full(n, 0.04),
    })  # fmt: skip
    summary = dict.fromkeys(("usdjpy_surge_60d_pct", "usdjpy_surge_60d_days", "usdjpy_max_fall_pct",
                             "usdjpy_max_fall_days", "usdjpy_max_fall_peak_day", "usdjpy_max_fall_trough_day",
                             "usdjpy_end", "usdjpy_logret_sd", "usdjpy_logret_excess_kurtosis",
                             "hf_gross_max_drawdown_pct", "hf_margin_calls_total", "hf_failures_total",
                             "hf_alive_end", "risk_index_peak", "ust10y_change_bp", "jgb10y_change_bp",
                             "clearing_residual_max", "clearing_iterations_mean"), 0.0)  # fmt: skip
    m = run_metrics(ts, summary)
    assert math.isnan(m["usdjpy_worst_day_pct"]) and math.isnan(m["usdjpy_worst_week_pct"])


# -- the median objective counts a run with an undefined statistic as failed ----------------------


def test_the_median_objective_counts_a_run_with_an_undefined_statistic_as_failed():
    """As the joint objective does: it was left out of that statistic's median with no cost (objective 0,
    failed share 0)."""
    from experiments.calibration import baseline

    targets = {k: (1.0 + i, 0.5) for i, k in enumerate(baseline.JUDGED)}
    row = {k: v for k, (v, _) in targets.items()}
    runs = [{**row, "failed": 0.0} for _ in range(4)]
    assert baseline.score(runs, targets) == (0.0, {"moments": row, "standardised_gaps": dict.fromkeys(row, 0.0),
                                                   "failed_share": 0.0})  # fmt: skip
    runs[1] = {**runs[1], "skewness": math.nan}
    value, summary = baseline.score(runs, targets)
    assert summary["failed_share"] == 0.25 and value == pytest.approx(0.25 * baseline.FAILED_PENALTY)
    joint = {"data": (tuple(row.values()), np.eye(len(row)))}
    assert baseline.joint_score(runs, joint)[1]["failed_share"] == summary["failed_share"]
