"""``carry-unwind bench``: the compiled engine against a plain Mesa implementation.

Both engines run the same rules from the same seed (see :mod:`model.reference`): the benchmark
checks that they give the same prices (relative difference ≤ 1e-9 on every day) and reports
the time each takes to step through the run. Model construction is timed separately; the
numba engine is warmed up first (a one-day run), so its compile time — or cache load — is
reported on its own line rather than mixed into the per-day speed.
"""

from __future__ import annotations

import time

import numpy as np

from model.model import CarryUnwindModel

__all__ = ["run_benchmark"]

PRICE_COLUMNS = ("usdjpy", "ust10y_yield", "jgb10y_yield")
TOLERANCE = 1e-9


def _timed_run(engine: str, n_funds: int, days: int, seed: int) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    model = CarryUnwindModel(seed=seed, engine=engine, hedge_funds__n_funds=n_funds, simulation__max_agent_views=0)
    t1 = time.perf_counter()
    model.run_for(days)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, model.timeseries()


def run_benchmark(n_funds: int, days: int, seed: int = 1, reps: int = 1) -> dict:
    """Run both engines ``reps`` times; print a report whose last line is ``speedup: <ratio>x``."""
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
