"""The risk index priced inside the clearing and the dealers' capital at the day's prices.

Known answers (the risk block's formula with its cap and floor, the dealers' marked equity as an
identity on their books), derivatives against central differences (the blocks and the full composed
4×4 Jacobian), reductions (an exogenous risk index follows its AR(1) exactly; without the capital
constraint the dealers' equity does not reach prices), same-day news, and the checkers.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from agents.dealers import DealerInputs, capacity_factor, marked_equity
from model.accounting import AccountingError, check_identities
from model.clearing import Work
from model.registry import DEFAULT_SECTORS
from model.risk import FORCED_SCALE_FLOOR, MIN_REALISED_VOL, RiskIndex, RiskInputs, forced_sales_scale, risk_flows
from model.scenarios import ScenarioEvent
from model.sector import (
    AUX_FORCED,
    AUX_LOG_RISK,
    AUX_RISK_CHANNELS,
    FWD,
    FX,
    JGB,
    JGB30,
    N_AUX,
    N_MARKETS,
    TRADING_DAYS,
    UST,
)
from model.validation import ConfigError
from tests.support import CRASH_PRONE, make_model

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
EPS = 1e-4  # the smoothing of |r| in the risk index: a hundredth of a percent (model.risk's docstring)
STEPS = np.array([1e-6, 1e-7, 1e-7, 1e-7, 1e-7])  # ln S, y_us, y_jp, b, y_jp30
# the full clearing: a smaller step in ln S, so that the one-sided differences of its smooth parts agree
# within the tolerance (the dealers' capacity curves with the day's move)
FULL_STEPS = np.array([1e-7, 1e-7, 1e-7, 1e-7, 1e-7])
CORE_SECTORS = tuple(cls for cls in DEFAULT_SECTORS if cls.name not in ("cta", "retail_fx"))


def central(fn, p, steps=STEPS):
    """Central differences of the array ``fn(p)`` in each of the prices (columns)."""
    cols = []
    for j in range(N_MARKETS):
        dp = np.zeros(N_MARKETS)
        dp[j] = steps[j]
        cols.append((np.asarray(fn(p + dp)) - np.asarray(fn(p - dp))) / (2.0 * steps[j]))
    return np.stack(cols, axis=-1)


# ---------------------------------------------------------------------------------------------
# the risk block


def hand_channels(inp: RiskInputs, s: float, forced: float) -> float:
    """The carry market's own channels on the day: a·(√(r² + ε²)/σ_{t−1} − √(2/π)) + c·f/K, r = s − s_prev."""
    r = s - inp.s_prev
    return (inp.vol_sensitivity * (math.sqrt(r * r + EPS * EPS) / inp.expected_vol - SQRT_2_OVER_PI)
            + inp.forced_sensitivity * forced / inp.carry_stock)  # fmt: skip


def hand_level(inp: RiskInputs, s: float, forced: float, y_us: float) -> float:
    """ln v before its bounds: ln v̄ + ρ·(ln v_prev − ln v̄) + (ρ_c − ρ)·q_prev + (the day's channels)
    − e·Δln E + news, Δln E = (equity before trading) − D_e·(y_us − y_us_prev)."""
    equity_return = inp.equity_before - inp.equity_duration * (y_us - inp.y_us_prev)
    return (inp.log_mean + inp.persistence * (inp.log_v_prev - inp.log_mean)
            + (inp.channel_persistence - inp.persistence) * inp.channels_prev
            + hand_channels(inp, s, forced) - inp.equity_sensitivity * equity_return + inp.news)  # fmt: skip


def hand_log_v(inp: RiskInputs, s: float, forced: float, y_us: float) -> float:
    """:func:`hand_level` capped at ln v_max and floored at ln 5."""
    return min(max(hand_level(inp, s, forced, y_us), math.log(5.0)), inp.log_max)


def random_risk_inputs(rng) -> RiskInputs:
    return RiskInputs(
        s_prev=math.log(rng.uniform(100.0, 160.0)),
        log_v_prev=math.log(rng.uniform(9.0, 80.0)),
        log_mean=math.log(rng.uniform(12.0, 30.0)),
        persistence=rng.uniform(0.9, 0.995),
        vol_sensitivity=rng.uniform(0.0, 0.2),
        forced_sensitivity=rng.uniform(0.0, 20.0),
        expected_vol=rng.uniform(0.003, 0.012),
        news=rng.normal(0.0, 0.1),
        equity_sensitivity=rng.uniform(0.0, 8.0),
        equity_before=rng.normal(0.0, 0.01),
        equity_duration=rng.uniform(0.0, 10.0),
        y_us_prev=rng.uniform(0.035, 0.045),  # the trial US yield is 4%
        carry_stock=rng.uniform(10.0, 800.0),
        log_max=math.log(rng.uniform(40.0, 150.0)),
        channels_prev=rng.normal(0.0, 0.5),
        channel_persistence=rng.uniform(0.0, 0.995),
    )


class ForcedSales:
    """Forced sales that are a smooth function of the prices, as a customer sector writes them into aux."""

    def __init__(self, rng, p0) -> None:
        self.p0 = p0
        self.level = rng.uniform(0.0, 80.0)
        self.grad = rng.normal(0.0, 400.0, N_MARKETS)
        self.grad[FWD] = 0.0

    def value(self, p) -> float:
        return self.level + float(self.grad @ (p - self.p0))

    def aux(self, p) -> np.ndarray:
        aux = np.zeros((N_AUX, 1 + N_MARKETS))
        aux[AUX_FORCED, 0] = self.value(p)
        aux[AUX_FORCED, 1:] = self.grad
        return aux


def run_risk(fn, p, inp, forced: ForcedSales, row: int = AUX_LOG_RISK):
    z, jac, gross, out = np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(4)
    aux = forced.aux(p)
    fn(p, inp, z, jac, gross, out, aux)
    # the block trades nothing and leaves the forced sales alone
    assert not z.any() and not jac.any() and not gross.any() and not out.any()
    np.testing.assert_array_equal(aux[AUX_FORCED], forced.aux(p)[AUX_FORCED])
    return aux[row].copy()


