"""The scenarios' observed facts against the model, beyond the August 2024 replay.

A scenario built from its inputs (news, decisions, budgets) leaves its prices to the model; the
facts it is compared with are written in its file as "for comparison only". This module turns
those comments into checks: each :class:`Fact` names a scenario, a recorded column, a day (the
first trading day on or after a date) and what was observed there, as a range (lo to hi) or a
point (lo = hi). Every seed of the scenario is run to its last fact's day; for each fact the
report gives the model's median and its 5-95% range over seeds (the range the validation judges
statistics by, :data:`experiments.analysis.targets.MODEL_RANGE_PCT`), whether the observation meets
that range (a point: it lies inside it; a range: the two overlap, the observed range being the
observation's own uncertainty) and, for a range, the share of seeds inside it. A run that fails to
clear counts against the observation in every fact, as in the validation: it widens nothing, and
more than :data:`~experiments.analysis.targets.MAX_FAILED_SHARE` of them fail the fact.

    python -m experiments.analysis.episode_facts --seeds 20 --workers 2 --out runs/facts.json

The command runs validation's held-out seeds (1001, …) and, beside each fact, the effect of the
scenario's inputs: the same seeds without its events (``run_facts(..., twins=True)``). With ``--out``
it writes ``{"provenance": ..., "facts": [...]}`` (strict JSON: a missing number is null), keeps
each finished run in ``OUT.checkpoint/`` until then (the same command run again after an
interruption resumes from them) and refuses to start while another command writes the same file.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Fact", "FACTS", "FactRunError", "fact_day", "fact_value", "judge", "run_facts", "main"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fact:
    """What was observed in a scenario's period: ``column`` on ``date`` (``how = "on"``), its largest value
    up to ``date`` (``"max"``), its change since day 0 (``"change"``), whether it is non-zero on any day
    up to ``date`` (``"any"``: 1 or 0) or its sum up to ``date``
    (``"sum"``), in ``scale`` × the column's unit, between ``lo`` and ``hi`` (a point if equal)."""

    scenario: str
    label: str
    column: str
    date: str
    how: str
    lo: float
    hi: float
    unit: str
    source: str
    scale: float = 1.0


FACTS: tuple[Fact, ...] = (
    # the fiscal-dominance episode ("Takaichi trade"): a weaker yen with weaker JGBs
    Fact("fiscal_dominance_2025", "USD/JPY after the BoJ's hike", "usdjpy", "2025-12-19", "on", 155.0, 159.0,
         "yen per dollar", "BoJ; USD/JPY ~155-159 in Dec 2025-Jan 2026"),
    # no separate fact for USD/JPY's change since 1 Oct 2025 (+7 to +11 yen from 147.9): the scenario starts
    # at 147.9, so that change is the level above less a constant, one fact counted twice in a tally
    Fact("fiscal_dominance_2025", "10y JGB yield change since 1 Oct 2025", "jgb10y_yield", "2025-12-19", "change",
         35.0, 45.0, "bp", "MoF: ~1.65% (1 Oct 2025) to ~2.0-2.1% (Dec 2025)", 1e4),
    Fact("fiscal_dominance_2025", "30y JGB yield, highest to 31 Dec 2025", "jgb30y_yield", "2025-12-31", "max",
         3.45, 3.45, "%", "MoF: record ~3.45% in Dec 2025", 100.0),
    # defending 160 (April-May 2024)
    Fact("mof_intervention", "USD/JPY, highest close to 26 Apr 2024", "usdjpy", "2024-04-26", "max", 158.0, 158.5,
         "yen per dollar", "New York close ~158.3 on 26 Apr 2024, before the MoF's intervention of 29 Apr "
         "(intraday 160.2)"),
    # whether the MoF intervened, not how much: the scenario's rule takes its daily amount and its two days from
    # this episode, so an amount that matched would match by construction
    Fact("mof_intervention", "MoF intervenes by 3 May 2024 (1 = yes)", "mof_intervention_jpy_tn", "2024-05-03",
         "any", 1.0, 1.0, "yes/no", "MoF: ¥5.92 tn on 29 Apr and ¥3.87 tn on 1 May 2024"),
)  # fmt: skip
HOWS = ("on", "max", "change", "sum", "any")
MAX_SEEDS = 10_000  # a typo of 10^9 seeds must not start


def fact_day(fact: Fact) -> int:
    """The fact's day in its scenario's run: the first trading day on or after its date (day 0 = the start)."""
    from model.calendar import TradingCalendar
    from model.scenarios import load_scenario

    return max(TradingCalendar(load_scenario(fact.scenario).config.market.start_date).day_of(fact.date), 0)


