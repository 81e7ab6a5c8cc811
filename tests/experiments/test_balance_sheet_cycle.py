"""The balance-sheet benchmark's measurement 5: how the eve of the shock is chosen and how seeds are summarised."""

import math

import numpy as np
import pytest

from experiments.analysis.balance_sheet_cycle import crowded_eve, leverage_binds_summary
from experiments.analysis.targets import BURN_IN, held_out_seeds


def test_the_eve_is_the_first_day_the_stock_reaches_the_anchor_from_below_after_the_warm_up():
    stock = np.array([300.0, 260.0, 240.0, 245.0, 251.0, 230.0, 270.0])
    # days 0 and 1 are at the anchor but inside the warm-up; day 4 is the first crossing after it
    assert crowded_eve(stock, anchor=250.0, warmup=2) == 4
    # day 1 is above the anchor but was above it the day before: no crossing; day 0 never counts
    assert crowded_eve(stock, anchor=250.0, warmup=0) == 4
    assert crowded_eve(stock, anchor=250.0, warmup=4) == 6
    assert crowded_eve(stock, anchor=251.0, warmup=2) == 4  # at the anchor counts
    assert crowded_eve(stock, anchor=500.0, warmup=0) == -1
    assert crowded_eve(stock[:3], anchor=250.0, warmup=5) == -1  # shorter than the warm-up
    # a book above the anchor when the warm-up ends is shocked only once it has fallen below and grown back
    overfilled = np.array([100.0, 260.0, 270.0, 280.0, 240.0, 255.0])
    assert crowded_eve(overfilled, anchor=250.0, warmup=2) == 5
    assert crowded_eve(overfilled[:5], anchor=250.0, warmup=2) == -1


def test_the_summary_counts_seeds_that_never_crowd_and_shares_only_the_crowded():
    rows = [
        {"failed": 0.0, "crowded": 0.0, "buildup_failed": 0.0},
        {"failed": 0.0, "crowded": 0.0, "buildup_failed": 1.0},
        {"failed": 0.0, "crowded": 1.0, "share_near_maintenance": 0.5, "share_called_in_month": 0.1,
         "forced_share_of_fall": 0.5, "carry_fall_usd_bn": 10.0},
        {"failed": 0.0, "crowded": 1.0, "share_near_maintenance": 0.1, "share_called_in_month": 0.9,
         "forced_share_of_fall": math.nan, "carry_fall_usd_bn": -5.0},  # the stock grew: no share of a fall
        {"failed": 1.0, "crowded": 1.0, "share_near_maintenance": 0.3, "failed_day": 5.0},  # the month broke
    ]  # fmt: skip
    out = leverage_binds_summary(rows)
    assert (out["seeds"], out["seeds_crowded"], out["seeds_buildup_failed"]) == (5, 3, 1)
    assert math.isclose(out["share_of_crowded_seeds_near_ge_0.3"], 2 / 3)  # the eve is measured in all three
    # the month's shares are over the two months that cleared: the broken one is counted, not read as no calls
    assert out["seeds_month_failed"] == 1
    assert math.isclose(out["share_of_crowded_seeds_called_ge_0.3"], 1 / 2)
    assert math.isclose(out["share_of_crowded_seeds_forced_ge_third"], 1 / 2)  # NaN is not ≥ a third
    assert out["share_near_maintenance"]["n"] == 3  # the seed that never crowded is not in the medians
    # the month's measures among the books that unwound: one seed (the other's stock grew)
    assert out["seeds_unwound"] == 1
    assert out["among_unwound"]["share_called_in_month"] == {"median": 0.1, "min": 0.1, "max": 0.1}
    assert out["among_unwound"]["forced_share_of_fall"]["median"] == 0.5


def test_paired_differences_and_medians_are_over_the_same_seeds():
    from experiments.analysis.balance_sheet_cycle import paired

    a = [{"k": 1.0}, {"k": 5.0}, {"k": 100.0}]
    b = [{"k": 0.0}, {"k": 1.0}, {"k": math.nan}]  # seed 3's arm b failed
    out = paired(a, b, "k")
    assert (out["pairs"], out["pairs_with_a_failed_arm"]) == (2, 1)
    assert out["median_a"] == 3.0 and out["median_b"] == 0.5  # not 5.0 over all of a's seeds
    assert out["difference"]["median"] == 2.5 and out["difference"]["n"] == 2


