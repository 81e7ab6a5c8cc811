"""Market clearing: known answers, the analytic Jacobian, compiled kernels, continuity, residuals."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest
from scipy.optimize import brentq

from agents.boj import YccInputs
from agents.bond_investors import BondInvestorInputs, bond_investor_flow
from agents.dealers import DealerInputs
from agents.fx_fundamentals import RealMoneyInputs, fundamental_flow
from agents.hedge_funds import FundBook, FundOrder, TradeTerms, fund_position
from agents.hedge_funds import fund_trade as fund_trade_kernel
from agents.long_horizon import LongHorizonInputs
from model.clearing import ClearingError, ClearingResult, OrderBookInputs, Work
from model.compose import ComposedClearing
from model.registry import DEFAULT_SECTORS
from model.sector import CUSTOMER, FX, INSTITUTIONS, ISSUANCE, JGB, UST
from tests.support import CRASH_PRONE, make_model, run_model


def fund_trade(units, loan, cash, target, lam_init, lam_maint, speed, price, k, duration, band, forced_sales):
    """One fund's trade, called with one number per argument."""
    order = FundOrder(target, lam_init, lam_maint, speed)
    return fund_trade_kernel(units, loan, cash, order, TradeTerms(price, k, duration, band, forced_sales))


def fund_trade_python(units, loan, cash, target, lam_init, lam_maint, speed, price, k, duration, band, forced_sales):
    order = FundOrder(target, lam_init, lam_maint, speed)
    return fund_trade_kernel.py_func(units, loan, cash, order, TradeTerms(price, k, duration, band, forced_sales))


CLEARING = ComposedClearing([cls.flows for cls in DEFAULT_SECTORS if cls.flows is not None])


class ClearingInputs(NamedTuple):
    """The day's inputs of the default sectors written out by hand, field by field (test helper)."""

    s_prev: float
    yus_prev: float
    yjp_prev: float
    dealer_fx_inventory: float
    dealer_fx_capacity: float
    dealer_decay: float
    dealer_ust_inventory: float
    dealer_ust_capacity_units: float
    dealer_jgb_inventory: float
    dealer_jgb_capacity_units: float
    real_money_kept: float
    real_money_log_anchor: float
    real_money_gap_ref: float
    real_money_fiscal_premium: float
    real_money_beta: float
    real_money_capacity: float
    infl_us: float
    infl_jp: float
    trade_flow_usd_bn: float
    ust_investor_anchor_change: float
    ust_investor_elasticity: float
    ust_investor_extra_change: float
    ust_investor_units: float
    jgb_investor_anchor_change: float
    jgb_investor_elasticity: float
    jgb_investor_extra_change: float
    jgb_investor_units: float
    ust_duration: float
    jgb_duration: float
    ust_new_supply_units: float
    jgb_new_supply_units: float
    exogenous_usd_bn: float
    exogenous_ust_units: float
    exogenous_jgb_units: float
    margin_call_band: float


