"""The carry trade through forwards: twin experiments on common random numbers.

Each experiment runs a model and its twin with the same seed (so the same draws) that differ in
one thing, and reports the difference:

* **the Fed channel** — a repricing of the expected Fed path (``fed_path_news``) in a crowded
  carry book before any rate moves: fund equity, the carry stock, USD/JPY, the basis and the 2y
  yield against the twin without the news, on the day and five days later;
* **Treasuries as an outcome** — in a risk-off unwind, the funds' UST sales as a share of the
  reduction in their carry stock, each against the twin without the shock (the fully positioned
  book trades by itself too), across ``hedge_funds.duration_leg_share``;
* **the basis in an unwind** — every fund forced to close its forwards on one day (marked for
  liquidation), all else fixed: the basis that day against the twin;
* **the warm-up carry stock** — the funds' carry stock at the start of the July 2024 scenario,
  from their capital and rules, against the ~$250 bn of BIS Bulletin 90.

``python -m experiments.analysis.carry_channels --seeds 10`` prints every figure's median, 5-95%
range across seeds and seed-bootstrap interval of the median, over validation's held-out seeds
(1001, …). A run that ends in a clearing failure is counted (``failed``), never dropped unseen: the
seeds whose runs failed are listed by figure under ``failed_seeds`` and named in one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from typing import Any

from experiments.analysis.statistics import spread_by_field

__all__ = [
    "CROWDED",
    "crowding",
    "fed_channel",
    "ust_share_of_unwind",
    "basis_in_unwind",
    "warmup_carry_stock",
    "main",
]

# A crowded book as the model defines it: the aggregate carry stock at or above the ~$250 bn anchor,
# with at least half the funds' equity within 1.2x their maintenance margin. Funds hold 1.5x their own
# targets (capped by their margins: CFTC leveraged yen shorts at a 17-year high, Jul 2024), with
# maintenance at 90% of the initial margin (CME's ratio for FX futures, ~91%) and $90 bn of capital
# (the default $35 bn gives a carry stock well below the anchor; see warmup_carry_stock). The capital
# was $60 bn until the first refit of 5 December 2026, whose tighter caps held that book at $220-240 bn,
# $70 bn until the third, whose caps (up to 5.9) held it at $213-233 bn (seeds 1-3 with 200 funds and
# 1001-1005), and $85 bn until the fourth, at whose defaults $85 bn gave $247-269 bn on the same seeds;
# at $90 bn it is $261-285 bn.
CROWDED = {
    "hedge_funds__capital_usd_bn": 90.0,
    "hedge_funds__initial_leverage_fraction": 1.5,
    "hedge_funds__maintenance_ratio": 0.9,
}
ANCHOR_USD_BN = 250.0  # BIS Bulletin 90 (2024): the yen carry stock going into August 2024


def _quiet(scenario: str):
    """The scenario's initial state and configuration without its events."""
    from model.scenarios import load_scenario

    return dataclasses.replace(load_scenario(scenario), events=())


def _model(scenario, seed: int, events=(), **overrides):
    from model.model import CarryUnwindModel

    return CarryUnwindModel(
        scenario=dataclasses.replace(scenario, events=tuple(events)), seed=seed, collect=False, **overrides
    )


def crowding(model) -> dict[str, float]:
    """The carry stock and the share of the funds' equity within 1.2x their maintenance margin."""
    f = model.hedge_funds
    live = f.alive
    margin = f.margin_fx * f.fwd_usd_bn + f.margin_ust * f.ust_units * model.market.ust_price
    maintenance = margin * model.config.hedge_funds.maintenance_ratio
    equity = f.equity_book_usd_bn
    near = live & (equity <= 1.2 * maintenance)
    total = float(equity[live].sum())
    return {
        "carry_stock_usd_bn": float(f.fwd_usd_bn[live].sum()),
        "equity_share_near_maintenance": float(equity[near].sum()) / total if total > 0 else 0.0,
    }


