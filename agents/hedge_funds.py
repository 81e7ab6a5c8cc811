"""Leveraged carry-trade hedge funds: long dollars against yen through FX forwards, on margin.

Each fund's margin account holds USD cash ``C`` (earning the US short rate; negative = repo
borrowing at the US short rate plus the fund's spread) and, for the funds with a duration leg,
``U`` UST 10y index units bought on repo. Its carry position is a long-USD/short-JPY forward of
notional ``X`` (USD bn), marked to market every day in dollars (variation margin
``X·(1 − S_prev/S)``) and rolled at the forward points, so it accrues ``X·(r_us − r_jp − b)/250``
a day, ``b`` being the cross-currency basis (negative = dollars dear through swaps). Equity is
``E = C + U·P``: the forward has no value after each day's margin is settled.

Decision rules (per fund ``i``, rates per annum, all from yesterday's close):

* expected carry over the fund's horizon ``h`` (about the 3-month tenor it rolls): the market's
  expected policy paths, ``r̄_us(h) − r̄_jp(h) − b``, so a repricing of Fed cuts or BoJ hikes reaches
  funds before any rate moves; plus ``w_i·trend`` (trend followers) minus ``v_i·misvaluation``;
* target leverage of each leg, mean-variance: ``ℓ_x = μ_x/(γ_i σ_x²)``, and for the funds with a
  duration leg ``ℓ_u = (μ_u − s_i)/(γ_i σ_u²)`` with ``μ_u`` the UST's expected excess return over
  the US short rate (the 10y yield minus its expected path, plus the expected capital gain as the
  expected path rolls down) and ``s_i`` the fund's repo spread over that rate, what the leg's
  financing costs it on top; the legs share one margin account, so both are scaled down together when
  their initial margins ``m_x·ℓ_x + m_u·ℓ_u`` would exceed the equity;
* margins tighten with volatility, VaR-style (Brunnermeier & Pedersen 2009, Aymanns & Farmer
  2015): ``m = m₀·max(1, (σ/σ_ref)^ψ)``, capped at 100 %;
* voluntary partial adjustment at speed ``κ`` towards the targets;
* a margin call when the margin requirement of the positions held exceeds ``1/θ`` of equity:
  both legs are cut back together until the initial margin is met (continuously phased in over a
  band ``ε`` so that aggregate demand is continuous in prices and the market can clear exactly);
* below ``floor·W0`` a fund fails and is liquidated on the next day; a new fund enters after
  a delay (Thurner, Farmer & Geanakoplos 2012: floor 10 %, 100 steps); a fund whose equity is not
  positive at the day's prices is closed at once and its prime brokers (the dealers) bear the rest;
* investors add or withdraw capital after performance, ``flow = b·(r̃ − r_b)·E`` with ``b =
  0.15`` (TFG 2012) and ``r̃`` an exponential moving average of daily returns.

Capital and margin rules are inputs; positions are outcomes: each fund starts at the steady
state of its own rule at the initial market state (what a warm-up under those conditions
converges to), times a positioning parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from numba import njit

from agents.provenance import JOINT_REFIT
from model import detmath
from model.compose import FlatKernel
from model.sector import AUX_FORCED, FWD, FX, TRADING_DAYS, UST, Sector, Validated, param
from model.sums import MAGNITUDE, NEGATIVE, POSITIVE, ROW_BLOCK, pairwise_sum, pairwise_sum_of

__all__ = [
    "HedgeFunds",
    "FundBook",
    "fund_flows",
    "HedgeFundConfig",
    "HedgeFundState",
    "HedgeFundView",
    "SettleTotals",
    "trend_followers",
    "init_hedge_funds",
    "decide",
    "fund_decision",
    "fund_trade",
    "fund_settle",
    "aggregate_demand",
    "settle",
]


@dataclass(frozen=True)
class HedgeFundConfig(Validated):
    n_funds: int = param(200, unit="funds", lo=1, hi=10_000_000, doc="number of carry funds")
    capital_usd_bn: float = param(
        35.0,
        unit="USD bn",
        lo=0.0,
        hi=1000.0,
        doc="total equity of the carry funds at the start (their positions follow from it and their rules)",
        source="HFR Global Hedge Fund Industry Report (2Q 2024): macro strategies manage ~$0.7 tn; the capital "
        "behind yen carry is taken as 5% of it (an assumption; the resulting carry stock is checked against the "
        "~$250 bn of BIS Bulletin 90, not set to it)",
        range_note="1-20% of macro hedge-fund capital ($7-140 bn), up to ~$1 tn for broad definitions",
    )
    initial_leverage_fraction: float = param(
        1.0,
        lo=0.2,
        hi=1.5,
        doc="positioning: initial positions as a multiple of each fund's own target at the initial market state "
        "(1: the steady state of the funds' rules there, what a warm-up under those conditions converges to; "
        "< 1: the book is still building; > 1: crowded, above what funds want to hold, within their margin caps)",
        source="assumption, not estimated: funds start at the steady state of their own rules at the initial market "
        "state, what a warm-up under those conditions converges to (docs/model/index.md: an assumption, not an "
        "observation); the August 2024 scenarios keep 1 as fully positioned (CFTC: leveraged-fund yen shorts at a "
        "17-year high, Jul 2024; model/scenarios/boj_hike_2024.toml) (1: every fund at its own target)",
        range_note="positioning assumption: from a fifth to 1.5 times funds' own targets",
    )
    carry_horizon_years: float = param(
        0.25,
        unit="years",
        lo=1.0 / TRADING_DAYS,
        hi=2.0,
        doc="h: the horizon over which funds average the expected short-rate paths (the forward tenor they roll)",
        source="3-month FX forwards/swaps are the benchmark tenor (BIS Triennial Survey 2022: most FX swaps "
        "mature within 3 months)",
        range_note="one day to two years",
    )
    duration_leg_share: float = param(
        0.25,
        lo=0.0,
        hi=1.0,
        doc="share of funds that also hold a duration leg (UST 10y on repo) in the same margin account",
        source="BIS Quarterly Review (Sep 2024): the hedge-fund yen carry mostly funds short-dated dollar assets; "
        "a minority of macro funds add duration (assumption: a quarter)",
        range_note="0 (pure FX carry) to 1 (every fund)",
    )
    ust_haircut: float = param(
        0.03,
        lo=0.005,
        hi=0.3,
        doc="initial margin (repo haircut) on the duration leg in calm markets; scales with volatility like FX margins",
        source="FICC sponsored repo and tri-party haircuts on 10y Treasuries ~2-5% (Federal Reserve Bank of NY, "
        "Tri-party repo statistics 2023)",
        range_note="haircuts 0.5-30% across venues and stress episodes",
    )
    ust_vol_floor_pa: float = param(
        0.06,
        unit="per annum",
        lo=0.01,
        hi=0.2,
        doc="floor under funds' estimate of the UST 10y index's return volatility",
        source="10y UST price volatility ~6-9% a year in 2022-24 (MOVE index ~100 bp × duration ~8.5)",
        range_note="1-20% a year",
    )
    max_leverage: float = param(
        5.563,
        unit="x equity",
        lo=1.0,
        hi=50.0,
        doc="upper end of the FX leverage caps (1/initial margin on forwards in calm markets); 1 = unleveraged",
        source=JOINT_REFIT + ", searched over 2-33; FX margins for majors 3-10% (CFTC/NFA retail 2%, prime brokers "
        "5-10%) give caps of 10-33, while the fit's caps, drawn from Beta(leverage_beta_a, leverage_beta_b) on [1, "
        "max_leverage], put calm margins at 20-62% (5th-95th percentile, median 30%): far above the quoted range, "
        "a fund's or its prime broker's risk limit rather than the margin itself; TFG 2012 use λmax = 5-20 (the "
        "third refit, 5.913, put them at 19-60%; the second, 8.124, at 14-51%)",
        range_note="FX margins 2-10% (CFTC/NFA, prime brokers): caps up to 50x; 1 = unleveraged",
    )
    leverage_beta_a: float = param(
        2.0,
        lo=0.1,
        hi=20.0,
        doc="Beta(a, b) shape of caps between 1 and max_leverage",
        source="assumption: Beta(2, 2), a symmetric hump between 1 and max_leverage (funds' own caps are not "
        "published fund by fund)",
    )
    leverage_beta_b: float = param(
        2.0,
        lo=0.1,
        hi=20.0,
        doc="Beta(a, b) shape of caps between 1 and max_leverage",
        source="assumption: Beta(2, 2), as leverage_beta_a",
    )
    risk_aversion_median: float = param(
        0.8416,
        lo=0.5,
        hi=10.0,
        doc="median relative risk aversion γ (lognormal across funds)",
        source=JOINT_REFIT + " (the third refit: 0.8791; the second: 0.9167)",
        range_note="relative risk aversion estimates ~1-10 (Mehra & Prescott 1985; Bliss & Panigirtzoglou 2004)",
    )
    risk_aversion_dispersion: float = param(
        0.5,
        lo=0.0,
        hi=3.0,
        doc="sd of log γ across funds",
        source="assumption: one sd is a factor of about 1.6 either side of the median (not observed)",
    )
    size_dispersion: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="sd of log initial capital across funds",
        source="funds' sizes are close to log-normal (Schwarzkopf & Farmer 2010, for mutual funds); the sd of one "
        "log unit is an assumption",
    )
    funding_spread_pa: float = param(
        0.005,
        unit="per annum",
        lo=0.0,
        hi=0.03,
        doc="spread over the US short rate on repo borrowing (the duration leg)",
        source="assumption, not estimated: near the low end of prime-broker financing spreads of 0-300 bp over the "
        "policy rate (range note), as the duration leg's repo is secured by the Treasuries it finances (50 bp a year "
        "over the US short rate)",
        range_note="prime-broker financing spreads over the policy rate 0-300 bp",
    )
    funding_spread_dispersion_pa: float = param(
        0.002,
        unit="per annum",
        lo=0.0,
        hi=0.01,
        doc="sd across funds of the repo funding spread around funding_spread_pa (floored at 0)",
        source="assumption, not estimated: a spread across funds small beside the mean, so that the floor at 0 binds "
        "only 2.5 sd below it, for ~0.6% of funds (an sd of 20 bp around the mean of 50 bp)",
        range_note="assumption: up to 100 bp across funds",
    )
    adjustment_speed: float = param(
        0.05,
        unit="per day",
        lo=0.0,
        hi=1.0,
        lo_open=True,
        doc="partial adjustment κ towards the target position",
        source="assumption: a fund closes 5% of the gap a day (half of it in about 14 trading days), so building "
        "or cutting a position voluntarily takes weeks; margin calls act at once",
    )
    maintenance_ratio: float = param(
        0.75,
        lo=0.5,
        hi=1.0,
        hi_open=True,
        doc="maintenance margin / initial margin θ",
        source="assumption, not estimated: a prime broker's FX maintenance below the exchanges' usual ratio (CME "
        "~91%); a margin call comes when equity falls to 75% of the initial margin",
        range_note="exchanges set maintenance at 70-100% of initial margin (CME: ~91%)",
    )
    margin_call_band: float = param(
        0.02,
        lo=0.001,
        hi=0.1,
        doc="width ε (relative to the maintenance leverage) over which a margin call phases in from none to full",
        source="assumption, not estimated: numerical smoothing narrow enough that a margin call binds 'at once' in "
        "practice while demand stays continuous in prices (docs/model/sectors.md) (a call phases in over 2% of the "
        "maintenance leverage)",
        range_note="numerical smoothing of the margin-call kink: 0.1-10% of the limit",
    )
    margin_vol_elasticity: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="ψ: margins scale with (σ/σ_ref)^ψ above σ_ref (0 switches margin tightening off)",
        source="a modelling choice, not estimated: 1 makes margins proportional to volatility, as a value-at-risk rule "
        "gives; of 0, 0.25, 0.5, 1 and 1.5 the baseline calibration's objective was lowest at 1 (a profile at the "
        "previous calibration's point: docs/model/calibration.md, positioning and the replay), while margin data point "
        "lower (range note)",
        range_note="a modelling choice, not yet estimated: 1 = value-at-risk margins proportional to volatility, "
        "0 = fixed margins. Short-run evidence is lower: CME yen futures margins raised 15-25% a step (2011, 2013); "
        "non-centrally cleared initial margin broadly stable in March 2020 (BCBS-CPMI-IOSCO, Review of margining "
        "practices, 2022)",
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
        0.1,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        doc="EMA weight a of daily returns in r̃",
        source="Thurner, Farmer & Geanakoplos (2012): a = 0.1 (their step taken as a trading day)",
    )
    flow_benchmark_pa: float = param(
        0.0,
        unit="per annum",
        lo=-0.05,
        hi=0.1,
        doc="benchmark return r_b",
        source="0: neutral by design: investors add capital after a positive smoothed return and withdraw it after a "
        "negative one",
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
        unit="trading days",
        lo=1,
        hi=1000,
        doc="trading days after a failed fund closes before a new fund with its parameters and initial capital "
        "takes its place",
        source="TFG 2012: 100 steps",
        range_note="TFG 2012: 100 steps; up to four years",
    )
    value_weight_pa: float = param(
        0.3,
        unit="per annum",
        lo=0.0,
        hi=1.0,
        doc="carry funds expect this share of USD/JPY's deviation from fundamental value to close within a year",
        source="assumption, not estimated: a half-life of ln 2/0.3 ≈ 2.3 years, faster than the 3-5 years of "
        "Rogoff's (1996) consensus for real exchange rates (0.14-0.23 a year; the life insurers' 0.15 is inside "
        "it): funds trading a shorter horizon weigh value less patiently",
        range_note="the range's 0-1 a year spans half-lives from 8 months up; Rogoff's (1996) 3-5 years is 0.14-0.23",
    )
    max_capital_multiple: float = param(
        3.0,
        lo=1.5,
        hi=20.0,
        doc="equity above this multiple of initial capital is paid out to investors (capacity)",
        source="assumption, not estimated: a capacity limit well above a fund's starting size (equity above three "
        "times initial capital is paid out to investors)",
        range_note="capacity: funds return capital above 1.5-20x their initial size",
    )
    trend_share: float = param(
        0.15,
        lo=0.0,
        hi=0.5,
        doc="share of funds that are trend followers",
        source="assumption: discretionary and macro funds that also follow trends in the carry funds' own book; "
        "systematic CTAs are the trend followers' sector (agents/cta.py), so this share is not sourced from CTA "
        "statistics. The ~10-30% share of CTAs in hedge-fund FX positioning (BIS 2022 Triennial, CFTC TFF) bounds "
        "trend-following money as a whole, both sectors together",
        range_note="CTAs ~10-30% of hedge-fund FX positioning (BIS 2022 Triennial, CFTC TFF)",
    )
    trend_weight: float = param(
        0.5,
        lo=0.0,
        hi=3.0,
        doc="weight on the annualised USD/JPY trend in a trend follower's expected return",
        source="assumption, not estimated: a trend follower expects half of the recent annualised trend to continue (a "
        "trend of 10% a year adds 5% a year to its expected return)",
        range_note="model coefficient: 0 to 6 times the default (assumption)",
    )
    trend_halflife_days: float = param(
        20.0,
        unit="trading days",
        lo=5.0,
        hi=250.0,
        doc="half-life of the EWMA of daily USD/JPY returns: the trend the funds' trend followers extrapolate",
        source="time-series momentum lookbacks of 1-12 months (Moskowitz, Ooi & Pedersen 2012; range note): a "
        "half-life of 20 trading days, about a month, is their short end; the choice of the short end is an assumption",
        range_note="time-series momentum lookbacks 1-12 months (Moskowitz, Ooi & Pedersen 2012)",
    )
    trend_vol_target_pa: float = param(
        0.10,
        unit="per annum",
        lo=0.05,
        hi=0.2,
        doc="trend followers' volatility target (caps leverage at σ_target/σ)",
        source="CTA volatility targets 10-15% a year (Moskowitz, Ooi & Pedersen 2012; Hurst et al. 2013; as for "
        "cta.vol_target_min_pa): the low end",
        range_note="CTA volatility targets 10-15% (Moskowitz et al. 2012)",
    )
    realized_vol_weight: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        doc="weight of realised (EWMA) vs implied (risk-index) volatility in funds' risk",
        source="assumption: equal weights on the two yardsticks",
    )
    risk_feedback: bool = param(
        True,
        doc="funds' risk estimate follows realised and implied volatility (False: it stays at σ_ref, so volatility "
        "no longer moves target leverage, and margins, which scale with that estimate, no longer tighten either: "
        "both the VaR channel and the margin spiral are off)",
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
        doc="λ: decay of the EWMA variance of daily USD/JPY and UST index returns behind the funds' risk estimate",
        source="RiskMetrics (1996): λ = 0.94 for daily data",
        range_note="RiskMetrics 0.94 daily; 0.97 monthly",
    )

    def _check(self) -> None:
        pass


class HedgeFundState(NamedTuple):
    """Struct of arrays, one row per fund; rows never move (``alive`` masks failed funds)."""

    fwd_usd_bn: np.ndarray  # X: long-USD forward notional
    ust_units: np.ndarray  # U: UST index units (duration leg)
    cash_usd_bn: np.ndarray  # C: margin cash (negative = repo borrowing)
    equity_book_usd_bn: np.ndarray  # equity by accumulated P&L (accounting check)
    initial_capital_usd_bn: np.ndarray
    perf_ema: np.ndarray  # r̃, daily
    alive: np.ndarray  # bool
    liquidating: np.ndarray  # bool: failed yesterday, liquidated at today's clearing
    reentry_day: np.ndarray  # int64
    # parameters, fixed for the run
    risk_aversion: np.ndarray
    leverage_cap: np.ndarray  # 1 / calm-market FX margin
    funding_spread_pa: np.ndarray
    trend_weight: np.ndarray  # 0 for carry funds
    value_weight: np.ndarray  # 0 for trend followers
    vol_target_pa: np.ndarray  # 0 = none
    duration_leg: np.ndarray  # bool: holds a duration leg
    # today's decisions (written by ``decide``)
    target_fx: np.ndarray  # ℓ_x, forward notional per unit of equity
    target_ust: np.ndarray  # ℓ_u, UST value per unit of equity
    margin_fx: np.ndarray  # m_x, initial margin per unit of forward notional
    margin_ust: np.ndarray  # m_u, initial margin per unit of UST value
    maint_usage: np.ndarray  # margin call above this requirement/equity (1/θ; 0 for dead funds)
    speed: np.ndarray
    # outcomes at the last evaluation of the clearing (written by the flows)
    fwd_new_usd_bn: np.ndarray
    ust_new_usd_bn: np.ndarray  # value of the duration leg after trading
    margin_called: np.ndarray  # bool, today
    forced_usd_bn: np.ndarray  # forced forward sales today (margin calls beyond the voluntary cut, liquidations)


class Observation(NamedTuple):
    """What funds see before trading (rates per annum): yesterday's close, expectations, risk."""

    carry_pa: float  # expected r_us − r_jp − b over the horizon
    trend_pa: float
    misvaluation: float
    var_pa: float  # USD/JPY return variance
    vol_ratio: float  # σ / σ_ref: scales margins
    ust_excess_pa: float  # duration leg: expected return over the US short rate's expected path (before the spread)
    ust_var_pa: float


