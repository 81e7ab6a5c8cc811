"""Leveraged carry-trade hedge funds: borrow yen, hold US Treasuries.

Each fund's balance sheet after it trades is

    assets       UST   X  (USD bn, market value)      USD cash  E
    liabilities  yen loan  X·S/1000  (JPY tn)          equity    E

so its carry exposure X is at once its long-UST and its short-yen position. Between trades
the yen loan accrues the BoJ rate plus a funding spread, the bonds pay their yield, and
everything is marked to market at the cleared prices.

Decision rules (per fund ``i``, rates per annum):

* target leverage, mean-variance (Merton): ``ℓ*_i = (y_us − r_jp − spread_i + w_i·m) / (γ_i σ²)``
  where ``m`` is the annualised USD/JPY trend (non-zero weight ``w_i`` only for trend
  followers, who also target a volatility ``σ_target/σ``); capped by the initial-margin
  leverage ``λ_i = 1/margin_i``;
* margins tighten with volatility, VaR-style (Brunnermeier & Pedersen 2009, Aymanns & Farmer
  2015): ``margin_i = min(1, max(1/λcap_i, (1/λcap_i)·(σ/σ_ref)^ψ))``;
* voluntary partial adjustment at speed ``κ`` towards ``ℓ*·E``;
* a margin call when marked leverage exceeds the maintenance limit ``λ_i/θ``: the position is
  cut back to ``λ_i·E`` at once (continuously phased in over a band of width ``ε`` so that
  aggregate demand is continuous in prices and the market can clear exactly);
* below ``floor·W0`` a fund fails and is liquidated on the next day; a new fund enters after
  a delay (Thurner, Farmer & Geanakoplos 2012: floor 10 %, 100 steps);
* investors add or withdraw capital after performance, ``flow = b·(r̃ − r_b)·E`` with ``b =
  0.15`` (TFG 2012) and ``r̃`` an exponential moving average of daily returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from numba import njit

from model.sector import FX, TRADING_DAYS, UST, Sector, Validated, param

__all__ = [
    "HedgeFunds",
    "FundBook",
    "fund_flows",
    "HedgeFundConfig",
    "HedgeFundState",
    "HedgeFundView",
    "FundAggregate",
    "SettleTotals",
    "init_hedge_funds",
    "decide",
    "fund_position",
    "aggregate_demand",
    "settle",
]


@dataclass(frozen=True)
class HedgeFundConfig(Validated):
    n_funds: int = param(200, unit="funds", lo=1, hi=10_000_000, doc="number of carry funds")
    initial_carry_usd_bn: float = param(
        250.0,
        unit="USD bn",
        lo=0.0,
        hi=1000.0,
        doc="total initial carry exposure (UST long = yen short)",
        source="BIS Bulletin 90 (2024): yen carry stock ~¥40 tn ≈ $250 bn going into Aug 2024",
        range_note="BIS: ~$250 bn, 'if anything biased down'; broader yen-funded estimates up to ~$1 tn",
    )
    initial_leverage_fraction: float = param(
        0.8,
        lo=0.2,
        hi=1.5,
        doc="initial exposure as a fraction of each fund's own target at the initial market state "
        "(< 1: the carry book is still building; > 1: crowded, above what funds want to hold)",
        range_note="positioning assumption: the carry book from a fifth to 1.5 times funds' own targets",
    )
    max_leverage: float = param(
        11.5,
        unit="x equity",
        lo=1.0,
        hi=50.0,
        doc="upper end of the leverage caps (1/initial margin in calm markets); 1 = unleveraged",
        source="FX margins for majors 3-10% (CFTC/NFA retail 2%, prime brokers 5-10%): caps 10-30x; "
        "TFG 2012 use λmax = 5-20",
        range_note="FX margins 2-10% (CFTC/NFA, prime brokers): caps up to 50x; 1 = unleveraged",
    )
    leverage_beta_a: float = param(2.0, lo=0.1, hi=20.0, doc="Beta(a, b) shape of caps between 1 and max_leverage")
    leverage_beta_b: float = param(2.0, lo=0.1, hi=20.0, doc="Beta(a, b) shape of caps between 1 and max_leverage")
    risk_aversion_median: float = param(
        1.6,
        lo=0.5,
        hi=10.0,
        doc="median relative risk aversion γ (lognormal across funds); calibrated to the baseline return "
        "statistics: below ~1.3 the carry book turns crash-prone (mean kurtosis > 30), at 2 and above "
        "leverage barely matters",
        range_note="relative risk aversion estimates ~1-10 (Mehra & Prescott 1985; Bliss & Panigirtzoglou 2004)",
    )
    risk_aversion_dispersion: float = param(0.5, lo=0.0, hi=3.0, doc="sd of log γ across funds")
    size_dispersion: float = param(1.0, lo=0.0, hi=3.0, doc="sd of log initial capital across funds")
    funding_spread_pa: float = param(
        0.005,
        unit="per annum",
        lo=0.0,
        hi=0.03,
        doc="spread over the BoJ rate on yen borrowing (TONA + 50 bp)",
        range_note="prime-broker financing spreads over the policy rate 0-300 bp",
    )
    funding_spread_dispersion_pa: float = param(
        0.002, unit="per annum", lo=0.0, hi=0.01, range_note="assumption: up to 100 bp across funds"
    )
    adjustment_speed: float = param(
        0.05, unit="per day", lo=0.0, hi=1.0, lo_open=True, doc="partial adjustment κ towards the target position"
    )
    maintenance_ratio: float = param(
        0.75,
        lo=0.5,
        hi=1.0,
        hi_open=True,
        doc="maintenance margin / initial margin θ",
        range_note="exchanges set maintenance at 70-100% of initial margin (CME: ~91%)",
    )
    margin_call_band: float = param(
        0.02,
        lo=0.001,
        hi=0.1,
        doc="width ε (relative to the maintenance leverage) over which a margin call phases in from none to full",
        range_note="numerical smoothing of the margin-call kink: 0.1-10% of the limit",
    )
    margin_vol_elasticity: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="ψ: margins scale with (σ/σ_ref)^ψ above σ_ref (0 switches margin tightening off)",
        range_note="VaR margins scale with volatility (elasticity 1); 0 = fixed margins",
    )
    margin_reference_vol_pa: float = param(
        0.09,
        unit="per annum",
        lo=0.05,
        hi=0.2,
        doc="σ_ref: volatility at which calm-market margins are set",
        source="USD/JPY 1m implied vol averaged ~9% in 2015-2023 (CME/Bloomberg JYVIX)",
        range_note="USD/JPY 1m implied vol 5-20% in 2000-2024",
    )
    forced_sales: bool = param(
        True,
        doc="margin calls cut positions at once (False: gradually, the share (L − λ_m)/L of the cut a day)",
    )
    investor_flows: bool = param(True, doc="investors add/withdraw capital after performance")
    flow_sensitivity: float = param(
        0.15,
        lo=0.0,
        hi=1.0,
        doc="b in flow = b·(r̃ − r_b)·E",
        source="Thurner, Farmer & Geanakoplos (2012), b = 0.15",
        range_note="TFG 2012: 0.15; flow-performance sensitivities of hedge funds ~0.1-0.5 (Fung et al. 2008)",
    )
    flow_memory: float = param(
        0.1, lo=0.0, hi=1.0, lo_open=True, doc="EMA weight a of daily returns in r̃ (TFG 2012: a = 0.1)"
    )
    flow_benchmark_pa: float = param(
        0.0,
        unit="per annum",
        lo=-0.05,
        hi=0.1,
        doc="benchmark return r_b",
        range_note="benchmark returns from cash to equity-like",
    )
    failure_floor: float = param(
        0.1,
        lo=0.0,
        hi=0.5,
        hi_open=True,
        doc="fail when equity < floor × initial capital",
        source="TFG 2012: 10%",
        range_note="TFG 2012: 10%; up to half of initial capital",
    )
    reentry_delay_days: int = param(
        100,
        unit="days",
        lo=1,
        hi=1000,
        source="TFG 2012: 100 steps",
        range_note="TFG 2012: 100 steps; up to four years",
    )
    value_weight_pa: float = param(
        0.3,
        unit="per annum",
        lo=0.0,
        hi=1.0,
        doc="carry funds expect this share of USD/JPY's deviation from fundamental value to close within a year",
        range_note="half-lives of PPP/real-rate deviations 1-5 years (Rogoff 1996): 0.15-0.7 a year",
    )
    max_capital_multiple: float = param(
        3.0,
        lo=1.5,
        hi=20.0,
        doc="equity above this multiple of initial capital is paid out to investors (capacity)",
        range_note="capacity: funds return capital above 1.5-20x their initial size",
    )
    trend_share: float = param(
        0.15,
        lo=0.0,
        hi=0.5,
        doc="share of funds that are trend followers",
        range_note="CTAs ~10-30% of hedge-fund FX positioning (BIS 2022 Triennial, CFTC TFF)",
    )
    trend_weight: float = param(
        0.5,
        lo=0.0,
        hi=3.0,
        doc="weight on the annualised USD/JPY trend in a trend follower's expected return",
        range_note="model coefficient: 0 to 6 times the default (assumption)",
    )
    trend_halflife_days: float = param(
        20.0,
        unit="days",
        lo=5.0,
        hi=250.0,
        range_note="time-series momentum lookbacks 1-12 months (Moskowitz, Ooi & Pedersen 2012)",
    )
    trend_vol_target_pa: float = param(
        0.10,
        unit="per annum",
        lo=0.05,
        hi=0.2,
        doc="trend followers' volatility target (caps leverage at σ_target/σ)",
        range_note="CTA volatility targets 10-15% (Moskowitz et al. 2012)",
    )
    realized_vol_weight: float = param(
        0.5, lo=0.0, hi=1.0, doc="weight of realised (EWMA) vs implied (risk-index) volatility in funds' risk"
    )
    risk_feedback: bool = param(
        True,
        doc="funds' risk estimate follows realised and implied volatility (False: it stays at σ_ref, so volatility "
        "no longer moves target leverage: the VaR channel is off)",
    )
    vol_floor_pa: float = param(
        0.08,
        unit="per annum",
        lo=0.03,
        hi=0.15,
        doc="floor under funds' volatility estimate (a stressed-VaR floor: calm markets do not lower it further)",
        source="Basel 2.5 stressed VaR (2009); USD/JPY realised vol averaged ~9-10% a year 1990-2023",
        range_note="stressed-VaR floors: USD/JPY realised vol 3-15% a year",
    )
    ewma_lambda: float = param(
        0.94,
        lo=0.8,
        hi=0.99,
        hi_open=True,
        source="RiskMetrics (1996): λ = 0.94 for daily data",
        range_note="RiskMetrics 0.94 daily; 0.97 monthly",
    )

    def _check(self) -> None:
        pass


class HedgeFundState(NamedTuple):
    """Struct of arrays, one row per fund; rows never move (``alive`` masks failed funds)."""

    ust_units: np.ndarray  # UST index units held
    loan_jpy_tn: np.ndarray  # yen loan
    cash_usd_bn: np.ndarray  # USD cash
    equity_book_usd_bn: np.ndarray  # equity by accumulated P&L (accounting check)
    initial_capital_usd_bn: np.ndarray
    perf_ema: np.ndarray  # r̃, daily
    alive: np.ndarray  # bool
    liquidating: np.ndarray  # bool: failed yesterday, liquidated at today's clearing
    reentry_day: np.ndarray  # int64
    # parameters, fixed for the run
    risk_aversion: np.ndarray
    leverage_cap: np.ndarray
    funding_spread_pa: np.ndarray
    trend_weight: np.ndarray  # 0 for carry funds
    value_weight: np.ndarray  # 0 for trend followers
    vol_target_pa: np.ndarray  # 0 = none
    # today's decisions (written by ``decide``)
    target_leverage: np.ndarray
    init_leverage: np.ndarray
    maint_leverage: np.ndarray
    speed: np.ndarray
    position_new_usd_bn: np.ndarray  # X after clearing
    margin_called: np.ndarray  # bool, today


class Observation(NamedTuple):
    """What funds see before trading (rates per annum): yesterday's close, trend, valuation, risk."""

    carry_pa: float
    trend_pa: float
    misvaluation: float
    var_pa: float
    vol_ratio: float


