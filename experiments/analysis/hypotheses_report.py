"""The hypotheses' outputs: ``verdicts.json``, ``report.md`` and one figure per hypothesis."""

from __future__ import annotations

import json
import logging
import os
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.analysis.hypotheses import (
    CI_LEVEL,
    DASHBOARD_NAMES,
    DECISION_RULES,
    H1_HEADLINE,
    HYPOTHESES,
    INTERVAL_METHOD,
    JOINT_RULES,
    HypothesisResult,
    Runs,
    check_triggers_apply,
    chosen,
)
from experiments.analysis.targets import FIRST_SEED
from experiments.runner import fsync_dir, save_figure_atomic, write_text_atomic

__all__ = ["run_hypotheses", "format_estimate", "hypothesis_figure", "provenance", "provenance_line", "VERDICT_COLORS"]

STAGING_DIR = ".hypotheses-staged"  # in the output folder, while a run's figures are drawn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("experiments.analysis.hypotheses")  # the per-hypothesis lines, as before


# what a run writes into its folder, replacing it, and removes there (the figures of the hypotheses it did
# not run): a folder holding such files is one an earlier run wrote, as its verdicts.json shows, or refused
VERDICTS_FILE, REPORT_FILE = "verdicts.json", "report.md"
MAX_VERDICTS_BYTES = 64 * 2**20  # a verdicts.json is some kilobytes; a larger file is not one this command wrote


def check_own_outputs(out: Path) -> None:
    """Refuse (:class:`model.validation.ConfigError`) an ``out`` holding files that a run would replace or
    remove (``report.md``, ``verdicts.json``, ``h1.png`` ... ``h7.png``) unless an earlier run wrote them
    there, as its ``verdicts.json`` shows: a run with ``only`` removes the figures of the hypotheses it
    did not run, and must not take a user's own ``h2.png`` for an earlier run's."""
    from model.validation import ConfigError

    if not out.is_dir():
        return
    names = [VERDICTS_FILE, REPORT_FILE, *(_figure_name(key) for key in HYPOTHESES)]
    present = [name for name in names if (out / name).exists() or (out / name).is_symlink()]
    if not present or _is_verdicts(out / VERDICTS_FILE):
        return
    listed = ", ".join(present[:4]) + (f", ... ({len(present)} files)" if len(present) > 4 else "")
    raise ConfigError(
        f"--out = {str(out)!r} is not allowed; it holds {listed}, which this command would replace or remove, and "
        f"no {VERDICTS_FILE} of an earlier 'carry-unwind hypotheses' run shows it wrote them; expected a new or "
        "empty directory, or one that hypotheses wrote"
    )


