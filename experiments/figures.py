"""``carry-unwind figures``: every figure of a paper about the model, from fixed seeds, with provenance.

Each figure is computed by the experiments that already exist — :mod:`experiments.hypotheses`
(its arms, the H1/H2/H7 experiments and their bootstrap intervals), :mod:`experiments.validate`
and :mod:`experiments.stats` (return statistics, the Ecdat data, the August 2024 measures),
:mod:`experiments.sweep` and :mod:`experiments.sensitivity` (a Saltelli sweep and its Sobol'
indices) — and drawn at its printed size in the style of :mod:`experiments.style`:

==========================  ======================================================================
``aug2024_replay``          ``boj_hike_2024`` over seeds (median, 5–95 % band) against the two
                            observed USD/JPY anchor points and the BIS estimate of the unwind
``phase_diagram``           yen surge and amplification ratio over leverage × trigger size
``feedback_ablation``       H1: amplification with each feedback channel switched off
``fiscal_vs_monetary``      H2: the yen's response to a fiscal and a monetary rise in JGB yields
``return_statistics``       return distribution and volatility clustering, model vs Ecdat data
``sensitivity``             Sobol' indices of the yen surge and of the carry-stock drawdown
``early_warning_roc``       H7: ROC curves of the two dashboards and each pillar's AUC
==========================  ======================================================================

For each figure ``NAME`` the command writes ``DIR/NAME.pdf`` and ``DIR/NAME.png`` and a sidecar
``DIR/NAME.json`` with the package version, the git commit, the seeds, the configuration and the
numbers plotted. The provenance (everything but the numbers) is also in the files' metadata: the
PDF's Title, Subject (the provenance as JSON) and Creator (``carry-unwind <version>``), the PNG's
Title, Description (the same JSON), Software and Source text chunks. Nothing in the files depends
on the time they were made or on ``--workers``: the same command gives the same numbers.

``--quick`` makes small versions (few seeds, short runs, coarse grids) for tests and previews.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from experiments.hypotheses import HypothesisResult
    from experiments.sensitivity import SensitivityResult

__all__ = [
    "FIGURES",
    "FigureDef",
    "make_figure",
    "write_figure",
    "make_figures",
    "replay_paths",
    "phase_diagram_data",
    "phase_legend_handles",
    "sensitivity_results",
    "plot_replay_usdjpy",
    "plot_replay_carry",
    "plot_phase_surge",
    "plot_phase_amplification",
    "plot_feedback_ablation",
    "plot_fiscal_vs_monetary",
    "plot_sensitivity",
    "plot_roc_curves",
    "plot_pillar_auc",
    "register",
]

log = logging.getLogger(__name__)


# -- the settings of each figure ------------------------------------------------------------------
def _seeds(n: int) -> list[int]:
    return list(range(1, n + 1))


# (full, quick) numbers of seeds; seeds are 1..N
SEEDS = {
    "aug2024_replay": (20, 4),
    "phase_diagram": (10, 2),
    "feedback_ablation": (10, 3),
    "fiscal_vs_monetary": (10, 3),
    "return_statistics": (20, 3),
    "early_warning_roc": (10, 3),
}
RETURN_DAYS = (2000, 500)  # trading days of each baseline run (validate's defaults and its --quick)
# leverage caps (x equity) and triggers (jump of the log risk index: 1.0 is risk_off's ×2.7)
PHASE_GRID = {
    False: ([1.5, 2.0, 3.0, 5.0, 8.0, 11.5, 16.0, 25.0], [0.1, 0.25, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5]),
    True: ([1.5, 6.0, 20.0], [0.25, 0.6, 1.2]),
}
PHASE_WINDOW = 40  # trading days after the trigger in which the surge is measured (as H1)
PHASE_SCENARIO = "baseline"
# risk_off's starting book without its scripted day-60 shock: the trigger is the only shock
PHASE_OVERRIDES = {"hedge_funds__initial_leverage_fraction": 1.0, "nisa__n_households": 2000}

# The Sobol' figure's sweep. Full: the parameters and sizes of experiments/specs/sobol_feedback.toml
# (kept here so that the figure does not change when that example is edited); quick: 3 parameters,
# N = 8, one replicate, 100 days.
SENSITIVITY_METRICS = ("usdjpy_max_fall_pct", "hf_gross_max_drawdown_pct")
_SENSITIVITY_PARAMETERS = {
    "hedge_funds.max_leverage": "{ range = [2.0, 20.0] }",
    "hedge_funds.margin_vol_elasticity": "{ range = [0.0, 3.0] }",
    "hedge_funds.trend_share": "{ range = [0.0, 0.5] }",
    "hedge_funds.flow_sensitivity": "{ range = [0.0, 0.5] }",
    "dealers.capacity_risk_elasticity": "{ range = [0.0, 2.0] }",
    "dealers.fx_capacity_usd_bn": "{ range = [100.0, 1600.0], log = true }",
    "market.risk_vol_sensitivity": "{ range = [0.0, 0.1] }",
}
_SENSITIVITY_QUICK = (
    "hedge_funds.max_leverage",
    "hedge_funds.margin_vol_elasticity",
    "dealers.capacity_risk_elasticity",
)
SENSITIVITY_SIZES = {False: dict(samples=256, replicates=4, days=250), True: dict(samples=8, replicates=1, days=100)}
PARAMETER_LABELS = {
    "hedge_funds.max_leverage": "leverage cap",
    "hedge_funds.margin_vol_elasticity": "margin tightening",
    "hedge_funds.trend_share": "trend followers",
    "hedge_funds.flow_sensitivity": "investor redemptions",
    "dealers.capacity_risk_elasticity": "dealer withdrawal",
    "dealers.fx_capacity_usd_bn": "dealer capacity",
    "market.risk_vol_sensitivity": "price → risk feedback",
}
PILLAR_LABELS = {
    "dash_a_boj_signal_bp": "BoJ signal",
    "dash_a_auction_tail_bp": "UST auction tails",
    "dash_a_fx_break_pct": "USD/JPY breaks",
    "dash_a_risk_index": "credit spreads / VIX",
    "dash_b_real_yield_pct": "real yields",
    "dash_b_political_support": "political support",
    "dash_b_indirect_bidding": "indirect bidding",
    "dash_b_zone": "155–160 zone",
}
EVENT_LABELS = {
    "mof_intervention": "MoF",
    "boj_rate": "BoJ",
    "us_short_rate": "Fed",
    "risk_shock": "risk-off",
    "supplementary_budget": "budget",
}


def _colors() -> dict[str, str]:
    from experiments.plots import OKABE_ITO

    return {
        "model": OKABE_ITO["blue"],
        "observed": OKABE_ITO["vermilion"],
        "a": OKABE_ITO["blue"],
        "b": OKABE_ITO["vermilion"],
        "second": OKABE_ITO["orange"],
        "event": "0.55",
    }


def _plain(x: Any) -> Any:
    """JSON-ready: numpy to Python, tuples to lists, NaN and infinities to ``None``."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def _band(paths: np.ndarray) -> dict[str, list[float]]:
    q05, med, q95 = np.percentile(paths, [5, 50, 95], axis=0)
    return {"q05": q05.tolist(), "median": med.tolist(), "q95": q95.tolist()}


