"""``carry-unwind bench``: the compiled engine against a plain Mesa implementation.

Both engines run the same rules from the same seed (see :mod:`model.reference`): the benchmark
checks that they give the same prices (relative difference ≤ 1e-9 on every day) and reports
the time each takes to step through the run. Model construction is timed separately; the
numba engine is warmed up first (a one-day run), so its compile time — or cache load — is
reported on its own line rather than mixed into the per-day speed.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from experiments.cli.common import EXIT_OK, FORMATTER, positive_int, seed_int

__all__ = ["run_benchmark", "register"]

PRICE_COLUMNS = ("usdjpy", "ust10y_yield", "jgb10y_yield")
TOLERANCE = 1e-9


def _timed_run(engine: str, n_funds: int, days: int, seed: int) -> tuple[float, float, object]:
    from model.model import CarryUnwindModel

    t0 = time.perf_counter()
    model = CarryUnwindModel(seed=seed, engine=engine, hedge_funds__n_funds=n_funds, simulation__max_agent_views=0)
    t1 = time.perf_counter()
    model.run_for(days)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, model.timeseries()


def run_benchmark(n_funds: int, days: int, seed: int = 1, reps: int = 1) -> dict:
    """Run both engines ``reps`` times; print a report whose last line is ``speedup: <ratio>x``."""
    import numpy as np

    from model.model import CarryUnwindModel

    t0 = time.perf_counter()
    CarryUnwindModel(seed=seed, hedge_funds__n_funds=8).run_for(1)  # compile or load the numba cache
    warmup = time.perf_counter() - t0
    numba_times, mesa_times = [], []
    for _ in range(reps):
        _, t_numba, ts_numba = _timed_run("numba", n_funds, days, seed)
        _, t_mesa, ts_mesa = _timed_run("mesa", n_funds, days, seed)
        numba_times.append(t_numba)
        mesa_times.append(t_mesa)
    diffs = {c: float(np.max(np.abs(ts_numba[c].to_numpy() / ts_mesa[c].to_numpy() - 1.0))) for c in PRICE_COLUMNS}
    worst = max(diffs.values())
    t_n, t_m = float(np.median(numba_times)), float(np.median(mesa_times))
    speedup = t_m / t_n
    print(f"funds: {n_funds}  days: {days}  seed: {seed}  repetitions: {reps}")
    print(f"numba warm-up (compile or cache load): {warmup:.2f} s")
    print(f"numba engine: {t_n:.4f} s  ({1e3 * t_n / days:.3f} ms/day)")
    print(f"plain Mesa engine: {t_m:.4f} s  ({1e3 * t_m / days:.3f} ms/day)")
    print(
        "max relative price difference: "
        + ", ".join(f"{c} {d:.2e}" for c, d in diffs.items())
        + f"  ({'OK' if worst <= TOLERANCE else 'MISMATCH'}, tolerance {TOLERANCE:g})"
    )
    print(f"speedup: {speedup:.1f}x")
    return {
        "n_funds": n_funds,
        "days": days,
        "seed": seed,
        "numba_seconds": t_n,
        "mesa_seconds": t_m,
        "warmup_seconds": warmup,
        "max_relative_price_difference": worst,
        "prices_match": worst <= TOLERANCE,
        "speedup": speedup,
    }


# -- the `carry-unwind bench` command -------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``bench`` to ``sub`` (the object ``add_subparsers`` returned)."""
    bench = sub.add_parser(
        "bench",
        help="time the numba engine against the pure-Mesa reference implementation",
        description=(
            "Time the same run with the numba engine (arrays, compiled kernels) and with the reference\n"
            "engine (one Python mesa.Agent per fund); prints a report ending in the speed-up.\n"
            "Both engines run the full model, so a large --funds with many --days takes a while."
        ),
        epilog="example:\n  carry-unwind bench --funds 10000 --days 250 --reps 3",
        formatter_class=FORMATTER,
    )
    bench.add_argument(
        "--funds", type=positive_int, required=True, metavar="N", help="number of hedge funds, > 0 (required)"
    )
    bench.add_argument(
        "--days", type=positive_int, required=True, metavar="D", help="trading days per run, > 0 (required)"
    )
    bench.add_argument("--seed", type=seed_int, default=1, metavar="S", help="integer seed >= 0 (default: 1)")
    bench.add_argument(
        "--reps", type=positive_int, default=1, metavar="R", help="timed repetitions of each engine, > 0 (default: 1)"
    )
    bench.set_defaults(handler=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    run_benchmark(n_funds=args.funds, days=args.days, seed=args.seed, reps=args.reps)
    return EXIT_OK
