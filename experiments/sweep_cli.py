"""The ``carry-unwind sweep`` and ``carry-unwind sensitivity`` subcommands.

:func:`register` adds both to the command line's subparsers (``experiments/cli.py`` calls it).
Only argparse is imported here; the sweep machinery (numpy, pandas, the model, Dask, SALib) is
imported when a command runs, so ``carry-unwind --help`` stays instant.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

_FMT = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add ``sweep`` and ``sensitivity`` to ``sub`` (the object ``add_subparsers`` returned)."""
    from experiments.cli import _positive_int

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
            "(Ctrl-C, a killed worker or machine) continues with --resume: finished runs are skipped,\n"
            "none is run twice. Results are identical whichever executor runs them.\n"
            "Load them with experiments.sweep.load_results(DIR) (pandas) or to_xarray(...)."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid --resume\n"
            "  carry-unwind sweep experiments/specs/sobol_feedback.toml --out out/sobol --executor dask --workers 2\n"
            "  carry-unwind sweep SPEC.toml --out DIR --scheduler tcp://10.0.0.5:8786\n\n"
            "exit status: 0 every run recorded (some may have failed: see the status column);\n"
            "1 runs missing (workers died: rerun with --resume); 2 bad input; 130 interrupted."
        ),
        formatter_class=_FMT,
    )
    sweep.add_argument("spec", type=Path, metavar="SPEC", help="the sweep specification, a .toml file")
    sweep.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="output directory, created if missing; it must not hold another sweep (required)",
    )
    sweep.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes for the local executor and for a local Dask cluster, > 0 "
        "(default: the CPU cores this process may use)",
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
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (default: shown on stderr: runs done, rate, time left)",
    )
    sweep.set_defaults(handler=_cmd_sweep)

    sens = sub.add_parser(
        "sensitivity",
        help="Sobol' or Morris sensitivity indices of a sweep's metric, as a table and a figure",
        description=(
            "Compute sensitivity indices, with confidence intervals, of one metric of a finished sweep\n"
            "(SALib): Sobol' first-order and total indices for a sweep with design = 'saltelli', Morris\n"
            "mu*/sigma for design = 'morris'. The metric is averaged over each point's replicates first.\n"
            "Writes sensitivity_<metric>.csv, .md (table) and .png (bar chart with interval whiskers)."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind sensitivity out/sobol\n"
            "  carry-unwind sensitivity out/sobol --metric hf_failures_total --out figures/"
        ),
        formatter_class=_FMT,
    )
    sens.add_argument("dir", type=Path, metavar="DIR", help="the sweep's output directory (carry-unwind sweep --out)")
    sens.add_argument(
        "--metric",
        default=None,
        metavar="NAME",
        help="one of the sweep's metrics (default: usdjpy_max_fall_pct if kept, else the sweep's first metric)",
    )
    sens.add_argument(
        "--method",
        choices=("sobol", "morris"),
        default=None,
        help="sobol needs design = 'saltelli', morris design = 'morris' (default: the one the design was made for)",
    )
    sens.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="where to write the table and figure (default: DIR)"
    )
    sens.set_defaults(handler=_cmd_sensitivity)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.cli import EXIT_FAILURE, EXIT_OK, PROG, UsageError
    from experiments.sweep import SweepError, SweepInterrupted, load_spec, run_sweep

    if args.scheduler and args.executor not in (None, "dask"):
        raise UsageError(f"--scheduler runs on a Dask cluster; it does not go with --executor {args.executor}")
    if args.retry_failed and not args.resume:
        raise UsageError("--retry-failed goes with --resume")
    executor = args.executor or ("dask" if args.scheduler else "local")
    spec = load_spec(args.spec)
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
            spec_text=args.spec.read_text(),
        )
    except SweepInterrupted as exc:
        again = f"{PROG} sweep {shlex.quote(str(args.spec))} --out {shlex.quote(str(args.out))} --resume"
        print(f"{PROG}: {exc}; continue with:\n  {again}", file=sys.stderr)
        return 130
    except SweepError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # the output directory is not writable, the disk is full
        where = exc.filename or args.out
        print(f"{PROG}: error: cannot write the results to {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    rows = [
        ("sweep", f"{spec.name}: {spec.design} design, {spec.n_points} points x {spec.replicates} replicates"),
        ("runs", f"{report.n_done} of {report.n_runs} recorded: {report.n_ok} ok, {report.n_error} failed"),
        (
            "this session",
            f"{report.n_new} runs in {report.elapsed_s:.1f} s" + (f" on {report.where}" if report.where else ""),
        ),
        ("output", f"{args.out}/  (runs/*.parquet, design.parquet, manifest.json, spec.toml)"),
        ("load with", f"experiments.sweep.load_results({str(args.out)!r})"),
    ]
    if report.n_error:
        rows.insert(2, ("failed runs", "see the status and error columns; rerun them with --resume --retry-failed"))
    if report.n_lost:
        rows.insert(2, ("missing", f"{report.n_lost} runs lost with their workers: rerun with --resume"))
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"  {name:<{width}}  {value}" for name, value in rows))
    return EXIT_OK if report.complete else EXIT_FAILURE


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from experiments.cli import EXIT_OK
    from experiments.sensitivity import run_sensitivity

    result, paths = run_sensitivity(args.dir, metric=args.metric, method=args.method, out_dir=args.out)
    name = "Sobol' indices" if result.method == "sobol" else "Morris elementary effects"
    print(f"{name} of {result.metric} ({result.n_points} points x {result.replicates} replicates)")
    print(result.table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("written: " + ", ".join(str(p) for p in paths))
    return EXIT_OK
