"""``carry-unwind app``: start the browser app's server (:mod:`experiments.app`) and print its address."""

from __future__ import annotations

import argparse
from typing import Any

from experiments.app.server import DEFAULT_HOST, DEFAULT_PORT, host_problem, serve  # the standard library only
from experiments.cli.common import FORMATTER, UsageError, host_address, port_int, require_extra

__all__ = ["register"]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add ``app`` to ``sub`` (the object ``add_subparsers`` returned)."""
    parser = sub.add_parser(
        "app",
        help="start the browser app for students (Mesa's SolaraViz) and print its address",
        description=(
            "Start the interactive browser app: pick a scenario and parameters, step or play the\n"
            "model, fire shocks (BoJ hike, Fed cut, Fed cuts priced, weak US data, sentiment jump (set by hand),\n"
            "supplementary budget, MoF intervention) and watch live charts, each with a short\n"
            "explanation. It runs offline\n"
            "(the JavaScript comes from the solara-assets package) and, by default, only this\n"
            "machine can reach it. Ctrl+C stops the server."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind app                      # http://127.0.0.1:8765/\n"
            "  carry-unwind app --port 9000\n"
            "  carry-unwind app --scenario boj_hike_2024   # opens there, sliders at its values\n"
            "  carry-unwind app --host 0.0.0.0       # reachable from other machines (a classroom)"
        ),
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "--host",
        type=host_address,
        default=DEFAULT_HOST,
        metavar="ADDRESS",
        help=f"IP address or host name to listen on; 0.0.0.0 for every network interface "
        f"(default: {DEFAULT_HOST}, this machine only)",
    )
    parser.add_argument(
        "--port", type=port_int, default=DEFAULT_PORT, metavar="N", help=f"TCP port, 1-65535 (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--scenario",
        default=None,
        metavar="NAME",
        help="built-in scenario the page opens with; the sliders start at its values, so in it any value "
        "can be set, the baseline's included (default: baseline; `carry-unwind scenarios` lists them)",
    )
    parser.set_defaults(handler=_cmd_app)
    return parser


def _cmd_app(args: argparse.Namespace) -> int:
    # before anything starts: a host that does not resolve, or is another machine's, would fail only in
    # the server, with an error that reads like a port in use
    problem = host_problem(args.host)
    if problem:
        raise UsageError(
            f"--host = {args.host!r} is not allowed; {problem}; expected an IP address or a host name of this "
            "machine, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface)"
        )
    require_extra("app", "carry-unwind app")
    if args.scenario is not None:
        from model.scenarios import list_scenarios

        names = list_scenarios()
        if args.scenario not in names:
            raise UsageError(
                f"--scenario {args.scenario!r} is not allowed; expected a built-in scenario: {', '.join(names)}"
            )
    return serve(args.host, args.port, args.scenario)
