"""Profile the baseline calibration's objective along one parameter, the others at their defaults.

For each value of the parameter, the baseline runs on seeds ``1..seeds`` and is scored by one of
:mod:`experiments.calibration.baseline`'s objectives (``--objective``): ``joint``, the default and the
objective the current defaults were fitted with (the J distance of the mean return statistics over
seeds from the data's, both versions of the data), or ``median`` (the squared gaps between the median
statistics over seeds and the data's, in units of the data's sampling uncertainty). Any
configuration field can be profiled, searched or not: the margins' elasticity to volatility, for
example, which the calibration does not search::

    python -m experiments.calibration.profile hedge_funds.margin_vol_elasticity 0 0.25 0.5 1 1.5 \\
        --seeds 12 --days 1750 --workers 2 --out runs/profile_psi.json

``--set section.field=value`` (repeatable) holds other fields at other values in every run, e.g. the
risk index's coefficients refitted with one of them fixed. Prints one line per value (objective,
failed share, and the statistics the objective scored: their means over the seeds that completed with
every statistic defined under ``joint``, their medians over those seeds under ``median``) and writes
every value's summary, with each seed's statistics, as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

__all__ = ["profile", "main"]


def profile(field: str, values: list[Any], *, seeds: int, days: int, workers: int = 1,
            fixed: dict[str, Any] | None = None, objective: str = "joint") -> dict[str, Any]:  # fmt: skip
    """The objective (``"joint"`` or ``"median"``, :mod:`experiments.calibration.baseline`'s) and the
    statistics it scored (``moments``: means over seeds under ``joint``, medians under ``median``) at
    each of ``values`` of ``field`` (``section.name``), with the overrides ``fixed`` (``section__name``)
    in every run."""
    from functools import partial

    from experiments.analysis.targets import BLOCK_DAYS
    from experiments.calibration import baseline as cal
    from experiments.runner import run_tasks

    if objective not in ("joint", "median"):
        raise ValueError(f"objective = {objective!r} is not allowed; expected 'joint' or 'median'")
    key = field.replace(".", "__")
    if objective == "joint":
        joint = cal.joint_targets(days)
        scorer = partial(cal.joint_score, targets=joint)
        described = {k: {"data": list(v), "covariance": c.tolist()} for k, (v, c) in joint.items()}
    else:
        targets = cal.data_targets(days)
        scorer = partial(cal.score, targets=targets)
        described = {k: {"data": d, "half_width_90": w} for k, (d, w) in targets.items()}
    fixed = dict(fixed or {})
    tasks = [({**fixed, key: v}, s, days) for v in values for s in range(1, seeds + 1)]
    runs = run_tasks(cal.moments_of_run, tasks, workers=workers, progress=True, desc=f"profile of {field}")
    points = []
    for i, v in enumerate(values):
        block = runs[i * seeds : (i + 1) * seeds]
        value, summary = scorer(block)
        points.append({"value": v, "objective": float(value) if math.isfinite(value) else float("inf"), **summary,
                       "per_seed": block})  # fmt: skip
    return {"field": field, "fixed": fixed, "seeds": seeds, "days": days, "burn_in": cal.BURN_IN,
            "objective": objective, "block_days": BLOCK_DAYS, "bootstrap_resamples": cal.BOOTSTRAP_RESAMPLES,
            "targets": described, "points": points}  # fmt: skip


def _values(parser: argparse.ArgumentParser, field: str, texts: list[str]) -> list[Any]:
    """The values, read as ``--set`` reads them (``5``, ``0.5``, ``true``), each checked against the field:
    one-line usage errors for an unknown field or a value it does not allow."""
    from experiments.cli.common import UsageError, parse_set
    from model.scenarios import load_scenario
    from model.validation import ConfigError

    if field.count(".") != 1:
        parser.error(f"field = {field!r} is not allowed; expected section.name, e.g. hedge_funds.max_leverage")
    config = load_scenario("baseline").config
    values, given = [], {}  # given: (is a bool, value) -> its text; 5 and 5.0 are one value, true and 1 two
    for text in texts:
        try:
            value = parse_set([f"{field}={text}"])[field]
            config.with_overrides({field.replace(".", "__"): value})
        except (UsageError, ConfigError, ValueError, TypeError) as err:
            parser.error(str(err).splitlines()[0])
        key = (isinstance(value, bool), value)
        if key in given:
            parser.error(f"values = {text!r} is not allowed; it repeats {given[key]!r}, expected each value once")
        given[key] = text
        values.append(value)
    return values


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from experiments.calibration.search import OPTION_RANGES, parse_fixed
    from experiments.cli.common import Parser, add_set_option, check_out_file  # one-line usage errors

    parser = Parser(prog="python -m experiments.calibration.profile", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("field", help="the configuration field, section.name")
    parser.add_argument("values", nargs="+", help="the values to score, as --set reads them (5, 0.5, true)")
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--days", type=int, default=1750, help="returns per run after the 250-day burn-in")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="", help="write the JSON here")
    parser.add_argument("--objective", choices=("joint", "median"), default="joint",
                        help="joint (default): the J distance of the means over seeds, the current defaults' fit; "
                        "median: squared standardised gaps of the medians over seeds; the statistics printed are "
                        "those means or medians")  # fmt: skip
    add_set_option(parser, "hold another field at a value in every run (repeatable)")
    args = parser.parse_args(argv)
    for name in ("seeds", "days", "workers"):
        lo, hi = OPTION_RANGES[name]
        if not lo <= getattr(args, name) <= hi:
            parser.error(f"--{name} = {getattr(args, name)} is not allowed; expected {lo} to {hi}")
    if len(args.values) > 100:
        parser.error(f"values: {len(args.values)} given; at most 100 are allowed")
    # every check before the runs (and their checkpoint beside --out), not after them
    values = _values(parser, args.field, args.values)
    fixed = parse_fixed(parser, args.sets, searched=(args.field.replace(".", "__"),))
    if args.out:
        parser.check(check_out_file, Path(args.out))
    from experiments.runner import beside, command_settings, resumable

    with resumable(beside(args.out), command_settings(args, "experiments.calibration.profile")):
        result = profile(args.field, values, seeds=args.seeds, days=args.days, workers=args.workers, fixed=fixed,
                         objective=args.objective)  # fmt: skip
        for p in result["points"]:
            m = p.get("moments", {})
            stats = "  ".join(f"{k} {m[k]:.3f}" for k in m)
            print(
                f"{args.field} = {p['value']}: objective {p['objective']:.2f}, failed {p['failed_share']:.2f}  {stats}"
            )
        if args.out:
            from experiments.runner import write_text_atomic

            write_text_atomic(args.out, json.dumps(result, indent=1, default=float) + "\n")
        return 0


if __name__ == "__main__":
    sys.exit(main())