class DecisionRules(NamedTuple):
    margin_vol_elasticity: float  # ψ
    maintenance_ratio: float  # θ
    adjustment_speed: float  # κ


class FundTraits(NamedTuple):
    """One fund's fixed characteristics."""

    risk_aversion: float
    leverage_cap: float
    spread_pa: float
    trend_weight: float
    value_weight: float
    vol_target_pa: float


class FundOrder(NamedTuple):
    """One fund's decision for the day: target leverage, margin limits, adjustment speed."""

    target: float
    lam_init: float
    lam_maint: float
    speed: float


class TradeTerms(NamedTuple):
    """Trial prices and the rules every fund trades under at them."""

    price: float  # UST index price
    k: float  # 1000 / S
    duration: float
    band: float  # margin-call band ε
    forced_sales: bool


class FundAccount(NamedTuple):
    """One fund's books before the day's settlement."""

    units: float
    loan: float
    cash: float
    book: float
    capital0: float
    perf: float
    liquidating: bool
    spread: float


class SettlePrices(NamedTuple):
    """Today's and yesterday's prices and rates at settlement."""

    price: float
    k: float
    price_prev: float
    k_prev: float
    y_us: float
    r_jp: float


class SettleRules(NamedTuple):
    flows_on: bool
    b: float  # flow sensitivity
    a: float  # EMA weight of daily returns
    r_b_daily: float  # benchmark return per day
    floor: float  # failure floor (share of initial capital)
    cap_multiple: float  # capacity: equity above this multiple of initial capital is paid out
    reentry_delay: int


