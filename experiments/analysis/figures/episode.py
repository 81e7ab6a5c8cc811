"""The August 2024 replay and the model-vs-data return statistics (figures 1 and 5)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


from experiments.analysis.figures.settings import (
    EVENT_LABELS,
    RETURN_DAYS,
    SEEDS,
    band,
    figure_colors,
    plain,
)
from experiments.analysis.targets import held_out_seeds

__all__ = [
    "replay_paths",
    "plot_replay_usdjpy",
    "plot_replay_carry",
    "build_replay",
    "draw_replay",
    "build_positioning",
    "build_returns",
]


def replay_paths(seeds: Sequence[int], *, days: int | None = None, workers: int = 1,
                 conditional: bool = True) -> dict[str, Any]:  # fmt: skip
    """Run ``boj_hike_2024`` over ``seeds``: USD/JPY and the carry stock as median and 5–95 % bands.

    Returns a JSON-ready dictionary: ``dates`` (one per trading day, day 0 first), ``usdjpy``
    and ``carry_index`` (each ``q05``, ``median``, ``q95`` over seeds; the carry stock indexed
    to 100 on the pre-shock day of :func:`experiments.analysis.validation.episode_measures`), the scenario's
    ``events``, the ``observed`` anchor points and unwound share (only the documented numbers of
    :data:`experiments.analysis.validation.EPISODE_OBSERVED`) and the episode ``measures`` per seed.
    With ``conditional``, also ``conditional``: the medians of the same two series in the variant whose
    expected Fed path follows the observed 2y closes to 1 Aug (:data:`experiments.analysis.replay.CONDITIONAL`),
    over the same seeds, its carry stock indexed on the same day.
    """
    from experiments.analysis.hypotheses import Arm, run_arms
    from experiments.analysis.replay import CONDITIONAL
    from experiments.analysis.targets import EPISODE, EPISODE_DAYS, EPISODE_OBSERVED
    from experiments.analysis.validation import episode_measures, observation_windows
    from model.calendar import TradingCalendar
    from model.scenarios import load_scenario

    days = days or EPISODE_DAYS
    scenario = load_scenario(EPISODE)
    calendar = TradingCalendar(scenario.config.market.start_date)
    cols = ("usdjpy", "hf_gross_usd_bn", "risk_index")
    arms = [Arm(EPISODE, s, days, columns=cols) for s in seeds]
    if conditional:
        arms += [Arm(CONDITIONAL, s, days, columns=cols) for s in seeds]
    out = run_arms(arms, workers)
    runs, conditional_runs = out[: len(seeds)], out[len(seeds) :]
    shock_day = scenario.events[0].day if scenario.events else 1
    day = np.arange(days + 1)
    fall_end, carry_end = observation_windows(scenario, days)  # the validation's windows (5 and 9 Aug)
    measures = [
        {"seed": s, **episode_measures(day, r["usdjpy"], r["hf_gross_usd_bn"], r["risk_index"], shock_day,
                                       fall_end_day=fall_end, carry_end_day=carry_end)}
        for s, r in zip(seeds, runs, strict=True)
    ]  # fmt: skip
    pre = shock_day - 1
    usdjpy = np.array([r["usdjpy"] for r in runs])
    gross = np.array([r["hf_gross_usd_bn"] for r in runs])
    obs = EPISODE_OBSERVED
    anchors = [
        {"date": obs[f"usdjpy_{k}_date"], "usdjpy": obs[f"usdjpy_{k}"], "day": calendar.day_of(obs[f"usdjpy_{k}_date"])}
        for k in ("peak", "trough")
    ]
    summary = {
        k: {
            "median": float(np.median([m[k] for m in measures])),
            "q05": float(np.percentile([m[k] for m in measures], 5)),
            "q95": float(np.percentile([m[k] for m in measures], 95)),
        }
        for k in ("usdjpy_change_pct", "usdjpy_fall_days", "carry_fall_pct", "risk_index_peak")
    }
    extra = {}
    if conditional_runs:
        cond_gross = np.array([r["hf_gross_usd_bn"] for r in conditional_runs])
        extra["conditional"] = {
            "scenario": CONDITIONAL,
            "usdjpy_median": np.median(np.array([r["usdjpy"] for r in conditional_runs]), axis=0).tolist(),
            "carry_index_median": np.median(100.0 * cond_gross / cond_gross[:, pre : pre + 1], axis=0).tolist(),
        }
    return {
        "scenario": scenario.name,
        "start_date": str(calendar.date(0)),
        "dates": [str(calendar.date(d)) for d in day],
        "pre_shock_day": pre,
        "usdjpy": band(usdjpy),
        "carry_index": band(100.0 * gross / gross[:, pre : pre + 1]),
        "events": [
            {"day": e.day, "date": str(calendar.date(e.day)), "kind": e.kind} for e in scenario.events if e.day <= days
        ],
        "observed": {
            "anchors": anchors,
            "usdjpy_change_pct": obs["usdjpy_change_pct"],
            "carry_unwound_pct": list(obs["carry_fall_pct_range"]),
            "carry_unwound_date": obs["carry_fall_date"],
            "sources": f"USD/JPY closes, {obs['usdjpy_peak']:.1f} on {obs['usdjpy_peak_date']} (the highest close "
            f"before the fall) and {obs['usdjpy_trough']:.1f} on {obs['usdjpy_trough_date']} (approximate closes; "
            "BoJ / Federal Reserve H.10; the model's USD/JPY is a daily close, and the intraday extremes, "
            f"{obs['usdjpy_intraday_high']:g} and {obs['usdjpy_intraday_low']:g}, are not drawn); 50–60 % of the yen "
            "carry trade unwound (bank estimates of 7-9 Aug 2024: Morgan Stanley ~60%, JPMorgan 50-60%)",
        },
        "summary": summary,
        "per_seed": plain(measures),
        **extra,
    }


def _dates(iso: Sequence[str]) -> np.ndarray:
    return np.array(iso, dtype="datetime64[D]")


def _date_axis(ax: Axes, dates: np.ndarray) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonthday=(1, 15)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{mdates.num2date(x):%d %b}".lstrip("0")))
    years = sorted({str(d)[:4] for d in (dates[0], dates[-1])})
    ax.set_xlabel("–".join(years))


def _event_labels(events: Sequence[Mapping[str, Any]]) -> list[tuple[float, list[str]]]:
    """The scenario's events grouped by date (:func:`experiments.analysis.plots.event_days`), each at its
    date's position on a date axis, with the paper's short names."""
    import matplotlib.dates as mdates

    from experiments.analysis.plots import event_days

    return event_days(
        (float(mdates.date2num(np.datetime64(e["date"]))), EVENT_LABELS.get(e["kind"], e["kind"].replace("_", " ")))
        for e in events
    )


def event_key(events: Sequence[Mapping[str, Any]]) -> str:
    """The key to the numbered event days of :func:`plot_replay_usdjpy`: ``"events: 1 11 Jul MoF, … · 2 …"``."""
    import matplotlib.dates as mdates

    from experiments.analysis.plots import event_key as key

    grouped = _event_labels(events)
    return key(
        (f"{k} {mdates.num2date(x):%-d %b} {', '.join(labels)}" for k, (x, labels) in enumerate(grouped, start=1)),
        width=120,
    )


def _mark_events(ax: Axes, events: Sequence[Mapping[str, Any]], *, numbers: bool) -> None:
    """A dotted line on each event's date; with ``numbers``, the days numbered along the top (names in
    :func:`event_key`)."""
    from experiments.analysis.plots import number_event_days

    c = figure_colors()
    for e in events:
        ax.axvline(np.datetime64(e["date"]), color=c["event"], linestyle=":", linewidth=0.8, zorder=0.5)
    if numbers:
        number_event_days(ax, _event_labels(events), min_gap=0.05)


def _plot_conditional(ax: Axes, x: np.ndarray, replay: Mapping[str, Any], key: str) -> None:
    """The median of the variant conditional on the Fed's repricing, dashed, where the data have it."""
    if "conditional" in replay:
        ax.plot(x, replay["conditional"][key], color=figure_colors()["second"], linestyle="--", linewidth=1.2,
                label="median, Fed path from the observed 2y (conditional)")  # fmt: skip


