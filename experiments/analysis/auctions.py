"""US Treasury auctions: what the bids produce, and twins that shift one bidder class.

Every figure is measured on the baseline scenario with small populations (so it runs in seconds):

* **auction statistics** — per seed, over ``--days`` days from day 0 (the risk index's first year,
  which the validation drops, included): the tail's mean and standard deviation (bp), the share of
  tails within ±2 bp, and each class's mean share of the offering, set beside 10-year notes
  2023-24 (tails mostly within ±2 bp with sd ~1.5 bp; indirect ~60-75%, direct ~12-20%, dealers
  ~10-20%; US Treasury auction results), though the model's weekly offering is an aggregate
  10-year equivalent, not a 10-year note;
* **schedule shifts** — a twin on common random numbers (same seed) in which one class's level
  at the when-issued yield is scaled by ``--factor`` (default 0.8: 20% less): the change of the
  mean tail (bp), of the mean indirect share, of the dealers' mean allotment, and of the UST 10y
  yield (mean over all days and over auction days, bp) against the twin without the shift;
* **repatriation** — a twin with the super-long investors' required 30-year yield 100 bp higher
  from day 20 (``superlong_shock``, the trigger of hypothesis H4; the cleared 30-year yield rises
  about half as much, :mod:`experiments.analysis.superlong`), over 250 days whatever ``--days``:
  insurers sell Treasuries, and the indirect class's bids follow their sales and the hedged pickup.
  With the small populations and medians here, not H4's default populations and means, its figures
  differ from H4's.

``python -m experiments.analysis.auctions --seeds 10`` prints, for each figure, the median, the
5-95% range across seeds and the seed-bootstrap interval of the median (JSON). A seed whose run (or
either twin) ended in a clearing failure is counted under ``failed_seeds`` (by figure), named in one
line on stderr, and left out of that figure's medians.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from typing import Any

import numpy as np

from experiments.analysis.statistics import spread_by_field

__all__ = [
    "SMALL",
    "SHIFTS",
    "run",
    "auction_statistics",
    "schedule_shift",
    "repatriation",
    "over_seeds",
    "report",
    "main",
]

SMALL = {"hedge_funds__n_funds": 50, "nisa__n_households": 2000}  # populations small enough for seconds a run
SHIFTS = {
    "indirect": "us_treasury__indirect_level_share",
    "direct": "us_treasury__direct_level_share",
    "dealers": "us_treasury__dealer_level_share",
}


def run(seed: int, days: int, events=(), **overrides: Any):
    """The baseline's time series for ``days`` days with ``events`` (``ScenarioEvent``) and overrides."""
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name

    model = CarryUnwindModel(seed=seed, collect=False, **{**SMALL, **overrides})
    for e in events:
        model.schedule_scenario_event(e)
    model.run_days(days)
    check_accounting(model, run_name(model))
    return model.timeseries()


def _auctions(ts, start: int = 0):
    a = ts[(ts.ust_auction == 1) & (ts.day >= start)]
    return a


def auction_statistics(seed: int, days: int = 500, **overrides: Any) -> dict[str, float]:
    """Tails and allotment shares of one run's auctions."""
    a = _auctions(run(seed, days, **overrides))
    size = a.ust_allotted_indirect_usd_bn + a.ust_allotted_direct_usd_bn + a.ust_allotted_dealers_usd_bn
    tail = a.ust_auction_tail_bp.to_numpy()
    return {
        "auctions": float(len(a)),
        "tail_mean_bp": float(tail.mean()),
        "tail_sd_bp": float(tail.std(ddof=1)),
        "tails_within_2bp": float(np.mean(np.abs(tail) <= 2.0)),
        "indirect_share_mean": float((a.ust_allotted_indirect_usd_bn / size).mean()),
        "indirect_share_sd": float((a.ust_allotted_indirect_usd_bn / size).std(ddof=1)),
        "direct_share_mean": float((a.ust_allotted_direct_usd_bn / size).mean()),
        "dealer_share_mean": float((a.ust_allotted_dealers_usd_bn / size).mean()),
    }


