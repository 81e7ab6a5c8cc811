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
preallocated arrays, no DataCollector). Model construction is timed separately and the compiled and
NumPy engines are warmed up first (their first 20 days, at the population timed), so compilation or
the cache load is reported on its own, not inside a timed run.
Each day's step is split into phases with ``time.perf_counter`` (``model.phase_timer``; off outside
the benchmark): decide (every sector's decision, the day's shock draws), clear (the clearing, its
recheck at the recorded prices, the price-impact Jacobian), settle (the close, every sector's books,
the Walras check of what they booked, the coupons), record (the time series row) and other
(publishing signals, Mesa's scheduling between days). Times are given per fund and day (ns) and per
day (ms).

Pure Python is slow, so the plain engine runs only the first ``--plain-days`` days; the compiled
and NumPy engines time those same days separately, and the ratios (the last line ``speedup: <x>x``
= plain-Python time / compiled time) compare the same days of the same run. ``--plain-reps P`` runs
the plain engine P times, each in a fresh process, and uses the median (printing the ratio over
each). Prices (USD/JPY, UST 10y, JGB 10y) are checked: the NumPy engine against the compiled one
bit for bit on every day, the plain engine within a relative 1e-9 (its libm calls may differ from
numba's in the last bit); a price that is NaN on one side, or series of different lengths, differ.
Where they differ the report says MISMATCH and the command exits with status 1: the timings are then
not of the same run. The compiled and NumPy repetitions reported are those with the median time over
the first ``--plain-days`` days, the days the ratios use (of an even number, the lower middle one).

``carry-unwind bench --standard`` times a whole run instead (every population at its default unless
given): the **lean path** (``collect=False``, what :func:`model.results.run_simulation` uses) against
the **Mesa path** (``collect=True``: the DataCollector and the agent views), in the same process and
alternately, with the per-phase times of each and, for the lean path, the share of each phase spent
inside numba kernels (:class:`KernelTimer`, measured on as many more runs, in the same alternation:
the one with the median time inside). "Inside" includes numba's call bridge (typing and unboxing the
arguments, boxing the result); two estimates of that bridge are printed beside it, with the ratio
each would give counted outside. A whole lean run comes first, untimed, so that every kernel is
loaded before the timed runs, and garbage is collected before each. It checks that both paths
record the same time series bit for bit (and that the run timed kernel by kernel does), exiting with
status 1 where they do not, and reports runs per minute on one core. The runs are repeated in one
process, not in fresh ones.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys
import time
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    FORMATTER,
    SEED_LIMIT,
    UsageError,
    bounded_count,
    positive_int,
    print_error,
    seed_int,
)

__all__ = ["PHASES", "PhaseTimer", "KernelTimer", "run_benchmark", "run_standard_benchmark", "register"]

PRICE_COLUMNS = ("usdjpy", "ust10y_yield", "jgb10y_yield")
TOLERANCE = 1e-9
PHASES = ("decide", "clear", "settle", "record", "other")
DEFAULT_PLAIN_DAYS = 10
WARMUP_DAYS = 20  # the funds' benchmark warms each engine up on its first 20 days
STANDARD_DAYS = 500
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


class KernelTimer:
    """Seconds spent inside numba kernels called from Python, while installed.

    :meth:`install` replaces every numba dispatcher bound at module level in ``agents.*``,
    ``model.*`` and the composed clearing module (and those the model's clearing holds) by a
    wrapper that times each call; :meth:`remove` puts the originals back. Compiled code calling
    compiled code is not affected (it was linked when compiled), so only the calls from Python are
    counted, each once. Install it only after a run of the same configuration has compiled (or
    loaded) every kernel it will call: a kernel compiled while the wrappers are in place would see
    them. With ``typing`` it also estimates how much of that time is numba typing the arguments
    (:attr:`typing_seconds`), at the cost of more time in each wrapper.
    """

    def __init__(self, typing: bool = True, bridge: bool = False) -> None:
        self.seconds = 0.0
        self.calls = 0
        # with ``bridge``: an estimate of numba's whole call bridge (typing the arguments, unboxing them,
        # boxing a result): a compiled no-op called with the same arguments just before each call, timed
        # on its own (``bridge_seconds``). The no-op compiles once per argument signature, so a run that
        # measures it must follow one that compiled it (:func:`_bridge_estimate`).
        self.bridge_seconds: float | None = 0.0 if bridge else None
        self._noop = _bridge_noop() if bridge else None
        # of `seconds`, an estimate of numba's typing of the arguments (C code in its dispatcher that
        # fingerprints every argument to pick the compiled overload): the same fingerprint, timed
        # just before each call (outside the kernel's time). It is an upper estimate: it meets the
        # arguments' headers cold where the dispatcher's own fingerprint then finds them in cache.
        # None where numba does not offer the fingerprint, or where ``typing`` is false.
        try:
            from numba._dispatcher import compute_fingerprint
        except ImportError:
            compute_fingerprint = None
        if not typing:
            compute_fingerprint = None
        self._fingerprint = compute_fingerprint
        self.typing_seconds: float | None = None if compute_fingerprint is None else 0.0
        self._patched: list[tuple[dict, str, Any]] = []

    def _wrap(self, fn: Any) -> Any:
        clock = time.perf_counter
        compute_fingerprint = self._fingerprint

        noop = self._noop

        def timed(*args: Any, **kwargs: Any) -> Any:
            if noop is not None:
                t = clock()
                noop(*args, *kwargs.values())
                self.bridge_seconds += clock() - t
            if compute_fingerprint is not None:
                t = clock()
                compute_fingerprint((*args, *kwargs.values()))
                self.typing_seconds += clock() - t
            t = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += clock() - t
                self.calls += 1

        timed.__wrapped__ = fn
        return timed

    def install(self, model: Any) -> KernelTimer:
        from numba.core.dispatcher import Dispatcher

        wrappers: dict[int, Any] = {}
        spaces = [vars(m) for name, m in list(sys.modules.items())
                  if name.startswith(("agents.", "model.", "carry_unwind_composed_"))]  # fmt: skip
        spaces += [vars(model.clearing), *(vars(s) for s in model.sector_list)]
        if model.clearing.flat is not None:  # the clearing's entry points taking plain tuples
            spaces.append(vars(model.clearing.flat))
        for space in spaces:
            for key, value in list(space.items()):
                if isinstance(value, Dispatcher):
                    wrapper = wrappers.setdefault(id(value), self._wrap(value))
                    self._patched.append((space, key, value))
                    space[key] = wrapper
        return self

    def remove(self) -> None:
        for space, key, value in reversed(self._patched):
            space[key] = value
        self._patched.clear()


