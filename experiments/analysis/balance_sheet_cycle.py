"""Does the cycle come from balance sheets? The benchmark of leverage, the risk index and liquidity.

Five measurements, each against a twin or an ablation on common random numbers (same seeds):

1. **leverage makes the tails** — the baseline with its leverage against ``max_leverage = 1`` (same
   capital): the paired difference in excess kurtosis and in the lag-1 autocorrelation of |returns|;
2. **the balance sheets carry the cycle** — with the risk index's news switched off
   (``market.risk_news_sd = 0``): the share of seeds with excess kurtosis ≥ 1.5 and |return|
   autocorrelation ≥ 0.08, and how much both fall with ``market.risk_endogenous = false``; also with
   the equity market's channel into the index off (``market.risk_equity_sensitivity = 0``);
3. **news acts on its day** — a US growth surprise and a Fed decision arriving before a day's
   trading move that day's USD/JPY against the twin without them;
4. **the liquidity spiral** — in a risk-off unwind, each figure against a twin without the shock:
   dealers' equity, the (model-implied) price impact of net customer flow, and the yen surge with
   ``dealers.capital_constraint`` off relative to on. "Dealers' equity falls" is judged by the mean
   gap to the twin over the window (the median over seeds, its interval below 0), not by the lowest
   gap, which any excursion below the twin makes negative (``verdicts``). The window is the shock's
   day and the 60 trading days after it (:data:`SPIRAL_WINDOW`); the report counts the seeds whose
   surge is deepest on its last day (``seeds_surge_on_last_day``), where the figure would grow with a
   longer window. The window was 40 days: on 20 seeds the surge was deepest on its last day in 11.
   Measured on 12 seeds (1001-1012; constraint on, off in brackets), it is in 8 (7) at 40 days, 3
   (3) at 60 and none at 80, with median surges of 1.42% (1.43%), 1.45% (1.46%) and 1.45% (1.46%):
   past 60 days the surge barely deepens, as the two runs drift apart slowly, at 20% more days of
   this measurement's runs than 40;
5. **leverage binds** — after an endogenous build-up: from the July 2024 state with funds at their
   own targets, the eve is the first day after a 100-day warm-up on which the funds' net forwards
   have grown to the ~$250 bn anchor by themselves (from below it the day before: a book already
   above it when the warm-up ends waits until it has fallen below and grown back); a risk-off shock
   (``risk_off``'s US growth surprise) comes the next morning. On the eve: the share of carry funds
   within 1.2x their maintenance margin; in the month after, over the eve's carry funds: the share
   called, their forced sales (margin calls beyond the voluntary cut, liquidations; not the retail
   traders' stop-outs, whose positions are not in the carry stock) as a share of the fall in their
   carry stock (the called funds' gross forced sales over the net fall of all the eve's carry funds,
   so above 1 where others add to their positions in the month), failures
   (a run that ends in a clearing failure is counted, with its eve figures kept). Seeds whose book
   never reaches the anchor within 750 days are counted, not measured.

Statistics follow one protocol, validation's: baseline, ``seeds`` seeds × ``days`` days simulated on
validation's held-out seeds (1001, 1002, …; the calibration fits on 1..S;
:func:`~experiments.analysis.targets.held_out_seeds`), the first 250 dropped (so 2,000 days give
1,750 daily returns), bias-corrected excess kurtosis; a paired statistic is the median over seeds
of the per-seed difference, with a seed-bootstrap percentile interval of that median (fixed
generator, :func:`experiments.analysis.statistics.seed_spread`)::

    python -m experiments.analysis.balance_sheet_cycle --seeds 20 --days 2000 --workers 2 --out out/cycle.json

``--set SECTION.FIELD=VALUE`` (repeatable) runs every measurement with a field at another value, such
as a refitted risk index; an arm's own switch still wins.

``--channels`` asks instead where the clustering of measurement 1 comes from: the unleveraged arm
(``max_leverage = 1``) with one channel removed at a time (:data:`CHANNELS`: the capacities'
response to the risk index, the index's news, its own response, the CTAs, the retail traders'
leverage), each arm's median excess kurtosis and |return| autocorrelation at lag 1, and measurement
1 again with the liquidity channel off in both arms (:data:`LIQUIDITY_OFF`). An arm whose every field
the unleveraged arm already holds at the arm's value (a channel off at these parameters) would be that
arm's run itself, its effect a measured zero that is none: it is not run, and is reported (and said on
stderr before the runs) as already off; an arm some of whose fields are already there is run, and says
which (:func:`channel_arms`). At the defaults real money's capacity does not respond to the index (its
elasticity is fitted at 0), so the capacities' arm removes the dealers' response alone::

    python -m experiments.analysis.balance_sheet_cycle --channels --seeds 20 --days 2000 --workers 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.statistics import log_returns, return_statistics, seed_spread, spread_by_field
from experiments.analysis.targets import BURN_IN, held_out_seeds

__all__ = [
    "run_stats",
    "paired",
    "news_on_its_day",
    "news_summary",
    "liquidity_spiral",
    "liquidity_spiral_summary",
    "SPIRAL_WINDOW",
    "crowded_eve",
    "leverage_binds",
    "leverage_binds_summary",
    "multi_root_days",
    "report",
    "channels_report",
    "map_report",
    "plot_map",
    "MAP_GAMMAS",
    "MAP_CAPS",
    "CHANNELS",
    "channel_arms",
    "LIQUIDITY_OFF",
    "longest_run",
    "main",
]

# the liquidity channel: dealers' and real money's capacities shrink as the risk index rises (real money's
# elasticity is fitted at 0, so at the defaults only the dealers' do: channel_arms says so)
LIQUIDITY_OFF = {"dealers__capacity_risk_elasticity": 0.0, "real_money__capacity_risk_elasticity": 0.0}
# --channels: each removed on its own from the unleveraged arm
CHANNELS = {
    "none removed": {},
    "capacities' response to the risk index": LIQUIDITY_OFF,
    "the risk index's news": {"market__risk_news_sd": 0.0},
    "the risk index's own response": {"market__risk_endogenous": False},
    "the index's news and own response": {"market__risk_news_sd": 0.0, "market__risk_endogenous": False},
    "the CTAs": {"cta__enabled": False},
    "the retail traders' leverage": {"retail_fx__max_leverage": 1.0},
}
UNLEVERAGED = {"hedge_funds__max_leverage": 1.0}


def run_stats(task: tuple[str, dict, int, int]) -> dict[str, float]:
    """Excess kurtosis and |return| autocorrelation at lag 1 of one run ``(scenario, overrides, seed, days)``
    over its days after the first :data:`~experiments.analysis.targets.BURN_IN` (as validation measures
    them), and the statistics the baseline calibration judges (its ``JUDGED``, under their own names); NaN where
    the run failed to clear."""
    from experiments.calibration.baseline import JUDGED
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name

    scenario, overrides, seed, days = task
    model = CarryUnwindModel(scenario=scenario, seed=seed, collect=False, **overrides)
    try:
        model.run_days(days)
    except ClearingError:
        return {"kurtosis": float("nan"), "abs_acf1": float("nan"), "failed": 1.0, "days_at_risk_cap": float("nan"),
                **dict.fromkeys(JUDGED, float("nan"))}  # fmt: skip
    check_accounting(model, run_name(model))
    r = log_returns(np.asarray(model.series("usdjpy"), dtype=float)[BURN_IN:])
    v = np.asarray(model.series("risk_index"), dtype=float)[BURN_IN:]
    stats = return_statistics(r)  # its kurtosis and lag-1 |return| autocorrelation are this module's two
    return {"kurtosis": stats["excess_kurtosis"], "abs_acf1": float(stats["abs_acf_lag1"]),
            "failed": 0.0, "days_at_risk_cap": float(np.sum(v >= model.config.market.risk_index_max)),
            **{k: float(stats[k]) for k in JUDGED}}  # fmt: skip


def paired(a: list[dict], b: list[dict], key: str) -> dict[str, float]:
    """Median over seeds of ``a − b`` for ``key``, its interval, and each arm's median over the same
    seeds; a seed where either arm failed (NaN) is left out of all three and counted
    (``pairs_with_a_failed_arm``)."""
    x = np.array([r[key] for r in a], dtype=float)
    y = np.array([r[key] for r in b], dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    return {"difference": seed_spread(x[both] - y[both], of="median"),
            "median_a": float(np.median(x[both])) if both.any() else float("nan"),
            "median_b": float(np.median(y[both])) if both.any() else float("nan"),
            "pairs": int(both.sum()), "pairs_with_a_failed_arm": int((~both).sum())}  # fmt: skip


def _arms(arms: dict[str, dict], seeds: int, days: int, workers: int) -> dict[str, list[dict]]:
    from experiments.runner import run_tasks

    names = list(arms)
    tasks = [("baseline", arms[n], s, days) for n in names for s in held_out_seeds(seeds)]
    out = run_tasks(run_stats, tasks, workers=workers, progress=True, desc="cycle")
    return {n: out[i * seeds : (i + 1) * seeds] for i, n in enumerate(names)}


def news_on_its_day(seed: int, day: int = 30, base: dict[str, Any] | None = None) -> dict[str, float]:
    """ln USD/JPY on the news day against the twin (%): a −2 sd US growth surprise, and a 25 bp Fed
    cut nobody expected (every run with the overrides ``base``)."""
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import ScenarioEvent, load_scenario

    quiet = dataclasses.replace(load_scenario("baseline"), events=())
    rate = quiet.config.with_overrides(base or {}).market.us_short_rate
    out = {}
    events = {
        "growth_news_pct": ScenarioEvent(day=day, kind="us_growth_news", params={"surprise_sd": -2.0}),
        "fed_cut_pct": ScenarioEvent(day=day, kind="us_short_rate", params={"rate": rate - 0.0025}),
    }
    twin = CarryUnwindModel(scenario=quiet, seed=seed, collect=False, **(base or {}))
    twin.run_days(day)
    check_accounting(twin, run_name(twin))
    for name, ev in events.items():
        m = CarryUnwindModel(scenario=dataclasses.replace(quiet, events=(ev,)), seed=seed, collect=False,
                             **(base or {}))  # fmt: skip
        m.run_days(day)
        check_accounting(m, f"{run_name(m)}, {ev.kind} on day {day}")
        out[name] = 100.0 * math.log(m.market.usdjpy / twin.market.usdjpy)
    return out


def news_summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    """Measurement 3 over seeds: for each news item, the seeds whose USD/JPY moved on the day against the
    twin (``moved``), and moved down, the way the news pushes it (``moved_down``: a weak US growth surprise
    and a Fed cut both lower the dollar), each out of every seed (a run that failed counts as not
    moved); then every field's median and range."""
    counts = {}
    for key in ("growth_news_pct", "fed_cut_pct"):
        v = np.array([r.get(key, math.nan) for r in rows], dtype=float)
        with np.errstate(invalid="ignore"):
            counts[key] = {"seeds": len(rows), "moved": int(np.sum(np.isfinite(v) & (v != 0.0))),
                           "moved_down": int(np.sum(np.isfinite(v) & (v < 0.0)))}  # fmt: skip
    return {"seeds_moved": counts, **spread_by_field(rows)}


