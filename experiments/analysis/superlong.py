"""Does a supplementary budget steepen the JGB curve? Twins on common random numbers.

Each seed runs the ``baseline`` twice, identical but for a ``supplementary_budget`` of ``jpy_tn``
before day :data:`SHOCK_DAY`, and reports the change of the cleared 10y and 30y JGB yields against the
twin on the budget's day and ``horizons`` days later (bp), and the 30y-minus-10y difference
(positive: the budget steepens the curve, as the super-long sell-off of November 2025 did). Medians
over seeds with their 5-95% range and a seed-bootstrap interval of the median::

    python -m experiments.analysis.superlong --seeds 10 --jpy-tn 20
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import numpy as np

from experiments.analysis.statistics import spread_by_field

__all__ = ["SHOCK_DAY", "HORIZONS", "budget_twins", "main"]

SHOCK_DAY = 20
HORIZONS = (0, 20, 80)


def budget_twins(task: tuple[int, float]) -> dict[str, float]:
    """One seed ``(seed, jpy_tn)``: the 10y and 30y JGB changes against the twin at each horizon (bp)."""
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import ScenarioEvent, load_scenario

    seed, jpy_tn = task
    base = dataclasses.replace(load_scenario("baseline"), events=())
    budget = ScenarioEvent(day=SHOCK_DAY, kind="supplementary_budget", params={"jpy_tn": jpy_tn})
    days = SHOCK_DAY + max(HORIZONS)
    twin = CarryUnwindModel(scenario=base, seed=seed, collect=False)
    shocked = CarryUnwindModel(scenario=dataclasses.replace(base, events=(budget,)), seed=seed, collect=False)
    twin.run_days(days)
    shocked.run_days(days)
    check_accounting(twin, run_name(twin))
    check_accounting(shocked, f"{run_name(shocked)}, budget of {jpy_tn} tn yen on day {SHOCK_DAY}")
    out = {}
    for h in HORIZONS:
        d = SHOCK_DAY + h
        d10 = 1e4 * (shocked.series("jgb10y_yield")[d] - twin.series("jgb10y_yield")[d])
        d30 = 1e4 * (shocked.series("jgb30y_yield")[d] - twin.series("jgb30y_yield")[d])
        out[f"jgb10y_bp_day{h}"] = float(d10)
        out[f"jgb30y_bp_day{h}"] = float(d30)
        out[f"steepening_bp_day{h}"] = float(d30 - d10)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.analysis.superlong", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jpy-tn", type=float, default=20.0,
                        help="the budget, ¥ tn (default 20; Nov 2025's: ¥18.3 tn, ¥11.7 tn in new bonds)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not 1 <= args.workers <= 256:
        parser.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    if not 0.0 < args.jpy_tn <= 500.0:
        parser.error(f"--jpy-tn = {args.jpy_tn} is not allowed; expected a number in (0, 500]")
    from experiments.runner import run_tasks

    rows = run_tasks(budget_twins, [(s, args.jpy_tn) for s in range(1, args.seeds + 1)], workers=args.workers)
    spread: dict[str, Any] = spread_by_field(rows)
    for key, q in spread.items():
        print(f"{key:>22}: median {q['median']:7.2f}  5-95% [{q['q05']:.2f}, {q['q95']:.2f}]  "
              f"95% CI of median [{q['ci95_lo']:.2f}, {q['ci95_hi']:.2f}]")  # fmt: skip
    steeper = np.mean([r["steepening_bp_day0"] > 0 for r in rows])
    print(f"share of seeds in which the 30y rises more than the 10y on the day: {steeper:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