def plot_replay_usdjpy(replay: Mapping[str, Any], ax: Axes) -> Axes:
    """USD/JPY in the replay: model median and 5–95 % band over seeds; the observed anchor points as markers.

    Only the two documented anchor points are drawn (no observed daily path is implied), both closes, as
    the model's USD/JPY is: the highest close before the fall, 161.7 on 10 Jul, and the close of about 144
    on 5 Aug 2024 (:data:`experiments.analysis.targets.OBSERVED_CLOSES`).
    """
    from experiments.analysis.style import FONT

    c = figure_colors()
    x = _dates(replay["dates"])
    band = replay["usdjpy"]
    n = len(replay["per_seed"])
    ax.fill_between(
        x, band["q05"], band["q95"], color=c["model"], alpha=0.22, linewidth=0, label=f"model, 5–95 % ({n} seeds)"
    )
    ax.plot(x, band["median"], color=c["model"], label="model, median")
    _plot_conditional(ax, x, replay, "usdjpy_median")
    anchors = replay["observed"]["anchors"]
    ax.plot(
        _dates([a["date"] for a in anchors]),
        [a["usdjpy"] for a in anchors],
        linestyle="none",
        marker="D",
        markersize=4.5,
        color=c["observed"],
        markeredgecolor="white",
        markeredgewidth=0.5,
        zorder=4,
        label="observed closes (anchor points)",
    )
    for k, a in enumerate(anchors):
        d = np.datetime64(a["date"]).astype(object)
        offset, va = ((3, 5), "bottom") if k == 0 else ((5, 0), "center")  # the peak above, the trough beside
        ax.annotate(
            f"{d.day} {d:%b}: {a['usdjpy']:.1f}",
            (np.datetime64(a["date"]), a["usdjpy"]),
            xytext=offset,
            textcoords="offset points",
            va=va,
            fontsize=FONT["annotation"],
            color=c["observed"],
        )
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.2 * (hi - lo))  # room for the event numbers along the top
    _mark_events(ax, replay["events"], numbers=True)
    _date_axis(ax, x)
    ax.set_ylabel("JPY per USD")
    ax.set_title("USD/JPY", loc="left")
    ax.legend(loc="lower left")
    ax.set_xlim(x[0], x[-1])
    return ax


