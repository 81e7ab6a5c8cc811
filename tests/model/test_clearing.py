"""Market clearing: known answers, the analytic Jacobian, compiled kernels, continuity, residuals."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest
from scipy.optimize import brentq

from agents import hedge_funds as hf
from agents.boj import YccInputs
from agents.bond_investors import BondInvestorInputs, bond_investor_flow
from agents.curve_arbitrage import CurveArbitrageInputs
from agents.dealers import DealerInputs
from agents.fx_fundamentals import RealMoneyInputs, fundamental_flow
from agents.hedge_funds import FundBook, FundOrder, TradeTerms
from agents.hedge_funds import fund_trade as fund_trade_kernel
from agents.long_horizon import LongHorizonInputs
from model.clearing import ClearingError, ClearingResult, OrderBookInputs, Work
from model.compose import Bounds, ComposedClearing
from model.registry import DEFAULT_SECTORS
from model.risk import RiskInputs
from model.sector import (
    AUX_FORCED,
    CUSTOMER,
    FWD,
    FX,
    INSTITUTIONS,
    ISSUANCE,
    JGB,
    JGB30,
    N_MARKETS,
    TRADING_DAYS,
    UST,
)
from model.validation import ConfigError
from tests.support import CRASH_PRONE, SENTIMENT_STRESS, make_model, run_model

D_UST = 8.5


def fund_trade(fwd, units, cash, target_fx, target_ust, margin_fx, margin_ust, maint_usage, speed, ratio, price,
               band, forced_sales, duration=D_UST):  # fmt: skip
    """One fund's trade, called with one number per argument."""
    order = FundOrder(target_fx, target_ust, margin_fx, margin_ust, maint_usage, speed)
    return fund_trade_kernel(fwd, units, cash, order, TradeTerms(ratio, price, duration, band, forced_sales))


# The hand-written inputs below cover the sectors whose flows this module writes out by hand; the
# trend followers and retail FX traders (their own test modules) are left out of these models.
CORE_SECTORS = tuple(cls for cls in DEFAULT_SECTORS if cls.name not in ("cta", "retail_fx"))
# the order of the composed clearing: customers (stage 0) in registration order, then the risk index
# (stage 1, it reads their forced sales), then those that read the risk index (stage 2) in registration
# order: the dealers' capacity, real money's capacity, the bond investors' flight to quality
SECTOR_ORDER = ("long_horizon", "curve_arbitrageurs", "boj", "order_book", "hedge_funds", "risk_index",
                "dealers", "real_money", "bond_investors")  # fmt: skip
CLEARING = ComposedClearing([cls.flows for name in SECTOR_ORDER for cls in CORE_SECTORS if cls.name == name])


def core_model(seed: int, scenario: str = "baseline", **overrides):
    return make_model(seed, scenario, sectors=CORE_SECTORS, **overrides)


def core_run(seed: int, days: int, scenario: str = "baseline", **overrides):
    return run_model(seed, days, scenario, sectors=CORE_SECTORS, **overrides)


def test_the_composed_clearing_has_the_sectors_the_helpers_write_inputs_for():
    model = core_model(seed=0)
    assert tuple(s.name for s in model.priced) == SECTOR_ORDER
    assert model.clearing.module is CLEARING.module  # the same generated composition
    # the default model evaluates the same sectors in the same order, the other customers among stage 0
    default = tuple(s.name for s in make_model(seed=0).priced)
    assert tuple(n for n in default if n in SECTOR_ORDER) == SECTOR_ORDER
    assert default[-4:] == ("risk_index", "dealers", "real_money", "bond_investors")


class ClearingInputs(NamedTuple):
    """The day's inputs of the core sectors written out by hand, field by field (test helper)."""

    s_prev: float
    yus_prev: float
    yjp_prev: float
    basis_prev: float  # where the solver starts; no flow reads it
    dealer_fx_inventory: float
    dealer_fwd_book: float
    dealer_ust_inventory: float
    dealer_jgb_inventory: float
    dealer_jpy_tn: float
    dealer_equity: float  # E_d at yesterday's close
    dealer_equity_target: float  # E*
    dealer_capital_constraint: bool
    dealer_decay: float
    dealer_fx_capacity: float  # c₀
    dealer_ust_capacity_units: float
    dealer_jgb_capacity_units: float
    dealer_book_per_equity: float  # ℓ/κ
    dealer_risk_elasticity: float  # η
    log_v_prev: float
    log_v_mean: float  # ln v̄
    risk_persistence: float  # ρ
    risk_vol_sensitivity: float  # a
    risk_forced_sensitivity: float  # c
    expected_fx_vol: float  # σ_{t−1}
    risk_news: float
    risk_equity_sensitivity: float  # e
    equity_before: float
    equity_duration: float
    carry_stock: float  # K
    log_v_max: float
    real_money_kept: float
    real_money_log_anchor: float
    real_money_gap_ref: float
    real_money_fiscal_premium: float
    real_money_beta: float
    real_money_capacity: float  # c_f at v̄
    real_money_risk_elasticity: float  # η_f: c_f·(v̄/v)^η_f at the day's index
    infl_us: float
    infl_jp: float
    long_horizon_capacity: float
    long_horizon_speed: float
    long_horizon_log_anchor: float
    long_horizon_position: float
    trade_flow_usd_bn: float
    ust_investor_anchor_change: float
    ust_investor_elasticity: float
    ust_investor_extra_change: float  # but the flight to quality f·v
    ust_investor_flight_to_quality: float  # f, USD bn per index point, at the day's index
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
    exogenous_fwd_usd_bn: float  # customers' long-USD forward purchases (insurers' hedges: sales)
    ycc_cap: float
    ycc_units_per_unit_yield: float
    margin_call_band: float
    # the super-long (30y) segment: habitat investors, dealers, curve arbitrageurs, orders
    yjp30_prev: float
    jgb30_duration: float
    dealer_jgb30_inventory: float
    dealer_jgb30_capacity_units: float
    habitat_anchor_change: float
    habitat_slope_units: float
    habitat_extra_units: float
    arb_expected_spread: float
    arb_slope_units: float
    arb_hedge_ratio: float
    arb_jgb30_units: float
    arb_jgb_units: float
    exogenous_jgb30_units: float
    jgb30_new_supply_units: float


# the order-book lines ClearingInputs names; every other line is zero
NAMED_LINES = ((FX, CUSTOMER), (FX, INSTITUTIONS), (UST, INSTITUTIONS), (JGB, INSTITUTIONS), (FWD, INSTITUTIONS),
               (UST, ISSUANCE), (JGB, ISSUANCE), (JGB30, INSTITUTIONS), (JGB30, ISSUANCE))  # fmt: skip


def sector_inputs(inp: ClearingInputs, book: tuple) -> tuple:
    """The composed clearing's inputs (one NamedTuple per price-elastic sector, in SECTOR_ORDER)."""
    lines = np.zeros((N_MARKETS, 3))
    lines[FX, CUSTOMER] = inp.trade_flow_usd_bn
    lines[FX, INSTITUTIONS] = inp.exogenous_usd_bn
    lines[UST, INSTITUTIONS] = inp.exogenous_ust_units
    lines[JGB, INSTITUTIONS] = inp.exogenous_jgb_units
    lines[FWD, INSTITUTIONS] = inp.exogenous_fwd_usd_bn
    lines[UST, ISSUANCE] = -inp.ust_new_supply_units
    lines[JGB, ISSUANCE] = -inp.jgb_new_supply_units
    lines[JGB30, INSTITUTIONS] = inp.exogenous_jgb30_units
    lines[JGB30, ISSUANCE] = -inp.jgb30_new_supply_units
    fwd, units, cash, alive, t_fx, t_ust, m_fx, m_ust, maint, speed, forced, out_x, out_v, out_called, out_f = book
    return (
        LongHorizonInputs(inp.long_horizon_capacity, inp.long_horizon_speed, inp.long_horizon_log_anchor,
                          inp.long_horizon_position),
        CurveArbitrageInputs(inp.arb_expected_spread, inp.arb_slope_units, inp.arb_hedge_ratio, inp.arb_jgb30_units,
                             inp.arb_jgb_units),
        YccInputs(inp.ycc_cap, inp.ycc_units_per_unit_yield),
        OrderBookInputs(lines),
        FundBook(fwd, units, cash, alive, t_fx, t_ust, m_fx, m_ust, maint, speed, inp.s_prev, inp.ust_duration,
                 inp.margin_call_band, forced, out_x, out_v, out_called, out_f),
        RiskInputs(inp.s_prev, inp.log_v_prev, inp.log_v_mean, inp.risk_persistence, inp.risk_vol_sensitivity,
                   inp.risk_forced_sensitivity, inp.expected_fx_vol, inp.risk_news, inp.carry_stock, inp.log_v_max,
                   inp.risk_equity_sensitivity, inp.equity_before, inp.equity_duration, inp.yus_prev),
        DealerInputs(inp.s_prev, inp.yus_prev, inp.yjp_prev, inp.yjp30_prev, inp.dealer_fx_inventory,
                     inp.dealer_fwd_book, inp.dealer_ust_inventory, inp.dealer_jgb_inventory,
                     inp.dealer_jgb30_inventory, inp.dealer_jpy_tn, inp.dealer_equity, inp.dealer_equity_target,
                     0.01 * inp.dealer_equity_target, inp.dealer_capital_constraint, inp.dealer_decay,
                     inp.dealer_fx_capacity, inp.dealer_ust_capacity_units, inp.dealer_jgb_capacity_units,
                     inp.dealer_jgb30_capacity_units,
                     inp.dealer_book_per_equity, inp.log_v_mean, inp.dealer_risk_elasticity, inp.ust_duration,
                     inp.jgb_duration, inp.jgb30_duration),
        RealMoneyInputs(inp.infl_us, inp.infl_jp, inp.real_money_log_anchor, inp.real_money_gap_ref,
                        inp.real_money_fiscal_premium, inp.real_money_beta, inp.real_money_capacity,
                        inp.real_money_kept, inp.real_money_risk_elasticity, inp.log_v_mean),
        BondInvestorInputs(inp.yus_prev, inp.yjp_prev, inp.ust_investor_anchor_change, inp.ust_investor_elasticity,
                           inp.ust_investor_extra_change, inp.ust_duration, inp.ust_investor_units,
                           inp.jgb_investor_anchor_change, inp.jgb_investor_elasticity,
                           inp.jgb_investor_extra_change, inp.jgb_duration, inp.jgb_investor_units, inp.yjp30_prev,
                           inp.habitat_anchor_change, inp.habitat_slope_units, inp.habitat_extra_units,
                           inp.ust_investor_flight_to_quality),
    )  # fmt: skip


