"""``carry-unwind bench``: the hedge-fund sector in three engines, on the same rules and prices.

* **compiled** (``engine="numba"``): the sector's arrays stepped by numba kernels, clearing compiled;
* **NumPy** (``engine="numpy"``, :mod:`model.numpy_engine`): the same arrays stepped with vectorised
  NumPy, no numba in the fund sector (the other sectors' flows stay compiled; the clearing's solvers
  run as plain Python, since a compiled solver cannot call NumPy code);
* **plain Python** (``engine="mesa"``, :mod:`model.reference`): one ``mesa.Agent`` per fund, run in a
  child process with ``NUMBA_DISABLE_JIT=1`` set before numba is imported, so that no compiled code
  runs anywhere in it: every ``@njit`` function of every sector and the solvers is the plain Python
  function written in the source. Same rules, no second copy of them.

Each engine runs the same model from the same seed on the lean path (the time series in
preallocated arrays, no DataCollector). Model construction is timed separately and the compiled
engine is warmed up first (a one-day run), so compilation or the cache load is reported on its own.
Each day's step is split into phases with ``time.perf_counter`` (``model.phase_timer``; off outside
the benchmark): decide (every sector's decision, the day's shock draws), clear (the clearing, the
Walras check, the price-impact Jacobian), settle (the close and every sector's books), record (the
time series row) and other (publishing signals, Mesa's scheduling between days). Times are given
per fund and day (ns) and per day (ms).

Pure Python is slow, so the plain engine runs only the first ``--plain-days`` days; the compiled
and NumPy engines time those same days separately, and the ratios (the last line ``speedup: <x>x``
= plain-Python time / compiled time) compare the same days of the same run. Prices (USD/JPY, UST
10y, JGB 10y) are checked: the NumPy engine against the compiled one bit for bit on every day, the
plain engine within a relative 1e-9 (its libm calls may differ from numba's in the last bit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from experiments.cli.common import EXIT_OK, FORMATTER, UsageError, positive_int, seed_int

__all__ = ["PHASES", "PhaseTimer", "run_benchmark", "register"]

PRICE_COLUMNS = ("usdjpy", "ust10y_yield", "jgb10y_yield")
TOLERANCE = 1e-9
PHASES = ("decide", "clear", "settle", "record", "other")
DEFAULT_PLAIN_DAYS = 10
ENGINE_NAMES = {"numba": "compiled (numba)", "numpy": "NumPy", "mesa": "plain Python"}


class PhaseTimer:
    """Seconds spent in each phase of a day, summed over the days run (``model.phase_timer``).

    The model calls :meth:`lap` at the end of each phase; the time since the previous lap goes to it.
    """

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.last = time.perf_counter()

    def restart(self) -> None:
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] += now - self.last
        self.last = now


def timed_run(engine: str, n_funds: int, days: int, first: int, seed: int) -> dict[str, Any]:
    """Build and run one engine in this process: seconds to build, for the ``first`` days, for all
    ``days``, per phase, and the prices of days ``0..days``."""
    from model.model import CarryUnwindModel

    t0 = time.perf_counter()
    model = CarryUnwindModel(seed=seed, engine=engine, collect=False, hedge_funds__n_funds=n_funds,
                             simulation__max_agent_views=0, simulation__days=days)  # fmt: skip
    build = time.perf_counter() - t0
    timer = PhaseTimer()
    model.phase_timer = timer
    t1 = time.perf_counter()
    timer.restart()
    model.run_for(first)
    timer.lap("other")
    t2 = time.perf_counter()
    if days > first:
        model.run_for(days - first)
        timer.lap("other")
    t3 = time.perf_counter()
    return {
        "build_seconds": build,
        "first_seconds": t2 - t1,
        "seconds": t3 - t1,
        "days": days,
        "phases": timer.seconds,
        "prices": {c: [float(x) for x in model.series(c)] for c in PRICE_COLUMNS},
    }


def plain_python_worker(n_funds: int, days: int, seed: int) -> None:
    """Entry point of the child process (``NUMBA_DISABLE_JIT=1``): print one JSON line of results."""
    import numba

    from agents import hedge_funds as hf

    compiled = [name for name in ("fund_decision", "fund_trade", "fund_settle", "aggregate_demand")
                if hasattr(getattr(hf, name), "py_func")]  # fmt: skip
    out = timed_run("mesa", n_funds, days, days, seed)
    out["jit_disabled"] = bool(numba.config.DISABLE_JIT)
    out["compiled_rules"] = compiled
    print(json.dumps(out))


def run_plain_python(n_funds: int, days: int, seed: int) -> dict[str, Any]:
    """Run the plain-Python engine in a child process with numba's JIT disabled."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    code = f"from experiments.cli.bench import plain_python_worker; plain_python_worker({n_funds}, {days}, {seed})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the plain-Python engine failed (exit status {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The repetition with the median whole-run time."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def _price_difference(a: dict[str, list], b: dict[str, list], days: int) -> tuple[float, bool]:
    """(max relative difference over the price columns on days 0..days, whether they are equal bit for bit)."""
    import numpy as np

    worst, same = 0.0, True
    for c in PRICE_COLUMNS:
        x, y = np.asarray(a[c][: days + 1]), np.asarray(b[c][: days + 1])
        same = same and bool(np.array_equal(x, y))
        worst = max(worst, float(np.max(np.abs(y / x - 1.0))))
    return worst, same