def init_hedge_funds(
    cfg: HedgeFundConfig, rng: np.random.Generator, *, usdjpy: float, ust_price: float, **observations: float
) -> HedgeFundState:
    """Draw the heterogeneous population and its initial balance sheets.

    ``observations`` are the fields of :class:`Observation` at the initial market state: each
    fund starts at ``initial_leverage_fraction`` times its own target leverage there.
    """
    n = cfg.n_funds
    # Draw order is fixed: adding a draw at the end never changes earlier ones.
    lev_u = rng.beta(cfg.leverage_beta_a, cfg.leverage_beta_b, n)
    gamma_z = rng.standard_normal(n)
    size_z = rng.standard_normal(n)
    spread_z = rng.standard_normal(n)
    trend_u = rng.random(n)

    leverage_cap = 1.0 + (cfg.max_leverage - 1.0) * lev_u
    risk_aversion = cfg.risk_aversion_median * np.exp(cfg.risk_aversion_dispersion * gamma_z)
    spread = np.maximum(cfg.funding_spread_pa + cfg.funding_spread_dispersion_pa * spread_z, 0.0)
    is_trend = trend_u < cfg.trend_share
    trend_weight = np.where(is_trend, cfg.trend_weight, 0.0)
    vol_target = np.where(is_trend, cfg.trend_vol_target_pa, 0.0)

    weights = np.exp(cfg.size_dispersion * size_z)
    value_weight = np.where(is_trend, 0.0, cfg.value_weight_pa)
    zeros = np.zeros(n)
    state = HedgeFundState(
        ust_units=zeros.copy(),
        loan_jpy_tn=zeros.copy(),
        cash_usd_bn=zeros.copy(),
        equity_book_usd_bn=zeros.copy(),
        initial_capital_usd_bn=zeros.copy(),
        perf_ema=zeros.copy(),
        alive=np.ones(n, dtype=np.bool_),
        liquidating=np.zeros(n, dtype=np.bool_),
        reentry_day=np.full(n, -1, dtype=np.int64),
        risk_aversion=risk_aversion,
        leverage_cap=leverage_cap,
        funding_spread_pa=spread,
        trend_weight=trend_weight,
        value_weight=value_weight,
        vol_target_pa=vol_target,
        target_leverage=zeros.copy(),
        init_leverage=zeros.copy(),
        maint_leverage=zeros.copy(),
        speed=zeros.copy(),
        position_new_usd_bn=zeros.copy(),
        margin_called=np.zeros(n, dtype=np.bool_),
    )
    _decide_kernel(state, Observation(**observations), decision_rules(cfg))
    leverage0 = np.minimum(cfg.initial_leverage_fraction * state.target_leverage, state.init_leverage)
    # Scale capital so that total initial exposure equals the BIS anchor.
    total = float(np.sum(weights * leverage0))
    if cfg.initial_carry_usd_bn == 0.0 or total <= 0.0:
        capital = weights  # no carry at the start: funds hold cash only
        leverage0 = zeros.copy()
    else:
        capital = weights * cfg.initial_carry_usd_bn / total
    exposure = leverage0 * capital
    state.ust_units[:] = exposure / ust_price
    state.loan_jpy_tn[:] = exposure * usdjpy / 1000.0
    state.cash_usd_bn[:] = capital
    state.equity_book_usd_bn[:] = capital
    state.initial_capital_usd_bn[:] = capital
    state.target_leverage[:] = 0.0
    state.init_leverage[:] = leverage_cap
    state.maint_leverage[:] = leverage_cap / cfg.maintenance_ratio
    state.speed[:] = cfg.adjustment_speed
    state.position_new_usd_bn[:] = exposure
    return state