def fact_value(fact: Fact, series: np.ndarray, day: int) -> float:
    """The model's value of ``fact`` from one run's ``series`` (day 0 first), read at ``day``."""
    x = np.asarray(series, dtype=float)
    if day >= x.size:
        return math.nan
    if fact.how == "on":
        value = x[day]
    elif fact.how == "max":
        value = np.max(x[: day + 1])
    elif fact.how == "change":
        value = x[day] - x[0]
    elif fact.how == "sum":
        value = np.sum(x[1 : day + 1])
    elif fact.how == "any":  # 1 if the column is non-zero on any day up to the date, else 0
        window = x[1 : day + 1]
        if not np.isfinite(window).all():  # a run that failed to clear: no value (NaN is "non-zero")
            return math.nan
        value = float(np.any(window != 0.0))
    else:
        raise ValueError(f"Fact.how = {fact.how!r} is not allowed; expected one of {', '.join(HOWS)}")
    return float(value) * fact.scale


def judge(fact: Fact, values: Sequence[float]) -> dict[str, Any]:
    """One fact over seeds, by the validation's rule (:mod:`experiments.analysis.judgement`): the model's
    5-95% range over seeds with the seeds whose run failed counted against the observation
    (:func:`~experiments.analysis.judgement.model_range`); ``observed_in_range`` when the observation meets
    that range (a point: inside it, ends included; an observed range, the observation's own uncertainty:
    the two overlap, so a range need not lie inside the model's) and not too many runs failed
    (:func:`~experiments.analysis.judgement.too_many_failed`). Also the median over the runs that
    cleared and, for an observed range, the share of all seeds inside it (a failed run is outside)."""
    from experiments.analysis.judgement import model_range, share_inside, too_many_failed

    x = np.asarray(values, dtype=float)
    ok = x[np.isfinite(x)]
    lo, hi = model_range(x)
    failed = int(x.size - ok.size)
    inside = bool(x.size) and not too_many_failed(x) and fact.hi >= lo and fact.lo <= hi
    return {
        **asdict(fact),
        "seeds": int(x.size),
        "failed_runs": failed,
        "median": float(np.median(ok)) if ok.size else math.nan,
        "q05": lo,
        "q95": hi,
        "observed_in_range": bool(inside),
        "share_inside": share_inside(x, (fact.lo, fact.hi)) if fact.lo < fact.hi else None,
    }


def _run(task: tuple) -> dict[str, list[float]]:
    """``(scenario, seed, days, columns[, overrides[, quiet]])``: the run's ``columns`` (all NaN if it fails to
    clear); with ``quiet``, the scenario without its events (the same start, no inputs)."""
    import dataclasses

    from model.clearing import ClearingError
    from model.model import CarryUnwindModel
    from model.results import check_accounting, run_name
    from model.scenarios import load_scenario

    scenario, seed, days, columns, *rest = task
    overrides = {**(rest[0] if rest else {}), "simulation__days": days}
    spec = load_scenario(scenario)
    if len(rest) > 1 and rest[1]:
        spec = dataclasses.replace(spec, events=())
    model = CarryUnwindModel(scenario=spec, seed=seed, collect=False, **overrides)
    try:
        model.run_days(days)
    except ClearingError as exc:
        return {"failed": str(exc).splitlines()[0], **{c: [math.nan] * (days + 1) for c in columns}}
    check_accounting(model, run_name(model))
    return {"failed": "", **{c: np.asarray(model.series(c), dtype=float).tolist() for c in columns}}


class FactRunError(RuntimeError):
    """A fact's run failed for another reason than a clearing failure (which counts as a failed run)."""