# Measurement 4's window: the shock's day and the SPIRAL_WINDOW trading days after it (see the module's
# docstring for why 60 and not the earlier 40)
SPIRAL_WINDOW = 60


def liquidity_spiral(seed: int, shock_day: int | None = None, window: int = SPIRAL_WINDOW,
                     base: dict[str, Any] | None = None) -> dict[str, float]:  # fmt: skip
    """The risk-off unwind against its twin without the shock, with and without the dealers' capital constraint.

    Every figure is the shocked run against a twin of the same seed and settings without the
    shock (``risk_off`` with its events removed; common random numbers, so the two share every day
    before ``shock_day``, checked), so that what the fully positioned book does by itself is not
    read as the shock's doing. The window is the shock's day and the ``window`` days after it:

    * ``surge_pct_on`` / ``_off``: the largest fall of USD/JPY relative to the twin within the
      window, ``100·(1 − min S/S_twin)`` (%), with the constraint on and off;
      ``surge_ratio_off_to_on`` their ratio; ``surge_on_last_day_on`` / ``_off``: 1 where that
      lowest point is the window's last day (the surge may go on beyond it), else 0;
    * dealers' equity against the twin (shocked − twin, USD bn): its lowest gap in the window
      (``dealer_equity_change_usd_bn``: any excursion below the twin makes it negative), its mean
      gap over the window (``dealer_equity_mean_gap_usd_bn``, what the benchmark judges a fall by)
      and its gap on the window's last day (``dealer_equity_end_gap_usd_bn``);
    * price impact: the model's own marginal impact of $1 bn of net customer dollar buying on the
      day (``fx_impact_pct_per_bn``, from the clearing's Jacobian at the cleared prices, all markets
      re-clearing; model-implied, not estimated from flows and returns), its mean over the 21 days
      from the shock against the twin's over the same days (``impact_ratio_to_twin``), and against
      the shocked run's own mean over the 21 days before the shock (``impact_mean_ratio_after_to_before``,
      equal windows, mean against mean).

    ``shock_day``: the day the shock arrives (default ``risk_off``'s own).
    """
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import load_scenario

    spec = load_scenario("risk_off")
    event = spec.events[0]
    if shock_day is None:
        shock_day = event.day
    shocked = dataclasses.replace(spec, events=(dataclasses.replace(event, day=shock_day),))
    quiet = dataclasses.replace(spec, events=())
    span = 21  # the days the impact is averaged over, before and from the shock

    def run(scenario, on: bool, what: str):
        m = CarryUnwindModel(scenario=scenario, seed=seed, collect=False,
                             **{**(base or {}), "dealers__capital_constraint": on})  # fmt: skip
        m.run_days(shock_day + window)
        check_accounting(m, f"{run_name(m)}, {what}, capital constraint {on}")
        return m.timeseries()

    out = {}
    for label, on in (("on", True), ("off", False)):
        ts, twin = run(shocked, on, f"shock on day {shock_day}"), run(quiet, on, "no shock")
        s, s0 = ts.usdjpy.to_numpy(), twin.usdjpy.to_numpy()
        if not np.array_equal(s[:shock_day], s0[:shock_day]):
            raise RuntimeError(f"seed {seed}: the shocked run differs from its twin before the shock (day {shock_day})")
        ratio = s[shock_day:] / s0[shock_day:]  # the window: the shock's day and the ``window`` days after it
        out[f"surge_pct_{label}"] = 100.0 * float(1.0 - np.min(ratio))
        out[f"surge_on_last_day_{label}"] = float(int(np.argmin(ratio)) == ratio.size - 1)
        if on:
            eq, eq0 = ts.dealer_equity_usd_bn.to_numpy(), twin.dealer_equity_usd_bn.to_numpy()
            gap = eq[shock_day:] - eq0[shock_day:]
            out["dealer_equity_change_usd_bn"] = float(np.min(gap))
            out["dealer_equity_mean_gap_usd_bn"] = float(np.mean(gap))
            out["dealer_equity_end_gap_usd_bn"] = float(gap[-1])
            impact, impact0 = ts.fx_impact_pct_per_bn.to_numpy(), twin.fx_impact_pct_per_bn.to_numpy()
            after = slice(shock_day, shock_day + span)
            before = slice(max(shock_day - span, 1), shock_day)  # day 0 has no clearing
            out["impact_before_pct_per_bn"] = float(np.nanmean(impact[before]))
            out["impact_after_pct_per_bn"] = float(np.nanmean(impact[after]))
            out["impact_twin_after_pct_per_bn"] = float(np.nanmean(impact0[after]))
            out["impact_ratio_to_twin"] = out["impact_after_pct_per_bn"] / out["impact_twin_after_pct_per_bn"]
            out["impact_mean_ratio_after_to_before"] = out["impact_after_pct_per_bn"] / out["impact_before_pct_per_bn"]
    out["surge_ratio_off_to_on"] = out["surge_pct_off"] / out["surge_pct_on"] if out["surge_pct_on"] > 0 else np.nan
    return out