def _is_verdicts(path: Path) -> bool:
    """Whether ``path`` is a ``verdicts.json`` that a run wrote: a JSON object with its seeds and a list of
    hypotheses, each with its key."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_VERDICTS_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("seeds"), list)
        and isinstance(data.get("hypotheses"), list)
        and all(isinstance(h, dict) and "key" in h for h in data["hypotheses"])
    )


def run_hypotheses(out: str | Path, seeds: int = 10, only: Sequence[str] | None = None, workers: int = 1,
                   quick: bool = False, first_seed: int = FIRST_SEED, overrides: Mapping[str, Any] | None = None,
                   progress: bool = False) -> list[HypothesisResult]:  # fmt: skip
    """Run the chosen hypotheses, write ``report.md``, ``verdicts.json`` and figures into ``out``.

    The report, the verdicts and the figures describe this run only, whatever ``out`` held:
    ``report.md`` and ``verdicts.json`` are replaced, and the figures (``h1.png`` …) of hypotheses
    this run did not draw are removed, so that a run with ``only`` into the folder of a full run
    leaves no figure of the earlier run beside a report that does not show it (the files of a
    ``--draws`` run, ``draws.*``, are other files and stay). Nothing in ``out`` is replaced until
    every chosen hypothesis has run and every figure is drawn (into a staging folder inside it): a run
    that fails leaves the earlier outputs as they were. A folder holding such files that no earlier run
    wrote (no ``verdicts.json`` of one) is refused before anything runs (:func:`check_own_outputs`).

    ``overrides`` (``section__field`` or ``section.field`` → value): every arm of every hypothesis takes
    them, under the arm's own settings; recorded in both files. A field that no hypothesis may take, or
    that one of ``only`` sets in every arm or switches in an arm, is refused before any run
    (:func:`~experiments.analysis.hypotheses.check_triggers_apply`). None by default: the verdicts at the
    default parameters. ``progress``: a progress bar on stderr for each batch of runs, labelled with its
    hypothesis. The seeds are ``first_seed`` onwards, by default validation's held-out seeds (1001, …),
    not the calibration's fitting seeds (1, …), so that no verdict is read on the fund populations and
    noise the parameters were fitted on."""
    out = Path(out)
    keys = chosen(only)
    base = {k.replace(".", "__"): v for k, v in (overrides or {}).items()}
    check_triggers_apply(keys, base)
    check_own_outputs(out)  # before any run: a folder of someone else's files is refused, not emptied
    out.mkdir(parents=True, exist_ok=True)
    seed_list = list(range(first_seed, first_seed + seeds))
    results = []
    for key in keys:
        log.info("%s: %d seeds", key, len(seed_list))
        runs = Runs(workers, tuple(sorted(base.items())), progress, f"{key} runs")
        r = HYPOTHESES[key](seed_list, runs, quick)
        results.append(r)
        log.info("%s: %s (%s = %.3g [%.3g, %.3g])", key, r.verdict, r.effect_name, r.effect, r.ci_low, r.ci_high)
    # drawn once all have run, into a staging folder: a failure up to the renames leaves the earlier outputs whole
    staging = out / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)  # left by a run that was killed
    staging.mkdir()
    try:
        for r in results:
            r.figure = _figure(r, staging)
        shown = {k.replace("__", "."): v for k, v in base.items()}
        made = provenance(quick)
        payload = {**made, "seeds": seed_list, "ci_level": CI_LEVEL, "interval": INTERVAL_METHOD,
                   "overrides": shown, "hypotheses": [_jsonable(asdict(r)) for r in results]}  # fmt: skip
        write_text_atomic(out / VERDICTS_FILE, json.dumps(payload, indent=2))
        write_text_atomic(out / REPORT_FILE, _report(results, seed_list, shown) + "\n" + provenance_line(made) + "\n")
        for r in results:
            if r.figure:
                os.replace(staging / r.figure, out / r.figure)
        fsync_dir(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_other_figures(out, results)
    return results


def provenance(quick: bool) -> dict[str, Any]:
    """What made a hypotheses output, recorded in it: the package version, the git commit and whether the
    tree had uncommitted changes (None where unknown), the code fingerprint
    (:func:`experiments.runner.code_fingerprint`: code, inputs and library versions) and ``--quick``."""
    from model.results import provenance as made_by

    return {**made_by(), "quick": bool(quick)}


def provenance_line(made: Mapping[str, Any]) -> str:
    """One line of a report saying what made it (:func:`provenance`); "" for an output that recorded none."""
    if "code_fingerprint" not in made:
        return ""
    commit = made.get("git_commit")
    where = "no git commit known"
    if commit:
        where = f"commit {commit[:12]}" + (" with uncommitted changes" if made.get("git_dirty") else "")
    quick = ", with --quick (shorter H7 runs)" if made.get("quick") else ""
    return (f"*Made by* carry-unwind {made.get('version')} ({where}; code fingerprint "
            f"`{made['code_fingerprint']}`){quick}.")  # fmt: skip


def _figure_name(key: str) -> str:
    """The file name of a hypothesis's figure in the output folder, ``h1.png`` for H1."""
    return f"{key.lower()}.png"


