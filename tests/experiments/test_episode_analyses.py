"""The replay and super-long analyses: their measures on planted paths, failed runs, bad arguments."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.analysis import replay, superlong


def test_replay_measures_are_the_known_drawdowns_of_planted_paths():
    s = [160.0, 162.0, 150.0, 155.0, 145.8, 150.0]  # peak 162 on day 1, trough 145.8 on day 4: −10%
    carry = [100.0, 120.0, 90.0, 60.0, 80.0, 70.0]  # peak 120, trough 60: half unwound
    v = [15.0, 20.0, 150.0, 150.0, 40.0, 30.0]
    m = replay.replay_measures(s, v, carry, cap=150.0)
    assert m["fall_pct"] == pytest.approx(-10.0)
    assert m["trough_day"] == 4.0
    assert m["carry_fall_pct"] == pytest.approx(50.0)
    assert m["risk_index_peak"] == 150.0 and m["days_at_cap"] == 2.0
    assert math.isnan(m["fund_failures"])  # not given: unknown, never 0
    with_failures = replay.replay_measures(s, v, carry, cap=150.0, failures=[4.0, 0.0, 1.0, 2.0, 0.0, 0.0])
    assert with_failures["fund_failures"] == 3.0  # day 0 is the initial state, not a day of the window
    rising = replay.replay_measures([1.0, 2.0, 3.0], [10.0] * 3, [5.0, 6.0, 7.0], cap=150.0)
    assert rising["fall_pct"] == 0.0 and rising["carry_fall_pct"] == 0.0 and rising["days_at_cap"] == 0.0


def test_a_failed_replay_run_counts_outside_the_band():
    keys = replay.MEASURES
    ok = {**dict.fromkeys(keys, 1.0), "fall_pct": -10.0, "failed": "", "carry_start_usd_bn": 160.0,
          "fund_failures": 0.0}  # fmt: skip
    out = {**ok, "fall_pct": -3.0}
    failed = {**dict.fromkeys(keys, math.nan), "failed": "implausible prices on day 40", "carry_start_usd_bn": 250.0}
    s = replay._summary([ok, ok, out, failed])
    assert s["runs"] == 4 and s["failed_runs"] == 1
    assert s["share_in_band"] == 0.5  # the failed run is in the denominator, never inside
    assert s["fall_pct"]["n"] == 3  # and left out of the spread, counted
    # its day-0 stock is known before it fails: 250 is at the anchor, 160 is 36% below it
    assert s["share_at_anchor"] == 0.25 and s["carry_start_usd_bn"]["n"] == 4
    assert s["share_beyond_observed"] == 0.0  # 1% unwound in the others; the failed run is counted as failed
    crashed = {**ok, "carry_fall_pct": 90.0}
    assert replay._summary([ok, crashed, crashed, failed])["share_beyond_observed"] == 0.5
    assert s["share_with_failures"] == 0.0
    broke = {**ok, "fund_failures": 2.0}
    assert replay._summary([ok, broke, broke, failed])["share_with_failures"] == 0.5


def test_the_anchor_check_takes_thirty_percent_either_side():
    runs = [{**dict.fromkeys(replay.MEASURES, 1.0), "fall_pct": -10.0, "failed": "", "carry_start_usd_bn": x,
             "carry_fall_pct": 40.0, "fund_failures": 0.0}
            for x in (174.0, 176.0, 250.0, 324.0, 326.0)]  # fmt: skip
    assert replay._summary(runs)["share_at_anchor"] == pytest.approx(3 / 5)


def test_anchor_capital_scales_capital_by_the_anchor_over_the_median_stock():
    assert replay.anchor_capital(35.0, [100.0, 160.0, 200.0]) == pytest.approx(35.0 * 250.0 / 160.0)
    with pytest.raises(ValueError, match="median day-0 carry stock = 0.0 is not allowed"):
        replay.anchor_capital(35.0, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("seed", [0, 7])
def test_the_day0_carry_stock_is_proportional_to_capital(seed):
    """What anchor_capital relies on: each fund starts at its own target leverage times its equity."""
    from experiments.analysis.carry_channels import warmup_carry_stock

    a = warmup_carry_stock(seed, hedge_funds__capital_usd_bn=30.0)["carry_stock_usd_bn"]
    b = warmup_carry_stock(seed, hedge_funds__capital_usd_bn=75.0)["carry_stock_usd_bn"]
    assert a > 0.0 and b / a == pytest.approx(2.5, rel=1e-12)


def test_the_replays_figures_are_over_the_observations_windows():
    """The fall and the index's peak are over the days to 5 Aug 2024, the unwound share to 9 Aug, the _60d
    figures over the whole window (here the 35 days run): each is the drawdown of the run's own path over
    those days, recomputed here from it."""
    from model.results import max_drawdown

    r = replay.replay_run((1002, 35, {"market__risk_news_sd": 0.0}))
    # from 1 Jul 2024: 24 trading days to 5 Aug (Independence Day is not one), 28 to 9 Aug
    assert r["dates"][24] == "2024-08-05" and r["dates"][28] == "2024-08-09"
    s, v, carry = np.array(r["usdjpy"]), np.array(r["risk_index"]), np.array(r["carry"])
    assert r["fall_pct"] == -100.0 * max_drawdown(s[:25])[0] and r["risk_index_peak"] == v[:25].max()
    assert r["carry_fall_pct"] == 100.0 * max_drawdown(carry[:29])[0]
    assert r["fall_pct_60d"] == -100.0 * max_drawdown(s)[0] and r["carry_fall_pct_60d"] == 100.0 * max_drawdown(
        carry)[0]  # fmt: skip
    assert r["fall_pct_60d"] <= r["fall_pct"]  # a longer window's drawdown is at least as deep


def test_the_run_without_inputs_shares_the_replays_start_and_parts_at_its_first_event():
    from model.scenarios import load_scenario

    first = min(e.day for e in load_scenario(replay.SCENARIO).events)
    a = replay.replay_run((1003, first + 3, {"market__risk_news_sd": 0.0}))
    b = replay.replay_run((1003, first + 3, {"market__risk_news_sd": 0.0}, replay.SCENARIO, True))
    assert a["usdjpy"][:first] == b["usdjpy"][:first] and a["usdjpy"][first:] != b["usdjpy"][first:]


def test_the_effect_of_the_inputs_is_the_median_of_per_seed_differences_over_seeds_both_cleared():
    def run(fall, carry):
        return {**dict.fromkeys(replay.MEASURES, 0.0), "fall_pct": fall, "carry_fall_pct": carry}

    replayed = [run(-10.0, 50.0), run(-8.0, 40.0), run(-12.0, 60.0), run(math.nan, math.nan)]
    quiet = [run(-5.0, 10.0), run(-6.0, 30.0), run(-2.0, 20.0), run(-3.0, 5.0)]
    out = replay.paired_effects(replayed, quiet)
    assert out["fall_pct"]["median"] == -5.0 and out["carry_fall_pct"]["median"] == 40.0  # of -5,-2,-10; 40,10,40
    assert out["fall_pct"]["pairs"] == 3 and out["fall_pct"]["pairs_without_a_value"] == 1


def test_paired_effects_pair_runs_by_seed_not_by_position():
    def run(seed, fall):
        return {**dict.fromkeys(replay.MEASURES, 0.0), "seed": seed, "fall_pct": fall}

    arm = [run(1, -10.0), run(2, -8.0), run(3, -4.0)]
    reference = [run(3, -3.0), run(1, -9.0), run(2, -2.0)]  # the same seeds in another order
    assert replay.paired_effects(arm, reference)["fall_pct"]["median"] == -1.0  # of -1, -6, -1
    with pytest.raises(ValueError, match="seeds differ"):
        replay.paired_effects(arm, [run(1, 0.0), run(2, 0.0), run(4, 0.0)])
    with pytest.raises(ValueError, match="3 runs against 2"):
        replay.paired_effects([{k: v for k, v in r.items() if k != "seed"} for r in arm], reference[:2])


def test_a_failed_run_keeps_the_funds_that_failed_before_it_broke_down(monkeypatch):
    """A run that ends in a clearing failure has no figures but its fund failures up to that day, which the
    share of seeds with a failure counts (crashes are where funds fail)."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel

    real = CarryUnwindModel.run_days

    def breaks(self, days, *args, **kwargs):
        real(self, 3)
        self._record_store.data["hf_failures"][2] = 2  # two funds failed on day 2, then the markets broke
        raise ClearingError("markets did not clear on day 4")

    monkeypatch.setattr(CarryUnwindModel, "run_days", breaks)
    r = replay.replay_run((1001, 10, {"market__risk_news_sd": 0.0}))
    assert r["failed"] and math.isnan(r["fall_pct"]) and r["fund_failures"] == 2.0


