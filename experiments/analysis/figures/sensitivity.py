"""Sobol' indices of the largest USD/JPY fall over the run and of the carry-stock drawdown (figure 6)."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from experiments.analysis.sensitivity import SensitivityResult

from experiments.analysis.figures.settings import PARAMETER_LABELS, SENSITIVITY_SIZES, plain

__all__ = ["sensitivity_spec_text", "sensitivity_results", "plot_sensitivity", "build_sensitivity"]


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
    """Run the figure's Saltelli sweep and compute Sobol' indices per metric.

    Inside a resumable command (``carry-unwind figures``: :func:`experiments.runner.resumable`) the
    sweep runs in a folder of the command's checkpoint, named by the code's fingerprint and the
    spec's digest: a command stopped part-way keeps its finished runs there, and the same command
    run again resumes the sweep (the checkpoint, folder included, is removed once the command
    completes). Elsewhere it runs in a temporary directory.

    Returns the :class:`~experiments.analysis.sensitivity.SensitivityResult` of each of
    :data:`SENSITIVITY_METRICS` and a description of the sweep (spec text, points, runs).
    """
    from experiments.analysis.sensitivity import analyze
    from experiments.runner import active_checkpoint, code_fingerprint
    from experiments.sweeps import load_results, parse_spec, run_sweep

    text = sensitivity_spec_text(quick)
    spec = parse_spec(text, where="<figures: sensitivity>")
    checkpoint = active_checkpoint()
    with contextlib.ExitStack() as stack:
        if checkpoint is None:
            where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="carry-unwind-figures-")))
        else:  # other code or another spec: another folder, so a resumed sweep never mixes runs (the code is
            # read now, as the sweep's manifest records it, not when the command started)
            tag = hashlib.sha256(f"{code_fingerprint()}\0{spec.digest()}".encode()).hexdigest()[:16]
            where = checkpoint.directory / f"sensitivity-{tag}"
            checkpoint.record()  # the sweep keeps its runs there: the checkpoint says whose they are
        executor = "serial" if workers <= 1 else "local"
        run_sweep(spec, where / "sweep", executor=executor, workers=workers, progress=False, spec_text=text,
                  resume=True)  # fmt: skip
        rows = load_results(where / "sweep")
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
    """:func:`experiments.analysis.sensitivity.plot_indices` at paper size, with short parameter names."""
    import pandas as pd

    from experiments.analysis.sensitivity import plot_indices
    from experiments.analysis.style import finish_axes

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


def build_sensitivity(quick: bool, workers: int) -> tuple[Figure, dict[str, Any]]:
    from experiments.analysis.metrics import METRICS
    from experiments.analysis.style import label_panels, paper_figure

    results, sweep = sensitivity_results(quick, workers=workers)
    fig, axes = paper_figure("two", 2.6, 1, len(results))
    titles = {"usdjpy_max_fall_pct": "Largest USD/JPY fall over the run, %",
              "hf_gross_max_drawdown_pct": "Carry stock's largest drawdown, %"}  # fmt: skip
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
    return fig, {"seeds": sweep["seeds"], "configuration": config, "data": plain(numbers)}
