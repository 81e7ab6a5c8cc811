"""The July-August 2024 replay from its inputs, measured over seeds and across the news sensitivities.

The ``boj_hike_2024`` scenario holds only inputs: data surprises, the MoF's interventions, policy
decisions and guidance. Nothing in it is the yen's, the VIX's or the carry stock's observed path.
This module runs it over seeds with the risk index's own news switched off (``market.risk_news_sd
= 0``), so that the index moves only through the model's channels: the day's moves, forced flows
and losses, and the US equity index, which carries the scenario's equity news and its own daily
noise (``macro.equity_vol_pa``, exogenous like the news it stands for). For each run it reports:

* the close-to-close **peak-to-trough fall** of USD/JPY from 1 Jul to 5 Aug 2024, the window of the
  observation it is compared with (observed on closes, :data:`~experiments.analysis.targets.OBSERVED_CLOSES`:
  161.7 on 10 Jul to about 144 on 5 Aug, −10.9%; the intraday extremes, 161.95 on 3 Jul and 141.7 on
  5 Aug, are not compared with the model's daily closes); and the same over the first 60 trading
  days (``fall_pct_60d``; observed over those days, to the 140.6 close on 16 Sep: −13.0%);
* the **peak of the risk index** to 5 Aug (observed VIX close 38.6 on 5 Aug; intraday 65.7), and
  over the 60 days;
* the **largest drawdown of the carry stock since 1 Jul** (``carry_fall_pct``; the stock is
  ``hf_net_usd_bn``: the hedge funds' net long-USD forward position, all funds, as the BIS anchor counts
  them), from a running peak to its trough, to 9 Aug (observed: 50-60% of the yen carry unwound, by bank
  estimates of 7-9 Aug 2024), and over the 60 days. The validation compares the same observation with
  another measure, the gross stock's fall from the eve of the first event to its trough
  (:func:`experiments.analysis.validation.episode_measures`): two measures of one observation, named
  apart in every report;
* the trough day in the 60 days, days at the index's cap, funds that failed (counted up to the day
  a run broke down), and failed runs (a run that ends in a clearing failure has no other measures:
  the medians are over the runs that cleared, printed with their number, and the failed runs are
  counted beside every figure; the shares count a failed run as not meeting the condition, and the
  share unwinding more than observed is also given counting it as meeting it).

The seeds are validation's held-out ones (1001, 1002, …), not the calibration's fitting seeds.
**Against no inputs.** The replay moves without any input too: the fully positioned book drifts and
the 60-day window has its own noise. So the central sensitivity is also run without the scenario's
events (same seeds, same state on 1 Jul), and the effect of the inputs is given as the median of
the per-seed differences (replay minus no inputs) with its interval.

Every figure is given as the median over seeds with its 5-95% range and a seed-bootstrap interval of
the median, for the central news sensitivity and across the sensitivity's sourced range
(``market.growth_news_fed_path_pa`` and ``macro.growth_news_equity_per_sd`` both at the low, central
and high end). A figure shows the median path and 5-95% band against the observed closes::

    python -m experiments.analysis.replay --seeds 20 --workers 2 --out runs/replay

**Conditional on the Fed's repricing.** Beside it (unless ``--no-conditional``), the same measures for
``boj_hike_2024_conditional_fed``: the same inputs, except that up to the 1 Aug close the expected Fed
path is set from the observed UST 2y closes instead of the data surprises. The 2y is a price the model
makes, so this arm is conditional on that repricing, is printed and drawn (dashed) as such, and is never
a result from inputs.

**Positioning.** The funds' carry stock on 1 Jul 2024 is not an input: it follows from their capital
(``hedge_funds.capital_usd_bn``, an assumption) and their rules. Each run's day-0 stock is checked
against the ~$250 bn of BIS Bulletin 90 (inside ±30% of it or not), and the central sensitivity is
run again across the capital: at ``POSITIONING`` times the default, and at the capital whose median
day-0 stock meets the anchor (:func:`anchor_capital`; the day-0 stock is proportional to capital,
since each fund starts at its own target leverage times its equity). That capital is set from the
positioning data alone, never from the replay's outcome, and the default is not changed by it: the
arms show how the replay depends on an input the data pin down only loosely. A second figure
(``<out>_positioning.png``) plots each seed's fall and its carry stock's largest drawdown since 1 Jul
against its day-0 stock.

**Channels** (``--channels``). At the default and at the anchor-matched capital, the central
sensitivity again with each feedback channel of ``CHANNELS`` switched off on its own: margins that
rise with volatility, funds' risk estimate, the risk index's response, dealers' capital, margin calls
at once, real money's and dealers' capacity shrinking with the risk index, retail FX traders, CTAs,
investor flows. Each arm reports, besides the figures above, the
share of seeds that unwind more of the carry than the 50-60% observed, and its effect seed by seed: the
median over seeds of its fall and carry unwound minus the same seed's with every channel on, with an
interval. Read the effect, not the gap between the two arms' medians: where the seeds split into those
whose funds meet a cascade of margin calls and those whose do not, a channel that tips a single seed
across moves the median from one group to the other. An arm whose switch the replay
already has (the channel is off at these parameters, such as real money's capacity at its fitted
elasticity of 0) would be the replay itself, its effect a measured zero that is none: it is not run,
and is reported as already off (``already_off``, with the fields and values it would have set).

**Map** (``--map``). The central sensitivity over the margins' elasticity to volatility
(``MAP_ELASTICITIES``) times the funds' capital (:func:`map_capitals`): in each cell, the share of seeds
in the −8% to −18% band and the share unwinding more than observed (``<out>_map.png``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.carry_channels import ANCHOR_USD_BN
from experiments.analysis.statistics import paired_difference, seed_spread
from experiments.analysis.targets import (
    EPISODE_BANDS,
    EPISODE_OBSERVED,
    FIRST_SEED,
    OBSERVED_CLOSES,
    UNWOUND_LARGEST_DRAWDOWN,
    UNWOUND_SINCE_EVE,
    close_fall,
    held_out_seeds,
)
from experiments.runner import save_figure_atomic
from model.calendar import TradingCalendar

__all__ = [
    "OBSERVED_CLOSES",
    "SENSITIVITIES",
    "POSITIONING",
    "ANCHOR_BAND",
    "anchor_capital",
    "run_positioning",
    "run_channels",
    "run_map",
    "map_capitals",
    "CHANNELS",
    "fields_already_set",
    "channel_status",
    "draw_positioning",
    "replay_run",
    "replay_measures",
    "paired_effects",
    "replay",
    "output_provenance",
    "output_files",
    "main",
]

SCENARIO = "boj_hike_2024"
# the variant whose expected Fed path follows the observed UST 2y closes to 1 Aug: conditional on that
# repricing, reported beside the replay from inputs, never in its place
CONDITIONAL = "boj_hike_2024_conditional_fed"
WINDOW_DAYS = 60
# the dates the observations the replay is compared with refer to: the fall to the 5 Aug close, the
# carry unwound by the banks' estimates of 7-9 Aug (the latest of them, the most time for the model)
FALL_DATE, UNWOUND_DATE = EPISODE_OBSERVED["usdjpy_trough_date"], EPISODE_OBSERVED["carry_fall_date"]
# the news sensitivities at the ends of their sourced ranges: 2y yield per sd of a data surprise
# 5-10 bp (Gürkaynak, Kısacıkoğlu & Wright 2020), equities 0.3-1% per sd (Boyd, Hu & Jagannathan
# 2005; Gilbert et al. 2017). The Fed-path field shifts the near-term expected rate, which decays
# towards its anchor, so the 2y yield (the path's 2-year average) moves by 0.873 of it: the shifts
# below are the range's ends divided by that, 5 and 10 bp of 2y a sd (tests/experiments/
# test_episode_analyses.py checks them against the model's 2y)
SENSITIVITIES: dict[str, dict[str, float]] = {
    "low": {"market__growth_news_fed_path_pa": 0.000572, "macro__growth_news_equity_per_sd": 0.003},
    "central": {},
    "high": {"market__growth_news_fed_path_pa": 0.001145, "macro__growth_news_equity_per_sd": 0.01},
}
# The capital arms of the positioning check, as multiples of the default capital (the anchor-matched
# capital is added to them); the day-0 stock passes the check inside ±ANCHOR_BAND of the anchor.
POSITIONING = (0.75, 1.25)
ANCHOR_BAND = 0.30
# observed, for comparison only, on closes (experiments.analysis.targets.OBSERVED_CLOSES, as the model's are):
# the fall from the peak close to the 5 Aug close (161.7 on 10 Jul → 144.0, −10.9 %) and over the replay's 60
# trading days (to 140.6 on 16 Sep, −13.0 %); and the share of the carry unwound (bank estimates of 7-9 Aug
# 2024), which the replay's carry_fall_pct (UNWOUND_LARGEST_DRAWDOWN) measures in its own way
OBSERVED_FALL_PCT = EPISODE_OBSERVED["usdjpy_change_pct"]
# over the WINDOW_DAYS trading days from the first close, 1 Jul 2024 (the scenario's day 0), to 25 Sep
OBSERVED_FALL_60D_PCT = close_fall(TradingCalendar(min(OBSERVED_CLOSES)).date(WINDOW_DAYS).isoformat())[2]
OBSERVED_UNWOUND_PCT = EPISODE_OBSERVED["carry_fall_pct_range"]


def output_provenance(args: Any, command: str, seeds: Sequence[int]) -> dict[str, Any]:
    """What made an analysis script's JSON output, recorded in it: the package version, the git commit and
    whether the tree had uncommitted changes (None where unknown; :func:`model.results.git_commit`), the
    code fingerprint (:func:`experiments.runner.code_fingerprint`: code, inputs and library versions), the
    command and its options (:func:`experiments.runner.command_settings`: what it computes, not how it
    runs) and the seeds it ran. Used by this script, ``balance_sheet_cycle``, ``interventions`` and
    ``episode_facts``."""
    from experiments.runner import command_settings
    from model.results import provenance

    return {**provenance(), **command_settings(args, command), "seeds": [int(s) for s in seeds]}


def output_files(out: str | Path) -> dict[str, Path]:
    """The files ``--out out`` names: the whole of its name (dots and all) with ``.json``, ``.png``,
    ``_positioning.png`` and ``_map.png`` appended, beside it (``--out runs/replay_v1.5`` writes
    ``runs/replay_v1.5.json``; ``with_suffix`` would have made it ``runs/replay_v1.json``, the file of
    ``--out runs/replay_v1.6`` too); a name ending in ``.json`` names the JSON file itself, as
    ``balance_sheet_cycle``'s ``--out`` does."""
    out = Path(out)
    name = out.name.removesuffix(".json")  # --out runs/replay.json names runs/replay.json, not .json.json
    return {tail: out.with_name(name + tail) for tail in (".json", ".png", "_positioning.png", "_map.png")}


