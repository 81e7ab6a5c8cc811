"""Trend followers (CTAs): time-series momentum and breakouts on USD/JPY with volatility targeting.

A population of ``n_ctas`` commodity trading advisers, separate from the carry funds: they hold no
carry view at all, only a trend view, and they can be long or short dollars. Each CTA ``i`` has
capital ``E_i`` (USD, its cash), a lookback ``L_i`` (trading days, heterogeneous between 1 and 12
months), a volatility target ``σ*_i`` (10-15% a year) and trades USD/JPY forwards with the dealers.

Rules (per CTA, at the trial log price ``s = ln S`` of today's clearing, so that they trade inside
the day and amplify the day's move):

* **Time-series momentum** (Moskowitz, Ooi & Pedersen 2012): the trailing return over the lookback
  *including today*, ``r_i = s − s_{t−L_i}``, in units of its expected standard deviation,
  ``z_i = r_i / (w·σ_d·√L_i)``; the signal is ``tanh(z_i)``, a smoothed ``sign(r_i)`` (the sign is
  the limit ``w → 0``).
* **Breakouts** (Donchian channels, the "Turtle" rules, Faith 2007): enter long when the price
  leaves the ``L_i``-day channel at the top (above the highest close of the last ``L_i`` days), exit
  the long when it falls below the lowest close of the last ``⌈f·L_i⌉`` days (a narrower channel),
  and symmetrically for shorts. The entries and exits are phased in over a ramp of ``a·σ_d`` beyond
  the channel edge (``a = breakout_ramp_sd``) with a smoothstep ``3u² − 2u³``, so demand is
  continuous and once differentiable in the trial price and the market can still clear exactly::

      long(s)  = (long_prev  + (1 − long_prev) ·ramp((s − U)/(aσ_d)))·(1 − ramp((D_x − s)/(aσ_d)))
      short(s) = (short_prev + (1 − short_prev)·ramp((D − s)/(aσ_d)))·(1 − ramp((s − U_x)/(aσ_d)))

  with ``U, D`` the entry channel and ``U_x, D_x`` the exit channel (yesterday's closes). The
  breakout signal is ``long − short`` in [−1, 1]; its state carries over from day to day.
* The CTA's signal blends the two, ``φ_i = (1 − β)·tanh(z_i) + β·(long − short)``.
* **Volatility targeting**: the target position is ``X*_i = E_i·σ*_i/σ̂·φ_i`` (USD bn of long-USD
  forwards; negative = short dollars), with ``σ̂`` an ex-ante EWMA estimate of USD/JPY's volatility
  from yesterday's close (centre of mass 60 days, as in Moskowitz et al. 2012), floored.
* **Partial adjustment**: each day a CTA trades the share ``κ`` of the gap to its target,
  ``X_i(s) = X_old + κ·(X*_i(s) − X_old)``: rebalancing is spread over a few days to limit impact.

They trade only forwards; the dealers take the other side and hedge it in spot, so their flows
reach the spot market through the dealers. Their P&L is the forwards' variation margin
``X_old·(1 − S_prev/S)`` and carry ``X·(r_us − r_jp − b)/250`` (through the dealers'
``forward_settlement`` account), plus the US short rate on their cash (their collateral is held in
bills) from the US money market. There are no investor flows and no margin calls (a CTA's exits are
its rule, not a margin call, so they do not enter ``AUX_FORCED``), and the sizing uses yesterday's
equity. A CTA whose cash is not positive after a day's settlement fails: its forwards are closed at
the next day's clearing, at that day's price (as a failed carry fund's are), what it then owes is
written off by the dealers, its forward counterparties, and its slot stays empty. The closing of its
long-dollar forwards is a forced sale (``AUX_FORCED``, which the risk index reads), as a failed fund's
liquidation is. A CTA given no capital is empty, not failed.

Before day 0 the model has no price history, so the sector draws a pre-sample path of ln S (a
random walk at the initial volatility with drift ``pre_sample_drift_pa``, from the stream
``cta.init``), runs the breakout rules along it and starts every CTA at its target on day 0: the
opening positions are whatever that history implies. The dealers' opening book intermediates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from numba import njit

from model import detmath
from model.compose import FlatKernel
from model.sector import AUX_FORCED, FWD, FX, N_AUX, N_MARKETS, TRADING_DAYS, ConfigError, Sector, Validated, param
from model.sums import MAGNITUDE, ROW_BLOCK, pairwise_sum, pairwise_sum_of

__all__ = [
    "CtaConfig",
    "CtaState",
    "CtaBook",
    "TrendFollowers",
    "CtaView",
    "smoothstep",
    "cta_signal",
    "cta_position",
    "cta_flows",
    "channels",
    "daily_lookups",
    "pre_sample_path",
    "warm_up",
    "init_ctas",
]


@dataclass(frozen=True)
class CtaConfig(Validated):
    enabled: bool = param(True, doc="include the trend followers (False: no accounts, no positions, no trades)")
    n_ctas: int = param(200, unit="accounts", lo=1, hi=1_000_000, doc="number of CTA accounts")
    industry_aum_usd_bn: float = param(
        330.0,
        unit="USD bn",
        lo=50.0,
        hi=1000.0,
        doc="assets of the CTA / managed-futures industry",
        source="BarclayHedge managed-futures (CTA) industry assets ~$300-350 bn in 2023-24",
        range_note="BarclayHedge CTA assets ~$50 bn (2002) to ~$370 bn (2022); up to ~$1 tn counting "
        "trend-following risk-premia and multi-strategy sleeves",
    )
    usdjpy_share: float = param(
        0.03,
        lo=0.0,
        hi=0.2,
        doc="share of CTA capital whose risk budget is USD/JPY (the sector's capital is industry_aum_usd_bn × this)",
        source="set so that a full signal is ~$14 bn of forwards, the order of leveraged funds' net JPY futures "
        "positions in the CFTC Traders in Financial Futures reports (~$5-15 bn, 2022-24; a category that also holds "
        "the carry funds modelled apart, so an upper bound): 3% of the industry's capital ($10 bn) at the "
        "sector's volatility target. Not the share of CTAs' risk in USD/JPY: diversified CTAs put ~20-30% of their "
        "risk in currencies (Hurst, Ooi & Pedersen 2017) over ~6-10 pairs, ~2.5-5% in USD/JPY, which as a share "
        "of a 12.5%-volatility fund's variance would be several times the capital given here",
        range_note="0 (no CTAs) to a fifth of CTA risk in one pair",
    )
    size_dispersion: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="sd of log capital across CTAs",
        source="as hedge_funds.size_dispersion: fund sizes are close to log-normal (Schwarzkopf & Farmer 2010, for "
        "mutual funds); the sd of one log unit, which gives a few large managers, is an assumption",
        range_note="assumption: a few large managers",
    )
    lookback_min_days: int = param(
        21,
        unit="trading days",
        lo=2,
        hi=500,
        doc="shortest lookback (lookbacks are log-uniform between the two)",
        source="Moskowitz, Ooi & Pedersen (2012): 1-12 month lookbacks; Hurst, Ooi & Pedersen (2013): 1, 3, 12 months",
        range_note="a week to two years",
    )
    lookback_max_days: int = param(
        250,
        unit="trading days",
        lo=2,
        hi=500,
        doc="longest lookback",
        source="Moskowitz, Ooi & Pedersen (2012): 12 months",
        range_note="a week to two years",
    )
    vol_target_min_pa: float = param(
        0.10,
        unit="per annum",
        lo=0.02,
        hi=0.4,
        doc="lowest volatility target (targets are uniform between the two)",
        source="CTA volatility targets 10-15% a year (Moskowitz, Ooi & Pedersen 2012; Hurst et al. 2013)",
        range_note="2-40% (Moskowitz et al. size each instrument at 40%)",
    )
    vol_target_max_pa: float = param(
        0.15,
        unit="per annum",
        lo=0.02,
        hi=0.4,
        doc="highest volatility target",
        source="CTA volatility targets 10-15% a year (Moskowitz, Ooi & Pedersen 2012)",
        range_note="2-40%",
    )
    vol_com_days: float = param(
        60.0,
        unit="trading days",
        lo=5.0,
        hi=250.0,
        doc="centre of mass of the EWMA variance CTAs size with (weight δ = com/(1 + com))",
        source="Moskowitz, Ooi & Pedersen (2012): ex-ante EWMA volatility with a 60-day centre of mass",
        range_note="a week to a year",
    )
    vol_floor_pa: float = param(
        0.04,
        unit="per annum",
        lo=0.01,
        hi=0.15,
        doc="floor under the volatility estimate (caps leverage at σ*/floor)",
        source="USD/JPY realised and 1m implied volatility have rarely been below ~4-5% (2014, 2019 lows)",
        range_note="1-15% a year",
    )
    signal_width: float = param(
        1.0,
        lo=0.1,
        hi=5.0,
        doc="w: the momentum signal is tanh(r/(w·σ_d·√L)); smaller is closer to sign(r)",
        source="assumption: a continuous t-statistic-like signal (Baltas & Kosowski 2013); sign(r) in "
        "Moskowitz et al. (2012)",
        range_note="model coefficient: close to a sign to a nearly linear signal",
    )
    breakout_weight: float = param(
        0.3,
        lo=0.0,
        hi=1.0,
        doc="β: weight of the breakout system in a CTA's signal (the rest is momentum)",
        source="assumption: CTAs run ensembles of moving-average/momentum and channel-breakout systems (Clenow "
        "2013); momentum explains most of their returns (Hurst, Ooi & Pedersen 2013)",
        range_note="0 (pure momentum) to 1 (pure breakout)",
    )
    exit_fraction: float = param(
        0.5,
        lo=0.05,
        hi=1.0,
        doc="f: exit-channel length as a share of the entry channel (the lookback)",
        source="Turtle rules: 20-day entry / 10-day exit, 55 / 20 (Faith 2007)",
        range_note="exits on a twentieth of the entry channel to the same channel",
    )
    breakout_ramp_sd: float = param(
        1.0,
        lo=0.1,
        hi=5.0,
        doc="a: breakout entries and exits phase in over a·σ_d beyond the channel edge (numerical smoothing "
        "that keeps demand continuous in the price)",
        source="assumption, not estimated: numerical smoothing that keeps demand continuous in the price (a breakout "
        "entry or exit phases in over one daily standard deviation beyond the channel edge)",
        range_note="smoothing of the breakout kink: a tenth to five daily standard deviations",
    )
    adjustment_per_day: float = param(
        0.25,
        unit="per day",
        lo=0.01,
        hi=1.0,
        doc="κ: share of the gap to the target traded each day (0.25: half-life ~2.4 days)",
        source="assumption: large CTAs spread rebalancing over several days to limit market impact",
        range_note="a half-life of about three months (0.01: 69 trading days) to trading the whole gap each day",
    )
    cash_interest: bool = param(True, doc="CTAs' cash (collateral held in bills) earns the US short rate")
    pre_sample_drift_pa: float = param(
        0.0,
        unit="per annum",
        lo=-0.5,
        hi=0.5,
        doc="drift of ln USD/JPY in the pre-sample path CTAs' signals start from (positive: a dollar uptrend); the "
        "carry funds' trend followers start their trend estimate (the market's) at it too",
        source="0: no trend by default: the pre-sample path is a driftless random walk, so CTAs' opening positions "
        "come from chance alone and the funds' trend estimate starts at 0 (a scenario sets a positive drift for a "
        "market that had been trending up)",
        range_note="USD/JPY moved by up to about ±30% in a year since 1990",
    )
    pre_sample_random: bool = param(
        True,
        doc="the pre-sample path is a random walk at the initial volatility (False: a straight line with the drift)",
    )

    def _check(self) -> None:
        name = self.field_name
        if self.lookback_min_days > self.lookback_max_days:
            raise ConfigError(
                f"{name('lookback_min_days')} = {self.lookback_min_days!r} is not allowed with "
                f"{name('lookback_max_days')} = {self.lookback_max_days!r}; expected the minimum at or below the "
                "maximum"
            )
        if self.vol_target_min_pa > self.vol_target_max_pa:
            raise ConfigError(
                f"{name('vol_target_min_pa')} = {self.vol_target_min_pa!r} is not allowed with "
                f"{name('vol_target_max_pa')} = {self.vol_target_max_pa!r}; expected the minimum at or below the "
                "maximum"
            )


class CtaState(NamedTuple):
    """Struct of arrays, one row per CTA; rows never move."""

    cash_usd_bn: np.ndarray  # E: cash, the CTA's equity (forwards have no value after the day's margin)
    fwd_usd_bn: np.ndarray  # X: long-USD forward notional (negative: short dollars)
    initial_capital_usd_bn: np.ndarray
    lookback_days: np.ndarray  # int64: L (also the entry channel)
    exit_days: np.ndarray  # int64: the exit channel
    vol_target_pa: np.ndarray  # σ*
    long_state: np.ndarray  # breakout long in [0, 1] at yesterday's close
    short_state: np.ndarray  # breakout short in [0, 1]
    # today's lookups (written by ``decide``)
    anchor: np.ndarray  # ln S L days before today
    upper: np.ndarray  # entry channel (highest / lowest close of the last L days)
    lower: np.ndarray
    exit_upper: np.ndarray  # exit channel (last exit_days closes)
    exit_lower: np.ndarray
    scale: np.ndarray  # E·σ*/σ̂: the position at a full signal (USD bn)
    inv_width: np.ndarray  # 1/(w·σ_d·√L)
    # outcomes at the last evaluation of the clearing (written by the flows)
    out_x: np.ndarray
    out_long: np.ndarray
    out_short: np.ndarray
    # the day's settlement per CTA (written by ``settle_ctas``; the sector's totals are their sums)
    margin_usd_bn: np.ndarray  # variation margin on the forwards held overnight
    carry_usd_bn: np.ndarray  # carry on the forwards held at the close
    interest_usd_bn: np.ndarray  # interest on the cash
    # failure: a CTA whose cash is not positive after a settlement has failed; its forwards are closed
    # at the next day's clearing and what it then owes is written off by the dealers
    failed: np.ndarray  # bool: failed on some day (the slot stays empty: no capital, no position)
    liquidating: np.ndarray  # bool: failed at the last settlement, its forwards closed at today's clearing


class CtaBook(NamedTuple):
    """What the CTAs' flows read during one day's clearing (``out_`` arrays are written)."""

    fwd_usd_bn: np.ndarray
    long_state: np.ndarray
    short_state: np.ndarray
    anchor: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    exit_upper: np.ndarray
    exit_lower: np.ndarray
    scale: np.ndarray
    inv_width: np.ndarray
    speed: float  # κ
    breakout_weight: float  # β
    ramp: float  # a·σ_d, in ln S
    out_x: np.ndarray
    out_long: np.ndarray
    out_short: np.ndarray
    liquidating: np.ndarray  # bool: closes its whole position today (the rules' target and speed do not apply)


# -- the rules ---------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def smoothstep(u):
    """``(3u² − 2u³, 6u(1 − u))`` on [0, 1], 0 below and 1 above: a C¹ ramp.

    Written as a selection of the clipped argument rather than with branches, so that a loop over
    CTAs runs in vector instructions: at ``c = 0`` the two polynomials are ``+0.0`` and at ``c = 1``
    they are ``1.0`` and ``+0.0``, the numbers the branches would return, bit for bit (a NaN passes
    through both ways).
    """
    c = 0.0 if u <= 0.0 else (1.0 if u >= 1.0 else u)
    return c * c * (3.0 - 2.0 * c), 6.0 * c * (1.0 - c)


@njit(cache=True, inline="always")
def cta_signal(s, anchor, inv_width, upper, lower, exit_upper, exit_lower, long0, short0, ramp, beta):
    """One CTA's signal at log price ``s``: ``(φ, dφ/ds, long, short)`` (module docstring)."""
    mom = math.tanh((s - anchor) * inv_width)
    dmom = inv_width * (1.0 - mom * mom)
    inv_ramp = 1.0 / ramp
    e_long, de_long = smoothstep((s - upper) * inv_ramp)
    x_long, dx_long = smoothstep((exit_lower - s) * inv_ramp)
    e_short, de_short = smoothstep((lower - s) * inv_ramp)
    x_short, dx_short = smoothstep((s - exit_upper) * inv_ramp)
    # d/ds of each ramp's argument: +1/ramp for the upward ones, −1/ramp for the downward ones
    entered = long0 + (1.0 - long0) * e_long
    long = entered * (1.0 - x_long)
    dlong = (1.0 - long0) * de_long * inv_ramp * (1.0 - x_long) + entered * dx_long * inv_ramp
    entered_s = short0 + (1.0 - short0) * e_short
    short = entered_s * (1.0 - x_short)
    dshort = -(1.0 - short0) * de_short * inv_ramp * (1.0 - x_short) - entered_s * dx_short * inv_ramp
    phi = (1.0 - beta) * mom + beta * (long - short)
    dphi = (1.0 - beta) * dmom + beta * (dlong - dshort)
    return phi, dphi, long, short