FUND_BOOK = SECTOR_ORDER.index("hedge_funds")

# ---------------------------------------------------------------------------------------------
# helpers

DEALER_EQUITY, SWAP_LEVERAGE, BASIS_SLOPE = 60.0, 20.0, 0.01  # E*, ℓ, κ of the hand-written dealers
S_PREV = 150.0


def hand_inputs(**changes) -> ClearingInputs:
    """Clearing inputs written by hand. By default the bond markets are quiet: no anchor or extra
    demand changes, no dealer inventories, no supply, so both bond markets clear at yesterday's
    yields; the FX market has every linear participant switched on; in the forward market the
    dealers hold a book and no customer trades forwards.

    The risk index is a known constant by default (no response to the day's move or forced sales:
    ``a = c = 0``, only yesterday's level and the news) and the dealers' capital constraint is off
    (their capacity and the book's price at the target equity ``E*``), so the FX market is linear."""
    ust_p = math.exp(-8.5 * 0.042)
    jgb_p = math.exp(-9.3 * 0.008)
    jgb30_p = math.exp(-22.0 * 0.018)
    base = dict(
        s_prev=math.log(S_PREV),
        yus_prev=0.042,
        yjp_prev=0.008,
        basis_prev=-0.0025,
        dealer_fx_inventory=-460.0,  # the book's spot hedge, less a little
        dealer_fwd_book=480.0,
        dealer_ust_inventory=0.0,
        dealer_jgb_inventory=0.0,
        dealer_jpy_tn=460.0 * S_PREV / 1000.0,  # the yen the spot hedge bought
        dealer_equity=DEALER_EQUITY,
        dealer_equity_target=DEALER_EQUITY,
        dealer_capital_constraint=False,
        dealer_decay=0.05,
        dealer_fx_capacity=400.0,
        dealer_ust_capacity_units=8.0 * 1e4 / ust_p,
        dealer_jgb_capacity_units=0.4 * 1e4 / jgb_p,
        dealer_book_per_equity=SWAP_LEVERAGE / BASIS_SLOPE,
        dealer_risk_elasticity=1.3,
        log_v_prev=math.log(24.0),
        log_v_mean=math.log(18.0),
        risk_persistence=0.98,
        risk_vol_sensitivity=0.0,
        risk_forced_sensitivity=0.0,
        expected_fx_vol=0.006,
        risk_news=0.03,
        risk_equity_sensitivity=0.0,
        equity_before=0.0,
        equity_duration=5.0,
        carry_stock=300.0,
        log_v_max=math.log(150.0),
        real_money_kept=30.0,
        real_money_log_anchor=math.log(140.0),
        real_money_gap_ref=0.01,
        real_money_fiscal_premium=0.02,
        real_money_beta=8.0,
        real_money_capacity=1500.0,
        real_money_risk_elasticity=0.0,  # a fixed capacity: the FX market stays linear
        infl_us=0.025,
        infl_jp=0.01,
        long_horizon_capacity=3000.0,
        long_horizon_speed=0.004,
        long_horizon_log_anchor=math.log(135.0),
        long_horizon_position=-12.0,
        trade_flow_usd_bn=7.0,
        ust_investor_anchor_change=0.0,
        ust_investor_elasticity=30.0,
        ust_investor_extra_change=0.0,
        ust_investor_flight_to_quality=0.0,  # no flight to quality: the UST market keeps its closed form
        ust_investor_units=10_000.0 / ust_p,
        jgb_investor_anchor_change=0.0,
        jgb_investor_elasticity=0.8,
        jgb_investor_extra_change=0.0,
        jgb_investor_units=500.0 / jgb_p,
        ust_duration=D_UST,
        jgb_duration=9.3,
        ust_new_supply_units=0.0,
        jgb_new_supply_units=0.0,
        exogenous_usd_bn=-3.0,
        exogenous_ust_units=0.0,
        exogenous_jgb_units=0.0,
        exogenous_fwd_usd_bn=0.0,
        ycc_cap=0.01,
        ycc_units_per_unit_yield=0.0,
        margin_call_band=0.02,
        # the 30y is quiet too; the curve arbitrageurs are off by default (segmented markets, so each bond
        # market has its own closed form), and would expect yesterday's spread
        yjp30_prev=0.018,
        jgb30_duration=22.0,
        dealer_jgb30_inventory=0.0,
        dealer_jgb30_capacity_units=0.05 * 1e4 / jgb30_p,
        habitat_anchor_change=0.0,
        habitat_slope_units=0.15 * 1e4 / jgb30_p,
        habitat_extra_units=0.0,
        arb_expected_spread=0.01,
        arb_slope_units=0.0,
        arb_hedge_ratio=22.0 * jgb30_p / (9.3 * jgb_p),
        arb_jgb30_units=0.0,
        arb_jgb_units=0.0,
        exogenous_jgb30_units=0.0,
        jgb30_new_supply_units=0.0,
    )
    base.update(changes)
    return ClearingInputs(**base)


def hedged(inp: ClearingInputs) -> ClearingInputs:
    """The same dealers fully hedged: spot inventory the mirror of the book, the yen it bought, no bonds.
    Their equity then does not move with USD/JPY (the book's margin offsets the yen's revaluation)."""
    return inp._replace(dealer_fx_inventory=-inp.dealer_fwd_book, dealer_jpy_tn=inp.dealer_fwd_book * math.exp(
        inp.s_prev) / 1000.0, dealer_ust_inventory=0.0, dealer_jgb_inventory=0.0,
                        dealer_jgb30_inventory=0.0)  # fmt: skip


def no_funds(n: int = 1) -> tuple:
    """Fund arrays for ``n`` dead funds (they neither trade nor count)."""
    z = np.zeros(n)
    return (z.copy(), z.copy(), z.copy(), np.zeros(n, dtype=np.bool_), *(z.copy() for _ in range(6)))


def prev_of(inp: ClearingInputs) -> tuple:
    return inp.s_prev, inp.yus_prev, inp.yjp_prev, inp.basis_prev, inp.yjp30_prev


def book_of(funds: tuple, forced_sales: bool = True) -> tuple:
    n = funds[0].shape[0]
    return (*funds, forced_sales, np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.bool_), np.zeros(n))


def solve(inp: ClearingInputs, funds: tuple, *, forced_sales: bool = True, tol: float = 1e-13) -> ClearingResult:
    return CLEARING.clear(sector_inputs(inp, book_of(funds, forced_sales)), prev_of(inp), day=0, tol=tol)


def log_s_fund(inp: ClearingInputs, y_us: float, y_jp: float) -> float:
    """ln S_fund = ln S̄ + β·((y_us − π_us) − (y_jp − π_jp) − rr̄) + fiscal premium (fx_fundamentals)."""
    gap = (y_us - inp.infl_us) - (y_jp - inp.infl_jp)
    return (
        inp.real_money_log_anchor + inp.real_money_beta * (gap - inp.real_money_gap_ref) + inp.real_money_fiscal_premium
    )


def risk_log_level(inp: ClearingInputs, s: float, forced: float = 0.0, y_us: float | None = None) -> float:
    """ln v at the trial ln S = s and US yield y_us (model.risk's docstring): ln v̄ + ρ·(ln v_prev − ln v̄)
    + a·g(r) + c·f/K − e·(ΔE_before − D_e·Δy_us) + news, ``g(r) = √(r² + ε²)/σ_{t−1} − √(2/π)`` with
    ε = 1e-4, clipped to [ln 5, ln v_max]."""
    r = s - inp.s_prev
    g = math.hypot(r, 1e-4) / inp.expected_fx_vol - math.sqrt(2.0 / math.pi)
    dy_us = 0.0 if y_us is None else y_us - inp.yus_prev
    level = (
        inp.log_v_mean
        + inp.risk_persistence * (inp.log_v_prev - inp.log_v_mean)
        + inp.risk_vol_sensitivity * g
        + inp.risk_forced_sensitivity * forced / inp.carry_stock
        - inp.risk_equity_sensitivity * (inp.equity_before - inp.equity_duration * dy_us)
        + inp.risk_news
    )
    return min(max(level, math.log(5.0)), inp.log_v_max)


def dealer_equity_at(inp: ClearingInputs, s: float, y_us: float, y_jp: float, y_30: float | None = None) -> float:
    """The dealers' equity marked at trial prices: yesterday's equity plus the revaluation of their yen,
    their forward book's variation margin ``N·(1 − S_prev/S)``, and their bonds (JGBs in dollars; the 30y
    at ``y_30``, by default yesterday's)."""
    y_30 = inp.yjp30_prev if y_30 is None else y_30
    usd_per_tn, usd_per_tn_prev = 1000.0 / math.exp(s), 1000.0 / math.exp(inp.s_prev)
    p_us, p_us_prev = math.exp(-inp.ust_duration * y_us), math.exp(-inp.ust_duration * inp.yus_prev)
    p_jp, p_jp_prev = math.exp(-inp.jgb_duration * y_jp), math.exp(-inp.jgb_duration * inp.yjp_prev)
    p_30, p_30_prev = math.exp(-inp.jgb30_duration * y_30), math.exp(-inp.jgb30_duration * inp.yjp30_prev)
    return (
        inp.dealer_equity
        + inp.dealer_jpy_tn * (usd_per_tn - usd_per_tn_prev)
        + inp.dealer_fwd_book * (1.0 - math.exp(inp.s_prev) / math.exp(s))
        + inp.dealer_ust_inventory * (p_us - p_us_prev)
        + inp.dealer_jgb_inventory * (p_jp * usd_per_tn - p_jp_prev * usd_per_tn_prev)
        + inp.dealer_jgb30_inventory * (p_30 * usd_per_tn - p_30_prev * usd_per_tn_prev)
    )


