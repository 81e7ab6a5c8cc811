"""The risk index ``v`` (VIX-like): priced inside the day's clearing, an outcome of the day.

    ln v_t = ln v̄ + ρ·(ln v_{t−1} − ln v̄) + (ρ_c − ρ)·q_{t−1} + a·g(r_t) + c·f_t/K_{t−1} − e·Δln E_t + n_t + j_t
    q_t = ρ_c·q_{t−1} + a·g(r_t) + c·f_t/K_{t−1}

``q`` is the part of ``ln v − ln v̄`` that the carry market's own channels put there: the day's
USD/JPY move and forced sales (the second line). The rest, ``s = ln v − ln v̄ − q``, follows
``s_t = ρ·s_{t−1} − e·Δln E_t + n_t + j_t``: the equity market's link (the VIX's own "leverage
effect", whose persistence is what the VIX's AR(1) measures), news and sentiment events. With
``ρ_c = ρ`` (``market.risk_channel_persistence_ratio = 1``, the default) the ``q`` term is exactly
zero and the index has one component, the stated form; below ``ρ`` a spike that deleveraging makes
fades faster than the index's slow level (a two-component index, as in two-factor volatility
models).

* ``g(r) = √(r² + ε²)/σ_{t−1} − √(2/π)``: the day's USD/JPY move ``r = ln S − ln S_prev`` at the trial
  price, standardised by the daily volatility the market expected this morning, ``σ_{t−1}``
  (:func:`expected_daily_vol`; by default the EWMA volatility of the model's own past moves): zero on
  average when moves are as large as expected, smooth in ``r`` through ``ε``. This is Nelson's (1991) EGARCH
  form: because the move is measured against the expected volatility, a turbulent market raises
  ``v`` only by surprising it, and ``ln v`` stays stationary (a fixed yardstick made the index
  explode in stress and collapse to its floor in calm runs). With ``market.risk_vol_yardstick =
  "realised"`` (the default) the yardstick is the exponentially weighted volatility of the model's own
  past moves (``MarketState.ewma_var_daily``), so that ``g`` is about zero on average whatever the
  model's level of volatility; with ``"implied"`` it is ``σ_fx(v_{t−1})/√250``
  (:meth:`model.market.MarketConfig.implied_fx_vol_pa`), sourced from one era's options markets, and
  where the model's moves run above it ``g``'s mean is positive and lifts the index's level;
* ``f_t`` the day's forced sales of long-USD positions at the trial prices — margin calls beyond
  what funds would sell anyway, liquidations, broker stop-outs — which the customer sectors write
  into the clearing's ``aux`` (:data:`model.sector.AUX_FORCED`), as a share of yesterday's leveraged
  long-dollar stock ``K`` (:func:`forced_sales_scale`: by default the funds', the retail accounts' and
  the CTAs' long dollars, the positions those forced sales come from);
* ``Δln E_t`` the day's return of the US equity index (:mod:`model.macro`): growth news, its own
  shock and ``−D_e·Δy_us`` at the trial US yield. Stocks falling raise the index ("the leverage
  effect"); ``e`` = ``market.risk_equity_sensitivity`` is the slope of daily ln VIX changes on S&P 500
  returns. Through it US growth news reaches ``v`` on its day, with no volatility jump scripted;
* ``n_t`` news (sd ``market.risk_news_sd``, drawn before trading): what moves the VIX beyond the
  model's channels; ``j_t`` sentiment events (``risk_shock``, for experiments only).

Each channel enters once: the index reaches the funds' margins (tomorrow's, set from today's
close) and the dealers' capacity (today's, at the same trial prices, :mod:`agents.dealers`); the
dealers' capital reaches their capacity through their equity, not through ``v``. With
``market.risk_endogenous = False``, ``a = c = 0``: the equity market, the news and events move it. The index
is capped at ``market.risk_index_max`` (zero derivative above it) and floored at 5; the part of
``ln v`` the cap or the floor removes is taken from ``q`` up to what ``q`` itself put there (its part of
the same sign), the rest from the slow part, so that a bounded index decays from the bound.

This block is evaluated after the customers' flows and before the dealers'
(:attr:`~model.sector.Sector.flows_stage` 1); it trades nothing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from numba import njit

from model.sector import AUX_FORCED, AUX_LOG_RISK, AUX_RISK_CHANNELS, FX, TRADING_DAYS, UST, Sector

__all__ = [
    "FORCED_SCALE_FLOOR",
    "RiskIndex",
    "RiskInputs",
    "expected_daily_vol",
    "forced_sales_scale",
    "risk_flows",
    "risk_index_level",
    "SMOOTHING",
]

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# ε in g(r): a hundredth of a percent, far below a calm day's move (~0.6%)
SMOOTHING = 1e-4
# the index's floor, index points: an assumption, not estimated, about half the VIX's record low (~9.1,
# market.risk_index's range note), so that ln v is bounded below without binding in any default run
FLOOR = 5.0
LOG_FLOOR = math.log(FLOOR)


def risk_index_level(log_v: float, market_cfg) -> float:
    """The index from the clearing's ``ln v``: the cap and the floor exactly where they bind (``exp`` of
    ``ln 150`` is 149.99999999999997, which a count of the days at the cap would miss)."""
    if log_v >= math.log(market_cfg.risk_index_max):
        return market_cfg.risk_index_max
    if log_v <= LOG_FLOOR:
        return FLOOR
    return math.exp(log_v)


class RiskInputs(NamedTuple):
    s_prev: float  # yesterday's ln S
    log_v_prev: float
    log_mean: float  # ln v̄
    persistence: float  # ρ
    vol_sensitivity: float  # a (0 when not endogenous)
    forced_sensitivity: float  # c (0 when not endogenous)
    expected_vol: float  # σ_{t−1}: the daily USD/JPY volatility the move is measured against (expected_daily_vol)
    news: float  # n_t + j_t
    carry_stock: float  # K, USD bn (floored)
    log_max: float
    equity_sensitivity: float  # e
    equity_before: float  # today's ln E change known before trading (news, drift, own shock)
    equity_duration: float  # D_e: ln E per unit of the US 10y yield
    y_us_prev: float  # yesterday's US 10y yield
    channels_prev: float = 0.0  # q_{t−1}: the part of ln v − ln v̄ the USD/JPY move and forced sales put there
    channel_persistence: float = 0.0  # ρ_c (its term is exactly zero when ρ_c = ρ or q_{t−1} = 0)


@njit(cache=True)
def risk_flows(p, inp, z, jac, gross, out, aux):
    """Write ln v at the trial prices and the part ``q`` that the USD/JPY move and forced sales put there,
    with their derivatives, into ``aux`` (see the module docstring)."""
    r = p[FX] - inp.s_prev
    root = math.sqrt(r * r + SMOOTHING * SMOOTHING)
    g = root / inp.expected_vol - SQRT_2_OVER_PI
    vol = inp.vol_sensitivity * g
    forced = inp.forced_sensitivity * aux[AUX_FORCED, 0] / inp.carry_stock
    equity = inp.equity_sensitivity * (inp.equity_before - inp.equity_duration * (p[UST] - inp.y_us_prev))
    log_v = (
        inp.log_mean
        + inp.persistence * (inp.log_v_prev - inp.log_mean)
        + (inp.channel_persistence - inp.persistence) * inp.channels_prev
        + vol
        + forced
        - equity
        + inp.news
    )
    channels = inp.channel_persistence * inp.channels_prev + vol + forced
    n = aux.shape[1] - 1
    if log_v >= inp.log_max or log_v <= LOG_FLOOR:
        bounded = min(max(log_v, LOG_FLOOR), inp.log_max)
        aux[AUX_LOG_RISK, 0] = bounded
        # q gives up only the part of the excess it put there (its own sign's part); the rest is the slow
        # part's, so that the index decays from the bound at ρ once the excess is gone, and is not held at
        # the bound while a q charged beyond its own size decays at ρ_c < ρ
        excess = log_v - bounded  # > 0 at the cap, < 0 at the floor
        own = min(excess, max(channels, 0.0)) if excess > 0.0 else max(excess, min(channels, 0.0))
        aux[AUX_RISK_CHANNELS, 0] = channels - own
        for k in range(n):
            aux[AUX_LOG_RISK, 1 + k] = 0.0
            aux[AUX_RISK_CHANNELS, 1 + k] = 0.0
        return
    aux[AUX_LOG_RISK, 0] = log_v
    aux[AUX_RISK_CHANNELS, 0] = channels
    for k in range(n):
        aux[AUX_RISK_CHANNELS, 1 + k] = inp.forced_sensitivity * aux[AUX_FORCED, 1 + k] / inp.carry_stock
    aux[AUX_RISK_CHANNELS, 1 + FX] += inp.vol_sensitivity * r / (root * inp.expected_vol)
    for k in range(n):  # ln v: the same, plus the equity market's link through the US yield
        aux[AUX_LOG_RISK, 1 + k] = aux[AUX_RISK_CHANNELS, 1 + k]
    aux[AUX_LOG_RISK, 1 + UST] += inp.equity_sensitivity * inp.equity_duration


# 'realised' yardstick: floor on the expected daily volatility, a hundredth of a calm day's move (~0.6%),
# so that the standardised move stays finite in a run whose past moves were all zero
MIN_REALISED_VOL = 6e-5


def expected_daily_vol(mk, cfg) -> float:
    """σ_{t−1}, the daily USD/JPY volatility the day's move is measured against (``market.risk_vol_yardstick``)."""
    if cfg.risk_vol_yardstick == "realised":
        return max(math.sqrt(mk.ewma_var_daily), MIN_REALISED_VOL)
    return cfg.implied_fx_vol_pa(mk.risk_index) / math.sqrt(TRADING_DAYS)