@njit(cache=True, inline="always")
def cta_position(x_old, scale, phi, dphi, speed):
    """Partial adjustment towards the vol-targeted position ``scale·φ``: ``(x, dx/ds)``."""
    return x_old + speed * (scale * phi - x_old), speed * scale * dphi


@njit(cache=True)
def cta_flows(p, book, z, jac, gross, out, aux):
    """The CTAs' forward buying at trial prices (see :mod:`model.sector`); no spot trades. The only forced
    sales are failed CTAs' long-dollar forwards, closed whatever the price (into ``aux``).

    Writes each CTA's position and breakout state at ``p`` into the ``out_`` arrays. The CTAs are
    taken ``ROW_BLOCK`` at a time (:mod:`model.sums`): a first loop computes every CTA's signal and
    trade, a second adds the trades in row order, so the sums are those of one loop over CTAs to the
    last bit while the signals' arithmetic (all but ``tanh``, a library call) runs in vector
    instructions.
    """
    s = p[FX]
    speed, ramp, beta = book.speed, book.ramp, book.breakout_weight
    scratch = np.empty((2, ROW_BLOCK))
    total = 0.0
    slope = 0.0
    traded = 0.0
    closed_long = 0.0  # the long-dollar forwards of failed CTAs closed today: forced sales, as a failed fund's
    n = book.fwd_usd_bn.shape[0]
    for start in range(0, n, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n)
        # views of the block, indexed from 0 (see agents.hedge_funds.aggregate_demand)
        held, scale = book.fwd_usd_bn[start:stop], book.scale[start:stop]
        anchor, inv_width = book.anchor[start:stop], book.inv_width[start:stop]
        upper, lower = book.upper[start:stop], book.lower[start:stop]
        exit_upper, exit_lower = book.exit_upper[start:stop], book.exit_lower[start:stop]
        long0, short0 = book.long_state[start:stop], book.short_state[start:stop]
        b_x, b_long, b_short = book.out_x[start:stop], book.out_long[start:stop], book.out_short[start:stop]
        closing = book.liquidating[start:stop]
        for j in range(stop - start):  # vectorised, but for tanh
            phi, dphi, long, short = cta_signal(
                s, anchor[j], inv_width[j], upper[j], lower[j], exit_upper[j], exit_lower[j], long0[j], short0[j],
                ramp, beta,
            )  # fmt: skip
            x, dx = cta_position(held[j], scale[j], phi, dphi, speed)
            x = 0.0 if closing[j] else x  # a failed CTA's forwards are closed whatever the price
            dx = 0.0 if closing[j] else dx
            b_x[j] = x
            b_long[j] = long
            b_short[j] = short
            scratch[0, j] = x - held[j]
            scratch[1, j] = dx
        for j in range(stop - start):  # in row order
            q = scratch[0, j]
            total += q
            slope += scratch[1, j]
            traded += abs(q)
            if closing[j] and held[j] > 0.0:
                closed_long += held[j]
    z[FWD] += total
    jac[FWD, FX] += slope
    gross[FWD] += traded
    out[FWD] = total
    if closed_long != 0.0:  # (no other term: a day without a failed CTA adds nothing, not even +0.0)
        aux[AUX_FORCED, 0] += closed_long