def test_a_replay_run_is_reproducible_and_starts_at_the_scenarios_level():
    a = replay.replay_run((3, 5, {"market__risk_news_sd": 0.0}))
    b = replay.replay_run((3, 5, {"market__risk_news_sd": 0.0}))
    assert a == b and not a["failed"]
    assert a["usdjpy"][0] == 161.5 and a["dates"][0] == "2024-07-01"
    assert len(a["usdjpy"]) == 6 and np.isfinite(a["fall_pct"])
    assert a["carry_start_usd_bn"] == a["carry"][0] > 0.0


def test_the_channel_arms_switch_off_one_channel_each_and_all_on_is_the_replay_itself():
    out = replay.run_channels([4], {"default": 35.0}, days=4, progress=False)
    arms = out["default"]["arms"]
    assert list(arms) == list(replay.CHANNELS) and out["default"]["capital_usd_bn"] == 35.0
    assert all(len(arm["overrides"]) == 1 for name, arm in arms.items() if name != "all on")
    plain = replay.replay_run((4, 4, {"market__risk_news_sd": 0.0, "hedge_funds__capital_usd_bn": 35.0}))
    all_on = arms["all on"]["per_seed"][0]
    assert all_on == {k: plain[k] for k in all_on}  # the same run, bit for bit
    # each other arm's effect is its own figure minus all on's, seed by seed; all on has none against itself
    assert "effect" not in arms["all on"]
    ran = [name for name, arm in arms.items() if name != "all on" and not arm["already_off"]]
    assert ran and all("effect" not in arm for name, arm in arms.items() if name not in ran)
    for name in ran:
        effect = arms[name]["effect"]["fall_pct"]
        assert effect["median"] == arms[name]["per_seed"][0]["fall_pct"] - all_on["fall_pct"] and effect["pairs"] == 1


