"""The hypotheses over a distribution of parameters (``carry-unwind hypotheses --draws K``).

A verdict at the calibrated parameters holds for those parameters only. The protocol therefore
also runs every hypothesis at many parameter draws, each with the same seeds (validation's held-out
seeds 1001, …, as at the defaults) and arms exactly
as at the defaults, and reports in how many draws each verdict came out: the share of the parameter
distribution in which a hypothesis holds, with a 95% Wilson interval for that share.

The distribution is, until the model is estimated, a *prior*: uniform draws (in logs for the
balance sheet and the leverage caps, which span an order of magnitude) over the ranges the
calibration searches (:data:`experiments.calibration.baseline.BOUNDS`: real money's balance sheet,
its response to the risk index, the customers' flow shocks and their persistence, the funds'
median risk aversion) and the upper end of the funds' leverage caps
(:data:`experiments.calibration.baseline.CAPS`: calm FX margins from 50% down to the 3% exchanges
charge). These are the parameters the data's return moments are fitted by and the ones the
estimation will estimate; everything else stays at its default. The draws are a Latin hypercube
with a fixed seed (:data:`DRAWS_SEED`), so the same ``K`` gives the same draws on every machine;
``draws.json`` keeps each draw's values exactly, so ``--set`` reproduces any one of them. Draws can
also come from a file (``--draws-from``): the estimation's posterior draws, or any other
distribution a researcher wants to test.

The shares' Wilson intervals treat the draws as independent and each draw's verdict as exact. A
Latin hypercube is more even than independent draws (the interval is then conservative); draws from
a Markov chain are less (too narrow); and with few seeds a draw's verdict is itself uncertain. The
draws share their seeds (common random numbers: two draws differ by their parameters only), so the
seeds' noise is common to every draw's verdict rather than averaged over draws; the intervals do not
account for that either.

Fields set with ``--set`` are held at their value in every draw and left out of the prior.
Each draw's verdict uses ``--seeds`` seeds: with few seeds most intervals straddle their threshold,
so the report also gives where each draw's *estimate* lies (the share beyond the threshold, and the
estimates' spread across draws), which says how the effect moves over the parameters even where no
single draw decides it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.analysis.hypotheses import (
    DECISION_RULES,
    HYPOTHESES,
    HypothesisResult,
    Runs,
    check_triggers_apply,
    chosen,
)
from experiments.analysis.targets import held_out_seeds
from experiments.runner import atomic_write, write_text_atomic
from experiments.sweeps.spec import Parameter
from model.validation import parse_json

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DRAWS_SEED",
    "MAX_DRAWS",
    "VERDICTS",
    "prior",
    "prior_draws",
    "load_draws",
    "wilson_interval",
    "summarise",
    "run_over_draws",
    "write_outputs",
    "draws_figure",
]

log = logging.getLogger("experiments.analysis.hypotheses")

DRAWS_SEED = 20261203  # the prior's Latin hypercube (fixed: the same K gives the same draws everywhere)
MAX_DRAWS = 10_000  # a typo of 10^9 draws must not start
VERDICTS = ("supported", "refuted", "inconclusive")


def prior(held: Sequence[str] = ()) -> list[Parameter]:
    """The prior's parameters (``section.field`` names), less those in ``held`` (``--set`` holds them)."""
    from experiments.calibration.baseline import BOUNDS, CAPS, LOG_SCALE

    held = {h.replace("__", ".") for h in held}
    params = []
    for key, (lo, hi) in {**BOUNDS, **CAPS}.items():
        name = key.replace("__", ".")
        if name not in held:
            params.append(Parameter(name=name, kind="float", lo=lo, hi=hi, log=key in LOG_SCALE))
    return params