def plot_replay_carry(replay: Mapping[str, Any], ax: Axes) -> Axes:
    """The hedge funds' carry stock (gross, the day before the first event = 100), median and 5–95 % band,
    with the banks' estimates of the share unwound from the latest estimate's date (9 Aug) on. (The
    positioning figure measures the net stock from day 0 instead.)"""
    c = figure_colors()
    x = _dates(replay["dates"])
    band = replay["carry_index"]
    ax.fill_between(x, band["q05"], band["q95"], color=c["model"], alpha=0.22, linewidth=0, label="model, 5–95 %")
    ax.plot(x, band["median"], color=c["model"], label="model, median")
    _plot_conditional(ax, x, replay, "carry_index_median")
    lo, hi = replay["observed"]["carry_unwound_pct"]
    estimated = np.datetime64(replay["observed"]["carry_unwound_date"])  # the banks' estimates of 7-9 Aug
    ax.fill_between(
        [estimated, x[-1]],
        100.0 - hi,
        100.0 - lo,
        color=c["observed"],
        alpha=0.25,
        linewidth=0,
        label=f"observed: {lo:.0f}–{hi:.0f} % unwound (banks' estimates)",
    )
    _mark_events(ax, replay["events"], numbers=False)
    _date_axis(ax, x)
    ax.set_ylim(0, max(110.0, float(np.max(band["q95"])) * 1.05))
    ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("index, pre-shock day = 100")
    ax.set_title("Hedge funds' carry stock", loc="left")
    ax.legend(loc="lower left")
    return ax


def draw_replay(replay: Mapping[str, Any]) -> Figure:
    """Figure 1 from :func:`replay_paths`'s data: USD/JPY (a) and the carry stock (b), with the key to the
    numbered event days under the panels. Call it inside :func:`experiments.analysis.style.paper_style`."""
    from experiments.analysis.style import label_panels, paper_figure

    fig, (a, b) = paper_figure("two", 2.7, 1, 2)
    plot_replay_usdjpy(replay, a)
    plot_replay_carry(replay, b)
    label_panels([a, b])
    if replay["events"]:
        fig.supxlabel(event_key(replay["events"]), x=0.01, ha="left", fontsize=7, color="0.3", linespacing=1.3)
    return fig


