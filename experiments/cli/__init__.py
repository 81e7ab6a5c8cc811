"""The ``carry-unwind`` command line: one module per command, :mod:`experiments.cli.common` for what they share.

``carry-unwind`` (the console script) and ``python -m experiments.cli`` both call :func:`main`.
"""

from experiments.cli.common import parse_set
from experiments.cli.entry import build_parser, main

__all__ = ["main", "build_parser", "parse_set"]