def sector_inputs(inp: ClearingInputs, book: tuple) -> tuple:
    """The composed clearing's inputs (one NamedTuple per price-elastic sector) from hand inputs."""
    lines = np.zeros((3, 3))
    lines[FX, CUSTOMER] = inp.trade_flow_usd_bn
    lines[FX, INSTITUTIONS] = inp.exogenous_usd_bn
    lines[UST, INSTITUTIONS] = inp.exogenous_ust_units
    lines[JGB, INSTITUTIONS] = inp.exogenous_jgb_units
    lines[UST, ISSUANCE] = -inp.ust_new_supply_units
    lines[JGB, ISSUANCE] = -inp.jgb_new_supply_units
    units, loan, cash, alive, target, lam_init, lam_maint, speed, forced, out_x, out_called = book
    return (
        DealerInputs(inp.s_prev, inp.yus_prev, inp.yjp_prev, inp.dealer_fx_inventory, inp.dealer_fx_capacity,
                     inp.dealer_decay, inp.dealer_ust_inventory, inp.dealer_ust_capacity_units,
                     inp.dealer_jgb_inventory, inp.dealer_jgb_capacity_units),
        RealMoneyInputs(inp.infl_us, inp.infl_jp, inp.real_money_log_anchor, inp.real_money_gap_ref,
                        inp.real_money_fiscal_premium, inp.real_money_beta, inp.real_money_capacity,
                        inp.real_money_kept),
        LongHorizonInputs(0.0, 0.0, 0.0, 0.0),  # switched off in hand-written cases
        BondInvestorInputs(inp.yus_prev, inp.yjp_prev, inp.ust_investor_anchor_change, inp.ust_investor_elasticity,
                           inp.ust_investor_extra_change, inp.ust_duration, inp.ust_investor_units,
                           inp.jgb_investor_anchor_change, inp.jgb_investor_elasticity,
                           inp.jgb_investor_extra_change, inp.jgb_duration, inp.jgb_investor_units),
        YccInputs(0.0, 0.0),
        OrderBookInputs(lines),
        FundBook(units, loan, cash, alive, target, lam_init, lam_maint, speed, inp.ust_duration,
                 inp.margin_call_band, forced, out_x, out_called),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# helpers


def hand_inputs(**changes) -> ClearingInputs:
    """Clearing inputs written by hand. By default the bond markets are quiet: no anchor or extra
    demand changes, no dealer inventories, no supply, so both bond markets clear at yesterday's
    yields; the FX market has every linear participant switched on."""
    ust_p = math.exp(-8.5 * 0.042)
    jgb_p = math.exp(-9.3 * 0.008)
    base = dict(
        s_prev=math.log(150.0),
        yus_prev=0.042,
        yjp_prev=0.008,
        dealer_fx_inventory=20.0,
        dealer_fx_capacity=400.0,
        dealer_decay=0.05,
        dealer_ust_inventory=0.0,
        dealer_ust_capacity_units=8.0 * 1e4 / ust_p,
        dealer_jgb_inventory=0.0,
        dealer_jgb_capacity_units=0.4 * 1e4 / jgb_p,
        real_money_kept=30.0,
        real_money_log_anchor=math.log(140.0),
        real_money_gap_ref=0.01,
        real_money_fiscal_premium=0.02,
        real_money_beta=8.0,
        real_money_capacity=1500.0,
        infl_us=0.025,
        infl_jp=0.01,
        trade_flow_usd_bn=7.0,
        ust_investor_anchor_change=0.0,
        ust_investor_elasticity=30.0,
        ust_investor_extra_change=0.0,
        ust_investor_units=10_000.0 / ust_p,
        jgb_investor_anchor_change=0.0,
        jgb_investor_elasticity=0.8,
        jgb_investor_extra_change=0.0,
        jgb_investor_units=500.0 / jgb_p,
        ust_duration=8.5,
        jgb_duration=9.3,
        ust_new_supply_units=0.0,
        jgb_new_supply_units=0.0,
        exogenous_usd_bn=-3.0,
        exogenous_ust_units=0.0,
        exogenous_jgb_units=0.0,
        margin_call_band=0.02,
    )
    base.update(changes)
    return ClearingInputs(**base)


def no_funds(n: int = 1) -> tuple:
    """Fund arrays for ``n`` dead funds (they neither trade nor count)."""
    z = np.zeros(n)
    return (z.copy(), z.copy(), z.copy(), np.zeros(n, dtype=np.bool_), z.copy(), z.copy(), z.copy(), z.copy())


def solve(inp: ClearingInputs, funds: tuple, *, forced_sales: bool = True, tol: float = 1e-13) -> ClearingResult:
    n = funds[0].shape[0]
    out_x = np.zeros(n)
    out_called = np.zeros(n, dtype=np.bool_)
    inputs = sector_inputs(inp, (*funds, forced_sales, out_x, out_called))
    return CLEARING.clear(inputs, (inp.s_prev, inp.yus_prev, inp.yjp_prev), day=0, tol=tol)


def log_s_fund(inp: ClearingInputs, y_us: float, y_jp: float) -> float:
    """ln S_fund = ln S̄ + β·((y_us − π_us) − (y_jp − π_jp) − rr̄) + fiscal premium (fx_fundamentals)."""
    gap = (y_us - inp.infl_us) - (y_jp - inp.infl_jp)
    return (
        inp.real_money_log_anchor + inp.real_money_beta * (gap - inp.real_money_gap_ref) + inp.real_money_fiscal_premium
    )


def closed_form_log_usdjpy(inp: ClearingInputs, y_us: float, y_jp: float) -> float:
    """Root of the linear FX excess demand (no funds), given the yields:

    z = −φ·I_d + c_d·(s_prev − s) + c_f·(s_fund − s) − kept + trade + exog = 0
    """
    c_d, c_f = inp.dealer_fx_capacity, inp.real_money_capacity
    num = (
        c_d * inp.s_prev
        + c_f * log_s_fund(inp, y_us, y_jp)
        - inp.dealer_decay * inp.dealer_fx_inventory
        - inp.real_money_kept
        + inp.trade_flow_usd_bn
        + inp.exogenous_usd_bn
    )
    return num / (c_d + c_f)


def bond_excess_levels(
    y,
    y_prev,
    dealer_inv,
    dealer_cap_units,
    decay,
    anchor_change,
    e_per_bp,
    extra_change,
    duration,
    units_old,
    exog_units,
    supply_units,
):
    """Bond-market excess demand in index units, written in *levels* from the docstrings:

    dealers  −φ·I + c·(y − y_prev);
    investors  V*(y)/P(y) − units_old, with V*(y_prev) = units_old·P(y_prev) (they ended yesterday on
    their curve) and V* rising by e·1e4 per unit of yield above the anchor plus the extra demand.
    """
    p = math.exp(-duration * y)
    p_prev = math.exp(-duration * y_prev)
    dealers = -decay * dealer_inv + dealer_cap_units * (y - y_prev)
    v_target = units_old * p_prev + e_per_bp * 1e4 * ((y - y_prev) - anchor_change) + extra_change
    investors = v_target / p - units_old
    return dealers + investors + exog_units - supply_units


# ---------------------------------------------------------------------------------------------
# known answers


def test_fx_price_equals_closed_form_when_no_funds_and_bond_markets_quiet():
    inp = hand_inputs()
    res = solve(inp, no_funds(3))
    assert res.converged
    # quiet bond markets clear exactly at yesterday's yields
    assert res.ust10y_yield == pytest.approx(inp.yus_prev, abs=1e-14)
    assert res.jgb10y_yield == pytest.approx(inp.yjp_prev, abs=1e-14)
    s_star = closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)
    assert abs(s_star - inp.s_prev) > 1e-3  # the answer is not just yesterday's close
    assert res.usdjpy == pytest.approx(math.exp(s_star), rel=1e-12)