def test_every_replay_arm_takes_the_base_overrides_and_an_arms_own_switch_wins():
    base = {"market__risk_channel_persistence_ratio": 0.5, "hedge_funds__margin_vol_elasticity": 0.5}
    out = replay.run_channels([4], {"default": 35.0}, days=4, progress=False, base=base)
    arms = out["default"]["arms"]
    plain = replay.replay_run((4, 4, {"market__risk_news_sd": 0.0, "hedge_funds__capital_usd_bn": 35.0, **base}))
    all_on = arms["all on"]["per_seed"][0]
    assert all_on == {k: plain[k] for k in all_on}
    unbased = replay.replay_run((4, 4, {"market__risk_news_sd": 0.0, "hedge_funds__capital_usd_bn": 35.0}))
    assert plain["usdjpy"] != unbased["usdjpy"]  # the base reached the run
    fixed = replay.replay_run((4, 4, {"market__risk_news_sd": 0.0, "hedge_funds__capital_usd_bn": 35.0,
                                      **base, "hedge_funds__margin_vol_elasticity": 0.0}))  # fmt: skip
    psi0 = arms["margins fixed (psi = 0)"]["per_seed"][0]
    assert psi0 == {k: fixed[k] for k in psi0}
    # the map reuses a known summary where ψ is the base's own, not the scenario's
    planted = {"planted": True}
    reused = replay.run_map([4], 35.0, 50.0, days=2, progress=False, known={35.0: planted}, base=base)
    hits = [(c["margin_vol_elasticity"], c["capital"]) for c in reused["cells"] if c["summary"] is planted]
    assert hits == [(0.5, "1")]