def liquidity_spiral_summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    """Measurement 4 over seeds: every field's median and interval (:func:`spread_by_field`), how many
    seeds' surge has its lowest point on the window's last day (``seeds_surge_on_last_day``, with the
    constraint on and off, of the seeds measured; a run that failed to clear is counted in ``seeds``
    only), and the verdict: ``dealers_equity_falls`` when the seed-bootstrap interval of the median
    mean gap to the twin over the window lies below 0 (None where there is no interval: at fewer
    than :data:`~experiments.analysis.statistics.MIN_SEEDS_MEDIAN_INTERVAL`, six, seeds with a value)."""
    spread = spread_by_field(rows)
    mean_gap = spread.get("dealer_equity_mean_gap_usd_bn", {}).get("ci95_hi", math.nan)
    return {
        "seeds": len(rows),
        "seeds_surge_on_last_day": {
            label: int(sum(r.get(f"surge_on_last_day_{label}") == 1.0 for r in rows)) for label in ("on", "off")
        },
        "seeds_measured": int(sum("surge_on_last_day_on" in r for r in rows)),
        "verdicts": {"dealers_equity_falls": bool(mean_gap < 0.0) if math.isfinite(mean_gap) else None},
        **spread,
    }


# The build-up for measurement 5: funds at their own targets in the July 2024 state (its scripted
# events removed), with the capital and maintenance ratio of the crowded book
# (:data:`experiments.analysis.carry_channels.CROWDED`) but not its overfilled start; the eve of the
# shock is the first day after ``BUILDUP_WARMUP`` days on which the funds' net forwards have grown to the
# ~$250 bn anchor by themselves (``ANCHOR_USD_BN``): from below it the day before to at or above it,
# searched up to ``BUILDUP_MAX_DAYS``. The stock is all the funds' (``hf_net_usd_bn``), as the BIS anchor
# counts positions and as the replay and the crowded preset read it; the month's measures are over the
# eve's carry funds alone.
BUILDUP_WARMUP = 100
BUILDUP_MAX_DAYS = 750