@pytest.mark.parametrize("trade", [-40.0, 0.0, 55.0])
def test_fx_price_moves_with_trade_flow_as_closed_form_predicts(trade):
    inp = hand_inputs(trade_flow_usd_bn=trade, dealer_fx_inventory=-15.0, real_money_kept=-5.0)
    res = solve(inp, no_funds())
    assert res.usdjpy == pytest.approx(math.exp(closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)), rel=1e-12)


def test_bond_yields_match_brentq_on_independent_flow_functions_and_fx_follows():
    ust_p = math.exp(-8.5 * 0.042)
    inp = hand_inputs(
        ust_investor_anchor_change=0.0012,
        ust_investor_extra_change=25.0,
        dealer_ust_inventory=50.0,
        ust_new_supply_units=12.0 / ust_p,
        exogenous_ust_units=-3.0,
        jgb_investor_anchor_change=-0.0008,
        jgb_investor_extra_change=-2.0,
        dealer_jgb_inventory=-4.0,
        jgb_new_supply_units=3.0,
    )
    res = solve(inp, no_funds())
    assert res.converged

    def z_ust(y):
        return bond_excess_levels(
            y,
            inp.yus_prev,
            inp.dealer_ust_inventory,
            inp.dealer_ust_capacity_units,
            inp.dealer_decay,
            inp.ust_investor_anchor_change,
            inp.ust_investor_elasticity,
            inp.ust_investor_extra_change,
            inp.ust_duration,
            inp.ust_investor_units,
            inp.exogenous_ust_units,
            inp.ust_new_supply_units,
        )

    def z_jgb(y):
        return bond_excess_levels(
            y,
            inp.yjp_prev,
            inp.dealer_jgb_inventory,
            inp.dealer_jgb_capacity_units,
            inp.dealer_decay,
            inp.jgb_investor_anchor_change,
            inp.jgb_investor_elasticity,
            inp.jgb_investor_extra_change,
            inp.jgb_duration,
            inp.jgb_investor_units,
            inp.exogenous_jgb_units,
            inp.jgb_new_supply_units,
        )

    y_us = brentq(z_ust, inp.yus_prev - 0.05, inp.yus_prev + 0.05, xtol=1e-16, rtol=1e-15)
    y_jp = brentq(z_jgb, inp.yjp_prev - 0.05, inp.yjp_prev + 0.05, xtol=1e-16, rtol=1e-15)
    assert abs(y_us - inp.yus_prev) > 1e-4  # the yields really move
    assert abs(y_jp - inp.yjp_prev) > 1e-4
    assert res.ust10y_yield == pytest.approx(y_us, abs=1e-12)
    assert res.jgb10y_yield == pytest.approx(y_jp, abs=1e-12)
    # FX is coupled to the bonds only through the fundamental anchor
    assert res.usdjpy == pytest.approx(math.exp(closed_form_log_usdjpy(inp, y_us, y_jp)), rel=1e-11)