def test_the_channels_part_of_the_index_is_its_own_ar1_and_vanishes_exactly_with_one_component():
    """q_t = ρ_c·q_{t−1} + (the day's USD/JPY move and forced sales), less what the cap or floor removes,
    with the derivatives of ln v but the equity market's; with ρ_c = ρ the q term of ln v is exactly
    zero, whatever q_{t−1} (the stated form)."""
    rng = np.random.default_rng(33)
    bounded = 0
    for i in range(2000):
        inp = random_risk_inputs(rng)
        if i % 10 == 0:
            inp = inp._replace(news=rng.choice([-1.0, 1.0]) * rng.uniform(3.0, 6.0))
        p = np.zeros(N_MARKETS)
        p[[FX, UST, JGB, FWD, JGB30]] = inp.s_prev + rng.normal(0.0, 0.02), 0.04, 0.01, -0.004, 0.02
        forced = ForcedSales(rng, p)
        log_v = run_risk(risk_flows, p, inp, forced)
        q = run_risk(risk_flows, p, inp, forced, row=AUX_RISK_CHANNELS)
        assert np.array_equal(q, run_risk(risk_flows.py_func, p, inp, forced, row=AUX_RISK_CHANNELS))
        channels = inp.channel_persistence * inp.channels_prev + hand_channels(inp, p[FX], forced.value(p))
        unbounded = hand_level(inp, p[FX], forced.value(p), p[UST])
        bounded += abs(unbounded - log_v[0]) > 1e-9
        excess = unbounded - log_v[0]  # what the cap (> 0) or the floor (< 0) removed
        own = min(excess, max(channels, 0.0)) if excess > 0.0 else max(excess, min(channels, 0.0))
        assert q[0] == pytest.approx(channels - (own if abs(excess) > 1e-12 else 0.0), abs=1e-12)
        if abs(unbounded - log_v[0]) > 1e-9:
            assert not q[1:].any()
        else:
            equity = np.zeros(N_MARKETS)
            equity[UST] = inp.equity_sensitivity * inp.equity_duration
            np.testing.assert_array_equal(q[1:] + equity, log_v[1:])
        one = inp._replace(channel_persistence=inp.persistence)
        assert np.array_equal(run_risk(risk_flows, p, one, forced),
                              run_risk(risk_flows, p, one._replace(channels_prev=0.0), forced))  # fmt: skip
    assert bounded > 100


@pytest.mark.parametrize("ratio", [1.0, 0.7])
def test_an_index_capped_by_a_slow_jump_decays_from_the_cap_the_next_day(ratio):
    """A sentiment jump of +2.5 in ln v from 20 lifts the slow part above the cap of 150, with the channels
    at 0. The cap removes the excess from the slow part, not from q (q put none of it there), so the next
    days decay from the cap at ρ whatever ρ_c: the path of one component, not an index held at the cap
    for weeks while a q charged with the whole excess decays at ρ_c < ρ."""
    rho = 0.986
    log_max, log_mean = math.log(150.0), math.log(18.0)
    inp = RiskInputs(s_prev=math.log(150.0), log_v_prev=math.log(20.0), log_mean=log_mean, persistence=rho,
                     vol_sensitivity=0.0, forced_sensitivity=0.0, expected_vol=0.006, news=2.5,
                     equity_sensitivity=0.0, equity_before=0.0, equity_duration=0.0, y_us_prev=0.04,
                     carry_stock=100.0, log_max=log_max, channels_prev=0.0,
                     channel_persistence=ratio * rho)  # fmt: skip
    p = np.zeros(N_MARKETS)
    p[[FX, UST, JGB, FWD, JGB30]] = inp.s_prev, 0.04, 0.01, -0.004, 0.02
    none = ForcedSales(np.random.default_rng(0), p)
    none.level, none.grad[:] = 0.0, 0.0
    path, log_v, q = [], inp.log_v_prev, 0.0
    for day in range(12):
        step = inp._replace(log_v_prev=log_v, channels_prev=q, news=inp.news if day == 0 else 0.0)
        log_v = run_risk(risk_flows, p, step, none)[0]
        q = run_risk(risk_flows, p, step, none, row=AUX_RISK_CHANNELS)[0]
        path.append(log_v)
    assert path[0] == log_max and q == 0.0
    for k in range(1, 12):  # one component's decay from the cap, to rounding
        assert path[k] == pytest.approx(log_mean + rho**k * (log_max - log_mean), abs=1e-12)


def test_risk_flows_equal_the_hand_formula_with_its_cap_and_floor():
    rng = np.random.default_rng(31)
    seen = {"inside": 0, "cap": 0, "floor": 0}
    for i in range(3000):
        inp = random_risk_inputs(rng)
        if i % 10 == 0:  # a sentiment shock beyond the cap, or below the floor
            inp = inp._replace(news=rng.choice([-1.0, 1.0]) * rng.uniform(3.0, 6.0))
        p = np.zeros(N_MARKETS)
        p[[FX, UST, JGB, FWD, JGB30]] = inp.s_prev + rng.normal(0.0, 0.02), 0.04, 0.01, -0.004, 0.02
        forced = ForcedSales(rng, p)
        row = run_risk(risk_flows, p, inp, forced)
        assert np.array_equal(row, run_risk(risk_flows.py_func, p, inp, forced))  # compiled == Python
        want = hand_log_v(inp, p[FX], forced.value(p), p[UST])
        assert row[0] == pytest.approx(want, abs=1e-13)
        if want == inp.log_max or want == math.log(5.0):
            seen["cap" if want == inp.log_max else "floor"] += 1
            assert not row[1:].any()  # no derivative at the cap or the floor
            continue
        seen["inside"] += 1
        r = p[FX] - inp.s_prev
        d_fx = inp.vol_sensitivity * r / (math.sqrt(r * r + EPS * EPS) * inp.expected_vol)
        want_d = inp.forced_sensitivity * forced.grad / inp.carry_stock
        want_d[FX] += d_fx
        want_d[UST] += inp.equity_sensitivity * inp.equity_duration
        np.testing.assert_allclose(row[1:], want_d, rtol=1e-12, atol=1e-15)
        assert row[1 + FWD] == 0.0
    assert min(seen.values()) > 100, seen