def test_a_channel_arm_already_off_at_the_parameters_is_reported_so_and_not_run(monkeypatch, capsys):
    """Planted: ``base`` fixes the margins (ψ = 0) and real money's capacity (elasticity 0). Those two arms would be
    the "all on" run itself: at each capital they are reported as already off with the values held, and not run
    (no summary, no measured zero); every other arm is run with the base and its own switch. The printed table
    says so in their rows."""
    ran = []

    def planted(seeds, extra, **kw):
        ran.append({**(kw["base"] or {}), **extra})
        summary = {"fall_pct": {"median": -5.0}, "share_in_band": 0.0, "share_beyond_observed": 0.0,
                   "risk_index_peak": {"median": 20.0}, "carry_fall_pct": {"median": 10.0},
                   "failed_runs": 0}  # fmt: skip
        return {"overrides": extra, "summary": summary, "runs": []}

    monkeypatch.setattr(replay, "_arm", planted)
    base = {"hedge_funds__margin_vol_elasticity": 0.0, "real_money__capacity_risk_elasticity": 0.0}
    out = replay.run_channels([4], {"default": 35.0, "anchor": 50.0}, days=4, progress=False, base=base)
    off = {"margins fixed (psi = 0)": {"hedge_funds.margin_vol_elasticity": 0.0},
           "real money's capacity fixed": {"real_money.capacity_risk_elasticity": 0.0}}  # fmt: skip
    for block in out.values():
        arms = block["arms"]
        assert list(arms) == list(replay.CHANNELS)
        assert {name: arm["fields_already_set"] for name, arm in arms.items() if arm["already_off"]} == off
        assert all("summary" not in arms[name] for name in off)
        assert all(not arm["fields_already_set"] and "summary" in arm for name, arm in arms.items() if name not in off)
    assert len(ran) == 2 * (len(replay.CHANNELS) - len(off))  # the others, at both capitals
    assert all(run["hedge_funds__margin_vol_elasticity"] == 0.0 for run in ran)  # the base reached every arm
    assert sum(run.get("dealers__capacity_risk_elasticity") == 0.0 for run in ran) == 2
    # the printed table: the arms already off have a row saying so, not figures
    monkeypatch.setattr(replay, "replay", lambda *a, **k: {"first_seed": 1001, "seeds": 1, "by_sensitivity": {},
                                                           "channels": out})  # fmt: skip
    assert replay.main(["--seeds", "1", "--channels"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "real money's capacity fixed" in line]
    assert len(rows) == 2 and all(
        "off at these parameters (real_money.capacity_risk_elasticity = 0.0 already with all on): not run" in row
        for row in rows
    )


@pytest.mark.parametrize("flag", ["--channels", "--map"])
def test_channels_and_map_need_the_positioning_arms(flag, capsys):
    with pytest.raises(SystemExit):
        replay.main([flag, "--no-positioning"])
    assert f"{flag} needs the positioning arms" in capsys.readouterr().err


def test_the_map_covers_its_grid_and_its_default_cell_is_the_replay_itself(tmp_path):
    out = replay.run_map([4], 35.0, 50.0, days=3, progress=False)
    assert out["capitals"] == pytest.approx(
        {"0.75": 26.25, "1": 35.0, "1.25": 43.75, "anchor": 50.0, "1.2 anchor": 60.0}
    )
    assert len(out["cells"]) == len(replay.MAP_ELASTICITIES) * len(out["capitals"])
    cell = next(c for c in out["cells"] if c["margin_vol_elasticity"] == 1.0 and c["capital"] == "1")
    plain = replay._arm([4], {}, days=3, workers=1, news_sd=0.0, progress=False, desc="")
    assert cell["summary"] == plain["summary"]  # ψ = 1 is the default: the same run, so it may be reused
    # a summary already run at the default elasticity is reused for its capital, and only there
    planted = {"planted": True}
    reused = replay.run_map([4], 35.0, 50.0, days=3, progress=False, known={35.0: planted})
    hits = [(c["margin_vol_elasticity"], c["capital"]) for c in reused["cells"] if c["summary"] is planted]
    assert hits == [(1.0, "1")]
    replay.plot_map({"map": out, "positioning": {"default_capital_usd_bn": 35.0}}, tmp_path / "r")
    assert (tmp_path / "r_map.png").stat().st_size > 0


@pytest.mark.parametrize(
    "module, argv, message",
    [
        (replay, ["--seeds", "0"], "--seeds = 0 is not allowed"),
        (replay, ["--news-sd", "-0.1"], "--news-sd = -0.1 is not allowed"),
        (replay, ["--news-sd", "nan"], "--news-sd = nan is not allowed"),
        (replay, ["--workers", "0"], "--workers = 0 is not allowed"),
        (replay, ["--set", "hedge_funds.capital_usd_bn=50"], "--set hedge_funds.capital_usd_bn is varied"),
        (replay, ["--set", "market.risk_news_sd=0.01"], "--set market.risk_news_sd is varied"),
        (replay, ["--set", "market.risk_channel_persistence_ratio=1.5"], "is out of range"),
        (replay, ["--set", "market.nope=1"], "unknown field 'nope' in section 'market'"),
        (superlong, ["--workers", "0"], "--workers = 0 is not allowed"),
        (superlong, ["--jpy-tn", "0"], "--jpy-tn = 0.0 is not allowed"),
        (superlong, ["--seeds", "0"], "--seeds = 0 is not allowed"),
    ],
)
def test_the_analyses_reject_bad_arguments(module, argv, message, capsys):
    with pytest.raises(SystemExit):
        module.main(argv)
    assert message in capsys.readouterr().err


def test_the_replay_report_puts_the_anchor_arm_at_the_anchor_and_writes_both_figures(tmp_path, capsys):
    assert replay.main(["--seeds", "2", "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    pos = report["positioning"]
    arms = pos["arms"]
    assert list(arms) == ["0.75x", "1.00x", "1.25x", "anchor"]  # by capital
    assert arms["1.00x"]["runs"] == report["by_sensitivity"]["central"]["runs"]
    starts = [r["carry_start_usd_bn"] for r in arms["anchor"]["runs"]]
    assert float(np.median(starts)) == pytest.approx(pos["anchor_usd_bn"], rel=1e-9)
    default = [r["carry_start_usd_bn"] for r in arms["1.00x"]["runs"]]
    larger = [r["carry_start_usd_bn"] for r in arms["1.25x"]["runs"]]
    assert [b / a for a, b in zip(default, larger, strict=True)] == pytest.approx([1.25, 1.25], rel=1e-12)
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "r_positioning.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "puts the median day-0 carry stock at the $250 bn anchor" in out
    # the variant conditional on the Fed's repricing is reported beside the replay, and named as conditional
    assert report["conditional"]["scenario"] == replay.CONDITIONAL
    assert "[conditional on the Fed's repricing" in out and "not a result from inputs" in out
    conditional = report["conditional"]["runs"]
    assert [r["seed"] for r in conditional] == [1001, 1002]
    assert conditional != report["by_sensitivity"]["central"]["runs"]


def test_a_replay_run_takes_its_scenario_and_the_conditional_one_differs_only_after_its_first_observed_close():
    plain = replay.replay_run((2, 4, {"market__risk_news_sd": 0.0}))
    assert replay.replay_run((2, 4, {"market__risk_news_sd": 0.0}, replay.SCENARIO)) == plain
    conditional = replay.replay_run((2, 4, {"market__risk_news_sd": 0.0}, replay.CONDITIONAL))
    # its first 2y close is on 3 Jul (day 2): the day-0 2y only sets the term premium, which trades nothing
    assert conditional["usdjpy"][:2] == plain["usdjpy"][:2] and conditional["usdjpy"][2] != plain["usdjpy"][2]


def test_the_conditional_arm_can_be_left_out():
    kw = dict(days=3, progress=False, positioning=False)
    assert "conditional" not in replay.replay(2, conditional=False, **kw)
    with_it = replay.replay(2, **kw)["conditional"]
    assert with_it["scenario"] == replay.CONDITIONAL and len(with_it["runs"]) == 2


@pytest.mark.parametrize("arm, end_bp", [("low", 5.0), ("high", 10.0)])
def test_the_replays_news_sensitivities_move_the_2y_at_the_ends_of_the_sourced_range(arm, end_bp):
    """A 1-sd US data surprise moves the 2y yield by 5-10 bp (the source): the replay's low and high
    arms set the near-term Fed-path shift so that the model's 2y (the path's 2-year average, which
    decays towards its anchor) moves by those ends, to a twentieth of a basis point."""
    from model.model import CarryUnwindModel
    from model.scenarios import ScenarioEvent

    m = CarryUnwindModel(scenario="boj_hike_2024", seed=1, collect=False, **replay.SENSITIVITIES[arm])
    before = m.market.ust2y_yield
    m.market.apply_event(ScenarioEvent(day=1, kind="us_growth_news", params={"surprise_sd": 1.0}))
    assert 1e4 * (m.market.ust2y_yield - before) == pytest.approx(end_bp, abs=0.05)


def test_a_fiscal_world_whose_sizing_failed_is_not_called_unclear(monkeypatch, capsys):
    """A world whose budget could not be sized (a run did not clear, or the target was out of reach) has no
    size and no interval: it is printed as not sized, not as an unclear verdict."""
    from experiments.analysis import fiscal_worlds as fw

    ok = {"size": 30.0, "usdjpy_change_pct": -1.0, "ci": [-1.2, -0.8], "inflation_expectations_change_bp": 10.0}
    failed = {"size": math.nan, "usdjpy_change_pct": math.nan, "ci": [math.nan, math.nan]}
    hike = {"size": 0.0085, "usdjpy_change_pct": -2.4, "ci": [-2.9, -1.9]}
    no_interval = {**ok, "ci": [math.nan, math.nan]}  # sized, but a run failed at that size
    rows = [dict(unbacked_share=0.3, boj_constraint=0.0, fiscal=ok, monetary=hike),
            dict(unbacked_share=1.0, boj_constraint=0.0, fiscal=no_interval, monetary=hike),
            dict(unbacked_share=1.0, boj_constraint=0.8, fiscal=failed, monetary=hike)]  # fmt: skip
    monkeypatch.setattr(fw, "fiscal_worlds", lambda *a, **k: rows)
    assert fw.main(["--seeds", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-3].endswith("budget strengthens it") and out[-1].endswith("not sized: see the log")
    assert out[-2].endswith("sized; no interval: a run failed at that size")
    assert "mean over them with its 95% Student-t interval" in out[0]


def test_an_intervention_pair_that_failed_in_one_arm_leaves_the_seed_out_of_both(monkeypatch):
    """The second held-out seed's full pair fails to clear: it is counted, and the full effect, the
    flow-only effect and the signal (their difference) are all over the first and third, one set. The
    seeds are the held-out ones (1001, ...), not the seeds 1, ... the signalling coefficient is fitted on."""
    import experiments.runner
    from experiments.analysis import interventions as iv

    seen = set()

    def planted(fn, tasks, **kwargs):
        out = []
        for overrides, jpy_tn, seed, _level in tasks:
            seen.add(seed)
            flow_only = "mof__signal_log_per_jpy_tn" in overrides
            i = seed - 1000
            d0 = math.nan if (i == 2 and not flow_only) else -(1.0 if flow_only else 2.0) * i * jpy_tn / 10
            out.append({"effect_pct_d0": d0, "effect_pct_d5": d0 / 2, "effect_pct_d20": d0 / 4, "ust_bp_d0": 1.0,
                        "usd_sold_bn": 20.0, "ust_sold_usd_bn": 20.0, "ust_holdings_fall_usd_bn": 20.0,
                        "signal_log_d0": 0.0})  # fmt: skip
        return out

    monkeypatch.setattr(experiments.runner, "run_tasks", planted)
    r = iv.measure(3, sizes=(3.0,))
    assert seen == {1001, 1002, 1003}
    (row,) = r["by_size"]
    assert r["failed_seeds"] == 1 and row["failed_seeds"] == 1
    assert row["effect_pct_per_jpy_tn_d0"]["n"] == 2 and row["flow_only_pct_per_jpy_tn_d0"]["n"] == 2
    # per ¥1 tn: full −0.2·s, flow −0.1·s, over s = 1, 3: medians −0.4, −0.2, signal −0.2
    assert row["effect_pct_per_jpy_tn_d0"]["median"] == pytest.approx(-0.4)
    assert row["signal_pct_per_jpy_tn_d0"]["median"] == pytest.approx(-0.2)
    assert "1 at ¥3 tn" in iv.report(r)