# ---------------------------------------------------------------------------------------------
# the analytic Jacobian


def fund_arrays(model) -> tuple:
    f = model.hedge_funds
    return (
        f.ust_units,
        f.loan_jpy_tn,
        f.cash_usd_bn,
        f.alive,
        f.target_leverage,
        f.init_leverage,
        f.maint_leverage,
        f.speed,
    )


def fund_regimes(inp: ClearingInputs, funds: tuple, s: float, y_us: float, forced_sales: bool = True) -> np.ndarray:
    """Which smooth piece of the funds' piecewise rule each fund is on at ``(s, y_us)``.

    0 dead; 1 insolvent; 2 liquidating (no margin); 3 voluntary; 4 margin call inside the band;
    5 full margin call; 6 clipped at zero. Written from the docstring of ``fund_position``.
    """
    units, loan, cash, alive, target, lam_init, lam_maint, speed = funds
    price = math.exp(-inp.ust_duration * y_us)
    k = 1000.0 * math.exp(-s)
    x_old = units * price
    equity = x_old + cash - loan * k
    out = np.zeros(units.shape[0], dtype=np.int64)
    for i in range(units.shape[0]):
        if not alive[i]:
            continue
        e = equity[i]
        if e <= 0.0:
            out[i] = 1
            continue
        if lam_init[i] <= 0.0:
            out[i] = 2
            continue
        x_vol = x_old[i] + speed[i] * (target[i] * e - x_old[i])
        lev = x_old[i] / e
        regime, x = 3, x_vol
        if forced_sales and lev > lam_maint[i]:
            f = (lev - lam_maint[i]) / (inp.margin_call_band * lam_maint[i])
            xf = lam_init[i] * e if f >= 1.0 else x_old[i] - f * (x_old[i] - lam_init[i] * e)
            if xf < x_vol:
                regime, x = (5 if f >= 1.0 else 4), xf
        out[i] = 6 if x < 0.0 else regime
    return out


def evaluate(inp, funds, p, forced_sales=True):
    n = funds[0].shape[0]
    book = (*funds, forced_sales, np.empty(n), np.empty(n, dtype=np.bool_))
    work = CLEARING.evaluate(tuple(p), sector_inputs(inp, book), Work.allocate(len(CLEARING.flows)))
    return work.z.copy(), work.jac.copy()


def central_difference_jacobian(inp, funds, p, steps):
    jac = np.empty((3, 3))
    for j in range(3):
        dp = np.zeros(3)
        dp[j] = steps[j]
        zp, _ = evaluate(inp, funds, p + dp)
        zm, _ = evaluate(inp, funds, p - dp)
        jac[:, j] = (zp - zm) / (2.0 * steps[j])
    return jac


STEPS = np.array([1e-6, 1e-7, 1e-7])  # ln S, y_us, y_jp


def smooth_points(inp, funds, candidates):
    """The candidate prices at which no fund changes regime within ± one FD step."""
    good = []
    for p in candidates:
        r0 = fund_regimes(inp, funds, p[0], p[1])
        same = all(
            np.array_equal(r0, fund_regimes(inp, funds, p[0] + sgn * STEPS[0] * a, p[1] + sgn * STEPS[1] * b))
            for sgn in (-1.0, 1.0)
            for a, b in ((1, 0), (0, 1))
        )
        if same:
            good.append((p, r0))
    return good


