"""Compare scenarios and saved runs over seeds: a tidy table, a figure and their provenance.

An *arm* of a comparison is a scenario run over seeds (on the fast path,
:func:`model.results.run_simulation`) or a saved run directory (``carry-unwind run``'s output:
one run, or one ``seed-N/`` run per seed). For every arm and headline figure the table gives the
median and the 5–95 % range over seeds and, against the first arm, the *paired* difference: seed
by seed (the same seed drives the same random streams in both arms), its median and a 95 %
Student-t interval of its mean (:func:`experiments.analysis.statistics.seed_spread`).

::

    from experiments.analysis.compare import scenario_arm, compare_table, plot_compare

    arms = [scenario_arm("baseline", seeds=range(1, 11), days=250),
            scenario_arm("risk_off", seeds=range(1, 11), days=250)]
    table = compare_table(arms)          # pandas DataFrame, one row per (arm, metric)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from experiments.analysis.statistics import seed_spread

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "HEADLINE_METRICS",
    "FIGURE_METRICS",
    "Arm",
    "CompareError",
    "simulate",
    "scenario_arm",
    "saved_arm",
    "compare_table",
    "table_markdown",
    "plot_compare",
    "comparison_provenance",
    "write_comparison",
    "OUTPUT_NAME",
]

# summary key -> label with unit, in the order of the table (model.results.summarize)
HEADLINE_METRICS: dict[str, str] = {
    "usdjpy_surge_60d_pct": "largest yen surge (USD/JPY fall within 60 trading days), %",
    "usdjpy_max_fall_pct": "largest USD/JPY fall over the whole run, %",
    "usdjpy_end": "USD/JPY on the last day, JPY per USD",
    "hf_gross_max_drawdown_pct": "carry-stock drawdown, %",
    "hf_margin_calls_total": "margin calls, fund-days",
    "hf_failures_total": "fund failures, funds",
    "risk_index_peak": "peak risk index, index points",
    "ust10y_change_bp": "UST 10y yield change, bp",
    "jgb10y_change_bp": "JGB 10y yield change, bp",
}
# the metrics drawn beside the USD/JPY paths
FIGURE_METRICS = ("usdjpy_surge_60d_pct", "hf_gross_max_drawdown_pct", "hf_margin_calls_total", "risk_index_peak")


class CompareError(ValueError):
    """Arms that cannot be compared (no runs, a saved directory that is not a run, unequal horizons)."""


@dataclass(frozen=True, eq=False)
class Arm:
    """One arm of a comparison: its runs over seeds.

    Attributes
    ----------
    label
        The name shown in the table and the figure.
    source
        ``"scenario NAME"`` or ``"saved run DIR"``.
    seeds
        The seed of each run, shape ``(n_runs,)``.
    summaries
        Each run's headline figures (:func:`model.results.summarize`), in the order of ``seeds``.
    usdjpy
        USD/JPY of each run, shape ``(n_runs, days + 1)``, day 0 first.
    dates
        The calendar date of each day (ISO text), shape ``(days + 1,)``.
    provenance
        What produced the runs (scenario file, saved runs' git commits and versions).
    """

    label: str
    source: str
    seeds: tuple[int, ...]
    summaries: tuple[Mapping[str, Any], ...]
    usdjpy: np.ndarray
    dates: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> int:
        """Trading days of each run."""
        return self.usdjpy.shape[1] - 1

    def values(self, metric: str) -> np.ndarray:
        """``metric`` of each run, shape ``(n_runs,)``; NaN where undefined."""
        return np.array([math.nan if s.get(metric) is None else float(s[metric]) for s in self.summaries])


# -- arms -------------------------------------------------------------------------------------------


def simulate(task: Mapping[str, Any]) -> dict[str, Any]:
    """One run of a scenario arm (the unit of work of :func:`experiments.runner.run_tasks`).

    ``task`` holds ``scenario`` (a loaded :class:`model.scenarios.Scenario`), ``seed`` and ``days``;
    returns the run's ``summary``, its ``usdjpy`` path and its ``dates`` (small, so that workers send
    little back).
    """
    from model.results import run_simulation

    scenario = task["scenario"]
    result = run_simulation(scenario.config, scenario=scenario, seed=task["seed"], days=task["days"])
    ts = result.timeseries
    return {
        "summary": result.summary,
        "usdjpy": ts["usdjpy"].to_numpy(dtype=float),
        "dates": [d.strftime("%Y-%m-%d") for d in ts["date"]] if "date" in ts else [],
    }


def scenario_arm(
    scenario: Any,
    *,
    seeds: Iterable[int],
    days: int | None = None,
    workers: int = 1,
    progress: bool = False,
    label: str | None = None,
) -> Arm:
    """Run ``scenario`` (a name, a path or a loaded ``Scenario``) once per seed.

    The runs go through the shared parallel runner (one run in this process); the results do not depend
    on ``workers``.

    Raises
    ------
    experiments.runner.TaskFailed
        A run raised, one seed or several alike: ``index`` is its seed's position in ``seeds``, the
        run's error its ``__cause__``.
    """
    from experiments.runner import run_tasks
    from model.scenarios import Scenario, load_scenario

    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise CompareError("no seeds to run")
    tasks = [{"scenario": spec, "seed": s, "days": days} for s in seeds]
    runs = run_tasks(simulate, tasks, workers=min(workers, len(tasks)), progress=progress, desc=spec.name)
    return Arm(
        label=label or spec.name,
        source=f"scenario {spec.name}",
        seeds=seeds,
        summaries=tuple(r["summary"] for r in runs),
        usdjpy=np.vstack([r["usdjpy"] for r in runs]),
        dates=tuple(runs[0]["dates"]),
        provenance={"scenario": spec.name, "scenario_file": spec.path, "days": int(len(runs[0]["usdjpy"]) - 1)},
    )


def _run_dirs(path: Path) -> list[Path]:
    from model.results import is_run_dir

    if is_run_dir(path):
        return [path]
    if path.is_dir():
        return sorted((p for p in path.iterdir() if is_run_dir(p)), key=lambda p: (len(p.name), p.name))
    return []


def saved_arm(path: str | Path, *, label: str | None = None) -> Arm:
    """A saved run directory (``carry-unwind run --out DIR``), or one holding a run per seed (``--seeds``).

    The headline figures are recomputed from the saved time series (:func:`model.results.summarize`),
    so that runs saved by an older version are measured as the scenario arms are.

    Raises
    ------
    CompareError
        ``path`` holds no saved run, or its runs have different horizons.
    """
    import json

    from model.results import SUMMARY_FILE, load, summarize

    path = Path(path)
    dirs = _run_dirs(path)
    if not dirs:
        raise CompareError(f"{path} is not a saved run directory (carry-unwind run --out) and holds none")
    results = [load(d) for d in dirs]
    lengths = {r.days for r in results}
    if len(lengths) > 1:
        raise CompareError(f"the runs in {path} have different horizons ({sorted(lengths)} trading days)")
    _check_one_arm(path, dirs, results)
    ts = results[0].timeseries
    records = [json.loads((d / SUMMARY_FILE).read_text(encoding="utf-8")) for d in dirs]
    return Arm(
        label=label or path.name or str(path),
        source=f"saved run {path}",
        seeds=tuple(r.seed for r in results),
        # recomputed from the saved series: a run saved by an older version is judged by today's rules
        summaries=tuple(summarize(r.timeseries) for r in results),
        usdjpy=np.vstack([r.timeseries["usdjpy"].to_numpy(dtype=float) for r in results]),
        dates=tuple(d.strftime("%Y-%m-%d") for d in ts["date"]) if "date" in ts else (),
        provenance={
            "path": str(path),
            "scenario": results[0].scenario,
            "days": results[0].days,
            "git_commits": sorted({str(r.get("git_commit")) for r in records}),
            "package_versions": sorted({str(r.get("package_version")) for r in records}),
        },
    )


def _check_one_arm(path: Path, dirs: Sequence[Path], results: Sequence[Any]) -> None:
    """Refuse (:class:`CompareError`) a folder whose runs are not one arm: a seed twice (it would count twice in
    the spread and the paired differences), or runs of different scenarios or configurations (the arm would mix
    them under the first run's name)."""
    first: dict[int, Path] = {}
    for d, r in zip(dirs, results, strict=True):
        if r.seed in first:
            raise CompareError(
                f"the runs in {path} repeat seed {r.seed} ({first[r.seed].name} and {d.name}); an arm holds one run "
                "per seed"
            )
        first[r.seed] = d
    d0, r0 = dirs[0], results[0]
    for d, r in zip(dirs[1:], results[1:], strict=True):
        if r.scenario != r0.scenario:
            raise CompareError(
                f"the runs in {path} are of different scenarios ({d0.name}: {r0.scenario}, {d.name}: {r.scenario}); "
                "an arm holds the runs of one scenario"
            )
        if r.config != r0.config:
            a, b = r0.config.to_dict(), r.config.to_dict()
            differs = next((f"{sec}.{k}" for sec in a for k in a[sec] if a[sec][k] != b.get(sec, {}).get(k)), "?")
            raise CompareError(
                f"the runs in {path} have different configurations ({d0.name} and {d.name} differ in {differs}); "
                "an arm holds the runs of one configuration"
            )


# -- the table -------------------------------------------------------------------------------------


def compare_table(arms: Sequence[Arm], metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per arm and headline figure: its spread over seeds and the paired difference vs the first arm.

    Columns: ``arm``, ``metric``, ``label`` (with unit), ``n`` (runs with a value), ``median``,
    ``q05``, ``q95`` (5th and 95th percentiles over seeds), ``n_pairs`` (seeds the arm shares with
    the first arm), ``diff_median`` (median over those seeds of this arm − the first arm),
    ``diff_mean`` and ``diff_ci95_lo``, ``diff_ci95_hi`` (95 % Student-t interval of the mean
    difference over the shared seeds). The first arm's difference columns are 0, and NaN where no seed is shared.
    """
    if not arms:
        raise CompareError("nothing to compare")
    metrics = list(metrics or HEADLINE_METRICS)
    first = arms[0]
    rows = []
    for arm in arms:
        common = [s for s in arm.seeds if s in first.seeds]
        ia = [arm.seeds.index(s) for s in common]
        ib = [first.seeds.index(s) for s in common]
        for metric in metrics:
            v = arm.values(metric)
            spread = seed_spread(v)
            diff = seed_spread(v[ia] - first.values(metric)[ib]) if common else seed_spread([])
            rows.append(
                {
                    "arm": arm.label,
                    "metric": metric,
                    "label": HEADLINE_METRICS.get(metric, metric),
                    "n": spread["n"],
                    "median": spread["median"],
                    "q05": spread["q05"],
                    "q95": spread["q95"],
                    "n_pairs": diff["n"],
                    "diff_median": diff["median"],
                    "diff_mean": diff["mean"],
                    "diff_ci95_lo": diff["ci95_lo"],
                    "diff_ci95_hi": diff["ci95_hi"],
                }
            )
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}"


def table_markdown(table: pd.DataFrame, arms: Sequence[Arm]) -> str:
    """The table as Markdown: one row per headline figure, per arm its median [5–95 %] and the difference."""
    names = [a.label for a in arms]
    head = ["headline figure", *(f"{n}: median [5–95%]" for n in names)]
    head += [f"{n} − {names[0]}: mean paired diff. [95% CI]" for n in names[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, part in table.groupby("metric", sort=False):
        by = part.set_index("arm")
        cells = [str(part["label"].iloc[0])]
        cells += [f"{_fmt(by.at[n, 'median'])} [{_fmt(by.at[n, 'q05'])}, {_fmt(by.at[n, 'q95'])}]" for n in names]
        cells += [
            f"{_fmt(by.at[n, 'diff_mean'])} [{_fmt(by.at[n, 'diff_ci95_lo'])}, {_fmt(by.at[n, 'diff_ci95_hi'])}]"
            if by.at[n, "n_pairs"]
            else "no common seed"
            for n in names[1:]
        ]
        lines.append("| " + " | ".join(cells) + " |")
    seeds = "; ".join(f"{a.label}: {_seed_text(a.seeds)}" for a in arms)
    lines += [
        "",
        f"Seeds — {seeds}. Median and 5–95% range over seeds; differences are paired by seed (the same "
        "seed in both arms): their mean with a 95% Student-t interval over the seeds.",
    ]
    return "\n".join(lines) + "\n"


def _seed_text(seeds: Sequence[int]) -> str:
    s = list(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}–{s[-1]}"
    return ", ".join(str(x) for x in s)


# -- the figure ------------------------------------------------------------------------------------


def plot_compare(arms: Sequence[Arm], table: pd.DataFrame, metrics: Sequence[str] = FIGURE_METRICS) -> Figure:
    """USD/JPY's median path with its 5–95 % band per arm, and the headline figures per arm.

    Made in the paper style (:func:`experiments.analysis.style.paper_figure`), two columns wide:
    panel a (top) the paths over trading days; below it one panel per metric with each arm's
    median (dot) and 5–95 % range over seeds (bar).
    """
    from experiments.analysis.style import CYCLE, label_panels, paper_figure

    n = len(metrics)
    fig, grid = paper_figure("two", height=4.6, nrows=2, ncols=n, height_ratios=[1.35, 1.0])
    gs = grid[0, 0].get_gridspec()
    for ax in grid[0]:
        ax.remove()
    top = fig.add_subplot(gs[0, :])
    days = min(a.days for a in arms)
    x = np.arange(days + 1)
    for i, arm in enumerate(arms):
        color = CYCLE[i % len(CYCLE)]
        q05, med, q95 = np.percentile(arm.usdjpy[:, : days + 1], [5, 50, 95], axis=0)
        top.fill_between(x, q05, q95, color=color, alpha=0.18, linewidth=0)
        top.plot(x, med, color=color, label=f"{arm.label}: median, 5–95% band ({len(arm.seeds)} runs)")
    top.set_title("USD/JPY over the run (a fall is a stronger yen)")
    top.set_xlabel("trading day")
    top.set_ylabel("JPY per USD")
    top.set_xlim(0, days)
    top.legend(loc="best")
    names = [a.label for a in arms]
    rotate = len(names) > 2 or max(len(name) for name in names) > 10
    for ax, metric in zip(grid[1], metrics, strict=True):
        part = table[table["metric"] == metric].set_index("arm")
        for i, name in enumerate(names):
            med, lo, hi = part.at[name, "median"], part.at[name, "q05"], part.at[name, "q95"]
            if math.isfinite(med):
                ax.errorbar(i, med, yerr=[[med - lo], [hi - med]], fmt="o", color=CYCLE[i % len(CYCLE)], capsize=2)
        _, _, unit = HEADLINE_METRICS.get(metric, metric).rpartition(", ")
        ax.set_title(_SHORT.get(metric, metric))
        ax.set_ylabel(unit)
        ax.set_xticks(range(len(names)), names, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.grid(axis="x", visible=False)
    label_panels([top, *grid[1]])
    fig.supxlabel("b–e: median (dot) and 5–95% range (bar) over seeds", fontsize=6.5, color="0.35")
    return fig


_SHORT = {
    "usdjpy_surge_60d_pct": "yen surge (≤ 60 days)",
    "hf_gross_max_drawdown_pct": "carry drawdown",
    "hf_margin_calls_total": "margin calls",
    "risk_index_peak": "peak risk index",
    "usdjpy_max_fall_pct": "USD/JPY fall",
    "usdjpy_end": "USD/JPY end",
    "hf_failures_total": "fund failures",
    "ust10y_change_bp": "UST 10y change",
    "jgb10y_change_bp": "JGB 10y change",
}


# -- writing ---------------------------------------------------------------------------------------

OUTPUT_NAME = "compare"  # compare.csv, compare.md, compare.png, compare.pdf, compare.json


def comparison_provenance(arms: Sequence[Arm], command: str = "") -> dict[str, Any]:
    """What produced a comparison: package version, git commit, the command and each arm's seeds and source."""
    from experiments.analysis.figures.settings import plain
    from model import __version__
    from model.results import git_commit, git_dirty

    return plain(
        {
            "title": "Comparison: " + " vs ".join(a.label for a in arms),
            "package": "carry-unwind",
            "version": __version__,
            "git_commit": git_commit(),
            "git_dirty": git_dirty(),
            "command": command,
            "seeds": {a.label: list(a.seeds) for a in arms},
            "arms": [{"label": a.label, "source": a.source, "days": a.days, **a.provenance} for a in arms],
            "statistics": "median and 5-95% range over seeds; differences vs the first arm paired by seed, "
            "95% Student-t interval of the mean difference (experiments.analysis.statistics.seed_spread)",
        }
    )


def write_comparison(out: str | Path, arms: Sequence[Arm], *, command: str = "") -> tuple[pd.DataFrame, list[Path]]:
    """Write the table (``compare.csv``, ``compare.md``) and the figure with its provenance into ``out``.

    The figure is ``compare.pdf`` and ``compare.png`` with the provenance in their metadata and
    ``compare.json`` beside them (provenance, the table and the paths plotted), as the paper
    figures are written. Returns the table and the files written.
    """
    from experiments.analysis.figures.registry import save_with_provenance
    from experiments.analysis.figures.settings import band
    from experiments.analysis.style import paper_style
    from experiments.runner import write_text_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = compare_table(arms)
    provenance = comparison_provenance(arms, command)
    csv_path, md_path = out / f"{OUTPUT_NAME}.csv", out / f"{OUTPUT_NAME}.md"
    write_text_atomic(csv_path, table.to_csv(index=False))
    header = (
        f"# {provenance['title']}\n\n"
        f"carry-unwind {provenance['version']}, commit {provenance['git_commit'] or 'unknown'}"
        f"{' (uncommitted changes)' if provenance['git_dirty'] else ''}; {arms[0].days} trading days.\n\n"
    )
    write_text_atomic(md_path, header + table_markdown(table, arms))
    days = min(a.days for a in arms)
    data = {
        "table": table.to_dict(orient="records"),
        "usdjpy": {a.label: band(a.usdjpy[:, : days + 1]) for a in arms},
        "dates": list(arms[0].dates[: days + 1]),
    }
    with paper_style():
        fig = plot_compare(arms, table)
        files = save_with_provenance(fig, out, OUTPUT_NAME, provenance, data)
    return table, [csv_path, md_path, *files]
