"""Fuzz the model over its declared parameter ranges: how often does it fail, and how?

Each draw picks 1–5 numeric or boolean configuration fields at random and sets each to a value
drawn inside its declared range (log-uniformly where the range spans more than two decades and is
positive, uniformly otherwise), runs the baseline scenario (or, with ``--mixed``, one of four
built-in scenarios) for ``days`` days, and classifies the run:

* ``ok`` — it ran; every identity held on every checked day; every recorded value is finite;
* ``clearing`` — a :class:`~model.clearing.ClearingError` (no equilibrium, or an implausible one);
* ``config`` — a :class:`~model.validation.ConfigError` (a check beyond the field's range rejected it: a
  cross-field constraint, or an odd ``nisa.network_degree``, which must be even);
* ``identity`` — an accounting identity failed; ``nonfinite`` — a non-finite value was recorded;
* ``exception`` — anything else (a defect).

It also reports runs whose USD/JPY max/min over the run exceeds 3. The draws are seeded, so a
failing case can be replayed with ``--replay N``::

    python -m experiments.analysis.fuzz --draws 2000 --days 120 --workers 2            # baseline
    python -m experiments.analysis.fuzz --draws 600 --days 120 --workers 2 --mixed      # with the episodes
    python -m experiments.analysis.fuzz --replay 137
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections import Counter
from typing import Any

import numpy as np

__all__ = ["draw_overrides", "fuzz_one", "numeric_fields", "longest_run", "main"]

SCENARIOS = ("baseline",)
# the mix with the episodes: their scripted rate decisions can clash with drawn starting rates
MIXED_SCENARIOS = ("baseline", "risk_off", "boj_hike_2024", "fiscal_dominance_2025")
CHECK_EVERY = 10  # days between identity checks (and the last day)


def numeric_fields() -> list[tuple[str, str, dict[str, Any], Any]]:
    """``(section, field, metadata, default)`` of every drawable field (numbers and booleans)."""
    from model.config import SECTIONS

    out = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if isinstance(f.default, bool) or (isinstance(f.default, int | float) and f.metadata.get("lo") is not None):
                out.append((section, f.name, dict(f.metadata), f.default))
    return out


def _draw_value(rng: np.random.Generator, meta: dict[str, Any], default: Any) -> Any:
    if isinstance(default, bool):
        return bool(rng.integers(0, 2))
    lo, hi = float(meta["lo"]), float(meta["hi"])
    if lo > 0 and hi / lo > 100.0:
        value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    else:
        value = rng.uniform(lo, hi)
    if isinstance(default, int):
        value = int(round(value))
    # open bounds: nudge inside
    if meta.get("lo_open") and value <= lo:
        value = lo + (hi - lo) * 1e-6 if not isinstance(default, int) else int(lo) + 1
    if meta.get("hi_open") and value >= hi:
        value = hi - (hi - lo) * 1e-6 if not isinstance(default, int) else int(hi) - 1
    return min(max(value, lo), hi) if not isinstance(default, int) else value


# fields that set the size or horizon of a run, not its economics: drawn from small ranges
SIZE_FIELDS = {
    ("simulation", "days"): (1, 200),
    ("simulation", "max_agent_views"): (0, 50),
    ("simulation", "network_view_households"): (0, 50),
    ("hedge_funds", "n_funds"): (1, 400),
    ("cta", "n_ctas"): (1, 400),
    ("retail_fx", "n_accounts"): (1, 5000),
    ("nisa", "n_households"): (1, 5000),
    ("life_insurers", "n_insurers"): (1, 50),
}


def draw_overrides(
    draw: int, base_seed: int = 20261201, scenarios: tuple[str, ...] = SCENARIOS
) -> tuple[str, dict[str, Any], int]:
    """``(scenario, {section__field: value}, seed)`` of draw number ``draw`` (reproducible)."""
    rng = np.random.default_rng([base_seed, draw])
    fields = numeric_fields()
    k = int(rng.integers(1, 6))
    chosen = rng.choice(len(fields), size=k, replace=False)
    overrides = {}
    for i in chosen:
        section, name, meta, default = fields[int(i)]
        if (section, name) in SIZE_FIELDS:
            lo, hi = SIZE_FIELDS[(section, name)]
            value: Any = int(rng.integers(lo, hi + 1))
        else:
            value = _draw_value(rng, meta, default)
        overrides[f"{section}__{name}"] = value
    scenario = scenarios[int(rng.integers(0, len(scenarios)))]
    return scenario, overrides, int(rng.integers(0, 2**31 - 1))


def fuzz_one(task: tuple) -> dict[str, Any]:
    """Run draw ``task[0]`` for ``task[1]`` days (scenarios ``task[2]``); its outcome and what it drew."""
    from model.accounting import AccountingError, check_identities
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting
    from model.validation import ConfigError

    draw, days = task[0], task[1]
    scenario, overrides, seed = draw_overrides(draw, scenarios=task[2] if len(task) > 2 else SCENARIOS)
    out: dict[str, Any] = {"draw": draw, "scenario": scenario, "seed": seed, "overrides": overrides}
    try:
        model = CarryUnwindModel(scenario=scenario, seed=seed, collect=False, **overrides)
        for day in range(1, days + 1):
            model.step()
            if day % CHECK_EVERY == 0 and day < days:
                check_identities(model)  # early, so that a broken identity names a day near where it broke
        check_accounting(model)  # every day's recorded residual, and the identities on the last day
        values = np.array([v for col in model.arrays().values() for v in col], dtype=float)
        s = np.asarray(model.series("usdjpy"), dtype=float)
        out["usdjpy_ratio"] = float(s.max() / s.min())
        out["outcome"] = "ok" if np.isfinite(values).all() else "nonfinite"
    except ClearingError as exc:
        out.update(outcome="clearing", error=str(exc))
    except ConfigError as exc:
        out.update(outcome="config", error=str(exc))
    except AccountingError as exc:
        out.update(outcome="identity", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the point is to catch defects
        out.update(outcome="exception", error=f"{type(exc).__name__}: {exc}")
    return out


MAX_DRAWS = 1_000_000  # a typo of 10^9 draws must not start


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from experiments.cli.common import Parser, check_out_file

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    p = Parser(prog="python -m experiments.analysis.fuzz", description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=2000, help="number of draws (default 2000)")
    p.add_argument("--days", type=int, default=120, help="trading days per run (default 120)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--replay", type=int, default=None, help="run one draw and print it")
    p.add_argument("--mixed", action="store_true", help="draw the scenario too, among " + ", ".join(MIXED_SCENARIOS))
    p.add_argument("--out", default=None, help="write every draw's record to this JSON file")
    args = p.parse_args(argv)
    scenarios = MIXED_SCENARIOS if args.mixed else SCENARIOS
    most, why = longest_run(scenarios)
    for name, lo, hi, what in (("draws", 1, MAX_DRAWS, ""), ("days", 1, most, f" ({why})"),
                               ("workers", 1, 256, "")):  # fmt: skip
        value = getattr(args, name)
        if not lo <= value <= hi:
            p.error(f"--{name} = {value} is not allowed; expected {lo} to {hi:,}{what}")
    if args.replay is not None and args.replay < 0:
        p.error(f"--replay = {args.replay} is not allowed; expected a draw number, 0 or more")
    if args.out:  # before the draws, not after them
        p.check(check_out_file, Path(args.out))
    from model.results import json_safe

    if args.replay is not None:
        print(json.dumps(json_safe(fuzz_one((args.replay, args.days, scenarios))), indent=1, default=str,
                         allow_nan=False))  # fmt: skip
        return 0
    from experiments.runner import beside, command_settings, resumable, run_tasks, write_text_atomic

    with resumable(beside(args.out), command_settings(args, "experiments.analysis.fuzz")):
        tasks = [(i, args.days, scenarios) for i in range(args.draws)]
        rows = run_tasks(fuzz_one, tasks, workers=args.workers, progress=True)
        counts = Counter(r["outcome"] for r in rows)
        wide = [r for r in rows if r.get("usdjpy_ratio", 1.0) > 3.0]
        n = len(rows)
        print(f"{n} draws x {args.days} days ({', '.join(scenarios)}), 1-5 fields each inside their declared ranges")
        for key in ("ok", "clearing", "config", "identity", "nonfinite", "exception"):
            print(f"  {key:10s} {counts.get(key, 0):6d}  ({100.0 * counts.get(key, 0) / n:.2f}%)")
        print(f"  USD/JPY max/min > 3: {len(wide)}")
        failures = Counter()
        for r in rows:
            if r["outcome"] != "ok":
                for k in r["overrides"]:
                    failures[k] += 1
        if failures:
            print(
                "  fields most often drawn in failed runs:", ", ".join(f"{k} ({v})" for k, v in failures.most_common(8))
            )
        for r in rows:
            if r["outcome"] in ("exception", "identity", "nonfinite"):
                print(f"  draw {r['draw']}: {r['outcome']}: {r.get('error', '')[:200]}")
        if args.out:
            # strict JSON: a non-finite ratio (a run that recorded one) is written as null, not NaN
            write_text_atomic(args.out, json.dumps(json_safe(rows), indent=1, default=str, allow_nan=False) + "\n")
        return 0


def longest_run(scenarios: tuple[str, ...]) -> tuple[int, str]:
    """The most trading days a draw may run, and why: the fewest over ``scenarios``
    (:func:`experiments.analysis.balance_sheet_cycle.longest_run` of each at its own configuration)."""
    from experiments.analysis.balance_sheet_cycle import longest_run as longest

    return min((longest(name) for name in scenarios), key=lambda most_why: most_why[0])


if __name__ == "__main__":
    sys.exit(main())
