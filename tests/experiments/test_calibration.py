"""The calibration scripts' search and objectives, on planted problems (no model runs)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.calibration import baseline, intervention, profile, risk_index
from experiments.calibration.search import search

BOUNDS = {"a": (0.0, 1.0), "b": (1.0, 100.0)}


def planted_run(task):
    """A 'run' whose outcome is a known bowl with its minimum at a = 0.3, b = 20 (b in logs)."""
    p, seed, _ = task
    return {"value": (p["a"] - 0.3) ** 2 + (math.log(p["b"]) - math.log(20.0)) ** 2 + 1e-3 * seed, "failed": 0.0}


def planted_score(runs):
    return float(np.mean([r["value"] for r in runs])), {"n": len(runs)}


def test_search_finds_a_planted_minimum_and_is_reproducible():
    kw = dict(candidates=40, seeds=2, days=1, search_seed=7, log_scale=("b",))
    out = search(planted_run, planted_score, BOUNDS, **kw)
    best = out["best"]["parameters"]
    assert abs(best["a"] - 0.3) < 0.12 and abs(math.log(best["b"] / 20.0)) < 0.5
    assert len(out["candidates"]) == 40 + 10  # the draws and a quarter as many around the best
    for c in out["candidates"]:
        assert 0.0 <= c["parameters"]["a"] <= 1.0 and 1.0 <= c["parameters"]["b"] <= 100.0
    # log-uniform draws: about half of them below the geometric middle (10), far more than a uniform 9%
    below = np.mean([c["parameters"]["b"] < 10.0 for c in out["candidates"][:40]])
    assert below > 0.3
    again = search(planted_run, planted_score, BOUNDS, **kw)
    assert again["candidates"] == out["candidates"]
    other = search(planted_run, planted_score, BOUNDS, **{**kw, "search_seed": 8})
    assert other["candidates"] != out["candidates"]


def test_a_start_point_is_scored_first_and_leaves_the_uniform_draws_as_they_were():
    """The narrow well of :func:`well_run` that 12 uniform draws miss: started at a point inside it, the search
    ends there or better; the draws after the start are the same as without it; a start outside the bounds is
    left out and said to be."""
    kw = dict(candidates=12, seeds=1, days=1, search_seed=7, log_scale=("b",))
    plain = search(well_run, planted_score, BOUNDS, **kw)
    started = search(well_run, planted_score, BOUNDS, start={"a": 0.8, "b": 20.0}, **kw)
    assert started["candidates"][0]["parameters"] == {"a": 0.8, "b": 20.0} and started["start_in_bounds"]
    assert started["best"]["objective"] <= started["candidates"][0]["objective"] < 0.2
    assert plain["best"]["objective"] > 0.3  # the draws alone miss the well's floor
    assert [c["parameters"] for c in started["candidates"][1:13]] == [c["parameters"] for c in plain["candidates"][:12]]
    outside = search(well_run, planted_score, BOUNDS, start={"a": 1.5, "b": 20.0}, **kw)
    assert outside["start_in_bounds"] is False and outside["candidates"][:12] == plain["candidates"][:12]
    with pytest.raises(ValueError, match="exactly the searched fields"):
        search(well_run, planted_score, BOUNDS, start={"a": 0.8}, **kw)


def baseline_search_arguments(monkeypatch, argv: list[str]) -> dict:
    """What ``baseline.main(argv)`` passes to the search (a stand-in that runs nothing): ``bounds`` and its
    keyword arguments."""
    seen = {}

    def fake_search(run, score, bounds, **kw):
        seen.update(kw, bounds=dict(bounds))
        return {"best": {"objective": 0.0}, "candidates": []}

    monkeypatch.setattr("experiments.calibration.search.search", fake_search)
    assert baseline.main(argv) == 0
    return seen


def test_the_baseline_search_starts_at_the_defaults_of_the_fields_it_searches(monkeypatch, tmp_path):
    from model.scenarios import load_scenario

    seen = baseline_search_arguments(monkeypatch, ["--objective", "joint", "--search-caps", "--out",
                                                   str(tmp_path / "r.json")])  # fmt: skip
    config = load_scenario("baseline").config
    assert set(seen["start"]) == set(seen["bounds"])
    assert seen["start"]["hedge_funds__max_leverage"] == config.hedge_funds.max_leverage
    assert seen["start"]["real_money__noise_persistence"] == config.real_money.noise_persistence


def well_run(task):
    """A broad bowl in b (minimum at 20, in logs) with a narrow well in a (width 0.03 around 0.8) that
    lowers the value by 0.9: like a good region that is thin in one direction."""
    p, seed, _ = task
    well = 0.9 * math.exp(-(((p["a"] - 0.8) / 0.03) ** 2))
    return {"value": (math.log(p["b"]) - math.log(20.0)) ** 2 + 1.0 - well + 1e-3 * seed, "failed": 0.0}


def test_fixed_overrides_reach_every_run_and_are_never_searched():
    seen = []

    def recording_run(task):
        seen.append(task[0])
        return planted_run(task)

    kw = dict(candidates=8, seeds=1, days=1, search_seed=7, log_scale=("b",))
    out = search(recording_run, planted_score, BOUNDS, fixed={"c": 0.25}, **kw)
    assert out["fixed"] == {"c": 0.25}
    assert seen and all(p["c"] == 0.25 for p in seen)
    assert all(c["parameters"]["c"] == 0.25 for c in out["candidates"])
    # the searched values are the same draws as without the fixed field
    plain = search(planted_run, planted_score, BOUNDS, **kw)
    assert [{k: c["parameters"][k] for k in BOUNDS} for c in out["candidates"]] == [
        c["parameters"] for c in plain["candidates"]
    ]
    with pytest.raises(ValueError, match="are searched"):
        search(planted_run, planted_score, BOUNDS, fixed={"a": 0.5}, **kw)


def test_profile_scans_find_a_narrow_well_that_sparse_draws_miss():
    kw = dict(candidates=6, seeds=1, days=1, search_seed=4, log_scale=("b",))
    plain = search(well_run, planted_score, BOUNDS, **kw)
    scanned = search(well_run, planted_score, BOUNDS, profile=21, **kw)
    assert len(scanned["candidates"]) == 6 + 2 * 21 + 1 and scanned["profile"] == 21
    assert plain["best"]["objective"] > 0.5  # no draw landed in the well
    assert scanned["best"]["objective"] < 0.4
    assert abs(scanned["best"]["parameters"]["a"] - 0.8) < 0.03
    # each scan holds the other parameters at the best so far
    scan_b = scanned["candidates"][6 + 21 : 6 + 42]
    assert {round(c["parameters"]["a"], 12) for c in scan_b} == {0.8}
    assert search(well_run, planted_score, BOUNDS, profile=21, **kw)["candidates"] == scanned["candidates"]


TARGETS = {k: (1.0 + i, 0.5) for i, k in enumerate(baseline.JUDGED)}


def runs_at(gaps: dict[str, float], n: int = 4, failed: int = 0) -> list[dict]:
    row = {k: TARGETS[k][0] + gaps.get(k, 0.0) * TARGETS[k][1] for k in baseline.JUDGED}
    return [{**row, "failed": 0.0}] * n + [{**dict.fromkeys(baseline.JUDGED, math.nan), "failed": 1.0}] * failed


def test_baseline_objective_is_the_sum_of_squared_standardised_gaps_plus_failures():
    assert baseline.score(runs_at({}), TARGETS)[0] == 0.0
    assert baseline.score(runs_at({"excess_kurtosis": 1.0}), TARGETS)[0] == pytest.approx(1.0)
    assert baseline.score(runs_at({"sd_pct": -2.0, "abs_acf_lag1": 1.0}), TARGETS)[0] == pytest.approx(5.0)
    value, summary = baseline.score(runs_at({}, n=3, failed=1), TARGETS)
    assert summary["failed_share"] == 0.25 and value == pytest.approx(0.25 * baseline.FAILED_PENALTY)
    assert baseline.score(runs_at({}, n=0, failed=2), TARGETS)[0] == math.inf
    undefined = [{**r, "excess_kurtosis": math.nan} for r in runs_at({})]  # never silently left out
    assert baseline.score(undefined, TARGETS)[0] == math.inf


def test_the_joint_objective_is_the_distance_of_the_seeds_mean_summed_over_the_data_versions():
    k = len(baseline.JUDGED)
    data = tuple(1.0 + i for i in range(k))
    cov = np.diag([0.25] * k)  # sd 0.5 for every statistic, uncorrelated
    one = {"data": (data, cov)}
    assert baseline.joint_score(runs_at({}), one)[0] == 0.0  # TARGETS hold the same values
    assert baseline.joint_score(runs_at({"excess_kurtosis": 2.0}), one)[0] == pytest.approx(4.0)
    # the mean, not the median: one crash seed of four with kurtosis 8 half-widths up moves it by 2
    crash = runs_at({}, n=3) + runs_at({"excess_kurtosis": 8.0}, n=1)
    value, summary = baseline.joint_score(crash, one)
    assert value == pytest.approx(4.0) and summary["moments"]["excess_kurtosis"] == pytest.approx(3.0 + 1.0)
    assert baseline.score(crash, TARGETS)[0] == 0.0  # the median objective does not see it
    # correlated statistics: a gap against the grain of the covariance costs more than along it
    corr = np.eye(k) * 0.25
    corr[1, 2] = corr[2, 1] = -0.24  # skewness and kurtosis move in opposite directions, as in the data
    along = baseline.joint_score(runs_at({"skewness": 1.0, "excess_kurtosis": -1.0}), {"data": (data, corr)})[0]
    against = baseline.joint_score(runs_at({"skewness": 1.0, "excess_kurtosis": 1.0}), {"data": (data, corr)})[0]
    assert against > 10 * along
    # both versions of the data, and failed runs
    two = {"data": (data, cov), "data_without_plaza": (data, cov / 4.0)}
    value, summary = baseline.joint_score(runs_at({"sd_pct": 1.0}), two)
    assert value == pytest.approx(1.0 + 4.0) and set(summary["distances"]) == set(two)
    value, summary = baseline.joint_score(runs_at({}, n=3, failed=1), one)
    assert summary["failed_share"] == 0.25 and value == pytest.approx(0.25 * baseline.JOINT_FAILED_PENALTY)
    assert baseline.joint_score(runs_at({}, n=0, failed=2), one)[0] == math.inf
    # a run that completed with a statistic undefined has no vector: it counts as failed, never left out
    runs = runs_at({}, n=4)
    runs[0] = {**runs[0], "skewness": math.nan}
    value, summary = baseline.joint_score(runs, one)
    assert summary["failed_share"] == 0.25 and value == pytest.approx(0.25 * baseline.JOINT_FAILED_PENALTY)


def test_the_joint_targets_are_the_datas_statistics_and_their_bootstrap_covariance():
    from experiments.analysis.statistics import return_statistics
    from experiments.analysis.validation import load_usdjpy_data

    targets = baseline.joint_targets(500)
    assert set(targets) == {"data", "data_without_plaza"}
    value, cov = targets["data"]
    stats = return_statistics(load_usdjpy_data()[0])
    assert value == tuple(stats[k] for k in baseline.JUDGED)
    assert cov.shape == (6, 6) and np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0.0)
    # the kurtosis varies more in samples of the data with the Plaza day than without it
    i = baseline.JUDGED.index("excess_kurtosis")
    assert cov[i, i] > 4.0 * targets["data_without_plaza"][1][i, i]


def test_risk_index_objective_counts_failed_runs():
    t = risk_index.TARGETS
    ok = {**t, "failed": 0.0}
    assert risk_index.score([ok, ok])[0] == 0.0
    value, summary = risk_index.score([ok, {**dict.fromkeys(t, math.nan), "failed": 1.0}])
    assert value == pytest.approx(0.5) and summary["failed_share"] == 0.5


@pytest.mark.parametrize(
    "main, argv, message",
    [
        (baseline.main, ["--seeds", "0"], "--seeds = 0 is not allowed; expected 1 to 1000"),
        (risk_index.main, ["--days", "50"], "--days = 50 is not allowed; expected 100 to 100000"),
        (intervention.main, ["--workers", "0"], "--workers = 0 is not allowed; expected 1 to 256"),
        (intervention.main, ["--days", "500"], "unrecognized arguments: --days"),
        (profile.main, ["hedge_funds.margin_vol_elasticity", "5"], "margin_vol_elasticity = 5.0 is out of range"),
        (profile.main, ["hedge_funds.no_such_field", "1"], "unknown field 'no_such_field' in section 'hedge_funds'"),
        (profile.main, ["margin_vol_elasticity", "1"], "field = 'margin_vol_elasticity' is not allowed"),
        (profile.main, ["hedge_funds.margin_vol_elasticity", "1", "--seeds", "0"], "--seeds = 0 is not allowed"),
        (profile.main, ["hedge_funds.forced_sales", "maybe"], "forced_sales = 'maybe' is not allowed"),
        (profile.main, ["hedge_funds.margin_vol_elasticity", "nan"], "margin_vol_elasticity = nan is not allowed"),
        (
            profile.main,
            ["hedge_funds.margin_vol_elasticity", "1", "--set", "hedge_funds.margin_vol_elasticity=0"],
            "--set hedge_funds.margin_vol_elasticity is varied by this script",
        ),
        (risk_index.main, ["--set", "market.risk_persistence=0.97"], "--set market.risk_persistence is varied"),
        (risk_index.main, ["--set", "market.risk_channel_persistence_ratio=2"], "is out of range"),
        (baseline.main, ["--set", "market.no_such_field=1"], "unknown field 'no_such_field' in section 'market'"),
        (baseline.main, ["--set", "market.risk_persistence"], "expected section.field=value"),
        (baseline.main, ["--objective", "mean"], "argument --objective: invalid choice: 'mean'"),
        (
            baseline.main,
            ["--search-caps", "--set", "hedge_funds.max_leverage=5"],
            "--set hedge_funds.max_leverage is varied by this script",
        ),
        (baseline.main, ["--hold", "market.risk_persistence"], "argument --hold: invalid choice"),
        (intervention.main, ["--set", "market.risk_persistence=0.97"], "unrecognized arguments: --set"),
        (intervention.main, ["--score-defaults"], "unrecognized arguments: --score-defaults"),
    ],
)
def test_the_calibration_scripts_reject_bad_arguments(main, argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_write_result_writes_the_whole_result_and_prints_the_best(tmp_path, capsys):
    import json

    from experiments.calibration.search import write_result

    result = {"best": {"objective": 1.5}, "candidates": [1, 2]}
    assert write_result(result, str(tmp_path / "r.json")) == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == result
    assert json.loads(capsys.readouterr().out) == {"best": {"objective": 1.5}}


@pytest.mark.parametrize("module", [baseline, risk_index])
def test_every_searched_parameter_is_a_valid_override_at_both_ends_of_its_bounds(module):
    from model.config import ModelConfig

    for end in (0, 1):
        searched = {**module.BOUNDS, **getattr(module, "CAPS", {})}  # --search-caps adds the caps
        ModelConfig().with_overrides({name: bounds[end] for name, bounds in searched.items()})


def test_the_profile_scores_each_value_with_the_baseline_objective(monkeypatch):
    """A planted run whose sd is off by (value - 1) of the data's half-widths: the objective is (value - 1)^2."""
    targets = baseline.data_targets(100)

    def planted(task):
        overrides, seed, days = task
        v = overrides["hedge_funds__margin_vol_elasticity"]
        out = {k: targets[k][0] for k in baseline.JUDGED}
        out["sd_pct"] += (v - 1.0) * targets["sd_pct"][1]
        return {**out, "failed": 0.0}

    monkeypatch.setattr(baseline, "moments_of_run", planted)
    result = profile.profile("hedge_funds.margin_vol_elasticity", [0.0, 1.0, 2.5], seeds=2, days=100,
                             objective="median")  # fmt: skip
    assert [p["value"] for p in result["points"]] == [0.0, 1.0, 2.5]
    assert [p["objective"] for p in result["points"]] == pytest.approx([1.0, 0.0, 2.25])
    assert all(len(p["per_seed"]) == 2 for p in result["points"])
    assert result["objective"] == "median"
    # the joint objective (the default): g' Σ⁻¹ g summed over both versions of the data, recomputed here
    joint = profile.profile("hedge_funds.margin_vol_elasticity", [0.0, 1.0, 2.5], seeds=2, days=100)
    assert joint["objective"] == "joint" and joint["block_days"] > 0
    for p in joint["points"]:
        m = np.array([targets[k][0] for k in baseline.JUDGED])
        m[baseline.JUDGED.index("sd_pct")] += (p["value"] - 1.0) * targets["sd_pct"][1]
        expected = 0.0
        for value, cov in baseline.joint_targets(100).values():
            g = np.asarray(value) - m
            expected += float(g @ np.linalg.solve(cov, g))
        assert p["objective"] == pytest.approx(expected, rel=1e-9)