def test_risk_flows_derivatives_match_central_differences():
    rng = np.random.default_rng(32)
    checked = 0
    for _ in range(1000):
        inp = random_risk_inputs(rng)
        # moves from calm to a day's tail, where the smoothing of |r| no longer matters
        p = np.zeros(N_MARKETS)
        s = inp.s_prev + rng.choice([-1.0, 1.0]) * rng.uniform(1e-3, 0.05)
        p[[FX, UST, JGB, FWD, JGB30]] = s, 0.04, 0.01, -0.004, 0.02
        forced = ForcedSales(rng, p)
        row = run_risk(risk_flows, p, inp, forced)
        if not math.log(5.0) + 1e-3 < row[0] < inp.log_max - 1e-3:
            continue  # at the cap or the floor (checked above)
        fd = central(lambda q, forced=forced, inp=inp: run_risk(risk_flows, q, inp, forced)[0], p)
        scale = np.abs(row[1:]).max()
        np.testing.assert_allclose(fd, row[1:], rtol=1e-6, atol=1e-7 * scale + 1e-7)  # ln v rounds at ~1e-15
        checked += 1
    assert checked > 300  # the others at the cap or the floor


# ---------------------------------------------------------------------------------------------
# the dealers' capital at the day's prices


def random_dealer_inputs(rng, capital_constraint=True) -> DealerInputs:
    s_prev = math.log(rng.uniform(100.0, 160.0))
    book = rng.uniform(-200.0, 900.0)
    exposure = rng.normal(0.0, 100.0)
    target = rng.uniform(20.0, 200.0)
    return DealerInputs(
        s_prev=s_prev,
        yus_prev=rng.uniform(0.0, 0.06),
        yjp_prev=rng.uniform(-0.002, 0.02),
        yjp30_prev=rng.uniform(0.0, 0.035),
        fx_inventory=exposure - book,
        fwd_book=book,
        ust_inventory=rng.normal(0.0, 300.0),
        jgb_inventory=rng.normal(0.0, 20.0),
        jgb30_inventory=rng.normal(0.0, 10.0),
        jpy_tn=(book - exposure) * math.exp(s_prev) / 1000.0 + rng.normal(0.0, 5.0),
        equity=target * rng.uniform(0.2, 1.8),
        equity_target=target,
        equity_floor=0.01 * target,
        capital_constraint=capital_constraint,
        decay=rng.uniform(0.01, 0.5),
        fx_capacity=rng.uniform(20.0, 5000.0),
        ust_capacity_units=rng.uniform(1e3, 1e6),
        jgb_capacity_units=rng.uniform(1e2, 1e5),
        jgb30_capacity_units=rng.uniform(1e1, 1e4),
        book_per_equity=rng.uniform(30.0, 2e5),
        log_v_mean=math.log(rng.uniform(12.0, 30.0)),
        risk_elasticity=rng.uniform(0.0, 3.0),
        ust_duration=rng.uniform(6.0, 10.0),
        jgb_duration=rng.uniform(6.0, 10.5),
        jgb30_duration=rng.uniform(15.0, 30.0),
    )


def hand_marked_equity(d: DealerInputs, p) -> float:
    """Yesterday's equity plus the revaluation of what they held: yen at 1000/S, the forward book's
    variation margin N·(1 − S_prev/S), the UST and JGB (10y and 30y) inventories at the trial yields (JGBs in
    dollars)."""
    S, S_prev = math.exp(p[FX]), math.exp(d.s_prev)
    p_us, p_us_prev = math.exp(-d.ust_duration * p[UST]), math.exp(-d.ust_duration * d.yus_prev)
    p_jp, p_jp_prev = math.exp(-d.jgb_duration * p[JGB]), math.exp(-d.jgb_duration * d.yjp_prev)
    p_30, p_30_prev = math.exp(-d.jgb30_duration * p[JGB30]), math.exp(-d.jgb30_duration * d.yjp30_prev)
    return (
        d.equity
        + d.jpy_tn * (1000.0 / S - 1000.0 / S_prev)
        + d.fwd_book * (1.0 - S_prev / S)
        + d.ust_inventory * (p_us - p_us_prev)
        + d.jgb_inventory * (1000.0 * p_jp / S - 1000.0 * p_jp_prev / S_prev)
        + d.jgb30_inventory * (1000.0 * p_30 / S - 1000.0 * p_30_prev / S_prev)
    )


def trial_prices(rng, d: DealerInputs):
    """Trial prices a day's move away from yesterday's close (beyond the smoothing of |r| in the risk index)."""
    return np.array([d.s_prev + rng.choice([-1.0, 1.0]) * rng.uniform(1e-3, 0.05), d.yus_prev + rng.normal(0.0, 0.002),
                     d.yjp_prev + rng.normal(0.0, 0.001), rng.uniform(-0.01, 0.0),
                     d.yjp30_prev + rng.normal(0.0, 0.001)])  # fmt: skip


def equity_at(fn, d, p):
    grad = np.zeros(N_MARKETS)
    return fn(p, d, grad), grad


def test_marked_equity_equals_the_revaluation_by_hand_and_its_derivatives_match_central_differences():
    rng = np.random.default_rng(41)
    for _ in range(1000):
        d = random_dealer_inputs(rng)
        p = trial_prices(rng, d)
        e, grad = equity_at(marked_equity, d, p)
        # compiled == Python (exp from LLVM and from the C library: equal to a few ulp)
        e_py, grad_py = equity_at(marked_equity.py_func, d, p)
        assert e == pytest.approx(e_py, rel=1e-13, abs=1e-13 * abs(d.equity)) and np.allclose(grad, grad_py, rtol=1e-13)
        scale = (abs(d.equity) + abs(d.fwd_book) + abs(d.jpy_tn) * 10 + abs(d.ust_inventory)
                 + (abs(d.jgb_inventory) + abs(d.jgb30_inventory)) * 10)  # fmt: skip
        assert e == pytest.approx(hand_marked_equity(d, p), abs=1e-12 * scale)
        # at yesterday's close nothing has been revalued
        at_close = np.array([d.s_prev, d.yus_prev, d.yjp_prev, p[FWD], d.yjp30_prev])
        assert equity_at(marked_equity, d, at_close)[0] == pytest.approx(d.equity, abs=1e-12 * scale)
        fd = central(lambda q, d=d: hand_marked_equity(d, q), p)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8 * scale)
        assert grad[FWD] == 0.0