def fed_channel(seed: int, *, change_pa: float = -0.01, duration_leg_share: float | None = None,
                news_day: int = 5, after: int = 5, scenario: str = "boj_hike_2024",
                overrides: dict | None = None) -> dict[str, float]:  # fmt: skip
    """A ``fed_path_news`` of ``change_pa`` before day ``news_day``'s trading against its twin.

    Returns the differences (news − twin) on the news day (``*_day``) and ``after`` days later
    (``*_later``): fund equity and carry stock (USD bn), ln USD/JPY (%), basis and 2y yield (bp).
    """
    from model.results import check_accounting, run_name
    from model.scenarios import ScenarioEvent

    base = _quiet(scenario)
    kw = dict(CROWDED if overrides is None else overrides)
    if duration_leg_share is not None:
        kw["hedge_funds__duration_leg_share"] = duration_leg_share
    from model.clearing import ClearingError

    news = ScenarioEvent(day=news_day, kind="fed_path_news", params={"change_pa": change_pa})
    runs = []
    for events in ((news,), ()):
        m = _model(base, seed, events, **kw)
        try:
            m.run_days(news_day + after)
        except ClearingError:  # the unwind ran beyond the plausibility bound (or the twin did): counted
            return {"failed": 1.0, "failed_day": float(m.day), "failed_arm": 0.0 if events else 1.0}
        check_accounting(m, f"{run_name(m)}, Fed path news {'on' if events else 'off'}")
        runs.append(m.timeseries())
    a, b = runs
    out: dict[str, float] = {"failed": 0.0, "failed_day": float("nan")}
    for label, d in (("day", news_day), ("later", news_day + after)):
        out[f"equity_usd_bn_{label}"] = float(a.hf_equity_usd_bn[d] - b.hf_equity_usd_bn[d])
        out[f"carry_stock_usd_bn_{label}"] = float(a.hf_net_usd_bn[d] - b.hf_net_usd_bn[d])
        out[f"usdjpy_pct_{label}"] = 100.0 * math.log(float(a.usdjpy[d]) / float(b.usdjpy[d]))
        out[f"basis_bp_{label}"] = float(a.fx_basis_bp[d] - b.fx_basis_bp[d])
        out[f"ust2y_bp_{label}"] = float(1e4 * (a.ust2y_yield[d] - b.ust2y_yield[d]))
    return out


def ust_share_of_unwind(seed: int, duration_leg_share: float, *, scenario: str = "risk_off", start: int = 59,
                        end: int = 80) -> dict[str, float]:  # fmt: skip
    """Funds' UST sales over days ``start``–``end`` of a risk-off unwind as a share of their carry cut, against
    the same seed without the shock.

    The fully positioned book cuts its carry and trades Treasuries without the shock too, so the share
    is of the differences: (UST sold with the shock − without) / (carry cut with − without), both valued
    at the shocked run's day-``end`` close (USD bn); NaN where the shock did not cut the carry stock.
    The unpaired figures of the shocked run are given beside it (``*_unpaired``). A run that ends in a
    clearing failure gives ``failed = 1`` and nothing else.
    """
    from model.clearing import ClearingError
    from model.results import check_accounting, run_name
    from model.scenarios import load_scenario

    spec = load_scenario(scenario)
    kw = {"hedge_funds__duration_leg_share": duration_leg_share}
    measured = []
    for events in (spec.events, ()):
        m = _model(spec, seed, events, **kw)
        units = {}
        try:
            for _ in range(end):
                m.step()
                if m.day in (start, end):
                    units[m.day] = float(m.hedge_funds.ust_units.sum())
        except ClearingError:
            return {"failed": 1.0}
        check_accounting(m, f"{run_name(m)}, shock {'on' if events else 'off'}")
        ts = m.timeseries()
        measured.append((float(ts.hf_net_usd_bn[start] - ts.hf_net_usd_bn[end]), units[start] - units[end],
                         float(ts.hf_ust_usd_bn[start]), m.market.ust_price))  # fmt: skip
    (cut, sold_units, leg, price), (cut0, sold_units0, _, _) = measured
    d_cut, d_sold = cut - cut0, (sold_units - sold_units0) * price
    return {"failed": 0.0, "carry_cut_usd_bn": d_cut, "ust_sold_usd_bn": d_sold,
            "share": d_sold / d_cut if d_cut > 0 else float("nan"), "carry_cut_usd_bn_unpaired": cut,
            "share_unpaired": sold_units * price / cut if cut > 0 else float("nan"),
            "duration_leg_usd_bn": leg}  # fmt: skip