def test_no_crowded_seed_gives_undefined_shares_not_zero():
    out = leverage_binds_summary([{"failed": 0.0, "crowded": 0.0}] * 3)
    assert out["seeds_crowded"] == 0
    assert math.isnan(out["share_of_crowded_seeds_called_ge_0.3"])


def test_every_measurement_builds_its_models_with_the_base_overrides(monkeypatch):
    """Each measurement's models get ``base``; an arm's own switch (the dealers' capital constraint, the
    crowded book's capital, the root scan) wins over it."""
    from functools import partial

    import pytest

    import model.model
    from experiments.analysis import balance_sheet_cycle as bsc
    from model.clearing import ClearingError

    made = []

    class Recorder:
        def __init__(self, **kwargs):
            made.append(kwargs)
            raise ClearingError("recorded")

    monkeypatch.setattr(model.model, "CarryUnwindModel", Recorder)
    base = {"market__risk_channel_persistence_ratio": 0.5, "dealers__capital_constraint": False}
    for fn in (bsc.news_on_its_day, bsc.liquidity_spiral, bsc.leverage_binds):
        made.clear()
        out = bsc.guarded(partial(fn, base=base), 1)
        assert made and all(kw["market__risk_channel_persistence_ratio"] == 0.5 for kw in made), fn.__name__
        assert out.get("failed") == 1.0 or out.get("buildup_failed") == 1.0
    assert made[0]["hedge_funds__capital_usd_bn"] != 35.0  # leverage_binds: the crowded book's capital
    made.clear()
    bsc.guarded(partial(bsc.liquidity_spiral, base=base), 1)
    assert made[0]["dealers__capital_constraint"] is True  # the arm's own switch wins
    made.clear()
    with pytest.raises(ClearingError):
        bsc.multi_root_days(("baseline", 1, 5, base))
    assert made[0]["market__risk_channel_persistence_ratio"] == 0.5 and made[0]["simulation__root_scan_points"] == 40


def test_the_benchmark_rejects_a_bad_set(capsys):
    import pytest

    from experiments.analysis import balance_sheet_cycle as bsc

    with pytest.raises(SystemExit):
        bsc.main(["--set", "market.risk_channel_persistence_ratio=-1"])
    assert "risk_channel_persistence_ratio = -1.0 is out of range" in capsys.readouterr().err


def test_the_benchmark_refuses_leverage_set_to_the_unleveraged_arms(capsys, monkeypatch):
    """``--set hedge_funds.max_leverage=1`` made the calibrated arm the unleveraged one, so that every leverage
    measurement compared a run with itself and reported zeros as measured. It is refused before any run, in one
    line naming the field, its value and what is allowed; a cap above 1 is a leverage sensitivity and runs."""
    import pytest

    from experiments.analysis import balance_sheet_cycle as bsc

    ran = []
    monkeypatch.setattr(bsc, "report", lambda *a, **k: ran.append(k) or {})
    with pytest.raises(SystemExit) as exit_:
        bsc.main(["--seeds", "2", "--days", "400", "--set", "hedge_funds.max_leverage=1"])
    assert exit_.value.code == 2 and not ran
    err = capsys.readouterr().err.strip().splitlines()
    assert "--set hedge_funds.max_leverage = 1 is not allowed" in err[-1] and "expected a value above 1" in err[-1]
    assert bsc.main(["--seeds", "2", "--days", "400", "--set", "hedge_funds.max_leverage=2"]) == 0
    assert ran and ran[0]["base"] == {"hedge_funds__max_leverage": 2.0}


def planted_arms(seen: dict):
    """A stand-in for ``_arms`` that records the specs it is given and plants per-seed statistics: arm ``i`` (in the
    order given) has kurtosis ``i + s`` and |return| autocorrelation ``0.01·(i + s)`` on seed ``s``."""

    def planted(specs, seeds, days, workers):
        seen.update(specs)
        return {name: [{"kurtosis": float(i + s), "abs_acf1": 0.01 * (i + s), "failed": 0.0} for s in range(seeds)]
                for i, name in enumerate(specs)}  # fmt: skip

    return planted


