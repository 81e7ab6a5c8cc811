"""``carry-unwind scenarios``: the built-in scenarios and their one-line descriptions."""

from __future__ import annotations

import argparse
from typing import Any

from experiments.cli.common import EXIT_OK, FORMATTER

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``scenarios`` to ``sub`` (the object ``add_subparsers`` returned)."""
    scen = sub.add_parser(
        "scenarios",
        help="list the built-in scenarios",
        description="List the built-in scenarios (model/scenarios/*.toml) with their one-line descriptions.",
        formatter_class=FORMATTER,
    )
    scen.set_defaults(handler=_cmd_scenarios)


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from model.scenarios import list_scenarios

    scenarios = list_scenarios()
    width = max((len(name) for name in scenarios), default=0)
    for name, description in scenarios.items():
        print(f"{name:<{width}}  {description}")
    return EXIT_OK
