"""Figures of the validation: return distribution and volatility clustering (model vs data), each judged
statistic across seeds against the data's interval, the episode."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.analysis.statistics import autocorrelation
from experiments.analysis.targets import ACF_PLOT_LAGS, EPISODE_OBSERVED, STATISTICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "validation_colors",
    "plot_return_distribution",
    "plot_abs_acf",
    "plot_statistic_check",
    "plot_episode_usdjpy",
    "plot_episode_carry",
    "validation_figure",
    "statistics_figure",
    "episode_figure",
]


def validation_colors() -> dict[str, str]:
    """One colour per role: the model, the data, the target."""
    from experiments.analysis.style import OKABE_ITO

    return {
        "model": OKABE_ITO["blue"],
        "data": OKABE_ITO["vermilion"],
        "data_without_plaza": OKABE_ITO["orange"],
        "target": OKABE_ITO["black"],
    }


def plot_return_distribution(
    model_returns: np.ndarray, data_returns: np.ndarray, ax: Axes, *, model_label: str = "model"
) -> Axes:
    """Log-density histograms of daily returns (in %), model vs data, each with its fitted normal.

    Parameters
    ----------
    model_returns
        Model log returns pooled over seeds, shape ``(n,)``; empty where no run completed (the data alone).
    data_returns
        Real log returns, shape ``(m,)``.
    ax
        Axes to draw on; returned.
    """
    from scipy import stats

    from experiments.analysis.style import style_axes, style_legend

    c = validation_colors()
    rm, rd = 100.0 * np.asarray(model_returns, dtype=float), 100.0 * np.asarray(data_returns, dtype=float)
    width = 0.25  # % a day: about a third of the data's standard deviation
    edge = width * (math.ceil(max(float(np.max(np.abs(r))) for r in (rm, rd) if r.size) / width) + 1)
    bins = np.arange(-edge, edge + width / 2, width)
    x = np.linspace(-edge, edge, 400)
    top = 0.0
    drawn = ((rm, c["model"], model_label),) if rm.size else ()  # no run completed: the data alone
    for r, color, label in (*drawn, (rd, c["data"], "data: Ecdat Garch, 1980–87")):
        dens, _ = np.histogram(r, bins=bins, density=True)
        top = max(top, float(dens.max()))
        dens = np.where(dens > 0, dens, np.nan)  # empty bins: no point on a log scale
        ax.stairs(dens, bins, color=color, linewidth=1.4, baseline=None, label=label)
        mu, sd = float(np.mean(r)), float(np.std(r, ddof=1))
        ax.plot(x, stats.norm.pdf(x, mu, sd), color=color, linewidth=0.9, linestyle="--", label="normal, same mean/sd")
    ax.set_yscale("log")
    # from half the density of one observation in the larger sample, so that every return shows
    ax.set_ylim(0.5 / (max(len(rm), len(rd)) * width), 2.0 * top)
    ax.set_xlabel("daily USD/JPY log return, %", fontsize=9)
    style_axes(ax, "Return distribution", "density (log scale)")
    style_legend(ax, loc="upper left")
    return ax


def plot_abs_acf(
    lags: Sequence[int],
    model_acf: np.ndarray,
    data_acf: np.ndarray,
    ax: Axes,
    *,
    n_data: int | None = None,
    data_intervals: Mapping[int, Sequence[float]] | None = None,
) -> Axes:
    """Autocorrelation of absolute returns by lag: model median with its 5–95 % band over seeds, and data.

    Parameters
    ----------
    lags
        Shape ``(L,)``.
    model_acf
        One row per seed, shape ``(n_seeds, L)``; no rows where no run completed (the data alone).
    data_acf
        Shape ``(L,)``.
    ax
        Axes to draw on; returned.
    n_data
        Length of the data series; if given, the ``±1.96/√n`` band of white noise is drawn.
    data_intervals
        Lag → the data's 90 % block-bootstrap interval at that lag (the judged lags), drawn as bars.
    """
    from experiments.analysis.style import style_axes, style_legend

    c = validation_colors()
    lags = np.asarray(lags)
    model_acf = np.asarray(model_acf, dtype=float).reshape(-1, len(lags))
    if len(model_acf):  # no row: no run completed, the data alone
        with warnings.catch_warnings():  # a lag undefined in every seed: a gap in the lines, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            q05, med, q95 = np.nanpercentile(model_acf, [5, 50, 95], axis=0)
        ax.fill_between(lags, q05, q95, color=c["model"], alpha=0.2, linewidth=0, label="model, 5–95 % over seeds")
        ax.plot(lags, med, color=c["model"], linewidth=1.6, label="model, median over seeds")
    ax.plot(lags, data_acf, color=c["data"], linewidth=1.0, marker="o", markersize=2.5, label="data")
    if n_data:
        ax.axhspan(
            -1.96 / math.sqrt(n_data),
            1.96 / math.sqrt(n_data),
            color="0.85",
            zorder=0,
            label="white noise, ±1.96/√n of the data",
        )
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    if data_intervals:
        for i, (lag, (lo, hi)) in enumerate(sorted(data_intervals.items())):
            ax.plot([lag, lag], [lo, hi], color=c["data"], linewidth=3.0, alpha=0.5, solid_capstyle="butt",
                    label="data, 90 % block-bootstrap interval" if i == 0 else None)  # fmt: skip
    ax.set_xlabel("lag, trading days", fontsize=9)
    style_axes(ax, "Volatility clustering", "autocorrelation of |returns|")
    style_legend(ax, loc="upper right")
    return ax


def validation_figure(
    model_returns: Sequence[np.ndarray],
    data_returns: np.ndarray,
    *,
    title: str = "",
    statistics: Mapping[str, Any] | None = None,
) -> Figure:
    """Two panels: the return distribution and the autocorrelation of absolute returns.

    ``model_returns`` holds one return series per completed seed; ``statistics`` (the report's
    statistics, optional) gives the data's intervals of the judged |return| autocorrelations. Where no
    run completed (``model_returns`` empty), both panels show the data alone and say so.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.5, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    model_returns = [np.asarray(r, dtype=float) for r in model_returns]
    pooled = np.concatenate(model_returns) if model_returns else np.empty(0)
    plot_return_distribution(pooled, data_returns, ax1, model_label=f"model: {len(model_returns)} seeds pooled")
    acfs = np.array([autocorrelation(np.abs(r), ACF_PLOT_LAGS) for r in model_returns]).reshape(-1, len(ACF_PLOT_LAGS))
    data_acf = autocorrelation(np.abs(data_returns), ACF_PLOT_LAGS)
    intervals = {}
    for name, row in (statistics or {}).items():
        if name.startswith("abs_acf_lag") and row.get("judged"):
            intervals[int(name.removeprefix("abs_acf_lag"))] = row["data"]["interval"]
    plot_abs_acf(ACF_PLOT_LAGS, acfs, data_acf, ax2, n_data=len(data_returns), data_intervals=intervals)
    if not model_returns:
        for ax in (ax1, ax2):
            ax.text(0.5, 0.5, "no run completed:\nthe data alone", transform=ax.transAxes, ha="center", va="center",
                    fontsize=10, color="0.35")  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=11.5, x=0.01, ha="left")
    return fig