def test_the_profile_reads_switches_and_integers_as_set_does(monkeypatch):
    seen = []
    monkeypatch.setattr(profile, "profile", lambda field, values, **kw: seen.append(values) or {"points": []})
    assert profile.main(["hedge_funds.forced_sales", "true", "false", "--seeds", "1"]) == 0
    assert profile.main(["hedge_funds.reentry_delay_days", "50", "--seeds", "1"]) == 0
    assert seen == [[True, False], [50]] and type(seen[1][0]) is int


def test_the_profile_holds_the_fields_set_fixed_in_every_run(monkeypatch):
    seen = []

    def planted(task):
        seen.append(task[0])
        return {**{k: baseline.data_targets(100)[k][0] for k in baseline.JUDGED}, "failed": 0.0}

    monkeypatch.setattr(baseline, "moments_of_run", planted)
    assert (
        profile.main(
            [
                "market.risk_channel_persistence_ratio",
                "0.5",
                "1",
                "--seeds",
                "2",
                "--days",
                "100",
                "--set",
                "market.risk_persistence=0.97",
                "--set",
                "hedge_funds.forced_sales=false",
            ]
        )
        == 0
    )
    assert len(seen) == 4
    assert all(o["market__risk_persistence"] == 0.97 and o["hedge_funds__forced_sales"] is False for o in seen)
    assert [o["market__risk_channel_persistence_ratio"] for o in seen] == [0.5, 0.5, 1, 1]