def dealer_pricing_equity(inp: ClearingInputs, s: float, y_us: float, y_jp: float, y_30: float | None = None) -> float:
    """The equity in the dealers' capacity and the book's price: marked (floored at 1% of E*) under the
    capital constraint, else the target E*."""
    if not inp.dealer_capital_constraint:
        return inp.dealer_equity_target
    return max(dealer_equity_at(inp, s, y_us, y_jp, y_30), 0.01 * inp.dealer_equity_target)


def dealer_capacity_share(inp: ClearingInputs, s: float, y_us: float, y_jp: float, forced: float = 0.0,
                          y_30: float | None = None) -> float:  # fmt: skip
    """k = (E_d/E*)·(v̄/v)^(η·β) at the trial prices (``dealer_risk_elasticity`` is η·β)."""
    ratio = dealer_pricing_equity(inp, s, y_us, y_jp, y_30) / inp.dealer_equity_target
    return ratio * math.exp(-inp.dealer_risk_elasticity * (risk_log_level(inp, s, forced, y_us) - inp.log_v_mean))


def book_capacity(inp: ClearingInputs, s: float, y_us: float, y_jp: float, y_30: float | None = None) -> float:
    """ℓ·E_d/κ: the dealers' forward book per unit of (minus) the basis."""
    return inp.dealer_book_per_equity * dealer_pricing_equity(inp, s, y_us, y_jp, y_30)


def closed_form_basis(inp: ClearingInputs, s: float | None = None, y_us: float | None = None,
                      y_jp: float | None = None) -> float:  # fmt: skip
    """Root of the forward market without funds (dealers' module docstring): dealers supply the book
    ``N(b) = −b·ℓ·E_d/κ``, customers buy ``q`` long-USD forwards from them, so ``N(b) = N_old − q``:

    b = −κ·(N_old − q)/(ℓ·E_d),   with E_d at the cleared prices (default: yesterday's close)
    """
    s = inp.s_prev if s is None else s
    y_us = inp.yus_prev if y_us is None else y_us
    y_jp = inp.yjp_prev if y_jp is None else y_jp
    return -(inp.dealer_fwd_book - inp.exogenous_fwd_usd_bn) / book_capacity(inp, s, y_us, y_jp)


def linear_fx(inp: ClearingInputs) -> None:
    """The FX closed form needs a capacity that does not move with USD/JPY."""
    assert inp.risk_vol_sensitivity == 0.0
    assert not inp.dealer_capital_constraint or (
        inp.dealer_jpy_tn == inp.dealer_fwd_book * math.exp(inp.s_prev) / 1000.0 and inp.dealer_jgb_inventory == 0.0
    )


def closed_form_log_usdjpy(inp: ClearingInputs, y_us: float, y_jp: float) -> float:
    """Root of the linear FX excess demand (no funds), given the yields and the cleared forward market:

    z = −φ·(I_d + N_old) + c_d·(s_prev − s) − ΔN + c_f·(s_fund − s) − kept + κ_L·(c_L·(ŝ − s) − L_old)
        + trade + exog = 0,   with ΔN = −q: the dealers hedge the forwards they sold in spot,

    and the dealers' capacity ``c_d = c₀·(E_d/E*)·(v̄/v)^η`` a constant (see :func:`linear_fx`).
    """
    linear_fx(inp)
    c_d = inp.dealer_fx_capacity * dealer_capacity_share(inp, inp.s_prev, y_us, y_jp)
    c_f = inp.real_money_capacity
    c_l = inp.long_horizon_speed * inp.long_horizon_capacity
    num = (
        c_d * inp.s_prev
        + c_f * log_s_fund(inp, y_us, y_jp)
        + c_l * inp.long_horizon_log_anchor
        - inp.dealer_decay * (inp.dealer_fx_inventory + inp.dealer_fwd_book)
        + inp.exogenous_fwd_usd_bn
        - inp.real_money_kept
        - inp.long_horizon_speed * inp.long_horizon_position
        + inp.trade_flow_usd_bn
        + inp.exogenous_usd_bn
    )
    return num / (c_d + c_f + c_l)


def fx_excess_levels(inp: ClearingInputs, s: float, y_us: float, y_jp: float) -> float:
    """FX excess demand (no funds) with the forward market cleared (the dealers' book is ``N_old − q``,
    so their spot hedge buys ``q``), written in levels from the sectors' docstrings, at any capacity:
    real money ``c_f·(s_fund − s) − F_old``, long-horizon ``κ_L·(c_L·(ŝ − s) − L_old)``, the dealers
    ``−φ·(I + N_old) + c₀·k(s)·(s_prev − s) + q``, and the orders."""
    k = dealer_capacity_share(inp, s, y_us, y_jp)
    dealers = (
        -inp.dealer_decay * (inp.dealer_fx_inventory + inp.dealer_fwd_book)
        + inp.dealer_fx_capacity * k * (inp.s_prev - s)
        + inp.exogenous_fwd_usd_bn
    )
    real_money = inp.real_money_capacity * (log_s_fund(inp, y_us, y_jp) - s) - inp.real_money_kept
    long_horizon = inp.long_horizon_speed * (
        inp.long_horizon_capacity * (inp.long_horizon_log_anchor - s) - inp.long_horizon_position
    )
    return dealers + real_money + long_horizon + inp.trade_flow_usd_bn + inp.exogenous_usd_bn


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


def test_fx_price_and_basis_equal_closed_forms_when_no_funds_and_bond_markets_quiet():
    inp = hand_inputs()
    res = solve(inp, no_funds(3))
    assert res.converged
    # quiet bond markets clear exactly at yesterday's yields
    assert res.ust10y_yield == pytest.approx(inp.yus_prev, abs=1e-14)
    assert res.jgb10y_yield == pytest.approx(inp.yjp_prev, abs=1e-14)
    # with no customer forward trades the dealers keep their book: b = −κ·N_old/(ℓ·E*)
    b_star = -BASIS_SLOPE * inp.dealer_fwd_book / (SWAP_LEVERAGE * DEALER_EQUITY)
    assert b_star == pytest.approx(closed_form_basis(inp), rel=1e-15)
    assert abs(b_star - inp.basis_prev) > 1e-3  # the answer is not where the solver started
    assert res.fx_basis == pytest.approx(b_star, rel=1e-12)
    s_star = closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)
    assert abs(s_star - inp.s_prev) > 1e-3  # the answer is not just yesterday's close
    assert res.usdjpy == pytest.approx(math.exp(s_star), rel=1e-12)
    assert max(res.residual_fx, res.residual_ust, res.residual_jgb, res.residual_fwd) <= 1e-13
    # the day's risk index (a known constant here) is above its mean, so the dealers' capacity is cut
    log_v = inp.log_v_mean + inp.risk_persistence * (inp.log_v_prev - inp.log_v_mean) + inp.risk_news
    assert CLEARING.work.aux[1, 0] == pytest.approx(log_v, abs=1e-15)
    assert dealer_capacity_share(inp, s_star, inp.yus_prev, inp.yjp_prev) < 0.8


@pytest.mark.parametrize("trade", [-40.0, 0.0, 55.0])
def test_fx_price_moves_with_trade_flow_as_closed_form_predicts(trade):
    inp = hand_inputs(trade_flow_usd_bn=trade, dealer_fx_inventory=-495.0, real_money_kept=-5.0)
    res = solve(inp, no_funds())
    assert res.usdjpy == pytest.approx(math.exp(closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)), rel=1e-12)
    assert res.fx_basis == pytest.approx(closed_form_basis(inp), rel=1e-12)  # spot flow leaves the basis alone


@pytest.mark.parametrize("q", [-30.0, 12.5, 45.0])
def test_customer_forwards_move_the_basis_and_reach_spot_through_the_dealers_hedge(q):
    """Customers buying ``q`` long-USD forwards shrink the dealers' book by ``q`` (the basis rises by
    ``q·κ/(ℓ·E_d)``), and the dealers buy the dollars spot to stay hedged: USD/JPY moves as if the
    customers had bought ``q`` dollars spot."""
    inp = hand_inputs(exogenous_fwd_usd_bn=q)
    res = solve(inp, no_funds())
    base = hand_inputs()
    assert res.fx_basis == pytest.approx(closed_form_basis(inp), rel=1e-12)
    cap = inp.dealer_book_per_equity * inp.dealer_equity_target
    assert res.fx_basis - closed_form_basis(base) == pytest.approx(q / cap, rel=1e-9)
    assert res.usdjpy == pytest.approx(math.exp(closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)), rel=1e-12)
    spot = solve(base._replace(exogenous_usd_bn=base.exogenous_usd_bn + q), no_funds())
    assert res.usdjpy == pytest.approx(spot.usdjpy, rel=1e-12)
    assert res.ust10y_yield == pytest.approx(inp.yus_prev, abs=1e-14)


@pytest.mark.parametrize("equity", [30.0, 60.0, 84.0])
def test_hedged_dealers_under_the_capital_constraint_price_at_their_equity(equity):
    """Fully hedged dealers' equity does not move with the day's prices, so under the capital constraint
    the closed forms hold with ``E_d`` = yesterday's equity: capacity ``c₀·(E_d/E*)·(v̄/v)^η`` and the
    basis ``−κ·(N_old − q)/(ℓ·E_d)``. Less capital: a more negative basis and a larger FX move."""
    inp = hedged(hand_inputs(dealer_capital_constraint=True, dealer_equity=equity, exogenous_fwd_usd_bn=10.0))
    res = solve(inp, no_funds())
    assert res.fx_basis == pytest.approx(-(inp.dealer_fwd_book - 10.0) / (inp.dealer_book_per_equity * equity),
                                         rel=1e-11)  # fmt: skip
    assert res.fx_basis == pytest.approx(closed_form_basis(inp), rel=1e-11)
    s_star = closed_form_log_usdjpy(inp, inp.yus_prev, inp.yjp_prev)
    assert res.usdjpy == pytest.approx(math.exp(s_star), rel=1e-12)
    # the same dealers without the constraint price at E* (identical when E_d = E*)
    free = solve(inp._replace(dealer_capital_constraint=False), no_funds())
    if equity == DEALER_EQUITY:
        assert free.prices == pytest.approx(res.prices, rel=1e-12)
    else:
        assert (res.fx_basis < free.fx_basis) == (equity < DEALER_EQUITY)
        assert (abs(res.log_usdjpy - inp.s_prev) > abs(free.log_usdjpy - inp.s_prev)) == (equity < DEALER_EQUITY)