def test_each_channel_removal_is_a_valid_configuration_that_changes_it_or_is_reported_already_off(monkeypatch):
    """Every arm of ``--channels`` builds (its overrides name real fields in their ranges) and either changes the
    configuration of the unleveraged arm it is compared with or is reported as already off and not run (it would
    be that arm's run itself, its effect a spurious measured zero); each field it names that the unleveraged arm
    already holds at its value is reported as such. At the refitted defaults real money's capacity elasticity is
    0, so the liquidity arm changes the dealers' field only, and says so."""
    from experiments.analysis import balance_sheet_cycle as bsc
    from model.model import CarryUnwindModel

    seen = {}
    monkeypatch.setattr(bsc, "_arms", planted_arms(seen))
    out = bsc.channels_report(3, 100, 1)["unleveraged_without"]
    assert list(out) == list(bsc.CHANNELS)
    plain = CarryUnwindModel(seed=1, collect=False, **bsc.UNLEVERAGED).config
    for name, extra in bsc.CHANNELS.items():
        cfg = CarryUnwindModel(seed=1, collect=False, **bsc.UNLEVERAGED, **extra).config
        assert cfg.hedge_funds.max_leverage == 1.0, name
        held = {}
        for key, value in extra.items():
            section, field = key.split("__")
            assert getattr(getattr(cfg, section), field) == value, key
            if getattr(getattr(plain, section), field) == value:
                held[f"{section}.{field}"] = value
        assert out[name]["fields_already_set"] == held, name
        off = bool(extra) and cfg == plain
        assert out[name]["already_off"] is off and (name in seen) is not off, name
        assert ("median_kurtosis" in out[name]) is not off, name
    liquidity = out["capacities' response to the risk index"]
    assert liquidity["fields_already_set"] == {"real_money.capacity_risk_elasticity": 0.0}
    assert not liquidity["already_off"]


def test_an_arm_whose_channel_is_already_off_is_reported_so_and_not_run(monkeypatch, capsys):
    """Planted: ``base`` switches off the CTAs and both capacities' response to the risk index. Their two arms are
    the unleveraged arm's run itself: reported as already off with the values held, not run, and without medians;
    measurement 1 without the liquidity channel pairs the leveraged arm with the unleveraged arm itself (the same
    configuration). An arm only some of whose fields are held (the index's news with ``market.risk_news_sd = 0``) is
    run and names the field. The command says so on stderr before the runs."""
    from experiments.analysis import balance_sheet_cycle as bsc

    seen = {}
    monkeypatch.setattr(bsc, "_arms", planted_arms(seen))
    base = {**bsc.LIQUIDITY_OFF, "cta__enabled": False, "market__risk_news_sd": 0.0}
    out = bsc.channels_report(5, 100, 1, base=base)
    arms = out["unleveraged_without"]
    off = {"capacities' response to the risk index", "the CTAs", "the risk index's news"}
    assert {name for name, arm in arms.items() if arm["already_off"]} == off
    assert set(seen) == (set(bsc.CHANNELS) - off) | {"leveraged"}  # those are not run
    assert arms["the CTAs"] == {"already_off": True, "fields_already_set": {"cta.enabled": False}}
    assert arms["capacities' response to the risk index"]["fields_already_set"] == {
        "dealers.capacity_risk_elasticity": 0.0, "real_money.capacity_risk_elasticity": 0.0}  # fmt: skip
    both = arms["the index's news and own response"]
    assert not both["already_off"] and both["fields_already_set"] == {"market.risk_news_sd": 0.0}
    assert both["median_kurtosis"] == list(seen).index("the index's news and own response") + 2.0
    names = list(seen)
    diff = out["leverage_without_the_liquidity_channel"]["kurtosis"]["difference"]
    assert diff["median"] == names.index("leveraged") - names.index("none removed") and diff["n"] == 5
    # the command line: a note per arm, before the runs, and the same report
    seen.clear()
    sets = ["--set", "cta.enabled=false", "--set", "market.risk_news_sd=0"]
    assert bsc.main(["--channels", "--seeds", "2", "--days", str(BURN_IN + 100), *sets]) == 0
    captured = capsys.readouterr()
    assert "note: --channels arm 'the CTAs' is off at these parameters (cta.enabled = False without it): not run" in (
        captured.err)  # fmt: skip
    assert "note: --channels arm \"the index's news and own response\": market.risk_news_sd = 0.0 already" in (
        captured.err)  # fmt: skip
    assert "the CTAs" not in seen and "the risk index's news" not in seen
    assert '"already_off": true' in captured.out