def anchor_capital(capital_usd_bn: float, stocks_usd_bn) -> float:
    """The funds' capital at which the median day-0 carry stock is the anchor (``ANCHOR_USD_BN``).

    ``stocks_usd_bn``: the day-0 stocks of the seeds at ``capital_usd_bn``. Each fund starts at its own
    target leverage times its equity, and the targets do not depend on capital, so every seed's
    day-0 stock (and their median) is proportional to capital.
    """
    median = float(np.median(np.asarray(stocks_usd_bn, dtype=float)))
    if not (np.isfinite(median) and median > 0.0):
        raise ValueError(f"median day-0 carry stock = {median!r} is not allowed; expected a positive number")
    return capital_usd_bn * ANCHOR_USD_BN / median


def replay_measures(usdjpy: np.ndarray, risk_index: np.ndarray, carry: np.ndarray, cap: float,
                    failures: np.ndarray | None = None) -> dict[str, float]:  # fmt: skip
    """The replay's figures of one run over its window (arrays from day 0, the initial state).

    ``fall_pct``: the largest close-to-close fall of USD/JPY from a running peak, in %, negative;
    ``carry_fall_pct``: the replay's share of the carry unwound, the largest fall of the carry stock
    (``carry``: the hedge funds' net long-USD forward position, all funds, as the BIS anchor counts them)
    from a running peak, in % of that peak, positive (both :func:`model.results.max_drawdown`; named
    :data:`~experiments.analysis.targets.UNWOUND_LARGEST_DRAWDOWN` in reports, apart from validation's
    measure of the same observation); ``fund_failures``: the funds that failed in the
    window (``failures``, the daily ``hf_failures``; NaN without it). No fund failure was reported in
    August 2024.
    """
    from model.results import max_drawdown

    fall, _, trough = max_drawdown(np.asarray(usdjpy, dtype=float))
    carry_fall, _, _ = max_drawdown(np.asarray(carry, dtype=float))
    v = np.asarray(risk_index, dtype=float)
    return {
        "fall_pct": -100.0 * fall,
        "trough_day": float(trough),
        "risk_index_peak": float(v.max()),
        "carry_fall_pct": 100.0 * carry_fall,
        "days_at_cap": float(np.sum(v >= cap * (1.0 - 1e-12))),
        "fund_failures": float("nan") if failures is None else float(np.sum(np.asarray(failures, dtype=float)[1:])),
    }


