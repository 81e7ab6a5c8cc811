"""Sweep throughput: runs per minute in this process, on local worker processes and on Dask.

::

    python -m experiments.sweeps.bench                      # 200 standard runs per executor
    python -m experiments.sweeps.bench --runs 400 --days 500 --funds 200 --repeat 3

A "standard run" is the baseline scenario for 500 trading days with the default 200 hedge funds.
The benchmark sweeps ``--runs`` replicates of it (one design point, different seeds) through the
real sweep machinery, writing Parquet as a user's sweep does, once per executor: ``serial`` (this
process: the bare cost of a run), ``local`` with 1 and 2 worker processes, and a Dask
``LocalCluster`` with 1 and 2 workers. For each it reports:

``start-up``
    seconds from the call until the first batch of results is back (spawning processes, importing
    the model, loading numba's cache);
``steady``
    runs per minute after that, the figure that matters for a long sweep;
``overall``
    runs per minute over the whole call.

and then the speed-up of 2 workers over 1 and the cost of Dask against local processes, both
from the steady rates. It also checks that every executor produced exactly the same rows. The
machine's load average is printed with the figures: other processes competing for the cores
lower the 2-worker speed-up.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["benchmark_sweeps", "check_arguments", "main"]

CONFIGS: tuple[tuple[str, int], ...] = (("serial", 1), ("local", 1), ("local", 2), ("dask", 1), ("dask", 2))


def _spec_text(runs: int, days: int, n_funds: int) -> str:
    return textwrap.dedent(
        f"""
        [sweep]
        name = "bench"
        scenario = "baseline"
        days = {days}
        design = "grid"
        replicates = {runs}
        [parameters]
        hedge_funds.n_funds = {{ values = [{n_funds}] }}
        """
    )


def benchmark_sweeps(
    runs: int = 200,
    days: int = 500,
    n_funds: int = 200,
    configs: tuple[tuple[str, int], ...] = CONFIGS,
    repeat: int = 1,
    out_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Run the benchmark; print a report and return one record per (round, executor, workers).

    With ``repeat`` > 1 the executors take turns for that many rounds and the summary uses each
    one's best steady rate: on a shared machine the best round is the least disturbed one. A value out
    of its range (:func:`check_arguments`) is a ``ValueError`` before anything runs.
    """
    from experiments.sweeps import load_results, parse_spec, run_sweep
    from model.results import run_simulation

    check_arguments(runs, days, n_funds, repeat)
    spec = parse_spec(_spec_text(runs, days, n_funds), "bench.toml")
    run_simulation(seed=0, days=2, hedge_funds__n_funds=8)  # compile or load the kernels once, here
    records = []
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        reference = None
        for rnd, (executor, workers) in itertools.product(range(repeat), configs):
            load = os.getloadavg()[0]
            out = Path(tmp) / f"{rnd}-{executor}-{workers}"
            report = run_sweep(spec, out, executor=executor, workers=workers, progress=False)
            df = load_results(out)
            reference = df if reference is None else reference
            rec = {
                "executor": executor,
                "workers": workers,
                "runs": report.n_new,
                "seconds": report.elapsed_s,
                "startup_s": report.startup_s,
                "steady_runs_per_min": report.steady_runs_per_min,
                "overall_runs_per_min": 60.0 * report.n_new / report.elapsed_s,
                "load_before": load,
                # identical rows whichever executor (unless the model's source changed in between)
                "identical_to_first": df.equals(reference),
            }
            records.append(rec)
            print(
                f"{executor:>6} x{workers}: {rec['runs']} runs in {rec['seconds']:6.1f} s   "
                f"start-up {_figure(rec['startup_s'], 5, 1)} s   "
                f"steady {_figure(rec['steady_runs_per_min'], 7, 1)} runs/min   "
                f"overall {rec['overall_runs_per_min']:7.1f} runs/min   (load average before: {load:.2f})"
                + ("" if rec["identical_to_first"] else "   ROWS DIFFER from the first executor's"),
                flush=True,
            )
    best = {}
    for r in records:  # each executor's best round; a round without a steady rate (a single batch) is none
        key = (r["executor"], r["workers"])
        if r["steady_runs_per_min"] is None:
            continue
        if key not in best or r["steady_runs_per_min"] > best[key]["steady_runs_per_min"]:
            best[key] = r
    if not best:
        print("no steady rate: every executor ran its runs in one batch (--runs is too small); "
              "the speed-ups need a few batches, e.g. --runs 50")  # fmt: skip
    rate = {key: r["steady_runs_per_min"] for key, r in best.items()}
    start = {key: r["startup_s"] for key, r in best.items()}
    print(f"standard run: baseline, {days} trading days, {n_funds} hedge funds; {os.cpu_count()} CPUs")
    if ("local", 1) in rate and ("local", 2) in rate:
        print(f"speed-up, 2 local workers over 1: {rate['local', 2] / rate['local', 1]:.2f}x")
    if ("dask", 1) in rate and ("dask", 2) in rate:
        print(f"speed-up, 2 Dask workers over 1:  {rate['dask', 2] / rate['dask', 1]:.2f}x")
    for n in (1, 2):
        if ("local", n) in rate and ("dask", n) in rate:
            ratio = rate["dask", n] / rate["local", n]
            print(
                f"Dask against local processes, {n} worker{'s' if n > 1 else ''}: steady rate x{ratio:.2f} "
                f"({100 * abs(1 - ratio):.0f} % {'slower' if ratio < 1 else 'faster'}), "
                f"start-up {start['dask', n]:.1f} s against {start['local', n]:.1f} s"
            )
    return records


