"""The seeded search every calibration script uses: uniform draws in the bounds, then a local refinement.

A calibration script supplies its parameter bounds (model override names → ``(lo, hi)``), a
function that turns one run ``(overrides, seed, days)`` into a dict of numbers with a ``failed``
flag, and a function that scores the runs of one candidate. :func:`search` draws ``candidates``
points uniformly in the bounds (in logs for the names in ``log_scale``) from a fixed
``numpy.random.Generator``, evaluates each on seeds ``1..seeds``, then (if asked) scans each parameter
in turn over an even grid of its whole range with the others held at the best so far (a profile
scan: one cycle of coordinate search, which finds a good region that is narrow in some directions
and that sparse uniform draws in several dimensions miss), then draws a quarter as many again within
±10% of the range around the best, and returns every candidate with its score, so that the choice
can be audited and re-run.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["search", "score_point", "parse_arguments", "parse_fixed", "write_result"]

# the command-line options every calibration script may take, and where each is allowed
OPTION_RANGES = {
    "candidates": (1, 10_000),
    "seeds": (1, 1000),
    "days": (100, 100_000),
    "workers": (1, 256),
    "profile": (0, 1000),
}


def _draw(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, logs: np.ndarray, centre=None) -> np.ndarray:
    from model import detmath  # the same candidates on every CPU

    a = np.where(logs, detmath.log(np.where(logs, lo, 1.0)), lo)
    b = np.where(logs, detmath.log(np.where(logs, hi, 1.0)), hi)
    if centre is None:
        x = a + (b - a) * rng.random(len(lo))
    else:
        c = np.where(logs, detmath.log(np.where(logs, centre, 1.0)), centre)
        x = np.clip(c + 0.1 * (b - a) * (2.0 * rng.random(len(lo)) - 1.0), a, b)
    return np.where(logs, detmath.exp(x), x)


def _evaluate(run: Callable, score: Callable, points: list[dict], seeds: int, days: int, workers: int,
              desc: str) -> list[dict]:  # fmt: skip
    from experiments.runner import run_tasks

    tasks = [(c, s, days) for c in points for s in range(1, seeds + 1)]
    results = run_tasks(run, tasks, workers=workers, progress=True, desc=desc)
    out = []
    for i, c in enumerate(points):
        runs = results[i * seeds : (i + 1) * seeds]
        value, summary = score(runs)
        out.append({"parameters": c, **summary, "objective": float(value) if math.isfinite(value) else float("inf")})
    return out


def search(
    run: Callable[[tuple[dict, int, int]], dict[str, float]],
    score: Callable[[Sequence[Mapping[str, float]]], tuple[float, dict[str, Any]]],
    bounds: Mapping[str, tuple[float, float]],
    *,
    candidates: int,
    seeds: int,
    days: int,
    workers: int = 1,
    search_seed: int,
    log_scale: Sequence[str] = (),
    profile: int = 0,
    desc: str = "calibration",
    fixed: Mapping[str, Any] | None = None,
    start: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Seeded random search with one local refinement; returns ``best`` and every ``candidates`` entry.

    Parameters
    ----------
    run
        A module-level function of ``(overrides, seed, days)`` (pickled to the workers by name).
    score
        Scores one candidate's runs (one dict per seed): ``(objective, summary)``, lower is better.
    bounds
        Override name → ``(lo, hi)``.
    candidates, seeds, days, workers
        Uniform draws, seeds per candidate (``1..seeds``), days per run, worker processes.
    search_seed
        Seed of the search's generator.
    log_scale
        Names drawn uniformly in logs (positive bounds).
    profile
        Grid points of each parameter's profile scan (evenly spaced over its bounds, in logs for the
        names in ``log_scale``); 0 skips the scans.
    fixed
        Overrides every run takes besides the searched ones (fields held at values other than their
        defaults, e.g. to fit the rest with one of them fixed); none of them may be searched.
    start
        A point scored before the uniform draws, typically the current defaults, so that a refit ends no worse
        than where it started by its own objective; left out (``start_in_bounds`` false) where it lies outside
        ``bounds``. The uniform draws are the same with or without it.
    """
    fixed = dict(fixed or {})
    if set(fixed) & set(bounds):
        raise ValueError(f"fixed = {sorted(set(fixed) & set(bounds))} are searched; fix only fields outside the bounds")
    names = list(bounds)
    lo = np.array([bounds[n][0] for n in names], dtype=float)
    hi = np.array([bounds[n][1] for n in names], dtype=float)
    logs = np.array([n in log_scale for n in names])
    rng = np.random.default_rng(search_seed)
    first = [{**fixed, **dict(zip(names, map(float, _draw(rng, lo, hi, logs)), strict=True))}
             for _ in range(candidates)]  # fmt: skip
    start_in_bounds = None
    if start is not None:
        if set(start) != set(names):
            raise ValueError(f"start = {sorted(start)} must name exactly the searched fields {sorted(names)}")
        point = np.array([float(start[n]) for n in names])
        start_in_bounds = bool(np.all((lo <= point) & (point <= hi)))
        if start_in_bounds:
            first.insert(0, {**fixed, **dict(zip(names, map(float, point), strict=True))})
    scored = _evaluate(run, score, first, seeds, days, workers, desc)
    best = min(scored, key=lambda r: r["objective"])
    for j, name in enumerate(names if profile > 0 else ()):
        grid = np.linspace(lo[j], hi[j], profile) if not logs[j] else np.geomspace(lo[j], hi[j], profile)
        points = [{**best["parameters"], name: float(g)} for g in grid]
        scored += _evaluate(run, score, points, seeds, days, workers, f"{desc} ({name})")
        best = min(scored, key=lambda r: r["objective"])
    centre = np.array([best["parameters"][n] for n in names])
    local = [{**fixed, **dict(zip(names, map(float, _draw(rng, lo, hi, logs, centre)), strict=True))}
             for _ in range(max(candidates // 4, 1))]  # fmt: skip
    scored += _evaluate(run, score, local, seeds, days, workers, desc)
    best = min(scored, key=lambda r: r["objective"])
    return {"bounds": {n: list(bounds[n]) for n in names}, "log_scale": list(log_scale), "seeds": seeds,
            "days": days, "search_seed": search_seed, "profile": profile, "fixed": fixed,
            "start": None if start is None else dict(start), "start_in_bounds": start_in_bounds, "best": best,
            "candidates": scored}  # fmt: skip


def score_point(
    run: Callable[[tuple[dict, int, int]], dict[str, float]],
    score: Callable[[Sequence[Mapping[str, float]]], tuple[float, dict[str, Any]]],
    point: Mapping[str, Any],
    *,
    seeds: int,
    days: int,
    workers: int = 1,
) -> dict[str, Any]:
    """The objective at one point (overrides; ``{}`` is the defaults) on seeds ``1..seeds``, as the search
    scores a candidate: whether a committed calibration still holds on the model as it is now."""
    scored = _evaluate(run, score, [dict(point)], seeds, days, workers, "score")
    return {"seeds": seeds, "days": days, "fixed": dict(point), "best": scored[0], "candidates": scored}


def parse_fixed(parser: argparse.ArgumentParser, items: Sequence[str] | None,
                searched: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
    """``--set section.field=value`` items → overrides (``section__field``), each read and checked as the
    CLI's ``--set`` (:func:`experiments.cli.common.checked_overrides`); an unknown field, a value it does
    not allow or a field that is ``searched`` is a one-line usage error."""
    from experiments.cli.common import UsageError, checked_overrides
    from model.validation import ConfigError

    try:
        overrides = checked_overrides(items or ())
    except (UsageError, ConfigError) as err:
        parser.error(str(err).splitlines()[0])
    fixed = {field.replace(".", "__"): value for field, value in overrides.items()}
    for key in fixed:
        if key in searched:
            parser.error(f"--set {key.replace('__', '.')} is varied by this script; hold only other fields fixed")
    return fixed


def parse_arguments(prog: str, doc: str | None, argv: list[str] | None,
                    searched: Sequence[str] | Callable[[argparse.Namespace], Sequence[str]] = (),
                    fixable: bool = True, extra: Callable[[argparse.ArgumentParser], None] | None = None,
                    **defaults: int) -> argparse.Namespace:  # fmt: skip
    """A calibration script's command line: the options named in ``defaults`` (of
    :data:`OPTION_RANGES`, with their defaults), ``--workers``, ``--out``, ``--set FIELD=VALUE``
    (repeatable: a field held fixed at a value, not searched; ``args.fixed``) and ``--score-defaults``
    (score the defaults instead of searching), the last two only where ``fixable``; a value out of its
    range is a one-line usage error naming the option, its value and the range. ``extra`` adds the
    script's own options to the parser; ``searched`` may depend on them (a function of the parsed
    arguments)."""
    from experiments.cli.common import Parser, add_set_option, check_out_file

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    parser = Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if extra is not None:
        extra(parser)
    for name, default in {**defaults, "workers": 1}.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--out", default="", help="write the JSON here as well as to stdout")
    if fixable:  # a script that searches with the seeded search (not one with its own procedure)
        add_set_option(parser, "hold a field the script does not search at a value (repeatable)")
        parser.add_argument("--score-defaults", action="store_true",
                            help="no search: score the defaults (with any --set) on the same seeds and "
                            "days")  # fmt: skip
    args = parser.parse_args(argv)
    for name in {**defaults, "workers": 1}:
        lo, hi = OPTION_RANGES[name]
        value = getattr(args, name)
        if not lo <= value <= hi:
            parser.error(f"--{name} = {value} is not allowed; expected {lo} to {hi}")
    if args.out:  # before the search, which takes hours: not after it
        parser.check(check_out_file, Path(args.out))
    args.score_defaults = getattr(args, "score_defaults", False)
    # scoring one point may set any field; a search may not hold a field it searches
    if callable(searched):
        searched = searched(args)
    args.fixed = parse_fixed(parser, getattr(args, "sets", None), () if args.score_defaults else searched)
    return args


def write_result(result: Mapping[str, Any], out: str, *, brief: bool = True) -> int:
    """Write ``result`` as JSON to ``out`` (atomically, if given) and print it (only its ``best`` entry
    if ``brief``); the exit status."""
    text = json.dumps(result, indent=1)
    if out:
        from experiments.runner import write_text_atomic

        write_text_atomic(out, text + "\n")
    print(json.dumps({"best": result["best"]}, indent=1) if brief else text)
    return 0