class DecisionRules(NamedTuple):
    margin_vol_elasticity: float  # ψ
    maintenance_ratio: float  # θ
    adjustment_speed: float  # κ
    ust_haircut: float


class FundTraits(NamedTuple):
    """One fund's fixed characteristics."""

    risk_aversion: float
    leverage_cap: float
    trend_weight: float
    value_weight: float
    vol_target_pa: float
    duration_leg: bool
    funding_spread_pa: float  # over the US short rate on the duration leg's repo: a cost in its expected return


class FundOrder(NamedTuple):
    """One fund's decision for the day: target leverages, margins, margin-call limit, speed."""

    target_fx: float
    target_ust: float
    margin_fx: float
    margin_ust: float
    maint_usage: float
    speed: float


class TradeTerms(NamedTuple):
    """Trial prices and the rules every fund trades under at them."""

    ratio: float  # S_prev / S: a long-USD forward's variation margin is X·(1 − ratio)
    price: float  # UST index price
    duration: float
    band: float  # margin-call band ε
    forced_sales: bool


class FundAccount(NamedTuple):
    """One fund's books before the day's settlement."""

    fwd: float
    units: float
    cash: float
    book: float
    capital0: float
    perf: float
    liquidating: bool
    spread: float


class SettlePrices(NamedTuple):
    """Today's and yesterday's prices and today's rates at settlement."""

    ratio: float  # S_prev / S
    price: float
    price_prev: float
    y_us: float
    r_us: float
    forward_carry: float  # (r_us − r_jp − b)/250