def prior_draws(k: int, held: Sequence[str] = (), seed: int = DRAWS_SEED) -> list[dict[str, float]]:
    """``k`` draws from the prior (a seeded Latin hypercube), each ``{"section.field": value}``."""
    from scipy.stats import qmc

    if not 1 <= k <= MAX_DRAWS:
        raise ValueError(f"--draws = {k} is not allowed; expected 1 to {MAX_DRAWS:,}")
    params = prior(held)
    if not params:
        raise ValueError("--draws: every prior parameter is held by --set; nothing is left to draw")
    u = qmc.LatinHypercube(d=len(params), rng=seed).random(k)
    columns = [p.from_unit(u[:, j]) for j, p in enumerate(params)]
    return [{p.name: col[i] for p, col in zip(params, columns, strict=True)} for i in range(k)]


def load_draws(path: str | Path) -> list[dict[str, Any]]:
    """Draws from a JSON file ``{"draws": [{"section.field": value, ...}, ...]}``, keys as ``section.field``;
    one-line errors naming the file and the draw for what is not such a file. The values are checked
    against the configuration by :func:`check_draws`, with the fields ``--set`` holds."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"--draws-from {path}: cannot be read ({exc.strerror or exc})") from None

    def refuse(problem: str) -> ValueError:
        return ValueError(f"--draws-from {path}: {problem}; expected a UTF-8 JSON file of draws")

    try:
        doc = parse_json(raw, refuse, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ValueError(f"--draws-from {path}: the key {exc.args[0]!r} appears twice in one object; "
                         "expected each key once") from None  # fmt: skip
    draws = doc.get("draws") if isinstance(doc, dict) else None
    if not isinstance(draws, list) or not draws:
        raise ValueError(f'--draws-from {path}: expected {{"draws": [{{"section.field": value, ...}}, ...]}} '
                         "with at least one draw")  # fmt: skip
    if extra := sorted(set(doc) - {"draws"}):  # a misspelt option, or a field meant for every draw: not read
        raise ValueError(f'--draws-from {path}: unknown top-level key {extra[0]!r}; expected only "draws"')
    if len(draws) > MAX_DRAWS:
        raise ValueError(f"--draws-from {path}: {len(draws):,} draws is not allowed; expected at most {MAX_DRAWS:,}")
    checked = []
    for i, d in enumerate(draws):
        if not isinstance(d, dict) or not d:
            raise ValueError(f"--draws-from {path}: draw {i} is {d!r}; expected an object of section.field: value")
        named = _dotted(d)
        if len(named) < len(d):
            raise ValueError(f"--draws-from {path}: draw {i} names a field twice (section.field and section__field)")
        if HORIZON in named:  # each hypothesis sets its own horizon: the value would be silently replaced
            raise ValueError(f"--draws-from {path}: draw {i} sets {HORIZON}, which each hypothesis sets itself; "
                             "drop it")  # fmt: skip
        checked.append(named)
    return checked


HORIZON = "simulation.days"


class _DuplicateKey(Exception):
    """A JSON object names a key twice (``json`` would keep the last value silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: the object as a dict; :class:`_DuplicateKey` if a key repeats."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _dotted(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Configuration fields keyed ``section.field`` (``section__field`` accepted too)."""
    return {str(k).replace("__", "."): v for k, v in fields.items()}


def check_draws(draws: Sequence[Mapping[str, Any]], held: Mapping[str, Any] | None = None,
                keys: Sequence[str] = ()) -> None:  # fmt: skip
    """Check every draw, with the ``held`` fields, against the configuration before any run: a
    ``ValueError`` naming the draw, the field and what is allowed; also if a draw sets a held field
    (``--set`` would silently replace the draw's value), or a field that no hypothesis may take or the
    hypotheses of ``keys`` may not (:func:`~experiments.analysis.hypotheses.check_triggers_apply`): one that
    encodes an answer, the horizon, a field under which a trigger would not be the one it names, or one
    every arm of a hypothesis sets itself."""
    from model.config import ModelConfig
    from model.validation import ConfigError

    held = _dotted(held or {})
    for i, d in enumerate(draws):
        d = _dotted(d)
        both = sorted(set(d) & set(held))
        if both:
            raise ValueError(f"draw {i} sets {both[0]}, which --set holds at {held[both[0]]!r}; drop one of them")
        try:
            ModelConfig().with_overrides({**d, **held})
            check_triggers_apply(keys, {**d, **held})
        except (ConfigError, ValueError) as exc:
            raise ValueError(f"draw {i}: {exc}") from None


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval (95% by default) for a binomial share ``successes / n``; (nan, nan) if n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: rounding must not move them off 0 and 1
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def beyond_threshold(key: str, estimate: float) -> bool:
    """Whether a headline estimate lies on the side :data:`DECISION_RULES` says the hypothesis predicts."""
    side, threshold, _ = DECISION_RULES[key]
    if not math.isfinite(estimate):
        return False
    return estimate > threshold if side == "above" else estimate < threshold


def summarise(rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
              draws: Sequence[Mapping[str, Any]] = ()) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per hypothesis: how many draws gave each verdict, the share supported and refuted with Wilson
    intervals, the share of finite estimates beyond the threshold, the estimates' spread and, given
    the ``draws`` the rows' ``draw`` indices point into, each drawn parameter's rank correlation with
    the estimate (:func:`rank_correlations`)."""
    out = {}
    for key in keys:
        mine = [r for r in rows if r["hypothesis"] == key]
        n = len(mine)
        counts = {v: sum(r["verdict"] == v for r in mine) for v in VERDICTS}
        est = np.array([r["effect"] for r in mine], dtype=float)
        finite = est[np.isfinite(est)]
        quantiles = {}
        if finite.size:
            quantiles = {"5%": float(np.quantile(finite, 0.05)), "50%": float(np.median(finite)),
                         "95%": float(np.quantile(finite, 0.95))}  # fmt: skip
        out[key] = {
            "draws": n,
            **counts,
            "share_supported": counts["supported"] / n if n else math.nan,
            "share_supported_ci": list(wilson_interval(counts["supported"], n)),
            "share_refuted": counts["refuted"] / n if n else math.nan,
            "share_refuted_ci": list(wilson_interval(counts["refuted"], n)),
            "undefined_estimates": int(n - finite.size),
            # the inconclusive draws whose estimate is undefined (a joint verdict can be refuted, or supported,
            # with its headline arm undefined: those are counted under their verdict, not here)
            "inconclusive_undefined": sum(
                r["verdict"] == "inconclusive" and not math.isfinite(float(r["effect"])) for r in mine
            ),
            "share_estimate_beyond_threshold": (
                sum(beyond_threshold(key, float(x)) for x in finite) / finite.size if finite.size else math.nan
            ),  # fmt: skip
            "estimate_quantiles": quantiles,
            "rank_correlation": rank_correlations([draws[r["draw"]] for r in mine], est) if draws else {},
        }
        earlier = [r["earlier_rule"] for r in mine if r.get("earlier_rule")]
        if earlier:  # the verdicts by a rule changed after its results had been seen, counted beside
            out[key]["earlier_rule"] = {"label": earlier[0]["label"],
                                        **{v: sum(e["verdict"] == v for e in earlier) for v in VERDICTS}}  # fmt: skip
    return out


MIN_CORRELATION_DRAWS = 5  # fewer finite estimates give no rank correlation (reported as undefined)


def rank_correlations(points: Sequence[Mapping[str, Any]], estimates: np.ndarray) -> dict[str, float]:
    """Spearman's rank correlation between each numeric parameter of ``points`` and ``estimates``, over
    the points whose estimate is finite; NaN with fewer than :data:`MIN_CORRELATION_DRAWS` of them or a
    parameter that does not vary. Which parameters move an effect, even where no draw decides it."""
    from scipy.stats import rankdata

    ok = np.isfinite(estimates)
    names = list(dict.fromkeys(k for p in points for k in p))  # every field any point sets, in first-seen order
    names = [k for k in names if all(type(p.get(k)) in (int, float) for p in points)]  # numbers (not bools), in all
    out = {}
    for name in names:
        x = np.array([float(p[name]) for p in points])[ok]
        y = estimates[ok]
        if y.size < MIN_CORRELATION_DRAWS or np.ptp(x) == 0 or np.ptp(y) == 0:
            out[name] = math.nan
            continue
        rx, ry = rankdata(x), rankdata(y)
        out[name] = float(np.corrcoef(rx, ry)[0, 1])
    return out


def run_over_draws(
    out: str | Path,
    draws: Sequence[Mapping[str, Any]],
    seeds: int = 4,
    only: Sequence[str] | None = None,
    workers: int = 1,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    source: str = "prior",
    progress: bool = False,
) -> dict[str, Any]:
    """Run the chosen hypotheses at every draw (seeds ``1..seeds``, each draw's values under ``overrides``'
    held ones); write ``draws.json``, ``draws.md`` and ``draws.png`` into ``out``; return the payload.

    Inside :func:`experiments.runner.resumable` every finished run is kept, so a stopped command
    resumes at the run it stopped in. Results do not depend on ``workers``."""
    keys = chosen(only)
    held = _dotted(overrides or {})
    draws = [_dotted(d) for d in draws]
    check_draws(draws, held, keys)  # before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed_list = held_out_seeds(seeds)
    rows: list[dict[str, Any]] = []
    for i, draw in enumerate(draws):
        point = {**draw, **held}
        base = tuple(sorted((k.replace(".", "__"), v) for k, v in point.items()))
        for key in keys:
            label = f"draw {i + 1}/{len(draws)} {key}"
            r: HypothesisResult = HYPOTHESES[key](seed_list, Runs(workers, base, progress, label), quick)
            rows.append({"draw": i, "hypothesis": key, "verdict": r.verdict, "effect": r.effect,
                         "ci": [r.ci_low, r.ci_high]})  # fmt: skip
            if r.earlier_rule:  # a rule changed after its results had been seen (H3): its verdict beside
                rows[-1]["earlier_rule"] = dict(r.earlier_rule)
            log.info("%s: %s (%s = %.3g [%.3g, %.3g])", label, r.verdict, r.effect_name, r.effect, r.ci_low, r.ci_high)
    from experiments.analysis.hypotheses_report import provenance

    payload = {
        **provenance(quick),  # version, git commit and dirty, code fingerprint, --quick
        "source": source,
        "prior_seed": DRAWS_SEED if source == "prior" else None,
        "seeds_per_draw": seed_list,
        "held": held,
        "decision_rules": {k: list(DECISION_RULES[k][:2]) for k in keys},
        "draws": [dict(d) for d in draws],
        "results": rows,
    }
    return write_outputs(out, payload)


def write_outputs(out: str | Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Summarise ``payload``'s results (its ``summary`` is recomputed) and write ``draws.json``, ``draws.md``
    and ``draws.png`` into ``out``; returns the payload with its summary. Given the payload read back
    from a ``draws.json``, it writes the report again without running anything."""
    out = Path(out)
    rows = [{**r, "effect": math.nan if r["effect"] is None else r["effect"]} for r in payload["results"]]
    keys = list(dict.fromkeys(r["hypothesis"] for r in rows))
    payload = {**payload, "results": rows, "summary": summarise(rows, keys, payload["draws"])}
    from model.results import json_safe

    n_draws, seeds, source = len(payload["draws"]), payload["seeds_per_draw"], payload["source"]
    write_text_atomic(out / "draws.json", json.dumps(json_safe(payload), indent=2, allow_nan=False))
    fig = draws_figure(payload["summary"], n_draws, len(seeds), source)
    atomic_write(out / "draws.png", lambda f: fig.savefig(f, format="png", dpi=150))
    from experiments.analysis.hypotheses_report import provenance_line

    made = provenance_line(payload)
    text = _report(payload["summary"], n_draws, seeds, source, payload["held"]) + (f"\n{made}\n" if made else "")
    write_text_atomic(out / "draws.md", text)
    return payload


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.0f}%"