def _difference(shifted, base, start: int = 0) -> dict[str, float]:
    a, b = _auctions(shifted, start), _auctions(base, start)

    def change(col: str, x, y) -> float:
        return float(x[col].mean() - y[col].mean())

    return {
        "tail_change_bp": change("ust_auction_tail_bp", a, b),
        "indirect_share_change": change("ust_indirect_share", a, b),
        "dealer_allotment_change_usd_bn": change("ust_allotted_dealers_usd_bn", a, b),
        "ust10y_change_bp": 1e4 * change("ust10y_yield", shifted[shifted.day >= start], base[base.day >= start]),
        "ust10y_auction_day_change_bp": 1e4 * change("ust10y_yield", a, b),
    }


def schedule_shift(seed: int, bidder: str = "indirect", factor: float = 0.8, days: int = 250) -> dict[str, float]:
    """One class's level scaled by ``factor`` against the twin without (same seed)."""
    from model.config import ModelConfig

    field = SHIFTS[bidder]
    default = getattr(ModelConfig().us_treasury, field.split("__")[1])
    return _difference(run(seed, days, **{field: default * factor}), run(seed, days))


def repatriation(seed: int, days: int = 250, day: int = 20, spread_pa: float = 0.01) -> dict[str, float]:
    """The super-long investors' required 30-year yield ``spread_pa`` higher from ``day`` against the twin without
    (same seed), from that day."""
    from model.scenarios import ScenarioEvent

    shock = ScenarioEvent(day=day, kind="superlong_shock", params={"spread_pa": spread_pa})
    shocked, base = run(seed, days, [shock]), run(seed, days)
    out = _difference(shocked, base, start=day)
    out["insurers_foreign_share_change_pp"] = float(
        100 * (shocked.lifer_foreign_share.iloc[-1] - base.lifer_foreign_share.iloc[-1])
    )
    return out


def over_seeds(fn, ids, failed: dict[str, list[int]], name: str) -> dict[str, Any]:
    """:func:`spread_by_field` of ``fn(seed)`` over ``ids``; a seed whose run ended in a clearing failure is
    left out and listed under ``failed[name]``."""
    from model.clearing import ClearingError

    rows = []
    for seed in ids:
        try:
            rows.append(fn(seed))
        except ClearingError:
            failed.setdefault(name, []).append(seed)
    return spread_by_field(rows)


def report(seeds: int, days: int = 500, factor: float = 0.8) -> dict[str, Any]:
    """Every figure of this module over seeds ``1..seeds``; ``failed_seeds``: by figure, the seeds whose run
    ended in a clearing failure (left out of that figure)."""
    ids = range(1, seeds + 1)
    failed: dict[str, list[int]] = {}
    out: dict[str, Any] = {"seeds": seeds}
    out["auction_statistics"] = over_seeds(partial(auction_statistics, days=days), ids, failed, "auction_statistics")
    out["schedule_shift"] = {
        f"{bidder} x{factor:g}": over_seeds(partial(schedule_shift, bidder=bidder, factor=factor), ids, failed,
                                            f"schedule_shift {bidder} x{factor:g}")
        for bidder in SHIFTS
    }  # fmt: skip
    out["repatriation"] = over_seeds(repatriation, ids, failed, "repatriation")
    return {**out, "failed_seeds": failed}


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser
    from model.results import json_safe

    # one-line errors, as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.auctions", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10)")
    parser.add_argument("--days", type=int, default=500, help="days of each run for the statistics (default 500)")
    parser.add_argument("--factor", type=float, default=0.8, help="scale of the shifted class's level (default 0.8)")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not 20 <= args.days <= 5000:
        parser.error(f"--days = {args.days} is not allowed; expected 20 to 5000")
    if not 0.0 <= args.factor <= 3.0:
        parser.error(f"--factor = {args.factor} is not allowed; expected 0 to 3")
    result = report(args.seeds, args.days, args.factor)
    json.dump(json_safe(result), sys.stdout, indent=1, allow_nan=False)
    print()
    if result["failed_seeds"]:  # one line on stderr: stdout stays the JSON
        print("auctions: runs that ended in a clearing failure, left out of their figure: "
              + "; ".join(f"{name}: seeds {', '.join(map(str, s))}" for name, s in result["failed_seeds"].items()),
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
