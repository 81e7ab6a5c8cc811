"""Japanese institutions and policy: each mechanism's direction against the same seed with the
mechanism off, plus known answers for the rules (the model chapter of the docs)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from agents import life_insurers as li
from agents import nisa
from agents.boj import MEETING_DATES_BY_YEAR, BojConfig, meeting_dates, monthly_purchases_jpy_tn, policy_decision
from agents.mof import MofConfig, MofState, intervention_today
from model.accounting import check_identities
from model.macro import MacroConfig
from model.market import MarketConfig
from model.model import CarryUnwindModel
from model.scenarios import ScenarioEvent

SMALL = dict(hedge_funds__n_funds=50, nisa__n_households=2000)
SEEDS = (1, 2, 3)


def run(seed: int, days: int, events=(), **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(seed=seed, **{**SMALL, **overrides})
    for event in events:
        model.schedule(event.day, model.apply_event, event)
    model.run_for(days)
    return model


# ---------------------------------------------------------------------------------------------
# MoF


@pytest.mark.parametrize("seed", SEEDS)
def test_an_intervention_lowers_usdjpy_against_the_same_seed_without_it(seed):
    event = ScenarioEvent(day=30, kind="mof_intervention", params={"jpy_tn": 5.0})
    with_it = run(seed, 30, [event]).timeseries()
    without = run(seed, 30).timeseries()
    assert with_it.usdjpy.iloc[-1] < without.usdjpy.iloc[-1]
    assert with_it.usdjpy.iloc[:-1].equals(without.usdjpy.iloc[:-1])  # nothing changes before the day
    assert with_it.mof_intervention_jpy_tn.iloc[-1] == 5.0
    # the dollars sold come out of the reserves: their change is the sale, the USTs' revaluation and coupon
    y = with_it.ust10y_yield.to_numpy()
    price = np.exp(-MarketConfig().ust_duration * y)
    r, h = with_it.mof_reserves_usd_bn.to_numpy(), with_it.mof_ust_holdings_usd_bn.to_numpy()
    spent = r[-2] - r[-1] + h[-2] * (price[-1] / price[-2] - 1.0) + h[-1] * y[-1] / 250.0
    assert spent == pytest.approx(5.0 * 1000.0 / without.usdjpy.iloc[-2], rel=1e-9)


def test_the_intervention_rule_fires_above_the_level_and_then_cools_down():
    cfg = MofConfig(intervention_level_usdjpy=150.0, burst_jpy_tn=4.0, burst_days=2, cooldown_days=5)
    state = MofState(cfg)
    amounts = [intervention_today(cfg, state, usdjpy=155.0, usdjpy_window_ago=154.0) for _ in range(10)]
    assert amounts == [4.0, 4.0, 0, 0, 0, 0, 0, 4.0, 4.0, 0]
    quiet = MofState(cfg)
    assert intervention_today(cfg, quiet, usdjpy=149.0, usdjpy_window_ago=148.0) == 0.0


def test_the_default_cooldown_allows_the_october_2022_intervention_as_soon_as_it_came():
    """The gap from start to start, 22 Sep 2022 to 21 Oct 2022, taken from the model's own trading calendar
    (20 days: Columbus Day is not a trading day): with the default two-day bursts, the rule held above its
    level must be able to start again that many days after it first started, and not a day sooner."""
    from model.calendar import TradingCalendar

    gap = TradingCalendar("2022-09-22").day_of("2022-10-21")
    cfg = MofConfig()
    state = MofState(cfg)
    days = [d for d in range(30) if intervention_today(cfg, state, usdjpy=170.0, usdjpy_window_ago=169.0) > 0.0]
    assert days[:3] == [0, 1, gap]


def test_intervention_is_limited_by_reserves():
    # ¥10 tn at 160 is $62.5 bn, but only $40 bn of reserves are above the floor
    cfg = MofConfig(
        intervention_level_usdjpy=150.0, burst_jpy_tn=10.0, reserves_usd_bn=900.0, reserve_floor_usd_bn=860.0
    )
    amount = intervention_today(cfg, MofState(cfg), usdjpy=160.0, usdjpy_window_ago=160.0)
    assert amount * 1000.0 / 160.0 == pytest.approx(40.0)


# ---------------------------------------------------------------------------------------------
# BoJ


def test_slower_boj_purchases_raise_jgb_yields():
    diffs = []
    for seed in SEEDS:
        full = run(seed, 250).timeseries()
        slow = run(seed, 250, boj__purchase_scale=0.5).timeseries()
        diffs.append(slow.jgb10y_yield.iloc[-1] - full.jgb10y_yield.iloc[-1])
        assert slow.boj_jgb_holdings_jpy_tn.iloc[-1] < full.boj_jgb_holdings_jpy_tn.iloc[-1]
    assert all(d > 0 for d in diffs), diffs


def test_purchase_path_follows_the_banks_announced_schedule():
    """The BoJ's plans (July 2024, June 2025), month by month as announced: ¥5.7 tn in July 2024, ¥5.3 tn
    in Aug-Sep, then ¥0.4 tn less each calendar quarter to ¥2.9 tn in Jan-Mar 2026, then ¥0.2 tn less
    each quarter to ¥2.1 tn in Jan-Mar 2027."""
    cfg = BojConfig()
    at = lambda s: monthly_purchases_jpy_tn(cfg, dt.date.fromisoformat(s))  # noqa: E731
    announced = {
        "2024-07-15": 5.7, "2024-08-01": 5.3, "2024-09-30": 5.3, "2024-10-01": 4.9, "2024-12-31": 4.9,
        "2025-01-06": 4.5, "2025-04-01": 4.1, "2025-07-01": 3.7, "2025-10-01": 3.3, "2026-01-05": 2.9,
        "2026-03-31": 2.9, "2026-04-01": 2.7, "2026-07-01": 2.5, "2026-10-01": 2.3, "2027-01-04": 2.1,
    }  # fmt: skip
    assert {d: round(at(d), 9) for d in announced} == announced
    assert monthly_purchases_jpy_tn(BojConfig(purchases=False), dt.date(2024, 1, 1)) == 0.0
    # purchases at or below the floor to begin with are not raised to it, and the second taper applies from
    # the first cut whatever the first taper's step (which then has nothing to cut)
    for start in (2.0, 2.9):
        for step1 in (0.4, 0.0):
            low = BojConfig(purchase_start_jpy_tn=start, taper1_per_quarter_jpy_tn=step1)
            assert monthly_purchases_jpy_tn(low, dt.date(2024, 7, 1)) == start
            assert monthly_purchases_jpy_tn(low, dt.date(2024, 8, 1)) == pytest.approx(start - 0.2)
            assert monthly_purchases_jpy_tn(low, dt.date(2024, 10, 1)) == pytest.approx(start - 0.4)
    # a first taper with no step never reaches the floor above it: purchases stay where they started
    flat = BojConfig(taper1_per_quarter_jpy_tn=0.0)
    assert monthly_purchases_jpy_tn(flat, dt.date(2030, 1, 1)) == flat.purchase_start_jpy_tn


def test_policy_rule_moves_in_quarter_point_steps_and_pauses_in_stress():
    cfg = BojConfig(smoothing=0.0, inflation_response=1.5, neutral_rate_pa=0.01)
    # inflation 3%: r* = 1% + 1.5·1% = 2.5%; from 0.25% the rule moves in whole 25bp steps
    new = policy_decision(cfg, rate=0.0025, inflation=0.03, risk_index=15.0, yen_surge=0.0).rate
    assert new == pytest.approx(0.025)
    assert round(new / 0.0025) == pytest.approx(new / 0.0025)
    # financial-stability pause: no hike while the risk index is high, but cuts are allowed
    assert policy_decision(cfg, rate=0.0025, inflation=0.03, risk_index=40.0, yen_surge=0.0).rate == 0.0025
    assert policy_decision(cfg, rate=0.0025, inflation=0.03, risk_index=15.0, yen_surge=0.08).rate == 0.0025
    # the political constraint withholds its share of the response's level: r* = 1% + 0.5·1.5·1% = 1.75%
    half = policy_decision(BojConfig(smoothing=0.0, political_constraint=0.5), rate=0.0025, inflation=0.03,
                           risk_index=15.0, yen_surge=0.0)  # fmt: skip
    assert half.rate == pytest.approx(0.0175) and half.shadow == pytest.approx(0.0175)
    # the lower bound
    assert policy_decision(cfg, rate=-0.001, inflation=-0.02, risk_index=15.0, yen_surge=0.0).rate == -0.001


@pytest.mark.parametrize("constraint", [0.0, 0.5, 0.7])
def test_the_smoothed_rule_reaches_its_target_in_steps(constraint):
    """Meeting after meeting at 3% inflation the rule reaches r* = 1% + (1 − c)·1.5·0.5 pp (to the nearest
    step): it smooths its unrounded rate, so a gap too small for one meeting's rounded move still closes.
    Smoothing the announced rate instead stopped at 1.25% at c = 0 (target 1.75%) and never left 0.25% at
    c = 0.7."""
    cfg = BojConfig(smoothing=0.8, inflation_response=1.5, neutral_rate_pa=0.01, inflation_target=0.025,
                    political_constraint=constraint, stability_pause=False)  # fmt: skip
    target = 0.01 + (1 - constraint) * 1.5 * 0.005
    rate, shadow, path = 0.0025, 0.0025, []
    for _ in range(48):
        rate, shadow = policy_decision(cfg, rate=rate, shadow=shadow, inflation=0.03, risk_index=15.0, yen_surge=0.0)
        path.append(rate)
    assert abs(rate - target) <= 0.0025 / 2 + 1e-12
    assert shadow == pytest.approx(target, abs=1e-5)
    assert np.all(np.diff(path) >= 0)  # no overshoot and back: it climbs


def test_a_stability_pause_holds_the_shadow_rate_so_the_first_meeting_after_it_moves_one_meeting_s_worth():
    """Paused for three meetings at 3% inflation (risk index 40), then calm: the first hike after the pause
    is the one the first meeting would have made without it, not the whole gap the pause left (advancing
    the shadow through the pause gave 0.25% -> 1.50% at once)."""
    cfg = BojConfig(smoothing=0.8, inflation_response=1.5, neutral_rate_pa=0.01, inflation_target=0.025)
    calm = dict(inflation=0.03, risk_index=15.0, yen_surge=0.0)
    first = policy_decision(cfg, rate=0.0025, shadow=0.0025, **calm)
    rate, shadow = 0.0025, 0.0025
    for _ in range(3):
        rate, shadow = policy_decision(cfg, rate=rate, shadow=shadow, inflation=0.03, risk_index=40.0, yen_surge=0.0)
        assert (rate, shadow) == (0.0025, 0.0025)
    after = policy_decision(cfg, rate=rate, shadow=shadow, **calm)
    assert after == first and after.rate - 0.0025 <= 0.0025 + 1e-12
    # a cut is not paused, and a pause never lowers the shadow below the rate
    assert policy_decision(cfg, rate=0.01, shadow=0.01, inflation=0.0, risk_index=40.0, yen_surge=0.0).rate < 0.01


def test_a_stability_pause_holds_the_shadow_when_each_meeting_s_rise_is_under_half_a_step():
    """At a rule target of 0.75% from 0.25%, one meeting's smoothing raises the shadow by 10 bp, which
    rounds to no move: the pause must hold the shadow all the same. Letting it creep through three
    paused meetings (to 0.35%) made the first calm meeting hike to 0.50%, where without the pause that
    meeting would have held at 0.25%."""
    cfg = BojConfig(smoothing=0.8, inflation_response=1.0, neutral_rate_pa=0.0075, inflation_target=0.02)
    calm = dict(inflation=0.02, risk_index=15.0, yen_surge=0.0)
    first = policy_decision(cfg, rate=0.0025, shadow=0.0025, **calm)
    assert first.rate == 0.0025 and first.shadow == pytest.approx(0.0035)  # no pause: a 10 bp rise, no move
    rate, shadow = 0.0025, 0.0025
    for _ in range(3):
        rate, shadow = policy_decision(cfg, rate=rate, shadow=shadow, inflation=0.02, risk_index=40.0, yen_surge=0.0)
        assert (rate, shadow) == (0.0025, 0.0025)
    assert policy_decision(cfg, rate=rate, shadow=shadow, **calm) == first


def test_the_meeting_calendar_is_the_boj_s_own_on_trading_days():
    """The table's decision days are weekdays, eight a year in order (the model schedules them: the test
    below); 2025's April meeting ended on 1 May, which the old single pattern (26 April, a Saturday,
    rolled to Monday 28 April) missed by three days."""
    import datetime as dt

    for year, dates in MEETING_DATES_BY_YEAR.items():
        days = [dt.date(year, m, d) for m, d in dates]
        assert len(days) == 8 and days == sorted(days)
        assert all(d.weekday() < 5 for d in days), year
    assert (5, 1) in meeting_dates(2025) and meeting_dates(2030) == meeting_dates(2024)


def test_boj_decides_only_at_meetings():
    model = run(1, 250, boj__mode="rule", market__jp_inflation_expectations=0.011, macro__jp_core_inflation=0.04)
    decisions = [day for day, _ in model.boj.decisions]
    assert decisions, "with 4% core inflation the rule should hike within a year"
    meetings = set()
    for year in (2023, 2024):
        for month, dom in meeting_dates(year):
            meetings.add(model.calendar.day_of(f"{year}-{month:02d}-{dom:02d}"))
    assert set(decisions) <= meetings
    rates = model.timeseries().boj_rate.to_numpy()
    moves = np.diff(rates)[np.abs(np.diff(rates)) > 0]
    assert np.allclose(np.round(moves / 0.0025), moves / 0.0025)


def test_scripted_mode_leaves_the_rate_to_events():
    quiet = run(1, 120, boj__mode="scripted", macro__jp_core_inflation=0.05).timeseries()
    assert (quiet.boj_rate == quiet.boj_rate.iloc[0]).all()
    hike = ScenarioEvent(day=50, kind="boj_rate", params={"rate": 0.0025})
    model = run(1, 120, [hike], boj__mode="scripted")
    scripted, start = model.timeseries(), model.config.market.boj_rate
    assert start != pytest.approx(0.0025)  # the hike is a change
    rates = scripted.boj_rate.to_numpy()
    assert rates.size == 121  # day 0 and 120 trading days
    assert rates[:50] == pytest.approx(np.full(50, start))  # the configured rate until the event's day
    assert rates[50:] == pytest.approx(np.full(71, 0.0025))


def test_yield_curve_control_caps_the_10y():
    capped = run(1, 200, boj__ycc=True, boj__ycc_cap_pa=0.0065, boj__purchase_scale=0.0).timeseries()
    free = run(1, 200, boj__purchase_scale=0.0).timeseries()
    assert free.jgb10y_yield.max() > 0.0070  # without purchases the yield rises through the cap
    # the cap holds to within the (very elastic) BoJ demand's slope: ¥50 tn per bp
    assert capped.jgb10y_yield.max() < 0.0065 + 0.0001


# ---------------------------------------------------------------------------------------------
# life insurers


def test_a_rising_hedge_ratio_is_yen_buying():
    cfg = li.LifeInsurerConfig(n_insurers=3)
    rng = np.random.default_rng(0)
    u0 = np.array([0.03, 0.01, 0.04])
    state = li.init_life_insurers(cfg, rng, usdjpy=150.0, ust_price=0.7, jgb_price=0.9, utilities=u0)
    # at the initial utilities nothing moves
    li.decide(state, cfg, u0, usdjpy=150.0, ust_price=0.7, jgb_price=0.9)
    assert np.allclose(state.order_usd_bn, 0.0, atol=1e-9)
    assert np.allclose(state.order_fwd_usd_bn, 0.0, atol=1e-9)
    # hedging becomes more attractive (e.g. FX risk rises): the hedge ratio rises and insurers sell dollars
    # forward (the dealers who buy them sell them spot: the model-level test below); the foreign share
    # barely moves, so the spot order is small beside the forward sale
    before = state.hedge_ratio.copy()
    hedge_before = state.hedge_usd_bn.copy()
    li.decide(state, cfg, u0 + np.array([0.0, 0.02, 0.0]), usdjpy=150.0, ust_price=0.7, jgb_price=0.9)
    assert np.all(state.hedge_ratio > before)
    assert np.all(state.order_fwd_usd_bn < 0)
    assert np.all(np.abs(state.order_usd_bn) < np.abs(state.order_fwd_usd_bn))
    li.settle(state)
    assert np.allclose(state.hedge_usd_bn, hedge_before - state.order_fwd_usd_bn)


def test_a_yen_surge_is_closed_by_the_partial_adjustment_not_rebalanced_in_a_day():
    """At unchanged utilities a 10% yen surge (150 -> 135) lowers the foreign share the insurers hold;
    they buy back the allocation step's share ``ka`` of the gap a day (worked by hand below), not the whole
    gap (before: about $43 bn in one day at the default size, a record intervention in reverse)."""
    cfg = li.LifeInsurerConfig(n_insurers=3)
    u0 = np.array([0.03, 0.01, 0.04])
    state = li.init_life_insurers(cfg, np.random.default_rng(0), usdjpy=150.0, ust_price=0.7, jgb_price=0.9,
                                  utilities=u0)  # fmt: skip
    target = state.foreign_share.copy()  # at u0 the targets are the initial weights
    usd = state.ust_units * 0.7
    pool = state.jgb_units * 0.9 + usd * 135.0 / 1000.0
    held = usd * 135.0 / 1000.0 / pool
    assert np.all(held < target - 0.02)  # the surge cut the share by over 2 points
    ka = 1.0 - 0.5 ** (1.0 / cfg.allocation_halflife_days)
    want = (held + ka * (target - held)) * pool * 1000.0 / 135.0 - usd
    li.decide(state, cfg, u0, usdjpy=135.0, ust_price=0.7, jgb_price=0.9)
    np.testing.assert_allclose(state.order_usd_bn, want, rtol=1e-12)
    full = target * pool * 1000.0 / 135.0 - usd  # what rebalancing in a day would buy
    assert np.all(state.order_usd_bn > 0) and np.all(state.order_usd_bn < 0.01 * full)
    # the hedge ratio held did not move with USD/JPY (hedge and bonds are both in dollars): no hedge trade
    np.testing.assert_allclose(state.order_fwd_usd_bn, -state.hedge_ratio * state.order_usd_bn, rtol=1e-9)


def test_stress_raises_the_insurers_hedge_ratio_in_the_model():
    shock = ScenarioEvent(day=20, kind="risk_shock", params={"log_jump": 1.2})
    for seed in SEEDS:
        stressed = run(seed, 60, [shock]).timeseries()
        no_penalty = run(seed, 60, [shock], life_insurers__fx_risk_aversion=0.0).timeseries()
        assert stressed.lifer_hedge_ratio.iloc[-1] > no_penalty.lifer_hedge_ratio.iloc[-1]
        # the extra hedging is a forward sale of dollars: a larger hedge book than without the stress response
        assert stressed.lifer_hedge_usd_bn.iloc[-1] > no_penalty.lifer_hedge_usd_bn.iloc[-1]


def test_higher_superlong_yields_pull_insurers_home():
    cfg = li.LifeInsurerConfig(n_insurers=2)
    kw = dict(y_us=0.045, r_us=0.05, r_jp=0.0025, basis=-0.003, misvaluation=0.0, fx_var_pa=0.008)
    low = li.yen_returns(cfg, y30=0.02, **kw)
    high = li.yen_returns(cfg, y30=0.03, **kw)
    # above the 2.5% trigger buying accelerates: the JGB utility rises by more than the yield
    assert high[0] - low[0] > 0.01
    state = li.init_life_insurers(cfg, np.random.default_rng(1), usdjpy=150.0, ust_price=0.7, jgb_price=0.9,
                                  utilities=low)  # fmt: skip
    li.decide(state, cfg, high, usdjpy=150.0, ust_price=0.7, jgb_price=0.9)
    assert np.all(state.order_jgb_units > 0) and np.all(state.order_ust_units < 0)


@pytest.mark.parametrize("theta", [0.0, 18.0])
def test_the_insurers_target_is_their_initial_allocation_at_the_initial_returns(theta):
    """The intercepts make the initial allocation the target, also where θ = 0 (no response to returns),
    where no intercept can: there the exponent would be 0 whatever it is and the target equal weights."""
    cfg = li.LifeInsurerConfig(n_insurers=5, choice_sensitivity=theta)
    kw = dict(y_us=0.045, r_us=0.05, r_jp=0.0025, basis=-0.003, misvaluation=0.0, fx_var_pa=0.008)
    u0, u1 = li.yen_returns(cfg, y30=0.02, **kw), li.yen_returns(cfg, y30=0.03, **kw)
    state = li.init_life_insurers(cfg, np.random.default_rng(3), usdjpy=150.0, ust_price=0.7, jgb_price=0.9,
                                  utilities=u0)  # fmt: skip
    h = state.hedge_ratio
    w0 = np.stack([1 - state.foreign_share, state.foreign_share * h, state.foreign_share * (1 - h)], axis=1)
    assert np.all(w0[:, 0] > 0.5)  # mostly JGBs: equal weights would be a different allocation
    np.testing.assert_allclose(li.target_weights(u0, state.sensitivity, state.intercepts), w0, rtol=1e-12)
    moved = li.target_weights(u1, state.sensitivity, state.intercepts)
    if theta == 0.0:  # returns move nothing
        np.testing.assert_allclose(moved, w0, rtol=1e-12)
    else:  # higher super-long yields pull money home
        assert np.all(moved[:, 0] > w0[:, 0])


def test_insurers_without_a_response_to_returns_stay_near_their_allocation_in_the_model():
    ts = run(1, 20, life_insurers__choice_sensitivity=0.0).timeseries()
    # their flows only close the drift of their holdings' prices: a few $ bn over the month at most
    # (targeting equal weights, as θ = 0 once did, bought about $3 bn a day)
    assert ts.lifer_fx_flow_usd_bn.abs().max() < 0.5
    assert abs(ts.lifer_foreign_share.iloc[-1] - ts.lifer_foreign_share.iloc[0]) < 0.015  # prices alone: ~0.008


# ---------------------------------------------------------------------------------------------
# NISA households


def test_the_january_quota_reset_raises_nisa_outflows():
    quiet = dict(nisa__panic_threshold=0.8, nisa__contagion=False, nisa__dip_buyer_share=0.0)
    model = run(1, 300, **quiet)
    ts = model.timeseries().iloc[1:]
    months = np.array([model.calendar.date(d).month for d in ts.day])
    tdays = np.array([model.calendar.trading_days_in_month(d) for d in ts.day])
    monthly = ts.nisa_flow_jpy_tn.to_numpy() * tdays  # each day buys 1/(trading days) of the month's amount
    assert np.allclose(monthly[months == 1], 1.8, rtol=1e-9)  # ¥1 tn × the January multiplier
    assert np.allclose(monthly[months != 1], 1.0, rtol=1e-9)
    flat = run(1, 300, nisa__january_multiplier=1.0, **quiet).timeseries().iloc[1:]
    assert np.allclose(flat.nisa_flow_jpy_tn.to_numpy() * tdays, 1.0, rtol=1e-9)


def _ring_state(n=40, panicked=(), threshold=0.5, drawdown=0.2):
    indptr, indices = nisa.small_world_csr(n, 4, 0.0, np.random.default_rng(0))
    units = np.ones(n)
    state = nisa.NisaState(
        units=units,
        peak_jpy=np.full(n, 1.0 / (1.0 - drawdown)),  # every household is `drawdown` under water
        threshold=np.full(n, 0.9),  # nobody panics on their own
        contagion_threshold=np.full(n, threshold),
        dip_buyer=np.zeros(n, bool),
        weight=np.full(n, 1.0 / n),
        panic_left=np.zeros(n, np.int32),
        indptr=indptr,
        indices=indices,
        flow_jpy=np.zeros(n),
    )
    for i in panicked:
        state.panic_left[i] = 5
    return state


def _step(state, contagion=True):
    cfg = nisa.NisaConfig(contagion=contagion, contagion_min_drawdown=0.1)
    return nisa.decide(state, cfg, equity_index=1.0, usdjpy=1000.0, daily_total_jpy_tn=0.01)


def test_a_panic_cascade_needs_its_threshold_crossed():
    # ring with 4 neighbours each; households 10 and 11 panic: 12 has 2 of 4 panicked neighbours (50%)
    below = _ring_state(panicked=(10, 11), threshold=0.5)
    _, new, _ = _step(below)
    assert new == 0  # 50% is not more than the 50% threshold
    above = _ring_state(panicked=(10, 11), threshold=0.45)
    _, new, panicked = _step(above)
    assert new > 0 and panicked > 2
    # and it spreads day after day once it starts
    _, new2, panicked2 = _step(above)
    assert panicked2 > panicked
    # no contagion without the network channel, nor without losses
    assert _step(_ring_state(panicked=(10, 11), threshold=0.45), contagion=False)[1] == 0
    assert _step(_ring_state(panicked=(10, 11), threshold=0.45, drawdown=0.05))[1] == 0


def test_panicking_households_redeem_and_calm_ones_contribute():
    state = _ring_state(panicked=(3,), threshold=0.99)
    flow, _, panicked = _step(state)
    assert panicked == 1
    assert state.flow_jpy[3] < 0 and np.all(np.delete(state.flow_jpy, 3) > 0)


def test_network_sample_matches_the_csr_network():
    state = _ring_state(n=30, panicked=(0,))
    g, panic = nisa.network_sample(state, 30)
    assert g.number_of_nodes() == 30 and all(g.degree(i) == 4 for i in g.nodes)
    assert panic[0] == 1.0 and sum(panic.values()) == 1.0


def test_small_world_network_is_symmetric_and_has_the_right_degree():
    indptr, indices = nisa.small_world_csr(1000, 6, 0.1, np.random.default_rng(3))
    n = 1000
    edges = {(i, int(j)) for i in range(n) for j in indices[indptr[i] : indptr[i + 1]]}
    assert all((j, i) in edges for i, j in edges)
    assert all(i != j for i, j in edges)
    assert 5.5 < len(edges) / n < 6.5


def test_the_mesa_network_space_holds_household_views():
    model = CarryUnwindModel(seed=1, simulation__network_view_households=50, **SMALL)
    views = list(model.agents_by_type[nisa.HouseholdView])
    assert len(views) == 50
    assert all(v.cell is model.nisa_space[v.row] for v in views)
    assert all(abs(v.drawdown) < 1e-12 for v in views)


# ---------------------------------------------------------------------------------------------
# fiscal policy, inflation, UST auctions


@pytest.mark.parametrize("dominance", [True, False])
def test_fiscal_news_raises_fiscal_risk_and_its_premia_by_the_stated_coefficients(dominance):
    """Known answers on the macro state: a ¥20 tn budget adds κ·20 to fiscal risk F (whose super-long
    premium shifts the habitat investors' required 30y yield, tests/model/test_superlong.py); only under
    fiscal dominance the yen's risk premium φ_fx·F (an experiment knob, 0 by default)
    and Japan's expected inflation s·B/(D·M) (the fiscal reaction function, tests/model/test_fiscal.py)."""
    from model.macro import MacroConfig, MacroState

    cfg = MacroConfig(fiscal_dominance=dominance)
    macro = MacroState(cfg, 0.02)
    before = (macro.fx_premium(), macro.jp_expectations())
    macro.add_fiscal_news(20.0)
    risk = cfg.fiscal_risk_per_jpy_tn * 20.0
    assert risk > 0 and macro.fiscal_risk == pytest.approx(risk, rel=1e-12)
    assert macro.fx_premium() - before[0] == pytest.approx(cfg.fiscal_fx_premium * risk if dominance else 0.0)
    pi_f = cfg.fiscal_unbacked_share * 20.0 / (cfg.jgb_outstanding_jpy_tn * cfg.fiscal_inflation_horizon_years)
    assert macro.jp_expectations() - before[1] == pytest.approx(pi_f if dominance else 0.0)


def test_real_moneys_dollar_demand_rises_with_the_fiscal_premium_and_japans_expected_inflation_at_given_prices():
    """The partial effects of the fiscal-dominance channel on real money, prices held fixed (agents.fx_fundamentals):
    ∂F/∂premium = c_f and ∂F/∂π_jp = c_f·β, the price derivatives unchanged."""
    import math

    from agents.fx_fundamentals import RealMoneyInputs, fundamental_flow

    inp = RealMoneyInputs(infl_us=0.025, infl_jp=0.01, log_anchor=math.log(150.0), gap_ref=0.03, fiscal_premium=0.0,
                          beta=8.0, capacity=2800.0, position=40.0)  # fmt: skip
    at = (math.log(152.0), 0.042, 0.009)  # trial ln S, UST and JGB yields
    base = fundamental_flow.py_func(*at, inp)
    premium = fundamental_flow.py_func(*at, inp._replace(fiscal_premium=0.01))
    expectations = fundamental_flow.py_func(*at, inp._replace(infl_jp=0.02))
    assert premium[0] - base[0] == pytest.approx(2800.0 * 0.01, rel=1e-9)
    assert expectations[0] - base[0] == pytest.approx(2800.0 * 8.0 * 0.01, rel=1e-9)
    assert premium[1:] == base[1:] == expectations[1:]
    assert fundamental_flow(*at, inp) == pytest.approx(base, rel=1e-12)  # the compiled kernel is its source


def test_real_moneys_capacity_is_read_at_the_days_risk_index_inside_the_clearing():
    """Known answer: at a day's risk index v (the clearing's aux, planted here), real money's flow is
    ``c_f·(v̄/v)^η_f·(ln S_fund − ln S) − F_old``, and the row of the Jacobian gains
    ``−η_f·(flow + F_old)`` times ln v's derivative in each price."""
    import math

    import numpy as np

    from agents.fx_fundamentals import RealMoneyInputs, real_money_flows
    from model.sector import AUX_LOG_RISK, FX, N_MARKETS, UST

    inp = RealMoneyInputs(infl_us=0.025, infl_jp=0.01, log_anchor=math.log(150.0), gap_ref=0.03, fiscal_premium=0.0,
                          beta=8.0, capacity=2800.0, position=40.0, risk_elasticity=0.5,
                          log_v_mean=math.log(18.0))  # fmt: skip
    p = np.array([math.log(152.0), 0.042, 0.009, -0.003, 0.02])
    aux = np.zeros((3, N_MARKETS + 1))
    aux[AUX_LOG_RISK, 0] = math.log(36.0)  # the index at twice its mean
    aux[AUX_LOG_RISK, 1 + FX], aux[AUX_LOG_RISK, 1 + UST] = 4.0, -2.0
    z, jac, gross, out = np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(N_MARKETS)
    real_money_flows(p, inp, z, jac, gross, out, aux)
    s_fund = math.log(150.0) + 8.0 * ((0.042 - 0.025) - (0.009 - 0.01) - 0.03)
    capacity = 2800.0 * 0.5**0.5
    flow = capacity * (s_fund - p[0]) - 40.0
    assert z[FX] == pytest.approx(flow, rel=1e-12)
    d_logv = -0.5 * (flow + 40.0)
    assert jac[FX, FX] == pytest.approx(-capacity + 4.0 * d_logv, rel=1e-12)
    assert jac[FX, UST] == pytest.approx(capacity * 8.0 - 2.0 * d_logv, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_budget_leaves_usdjpy_higher_with_the_fiscal_dominance_channel_than_without_it(seed):
    """A twin with one channel removed. The paths agree until the budget (no fiscal risk, so the channel is
    inert); with the BoJ constrained (not expected to respond) the channel only adds dollar demand at every
    price on the budget day — real money's anchor rises
    (above), and funds, insurers and long-horizon investors buy more dollars the cheaper the dollar looks
    against that anchor — so the day's USD/JPY is higher with it. Whether the budget weakens the yen
    overall depends on how much its higher JGB yields pull the other way: that is hypothesis H2's
    question, not this test's."""
    budget = ScenarioEvent(day=20, kind="supplementary_budget", params={"jpy_tn": 20.0})
    # the BoJ not expected to answer the fiscal term of expected inflation: that channel pulls the other way
    model = run(seed, 20, [budget], boj__political_constraint=1.0)
    on = model.timeseries()
    off = run(seed, 20, [budget], boj__political_constraint=1.0, macro__fiscal_dominance=False).timeseries()
    assert on.usdjpy.iloc[:20].equals(off.usdjpy.iloc[:20])
    assert on.fiscal_risk.iloc[20] == off.fiscal_risk.iloc[20] > 0 == on.fiscal_risk.iloc[19]
    assert on.usdjpy.iloc[20] > off.usdjpy.iloc[20]
    # the 30y clears (habitat investors' fiscal premium, super-long supply): its response to the budget is
    # measured against a twin without the budget in tests/model/test_superlong.py


def test_yen_depreciation_passes_through_to_inflation():
    """With no commodity shocks, inflation is core plus the pass-through of the year's ln USD/JPY change,
    recomputed here from each run's own closes (the year-ago level interpolated from the configured one
    before a year of history). The switch cuts the loop, the pass-through of the model's own moves: the
    depreciation before day 0 (110 to 140.5, +24%) passes through in both runs until it leaves the window."""
    setting = dict(market__usdjpy_year_ago=110.0, macro__commodity_sd=0.0)
    on = run(1, 300, **setting).timeseries()
    off = run(1, 300, macro__pass_through_switch=False, **setting).timeseries()
    cfg = MacroConfig()
    for df, loop in ((on, True), (off, False)):
        s = np.log(df.usdjpy.to_numpy())
        for t in range(1, len(s)):
            w = t / 250.0
            year_ago = s[t - 250] if t >= 250 else (1 - w) * math.log(110.0) + w * s[0]
            change = s[t] - year_ago if loop else (s[0] - year_ago if t < 250 else 0.0)
            expected = cfg.jp_core_inflation + cfg.fx_pass_through * change
            assert df.jp_inflation.iloc[t] == pytest.approx(expected, rel=1e-12, abs=1e-15), (loop, t)
    assert abs(on.jp_inflation.iloc[1] - off.jp_inflation.iloc[1]) < 1e-3  # day 1: the inherited part in both
    assert off.jp_inflation.iloc[100] > cfg.jp_core_inflation + 0.005  # and it still passes through


def test_identities_hold_every_step_with_all_policy_tools_in_use():
    events = [
        ScenarioEvent(day=15, kind="supplementary_budget", params={"jpy_tn": 20.0}),
        ScenarioEvent(day=25, kind="mof_intervention", params={"jpy_tn": 5.0}),
        ScenarioEvent(day=30, kind="risk_shock", params={"log_jump": 1.0}),
        ScenarioEvent(day=40, kind="boj_rate", params={"rate": 0.005}),
    ]
    model = CarryUnwindModel(seed=4, boj__ycc=True, boj__ycc_cap_pa=0.008, **SMALL)
    for e in events:
        model.schedule(e.day, model.apply_event, e)
    for _ in range(120):
        model.step()
        check_identities(model)
    ts = model.timeseries()
    assert ts.mof_intervention_jpy_tn.sum() >= 5.0
    assert model.ledger.get("mof", "usd_bn") == pytest.approx(model.mof.state.deposits_usd_bn, rel=1e-12)
    assert model.ledger.get("mof", "ust_units") == pytest.approx(model.mof.state.ust_units, rel=1e-12)


def test_dashboard_columns_are_present_and_finite():
    ts = run(2, 120).timeseries()
    cols = [c for c in ts.columns if c.startswith("dash_")]
    assert len(cols) == 8
    assert np.isfinite(ts[cols].to_numpy()).all()
    assert set(np.unique(ts.dash_b_zone)) <= {0.0, 1.0}


@pytest.mark.parametrize("seed", range(5))
def test_the_insurers_compiled_settlement_is_its_python_source_and_books_their_orders(seed):
    from model.accounting import Ledger
    from model.sector import FWD, FX, INSTITUTIONS, JGB30, UST

    model = CarryUnwindModel(seed=seed, collect=False, hedge_funds__n_funds=20, simulation__days=5)
    model.run_days(3)
    sector = model.sectors["life_insurers"]
    rng = np.random.default_rng(seed)
    orders = np.zeros_like(sector._orders)
    orders[:, INSTITUTIONS] = rng.normal(0.0, 5.0, orders.shape[0])
    prices = (150.0 + rng.normal(), 92.0 + rng.normal(), 81.0 + rng.normal(), rng.normal(0.0, 0.01), 2e-4)
    results = []
    for fn in (li.insurer_settle, li.insurer_settle.py_func):
        state = type(sector.state)(*(np.array(a, copy=True) for a in sector.state))
        ledger = Ledger(("life_insurers", "forward_settlement"))
        ledger.table[:] = rng.normal(0.0, 10.0, ledger.table.shape) if not results else results[0][3]
        before = ledger.table.copy()
        cells = ledger.cells(li._BOOKED)
        out = fn(orders, state, True, *prices, ledger.table, ledger.turnover, cells)
        results.append((np.array(out), ledger.table.copy(), np.concatenate([np.ravel(a) for a in state]), before))
    (a, ta, sa, before), (b, tb, sb, _) = results
    assert a.tobytes() == b.tobytes() and ta.tobytes() == tb.tobytes() and sa.tobytes() == sb.tobytes()
    # the trades are the orders, and the insurers' row moves by them at the day's prices
    usd, ust, fwd, jgb30 = (orders[m, INSTITUTIONS] for m in (FX, UST, FWD, JGB30))
    assert a.tolist() == [usd, ust, fwd, jgb30]
    delta = ta - before
    row = ledger.cell("life_insurers", "usd_bn")[0]
    settlement = ledger.cell("forward_settlement", "usd_bn")
    assert delta[ledger.cell("life_insurers", "ust_units")] == pytest.approx(ust, abs=1e-12)
    assert delta[ledger.cell("life_insurers", "jgb30_units")] == pytest.approx(jgb30, abs=1e-12)
    assert delta[ledger.cell("life_insurers", "usd_fwd_bn")] == pytest.approx(fwd, abs=1e-12)
    assert delta[ledger.cell("life_insurers", "jpy_tn")] == pytest.approx(
        -usd * prices[0] / 1000.0 - jgb30 * prices[2], rel=1e-12, abs=1e-12
    )
    # what the insurers pay for their hedge the settlement account receives
    paid = delta[row, ledger.column("usd_bn")] - (usd - ust * prices[1])
    assert delta[settlement] == pytest.approx(-paid, rel=1e-9, abs=1e-9)