def test_score_defaults_scores_the_defaults_and_the_fixed_fields_without_searching(monkeypatch, tmp_path):
    """A planted run whose median v is off by 10% where the news sd is set: the objective is 0.01 there
    and 0 at the defaults, each from one evaluation of seeds 1..S (a point may set a searched field)."""
    import json

    seen = []

    def planted(task):
        overrides, seed, days = task
        seen.append((overrides, seed, days))
        off = 0.1 if "market__risk_news_sd" in overrides else 0.0
        return {**risk_index.TARGETS, "median_v": risk_index.TARGETS["median_v"] * (1.0 + off), "failed": 0.0}

    monkeypatch.setattr(risk_index, "moments_of_run", planted)
    out = tmp_path / "score.json"
    assert risk_index.main(["--score-defaults", "--seeds", "3", "--days", "200", "--out", str(out)]) == 0
    assert seen == [({}, 1, 200), ({}, 2, 200), ({}, 3, 200)]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["best"]["objective"] == 0.0 and len(result["candidates"]) == 1 and result["fixed"] == {}
    seen.clear()
    assert risk_index.main(["--score-defaults", "--seeds", "2", "--set", "market.risk_news_sd=0.05",
                            "--out", str(out)]) == 0  # fmt: skip
    assert [s[0] for s in seen] == [{"market__risk_news_sd": 0.05}] * 2
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["best"]["objective"] == pytest.approx(0.01) and result["fixed"] == {"market__risk_news_sd": 0.05}


def test_a_held_field_is_left_out_of_the_search_at_its_set_value(monkeypatch, tmp_path):
    argv = ["--objective", "joint", "--search-caps", "--hold", "real_money.noise_persistence",
            "--set", "real_money.noise_persistence=0.8", "--out", str(tmp_path / "r.json")]  # fmt: skip
    seen = baseline_search_arguments(monkeypatch, argv)
    assert "real_money__noise_persistence" not in seen["bounds"] and "hedge_funds__max_leverage" in seen["bounds"]
    assert len(seen["bounds"]) == len(baseline.BOUNDS) and seen["fixed"] == {"real_money__noise_persistence": 0.8}
    # the results file says which fields were held, beside the values they were held at
    assert json.loads((tmp_path / "r.json").read_text())["held"] == ["real_money.noise_persistence"]


def test_the_intervention_calibration_counts_a_failed_twin_run_and_takes_the_median_of_the_others():
    from experiments.calibration.intervention import _failed, _median

    runs = [{"effect_pct_d0": -1.0}, {"effect_pct_d0": float("nan")}, {"effect_pct_d0": -3.0}]
    assert _failed(runs, "effect_pct_d0") == 1
    assert _median([r["effect_pct_d0"] for r in runs]) == -2.0