def capacity_at(fn, d, risk, forced, p):
    """capacity_factor at ``p``, with the risk index evaluated by the risk block at the same prices."""
    aux = forced.aux(p)
    risk_flows(p, risk, np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(4), aux)
    dk, dcap = np.zeros(N_MARKETS), np.zeros(N_MARKETS)
    k, equity = fn(p, d, aux, dk, dcap)
    return np.array([k, equity]), np.stack([dk, dcap]), aux[AUX_LOG_RISK, 0]


@pytest.mark.parametrize("capital_constraint", [True, False])
def test_capacity_factor_by_hand_and_its_derivatives_match_central_differences(capital_constraint):
    """k = (E_d/E*)·(v̄/v)^η with E_d marked at the trial prices (floored at 1% of E*; E* without the
    capital constraint) and v the day's risk index at the same prices; derivatives through both."""
    rng = np.random.default_rng(42)
    floored = checked = 0
    for i in range(800):
        d = random_dealer_inputs(rng, capital_constraint)
        if i % 8 == 0:  # dealers who have lost (almost) all their capital: the floor binds
            d = d._replace(equity=d.equity_target * rng.uniform(-0.5, 0.005), fwd_book=0.0, jpy_tn=0.0,
                           ust_inventory=0.0, jgb_inventory=0.0, jgb30_inventory=0.0, fx_inventory=0.0)  # fmt: skip
        risk = random_risk_inputs(rng)._replace(s_prev=d.s_prev, log_mean=d.log_v_mean)
        p = trial_prices(rng, d)
        forced = ForcedSales(rng, p)
        (k, equity), deriv, log_v = capacity_at(capacity_factor, d, risk, forced, p)
        np.testing.assert_allclose(capacity_at(capacity_factor.py_func, d, risk, forced, p)[1], deriv, rtol=1e-12)
        marked = hand_marked_equity(d, p)
        want_e = max(marked, 0.01 * d.equity_target) if capital_constraint else d.equity_target
        assert equity == pytest.approx(want_e, rel=1e-10, abs=1e-10 * d.equity_target)
        want_k = want_e / d.equity_target * math.exp(-d.risk_elasticity * (log_v - d.log_v_mean))
        assert k == pytest.approx(want_k, rel=1e-10)
        if capital_constraint and marked < 0.01 * d.equity_target:
            floored += 1
            assert not deriv[1].any()
        fd = central(lambda q, d=d, risk=risk, forced=forced: capacity_at(capacity_factor, d, risk, forced, q)[0], p)
        at_risk_kink = not math.log(5.0) + 1e-3 < log_v < risk.log_max - 1e-3
        at_equity_kink = capital_constraint and abs(marked / (0.01 * d.equity_target) - 1.0) < 1e-3
        if at_risk_kink or at_equity_kink:
            continue
        atol = 1e-7 * np.abs(deriv).max(axis=1, keepdims=True) + 1e-9 * np.array([[1.0], [d.equity_target]])
        assert np.all(np.abs(deriv - fd) <= 1e-6 * np.abs(fd) + atol), f"analytic\n{deriv}\nFD\n{fd}\n{d}"
        if not capital_constraint:
            assert not deriv[1].any()  # the equity that prices is E*: it does not move
        checked += 1
    assert checked > 250  # the others with the risk index at its cap or floor
    if capital_constraint:
        assert floored > 50


def test_a_nan_in_the_dealers_books_is_not_floored_away():
    """The 1% floor on the equity that prices applies to low capital, not to a broken number: a NaN
    equity reaches the capacity (and the clearing then fails, naming the day)."""
    rng = np.random.default_rng(43)
    d = random_dealer_inputs(rng)._replace(equity=float("nan"))
    risk = random_risk_inputs(rng)._replace(s_prev=d.s_prev, log_mean=d.log_v_mean)
    p = trial_prices(rng, d)
    (k, equity), _, _ = capacity_at(capacity_factor, d, risk, ForcedSales(rng, p), p)
    assert math.isnan(k) and math.isnan(equity)


def record_dealer_days(model) -> list:
    """Make ``model`` keep, for each day, the dealers' clearing inputs, the clearing result and the Day."""
    days = []
    original = model.clearing.clear

    def recording(inputs, prev, **kw):
        result = original(inputs, prev, **kw)
        days.append({"inputs": next(i for i in inputs if isinstance(i, DealerInputs)), "result": result})
        return result

    model.clearing.clear = recording
    dealers = model.dealers
    settle = dealers.settle

    def keep_day(mdl, day):
        days[-1]["day"] = day
        settle(mdl, day)
        # their books as their own settlement leaves them (a customer that fails later the same day
        # writes its shortfall off their cash and equity afterwards)
        days[-1]["books"] = SimpleNamespace(
            equity_book_usd_bn=dealers.equity_book_usd_bn,
            usd_bn=dealers.usd_bn,
            jpy_tn=dealers.jpy_tn,
            fwd_usd_bn=dealers.fwd_usd_bn,
            ust_inventory_units=dealers.ust_inventory_units,
            jgb_inventory_units=dealers.jgb_inventory_units,
            jgb30_inventory_units=dealers.jgb30_inventory_units,
        )

    dealers.settle = keep_day
    return days