def crowded_eve(stock: np.ndarray, *, anchor: float, warmup: int) -> int:
    """The first day (index into ``stock``, the stock at each day's close; day 0 = the start) after
    ``warmup`` on which the stock reaches ``anchor`` from below: at or above it, and below it the day
    before; −1 if it never does. A book already above the anchor when the warm-up ends is not shocked
    there, at whatever size it has reached, but once it has fallen below the anchor and grown back to
    it, so that every eve is a book at the anchor."""
    x = np.asarray(stock)
    t = np.arange(warmup + 1, x.shape[0])
    hits = t[(x[t] >= anchor) & (x[t - 1] < anchor)]
    return int(hits[0]) if hits.size else -1


def _carry_state(model) -> tuple[np.ndarray, float, float, float]:
    """Carry funds (alive, not trend followers), their carry stock, the share of them whose equity is
    within 1.2x their maintenance margin, and every live fund's net forwards (the anchor's stock)."""
    from agents.hedge_funds import trend_followers

    f = model.hedge_funds
    carry = ~trend_followers(f) & f.alive
    margin = f.margin_fx * f.fwd_usd_bn + f.margin_ust * f.ust_units * model.market.ust_price
    near = carry & (f.equity_book_usd_bn <= 1.2 * margin * model.config.hedge_funds.maintenance_ratio)
    book = float(f.fwd_usd_bn[f.alive].sum())
    return carry, float(f.fwd_usd_bn[carry].sum()), float(near.sum() / max(carry.sum(), 1)), book


def leverage_binds(seed: int, month: int = 21, base: dict[str, Any] | None = None) -> dict[str, float]:
    """A carry book that has built up to the anchor by itself, then ``risk_off``'s trigger (a 3-sd
    negative US growth surprise) before the next day's trading: the book on the eve, and the month after.

    The build-up run has no events; the shocked run is the same seed with the surprise on the day after
    the eve (common random numbers: its eve is the build-up run's, checked). The eve is found on every
    live fund's net forwards (:func:`crowded_eve`), and both that stock and the carry funds' are returned.
    A seed whose book never reaches the anchor reports ``crowded = 0`` and nothing else.
    """
    from experiments.analysis.carry_channels import ANCHOR_USD_BN, CROWDED
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import load_scenario

    overrides = {**(base or {}), **{k: v for k, v in CROWDED.items() if k != "hedge_funds__initial_leverage_fraction"}}
    # a horizon that holds the shock, which comes after boj_hike_2024's 500 days when the eve is late: the
    # scenario's own horizon would have its event reported as never simulated, though it is. The horizon
    # sizes the recorded series only, and changes no number.
    overrides["simulation__days"] = BUILDUP_MAX_DAYS + month + 1
    quiet = dataclasses.replace(load_scenario("boj_hike_2024"), events=())
    m = CarryUnwindModel(scenario=quiet, seed=seed, collect=False, **overrides)
    _, carried, _, held = _carry_state(m)
    stock, books = [carried], [held]  # each day's carry funds' stock, and every fund's (the anchor's)
    eve = -1
    try:
        while m.day < BUILDUP_MAX_DAYS and eve < 0:
            m.step()
            _, carried, _, held = _carry_state(m)
            stock.append(carried)
            books.append(held)
            eve = crowded_eve(np.array(books), anchor=ANCHOR_USD_BN, warmup=BUILDUP_WARMUP)
    except ClearingError:
        return {"crowded": 0.0, "buildup_failed": 1.0}
    if eve < 0:
        return {"crowded": 0.0, "buildup_failed": 0.0}
    shock = dataclasses.replace(load_scenario("risk_off").events[0], day=eve + 1)
    m = CarryUnwindModel(scenario=dataclasses.replace(quiet, events=(shock,)), seed=seed, collect=False, **overrides)
    m.run_days(eve)
    carry, stock0, near, book0 = _carry_state(m)
    if stock0 != stock[eve] or book0 != books[eve]:
        raise RuntimeError(
            f"seed {seed}: the shocked run's eve ({stock0}, every fund {book0}) differs from the build-up's "
            f"({stock[eve]}, every fund {books[eve]})"
        )
    out = {"crowded": 1.0, "buildup_failed": 0.0, "eve_day": float(eve), "carry_stock_eve_usd_bn": stock0,
           "book_stock_eve_usd_bn": book0, "share_near_maintenance": near}  # fmt: skip
    # the month's measures are over the eve's carry funds alone (``carry``), as the eve's carry stock is:
    # the trend followers' forwards and forced sales are neither in the stock nor in its fall
    f = m.hedge_funds
    called = np.zeros_like(carry)
    forced = 0.0
    try:
        for _ in range(month):
            m.step()
            called |= f.margin_called & carry
            forced += float(f.forced_usd_bn[carry].sum())
    except ClearingError:
        return {**out, "failed": 1.0, "failed_day": float(m.day - eve)}
    check_accounting(m, f"{run_name(m)}, shock on day {eve + 1}")
    # the eve's carry funds that failed in the month: closed, or liquidating (re-entry takes 100 days)
    failures = int((carry & (~f.alive | f.liquidating)).sum())
    fall = stock0 - float(f.fwd_usd_bn[carry].sum())
    return {**out, "share_called_in_month": float(called.sum() / carry.sum()), "forced_usd_bn": forced,
            "carry_fall_usd_bn": fall, "forced_share_of_fall": forced / fall if fall > 0 else float("nan"),
            "failures": float(failures)}  # fmt: skip


