"""Logging for the commands and for batches of runs: the one place both are set up.

:func:`command_logging` gives one command a concise stderr handler; :func:`quiet_model_logs`
silences the per-run INFO lines (model set-up, scenario events, Mesa steps) while many runs go.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence

__all__ = ["OWN_LOGGERS", "QUIET_LOGGERS", "command_logging", "quiet_model_logs"]

OWN_LOGGERS = ("model", "agents", "experiments")
# what logs once per run: the model and its sectors, Mesa, and the experiments that run many models
QUIET_LOGGERS = ("model", "agents", "MESA", "experiments.sweeps", "experiments.analysis.hypotheses")


@contextlib.contextmanager
def quiet_model_logs(names: Sequence[str] = QUIET_LOGGERS) -> Iterator[None]:
    """Silence the per-run INFO lines (model set-up, scenario events, Mesa steps) while many runs go.

    Warnings and errors still pass; the loggers' levels are restored on exit.
    """
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _project_info_only(record: logging.LogRecord) -> bool:
    """Informational messages from this project only; warnings and errors from everyone.

    (Mesa logs every step at INFO, which would drown the few lines worth reading.)
    """
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in OWN_LOGGERS


@contextlib.contextmanager
def command_logging(level: int) -> Iterator[None]:
    """A concise stderr handler on the root logger for the duration of one command.

    Added and removed again (rather than ``logging.basicConfig``), so that calling the command
    line repeatedly, e.g. from tests, neither stacks handlers nor removes other handlers.
    """
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_project_info_only)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.setLevel(level)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, old_level) if old_level != logging.NOTSET else level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
