"""Global sensitivity of a sweep's metric: Sobol' and Morris indices (SALib) with confidence intervals.

A sweep run with ``design = "saltelli"`` gives Sobol' indices: the first-order index S1 of a
parameter is the share of the metric's variance it explains alone, the total index ST the share
it explains with all its interactions (Saltelli et al. 2010, "Variance based sensitivity
analysis of model output", Comput. Phys. Commun. 181). A sweep with ``design = "morris"`` gives
Morris' elementary effects (Morris 1991; Campolongo et al. 2007): mu* is the mean absolute change
of the metric when a parameter moves by one step of the design (expressed here per full range:
SALib's unit-scaled step), sigma its spread across the design, a sign of interactions or of
non-linearity. Both come with bootstrap confidence intervals.

The model is stochastic. Every design point ran with the same seeds (common random numbers), and
the metric is averaged over those replicates point by point before the indices are computed; so
the indices describe the replicate-averaged metric. Common random numbers remove only the part of
the noise that a seed adds equally at every point. The rest (the seed's effect that depends on the
parameters: whether a crash happens, say) stays in the average and does show up as sensitivity:
with ``s`` its share of the averaged metric's variance, and that noise independent between points,
a parameter's total index ST becomes about ``ST·(1 − s) + s`` (an inert parameter's rises to ``s``,
with an interval that can exclude 0), its first-order index S1 about ``S1·(1 − s)``, and Morris'
mu* is lifted. Common random numbers cancel the part of the noise two points share, so ``s`` is an
upper bound for an inert parameter's ST. So the result carries a noise floor,
:func:`replicate_noise_share`: that share, estimated from the replicates (a parameter whose ST is
near it is not distinguishable from noise, a conservative rule). More replicates lower it as
``1/R``. A replicate (a seed) whose run failed at any design point is left out at every point, so
that each point's mean is over the same seeds and common random numbers still cancel a seed's
shift: averaging a point over its survivors alone would also select on the outcome, since a run
fails where the model does something extreme. The caption counts the failed runs and the
replicates left out.

:func:`run_sensitivity` is what ``carry-unwind sensitivity DIR`` calls: it writes
``sensitivity_<metric>.csv`` (the indices with their confidence half-widths),
``sensitivity_<metric>.md`` (the same as a table with a short description), and
``sensitivity_<metric>.png`` (a bar chart with confidence-interval error bars).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.analysis.metrics import METRICS
from experiments.sweeps.spec import MIN_SENSITIVITY_SAMPLES, STATUS_OK, SpecError, SweepSpec

__all__ = [
    "METHODS",
    "replicate_noise_share",
    "noise_dominates",
    "noise_warning",
    "DEFAULT_METRIC",
    "SensitivityResult",
    "common_replicates",
    "point_means",
    "analyze",
    "plot_indices",
    "write_outputs",
    "run_sensitivity",
]

log = logging.getLogger(__name__)


METHODS = ("sobol", "morris")
DEFAULT_METRIC = "usdjpy_max_fall_pct"
DESIGN_OF = {"sobol": "saltelli", "morris": "morris"}  # the sample design each method analyses
# the fewest samples each method takes (Sobol': base samples N; Morris: trajectories); the intervals are
# still wide there (SALib's examples use N = 1024) and say how wide
MIN_SAMPLES = {method: MIN_SENSITIVITY_SAMPLES[design] for method, design in DESIGN_OF.items()}

# Okabe-Ito colours (as experiments.analysis.plots): distinguishable under colour-vision deficiency
_BLUE, _ORANGE, _VERMILION = "#0072B2", "#E69F00", "#D55E00"


@dataclass(frozen=True)
class SensitivityResult:
    """Indices of one metric.

    ``table`` has one row per parameter: for Sobol' ``S1, S1_conf, ST, ST_conf``, for Morris
    ``mu, mu_star, mu_star_conf, sigma`` (``*_conf``: half-width of the ``conf_level`` confidence
    interval). ``second_order`` (Sobol' with ``second_order = true``): one row per pair,
    ``S2, S2_conf``.
    """

    method: str
    metric: str
    table: pd.DataFrame
    second_order: pd.DataFrame | None
    sweep: str
    n_points: int
    replicates: int
    conf_level: float
    num_resamples: int
    noise_share: float = math.nan  # replicate_noise_share: NaN with one replicate
    failed_runs: int = 0  # runs that failed
    dropped_replicates: int = 0  # replicates left out at every point because a run of theirs failed somewhere
    seed: int = 0  # the bootstrap's seed
    spec_sha256: str = ""  # the sweep's specification (its digest): which sweep the indices are of


def noise_dominates(result: SensitivityResult) -> bool:
    """Whether the seed noise estimated in the averaged metric (:func:`replicate_noise_share`) is more than its
    whole variance across points: the points then differ by no more than noise, and the indices mean nothing."""
    return math.isfinite(result.noise_share) and result.noise_share > 1.0


def noise_warning(result: SensitivityResult) -> str | None:
    """One line that says the indices cannot be read because seed noise dominates, or None when it does not."""
    if not noise_dominates(result):
        return None
    return (
        f"seed noise dominates {result.metric}: the noise estimated from the replicates is {result.noise_share:.2f} "
        "times the variance of the averaged metric across design points (a share above 1 says that the points "
        "differ by no more than noise), so these indices cannot be read; add replicates (the noise falls as 1/R)"
    )


def replicate_noise_share(results: pd.DataFrame, spec: SweepSpec, metric: str) -> float:
    """The share of the replicate-averaged metric's variance across design points that is seed noise.

    From the points with every replicate successful, the metric as a points × replicates table
    ``y``: the seed × parameter interaction is what is left after each point's and each
    replicate's mean (two-way decomposition, ``e = y − ȳ_p· − ȳ_·r + ȳ_··``), with variance
    ``σ² = Σe² / ((P − 1)(R − 1))``; the noise in a point's mean over ``R`` replicates is ``σ²/R``,
    and the share is that over the variance of the point means. A replicate's own shift, the same
    at every point (what common random numbers cancel), is not counted. NaN with fewer than 2
    replicates or 2 complete points.

    It is an estimate, and can exceed 1 (the noise estimated is then more than the variance it is part
    of): the points differ by no more than noise, and the indices cannot be read (:func:`noise_warning`).
    """
    table = _replicate_table(results, spec, metric)
    table = table.loc[:, table.notna().all(axis=0)]  # the common replicates, as point_means takes them
    y = table.to_numpy(dtype=float)
    n_points, reps = y.shape if y.ndim == 2 else (0, 0)
    if reps < 2 or n_points < 2:
        return math.nan
    e = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    sigma2 = float((e * e).sum()) / ((n_points - 1) * (reps - 1))
    spread = float(y.mean(axis=1).var(ddof=1))
    return sigma2 / reps / spread if spread > 0.0 else math.nan


def _replicate_table(results: pd.DataFrame, spec: SweepSpec, metric: str) -> pd.DataFrame:
    """The metric as a points × replicates table (every point and replicate of the design), NaN where
    the run failed or was not run."""
    ok = results[results["status"] == STATUS_OK]
    table = ok.pivot_table(index="point", columns="replicate", values=metric, aggfunc="first", dropna=False)
    return table.reindex(index=range(spec.n_points), columns=range(spec.replicates))


def common_replicates(results: pd.DataFrame, spec: SweepSpec) -> list[int]:
    """The replicates whose run succeeded at every design point, in order."""
    ok = results[results["status"] == STATUS_OK]
    counts = ok.groupby("replicate")["point"].nunique()
    return [r for r in range(spec.replicates) if counts.get(r, 0) == spec.n_points]


def point_means(results: pd.DataFrame, spec: SweepSpec, metric: str) -> np.ndarray:
    """The metric averaged, at each design point in point order, over the replicates whose runs
    succeeded at every point (:func:`common_replicates`): the same seeds everywhere.

    Raises
    ------
    SpecError
        A design point has no successful run (the sweep is incomplete or runs failed), no replicate
        succeeded at every point, or the metric is undefined (NaN) at some point.
    """
    n_points = spec.n_points
    ok = results[results["status"] == STATUS_OK]
    grouped = ok.groupby("point")[metric]
    # a replicate whose metric is undefined leaves its point undefined, rather than a mean over the others
    undefined = ok[metric].isna().groupby(ok["point"]).any().reindex(range(n_points), fill_value=False)
    means = grouped.mean().reindex(range(n_points)).where(~undefined)
    counts = grouped.size().reindex(range(n_points), fill_value=0)  # successful runs, whatever their metric
    missing = int((counts == 0).sum())
    if missing:
        recorded = set(results["point"])
        failed = sum(1 for p in np.flatnonzero(counts.to_numpy() == 0) if p in recorded)
        why = []
        if failed:
            why.append(f"{failed} whose runs all failed, see the error column")
        if missing - failed:
            why.append(f"{missing - failed} not run yet: finish with 'carry-unwind sweep SPEC --out DIR --resume'")
        raise SpecError(
            f"{missing} of {n_points} design points have no successful run ({'; '.join(why)}), "
            "so the indices cannot be computed"
        )
    if means.isna().any():
        raise SpecError(
            f"metric {metric!r} is undefined (NaN) in a successful run at {int(means.isna().sum())} design points, "
            "so the indices cannot be computed"
        )
    unrun = n_points * spec.replicates - len(set(zip(results["point"], results["replicate"], strict=True)))
    if unrun:  # not a failure: leaving their replicates out would quietly shrink the sweep
        raise SpecError(
            f"{unrun} of the sweep's {n_points * spec.replicates} runs have not run yet, so the indices cannot be "
            "computed; finish with 'carry-unwind sweep SPEC --out DIR --resume'"
        )
    common = common_replicates(results, spec)
    if not common:
        raise SpecError(
            f"no replicate succeeded at every one of the {n_points} design points (failed runs: see the error "
            "column), so no point can be averaged over the same seeds as the others; rerun the failed runs or add "
            "replicates"
        )
    if len(common) < spec.replicates:
        log.warning("%d of %d replicates left out at every design point (a run of theirs failed)",
                    spec.replicates - len(common), spec.replicates)  # fmt: skip
    table = _replicate_table(results, spec, metric)[common]
    return table.mean(axis=1).to_numpy(dtype=float)


def _design_matrix(results: pd.DataFrame, spec: SweepSpec) -> np.ndarray:
    """The inputs per point in SALib's sampling space (log10 for log-scaled parameters)."""
    first = results.groupby("point")[spec.names].first().reindex(range(spec.n_points))
    return np.column_stack([p.to_sampling(first[p.name].to_numpy()) for p in spec.parameters])


def analyze(
    results: pd.DataFrame,
    spec: SweepSpec,
    metric: str = DEFAULT_METRIC,
    method: str | None = None,
    *,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    seed: int = 0,
) -> SensitivityResult:
    """Sensitivity indices of ``metric`` over the sweep's parameters.

    Parameters
    ----------
    results
        The sweep's rows (:func:`experiments.sweeps.load_results`).
    spec
        The sweep's specification (:func:`experiments.sweeps.store.manifest_spec`).
    metric
        One of the sweep's metrics.
    method
        "sobol" (needs a saltelli design) or "morris" (a morris design); default: the one the
        design was made for.
    conf_level, num_resamples, seed
        Bootstrap confidence intervals: level, resamples, and the seed (an integer >= 0) that makes them
        reproducible: the same seed gives the same intervals, bit for bit.
    """
    if method is None:
        method = {"saltelli": "sobol", "morris": "morris"}.get(spec.design)
        if method is None:
            raise SpecError(
                f"the sweep's design is {spec.design!r}; sensitivity indices need design = 'saltelli' (Sobol') "
                "or 'morris'"
            )
    if method not in METHODS:
        raise SpecError(f"method {method!r} is not allowed; expected one of {', '.join(METHODS)}")
    if spec.design != DESIGN_OF[method]:
        raise SpecError(
            f"{method} indices need a sweep with design = {DESIGN_OF[method]!r}; this sweep's design is {spec.design!r}"
        )
    if metric not in spec.metrics:
        raise SpecError(f"metric {metric!r} is not among the sweep's metrics: {', '.join(spec.metrics)}")
    if spec.samples is not None and spec.samples < MIN_SAMPLES[method]:
        raise SpecError(
            f"samples = {spec.samples} is not allowed for {method} indices; expected at least {MIN_SAMPLES[method]} "
            f"({'base samples' if method == 'sobol' else 'trajectories'}): with fewer the estimates leave their "
            "bounds (a Sobol' S1 of 1.33 from one sample) and the bootstrap intervals collapse to zero width"
        )
    y = point_means(results, spec, metric)
    if np.ptp(y) == 0.0:
        raise SpecError(f"metric {metric!r} takes the same value at every design point; its indices are undefined")
    problem = spec.problem()
    names = spec.names
    second = None
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(
            problem,
            y,
            calc_second_order=spec.second_order,
            num_resamples=num_resamples,
            conf_level=conf_level,
            # a Generator, not the integer: SALib's Sobol' analysis takes a seed of 0 for "no seed" and then
            # draws its resamples from NumPy's global random state
            seed=np.random.default_rng(seed),
        )
        table = pd.DataFrame(
            {"parameter": names, **{k: np.asarray(si[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}}
        )
        if spec.second_order:
            pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
            second = pd.DataFrame(
                {
                    "parameter_1": [names[i] for i, _ in pairs],
                    "parameter_2": [names[j] for _, j in pairs],
                    "S2": [float(si["S2"][i, j]) for i, j in pairs],
                    "S2_conf": [float(si["S2_conf"][i, j]) for i, j in pairs],
                }
            )
    else:
        from SALib.analyze import morris

        si = morris.analyze(
            problem,
            _design_matrix(results, spec),
            y,
            num_resamples=num_resamples,
            conf_level=conf_level,
            num_levels=spec.levels,
            seed=seed,
        )
        columns = ("mu", "mu_star", "mu_star_conf", "sigma")
        table = pd.DataFrame({"parameter": names, **{k: np.asarray(si[k], dtype=float) for k in columns}})
    return SensitivityResult(
        method=method,
        metric=metric,
        table=table,
        second_order=second,
        sweep=spec.name,
        n_points=spec.n_points,
        replicates=spec.replicates,
        conf_level=conf_level,
        num_resamples=num_resamples,
        noise_share=replicate_noise_share(results, spec, metric),
        failed_runs=int((results["status"] != STATUS_OK).sum()),
        dropped_replicates=spec.replicates - len(common_replicates(results, spec)),
        seed=seed,
        spec_sha256=spec.digest(),
    )


# -- figure and tables ----------------------------------------------------------------------------


def plot_indices(result: SensitivityResult, ax: Axes) -> Axes:
    """Horizontal bars per parameter, most influential at the top, with confidence-interval whiskers.

    Sobol': first-order S1 (blue) and total ST (orange). Morris: mu* (blue, with its interval)
    and sigma (orange).
    """
    t = result.table
    if result.method == "sobol":
        order = t.sort_values("ST", ascending=True).index
        bars = [("S1", "S1_conf", "first order S1", _BLUE), ("ST", "ST_conf", "total ST", _ORANGE)]
        xlabel = "Sobol' index (share of the metric's variance)"
    else:
        order = t.sort_values("mu_star", ascending=True).index
        bars = [("mu_star", "mu_star_conf", "mu* (mean |effect|)", _BLUE), ("sigma", None, "sigma (spread)", _ORANGE)]
        xlabel = f"elementary effect on {result.metric} of moving a parameter over its range"
    t = t.loc[order]
    y = np.arange(len(t))
    height = 0.38
    for k, (col, conf, label, color) in enumerate(bars):
        offset = (k - 0.5) * height
        ax.barh(
            y - offset,
            t[col],
            height=height,
            color=color,
            label=label,
            xerr=None if conf is None else t[conf],
            error_kw={"ecolor": "0.25", "elinewidth": 1.0, "capsize": 3},
        )
    ax.set_yticks(y, t["parameter"])
    ax.axvline(0.0, color="0.4", linewidth=0.8)
    if noise_dominates(result):  # no floor to draw (it would lie past every index): the chart says so instead
        ax.plot([], [], linestyle="none", label=f"seed noise dominates ({result.noise_share:.2f}x the variance "
                "across points): the indices cannot be read")  # fmt: skip
        ax.text(0.98, 0.04, "seed noise dominates:\nthe indices cannot be read", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=9, color=_VERMILION, fontweight="bold")  # fmt: skip
    elif result.method == "sobol" and math.isfinite(result.noise_share):
        ax.axvline(result.noise_share, color="0.3", linewidth=1.0, linestyle="--",
                   label=f"noise floor ({result.noise_share:.1%} of the variance)")  # fmt: skip
    ax.set_xlabel(f"{xlabel}; whiskers: {100 * result.conf_level:g} % confidence intervals", fontsize=9)
    name = "Sobol' indices" if result.method == "sobol" else "Morris screening"
    ax.set_title(f"{name} of {result.metric}", loc="left", fontsize=10.5, fontweight="bold")
    ax.grid(True, axis="x", color="0.9", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("0.4")
    ax.tick_params(labelsize=8.5, colors="0.25")
    # below the axis label, centred: in the title's row it ran into a long metric name
    ax.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, borderaxespad=0.0)
    return ax


def _caption(result: SensitivityResult) -> str:
    what = METRICS.get(result.metric, result.metric)
    ci = f"{100 * result.conf_level:g} % confidence intervals ({result.num_resamples} bootstrap resamples)"
    if noise_dominates(result):
        noise = (
            f" **Seed noise dominates: the indices below cannot be read.** The seed noise left in the averaged "
            f"metric (the seed's effect that depends on the parameters), estimated from the replicates, is "
            f"{result.noise_share:.2f} times the metric's variance across points: more than all of it, so the "
            "points differ by no more than noise. Add replicates (the noise falls as 1/R)."
        )
    elif math.isfinite(result.noise_share) and result.method == "sobol":
        noise = (
            f" Seed noise left in the averaged metric (the seed's effect that depends on the parameters): about "
            f"{result.noise_share:.1%} of its variance across points (s). Where that noise is independent between "
            "points, a parameter's ST reads about ST·(1 − s) + s and its S1 about S1·(1 − s), and an inert "
            "parameter's ST is about s; common random numbers cancel the part of it two points share, so s is an "
            "upper bound for an inert parameter's ST: an ST near it is not distinguishable from noise."
        )
    elif math.isfinite(result.noise_share):
        noise = (
            f" Seed noise left in the averaged metric (the seed's effect that depends on the parameters): about "
            f"{result.noise_share:.1%} of its variance across points. Each elementary effect is a difference of two "
            "points' metrics, so the part of that noise the two points do not share (common random numbers cancel "
            "the rest) enters every effect: it raises every parameter's σ and μ*, and an inert parameter's μ* is "
            "not 0 but of the size of the noise's own differences; a μ* near the smallest ones is not "
            "distinguishable from noise."
        )
    else:
        noise = " One replicate per point: the seed noise left in the metric cannot be estimated, and it inflates ST."
    failed = ""
    if result.failed_runs:
        kept = result.replicates - result.dropped_replicates
        failed = (
            f" {result.failed_runs} runs failed: the {result.dropped_replicates} replicates they belong to are left "
            f"out at every design point, which average the {kept} replicates that succeeded everywhere."
        )
    return (
        f"Sweep `{result.sweep}`: {result.n_points} design points x {result.replicates} replicates; the metric "
        f"({what}) is averaged over the replicates (common random numbers) at each point. "
        f"`*_conf` columns: half-widths of the {ci}.{noise}{failed}"
    )


def _markdown(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def outputs_provenance(result: SensitivityResult, sweep_dir: str | Path | None = None) -> dict[str, Any]:
    """What made a sensitivity table: the package's provenance (:func:`model.results.provenance`), the sweep
    (its name, folder and specification's digest), the method and its bootstrap's settings, and SALib's version."""
    from experiments.runner import installed_version
    from model.results import provenance

    return {
        **provenance(),
        "command": "carry-unwind sensitivity",
        "sweep": result.sweep,
        "sweep_dir": None if sweep_dir is None else str(Path(sweep_dir).resolve()),
        "spec_sha256": result.spec_sha256,
        "method": result.method,
        "metric": result.metric,
        "conf_level": result.conf_level,
        "num_resamples": result.num_resamples,
        "seed": result.seed,
        "salib": installed_version("SALib"),
    }


def write_outputs(result: SensitivityResult, out_dir: str | Path, sweep_dir: str | Path | None = None) -> list[Path]:
    """Write ``sensitivity_<metric>.csv``, ``.md``, ``.png`` and ``.json`` (what made them), and ``_s2.csv``
    with second-order indices; returns the paths.

    Refuses (:class:`~experiments.sweeps.SpecError`), before writing anything, where ``out_dir`` already
    holds this metric's tables of another sweep (another specification), which they would replace."""
    from experiments.analysis.plots import save_figure
    from experiments.runner import write_text_atomic
    from model.validation import parse_json

    out = Path(out_dir)
    stem = out / f"sensitivity_{result.metric}"
    made = outputs_provenance(result, sweep_dir)
    sidecar = stem.with_suffix(".json")
    if sidecar.is_file():
        try:
            before = parse_json(sidecar.read_bytes(), lambda why: ValueError(why))
        except ValueError:
            before = None
        theirs = before.get("spec_sha256") if isinstance(before, dict) else None
        if theirs != result.spec_sha256:
            raise SpecError(
                f"--out = {str(out)!r} is not allowed; it holds {sidecar.name} of another sweep "
                f"({before.get('sweep') if isinstance(before, dict) else 'unreadable'}), which this would replace; "
                "choose another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md"), stem.with_suffix(".png"), sidecar]
    write_text_atomic(paths[0], result.table.to_csv(index=False))
    title = "Sobol' indices" if result.method == "sobol" else "Morris elementary effects"
    md = [f"# {title} of `{result.metric}`", "", _caption(result), "", _markdown(result.table), ""]
    if result.second_order is not None:
        s2 = out / f"sensitivity_{result.metric}_s2.csv"
        write_text_atomic(s2, result.second_order.to_csv(index=False))
        paths.append(s2)
        md += ["## Second-order indices", "", _markdown(result.second_order), ""]
    dirty = " with uncommitted changes" if made["git_dirty"] else ""
    md += [
        f"*Made by* carry-unwind {made['version']} (commit {str(made['git_commit'])[:12]}{dirty}; code fingerprint "
        f"`{made['code_fingerprint']}`) with SALib {made['salib']}, bootstrap seed {result.seed}, from the sweep's "
        f"specification `{result.spec_sha256[:12]}`; everything in `{sidecar.name}`.",
        "",
    ]
    write_text_atomic(paths[1], "\n".join(md))
    fig = Figure(figsize=(7.5, 1.9 + 0.55 * len(result.table)), layout="constrained")
    plot_indices(result, fig.subplots())
    save_figure(fig, paths[2])
    write_text_atomic(sidecar, json.dumps(made, indent=1, sort_keys=True) + "\n")
    return paths


def run_sensitivity(
    sweep_dir: str | Path,
    metric: str | None = None,
    method: str | None = None,
    out_dir: str | Path | None = None,
    **kwargs: Any,
) -> tuple[SensitivityResult, list[Path]]:
    """Load the sweep in ``sweep_dir``, compute the indices and write the table and figure.

    ``metric`` defaults to ``usdjpy_max_fall_pct`` if the sweep kept it, else its first metric;
    ``out_dir`` defaults to ``sweep_dir``. Further keyword arguments go to :func:`analyze`.
    """
    from experiments.sweeps import load_results
    from experiments.sweeps.store import manifest_spec

    spec = manifest_spec(sweep_dir)  # a SpecError naming the manifest if it lacks the specification
    if metric is None:
        metric = DEFAULT_METRIC if DEFAULT_METRIC in spec.metrics else spec.metrics[0]
    result = analyze(load_results(sweep_dir), spec, metric, method, **kwargs)
    return result, write_outputs(result, sweep_dir if out_dir is None else out_dir, sweep_dir)