def _remove_other_figures(out: Path, results: Sequence[HypothesisResult]) -> None:
    """Remove from ``out`` the figure of every hypothesis that ``results`` did not draw (an earlier run's)."""
    drawn = {r.figure for r in results if r.figure}
    removed = False
    for key in HYPOTHESES:
        path = out / _figure_name(key)
        if path.name not in drawn and (path.exists() or path.is_symlink()):
            path.unlink()
            removed = True
            log.info("removed %s: an earlier run's figure of %s, which this run did not run", path, key)
    if removed:
        fsync_dir(out)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def format_estimate(x: float) -> str:
    """An estimate or interval bound to three significant digits, "n/a" if missing."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3g}"


_e = format_estimate


def _report(results: list[HypothesisResult], seeds: list[int], overrides: Mapping[str, Any] | None = None) -> str:
    where = "for the default parameters"
    if overrides:
        where = "with " + ", ".join(f"`{k} = {v}`" for k, v in overrides.items())
    lines = [f"# Hypotheses: verdicts {where}", "",
             f"Seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}), common random numbers across arms; "
             f"95% intervals over seeds ({INTERVAL_METHOD}). *supported*: the interval lies on the predicted "
             "side; *refuted*: on the other; *inconclusive*: otherwise — it straddles, or, where a verdict joins "
             "several intervals, none is on the wrong side but not all are on the right one (H3 with the yen's "
             "interval above 0 and a link's straddling 0; H5 with its fragile arm in a trigger that made fewer "
             "than half the seeds panic, whatever its interval).", ""]  # fmt: skip
    ran = list(dict.fromkeys(r.key for r in results))
    if set(ran) != set(HYPOTHESES):  # a partial run (--only): say so, beside the table
        lines += [f"This run: {', '.join(ran)} only, of {', '.join(HYPOTHESES)}. The others were not run, and no "
                  "figure of theirs from an earlier run is kept beside this report.", ""]  # fmt: skip
    lines += ["| | hypothesis | effect | estimate | 95% CI | verdict |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        earlier = f" ({r.earlier_rule['verdict']} by {r.earlier_rule['label']})" if r.earlier_rule else ""
        lines.append(f"| {r.key} | {r.title} | {r.effect_name} | {_e(r.effect)} | [{_e(r.ci_low)}, "
                     f"{_e(r.ci_high)}] | **{r.verdict}**{earlier} |")  # fmt: skip
    for r in results:
        lines += [
            "",
            f"## {r.key} — {r.title}",
            "",
            f"*Claim.* {r.claim}",
            "",
            f"*Result.* {r.effect_name}: {_e(r.effect)} [{_e(r.ci_low)}, {_e(r.ci_high)}] → **{r.verdict}**.",
        ]
        if r.earlier_rule:  # a rule changed after its results had been seen: its verdict beside the current one
            e = r.earlier_rule
            lines += ["", f"*By {e['label']}* ({e['rule']}): **{e['verdict']}**."]
        if r.notes:
            lines += ["", r.notes]
        text = json.dumps(_jsonable(_strip(r.worlds)), indent=1)
        if len(text) <= REPORT_JSON_CHARS:
            lines += ["", "```json", text, "```"]
        else:  # never cut a JSON text in the middle
            lines += ["", f"(Its {len(text):,}-character breakdown is in `verdicts.json`.)"]
        if r.figure:
            lines += ["", f"![{r.key}]({r.figure})"]
    return "\n".join(lines) + "\n"


REPORT_JSON_CHARS = 20_000  # the longest breakdown the report shows inline


def _strip(d):
    """Drop bulky per-seed lists and ROC points from the report's JSON excerpt."""
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("per_seed", "roc")}
    return d


VERDICT_COLORS = {"supported": "bluish_green", "refuted": "vermilion", "inconclusive": "orange"}


def _figure(r: HypothesisResult, where: Path) -> str:
    """Write ``hN.png`` (:func:`hypothesis_figure`) into the folder ``where``; returns its file name."""
    name = _figure_name(r.key)
    save_figure_atomic(hypothesis_figure(r), where / name, dpi=150)
    return name


