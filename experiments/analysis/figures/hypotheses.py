"""Figures of the hypotheses: H1 feedback ablation, H2 fiscal vs monetary, H7 early-warning ROC (3, 4, 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from experiments.analysis.hypotheses import HypothesisResult

from experiments.analysis.figures.settings import PILLAR_LABELS, SEEDS, figure_colors, none_to_nan, plain
from experiments.analysis.targets import held_out_seeds

__all__ = [
    "plot_feedback_ablation",
    "plot_fiscal_vs_monetary",
    "plot_roc_curves",
    "plot_pillar_auc",
    "hypothesis_record",
    "build_ablation",
    "build_fiscal",
    "build_roc",
]


def _num(v: Any) -> float:
    """A float, NaN for ``None`` (a sidecar's JSON null: an undefined number or an unbounded interval)."""
    return np.nan if v is None else float(v)


def plot_feedback_ablation(h1: HypothesisResult, ax: Axes, *, threshold: float = 2.0) -> Axes:
    """Amplification ratio (surge with all channels / surge with one off) per ablation and world, 95 % CIs.

    ``h1`` is :func:`experiments.analysis.hypotheses.h1`'s result, or one read back from a figure's sidecar
    (``HypothesisResult(**sidecar["data"])``, JSON nulls for NaN); one colour per world (default leverage,
    low leverage), one row per ablation of the headline trigger, then one per other trigger with every
    channel off. A ratio above 1: the channels switched off amplify the surge. Where Fieller's interval is
    unbounded (the surge with the channels off is not distinguishable from 0: no interval, NaN) a dotted
    double arrow spans the axes through the ratio. The legend goes under the axes, clear of the rows.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter

    from experiments.analysis.hypotheses import H1_HEADLINE
    from experiments.analysis.style import FONT, legend_below

    c = figure_colors()
    worlds = list(h1.worlds.items())
    # the headline trigger's ablations, then every other trigger with all channels off
    rows = [("ablations", n, n) for n in worlds[0][1]["ablations"]]
    rows += [("triggers", t, f"all off, {t}") for t in worlds[0][1].get("triggers", {}) if t != H1_HEADLINE]
    names = [label for *_, label in rows]
    y = np.arange(len(names))
    colours = (c["a"], c["second"], c["b"])
    offset = np.linspace(-0.15, 0.15, len(worlds)) if len(worlds) > 1 else np.zeros(1)
    unbounded = []  # (y, ratio, colour) of the rows whose interval is unbounded
    for k, (wname, w) in enumerate(worlds):
        r = np.array([_num(w[kind][key]["ratio"]) for kind, key, _ in rows])
        lo, hi = np.array([[_num(v) for v in w[kind][key]["ci"]] for kind, key, _ in rows]).reshape(-1, 2).T
        bounded = np.isfinite(lo) & np.isfinite(hi)
        colour = colours[k % 3]
        ax.errorbar(r[bounded], (y + offset[k])[bounded], xerr=[r[bounded] - lo[bounded], hi[bounded] - r[bounded]],
                    fmt="o", markersize=3.5, color=colour, elinewidth=1.0, capsize=2,
                    label=wname.replace("max_leverage", "cap"))  # fmt: skip
        ax.plot(r[~bounded], (y + offset[k])[~bounded], "o", markersize=3.5, color=colour, zorder=3)
        unbounded += [(yi, ri, colour) for yi, ri in zip((y + offset[k])[~bounded], r[~bounded], strict=True)
                      if np.isfinite(ri)]  # fmt: skip
    ax.axvline(1.0, color="0.45", linewidth=0.8)
    ax.axvline(threshold, color="0.45", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(FormatStrFormatter("×%g"))
    ax.set_xlabel("amplification (surge all on / this off)")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    ax.set_title(f"Feedback channels (H1): {h1.verdict}", loc="left")
    across = ax.get_yaxis_transform()  # x in axes fraction, y in data: from edge to edge of the axes
    for yi, _, colour in unbounded:
        ax.annotate("", xy=(0.0, yi), xytext=(1.0, yi), xycoords=across, textcoords=across,
                    arrowprops=dict(arrowstyle="<|-|>", linestyle=":", linewidth=0.8, color=colour,
                                    mutation_scale=5, shrinkA=0, shrinkB=0))  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.45", linewidth=0.8, linestyle="--"))
    labels.append(f"H1 threshold ×{threshold:g}")
    if unbounded:
        handles.append(Line2D([], [], color="0.3", linewidth=0.8, linestyle=":", marker="o", markersize=3.5))
        labels.append("95 % interval unbounded")
    legend_below(ax, handles, labels, centre="figure", ncols=2, handletextpad=0.4, columnspacing=1.2,
                 fontsize=FONT["legend"])  # fmt: skip
    return ax


def hypothesis_record(r: HypothesisResult, seeds: list[int], extra: Mapping[str, Any]) -> dict[str, Any]:
    from experiments.analysis import hypotheses as hyp

    config = {
        "experiment": f"experiments.analysis.hypotheses.{r.key.lower()}",
        "claim": r.claim,
        "notes": r.notes,
        "interval": {"level": hyp.CI_LEVEL, "method": hyp.INTERVAL_METHOD},
        **extra,
    }
    data = {k: v for k, v in asdict(r).items() if k != "figure"}
    return {"seeds": seeds, "configuration": config, "data": plain(data)}


def build_ablation(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis import hypotheses as hyp
    from experiments.analysis.style import paper_figure

    seeds = held_out_seeds(SEEDS["feedback_ablation"][quick])
    r = hyp.h1(seeds, workers, quick)
    fig, ax = paper_figure("one", 3.1)
    plot_feedback_ablation(r, ax)
    extra = {
        "scenario": hyp.SHOCK_SCENARIO,
        "trigger_day": hyp.TRIGGER_DAY,
        "triggers": {name: [list(e) for e in events] for name, events in hyp.H1_TRIGGERS.items()},
        "headline_trigger": hyp.H1_HEADLINE,
        "feedback_off": hyp.FEEDBACK_OFF,
        "feedback_off_from_day": hyp.TRIGGER_DAY,  # each ablation cut on the trigger's day, in its control too
        "worlds": {k: v["overrides"] for k, v in r.worlds.items()},
    }
    return fig, hypothesis_record(r, seeds, extra)


# -- 4. H2: fiscal vs monetary rise in JGB yields ---------------------------------------------------
def _same_in_every_world(arms: list[Mapping[str, Any]]) -> bool:
    """Whether an arm's result is the same in every world (the BoJ hike: the BoJ's rate is scripted, and the
    worlds' fiscal parameters leave its effect unchanged)."""
    key = [(_num(a["usdjpy_change_pct"]), *(_num(v) for v in a["ci"])) for a in arms]
    return len(arms) > 1 and all(np.allclose(k, key[0], rtol=0.0, atol=0.0, equal_nan=True) for k in key)


def plot_fiscal_vs_monetary(h2: HypothesisResult, ax: Axes) -> Axes:
    """The yen's response to a fiscal and a monetary shock of the same 10y JGB rise, per world, 95 % CIs.

    ``h2`` is :func:`experiments.analysis.hypotheses.h2`'s result (or one read back from a sidecar): for each
    world (a setting of the fiscal parameters) a supplementary budget (fiscal, squares) and a BoJ hike
    (monetary), each sized to raise the 10y JGB by the same amount and each against the same seed without it.
    Where the hike's result is the same in every world it is one measurement, drawn once, as a line and a band
    across the worlds; otherwise a circle per world. A shock whose size could not be found (NaN) is left out.
    """
    import textwrap

    from experiments.analysis.style import FONT, legend_below

    c = figure_colors()
    worlds = [(k, w) for k, w in h2.worlds.items() if "fiscal" in w]
    shared = _same_in_every_world([w["monetary"] for _, w in worlds])
    arms = {"fiscal": ("s", c["a"], 0.0 if shared else -0.12, "supplementary budget, 95 % CI"),
            "monetary": ("o", c["b"], 0.12, "BoJ hike, 95 % CI")}  # fmt: skip
    extra = []  # the BoJ hike drawn once: (handles, label)
    if shared:
        hike = worlds[0][1]["monetary"]
        m, lo, hi = _num(hike["usdjpy_change_pct"]), *(_num(v) for v in hike["ci"])
        if np.isfinite(m):
            line = ax.axhline(m, color=c["b"], linewidth=1.2, zorder=2)
            band = ax.axhspan(lo, hi, color=c["b"], alpha=0.15, linewidth=0, zorder=1) if np.isfinite(lo + hi) else None
            label = "BoJ hike, 95 % CI: the same in every world (the BoJ is scripted)"
            extra.append(((band, line) if band is not None else line, label))
        del arms["monetary"]
    for arm, (marker, colour, dx, label) in arms.items():
        xs, ms, los, his = [], [], [], []
        for k, (_, w) in enumerate(worlds):
            m, (lo, hi) = _num(w[arm]["usdjpy_change_pct"]), (_num(v) for v in w[arm]["ci"])
            if np.isfinite(m):
                xs.append(k + dx), ms.append(m), los.append(m - lo), his.append(hi - m)
        ax.errorbar(xs, ms, yerr=[los, his], fmt=marker, color=colour, markersize=4.5, elinewidth=1.0, capsize=2,
                    label=label, zorder=3)  # fmt: skip
    ax.set_xticks(range(len(worlds)))
    ax.set_xticklabels([textwrap.fill(name, 13) for name, _ in worlds], fontsize=FONT["tick"])
    ax.axhline(0.0, color="0.45", linewidth=0.8)
    ax.margins(x=0.1, y=0.15)
    for y, va, text in ((1.0, "top", "yen weakens ↑"), (0.0, "bottom", "yen strengthens ↓")):
        ax.annotate(
            text,
            xy=(1.0, y),
            xycoords="axes fraction",
            xytext=(-2, -2 if va == "top" else 2),
            textcoords="offset points",
            ha="right",
            va=va,
            fontsize=FONT["annotation"],
            color="0.35",
        )
    ax.set_ylabel("USD/JPY change after 5 days, %\n(each shock: 10y JGB +25 bp)")
    ax.set_title(f"H2, fiscal vs monetary: {h2.verdict}", loc="left")
    handles, labels = ax.get_legend_handles_labels()
    handles += [h for h, _ in extra]
    labels += [label for _, label in extra]
    legend_below(ax, handles, labels, centre="figure", handletextpad=0.4, fontsize=FONT["legend"])
    return ax


def build_fiscal(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis import hypotheses as hyp
    from experiments.analysis.style import paper_figure

    seeds = held_out_seeds(SEEDS["fiscal_vs_monetary"][quick])
    r = hyp.h2(seeds, workers, quick)
    fig, ax = paper_figure("one", 3.4)
    plot_fiscal_vs_monetary(r, ax)
    extra = {
        "scenario": "baseline",
        "overrides": dict(hyp.H2_BASE),
        "worlds": dict(hyp.H2_WORLDS),
    }
    return fig, hypothesis_record(r, seeds, extra)


# the dashboards' names in the figure (panel b's legend uses the same)
DASHBOARD_SHORT = {"A": "four pillars", "B": "structural flows"}


def plot_roc_curves(h7: HypothesisResult, ax: Axes) -> Axes:
    """ROC curves of the two dashboards' scores as warnings of a crash's onset (held-out runs).

    The curves pool every scenario's days; the legend, under the axes, gives each dashboard's AUC within
    scenarios, the one the verdict reads (:func:`experiments.analysis.hypotheses.h7`), and the pooled AUC, the
    area under the curve drawn.
    """
    from experiments.analysis.hypotheses import DASHBOARD_NAMES
    from experiments.analysis.style import legend_below

    c = figure_colors()
    roc, within = h7.worlds["roc"], h7.worlds["auc"]
    pooled = h7.worlds.get("auc_pooled_across_scenarios", {})
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=0.8, label="no skill")
    for key in ("A", "B"):
        pts = np.asarray(roc.get(key) or [], dtype=float)
        if pts.size:
            name = DASHBOARD_NAMES[key]
            area = f", {_num(pooled[name]):.2f} with days pooled" if name in pooled else ""
            ax.plot(pts[:, 0], pts[:, 1], color=c[key.lower()],
                    label=f"{DASHBOARD_SHORT[key]}: AUC {_num(within[name]):.2f} within scenarios{area}")  # fmt: skip
    if not any(roc.get(k) for k in ("A", "B")):
        ax.text(0.5, 0.5, "no crashes in these runs", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate (days of all scenarios pooled)")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"Early-warning dashboards (H7): {h7.verdict}", loc="left")
    legend_below(ax)  # under the axes: a curve on either side of the diagonal leaves no corner empty
    return ax


def plot_pillar_auc(h7: HypothesisResult, ax: Axes) -> Axes:
    """Each pillar's AUC on its own (signed as its thesis reads it), bars from the no-skill 0.5."""
    from matplotlib.patches import Patch

    from experiments.analysis.style import legend_below

    c = figure_colors()
    pillars = list(h7.worlds["pillar_auc"].items())
    y = np.arange(len(pillars))
    values = none_to_nan([v for _, v in pillars])
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
    ax.set_xlabel("AUC of the pillar alone, within scenarios")
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    handles = [Patch(color=c["a"], label=DASHBOARD_SHORT["A"]), Patch(color=c["b"], label=DASHBOARD_SHORT["B"])]
    legend_below(ax, handles=handles, ncols=2)  # under the axes, clear of the bars and their numbers
    ax.set_title("Single pillars", loc="left")
    return ax


def build_roc(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis import hypotheses as hyp
    from experiments.analysis.style import label_panels, paper_figure

    seeds = held_out_seeds(SEEDS["early_warning_roc"][quick])
    r = hyp.h7(seeds, workers, quick)
    fig, (a, b) = paper_figure("two", 3.2, 1, 2, width_ratios=[1.0, 1.15])
    plot_roc_curves(r, a)
    plot_pillar_auc(r, b)
    label_panels([a, b])
    extra = {
        "scenarios": list(hyp.H7_SCENARIOS),
        "days": 500 if quick else 1000,
        "overrides": {"nisa__n_households": 2000},
        "crash": {"fall": hyp.CRASH_FALL, "horizon_days": hyp.CRASH_HORIZON, "lead_days": hyp.LEAD_DAYS},
        "dashboards": {hyp.DASHBOARD_NAMES["A"]: hyp.DASHBOARD_A, hyp.DASHBOARD_NAMES["B"]: hyp.DASHBOARD_B},
    }
    return fig, hypothesis_record(r, seeds, extra)