def _figure(value: float | None, width: int, decimals: int) -> str:
    """A figure of the report, right-aligned; "n/a" where there is none (no steady rate after a single batch)."""
    return f"{'n/a':>{width}}" if value is None else f"{value:{width}.{decimals}f}"


MAX_BENCH_RUNS = 10_000  # runs per executor: five executors run them all; a typo of 10^9 must not start
MAX_REPEAT = 100


def _limits() -> dict[str, tuple[int, int]]:
    """Each option's allowed range: --days and --funds as far as a sweep and the configuration allow them."""
    import dataclasses

    from agents.hedge_funds import HedgeFundConfig
    from experiments.sweeps.parsing import MAX_DAYS

    most_funds = next(f for f in dataclasses.fields(HedgeFundConfig) if f.name == "n_funds").metadata["hi"]
    return {"runs": (1, MAX_BENCH_RUNS), "days": (1, MAX_DAYS), "funds": (1, most_funds), "repeat": (1, MAX_REPEAT)}


def check_arguments(runs: int, days: int, n_funds: int, repeat: int) -> None:
    """Refuse, before anything runs, a value out of its range: a ``ValueError`` naming the option, the value
    and the range (the option names of :func:`main`)."""
    for name, value in (("runs", runs), ("days", days), ("funds", n_funds), ("repeat", repeat)):
        lo, hi = _limits()[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"--{name} = {value!r} is not allowed; expected an integer from {lo} to {hi:,}")


def main(argv: list[str] | None = None) -> int:
    from experiments.cli.common import Parser

    parser = Parser(prog="python -m experiments.sweeps.bench", description=__doc__.split("\n\n")[0])
    limits = _limits()

    def option(name: str, default: int, what: str) -> None:
        lo, hi = limits[name]
        parser.add_argument(f"--{name}", type=_integer(f"--{name}"), default=default,
                            help=f"{what}, {lo} to {hi:,} (default: {default})")  # fmt: skip

    option("runs", 200, "runs per executor")
    option("days", 500, "trading days per run")
    option("funds", 200, "hedge funds per run")
    option("repeat", 1, "rounds; the summary takes the best")
    args = parser.parse_args(argv)
    try:
        check_arguments(args.runs, args.days, args.funds, args.repeat)
    except ValueError as exc:
        parser.error(str(exc))
    benchmark_sweeps(runs=args.runs, days=args.days, n_funds=args.funds, repeat=args.repeat)
    return 0


def _integer(flag: str) -> Any:
    """argparse type: an integer (its range is checked after parsing, with the others)."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} = {text!r} is not allowed; expected an integer") from None

    return parse


if __name__ == "__main__":
    raise SystemExit(main())