class SettleRules(NamedTuple):
    flows_on: bool
    b: float  # flow sensitivity
    a: float  # EMA weight of daily returns
    r_b_daily: float  # benchmark return per day
    floor: float  # failure floor (share of initial capital)
    cap_multiple: float  # capacity: equity above this multiple of initial capital is paid out
    reentry_delay: int


def decision_rules(cfg: HedgeFundConfig) -> DecisionRules:
    return DecisionRules(cfg.margin_vol_elasticity, cfg.maintenance_ratio, cfg.adjustment_speed, cfg.ust_haircut)


@njit(cache=True, inline="always")
def margin_stress(obs, rules):
    """``(σ/σ_ref)^ψ`` when volatility is above σ_ref, else 1: today's factor on every fund's calm-market margins."""
    if obs.vol_ratio > 1.0 and rules.margin_vol_elasticity > 0.0:
        return obs.vol_ratio**rules.margin_vol_elasticity
    return 1.0


@njit(cache=True, inline="always")
def fund_decision(traits, liquidating, obs, rules):
    """One fund's decision for today, from yesterday's close (all rates per annum).

    Returns the fields of :class:`FundOrder`.
    """
    return decision_at_stress(traits, liquidating, obs, rules, margin_stress(obs, rules))


@njit(cache=True, inline="always")
def decision_at_stress(traits, liquidating, obs, rules, stress):
    """:func:`fund_decision` with the margin factor ``stress`` (:func:`margin_stress`) given: a loop over
    funds computes the power once a day instead of once per fund."""
    if liquidating:
        return 0.0, 0.0, 1.0, 1.0, 0.0, 1.0
    m_fx = min(1.0, stress / traits.leverage_cap)  # a fully collateralised position needs no more than 100 %
    m_ust = min(1.0, stress * rules.ust_haircut)
    expected = obs.carry_pa + traits.trend_weight * obs.trend_pa - traits.value_weight * obs.misvaluation
    t_fx = max(expected / (traits.risk_aversion * obs.var_pa), 0.0)
    if traits.vol_target_pa > 0.0:
        t_fx = min(t_fx, traits.vol_target_pa / np.sqrt(obs.var_pa))
    t_ust = 0.0
    if traits.duration_leg:
        t_ust = max((obs.ust_excess_pa - traits.funding_spread_pa) / (traits.risk_aversion * obs.ust_var_pa), 0.0)
    usage = m_fx * t_fx + m_ust * t_ust
    if usage > 1.0:  # one margin account: both legs within the initial margin
        t_fx /= usage
        t_ust /= usage
    return t_fx, t_ust, m_fx, m_ust, 1.0 / rules.maintenance_ratio, rules.adjustment_speed


@njit(cache=True, error_model="numpy")
def _decide_kernel(state, obs, rules):
    # error_model="numpy": no branch before each division (whose divisors are validated positive), so the
    # loop over funds runs in vector instructions; the numbers are the same
    # the arrays as locals: the loop then reads them without touching the NamedTuple (or reference counts)
    alive, liquidating = state.alive, state.liquidating
    gamma, cap, w_trend, w_value = state.risk_aversion, state.leverage_cap, state.trend_weight, state.value_weight
    vol_target, duration_leg, spread = state.vol_target_pa, state.duration_leg, state.funding_spread_pa
    t_fx, t_ust, m_fx, m_ust, maint, speed = (state.target_fx, state.target_ust, state.margin_fx, state.margin_ust,
                                              state.maint_usage, state.speed)  # fmt: skip
    stress = margin_stress(obs, rules)
    for i in range(gamma.shape[0]):
        if not alive[i]:
            t_fx[i] = 0.0
            t_ust[i] = 0.0
            m_fx[i] = 1.0
            m_ust[i] = 1.0
            maint[i] = 0.0
            speed[i] = 1.0
            continue
        traits = FundTraits(gamma[i], cap[i], w_trend[i], w_value[i], vol_target[i], duration_leg[i], spread[i])
        t_fx[i], t_ust[i], m_fx[i], m_ust[i], maint[i], speed[i] = decision_at_stress(traits, liquidating[i], obs,
                                                                                      rules, stress)  # fmt: skip


_decide = FlatKernel(_decide_kernel, HedgeFundState, Observation, DecisionRules)


def decide(state: HedgeFundState, cfg: HedgeFundConfig, **observations: float) -> None:
    """Write today's target leverages, margins and adjustment speed into ``state``."""
    _decide(state, Observation(**observations), decision_rules(cfg))


def trend_followers(funds) -> np.ndarray:
    """Which funds (of a :class:`HedgeFundState` or the sector) are trend followers. The draw is not kept:
    a trend follower has a volatility target (``trend_vol_target_pa``, never 0) and a carry fund none, so
    it is read from that rather than from ``trend_weight``, which may be set to 0."""
    return funds.vol_target_pa > 0