def _none_to_nan(values: Sequence[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


# -- 1. the August 2024 replay ----------------------------------------------------------------------
def replay_paths(seeds: Sequence[int], *, days: int | None = None, workers: int = 1) -> dict[str, Any]:
    """Run ``boj_hike_2024`` over ``seeds``: USD/JPY and the carry stock as median and 5–95 % bands.

    Returns a JSON-ready dictionary: ``dates`` (one per trading day, day 0 first), ``usdjpy``
    and ``carry_index`` (each ``q05``, ``median``, ``q95`` over seeds; the carry stock indexed
    to 100 on the pre-shock day of :func:`experiments.validate.episode_measures`), the scenario's
    ``events``, the ``observed`` anchor points and unwound share (only the documented numbers of
    :data:`experiments.validate.EPISODE_OBSERVED`) and the episode ``measures`` per seed.
    """
    from experiments.hypotheses import Arm, run_arms
    from experiments.validate import EPISODE, EPISODE_DAYS, EPISODE_OBSERVED, episode_measures
    from model.calendar import TradingCalendar
    from model.scenarios import load_scenario

    days = days or EPISODE_DAYS
    scenario = load_scenario(EPISODE)
    calendar = TradingCalendar(scenario.config.market.start_date)
    cols = ("usdjpy", "hf_gross_usd_bn", "risk_index")
    runs = run_arms([Arm(EPISODE, s, days, columns=cols) for s in seeds], workers)
    shock_day = scenario.events[0].day if scenario.events else 1
    day = np.arange(days + 1)
    measures = [
        {"seed": s, **episode_measures(day, r["usdjpy"], r["hf_gross_usd_bn"], r["risk_index"], shock_day)}
        for s, r in zip(seeds, runs, strict=True)
    ]
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
    return {
        "scenario": scenario.name,
        "start_date": str(calendar.date(0)),
        "dates": [str(calendar.date(d)) for d in day],
        "pre_shock_day": pre,
        "usdjpy": _band(usdjpy),
        "carry_index": _band(100.0 * gross / gross[:, pre : pre + 1]),
        "events": [
            {"day": e.day, "date": str(calendar.date(e.day)), "kind": e.kind} for e in scenario.events if e.day <= days
        ],
        "observed": {
            "anchors": anchors,
            "usdjpy_change_pct": obs["usdjpy_change_pct"],
            "carry_unwound_pct": list(obs["carry_fall_pct_range"]),
            "sources": "USD/JPY 161.9 on 3 Jul and 141.7 on 5 Aug 2024 (BoJ/Bloomberg closes); 60–75 % of the yen "
            "carry trade unwound (BIS Bulletin 90)",
        },
        "summary": summary,
        "per_seed": _plain(measures),
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


def _event_groups(events: Sequence[Mapping[str, Any]], gap: int = 3) -> list[tuple[str, str]]:
    """Scenario events as ``(date, label)``, events less than ``gap`` trading days apart labelled together."""
    groups: list[list[Mapping[str, Any]]] = []
    for e in sorted(events, key=lambda e: e["day"]):
        if groups and e["day"] - groups[-1][-1]["day"] < gap:
            groups[-1].append(e)
        else:
            groups.append([e])
    out = []
    for g in groups:
        names = list(dict.fromkeys(EVENT_LABELS.get(e["kind"], e["kind"].replace("_", " ")) for e in g))
        out.append((g[0]["date"], ", ".join(names)))
    return out


def _mark_events(ax: Axes, events: Sequence[Mapping[str, Any]], *, labels: bool) -> None:
    from experiments.style import FONT

    c = _colors()
    for e in events:
        ax.axvline(np.datetime64(e["date"]), color=c["event"], linestyle=":", linewidth=0.8, zorder=0.5)
    if labels:
        for date, label in _event_groups(events):
            ax.annotate(
                label,
                xy=(np.datetime64(date), 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -1),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=FONT["annotation"] - 0.5,
                color="0.4",
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85),
            )


def plot_replay_usdjpy(replay: Mapping[str, Any], ax: Axes) -> Axes:
    """USD/JPY in the replay: model median and 5–95 % band over seeds; the observed anchor points as markers.

    Only the two documented closes are drawn (no observed daily path is implied): 161.9 on
    3 Jul and 141.7 on 5 Aug 2024.
    """
    from experiments.style import FONT

    c = _colors()
    x = _dates(replay["dates"])
    band = replay["usdjpy"]
    n = len(replay["per_seed"])
    ax.fill_between(
        x, band["q05"], band["q95"], color=c["model"], alpha=0.22, linewidth=0, label=f"model, 5–95 % ({n} seeds)"
    )
    ax.plot(x, band["median"], color=c["model"], label="model, median")
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
        label="observed (anchor points)",
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
    ax.set_ylim(lo, hi + 0.12 * (hi - lo))  # room for the event labels along the top
    _mark_events(ax, replay["events"], labels=True)
    _date_axis(ax, x)
    ax.set_ylabel("JPY per USD")
    ax.set_title("USD/JPY", loc="left")
    ax.legend(loc="lower left")
    ax.set_xlim(x[0], x[-1])
    return ax


def plot_replay_carry(replay: Mapping[str, Any], ax: Axes) -> Axes:
    """The hedge funds' carry stock (pre-shock day = 100), median and 5–95 % band, with the BIS estimate."""
    c = _colors()
    x = _dates(replay["dates"])
    band = replay["carry_index"]
    ax.fill_between(x, band["q05"], band["q95"], color=c["model"], alpha=0.22, linewidth=0, label="model, 5–95 %")
    ax.plot(x, band["median"], color=c["model"], label="model, median")
    lo, hi = replay["observed"]["carry_unwound_pct"]
    trough = np.datetime64(replay["observed"]["anchors"][-1]["date"])
    ax.fill_between(
        [trough, x[-1]],
        100.0 - hi,
        100.0 - lo,
        color=c["observed"],
        alpha=0.25,
        linewidth=0,
        label=f"observed: {lo:.0f}–{hi:.0f} % unwound (BIS)",
    )
    _mark_events(ax, replay["events"], labels=False)
    _date_axis(ax, x)
    ax.set_ylim(0, max(110.0, float(np.max(band["q95"])) * 1.05))
    ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("index, pre-shock day = 100")
    ax.set_title("Hedge funds' carry stock", loc="left")
    ax.legend(loc="lower left")
    return ax


def _build_replay(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.style import label_panels, paper_figure

    seeds = _seeds(SEEDS["aug2024_replay"][quick])
    replay = replay_paths(seeds, workers=workers)
    fig, (a, b) = paper_figure("two", 2.7, 1, 2)
    plot_replay_usdjpy(replay, a)
    plot_replay_carry(replay, b)
    label_panels([a, b])
    config = {"scenario": replay["scenario"], "days": len(replay["dates"]) - 1, "overrides": {}}
    return fig, {"seeds": seeds, "configuration": config, "data": replay}


# -- 2. the amplification phase diagram ------------------------------------------------------------
def phase_diagram_data(
    leverages: Sequence[float], jumps: Sequence[float], seeds: Sequence[int], *, workers: int = 1
) -> dict[str, Any]:
    """The yen surge after a risk shock over leverage caps × shock sizes, with and without feedback.

    For every leverage cap, seed and feedback setting (on; :data:`~experiments.hypotheses.FEEDBACK_OFF`)
    the ``baseline`` scenario with a fully positioned book runs once without a shock and once per
    shock size, a ``risk_shock`` on day :data:`~experiments.hypotheses.TRIGGER_DAY`. The surge is
    :func:`~experiments.hypotheses.impact`: the largest log gap below the same seed's no-shock path
    within :data:`PHASE_WINDOW` days. The amplification ratio is the mean surge with feedback over
    the mean surge without (a ratio of means: stable where the surge without feedback is tiny).

    Returns
    -------
    dict
        ``max_leverage`` (L,), ``log_jump`` (J,), and arrays of shape ``(J, L)`` as nested lists:
        ``surge_on_pct``, ``surge_off_pct`` (means over seeds, % of USD/JPY) and ``amplification``;
        ``surge_on_pct_per_seed`` has shape ``(J, L, seeds)``; ``reference`` is the cell that is
        exactly the ``risk_off`` scenario (the default leverage cap and its own shock).
    """
    from experiments.hypotheses import FEEDBACK_OFF, TRIGGER_DAY, Arm, _ev, _ov, impact, run_arms
    from model.config import ModelConfig
    from model.scenarios import load_scenario

    days = TRIGGER_DAY + PHASE_WINDOW
    feedback = {"on": {}, "off": FEEDBACK_OFF}
    arms = []
    for lev in leverages:
        for s in seeds:
            for fb in feedback.values():
                ov = _ov(**PHASE_OVERRIDES, **fb, hedge_funds__max_leverage=float(lev))
                arms.append(Arm(PHASE_SCENARIO, s, days, ov, (), ("usdjpy",)))
                arms += [
                    Arm(PHASE_SCENARIO, s, days, ov, (_ev(TRIGGER_DAY, "risk_shock", log_jump=float(j)),), ("usdjpy",))
                    for j in jumps
                ]
    runs = iter(run_arms(arms, workers))
    surge = {k: np.zeros((len(jumps), len(leverages), len(seeds))) for k in feedback}
    for li in range(len(leverages)):
        for si in range(len(seeds)):
            for k in feedback:
                control = next(runs)["usdjpy"]
                for ji in range(len(jumps)):
                    surge[k][ji, li, si] = 100.0 * impact(next(runs)["usdjpy"], control, TRIGGER_DAY, days)
    on, off = surge["on"].mean(axis=2), surge["off"].mean(axis=2)
    # the grid's cell that is exactly the risk_off scenario: default leverage cap, its own shock
    shock = next(e for e in load_scenario("risk_off").events if e.kind == "risk_shock")
    reference = {
        "max_leverage": ModelConfig().hedge_funds.max_leverage,
        "log_jump": shock.params["log_jump"],
        "trigger_day": shock.day,
        "label": "risk_off",
    }
    return {
        "scenario": PHASE_SCENARIO,
        "overrides": dict(PHASE_OVERRIDES),
        "trigger_day": TRIGGER_DAY,
        "window_days": PHASE_WINDOW,
        "feedback_off": dict(FEEDBACK_OFF),
        "reference": reference,
        "max_leverage": [float(v) for v in leverages],
        "log_jump": [float(v) for v in jumps],
        "surge_on_pct": on.tolist(),
        "surge_off_pct": off.tolist(),
        "amplification": (on / np.maximum(off, 1e-6)).tolist(),
        "surge_on_pct_per_seed": surge["on"].tolist(),
        "surge_off_pct_per_seed": surge["off"].tolist(),
    }


def _heatmap(ax: Axes, values: np.ndarray, phase: Mapping[str, Any], label: str, fmt: str) -> Any:
    from matplotlib.colors import Normalize

    from experiments.style import FONT, SEQUENTIAL_CMAP

    levs, jumps = phase["max_leverage"], phase["log_jump"]
    norm = Normalize(vmin=float(np.nanmin(values)), vmax=float(np.nanmax(values)))
    mesh = ax.pcolormesh(
        np.arange(len(levs) + 1) - 0.5,
        np.arange(len(jumps) + 1) - 0.5,
        values,
        cmap=SEQUENTIAL_CMAP,
        norm=norm,
        shading="flat",
    )
    for (ji, li), v in np.ndenumerate(values):
        ax.text(
            li,
            ji,
            format(v, fmt),
            ha="center",
            va="center",
            fontsize=FONT["annotation"] - 1,
            color="white" if norm(v) < 0.55 else "black",
        )
    ax.set_xticks(range(len(levs)), [f"{v:g}" for v in levs])
    ax.set_yticks(range(len(jumps)), [f"{v:g} (×{math.exp(v):.1f})" for v in jumps])
    ax.set_xlabel("leverage cap (× equity)")
    ax.set_ylabel("trigger: log jump of risk index")
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    cbar = ax.figure.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06)
    cbar.set_label(label, fontsize=FONT["label"])
    cbar.ax.tick_params(labelsize=FONT["tick"], width=0.5, length=2)
    cbar.outline.set_linewidth(0.5)
    return mesh


def _reference_cell(phase: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(leverage index, trigger index)`` of the cell that is the ``risk_off`` scenario, if on the grid."""
    ref = phase.get("reference")
    if not ref:
        return None
    levs, jumps = np.asarray(phase["max_leverage"]), np.asarray(phase["log_jump"])
    li, ji = int(np.argmin(np.abs(levs - ref["max_leverage"]))), int(np.argmin(np.abs(jumps - ref["log_jump"])))
    if math.isclose(levs[li], ref["max_leverage"]) and math.isclose(jumps[ji], ref["log_jump"]):
        return li, ji
    return None


def _mark_reference(ax: Axes, phase: Mapping[str, Any]) -> None:
    """Outline the cell of the ``risk_off`` scenario (default leverage cap, its shock), if it is on the grid."""
    from matplotlib.patches import Rectangle

    cell = _reference_cell(phase)
    if cell is not None:
        li, ji = cell
        ax.add_patch(
            Rectangle((li - 0.5, ji - 0.5), 1, 1, fill=False, edgecolor=_colors()["observed"], linewidth=1.4, zorder=3)
        )


def plot_phase_surge(phase: Mapping[str, Any], ax: Axes) -> Axes:
    """Heat map: the mean yen surge with every feedback channel on (% of USD/JPY), leverage × trigger."""
    _heatmap(ax, np.asarray(phase["surge_on_pct"]), phase, "yen surge, % (feedback on)", ".1f")
    _mark_reference(ax, phase)
    ax.set_title("Yen surge after the trigger", loc="left")
    return ax


def plot_phase_amplification(phase: Mapping[str, Any], ax: Axes, *, threshold: float = 2.0) -> Axes:
    """Heat map: surge with feedback / surge without; cells below H1's threshold (×2) hatched."""
    from matplotlib.patches import Rectangle

    ratio = np.asarray(phase["amplification"])
    _heatmap(ax, ratio, phase, "amplification (feedback on / off)", ".1f")
    for (ji, li), v in np.ndenumerate(ratio):
        if v < threshold:
            ax.add_patch(
                Rectangle((li - 0.5, ji - 0.5), 1, 1, fill=False, hatch="////", edgecolor="0.85", linewidth=0, zorder=2)
            )
    _mark_reference(ax, phase)
    ax.set_title("Amplification by feedback", loc="left")
    return ax


def phase_legend_handles(phase: Mapping[str, Any], threshold: float = 2.0) -> list[Any]:
    """Legend entries for the marks the phase diagram shows: the ``risk_off`` cell, cells below the threshold."""
    from matplotlib.patches import Patch

    handles = []
    if _reference_cell(phase) is not None:
        label = "the risk_off scenario (default leverage cap, its shock)"
        handles.append(Patch(facecolor="none", edgecolor=_colors()["observed"], linewidth=1.4, label=label))
    if np.nanmin(np.asarray(phase["amplification"], dtype=float)) < threshold:
        label = f"amplification < ×{threshold:g}"
        handles.append(Patch(facecolor="0.3", hatch="//", edgecolor="0.7", linewidth=0, label=label))
    return handles


def _build_phase(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.style import label_panels, paper_figure

    seeds = _seeds(SEEDS["phase_diagram"][quick])
    levs, jumps = PHASE_GRID[quick]
    phase = phase_diagram_data(levs, jumps, seeds, workers=workers)
    fig, (a, b) = paper_figure("two", 3.2, 1, 2)
    plot_phase_surge(phase, a)
    plot_phase_amplification(phase, b)
    b.set_ylabel("")
    label_panels([a, b])
    handles = phase_legend_handles(phase)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    config = {
        k: phase[k]
        for k in ("scenario", "overrides", "trigger_day", "window_days", "feedback_off", "max_leverage", "log_jump")
    }
    return fig, {"seeds": seeds, "configuration": config, "data": phase}


# -- 3. H1: ablation of the feedback channels -------------------------------------------------------
def plot_feedback_ablation(h1: HypothesisResult, ax: Axes, *, threshold: float = 2.0) -> Axes:
    """Amplification ratio (surge with all channels / surge with one off) per ablation and world, 95 % CIs.

    ``h1`` is :func:`experiments.hypotheses.h1`'s result; one colour per world (default leverage,
    low leverage), one row per ablation. A ratio above 1: the channel switched off amplifies the surge.
    """
    from matplotlib.ticker import FormatStrFormatter

    c = _colors()
    worlds = list(h1.worlds.items())
    names = list(worlds[0][1]["ablations"])
    y = np.arange(len(names))
    colours = (c["a"], c["second"], c["b"])
    offset = np.linspace(-0.15, 0.15, len(worlds)) if len(worlds) > 1 else np.zeros(1)
    for k, (wname, w) in enumerate(worlds):
        r = np.array([w["ablations"][n]["ratio"] for n in names])
        lo = np.array([w["ablations"][n]["ci"][0] for n in names])
        hi = np.array([w["ablations"][n]["ci"][1] for n in names])
        ax.errorbar(
            r,
            y + offset[k],
            xerr=[r - lo, hi - r],
            fmt="o",
            markersize=3.5,
            color=colours[k % 3],
            elinewidth=1.0,
            capsize=2,
            label=wname.replace("max_leverage", "cap"),
        )
    ax.axvline(1.0, color="0.45", linewidth=0.8)
    ax.axvline(threshold, color="0.45", linewidth=0.8, linestyle="--")
    ax.annotate(
        f"H1 threshold ×{threshold:g}",
        xy=(threshold, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, -2),
        textcoords="offset points",
        va="top",
        fontsize=6,
        color="0.35",
    )
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(FormatStrFormatter("×%g"))
    ax.set_xlabel("amplification (surge all on / this off)")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    ax.set_title("Feedback channels (H1)", loc="left")
    ax.legend(loc="lower right", handletextpad=0.3)
    return ax


def _hypothesis_record(r: HypothesisResult, seeds: list[int], extra: Mapping[str, Any]) -> dict[str, Any]:
    from experiments import hypotheses as hyp

    config = {
        "experiment": f"experiments.hypotheses.{r.key.lower()}",
        "claim": r.claim,
        "notes": r.notes,
        "bootstrap": {"level": hyp.CI_LEVEL, "resamples": hyp.N_BOOT},
        **extra,
    }
    data = {k: v for k, v in asdict(r).items() if k != "figure"}
    return {"seeds": seeds, "configuration": config, "data": _plain(data)}


def _build_ablation(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments import hypotheses as hyp
    from experiments.style import paper_figure

    seeds = _seeds(SEEDS["feedback_ablation"][quick])
    r = hyp.h1(seeds, workers, quick)
    fig, ax = paper_figure("one", 2.7)
    plot_feedback_ablation(r, ax)
    extra = {
        "scenario": "risk_off",
        "trigger_day": hyp.TRIGGER_DAY,
        "trigger_log_jump": hyp.H1_TRIGGER,
        "feedback_off": hyp.FEEDBACK_OFF,
        "worlds": {k: v["overrides"] for k, v in r.worlds.items()},
    }
    return fig, _hypothesis_record(r, seeds, extra)


# -- 4. H2: fiscal vs monetary rise in JGB yields ---------------------------------------------------
def plot_fiscal_vs_monetary(h2: HypothesisResult, ax: Axes) -> Axes:
    """The yen's response against the JGB yield rise, per shock (marker) and world (colour), 95 % CIs.

    ``h2`` is :func:`experiments.hypotheses.h2`'s result: for each world (fiscal dominance on/off)
    a supplementary budget (fiscal) and a BoJ hike (monetary), each against the same seed without it.
    """
    from matplotlib.lines import Line2D

    c = _colors()
    worlds = list(h2.worlds.items())
    colours = {worlds[0][0]: c["b"], **({worlds[1][0]: c["a"]} if len(worlds) > 1 else {})}
    markers = {"fiscal": ("s", "¥25 tn supplementary budget"), "monetary": ("o", "BoJ +25 bp")}
    for k, (wname, w) in enumerate(worlds):
        for arm, (marker, _) in markers.items():
            v = w[arm]
            m, (lo, hi) = v["usdjpy_change_pct"], v["ci"]
            # the first world filled, the second open and on top: points that coincide stay visible
            face = colours[wname] if k == 0 else "none"
            ax.errorbar(
                [v["jgb10y_change_bp"]],
                [m],
                yerr=[[m - lo], [hi - m]],
                fmt=marker,
                markersize=4.5 if k == 0 else 6.5,
                color=colours[wname],
                markerfacecolor=face,
                markeredgecolor=colours[wname],
                markeredgewidth=1.0,
                elinewidth=1.0,
                capsize=2,
                zorder=3 + k,
            )
    ax.axhline(0.0, color="0.45", linewidth=0.8)
    ax.axvline(0.0, color="0.75", linewidth=0.6)
    for y, va, text in ((1.0, "top", "yen weakens ↑"), (0.0, "bottom", "yen strengthens ↓")):
        ax.annotate(
            text,
            xy=(1.0, y),
            xycoords="axes fraction",
            xytext=(-2, -2 if va == "top" else 2),
            textcoords="offset points",
            ha="right",
            va=va,
            fontsize=6,
            color="0.35",
        )
    handles = [Line2D([], [], linestyle="none", marker=mk, color="0.35", label=lab) for mk, lab in markers.values()]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=4.5 if k == 0 else 6.5,
            color=col,
            markerfacecolor=col if k == 0 else "white",
            label=name,
        )
        for k, (name, col) in enumerate(colours.items())
    ]
    ax.legend(handles=handles, loc="center left", handletextpad=0.4)
    ax.set_xlabel("JGB 10y yield change on the day, bp")
    ax.set_ylabel("USD/JPY change on the day, %")
    ax.margins(x=0.15, y=0.15)
    ax.set_title("Fiscal vs monetary rise in JGB yields (H2)", loc="left")
    return ax


def _build_fiscal(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments import hypotheses as hyp
    from experiments.style import paper_figure

    seeds = _seeds(SEEDS["fiscal_vs_monetary"][quick])
    r = hyp.h2(seeds, workers, quick)
    fig, ax = paper_figure("one", 2.9)
    plot_fiscal_vs_monetary(r, ax)
    extra = {
        "scenario": "baseline",
        "overrides": {"boj__mode": "scripted", "nisa__n_households": 2000},
        "worlds": {"fiscal dominance on": {}, "fiscal dominance off": {"macro__fiscal_dominance": False}},
    }
    return fig, _hypothesis_record(r, seeds, extra)


# -- 5. model vs data: return statistics -----------------------------------------------------------
def _build_returns(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.hypotheses import Arm, run_arms
    from experiments.stats import autocorrelation, log_returns, return_statistics
    from experiments.style import finish_axes, label_panels, paper_figure
    from experiments.validate import ACF_PLOT_LAGS, BASELINE, load_usdjpy_data, plot_abs_acf, plot_return_distribution

    seeds = _seeds(SEEDS["return_statistics"][quick])
    days = RETURN_DAYS[quick]
    data_returns, info = load_usdjpy_data()
    runs = run_arms([Arm(BASELINE, s, days, columns=("usdjpy",)) for s in seeds], workers)
    model_returns = [log_returns(r["usdjpy"]) for r in runs]
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
        "abs_acf": {"lags": list(ACF_PLOT_LAGS), **_band(acfs), "data": data_acf},
    }
    config = {"scenario": BASELINE, "days": days, "overrides": {}, "data": info["source"]}
    return fig, {"seeds": seeds, "configuration": config, "data": _plain(numbers)}


def _relegend(ax: Axes, rename: Mapping[str, str], **kw: Any) -> None:
    """Draw the axes' legend again with some labels shortened."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [rename.get(label, label) for label in labels], **kw)


# -- 6. sensitivity indices -------------------------------------------------------------------------
def sensitivity_spec_text(quick: bool) -> str:
    """The Saltelli sweep behind the Sobol' figure, as a sweep specification (TOML)."""
    size = SENSITIVITY_SIZES[quick]
    names = _SENSITIVITY_QUICK if quick else tuple(_SENSITIVITY_PARAMETERS)
    params = "\n".join(f"{n} = {_SENSITIVITY_PARAMETERS[n]}" for n in names)
    metrics = ", ".join(f'"{m}"' for m in SENSITIVITY_METRICS)
    return (
        textwrap.dedent(f"""\
        [sweep]
        name = "figure_sensitivity{"_quick" if quick else ""}"
        description = "Sobol' indices of the unwind for carry-unwind figures"
        scenario = "risk_off"
        days = {size["days"]}
        design = "saltelli"
        samples = {size["samples"]}
        second_order = false
        replicates = {size["replicates"]}
        base_seed = 1
        design_seed = 0
        metrics = [{metrics}]

        [fixed]
        hedge_funds.n_funds = 200

        [parameters]
        """)
        + params
        + "\n"
    )


def sensitivity_results(quick: bool, *, workers: int = 1) -> tuple[list[SensitivityResult], dict[str, Any]]:
    """Run the figure's Saltelli sweep in a temporary directory and compute Sobol' indices per metric.

    Returns the :class:`~experiments.sensitivity.SensitivityResult` of each of
    :data:`SENSITIVITY_METRICS` and a description of the sweep (spec text, points, runs).
    """
    from experiments.sensitivity import analyze
    from experiments.sweep import load_results, parse_spec, run_sweep

    text = sensitivity_spec_text(quick)
    spec = parse_spec(text, where="<figures: sensitivity>")
    with tempfile.TemporaryDirectory(prefix="carry-unwind-figures-") as tmp:
        executor = "serial" if workers <= 1 else "local"
        run_sweep(spec, Path(tmp) / "sweep", executor=executor, workers=workers, progress=False, spec_text=text)
        rows = load_results(Path(tmp) / "sweep")
    results = [analyze(rows, spec, metric, "sobol", num_resamples=1000, seed=0) for metric in SENSITIVITY_METRICS]
    failed = int((rows["status"] != "ok").sum())
    sweep = {
        "spec": text,
        "n_points": spec.n_points,
        "n_runs": len(rows),
        "failed_runs": failed,
        "seeds": sorted({int(s) for s in rows["seed"]}),
    }
    return results, sweep


def plot_sensitivity(result: SensitivityResult, ax: Axes, *, title: str | None = None) -> Axes:
    """:func:`experiments.sensitivity.plot_indices` at paper size, with short parameter names."""
    import pandas as pd

    from experiments.sensitivity import plot_indices
    from experiments.style import finish_axes

    table = result.table.copy()
    table["parameter"] = [PARAMETER_LABELS.get(p, p) for p in table["parameter"]]
    plot_indices(replace(result, table=pd.DataFrame(table)), ax)
    finish_axes(ax)
    ax.set_xlabel(f"Sobol' index; whiskers: {100 * result.conf_level:g} % CI")
    if title:
        ax.set_title(title, loc="left")
    # inside the axes rather than in the title's row, where a long title would run into it
    ax.legend(*ax.get_legend_handles_labels(), loc="lower right")
    return ax


def _build_sensitivity(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.metrics import METRICS
    from experiments.style import label_panels, paper_figure

    results, sweep = sensitivity_results(quick, workers=workers)
    fig, axes = paper_figure("two", 2.6, 1, len(results))
    titles = {"usdjpy_max_fall_pct": "Yen surge", "hf_gross_max_drawdown_pct": "Carry-stock drawdown"}
    for r, ax in zip(results, axes, strict=True):
        plot_sensitivity(r, ax, title=titles.get(r.metric, r.metric))
    for ax in axes[:-1]:  # one legend is enough
        ax.get_legend().remove()
    label_panels(axes)
    numbers = {
        r.metric: {
            "description": METRICS.get(r.metric, r.metric),
            "table": r.table.to_dict(orient="list"),
            "n_points": r.n_points,
            "replicates": r.replicates,
            "conf_level": r.conf_level,
            "num_resamples": r.num_resamples,
        }
        for r in results
    }
    config = {
        "sweep": sweep["spec"],
        "n_points": sweep["n_points"],
        "n_runs": sweep["n_runs"],
        "failed_runs": sweep["failed_runs"],
        "analysis": "SALib sobol.analyze, bootstrap seed 0",
    }
    return fig, {"seeds": sweep["seeds"], "configuration": config, "data": _plain(numbers)}


# -- 7. H7: early-warning ROC curves ---------------------------------------------------------------
def plot_roc_curves(h7: HypothesisResult, ax: Axes) -> Axes:
    """ROC curves of the two dashboards' scores for a crash within the horizon, AUC in the legend."""
    c = _colors()
    roc, auc = h7.worlds["roc"], h7.worlds["auc"]
    names = {"A": ("four pillars (seed 000)", c["a"]), "B": ("Option B", c["b"])}
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8, label="no skill")
    for key, (name, colour) in names.items():
        pts = np.asarray(roc.get(key) or [], dtype=float)
        if pts.size:
            ax.plot(pts[:, 0], pts[:, 1], color=colour, label=f"{name}, AUC {auc[name]:.2f}")
    if not any(roc.get(k) for k in names):
        ax.text(0.5, 0.5, "no crashes in these runs", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("Early-warning dashboards (H7)", loc="left")
    ax.legend(loc="lower right")
    return ax


def plot_pillar_auc(h7: HypothesisResult, ax: Axes) -> Axes:
    """Each pillar's AUC on its own (signed as its thesis reads it), bars from the no-skill 0.5."""
    from matplotlib.patches import Patch

    c = _colors()
    pillars = list(h7.worlds["pillar_auc"].items())
    y = np.arange(len(pillars))
    values = _none_to_nan([v for _, v in pillars])
    colours = [c["a"] if name.startswith("dash_a") else c["b"] for name, _ in pillars]
    ax.barh(y, values - 0.5, left=0.5, color=colours, height=0.65)
    ax.axvline(0.5, color="0.45", linewidth=0.8)
    for yi, v in zip(y, values, strict=True):
        if np.isfinite(v):
            right = v >= 0.5
            ax.annotate(
                f"{v:.2f}",
                (v, yi),
                xytext=(3 if right else -3, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize=6,
                color="0.25",
            )
    ax.set_yticks(y, [PILLAR_LABELS.get(n, n) for n, _ in pillars])
    ax.set_ylim(len(pillars) - 0.5, -0.5)
    finite = values[np.isfinite(values)]
    span = max(0.1, float(np.max(np.abs(finite - 0.5)))) * 1.25 if finite.size else 0.1
    ax.set_xlim(0.5 - span, 0.5 + span)
    ax.set_xlabel("AUC of the pillar alone")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    ax.legend(
        handles=[Patch(color=c["a"], label="four pillars"), Patch(color=c["b"], label="Option B")], loc="lower right"
    )
    ax.set_title("Single pillars", loc="left")
    return ax


def _build_roc(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments import hypotheses as hyp
    from experiments.style import label_panels, paper_figure

    seeds = _seeds(SEEDS["early_warning_roc"][quick])
    r = hyp.h7(seeds, workers, quick)
    fig, (a, b) = paper_figure("two", 2.8, 1, 2, width_ratios=[1.0, 1.15])
    plot_roc_curves(r, a)
    plot_pillar_auc(r, b)
    label_panels([a, b])
    extra = {
        "scenario": "baseline",
        "days": 500 if quick else 1000,
        "overrides": {"nisa__n_households": 2000},
        "crash": {"fall": hyp.CRASH_FALL, "horizon_days": hyp.CRASH_HORIZON},
        "dashboards": {"four pillars (seed 000)": hyp.DASHBOARD_A, "Option B": hyp.DASHBOARD_B},
    }
    return fig, _hypothesis_record(r, seeds, extra)


# -- the registry, saving and provenance ------------------------------------------------------------
@dataclass(frozen=True)
class FigureDef:
    """A paper figure: its name, title, one-sentence description and how it is built."""

    name: str
    title: str
    description: str
    build: Callable[[bool, int], tuple[Any, dict[str, Any]]]


FIGURES: dict[str, FigureDef] = {
    d.name: d
    for d in (
        FigureDef(
            "aug2024_replay",
            "The August 2024 unwind: model vs observed",
            "boj_hike_2024 replayed over seeds: USD/JPY and the carry stock (median, 5-95% band) against the "
            "observed anchor points (161.9 on 3 Jul, 141.7 on 5 Aug 2024) and the BIS estimate of the unwind.",
            _build_replay,
        ),
        FigureDef(
            "phase_diagram",
            "Amplification phase diagram: leverage x trigger size",
            "The yen surge after a risk shock and its amplification by the feedback channels (on / all off) "
            "over a grid of leverage caps and shock sizes.",
            _build_phase,
        ),
        FigureDef(
            "feedback_ablation",
            "Ablation of the feedback channels (H1)",
            "H1: how many times larger the surge is with all feedback channels than with each one (or all) "
            "switched off, at the default and at low leverage, with 95% bootstrap intervals.",
            _build_ablation,
        ),
        FigureDef(
            "fiscal_vs_monetary",
            "Fiscal vs monetary rise in JGB yields (H2)",
            "H2: the yen's response to a supplementary budget and to a BoJ hike against the JGB yield rise "
            "each causes, with and without fiscal dominance.",
            _build_fiscal,
        ),
        FigureDef(
            "return_statistics",
            "Daily USD/JPY returns: model vs data",
            "The baseline's daily USD/JPY returns against Ecdat Garch (1980-87): distribution with normal fits "
            "and the autocorrelation of absolute returns (volatility clustering).",
            _build_returns,
        ),
        FigureDef(
            "sensitivity",
            "Sobol' sensitivity indices",
            "First-order and total Sobol' indices (Saltelli sweep of risk_off) of the yen surge and of the "
            "carry-stock drawdown over leverage, margin, flow and liquidity parameters.",
            _build_sensitivity,
        ),
        FigureDef(
            "early_warning_roc",
            "Early-warning dashboards (H7)",
            "H7: ROC curves of seed 000's four-pillar dashboard and Option B's for a 5% yen surge within "
            "20 days, and each pillar's AUC on its own.",
            _build_roc,
        ),
    )
}


def _provenance(d: FigureDef, record: Mapping[str, Any], quick: bool) -> dict[str, Any]:
    from model import __version__
    from model.results import _git_dirty, git_commit

    command = f"carry-unwind figures --out DIR --only {d.name}" + (" --quick" if quick else "")
    return _plain(
        {
            "figure": d.name,
            "title": d.title,
            "description": d.description,
            "package": "carry-unwind",
            "version": __version__,
            "git_commit": git_commit(),
            "git_dirty": _git_dirty(),
            "command": command,
            "quick": quick,
            "seeds": record["seeds"],
            "configuration": record["configuration"],
        }
    )


def _save(fig: Figure, out: Path, name: str, provenance: Mapping[str, Any], data: Any) -> list[Path]:
    """Write NAME.pdf and NAME.png with the provenance in their metadata, and the NAME.json sidecar."""
    subject = json.dumps(provenance, sort_keys=True, ensure_ascii=True)
    creator = f"carry-unwind {provenance['version']}"
    pdf, png, sidecar = out / f"{name}.pdf", out / f"{name}.png", out / f"{name}.json"
    fig.savefig(
        pdf,
        metadata={
            "Title": provenance["title"],
            "Subject": subject,
            "Creator": creator,
            "Keywords": f"carry-unwind; {name}",
            "CreationDate": None,
        },
    )
    fig.savefig(
        png,
        dpi=300,
        metadata={
            "Title": provenance["title"],
            "Description": subject,
            "Software": creator,
            "Source": provenance.get("git_commit") or "unknown",
        },
    )
    payload = {**provenance, "files": [pdf.name, png.name], "data": _plain(data)}
    sidecar.write_text(json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return [pdf, png, sidecar]


def make_figure(name: str, *, quick: bool = False, workers: int = 1) -> tuple[Figure, dict[str, Any]]:
    """Compute and draw one figure (in the paper style); returns it with its record.

    The record has ``seeds``, ``configuration`` and ``data`` (the numbers plotted, JSON-ready).
    """
    from experiments.style import paper_style
    from experiments.sweep import quiet_model_logs

    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
    with paper_style(), quiet_model_logs():
        return FIGURES[name].build(quick, workers)


def write_figure(name: str, out: str | Path, *, quick: bool = False, workers: int = 1) -> list[Path]:
    """Make one figure and write ``NAME.pdf``, ``NAME.png`` and ``NAME.json`` into ``out``."""
    from experiments.style import paper_style

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, record = make_figure(name, quick=quick, workers=workers)
    provenance = _provenance(FIGURES[name], record, quick)
    with paper_style():  # the PDF font type and the saved resolution are read when saving
        return _save(fig, out, name, provenance, record["data"])


def make_figures(
    out: str | Path, names: Sequence[str] | None = None, *, quick: bool = False, workers: int = 1
) -> dict[str, list[Path]]:
    """Write the named figures (default: all of :data:`FIGURES`) into ``out``; returns the files per figure."""
    names = list(names or FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; expected one of {', '.join(FIGURES)}")
    written = {}
    for name in names:
        t0 = time.perf_counter()
        written[name] = write_figure(name, out, quick=quick, workers=workers)
        log.info("figures: %s in %.1f s", name, time.perf_counter() - t0)
    return written


# -- command line ----------------------------------------------------------------------------------
def register(sub: Any) -> None:
    """Add ``figures`` to ``sub`` (what ``add_subparsers`` returned); ``experiments/cli.py`` calls it."""
    from experiments.cli import _positive_int

    width = max(len(n) for n in FIGURES)
    listing = "\n".join(
        textwrap.fill(d.description, 100, initial_indent=f"  {n:<{width}}  ", subsequent_indent=" " * (width + 4))
        for n, d in FIGURES.items()
    )
    p = sub.add_parser(
        "figures",
        help="regenerate the paper figures (PDF, PNG and provenance JSON) from fixed seeds",
        description=(
            "Regenerate every figure of a paper about the model from fixed seeds, sized for one- or\n"
            "two-column layouts in a colour-blind-safe style. For each figure NAME it writes into DIR:\n"
            "  NAME.pdf, NAME.png  the figure; provenance (version, git commit, seeds, configuration)\n"
            "                      in the file metadata\n"
            "  NAME.json           the same provenance and the numbers plotted\n"
            "The same command gives the same numbers, whatever --workers.\n\n"
            f"figures:\n{listing}"
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind figures --out out/figures --workers 2\n"
            "  carry-unwind figures --out out/figures_quick --quick\n"
            "  carry-unwind figures --out out/figures --only phase_diagram"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory, created if missing")
    p.add_argument(
        "--quick", action="store_true", help="small versions: few seeds, short runs, coarse grids (for tests)"
    )
    p.add_argument(
        "--only", default="", metavar="NAME[,NAME]", help="make only these figures (default: all; names above)"
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="W",
        help="worker processes for the runs; the figures do not depend on it (default: 1)",
    )
    p.set_defaults(handler=_cmd_figures)


def _cmd_figures(args: argparse.Namespace) -> int:
    import sys

    from experiments.cli import EXIT_FAILURE, EXIT_OK, PROG, UsageError
    from experiments.validate import ValidationError

    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise UsageError(f"--only: unknown figure {unknown[0]!r}; expected one of {', '.join(FIGURES)}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    try:
        written = make_figures(args.out, names, quick=args.quick, workers=args.workers)
    except ValidationError as exc:  # the return-statistics figure needs the data package
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"{PROG}: error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    width = max(len(n) for n in written)
    for name, paths in written.items():
        print(f"  {name:<{width}}  {', '.join(str(p) for p in paths)}")
    return EXIT_OK