@functools.cache
def _bridge_noop() -> Any:
    """A compiled function that takes any arguments and does nothing: its call from Python is numba's
    call bridge alone (typing and unboxing the arguments, boxing its result). One for the process, so
    that what it compiled for a signature in one run serves the next."""
    from numba import njit

    @njit
    def noop(*args: Any) -> int:
        return 0

    return noop


class SplitPhaseTimer(PhaseTimer):
    """A :class:`PhaseTimer` that also splits each phase's time into time inside numba kernels and outside."""

    def __init__(self, kernels: KernelTimer) -> None:
        super().__init__()
        self.kernels = kernels
        self.kernel_seconds = dict.fromkeys(PHASES, 0.0)
        self._in_kernels = kernels.seconds

    def restart(self) -> None:
        super().restart()
        self._in_kernels = self.kernels.seconds

    def lap(self, phase: str) -> None:
        super().lap(phase)
        now = self.kernels.seconds
        self.kernel_seconds[phase] += now - self._in_kernels
        self._in_kernels = now


# the sector methods a day calls from the model's own loop, each timed as one part by PartTimer
SECTOR_METHODS = ("decide", "publish", "clearing_inputs", "settle", "record")
# and the model's other pieces, as (attribute of the model, or "" for the model itself; method)
MODEL_PARTS = (("clearing", "clear"), ("clearing", "recheck"), ("clearing", "other_roots"),
               ("market", "draw"), ("market", "close_day"), ("macro", "draw"), ("macro", "update"),
               ("", "_publish"), ("", "_record"))  # fmt: skip
_METHODS = tuple(dict.fromkeys((*SECTOR_METHODS, *(m for _, m in MODEL_PARTS))))
_NONE = object()  # an owner had no attribute of its own by that name