@pytest.mark.parametrize(
    "scenario, overrides",
    [("baseline", {}), ("risk_off", CRASH_PRONE), ("boj_hike_2024", {"dealers__capital_constraint": False})],
)
def test_marked_equity_at_the_cleared_prices_is_the_equity_after_settlement_less_the_days_accruals(scenario, overrides):
    """An identity on the dealers' books: what the clearing priced as their equity (their books at
    yesterday's close revalued at the cleared prices) is their equity after settlement less what
    accrued at the close, each accrual recomputed from the books after settlement: the carry on the
    forward book ``N·(r_us − r_jp − b)/250``, the coupons, the money-market interest on the cash
    balances, and plus the payout to their shareholders (trades at the day's prices add nothing)."""
    model = make_model(seed=3, scenario=scenario, **overrides)
    days = record_dealer_days(model)
    cfg = model.config
    h = -math.expm1(-math.log(2.0) / cfg.dealers.recapitalisation_halflife_days)
    moved = 0
    for _ in range(120):
        model.step()
        rec = days[-1]
        d, res, day, dl = rec["inputs"], rec["result"], rec["day"], rec["books"]
        S = math.exp(res.log_usdjpy)
        p_us = math.exp(-cfg.market.ust_duration * res.ust10y_yield)
        p_jp = math.exp(-cfg.market.jgb_duration * res.jgb10y_yield)
        r_us, r_jp = day.us_short_rate / TRADING_DAYS, day.boj_rate / TRADING_DAYS
        after = dl.equity_book_usd_bn
        payout = (after - cfg.dealers.equity_usd_bn) * h / (1.0 - h)
        carry = dl.fwd_usd_bn * (r_us - r_jp - res.fx_basis / TRADING_DAYS)
        coupon_usd = dl.ust_inventory_units * p_us * res.ust10y_yield / TRADING_DAYS
        p_30 = math.exp(-cfg.market.jgb30_duration * res.jgb30y_yield)
        coupon_jpy = (dl.jgb_inventory_units * p_jp * res.jgb10y_yield
                      + dl.jgb30_inventory_units * p_30 * res.jgb30y_yield) / TRADING_DAYS  # fmt: skip
        interest_usd = (dl.usd_bn + payout) * r_us / (1.0 + r_us)
        interest_jpy = dl.jpy_tn * r_jp / (1.0 + r_jp)
        accruals = carry + coupon_usd + interest_usd + (coupon_jpy + interest_jpy) * 1000.0 / S - payout
        marked = marked_equity(np.array(res.prices), d, np.zeros(N_MARKETS))
        scale = abs(dl.usd_bn) + abs(dl.jpy_tn) * 1000.0 / S + abs(dl.fwd_usd_bn) + abs(after)
        assert marked == pytest.approx(after - accruals, abs=1e-12 * scale), f"day {model.day}"
        assert marked == pytest.approx(hand_marked_equity(d, res.prices), abs=1e-12 * scale)
        moved += abs(marked - d.equity) > 1e-3  # the revaluation is not trivial
        check_identities(model)
    assert moved > 60


# ---------------------------------------------------------------------------------------------
# the full composed clearing: its 4×4 Jacobian and aux against central differences


def frozen(inputs: tuple) -> tuple:
    """A copy of the day's clearing inputs whose arrays no later settlement can change."""
    return tuple(
        inp._replace(**{f: np.copy(v) for f, v in zip(inp._fields, inp, strict=True) if isinstance(v, np.ndarray)})
        for inp in inputs
    )


def inputs_on(model, stop) -> tuple:
    """Run ``model`` until ``stop(model)`` after a step; the inputs and result of that day's clearing."""
    seen = {}
    original = model.clearing.clear

    def recording(inputs, prev, **kw):
        seen["inputs"] = frozen(inputs)
        seen["result"] = original(inputs, prev, **kw)
        return seen["result"]

    model.clearing.clear = recording
    for _ in range(400):
        model.step()
        if stop(model):
            return seen["inputs"], seen["result"]
    pytest.fail("the state was not reached in 400 days")


def evaluated(model, inputs, p):
    work = model.clearing.evaluate(p, frozen(inputs), Work.allocate(len(inputs)))
    return work.z.copy(), work.jac.copy(), work.aux.copy()


def check_full_jacobian(model, inputs, points) -> np.ndarray:
    """At each point compare the analytic Jacobian (and aux's derivatives) with central differences,
    column by column; a column is skipped where the one-sided differences disagree (a participant
    changes regime within the step). Returns the number of columns checked per price."""
    checked = np.zeros(N_MARKETS, dtype=int)
    for p in points:
        z0, jac, aux = evaluated(model, inputs, p)
        for j in range(N_MARKETS):
            dp = np.zeros(N_MARKETS)
            dp[j] = FULL_STEPS[j]
            (zp, _, ap), (zm, _, am) = evaluated(model, inputs, p + dp), evaluated(model, inputs, p - dp)
            fwd, bwd = (zp - z0) / FULL_STEPS[j], (z0 - zm) / FULL_STEPS[j]
            fd = (zp - zm) / (2.0 * FULL_STEPS[j])
            fd_aux = (ap[:, 0] - am[:, 0]) / (2.0 * FULL_STEPS[j])
            aux_fwd, aux_bwd = (ap[:, 0] - aux[:, 0]) / FULL_STEPS[j], (aux[:, 0] - am[:, 0]) / FULL_STEPS[j]
            # tolerances: relative 1e-5, with a floor at 1e-5 of the row's largest derivative
            tol = 1e-5 * np.maximum(np.abs(jac[:, j]), 1e-5 * np.abs(jac).max(axis=1))
            tol_aux = 1e-5 * np.maximum(np.abs(aux[:, 1 + j]), 1e-5 * np.abs(aux[:, 1:]).max(axis=1)) + 1e-12
            # a kink inside the step makes the central difference wrong by half the gap between the
            # one-sided ones: where that gap exceeds the tolerance, the column is not checked here
            if np.any(np.abs(fwd - bwd) > tol) or np.any(np.abs(aux_fwd - aux_bwd) > tol_aux):
                continue
            assert np.all(np.abs(fd - jac[:, j]) <= tol), f"column {j} at {p}: analytic {jac[:, j]} vs FD {fd}"
            assert np.all(np.abs(fd_aux - aux[:, 1 + j]) <= tol_aux), (
                f"aux column {j} at {p}: analytic {aux[:, 1 + j]} vs FD {fd_aux}"
            )
            checked[j] += 1
    return checked


def points_around(result, rng, n=6):
    p0 = np.array(result.prices)
    offsets = [np.zeros(N_MARKETS)] + [rng.normal(0.0, [0.01, 0.001, 0.0005, 0.001, 0.0005]) for _ in range(n - 1)]
    return [p0 + o for o in offsets]


def test_full_jacobian_matches_central_differences_in_a_calm_state():
    model = make_model(seed=1)
    inputs, result = inputs_on(model, lambda m: m.day == 50)
    checked = check_full_jacobian(model, inputs, points_around(result, np.random.default_rng(50)))
    assert checked.min() >= 4, checked
    _, jac, aux = evaluated(model, inputs, np.array(result.prices) + np.array([0.01, 0.001, 0.001, 0.0, 0.001]))
    # the risk index responds to the day's move and the dealers' capacity to it and to their equity
    assert aux[AUX_LOG_RISK, 1 + FX] != 0.0 and jac[UST, FX] != 0.0 and jac[JGB, FX] != 0.0