def decision_rules(cfg: HedgeFundConfig) -> DecisionRules:
    return DecisionRules(cfg.margin_vol_elasticity, cfg.maintenance_ratio, cfg.adjustment_speed)


@njit(cache=True)
def fund_decision(traits, liquidating, obs, rules):
    """One fund's decision for today, from yesterday's close (all rates per annum).

    Returns ``(target_leverage, init_leverage, maint_leverage, speed)``.
    """
    if liquidating:
        return 0.0, 0.0, 0.0, 1.0
    base_margin = 1.0 / traits.leverage_cap
    margin = base_margin
    if obs.vol_ratio > 1.0 and rules.margin_vol_elasticity > 0.0:
        margin = base_margin * obs.vol_ratio**rules.margin_vol_elasticity
    if margin > 1.0:
        margin = 1.0  # a fully collateralised position needs no more than 100 % margin
    if base_margin > margin:
        margin = base_margin
    lam = 1.0 / margin
    expected = (
        obs.carry_pa - traits.spread_pa + traits.trend_weight * obs.trend_pa - traits.value_weight * obs.misvaluation
    )
    target = expected / (traits.risk_aversion * obs.var_pa)
    if traits.vol_target_pa > 0.0:
        vol_cap = traits.vol_target_pa / np.sqrt(obs.var_pa)
        if target > vol_cap:
            target = vol_cap
    if target > lam:
        target = lam
    if target < 0.0:
        target = 0.0
    return target, lam, lam / rules.maintenance_ratio, rules.adjustment_speed


@njit(cache=True)
def _decide_kernel(state, obs, rules):
    for i in range(state.risk_aversion.shape[0]):
        if not state.alive[i]:
            state.target_leverage[i] = 0.0
            state.init_leverage[i] = 0.0
            state.maint_leverage[i] = 0.0
            state.speed[i] = 1.0
            continue
        traits = FundTraits(state.risk_aversion[i], state.leverage_cap[i], state.funding_spread_pa[i],
                            state.trend_weight[i], state.value_weight[i], state.vol_target_pa[i])  # fmt: skip
        t, li, lm, sp = fund_decision(traits, state.liquidating[i], obs, rules)
        state.target_leverage[i] = t
        state.init_leverage[i] = li
        state.maint_leverage[i] = lm
        state.speed[i] = sp


def decide(state: HedgeFundState, cfg: HedgeFundConfig, **observations: float) -> None:
    """Write today's target leverage, margin limits and adjustment speed into ``state``."""
    _decide_kernel(state, Observation(**observations), decision_rules(cfg))


@njit(cache=True)
def fund_position(x_old, equity, target, lam_init, lam_maint, speed, band, forced_sales):
    """The position a fund holds after trading at prices that mark it at ``(x_old, equity)``.

    Voluntary partial adjustment ``x_old + κ·(ℓ*·E − x_old)``; above the maintenance leverage
    ``λ_m`` a margin call cuts towards ``λ_i·E``. The share ``f`` of that cut executed today is

    * with forced sales: ``(L − λ_m)/(ε·λ_m)`` capped at 1 — all of it once leverage ``L`` is a
      band ``ε`` above the limit ("at once");
    * without: ``(L − λ_m)/L`` — gradual, but complete as equity runs out (so that demand stays
      continuous where an insolvent fund's lenders close it).

    Continuous and piecewise smooth in ``(x_old, E)``, so aggregate demand is continuous too.

    Returns
    -------
    x_new, dx_dxold, dx_dequity, margin_call
        Position (USD bn), its partial derivatives, and whether a margin call is binding.
    """
    if equity <= 0.0 or lam_init <= 0.0:
        return 0.0, 0.0, 0.0, equity <= 0.0 and x_old > 0.0
    # voluntary partial adjustment towards target·E
    x_new = x_old + speed * (target * equity - x_old)
    dx_dx = 1.0 - speed
    dx_de = speed * target
    called = False
    lev = x_old / equity
    if lev > lam_maint:
        called = True
        gap = x_old - lam_init * equity  # the cut that restores the initial margin
        if forced_sales:
            width = band * lam_maint
            f = (lev - lam_maint) / width
            df_dx = 1.0 / (equity * width)
            df_de = -x_old / (equity * equity * width)
        else:
            f = 1.0 - lam_maint * equity / x_old
            df_dx = lam_maint * equity / (x_old * x_old)
            df_de = -lam_maint / x_old
        if f >= 1.0:
            xf, dxf_dx, dxf_de = lam_init * equity, 0.0, lam_init
        else:
            xf = x_old - f * gap
            dxf_dx = 1.0 - f - gap * df_dx
            dxf_de = f * lam_init - gap * df_de
        if xf < x_new:
            x_new, dx_dx, dx_de = xf, dxf_dx, dxf_de
    if x_new < 0.0:
        return 0.0, 0.0, 0.0, called
    return x_new, dx_dx, dx_de, called