@pytest.mark.parametrize("trade", [-60.0, 25.0, 90.0])
def test_fx_price_with_marked_equity_and_endogenous_risk_matches_brentq(trade):
    """Under the capital constraint with an open dollar position (long 80 bn) and a risk index that
    responds to the day's move, the dealers' capacity ``c₀·k(s)`` moves with the trial price: the spot
    market clears at the root of the FX excess demand written in levels (brentq), the basis at
    ``−κ·(N_old − q)/(ℓ·E_d(s*))`` and the risk index at ``ln v(s*)``."""
    inp = hand_inputs(dealer_capital_constraint=True, dealer_fx_inventory=-400.0, dealer_equity=50.0,
                      risk_vol_sensitivity=0.05, trade_flow_usd_bn=trade, exogenous_fwd_usd_bn=15.0)  # fmt: skip
    res = solve(inp, no_funds())
    assert res.converged
    assert res.ust10y_yield == pytest.approx(inp.yus_prev, abs=1e-14)
    assert res.jgb10y_yield == pytest.approx(inp.yjp_prev, abs=1e-14)
    s_star = brentq(lambda s: fx_excess_levels(inp, s, inp.yus_prev, inp.yjp_prev), inp.s_prev - 0.2,
                    inp.s_prev + 0.2, xtol=1e-15, rtol=1e-15)  # fmt: skip
    assert res.log_usdjpy == pytest.approx(s_star, abs=1e-12)
    assert res.fx_basis == pytest.approx(closed_form_basis(inp, s_star), rel=1e-11)
    assert CLEARING.work.aux[1, 0] == pytest.approx(risk_log_level(inp, s_star), abs=1e-12)
    # the day's move and the dealers' P&L on it really changed their capacity
    k_star = dealer_capacity_share(inp, s_star, inp.yus_prev, inp.yjp_prev)
    assert abs(k_star - dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)) > 1e-3
    assert abs(dealer_equity_at(inp, s_star, inp.yus_prev, inp.yjp_prev) - inp.dealer_equity) > 0.1


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
        exogenous_fwd_usd_bn=-8.0,
    )
    res = solve(inp, no_funds())
    assert res.converged
    # the dealers' capacity share k = (E*/E*)·(v̄/v)^η is a constant here (see linear_fx)
    linear_fx(inp)
    k = dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)

    def z_ust(y):
        return bond_excess_levels(
            y,
            inp.yus_prev,
            inp.dealer_ust_inventory,
            inp.dealer_ust_capacity_units * k,
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
            inp.dealer_jgb_capacity_units * k,
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
    # and the forward market not at all
    assert res.fx_basis == pytest.approx(closed_form_basis(inp), rel=1e-12)


def test_yield_curve_control_caps_the_jgb_yield_at_a_known_answer():
    """Under YCC the BoJ's demand ``c·(y − cap)`` above the cap joins the JGB market: with a selling
    wave that would take the yield above the cap, it clears where the levels equation with the
    BoJ's term added has its root."""
    inp = hand_inputs(jgb_investor_extra_change=-60.0, ycc_cap=0.009, ycc_units_per_unit_yield=2e5)
    res = solve(inp, no_funds())
    free = solve(inp._replace(ycc_units_per_unit_yield=0.0), no_funds())
    assert free.jgb10y_yield > inp.ycc_cap + 1e-4  # without YCC the yield would break the cap
    linear_fx(inp)
    k = dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)

    def z_jgb(y):
        base = bond_excess_levels(y, inp.yjp_prev, inp.dealer_jgb_inventory, inp.dealer_jgb_capacity_units * k,
                                  inp.dealer_decay, inp.jgb_investor_anchor_change, inp.jgb_investor_elasticity,
                                  inp.jgb_investor_extra_change, inp.jgb_duration, inp.jgb_investor_units,
                                  inp.exogenous_jgb_units, inp.jgb_new_supply_units)  # fmt: skip
        return base + inp.ycc_units_per_unit_yield * max(y - inp.ycc_cap, 0.0)

    y_jp = brentq(z_jgb, inp.yjp_prev - 0.05, inp.yjp_prev + 0.05, xtol=1e-16, rtol=1e-15)
    assert inp.ycc_cap < y_jp < free.jgb10y_yield
    assert res.jgb10y_yield == pytest.approx(y_jp, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# the analytic Jacobian

FUND_FIELDS = ("fwd_usd_bn", "ust_units", "cash_usd_bn", "alive", "target_fx", "target_ust", "margin_fx",
               "margin_ust", "maint_usage", "speed")  # fmt: skip


def fund_arrays(model) -> tuple:
    f = model.hedge_funds
    return tuple(getattr(f, name) for name in FUND_FIELDS)


def one_fund_regime(fwd, units, cash, t_fx, t_ust, m_fx, m_ust, maint, speed, ratio, price, band, forced_sales):
    """Which smooth piece of the funds' piecewise rule one fund is on (see :func:`fund_regimes`).

    Written from the docstring of ``fund_trade``: equity ``E = C + U·P + X·(1 − S_prev/S)``; the
    voluntary positions move a share κ towards ℓ·E; a call when the margin held ``G = m_x·X + m_u·U·P``
    exceeds ``E/θ``; the share ``f`` of the cut to ``G = E`` is ``(G/E − 1/θ)/(ε/θ)`` (≤ 1) with forced
    sales, ``1 − (1/θ)·E/G`` without; the called margin binds when it is below the voluntary one.
    """
    v_old = units * price
    equity = cash + v_old + fwd * (1.0 - ratio)
    if equity <= 0.0:
        return 1
    if maint <= 0.0:
        return 2
    x_vol = fwd + speed * (t_fx * equity - fwd)
    v_vol = v_old + speed * (t_ust * equity - v_old)
    regime, x, v = 3, x_vol, v_vol
    g_old = m_fx * fwd + m_ust * v_old
    usage = g_old / equity
    if usage > maint:
        f = (usage - maint) / (band * maint) if forced_sales else 1.0 - maint / usage
        full = f >= 1.0
        g_f = g_old - min(f, 1.0) * (g_old - equity)
        g_v = m_fx * x_vol + m_ust * v_vol
        if g_f < g_v:
            regime = 5 if full else 4
            x, v = x_vol * g_f / g_v, v_vol * g_f / g_v
    return 6 if x < 0.0 or v < 0.0 else regime


def fund_regimes(inp: ClearingInputs, funds: tuple, s: float, y_us: float, forced_sales: bool = True) -> np.ndarray:
    """Which smooth piece of the funds' piecewise rule each fund is on at ``(s, y_us)``.

    0 dead; 1 insolvent; 2 liquidating (no margin); 3 voluntary; 4 margin call inside the band;
    5 full margin call; 6 clipped at zero.
    """
    fwd, units, cash, alive, t_fx, t_ust, m_fx, m_ust, maint, speed = funds
    ratio = math.exp(inp.s_prev - s)
    price = math.exp(-inp.ust_duration * y_us)
    out = np.zeros(fwd.shape[0], dtype=np.int64)
    for i in range(fwd.shape[0]):
        if alive[i]:
            out[i] = one_fund_regime(fwd[i], units[i], cash[i], t_fx[i], t_ust[i], m_fx[i], m_ust[i], maint[i],
                                     speed[i], ratio, price, inp.margin_call_band, forced_sales)  # fmt: skip
    return out


def evaluate(inp, funds, p, forced_sales=True):
    """Excess demand, its Jacobian and the day-wide quantities (``aux``) of the composed clearing at ``p``."""
    work = CLEARING.evaluate(
        tuple(p), sector_inputs(inp, book_of(funds, forced_sales)), Work.allocate(len(SECTOR_ORDER))
    )
    return work.z.copy(), work.jac.copy(), work.aux.copy()


def fund_sums(inp, funds, p):
    """The funds' own aggregate at ``p``: (Σ forwards bought, Σ UST units bought, Σ forced sales) and
    their derivatives in (ln S, y_us)."""
    book = sector_inputs(inp, book_of(funds))[FUND_BOOK]
    acc = hf.aggregate_demand(book, np.asarray(p, dtype=np.float64))
    return acc[[0, 3, 8]], np.array([[acc[1], acc[2]], [acc[4], acc[5]], [acc[9], acc[10]]])


def forced_by_fund(inp, funds, p, forced_sales=True) -> float:
    """Σ of one fund's forced sales (``fund_trade``'s 8th output) over the live funds, fund by fund."""
    fwd, units, cash, alive, t_fx, t_ust, m_fx, m_ust, maint, speed = funds
    ratio, price = math.exp(inp.s_prev - p[0]), math.exp(-inp.ust_duration * p[1])
    return sum(
        fund_trade(fwd[i], units[i], cash[i], t_fx[i], t_ust[i], m_fx[i], m_ust[i], maint[i], speed[i], ratio, price,
                   inp.margin_call_band, forced_sales, inp.ust_duration)[7]
        for i in range(fwd.shape[0]) if alive[i]
    )  # fmt: skip


def central_difference(fn, p, steps, columns):
    """Central differences of the vector ``fn(p)[0]`` in the prices ``columns``."""
    cols = []
    for j in columns:
        dp = np.zeros(len(p))
        dp[j] = steps[j]
        cols.append((fn(p + dp)[0] - fn(p - dp)[0]) / (2.0 * steps[j]))
    return np.column_stack(cols)


STEPS = np.array([1e-6, 1e-7, 1e-7, 1e-7, 1e-7])  # ln S, y_us, y_jp, b, y_jp30


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


def relative_error(fd, jac, noise=0.0):
    """|fd − jac| relative to |jac| (at least a millionth of its row's largest entry), less ``noise``: the
    rounding error of the central difference itself, which no analytic derivative can beat."""
    row_scale = np.abs(jac).max(axis=1, keepdims=True)
    gap = np.maximum(np.abs(fd - jac) - noise, 0.0)
    return gap / np.maximum(np.abs(jac), np.maximum(1e-6 * row_scale, 1e-300))


def assert_jacobian_matches(inp, funds, p):
    """The composed 5×5 Jacobian, the day-wide quantities' derivatives (forced sales, ln v), and the
    funds' own block (dX/ds, dX/dy; dunits/ds, dunits/dy; dforced/ds, dforced/dy)."""
    _, jac, aux = evaluate(inp, funds, p)
    fd = central_difference(lambda q: evaluate(inp, funds, q), p, STEPS, range(N_MARKETS))
    err = relative_error(fd, jac)
    assert err.max() < 1e-5, f"relative Jacobian error {err.max():.2e} at {p}\nanalytic\n{jac}\nFD\n{fd}"
    fd_aux = central_difference(lambda q: (evaluate(inp, funds, q)[2][:, 0],), p, STEPS, range(N_MARKETS))
    scale = np.abs(aux[:, 1:]).max(axis=1, keepdims=True) + 1e-9
    assert np.all(np.abs(fd_aux - aux[:, 1:]) <= 1e-5 * np.maximum(np.abs(aux[:, 1:]), 1e-3 * scale)), (
        f"aux derivatives at {p}\nanalytic\n{aux[:, 1:]}\nFD\n{fd_aux}"
    )
    _, own = fund_sums(inp, funds, p)
    fd_own = central_difference(lambda q: fund_sums(inp, funds, q), p, STEPS, (FX, UST))
    # a row whose derivatives are all but zero (no fund trading Treasuries at these prices) is compared
    # within the difference's rounding: a few ulps of the positions held, over the step
    held = np.array([np.abs(funds[0]).sum(), np.abs(funds[1]).sum(), np.abs(funds[0]).sum()])
    noise = 2.0 * np.finfo(float).eps * held[:, None] / STEPS[[FX, UST]][None, :]
    err = relative_error(fd_own, own, noise)
    assert err.max() < 1e-5, f"funds' Jacobian error {err.max():.2e} at {p}\nanalytic\n{own}\nFD\n{fd_own}"
    # the day-wide values: the funds' forced sales fund by fund, and ln v from them (model.risk)
    forced = forced_by_fund(inp, funds, p)
    assert aux[AUX_FORCED, 0] == pytest.approx(forced, rel=1e-12, abs=1e-12)
    assert aux[1, 0] == pytest.approx(risk_log_level(inp, p[0], forced, p[1]), abs=1e-12)
    # the dealers' forward supply: dZ_fwd/db = −ℓ·E_d(p)/κ, and its spot hedge the mirror image
    assert jac[FWD, FWD] == pytest.approx(-book_capacity(inp, *p[:3], y_30=p[JGB30]), rel=1e-12)
    assert jac[FX, FWD] == -jac[FWD, FWD]
    return jac, aux


def hand_inputs_of(inputs: tuple, prev) -> ClearingInputs:
    """The hand-written form of a model's clearing inputs (the inverse of :func:`sector_inputs`)."""
    lh, ca, ycc, ob, fb, rk, d, rm, bi = inputs
    lines = ob.lines
    named = np.zeros(lines.shape, dtype=bool)
    for m, line in NAMED_LINES:
        named[m, line] = True
    assert not lines[~named].any(), "an order line the hand-written inputs do not name is not zero"
    assert fb.s_prev == d.s_prev == rk.s_prev and fb.duration == bi.ust_duration == d.ust_duration
    assert d.yus_prev == bi.yus_prev and d.yjp_prev == bi.yjp_prev and d.jgb_duration == bi.jgb_duration
    assert d.yjp30_prev == bi.yjp30_prev
    assert rk.log_mean == d.log_v_mean == rm.log_v_mean
    return ClearingInputs(
        s_prev=d.s_prev, yus_prev=d.yus_prev, yjp_prev=d.yjp_prev, basis_prev=prev[3],
        dealer_fx_inventory=d.fx_inventory, dealer_fwd_book=d.fwd_book, dealer_ust_inventory=d.ust_inventory,
        dealer_jgb_inventory=d.jgb_inventory, dealer_jpy_tn=d.jpy_tn, dealer_equity=d.equity,
        dealer_equity_target=d.equity_target, dealer_capital_constraint=d.capital_constraint, dealer_decay=d.decay,
        dealer_fx_capacity=d.fx_capacity, dealer_ust_capacity_units=d.ust_capacity_units,
        dealer_jgb_capacity_units=d.jgb_capacity_units, dealer_book_per_equity=d.book_per_equity,
        dealer_risk_elasticity=d.risk_elasticity, log_v_prev=rk.log_v_prev, log_v_mean=rk.log_mean,
        risk_persistence=rk.persistence, risk_vol_sensitivity=rk.vol_sensitivity,
        risk_forced_sensitivity=rk.forced_sensitivity, expected_fx_vol=rk.expected_vol, risk_news=rk.news,
        risk_equity_sensitivity=rk.equity_sensitivity, equity_before=rk.equity_before,
        equity_duration=rk.equity_duration,
        carry_stock=rk.carry_stock, log_v_max=rk.log_max, real_money_kept=rm.position,
        real_money_log_anchor=rm.log_anchor, real_money_gap_ref=rm.gap_ref, real_money_fiscal_premium=rm.fiscal_premium,
        real_money_beta=rm.beta, real_money_capacity=rm.capacity,
        real_money_risk_elasticity=rm.risk_elasticity, infl_us=rm.infl_us, infl_jp=rm.infl_jp,
        long_horizon_capacity=lh.capacity, long_horizon_speed=lh.speed, long_horizon_log_anchor=lh.log_anchor,
        long_horizon_position=lh.position, trade_flow_usd_bn=lines[FX, CUSTOMER],
        ust_investor_anchor_change=bi.ust_anchor_change, ust_investor_elasticity=bi.ust_elasticity,
        ust_investor_extra_change=bi.ust_extra_change, ust_investor_flight_to_quality=bi.ust_flight_to_quality,
        ust_investor_units=bi.ust_units,
        jgb_investor_anchor_change=bi.jgb_anchor_change, jgb_investor_elasticity=bi.jgb_elasticity,
        jgb_investor_extra_change=bi.jgb_extra_change, jgb_investor_units=bi.jgb_units, ust_duration=bi.ust_duration,
        jgb_duration=bi.jgb_duration, ust_new_supply_units=-lines[UST, ISSUANCE],
        jgb_new_supply_units=-lines[JGB, ISSUANCE], exogenous_usd_bn=lines[FX, INSTITUTIONS],
        exogenous_ust_units=lines[UST, INSTITUTIONS], exogenous_jgb_units=lines[JGB, INSTITUTIONS],
        exogenous_fwd_usd_bn=lines[FWD, INSTITUTIONS], ycc_cap=ycc.cap,
        ycc_units_per_unit_yield=ycc.units_per_unit_yield, margin_call_band=fb.band,
        yjp30_prev=d.yjp30_prev, jgb30_duration=d.jgb30_duration, dealer_jgb30_inventory=d.jgb30_inventory,
        dealer_jgb30_capacity_units=d.jgb30_capacity_units, habitat_anchor_change=bi.jgb30_anchor_change,
        habitat_slope_units=bi.jgb30_slope_units, habitat_extra_units=bi.jgb30_extra_units,
        arb_expected_spread=ca.expected_spread, arb_slope_units=ca.slope_units, arb_hedge_ratio=ca.hedge_ratio,
        arb_jgb30_units=ca.jgb30_units, arb_jgb_units=ca.jgb_units,
        exogenous_jgb30_units=lines[JGB30, INSTITUTIONS], jgb30_new_supply_units=-lines[JGB30, ISSUANCE],
    )  # fmt: skip


def record_clearing_states(model) -> list:
    """Make ``model`` keep, for each day, the clearing inputs, the fund arrays it cleared with and the
    result."""
    states = []
    original = model.clearing.clear

    def recording(inputs, prev, **kw):
        inp = hand_inputs_of(inputs, prev)
        # the hand-written inputs rebuild the model's own clearing exactly
        assert prev == prev_of(inp)
        funds = tuple(a.copy() for a in fund_arrays(model))
        result = original(inputs, prev, **kw)
        states.append((inp, funds, result))
        return result

    model.clearing.clear = recording
    return states


def test_hand_written_inputs_reproduce_the_models_clearing():
    model = core_model(seed=1, scenario="risk_off")
    states = record_clearing_states(model)
    for _ in range(10):
        model.step()
    assert len(states) == 10  # one clearing a day, each recorded
    for inp, funds, result in states:
        mine = solve(inp, funds, tol=model.config.simulation.clearing_tolerance)
        assert mine.prices == result.prices
    # the model's dealers price at their marked equity and the day's risk index
    assert all(inp.dealer_capital_constraint and inp.risk_vol_sensitivity > 0 for inp, _, _ in states)


@pytest.fixture(scope="module")
def day50_state():
    model = core_model(seed=1)
    states = record_clearing_states(model)
    for _ in range(50):
        model.step()
    return states[-1][:2]


@pytest.fixture(scope="module")
def stressed_state():
    """The state of a crash-prone run on a day when margin calls were executed."""
    for seed in range(2, 10):
        model = core_model(seed=seed, scenario="risk_off", **CRASH_PRONE)
        states = record_clearing_states(model)
        for _ in range(400):
            model.step()
            if model.latest["hf_margin_calls"] > 0 and model.day > 30:
                return states[-1][:2]
    pytest.fail("no margin call in 400 days of crash-prone runs with seeds 2-9")


def test_jacobian_matches_central_differences_in_calm_state(day50_state):
    inp, funds = day50_state
    assert funds[3].sum() > 50  # live funds take part
    assert (funds[1][funds[3]] > 0).sum() > 5  # some of them with a duration leg
    s0, y0, j0, b0, t0 = inp.s_prev, inp.yus_prev, inp.yjp_prev, inp.basis_prev, inp.yjp30_prev
    candidates = [
        np.array([s0 + ds, y0 + dy, j0 + dj, b0 + db, t0 + dt])
        for ds, dy, dj, db, dt in (
            (0.0, 0.0, 0.0, 0.0, 0.0),
            (0.013, -0.0011, 0.0004, -0.001, 0.0007),
            (-0.021, 0.0017, -0.0006, 0.0005, -0.0009),
            (0.004, 0.0031, 0.002, -0.002, 0.0025),
        )
    ]
    good = smooth_points(inp, funds, candidates)
    assert len(good) >= 3
    for p, regimes in good:
        assert np.count_nonzero(regimes == 3) > 50
        jac, aux = assert_jacobian_matches(inp, funds, p)
        # the funds' forward demand responds to spot and yields (equity), not to the basis
        assert jac[FWD, FX] != 0.0 and jac[FWD, UST] != 0.0 and jac[UST, FX] != 0.0
        if p[2] != j0:
            # the dealers' capacity moves with USD/JPY (their equity, the risk index): so does their
            # JGB demand away from yesterday's yield
            assert jac[JGB, FX] != 0.0
        # the curve arbitrageurs couple the two JGB segments both ways
        assert jac[JGB, JGB30] != 0.0 and jac[JGB30, JGB] != 0.0
        if p[0] != s0:
            assert aux[1, 1 + FX] != 0.0  # the day's move reaches the risk index


def test_jacobian_matches_central_differences_inside_margin_call_band(stressed_state):
    """At prices where some funds are inside the margin-call band and some beyond it."""
    inp, funds = stressed_state
    y0, j0, b0, t0 = inp.yus_prev, inp.yjp_prev, inp.basis_prev, inp.yjp30_prev
    # a stronger yen (lower s) costs the long-USD forwards margin: scan for funds in regimes 4 and 5
    candidates = [np.array([inp.s_prev - ds, y0 + 1e-4, j0, b0, t0]) for ds in np.linspace(0.0, 0.15, 301)]
    good = [(p, r) for p, r in smooth_points(inp, funds, candidates) if np.any(r == 4) and np.any(r == 5)]
    assert len(good) >= 5, "no smooth price found with funds inside and beyond the margin-call band"
    for p, _ in good[:: max(1, len(good) // 8)]:
        _, aux = assert_jacobian_matches(inp, funds, p)
        # margin calls force sales, which raise the risk index at these prices
        assert aux[AUX_FORCED, 0] > 0.0 and aux[AUX_FORCED, 1 + FX] != 0.0


# ---------------------------------------------------------------------------------------------
# one fund's rule: random cases over every regime

LABELS = np.array(["voluntary", "band", "full", "insolvent", "liquidating", "broke"])


class FundCases(NamedTuple):
    fwd: np.ndarray
    units: np.ndarray
    cash: np.ndarray
    target_fx: np.ndarray
    target_ust: np.ndarray
    margin_fx: np.ndarray
    margin_ust: np.ndarray
    maint_usage: np.ndarray
    speed: np.ndarray
    ratio: np.ndarray
    price: np.ndarray
    band: np.ndarray
    label: np.ndarray

    def args(self, i: int, forced_sales: bool) -> tuple:
        """The positional arguments of :func:`fund_trade` for case ``i``."""
        return (*(float(getattr(self, f)[i]) for f in self._fields[:-1]), forced_sales)


def random_fund_cases(rng: np.random.Generator, n: int) -> FundCases:
    """Fund balance sheets spread over every regime of ``fund_trade``, half of them with a duration
    leg: the margin usage ``G/E`` of the positions held is drawn below the maintenance limit, inside
    the margin-call band or beyond it; some funds are insolvent, some own nothing and owe, some are
    being liquidated (no margin limit)."""
    m_fx = 1.0 / rng.uniform(1.0, 25.0, n)
    m_ust = rng.uniform(0.005, 0.3, n)
    maint = 1.0 / rng.uniform(0.5, 0.95, n)  # 1/θ
    band = rng.uniform(1e-3, 0.1, n)
    speed = rng.uniform(0.01, 1.0, n)
    leg = rng.random(n) < 0.5
    t_fx = rng.uniform(0.0, 1.0, n) / m_fx
    t_ust = np.where(leg, rng.uniform(0.0, 1.0, n) / m_ust, 0.0)
    usage0 = m_fx * t_fx + m_ust * t_ust
    t_fx, t_ust = t_fx / np.maximum(usage0, 1.0), t_ust / np.maximum(usage0, 1.0)  # within the initial margin
    label = rng.choice(LABELS, n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    usage = np.where(
        label == "voluntary",
        rng.uniform(0.0, 1.0, n) * maint,
        np.where(
            label == "band",
            maint * (1.0 + band * rng.uniform(0.01, 0.99, n)),
            maint * (1.0 + band * rng.uniform(1.01, 30.0, n)),
        ),
    )
    equity = rng.lognormal(0.0, 1.0, n)
    share_ust = np.where(leg, rng.uniform(0.0, 1.0, n), 0.0)  # of the margin held
    ratio = rng.uniform(0.9, 1.1, n)
    price = rng.uniform(0.6, 0.8, n)
    fwd = (1.0 - share_ust) * usage * equity / m_fx
    v_old = share_ust * usage * equity / m_ust
    equity = np.where(label == "insolvent", -rng.uniform(0.0, 2.0, n) * equity, equity)
    broke = label == "broke"  # owns nothing at all and owes
    fwd, v_old = np.where(broke, 0.0, fwd), np.where(broke, 0.0, v_old)
    equity = np.where(broke, -rng.uniform(0.0, 1.0, n), equity)
    cash = equity - v_old - fwd * (1.0 - ratio)
    liquidating = label == "liquidating"
    t_fx, t_ust, maint = (np.where(liquidating, 0.0, a) for a in (t_fx, t_ust, maint))
    speed = np.where(liquidating, 1.0, speed)
    return FundCases(fwd, v_old / price, cash, t_fx, t_ust, m_fx, m_ust, maint, speed, ratio, price, band, label)


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_trade_compiled_equals_python(forced_sales):
    cases = random_fund_cases(np.random.default_rng(20240805), 4000)
    called = legs = 0
    regimes = set()
    for i in range(cases.fwd.shape[0]):
        fwd, units, cash, *order, ratio, price, band, forced = cases.args(i, forced_sales)
        o, t = FundOrder(*order), TradeTerms(ratio, price, D_UST, band, forced)
        got, want = fund_trade_kernel(fwd, units, cash, o, t), fund_trade_kernel.py_func(fwd, units, cash, o, t)
        assert got == want, f"{cases.label[i]} {cases.args(i, forced_sales)}"
        called += bool(got[6])
        legs += got[1] > 0.0
        regimes.add(one_fund_regime(*cases.args(i, forced_sales)))
    assert called > 1000  # margin-call regimes were exercised
    assert legs > 1000  # and duration legs
    assert regimes >= ({1, 2, 3, 4, 5} if forced_sales else {1, 2, 3, 4})


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_trade_derivatives_match_central_differences(forced_sales):
    """``(dx_ds, dx_dy, dv_ds, dv_dy)`` and the forced sales' ``(dforced_ds, dforced_dy)`` of one fund
    against central differences in ``s = ln S`` and ``y_us``, in every regime, at points where the
    regime does not change within the step; and the forced sales themselves by hand: nothing on the
    voluntary path, everything held when liquidated, (1 − κ)·X when insolvent, the cut beyond the
    voluntary positions in a binding call."""
    cases = random_fund_cases(np.random.default_rng(5), 1500)
    h_s, h_y = 1e-6, 1e-7
    checked = np.zeros(7, dtype=int)
    forced_cuts = 0
    for i in range(cases.fwd.shape[0]):
        args = list(cases.args(i, forced_sales))
        s0, y0 = -math.log(args[9]), -math.log(args[10]) / D_UST  # s_prev = 0

        def at(s, y, args=args):
            a = list(args)
            a[9], a[10] = math.exp(-s), math.exp(-D_UST * y)
            return fund_trade(*a), one_fund_regime(*a)

        (x, v, dx_ds, dx_dy, dv_ds, dv_dy, _, forced, df_ds, df_dy), regime = at(s0, y0)
        shifted = [at(s0 + h_s, y0), at(s0 - h_s, y0), at(s0, y0 + h_y), at(s0, y0 - h_y)]
        if any(r != regime for _, r in shifted):
            continue  # at a kink
        fd = [(shifted[0][0][k] - shifted[1][0][k]) / (2 * h_s) for k in (0, 1, 7)]
        fd += [(shifted[2][0][k] - shifted[3][0][k]) / (2 * h_y) for k in (0, 1, 7)]
        analytic = [dx_ds, dv_ds, df_ds, dx_dy, dv_dy, df_dy]
        fwd, units, cash, t_fx, t_ust = args[:5]
        ratio, price, speed = args[9], args[10], args[8]
        scale = abs(fwd) + abs(units * price) + abs(cash)  # the balance sheet's size
        for a, f in zip(analytic, fd, strict=True):
            assert abs(a - f) <= 1e-5 * max(abs(a), 1e-3 * scale), (
                f"regime {regime} ({cases.label[i]}): analytic {analytic} vs FD {fd}; args {args}"
            )
        equity = cash + units * price + fwd * (1.0 - ratio)
        x_vol = fwd + speed * (t_fx * equity - fwd)
        if regime == 3:
            assert forced == 0.0
        elif regime == 2 or (regime == 1 and args[7] <= 0.0):  # liquidated: the whole forward (the Treasury
            assert forced == fwd  # leg's sale is not a purchase of yen)
        elif regime == 1:  # no equity: the voluntary position at zero equity, the call's limit there
            assert forced == (1.0 - speed) * fwd
        elif regime in (4, 5):  # called: the forward's cut beyond the voluntary position
            assert forced == pytest.approx(x_vol - x, rel=1e-9, abs=1e-12 * scale)
            forced_cuts += forced > 0.0
        checked[regime] += 1
    assert checked[3] > 100 and checked[4] > 50 and checked[1] > 50
    assert forced_cuts > 50
    if forced_sales:
        assert checked[5] > 50


def fund_decision_cases(rng: np.random.Generator, n: int):
    for _ in range(n):
        traits = hf.FundTraits(
            rng.lognormal(0.5, 0.5), rng.uniform(1.0, 30.0), rng.choice([0.0, 0.5]), rng.choice([0.0, 0.3]),
            rng.choice([0.0, 0.1]), bool(rng.random() < 0.5), rng.choice([0.0, 0.005, 0.02]),
        )  # fmt: skip
        obs = hf.Observation(
            rng.normal(0.03, 0.03), rng.normal(0.0, 0.2), rng.normal(0.0, 0.1), rng.uniform(0.0005, 0.05),
            rng.uniform(0.3, 5.0), rng.normal(0.01, 0.02), rng.uniform(0.001, 0.02),
        )  # fmt: skip
        rules = hf.DecisionRules(rng.choice([0.0, 0.5, 1.0, 2.0]), rng.uniform(0.5, 0.99), rng.uniform(0.01, 1.0),
                                 rng.uniform(0.005, 0.3))  # fmt: skip
        yield traits, bool(rng.random() < 0.1), obs, rules


def test_fund_decision_compiled_equals_python():
    scaled = 0
    for traits, liquidating, obs, rules in fund_decision_cases(np.random.default_rng(13), 3000):
        got = hf.fund_decision(traits, liquidating, obs, rules)
        assert got == hf.fund_decision.py_func(traits, liquidating, obs, rules), (traits, liquidating, obs, rules)
        scaled += got[2] * got[0] + got[3] * got[1] == pytest.approx(1.0, rel=1e-12)
    assert scaled > 100  # the one-account margin scaling was exercised


def test_fund_settle_compiled_equals_python():
    rng = np.random.default_rng(14)
    closed = failed = 0
    for _ in range(3000):
        units, fwd = rng.uniform(0.0, 100.0) * (rng.random() < 0.5), rng.uniform(0.0, 200.0)
        acct = hf.FundAccount(fwd, units, rng.normal(10.0, 20.0), rng.uniform(0.1, 30.0), rng.uniform(1.0, 10.0),
                              rng.normal(0.0, 0.01), bool(rng.random() < 0.1), rng.uniform(0.0, 0.01))  # fmt: skip
        prices = hf.SettlePrices(rng.uniform(0.9, 1.1), rng.uniform(0.6, 0.8), rng.uniform(0.6, 0.8),
                                 rng.uniform(0.0, 0.08), rng.uniform(0.0, 0.06),
                                 rng.normal(0.03, 0.02) / TRADING_DAYS)  # fmt: skip
        rules = hf.SettleRules(bool(rng.random() < 0.8), rng.uniform(0.0, 1.0), rng.uniform(0.01, 1.0),
                               rng.normal(0.0, 0.001), rng.uniform(0.0, 0.5), rng.uniform(1.5, 20.0), 100)  # fmt: skip
        x, v = rng.uniform(0.0, 200.0), rng.uniform(0.0, 100.0) * (units > 0)
        got = hf.fund_settle(acct, x, v, prices, rules)
        assert got == hf.fund_settle.py_func(acct, x, v, prices, rules), (acct, x, v, prices, rules)
        closed += got[12]
        failed += got[13]
    assert closed > 100 and failed > 100


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
    # fwd, v_old, target_fx, target_ust, margin_fx, margin_ust, maint_usage, speed, band
    (50.0, 0.0, 3.0, 0.0, 1 / 10.0, 0.03, 1 / 0.75, 0.05, 0.02),
    (12.0, 0.0, 0.0, 0.0, 1 / 4.0, 0.03, 1 / 0.9, 0.5, 0.1),
    (80.0, 0.0, 20.0, 0.0, 1 / 25.0, 0.03, 1 / 0.6, 1.0, 0.001),
    (40.0, 60.0, 4.0, 8.0, 1 / 12.0, 0.05, 1 / 0.75, 0.05, 0.02),  # with a duration leg
    (5.0, 150.0, 0.5, 20.0, 1 / 6.0, 0.03, 1 / 0.8, 0.2, 0.05),  # mostly duration
]
RATIO, PRICE = 1.03, 0.7  # the yen has strengthened 3% today: the forwards lost margin


def trade_at_equity(case, equity, forced_sales=True):
    """``fund_trade`` for ``case`` with the cash that puts its equity near ``equity`` today; returns the
    trade and the equity exactly as the rule computes it (``C + U·P + X·(1 − S_prev/S)``: with a
    balance sheet of ~100 the cash carries rounding errors of ~1e-14)."""
    fwd, v_old, t_fx, t_ust, m_fx, m_ust, maint, speed, band = case
    units = v_old / PRICE
    cash = equity - units * PRICE - fwd * (1.0 - RATIO)
    trade = fund_trade(fwd, units, cash, t_fx, t_ust, m_fx, m_ust, maint, speed, RATIO, PRICE, band, forced_sales)
    return trade, cash + units * PRICE + fwd * (1.0 - RATIO)


@pytest.mark.parametrize("case", KINK_CASES)
@pytest.mark.parametrize("where", ["maintenance", "band_end"])
def test_fund_positions_continuous_across_margin_call_band_edges(case, where):
    fwd, v_old, _, _, m_fx, m_ust, maint, _, band = case
    g_old = m_fx * fwd + m_ust * v_old
    usage_kink = maint if where == "maintenance" else maint * (1.0 + band)
    eps = 1e-10
    below, _ = trade_at_equity(case, g_old / (usage_kink * (1 - eps)))
    above, _ = trade_at_equity(case, g_old / (usage_kink * (1 + eps)))
    # the derivative in equity is at most ~G/(ε·E)·(positions): a jump would be O(positions)
    assert abs(above[0] - below[0]) <= 1e-6 * fwd
    assert abs(above[1] - below[1]) <= 1e-6 * max(v_old, 1.0)
    assert above[6]  # above the maintenance limit a margin call binds
    if where == "band_end":
        assert below[6]


@pytest.mark.parametrize("case", KINK_CASES)
@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_positions_go_to_zero_as_equity_goes_to_zero(case, forced_sales):
    m_fx, m_ust, maint = case[4], case[5], case[6]
    slack = 1e-14 * (m_fx * case[0] + m_ust * case[1])  # G_old − f·(G_old − E) rounds at G_old's last bit
    for target in (1e-9, 1e-11, 1e-12):
        trade, equity = trade_at_equity(case, target, forced_sales)
        assert equity == pytest.approx(target, rel=0.2)
        x, v = trade[:2]
        assert x >= 0.0 and v >= 0.0
        # never more margin than (1 + 1/θ)·E: the positions vanish with the equity
        assert m_fx * x + m_ust * v <= (1.0 + maint) * equity + slack
        if forced_sales:
            assert m_fx * x + m_ust * v <= equity + slack  # cut to the initial margin at once
    for target in (-1e-12, -1e-9):
        trade, equity = trade_at_equity(case, target, forced_sales)
        assert equity < 0.0
        assert trade[:6] == (0.0,) * 6
    # exactly zero equity (no variation margin, no duration leg, no cash): nothing held
    fwd, _, t_fx, t_ust, m_fx, m_ust, maint, speed, band = case
    assert fund_trade(fwd, 0.0, 0.0, t_fx, t_ust, m_fx, m_ust, maint, speed, 1.0, PRICE, band, forced_sales)[:6] == (
        (0.0,) * 6
    )


@pytest.mark.parametrize("forced_sales", [True, False])
def test_fund_demand_continuous_at_insolvency(forced_sales):
    """``fund_trade``'s forward and UST demand as equity crosses zero: an insolvent fund closes both
    legs; a barely solvent one must be closing (almost) all of them too, or aggregate demand jumps
    and the markets cannot clear exactly at that price."""
    for case in KINK_CASES:
        fwd, v_old = case[0], case[1]
        trades, equities = zip(*(trade_at_equity(case, e, forced_sales) for e in (1e-9, -1e-9)), strict=True)
        assert equities[0] > 0.0 > equities[1]
        assert trades[1][:2] == (0.0, 0.0) and trades[1][6]  # insolvent: closed out, flagged
        for k, held in ((0, fwd), (1, v_old)):
            demand = [t[k] - held for t in trades]
            assert demand[1] == -held
            assert abs(demand[0] - demand[1]) <= 1e-6 * (fwd + v_old), f"demand jumps by {demand[0] - demand[1]:.4g}"


# ---------------------------------------------------------------------------------------------
# residuals in runs, and failure modes


def run_recording(seed, days, scenario="baseline", **overrides):
    """A run that keeps each day's clearing result."""
    model = make_model(seed, scenario, **overrides)
    results = []
    original = model.clearing.clear

    def recording(inputs, prev, **kw):
        results.append(original(inputs, prev, **kw))
        return results[-1]

    model.clearing.clear = recording
    for _ in range(days):
        model.step()
    return model, results


def assert_cleared_every_day(model, results):
    tol = model.config.simulation.clearing_tolerance
    assert tol <= 1e-10
    df = model.timeseries()
    assert len(df) == model.day + 1 and len(results) == model.day
    assert (df["clearing_residual"] <= tol).all(), df["clearing_residual"].max()
    assert (df["walras_residual"] <= tol).all(), df["walras_residual"].max()  # recomputed independently
    for r in results:
        assert r.converged
        assert max(r.residual_fx, r.residual_ust, r.residual_jgb, r.residual_fwd, r.residual_jgb30) <= tol, r
        assert r.residual == max(r.residual_fx, r.residual_ust, r.residual_jgb, r.residual_fwd, r.residual_jgb30)
        assert r.gross_jgb30_units > 0.0  # the 30y market trades every day
    for col in ("usdjpy", "ust10y_yield", "jgb10y_yield", "fx_basis_bp", "jgb30y_yield"):
        assert np.isfinite(df[col]).all()
    assert (df["usdjpy"] > 0).all()
    # the basis really is a cleared price: it moves
    assert df["fx_basis_bp"].std() > 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_day_clears_to_tolerance_in_baseline(seed):
    assert_cleared_every_day(*run_recording(seed, 300))


# seeds whose 300 stressed days clear at caps up to 25: at the fourth refit's defaults seeds 2 and 4-7 end in a
# clearing failure (a day beyond the plausibility bound), which the bad-day tests cover
@pytest.mark.parametrize("seed", [0, 1, 3])
def test_every_day_clears_to_tolerance_under_leveraged_stress(seed):
    model, results = run_recording(seed, 300, scenario=SENTIMENT_STRESS, hedge_funds__max_leverage=25.0)
    assert_cleared_every_day(model, results)
    assert model.timeseries()["hf_margin_calls"].sum() > 0  # the stress did bite


def model_inputs(model, **changes) -> tuple[tuple, tuple]:
    """Today's clearing inputs of ``model`` after its decisions, with hand changes, and yesterday's close."""
    for s in model.sector_list:
        s.decide(model)
        model.signals.update(s.publish(model))
    mk = model.market
    prev = (mk.log_usdjpy, mk.ust10y_yield, mk.jgb10y_yield, mk.fx_basis, mk.jgb30y_yield)
    inp = hand_inputs_of(tuple(s.clearing_inputs(model) for s in model.priced), prev)._replace(**changes)
    return sector_inputs(inp, book_of(fund_arrays(model))), prev_of(inp)


def test_clear_raises_clearing_error_naming_the_day_on_nan_input():
    model = core_run(seed=3, days=5)
    inputs, prev = model_inputs(model, trade_flow_usd_bn=float("nan"))
    with pytest.raises(ClearingError, match=r"day 17\b"):
        model.clearing.clear(inputs, prev, day=17, tol=1e-10)


@pytest.mark.parametrize(
    "field", ["s_prev", "basis_prev", "dealer_fx_capacity", "ust_investor_units", "dealer_book_per_equity",
              "exogenous_fwd_usd_bn", "log_v_prev", "risk_news", "carry_stock", "dealer_equity", "dealer_jpy_tn"]
)  # fmt: skip
def test_clear_never_returns_nan_prices(field):
    model = core_run(seed=3, days=5)
    inputs, prev = model_inputs(model, **{field: float("nan")})
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


def test_a_day_moving_a_yield_beyond_the_bound_is_a_clearing_failure():
    """A ¥80 tn overnight budget (far outside history) lifts the 30y JGB about 125 bp on its day: a price
    inside the default 200 bp bound, a clearing failure under a 100 bp one."""
    from model.scenarios import ScenarioEvent

    budget = ScenarioEvent(day=4, kind="supplementary_budget", params={"jpy_tn": 80.0})
    model = run_model(seed=1, days=3)
    model.apply_event(budget)
    model.step()
    move = model.history["jgb30y_yield"][-1] - model.history["jgb30y_yield"][-2]
    assert 0.01 < move < 0.02
    tight = run_model(seed=1, days=3, simulation__max_yield_move_pa=0.01)
    tight.apply_event(budget)
    with pytest.raises(ClearingError, match=r"implausible prices on day 4: JGB30y=.* moved \+\d+ bp in a day \(bound"):
        tight.step()


def test_the_bounds_refuse_a_days_move_of_any_yield_or_the_basis_beyond_its_limit():

    prev = (math.log(150.0), 0.04, 0.01, -0.003, 0.02)  # ln S, UST 10y, JGB 10y, basis, JGB 30y
    bounds = HAND_BOUNDS._replace(max_yield_move=0.02, max_basis_move=0.02)

    def day(**moved):
        prices = dict(usdjpy=150.0, ust10y_yield=0.04, jgb10y_yield=0.01, fx_basis=-0.003, jgb30y_yield=0.02)
        prices.update(moved)
        fields = ClearingResult._fields
        values = [prices.get(f, 0.0) for f in fields]
        return ClearingResult(*values)._replace(converged=True, log_usdjpy=math.log(prices["usdjpy"]))

    assert bounds.violation(day(), prev) == ""
    assert bounds.violation(day(ust10y_yield=0.059), prev) == ""  # +190 bp: inside
    assert "UST10y=0.061 moved +210 bp" in bounds.violation(day(ust10y_yield=0.061), prev)
    assert "JGB10y=-0.011 moved -210 bp" in bounds.violation(day(jgb10y_yield=-0.011), prev)
    assert "JGB30y=0.045 moved +250 bp" in bounds.violation(day(jgb30y_yield=0.045), prev)
    assert "fx_basis=-0.024 moved -210 bp" in bounds.violation(day(fx_basis=-0.024), prev)
    assert HAND_BOUNDS.violation(day(jgb30y_yield=0.045), prev) == ""  # no move bound given: none applied
    # the level of USD/JPY: a move within the day's bound can still leave it outside its plausible range
    level = HAND_BOUNDS._replace(min_usdjpy=148.0, max_usdjpy=152.0)
    assert level.violation(day(usdjpy=149.0), prev) == "" and level.violation(day(usdjpy=151.9), prev) == ""
    assert level.violation(day(usdjpy=147.0), prev) == "USD/JPY=147 outside [148, 152]"
    assert level.violation(day(usdjpy=153.0), prev) == "USD/JPY=153 outside [148, 152]"
    assert HAND_BOUNDS.violation(day(usdjpy=147.0), prev) == ""  # no level bound given: none applied


def test_a_run_whose_usdjpy_leaves_its_level_bounds_fails_on_that_day():
    """A run started at USD/JPY 76 with ``simulation.min_usdjpy`` at 75 (the narrowest the bound may be):
    the same seed with the bound at its widest falls below 75 on some day; bounded, it records the same
    prices until then and fails on that day, naming the level and the bounds."""
    start = {"market__usdjpy": 76.0}
    free = run_model(3, 40, "risk_off", simulation__min_usdjpy=40.0, **start)
    s = np.asarray(free.history["usdjpy"])
    crossing = int(np.argmax(s < 75.0))
    assert crossing > 1, "the free run never fell below 75 in 40 days: the test was not exercised"
    model = run_model(3, crossing - 1, "risk_off", simulation__min_usdjpy=75.0, **start)
    assert model.history["usdjpy"] == free.history["usdjpy"][:crossing]
    with pytest.raises(
        ClearingError, match=rf"implausible prices on day {crossing}: USD/JPY=7[0-4].* outside \[75, 500\]"
    ):
        model.step()
    with pytest.raises(ConfigError, match=r"market.usdjpy = 74.0 is not allowed with simulation.min_usdjpy = 75.0"):
        make_model(3, "risk_off", simulation__min_usdjpy=75.0, market__usdjpy=74.0)


def test_a_yield_below_its_floor_is_a_clearing_failure():
    from model.scenarios import ScenarioEvent

    # the JGB 10y starts near 0.6%; a BoJ cut to -5% takes it below a floor set at 0% (the FX bound
    # is widened: the same cut also moves USD/JPY by more than 15% in a day)
    model = run_model(seed=1, days=2, simulation__min_yield_pa=0.0, simulation__max_fx_log_move=1.0)
    model.apply_event(ScenarioEvent(day=3, kind="boj_rate", params={"rate": -0.05}))
    with pytest.raises(ClearingError, match=r"implausible prices on day \d+: JGB10y=-.* outside \[0, 0.25\]"):
        for _ in range(30):
            model.step()


HAND_BOUNDS = Bounds(max_fx_log_move=0.15, min_yield=-0.05, max_yield=0.25, min_basis=-0.05, max_basis=0.05)


def test_an_absurd_basis_is_a_clearing_failure():
    """Dealers with almost no balance sheet for swaps (ℓ·E_d/κ = 1000 instead of 120 000) price the
    same book at a basis of −48% a year: the clearing solves it, and the bound rejects it."""
    inp = hand_inputs(dealer_book_per_equity=1000.0 / DEALER_EQUITY)
    assert closed_form_basis(inp) == pytest.approx(-0.48)
    inputs = sector_inputs(inp, book_of(no_funds()))
    with pytest.raises(ClearingError, match=r"implausible prices on day 9: fx_basis=-0.48 outside \[-0.05, 0.05\]"):
        CLEARING.clear(inputs, prev_of(inp), day=9, tol=1e-12, bounds=HAND_BOUNDS)
    # the bound, not the solver, stopped it; the same inputs clear where the closed form says
    wide = HAND_BOUNDS._replace(min_basis=-1.0)
    res = CLEARING.clear(inputs, prev_of(inp), day=9, tol=1e-12, bounds=wide)
    assert res.fx_basis == pytest.approx(closed_form_basis(inp), rel=1e-12)
    # and a sane book within the default bounds clears
    assert CLEARING.clear(sector_inputs(hand_inputs(), book_of(no_funds())), prev_of(inp), day=9, tol=1e-12,
                          bounds=HAND_BOUNDS).converged  # fmt: skip


def test_a_basis_outside_narrowed_bounds_is_a_clearing_failure_in_a_run():
    """The basis starts at −40 bp and drifts by a bp or so within a month; in a run where it falls, a
    lower bound narrowed to halfway between its low over the first ten days and its low over the
    month stops the run on the first day the unbounded run clears below it, naming that day, and the
    run has the same prices until then (the bound, not the solver, stops it)."""
    for seed in range(1, 7):
        free = run_model(seed=seed, days=30)
        basis = np.asarray(free.history["fx_basis_bp"])
        if basis[:10].min() - basis.min() > 0.5:
            break
    else:
        pytest.fail("the basis did not fall by half a bp after the first ten days in any of seeds 1-6")
    assert basis[0] == pytest.approx(-40.0)
    bound = round(0.5 * (basis[:10].min() + basis.min()) * 1e-4, 6)  # per annum
    crossing = int(np.argmax(basis < bound * 1e4))
    assert crossing >= 10 and basis[crossing] < bound * 1e4 and np.all(basis[:crossing] >= bound * 1e4)
    model = make_model(seed=seed, simulation__min_basis_pa=bound)
    for _ in range(crossing - 1):
        model.step()
    assert model.history["fx_basis_bp"] == list(basis[:crossing])
    assert model.history["usdjpy"] == free.history["usdjpy"][:crossing]
    pattern = rf"implausible prices on day {crossing}: fx_basis=-0.004\d+ outside \[{bound:g}, 0.05\]"
    with pytest.raises(ClearingError, match=pattern):
        model.step()