def test_full_jacobian_matches_central_differences_in_a_stressed_state():
    """A crash-prone run on a day of margin calls: forced sales at the cleared prices feed the risk index."""
    model = make_model(seed=2, scenario="risk_off", **CRASH_PRONE)
    inputs, result = inputs_on(model, lambda m: m.day > 30 and m.latest["hf_forced_usd_bn"] > 0.5)
    _, _, aux = evaluated(model, inputs, np.array(result.prices))
    assert aux[AUX_FORCED, 0] > 0.5 and aux[AUX_FORCED, 1 + FX] != 0.0
    checked = check_full_jacobian(model, inputs, points_around(result, np.random.default_rng(51), n=8))
    assert checked.min() >= 3, checked


def test_the_risk_block_reads_the_forced_sales_of_the_customers():
    """In a model without the retail traders the only forced sales are the funds': the risk block's
    record of the day's forced sales is the funds' own column, and stress makes them positive."""
    model = make_model(seed=2, scenario="risk_off", sectors=CORE_SECTORS, **CRASH_PRONE)
    for _ in range(150):
        model.step()
    df = model.timeseries()
    np.testing.assert_allclose(df["forced_sales_usd_bn"], df["hf_forced_usd_bn"], rtol=1e-12, atol=1e-12)
    assert (df["hf_forced_usd_bn"] >= 0.0).all()
    assert (df["hf_forced_usd_bn"] > 0.0).sum() >= 3
    assert (df.loc[df["hf_forced_usd_bn"] > 0.0, "hf_margin_calls"] > 0).any()


# ---------------------------------------------------------------------------------------------
# reductions


@pytest.mark.parametrize("jump", [0.0, 1.0])
def test_an_exogenous_risk_index_without_news_follows_its_ar1_exactly(jump):
    """``market.risk_endogenous = False``, ``risk_news_sd = 0`` and no equity channel: ln v_t = ln v̄ +
    ρ·(ln v_{t−1} − ln v̄) every day, plus a scheduled sentiment jump on its day; the endogenous
    index does not."""
    off = make_model(seed=5, market__risk_endogenous=False, market__risk_news_sd=0.0,
                     market__risk_equity_sensitivity=0.0)  # fmt: skip
    on = make_model(seed=5, market__risk_news_sd=0.0)
    jumps = {60: jump} if jump else {}
    for model in (off, on):
        for day, size in jumps.items():
            model.schedule(day, model.apply_event, ScenarioEvent(day=day, kind="risk_shock", params={"log_jump": size}))
    for _ in range(120):
        off.step()
        on.step()
    m = off.config.market
    log_mean, rho = math.log(m.risk_index_mean), m.risk_persistence
    v, v_on = off.history["risk_index"], on.history["risk_index"]
    deviations = 0
    for t in range(1, len(v)):
        want = log_mean + rho * (math.log(v[t - 1]) - log_mean) + jumps.get(t, 0.0)
        assert v[t] == math.exp(want), f"day {t}"
        want_on = log_mean + rho * (math.log(v_on[t - 1]) - log_mean) + jumps.get(t, 0.0)
        deviations += abs(math.log(v_on[t]) - want_on) > 1e-6
    assert deviations > 100  # the endogenous index responds to the day's move every day


def yardsticks_by_hand(model) -> np.ndarray:
    """The daily volatility each day's move was measured against with ``risk_vol_yardstick = "realised"``,
    recomputed from the recorded USD/JPY: an EWMA of squared log returns (decay ``hedge_funds.ewma_lambda``)
    starting from the variance the opening index implies, floored."""
    cfg, lam = model.config.market, model.config.hedge_funds.ewma_lambda
    r = np.diff(np.log(np.asarray(model.history["usdjpy"], dtype=float)))
    var = cfg.implied_fx_vol_pa(model.history["risk_index"][0]) ** 2 / TRADING_DAYS
    out = []
    for x in r:
        out.append(max(math.sqrt(var), MIN_REALISED_VOL))
        var = lam * var + (1.0 - lam) * x * x
    out.append(max(math.sqrt(var), MIN_REALISED_VOL))  # the yardstick of the next day
    return np.array(out)


def test_the_yardstick_is_the_implied_volatility_or_the_models_own_ewma_volatility():
    for yardstick in ("implied", "realised"):
        model = make_model(seed=3, market__risk_vol_yardstick=yardstick)
        for _ in range(40):
            model.step()
        got = RiskIndex.clearing_inputs(model.risk_index, model).expected_vol
        mc = model.config.market
        if yardstick == "implied":
            assert got == mc.implied_fx_vol_pa(model.market.risk_index) / math.sqrt(TRADING_DAYS)
        else:
            assert got == pytest.approx(yardsticks_by_hand(model)[-1], rel=1e-12)
            assert got != pytest.approx(mc.implied_fx_vol_pa(model.market.risk_index) / math.sqrt(TRADING_DAYS))
            model.market.ewma_var_daily = 0.0  # a run whose past moves were all zero: the floor
            assert RiskIndex.clearing_inputs(model.risk_index, model).expected_vol == MIN_REALISED_VOL
    with pytest.raises(ConfigError, match="risk_vol_yardstick"):
        make_model(seed=3, market__risk_vol_yardstick="vix")


def test_forced_sales_are_measured_against_the_stock_they_come_from():
    """``K`` recomputed from the sectors' own books every day for 150 days: the funds' net forwards alone
    (``market.risk_forced_scale = "carry_funds"``), or those plus every retail account's long dollars and
    every CTA's long forwards (``"leveraged_long"``), the positions whose forced sales ``f_t`` counts."""
    for scale in ("carry_funds", "leveraged_long"):
        model = make_model(seed=3, market__risk_forced_scale=scale)
        mixed = 0  # days on which some CTAs are long and others short, so that only the longs must count
        for _ in range(150):
            model.step()
            model._publish()  # the positions after today's settlement, as tomorrow's decisions will read them
            sectors = model.sectors
            funds = float(sectors["hedge_funds"].state.fwd_usd_bn.sum())
            retail = float(sectors["retail_fx"].state.position_usd_bn.sum())
            ctas = sectors["cta"].state.fwd_usd_bn
            mixed += bool((ctas > 0.0).any() and (ctas < 0.0).any())
            want = funds if scale == "carry_funds" else funds + retail + float(ctas[ctas > 0.0].sum())
            got = RiskIndex.clearing_inputs(model.risk_index, model).carry_stock
            assert got == pytest.approx(want, rel=1e-12)
            # the retail sums the settlement keeps are the ones the record reports
            assert retail > 1.0 and model.history["retail_fx_long_usd_bn"][-1] == pytest.approx(retail, rel=1e-12)
        assert mixed > 10
    with pytest.raises(ConfigError, match="risk_forced_scale"):
        make_model(seed=3, market__risk_forced_scale="all")


