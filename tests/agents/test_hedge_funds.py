"""Hedge-fund rules and reductions: no leverage → no margin calls, forced sales off → only voluntary
trades, failures liquidated the next day, investor flows, volatility-dependent margins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import hedge_funds as hf
from agents.hedge_funds import TRADING_DAYS, fund_position
from tests.support import CRASH_PRONE, fund_snapshot, make_model

SEEDS = [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------
# reduction: no leverage, no margin calls


@pytest.mark.parametrize("scenario", ["baseline", "risk_off"])
def test_unleveraged_funds_never_get_margin_calls(scenario):
    for seed in SEEDS:
        model = make_model(seed, scenario, hedge_funds__max_leverage=1.0)
        assert np.all(model.hedge_funds.leverage_cap == 1.0)
        ever_called = np.zeros(model.hedge_funds.alive.shape[0], dtype=bool)
        for _ in range(500):
            model.step()
            ever_called |= model.hedge_funds.margin_called
        df = model.timeseries()
        assert df["hf_margin_calls"].sum() == 0, f"seed {seed}"
        assert not ever_called.any(), f"seed {seed}"
        assert (df["clearing_residual"] <= 1e-10).all()


def test_leveraged_funds_do_get_margin_calls_in_the_same_runs():
    """The counterpart of the reduction above: with leverage, the same seeds and scenario do produce
    margin calls, so their absence above is the leverage's doing."""
    calls = [
        make_and_run(seed, "risk_off", 500, hedge_funds__max_leverage=25.0).timeseries()["hf_margin_calls"].sum()
        for seed in SEEDS
    ]
    assert sum(c > 0 for c in calls) >= 1, calls


def make_and_run(seed, scenario, days, **overrides):
    model = make_model(seed, scenario, **overrides)
    for _ in range(days):
        model.step()
    return model


# ---------------------------------------------------------------------------------------------
# reduction: forced sales off → only the voluntary partial adjustment


def voluntary_position(x_old, equity, target, speed):
    """x_vol = x_old + κ·(ℓ*·E − x_old), not below zero (module docstring)."""
    return np.maximum(x_old + speed * (target * equity - x_old), 0.0)


def gradual_position(x_old, equity, target, lam_init, lam_maint, speed):
    """Without forced sales (fund_position docstring): above the maintenance leverage L > λ_m the
    share (L − λ_m)/L of the cut to λ_i·E is executed, if that is below the voluntary position."""
    vol = voluntary_position(x_old, equity, target, speed)
    lev = x_old / equity
    share = np.clip(1.0 - lam_maint / np.maximum(lev, 1e-300), 0.0, 1.0)
    cut = x_old - share * (x_old - lam_init * equity)
    return np.where(lev > lam_maint, np.maximum(np.minimum(vol, cut), 0.0), vol)


def test_fund_position_without_forced_sales_cuts_gradually():
    rng = np.random.default_rng(99)
    n = 5000
    lam_init = rng.uniform(1.0, 25.0, n)
    lam_maint = lam_init / 0.75
    equity = rng.lognormal(0.0, 1.0, n)
    x_old = equity * lam_maint * rng.uniform(0.0, 3.0, n)  # a third of them beyond the maintenance limit
    target = rng.uniform(0.0, 1.0, n) * lam_init
    speed = rng.uniform(0.01, 1.0, n)
    called = partial = 0
    for i in range(n):
        x, _, _, c = fund_position(x_old[i], equity[i], target[i], lam_init[i], lam_maint[i], speed[i], 0.02, False)
        expected = gradual_position(x_old[i], equity[i], target[i], lam_init[i], lam_maint[i], speed[i])
        assert x == pytest.approx(expected, rel=1e-13, abs=1e-13)
        if not c:
            assert x == pytest.approx(voluntary_position(x_old[i], equity[i], target[i], speed[i]), rel=1e-14)
        called += c
        # a forced sale would have cut to λ_i·E at once; gradual execution keeps more
        partial += bool(c and x > lam_init[i] * equity[i] * (1 + 1e-12))
    assert called > n // 4
    assert partial > called // 2