def test_channels_report_pairs_the_leveraged_arm_with_the_unleveraged_one_without_the_same_channel(monkeypatch):
    """Planted per-seed statistics: each arm's medians are its own, and measurement 1 without the liquidity
    channel is the paired difference of exactly those two arms (known answers)."""
    from experiments.analysis import balance_sheet_cycle as bsc

    seen = {}
    monkeypatch.setattr(bsc, "_arms", planted_arms(seen))
    out = bsc.channels_report(5, 100, 1, base={"market__risk_persistence": 0.97})
    names = list(seen)
    assert all(spec["market__risk_persistence"] == 0.97 for spec in seen.values())  # the base reaches every arm
    assert seen["leveraged"] == {"market__risk_persistence": 0.97, **bsc.LIQUIDITY_OFF}
    for i, name in enumerate(bsc.CHANNELS):
        assert out["unleveraged_without"][name]["median_kurtosis"] == i + 2.0  # median of i + 0..4
    lev, unlev = names.index("leveraged"), names.index("capacities' response to the risk index")
    diff = out["leverage_without_the_liquidity_channel"]["kurtosis"]["difference"]
    assert diff["median"] == lev - unlev and diff["n"] == 5


def test_the_arms_cache_is_not_reused_after_the_code_changed(monkeypatch):
    from experiments import runner
    from experiments.analysis import balance_sheet_cycle as bsc

    key = bsc.arms_cache_key(20, 2000, {})
    assert key == bsc.arms_cache_key(20, 2000, {})
    assert key != bsc.arms_cache_key(20, 2000, {"hedge_funds__max_leverage": 33.0})
    assert key != bsc.arms_cache_key(10, 2000, {})
    monkeypatch.setattr(runner, "code_fingerprint", lambda: "0.1.0 edited")
    assert bsc.arms_cache_key(20, 2000, {}) != key


def test_the_map_cell_at_the_defaults_is_the_benchmark_itself(monkeypatch, tmp_path):
    """Setting the two mapped fields to their defaults changes nothing: the map's cell there has the
    baseline statistics and the build-up measurement of the unmapped benchmark, bit for bit, and its
    unleveraged comparison is the benchmark's own unleveraged arm."""
    from experiments.analysis import balance_sheet_cycle as bsc
    from experiments.runner import run_tasks
    from model.config import ModelConfig

    h = ModelConfig().hedge_funds
    monkeypatch.setattr(bsc, "MAP_GAMMAS", (h.risk_aversion_median,))
    monkeypatch.setattr(bsc, "MAP_CAPS", (h.max_leverage,))
    days = BURN_IN + 100  # 100 returns after the burn-in, the calibration's "--days 100"
    out = bsc.map_report(2, days, 1)
    [cell] = out["cells"]
    arms = bsc._arms({"calibrated": {}, "unleveraged": bsc.UNLEVERAGED}, 2, days, 1)
    assert cell["median_kurtosis"] == np.nanmedian([r["kurtosis"] for r in arms["calibrated"]])
    assert cell["kurtosis_vs_unleveraged"] == bsc.paired(arms["calibrated"], arms["unleveraged"], "kurtosis")[
        "difference"]["median"]  # fmt: skip
    from experiments.calibration.baseline import JUDGED, data_targets, joint_score, joint_targets, moments_of_run, score

    assert cell["objective"] == score(arms["calibrated"], data_targets(100))[0]
    assert cell["joint_objective"] == joint_score(arms["calibrated"], joint_targets(100))[0]
    # the statistics it scores are the calibration's own, run for run
    judged = moments_of_run(({}, held_out_seeds(2)[0], 100))
    assert {k: arms["calibrated"][0][k] for k in JUDGED} == {k: judged[k] for k in JUDGED}
    binds = bsc.leverage_binds_summary(run_tasks(bsc.leverage_binds, held_out_seeds(2)))
    assert cell["seeds_crowded"] == binds["seeds_crowded"]
    assert cell["share_near_ge_0.3"] == binds["share_of_crowded_seeds_near_ge_0.3"] or (
        math.isnan(cell["share_near_ge_0.3"]) and math.isnan(binds["share_of_crowded_seeds_near_ge_0.3"])
    )
    bsc.plot_map(out, str(tmp_path / "m.json"))
    assert (tmp_path / "m_map.png").stat().st_size > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--map", "--set", "hedge_funds.max_leverage=20"], "--set hedge_funds.max_leverage is varied by --map"),
        (["--map", "--channels"], "--channels and --map are separate reports"),
    ],
)
def test_the_map_refuses_to_hold_a_field_it_varies(argv, message, capsys):
    from experiments.analysis import balance_sheet_cycle as bsc

    with pytest.raises(SystemExit):
        bsc.main(argv)
    assert message in capsys.readouterr().err