def init_hedge_funds(cfg: HedgeFundConfig, rng: np.random.Generator, *, ust_price: float,
                     **observations: float) -> HedgeFundState:  # fmt: skip
    """Draw the heterogeneous population and its initial balance sheets.

    ``observations`` are the fields of :class:`Observation` at the initial market state. Capital is
    the input; each fund starts at ``initial_leverage_fraction`` times its own target there (the
    steady state of its partial adjustment), within its margin.
    """
    n = cfg.n_funds
    # Draw order is fixed: adding a draw at the end never changes earlier ones.
    lev_u = rng.beta(cfg.leverage_beta_a, cfg.leverage_beta_b, n)
    gamma_z = rng.standard_normal(n)
    size_z = rng.standard_normal(n)
    spread_z = rng.standard_normal(n)
    trend_u = rng.random(n)
    duration_u = rng.random(n)

    leverage_cap = 1.0 + (cfg.max_leverage - 1.0) * lev_u
    risk_aversion = cfg.risk_aversion_median * detmath.exp(cfg.risk_aversion_dispersion * gamma_z)
    spread = np.maximum(cfg.funding_spread_pa + cfg.funding_spread_dispersion_pa * spread_z, 0.0)
    is_trend = trend_u < cfg.trend_share
    weights = detmath.exp(cfg.size_dispersion * size_z)
    capital = weights * (cfg.capital_usd_bn / weights.sum())
    zeros = np.zeros(n)
    state = HedgeFundState(
        fwd_usd_bn=zeros.copy(),
        ust_units=zeros.copy(),
        cash_usd_bn=capital.copy(),
        equity_book_usd_bn=capital.copy(),
        initial_capital_usd_bn=capital,
        perf_ema=zeros.copy(),
        alive=np.ones(n, dtype=np.bool_),
        liquidating=np.zeros(n, dtype=np.bool_),
        reentry_day=np.full(n, -1, dtype=np.int64),
        risk_aversion=risk_aversion,
        leverage_cap=leverage_cap,
        funding_spread_pa=spread,
        trend_weight=np.where(is_trend, cfg.trend_weight, 0.0),
        value_weight=np.where(is_trend, 0.0, cfg.value_weight_pa),
        vol_target_pa=np.where(is_trend, cfg.trend_vol_target_pa, 0.0),
        duration_leg=duration_u < cfg.duration_leg_share,
        target_fx=zeros.copy(),
        target_ust=zeros.copy(),
        margin_fx=zeros.copy(),
        margin_ust=zeros.copy(),
        maint_usage=zeros.copy(),
        speed=zeros.copy(),
        fwd_new_usd_bn=zeros.copy(),
        ust_new_usd_bn=zeros.copy(),
        margin_called=np.zeros(n, dtype=np.bool_),
        forced_usd_bn=zeros.copy(),
    )
    _decide_kernel(state, Observation(**observations), decision_rules(cfg))
    # the steady state of the partial adjustment at the initial state, scaled by the positioning,
    # within the initial margin (one account for both legs)
    f = cfg.initial_leverage_fraction
    usage = f * (state.margin_fx * state.target_fx + state.margin_ust * state.target_ust)
    scale = f / np.maximum(usage, 1.0)
    state.fwd_usd_bn[:] = scale * state.target_fx * capital
    ust_value = scale * state.target_ust * capital
    state.ust_units[:] = ust_value / ust_price
    state.cash_usd_bn[:] = capital - ust_value  # the duration leg is bought on repo
    state.fwd_new_usd_bn[:] = state.fwd_usd_bn
    state.ust_new_usd_bn[:] = ust_value
    return state


@njit(cache=True, inline="always")
def trade_equity(fwd, units, cash, terms):
    """A fund's UST leg ``U·P`` and equity ``E = C + U·P + X·(1 − S_prev/S)`` at trial prices ``terms``."""
    v_old = units * terms.price
    return v_old, cash + v_old + fwd * (1.0 - terms.ratio)


@njit(cache=True, inline="always")
def voluntary_trade(fwd, v_old, equity, order, terms):
    """The positions a fund with equity ``E`` moves to by choice: a share ``κ`` of the way to
    the targets ``ℓ·E``, with their derivatives in ``s = ln S`` and ``y_us``, and the margin usage
    ``G/E`` of the positions it held, ``G = m_x·X + m_u·U·P``. Only a fund with ``E > 0`` trades by these
    rules; :func:`aggregate_demand` computes them for every fund and discards the others.

    Returns ``(x, v, dx_ds, dx_dy, dv_ds, dv_dy, de_ds, de_dy, g_old, usage)``. Branch-free, so a loop
    over funds that calls it compiles to vector instructions (:func:`aggregate_demand`; the one
    condition, on the usage, compiles to a select).
    """
    d = terms.duration
    de_ds = fwd * terms.ratio  # d(S_prev/S)/ds = −S_prev/S
    de_dy = -d * v_old
    k = order.speed
    x = fwd + k * (order.target_fx * equity - fwd)
    dx_ds = k * order.target_fx * de_ds
    dx_dy = k * order.target_fx * de_dy
    v = v_old + k * (order.target_ust * equity - v_old)
    dv_ds = k * order.target_ust * de_ds
    dv_dy = (1.0 - k) * de_dy + k * order.target_ust * de_dy  # d(v_old)/dy = −D·v_old = de_dy
    g_old = order.margin_fx * fwd + order.margin_ust * v_old
    # no equity: the usage is unbounded (and plain Python, with numba's JIT disabled, does not divide by 0)
    usage = g_old / equity if equity != 0.0 else math.inf
    return x, v, dx_ds, dx_dy, dv_ds, dv_dy, de_ds, de_dy, g_old, usage


@njit(cache=True, inline="always")
def fund_trade(fwd, units, cash, order, terms):
    """One fund's positions after trading at trial prices (``terms``).

    Equity at the trial prices is ``E = C + U·P + X·(1 − S_prev/S)``. The voluntary positions move a
    share ``κ`` towards the targets ``ℓ·E``. A margin call binds when the initial margin of the
    positions held, ``G = m_x·X + m_u·U·P``, exceeds ``E/θ``: the share ``f`` of the cut that restores
    ``G = E`` executed today is ``(G/E − 1/θ)/(ε/θ)`` capped at 1 with forced sales ("at once"), or
    ``1 − (1/θ)·E/G`` without (gradual, complete as equity runs out); both legs are scaled together,
    and the fund holds the smaller of the voluntary and the called positions' margin. Continuous
    and piecewise smooth in prices, so aggregate demand is too. A fund with no equity left closes
    both legs.

    Returns ``(x, v, dx_ds, dx_dy, dv_ds, dv_dy, called, forced, dforced_ds, dforced_dy)``: the
    forward notional and the UST value held after trading, their derivatives in ``s = ln S`` and
    ``y_us``, whether the fund is in a margin call (the margin of what it holds exceeds ``E/θ``; the
    cut may be smaller than the voluntary one it makes anyway), and its forced sales of dollars
    against yen (USD bn) with their derivatives: what a binding call cuts from the forward beyond the
    voluntary position, the whole forward when the fund is liquidated, and ``(1 − κ)·X`` when it has
    no equity left at the trial prices (what the call's forced part tends to as equity falls to 0). They
    are the forward only, the position the carry stock measures: a duration leg's forced sale is a
    Treasury trade funded in dollars, not a purchase of yen.
    """
    d = terms.duration
    v_old, equity = trade_equity(fwd, units, cash, terms)
    if equity <= 0.0 or order.maint_usage <= 0.0:
        # forced: a liquidated fund's whole forward; a fund with no equity left, what the closing cuts
        # beyond its voluntary position at zero equity, (1 − κ)·X, the limit of a binding call's forced
        # part as equity falls to 0, so that the count (and the risk index reading it) has no step there
        forced = fwd if order.maint_usage <= 0.0 else (1.0 - order.speed) * fwd
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, equity <= 0.0 and (fwd > 0.0 or units > 0.0),
                forced, 0.0, 0.0)  # fmt: skip
    x, v, dx_ds, dx_dy, dv_ds, dv_dy, de_ds, de_dy, g_old, usage = voluntary_trade(fwd, v_old, equity, order, terms)
    called = False
    forced, dforced_ds, dforced_dy = 0.0, 0.0, 0.0
    lam = order.maint_usage
    if usage > lam:
        called = True
        dg_old_dy = order.margin_ust * (-d * v_old)
        du_ds = -g_old * de_ds / (equity * equity)
        du_dy = (dg_old_dy * equity - g_old * de_dy) / (equity * equity)
        if terms.forced_sales:
            width = terms.band * lam
            f = (usage - lam) / width
            df_ds = du_ds / width
            df_dy = du_dy / width
        else:
            f = 1.0 - lam / usage
            df_ds = lam * du_ds / (usage * usage)
            df_dy = lam * du_dy / (usage * usage)
        if f >= 1.0:
            f, df_ds, df_dy = 1.0, 0.0, 0.0
        # the margin after the called cut: G_f = G_old − f·(G_old − E)
        g_f = g_old - f * (g_old - equity)
        dgf_ds = -df_ds * (g_old - equity) + f * de_ds
        dgf_dy = dg_old_dy - df_dy * (g_old - equity) - f * (dg_old_dy - de_dy)
        g_v = order.margin_fx * x + order.margin_ust * v
        if g_f < g_v:
            dgv_ds = order.margin_fx * dx_ds + order.margin_ust * dv_ds
            dgv_dy = order.margin_fx * dx_dy + order.margin_ust * dv_dy
            c = g_f / g_v
            dc_ds = (dgf_ds * g_v - g_f * dgv_ds) / (g_v * g_v)
            dc_dy = (dgf_dy * g_v - g_f * dgv_dy) / (g_v * g_v)
            # the forced part: what the call cuts from the forward beyond the voluntary position (the
            # carry position; a duration leg's forced sale is a Treasury trade, not a purchase of yen)
            forced = x * (1.0 - c)
            dforced_ds = dx_ds * (1.0 - c) - x * dc_ds
            dforced_dy = dx_dy * (1.0 - c) - x * dc_dy
            dx_ds, dx_dy = dx_ds * c + x * dc_ds, dx_dy * c + x * dc_dy
            dv_ds, dv_dy = dv_ds * c + v * dc_ds, dv_dy * c + v * dc_dy
            x *= c
            v *= c
    x, dx_ds, dx_dy = long_only(x, dx_ds, dx_dy)
    v, dv_ds, dv_dy = long_only(v, dv_ds, dv_dy)
    return x, v, dx_ds, dx_dy, dv_ds, dv_dy, called, forced, dforced_ds, dforced_dy