def run_checking_voluntary_rule(seed: int, days: int, seen: dict) -> None:
    """Run with forced sales, margin tightening and investor flows off; at every clearing check that
    each solvent fund's new position follows the gradual rule, margin call or not."""
    model = make_model(
        seed,
        "risk_off",
        **CRASH_PRONE,
        hedge_funds__forced_sales=False,
        hedge_funds__margin_vol_elasticity=0.0,
        hedge_funds__investor_flows=False,
    )
    f = model.hedge_funds
    sector = model.sectors["hedge_funds"]
    original = sector.settle

    def checking_settle(mdl, day):
        # holdings are still yesterday's: mark them at the cleared prices
        price = math.exp(-mdl.config.market.ust_duration * day.ust10y_yield)
        x_old = f.ust_units * price
        equity = x_old + f.cash_usd_bn - f.loan_jpy_tn * 1000.0 / day.usdjpy
        ok = f.alive & (equity > 0) & (f.init_leverage > 0)
        expected = gradual_position(
            x_old[ok], equity[ok], f.target_leverage[ok], f.init_leverage[ok], f.maint_leverage[ok], f.speed[ok]
        )
        np.testing.assert_allclose(
            f.position_new_usd_bn[ok], expected, rtol=1e-12, atol=1e-12, err_msg=f"seed {seed} day {model.day}"
        )
        called = ok & f.margin_called
        seen["calls"] += int(called.sum())
        # a forced cut would have brought these down to the initial-margin limit at once
        seen["kept_above_initial_margin"] += int((called & (f.position_new_usd_bn > f.init_leverage * equity)).sum())
        return original(mdl, day)

    sector.settle = checking_settle
    for _ in range(days):
        model.step()
    df = model.timeseries()
    assert (df["clearing_residual"] <= 1e-10).all(), f"seed {seed}"
    assert np.isfinite(df["usdjpy"]).all()


def test_without_forced_sales_margin_calls_are_executed_gradually_in_a_run():
    seen = {"calls": 0, "kept_above_initial_margin": 0}
    for seed in range(6):
        run_checking_voluntary_rule(seed, 500, seen)
    assert seen["calls"] > 0, "no margin call was flagged: the reduction was not exercised"
    assert seen["kept_above_initial_margin"] > 0, seen


# ---------------------------------------------------------------------------------------------
# failure and liquidation


@pytest.fixture(scope="module")
def crash_snapshots():
    """Daily snapshots of the first crash-prone run (by seed) in which a fund falls below the floor
    and is not insolvent outright (so it goes through the next-day liquidation)."""
    for seed in range(3, 11):
        model = make_model(seed, "risk_off", **CRASH_PRONE)
        snaps = []
        for _ in range(300):
            model.step()
            snaps.append(fund_snapshot(model))
        if any(np.any(s["alive"] & s["liquidating"]) for s in snaps[:-1]):
            return model, snaps
    pytest.fail("no fund fell below the failure floor in crash-prone runs with seeds 3-10")


def test_every_fund_below_the_failure_floor_is_marked_for_liquidation(crash_snapshots):
    model, snaps = crash_snapshots
    floor = model.config.hedge_funds.failure_floor * model.hedge_funds.initial_capital_usd_bn
    below = 0
    for s in snaps:
        under = s["alive"] & (s["equity_book_usd_bn"] < floor)
        assert np.all(s["liquidating"][under]), f"day {s['day']}"
        # and only those: a fund is not liquidated for nothing
        assert np.all(s["equity_book_usd_bn"][s["liquidating"]] < floor[s["liquidating"]]), f"day {s['day']}"
        below += int(under.sum())
    assert below > 0, "no fund fell below the floor: the test was not exercised"


def test_fund_below_the_failure_floor_is_liquidated_the_next_day(crash_snapshots):
    model, snaps = crash_snapshots
    delay = model.config.hedge_funds.reentry_delay_days
    liquidated = 0
    for today, tomorrow in zip(snaps[:-1], snaps[1:], strict=True):
        for i in np.flatnonzero(today["alive"] & today["liquidating"]):
            assert tomorrow["position_new_usd_bn"][i] == 0.0, f"fund {i} kept a position on day {tomorrow['day']}"
            assert not tomorrow["alive"][i] and not tomorrow["liquidating"][i]
            assert tomorrow["ust_units"][i] == 0.0
            assert tomorrow["loan_jpy_tn"][i] == 0.0 and tomorrow["cash_usd_bn"][i] == 0.0
            assert tomorrow["reentry_day"][i] == tomorrow["day"] + delay
            liquidated += 1
    assert liquidated > 0