class PartTimer:
    """Seconds a day spends in each part (a sector's method, the clearing, the market's and macro
    state's updates), and of them the seconds inside numba kernels (a :class:`KernelTimer`).

    :meth:`install` wraps the parts' methods on the model's own objects (the instances, so nothing
    else is touched); :meth:`remove` takes the wrappers off. A part's time excludes the parts it
    calls, so no time is counted twice. Every wrapper costs Python time of its own; :meth:`overhead`
    measures it, per part call and per kernel call, so that a report can say how much of the
    instrumented day is the instruments'.
    """

    def __init__(self, kernels: KernelTimer) -> None:
        self.kernels = kernels
        self.seconds: dict[str, float] = {}
        self.kernel_seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._nested = [0.0]  # the time of parts called by the part running now, for each level
        self._nested_kernels = [0.0]
        self._patched: list[tuple[Any, str, Any]] = []  # (owner, method, its own attribute before, or _NONE)

    def _wrap(self, label: str, fn: Any) -> Any:
        clock, kernels = time.perf_counter, self.kernels
        nested, nested_kernels = self._nested, self._nested_kernels
        self.seconds.setdefault(label, 0.0)
        self.kernel_seconds.setdefault(label, 0.0)
        self.calls.setdefault(label, 0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            nested.append(0.0)
            nested_kernels.append(0.0)
            k0, t0 = kernels.seconds, clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt, dk = clock() - t0, kernels.seconds - k0
                inner, inner_k = nested.pop(), nested_kernels.pop()
                self.seconds[label] += dt - inner
                self.kernel_seconds[label] += dk - inner_k
                self.calls[label] += 1
                nested[-1] += dt
                nested_kernels[-1] += dk

        return timed

    def install(self, model: Any) -> PartTimer:
        targets = [(s, f"{s.name}.{m}", m) for s in model.sector_list for m in SECTOR_METHODS]
        for path, method in MODEL_PARTS:
            owner = getattr(model, path, None) if path else model
            if owner is not None:
                targets.append((owner, f"{path or 'model'}.{method}", method))
        for owner, label, method in targets:
            fn = getattr(owner, method, None)
            if callable(fn):
                self._patched.append((owner, method, vars(owner).get(method, _NONE)))
                setattr(owner, method, self._wrap(label, fn))  # an instance attribute over the class's method
        return self

    def remove(self) -> None:
        for owner, method, before in reversed(self._patched):
            if before is _NONE:
                delattr(owner, method)
            else:
                setattr(owner, method, before)
        self._patched.clear()

    @staticmethod
    def overhead(calls: int = 20000) -> tuple[float, float]:
        """Seconds one wrapped call adds: ``(a part's wrapper, a kernel's wrapper)``, each timed on a
        function that does nothing (the kernel's without the typing estimate, as the by-part run times
        its kernels), median of five rounds."""
        import statistics

        def nothing(*args: Any) -> None:
            return None

        kernels = KernelTimer(typing=False)
        parts = PartTimer(kernels)
        wrapped_part, wrapped_kernel = parts._wrap("nothing", nothing), kernels._wrap(nothing)
        args = (1.0, 2.0)
        out = []
        for fn in (wrapped_part, wrapped_kernel):
            rounds = []
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(calls):
                    fn(*args)
                t1 = time.perf_counter()
                for _ in range(calls):
                    nothing(*args)
                rounds.append(((t1 - t) - (time.perf_counter() - t1)) / calls)
            out.append(max(statistics.median(rounds), 0.0))
        return out[0], out[1]


def part_table(parts: PartTimer, days: int, day_seconds: float, instrumented_seconds: float,
               kernel_seconds: float, kernel_calls: int) -> str:  # fmt: skip
    """The by-part report of one instrumented run: each sector's time a day inside and outside numba
    kernels, split by method, the model's other parts (the clearing, the state updates, the record's
    row), and what no part holds (the day's own lines and the loop), every figure in µs a day."""
    part_cost, kernel_cost = PartTimer.overhead()
    us = 1e6 / days
    rows: dict[str, dict[str, float]] = {}
    for label, sec in parts.seconds.items():
        owner, method = label.rsplit(".", 1)
        row = rows.setdefault(owner, {"total": 0.0, "inside": 0.0, "calls": 0.0})
        row["total"] += sec
        row["inside"] += parts.kernel_seconds[label]
        row["calls"] += parts.calls[label]
        row[method] = sec - parts.kernel_seconds[label]
    counted = sum(r["total"] for r in rows.values())
    instruments = part_cost * sum(parts.calls.values()) + kernel_cost * kernel_calls
    lines = [
        f"by part (one more run with every part and kernel call timed; µs a day; its day took "
        f"{us * instrumented_seconds:.0f} µs against the lean path's {us * day_seconds:.0f}, of which about "
        f"{us * instruments:.0f} µs is the timers' own cost, {1e6 * part_cost:.2f} µs a timed part and "
        f"{1e6 * kernel_cost:.2f} µs a timed kernel call, left in the figures below: a kernel call's in its part's "
        "time outside kernels, a part's in its caller's):",
        f"{'part':<24}{'total':>8}{'inside':>8}{'outside':>8}   outside by method",
    ]

    floor = NoiseFloor()

    def row(name: str, total: float, inside: float, note: str) -> str:
        return (f"{name:<24}{us * floor(total):>8.1f}{us * floor(inside):>8.1f}{us * floor(total - inside):>8.1f}"
                f"   {note}")  # fmt: skip

    for owner, r in sorted(rows.items(), key=lambda kv: -kv[1]["total"]):
        methods = "  ".join(f"{m} {us * floor(r[m]):.1f}" for m in _METHODS if m in r and us * r[m] >= 0.05)
        lines.append(row(owner, r["total"], r["inside"], methods))
    rest = instrumented_seconds - counted
    rest_inside = kernel_seconds - sum(r["inside"] for r in rows.values())
    note = "the day's own lines, the price impact, coupons, the loop"
    lines.append(row("no part (the day itself)", rest, rest_inside, note))
    if floor.hit:
        lines.append(floor.note())
    return "\n".join(lines)


class NoiseFloor:
    """Shows a time that came out below 0 as 0, and remembers it (:meth:`note`).

    A time outside the kernels is a difference of two timings (a whole and the part inside), and so is
    the rest of a day that no part holds; on a short run the two timings' noise can exceed the time
    itself and make the difference negative. Nothing is measured differently: only what is printed.
    """

    def __init__(self) -> None:
        self.hit = False

    def __call__(self, seconds: float) -> float:
        if seconds < 0:
            self.hit = True
            return 0.0
        return seconds

    @staticmethod
    def note() -> str:
        return ("note: a time shown as 0 came out below 0, a difference of two timings within their noise (a run "
                "this short cannot resolve it); more --days or --reps narrow it")  # fmt: skip


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


# glibc's malloc serves a request of 128 KiB or more with fresh pages from the kernel (mmap), zeroed at
# first touch, until the free of such a block raises that threshold for the rest of the process; and it
# returns the top of its heap to the kernel beyond a threshold that moves with it. The NumPy engine
# makes dozens of population-sized temporaries a day, so its time depended on what the process had
# allocated and freed before: at 100,000 funds, 0.39 and 0.73 µs a fund-day for the same code in two
# processes. The funds' benchmark fixes both thresholds in every engine's process (glibc's largest
# mmap threshold on 64-bit machines, and a trim threshold no run reaches) so that a temporary is
# reused memory in every engine and every process. Elsewhere it changes nothing and says so.
MALLOC_THRESHOLDS = {"MALLOC_MMAP_THRESHOLD_": 32 * 1024 * 1024, "MALLOC_TRIM_THRESHOLD_": 1024**3}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)


def steady_allocator() -> str:
    """Fix glibc malloc's mmap and trim thresholds in this process (:data:`MALLOC_THRESHOLDS`).

    Returns what was fixed, for the report, or '' where the C library has no ``mallopt`` or refuses
    the values (the timings then carry the allocator's history, as before)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no mallopt (macOS), or no C library by that name (Windows)
        return ""
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mmap, trim = MALLOC_THRESHOLDS["MALLOC_MMAP_THRESHOLD_"], MALLOC_THRESHOLDS["MALLOC_TRIM_THRESHOLD_"]
    fixed = []
    if mallopt(_M_MMAP_THRESHOLD, mmap) == 1:
        fixed.append(f"mmap threshold at {mmap // 2**20} MiB")
    if mallopt(_M_TRIM_THRESHOLD, trim) == 1:
        fixed.append(f"trim threshold at {trim // 2**30} GiB")
    return f"malloc's {' and its '.join(fixed)} fixed" if fixed else ""


def run_plain_python(n_funds: int, days: int, seed: int, steady: bool = False) -> dict[str, Any]:
    """Run the plain-Python engine in a child process with numba's JIT disabled (``steady``: with the
    allocator's thresholds of :func:`steady_allocator`, which glibc reads from the environment)."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    if steady:
        env.update({k: str(v) for k, v in MALLOC_THRESHOLDS.items()})
    code = f"from experiments.cli.bench import plain_python_worker; plain_python_worker({n_funds}, {days}, {seed})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the plain-Python engine failed (exit status {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict[str, Any]], key: str = "seconds") -> dict[str, Any]:
    """The repetition with the median ``key`` time (of an even number, the lower of the two middle ones, so that
    a ratio with it on top is never the larger middle one's)."""
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