def test_the_forced_sales_scale_is_floored_and_reads_only_the_positions_it_names():
    signals = {"carry_stock_usd_bn": 2.0, "retail_long_usd_bn": 3.0, "cta_long_usd_bn": 1.0, "cta_fwd_usd_bn": 50.0}
    assert forced_sales_scale(signals, "carry_funds") == FORCED_SCALE_FLOOR
    assert forced_sales_scale(signals, "leveraged_long") == FORCED_SCALE_FLOOR
    signals["carry_stock_usd_bn"] = 40.0
    assert forced_sales_scale(signals, "carry_funds") == 40.0
    assert forced_sales_scale(signals, "leveraged_long") == 44.0
    assert forced_sales_scale({}, "leveraged_long") == FORCED_SCALE_FLOOR


def test_against_the_realised_yardstick_the_response_is_about_zero_on_average_and_the_index_lower():
    """Baseline, seeds 1-4, days 100-700, common random numbers: the response to the day's move g(r) averages
    about 0 against the model's own volatility, and above 0 against the sourced implied volatility, whose
    era's volatility is below the model's; the index's median is lower in most seeds."""
    g_mean, medians = {"implied": [], "realised": []}, {"implied": [], "realised": []}
    for seed in (1, 2, 3, 4):
        for yardstick in ("implied", "realised"):
            model = make_model(seed, market__risk_vol_yardstick=yardstick)
            for _ in range(700):
                model.step()
            v = np.asarray(model.history["risk_index"], dtype=float)
            r = np.diff(np.log(np.asarray(model.history["usdjpy"], dtype=float)))
            mc = model.config.market
            if yardstick == "implied":
                sigma = np.array([mc.implied_fx_vol_pa(x) for x in v[:-1]]) / math.sqrt(TRADING_DAYS)
            else:
                sigma = yardsticks_by_hand(model)[:-1]
            g = np.sqrt(r * r + EPS * EPS) / sigma - SQRT_2_OVER_PI
            g_mean[yardstick].append(g[100:].mean())
            medians[yardstick].append(np.median(v[100:]))
    print("mean g by seed:", g_mean, "median index:", medians)
    assert max(abs(x) for x in g_mean["realised"]) < 0.05
    assert np.mean(g_mean["implied"]) > 0.04
    assert np.mean(np.abs(g_mean["realised"])) < 0.5 * np.mean(g_mean["implied"])
    lower = np.array(medians["realised"]) < np.array(medians["implied"])
    assert lower.sum() >= 3


def inject_dealer_capital(model, usd_bn: float) -> None:
    """Shareholders put ``usd_bn`` of cash into the dealers (a consistent change of their books)."""
    dl = model.dealers
    dl.usd_bn += usd_bn
    dl.equity_book_usd_bn += usd_bn
    model.ledger.book("dealers", "usd_bn", usd_bn)
    model.ledger.book("dealer_shareholders", "usd_bn", -usd_bn)
    check_identities(model)


@pytest.mark.parametrize("seed", [1, 2])
def test_without_the_capital_constraint_the_dealers_equity_does_not_reach_prices(seed):
    prices = {}
    for constraint in (False, True):
        twins = [make_model(seed=seed, scenario="risk_off", dealers__capital_constraint=constraint) for _ in range(2)]
        for _ in range(64):  # past the day-60 shock
            for m in twins:
                m.step()
        inject_dealer_capital(twins[1], 25.0)
        days = [record_dealer_days(m) for m in twins]
        for m in twins:
            m.step()
            check_identities(m)
        assert days[1][-1]["inputs"].equity == pytest.approx(days[0][-1]["inputs"].equity + 25.0, rel=1e-12)
        prices[constraint] = [d[-1]["result"].prices for d in days]
    assert prices[False][0] == prices[False][1]  # identical, bit for bit
    base, richer = prices[True]
    assert richer != base
    assert abs(richer[FWD]) < abs(base[FWD])  # more capital prices the same book at a smaller basis


# ---------------------------------------------------------------------------------------------
# same-day news


@pytest.mark.parametrize("kind, params", [("risk_shock", {"log_jump": 0.6}), ("us_growth_news", {"surprise_sd": -3.0})])
def test_news_before_a_day_moves_that_days_usdjpy(kind, params):
    """An event scheduled before day k moves day k's USD/JPY against a twin without it (the risk index
    is priced in day k's clearing, and the dealers' capacity with it), not only the days after."""
    k = 25
    for seed in (0, 1, 2, 3):
        twin, news = make_model(seed=seed), make_model(seed=seed)
        news.schedule(k, news.apply_event, ScenarioEvent(day=k, kind=kind, params=params))
        for _ in range(k):
            twin.step()
            news.step()
        assert news.history["usdjpy"][:k] == twin.history["usdjpy"][:k]  # identical until the event
        assert abs(math.log(news.history["usdjpy"][k] / twin.history["usdjpy"][k])) > 1e-5, f"seed {seed}"
        if kind == "risk_shock":
            assert news.history["risk_index"][k] > twin.history["risk_index"][k] * math.exp(0.3)


def test_a_risk_shock_enters_that_days_risk_index_exactly():
    """With the index exogenous (and no equity channel), a jump before day k raises day k's ln v by the
    jump exactly."""
    k, jump = 12, 0.45
    twin, news = (
        make_model(seed=4, market__risk_endogenous=False, market__risk_equity_sensitivity=0.0) for _ in range(2)
    )
    news.schedule(k, news.apply_event, ScenarioEvent(day=k, kind="risk_shock", params={"log_jump": jump}))
    for _ in range(k):
        twin.step()
        news.step()
    assert math.log(news.history["risk_index"][k] / twin.history["risk_index"][k]) == pytest.approx(jump, abs=1e-12)
    assert news.history["usdjpy"][k] != twin.history["usdjpy"][k]