def build_replay(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    seeds = held_out_seeds(SEEDS["aug2024_replay"][quick])  # the replay analysis's seeds
    replay = replay_paths(seeds, workers=workers)
    fig = draw_replay(replay)
    config = {"scenario": replay["scenario"], "days": len(replay["dates"]) - 1, "overrides": {}}
    return fig, {"seeds": seeds, "configuration": config, "data": replay}


def build_positioning(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    """The replay (news off, central sensitivity) across the funds' capital: each seed's fall and its carry stock's
    largest drawdown since 1 Jul against its day-0 carry stock (:func:`experiments.analysis.replay.run_positioning`)."""
    from experiments.analysis.replay import (
        MEASURES,
        PANEL_TITLES,
        SCENARIO,
        WINDOW_DAYS,
        draw_positioning,
        run_positioning,
    )
    from experiments.analysis.style import finish_axes, label_panels, paper_figure

    seeds = held_out_seeds(SEEDS["replay_positioning"][quick])
    days = WINDOW_DAYS + 5
    pos = run_positioning(seeds, days=days, workers=workers, progress=False)
    fig, (a, b) = paper_figure("two", 3.1, 1, 2)
    handles, labels = draw_positioning(pos, (a, b), marker_size=2.8)
    for ax, title in zip((a, b), PANEL_TITLES, strict=True):
        ax.set_title(textwrap.fill(title, 40), loc="left")  # at paper size a long title takes two lines
        ax.set_ylabel("% (one point per seed)")
        finish_axes(ax)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=6.5, handlelength=1.2)
    label_panels([a, b])
    keys = ("seed", "failed", *MEASURES)
    data = {
        **{k: v for k, v in pos.items() if k != "arms"},
        "arms": {
            name: {
                "capital_usd_bn": arm["capital_usd_bn"],
                "summary": arm["summary"],
                "per_seed": [{k: r[k] for k in keys} for r in arm["runs"]],
            }
            for name, arm in pos["arms"].items()
        },
    }
    config = {"scenario": SCENARIO, "days": days, "overrides": {"market__risk_news_sd": 0.0}}
    return fig, {"seeds": seeds, "configuration": config, "data": plain(data)}


def build_returns(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis.hypotheses import Arm, run_arms
    from experiments.analysis.statistics import autocorrelation, log_returns, return_statistics
    from experiments.analysis.style import finish_axes, label_panels, paper_figure
    from experiments.analysis.targets import ACF_PLOT_LAGS, BASELINE, BURN_IN
    from experiments.analysis.validation import load_usdjpy_data
    from experiments.analysis.validation_plots import plot_abs_acf, plot_return_distribution

    # validate's runs: its held-out seeds (1001 on, not the calibration's), its first 250 days dropped
    seeds = held_out_seeds(SEEDS["return_statistics"][quick])
    days = RETURN_DAYS[quick]
    data_returns, info = load_usdjpy_data()
    runs = run_arms([Arm(BASELINE, s, days, columns=("usdjpy",)) for s in seeds], workers)
    model_returns = [log_returns(np.asarray(r["usdjpy"])[BURN_IN:]) for r in runs]
    pooled = np.concatenate(model_returns)
    acfs = np.array([autocorrelation(np.abs(r), ACF_PLOT_LAGS) for r in model_returns])
    data_acf = autocorrelation(np.abs(data_returns), ACF_PLOT_LAGS)

    fig, (a, b) = paper_figure("two", 2.8, 1, 2)
    plot_return_distribution(pooled, data_returns, a, model_label=f"model: {len(seeds)} seeds pooled")
    plot_abs_acf(ACF_PLOT_LAGS, acfs, data_acf, b, n_data=len(data_returns))
    for ax in (a, b):
        finish_axes(ax)
    # at paper size validate's legends would cover the curves: shorter labels, in head-room above them
    lo, hi = a.get_ylim()
    a.set_ylim(lo, hi * 20.0)  # log scale: a decade and a bit
    _relegend(
        a,
        {"normal, same mean/sd": "normal fit", "data: Ecdat Garch, 1980–87": "data: Ecdat Garch 1980–87"},
        loc="upper right",
        ncols=2,
        columnspacing=1.0,
    )
    lo, hi = b.get_ylim()
    b.set_ylim(lo, hi + 0.4 * (hi - lo))
    _relegend(
        b,
        {
            "model, 5–95 % over seeds": "model, 5–95 %",
            "model, median over seeds": "model, median",
            "white noise, ±1.96/√n of the data": "white noise ±1.96/√n",
            "target minimum": "target (minimum)",
        },
        loc="upper right",
        ncols=2,
        columnspacing=1.0,
    )
    a.set_title("Daily return distribution", loc="left")
    b.set_title("Volatility clustering", loc="left")
    label_panels([a, b])

    # the histogram as plot_return_distribution bins it (0.25 % wide, symmetric), for the record
    rm, rd = 100.0 * pooled, 100.0 * data_returns
    width = 0.25
    edge = width * (math.ceil(max(float(np.max(np.abs(rm))), float(np.max(np.abs(rd)))) / width) + 1)
    bins = np.arange(-edge, edge + width / 2, width)
    numbers = {
        "data_source": info,
        "statistics": {
            "model_per_seed": [return_statistics(r) for r in model_returns],
            "data": return_statistics(data_returns),
        },
        "histogram": {
            "bin_edges_pct": bins,
            "model_density": np.histogram(rm, bins, density=True)[0],
            "data_density": np.histogram(rd, bins, density=True)[0],
        },
        "abs_acf": {"lags": list(ACF_PLOT_LAGS), **band(acfs), "data": data_acf},
    }
    config = {"scenario": BASELINE, "days": days, "burn_in": BURN_IN, "overrides": {}, "data": info["source"]}
    return fig, {"seeds": seeds, "configuration": config, "data": plain(numbers)}


def _relegend(ax: Axes, rename: Mapping[str, str], **kw: Any) -> None:
    """Draw the axes' legend again with some labels shortened."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [rename.get(label, label) for label in labels], **kw)