def _price_difference(a: dict[str, list], b: dict[str, list], days: int) -> tuple[float, bool]:
    """(max relative difference over the price columns on days 0..days, whether they are equal bit for bit).

    Equal values differ by 0; a value that is not finite on one side only, or a zero against a non-zero, differs
    by infinity; series of different lengths differ by infinity (NaN must never read as agreement)."""
    import numpy as np

    worst, same = 0.0, True
    for c in PRICE_COLUMNS:
        x, y = np.asarray(a[c][: days + 1], dtype=float), np.asarray(b[c][: days + 1], dtype=float)
        if x.shape != y.shape:
            return math.inf, False
        same = same and bool(np.array_equal(x, y))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(x == y, 0.0, np.abs(y / x - 1.0))
        d[~np.isfinite(d)] = np.inf
        worst = max(worst, float(d.max(initial=0.0)))
    return worst, same


def run_benchmark(n_funds: int, days: int, seed: int = 1, reps: int = 1, plain_days: int | None = None,
                  plain_reps: int = 1, steady: bool = True) -> dict:  # fmt: skip
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
        Repetitions of the compiled and NumPy runs (the median whole run is reported).
    plain_days
        Days the plain-Python engine runs (the first ones of the same run), at most ``days``;
        default ``min(days, 10)``.
    plain_reps
        Runs of the plain-Python engine, each in a fresh child process (the median is reported, and
        the ratio's range over them: one run's time moves with the machine's state).
    steady
        Fix the C library's allocator thresholds first (:func:`steady_allocator`), for the rest of this
        process (they cannot be handed back to glibc's own adjustment) and in the plain engine's.

    Returns
    -------
    dict
        Per engine: seconds (first ``plain_days`` days and whole run), phase seconds, construction
        time; the price checks; ``speedup`` (plain / compiled over the first ``plain_days`` days) and
        ``numpy_speedup`` (plain / NumPy, same days).
    """

    plain_days = min(days, DEFAULT_PLAIN_DAYS) if plain_days is None else plain_days
    if plain_days > days:
        raise ValueError(f"plain_days = {plain_days} is not allowed; expected at most days ({days})")
    allocator = steady_allocator() if steady else ""
    t0 = time.perf_counter()
    # each engine's first WARMUP_DAYS days, at the population timed: the kernels a run calls are compiled or
    # loaded from the cache before any timed run (the Treasury's first auction, on day 5, among them)
    for engine in ("numba", "numpy"):
        timed_run(engine, n_funds, min(days, WARMUP_DAYS), min(days, WARMUP_DAYS), seed)
    warmup = time.perf_counter() - t0
    # the median by the first plain_days days' time, which the ratios below use
    runs = {e: _median_run([timed_run(e, n_funds, days, plain_days, seed) for _ in range(reps)], "first_seconds")
            for e in ("numba", "numpy")}  # fmt: skip
    plains = [run_plain_python(n_funds, plain_days, seed, steady=bool(allocator)) for _ in range(plain_reps)]
    runs["mesa"] = plain = _median_run(plains)
    numpy_diff, numpy_same = _price_difference(runs["numba"]["prices"], runs["numpy"]["prices"], days)
    plain_diff, plain_same = _price_difference(runs["numba"]["prices"], plain["prices"], plain_days)
    ok = numpy_same and plain_diff <= TOLERANCE
    speedup = plain["seconds"] / runs["numba"]["first_seconds"]
    numpy_speedup = plain["seconds"] / runs["numpy"]["first_seconds"]

    fund_days = n_funds * plain_days
    print(f"funds: {n_funds}  days: {days} (plain Python: the first {plain_days})  seed: {seed}  "
          f"repetitions: {reps} (median; plain Python {plain_reps})")  # fmt: skip
    print("other sectors: the model's defaults in every engine (compiled in the compiled and NumPy engines, "
          "Python in the plain one); the lean path (no DataCollector)")  # fmt: skip
    print(f"allocator: {allocator} in every engine's process" if allocator else
          "allocator: as the C library sets it (the NumPy engine's time depends on the process's history)")  # fmt: skip
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
    if plain_reps > 1:
        each = sorted(p["seconds"] / runs["numba"]["first_seconds"] for p in plains)
        print(f"speedup over each plain-Python run: {', '.join(f'{x:.1f}x' for x in each)} (the median below)")
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
        "plain_seconds_each": [p["seconds"] for p in plains],
        "allocator": allocator,
    }


# -- the standard run: lean path against Mesa path ------------------------------------------------


def _standard_model(collect: bool, days: int, seed: int, populations: dict[str, int]) -> Any:
    from model.model import CarryUnwindModel

    views = {} if collect else {"simulation__max_agent_views": 0}
    return CarryUnwindModel(seed=seed, collect=collect, simulation__days=days, **views, **populations)


def _time_standard(collect: bool, days: int, seed: int, populations: dict[str, int],
                   kernels: KernelTimer | None = None) -> dict[str, Any]:  # fmt: skip
    """Build, run and summarise one run: the lean path as :func:`model.results.run_simulation` takes it
    (``collect=False``, ``run_days``), or the Mesa path (``collect=True``, Mesa's ``run_for``)."""
    import gc

    from model.results import summarize

    gc.collect()  # the previous runs' garbage is not collected inside this one
    t0 = time.perf_counter()
    model = _standard_model(collect, days, seed, populations)
    build = time.perf_counter() - t0
    timer = PhaseTimer() if kernels is None else SplitPhaseTimer(kernels.install(model))
    model.phase_timer = timer
    try:
        t1, c1 = time.perf_counter(), time.process_time()
        timer.restart()
        if collect:
            model.run_for(days)
        else:
            model.run_days(days)
        timer.lap("other")
        t2, c2 = time.perf_counter(), time.process_time()
    finally:
        if kernels is not None:
            kernels.remove()
    summarize(model.timeseries())
    t3 = time.perf_counter()
    # the series only, not the model: a Mesa-path model (its DataCollector, its agents) kept alive through
    # the later runs would make their garbage collections longer
    out = {"build_seconds": build, "seconds": t2 - t1, "cpu_seconds": c2 - c1, "finish_seconds": t3 - t2,
           "total_seconds": t3 - t0, "phases": dict(timer.seconds), "series": model.arrays()}  # fmt: skip
    if kernels is not None:
        out["kernel_phases"] = dict(timer.kernel_seconds)
        out["kernel_calls"] = kernels.calls
        out["typing_seconds"] = kernels.typing_seconds
    return out


def _time_by_part(days: int, seed: int, populations: dict[str, int]) -> dict[str, Any]:
    """One lean run with every part (:class:`PartTimer`) and every kernel call (:class:`KernelTimer`)
    timed: its day by part."""
    model = _standard_model(False, days, seed, populations)
    kernels = KernelTimer(typing=False)  # no typing estimate: fewer of the timers' own microseconds
    parts = PartTimer(kernels)
    try:
        kernels.install(model)
        parts.install(model)
        t0 = time.perf_counter()
        model.run_days(days)
        seconds = time.perf_counter() - t0
    finally:
        parts.remove()
        kernels.remove()
    return {"parts": parts, "seconds": seconds, "kernel_seconds": kernels.seconds, "kernel_calls": kernels.calls,
            "series": model.arrays()}  # fmt: skip


def _bridge_estimate(days: int, seed: int, populations: dict[str, int]) -> tuple[float, int]:
    """Seconds of numba's call bridge in one lean run (:class:`KernelTimer` with ``bridge``): the second
    of two runs, the first having compiled the no-op for every argument signature; and its kernel calls."""
    for _ in range(2):
        model = _standard_model(False, days, seed, populations)
        kernels = KernelTimer(typing=False, bridge=True)
        try:
            kernels.install(model)
            model.run_days(days)
        finally:
            kernels.remove()
    return kernels.bridge_seconds, kernels.calls


def _same_series(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two recorded time series (column → values) are the same, bit for bit (NaN equal to NaN)."""
    import numpy as np

    if a.keys() != b.keys():
        return False
    for c in a:
        x, y = np.asarray(a[c]), np.asarray(b[c])
        if x.shape != y.shape:
            return False
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype(np.float64), y.astype(np.float64)
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def run_standard_benchmark(days: int = STANDARD_DAYS, seed: int = 1, reps: int = 3,
                           populations: dict[str, int] | None = None, mesa_path: bool = True,
                           by_part: bool = False) -> dict:  # fmt: skip
    """Time the standard run on the lean path and on the Mesa path; print a per-phase table.

    Parameters
    ----------
    days
        Trading days of each run.
    seed
        The runs' seed.
    reps
        Timed runs of each path, alternating (the median run of each is reported).
    populations
        Configuration overrides of the population sizes (``{"nisa__n_households": 10**6, ...}``);
        default every population at the model's default.
    mesa_path
        Also time the Mesa path (``collect=True``); ``False`` times the lean path alone.
    by_part
        Also time the lean path's day by part (each sector's methods, the clearing, the state
        updates) inside and outside numba kernels, on one more run (:func:`part_table`).

    Returns
    -------
    dict
        Per path: median seconds (construction, the days, the time series and summary), phase
        seconds; the lean path's seconds inside numba kernels per phase (the median of ``reps`` more
        runs with every kernel call timed); whether the
        two paths recorded the same numbers; runs per minute on one core; ``speedup`` (Mesa path /
        lean path, the days only).
    """
    from model.results import summarize

    populations = dict(populations or {})
    t0 = time.perf_counter()
    # a whole run of the same configuration first: every kernel the timed runs call is compiled or loaded
    # from the cache by then, those first called late in a run too (the Treasury's first auction on day 5,
    # the fallback solver on a day Newton stalls), so that no load lands in a timed run
    warm = _standard_model(False, days, seed, populations)
    warm.run_days(days)
    summarize(warm.timeseries())  # its first call imports what it needs
    del warm
    warmup = time.perf_counter() - t0
    paths = {"lean": False, "mesa": True} if mesa_path else {"lean": False}
    runs: dict[str, list] = {p: [] for p in paths}
    splits: list[dict[str, Any]] = []
    for _ in range(reps):
        for path, collect in paths.items():
            runs[path].append(_time_standard(collect, days, seed, populations))
        # The split run is repeated with the others: a single one, slowed by another process for a
        # moment, once put 0.34 ms a day too much inside the kernels and halved outside / inside.
        splits.append(_time_standard(False, days, seed, populations, kernels=KernelTimer()))
    med = {p: _median_run(r) for p, r in runs.items()}
    split = sorted(splits, key=lambda r: sum(r["kernel_phases"].values()))[len(splits) // 2]
    del runs, splits  # the other runs' models
    identical = _same_series(med["lean"]["series"], med["mesa"]["series"]) if mesa_path else None
    identical_split = _same_series(med["lean"]["series"], split["series"])

    names = {"lean": "lean path", "mesa": "Mesa path"}
    pops = ", ".join(f"{k}={v}" for k, v in populations.items()) or "every population at its default"
    print(f"standard run: baseline scenario, {days} days, seed {seed}, {pops}; {reps} runs of each path, "
          f"alternating (median); numba warm-up {warmup:.2f} s")  # fmt: skip
    print()
    print(f"{'ms per day':<28}" + "".join(f"{p:>9}" for p in PHASES) + f"{'total':>9}{'run s':>9}{'build s':>9}")
    for path, r in med.items():
        ph = r["phases"]
        print(f"{names[path]:<28}" + "".join(f"{1e3 * ph[p] / days:>9.3f}" for p in PHASES)
              + f"{1e3 * r['seconds'] / days:>9.3f}{r['seconds']:>9.3f}{r['build_seconds']:>9.3f}")  # fmt: skip
    # Outside = the lean path's time less the time inside kernels (timed in the split run). The split
    # run's own total is not used for it: its wrappers add their own Python time to every kernel call.
    kp, lp = split["kernel_phases"], med["lean"]["phases"]
    inside, lean_total = sum(kp.values()), sum(lp.values())
    outside = lean_total - inside
    overhead = sum(split["phases"].values()) - lean_total
    floor = NoiseFloor()  # a time outside the kernels below 0 (noise, on a short run) is shown as 0
    print(f"{'  lean, inside numba kernels':<28}" + "".join(f"{1e3 * kp[p] / days:>9.3f}" for p in PHASES)
          + f"{1e3 * inside / days:>9.3f}")  # fmt: skip
    print(f"{'  lean, outside them':<28}" + "".join(f"{1e3 * floor(lp[p] - kp[p]) / days:>9.3f}" for p in PHASES)
          + f"{1e3 * floor(outside) / days:>9.3f}")  # fmt: skip
    print()
    print(f"lean path, kernel split ({reps} more runs timing their {split['kernel_calls'] / days:.0f} kernel calls "
          f"a day, the one with the median time inside; it took {1e3 * overhead / days:+.3f} ms/day over the lean "
          f"path's median, its timers and noise, left out): "
          f"{1e3 * inside / days:.3f} ms/day inside numba kernels, {1e3 * floor(outside) / days:.3f} outside; "
          f"outside / inside = {_ratio(floor(outside), inside)}")  # fmt: skip
    typing = split["typing_seconds"]
    if typing is not None:
        print(f"of the time inside, up to about {1e3 * typing / days:.3f} ms/day is numba typing the kernels' "
              f"arguments at each call from Python (its dispatcher, not compiled code); counted outside, "
              f"outside / inside would be {_ratio(floor(outside + typing), inside - typing)}")  # fmt: skip
    bridge, bridge_calls = _bridge_estimate(days, seed, populations)
    print(f"of the time inside, about {1e3 * bridge / days:.3f} ms/day is numba's whole call bridge at the "
          f"{bridge_calls / days:.0f} calls a day (typing and unboxing the arguments, boxing the result: a compiled "
          f"no-op called with the same arguments, timed on one more run); counted outside, outside / inside "
          f"would be {_ratio(floor(outside + bridge), inside - bridge)}")  # fmt: skip
    if floor.hit:
        print(floor.note())
    lean = med["lean"]
    per_minute = 60.0 / lean["total_seconds"]
    print(f"lean path, whole run (construction {lean['build_seconds']:.3f} s + days {lean['seconds']:.3f} s + "
          f"time series and summary {lean['finish_seconds']:.3f} s): {lean['total_seconds']:.3f} s = "
          f"{per_minute:.1f} runs per minute per core; the days took {lean['cpu_seconds']:.3f} s of CPU time"
          + (" (wall-clock well above CPU time: the machine was busy)" if lean["seconds"] > 1.1 * lean["cpu_seconds"]
             else ""))  # fmt: skip
    result = {
        "days": days,
        "seed": seed,
        "populations": populations,
        "warmup_seconds": warmup,
        "paths": {p: {k: v for k, v in r.items() if k != "series"} for p, r in med.items()},
        "kernel_seconds": kp,
        "outside_over_inside": outside / inside,
        "typing_seconds": typing,
        "outside_over_inside_typing_outside": None if typing is None else (outside + typing) / (inside - typing),
        "bridge_seconds": bridge,
        "outside_over_inside_bridge_outside": (outside + bridge) / (inside - bridge),
        "timer_overhead_seconds": overhead,
        "runs_per_minute": per_minute,
        "split_run_identical": identical_split,
    }
    if not identical_split:
        print("the run timed kernel by kernel recorded other numbers than the lean path's (DIFFER): its time inside "
              "the kernels is not the same day's")  # fmt: skip
    if by_part:
        timed = _time_by_part(days, seed, populations)
        print()
        print(part_table(timed["parts"], days, lean["seconds"], timed["seconds"], timed["kernel_seconds"],
                         timed["kernel_calls"]))  # fmt: skip
        result["by_part_identical"] = _same_series(lean["series"], timed["series"])
        result["by_part"] = {label: {"seconds": sec, "kernel_seconds": timed["parts"].kernel_seconds[label],
                                     "calls": timed["parts"].calls[label]}
                             for label, sec in timed["parts"].seconds.items()}  # fmt: skip
        if not result["by_part_identical"]:
            print("the run timed by part recorded other numbers than the lean path's: its figures are not the same day")
    if mesa_path:
        speedup = med["mesa"]["seconds"] / lean["seconds"]
        print(f"time series: lean path and Mesa path {'identical bit for bit' if identical else 'DIFFER'} "
              f"(all {len(lean['series'])} columns, days 0-{days})")  # fmt: skip
        print(f"lean path: {speedup:.2f}x faster than the Mesa path (the days only)")
        result.update(identical=identical, speedup=speedup)
    return result


def _ratio(top: float, bottom: float) -> str:
    """``top / bottom`` to two decimals; "n/a" where ``bottom`` is not above 0 (no time inside measured)."""
    return f"{top / bottom:.2f}" if bottom > 0 else "n/a"


def seeds_summary(results: list[dict]) -> str:
    """One line: the medians (and ranges) over seeds of the standard run's figures, from
    :func:`run_standard_benchmark`'s results (a seed's day in the fallback solver moves them)."""
    import numpy as np

    def spread(values: list[float], fmt: str) -> str:
        return f"{np.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

    def at_least_0(values: list[float]) -> list[float]:  # a ratio below 0: noise in a short run (NoiseFloor)
        return [max(v, 0.0) for v in values]

    seeds = [r["seed"] for r in results]
    parts = [
        f"over seeds {seeds[0]}-{seeds[-1]}, median (range):",
        f"lean path {spread([1e3 * r['paths']['lean']['seconds'] / r['days'] for r in results], '.3f')} ms a day,",
        f"outside / inside {spread(at_least_0([r['outside_over_inside'] for r in results]), '.2f')}"
        + (
            f" ({spread(at_least_0([r['outside_over_inside_typing_outside'] for r in results]), '.2f')} with numba's "
            "typing of "
            "the arguments counted outside"
            + (
                f", {spread(at_least_0([r['outside_over_inside_bridge_outside'] for r in results]), '.2f')} with its "
                "whole call bridge"
                if all(r.get("outside_over_inside_bridge_outside") is not None for r in results)
                else ""
            )
            + "),"
            if all(r.get("outside_over_inside_typing_outside") is not None for r in results)
            else ","
        ),
        f"{spread([r['runs_per_minute'] for r in results], '.1f')} runs per minute per core",
    ]
    if all("speedup" in r for r in results):
        parts[-1] += ","
        parts.append(f"lean path {spread([r['speedup'] for r in results], '.2f')} times as fast as the Mesa path")
    return " ".join(parts)


# -- the `carry-unwind bench` command -------------------------------------------------------------


MAX_POPULATIONS = 8
MAX_REPS = 100  # --reps, --plain-reps and --seeds: the median of 100 timings is as good as it gets; 10^9 must not start


def population_list(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated fund populations, each an integer > 0, distinct, at most
    :data:`MAX_POPULATIONS` of them (``1000,10000,100000``)."""
    items = [t.strip() for t in text.split(",")]
    values = tuple(positive_int(t) for t in items)
    if len(values) > MAX_POPULATIONS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_POPULATIONS} populations, got {len(values)}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct populations, got {text!r}")
    return values