@njit(cache=True, inline="always")
def long_only(q, dq_ds, dq_dy):
    """A position and its derivatives, floored at no position (funds hold no short legs)."""
    if q < 0.0:
        return 0.0, 0.0, 0.0
    return q, dq_ds, dq_dy


class FundBook(NamedTuple):
    """What the funds' flows read during one day's clearing: their books, today's decisions, outputs."""

    fwd_usd_bn: np.ndarray
    ust_units: np.ndarray
    cash_usd_bn: np.ndarray
    alive: np.ndarray
    target_fx: np.ndarray
    target_ust: np.ndarray
    margin_fx: np.ndarray
    margin_ust: np.ndarray
    maint_usage: np.ndarray
    speed: np.ndarray
    s_prev: float  # yesterday's ln S
    duration: float  # UST duration (the bond index price is exp(−D·y))
    band: float  # margin-call band ε
    forced_sales: bool
    out_x: np.ndarray  # forward notional at the trial prices (written)
    out_v: np.ndarray  # UST value at the trial prices (written)
    out_called: np.ndarray  # margin-call flags at the trial prices (written)
    out_forced: np.ndarray  # forced sales at the trial prices, USD bn (written)


# The funds' aggregate at trial prices: sums over funds, in a fixed order (bit-reproducible):
# Σx−x_old, Σdx_ds, Σdx_dy, Σunits bought, Σdunits_ds, Σdunits_dy, gross fwd, gross units, Σforced,
# Σdforced_ds, Σdforced_dy.
N_SUMS = 11


@njit(cache=True, inline="always")
def sum_terms(x, v, dx_ds, dx_dy, dv_ds, dv_dy, forced, dforced_ds, dforced_dy, fwd_old, units_old, inv_p, duration):
    """One fund's ``N_SUMS`` terms of the funds' sums (see ``N_SUMS``) from its trade; ``inv_p = 1/P``."""
    bought = v * inv_p - units_old  # units per USD; d(1/P)/dy = D/P
    return (x - fwd_old, dx_ds, dx_dy, bought, dv_ds * inv_p, (dv_dy + duration * v) * inv_p, abs(x - fwd_old),
            abs(bought), forced, dforced_ds, dforced_dy)  # fmt: skip


@njit(cache=True)
def accumulate(acc, fwd_old, units_old, trade, price, duration):
    """The sums ``acc`` (a tuple of ``N_SUMS`` floats) with one fund's trade (the outputs of :func:`fund_trade`)
    added; returns the new tuple.

    A tuple rather than an array in place: the compiled loop keeps the sums in registers (an array
    might alias the output arrays the loop writes, so every add would go through memory).
    """
    x, v, dx_ds, dx_dy, dv_ds, dv_dy, _, forced, dforced_ds, dforced_dy = trade
    t = sum_terms(x, v, dx_ds, dx_dy, dv_ds, dv_dy, forced, dforced_ds, dforced_dy, fwd_old, units_old,
                  1.0 / price, duration)  # fmt: skip
    return add_terms(acc, t)


@njit(cache=True, inline="always")
def add_terms(acc, t):
    """The sums ``acc`` with one fund's terms ``t`` added (tuples of ``N_SUMS`` floats)."""
    return (acc[0] + t[0], acc[1] + t[1], acc[2] + t[2], acc[3] + t[3], acc[4] + t[4], acc[5] + t[5], acc[6] + t[6],
            acc[7] + t[7], acc[8] + t[8], acc[9] + t[9], acc[10] + t[10])  # fmt: skip


ZERO_SUMS = (0.0,) * N_SUMS


@njit(cache=True)
def add_aggregate(acc, z, jac, gross, out, aux):
    """Add the funds' sums to the clearing's arrays: forwards (market FWD), UST (market UST) and
    their forced sales (``aux``)."""
    z[FWD] += acc[0]
    jac[FWD, FX] += acc[1]
    jac[FWD, UST] += acc[2]
    z[UST] += acc[3]
    jac[UST, FX] += acc[4]
    jac[UST, UST] += acc[5]
    gross[FWD] += acc[6]
    gross[UST] += acc[7]
    out[FWD] = acc[0]
    out[UST] = acc[3]
    aux[AUX_FORCED, 0] += acc[8]
    aux[AUX_FORCED, 1 + FX] += acc[9]
    aux[AUX_FORCED, 1 + UST] += acc[10]


@njit(cache=True, inline="always")
def add_voluntary_terms(acc, scratch, j):
    """The sums ``acc`` with the terms of a voluntary trade in column ``j`` of ``scratch`` added: the first
    ``N_VOLUNTARY`` of them. The last three are a fund's forced sales and their derivatives, which are
    ``+0.0`` for a voluntary trade; a sum that starts at ``+0.0`` is never ``−0.0`` (in IEEE addition two
    terms give ``−0.0`` only when both are ``−0.0``), and adding ``+0.0`` to any other number gives that
    number, so leaving them out changes no bit."""
    return (acc[0] + scratch[0, j], acc[1] + scratch[1, j], acc[2] + scratch[2, j], acc[3] + scratch[3, j],
            acc[4] + scratch[4, j], acc[5] + scratch[5, j], acc[6] + scratch[6, j], acc[7] + scratch[7, j], acc[8],
            acc[9], acc[10])  # fmt: skip


# the sums' terms a voluntary trade can make non-zero (the rest: forced sales, zero for a fund trading by
# the voluntary rule: equity left, no margin call, not in liquidation)
N_VOLUNTARY = 8
# the row of the block's scratch after those terms: 1.0 where the fund's trade needs fund_trade
_ROW_FULL = N_VOLUNTARY


