"""The amplification phase diagram: yen surge and amplification over leverage × trigger size (figure 2)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


from experiments.analysis.figures.settings import (
    PHASE_GRID,
    PHASE_OVERRIDES,
    PHASE_SCENARIO,
    PHASE_WINDOW,
    SEEDS,
    figure_colors,
)
from experiments.analysis.targets import held_out_seeds

__all__ = ["phase_diagram_data", "plot_phase_surge", "plot_phase_amplification", "phase_legend_handles", "build_phase"]


def phase_diagram_data(
    leverages: Sequence[float], jumps: Sequence[float], seeds: Sequence[int], *, workers: int = 1
) -> dict[str, Any]:
    """The yen surge after a US growth surprise over leverage caps × surprise sizes, with and without feedback.

    For every leverage cap, seed and feedback setting (on; :data:`~experiments.analysis.hypotheses.FEEDBACK_OFF`,
    switched on the shock's day) the ``baseline`` scenario with a fully positioned book runs once without a
    shock and once per surprise size, negative ``us_growth_news`` of that many standard deviations on day
    :data:`~experiments.analysis.hypotheses.TRIGGER_DAY` (equities fall and the expected Fed path
    drops; nothing about the risk index is scripted). The surge is
    :func:`~experiments.analysis.hypotheses.impact`: the largest log gap below the same seed's no-shock path
    within :data:`PHASE_WINDOW` days. The amplification ratio is the mean surge with feedback over
    the mean surge without (a ratio of means: stable where the surge without feedback is tiny).

    Returns
    -------
    dict
        ``max_leverage`` (L,), ``surprise_sd`` (J,: sizes of the negative surprise), and arrays of
        shape ``(J, L)`` as nested lists:
        ``surge_on_pct``, ``surge_off_pct`` (means over seeds, % of USD/JPY) and ``amplification``;
        ``surge_on_pct_per_seed`` has shape ``(J, L, seeds)``; ``reference`` is the cell that is
        exactly the ``risk_off`` scenario (the default leverage cap and its own surprise).
    """
    from experiments.analysis.hypotheses import FEEDBACK_OFF, TRIGGER_DAY, Arm, event, impact, overrides, run_arms
    from model.config import ModelConfig
    from model.scenarios import load_scenario

    days = TRIGGER_DAY + PHASE_WINDOW
    feedback = {"on": {}, "off": FEEDBACK_OFF}
    arms = []
    for lev in leverages:
        for s in seeds:
            for fb in feedback.values():
                ov = overrides(**PHASE_OVERRIDES, hedge_funds__max_leverage=float(lev))
                # the links cut on the shock's day, in the control too: both meet it with the same books
                control = Arm(PHASE_SCENARIO, s, days, ov, columns=("usdjpy",), switches=overrides(**fb),
                              switch_day=TRIGGER_DAY)  # fmt: skip
                arms.append(control)
                arms += [replace(control, events=(event(TRIGGER_DAY, "us_growth_news", surprise_sd=-float(j)),))
                         for j in jumps]  # fmt: skip
    runs = iter(run_arms(arms, workers))
    surge = {k: np.zeros((len(jumps), len(leverages), len(seeds))) for k in feedback}
    for li in range(len(leverages)):
        for si in range(len(seeds)):
            for k in feedback:
                control = next(runs)["usdjpy"]
                for ji in range(len(jumps)):
                    surge[k][ji, li, si] = 100.0 * impact(next(runs)["usdjpy"], control, TRIGGER_DAY, days)
    on, off = surge["on"].mean(axis=2), surge["off"].mean(axis=2)
    # the grid's cell with risk_off's set-up: default leverage cap, its own surprise (the grid runs with
    # 2,000 households, PHASE_OVERRIDES, so the cell is that set-up, not the scenario run exactly)
    shock = next(e for e in load_scenario("risk_off").events if e.kind == "us_growth_news")
    reference = {
        "max_leverage": ModelConfig().hedge_funds.max_leverage,
        "surprise_sd": -shock.params["surprise_sd"],
        "trigger_day": shock.day,
        "label": "risk_off",
    }
    return {
        "scenario": PHASE_SCENARIO,
        "overrides": dict(PHASE_OVERRIDES),
        "trigger_day": TRIGGER_DAY,
        "window_days": PHASE_WINDOW,
        "feedback_off": dict(FEEDBACK_OFF),
        "feedback_off_from_day": TRIGGER_DAY,  # cut on the shock's day, in the control too
        "reference": reference,
        "max_leverage": [float(v) for v in leverages],
        "surprise_sd": [float(v) for v in jumps],
        "surge_on_pct": on.tolist(),
        "surge_off_pct": off.tolist(),
        "amplification": (on / np.maximum(off, 1e-6)).tolist(),
        "surge_on_pct_per_seed": surge["on"].tolist(),
        "surge_off_pct_per_seed": surge["off"].tolist(),
    }


def _heatmap(ax: Axes, values: np.ndarray, phase: Mapping[str, Any], label: str, fmt: str, *,
             norm: Any = None, boxed: bool = False) -> Any:  # fmt: skip
    """A leverage × trigger heat map of ``values`` with each cell's number and a colour bar.

    ``norm``: the colour scale (default: the values' min to max); values beyond it take the end colours and
    the bar says so by its pointed ends. ``boxed``: each number on a light box, readable over a hatch.
    """
    from matplotlib.colors import Normalize

    from experiments.analysis.style import FONT, SEQUENTIAL_CMAP

    levs, jumps = phase["max_leverage"], phase["surprise_sd"]
    if norm is None:
        norm = Normalize(vmin=float(np.nanmin(values)), vmax=float(np.nanmax(values)))
    mesh = ax.pcolormesh(
        np.arange(len(levs) + 1) - 0.5,
        np.arange(len(jumps) + 1) - 0.5,
        values,
        cmap=SEQUENTIAL_CMAP,
        norm=norm,
        shading="flat",
    )
    box = dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.8) if boxed else None
    for (ji, li), v in np.ndenumerate(values):
        ax.text(
            li,
            ji,
            format(v, fmt),
            ha="center",
            va="center",
            fontsize=FONT["annotation"] - 1,
            color="black" if boxed or norm(v) >= 0.55 else "white",
            bbox=box,
            zorder=4,
        )
    ax.set_xticks(range(len(levs)), [f"{v:.3g}" for v in levs])
    ax.set_yticks(range(len(jumps)), [f"−{v:.3g}" for v in jumps])
    ax.set_xlabel("leverage cap (× equity)")
    ax.set_ylabel("trigger: US growth surprise (sd)")
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    below, above = np.nanmin(values) < norm.vmin, np.nanmax(values) > norm.vmax
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}
    cbar = ax.figure.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06, extend=extend[(bool(below), bool(above))])
    cbar.set_label(label, fontsize=FONT["label"])
    cbar.ax.tick_params(labelsize=FONT["tick"], width=0.5, length=2)
    cbar.outline.set_linewidth(0.5)
    return mesh


def _reference_cell(phase: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(leverage index, trigger index)`` of the cell that is the ``risk_off`` scenario, if on the grid."""
    ref = phase.get("reference")
    if not ref:
        return None
    levs, jumps = np.asarray(phase["max_leverage"]), np.asarray(phase["surprise_sd"])
    li, ji = int(np.argmin(np.abs(levs - ref["max_leverage"]))), int(np.argmin(np.abs(jumps - ref["surprise_sd"])))
    if math.isclose(levs[li], ref["max_leverage"]) and math.isclose(jumps[ji], ref["surprise_sd"]):
        return li, ji
    return None


def _mark_reference(ax: Axes, phase: Mapping[str, Any]) -> None:
    """Outline the cell of the ``risk_off`` scenario (default leverage cap, its shock), if it is on the grid."""
    from matplotlib.patches import Rectangle

    cell = _reference_cell(phase)
    if cell is not None:
        li, ji = cell
        ax.add_patch(
            Rectangle(
                (li - 0.5, ji - 0.5), 1, 1, fill=False, edgecolor=figure_colors()["observed"], linewidth=1.4, zorder=3
            )
        )


def plot_phase_surge(phase: Mapping[str, Any], ax: Axes) -> Axes:
    """Heat map: the mean yen surge with every feedback channel on (% of USD/JPY), leverage × trigger."""
    _heatmap(ax, np.asarray(phase["surge_on_pct"]), phase, "yen surge, % (feedback on)", ".1f")
    _mark_reference(ax, phase)
    ax.set_title("Yen surge after the trigger", loc="left")
    return ax


# panel b's fixed colour scale: from no amplification (×1; below it, noise, in the same colour) to ×3, so that
# the H1 threshold (×2) sits mid-scale and seed noise around ×1 does not read as structure
AMPLIFICATION_SCALE = (1.0, 3.0)


def plot_phase_amplification(phase: Mapping[str, Any], ax: Axes, *, threshold: float = 2.0) -> Axes:
    """Heat map: surge with feedback / surge without, on a fixed scale from ×1 to ×3
    (:data:`AMPLIFICATION_SCALE`, H1's threshold marked on the colour bar); cells below the threshold hatched."""
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FormatStrFormatter

    ratio = np.asarray(phase["amplification"], dtype=float)
    mesh = _heatmap(ax, ratio, phase, "amplification (feedback on / off)", ".1f", norm=Normalize(*AMPLIFICATION_SCALE),
                    boxed=True)  # fmt: skip
    cbar = mesh.colorbar
    cbar.set_ticks(np.arange(AMPLIFICATION_SCALE[0], AMPLIFICATION_SCALE[1] + 0.01, 0.5))
    cbar.ax.yaxis.set_major_formatter(FormatStrFormatter("×%g"))
    cbar.ax.axhline(threshold, color="white", linewidth=1.4)  # H1's threshold on the scale
    cbar.ax.axhline(threshold, color="black", linewidth=0.7, linestyle="--")
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
        households = PHASE_OVERRIDES.get("nisa__n_households")
        label = "risk_off's set-up (default leverage cap, its shock" + (
            f"; {households:,} households)" if households else ")"
        )
        handles.append(Patch(facecolor="none", edgecolor=figure_colors()["observed"], linewidth=1.4, label=label))
    if np.nanmin(np.asarray(phase["amplification"], dtype=float)) < threshold:
        label = f"amplification < ×{threshold:g} (H1's threshold, dashed on the scale)"
        handles.append(Patch(facecolor="0.3", hatch="//", edgecolor="0.7", linewidth=0, label=label))
    return handles


def build_phase(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis.style import label_panels, paper_figure

    seeds = held_out_seeds(SEEDS["phase_diagram"][quick])
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
    keys = ("scenario", "overrides", "trigger_day", "window_days", "feedback_off", "feedback_off_from_day",
            "max_leverage", "surprise_sd")  # fmt: skip
    config = {k: phase[k] for k in keys}
    return fig, {"seeds": seeds, "configuration": config, "data": phase}