# K's floor, USD bn: a numerical assumption, not estimated, so that a day after the funds have nearly all
# unwound does not divide by almost nothing (docs/model/state.md)
FORCED_SCALE_FLOOR = 10.0


def forced_sales_scale(signals: dict[str, float], scale: str) -> float:
    """``K``, the stock the day's forced sales are a share of, from yesterday's published positions (USD bn).

    ``"carry_funds"``: the funds' net forwards; ``"leveraged_long"``: those plus the retail accounts' and
    the CTAs' long dollars, the positions whose stop-outs and liquidations the forced sales also count.
    Floored at :data:`FORCED_SCALE_FLOOR`.
    """
    stock = signals.get("carry_stock_usd_bn", 0.0)
    if scale == "leveraged_long":
        stock = stock + signals.get("retail_long_usd_bn", 0.0) + signals.get("cta_long_usd_bn", 0.0)
    return max(stock, FORCED_SCALE_FLOOR)


class RiskIndex(Sector):
    """The risk index as a block of the clearing: no trades, no ledger rows, one column of its own.

    Reads the positions forced sales are measured against (``carry_stock_usd_bn``, and with
    ``market.risk_forced_scale = "leveraged_long"`` also ``retail_long_usd_bn`` and ``cta_long_usd_bn``)
    from ``model.signals``; the model takes the index at the cleared prices from the clearing
    (``Day.log_risk_index``) into the market state.
    """

    name = "risk_index"
    ledger_rows = ()
    flows = risk_flows
    flows_stage = 1
    columns = ("forced_sales_usd_bn",)

    def __init__(self, model) -> None:
        super().__init__(model)
        self.forced_usd_bn = 0.0
        self.channels = 0.0  # q: the part of ln v − ln v̄ the USD/JPY move and forced sales put there

    def clearing_inputs(self, model) -> RiskInputs:
        mk, cfg = model.market, model.config.market
        on = cfg.risk_endogenous
        return RiskInputs(
            s_prev=mk.log_usdjpy,
            log_v_prev=math.log(mk.risk_index),
            log_mean=math.log(cfg.risk_index_mean),
            persistence=cfg.risk_persistence,
            vol_sensitivity=cfg.risk_vol_sensitivity if on else 0.0,
            forced_sensitivity=cfg.risk_forced_sensitivity if on else 0.0,
            expected_vol=expected_daily_vol(mk, cfg),
            news=mk.risk_news(),
            equity_sensitivity=cfg.risk_equity_sensitivity,
            equity_before=model.macro.equity_return_before_trading(),
            equity_duration=model.config.macro.equity_rate_duration,
            y_us_prev=mk.ust10y_yield,
            carry_stock=forced_sales_scale(model.signals, cfg.risk_forced_scale),
            log_max=math.log(cfg.risk_index_max),
            channels_prev=self.channels,
            channel_persistence=cfg.risk_channel_persistence_ratio * cfg.risk_persistence,
        )

    def settle(self, model, day) -> None:
        self.forced_usd_bn = float(day.aux[AUX_FORCED, 0])
        self.channels = float(day.aux[AUX_RISK_CHANNELS, 0])

    def record(self, model) -> dict[str, float]:
        return {"forced_sales_usd_bn": self.forced_usd_bn}