def population_table(results: list[dict]) -> str:
    """The engine × population table of :func:`run_benchmark` results: ns per fund-day of each engine (the
    compiled and NumPy engines over their whole runs, the plain engine over its days) and the ratios."""
    head = (f"{'funds':>9}  {'compiled ns':>12}{'NumPy ns':>11}{'plain ns':>12}{'plain/compiled':>16}"
            f"{'plain/NumPy':>13}{'NumPy/compiled':>16}")  # fmt: skip
    lines = ["engine x population (ns per fund-day: the whole model's time over the funds, the compiled and NumPy "
             "engines over all their days; the ratios over the plain engine's days)", head]  # fmt: skip
    for r in results:
        e, n = r["engines"], r["n_funds"]
        ns = {k: e[k]["seconds"] / (n * (r["plain_days"] if k == "mesa" else r["days"])) * 1e9 for k in e}
        numpy_over = e["numpy"]["first_seconds"] / e["numba"]["first_seconds"]
        lines.append(f"{n:>9,}  {ns['numba']:>12.1f}{ns['numpy']:>11.1f}{ns['mesa']:>12.1f}{r['speedup']:>15.1f}x"
                     f"{r['numpy_speedup']:>12.1f}x{numpy_over:>15.1f}x")  # fmt: skip
    return "\n".join(lines)