def test_a_shocked_run_whose_eve_differs_from_the_build_up_is_refused(monkeypatch):
    """Measurement 5's shocked run must reach the build-up run's eve bit for bit (common random numbers);
    if its carry stock on the eve differs, even by 1e-9, ``leverage_binds`` raises instead of measuring a
    different book. Made fast: the warm-up is 2 days and the anchor 0, so the eve is day 3; the shocked
    run's carry stock (every model after the first) is read 1e-9 higher. Without that offset the same run
    is measured (the control: the offset alone trips the check)."""
    import experiments.analysis.carry_channels as cc
    from experiments.analysis import balance_sheet_cycle as bsc

    monkeypatch.setattr(bsc, "BUILDUP_WARMUP", 2)
    monkeypatch.setattr(cc, "ANCHOR_USD_BN", 0.0)
    real = bsc._carry_state
    models = []  # held, so that no later model reuses the build-up's id
    offset = 0.0

    def state(model):
        if all(model is not m for m in models):
            models.append(model)
        carry, stock, near, _ = real(model)
        # the anchor's stock crosses 0 from below on day 3
        return carry, stock + (offset if model is not models[0] else 0.0), near, model.day - 2.5

    monkeypatch.setattr(bsc, "_carry_state", state)
    out = bsc.leverage_binds(7, month=1)
    assert out["crowded"] == 1.0 and out["eve_day"] == 3.0 and len(models) == 2
    models.clear()
    offset = 1e-9
    with pytest.raises(
        RuntimeError, match=r"^seed 7: the shocked run's eve \(.+\) differs from the build-up's \(.+\)$"
    ):
        bsc.leverage_binds(7)
    assert len(models) == 2  # the build-up run and the shocked one, which stopped on its eve


def test_every_measurement_runs_the_held_out_seeds(monkeypatch):
    """The benchmark's seeds are validation's (1001, 1002, ...), not the calibration's 1..S."""
    from experiments.analysis import balance_sheet_cycle as bsc
    from experiments.analysis.targets import FIRST_SEED

    assert held_out_seeds(3) == [FIRST_SEED, FIRST_SEED + 1, FIRST_SEED + 2] and FIRST_SEED > 100
    seen = []
    monkeypatch.setattr("experiments.runner.run_tasks", lambda fn, tasks, **kw: seen.extend(tasks) or [])
    bsc._arms({"calibrated": {}}, 2, 300, 1)
    assert [t[2] for t in seen] == [FIRST_SEED, FIRST_SEED + 1]


def test_news_summary_counts_every_seed_and_a_failed_one_as_not_moved():
    from experiments.analysis.balance_sheet_cycle import news_summary

    rows = [{"failed": 0.0, "growth_news_pct": -0.4, "fed_cut_pct": -0.6},
            {"failed": 0.0, "growth_news_pct": 0.1, "fed_cut_pct": 0.0},
            {"failed": 1.0}]  # fmt: skip
    out = news_summary(rows)
    assert out["seeds_moved"]["growth_news_pct"] == {"seeds": 3, "moved": 2, "moved_down": 1}
    assert out["seeds_moved"]["fed_cut_pct"] == {"seeds": 3, "moved": 1, "moved_down": 1}
    assert out["growth_news_pct"]["min"] == -0.4 and out["growth_news_pct"]["max"] == 0.1


SMALL_BOOK = {"hedge_funds__n_funds": 40, "nisa__n_households": 200, "retail_fx__n_accounts": 200, "cta__n_ctas": 20}


def test_the_spiral_is_measured_against_its_twin(monkeypatch):
    """A shock of size zero leaves the shocked run equal to its twin: no surge, no change in the dealers'
    equity and the twin's price impact, although the fully positioned book moves USD/JPY and the dealers'
    equity by itself (so a figure read off the shocked run alone, as before, would not be zero)."""
    import dataclasses

    import model.scenarios
    from experiments.analysis import balance_sheet_cycle as bsc

    real = model.scenarios.load_scenario

    def zero_shock(name, *args, **kwargs):
        spec = real(name, *args, **kwargs)
        return dataclasses.replace(spec, events=tuple(dataclasses.replace(e, params={**e.params, "surprise_sd": 0.0})
                                                      for e in spec.events))  # fmt: skip

    out = bsc.liquidity_spiral(3, shock_day=10, window=10, base=SMALL_BOOK)
    assert out["surge_pct_on"] != 0.0 and out["dealer_equity_change_usd_bn"] != 0.0  # the real shock moves both
    monkeypatch.setattr(model.scenarios, "load_scenario", zero_shock)
    out = bsc.liquidity_spiral(3, shock_day=10, window=10, base=SMALL_BOOK)
    assert out["surge_pct_on"] == 0.0 and out["surge_pct_off"] == 0.0
    assert out["dealer_equity_change_usd_bn"] == 0.0 and out["impact_ratio_to_twin"] == 1.0