def _report(summary: Mapping[str, Mapping[str, Any]], n_draws: int, seeds: list[int], source: str,
            held: Mapping[str, Any]) -> str:  # fmt: skip
    what = ("draws from the prior (a Latin hypercube over the calibration's search ranges and the funds' "
            "leverage caps)" if source == "prior" else f"draws from `{source}`")  # fmt: skip
    lines = [
        "# Hypotheses over a distribution of parameters",
        "",
        f"{n_draws} {what}; at each draw every hypothesis runs as at the defaults, on seeds {seeds[0]}–{seeds[-1]} "
        f"({len(seeds)}), and is judged by its own rule. Shares are of draws, with 95% Wilson intervals.",
    ]
    if held:
        lines += ["", "Held in every draw: " + ", ".join(f"`{k} = {v}`" for k, v in held.items()) + "."]
    lines += [
        "",
        "| | supported | refuted | inconclusive (of which estimate undefined) | share supported | share refuted "
        "| estimate beyond the threshold (share of the draws with one) | estimate across draws (5%, median, 95%) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, s in summary.items():
        q = s["estimate_quantiles"]
        spread = f"{q['5%']:.3g}, {q['50%']:.3g}, {q['95%']:.3g}" if q else "n/a"
        sup, ref = s["share_supported_ci"], s["share_refuted_ci"]
        lines.append(
            f"| {key} | {s['supported']} | {s['refuted']} | {s['inconclusive']} ({s['inconclusive_undefined']}) "
            f"| {_pct(s['share_supported'])} "
            f"[{_pct(sup[0])}, {_pct(sup[1])}] | {_pct(s['share_refuted'])} [{_pct(ref[0])}, {_pct(ref[1])}] "
            f"| {_pct(s['share_estimate_beyond_threshold'])} | {spread} |"
        )
    for key, s in summary.items():
        if e := s.get("earlier_rule"):
            lines += ["", f"{key} by {e['label']}: {e['supported']} supported, {e['refuted']} refuted, "
                      f"{e['inconclusive']} inconclusive."]  # fmt: skip
    params = list(next((s["rank_correlation"] for s in summary.values() if s.get("rank_correlation")), {}))
    finite = any(math.isfinite(v) for s in summary.values() for v in s["rank_correlation"].values())
    if params and not finite:
        lines += ["", f"No rank correlation of the estimates with the parameters: each needs {MIN_CORRELATION_DRAWS} "
                  "draws or more with a finite estimate, and a parameter that varies."]  # fmt: skip
    if params and finite:
        lines += [
            "",
            "Which drawn parameters move each estimate: Spearman's rank correlation across the draws with a "
            f"finite estimate (n/a with fewer than {MIN_CORRELATION_DRAWS}). A correlation smaller in size than "
            "the row's chance level is within what chance gives with that many draws (5% two-sided, "
            "1.96/√(n − 1)).",
            "",
            "| | draws with an estimate (chance level) | " + " | ".join(f"`{p}`" for p in params) + " |",
            "| --- | --- |" + " --- |" * len(params),
        ]
        for key, s in summary.items():
            cells = [s["rank_correlation"].get(p, math.nan) for p in params]
            n = s["draws"] - s["undefined_estimates"]
            level = _noise_level(n) if n >= MIN_CORRELATION_DRAWS else math.nan
            chance = f"{n} ({level:.2f})" if math.isfinite(level) else f"{n}"
            shown = " | ".join("n/a" if not math.isfinite(c) else f"{c:+.2f}" for c in cells)
            lines.append(f"| {key} | {chance} | {shown} |")
    lines += [
        "",
        "A draw's estimate can lie beyond its threshold while its interval still straddles it; with few seeds "
        "a draw is then inconclusive. Estimates that are undefined (a run that failed to clear, or an effect "
        "that cannot be computed, such as an H2 shock no size in its range reaches) are left out of the spread "
        "and of the share beyond the threshold; such a draw's verdict is inconclusive unless another of its "
        "arms decides it (a joint verdict is refuted if any arm is). Undefined estimates: "
        + ", ".join(f"{k} {s['undefined_estimates']}" for k, s in summary.items())
        + ".",
        "",
        "![verdicts over the draws](draws.png)",
    ]
    return "\n".join(lines) + "\n"


def _noise_level(n: int) -> float:
    """The size of a rank correlation that chance exceeds 5% of the time with ``n`` independent draws
    (the normal approximation, 1.96 / sqrt(n − 1)); NaN below 3 draws."""
    return 1.959963984540054 / math.sqrt(n - 1) if n >= 3 else math.nan


def draws_figure(summary: Mapping[str, Mapping[str, Any]], n_draws: int, n_seeds: int, source: str) -> Figure:
    """(a) One bar per hypothesis: the shares of draws supported, inconclusive and refuted. (b) Each drawn
    parameter's rank correlation with each hypothesis's estimate across the draws."""
    from matplotlib.figure import Figure

    from experiments.analysis.hypotheses_report import VERDICT_COLORS
    from experiments.analysis.style import OKABE_ITO, label_panels, style_axes

    keys = list(summary)
    params = list(next((s["rank_correlation"] for s in summary.values() if s.get("rank_correlation")), {}))
    fig = Figure(figsize=(11.0 if params else 7.0, 2.2 + 0.38 * len(keys)), layout="constrained")
    if params:
        ax, heat = fig.subplots(1, 2, width_ratios=[1.0, 0.12 + 0.16 * len(params)])
    else:
        ax, heat = fig.add_subplot(), None
    y = np.arange(len(keys))
    left = np.zeros(len(keys))
    hatched = {"hatch": "///", "alpha": 0.45}
    parts = (("supported", "supported", {}), ("decided", "inconclusive", {}),
             ("inconclusive_undefined", "inconclusive: estimate undefined", hatched),
             ("refuted", "refuted", {}))  # fmt: skip
    for v, label, look in parts:
        if v == "decided":  # inconclusive with a defined estimate
            count = [summary[k]["inconclusive"] - summary[k]["inconclusive_undefined"] for k in keys]
        else:
            count = [summary[k][v] for k in keys]
        colour = OKABE_ITO[VERDICT_COLORS["inconclusive" if v in ("decided", "inconclusive_undefined") else v]]
        n = [summary[k]["draws"] for k in keys]
        share = np.array([c / m if m else 0.0 for c, m in zip(count, n, strict=True)])
        ax.barh(y, share, left=left, color=colour, label=label, height=0.62, edgecolor="white", **look)
        for yi, (lft, w) in enumerate(zip(left, share, strict=True)):
            if w >= 0.08:
                ax.text(lft + w / 2, yi, f"{100 * w:.0f}%", ha="center", va="center", fontsize=8,
                        color="0.25" if v == "inconclusive_undefined" else "white")  # fmt: skip
        left += share
    ax.set_yticks(y, keys)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda x, _: f"{100 * x:.0f}%")
    where = "the prior" if source == "prior" else Path(source).name
    style_axes(ax, "verdicts: share of draws", "")
    ax.set_xlabel("share of draws", fontsize=9)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=8)
    fig.suptitle(f"Hypotheses at {n_draws} parameter draws from {where}, {n_seeds} seeds each", x=0.01, ha="left",
                 fontsize=11, fontweight="bold")  # fmt: skip
    if heat is not None:
        rho = np.array([[summary[k]["rank_correlation"].get(p, math.nan) for p in params] for k in keys])
        heat.imshow(np.ma.masked_invalid(rho), cmap="PuOr_r", vmin=-1, vmax=1, aspect="auto")
        for (i, j), r in np.ndenumerate(rho):
            text = "n/a" if not math.isfinite(r) else f"{r:+.2f}"
            heat.text(j, i, text, ha="center", va="center", fontsize=7.5,
                      color="white" if math.isfinite(r) and abs(r) > 0.6 else "0.2")  # fmt: skip
        heat.set_yticks(y, keys)
        heat.set_xticks(np.arange(len(params)), [p.replace(".", "\n", 1).replace("_", " ") for p in params],
                        fontsize=7, rotation=35, ha="right", rotation_mode="anchor")  # fmt: skip
        heat.tick_params(length=0)
        heat.set_title("rank correlation of the estimate with each parameter", fontsize=10.5, loc="left",
                       fontweight="bold")  # fmt: skip
        label_panels([ax, heat])
    return fig