def replay_run(task: tuple) -> dict[str, Any]:
    """One seed of the replay: ``(seed, days, overrides[, scenario[, quiet]])`` → its path and measures
    (``failed`` set and measures NaN where the run ends in a clearing failure, but the funds that failed
    before it); the scenario is ``SCENARIO`` unless given, and with ``quiet`` its events are removed (the
    run without inputs).

    ``fall_pct`` and ``risk_index_peak`` are over the days to ``FALL_DATE``, ``carry_fall_pct`` to
    ``UNWOUND_DATE`` (the observations' windows); the ``_60d`` figures, the trough day, the days at the
    cap and the fund failures over the first ``WINDOW_DAYS``."""
    import dataclasses

    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import load_scenario

    seed, days, overrides, scenario, quiet = (*task, *(SCENARIO, False)[len(task) - 3 :])
    spec = load_scenario(scenario)
    if quiet:
        spec = dataclasses.replace(spec, events=())
    model = CarryUnwindModel(scenario=spec, seed=seed, collect=False, **overrides)
    failed = ""
    try:
        model.run_days(days)
    except ClearingError as err:
        failed = str(err).splitlines()[0]
    else:
        check_accounting(model, run_name(model))
    h = model.arrays()
    last = len(h["usdjpy"]) - 1

    def over(day: int) -> dict[str, float]:  # the measures over days 0..day (or as many as the run has)
        d = max(0, min(day, last))  # a date before the run's start (another start date) gives day 0 alone
        return replay_measures(h["usdjpy"][: d + 1], h["risk_index"][: d + 1], h["hf_net_usd_bn"][: d + 1],
                               model.config.market.risk_index_max, h["hf_failures"][: d + 1])  # fmt: skip

    # the carry stock is hf_net_usd_bn: the hedge funds' net long-USD forward position, all funds (the trend
    # followers too), as the BIS anchor counts hedge funds' positions
    window, to_fall, to_unwound = over(WINDOW_DAYS), over(model.calendar.day_of(FALL_DATE)), over(
        model.calendar.day_of(UNWOUND_DATE))  # fmt: skip
    measures = {
        "fall_pct": to_fall["fall_pct"], "risk_index_peak": to_fall["risk_index_peak"],
        "carry_fall_pct": to_unwound["carry_fall_pct"], "fall_pct_60d": window["fall_pct"],
        "risk_index_peak_60d": window["risk_index_peak"], "carry_fall_pct_60d": window["carry_fall_pct"],
        "trough_day": window["trough_day"], "days_at_cap": window["days_at_cap"],
    }  # fmt: skip
    if failed:
        measures = dict.fromkeys(measures, float("nan"))
    measures["fund_failures"] = window["fund_failures"]  # those before a breakdown too
    dates = [model.calendar.date(int(d)).isoformat() for d in h["day"]]
    return {"seed": seed, "failed": failed, "dates": dates, "usdjpy": h["usdjpy"].tolist(),
            "risk_index": h["risk_index"].tolist(), "carry": h["hf_net_usd_bn"].tolist(),
            "carry_start_usd_bn": float(h["hf_net_usd_bn"][0]), **measures}  # fmt: skip


MEASURES = ("fall_pct", "trough_day", "risk_index_peak", "carry_fall_pct", "days_at_cap", "carry_start_usd_bn",
            "fund_failures", "fall_pct_60d", "risk_index_peak_60d", "carry_fall_pct_60d")  # fmt: skip
# the figures whose effect of the inputs (replay minus the run without them, per seed) is reported
PAIRED = ("fall_pct", "risk_index_peak", "carry_fall_pct", "fall_pct_60d", "carry_fall_pct_60d")


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(runs), "failed_runs": sum(bool(r["failed"]) for r in runs)}
    for key in MEASURES:
        vals = np.array([r[key] for r in runs], dtype=float)
        out[key] = seed_spread(vals, of="median")
    band = EPISODE_BANDS["usdjpy_change_pct"]  # a failed run's NaN is never inside it
    out["share_in_band"] = float(np.mean([band.contains(r["fall_pct"]) for r in runs]))
    # seeds unwinding more of the carry than was observed (a failed run's NaN is not counted: it is counted as failed)
    out["share_beyond_observed"] = float(np.mean([r["carry_fall_pct"] > OBSERVED_UNWOUND_PCT[1] for r in runs]))
    # the same with every failed run counted as unwinding more (a run that breaks the market may well have)
    out["share_beyond_observed_max"] = out["share_beyond_observed"] + out["failed_runs"] / max(len(runs), 1)
    # seeds in which a fund failed (none was reported in August 2024), a failed run's failures before it broke
    # down counted
    out["share_with_failures"] = float(np.mean([r["fund_failures"] > 0 for r in runs]))
    # the day-0 stock is known before the run, so a failed run still has it
    out["share_at_anchor"] = float(np.mean([abs(r["carry_start_usd_bn"] / ANCHOR_USD_BN - 1.0) <= ANCHOR_BAND
                                            for r in runs]))  # fmt: skip
    return out