def plot_statistic_check(row: Mapping[str, Any], ax: Axes, *, fmt: str = ".2f") -> Axes:
    """One statistic as judged: every seed's value, the model's 5–95 % range, and each version of the
    data with its 90 % interval.

    Parameters
    ----------
    row
        One statistic of the report (:func:`experiments.analysis.validation.statistics_report`).
    ax
        Axes to draw on; returned.
    fmt
        Format of the numbers in the title.
    """
    from experiments.analysis.style import style_axes
    from experiments.analysis.validation_report import format_value

    c = validation_colors()
    values = np.asarray(row["per_seed"], dtype=float)
    finite = values[np.isfinite(values)]
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(finite))  # fixed: the figure is reproducible
    ax.scatter(finite, 2.0 + jitter, s=12, color=c["model"], alpha=0.7, linewidths=0, label="model, one dot per seed")
    lo, hi = row["data"]["model_range"]
    if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
        ax.plot([lo, hi], [2.0, 2.0], color=c["model"], linewidth=5.0, alpha=0.3, solid_capstyle="butt",
                label="model, 5–95 % across seeds")  # fmt: skip
    rows = (("data", 1.0, "data"), ("data_without_plaza", 0.0, "data without 23 Sep 1985"))
    for key, y, label in rows:
        d = row[key]
        ilo, ihi = d["interval"]
        ax.plot([ilo, ihi], [y, y], color=c[key], linewidth=2.0, label=f"{label}, 90 % interval")
        ax.plot([d["value"]], [y], marker="D", color=c[key], markersize=5)
    ax.set_yticks([0.0, 1.0, 2.0], ["data without\nPlaza day", "data", "model"], fontsize=8)
    ax.set_ylim(-0.6, 2.6)
    n_missing = row.get("seeds_without_value", 0)
    style_axes(ax, "", "")
    ax.margins(x=0.05)
    ax.set_xlabel(
        f"data {format_value(row['data']['value'], fmt)} ({format_value(row['data_without_plaza']['value'], fmt)} "
        f"without Plaza)\nmodel 5–95 %: {format_value(lo, fmt)} to {format_value(hi, fmt)}"
        + (f"; {n_missing} seed{'s' if n_missing > 1 else ''} without a value" if n_missing else ""),
        fontsize=8,
    )

    def flag(ok: bool | None) -> str:
        return "–" if ok is None else ("pass" if ok else "FAIL")

    ax.set_title(
        f"{row['label']}\n{flag(row['pass'])} with data · {flag(row['pass_without_plaza'])} without Plaza day",
        fontsize=8.5,
        loc="left",
    )
    return ax