def test_leverage_binds_measures_the_month_over_the_eves_carry_funds(monkeypatch):
    """The fall in the carry stock and the forced sales are those of the funds that were carry funds on the
    eve, recomputed here from a third run of the same seed (the trend followers' forwards, which the eve's
    stock leaves out, are left out of its fall too)."""
    import dataclasses

    import experiments.analysis.carry_channels as cc
    from experiments.analysis import balance_sheet_cycle as bsc
    from model.model import CarryUnwindModel
    from model.scenarios import load_scenario

    monkeypatch.setattr(bsc, "BUILDUP_WARMUP", 2)
    monkeypatch.setattr(cc, "ANCHOR_USD_BN", 0.0)
    real = bsc._carry_state
    # the anchor's stock crosses 0 from below on day 3 (the funds' own grows from day 0)
    monkeypatch.setattr(bsc, "_carry_state", lambda model: (*real(model)[:3], model.day - 2.5))
    month = 5
    out = bsc.leverage_binds(7, month=month)
    eve = int(out["eve_day"])
    assert eve == 3
    overrides = {k: v for k, v in cc.CROWDED.items() if k != "hedge_funds__initial_leverage_fraction"}
    quiet = dataclasses.replace(load_scenario("boj_hike_2024"), events=())
    shock = dataclasses.replace(load_scenario("risk_off").events[0], day=eve + 1)
    m = CarryUnwindModel(scenario=dataclasses.replace(quiet, events=(shock,)), seed=7, collect=False, **overrides)
    m.run_days(eve)
    f = m.hedge_funds
    carry = (f.vol_target_pa == 0) & f.alive
    assert (~carry & f.alive).any() and (f.fwd_usd_bn[~carry] != 0).any()  # trend followers with books exist
    stock0, forced, every_fund0 = float(f.fwd_usd_bn[carry].sum()), 0.0, float(f.fwd_usd_bn.sum())
    for _ in range(month):
        m.step()
        forced += float(f.forced_usd_bn[carry].sum())
    assert out["carry_fall_usd_bn"] == stock0 - float(f.fwd_usd_bn[carry].sum())
    assert out["forced_usd_bn"] == forced
    assert out["carry_stock_eve_usd_bn"] == stock0 != every_fund0  # the eve's carry funds', not every fund's


def test_a_set_of_a_field_the_crowded_book_holds_is_said_to_apply_to_measurements_1_to_4_only(monkeypatch, capsys):
    from experiments.analysis import balance_sheet_cycle as bsc

    monkeypatch.setattr(bsc, "report", lambda *a, **k: {"planted": True})
    assert bsc.main(["--seeds", "2", "--days", "400", "--set", "hedge_funds.maintenance_ratio=0.95"]) == 0
    err = capsys.readouterr().err
    assert "note: measurement 5 runs the crowded book, whose hedge_funds.maintenance_ratio it holds" in err
    assert bsc.main(["--seeds", "2", "--days", "400", "--set", "market.risk_news_sd=0.05"]) == 0
    assert "note:" not in capsys.readouterr().err
    monkeypatch.setattr(bsc, "map_report", lambda *a, **k: {"planted": True})
    assert bsc.main(["--map", "--seeds", "2", "--days", "400", "--set", "hedge_funds.maintenance_ratio=0.95"]) == 0
    assert "applies to measurement 1 only" in capsys.readouterr().err


def test_the_eve_is_found_on_every_funds_net_forwards_as_the_replay_reads_the_anchor():
    """The book is crowded when every live fund's net forwards (the recorded ``hf_net_usd_bn`` the replay
    compares with the BIS anchor) reach it; the carry funds' own stock is a part of it."""
    from experiments.analysis import balance_sheet_cycle as bsc
    from model.model import CarryUnwindModel

    m = CarryUnwindModel(scenario="boj_hike_2024", seed=3, collect=False, hedge_funds__n_funds=60)
    m.run_days(3)
    carry, carried, _, book = bsc._carry_state(m)
    assert book == pytest.approx(m.latest["hf_net_usd_bn"], rel=1e-12, abs=1e-12)
    trend = m.hedge_funds.alive & ~carry
    assert trend.any() and book == pytest.approx(carried + float(m.hedge_funds.fwd_usd_bn[trend].sum()), rel=1e-12)