def _arm(seeds: Sequence[int], extra: dict[str, Any], *, days: int, workers: int, news_sd: float, progress: bool,
         desc: str, base: dict[str, Any] | None = None, scenario: str = SCENARIO,
         quiet: bool = False) -> dict[str, Any]:  # fmt: skip
    """The replay of ``scenario`` over ``seeds`` with the overrides ``base`` (every arm's), then ``extra`` (this
    arm's), and the risk index's news sd ``news_sd``; ``quiet``: without the scenario's events."""
    from experiments.runner import run_tasks

    overrides = {"market__risk_news_sd": news_sd, **(base or {}), **extra}
    tasks = [(seed, days, overrides, scenario, quiet) for seed in seeds]
    runs = run_tasks(replay_run, tasks, workers=workers, progress=progress, desc=desc)
    return {"overrides": extra, "summary": _summary(runs), "runs": runs}


def run_positioning(seeds: Sequence[int], *, days: int = WINDOW_DAYS + 5, workers: int = 1, news_sd: float = 0.0,
                    progress: bool = True, central: dict[str, Any] | None = None,
                    base: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The central sensitivity across the funds' capital: at ``POSITIONING`` times the default, the default
    (``central``: its runs over the same seeds, if already made) and the capital matched to the anchor."""
    from model.scenarios import load_scenario

    kw = dict(days=days, workers=workers, news_sd=news_sd, progress=progress, base=base)
    capital = load_scenario(SCENARIO).config.hedge_funds.capital_usd_bn
    if central is None:
        central = _arm(seeds, SENSITIVITIES["central"], desc="replay (default capital)", **kw)
    matched = anchor_capital(capital, [r["carry_start_usd_bn"] for r in central["runs"]])
    caps = {f"{m:.2f}x": capital * m for m in (*POSITIONING, 1.0)} | {"anchor": matched}
    out: dict[str, Any] = {"anchor_usd_bn": ANCHOR_USD_BN, "band": ANCHOR_BAND, "default_capital_usd_bn": capital,
                           "anchor_capital_usd_bn": matched, "arms": {}}  # fmt: skip
    for name, cap in sorted(caps.items(), key=lambda kv: kv[1]):
        if name == "1.00x":
            result = central
        else:
            extra = {**SENSITIVITIES["central"], "hedge_funds__capital_usd_bn": cap}
            result = _arm(seeds, extra, desc=f"replay (capital {cap:.1f})", **kw)
        out["arms"][name] = {"capital_usd_bn": cap, **result}
    return out


# The feedback channels of the unwind, each switched off on its own (the others on): which of them makes a
# seed unwind more than was observed. ALL_ON, every channel on, is the arm the others are paired with.
ALL_ON = "all on"
CHANNELS: dict[str, dict[str, Any]] = {
    ALL_ON: {},
    "margins fixed (psi = 0)": {"hedge_funds__margin_vol_elasticity": 0.0},
    "funds' risk fixed (no VaR channel, no margin tightening)": {"hedge_funds__risk_feedback": False},
    "risk index exogenous": {"market__risk_endogenous": False},
    "margin calls gradual": {"hedge_funds__forced_sales": False},
    "real money's capacity fixed": {"real_money__capacity_risk_elasticity": 0.0},
    "dealers' capacity fixed": {"dealers__capacity_risk_elasticity": 0.0},
    "dealers' capital fixed": {"dealers__capital_constraint": False},
    "no retail FX traders": {"retail_fx__enabled": False},
    "no CTAs": {"cta__enabled": False},
    "no investor flows": {"hedge_funds__investor_flows": False},
}


def fields_already_set(reference: dict[str, Any], extra: dict[str, Any], scenario: str = SCENARIO) -> dict[str, Any]:
    """The fields of an arm's own overrides ``extra`` (``section__field``) that the run it is compared with
    (``scenario`` with the overrides ``reference``: the scenario's configuration, the defaults under it) already
    holds at the arm's value, as ``{"section.field": value}``, read from the configurations both runs would
    build. Where that is every field of a non-empty ``extra``, the arm is the same run as its reference: the
    channel it switches off is off at these parameters, and its "effect" would be a measured zero."""
    from model.scenarios import load_scenario

    ref = load_scenario(scenario).config.with_overrides(reference)
    arm = ref.with_overrides(extra)  # validated: a field that does not exist or a value out of range raises
    out = {}
    for key in extra:
        section, _, name = key.replace("__", ".").partition(".")
        if getattr(getattr(arm, section), name) == getattr(getattr(ref, section), name):
            out[f"{section}.{name}"] = getattr(getattr(arm, section), name)
    return out


def channel_status(reference: dict[str, Any], extra: dict[str, Any], scenario: str = SCENARIO) -> dict[str, Any]:
    """How a channel-removal arm (overrides ``extra``) stands against the run it is compared with
    (``scenario`` with ``reference``): ``fields_already_set`` (:func:`fields_already_set`) and
    ``already_off``, true where that is every field of a non-empty ``extra``: the arm would be its
    reference's run itself, and is reported rather than run."""
    same = fields_already_set(reference, extra, scenario)
    return {"already_off": bool(extra) and len(same) == len(extra), "fields_already_set": same}


def run_channels(seeds: Sequence[int], capitals: dict[str, float], *, days: int = WINDOW_DAYS + 5, workers: int = 1,
                 news_sd: float = 0.0, progress: bool = True,
                 base: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The central sensitivity with each of ``CHANNELS`` switched off, at each of ``capitals`` (name → USD bn):
    their summaries and per-seed measures (no paths), and each arm's ``effect`` against the "all on" arm at the
    same capital, seed by seed (:func:`paired_effects`).
    The medians of two arms can differ by much more than the arms' seeds do: where the seeds split into two
    groups (a cascade of margin calls or none), a channel that tips one seed moves the median across the gap.
    Each arm says which of its fields the "all on" arm at the same capital already holds at its value
    (``fields_already_set``, :func:`fields_already_set`); an arm whose every field is among them is that arm's
    run itself (``already_off``: the channel is off at these parameters) and is not run: it has no summary and
    no effect, rather than the "all on" figures as a measured no effect."""
    kw = dict(days=days, workers=workers, news_sd=news_sd, progress=progress, base=base)
    keep = ("seed", "failed", *MEASURES)
    out: dict[str, Any] = {}
    for cap_name, cap in capitals.items():
        out[cap_name] = {"capital_usd_bn": cap, "arms": {}}
        own = {**SENSITIVITIES["central"], "hedge_funds__capital_usd_bn": cap}
        reference = {"market__risk_news_sd": news_sd, **(base or {}), **own}  # the "all on" arm's, as _arm builds it
        for name, extra in CHANNELS.items():
            status = channel_status(reference, extra)
            out[cap_name]["arms"][name] = {"overrides": extra, **status}
            if status["already_off"]:
                continue
            arm = _arm(seeds, {**own, **extra}, desc=f"channels ({cap_name}: {name})", **kw)
            out[cap_name]["arms"][name].update(
                summary=arm["summary"], per_seed=[{k: r[k] for k in keep} for r in arm["runs"]])  # fmt: skip
        arms = out[cap_name]["arms"]
        if "summary" in arms[ALL_ON]:
            for name, arm in arms.items():
                if name != ALL_ON and "summary" in arm:
                    arm["effect"] = paired_effects(arm["per_seed"], arms[ALL_ON]["per_seed"])
    return out


# The replay's map over the margins' elasticity and the funds' capital (``--map``): the elasticities, and the
# capitals as multiples of the default and of the anchor-matched capital
MAP_ELASTICITIES = (0.0, 0.25, 0.5, 0.75, 1.0)
MAP_DEFAULT_MULTIPLES = (0.75, 1.0, 1.25)
MAP_ANCHOR_MULTIPLES = (1.0, 1.2)


def map_capitals(default_capital: float, anchor_capital_usd_bn: float) -> dict[str, float]:
    """The map's capitals (USD bn) by name: ``"0.75"`` … times the default, ``"anchor"``, ``"1.2 anchor"``."""
    out = {f"{m:g}": default_capital * m for m in MAP_DEFAULT_MULTIPLES}
    for m in MAP_ANCHOR_MULTIPLES:
        out["anchor" if m == 1.0 else f"{m:g} anchor"] = anchor_capital_usd_bn * m
    return out


def run_map(seeds: Sequence[int], default_capital: float, anchor_capital_usd_bn: float, *,
            days: int = WINDOW_DAYS + 5, workers: int = 1, news_sd: float = 0.0, progress: bool = True,
            known: dict[float, dict[str, Any]] | None = None,
            base: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The central sensitivity over ``MAP_ELASTICITIES`` × :func:`map_capitals`: each cell's summary (no paths).

    ``known``: summaries already run over the same seeds at the scenario's own elasticity, by capital
    (USD bn), such as the positioning arms; those cells reuse them (setting the elasticity to its
    default changes nothing, so the runs would be the same bit for bit).
    """
    from model.scenarios import load_scenario

    kw = dict(days=days, workers=workers, news_sd=news_sd, progress=progress, base=base)
    default_psi = load_scenario(SCENARIO).config.with_overrides(base or {}).hedge_funds.margin_vol_elasticity
    known = known or {}
    capitals = map_capitals(default_capital, anchor_capital_usd_bn)
    cells = []
    for psi in MAP_ELASTICITIES:
        for name, cap in capitals.items():
            if psi == default_psi and cap in known:
                summary = known[cap]
            else:
                extra = {**SENSITIVITIES["central"], "hedge_funds__capital_usd_bn": cap,
                         "hedge_funds__margin_vol_elasticity": psi}  # fmt: skip
                summary = _arm(seeds, extra, desc=f"map (psi {psi:g}, capital {cap:.1f})", **kw)["summary"]
            cells.append({"margin_vol_elasticity": psi, "capital": name, "capital_usd_bn": cap, "summary": summary})
    return {"elasticities": list(MAP_ELASTICITIES), "capitals": capitals, "cells": cells}


def plot_map(report: dict[str, Any], path: Path) -> None:
    """The map's share of seeds in the −8…−18% band (colour) and share unwinding more than observed (text),
    over the margins' elasticity and the funds' capital (``<path>_map.png``)."""
    from experiments.analysis.style import paper_figure, style_axes

    m = report.get("map")
    if not m:
        return
    psis, caps = m["elasticities"], list(m["capitals"])
    share = np.full((len(psis), len(caps)), np.nan)
    beyond = np.full_like(share, np.nan)
    for c in m["cells"]:
        i, j = psis.index(c["margin_vol_elasticity"]), caps.index(c["capital"])
        share[i, j] = c["summary"]["share_in_band"]
        beyond[i, j] = c["summary"]["share_beyond_observed"]
    fig, ax = paper_figure("one", 3.2)
    im = ax.imshow(share, origin="lower", cmap="cividis", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(len(psis)):
        for j in range(len(caps)):
            ax.text(j, i, f"{share[i, j]:.2f}\n({beyond[i, j]:.2f})", ha="center", va="center", fontsize=6.5,
                    color="white" if share[i, j] < 0.55 else "black")  # fmt: skip
    ax.set_xticks(range(len(caps)), [f"${m['capitals'][c]:.0f} bn" for c in caps], fontsize=7)
    ax.set_yticks(range(len(psis)), [f"{p:g}" for p in psis], fontsize=7)
    style_axes(ax, "Replay: share in −8…−18%", "margins' elasticity to volatility ψ")
    ax.grid(False)
    default = report["positioning"]["default_capital_usd_bn"]
    ax.set_xlabel(f"funds' capital (default ${default:.0f} bn)\nin brackets: share whose carry stock's largest\n"
                  f"drawdown since 1 Jul exceeds the observed {OBSERVED_UNWOUND_PCT[1]:.0f}%", fontsize=8)  # fmt: skip
    bar = fig.colorbar(im, ax=ax, shrink=0.85)
    bar.ax.tick_params(labelsize=7)
    bar.set_label("share of seeds in the band", fontsize=7)
    save_figure_atomic(fig, output_files(path)["_map.png"], dpi=150)


def replay(seeds: int, *, days: int = WINDOW_DAYS + 5, workers: int = 1, news_sd: float = 0.0,
           progress: bool = True, positioning: bool = True, channels: bool = False,
           grid: bool = False, conditional: bool = True,
           base: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the replay at each sensitivity over the held-out seeds ``FIRST_SEED … FIRST_SEED + seeds − 1``, the
    central one also without its inputs (``no_inputs``, and ``effect_of_inputs``: per-seed differences,
    :func:`paired_effects`), (``conditional``) the variant
    conditional on the observed repricing of the Fed (``CONDITIONAL``, central sensitivity), then
    (``positioning``) the central sensitivity across the funds' capital (:func:`run_positioning`) and
    (``channels``, which needs ``positioning``) each feedback channel switched off at the default and the
    anchor-matched capital (:func:`run_channels`), and (``grid``, which needs ``positioning``) the map over the margins'
    elasticity and the capital (:func:`run_map`); return the report. ``base``: overrides every arm takes
    (an arm's own overrides, such as a channel switched off, win over them)."""
    ids = held_out_seeds(seeds)
    kw = dict(days=days, workers=workers, news_sd=news_sd, progress=progress, base=base)
    report: dict[str, Any] = {"scenario": SCENARIO, "seeds": seeds, "first_seed": FIRST_SEED, "days": days,
                              "window_days": WINDOW_DAYS, "fall_date": FALL_DATE, "unwound_date": UNWOUND_DATE,
                              "risk_news_sd": news_sd, "overrides": dict(base or {}), "by_sensitivity": {}}  # fmt: skip
    for name, extra in SENSITIVITIES.items():
        report["by_sensitivity"][name] = _arm(ids, extra, desc=f"replay ({name})", **kw)
    report["no_inputs"] = _arm(ids, SENSITIVITIES["central"], desc="replay (no inputs)", quiet=True, **kw)
    report["effect_of_inputs"] = paired_effects(report["by_sensitivity"]["central"]["runs"],
                                                report["no_inputs"]["runs"])  # fmt: skip
    if conditional:
        report["conditional"] = {"scenario": CONDITIONAL,
                                 **_arm(ids, {}, desc="replay (conditional on the Fed's repricing)",
                                        scenario=CONDITIONAL, **kw)}  # fmt: skip
    if positioning:
        pos = report["positioning"] = run_positioning(ids, central=report["by_sensitivity"]["central"], **kw)
        if channels:
            capitals = {"default": pos["default_capital_usd_bn"], "anchor": pos["anchor_capital_usd_bn"]}
            report["channels"] = run_channels(ids, capitals, **kw)
        if grid:
            known = {arm["capital_usd_bn"]: arm["summary"] for arm in pos["arms"].values()}
            report["map"] = run_map(ids, pos["default_capital_usd_bn"], pos["anchor_capital_usd_bn"], known=known,
                                    **kw)  # fmt: skip
    return report


def paired_effects(arm: list[dict[str, Any]], reference: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure of :data:`PAIRED`: the median over seeds of ``arm``'s value minus the same seed's value in
    ``reference`` (the replay against its run without inputs, or a channel switched off against every channel
    on), with its interval (:func:`~experiments.analysis.statistics.seed_spread`), over the seeds where both
    cleared (:func:`~experiments.analysis.statistics.paired_difference`). Runs are paired by their ``seed``
    where every run has one, otherwise by position."""
    if all("seed" in r for r in (*arm, *reference)):
        by_seed = {r["seed"]: r for r in reference}
        seeds = [r["seed"] for r in arm]
        if sorted(by_seed) != sorted(seeds):
            raise ValueError(f"paired runs: the arms' seeds differ ({sorted(seeds)} against {sorted(by_seed)})")
        reference = [by_seed[s] for s in seeds]
    elif len(arm) != len(reference):
        raise ValueError(f"paired runs: {len(arm)} runs against {len(reference)}")
    return {key: paired_difference([r[key] for r in arm], [r[key] for r in reference]) for key in PAIRED}


def _effect_text(effect: dict[str, Any] | None) -> str:
    """A channel arm's paired changes of the fall and the carry unwound, for the printed report."""
    if not effect:
        return ""
    fall, carry = effect["fall_pct"], effect["carry_fall_pct"]
    return (f"  fall {fall['median']:+.2f} [{fall['ci95_lo']:+.2f}, {fall['ci95_hi']:+.2f}]"
            f"  unwound {carry['median']:+.1f} [{carry['ci95_lo']:+.1f}, {carry['ci95_hi']:+.1f}]")  # fmt: skip


def plot(report: dict[str, Any], path: Path) -> None:
    """Median path and 5-95% band of USD/JPY (central sensitivity) against the observed closes, and the
    median of the variant conditional on the Fed's repricing (dashed) where the report has it."""
    import matplotlib.dates as mdates

    from experiments.analysis.style import paper_figure, style_axes

    runs = [r for r in report["by_sensitivity"]["central"]["runs"] if not r["failed"]]
    if not runs:
        return
    conditional = [r for r in report.get("conditional", {}).get("runs", []) if not r["failed"]]
    fig, axes = paper_figure("two", 3.6, 1, 2)
    n = min(len(r["usdjpy"]) for r in runs + conditional)
    dates = np.array([dt.date.fromisoformat(d) for d in runs[0]["dates"][:n]])
    for ax, key, label, obs in (
        (axes[0], "usdjpy", "USD/JPY", OBSERVED_CLOSES),
        # VIX closes (CBOE), for comparison only
        (axes[1], "risk_index", "risk index", {"2024-07-01": 12.2, "2024-08-02": 23.4, "2024-08-05": 38.6}),
    ):
        paths = np.array([r[key][:n] for r in runs])
        q05, q50, q95 = np.percentile(paths, [5, 50, 95], axis=0)
        ax.fill_between(dates, q05, q95, alpha=0.25, label="model 5-95%")
        ax.plot(dates, q50, lw=1.8, label="model median")
        if conditional:
            median = np.median(np.array([r[key][:n] for r in conditional]), axis=0)
            ax.plot(dates, median, lw=1.4, ls="--", label="median, Fed path from the observed 2y")
        od = [dt.date.fromisoformat(d) for d in obs]
        ax.plot(od, list(obs.values()), "o", ms=4, color="black", label="observed close")
        style_axes(ax, f"{label}, {len(runs)} seeds", label)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    # one legend for both panels, below them: inside, it hid the 5 Aug observations behind the wide band
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, frameon=False, fontsize=8, handlelength=1.4)
    save_figure_atomic(fig, output_files(path)[".png"], dpi=150)


def draw_positioning(pos: dict[str, Any], axes: Sequence[Any], *, marker_size: float = 3.5) -> tuple[list, list]:
    """Each seed's fall of USD/JPY (``axes[0]``) and its carry stock's largest drawdown since 1 Jul (``axes[1]``,
    the replay's share of the carry unwound) against its day-0 carry stock, one colour per capital, with the
    anchor's ±band and the observed figures. Returns the legend's handles and labels (both panels' entries,
    once each)."""
    anchor, band = pos["anchor_usd_bn"], pos["band"]
    for ax, key in zip(axes, ("fall_pct", "carry_fall_pct"), strict=True):
        # the band's entry names whose anchor it is: BIS Bulletin 90's estimate of the carry stock
        ax.axvspan(anchor * (1 - band), anchor * (1 + band), color="0.92", lw=0,
                   label=f"BIS anchor (${anchor:.0f} bn) ±{band:.0%}")  # fmt: skip
        for name, arm in pos["arms"].items():
            runs = [r for r in arm["runs"] if not r["failed"]]
            failed = len(arm["runs"]) - len(runs)
            tag = "capital matched to the anchor" if name == "anchor" else f"capital {name}"
            label = f"{tag} (${arm['capital_usd_bn']:.0f} bn)" + (f", {failed} failed" if failed else "")
            ax.plot([r["carry_start_usd_bn"] for r in runs], [r[key] for r in runs], "o", ms=marker_size,
                    alpha=0.75, label=label)  # fmt: skip
        if key == "fall_pct":
            ax.axhline(OBSERVED_FALL_PCT, color="black", lw=1.0, ls="--", label="observed on closes, to 5 Aug")
        else:
            ax.axhspan(*OBSERVED_UNWOUND_PCT, color="#e0a040", alpha=0.3, lw=0,
                       label="observed unwound (banks' estimates)")  # fmt: skip
        ax.set_xlabel("carry stock on 1 Jul 2024, USD bn")
    handles, labels = axes[0].get_legend_handles_labels()
    extra, extra_labels = axes[1].get_legend_handles_labels()
    return [*handles, extra[-1]], [*labels, extra_labels[-1]]


# the second panel is the replay's measure of the carry unwound (not validation's UNWOUND_SINCE_EVE)
PANEL_TITLES = ("USD/JPY peak to trough on closes, %", f"{UNWOUND_LARGEST_DRAWDOWN}, %")


def plot_positioning(report: dict[str, Any], path: Path) -> None:
    """The positioning arms' figure at screen size (``<path>_positioning.png``): :func:`draw_positioning`."""
    from experiments.analysis.style import paper_figure, style_axes

    pos = report.get("positioning")
    if not pos:
        return
    fig, axes = paper_figure("two", 3.6, 1, 2)
    handles, labels = draw_positioning(pos, axes)
    for ax, title in zip(axes, PANEL_TITLES, strict=True):
        style_axes(ax, title, "% (one point per seed)")
        ax.xaxis.label.set_fontsize(9)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=8, handlelength=1.4)
    save_figure_atomic(fig, output_files(path)["_positioning.png"], dpi=150)


def _print_summary(name: str, s: dict[str, Any]) -> None:
    print(
        f"[{name}] failed runs {s['failed_runs']}/{s['runs']}; share of seeds with a fall in -18..-8%: "
        f"{s['share_in_band']:.2f}; day-0 carry stock within ±{ANCHOR_BAND:.0%} of the anchor: "
        f"{s['share_at_anchor']:.2f}; seeds with a fund failure (none observed): {s['share_with_failures']:.2f}"
    )
    for key in MEASURES:
        q = s[key]
        print(f"  {key:>18}: median {q['median']:8.2f}  5-95% [{q['q05']:.2f}, {q['q95']:.2f}]  "
              f"95% CI of median [{q['ci95_lo']:.2f}, {q['ci95_hi']:.2f}]  (n = {q['n']} of {s['runs']})")  # fmt: skip
    if s["failed_runs"]:
        print(f"  medians over the {s['runs'] - s['failed_runs']} runs that cleared; seeds unwinding more than "
              f"observed {s['share_beyond_observed']:.2f}, {s['share_beyond_observed_max']:.2f} if every failed run "
              "did")  # fmt: skip


# fields the replay's own arms set: --set may not hold them
ARM_FIELDS = ("hedge_funds__capital_usd_bn", "market__risk_news_sd")


def main(argv: list[str] | None = None) -> int:
    from experiments.calibration.search import parse_fixed
    from experiments.cli.common import Parser, add_set_option, check_out_dir  # one-line usage errors

    parser = Parser(prog="python -m experiments.analysis.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--news-sd", type=float, default=0.0, help="market.risk_news_sd (default 0: no news)")
    parser.add_argument(
        "--no-positioning",
        action="store_true",
        help="skip the capital arms (the day-0 carry stock is still checked against the anchor)",
    )
    parser.add_argument(
        "--no-conditional",
        action="store_true",
        help=f"skip the variant conditional on the observed repricing of the Fed ({CONDITIONAL})",
    )
    parser.add_argument(
        "--channels",
        action="store_true",
        help="also run the replay with each feedback channel switched off, at the default and the anchor-matched "
        "capital (22 more arms at most: an arm whose channel is already off at these parameters is not run)",
    )
    parser.add_argument(
        "--map",
        action="store_true",
        help="also run the replay over the margins' elasticity (0-1) x the funds' capital (25 more arms)",
    )
    parser.add_argument(
        "--out", default="", help="write <out>.json, <out>.png, <out>_positioning.png (and <out>_map.png with --map)"
    )
    add_set_option(
        parser,
        "run every arm with a field at another value (repeatable), e.g. a refitted risk index; "
        "not the funds' capital (the positioning arms vary it) nor the index's news (--news-sd)",
    )
    args = parser.parse_args(argv)
    for flag in ("channels", "map"):
        if getattr(args, flag) and args.no_positioning:
            parser.error(
                f"--{flag} needs the positioning arms (it uses the anchor-matched capital); drop --no-positioning"
            )
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds = {args.seeds} is not allowed; expected 1 to 1000")
    if not 1 <= args.workers <= 256:
        parser.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    if not 0.0 <= args.news_sd <= 0.12:  # market.risk_news_sd's range (NaN fails too)
        parser.error(f"--news-sd = {args.news_sd} is not allowed; expected a number in [0, 0.12]")
    base = parse_fixed(parser, args.sets, searched=ARM_FIELDS)
    if args.out:  # before the runs (and their checkpoint beside --out), not after them
        out = Path(args.out)
        if not out.name:  # '.', '/': no name to put .json, .png after
            parser.error(f"--out = {args.out!r} is not allowed; expected a path and a file name without its suffix, "
                         "e.g. runs/replay (writes runs/replay.json, runs/replay.png, ...)")  # fmt: skip
        # --out names files beside it, in its directory (--out itself may be a directory)
        parser.check(check_out_dir, out.parent, flag=f"--out {str(out)!r}: its directory")
    from experiments.runner import beside, command_settings, resumable

    with resumable(
        beside(args.out), command_settings(args, "experiments.analysis.replay")
    ):  # the files are written before the finished runs are let go
        report = replay(args.seeds, workers=args.workers, news_sd=args.news_sd, positioning=not args.no_positioning,
                        channels=args.channels, grid=args.map, conditional=not args.no_conditional,
                        base=base)  # fmt: skip
        if args.out:
            from experiments.runner import write_text_atomic
            from model.results import json_safe

            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            made = output_provenance(args, "experiments.analysis.replay", held_out_seeds(args.seeds))
            # strict JSON: a failed run's NaN is written as null
            write_text_atomic(output_files(out)[".json"], json.dumps(json_safe({"provenance": made, **report}),
                                                                    indent=1, allow_nan=False))  # fmt: skip
            plot(report, out)
            plot_positioning(report, out)
            plot_map(report, out)
    if base:
        print("every arm with " + ", ".join(f"{k.replace('__', '.')} = {v}" for k, v in base.items()))
    print(f"seeds {report['first_seed']}-{report['first_seed'] + report['seeds'] - 1} (held out from the "
          f"calibration's); the fall and the index's peak to {FALL_DATE}, the carry unwound to {UNWOUND_DATE} (the "
          f"observations' windows: observed {OBSERVED_FALL_PCT:.1f}% on closes and {OBSERVED_UNWOUND_PCT[0]:.0f}-"
          f"{OBSERVED_UNWOUND_PCT[1]:.0f}%); _60d over the {WINDOW_DAYS} days (observed fall "
          f"{OBSERVED_FALL_60D_PCT:.1f}% on closes)")  # fmt: skip
    print(f"carry_fall_pct: the {UNWOUND_LARGEST_DRAWDOWN} (net stock, from a running peak), in % of that peak; "
          f"the validation compares the same observation with another measure, the {UNWOUND_SINCE_EVE}")  # fmt: skip
    for name, part in report["by_sensitivity"].items():
        _print_summary(name, part["summary"])
    if "no_inputs" in report:
        _print_summary("central, without the scenario's inputs (its events removed)", report["no_inputs"]["summary"])
        print("effect of the inputs (replay minus no inputs, per seed; median [95% CI of the median]):")
        for key, q in report["effect_of_inputs"].items():
            print(f"  {key:>18}: {q['median']:8.2f}  [{q['ci95_lo']:.2f}, {q['ci95_hi']:.2f}]  "
                  f"(pairs {q['pairs']}, {q['pairs_without_a_value']} with a failed run)")  # fmt: skip
    if "conditional" in report:
        _print_summary(f"conditional on the Fed's repricing ({CONDITIONAL}: the expected Fed path from the UST 2y "
                       "closes to 1 Aug; not a result from inputs)", report["conditional"]["summary"])  # fmt: skip
    pos = report.get("positioning")
    if pos:
        print(f"positioning: capital ${pos['default_capital_usd_bn']:.1f} bn by default; "
              f"${pos['anchor_capital_usd_bn']:.1f} bn puts the median day-0 carry stock at the "
              f"${pos['anchor_usd_bn']:.0f} bn anchor (central sensitivity in every arm)")  # fmt: skip
        for name, part in pos["arms"].items():
            _print_summary(f"capital {name} = ${part['capital_usd_bn']:.1f} bn", part["summary"])
    for cap_name, block in report.get("channels", {}).items():
        print(
            f"channels at the {cap_name} capital (${block['capital_usd_bn']:.1f} bn): median fall, seeds in -18..-8%, "
            f"seeds unwinding > {OBSERVED_UNWOUND_PCT[1]:.0f}%, median risk-index peak, median "
            f"{UNWOUND_LARGEST_DRAWDOWN}, failed runs; then, seed by seed against every channel on, the median "
            "change of the fall and of the carry unwound (pp) [95% CI]"
        )
        for name, arm in block["arms"].items():
            if arm.get("already_off"):
                held = ", ".join(f"{k} = {v}" for k, v in arm["fields_already_set"].items())
                print(f"  {name:>36}: off at these parameters ({held} already with all on): not run")
                continue
            s = arm["summary"]
            print(f"  {name:>36}: {s['fall_pct']['median']:7.2f}%  {s['share_in_band']:.2f}  "
                  f"{s['share_beyond_observed']:.2f}  {s['risk_index_peak']['median']:6.1f}  "
                  f"{s['carry_fall_pct']['median']:5.1f}%  {s['failed_runs']}"
                  + _effect_text(arm.get("effect")))  # fmt: skip
    if "map" in report:
        print(
            "map: share of seeds in -18..-8% (share whose carry stock's largest drawdown since 1 Jul exceeds the "
            f"observed {OBSERVED_UNWOUND_PCT[1]:.0f}%) by margins' elasticity (rows) and "
            "capital (columns: " + ", ".join(f"${c:.1f} bn" for c in report["map"]["capitals"].values()) + ")"
        )
        for psi in report["map"]["elasticities"]:
            row = [c["summary"] for c in report["map"]["cells"] if c["margin_vol_elasticity"] == psi]
            print(f"  psi {psi:4g}: " + "  ".join(f"{s['share_in_band']:.2f} ({s['share_beyond_observed']:.2f})"
                                                  + (f" +{s['failed_runs']} failed" if s["failed_runs"] else "")
                                                  for s in row))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