# ---------------------------------------------------------------------------------------------
# investor flows


def fund_decision(gamma, cap, spread, trend_w, value_w, vol_target, liquidating, carry, trend, misval, var_pa,
                  vol_ratio, psi, theta, speed):  # fmt: skip
    """The decision rule called with one number per argument."""
    return hf.fund_decision(
        hf.FundTraits(gamma, cap, spread, trend_w, value_w, vol_target), liquidating,
        hf.Observation(carry, trend, misval, var_pa, vol_ratio), hf.DecisionRules(psi, theta, speed),
    )  # fmt: skip


def fund_settle(units, loan, cash, book, capital0, perf, liquidating, spread, x, price, k, price_prev, k_prev, y_us,
                r_jp, flows_on, b, a, r_b_daily, floor, cap_multiple):  # fmt: skip
    """The settlement rule called with one number per argument."""
    return hf.fund_settle(
        hf.FundAccount(units, loan, cash, book, capital0, perf, liquidating, spread), x,
        hf.SettlePrices(price, k, price_prev, k_prev, y_us, r_jp),
        hf.SettleRules(flows_on, b, a, r_b_daily, floor, cap_multiple, 100),
    )  # fmt: skip


SETTLE_CASE = dict(
    units=100.0,
    loan=10.0,
    cash=8.0,
    book=None,
    capital0=9.0,
    perf=0.001,
    liquidating=False,
    spread=0.006,
    x=95.0,
    price=0.70,
    k=1000.0 / 145.0,
    price_prev=0.705,
    k_prev=1000.0 / 146.0,
    y_us=0.043,
    r_jp=0.0025,
    flows_on=True,
    b=0.15,
    a=0.1,
    r_b_daily=0.02 / TRADING_DAYS,
    floor=0.1,
    cap_multiple=3.0,
)


def settle_args(**changes):
    case = dict(SETTLE_CASE, **changes)
    if case["book"] is None:  # yesterday's books balanced at yesterday's prices
        case["book"] = case["units"] * case["price_prev"] + case["cash"] - case["loan"] * case["k_prev"]
    return case


def hand_settle(c):
    """TFG (2012) flows, computed by hand from the docstrings: returns (book, perf, flow, cash)."""
    reval = c["units"] * (c["price"] - c["price_prev"]) - c["loan"] * (c["k"] - c["k_prev"])
    coupon = c["x"] * c["y_us"] / TRADING_DAYS
    loan_new = c["x"] / c["k"]
    interest_jpy = loan_new * (c["r_jp"] + c["spread"]) / TRADING_DAYS
    book = c["book"] + reval + coupon - interest_jpy * c["k"]
    r = (book - c["book"]) / c["book"]
    perf = (1 - c["a"]) * c["perf"] + c["a"] * r
    flow = c["b"] * (perf - c["r_b_daily"]) * book if c["flows_on"] else 0.0
    cash = c["cash"] + c["units"] * c["price"] - c["loan"] * c["k"] + coupon + flow
    return book + flow, perf, flow, cash


@pytest.mark.parametrize("perf0", [0.004, -0.004, 0.0])
def test_investor_flow_is_b_times_excess_performance_times_equity(perf0):
    c = settle_args(perf=perf0)
    out = fund_settle(**c)
    units, loan, cash, book, perf, coupon, int_jpy, flow, payout, default, closed, failed = out
    want_book, want_perf, want_flow, want_cash = hand_settle(c)
    assert perf == pytest.approx(want_perf, rel=1e-12)
    assert flow == pytest.approx(want_flow, rel=1e-12)
    assert book == pytest.approx(want_book, rel=1e-12)
    assert cash == pytest.approx(want_cash, rel=1e-12)
    assert units == pytest.approx(c["x"] / c["price"]) and loan == pytest.approx(
        c["x"] / c["k"] * (1 + (c["r_jp"] + c["spread"]) / TRADING_DAYS)
    )
    assert not closed and not failed and payout == 0.0 and default == 0.0
    # the sign follows performance against the benchmark
    assert np.sign(flow) == np.sign(want_perf - c["r_b_daily"])