def assert_jacobian_matches(inp, funds, p):
    _, jac = evaluate(inp, funds, p)
    fd = central_difference_jacobian(inp, funds, p, STEPS)
    row_scale = np.abs(jac).max(axis=1, keepdims=True)
    err = np.abs(fd - jac) / np.maximum(np.abs(jac), 1e-6 * row_scale)
    assert err.max() < 1e-5, f"relative Jacobian error {err.max():.2e} at {p}\nanalytic\n{jac}\nFD\n{fd}"


def hand_inputs_of(inputs: tuple) -> ClearingInputs:
    """The hand-written form of a model's clearing inputs (the inverse of :func:`sector_inputs`)."""
    d, rm, _lh, bi, _ycc, ob, fb = inputs
    lines = ob.lines
    return ClearingInputs(
        d.s_prev, d.yus_prev, d.yjp_prev, d.fx_inventory, d.fx_capacity, d.decay, d.ust_inventory,
        d.ust_capacity_units, d.jgb_inventory, d.jgb_capacity_units, rm.position, rm.log_anchor, rm.gap_ref,
        rm.fiscal_premium, rm.beta, rm.capacity, rm.infl_us, rm.infl_jp, lines[FX, CUSTOMER], bi.ust_anchor_change,
        bi.ust_elasticity, bi.ust_extra_change, bi.ust_units, bi.jgb_anchor_change, bi.jgb_elasticity,
        bi.jgb_extra_change, bi.jgb_units, bi.ust_duration, bi.jgb_duration, -lines[UST, ISSUANCE],
        -lines[JGB, ISSUANCE], lines[FX, INSTITUTIONS], lines[UST, INSTITUTIONS], lines[JGB, INSTITUTIONS], fb.band,
    )  # fmt: skip


def record_clearing_states(model) -> list:
    """Make ``model`` keep, for each day, the clearing inputs and the fund arrays it cleared with."""
    states = []
    original = model.clearing.clear

    def recording(inputs, prev, **kw):
        states.append((hand_inputs_of(inputs), tuple(a.copy() for a in fund_arrays(model))))
        return original(inputs, prev, **kw)

    model.clearing.clear = recording
    return states


@pytest.fixture(scope="module")
def day50_state():
    model = make_model(seed=1)
    states = record_clearing_states(model)
    for _ in range(50):
        model.step()
    return states[-1]


@pytest.fixture(scope="module")
def stressed_state():
    """The state of a crash-prone run on a day when margin calls were executed."""
    for seed in range(2, 10):
        model = make_model(seed=seed, scenario="risk_off", **CRASH_PRONE)
        states = record_clearing_states(model)
        for _ in range(400):
            model.step()
            if model.latest["hf_margin_calls"] > 0 and model.day > 30:
                return states[-1]
    pytest.fail("no margin call in 400 days of crash-prone runs with seeds 2-9")


def test_jacobian_matches_central_differences_in_calm_state(day50_state):
    inp, funds = day50_state
    assert funds[3].sum() > 50  # live funds take part
    s0, y0, j0 = inp.s_prev, inp.yus_prev, inp.yjp_prev
    candidates = [
        np.array([s0 + ds, y0 + dy, j0 + dj])
        for ds, dy, dj in ((0.0, 0.0, 0.0), (0.013, -0.0011, 0.0004), (-0.021, 0.0017, -0.0006), (0.004, 0.0031, 0.002))
    ]
    good = smooth_points(inp, funds, candidates)
    assert len(good) >= 3
    for p, regimes in good:
        assert np.count_nonzero(regimes == 3) > 50
        assert_jacobian_matches(inp, funds, p)


