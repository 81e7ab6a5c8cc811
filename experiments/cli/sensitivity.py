"""``carry-unwind sensitivity``: Sobol' or Morris indices of a finished sweep's metric."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_OK,
    FORMATTER,
    UsageError,
    check_out_dir,
    check_utf8_path,
    out_path,
    require_extra,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``sensitivity`` to ``sub`` (the object ``add_subparsers`` returned)."""
    sens = sub.add_parser(
        "sensitivity",
        help="Sobol' or Morris sensitivity indices of a sweep's metric, as a table and a figure",
        description=(
            "Compute sensitivity indices, with confidence intervals, of one metric of a finished sweep\n"
            "(SALib): Sobol' first-order and total indices for a sweep with design = 'saltelli', Morris\n"
            "mu*/sigma for design = 'morris'. The metric is averaged over each point's replicates first.\n"
            "Writes sensitivity_<metric>.csv, .md (table), .png (bar chart with interval whiskers) and\n"
            ".json (what made them: code, sweep, bootstrap seed, SALib version); an --out that holds the\n"
            "same metric's tables of another sweep is refused."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind sensitivity out/sobol\n"
            "  carry-unwind sensitivity out/sobol --metric hf_failures_total --out figures/"
        ),
        formatter_class=FORMATTER,
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
        "--out", type=out_path, default=None, metavar="DIR", help="where to write the table and figure (default: DIR)"
    )
    sens.set_defaults(handler=_cmd_sensitivity)


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from experiments.analysis.sensitivity import noise_warning, run_sensitivity

    check_utf8_path(args.dir, "DIR")
    if not args.dir.is_dir():
        raise UsageError(
            f"DIR = {str(args.dir)!r} is not allowed; expected the directory of a sweep (carry-unwind sweep --out)"
        )
    check_out_dir(args.out if args.out is not None else args.dir)
    require_extra("sweep", "carry-unwind sensitivity", ["SALib"])
    result, paths = run_sensitivity(args.dir, metric=args.metric, method=args.method, out_dir=args.out)
    name = "Sobol' indices" if result.method == "sobol" else "Morris elementary effects"
    print(f"{name} of {result.metric} ({result.n_points} points x {result.replicates} replicates)")
    print(result.table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    warning = noise_warning(result)
    if warning is not None:  # the table alone would read as sensitivity
        print(f"NOTE: {warning}")
    print("written: " + ", ".join(str(p) for p in paths))
    return EXIT_OK