class FundBook(NamedTuple):
    """What the funds' flows read during one day's clearing: their books, today's decisions, outputs."""

    ust_units: np.ndarray
    loan_jpy_tn: np.ndarray
    cash_usd_bn: np.ndarray
    alive: np.ndarray
    target: np.ndarray
    lam_init: np.ndarray
    lam_maint: np.ndarray
    speed: np.ndarray
    duration: float  # UST duration (the bond index price is exp(−D·y))
    band: float  # margin-call band ε
    forced_sales: bool
    out_x: np.ndarray  # new positions at the trial prices (written)
    out_called: np.ndarray  # margin-call flags at the trial prices (written)


@njit(cache=True)
def fund_flows(s, y_us, y_jp, book, z, jac, gross, out):
    """The funds' dollar and UST buying at trial prices (see :mod:`model.sector`)."""
    price_us = math.exp(-book.duration * y_us)
    k = 1000.0 * math.exp(-s)
    add_aggregate(aggregate_demand(book, price_us, k), z, jac, gross, out)


@njit(cache=True)
def add_aggregate(agg, z, jac, gross, out):
    """Add the funds' aggregate (the fields of :class:`FundAggregate`) to the clearing's arrays."""
    usd, usd_ds, usd_dy, ust, ust_ds, ust_dy, gross_usd, gross_ust = agg
    z[FX] += usd
    z[UST] += ust
    jac[FX, FX] += usd_ds
    jac[FX, UST] += usd_dy
    jac[UST, FX] += ust_ds
    jac[UST, UST] += ust_dy
    gross[FX] += gross_usd
    gross[UST] += gross_ust
    out[FX] = usd
    out[UST] = ust
    out[2] = 0.0


class FundAggregate(NamedTuple):
    """Hedge funds' net demand at trial prices and its derivatives in ``(s = ln S, y_us)``."""

    usd_bn: float  # net USD bought
    dusd_ds: float
    dusd_dy: float
    ust_units: float  # net UST units bought
    dust_ds: float
    dust_dy: float
    gross_usd_bn: float  # Σ|USD bought| over funds
    gross_ust_units: float


@njit(cache=True)
def fund_trade(units, loan, cash, order, terms):
    """One fund marked at trial prices (``terms``: UST index price, ``k = 1000/S``, rules).

    A solvent fund resets its yen loan to its new position, so it buys ``q = x − loan·k``
    dollars. An insolvent one (equity ≤ 0) sells every dollar it has to buy back yen; the rest
    of its loan is a default, so its yen buying is bounded by its dollar assets.

    Returns ``(x_new, called, q, dq_ds, dq_dy, dx_ds, dx_dy)``: the new position, whether a
    margin call binds, USD bought and derivatives in ``s = ln S`` and ``y_us``.
    """
    duration = terms.duration
    x_old = units * terms.price
    debt = loan * terms.k
    equity = x_old + cash - debt
    if equity <= 0.0:
        assets = x_old + cash
        if assets <= 0.0:
            return 0.0, x_old > 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        return 0.0, x_old > 0.0, -assets, 0.0, duration * x_old, 0.0, 0.0
    x, dx_dxo, dx_de, called = fund_position(
        x_old, equity, order.target, order.lam_init, order.lam_maint, order.speed, terms.band, terms.forced_sales
    )
    # chain rule: d(x_old)/dy = dE/dy = -D·x_old ; dE/ds = debt (k = 1000·e^-s)
    dx_ds = dx_de * debt
    dx_dy = -duration * x_old * (dx_dxo + dx_de)
    return x, called, x - debt, dx_ds + debt, dx_dy, dx_ds, dx_dy