# -- price history -----------------------------------------------------------------------------------
@njit(cache=True)
def channels(past):
    """Running max and min of the closes, most recent first: ``hi[k−1] = max(past[:k])`` (a NaN
    propagates, as with ``np.maximum.accumulate``)."""
    n = past.shape[0]
    hi = np.empty(n)
    lo = np.empty(n)
    if n == 0:
        return hi, lo
    run_hi = past[0]
    run_lo = past[0]
    for k in range(n):
        run_hi = np.maximum(run_hi, past[k])
        run_lo = np.minimum(run_lo, past[k])
        hi[k] = run_hi
        lo[k] = run_lo
    return hi, lo


def daily_lookups(past: np.ndarray, lookback: np.ndarray, exit_days: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(anchor, upper, lower, exit_upper, exit_lower)`` per CTA from yesterday's and earlier closes.

    ``past[k − 1]`` is ln S ``k`` days before today (``past[0]`` yesterday's close). The anchor is the
    close ``L`` days ago (today's trailing L-day return is ``s − anchor``); the channels are the
    highest and lowest closes of the last ``L`` (entry) and ``exit_days`` (exit) days.
    """
    out = tuple(np.empty(lookback.shape[0]) for _ in range(5))
    _lookups(past, lookback, exit_days, *out)
    return out


@njit(cache=True)
def _lookups(past, lookback, exit_days, anchor, upper, lower, exit_upper, exit_lower):
    """:func:`daily_lookups` written into its five output arrays."""
    hi, lo = channels(past)
    for i in range(lookback.shape[0]):
        a, b = lookback[i] - 1, exit_days[i] - 1
        anchor[i] = past[a]
        upper[i] = hi[a]
        lower[i] = lo[a]
        exit_upper[i] = hi[b]
        exit_lower[i] = lo[b]


def pre_sample_path(cfg: CtaConfig, rng: np.random.Generator, log_s0: float, sigma_daily: float) -> np.ndarray:
    """ln S on the ``2·L_max`` days before day 0 and on day 0 (oldest first, ending at ``log_s0``)."""
    n = 2 * cfg.lookback_max_days
    steps = np.full(n, cfg.pre_sample_drift_pa / TRADING_DAYS)
    if cfg.pre_sample_random:
        steps += sigma_daily * rng.standard_normal(n)
    # step k moves the close of day k − n − 1 to day k − n: cumulate backwards from day 0
    back = np.concatenate(([0.0], np.cumsum(steps[::-1])))
    return (log_s0 - back)[::-1].copy()


@njit(cache=True)
def warm_up(closes, lookback, exit_days, ramp, breakout_weight, long_state, short_state):
    """Run the breakout rules at the closes of the pre-sample path, from its middle to the day before
    day 0 (the last close); writes the breakout states at that close in place."""
    n_days = closes.shape[0]
    width = (n_days - 1) // 2
    start = n_days - 1 - width  # the first day with ``width`` closes behind it
    hi = np.empty((n_days - start, width))
    lo = np.empty((n_days - start, width))
    for t in range(start, n_days):
        run_hi = -np.inf
        run_lo = np.inf
        for k in range(width):
            c = closes[t - 1 - k]
            run_hi = max(run_hi, c)
            run_lo = min(run_lo, c)
            hi[t - start, k] = run_hi
            lo[t - start, k] = run_lo
    for i in range(lookback.shape[0]):
        a, b = lookback[i] - 1, exit_days[i] - 1
        long = 0.0
        short = 0.0
        for t in range(start, n_days - 1):
            j = t - start
            _, _, long, short = cta_signal(closes[t], closes[t], 1.0, hi[j, a], lo[j, a], hi[j, b], lo[j, b], long,
                                           short, ramp, breakout_weight)  # fmt: skip
        long_state[i] = long
        short_state[i] = short


def init_ctas(cfg: CtaConfig, rng: np.random.Generator, closes: np.ndarray, sigma_daily: float) -> CtaState:
    """Draw the population (no accounts if disabled) with its capital as cash, no positions yet, and its
    breakout states at the close before day 0 (the rules run along ``closes``, which end at day 0)."""
    n = cfg.n_ctas if cfg.enabled else 0
    # Draw order is fixed: adding a draw at the end never changes earlier ones.
    size_z = rng.standard_normal(n)
    lookback_u = rng.random(n)
    target_u = rng.random(n)
    lmin, lmax = cfg.lookback_min_days, cfg.lookback_max_days
    lookback = np.rint(detmath.exp(math.log(lmin) + (math.log(lmax) - math.log(lmin)) * lookback_u)).astype(np.int64)
    lookback = np.clip(lookback, lmin, lmax)
    exit_days = np.clip(np.ceil(cfg.exit_fraction * lookback).astype(np.int64), 1, lookback)
    weights = detmath.exp(cfg.size_dispersion * size_z)
    capital = weights * (cfg.industry_aum_usd_bn * cfg.usdjpy_share / weights.sum()) if n else np.zeros(0)
    vol_target = cfg.vol_target_min_pa + (cfg.vol_target_max_pa - cfg.vol_target_min_pa) * target_u
    zeros = np.zeros(n)
    state = CtaState(
        cash_usd_bn=capital.copy(),
        fwd_usd_bn=zeros.copy(),
        initial_capital_usd_bn=capital,
        lookback_days=lookback,
        exit_days=exit_days,
        vol_target_pa=vol_target,
        long_state=zeros.copy(),
        short_state=zeros.copy(),
        **{f: zeros.copy() for f in CtaState._fields[8:-2]},
        failed=np.zeros(n, dtype=np.bool_),
        liquidating=np.zeros(n, dtype=np.bool_),
    )
    sigma_d = max(sigma_daily, cfg.vol_floor_pa / math.sqrt(TRADING_DAYS))
    warm_up(closes, lookback, exit_days, cfg.breakout_ramp_sd * sigma_d, cfg.breakout_weight, state.long_state,
            state.short_state)  # fmt: skip
    return state


def sizing(state: CtaState, cfg: CtaConfig, sigma_daily: float) -> float:
    """Write today's position scale and momentum normalisation; returns the breakout ramp (ln S)."""
    sigma_d = max(sigma_daily, cfg.vol_floor_pa / math.sqrt(TRADING_DAYS))
    sigma_pa = sigma_d * math.sqrt(TRADING_DAYS)
    _sizing(state.cash_usd_bn, state.failed, state.vol_target_pa, state.lookback_days, sigma_pa,
            cfg.signal_width * sigma_d, state.scale, state.inv_width)  # fmt: skip
    return cfg.breakout_ramp_sd * sigma_d


@njit(cache=True)
def _sizing(cash, failed, vol_target, lookback, sigma_pa, width, scale, inv_width):
    """``scale = max(E, 0)·σ*/σ̂_pa`` and ``inv_width = 1/(w·σ_d·√L)`` per CTA (``width = w·σ_d``);
    a failed CTA's scale is 0, whatever cash its closing day left it."""
    for i in range(cash.shape[0]):
        e = cash[i]
        if (not e > 0.0 and e == e) or failed[i]:  # a non-positive equity (a NaN stays NaN, as with np.maximum)
            e = 0.0
        scale[i] = e * vol_target[i] / sigma_pa
        inv_width[i] = 1.0 / (width * np.sqrt(lookback[i]))


def settle_ctas(state: CtaState, revaluation: float, carry: float, interest_rate: float, cash_interest: bool):
    """Book the day in the arrays: margin on the forwards held overnight (``revaluation`` per USD bn),
    carry on those held at the close (``carry`` per USD bn), interest on the cash (``interest_rate`` a
    day, if ``cash_interest``); the positions become the cleared ones (``out_``).

    A CTA whose forwards were closed today because it failed (``liquidating``) has what it owes
    after the day (a negative cash) written off, and keeps a positive remainder, idle. A CTA whose cash
    is not positive after the day fails: ``failed`` and ``liquidating`` are set, so its forwards are
    closed at the next day's clearing, at that day's price, as the funds' are.

    Returns the totals of margin, carry and interest, then the sums after settlement of the net
    position, the gross position and equity (USD bn), each the number ``ndarray.sum`` gives, then the
    amount written off (USD bn, ≥ 0, for the dealers to bear) and the number of CTAs that failed today.
    """
    return _settle(state, revaluation, carry, interest_rate, cash_interest)


@njit(cache=True)
def _settle_kernel(st, revaluation, carry_rate, interest_rate, cash_interest):
    # the day's terms go into the state's arrays, not temporaries: no population-sized allocation a day
    vm, carry, interest = st.margin_usd_bn, st.carry_usd_bn, st.interest_usd_bn
    written_off = 0.0  # in row order
    failures = 0
    for i in range(st.cash_usd_bn.shape[0]):
        vm[i] = st.fwd_usd_bn[i] * revaluation
        carry[i] = st.out_x[i] * carry_rate
        cash = st.cash_usd_bn[i] + vm[i] + carry[i]
        interest[i] = cash * interest_rate if cash_interest else 0.0
        cash = cash + interest[i]
        if st.liquidating[i]:  # closed out at today's clearing: its shortfall is the dealers' loss
            st.liquidating[i] = False
            if cash < 0.0:
                written_off += -cash
                cash = 0.0
        elif cash <= 0.0 and not st.failed[i] and st.initial_capital_usd_bn[i] > 0.0:  # one given nothing is empty
            st.failed[i] = True
            st.liquidating[i] = True
            failures += 1
        st.cash_usd_bn[i] = cash
        st.fwd_usd_bn[i] = st.out_x[i]
        st.long_state[i] = st.out_long[i]
        st.short_state[i] = st.out_short[i]
    return (pairwise_sum(vm), pairwise_sum(carry), pairwise_sum(interest), pairwise_sum(st.fwd_usd_bn),
            pairwise_sum_of(st.fwd_usd_bn, MAGNITUDE), pairwise_sum(st.cash_usd_bn), written_off, failures)  # fmt: skip


_settle = FlatKernel(_settle_kernel, CtaState, None, None, None, None)


class CtaView(mesa.Agent):
    """A read-only Mesa view of one CTA's row in the sector arrays."""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def _s(self) -> CtaState:
        return self.model.sectors["cta"].state

    @property
    def position_usd_bn(self) -> float:
        """Long-USD forward notional (negative: short dollars)."""
        return float(self._s.fwd_usd_bn[self.row])

    @property
    def equity_usd_bn(self) -> float:
        return float(self._s.cash_usd_bn[self.row])

    @property
    def lookback_days(self) -> int:
        return int(self._s.lookback_days[self.row])

    @property
    def vol_target_pa(self) -> float:
        return float(self._s.vol_target_pa[self.row])

    def step(self) -> None:  # the sector is stepped in arrays by the model
        return None


class TrendFollowers(Sector):
    """The CTAs' sector block (struct of arrays, one row per CTA; module docstring for the rules).

    Trades FX forwards with the dealers (the forward market); margin and carry settle through the
    dealers' ``forward_settlement`` account, interest on cash with the ``us_money_market``.
    """

    name = "cta"
    section = "cta"
    flows = cta_flows
    requires = ("dealers", "money_market")
    columns = ("cta_position_usd_bn", "cta_gross_usd_bn", "cta_flow_usd_bn", "cta_equity_usd_bn", "cta_vol_pa",
               "cta_failures")  # fmt: skip

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state: CtaState | None = None
        self.recent: np.ndarray | None = None  # the last L_max closes of ln S, oldest first
        self.var_daily = 0.0  # EWMA variance of daily ln S returns
        self.ramp = 0.0
        self.flow_usd_bn = 0.0
        self.failures = 0  # CTAs that failed at the last settlement
        # (net position, gross position, equity) summed by the last settlement; None before the first
        self.sums: tuple[float, float, float] | None = None

    def sigma_daily(self) -> float:
        return math.sqrt(self.var_daily)

    def start(self, model) -> None:
        cfg, mk = self.config, model.market
        implied = model.config.market.implied_fx_vol_pa(mk.risk_index)
        self.var_daily = implied * implied / TRADING_DAYS
        rng = model.streams["cta.init"]
        closes = pre_sample_path(cfg, rng, mk.log_usdjpy, self.sigma_daily())
        self.state = init_ctas(cfg, rng, closes, self.sigma_daily())
        # day 0 as a day of the rules at its close, fully adjusted: every CTA starts at its target
        lmax = cfg.lookback_max_days
        self.recent = closes[-lmax - 1 : -1].copy()
        self.prepare()
        st = self.state
        p0 = np.array([mk.log_usdjpy, mk.ust10y_yield, mk.jgb10y_yield, mk.fx_basis])
        scratch = (np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(N_MARKETS))
        cta_flows(p0, self.clearing_inputs(model)._replace(speed=1.0), *scratch, np.zeros((N_AUX, 1 + N_MARKETS)))
        st.fwd_usd_bn[:] = st.out_x
        st.long_state[:] = st.out_long
        st.short_state[:] = st.out_short
        self.recent = closes[-lmax:].copy()
        for row in range(min(st.fwd_usd_bn.shape[0], model.config.simulation.max_agent_views)):
            CtaView(model, row)

    def prepare(self) -> None:
        """Today's lookups from yesterday's and earlier closes, and the sizing from yesterday's equity."""
        st = self.state
        _lookups(self.recent[::-1], st.lookback_days, st.exit_days, st.anchor, st.upper, st.lower, st.exit_upper,
                 st.exit_lower)  # fmt: skip
        self.ramp = sizing(st, self.config, self.sigma_daily())

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "usd_bn", float(self.state.cash_usd_bn.sum()))
        ledger.set(self.name, "usd_fwd_bn", float(self.state.fwd_usd_bn.sum()))

    def decide(self, model) -> None:
        self.prepare()

    def clearing_inputs(self, model) -> CtaBook:
        st, cfg = self.state, self.config
        return CtaBook(
            st.fwd_usd_bn, st.long_state, st.short_state, st.anchor, st.upper, st.lower, st.exit_upper,
            st.exit_lower, st.scale, st.inv_width, cfg.adjustment_per_day, cfg.breakout_weight, self.ramp,
            st.out_x, st.out_long, st.out_short, st.liquidating,
        )  # fmt: skip

    def settle(self, model, day) -> None:
        st, cfg, led = self.state, self.config, model.ledger
        q = float(day.flows_of(self)[FWD])
        vm_total, carry_total, interest_total, net, gross, equity, written_off, failures = settle_ctas(
            st, day.forward_revaluation(), day.forward_carry(), day.us_short_rate / TRADING_DAYS, cfg.cash_interest
        )
        self.sums = (net, gross, equity)
        led.book(self.name, "usd_fwd_bn", q)
        led.book(self.name, "usd_bn", vm_total + carry_total + interest_total)
        led.book("forward_settlement", "usd_bn", -(vm_total + carry_total))
        led.book("us_money_market", "usd_bn", -interest_total)
        if written_off != 0.0:  # the dealers, the CTAs' forward counterparties, bear what a failed one owes
            led.book(self.name, "usd_bn", written_off)
            model.sectors["dealers"].bear_counterparty_loss(led, written_off)
        self.failures = failures
        self.flow_usd_bn = q
        # the close enters the history; the volatility estimate is updated with today's return
        s = day.result.log_usdjpy
        ret = s - self.recent[-1]
        delta = cfg.vol_com_days / (1.0 + cfg.vol_com_days)
        self.var_daily = delta * self.var_daily + (1.0 - delta) * ret * ret
        self.recent[:-1] = self.recent[1:]
        self.recent[-1] = s

    def publish(self, model) -> dict[str, float]:
        if self.state is None:
            return {}
        if self.sums:
            net, gross = self.sums[0], self.sums[1]
            return {"cta_fwd_usd_bn": net, "cta_long_usd_bn": 0.5 * (gross + net)}
        x = self.state.fwd_usd_bn
        return {"cta_fwd_usd_bn": float(x.sum()), "cta_long_usd_bn": float(np.maximum(x, 0.0).sum())}

    def holdings(self) -> dict[str, float]:
        st = self.state
        return {"usd_bn": float(st.cash_usd_bn.sum()), "usd_fwd_bn": float(st.fwd_usd_bn.sum())}

    def record(self, model) -> dict[str, float]:
        st = self.state
        vol = max(self.sigma_daily(), self.config.vol_floor_pa / math.sqrt(TRADING_DAYS)) * math.sqrt(TRADING_DAYS)
        if self.sums:  # positions and cash change only at settlement, which summed them
            net, gross, equity = self.sums
        else:
            net, gross, equity = (
                float(st.fwd_usd_bn.sum()),
                float(np.abs(st.fwd_usd_bn).sum()),
                float(st.cash_usd_bn.sum()),
            )
        return {
            "cta_position_usd_bn": net,
            "cta_gross_usd_bn": gross,
            "cta_flow_usd_bn": self.flow_usd_bn,
            "cta_equity_usd_bn": equity,
            "cta_vol_pa": vol,
            "cta_failures": self.failures,
        }
