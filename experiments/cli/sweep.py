"""``carry-unwind sweep``: run a parameter sweep from a TOML specification (:mod:`experiments.sweeps`).

Only argparse is imported here; the sweep machinery (numpy, pandas, the model, Dask) is imported
when the command runs, so ``carry-unwind --help`` stays instant.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FORMATTER,
    PROG,
    UsageError,
    check_out_dir,
    out_path,
    positive_int,
    print_error,
    require_extra,
    scheduler_address,
    table,
    worker_count,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``sweep`` to ``sub`` (the object ``add_subparsers`` returned)."""

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep from a TOML specification (resumable; local processes or Dask)",
        description=(
            "Run every run of a sweep specification (parameters, design, replicates, scenario, horizon,\n"
            "metrics: see experiments/specs/*.toml) and stream the results, as runs finish, into DIR:\n"
            "  runs/part-*.parquet  one row per run: run id, point, replicate, seed, parameters, metrics,\n"
            "                       status (ok/error), error text, package version\n"
            "  design.parquet       the design points       spec.toml      the specification\n"
            "  manifest.json        run counts, sessions    timeseries/    full series, if the spec asks\n"
            "A run that fails is recorded with its error and the sweep goes on. An interrupted sweep\n"
            "(Ctrl-C, a killed worker or machine) continues with --resume: the runs written are skipped\n"
            "(a kill loses only those not yet written: the batches in flight, a few seconds of results),\n"
            "and none is recorded twice. Results are identical whichever executor runs them.\n"
            "Load them with experiments.sweeps.load_results(DIR) (pandas) or to_xarray(...)."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid --resume\n"
            "  carry-unwind sweep experiments/specs/sobol_feedback.toml --out out/sobol --executor dask --workers 2\n"
            "  carry-unwind sweep SPEC.toml --out DIR --scheduler tcp://10.0.0.5:8786\n\n"
            "exit status: 0 every run recorded (some may have failed: see the status column);\n"
            "1 runs missing (workers died: rerun with --resume), or the sweep stopped (another sweep\n"
            "writes to DIR, a worker runs other code, numba's cache is damaged); 2 bad input, or every\n"
            "run of this session failed (see the error column); 130 interrupted."
        ),
        formatter_class=FORMATTER,
    )
    sweep.add_argument("spec", type=Path, metavar="SPEC", help="the sweep specification, a .toml file")
    sweep.add_argument(
        "--out",
        type=out_path,
        required=True,
        metavar="DIR",
        help="output directory, created if missing; it must not hold another sweep (required)",
    )
    sweep.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="N",
        help="worker processes for the local executor and for a local Dask cluster: from 1 to 4 per CPU core "
        "of this machine, or to 256 where that is more (default: the CPU cores this process may use)",
    )
    sweep.add_argument(
        "--executor",
        choices=("local", "dask", "serial"),
        default=None,
        help="local: worker processes on this machine; dask: a Dask LocalCluster started for the "
        "sweep (or the cluster of --scheduler); serial: one run after another in this process, for "
        "debugging (default: local, or dask with --scheduler)",
    )
    sweep.add_argument(
        "--scheduler",
        type=scheduler_address,
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786; its workers need this "
        "package installed (default: none)",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep already in DIR (same SPEC), skipping the runs it has recorded (default: off)",
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume: run again the runs recorded with status error (default: they are kept as they are)",
    )
    sweep.add_argument(
        "--max-runs",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse a specification of more than N runs (points x replicates) before generating it "
        "(default: 1,000,000; a typo such as num = 100000000 is caught at once)",
    )
    sweep.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (default: shown on stderr: runs done, rate, time left)",
    )
    sweep.set_defaults(handler=_cmd_sweep)