def register(sub: Any) -> None:
    """Add ``bench`` to ``sub`` (the object ``add_subparsers`` returned)."""
    bench = sub.add_parser(
        "bench",
        help="time the hedge funds in three engines (compiled, NumPy, plain Python), or a standard run's two paths",
        description=(
            "Time the same run with the hedge-fund sector in three engines: compiled (numba kernels over\n"
            "arrays), NumPy (the same arrays, vectorised, no numba in the sector) and plain Python (one\n"
            "mesa.Agent per fund, in a process with numba's JIT disabled). Prints construction times, a table\n"
            "of per-phase times in ns per fund-day, the price checks, and ends with 'speedup: <x>x': the\n"
            "plain-Python engine's time over the compiled engine's for the same first --plain-days days.\n\n"
            "With --standard: time a whole run of the baseline scenario (every population at its default\n"
            "unless --funds, --households or --accounts is given) on the lean path (what 'carry-unwind run'\n"
            "and the sweeps use) and on the Mesa path (Mesa's DataCollector and agent views), alternately;\n"
            "print each path's time per day and phase, the lean path's time inside and outside numba kernels,\n"
            "whether the two paths recorded the same numbers, and runs per minute on one core."
        ),
        epilog=(
            "examples:\n  carry-unwind bench --funds 100000 --days 100 --plain-days 5 --reps 3\n"
            "  carry-unwind bench --populations 1000,10000,100000 --days 100 --plain-days 3 --reps 3\n"
            "  carry-unwind bench --standard --reps 5\n"
            "  carry-unwind bench --standard --reps 3 --seeds 3\n"
            "  carry-unwind bench --standard --reps 3 --by-part\n"
            "  carry-unwind bench --standard --lean-only --days 250 --reps 1 --households 1000000 --funds 100000 "
            "--accounts 100000"
        ),
        formatter_class=FORMATTER,
    )
    bench.add_argument(
        "--funds", type=positive_int, default=None, metavar="N",
        help="number of hedge funds, > 0 (required without --standard; with it, default the model's)",
    )  # fmt: skip
    bench.add_argument(
        "--populations", type=population_list, default=None, metavar="N1,N2,...",
        help=f"instead of --funds: time the fund engines at each population in turn (up to {MAX_POPULATIONS}, "
        "distinct) and end with the engine x population table; the last line is the last population's speedup",
    )  # fmt: skip
    bench.add_argument(
        "--days", type=positive_int, default=None, metavar="D",
        help=f"trading days the compiled and NumPy engines run, > 0 (required without --standard; with it, the "
        f"run's days, default {STANDARD_DAYS})",
    )  # fmt: skip
    bench.add_argument(
        "--plain-days", type=positive_int, default=None, metavar="K",
        help=f"days the plain-Python engine runs (the first K of the same run), 1..D (default: min(D, "
        f"{DEFAULT_PLAIN_DAYS}))",
    )  # fmt: skip
    bench.add_argument(
        "--plain-reps", type=bounded_count("--plain-reps", MAX_REPS), default=None, metavar="P",
        help="runs of the plain-Python engine, each in its own process; the median is used, 1 to "
        f"{MAX_REPS} (default: 1)",
    )  # fmt: skip
    bench.add_argument("--seed", type=seed_int, default=1, metavar="S", help="integer seed >= 0 (default: 1)")
    bench.add_argument(
        "--seeds", type=bounded_count("--seeds", MAX_REPS), default=None, metavar="N",
        help="with --standard: time seeds S..S+N-1 in turn and end with the medians over them, 1 to "
        f"{MAX_REPS} (default: 1)",
    )  # fmt: skip
    bench.add_argument(
        "--reps", type=bounded_count("--reps", MAX_REPS), default=None, metavar="R",
        help="timed repetitions of the compiled and NumPy engines, or of each path with --standard, 1 to "
        f"{MAX_REPS} (default: 1; 3 with --standard)",
    )  # fmt: skip
    bench.add_argument(
        "--standard", action="store_true",
        help="time a whole run on the lean path and on the Mesa path instead of the fund engines",
    )  # fmt: skip
    bench.add_argument(
        "--households", type=positive_int, default=None, metavar="N",
        help="with --standard: NISA households, > 0 (default: the model's)",
    )  # fmt: skip
    bench.add_argument(
        "--accounts", type=positive_int, default=None, metavar="N",
        help="with --standard: retail FX margin accounts, > 0 (default: the model's)",
    )  # fmt: skip
    bench.add_argument("--lean-only", action="store_true", help="with --standard: time the lean path alone")
    bench.add_argument(
        "--by-part", action="store_true",
        help="with --standard: also time the lean path's day by part (each sector's methods, the clearing, the state "
        "updates), inside and outside numba kernels, on one more run",
    )  # fmt: skip
    bench.set_defaults(handler=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.standard:
        for flag, value in (("--plain-days", args.plain_days), ("--plain-reps", args.plain_reps),
                            ("--populations", args.populations)):  # fmt: skip
            if value is not None:
                raise UsageError(f"{flag} is not allowed with --standard (it times the fund engines)")
        populations = {key: value for key, value in (("hedge_funds__n_funds", args.funds),
                       ("nisa__n_households", args.households), ("retail_fx__n_accounts", args.accounts))
                       if value is not None}  # fmt: skip
        seeds = range(args.seed, args.seed + (args.seeds or 1))
        if seeds[-1] >= SEED_LIMIT:
            raise UsageError(
                f"--seed = {args.seed} is not allowed with --seeds {args.seeds}; the last seed, {seeds[-1]}, would be "
                f"2**64 or more, expected every seed below 2**64 ({SEED_LIMIT})"
            )
        results = []
        for i, seed in enumerate(seeds):
            if i:
                print()
            results.append(run_standard_benchmark(days=args.days or STANDARD_DAYS, seed=seed, reps=args.reps or 3,
                                                  populations=populations, mesa_path=not args.lean_only,
                                                  by_part=args.by_part))  # fmt: skip
        if len(results) > 1:
            print()
            print(seeds_summary(results))
        if any(r.get("identical") is False or not r["split_run_identical"] for r in results):
            print_error("a timed run recorded other numbers than the lean path's (DIFFER above): not the same run")
            return EXIT_FAILURE
        return EXIT_OK
    if args.populations is not None and args.funds is not None:
        raise UsageError("--populations and --funds are not allowed together (give one)")
    if args.funds is None and args.populations is None:
        raise UsageError("--funds is required (or give --populations, or --standard)")
    if args.days is None:
        raise UsageError("--days is required (or give --standard)")
    for flag, value in (("--households", args.households), ("--accounts", args.accounts),
                        ("--lean-only", args.lean_only or None), ("--seeds", args.seeds),
                        ("--by-part", args.by_part or None)):  # fmt: skip
        if value is not None:
            raise UsageError(f"{flag} is only allowed with --standard")
    if args.plain_days is not None and args.plain_days > args.days:
        raise UsageError(f"--plain-days = {args.plain_days} is not allowed; expected at most --days ({args.days})")
    results = []
    for i, n_funds in enumerate(args.populations or (args.funds,)):
        if i:
            print()
        results.append(run_benchmark(n_funds=n_funds, days=args.days, seed=args.seed, reps=args.reps or 1,
                                     plain_days=args.plain_days, plain_reps=args.plain_reps or 1))  # fmt: skip
    if args.populations is not None:
        print()
        print(population_table(results))
        print(f"speedup: {results[-1]['speedup']:.1f}x")
    if not all(r["prices_match"] for r in results):  # a speed-up of engines that disagree is not one
        print_error("the engines' prices differ (MISMATCH above): the timings are not of the same run")
        return EXIT_FAILURE
    return EXIT_OK