def test_investor_flows_switched_off_means_no_flow():
    c = settle_args(flows_on=False, perf=0.01)
    out = fund_settle(**c)
    assert out[7] == 0.0
    assert out[3] == pytest.approx(hand_settle(c)[0], rel=1e-12)


def test_investor_withdrawal_never_exceeds_equity():
    c = settle_args(perf=-5.0, b=10.0)  # absurd underperformance: the formula asks for more than E
    out = fund_settle(**c)
    book_before_flow = hand_settle(dict(c, flows_on=False))[0]
    assert out[7] == pytest.approx(-book_before_flow, rel=1e-12)
    assert out[3] == pytest.approx(0.0, abs=1e-12)


def test_equity_above_the_capacity_multiple_is_paid_out():
    c = settle_args(capital0=1.0, cap_multiple=3.0)  # equity ~ 15: far above 3× initial capital
    out = fund_settle(**c)
    assert out[3] == pytest.approx(3.0, rel=1e-12)


def test_investor_flows_in_a_run_match_the_rule_for_each_fund():
    """In a run, each live fund's flow is b·(r̃ − r_b)·E (capped), with r̃ the EMA of its own returns."""
    model = make_model(4)
    cfg = model.config.hedge_funds
    f = model.hedge_funds
    for _ in range(20):
        model.step()
    book0, perf0, alive0 = f.equity_book_usd_bn.copy(), f.perf_ema.copy(), f.alive.copy()
    model.step()
    live = alive0 & f.alive & ~f.liquidating
    assert live.sum() > 50
    # the EMA moved by a·(r − r̃) with r the day's return before the flow
    r_implied = (f.perf_ema[live] - (1 - cfg.flow_memory) * perf0[live]) / cfg.flow_memory
    flows = (
        cfg.flow_sensitivity
        * (f.perf_ema[live] - cfg.flow_benchmark_pa / TRADING_DAYS)
        * (book0[live] * (1 + r_implied))
    )
    cap = cfg.max_capital_multiple * f.initial_capital_usd_bn[live]
    book_before_flow = book0[live] * (1 + r_implied)
    expected_book = np.minimum(book_before_flow + np.maximum(flows, -book_before_flow), cap)
    np.testing.assert_allclose(f.equity_book_usd_bn[live], expected_book, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# margins tighten with volatility


def decision(cap, vol_ratio, psi=1.0, theta=0.75, var_pa=0.01, carry=0.04):
    return fund_decision(1.0, cap, 0.005, 0.0, 0.3, 0.0, False, carry, 0.0, 0.0, var_pa, vol_ratio, psi, theta, 0.05)


@pytest.mark.parametrize("cap", [1.0, 1.5, 5.0, 12.0, 25.0, 100.0])
@pytest.mark.parametrize("psi", [0.5, 1.0, 2.0])
def test_initial_leverage_falls_with_volatility_but_never_below_one(cap, psi):
    ratios = np.array([0.2, 0.5, 1.0, 1.01, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 50.0, 1e3])
    lam = np.array([decision(cap, v, psi)[1] for v in ratios])
    assert np.all(np.diff(lam) <= 0.0)  # non-increasing in volatility
    assert np.all(lam >= 1.0)
    assert np.all(lam[ratios <= 1.0] == cap)  # calm markets: the cap
    # strictly tighter while the margin is below 100 %
    tightening = (ratios[1:] > 1.0) & (lam[:-1] > 1.0)
    assert np.all(np.diff(lam)[tightening] < 0.0)
    maint = np.array([decision(cap, v, psi)[2] for v in ratios])
    np.testing.assert_allclose(maint, lam / 0.75)
    targets = np.array([decision(cap, v, psi)[0] for v in ratios])
    assert np.all((targets >= 0.0) & (targets <= lam))


def test_margin_tightening_switched_off_keeps_the_cap():
    for v in (0.5, 1.0, 2.0, 10.0):
        assert decision(12.0, v, psi=0.0)[1] == 12.0


def test_liquidating_fund_targets_nothing():
    t, lam, maint, speed = fund_decision(
        1.0, 10.0, 0.005, 0.0, 0.3, 0.0, True, 0.04, 0.0, 0.0, 0.01, 1.0, 1.0, 0.75, 0.05
    )
    assert (t, lam, maint, speed) == (0.0, 0.0, 0.0, 1.0)
