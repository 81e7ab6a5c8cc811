"""How far a run can go: the baseline over a long horizon, and what ends it.

The model is checked on 2,000-day runs. A longer run carries the scenario's trends on (NISA
contributions, the equity index's drift, the BoJ's run-off of its JGBs) while the other balance
sheets keep their size, so the households' foreign holdings outgrow the market. For each seed this
runs the baseline up to ``--days`` and reports the households' holdings on day 2,000, their peak,
and the day and message of the clearing failure that ends the run, if one does::

    python -m experiments.analysis.long_runs --seeds 4 --days 20000 --workers 2

(about 12 s on 2 workers on 5 December 2026; the baseline's seeds 1-4 then failed to clear on days 6,901-12,027).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from experiments.analysis.targets import DEFAULT_DAYS as CHECKED_DAYS  # the validation's horizon

STRIDE = 50  # days between looks at the holdings


def long_run(task: tuple[int, int]) -> dict[str, Any]:
    """The baseline for ``days`` days from ``seed``: NISA holdings (¥ tn) on the checked horizon's day
    (:data:`CHECKED_DAYS`, the validation's 2,000) and at their peak
    (sampled every 50 days), and the failure that ended the run (day 0 and "" if none did)."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel

    seed, days = task
    m = CarryUnwindModel(scenario="baseline", seed=seed, collect=False, simulation__days=days)
    households = m.sectors["nisa_households"]

    def holdings() -> float:
        return households.holdings_jpy_tn(m)

    out: dict[str, Any] = {"seed": seed, "holdings_checked_day_jpy_tn": float("nan"), "peak_jpy_tn": holdings(),
                           "peak_day": 0, "failed_day": 0, "failure": ""}  # fmt: skip
    try:
        while m.day < days:
            m.run_days(min(STRIDE, days - m.day))
            now = holdings()
            if m.day >= CHECKED_DAYS and math.isnan(out["holdings_checked_day_jpy_tn"]):
                out["holdings_checked_day_jpy_tn"] = now  # the first look at or after the checked horizon
            if now > out["peak_jpy_tn"]:
                out["peak_jpy_tn"], out["peak_day"] = now, m.day
    except ClearingError as exc:
        out["failed_day"], out["failure"] = m.day, str(exc)
    out["equity_index"] = float(m.macro.equity_index)
    return out


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser

    # one-line errors, as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.long_runs", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--days", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not CHECKED_DAYS <= args.days <= 60_000:
        parser.error(f"--days = {args.days} is not allowed; expected {CHECKED_DAYS:,} to 60,000")
    if not 1 <= args.workers <= 256:
        parser.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    from experiments.runner import run_tasks

    rows = run_tasks(long_run, [(s, args.days) for s in range(1, args.seeds + 1)], workers=args.workers)
    for r in rows:
        ended = f"failed on day {r['failed_day']:,}: {r['failure']}" if r["failed_day"] else f"ran {args.days:,} days"
        print(f"seed {r['seed']}: NISA holdings ¥{r['holdings_checked_day_jpy_tn']:,.0f} tn on day {CHECKED_DAYS:,}, "
              f"peak ¥{r['peak_jpy_tn']:,.0f} tn on day {r['peak_day']:,}; equity index {r['equity_index']:,.0f}; "
              f"{ended}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
