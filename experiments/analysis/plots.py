"""Figures of a run's time series.

Every panel function draws on the ``ax`` it is given and returns it; :func:`plot_overview`
arranges the six panels in one :class:`matplotlib.figure.Figure`. Nothing here touches pyplot's
global state or calls ``plt.show()``, so the functions work the same in scripts (no display), in
notebooks (``display(fig)`` or return the figure from a cell) and inside the browser app.

Colours are the Okabe-Ito palette of :mod:`experiments.analysis.style`, the one plotting style
of the project. One colour means one thing across panels: vermilion is the US, blue is Japan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from experiments.analysis.style import OKABE_ITO, style_axes, style_legend

__all__ = [
    "plot_overview",
    "plot_usdjpy",
    "plot_yields",
    "plot_risk_index",
    "plot_carry_stock",
    "plot_stress",
    "plot_clearing",
    "save_figure",
]

COLORS = {
    "usdjpy": OKABE_ITO["black"],
    "us": OKABE_ITO["vermilion"],
    "jp": OKABE_ITO["blue"],
    "risk": OKABE_ITO["reddish_purple"],
    "gross": OKABE_ITO["bluish_green"],
    "equity": OKABE_ITO["orange"],
    "margin_calls": OKABE_ITO["sky_blue"],
    "failures": OKABE_ITO["vermilion"],
    "residual": OKABE_ITO["black"],
    "iterations": OKABE_ITO["sky_blue"],
    "event": "0.45",
}

Event = tuple[float, str]


def _mark_events(ax: Axes, events: Iterable[Event] | None) -> None:
    for day in sorted({day for day, _ in events or ()}):
        ax.axvline(day, color=COLORS["event"], linestyle=":", linewidth=1.0, zorder=0.5)


# the event key under the panels: days listed before "… and N more days", characters per line
EVENT_KEY_DAYS = 24
EVENT_KEY_WIDTH = 190
_NUMBER_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}


def event_days(events: Iterable[Event] | None) -> list[tuple[float, list[str]]]:
    """The events grouped by day, in day order: ``(day, labels)`` with each label once, in the order given."""
    days: dict[float, list[str]] = {}
    for day, label in events or ():
        labels = days.setdefault(day, [])
        if label not in labels:
            labels.append(label)
    return sorted(days.items())


def number_event_days(ax: Axes, grouped: Sequence[tuple[float, Sequence[str]]], *, min_gap: float = 0.025) -> None:
    """Number the event days ``grouped`` (:func:`event_days`, with x positions in the panel's data units) at
    the top of ``ax``: 1, 2, ... in order; a number closer than ``min_gap`` (a share of the x range) to the
    last one in its row steps down a row."""
    lo, hi = ax.get_xlim()
    gap = min_gap * (hi - lo)
    last_in_row: list[float] = []
    for k, (x, _) in enumerate(grouped, start=1):
        row = next((r for r, last in enumerate(last_in_row) if x - last >= gap), len(last_in_row))
        if row == len(last_in_row):
            last_in_row.append(x)
        else:
            last_in_row[row] = x
        ax.annotate(str(k), xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -2 - 9 * row),
                    textcoords="offset points", ha="center", va="top", fontsize=7.5, color="0.3",
                    bbox=_NUMBER_BOX)  # fmt: skip


def event_key(items: Sequence[str], width: int = EVENT_KEY_WIDTH) -> str:
    """The key naming numbered event days: ``"events: 1 … · 2 …"``, lines at most ``width`` characters
    (broken between events, never inside one), the days after ``EVENT_KEY_DAYS`` counted, not listed."""
    items = list(items)
    if len(items) > EVENT_KEY_DAYS:
        items = items[:EVENT_KEY_DAYS] + [f"… and {len(items) - EVENT_KEY_DAYS} more days"]
    lines = ["events:"]
    for item in items:
        if len(lines[-1]) + 3 + len(item) > width and lines[-1] != "events:":
            lines.append(item)
        else:
            lines[-1] += (" " if lines[-1] == "events:" else " · ") + item
    return "\n".join(lines)


def _label_events(ax: Axes, events: Iterable[Event] | None, dates: pd.Series | None = None) -> str:
    """Number the event days at the top of one panel (:func:`number_event_days`) and return the key that
    names them, ``"events: 1 day 8 fed path news, mof intervention · 2 ..."`` (with each day's date from
    ``dates``, the run's ``date`` column, where given).

    Several events in a few days would make their names one smear of text over the data, so the
    panel shows only numbers and the names go in the key.
    """
    grouped = event_days(events)
    if not grouped:
        return ""
    number_event_days(ax, grouped)

    def when(day: float) -> str:
        if dates is not None and float(day).is_integer() and 0 <= day < len(dates):
            return f"day {day:g} ({pd.Timestamp(dates.iloc[int(day)]):%-d %b %Y})"
        return f"day {day:g}"

    return event_key(f"{k} {when(day)} {', '.join(labels)}" for k, (day, labels) in enumerate(grouped, start=1))


def plot_usdjpy(df: pd.DataFrame, ax: Axes, *, events: Iterable[Event] | None = None) -> Axes:
    """USD/JPY (yen per dollar). A fall is a yen appreciation: the carry trade losing money."""
    ax.plot(df["day"], df["usdjpy"], color=COLORS["usdjpy"], linewidth=1.2)
    _mark_events(ax, events)
    return style_axes(ax, "USD/JPY", "JPY per USD")


def plot_yields(df: pd.DataFrame, ax: Axes, *, events: Iterable[Event] | None = None) -> Axes:
    """10-year UST and JGB yields in % a year, with the policy rates dashed where recorded."""
    day = df["day"]
    ax.plot(day, 100 * df["ust10y_yield"], color=COLORS["us"], linewidth=1.2, label="UST 10y")
    ax.plot(day, 100 * df["jgb10y_yield"], color=COLORS["jp"], linewidth=1.2, label="JGB 10y")
    if "us_short_rate" in df:
        ax.plot(day, 100 * df["us_short_rate"], color=COLORS["us"], lw=0.9, linestyle="--", label="US policy rate")
    if "boj_rate" in df:
        ax.plot(day, 100 * df["boj_rate"], color=COLORS["jp"], lw=0.9, linestyle="--", label="BoJ rate")
    ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0.6)
    _mark_events(ax, events)
    style_legend(ax, ncols=2, loc="best")
    return style_axes(ax, "Yields and policy rates", "% per annum")


def plot_risk_index(df: pd.DataFrame, ax: Axes, *, events: Iterable[Event] | None = None) -> Axes:
    """The VIX-like risk index (index points)."""
    ax.plot(df["day"], df["risk_index"], color=COLORS["risk"], linewidth=1.2)
    ax.fill_between(df["day"], df["risk_index"], color=COLORS["risk"], alpha=0.12, linewidth=0)
    ax.set_ylim(bottom=0)
    _mark_events(ax, events)
    return style_axes(ax, "Risk index (VIX-like)", "index points")


def plot_carry_stock(df: pd.DataFrame, ax: Axes, *, events: Iterable[Event] | None = None) -> Axes:
    """Hedge funds' carry stock, their net long-dollar/short-yen forward notional (``hf_net_usd_bn``), and
    their equity, USD bn."""
    ax.plot(df["day"], df["hf_net_usd_bn"], color=COLORS["gross"], linewidth=1.4, label="carry stock (net forwards)")
    ax.plot(df["day"], df["hf_equity_usd_bn"], color=COLORS["equity"], linewidth=1.2, label="fund equity")
    ax.set_ylim(bottom=0)
    _mark_events(ax, events)
    style_legend(ax, loc="best")
    return style_axes(ax, "Hedge-fund carry trade", "USD bn")


def plot_stress(df: pd.DataFrame, ax: Axes, *, events: Iterable[Event] | None = None) -> Axes:
    """Margin calls and fund failures per day (bars); totals in the legend.

    Failures are usually few next to margin calls, so the days with any are also marked by
    triangles along the bottom of the panel, visible whatever the bars' scale.
    """
    day = df["day"].to_numpy()
    calls = df["hf_margin_calls"].to_numpy()
    failures = df["hf_failures"].to_numpy()
    call_bars = ax.bar(
        day, calls, width=1.0, color=COLORS["margin_calls"], linewidth=0, label=f"margin calls ({calls.sum():,} in all)"
    )
    ax.bar(day, failures, width=1.0, color=COLORS["failures"], linewidth=0)
    failed = day[failures > 0]
    marks = dict(linestyle="none", marker="^", markersize=5, color=COLORS["failures"])
    label = f"failures ({failures.sum():,} in all)"
    if len(failed):
        (failure_marks,) = ax.plot(failed, np.full(len(failed), 0.03), transform=ax.get_xaxis_transform(), **marks)
    else:
        # a legend entry only: an empty line in the axes would upset the layout's bounding boxes
        failure_marks = Line2D([], [], **marks)
    failure_marks.set_label(label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if calls.sum() == 0 and failures.sum() == 0:
        ax.set_ylim(0, 1)
        ax.text(
            0.5,
            0.5,
            "no margin calls or failures",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="0.45",
        )
    else:
        ax.set_ylim(bottom=0)
        style_legend(ax, handles=[call_bars, failure_marks], loc="best")
    if len(day):
        ax.set_xlim(day.min() - 0.5, day.max() + 0.5)
    _mark_events(ax, events)
    return style_axes(ax, "Funding stress", "funds per day")


def plot_clearing(
    df: pd.DataFrame,
    ax: Axes,
    *,
    tolerance: float | None = None,
    events: Iterable[Event] | None = None,
) -> Axes:
    """Clearing residual (log scale, left) and Newton iterations (right) per day.

    Day 0 is the initial state and is left out (no clearing took place). Days that cleared
    exactly (residual 0) are drawn at the bottom of the axis. ``tolerance``, if given, is drawn
    as the solver's acceptance threshold.
    """
    d = df[df["day"] > 0]
    day = d["day"].to_numpy()
    residual = d["clearing_residual"].to_numpy(dtype=float)
    positive = residual[residual > 0]
    floor = positive.min() / 10 if len(positive) else 1e-16
    ax.set_yscale("log")
    ax.plot(
        day,
        np.maximum(residual, floor),
        linestyle="none",
        marker="o",
        markersize=1.8,
        color=COLORS["residual"],
        label="residual",
    )
    if tolerance is not None:
        ax.axhline(tolerance, color=COLORS["failures"], linewidth=1.0, linestyle="--", label="tolerance")
    highest = max([tolerance or 0.0, *positive, floor])
    ax.set_ylim(top=highest * 300)  # headroom above the threshold for the legend
    _mark_events(ax, events)
    style_axes(ax, "Market clearing", "max |excess demand| / volume")

    twin = ax.twinx()
    iterations = d["clearing_iterations"].to_numpy()
    twin.step(
        day,
        iterations,
        where="mid",
        color=COLORS["iterations"],
        linewidth=0.9,
        alpha=0.9,
        label="iterations (right)",
    )
    top = int(iterations.max()) if len(iterations) else 1
    twin.set_ylim(0, max(top, 1) * 2.2)  # keep the steps in the lower half, under the residuals
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    twin.set_ylabel("Newton iterations", fontsize=9)
    twin.tick_params(labelsize=8.5, colors="0.25")
    for side in ("top", "left"):
        twin.spines[side].set_visible(False)
    twin.spines["right"].set_color("0.4")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles,
        frameon=False,
        fontsize=8.5,
        loc="upper left",
        ncols=3,
        handlelength=1.6,
        markerscale=2.5,
        columnspacing=1.0,
    )
    return ax


def plot_overview(
    df: pd.DataFrame,
    *,
    title: str = "",
    axes: Sequence[Axes] | np.ndarray | None = None,
    events: Iterable[Event] | None = None,
    tolerance: float | None = None,
) -> Figure:
    """The six-panel overview of a run.

    Parameters
    ----------
    df
        A run's time series (``CarryUnwindModel.timeseries()`` or ``RunResult.timeseries``).
    title
        Figure title.
    axes
        Six axes to draw into (any shape, read row by row); a new 2 × 3 figure if omitted.
    events
        ``(day, label)`` pairs drawn as dotted vertical lines in every panel (scenario events), numbered
        at the top of the USD/JPY panel and named in a key under the panels (one number per day).
    tolerance
        Clearing tolerance drawn in the clearing panel (``config.simulation.clearing_tolerance``).

    Returns
    -------
    matplotlib.figure.Figure
        Save it with :func:`save_figure` or ``fig.savefig``; in a notebook it displays itself.
    """
    events = list(events or ())
    if axes is None:
        fig = Figure(figsize=(13.5, 7.2), layout="constrained")
        axs = list(fig.subplots(2, 3, sharex=True).ravel())
    else:
        axs = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axs) != 6:
            raise ValueError(f"axes must hold 6 Axes, got {len(axs)}")
        fig = axs[0].get_figure()
    plot_usdjpy(df, axs[0], events=events)
    plot_yields(df, axs[1], events=events)
    plot_risk_index(df, axs[2], events=events)
    plot_carry_stock(df, axs[3], events=events)
    plot_stress(df, axs[4], events=events)
    plot_clearing(df, axs[5], tolerance=tolerance, events=events)
    for ax in axs:
        spec = ax.get_subplotspec()
        if spec is None or spec.is_last_row():  # with a shared x axis only the bottom row is labelled
            ax.set_xlabel("trading day", fontsize=9)
    axs[0].xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    if title:
        fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    dates = (
        df["date"].reset_index(drop=True)
        if "date" in df and "day" in df and (df["day"].to_numpy() == np.arange(len(df))).all()
        else None
    )
    key = _label_events(axs[0], events, dates)
    if key:  # below the panels, where constrained layout makes room for it
        fig.supxlabel(key, x=0.01, ha="left", fontsize=8, color="0.3", linespacing=1.4)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Render ``fig`` with the Agg backend to ``path`` (PNG, PDF, SVG by suffix); returns the path.

    Uses a private Agg canvas, so it works without a display and leaves pyplot's backend alone. The
    file is written atomically (:func:`experiments.runner.save_figure_atomic`): whole or absent.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from experiments.runner import save_figure_atomic

    if fig.canvas is None or type(fig.canvas).__name__ == "FigureCanvasBase":
        FigureCanvasAgg(fig)
    return save_figure_atomic(fig, path, dpi=dpi, facecolor="white")
