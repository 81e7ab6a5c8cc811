"""Per-run summary metrics kept by parameter sweeps.

:func:`run_metrics` turns one run's time series into a flat dictionary of floats: the headline
figures of :func:`model.results.summarize` (reused, not recomputed) plus the figures sweeps need
on top of them: the speed of the largest yen move, the carry stock's and fund equity's troughs,
the worst one-day and one-week yen moves, the extremes of the UST yield and the Ministry of
Finance's intervention.

Every metric exists for every run, whatever columns the model writes today: a metric built on a
column that a sector adds later (``mof_intervention_jpy_tn``, the MoF sector's yen purchases) is
0.0 until that column exists. That keeps the Parquet schema of a sweep fixed while the model
grows. All values are floats (counts and days included), NaN where undefined (e.g. the speed of a
fall that never happened), so that a failed run's row is simply all-NaN.

``METRICS`` lists the names with their units, in a fixed order; a sweep specification's
``metrics = [...]`` picks a subset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["METRICS", "run_metrics"]

# name -> description with unit. Order is the column order of a sweep's results.
METRICS: dict[str, str] = {
    # the largest yen move: size, timing and speed
    "usdjpy_surge_60d_pct": "largest yen surge: fall of USD/JPY from a peak to a trough at most 60 trading "
    "days later, % of the peak",
    "usdjpy_surge_60d_days": "length of that surge, peak to trough, trading days (at most 60)",
    "usdjpy_max_fall_pct": "largest peak-to-trough fall of USD/JPY over the whole run (yen appreciation, "
    "a trend as well as a surge), % of the peak",
    "usdjpy_max_fall_days": "length of that fall, peak to trough, trading days",
    "usdjpy_max_fall_peak_day": "trading day of the peak before the largest fall",
    "usdjpy_max_fall_trough_day": "days to trough: trading day of the trough of the largest fall",
    "usdjpy_max_fall_speed_pct_per_day": "average speed of the largest fall, % per trading day (NaN if none)",
    "usdjpy_worst_day_pct": "largest one-day fall of USD/JPY, %",
    "usdjpy_worst_week_pct": "largest five-day fall of USD/JPY, %",
    "usdjpy_end": "USD/JPY on the last day, JPY per USD",
    "usdjpy_logret_sd": "standard deviation of daily USD/JPY log returns, a fraction (0.007 is 0.7 % a day, not %), "
    "every day of the run (no burn-in dropped)",
    "usdjpy_logret_excess_kurtosis": "excess kurtosis of daily USD/JPY log returns, every day of the run (no burn-in "
    "dropped, unlike the validation's and the calibration's, which drop the first 250 days)",
    # the carry trade's losses
    "hf_gross_max_drawdown_pct": "maximum drawdown of the hedge funds' carry stock (gross position), %",
    "hf_gross_trough_day": "trading day of the carry stock's trough",
    "hf_gross_days_to_trough": "length of the carry stock's largest drawdown, peak to trough, trading days",
    "hf_equity_max_drawdown_pct": "maximum drawdown of the live funds' equity, %",
    "hf_margin_calls_total": "margin calls over the run, fund-days",
    "hf_failures_total": "fund failures over the run, funds",
    "hf_alive_end": "funds in business on the last day",
    # policy and spill-overs
    "mof_intervention_jpy_tn": "MoF intervention used: sum of daily mof_intervention_jpy_tn, JPY tn (0 without it)",
    "mof_intervention_days": "trading days with a non-zero MoF intervention (0 without the column)",
    "risk_index_peak": "peak of the risk index, index points",
    "ust10y_change_bp": "UST 10y yield change, last day minus day 0, bp",
    "ust10y_max_rise_bp": "largest rise of the UST 10y yield above its day-0 level, bp",
    "ust10y_max_fall_bp": "largest fall of the UST 10y yield below its day-0 level, bp",
    "jgb10y_change_bp": "JGB 10y yield change, last day minus day 0, bp",
    # numerics
    "clearing_residual_max": "largest relative clearing residual over the run",
    "clearing_iterations_mean": "mean Newton iterations per trading day",
}

# taken as they are from model.results.summarize
_FROM_SUMMARY = (
    "usdjpy_surge_60d_pct",
    "usdjpy_surge_60d_days",
    "usdjpy_max_fall_pct",
    "usdjpy_max_fall_days",
    "usdjpy_max_fall_peak_day",
    "usdjpy_max_fall_trough_day",
    "usdjpy_end",
    "usdjpy_logret_sd",
    "usdjpy_logret_excess_kurtosis",
    "hf_gross_max_drawdown_pct",
    "hf_margin_calls_total",
    "hf_failures_total",
    "hf_alive_end",
    "risk_index_peak",
    "ust10y_change_bp",
    "jgb10y_change_bp",
    "clearing_residual_max",
    "clearing_iterations_mean",
)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _worst_fall_pct(s: np.ndarray, horizon: int) -> float:
    """Largest fall of ``s`` over ``horizon`` trading days, % (0 if it never falls).

    NaN for a series with a NaN (or an infinite) value anywhere: prices like that come from a run that
    failed, whose every metric is undefined, not from a run whose worst fall is that of its valid part
    (``min`` over ratios with a NaN is NaN, and ``max(0, NaN)`` would have read as "never falls").
    """
    if not np.all(np.isfinite(s)):
        return math.nan
    if len(s) <= horizon:
        return 0.0 if len(s) >= 2 else math.nan
    ratio = s[horizon:] / s[:-horizon]
    return float(max(0.0, 100.0 * (1.0 - ratio.min())))


def run_metrics(timeseries: pd.DataFrame, summary: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The sweep metrics of one run.

    Parameters
    ----------
    timeseries
        The run's time series, one row per trading day, day 0 included (``RunResult.timeseries``).
    summary
        ``model.results.summarize(timeseries)`` if already computed (``RunResult.summary``);
        computed here otherwise.

    Returns
    -------
    dict
        Every name of :data:`METRICS`, in that order, as a float (NaN where undefined).
    """
    from model.results import max_drawdown, summarize  # the same drawdown rule as the headline figures

    if summary is None:
        summary = summarize(timeseries)
    out = {name: _float(summary[name]) for name in _FROM_SUMMARY}

    fall, days = out["usdjpy_max_fall_pct"], out["usdjpy_max_fall_days"]
    out["usdjpy_max_fall_speed_pct_per_day"] = fall / days if days > 0 else math.nan
    s = timeseries["usdjpy"].to_numpy(dtype=float)
    out["usdjpy_worst_day_pct"] = _worst_fall_pct(s, 1)
    out["usdjpy_worst_week_pct"] = _worst_fall_pct(s, 5)

    day = timeseries["day"].to_numpy()
    _, peak, trough = max_drawdown(timeseries["hf_gross_usd_bn"].to_numpy(dtype=float))
    out["hf_gross_trough_day"] = float(day[trough])
    out["hf_gross_days_to_trough"] = float(day[trough] - day[peak])
    equity_fall, _, _ = max_drawdown(timeseries["hf_equity_usd_bn"].to_numpy(dtype=float))
    out["hf_equity_max_drawdown_pct"] = 100.0 * equity_fall

    if "mof_intervention_jpy_tn" in timeseries.columns:
        flow = timeseries["mof_intervention_jpy_tn"].to_numpy(dtype=float)
        out["mof_intervention_jpy_tn"] = float(np.nansum(flow))
        out["mof_intervention_days"] = float(np.count_nonzero(np.nan_to_num(flow)))
    else:  # no MoF sector in this model version: no intervention
        out["mof_intervention_jpy_tn"] = 0.0
        out["mof_intervention_days"] = 0.0

    y = timeseries["ust10y_yield"].to_numpy(dtype=float)
    out["ust10y_max_rise_bp"] = 1e4 * float(y.max() - y[0])
    out["ust10y_max_fall_bp"] = 1e4 * float(y[0] - y.min())
    return {name: out[name] for name in METRICS}