def run_facts(seeds: Sequence[int], workers: int = 1, facts: Sequence[Fact] = FACTS, progress: bool = False,
              overrides: Mapping[str, Any] | None = None, twins: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Every fact judged over ``seeds`` (each scenario run once per seed to its last fact's day), every run
    with ``overrides`` (``section__field`` or ``section.field`` → value).

    With ``twins``, each scenario is also run without its events on the same seeds, and each fact gets
    ``effect_of_inputs``: the median over seeds of its value minus the same seed's value without the
    inputs, with its interval (:func:`~experiments.analysis.statistics.seed_spread`; a seed without a
    value in either run, a failed run say, is left out and counted, ``pairs_without_a_value``), so that
    what a scenario does by itself (its drift, the noise of a maximum over days) is not read as its
    news' doing."""
    from experiments.runner import TaskFailed, run_tasks

    days = {f: fact_day(f) for f in facts}
    tasks = []
    base = {k.replace(".", "__"): v for k, v in (overrides or {}).items()}
    for quiet in (False, True) if twins else (False,):
        for scenario in dict.fromkeys(f.scenario for f in facts):
            mine = [f for f in facts if f.scenario == scenario]
            columns = tuple(dict.fromkeys(f.column for f in mine))
            tasks += [(scenario, s, max(days[f] for f in mine), columns, base, quiet) for s in seeds]
    try:
        runs = run_tasks(_run, tasks, workers=workers, progress=progress, desc="scenario facts")
    except TaskFailed as exc:  # anything but a clearing failure: one line naming the run
        scenario, seed = tasks[exc.index][:2]
        cause = exc.__cause__
        raise FactRunError(f"{scenario} seed {seed} failed: {type(cause).__name__}: {cause}") from cause
    by = {(t[0], t[1], t[5]): r for t, r in zip(tasks, runs, strict=True)}
    for (scenario, seed, quiet), r in by.items():
        if r["failed"]:
            log.warning("episode facts: %s seed %d%s ended in a clearing failure: %s", scenario, seed,
                        " (without its inputs)" if quiet else "", r["failed"])  # fmt: skip

    def values(f: Fact, quiet: bool) -> np.ndarray:
        return np.array([fact_value(f, np.asarray(by[(f.scenario, s, quiet)][f.column]), days[f]) for s in seeds])

    rows = []
    for f in facts:
        row = judge(f, values(f, False))
        if twins:
            from experiments.analysis.statistics import paired_difference

            row["effect_of_inputs"] = paired_difference(values(f, False), values(f, True))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser, check_out_file
    from experiments.runner import write_text_atomic
    from model.results import json_safe

    # one-line errors, "prog: error: ... (see 'prog --help')", as the carry-unwind commands give them
    p = Parser(prog="python -m experiments.analysis.episode_facts", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=20, help="N held-out seeds, 1001..1000+N (default 20)")
    p.add_argument("--workers", type=int, default=1, help="worker processes; results do not depend on it")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = p.parse_args(argv)
    if not 2 <= args.seeds <= MAX_SEEDS:
        p.error(f"--seeds = {args.seeds} is not allowed; expected 2 to {MAX_SEEDS:,} (a range over seeds)")
    if not 1 <= args.workers <= 256:
        p.error(f"--workers = {args.workers} is not allowed; expected 1 to 256")
    if args.out is not None:  # before the runs, not after them
        p.check(check_out_file, args.out)
    from experiments.analysis.targets import held_out_seeds
    from experiments.runner import beside, command_settings, resumable

    seeds = held_out_seeds(args.seeds)
    command = "experiments.analysis.episode_facts"
    # one writer per --out, and the finished runs kept beside it until it is written (as the other scripts)
    with resumable(beside(args.out), command_settings(args, command)) as checkpoint:
        try:
            rows = run_facts(seeds, args.workers, progress=True, twins=True)
        except FactRunError as exc:
            if checkpoint is not None:
                checkpoint.keep()  # the runs that finished are kept for the next attempt
            print(f"episode_facts: error: {exc}".splitlines()[0], file=sys.stderr)
            return 1
        _report(rows, seeds)
        if args.out is not None:
            from experiments.analysis.replay import output_provenance

            payload = {"provenance": output_provenance(args, command, seeds), "facts": rows}
            try:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(args.out, json.dumps(json_safe(payload), indent=2, allow_nan=False))
            except OSError as exc:
                p.error(f"--out = {str(args.out)!r}: cannot be written ({exc.strerror or exc})")
    return 0


def _report(rows: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> None:
    """Print the judged facts, one line each."""
    print(f"scenario facts, seeds {seeds[0]}-{seeds[-1]}: model median [5-95% over seeds]; observed; observed inside "
          "the model's range (an observed range: overlapping it); seeds inside an observed range; the inputs' effect "
          "(median of the per-seed differences from the same seed without the scenario's events)")  # fmt: skip
    for r in rows:
        observed = f"{r['lo']:g}" if r["lo"] == r["hi"] else f"{r['lo']:g}-{r['hi']:g}"
        share = "" if r["share_inside"] is None else f"  {r['share_inside']:.2f} of seeds inside"
        print(f"  {r['scenario']:<22} {r['label']:<42} {r['median']:8.2f} [{r['q05']:.2f}, {r['q95']:.2f}]  "
              f"observed {observed} {r['unit']}  {'in' if r['observed_in_range'] else 'OUT of'} range{share}"
              f"{'  failed runs ' + str(r['failed_runs']) if r['failed_runs'] else ''}"
              f"  inputs' effect {r['effect_of_inputs']['median']:+.2f}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