def leverage_binds_summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    """Measurement 5 over seeds: how many books reached the anchor, and among them the share of seeds
    meeting each threshold (the outcome is bimodal, so the median alone hides it), then every field's
    median and interval.

    The eve's measure (funds near their maintenance margin) is over every crowded seed. The month's
    (margin calls, forced sales) is over the crowded seeds whose shocked month cleared, though its keys
    say "crowded seeds": a month that ended in a clearing failure has no such measure, and is counted
    (``seeds_month_failed``) rather than read as a month without calls. A seed whose carry stock did
    not fall has no forced share of the fall (NaN) and counts as not reaching a third: nothing was
    unwound there, by force or otherwise; ``among_unwound`` gives the measures over the seeds that did.

    The outcome splits: in some seeds the trigger unwinds the book (its carry stock falls over the
    month), in others the stock grows and few funds, if any, are called. ``seeds_unwound`` counts the first, and
    ``among_unwound`` gives the month's measures over them alone (median and range), so that a median
    over all seeds of "nobody called" is not read as "leverage never binds"."""
    crowded = [r for r in rows if r.get("crowded") == 1.0]
    cleared = [r for r in crowded if r.get("failed") != 1.0]
    unwound = [r for r in cleared if r.get("carry_fall_usd_bn", math.nan) > 0.0]

    def share(test, among) -> float:
        return float(np.mean([bool(test(r)) for r in among])) if among else float("nan")

    return {
        "seeds_crowded": len(crowded),
        "seeds_month_failed": len(crowded) - len(cleared),
        "seeds_buildup_failed": int(sum(r.get("buildup_failed") == 1.0 for r in rows)),
        "seeds": len(rows),
        "share_of_crowded_seeds_near_ge_0.3": share(lambda r: r["share_near_maintenance"] >= 0.3, crowded),
        "share_of_crowded_seeds_called_ge_0.3": share(lambda r: r["share_called_in_month"] >= 0.3, cleared),
        "share_of_crowded_seeds_forced_ge_third": share(lambda r: r["forced_share_of_fall"] >= 1 / 3, cleared),
        "seeds_unwound": len(unwound),
        "among_unwound": {
            k: {"median": float(np.median(v)), "min": float(np.min(v)), "max": float(np.max(v))}
            for k in ("share_near_maintenance", "share_called_in_month", "forced_share_of_fall")
            if (v := [r[k] for r in unwound])
        },
        **spread_by_field(crowded),
    }


def multi_root_days(task: tuple) -> dict[str, float]:
    """Days with another USD/JPY root inside the plausibility bound (40-point scan), ``(scenario, seed, days)``
    or ``(scenario, seed, days, base overrides)``."""
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name

    scenario, seed, days, *rest = task
    base = rest[0] if rest else {}
    m = CarryUnwindModel(scenario=scenario, seed=seed, collect=False, **{**base, "simulation__root_scan_points": 40})
    try:
        m.run_days(days)
    except ClearingError:
        pass
    else:
        check_accounting(m, run_name(m))
    roots = np.asarray(m.series("clearing_other_roots")[1:], dtype=float)
    return {"days": float(roots.size), "multi_root_days": float((roots > 0).sum())}


def guarded(fn, seed: int) -> dict[str, float]:
    """``fn(seed)`` with a run that ends in a clearing failure counted (``failed = 1``); ``fn`` may
    report the part it measured before the failure."""
    from model.clearing import ClearingError

    try:
        return {"failed": 0.0, **fn(seed)}
    except ClearingError:
        return {"failed": 1.0}


def arms_cache_key(seeds: int, days: int, base: dict[str, Any]) -> str:
    """Under what :func:`report`'s cache keeps the baseline arms: the arguments and the code
    (:func:`experiments.runner.code_fingerprint`), so that an edit to the model or an upgrade since
    the cache was written does not reuse its statistics."""
    from experiments.runner import code_fingerprint

    return f"{seeds}x{days} {code_fingerprint()}" + (" " + json.dumps(base, sort_keys=True) if base else "")


