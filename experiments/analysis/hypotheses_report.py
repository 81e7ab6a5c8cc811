"""The hypotheses' outputs: ``verdicts.json``, ``report.md`` and one figure per hypothesis."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from experiments.analysis.hypotheses import CI_LEVEL, DASHBOARD_NAMES, HYPOTHESES, N_BOOT, HypothesisResult

__all__ = ["run_hypotheses", "format_estimate"]

log = logging.getLogger("experiments.analysis.hypotheses")  # the per-hypothesis lines, as before


def run_hypotheses(out: str | Path, seeds: int = 10, only: Sequence[str] | None = None, workers: int = 1,
                   quick: bool = False, first_seed: int = 1) -> list[HypothesisResult]:  # fmt: skip
    """Run the chosen hypotheses, write ``report.md``, ``verdicts.json`` and figures into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keys = list(only) if only else list(HYPOTHESES)
    unknown = [k for k in keys if k not in HYPOTHESES]
    if unknown:
        raise ValueError(f"unknown hypothesis {unknown[0]!r}; expected some of {', '.join(HYPOTHESES)}")
    seed_list = list(range(first_seed, first_seed + seeds))
    results = []
    for key in keys:
        log.info("%s: %d seeds", key, len(seed_list))
        r = HYPOTHESES[key](seed_list, workers, quick)
        r.figure = _figure(r, out)
        results.append(r)
        log.info("%s: %s (%s = %.3g [%.3g, %.3g])", key, r.verdict, r.effect_name, r.effect, r.ci_low, r.ci_high)
    from model import __version__

    payload = {"version": __version__, "seeds": seed_list, "ci_level": CI_LEVEL, "bootstrap_resamples": N_BOOT,
               "hypotheses": [_jsonable(asdict(r)) for r in results]}  # fmt: skip
    (out / "verdicts.json").write_text(json.dumps(payload, indent=2))
    (out / "report.md").write_text(_report(results, seed_list))
    return results


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


def _report(results: list[HypothesisResult], seeds: list[int]) -> str:
    lines = ["# Hypotheses: verdicts for the default parameters", "",
             f"Seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}), common random numbers across arms; "
             "95% percentile-bootstrap intervals over seeds. *supported*: the interval lies on the predicted "
             "side; *refuted*: on the other; *inconclusive*: it straddles.", "",
             "| | hypothesis | effect | estimate | 95% CI | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in results:
        lines.append(f"| {r.key} | {r.title} | {r.effect_name} | {_e(r.effect)} | [{_e(r.ci_low)}, "
                     f"{_e(r.ci_high)}] | **{r.verdict}** |")  # fmt: skip
    for r in results:
        lines += [
            "",
            f"## {r.key} — {r.title}",
            "",
            f"*Claim.* {r.claim}",
            "",
            f"*Result.* {r.effect_name}: {_e(r.effect)} [{_e(r.ci_low)}, {_e(r.ci_high)}] → **{r.verdict}**.",
        ]
        if r.notes:
            lines += ["", r.notes]
        lines += ["", "```json", json.dumps(_jsonable(_strip(r.worlds)), indent=1)[:4000], "```"]
        if r.figure:
            lines += ["", f"![{r.key}]({r.figure})"]
    return "\n".join(lines) + "\n"


def _strip(d):
    """Drop bulky per-seed lists and ROC points from the report's JSON excerpt."""
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("per_seed", "roc")}
    return d


def _figure(r: HypothesisResult, out: Path) -> str:
    from matplotlib.figure import Figure

    from experiments.analysis.style import OKABE_ITO

    PALETTE = (OKABE_ITO["blue"], OKABE_ITO["vermilion"])

    fig = Figure(figsize=(6.5, 3.2), constrained_layout=True)
    ax = fig.add_subplot()
    if r.key == "H7" and r.worlds.get("roc", {}).get("A"):
        for key, colour in (("A", PALETTE[0]), ("B", PALETTE[1])):
            pts = np.array(r.worlds["roc"][key])
            name = DASHBOARD_NAMES[key]
            auc = r.worlds["auc"][name]
            ax.plot(pts[:, 0], pts[:, 1], color=colour, lw=2, label=f"{name} (AUC {auc:.2f})")
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="H7: early-warning ROC curves")
        ax.legend(frameon=False)
    else:
        labels, means, los, his = [], [], [], []

        def add(label, v):
            est = v.get("ratio", v.get("usdjpy_change_pct", v.get("surge_change_pct")))
            if est is not None:
                labels.append(label)
                means.append(est)
                los.append(v["ci"][0])
                his.append(v["ci"][1])

        for name, w in r.worlds.items():
            if not isinstance(w, dict):
                continue
            if "ci" in w:
                add(name, w)
            for sub, v in w.get("ablations", w).items():
                if isinstance(v, dict) and "ci" in v:
                    add(f"{name}: {sub}", v)
        if not labels:
            labels, means, los, his = [r.key], [r.effect], [r.ci_low], [r.ci_high]
        y = np.arange(len(labels))
        means, los, his = map(np.asarray, (means, los, his))
        ax.errorbar(means, y, xerr=[means - los, his - means], fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(1.0 if r.key == "H1" else 0.0, color="0.5", lw=1, ls="--")
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{r.key}: {r.effect_name}", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    name = f"{r.key.lower()}.png"
    fig.savefig(out / name, dpi=150)
    return name