def test_jacobian_matches_central_differences_inside_margin_call_band(stressed_state):
    """At prices where some funds are inside the margin-call band and some beyond it."""
    inp, funds = stressed_state
    y0, j0 = inp.yus_prev, inp.yjp_prev
    # a stronger yen (lower s) pushes leverage up: scan for prices with funds in regimes 4 and 5
    candidates = [np.array([inp.s_prev - ds, y0 + 1e-4, j0]) for ds in np.linspace(0.0, 0.15, 301)]
    good = [(p, r) for p, r in smooth_points(inp, funds, candidates) if np.any(r == 4) and np.any(r == 5)]
    assert len(good) >= 5, "no smooth price found with funds inside and beyond the margin-call band"
    for p, _ in good[:: max(1, len(good) // 8)]:
        assert_jacobian_matches(inp, funds, p)


# ---------------------------------------------------------------------------------------------
# compiled kernels == their Python source


def random_fund_cases(rng: np.random.Generator, n: int):
    """Fund balance sheets spread over every regime of ``fund_position``.

    Returns arrays ``(x_old, equity, target, lam_init, lam_maint, speed, band)`` and a label per
    row: 'voluntary', 'band', 'full', 'insolvent', 'liquidating'.
    """
    lam_init = rng.uniform(1.0, 25.0, n)
    theta = rng.uniform(0.5, 0.95, n)
    lam_maint = lam_init / theta
    band = rng.uniform(1e-3, 0.1, n)
    target = rng.uniform(0.0, 1.0, n) * lam_init
    speed = rng.uniform(0.01, 1.0, n)
    equity = rng.lognormal(0.0, 1.0, n)
    label = rng.choice(np.array(["voluntary", "band", "full", "insolvent", "liquidating"]), n)
    lev = np.where(
        label == "voluntary",
        rng.uniform(0.0, 1.0, n) * lam_maint,
        np.where(
            label == "band",
            lam_maint * (1.0 + band * rng.uniform(0.01, 0.99, n)),
            lam_maint * (1.0 + band * rng.uniform(1.01, 30.0, n)),
        ),
    )
    x_old = lev * equity
    equity = np.where(label == "insolvent", -rng.uniform(0.0, 2.0, n) * equity, equity)
    lam_init = np.where(label == "liquidating", 0.0, lam_init)
    return (x_old, equity, target, lam_init, lam_maint, speed, band), label


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_position_compiled_equals_python(forced_sales):
    rng = np.random.default_rng(20240805)
    (x_old, equity, target, lam_init, lam_maint, speed, band), label = random_fund_cases(rng, 4000)
    called = 0
    for i in range(x_old.shape[0]):
        args = (x_old[i], equity[i], target[i], lam_init[i], lam_maint[i], speed[i], band[i], forced_sales)
        got, want = fund_position(*args), fund_position.py_func(*args)
        np.testing.assert_allclose(got[:3], want[:3], rtol=1e-13, atol=1e-13, err_msg=f"{label[i]} {args}")
        assert got[3] == want[3]
        called += bool(got[3])
    assert called > 1000  # margin-call regimes were exercised


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_trade_compiled_equals_python(forced_sales):
    rng = np.random.default_rng(7)
    (x_old, equity, target, lam_init, lam_maint, speed, band), label = random_fund_cases(rng, 4000)
    price = rng.uniform(0.6, 0.8, x_old.shape[0])
    k = 1000.0 / rng.uniform(100.0, 170.0, x_old.shape[0])
    cash = rng.uniform(0.0, 1.0, x_old.shape[0]) * np.abs(equity)
    # some insolvent funds own nothing at all (the assets ≤ 0 branch)
    broke = (label == "insolvent") & (rng.random(x_old.shape[0]) < 0.2)
    x_old = np.where(broke, 0.0, x_old)
    cash = np.where(broke, -rng.uniform(0.0, 1.0, x_old.shape[0]), cash)
    loan = (x_old + cash - equity) / k
    for i in range(x_old.shape[0]):
        args = (
            x_old[i] / price[i],
            loan[i],
            cash[i],
            target[i],
            lam_init[i],
            lam_maint[i],
            speed[i],
            price[i],
            k[i],
            8.5,
            band[i],
            forced_sales,
        )
        got, want = fund_trade(*args), fund_trade_python(*args)
        assert got[1] == want[1]
        np.testing.assert_allclose(
            np.delete(got, 1), np.delete(want, 1), rtol=1e-13, atol=1e-12, err_msg=f"{label[i]} {args}"
        )


def test_bond_investor_flow_compiled_equals_python():
    # exp/expm1 come from LLVM in the kernel and from NumPy in Python: equal to a few ulp
    rng = np.random.default_rng(11)
    for _ in range(3000):
        args = (
            rng.uniform(-0.01, 0.1),
            rng.uniform(-0.01, 0.1),
            rng.normal(0, 1e-3),
            rng.uniform(0.1, 50.0),
            rng.normal(0, 50.0),
            rng.uniform(0.5, 30.0),
            rng.uniform(0.0, 3e4),
        )
        np.testing.assert_allclose(bond_investor_flow(*args), bond_investor_flow.py_func(*args), rtol=1e-13, atol=1e-9)


def test_fundamental_flow_compiled_equals_python():
    rng = np.random.default_rng(12)
    for _ in range(3000):
        args = (
            rng.uniform(4.0, 5.5),
            rng.uniform(-0.01, 0.1),
            rng.uniform(-0.01, 0.05),
            rng.uniform(-0.01, 0.05),
            rng.uniform(-0.01, 0.05),
            rng.uniform(4.0, 5.5),
            rng.normal(0, 0.02),
            rng.normal(0, 0.05),
            rng.uniform(0.0, 20.0),
            rng.uniform(0.0, 3000.0),
            rng.normal(0, 100.0),
        )
        inp = RealMoneyInputs(*args[3:10], args[10])
        s, y_us, y_jp = args[:3]
        np.testing.assert_allclose(
            fundamental_flow(s, y_us, y_jp, inp), fundamental_flow.py_func(s, y_us, y_jp, inp), rtol=1e-13, atol=1e-10
        )


# ---------------------------------------------------------------------------------------------
# continuity of the funds' rule (so that aggregate demand is continuous and markets clear exactly)

KINK_CASES = [
    # x_old, target, lam_init, lam_maint, speed, band
    (50.0, 3.0, 10.0, 10.0 / 0.75, 0.05, 0.02),
    (12.0, 0.0, 4.0, 4.0 / 0.9, 0.5, 0.1),
    (80.0, 20.0, 25.0, 25.0 / 0.6, 1.0, 0.001),
]


@pytest.mark.parametrize("case", KINK_CASES)
@pytest.mark.parametrize("where", ["maintenance", "band_end"])
def test_fund_position_continuous_across_margin_call_band_edges(case, where):
    x_old, target, lam_init, lam_maint, speed, band = case
    lev_kink = lam_maint if where == "maintenance" else lam_maint * (1.0 + band)
    eps = 1e-10
    below = fund_position(x_old, x_old / (lev_kink * (1 - eps)), target, lam_init, lam_maint, speed, band, True)
    above = fund_position(x_old, x_old / (lev_kink * (1 + eps)), target, lam_init, lam_maint, speed, band, True)
    # the derivative in equity is at most ~x_old/(band·E): a jump would be O(x_old)
    assert abs(above[0] - below[0]) <= 1e-6 * x_old
    assert above[3]  # above the maintenance limit a margin call binds
    if where == "band_end":
        assert below[3]


@pytest.mark.parametrize("case", KINK_CASES)
def test_fund_position_goes_to_zero_as_equity_goes_to_zero(case):
    x_old, target, lam_init, lam_maint, speed, band = case
    for equity in (1e-9, 1e-12, 1e-15):
        x = fund_position(x_old, equity, target, lam_init, lam_maint, speed, band, True)[0]
        assert 0.0 <= x <= lam_init * equity * (1 + 1e-12)
    assert fund_position(x_old, 0.0, target, lam_init, lam_maint, speed, band, True)[0] == 0.0
    assert fund_position(x_old, -1e-15, target, lam_init, lam_maint, speed, band, True)[0] == 0.0


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_dollar_demand_continuous_at_insolvency(forced_sales):
    """``fund_trade``'s USD demand q as equity crosses zero: an insolvent fund sells all its dollar
    assets, a barely solvent one must be selling (almost) all of them too, or aggregate demand
    jumps and the markets cannot clear exactly at that price."""
    price, k, duration = 0.7, 1000.0 / 140.0, 8.5
    units, cash = 60.0 / price, 2.0
    assets = units * price + cash
    for lam_init in (5.0, 12.0):
        q = []
        for equity in (1e-9, -1e-9):
            loan = (assets - equity) / k
            q.append(
                fund_trade(
                    units, loan, cash, 1.0, lam_init, lam_init / 0.75, 0.05, price, k, duration, 0.02, forced_sales
                )[2]
            )
        assert q[1] == pytest.approx(-assets)
        assert abs(q[0] - q[1]) <= 1e-6 * assets, f"USD demand jumps by {q[0] - q[1]:.4g} bn at zero equity"


# ---------------------------------------------------------------------------------------------
# residuals in runs, and failure modes


def assert_cleared_every_day(model):
    df = model.timeseries()
    assert len(df) == model.day + 1
    assert (df["clearing_residual"] <= 1e-10).all(), df["clearing_residual"].max()
    for col in ("usdjpy", "ust10y_yield", "jgb10y_yield"):
        assert np.isfinite(df[col]).all()
    assert (df["usdjpy"] > 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_day_clears_to_tolerance_in_baseline(seed):
    assert_cleared_every_day(run_model(seed, 300))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_day_clears_to_tolerance_under_leveraged_risk_off(seed):
    model = run_model(seed, 300, scenario="risk_off", hedge_funds__max_leverage=25.0)
    assert_cleared_every_day(model)
    assert model.timeseries()["hf_margin_calls"].sum() > 0  # the stress did bite


def model_inputs(model, **changes) -> tuple[tuple, tuple]:
    """Today's clearing inputs of ``model`` after its decisions, with hand changes, and yesterday's close."""
    for s in model.sector_list:
        s.decide(model)
        model.signals.update(s.publish(model))
    inp = hand_inputs_of(tuple(s.clearing_inputs(model) for s in model.priced))._replace(**changes)
    f = model.hedge_funds
    book = (*fund_arrays(model), True, f.position_new_usd_bn, f.margin_called)
    return sector_inputs(inp, book), (inp.s_prev, inp.yus_prev, inp.yjp_prev)


def test_clear_raises_clearing_error_naming_the_day_on_nan_input():
    model = run_model(seed=3, days=5)
    inputs, prev = model_inputs(model, trade_flow_usd_bn=float("nan"))
    with pytest.raises(ClearingError, match=r"day 17\b"):
        model.clearing.clear(inputs, prev, day=17, tol=1e-10)


@pytest.mark.parametrize("field", ["s_prev", "dealer_fx_capacity", "ust_investor_units"])
def test_clear_never_returns_nan_prices(field):
    model = run_model(seed=3, days=5)
    inputs, prev = model_inputs(model, **{field: float("nan")})
    if field == "s_prev":
        prev = (float("nan"), *prev[1:])
    with pytest.raises(ClearingError, match="day 6"):
        model.clearing.clear(inputs, prev, day=6, tol=1e-10)


# ---------------------------------------------------------------------------------------------
# plausibility bounds: no absurd price leaves the engine


def test_a_day_moving_usdjpy_beyond_the_bound_is_a_clearing_failure():
    from model.scenarios import ScenarioEvent

    model = run_model(seed=1, days=3)
    model.apply_event(ScenarioEvent(day=4, kind="trade_flow", params={"usd_bn": 1500.0}))
    with pytest.raises(ClearingError, match=r"implausible prices on day 4: USD/JPY=.* moved \+\d+\.\d% in a day"):
        model.step()


def test_the_same_shock_clears_when_the_bound_is_wider():
    from model.scenarios import ScenarioEvent

    model = run_model(seed=1, days=3, simulation__max_fx_log_move=1.0)
    model.apply_event(ScenarioEvent(day=4, kind="trade_flow", params={"usd_bn": 1500.0}))
    model.step()
    move = math.log(model.history["usdjpy"][-1] / model.history["usdjpy"][-2])
    assert 0.15 < move <= 1.0  # the bound, not the solver, stopped the first run


def test_a_yield_below_its_floor_is_a_clearing_failure():
    from model.scenarios import ScenarioEvent

    # the JGB 10y starts near 0.6%; a BoJ cut to -5% takes it below a floor set at 0% (the FX bound
    # is widened: the same cut also moves USD/JPY by more than 15% in a day)
    model = run_model(seed=1, days=2, simulation__min_yield_pa=0.0, simulation__max_fx_log_move=1.0)
    model.apply_event(ScenarioEvent(day=3, kind="boj_rate", params={"rate": -0.05}))
    with pytest.raises(ClearingError, match=r"implausible prices on day \d+: JGB10y=-.* outside \[0, 0.25\]"):
        for _ in range(30):
            model.step()