@njit(cache=True, error_model="numpy")
def aggregate_demand(book, p):
    """Every live fund's trade at trial prices ``p``; writes their positions into the ``out_`` arrays.

    Returns the funds' ``N_SUMS`` sums (an array), added fund by fund in row order.

    The funds are taken a block at a time. A first loop computes every fund's voluntary trade
    (:func:`voluntary_trade`, branch-free, so it runs in vector instructions), writes it into the
    ``out_`` arrays and the terms of the sums into a scratch block, and marks the funds that need the
    whole rule: no equity, in liquidation, or in a margin call. A second loop, in row order, gives those
    :func:`fund_trade` (overwriting their outputs), zeroes the dead funds' outputs and adds every live
    fund's terms to the sums (:func:`add_voluntary_terms`). Each fund's numbers are the ones
    :func:`fund_trade` gives, operation for operation, and the sums are added in the same order as a
    single loop would add them, so the result is the same to the last bit; the vector loop only makes
    the common case faster. (``error_model="numpy"``: a division by zero gives ``inf`` instead of
    raising, so the first loop needs no branch; the funds it would hit are the marked ones, whose
    numbers come from the second.)
    """
    price = math.exp(-book.duration * p[UST])
    terms = TradeTerms(math.exp(book.s_prev - p[FX]), price, book.duration, book.band, book.forced_sales)
    # the arrays as locals: the loops then read them without touching the NamedTuple (or reference counts)
    fwd, units, cash, alive = book.fwd_usd_bn, book.ust_units, book.cash_usd_bn, book.alive
    t_fx, t_ust, m_fx, m_ust = book.target_fx, book.target_ust, book.margin_fx, book.margin_ust
    maint, speed, duration = book.maint_usage, book.speed, book.duration
    out_x, out_v, out_called, out_forced = book.out_x, book.out_v, book.out_called, book.out_forced
    inv_p = 1.0 / price
    scratch = np.empty((N_VOLUNTARY + 1, ROW_BLOCK))
    acc = ZERO_SUMS
    n = fwd.shape[0]
    for start in range(0, n, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n)
        # views of the block: indices from 0, which the compiler can see are never negative (with
        # range(start, stop) it checks each for wrap-around and gathers instead of loading)
        b_fwd, b_units, b_cash = fwd[start:stop], units[start:stop], cash[start:stop]
        b_tfx, b_tust, b_mfx, b_must = t_fx[start:stop], t_ust[start:stop], m_fx[start:stop], m_ust[start:stop]
        b_maint, b_speed = maint[start:stop], speed[start:stop]
        b_x, b_v = out_x[start:stop], out_v[start:stop]
        b_called, b_forced = out_called[start:stop], out_forced[start:stop]
        for j in range(stop - start):  # every fund's voluntary trade, vectorised: no branches
            order = FundOrder(b_tfx[j], b_tust[j], b_mfx[j], b_must[j], b_maint[j], b_speed[j])
            v_old, equity = trade_equity(b_fwd[j], b_units[j], b_cash[j], terms)
            x, v, dx_ds, dx_dy, dv_ds, dv_dy, _, _, _, usage = voluntary_trade(b_fwd[j], v_old, equity, order, terms)
            x, dx_ds, dx_dy = long_only(x, dx_ds, dx_dy)
            v, dv_ds, dv_dy = long_only(v, dv_ds, dv_dy)
            t = sum_terms(x, v, dx_ds, dx_dy, dv_ds, dv_dy, 0.0, 0.0, 0.0, b_fwd[j], b_units[j], inv_p, duration)
            scratch[0, j], scratch[1, j], scratch[2, j], scratch[3, j] = t[0], t[1], t[2], t[3]
            scratch[4, j], scratch[5, j], scratch[6, j], scratch[7, j] = t[4], t[5], t[6], t[7]
            b_x[j] = x
            b_v[j] = v
            b_called[j] = False
            b_forced[j] = 0.0
            # the funds whose trade needs the whole rule: no equity, in liquidation, or in a margin call
            full = (equity <= 0.0) | (order.maint_usage <= 0.0) | (usage > order.maint_usage)
            scratch[_ROW_FULL, j] = 1.0 if full else 0.0
        b_alive = alive[start:stop]
        for j in range(stop - start):  # in row order: the funds that need the whole rule, the dead, the sums
            if not b_alive[j]:
                b_x[j] = 0.0
                b_v[j] = 0.0
                continue
            if scratch[_ROW_FULL, j] != 0.0:
                order = FundOrder(b_tfx[j], b_tust[j], b_mfx[j], b_must[j], b_maint[j], b_speed[j])
                x, v, dx_ds, dx_dy, dv_ds, dv_dy, called, forced, dforced_ds, dforced_dy = fund_trade(
                    b_fwd[j], b_units[j], b_cash[j], order, terms
                )
                acc = add_terms(acc, sum_terms(x, v, dx_ds, dx_dy, dv_ds, dv_dy, forced, dforced_ds, dforced_dy,
                                               b_fwd[j], b_units[j], inv_p, duration))  # fmt: skip
                b_x[j] = x
                b_v[j] = v
                b_called[j] = called
                b_forced[j] = forced
            else:
                acc = add_voluntary_terms(acc, scratch, j)
    out = np.empty(N_SUMS)
    for k in range(N_SUMS):
        out[k] = acc[k]
    return out


@njit(cache=True)
def fund_flows(p, book, z, jac, gross, out, aux):
    """The funds' forward and UST buying at trial prices (see :mod:`model.sector`); no spot trades."""
    add_aggregate(aggregate_demand(book, p), z, jac, gross, out, aux)


class SettleTotals(NamedTuple):
    variation_margin_usd_bn: float  # received on forwards (+) or paid (−)
    forward_carry_usd_bn: float  # forward points earned (+) or paid (−)
    coupons_usd_bn: float
    interest_usd_bn: float  # from the money market (+) or paid to it (−)
    investor_flows_usd_bn: float  # net inflow (+) from outside investors, incl. re-entry capital
    payouts_usd_bn: float  # equity returned to investors on liquidation
    defaults_usd_bn: float  # negative equity written off by the prime brokers (the dealers)
    failures: int
    reentries: int
    margin_calls: int


@njit(cache=True, inline="always")
def fund_settle(acct, x, v, prices, rules):
    """Book one live fund's day: margin, trades to ``(x, v)``, accruals, investor flows.

    Variation margin on the forward held overnight is settled first. A fund whose equity is then not
    positive closed both legs at the clearing; the rest is written off (``default``) and it closes
    (a fund without any cash or position, one given no capital, is empty rather than failed).
    The day's forward carry, coupons and interest accrue on the positions held at the close.

    Returns ``(fwd, units, cash, book, perf, vm, carry, coupon, interest, flow, payout, default,
    closed, failed)``.
    """
    fwd, units, cash, book, perf = acct.fwd, acct.units, acct.cash, acct.book, acct.perf
    price = prices.price
    vm = fwd * (1.0 - prices.ratio)
    equity = cash + units * price + vm
    # a fund with nothing at all (no capital given it) has nothing to lose: empty, not failed
    if equity <= 0.0 and (fwd != 0.0 or units != 0.0 or cash != 0.0):
        return 0.0, 0.0, 0.0, 0.0, perf, vm, 0.0, 0.0, 0.0, 0.0, 0.0, -equity, True, True
    reval = units * (price - prices.price_prev) + vm
    # trade at today's prices: the forward is re-struck at no cost, the UST leg bought on repo
    cash = cash + vm + units * price - v
    units = v / price
    carry = x * prices.forward_carry
    coupon = v * prices.y_us / TRADING_DAYS
    rate = prices.r_us if cash >= 0.0 else prices.r_us + acct.spread
    interest = cash * rate / TRADING_DAYS
    cash += carry + coupon + interest
    new_book = book + reval + carry + coupon + interest
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
        # both legs were closed at today's clearing: pay out what is left and leave
        return 0.0, 0.0, 0.0, 0.0, perf, vm, carry, coupon, interest, flow, cash, 0.0, True, False
    failed = new_book < rules.floor * acct.capital0
    return x, units, cash, new_book, perf, vm, carry, coupon, interest, flow, 0.0, 0.0, False, failed


@njit(cache=True, inline="always")
def reenter(state, i):
    """A new fund takes slot ``i`` with fresh capital; returns the capital.

    Inlined: a call out of :func:`_settle_kernel`'s row-order loop made the compiler keep that loop's
    running sums in memory rather than in registers, which cost about 1 ns a fund."""
    state.alive[i] = True
    state.reentry_day[i] = -1
    state.fwd_usd_bn[i] = 0.0
    state.ust_units[i] = 0.0
    state.cash_usd_bn[i] = state.initial_capital_usd_bn[i]
    state.equity_book_usd_bn[i] = state.initial_capital_usd_bn[i]
    state.perf_ema[i] = 0.0
    return state.initial_capital_usd_bn[i]


# the rows of _settle_kernel's scratch block: the day's money terms of fund_settle's outputs (vm, carry,
# coupon, interest, flow, payout, default), then its closed and failed flags as 1.0 (closed) + 2.0 (failed)
_N_MONEY = 7
_ROW_EVENT = _N_MONEY


