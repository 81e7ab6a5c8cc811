"""The ``carry-unwind`` entry point: the argument parser of all commands, and :func:`main`.

::

    carry-unwind run --scenario risk_off --days 250 --seed 7 --out out/risk_off
    carry-unwind run --config my.toml --set hedge_funds.max_leverage=5
    carry-unwind scenarios
    carry-unwind bench --funds 10000 --days 250
    carry-unwind app --port 8765
    carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid
    carry-unwind validate --out out/validate

Bad input (an invalid configuration value, an unknown scenario, malformed TOML, a bad ``--set``)
is reported on one line, ``carry-unwind: error: <message>``, with exit status 2; a failure of the
market-clearing solver, or of writing the output (a full disk), exits with status 1; a closed
pipe (``carry-unwind scenarios | head -1``) ends quietly with status 141. Heavy modules (numba,
matplotlib) are imported only by the commands that run them, so ``--help`` and ``--version``
answer at once.

One module per command (``experiments/cli/<command>.py``, each with a ``register(sub)`` that adds
its parser) and one helper module for what they share (:mod:`experiments.cli.common`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.cli import (
    app,
    bench,
    compare,
    figures,
    hypotheses,
    params,
    run,
    scenarios,
    sensitivity,
    sweep,
    validate,
)
from experiments.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FORMATTER,
    PROG,
    MissingExtra,
    Parser,
    UsageError,
    print_error,
)
from experiments.logs import command_logging
from model.numba_cache import damage_message

__all__ = ["main", "build_parser", "COMMANDS"]

# in the order `carry-unwind --help` lists them
COMMANDS = (run, scenarios, params, compare, bench, app, sweep, sensitivity, validate, hypotheses, figures)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from model import __version__

    parser = Parser(
        prog=PROG,
        description="Agent-based simulation of the yen carry-trade unwind (Mesa + numba).",
        epilog=(
            "examples:\n"
            "  carry-unwind run --scenario risk_off --days 250 --seed 7\n"
            "  carry-unwind scenarios\n"
            "  carry-unwind params hedge_funds   # configuration fields: unit, range, default, source\n"
            "  carry-unwind compare baseline risk_off --seeds 1-10 --out out/cmp\n"
            "  carry-unwind bench --funds 10000 --days 250\n"
            "  carry-unwind app                 # the browser app for students\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid\n"
            "  carry-unwind sensitivity out/sobol_feedback\n"
            "  carry-unwind validate --out out/validate --workers 2\n"
            "  carry-unwind hypotheses --seeds 10 --out out/hypotheses --workers 2\n"
            "  carry-unwind figures --out out/figures --workers 2\n\n"
            "'carry-unwind COMMAND --help' explains each command's options."
        ),
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad input).

    ``--help`` and ``--version`` return 0 rather than raising ``SystemExit``, so ``main`` can be
    called from tests and notebooks.
    """
    from model.validation import ConfigError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse's own errors
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _closed_pipe()
        except OSError as err:
            print_error(f"cannot write the output: {err.strerror or err}")
            return EXIT_FAILURE
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if args.command is None:
        commands = "run, scenarios, params, compare, bench, app, sweep, sensitivity, validate, hypotheses or figures"
        print_error(f"choose a command: {commands} (see '{PROG} --help')")
        return EXIT_USAGE

    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    with command_logging(level):
        try:
            from experiments.runner import CodeMismatch, OutputBusy, beside, command_settings, output_lock, resumable
            from model.numba_cache import CacheDamaged

            # a command that runs many models keeps its finished runs beside its output until it completes
            where = beside(args.out) if getattr(args, "resumable", False) else None
            with output_lock(_locked_output(args)), resumable(where, command_settings(args)) as checkpoint:
                status = args.handler(args)
                if checkpoint is not None and status != EXIT_OK:  # failed without raising: keep the finished runs
                    checkpoint.keep()
            sys.stdout.flush()  # a closed pipe or a full disk shows here, not at interpreter exit
            return status
        except (ConfigError, UsageError) as exc:
            print_error(str(exc))
            return EXIT_USAGE
        except (OutputBusy, CodeMismatch, CacheDamaged) as exc:  # another writer, other code, a broken cache
            print_error(str(exc))
            return EXIT_FAILURE
        except MissingExtra as exc:  # an optional dependency is not installed
            print_error(str(exc))
            return EXIT_FAILURE
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return _closed_pipe()
        except UnicodeDecodeError as exc:  # a file read as text somewhere that is not UTF-8
            print_error(f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")
            return EXIT_USAGE
        except OSError as exc:  # a full disk, a file that vanished, a permission changed mid-run
            what = f"read or write {exc.filename}" if exc.filename else "write the output"
            print_error(f"cannot {what}: {exc.strerror or exc}")
            return EXIT_FAILURE
        except Exception as exc:
            damaged = damage_message(exc)  # raised while numba read its cache: the folder to delete
            if damaged is not None:
                print_error(damaged)
                return EXIT_FAILURE
            # model.clearing pulls in numba: look the class up only if a run has loaded it
            clearing = sys.modules.get("model.clearing")
            if clearing is not None and isinstance(exc, clearing.ClearingError):
                print_error(str(exc))
                return EXIT_FAILURE
            accounting = sys.modules.get("model.accounting")
            if accounting is not None and isinstance(exc, accounting.AccountingError):  # a bug, not bad input
                print_error(f"the run's accounting does not add up: {exc} (a bug in the model: please report it "
                            "with the command that gave it)")  # fmt: skip
                return EXIT_FAILURE
            raise


def _locked_output(args: argparse.Namespace) -> Path | None:
    """The output a command writes, which it locks for its duration (:func:`experiments.runner.output_lock`):
    ``--out`` of every command but ``sweep``, which locks its folder itself; None without one."""
    out = getattr(args, "out", None)
    return out if isinstance(out, Path) and args.command != "sweep" else None


def _closed_pipe() -> int:
    """The reader of stdout went away (``carry-unwind scenarios | head -1``): stop quietly.

    Python would otherwise report the pipe again when it flushes stdout at exit; pointing stdout
    at /dev/null prevents that (the recipe of the ``signal`` module's documentation).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in a test)
        pass
    return EXIT_BROKEN_PIPE