def statistics_figure(statistics: Mapping[str, Mapping[str, Any]], *, title: str = "") -> Figure:
    """One panel per judged statistic (:func:`plot_statistic_check`)."""
    from matplotlib.figure import Figure

    names = [n for n, row in statistics.items() if row["judged"]]
    ncols = 3
    nrows = max(1, -(-len(names) // ncols))
    fig = Figure(figsize=(11.5, 2.5 * nrows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, name in zip(axes, names, strict=False):
        fmt = STATISTICS[name].fmt if name in STATISTICS else ".2f"
        plot_statistic_check(statistics[name], ax, fmt=fmt)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if names:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    if title:
        fig.suptitle(
            title
            + "\npass: the data's value inside the model's 5–95 % range across seeds (failed runs counted against it)",
            fontsize=10.5,
            x=0.01,
            ha="left",
        )
    return fig


def _observed_days(calendar: Any, days: int) -> list[tuple[int, float, str]]:
    """The observed peak and trough closes (the model's USD/JPY is a daily close) as (trading day, USD/JPY,
    label), where they fall in the window."""
    out = []
    for key, level in (("usdjpy_peak_date", "usdjpy_peak"), ("usdjpy_trough_date", "usdjpy_trough")):
        d = calendar.day_of(EPISODE_OBSERVED[key])
        if 0 <= d <= days:
            out.append((d, EPISODE_OBSERVED[level], EPISODE_OBSERVED[key]))
    return out


def plot_episode_usdjpy(
    day: np.ndarray, paths: np.ndarray, ax: Axes, *, observed: Sequence[tuple[int, float, str]] = ()
) -> Axes:
    """USD/JPY in the episode: one thin line per seed, the median path, and the observed peak and trough.

    ``paths`` has shape ``(n_seeds, days + 1)``; ``observed`` holds ``(day, level, label)`` points.
    """
    from experiments.analysis.style import style_axes, style_legend

    c = validation_colors()
    for p in paths:
        ax.plot(day, p, color=c["model"], linewidth=0.6, alpha=0.35)
    ax.plot(day, np.median(paths, axis=0), color=c["model"], linewidth=1.8, label="model, median path")
    ax.plot([], [], color=c["model"], linewidth=0.6, alpha=0.5, label="model, one line per seed")
    if observed:
        xs, ys, _ = zip(*observed, strict=True)
        ax.plot(
            xs, ys, color=c["data"], linestyle="--", marker="o", linewidth=1.2, label="observed closes, peak → trough"
        )
        for x, y, label in observed:
            ax.annotate(label, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8, color=c["data"])
    ax.set_xlabel("trading day", fontsize=9)
    style_axes(ax, "USD/JPY", "JPY per USD")
    style_legend(ax, loc="lower left")
    return ax


def plot_episode_carry(day: np.ndarray, gross: np.ndarray, shock_day: int, ax: Axes) -> Axes:
    """The hedge funds' carry stock per seed, indexed to 100 on the pre-shock day, with the observed range.

    ``gross`` has shape ``(n_seeds, days + 1)`` in USD bn.
    """
    from experiments.analysis.style import style_axes, style_legend

    c = validation_colors()
    pre = int(np.flatnonzero(np.asarray(day) >= shock_day - 1)[0])
    idx = 100.0 * gross / gross[:, pre : pre + 1]
    for p in idx:
        ax.plot(day, p, color=c["model"], linewidth=0.6, alpha=0.35)
    ax.plot(day, np.median(idx, axis=0), color=c["model"], linewidth=1.8, label="model, median path")
    lo, hi = EPISODE_OBSERVED["carry_fall_pct_range"]
    ax.axhspan(
        100.0 - hi, 100.0 - lo, color=c["data"], alpha=0.15, linewidth=0, label=f"observed: {lo:.0f}–{hi:.0f} % unwound"
    )
    ax.axvline(day[pre], color="0.45", linestyle=":", linewidth=1.0, label="pre-shock day")
    ax.set_xlabel("trading day", fontsize=9)
    style_axes(ax, "Hedge funds' carry stock", "index, pre-shock day = 100")
    style_legend(ax, loc="lower left")
    return ax


def episode_figure(report: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], calendar: Any) -> Figure:
    """Two panels of the simulated episode: USD/JPY and the carry stock, every seed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.5, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    day = runs[0]["day"]
    plot_episode_usdjpy(
        day, np.array([r["usdjpy"] for r in runs]), ax1, observed=_observed_days(calendar, int(day[-1]))
    )
    plot_episode_carry(day, np.array([r["hf_gross_usd_bn"] for r in runs]), report["shock_day"], ax2)
    fig.suptitle(
        f"{report['scenario']} · {len(runs)} seeds · {report['days']} trading days from {report['start_date']}",
        fontsize=11.5,
        x=0.01,
        ha="left",
    )
    return fig