def report(seeds: int, days: int, workers: int, cache: str = "", base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every figure of this module. ``cache``: a JSON file keeping the four baseline arms' per-seed
    statistics, so that a re-run with the same arguments and the same code skips them
    (:func:`arms_cache_key`). ``base``: overrides every run takes
    (an arm's own overrides win over them)."""
    import os

    from experiments.runner import run_tasks

    base = dict(base or {})
    key = arms_cache_key(seeds, days, base)
    if cache and os.path.exists(cache):
        with open(cache, encoding="utf-8") as fh:
            stored = json.load(fh)
        arms = stored.get(key)
    else:
        arms = None
    specs = {"calibrated": {}, "unleveraged": {"hedge_funds__max_leverage": 1.0},
             "no_news": {"market__risk_news_sd": 0.0},
             "no_news_no_equity": {"market__risk_news_sd": 0.0, "market__risk_equity_sensitivity": 0.0},
             "no_news_exogenous": {"market__risk_news_sd": 0.0, "market__risk_endogenous": False}}  # fmt: skip
    arms = arms or _arms({name: {**base, **extra} for name, extra in specs.items()}, seeds, days, workers)
    if cache:
        from experiments.runner import write_text_atomic

        write_text_atomic(cache, json.dumps({key: arms}))
    cal, unlev, quiet, exo = arms["calibrated"], arms["unleveraged"], arms["no_news"], arms["no_news_exogenous"]
    no_equity = arms["no_news_no_equity"]

    def both(rows):
        # a run that failed to clear has no statistics and counts as not showing the cycle (the arms'
        # failed runs are reported beside it, under "failed_runs")
        return float(np.mean([r["kurtosis"] >= 1.5 and r["abs_acf1"] >= 0.08 for r in rows]))

    ids = held_out_seeds(seeds)
    return {
        "protocol": {
            "seeds": seeds,
            "days": days,
            "burn_in": BURN_IN,
            "kurtosis": "bias-corrected excess",
            "overrides": base,
        },
        "failed_runs": {k: int(sum(r["failed"] for r in v)) for k, v in arms.items()},
        "days_at_risk_cap": {k: float(np.nansum([r["days_at_risk_cap"] for r in v])) for k, v in arms.items()},
        "1_leverage_makes_the_tails": {
            "kurtosis": paired(cal, unlev, "kurtosis"),
            "abs_acf1": paired(cal, unlev, "abs_acf1"),
            "unleveraged_median_abs_acf1": float(np.nanmedian([r["abs_acf1"] for r in unlev])),
        },
        "2_balance_sheets_carry_the_cycle": {
            "share_of_seeds_kurtosis_ge_1.5_and_abs_acf1_ge_0.08": both(quiet),
            "exogenous_share": both(exo),
            "kurtosis_endogenous_minus_exogenous": paired(quiet, exo, "kurtosis"),
            "abs_acf1_endogenous_minus_exogenous": paired(quiet, exo, "abs_acf1"),
            # with the equity market's channel into the index off too: only the balance sheets move it
            "no_equity_share": both(no_equity),
            "no_equity_median_kurtosis": float(np.nanmedian([r["kurtosis"] for r in no_equity])),
            "no_equity_median_abs_acf1": float(np.nanmedian([r["abs_acf1"] for r in no_equity])),
        },
        "3_news_acts_on_its_day": news_summary(
            run_tasks(partial(guarded, partial(news_on_its_day, base=base)), ids, workers=workers)
        ),
        "4_liquidity_spiral": liquidity_spiral_summary(
            run_tasks(partial(guarded, partial(liquidity_spiral, base=base)), ids, workers=workers)
        ),
        "5_leverage_binds": leverage_binds_summary(
            run_tasks(partial(guarded, partial(leverage_binds, base=base)), ids, workers=workers)
        ),
        "multi_root_days": {
            sc: spread_by_field(
                run_tasks(multi_root_days, [(sc, s, min(days, 500), base) for s in ids[:5]], workers=workers)
            )
            for sc in ("baseline", "risk_off")
        },  # fmt: skip
    }


def channel_arms(base: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each of :data:`CHANNELS` against the arm it is compared with, the unleveraged arm (``"none removed"``:
    the baseline with ``base`` and :data:`UNLEVERAGED`): the fields of its overrides that arm already holds
    at the arm's value (``fields_already_set``, ``{"section.field": value}``,
    :func:`experiments.analysis.replay.fields_already_set`), and whether that is every one of them
    (``already_off``: the arm would be the unleveraged arm's run itself, the channel off at these parameters;
    :func:`experiments.analysis.replay.channel_status`)."""
    from experiments.analysis.replay import channel_status

    reference = {**(base or {}), **UNLEVERAGED}
    return {name: channel_status(reference, extra, scenario="baseline") for name, extra in CHANNELS.items()}


def channels_report(seeds: int, days: int, workers: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where the unleveraged arm's clustering comes from: that arm with each of :data:`CHANNELS` removed
    (median excess kurtosis and |return| autocorrelation at lag 1 over seeds, failed runs), and
    measurement 1 with the liquidity channel off in both arms. ``base`` as in :func:`report`.

    Each arm says which of its fields the unleveraged arm already holds (:func:`channel_arms`); an arm
    ``already_off`` is not run and has no medians, rather than the unleveraged arm's as a measured no
    effect. If the liquidity channel's arm is, measurement 1 without it pairs the leveraged arm with the
    unleveraged arm itself (the same configuration)."""
    base = dict(base or {})
    status = channel_arms(base)
    specs = {name: {**base, **UNLEVERAGED, **extra} for name, extra in CHANNELS.items()
             if not status[name]["already_off"]}  # fmt: skip
    specs["leveraged"] = {**base, **LIQUIDITY_OFF}  # against the unleveraged arm without the same channel
    arms = _arms(specs, seeds, days, workers)

    def medians(rows):
        return {"median_kurtosis": float(np.nanmedian([r["kurtosis"] for r in rows])),
                "median_abs_acf1": float(np.nanmedian([r["abs_acf1"] for r in rows])),
                "failed": int(sum(r["failed"] for r in rows))}  # fmt: skip

    liquidity = "capacities' response to the risk index"
    lev, unlev = arms["leveraged"], arms[liquidity if liquidity in arms else "none removed"]
    return {
        "protocol": {"seeds": seeds, "days": days, "burn_in": BURN_IN, "overrides": base},
        "unleveraged_without": {
            name: {**status[name], **(medians(arms[name]) if name in arms else {})} for name in CHANNELS
        },
        "leverage_without_the_liquidity_channel": {
            "kurtosis": paired(lev, unlev, "kurtosis"),
            "abs_acf1": paired(lev, unlev, "abs_acf1"),
            "failed": {"leveraged": medians(lev)["failed"], "unleveraged": medians(unlev)["failed"]},
        },
    }


# --map: the two inputs that decide whether leverage can bind, the funds' median risk aversion (their
# mean-variance targets scale with 1/γ) and the upper end of their FX leverage caps (1 / calm-market
# margin; the sources' 3-10% margins give caps of 10-33)
MAP_GAMMAS = (0.8, 1.0, 1.28, 1.6, 2.0)
MAP_CAPS = (6.0, 11.5, 20.0, 33.0)


def _binds_of(task: tuple[dict[str, Any], int]) -> dict[str, float]:
    """Measurement 5 of one seed with the overrides ``base``: ``(base, seed)`` (a clearing failure counted)."""
    base, seed = task
    return guarded(partial(leverage_binds, base=base), seed)


def map_report(seeds: int, days: int, workers: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measurements 1 and 5 over :data:`MAP_GAMMAS` × :data:`MAP_CAPS`: in each cell, the share of crowded
    books with at least 30% of their carry funds within 1.2x their maintenance margin on the eve, the
    share with at least 30% called in the month after, and the share whose forced sales are a third of
    the fall; the baseline's median excess kurtosis and |return| autocorrelation at lag 1, its failed
    runs, the paired differences against the same risk aversion without leverage, and both objectives of
    the baseline calibration against the data for samples of the runs' length (``days`` less the
    burn-in): ``objective`` (the median one,
    :func:`experiments.calibration.baseline.score`) and ``joint_objective`` (the joint one the defaults
    are fitted by, :func:`experiments.calibration.baseline.joint_score`). Every run takes
    ``base``; the cell's own two fields win. The grid holds the previous calibration's γ 1.28 and caps up to
    11.5; the current defaults (γ 0.8416, caps up to 5.563, refitted a fourth time on 5 December 2026) lie
    between its cells in γ and just below its lowest caps (6)."""
    from experiments.calibration.baseline import data_targets, joint_score, joint_targets, score
    from experiments.runner import run_tasks

    base = dict(base or {})
    ids = held_out_seeds(seeds)
    targets, joint = data_targets(days - BURN_IN), joint_targets(days - BURN_IN)  # the returns each run keeps

    def cell(gamma: float, cap: float) -> dict[str, Any]:
        return {**base, "hedge_funds__risk_aversion_median": gamma, "hedge_funds__max_leverage": cap}

    specs = {f"{g:g}/{c:g}": cell(g, c) for g in MAP_GAMMAS for c in (*MAP_CAPS, 1.0)}
    arms = _arms(specs, seeds, days, workers)
    grid = [(g, c) for g in MAP_GAMMAS for c in MAP_CAPS]
    # every cell's build-ups in one batch (one pool of workers, not one per cell)
    rows = run_tasks(_binds_of, [(cell(g, c), s) for g, c in grid for s in ids], workers=workers, progress=True,
                     desc="map build-ups")  # fmt: skip
    cells = []
    for k, (g, c) in enumerate(grid):
        unlev, lev = arms[f"{g:g}/1"], arms[f"{g:g}/{c:g}"]
        binds = leverage_binds_summary(rows[k * seeds : (k + 1) * seeds])
        kurt, acf1 = paired(lev, unlev, "kurtosis"), paired(lev, unlev, "abs_acf1")
        cells.append({
            "risk_aversion_median": g, "max_leverage": c,
            "median_kurtosis": float(np.nanmedian([r["kurtosis"] for r in lev])),
            "median_abs_acf1": float(np.nanmedian([r["abs_acf1"] for r in lev])),
            "failed_runs": int(sum(r["failed"] for r in lev)),
            "objective": score(lev, targets)[0],
            "joint_objective": joint_score(lev, joint)[0],
            "failed_runs_unleveraged": int(sum(r["failed"] for r in unlev)),
            "kurtosis_vs_unleveraged": kurt["difference"]["median"],
            "abs_acf1_vs_unleveraged": acf1["difference"]["median"],
            # seeds left out of the two paired medians because either arm failed (counted, not dropped unseen)
            "pairs_with_a_failed_arm": kurt["pairs_with_a_failed_arm"],
            "seeds_crowded": binds["seeds_crowded"], "seeds_buildup_failed": binds["seeds_buildup_failed"],
            "share_near_ge_0.3": binds["share_of_crowded_seeds_near_ge_0.3"],
            "share_called_ge_0.3": binds["share_of_crowded_seeds_called_ge_0.3"],
            "share_forced_ge_third": binds["share_of_crowded_seeds_forced_ge_third"],
            "median_share_near": binds.get("share_near_maintenance", {}).get("median", float("nan")),
        })  # fmt: skip
    return {"protocol": {"seeds": seeds, "days": days, "burn_in": BURN_IN, "overrides": base,
                         "risk_aversion_median": list(MAP_GAMMAS), "max_leverage": list(MAP_CAPS)},
            "cells": cells}  # fmt: skip


MAP_PANELS = (
    ("share_near_ge_0.3", "a  ≥ 30% of funds near maintenance", "{:.2f}", (0.0, 1.0)),
    ("share_called_ge_0.3", "b  ≥ 30% of funds called in a month", "{:.2f}", (0.0, 1.0)),
    ("kurtosis_vs_unleveraged", "c  excess kurtosis − unleveraged", "{:+.2f}", (-2.0, 4.0)),
    ("abs_acf1_vs_unleveraged", "d  |r| autocorrelation − unleveraged", "{:+.3f}", (-0.05, 0.15)),
    ("joint_objective", "e  joint distance to the data (the calibration's)", "{:.0f}", (0.0, 200.0)),
    ("failed_runs", "f  baseline runs failing to clear", "{:.0f}", None),
)


def plot_map(report_: dict[str, Any], path: str) -> None:
    """The map's six panels (:data:`MAP_PANELS`), risk aversion up, caps across, each cell's value written
    in it (panel a: the share of crowded books, with how many of the seeds' books got crowded); written
    beside ``path`` (the report's JSON) as ``<name>_map.png``, ``<name>`` its whole name less a ``.json``, at
    screen size."""
    import matplotlib
    from matplotlib.figure import Figure

    proto = report_["protocol"]
    gammas, caps = proto["risk_aversion_median"], proto["max_leverage"]
    fig = Figure(figsize=(12.0, 7.0), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, (key, title, fmt, limits) in zip(np.ravel(axes), MAP_PANELS, strict=True):
        grid = np.full((len(gammas), len(caps)), np.nan)
        crowded, failed = np.zeros_like(grid), np.zeros_like(grid)
        for c in report_["cells"]:
            i, j = gammas.index(c["risk_aversion_median"]), caps.index(c["max_leverage"])
            grid[i, j], crowded[i, j], failed[i, j] = c[key], c["seeds_crowded"], c.get("seeds_buildup_failed", 0)
        finite = grid[np.isfinite(grid)]
        lo, hi = limits or ((float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0))
        hi = hi if hi > lo else lo + 1.0
        cmap = matplotlib.colormaps["cividis"].with_extremes(bad="0.85")
        im = ax.imshow(np.clip(grid, lo, hi), origin="lower", cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
        for i in range(len(gammas)):
            for j in range(len(caps)):
                value = grid[i, j]
                if not np.isfinite(value):
                    text = "none\ncrowded" + (f"\n({failed[i, j]:.0f} failed)" if failed[i, j] else "")
                else:
                    text = fmt.format(value)
                    if key == "share_near_ge_0.3":
                        text += f"\n({crowded[i, j]:.0f} of {proto['seeds']})"
                light = np.isfinite(value) and (min(max(value, lo), hi) - lo) < 0.55 * (hi - lo)
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if light else "black")
        ax.set_xticks(range(len(caps)), [f"{c:g}" for c in caps], fontsize=8.5)
        ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas], fontsize=8.5)
        ax.set_title(title, loc="left", fontsize=10.5)
        ax.set_xlabel("upper end of the FX leverage caps", fontsize=9)
        ax.set_ylabel("funds' median risk aversion γ", fontsize=9)
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.85).ax.tick_params(labelsize=7.5)
    title = (f"Leverage over the funds' risk aversion × their leverage caps, {proto['seeds']} seeds\na, b: books "
             f"crowded by a build-up, on the eve of a risk-off shock and the month after; c-f: the baseline, "
             f"{proto['days']} days\ne: the calibration's joint objective, the simulated-moments distance of the "
             f"seeds' mean six return statistics to the data's, both versions of the data (lower: closer)")  # fmt: skip
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    from experiments.analysis.replay import output_files
    from experiments.runner import save_figure_atomic

    # the whole name less a ".json": --out runs/lev_v1.5 and runs/lev_v1.6 must not share one figure
    save_figure_atomic(fig, output_files(path)["_map.png"], dpi=150)


def longest_run(scenario: str = "baseline", base: dict[str, Any] | None = None) -> tuple[int, str]:
    """The most trading days a run of ``scenario`` with the overrides ``base`` may take from day 0, and why:
    the trading days from its start date to the last date a time series can hold, or ``simulation.days``'
    own limit if that is fewer (what :meth:`model.model.CarryUnwindModel.run_days` allows)."""
    from model.calendar import LAST_DATE, TradingCalendar
    from model.model import SIMULATION_DAYS_HI
    from model.scenarios import load_scenario

    start = load_scenario(scenario).config.with_overrides(base or {}).market.start_date
    calendar_days = TradingCalendar(start).last_day_until(LAST_DATE)
    if SIMULATION_DAYS_HI < calendar_days:
        return SIMULATION_DAYS_HI, f"simulation.days allows at most {SIMULATION_DAYS_HI:,}"
    return calendar_days, f"{scenario}'s trading days from {start} to {LAST_DATE}, the last date a time series can hold"


def json_text(result: dict[str, Any], provenance: dict[str, Any]) -> str:
    """The report as strict JSON (NaN and infinities as null, :func:`model.results.json_safe`), its
    provenance first."""
    from model.results import json_safe

    return json.dumps(json_safe({"provenance": provenance, **result}), indent=1, allow_nan=False)


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser, check_out_file

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    parser = Parser(prog="python -m experiments.analysis.balance_sheet_cycle", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--days", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="")
    parser.add_argument("--channels", action="store_true", help="where the clustering without leverage comes from")
    parser.add_argument(
        "--map",
        action="store_true",
        help="measurements 1 and 5 over the funds' risk aversion x their leverage caps (with --out, also a figure "
        "beside it: --out runs/leverage.json also writes runs/leverage_map.png)",
    )
    from experiments.cli.common import add_set_option

    add_set_option(parser, "run everything with a field at another value (repeatable); an arm's own switch still wins")
    args = parser.parse_args(argv)
    for name, lo, hi in (("seeds", 2, 1000), ("workers", 1, 256)):
        value = getattr(args, name)
        if not lo <= value <= hi:
            parser.error(f"--{name} = {value} is not allowed; expected {lo} to {hi}")
    from experiments.calibration.search import parse_fixed

    base = parse_fixed(parser, args.sets)
    if base.get("hedge_funds__max_leverage") == UNLEVERAGED["hedge_funds__max_leverage"]:
        # every paired measurement of leverage would compare the unleveraged arm with itself: zeros that are none
        parser.error(
            "--set hedge_funds.max_leverage = 1 is not allowed; it makes the leveraged arm the unleveraged one, "
            "which every leverage measurement compares it with: expected a value above 1"
        )
    most, why = longest_run("baseline", base)
    if not BURN_IN + 100 <= args.days <= most:
        parser.error(f"--days = {args.days} is not allowed; expected {BURN_IN + 100} to {most:,} ({why})")
    from experiments.runner import beside, command_settings, resumable

    if args.channels and args.map:
        parser.error("--channels and --map are separate reports; give one")
    searched = ("hedge_funds__risk_aversion_median", "hedge_funds__max_leverage")
    if args.map and (held := [k for k in searched if k in base]):
        parser.error(f"--set {held[0].replace('__', '.')} is varied by --map; drop it")
    from experiments.analysis.carry_channels import CROWDED

    held = [k.replace("__", ".") for k in base if k in CROWDED and k != "hedge_funds__initial_leverage_fraction"]
    if held and not args.channels:  # said before the runs, so that nobody reads it as a sensitivity
        others = "measurement 1" if args.map else "measurements 1-4"
        print(f"note: measurement 5 runs the crowded book, whose {', '.join(held)} it holds at the crowded value; "
              f"--set of that field applies to {others} only", file=sys.stderr)  # fmt: skip
    if args.channels:  # an arm that would change nothing is said before the runs, not read as a measured zero
        for name, arm in channel_arms(base).items():
            held = ", ".join(f"{k} = {v}" for k, v in arm["fields_already_set"].items())
            if arm["already_off"]:
                print(f"note: --channels arm {name!r} is off at these parameters ({held} without it): not run, "
                      "reported as already off", file=sys.stderr)  # fmt: skip
            elif held:
                print(f"note: --channels arm {name!r}: {held} already without it; it removes only the rest",
                      file=sys.stderr)  # fmt: skip
    if args.out:  # before the runs, not after them
        parser.check(check_out_file, Path(args.out))
    from experiments.analysis.replay import output_provenance

    command = "experiments.analysis.balance_sheet_cycle"
    with resumable(beside(args.out), command_settings(args, command)):
        if args.channels:
            result = channels_report(args.seeds, args.days, args.workers, base=base)
        elif args.map:
            result = map_report(args.seeds, args.days, args.workers, base=base)
            if args.out:
                plot_map(result, args.out)
        else:
            cache = f"{args.out}.arms.json" if args.out else ""
            result = report(args.seeds, args.days, args.workers, cache, base=base)
        text = json_text(result, output_provenance(args, command, held_out_seeds(args.seeds)))
        if args.out:
            from experiments.runner import write_text_atomic

            write_text_atomic(args.out, text + "\n")
        print(text)
        return 0


if __name__ == "__main__":
    sys.exit(main())