@njit(cache=True, error_model="numpy")
def _settle_kernel(state, prices, rules, day):
    """Every fund's settlement (:func:`fund_settle`), a block of funds at a time, as :func:`aggregate_demand`
    takes them: a vectorised loop books every fund of the block, writes the live funds' books and keeps
    the day's money terms in a scratch block, then a loop in row order adds the totals fund by fund,
    closes or liquidates the failed and lets new funds into empty slots. The numbers are those of one
    loop in row order, to the last bit: a fund that neither closes nor fails pays out nothing and
    defaults on nothing (``+0.0``), which the row-order loop leaves out of those two sums, as adding
    ``+0.0`` to a sum that starts at ``+0.0`` changes no bit (see :func:`add_voluntary_terms`).
    (``error_model="numpy"``: the vectorised loop computes a guarded division, the return on a book that
    may be zero, in every lane and keeps it only where the book is positive; without the error model
    that division would need a branch to raise.)"""
    # the money fields of SettleTotals, in order, summed in scalars (kept in registers) fund by fund
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = 0.0
    failures = 0
    reentries = 0
    calls = 0
    fwd, units, cash, book, capital0 = (state.fwd_usd_bn, state.ust_units, state.cash_usd_bn,
                                        state.equity_book_usd_bn, state.initial_capital_usd_bn)  # fmt: skip
    perf, alive, liquidating, reentry_day, spread = (state.perf_ema, state.alive, state.liquidating,
                                                     state.reentry_day, state.funding_spread_pa)  # fmt: skip
    x_new, v_new, called = state.fwd_new_usd_bn, state.ust_new_usd_bn, state.margin_called
    scratch = np.empty((_N_MONEY + 1, ROW_BLOCK))
    n = units.shape[0]
    for start in range(0, n, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n)
        # views of the block, indexed from 0 (see aggregate_demand)
        b_fwd, b_units, b_cash, b_book = fwd[start:stop], units[start:stop], cash[start:stop], book[start:stop]
        b_capital0, b_perf, b_liquidating = capital0[start:stop], perf[start:stop], liquidating[start:stop]
        b_spread, b_x, b_v, b_alive = spread[start:stop], x_new[start:stop], v_new[start:stop], alive[start:stop]
        for j in range(stop - start):  # vectorised: every fund booked; the dead ones' books are kept
            acct = FundAccount(b_fwd[j], b_units[j], b_cash[j], b_book[j], b_capital0[j], b_perf[j], b_liquidating[j],
                               b_spread[j])  # fmt: skip
            out = fund_settle(acct, b_x[j], b_v[j], prices, rules)
            live = b_alive[j]
            b_fwd[j] = out[0] if live else acct.fwd
            b_units[j] = out[1] if live else acct.units
            b_cash[j] = out[2] if live else acct.cash
            b_book[j] = out[3] if live else acct.book
            b_perf[j] = out[4] if live else acct.perf
            scratch[0, j], scratch[1, j], scratch[2, j], scratch[3, j] = out[5], out[6], out[7], out[8]
            scratch[4, j], scratch[5, j], scratch[6, j] = out[9], out[10], out[11]
            scratch[_ROW_EVENT, j] = (1.0 if out[12] else 0.0) + (2.0 if out[13] else 0.0)
        b_reentry, b_called = reentry_day[start:stop], called[start:stop]
        for j in range(stop - start):  # in row order
            if not b_alive[j]:
                if b_reentry[j] >= 0 and day >= b_reentry[j]:
                    t4 += reenter(state, start + j)
                    reentries += 1
                continue
            if b_called[j]:
                calls += 1
            t0 += scratch[0, j]
            t1 += scratch[1, j]
            t2 += scratch[2, j]
            t3 += scratch[3, j]
            t4 += scratch[4, j]
            event = scratch[_ROW_EVENT, j]
            if event != 0.0:  # closed or failed: payouts and defaults are only ever theirs
                t5 += scratch[5, j]
                t6 += scratch[6, j]
                closed, failed = event != 2.0, event >= 2.0
                if closed:
                    if failed and not b_liquidating[j]:  # a liquidating fund was counted the day it failed
                        failures += 1
                    b_alive[j] = False
                    b_liquidating[j] = False
                    b_reentry[j] = day + rules.reentry_delay
                elif failed:
                    b_liquidating[j] = True
                    failures += 1
    totals = np.array([t0, t1, t2, t3, t4, t5, t6])
    return totals, failures, reentries, calls


def settle_rules(cfg: HedgeFundConfig) -> SettleRules:
    return SettleRules(cfg.investor_flows, cfg.flow_sensitivity, cfg.flow_memory, cfg.flow_benchmark_pa / TRADING_DAYS,
                       cfg.failure_floor, cfg.max_capital_multiple, cfg.reentry_delay_days)  # fmt: skip


def settle_prices(day) -> SettlePrices:
    """The prices and rates a day's settlement uses (``day``: a :class:`model.sector.Day`)."""
    return SettlePrices(day.usdjpy_prev / day.usdjpy, day.ust_price, day.ust_price_prev, day.ust10y_yield,
                        day.us_short_rate, day.forward_carry())  # fmt: skip


_settle = FlatKernel(_settle_kernel, HedgeFundState, SettlePrices, SettleRules, None)


def settle(state: HedgeFundState, cfg: HedgeFundConfig, prices: SettlePrices, *, day: int) -> SettleTotals:
    """Book today's margin, trades, accruals, investor flows, failures and re-entries."""
    totals, failures, reentries, calls = _settle(state, prices, settle_rules(cfg), day)
    return SettleTotals(*totals.tolist(), failures, reentries, calls)


class FundSums(NamedTuple):
    """Sums over every fund's row, each the number ``ndarray.sum`` gives (USD bn; UST index units)."""

    cash_usd_bn: float  # positive cash balances
    ust_units: float
    repo_usd_bn: float  # negative cash balances, as a positive debt
    fwd_usd_bn: float  # net long-USD forwards
    gross_fwd_usd_bn: float  # |forwards|
    equity_book_usd_bn: float
    forced_usd_bn: float
    alive: int  # funds alive


def fund_sums(state: HedgeFundState) -> FundSums:
    """The sector's sums over funds in one kernel call, each added in NumPy's order (``ndarray.sum``)."""
    return FundSums(*_sums_kernel(state.cash_usd_bn, state.ust_units, state.fwd_usd_bn, state.equity_book_usd_bn,
                                  state.forced_usd_bn, state.alive))  # fmt: skip


@njit(cache=True)
def _sums_kernel(cash, ust_units, fwd, book, forced, alive):
    n_alive = 0
    for i in range(alive.shape[0]):
        if alive[i]:
            n_alive += 1
    return (pairwise_sum_of(cash, POSITIVE), pairwise_sum(ust_units), pairwise_sum_of(cash, NEGATIVE),
            pairwise_sum(fwd), pairwise_sum_of(fwd, MAGNITUDE), pairwise_sum(book), pairwise_sum(forced),
            n_alive)  # fmt: skip


def equity_marked(state: HedgeFundState, price: float) -> np.ndarray:
    """Assets minus liabilities at the UST price ``price``, USD bn per fund (forwards are settled daily)."""
    return state.ust_units * price + state.cash_usd_bn


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
        """The carry position: long-USD forward notional."""
        return float(self._s.fwd_usd_bn[self.row])

    @property
    def duration_leg_usd_bn(self) -> float:
        return float(self._s.ust_units[self.row] * self.model.market.ust_price)

    @property
    def equity_usd_bn(self) -> float:
        return float(equity_marked(self._s, self.model.market.ust_price)[self.row])

    @property
    def leverage(self) -> float:
        """Gross notional (forward plus duration leg) over equity."""
        gross = self.exposure_usd_bn + self.duration_leg_usd_bn
        e = self.equity_usd_bn
        return gross / e if e > 0 else float("inf") if gross > 0 else 0.0

    @property
    def leverage_cap(self) -> float:
        return float(self._s.leverage_cap[self.row])

    @property
    def is_trend_follower(self) -> bool:
        return bool(trend_followers(self._s)[self.row])

    @property
    def has_duration_leg(self) -> bool:
        return bool(self._s.duration_leg[self.row])

    @property
    def margin_called(self) -> bool:
        return bool(self._s.margin_called[self.row])

    def step(self) -> None:  # the sector is stepped in arrays by the model
        return None