def run_benchmark(n_funds: int, days: int, seed: int = 1, reps: int = 1, plain_days: int | None = None) -> dict:
    """Time the three engines; print a report whose last line is ``speedup: <ratio>x``.

    Parameters
    ----------
    n_funds
        Hedge funds in the model (every other population at its default).
    days
        Trading days the compiled and NumPy engines run.
    seed
        The run's seed (the same for every engine).
    reps
        Repetitions of the compiled and NumPy runs (the median whole run is reported); the plain
        engine runs once.
    plain_days
        Days the plain-Python engine runs (the first ones of the same run), at most ``days``;
        default ``min(days, 10)``.

    Returns
    -------
    dict
        Per engine: seconds (first ``plain_days`` days and whole run), phase seconds, construction
        time; the price checks; ``speedup`` (plain / compiled over the first ``plain_days`` days) and
        ``numpy_speedup`` (plain / NumPy, same days).
    """
    from model.model import CarryUnwindModel

    plain_days = min(days, DEFAULT_PLAIN_DAYS) if plain_days is None else plain_days
    if plain_days > days:
        raise ValueError(f"plain_days = {plain_days} is not allowed; expected at most days ({days})")
    t0 = time.perf_counter()
    CarryUnwindModel(seed=seed, hedge_funds__n_funds=8).run_for(1)  # compile or load the numba cache
    warmup = time.perf_counter() - t0
    runs = {e: _median_run([timed_run(e, n_funds, days, plain_days, seed) for _ in range(reps)])
            for e in ("numba", "numpy")}  # fmt: skip
    runs["mesa"] = plain = run_plain_python(n_funds, plain_days, seed)
    numpy_diff, numpy_same = _price_difference(runs["numba"]["prices"], runs["numpy"]["prices"], days)
    plain_diff, plain_same = _price_difference(runs["numba"]["prices"], plain["prices"], plain_days)
    ok = numpy_same and plain_diff <= TOLERANCE
    speedup = plain["seconds"] / runs["numba"]["first_seconds"]
    numpy_speedup = plain["seconds"] / runs["numpy"]["first_seconds"]

    fund_days = n_funds * plain_days
    print(f"funds: {n_funds}  days: {days} (plain Python: the first {plain_days})  seed: {seed}  "
          f"repetitions: {reps} (median; plain Python once)")  # fmt: skip
    print("other sectors: the model's defaults in every engine (compiled in the compiled and NumPy engines, "
          "Python in the plain one); the lean path (no DataCollector)")  # fmt: skip
    print(
        f"numba warm-up (compile or cache load): {warmup:.2f} s;  construction: "
        + ", ".join(f"{ENGINE_NAMES[e]} {r['build_seconds']:.2f} s" for e, r in runs.items())
    )
    jit = "disabled" if plain["jit_disabled"] else "ENABLED"
    compiled = ", ".join(plain["compiled_rules"]) or "none"
    print(f"plain Python engine: numba JIT {jit} in its process; compiled fund rules there: {compiled}")
    print()
    head = f"{'engine':<17}{'days':>6}{'run s':>9}{'ms/day':>10}{'ns/fund-day':>13}"
    print(head + "".join(f"{p:>11}" for p in PHASES) + "   (phases: ns per fund-day)")
    for e, r in runs.items():
        n_days = r["days"]
        per = 1e9 / (n_funds * n_days)
        print(f"{ENGINE_NAMES[e]:<17}{n_days:>6}{r['seconds']:>9.3f}{1e3 * r['seconds'] / n_days:>10.2f}"
              f"{r['seconds'] * per:>13.1f}" + "".join(f"{r['phases'][p] * per:>11.1f}" for p in PHASES))  # fmt: skip
    print()
    print(f"the first {plain_days} days: compiled {runs['numba']['first_seconds']:.3f} s "
          f"({1e9 * runs['numba']['first_seconds'] / fund_days:.1f} ns/fund-day), NumPy "
          f"{runs['numpy']['first_seconds']:.3f} s ({1e9 * runs['numpy']['first_seconds'] / fund_days:.1f}), "
          f"plain Python {plain['seconds']:.3f} s ({1e9 * plain['seconds'] / fund_days:.1f})")  # fmt: skip
    numpy_check = f"bit for bit on days 0-{days}" if numpy_same else f"DIFFER (max relative {numpy_diff:.2e})"
    plain_check = "bit for bit" if plain_same else f"max relative difference {plain_diff:.2e}"
    print(f"prices ({', '.join(PRICE_COLUMNS)}): NumPy vs compiled {numpy_check}; plain Python vs compiled "
          f"{plain_check} on days 0-{plain_days}  ({'OK' if ok else 'MISMATCH'}, tolerance {TOLERANCE:g})")  # fmt: skip
    print(f"NumPy engine: {numpy_speedup:.1f}x faster than plain Python, "
          f"{runs['numpy']['first_seconds'] / runs['numba']['first_seconds']:.1f}x the compiled engine's time "
          f"(the same first {plain_days} days)")  # fmt: skip
    print(f"speedup: {speedup:.1f}x")
    return {
        "n_funds": n_funds,
        "days": days,
        "plain_days": plain_days,
        "seed": seed,
        "warmup_seconds": warmup,
        "engines": {e: {k: v for k, v in r.items() if k != "prices"} for e, r in runs.items()},
        "numpy_prices_identical": numpy_same,
        "plain_max_relative_price_difference": plain_diff,
        "prices_match": ok,
        "speedup": speedup,
        "numpy_speedup": numpy_speedup,
    }