@njit(cache=True)
def aggregate_demand(book, price, k):
    """Sum the funds' trades at trial prices; writes each new position into ``book.out_x``.

    Returns the fields of :class:`FundAggregate`. Sequential loop (no ``prange``): the sum
    order is fixed, so results are bit-reproducible.
    """
    terms = TradeTerms(price, k, book.duration, book.band, book.forced_sales)
    usd = 0.0
    dusd_ds = 0.0
    dusd_dy = 0.0
    dx_ds_sum = 0.0
    dx_dy_sum = 0.0
    x_sum = 0.0
    units_old = 0.0
    gross_usd = 0.0
    gross_units = 0.0
    inv_p = 1.0 / price
    for i in range(book.ust_units.shape[0]):
        if not book.alive[i]:
            book.out_x[i] = 0.0
            book.out_called[i] = False
            continue
        order = FundOrder(book.target[i], book.lam_init[i], book.lam_maint[i], book.speed[i])
        x, called, q, dq_ds, dq_dy, dx_ds, dx_dy = fund_trade(
            book.ust_units[i], book.loan_jpy_tn[i], book.cash_usd_bn[i], order, terms
        )
        book.out_x[i] = x
        book.out_called[i] = called
        usd += q
        dusd_ds += dq_ds
        dusd_dy += dq_dy
        x_sum += x
        dx_ds_sum += dx_ds
        dx_dy_sum += dx_dy
        units_old += book.ust_units[i]
        gross_usd += abs(q)
        gross_units += abs(x * inv_p - book.ust_units[i])
    sums = (usd, dusd_ds, dusd_dy, x_sum, dx_ds_sum, dx_dy_sum, units_old, gross_usd, gross_units)
    return finish_aggregate(sums, inv_p, duration=book.duration)


@njit(cache=True)
def finish_aggregate(sums, inv_p, duration):
    """:class:`FundAggregate` from the funds' sums ``(usd, dusd_ds, dusd_dy, Σx, Σdx_ds, Σdx_dy,
    Σunits_old, gross_usd, gross_units)`` at the UST price ``1/inv_p``."""
    usd, dusd_ds, dusd_dy, x_sum, dx_ds_sum, dx_dy_sum, units_old, gross_usd, gross_units = sums
    units = x_sum * inv_p - units_old
    # P = exp(-D·y): d(1/P)/dy = D/P
    dunits_dy = (dx_dy_sum + duration * x_sum) * inv_p
    dunits_ds = dx_ds_sum * inv_p
    return usd, dusd_ds, dusd_dy, units, dunits_ds, dunits_dy, gross_usd, gross_units


class SettleTotals(NamedTuple):
    coupons_usd_bn: float
    interest_jpy_tn: float
    investor_flows_usd_bn: float  # net inflow (+) from outside investors, incl. re-entry capital
    payouts_usd_bn: float  # equity returned to investors on liquidation
    defaults_jpy_tn: float  # yen loans written off by lenders (insolvent funds)
    failures: int
    reentries: int
    margin_calls: int


@njit(cache=True)
def fund_settle(acct, x, prices, rules):
    """Book one live fund's day: trade to ``x``, accrue carry, take investor flows.

    A fund whose equity at today's prices is not positive sold all its dollars at the clearing;
    what it still owes in yen is written off by the lenders (``default_jpy``) and it closes.

    Returns ``(units, loan, cash, book, perf, coupon, interest_jpy, flow, payout, default_jpy,
    closed, failed)``.
    """
    units, loan, cash, book, perf = acct.units, acct.loan, acct.cash, acct.book, acct.perf
    price, k = prices.price, prices.k
    if units * price + cash - loan * k <= 0.0:
        assets = units * price + cash
        if assets < 0.0:
            assets = 0.0
        return 0.0, 0.0, 0.0, 0.0, perf, 0.0, 0.0, 0.0, 0.0, loan - assets / k, True, True
    reval = units * (price - prices.price_prev) - loan * (k - prices.k_prev)
    # trade at today's prices: position x in UST, a loan worth x, the rest in USD cash
    cash = cash + units * price - loan * k
    units = x / price
    loan = x / k
    coupon = x * prices.y_us / TRADING_DAYS
    int_jpy = loan * (prices.r_jp + acct.spread) / TRADING_DAYS
    cash += coupon
    loan += int_jpy
    new_book = book + reval + coupon - int_jpy * k
    ret = (new_book - book) / book if book > 0.0 else 0.0
    perf = (1.0 - rules.a) * perf + rules.a * ret
    flow = 0.0
    if rules.flows_on and new_book > 0.0 and not acct.liquidating:
        flow = rules.b * (perf - rules.r_b_daily) * new_book
        if flow < -new_book:
            flow = -new_book
    if new_book + flow > rules.cap_multiple * acct.capital0:
        flow = rules.cap_multiple * acct.capital0 - new_book  # capacity: the excess is paid out
    cash += flow
    new_book += flow
    if acct.liquidating:
        # the position was closed at today's clearing: pay out what is left and leave
        return 0.0, 0.0, 0.0, 0.0, perf, coupon, int_jpy, flow, cash - loan * k, 0.0, True, False
    failed = new_book < rules.floor * acct.capital0
    return units, loan, cash, new_book, perf, coupon, int_jpy, flow, 0.0, 0.0, False, failed