def _resumable_spec(args: argparse.Namespace) -> str:
    """The specification to name in a resume hint: the one given, or, when it was a pipe (``<(...)``, a
    named pipe) that cannot be read again, the copy of its text the sweep keeps in ``--out``."""
    from experiments.sweeps.store import SPEC_FILE

    given = Path(args.spec)
    # /dev/stdin or /dev/fd/N can point at a regular file and still not be there to read again
    rereadable = given.is_file() and not str(given.resolve()).startswith(("/dev/", "/proc/"))
    rereadable = rereadable and not str(given.absolute()).startswith(("/dev/", "/proc/"))
    return shlex.quote(str(given if rereadable else Path(args.out) / SPEC_FILE))


def _cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.runner import scheduler_address_problem
    from experiments.sweeps import SweepError, SweepInterrupted, load_spec, run_sweep

    if args.scheduler and args.executor not in (None, "dask"):
        raise UsageError(f"--scheduler runs on a Dask cluster; it does not go with --executor {args.executor}")
    if args.executor == "serial" and args.workers not in (None, 1):
        raise UsageError(
            f"--workers = {args.workers} is not allowed with --executor serial, which runs in this process alone; "
            "expected --executor local or dask, or no --workers"
        )
    problem = scheduler_address_problem(args.scheduler) if args.scheduler else None
    if problem:  # before anything is written: a retry must not find a half-made sweep
        raise UsageError(f"--scheduler = {args.scheduler!r} is not allowed; {problem}")
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed goes with --resume")
    from experiments.sweeps.parsing import MAX_RUNS, read_spec_text

    executor = args.executor or ("dask" if args.scheduler else "local")
    check_out_dir(args.out)
    spec_text = read_spec_text(args.spec)  # once: the manifest keeps the text that was run
    spec = load_spec(args.spec, max_runs=args.max_runs or MAX_RUNS, text=spec_text)
    if executor == "dask":
        require_extra("sweep", "a sweep on Dask (--executor dask, --scheduler)", ["dask", "distributed"])
    if spec.design in ("saltelli", "morris"):
        require_extra("sweep", f"a sweep with design = {spec.design!r}", ["SALib"])
    try:
        report = run_sweep(
            spec,
            args.out,
            executor=executor,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            retry_failed=args.retry_failed,
            progress=args.progress,
            spec_text=spec_text,
        )
    except SweepInterrupted as exc:
        again = f"{PROG} sweep {_resumable_spec(args)} --out {shlex.quote(str(args.out))} --resume"
        print(f"{PROG}: {exc}; continue with:\n  {again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SweepError as exc:
        print_error(str(exc))
        return EXIT_FAILURE
    except OSError as exc:  # the output directory is not writable, the disk is full
        where = exc.filename or args.out
        print_error(f"cannot write the results to {where}: {exc.strerror or exc}")
        return EXIT_FAILURE
    rows = [
        ("sweep", f"{spec.name}: {spec.design} design, {spec.n_points} points x {spec.replicates} replicates"),
        ("runs", f"{report.n_done} of {report.n_runs} recorded: {report.n_ok} ok, {report.n_error} failed"),
        (
            "this session",
            f"{report.n_new} runs in {report.elapsed_s:.1f} s" + (f" on {report.where}" if report.where else ""),
        ),
        ("output", f"{args.out}/  (runs/*.parquet, design.parquet, manifest.json, spec.toml)"),
        ("load with", f"experiments.sweeps.load_results({str(args.out)!r})"),
    ]
    if report.n_error:
        rows.insert(2, ("failed runs", "see the status and error columns; rerun them with --resume --retry-failed"))
    if report.n_lost:
        rows.insert(2, ("missing", f"{report.n_lost} runs lost with their workers: rerun with --resume"))
    print(table(rows))
    if report.n_new and report.n_new_error == report.n_new:  # a broken environment or input, not a result
        print_error(
            f"every one of the {report.n_new} runs of this session failed (the first: {report.first_error}); "
            f"fix the cause, then run them again with: {PROG} sweep {_resumable_spec(args)} "
            f"--out {shlex.quote(str(args.out))} --resume --retry-failed"
        )
        return EXIT_USAGE
    return EXIT_OK if report.complete else EXIT_FAILURE