def basis_in_unwind(seed: int, *, day: int = 20, scenario: str = "baseline", **overrides: Any) -> dict[str, float]:
    """Every fund marked for liquidation before day ``day`` (it closes its forwards that day) against
    the twin: the change in the funds' forwards (USD bn), the basis (bp) and ln USD/JPY (%) that day."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name

    runs = []
    for unwind in (True, False):
        m = CarryUnwindModel(scenario=scenario, seed=seed, collect=False, **overrides)
        try:
            m.run_days(day - 1)
            if unwind:
                m.hedge_funds.liquidating[:] = m.hedge_funds.alive
            m.step()
        except ClearingError:
            return {"failed": 1.0}
        check_accounting(m, f"{run_name(m)}, every fund liquidating: {unwind}")
        runs.append((float(m.hedge_funds.fwd_usd_bn.sum()), m.market.fx_basis, m.market.usdjpy))
    (xa, ba, sa), (xb, bb, sb) = runs
    return {"failed": 0.0, "forwards_usd_bn": xa - xb, "basis_bp": 1e4 * (ba - bb),
            "usdjpy_pct": 100.0 * math.log(float(sa) / float(sb))}  # fmt: skip


def warmup_carry_stock(seed: int, scenario: str = "boj_hike_2024", **overrides: Any) -> dict[str, float]:
    """The funds' carry stock and its make-up at the start of ``scenario`` (no run)."""
    from model.model import CarryUnwindModel

    m = CarryUnwindModel(scenario=scenario, seed=seed, collect=False, **overrides)
    f = m.hedge_funds
    capital = float(f.initial_capital_usd_bn.sum())
    stock = float(f.fwd_usd_bn.sum())
    # at the initial margin of both legs (the duration leg shares the margin account)
    at_cap = f.margin_fx * f.fwd_usd_bn + f.margin_ust * f.ust_units * m.market.ust_price >= f.equity_book_usd_bn * (
        1 - 1e-9)  # fmt: skip
    return {"carry_stock_usd_bn": stock, "capital_usd_bn": capital, "leverage": stock / capital,
            "share_at_margin_cap": float(at_cap.mean()), "ratio_to_anchor": stock / ANCHOR_USD_BN,
            "duration_leg_usd_bn": float(f.ust_units.sum()) * m.market.ust_price}  # fmt: skip


def report(seeds: int) -> dict[str, Any]:
    """Every figure of this module, over validation's held-out seeds ``FIRST_SEED … FIRST_SEED + seeds − 1``."""
    from experiments.analysis.targets import held_out_seeds

    ids = held_out_seeds(seeds)
    quiet = _quiet("boj_hike_2024")
    crowd = [crowding(_model(quiet, s, (), **CROWDED)) for s in ids]
    runs = {f"fed_channel {share}": [fed_channel(s, duration_leg_share=share) for s in ids] for share in (0.0, 0.25)}
    runs |= {f"ust_share_of_unwind {share}": [ust_share_of_unwind(s, share) for s in ids] for share in (0.0, 0.25, 0.5)}
    runs["basis_in_unwind"] = [basis_in_unwind(s) for s in ids]
    return {
        "seeds": seeds,
        "crowded_book": spread_by_field(crowd),
        "fed_channel": {str(share): spread_by_field(runs[f"fed_channel {share}"]) for share in (0.0, 0.25)},
        "ust_share_of_unwind": {
            str(share): spread_by_field(runs[f"ust_share_of_unwind {share}"]) for share in (0.0, 0.25, 0.5)
        },
        "basis_in_unwind": spread_by_field(runs["basis_in_unwind"]),
        "warmup_carry_stock": spread_by_field([warmup_carry_stock(s) for s in ids]),
        # by figure, the seeds whose runs ended in a clearing failure (their measures are missing from it)
        "failed_seeds": {name: failed for name, rows in runs.items()
                         if (failed := [s for s, r in zip(ids, rows, strict=True) if r.get("failed") == 1.0])},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser
    from model.results import json_safe

    # one-line errors, as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.carry_channels", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=10, help="N held-out seeds, 1001..1000+N (default 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    result = report(args.seeds)
    json.dump(json_safe(result), sys.stdout, indent=1, allow_nan=False)
    print()
    if result["failed_seeds"]:  # one line on stderr: stdout stays the JSON
        print("carry_channels: runs that ended in a clearing failure, counted as failed: "
              + "; ".join(f"{name}: seeds {', '.join(map(str, s))}" for name, s in result["failed_seeds"].items()),
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