class HedgeFunds(Sector):
    """The hedge funds' sector block (struct of arrays, one row per fund).

    Trades FX forwards with the dealers (the forward market) and, for the duration leg, UST 10y on
    repo from the money market. Its ledger rows: the funds, and the outside investors who put in and
    take out capital. Variation margin and forward carry settle through the dealers'
    ``forward_settlement`` account; interest and repo with the ``us_money_market``; a failed fund's
    shortfall is written off by the dealers, its prime brokers.

    With the model's ``engine = "mesa"``, the model sets :attr:`engine` to the reference engine
    (:mod:`model.reference`): one Python ``mesa.Agent`` per fund makes the decisions, demand and
    settlement with the same rule functions, and the arrays mirror the agents after each day. With
    ``engine = "numpy"`` it is :mod:`model.numpy_engine`, the same rules vectorised over the arrays.
    Reads ``fundamental_log_usdjpy`` (real money) from ``model.signals``.
    """

    name = "hedge_funds"
    section = "hedge_funds"
    flows = fund_flows
    ledger_rows = ("hedge_funds", "fund_investors")
    requires = ("dealers", "money_market", "real_money")  # real money publishes the fundamental they value against
    columns = ("hf_gross_usd_bn", "hf_net_usd_bn", "hf_ust_usd_bn", "hf_equity_usd_bn", "hf_leverage",
               "hf_margin_calls", "hf_forced_usd_bn", "hf_failures", "hf_alive",
               "hf_investor_flows_usd_bn")  # fmt: skip

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state: HedgeFundState | None = None
        self.engine = None  # the Mesa reference engine, when model.engine == "mesa"
        self.totals: SettleTotals | None = None
        # the holdings (sums over funds) as of the last settlement, or the opening: the funds' forwards,
        # units and cash change only when a day settles, so the day reads these instead of summing again
        self.held: dict[str, float] | None = None
        self.sums: FundSums | None = None  # the sums over funds the last settlement took

    # -- what funds observe before trading --------------------------------------------------------
    def variance_pa(self, model) -> float:
        """Funds' USD/JPY variance estimate: realised and implied, above a stressed-VaR floor."""
        mk, h = model.market, self.config
        if not h.risk_feedback:
            return h.margin_reference_vol_pa**2
        implied = model.config.market.implied_fx_vol_pa(mk.risk_index)
        blend = h.realized_vol_weight * mk.ewma_var_daily * TRADING_DAYS + (1 - h.realized_vol_weight) * implied**2
        return max(blend, h.vol_floor_pa**2)

    def observation(self, model) -> dict[str, float]:
        """Yesterday's close as funds see it: expected carry, trend, valuation and risk."""
        mk, h = model.market, self.config.carry_horizon_years
        var_pa = self.variance_pa(model)
        duration = model.config.market.ust_duration
        repo = mk.fed_path.average(h)
        # the duration leg earns the 10y yield over repo, plus the capital gain expected as the
        # expected policy path rolls down over the horizon
        roll = -duration * (mk.fed_path.average_between(h, h + 10.0) - mk.fed_path.average(10.0)) / h
        ust_var = max(mk.ewma_var_ust_daily * TRADING_DAYS, self.config.ust_vol_floor_pa**2)
        if not self.config.risk_feedback:
            ust_var = self.config.ust_vol_floor_pa**2
        return dict(
            carry_pa=repo - mk.boj_path.average(h) - mk.fx_basis,
            trend_pa=mk.trend_daily * TRADING_DAYS,
            misvaluation=mk.log_usdjpy - model.signals["fundamental_log_usdjpy"],
            var_pa=var_pa,
            vol_ratio=math.sqrt(var_pa) / self.config.margin_reference_vol_pa,
            ust_excess_pa=mk.ust10y_yield - repo + roll,
            ust_var_pa=ust_var,
        )

    def start(self, model) -> None:
        mk = model.market
        self.state = init_hedge_funds(self.config, model.streams["hedge_funds.init"], ust_price=mk.ust_price,
                                      **self.observation(model))  # fmt: skip
        if model.engine != "mesa":  # the Mesa engine's agents are views of their own
            for row in range(min(self.config.n_funds, model.config.simulation.max_agent_views)):
                HedgeFundView(model, row)

    def publish(self, model) -> dict[str, float]:
        # the carry stock scales the day's forced sales in the risk index
        if self.state is None:
            return {}
        return {"carry_stock_usd_bn": self.held["usd_fwd_bn"] if self.held else float(self.state.fwd_usd_bn.sum())}

    def open_books(self, ledger) -> None:
        f = self.state
        ledger.set("fund_investors", "usd_bn", -float(f.initial_capital_usd_bn.sum()))
        repo = self.repo_usd_bn()
        ledger.set("us_money_market", "repo_usd_bn", repo)
        ledger.book("us_money_market", "usd_bn", -repo)  # the repo lent the dollars the duration leg cost
        self.sync_ledger(ledger)

    def repo_usd_bn(self) -> float:
        return float(np.maximum(-self.state.cash_usd_bn, 0.0).sum())

    def sync_ledger(self, ledger) -> None:
        """The hedge-fund row, recomputed from the funds' own arrays (not booked from flows)."""
        self.held = self.holdings()
        for asset, amount in self.held.items():
            ledger.set(self.name, asset, amount)

    # -- the day ----------------------------------------------------------------------------------
    def decide(self, model) -> None:
        obs = self.observation(model)
        if self.engine is None:
            decide(self.state, self.config, **obs)
        else:
            self.engine.decide(**obs)

    def clearing_inputs(self, model) -> FundBook:
        f, cfg = self.state, self.config
        return FundBook(
            f.fwd_usd_bn, f.ust_units, f.cash_usd_bn, f.alive, f.target_fx, f.target_ust, f.margin_fx, f.margin_ust,
            f.maint_usage, f.speed, model.market.log_usdjpy, model.config.market.ust_duration, cfg.margin_call_band,
            cfg.forced_sales, f.fwd_new_usd_bn, f.ust_new_usd_bn, f.margin_called, f.forced_usd_bn,
        )  # fmt: skip

    def settle(self, model, day) -> None:
        f, led = self.state, model.ledger
        before = self.held if self.held is not None else self.holdings()  # as the last settlement left them
        repo_before = -before["repo_usd_bn"]
        prices = settle_prices(day)
        if self.engine is None:
            t = settle(f, self.config, prices, day=model.day)
        else:
            t = self.engine.settle(prices)
        led.book("forward_settlement", "usd_bn", -(t.variation_margin_usd_bn + t.forward_carry_usd_bn))
        led.book("us_treasury", "usd_bn", -t.coupons_usd_bn)
        led.book("fund_investors", "usd_bn", -t.investor_flows_usd_bn + t.payouts_usd_bn)
        # the money market pays interest and lends the repo; the dealers, the funds' prime brokers,
        # bear what failed funds could not repay
        sums = self.sums = self._sum_funds()  # once: the sums over funds below (and until tomorrow's) come from it
        held = self.held = self._holdings(sums)
        d_repo = -held["repo_usd_bn"] - repo_before
        led.book("us_money_market", "usd_bn", -t.interest_usd_bn - d_repo)
        led.book("us_money_market", "repo_usd_bn", d_repo)
        model.sectors["dealers"].bear_counterparty_loss(led, t.defaults_usd_bn)
        for asset, amount in held.items():  # sync_ledger without summing the arrays again
            led.set(self.name, asset, amount)
        self.totals = t

    # -- accounts ---------------------------------------------------------------------------------
    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {self.name: self.holdings()}

    def holdings(self) -> dict[str, float]:
        return self._holdings(self._sum_funds())

    def _sum_funds(self) -> FundSums:
        """The sums over funds (:func:`fund_sums`), as the sector's engine takes them (the NumPy engine with
        NumPy, no kernel); the same numbers in every engine."""
        return fund_sums(self.state) if self.engine is None else self.engine.sums()

    @staticmethod
    def _holdings(sums: FundSums) -> dict[str, float]:
        return {"usd_bn": sums.cash_usd_bn, "ust_units": sums.ust_units, "repo_usd_bn": -sums.repo_usd_bn,
                "usd_fwd_bn": sums.fwd_usd_bn}  # fmt: skip

    def equity_gaps(self, model) -> np.ndarray:
        """Per fund: |equity by accumulated P&L − (assets − liabilities)|."""
        f = self.state
        return np.abs(equity_marked(f, model.market.ust_price) - f.equity_book_usd_bn)

    def equity_gap(self, model) -> float:
        gaps = self.equity_gaps(model)
        return float(gaps.max()) if gaps.size else 0.0

    def failure_state(self, model) -> str:
        return f"live funds={int(self.state.alive.sum())}"

    def record(self, model) -> dict[str, float]:
        f, t, mk = self.state, self.totals, model.market
        alive = f.alive
        sums = self.sums if self.sums is not None else self._sum_funds()  # the arrays change only at settlement
        n_alive = sums.alive
        if n_alive == alive.shape[0]:
            # every fund alive: the rows are the arrays themselves, already summed
            net, units_sum = sums.fwd_usd_bn, sums.ust_units
            gross, equity = sums.gross_fwd_usd_bn, sums.equity_book_usd_bn
        else:
            fwd, units, book = f.fwd_usd_bn[alive], f.ust_units[alive], f.equity_book_usd_bn[alive]
            net, units_sum = float(fwd.sum()), float(units.sum())
            gross, equity = float(np.abs(fwd).sum()), float(book.sum())
        ust = units_sum * mk.ust_price
        return {
            "hf_gross_usd_bn": gross,
            "hf_net_usd_bn": net,
            "hf_ust_usd_bn": ust,
            "hf_equity_usd_bn": equity,
            "hf_leverage": (gross + ust) / equity if equity > 0 else 0.0,
            "hf_margin_calls": t.margin_calls if t else 0,
            "hf_forced_usd_bn": sums.forced_usd_bn if t else 0.0,
            "hf_failures": t.failures if t else 0,
            "hf_alive": n_alive,
            "hf_investor_flows_usd_bn": t.investor_flows_usd_bn if t else 0.0,
        }