# -- the `carry-unwind bench` command -------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``bench`` to ``sub`` (the object ``add_subparsers`` returned)."""
    bench = sub.add_parser(
        "bench",
        help="time the hedge funds in three engines: compiled, NumPy, plain Python (one mesa.Agent per fund)",
        description=(
            "Time the same run with the hedge-fund sector in three engines: compiled (numba kernels over\n"
            "arrays), NumPy (the same arrays, vectorised, no numba in the sector) and plain Python (one\n"
            "mesa.Agent per fund, in a process with numba's JIT disabled). Prints construction times, a table\n"
            "of per-phase times in ns per fund-day, the price checks, and ends with 'speedup: <x>x': the\n"
            "plain-Python engine's time over the compiled engine's for the same first --plain-days days."
        ),
        epilog="example:\n  carry-unwind bench --funds 100000 --days 100 --plain-days 5 --reps 3",
        formatter_class=FORMATTER,
    )
    bench.add_argument(
        "--funds", type=positive_int, required=True, metavar="N", help="number of hedge funds, > 0 (required)"
    )
    bench.add_argument(
        "--days", type=positive_int, required=True, metavar="D",
        help="trading days the compiled and NumPy engines run, > 0 (required)",
    )  # fmt: skip
    bench.add_argument(
        "--plain-days", type=positive_int, default=None, metavar="K",
        help=f"days the plain-Python engine runs (the first K of the same run), 1..D (default: min(D, "
        f"{DEFAULT_PLAIN_DAYS}))",
    )  # fmt: skip
    bench.add_argument("--seed", type=seed_int, default=1, metavar="S", help="integer seed >= 0 (default: 1)")
    bench.add_argument(
        "--reps", type=positive_int, default=1, metavar="R",
        help="timed repetitions of the compiled and NumPy engines, > 0 (default: 1)",
    )  # fmt: skip
    bench.set_defaults(handler=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.plain_days is not None and args.plain_days > args.days:
        raise UsageError(f"--plain-days = {args.plain_days} is not allowed; expected at most --days ({args.days})")
    run_benchmark(n_funds=args.funds, days=args.days, seed=args.seed, reps=args.reps, plain_days=args.plain_days)
    return EXIT_OK