@njit(cache=True)
def _settle_kernel(state, prices, rules, day):
    coupons = 0.0
    interest = 0.0
    flows = 0.0
    payouts = 0.0
    defaults = 0.0
    failures = 0
    reentries = 0
    calls = 0
    for i in range(state.ust_units.shape[0]):
        if not state.alive[i]:
            if state.reentry_day[i] >= 0 and day >= state.reentry_day[i]:
                # a new fund takes the slot with fresh capital
                state.alive[i] = True
                state.reentry_day[i] = -1
                state.cash_usd_bn[i] = state.initial_capital_usd_bn[i]
                state.equity_book_usd_bn[i] = state.initial_capital_usd_bn[i]
                state.perf_ema[i] = 0.0
                flows += state.initial_capital_usd_bn[i]
                reentries += 1
            continue
        if state.margin_called[i]:
            calls += 1
        acct = FundAccount(state.ust_units[i], state.loan_jpy_tn[i], state.cash_usd_bn[i], state.equity_book_usd_bn[i],
                           state.initial_capital_usd_bn[i], state.perf_ema[i], state.liquidating[i],
                           state.funding_spread_pa[i])  # fmt: skip
        (
            state.ust_units[i],
            state.loan_jpy_tn[i],
            state.cash_usd_bn[i],
            state.equity_book_usd_bn[i],
            state.perf_ema[i],
            coupon,
            int_jpy,
            flow,
            payout,
            default,
            closed,
            failed,
        ) = fund_settle(acct, state.position_new_usd_bn[i], prices, rules)
        coupons += coupon
        interest += int_jpy
        flows += flow
        payouts += payout
        defaults += default
        if closed:
            if failed:
                failures += 1
            state.alive[i] = False
            state.liquidating[i] = False
            state.reentry_day[i] = day + rules.reentry_delay
        elif failed:
            state.liquidating[i] = True
            failures += 1
    return coupons, interest, flows, payouts, defaults, failures, reentries, calls


def settle_rules(cfg: HedgeFundConfig) -> SettleRules:
    return SettleRules(cfg.investor_flows, cfg.flow_sensitivity, cfg.flow_memory, cfg.flow_benchmark_pa / TRADING_DAYS,
                       cfg.failure_floor, cfg.max_capital_multiple, cfg.reentry_delay_days)  # fmt: skip


def settle(
    state: HedgeFundState,
    cfg: HedgeFundConfig,
    *,
    price: float,
    usdjpy: float,
    price_prev: float,
    usdjpy_prev: float,
    y_us: float,
    r_jp: float,
    day: int,
) -> SettleTotals:
    """Book today's trades, carry accrual, investor flows, failures and re-entries."""
    prices = SettlePrices(price, 1000.0 / usdjpy, price_prev, 1000.0 / usdjpy_prev, y_us, r_jp)
    return SettleTotals(*_settle_kernel(state, prices, settle_rules(cfg), day))


def equity_marked(state: HedgeFundState, price: float, usdjpy: float) -> np.ndarray:
    """Assets minus liabilities at the given prices, USD bn per fund."""
    return state.ust_units * price + state.cash_usd_bn - state.loan_jpy_tn * 1000.0 / usdjpy


class HedgeFundView(mesa.Agent):
    """A read-only Mesa view of one fund's row in the sector arrays."""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def _s(self) -> HedgeFundState:
        return self.model.sectors["hedge_funds"].state

    @property
    def alive(self) -> bool:
        return bool(self._s.alive[self.row])

    @property
    def exposure_usd_bn(self) -> float:
        return float(self._s.ust_units[self.row] * self.model.market.ust_price)

    @property
    def equity_usd_bn(self) -> float:
        m = self.model.market
        return float(equity_marked(self._s, m.ust_price, m.usdjpy)[self.row])

    @property
    def leverage(self) -> float:
        e = self.equity_usd_bn
        return self.exposure_usd_bn / e if e > 0 else float("inf") if self.exposure_usd_bn > 0 else 0.0

    @property
    def leverage_cap(self) -> float:
        return float(self._s.leverage_cap[self.row])

    @property
    def is_trend_follower(self) -> bool:
        return bool(self._s.trend_weight[self.row] > 0)

    @property
    def margin_called(self) -> bool:
        return bool(self._s.margin_called[self.row])

    def step(self) -> None:  # the sector is stepped in arrays by the model
        return None