# ---------------------------------------------------------------------------------------------
# the checkers


@pytest.mark.parametrize("where", ["market", "record"])
def test_a_risk_index_other_than_the_one_priced_fails_the_identity_check(where):
    """The risk index the market carries into tomorrow and the one the day's row records must be the
    risk block's at the recorded prices, recomputed independently of the solver."""
    model = make_model(seed=3, scenario="risk_off", **CRASH_PRONE)
    for _ in range(65):
        model.step()
        check_identities(model)
    assert model.walras_log_risk == pytest.approx(math.log(model.market.risk_index), abs=1e-12)
    if where == "market":
        model.market.risk_index *= 1.001
    else:
        model.latest["risk_index"] *= 1.001
    with pytest.raises(AccountingError, match="risk index"):
        check_identities(model)


def test_a_risk_index_the_clearing_did_not_price_fails_the_identity_check():
    """If the market took the index from anywhere but the clearing (here: yesterday's), the check fails."""
    model = make_model(seed=3)
    for _ in range(5):
        model.step()
    close_day = model.market.close_day

    def stale_close(**kw):
        kw["risk_index"] = model.market.risk_index
        return close_day(**kw)

    model.market.close_day = stale_close
    model.step()
    with pytest.raises(AccountingError, match="risk index"):
        check_identities(model)


@pytest.mark.parametrize(
    "field, match",
    [("fwd_usd_bn", "dealers holds usd_fwd_bn"), ("jpy_tn", "dealers holds jpy_tn"), ("equity_book_usd_bn",
                                                                                      "dealers equity")],
)  # fmt: skip
def test_a_corrupted_dealer_book_still_fails_the_identity_check(field, match):
    model = make_model(seed=3)
    for _ in range(5):
        model.step()
    check_identities(model)
    dl = model.dealers
    setattr(dl, field, getattr(dl, field) + 0.5)
    with pytest.raises(AccountingError, match=match):
        check_identities(model)


def test_with_two_components_the_news_part_of_the_index_follows_its_own_ar1():
    """With ``risk_channel_persistence_ratio`` below 1, no news and no equity link, ln v − ln v̄ − q (the
    part the day's USD/JPY moves and forced sales did not put there) decays at ρ exactly: what the index
    starts with is in it, and nothing they add."""
    model = make_model(seed=3, scenario="risk_off", market__risk_news_sd=0.0, market__risk_equity_sensitivity=0.0,
                       market__risk_channel_persistence_ratio=0.7)  # fmt: skip
    m = model.config.market
    log_mean, rho = math.log(m.risk_index_mean), m.risk_persistence
    index = model.sectors["risk_index"]
    slow = math.log(model.market.risk_index) - log_mean
    moved = 0
    for _ in range(90):  # through the day-60 US growth news
        model.step()
        slow = rho * slow
        assert math.log(model.market.risk_index) - log_mean - index.channels == pytest.approx(slow, abs=1e-12)
        moved += abs(index.channels) > 1e-3
    assert moved > 60


@pytest.mark.parametrize("yardstick", ["implied", "realised"])
# seeds whose 100 days have forced sales, so that the c·f_t/K term is exercised: at the refitted defaults 7 days
# (seed 2) and 3 (seed 5) with either yardstick; seed 1, used before the refit, has none with the implied one
@pytest.mark.parametrize("seed", [2, 5])
def test_the_fast_component_is_rebuilt_from_the_recorded_day(seed, yardstick):
    """q_t = ρ_c·q_{t−1} + a·(√(r_t² + ε²)/σ_{t−1} − √(2/π)) + c·f_t/K_{t−1}, recomputed every day from the
    recorded USD/JPY, risk index and forced sales and the leveraged long dollars held overnight (the funds',
    the retail accounts' and the CTAs' longs; independently of the clearing), through a risk-off with margin
    calls; σ_{t−1} the implied volatility of yesterday's index, or the EWMA volatility of the recorded moves."""
    model = make_model(seed=seed, scenario="risk_off", market__risk_channel_persistence_ratio=0.6,
                       market__risk_vol_yardstick=yardstick)  # fmt: skip
    m = model.config.market
    a, c, rho_c = m.risk_vol_sensitivity, m.risk_forced_sensitivity, 0.6 * m.risk_persistence
    index = model.sectors["risk_index"]
    q_prev, forced_days = 0.0, 0
    for _ in range(100):
        s_prev, v_prev = model.market.log_usdjpy, model.market.risk_index
        ctas, retail = model.sectors["cta"].state.fwd_usd_bn, model.sectors["retail_fx"].state.position_usd_bn
        held = float(model.hedge_funds.fwd_usd_bn.sum()) + float(retail.sum()) + float(ctas[ctas > 0.0].sum())
        carry = max(held, 10.0)  # the leveraged long dollars held overnight
        model.step()
        r = model.market.log_usdjpy - s_prev
        if yardstick == "implied":
            sigma = m.implied_fx_vol_pa(v_prev) / math.sqrt(TRADING_DAYS)
        else:
            sigma = yardsticks_by_hand(model)[-2]  # the one today's move was measured against
        forced = model.history["forced_sales_usd_bn"][-1]
        forced_days += forced > 0.0
        want = rho_c * q_prev + a * (math.sqrt(r * r + EPS * EPS) / sigma - SQRT_2_OVER_PI) + c * forced / carry
        assert model.market.risk_index < m.risk_index_max
        assert index.channels == pytest.approx(want, abs=1e-10)
        q_prev = index.channels
    assert forced_days > 0


def test_a_day_at_the_risk_index_cap_records_the_cap_exactly():
    """With a low cap that binds in a stressed replay, the recorded index equals the cap on the days it
    binds (``exp(ln 20)`` is 19.999999999999996, which ``v >= cap`` counted as no day at the cap), the
    books and the index's identity still hold, and no day records more than the cap."""
    from model.accounting import check_identities
    from model.model import CarryUnwindModel

    model = CarryUnwindModel(seed=1001, scenario="boj_hike_2024", market__risk_index_max=20.0)
    for _ in range(60):
        model.step()
        check_identities(model)
    v = np.asarray(model.history["risk_index"])
    assert np.sum(v == 20.0) >= 5 and v.max() == 20.0
