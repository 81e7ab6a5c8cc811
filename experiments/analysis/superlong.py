"""Does a supplementary budget steepen the JGB curve? Twins on common random numbers.

Each seed runs the ``baseline`` twice, identical but for a ``supplementary_budget`` of ``jpy_tn``
before day :data:`SHOCK_DAY`, and reports the change of the cleared 10y and 30y JGB yields against the
twin on the budget's day and :data:`HORIZONS` days later (bp), and the 30y-minus-10y difference
(positive: the budget steepens the curve, as the super-long sell-off of November 2025 did). Medians
over seeds with their 5-95% range and a seed-bootstrap interval of the median (which needs at least
six seeds)::

    python -m experiments.analysis.superlong --seeds 10 --jpy-tn 20

``--spread-pa X`` runs a ``superlong_shock`` instead: the super-long investors' required 30y yield
``X`` higher (per annum) from the same day; ``--no-arbitrage`` switches the curve arbitrageurs off in
both twins (``curve_arbitrage.risk_tolerance_jpy_tn_per_bp = 0``), so the 10y moves only through
the other channels. The seeds are 1..N: these are the model's mechanics, not an out-of-sample test.

A seed whose twins did not both clear (a large budget or shift can move a yield beyond the day's
plausibility bound) is counted as failed, named in one line, and left out of the medians; the share
of seeds steepening counts it as not steepening.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from typing import Any

import numpy as np

from experiments.analysis.statistics import spread_by_field

__all__ = ["SHOCK_DAY", "HORIZONS", "NO_ARBITRAGE", "budget_twins", "failed_line", "main"]

SHOCK_DAY = 20
HORIZONS = (0, 1, 20, 80)  # the shock's day, the day after, and later
NO_ARBITRAGE = {"curve_arbitrage__risk_tolerance_jpy_tn_per_bp": 0.0}


def budget_twins(task: tuple) -> dict[str, float]:
    """One seed ``(seed, jpy_tn[, kind[, overrides]])``: the 10y and 30y JGB changes against the twin at each
    horizon (bp). ``kind`` ``"supplementary_budget"`` (the default: a budget of ``jpy_tn``) or
    ``"superlong_shock"`` (``jpy_tn`` is then the shift ``spread_pa``); ``overrides`` go to both twins.
    ``failed``: 0, or 1 where either twin ended in a clearing failure (then ``error``, its first line,
    is the only other field)."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import ScenarioEvent, load_scenario

    seed, size, kind, overrides = (*task, *("supplementary_budget", {})[len(task) - 2 :])
    base = dataclasses.replace(load_scenario("baseline"), events=())
    params = {"jpy_tn": size} if kind == "supplementary_budget" else {"spread_pa": size}
    budget = ScenarioEvent(day=SHOCK_DAY, kind=kind, params=params)
    days = SHOCK_DAY + max(HORIZONS)
    twin = CarryUnwindModel(scenario=base, seed=seed, collect=False, **overrides)
    shocked = CarryUnwindModel(scenario=dataclasses.replace(base, events=(budget,)), seed=seed, collect=False,
                               **overrides)  # fmt: skip
    try:
        twin.run_days(days)
        shocked.run_days(days)
    except ClearingError as exc:
        return {"failed": 1.0, "error": str(exc).splitlines()[0]}
    check_accounting(twin, run_name(twin))
    check_accounting(shocked, f"{run_name(shocked)}, {kind.replace('_', ' ')} of {size:g} on day {SHOCK_DAY}")
    out: dict[str, Any] = {"failed": 0.0}
    for h in HORIZONS:
        d = SHOCK_DAY + h
        d10 = 1e4 * (shocked.series("jgb10y_yield")[d] - twin.series("jgb10y_yield")[d])
        d30 = 1e4 * (shocked.series("jgb30y_yield")[d] - twin.series("jgb30y_yield")[d])
        out[f"jgb10y_bp_day{h}"] = float(d10)
        out[f"jgb30y_bp_day{h}"] = float(d30)
        out[f"steepening_bp_day{h}"] = float(d30 - d10)
    return out


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser

    # one-line errors, as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.superlong", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jpy-tn", type=float, default=20.0,
                        help="the budget, ¥ tn (default 20; Nov 2025's: ¥18.3 tn, ¥11.7 tn in new bonds)")  # fmt: skip
    parser.add_argument("--spread-pa", type=float, default=None,
                        help="run a superlong_shock of this shift of the required 30y yield instead of a budget "
                        "(per annum, e.g. 0.01)")  # fmt: skip
    parser.add_argument("--no-arbitrage", action="store_true", help="switch the curve arbitrageurs off in both twins")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not 1 <= args.workers <= 256:
        parser.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    if not 0.0 < args.jpy_tn <= 500.0:
        parser.error(f"--jpy-tn = {args.jpy_tn} is not allowed; expected a number in (0, 500]")
    if args.spread_pa is not None and not (math.isfinite(args.spread_pa) and 0.0 < abs(args.spread_pa) <= 0.05):
        parser.error(f"--spread-pa = {args.spread_pa} is not allowed; expected a non-zero number in [-0.05, 0.05]")
    from experiments.runner import run_tasks

    kind, size = ("superlong_shock", args.spread_pa) if args.spread_pa is not None else ("supplementary_budget",
                                                                                          args.jpy_tn)  # fmt: skip
    overrides = NO_ARBITRAGE if args.no_arbitrage else {}
    print(f"{kind.replace('_', ' ')} of {size:g} before day {SHOCK_DAY}, seeds 1-{args.seeds}"
          + (", curve arbitrageurs off" if args.no_arbitrage else ""))  # fmt: skip
    seeds = range(1, args.seeds + 1)
    rows = run_tasks(budget_twins, [(s, size, kind, overrides) for s in seeds], workers=args.workers)
    if line := failed_line(list(seeds), rows):
        print(line)
    cleared = [{k: v for k, v in r.items() if k != "failed"} for r in rows if not r["failed"]]
    spread: dict[str, Any] = spread_by_field(cleared)
    for key, q in spread.items():
        print(f"{key:>22}: median {q['median']:7.2f}  5-95% [{q['q05']:.2f}, {q['q95']:.2f}]  "
              f"95% CI of median [{q['ci95_lo']:.2f}, {q['ci95_hi']:.2f}]  (n = {q['n']} of {len(rows)})")  # fmt: skip
    steeper = np.mean([r.get("steepening_bp_day0", math.nan) > 0 for r in rows])  # a failed seed does not steepen
    print(f"share of seeds in which the 30y rises more than the 10y on the day: {steeper:.2f}")
    return 0


def failed_line(seeds: list[int], rows: list[dict[str, Any]]) -> str:
    """One line naming the seeds whose twins did not both clear, and the first one's error; "" if none."""
    failed = [(s, r) for s, r in zip(seeds, rows, strict=True) if r["failed"]]
    if not failed:
        return ""
    first_seed, first = failed[0]
    listed = ", ".join(str(s) for s, _ in failed[:10]) + (", ..." if len(failed) > 10 else "")
    return (f"failed runs: {len(failed)} of {len(seeds)} seeds ended in a clearing failure (seeds {listed}), "
            f"left out of the medians; seed {first_seed}: {first['error']}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