class HedgeFunds(Sector):
    """The hedge funds' sector block (struct of arrays, one row per fund).

    With the model's ``engine = "mesa"``, the model sets :attr:`engine` to the reference engine
    (:mod:`model.reference`): one Python ``mesa.Agent`` per fund makes the decisions, demand and
    settlement with the same rule functions, and the arrays mirror the agents after each day.
    Reads ``fundamental_log_usdjpy`` (real money) from ``model.signals``.
    """

    name = "hedge_funds"
    section = "hedge_funds"
    flows = fund_flows
    ledger_rows = ("hedge_funds", "yen_lenders", "fund_investors")
    columns = ("hf_gross_usd_bn", "hf_equity_usd_bn", "hf_leverage", "hf_margin_calls", "hf_failures", "hf_alive",
               "hf_investor_flows_usd_bn")  # fmt: skip

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state: HedgeFundState | None = None
        self.engine = None  # the Mesa reference engine, when model.engine == "mesa"
        self.totals: SettleTotals | None = None

    # -- what funds observe before trading --------------------------------------------------------
    def variance_pa(self, model) -> float:
        """Funds' variance estimate: realised and implied, above a stressed-VaR floor."""
        mk, h = model.market, self.config
        if not h.risk_feedback:
            return h.margin_reference_vol_pa**2
        implied = model.config.market.fx_vol_per_risk_point * mk.risk_index
        blend = h.realized_vol_weight * mk.ewma_var_daily * TRADING_DAYS + (1 - h.realized_vol_weight) * implied**2
        return max(blend, h.vol_floor_pa**2)

    def observe(self, model) -> dict[str, float]:
        """Yesterday's close as funds see it: carry, trend, valuation and risk."""
        mk = model.market
        var_pa = self.variance_pa(model)
        return dict(
            carry_pa=mk.ust10y_yield - mk.boj_rate,
            trend_pa=mk.trend_daily * TRADING_DAYS,
            misvaluation=mk.log_usdjpy - model.signals["fundamental_log_usdjpy"],
            var_pa=var_pa,
            vol_ratio=math.sqrt(var_pa) / self.config.margin_reference_vol_pa,
        )

    def start(self, model) -> None:
        mk = model.market
        self.state = init_hedge_funds(
            self.config, model.streams["hedge_funds.init"], usdjpy=mk.usdjpy, ust_price=mk.ust_price,
            **self.observe(model),
        )  # fmt: skip
        if model.engine != "mesa":  # the Mesa engine's agents are views of their own
            for row in range(min(self.config.n_funds, model.config.simulation.max_agent_views)):
                HedgeFundView(model, row)

    def open_books(self, ledger) -> None:
        f = self.state
        ledger.set("yen_lenders", "yen_loans_jpy_tn", float(f.loan_jpy_tn.sum()))
        # the yen the funds borrowed was sold for the dollars they hold
        ledger.set("yen_lenders", "jpy_tn", -float(f.loan_jpy_tn.sum()))
        ledger.set("fund_investors", "usd_bn", -float(f.cash_usd_bn.sum()))
        self.sync_ledger(ledger)

    def sync_ledger(self, ledger) -> None:
        """The hedge-fund row, recomputed from the funds' own arrays (not booked from flows)."""
        f = self.state
        ledger.set(self.name, "usd_bn", float(f.cash_usd_bn.sum()))
        ledger.set(self.name, "ust_units", float(f.ust_units.sum()))
        ledger.set(self.name, "yen_loans_jpy_tn", -float(f.loan_jpy_tn.sum()))

    # -- the day ----------------------------------------------------------------------------------
    def decide(self, model) -> None:
        obs = self.observe(model)
        if self.engine is None:
            decide(self.state, self.config, **obs)
        else:
            self.engine.decide(**obs)

    def clearing_inputs(self, model) -> FundBook:
        f, cfg = self.state, self.config
        return FundBook(
            f.ust_units, f.loan_jpy_tn, f.cash_usd_bn, f.alive, f.target_leverage, f.init_leverage, f.maint_leverage,
            f.speed, model.config.market.ust_duration, cfg.margin_call_band, cfg.forced_sales, f.position_new_usd_bn,
            f.margin_called,
        )  # fmt: skip

    def settle(self, model, day) -> None:
        f, led = self.state, model.ledger
        loans_before = float(f.loan_jpy_tn.sum())
        units_before = float(f.ust_units.sum())
        kw = dict(price=day.ust_price, usdjpy=day.usdjpy, price_prev=day.ust_price_prev, usdjpy_prev=day.usdjpy_prev,
                  y_us=day.ust10y_yield, r_jp=model.market.boj_rate)  # fmt: skip
        if self.engine is None:
            totals = settle(f, self.config, day=model.day, **kw)
        else:
            totals = self.engine.settle(**kw)
        # cash lent (+) or repaid (−): the change in loans less interest, plus what was written off
        new_loans = float(f.loan_jpy_tn.sum()) - loans_before - totals.interest_jpy_tn + totals.defaults_jpy_tn
        led.book("yen_lenders", "yen_loans_jpy_tn", new_loans + totals.interest_jpy_tn - totals.defaults_jpy_tn)
        led.book("yen_lenders", "jpy_tn", -new_loans)
        led.book("us_treasury", "usd_bn", -totals.coupons_usd_bn)
        led.book("fund_investors", "usd_bn", -totals.investor_flows_usd_bn + totals.payouts_usd_bn)
        self.sync_ledger(led)
        self.totals = totals
        day.executed[self.name] = (0.0, float(f.ust_units.sum()) - units_before, 0.0)

    # -- accounts ---------------------------------------------------------------------------------
    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {self.name: self.holdings()}

    def holdings(self) -> dict[str, float]:
        f = self.state
        return {"usd_bn": float(f.cash_usd_bn.sum()), "ust_units": float(f.ust_units.sum()),
                "yen_loans_jpy_tn": -float(f.loan_jpy_tn.sum())}  # fmt: skip

    def equity_gaps(self, model) -> np.ndarray:
        """Per fund: |equity by accumulated P&L − (assets − liabilities)| and its tolerance scale."""
        f = self.state
        S, p_us, _ = model.prices()
        marked = equity_marked(f, p_us, S)
        return np.abs(marked - f.equity_book_usd_bn)

    def equity_gap(self, model) -> float:
        gaps = self.equity_gaps(model)
        return float(gaps.max()) if gaps.size else 0.0

    def record(self, model) -> dict[str, float]:
        f, t, mk = self.state, self.totals, model.market
        gross = float(f.ust_units.sum()) * mk.ust_price
        equity = float(f.equity_book_usd_bn[f.alive].sum())
        return {
            "hf_gross_usd_bn": gross,
            "hf_equity_usd_bn": equity,
            "hf_leverage": gross / equity if equity > 0 else 0.0,
            "hf_margin_calls": t.margin_calls if t else 0,
            "hf_failures": t.failures if t else 0,
            "hf_alive": int(f.alive.sum()),
            "hf_investor_flows_usd_bn": t.investor_flows_usd_bn if t else 0.0,
        }