def hypothesis_figure(r: HypothesisResult) -> Figure:
    """One hypothesis's figure: the effects with their intervals, the axis in the effect's unit,
    the decision threshold and the verdict in the title (H7: the two dashboards' ROC curves)."""
    from matplotlib.figure import Figure

    from experiments.analysis.style import OKABE_ITO, style_axes, style_legend

    side, threshold, meaning = DECISION_RULES.get(r.key, ("above", 0.0, "no effect"))
    verdict_color = OKABE_ITO[VERDICT_COLORS.get(r.verdict, "black")]
    rule = (
        f"Verdict: {r.verdict}. Supported if the {100 * CI_LEVEL:g}% interval of the headline effect lies entirely "
        f"{side} {threshold:g} ({meaning}); refuted if entirely on the other side"
        + (" (for any of the arms)." if r.key in JOINT_RULES else ".")
    )
    if r.key == "H7" and r.worlds.get("roc", {}).get("A"):
        fig = Figure(figsize=(6.5, 4.2), layout="constrained")
        ax = fig.add_subplot()
        for key, colour in (("A", OKABE_ITO["blue"]), ("B", OKABE_ITO["vermilion"])):
            pts = np.array(r.worlds["roc"][key])
            name = DASHBOARD_NAMES[key]
            pooled = r.worlds.get("auc_pooled_across_scenarios", r.worlds["auc"])[name]  # the curve's own area
            within = r.worlds["auc"][name]
            ax.plot(pts[:, 0], pts[:, 1], color=colour, lw=2,
                    label=f"{name} (AUC {pooled:.2f} pooled; {within:.2f} within scenarios)")  # fmt: skip
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="no skill (AUC 0.5)")
        style_axes(ax, f"{r.key} {r.title}: {r.verdict}", "true-positive rate (crashes flagged)")
        ax.title.set_color(verdict_color)
        ax.set_xlabel("false-positive rate (calm days flagged)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        style_legend(ax, loc="lower right")
        detail = (
            f"{r.effect_name}: {format_estimate(r.effect)} [{format_estimate(r.ci_low)}, {format_estimate(r.ci_high)}]"
        )
        fig.supxlabel(f"{detail}\n{rule}", fontsize=7.5, color="0.3", wrap=True)
    else:
        labels, means, los, his, headline = [], [], [], [], []

        def add(label, v):
            est = v.get("ratio", v.get("usdjpy_change_pct", v.get("surge_change_pct")))
            if est is not None:
                labels.append(label + (f" ({v['verdict']})" if "verdict" in v else ""))
                means.append(est)
                los.append(v["ci"][0])
                his.append(v["ci"][1])
                headline.append(est == r.effect and list(v["ci"]) == [r.ci_low, r.ci_high])

        for name, w in r.worlds.items():
            if not isinstance(w, dict):
                continue
            if "ci" in w:
                add(name, w)
            for sub, v in w.get("ablations", w).items():
                if isinstance(v, dict) and "ci" in v:
                    add(f"{name}: {sub}", v)
            # H1: each trigger with every channel off (the headline trigger's is already among the ablations)
            for sub, v in w.get("triggers", {}).items():
                if isinstance(v, dict) and "ci" in v and sub != H1_HEADLINE:
                    add(f"{name}: {sub}, all feedback off", v)
        if not any(headline):
            labels, means, los, his, headline = [r.key], [r.effect], [r.ci_low], [r.ci_high], [True]
        y = np.arange(len(labels))
        means, los, his = map(np.asarray, (means, los, his))
        lines = sum(len(textwrap.wrap(lab, 48)) for lab in labels)
        fig = Figure(figsize=(7.5, 1.9 + 0.2 * lines + 0.14 * len(labels)), layout="constrained")
        ax = fig.add_subplot()
        for i in y:
            color = verdict_color if headline[i] else OKABE_ITO["blue"]
            ax.errorbar(means[i], i, xerr=[[means[i] - los[i]], [his[i] - means[i]]], fmt="o", color=color,
                        capsize=3, markersize=7 if headline[i] else 5)  # fmt: skip
        no_effect = 1.0 if r.key == "H1" else 0.0  # H1 is a ratio: 1 is no amplification
        ax.axvline(no_effect, color="0.45", lw=1.0, label="no effect" if no_effect != threshold else None)
        ax.axvline(threshold, color=verdict_color, lw=1.3, ls="--", label=f"threshold: {threshold:g} ({meaning})")
        # long labels (a world's settings and its verdict) wrapped, or they squeeze the axis to nothing
        ticks = [
            "\n".join(textwrap.wrap(f"{'▶ ' if h else ''}{lab}", 48)) for lab, h in zip(labels, headline, strict=True)
        ]
        ax.set_yticks(y, ticks, fontsize=8)
        ax.invert_yaxis()
        style_axes(ax, f"{r.key} {r.title}: {r.verdict}", "")
        ax.title.set_color(verdict_color)
        ax.set_xlabel("\n".join(textwrap.wrap(r.effect_name, 36)), fontsize=9)  # the y labels leave the axis narrow
        ax.grid(axis="y", visible=False)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside upper right", ncol=2, frameon=False, fontsize=8)
        bars = (f"Dots: the effect over seeds (a mean; for a ratio, the ratio of the means); bars: its "
                f"{100 * CI_LEVEL:g}% interval over seeds; ▶ the headline effect.")  # fmt: skip
        fig.supxlabel(f"{bars} {rule}", fontsize=7.5, color="0.3", wrap=True)
    return fig
