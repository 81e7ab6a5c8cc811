"""The ``carry-unwind`` command line.

::

    carry-unwind run --scenario risk_off --days 250 --seed 7 --out out/risk_off
    carry-unwind run --config my.toml --set hedge_funds.max_leverage=5
    carry-unwind scenarios
    carry-unwind bench --funds 10000 --days 250
    carry-unwind app --port 8765

Bad input (an invalid configuration value, an unknown scenario, malformed TOML, a bad ``--set``)
is reported on one line, ``carry-unwind: error: <message>``, with exit status 2; a failure of the
market-clearing solver exits with status 1. Heavy modules (numba, matplotlib) are imported only by
the subcommands that need them, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main", "build_parser", "parse_set"]

PROG = "carry-unwind"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
OUTPUT_FILES = ("timeseries.parquet", "summary.json", "config.toml", "overview.png")


class UsageError(Exception):
    """Bad command-line input; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``carry-unwind: error: ...``) instead of usage dumps."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}{hint}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``["section.field=value", ...]`` → ``{"section.field": value}``.

    Values are read as TOML scalars: ``12`` is an integer, ``0.5`` or ``1e-3`` a float, ``true``
    a boolean, ``"x"`` a string; anything else that is not valid TOML is taken as a bare string
    (and then rejected by the configuration's type check if a number was expected).
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        section, dot, name = key.partition(".")
        if not sep or not dot or not section or not name or not raw:
            raise UsageError(f"bad --set {item!r}: expected section.field=value, e.g. hedge_funds.max_leverage=5")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        if isinstance(value, (dict, list)):
            raise UsageError(f"bad --set {item!r}: the value must be a number, true/false or a string")
        out[key] = value
    return out


# -- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from model import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Agent-based simulation of the yen carry-trade unwind (Mesa + numba).",
        epilog=(
            "examples:\n"
            "  carry-unwind run --scenario risk_off --days 250 --seed 7\n"
            "  carry-unwind scenarios\n"
            "  carry-unwind bench --funds 10000 --days 250\n"
            "  carry-unwind app                 # the browser app for students\n"
            "  carry-unwind sweep experiments/specs/leverage_grid.toml --out out/leverage_grid\n"
            "  carry-unwind sensitivity out/sobol_feedback\n"
            "  carry-unwind validate --out out/validate --workers 2\n"
            "  carry-unwind hypotheses --seeds 10 --out out/hypotheses --workers 2\n"
            "  carry-unwind figures --out out/figures --workers 2\n\n"
            "'carry-unwind COMMAND --help' explains each command's options."
        ),
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a scenario and write its time series, summary, configuration and figure",
        description=(
            "Run one scenario for a number of trading days and write, into the output directory:\n"
            "  timeseries.parquet  one row per trading day (day 0 = initial state)\n"
            "  summary.json        seed, scenario, package version, git commit, headline figures, full config\n"
            "  config.toml         the full configuration used (reusable with --config)\n"
            "  overview.png        six-panel figure of the run\n"
            "and print the headline figures. The configuration is built in layers: the defaults (or\n"
            "--config FILE), then the scenario's overrides, then each --set."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind run                                   # baseline, 500 days, seed 1 -> out/baseline\n"
            "  carry-unwind run --scenario risk_off --seed 7 --days 250\n"
            "  carry-unwind run --set hedge_funds.max_leverage=1 --out out/no_leverage\n"
            "  carry-unwind run --config out/baseline/config.toml --seed 2   # rerun a saved configuration"
        ),
        formatter_class=fmt,
    )
    run.add_argument(
        "--scenario",
        default="baseline",
        metavar="NAME|PATH",
        help="built-in scenario name (see 'carry-unwind scenarios') or path to a scenario .toml file "
        "(default: baseline)",
    )
    run.add_argument(
        "--days",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of trading days to simulate, > 0 (default: simulation.days of the configuration, 500)",
    )
    run.add_argument(
        "--seed",
        type=_seed,
        default=1,
        metavar="S",
        help="integer seed >= 0 for all random streams; the same seed gives the same run (default: 1)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory, created if missing; files in it are overwritten (default: out/<scenario name>)",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE.toml",
        help="base configuration, one TOML table per section, e.g. [hedge_funds] max_leverage = 5.0; "
        "missing fields keep their defaults (default: the built-in defaults)",
    )
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help='override one configuration field, value read as a TOML scalar (5, 0.5, true, "text"); '
        "repeatable; applied last (example: --set hedge_funds.n_funds=1000)",
    )
    run.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar (default: shown on stderr)"
    )
    run.add_argument(
        "--quiet",
        action="store_true",
        help="log only warnings and errors; implies --no-progress (default: log progress)",
    )
    run.set_defaults(handler=_cmd_run)

    scen = sub.add_parser(
        "scenarios",
        help="list the built-in scenarios",
        description="List the built-in scenarios (model/scenarios/*.toml) with their one-line descriptions.",
        formatter_class=fmt,
    )
    scen.set_defaults(handler=_cmd_scenarios)

    bench = sub.add_parser(
        "bench",
        help="time the numba engine against the pure-Mesa reference implementation",
        description=(
            "Time the same run with the numba engine (arrays, compiled kernels) and with the reference\n"
            "engine (one Python mesa.Agent per fund); prints a report ending in the speed-up.\n"
            "Both engines run the full model, so a large --funds with many --days takes a while."
        ),
        epilog="example:\n  carry-unwind bench --funds 10000 --days 250 --reps 3",
        formatter_class=fmt,
    )
    bench.add_argument(
        "--funds", type=_positive_int, required=True, metavar="N", help="number of hedge funds, > 0 (required)"
    )
    bench.add_argument(
        "--days", type=_positive_int, required=True, metavar="D", help="trading days per run, > 0 (required)"
    )
    bench.add_argument("--seed", type=_seed, default=1, metavar="S", help="integer seed >= 0 (default: 1)")
    bench.add_argument(
        "--reps", type=_positive_int, default=1, metavar="R", help="timed repetitions of each engine, > 0 (default: 1)"
    )
    bench.set_defaults(handler=_cmd_bench)

    from experiments.app_server import register as register_app  # app

    register_app(sub)

    from experiments.sweep_cli import register as register_sweep  # sweep, sensitivity

    register_sweep(sub)

    from experiments.validate import register as register_validate  # validate

    register_validate(sub)

    from experiments.hypotheses import register as register_hypotheses  # hypotheses

    register_hypotheses(sub)

    from experiments.figures import register as register_figures  # figures

    register_figures(sub)
    return parser


# -- logging -----------------------------------------------------------------------------------


OWN_LOGGERS = ("model", "agents", "experiments")


def _project_info_only(record: logging.LogRecord) -> bool:
    """Informational messages from this project only; warnings and errors from everyone.

    (Mesa logs every step at INFO, which would drown the few lines worth reading.)
    """
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in OWN_LOGGERS


@contextlib.contextmanager
def _logging(level: int) -> Iterator[None]:
    """A concise stderr handler on the root logger for the duration of one command.

    Added and removed again (rather than ``logging.basicConfig``), so that calling :func:`main`
    repeatedly, e.g. from tests, neither stacks handlers nor removes other handlers.
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


# -- commands ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _context(where: str) -> Iterator[None]:
    """Prefix a ConfigError's message with where the bad value came from, unless it says so already."""
    from model.validation import ConfigError

    try:
        yield
    except ConfigError as exc:
        if str(exc).startswith(where):
            raise
        raise ConfigError(f"{where}: {exc}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from experiments.plots import plot_overview, save_figure
    from model.config import ModelConfig
    from model.results import run_simulation, save
    from model.scenarios import load_scenario

    base = None
    if args.config is not None:
        with _context(str(args.config)):
            base = ModelConfig.from_toml(args.config)
    scenario = load_scenario(args.scenario, base=base)
    config = scenario.config
    if args.sets:
        with _context("--set"):
            config = config.with_overrides(parse_set(args.sets))
    out = args.out if args.out is not None else Path("out") / scenario.name

    result = run_simulation(
        config, scenario=scenario, seed=args.seed, days=args.days, progress=args.progress and not args.quiet
    )
    try:
        save(result, out)
        events = [(e.day, e.kind.replace("_", " ")) for e in scenario.events if e.day <= result.days]
        fig = plot_overview(
            result.timeseries,
            title=f"{scenario.name} · seed {result.seed} · {result.days} trading days",
            events=events,
            tolerance=result.config.simulation.clearing_tolerance,
        )
        save_figure(fig, out / "overview.png")
    except OSError as exc:
        print(f"{PROG}: error: cannot write the results to {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(_summary_table(result.summary, scenario=scenario.name, seed=result.seed, out=out))
    return EXIT_OK


def _fmt(value: Any, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def _days(n: int) -> str:
    return f"{n} trading day" if n == 1 else f"{n} trading days"


def _summary_table(s: dict[str, Any], *, scenario: str, seed: int, out: Path) -> str:
    """The headline figures as a short two-column table."""
    surge = (
        f"{_fmt(s['usdjpy_max_fall_pct'], '.1f', '%')} fall in USD/JPY over {_days(s['usdjpy_max_fall_days'])} "
        f"(day {s['usdjpy_max_fall_peak_day']} → {s['usdjpy_max_fall_trough_day']})"
        if s["usdjpy_max_fall_pct"]
        else "none (USD/JPY never fell)"
    )
    rows = [
        ("scenario", scenario),
        ("seed", str(seed)),
        ("trading days", str(s["days"])),
        (
            "USD/JPY",
            f"{_fmt(s['usdjpy_start'], '.2f')} → {_fmt(s['usdjpy_end'], '.2f')}  "
            f"(range {_fmt(s['usdjpy_min'], '.2f')}–{_fmt(s['usdjpy_max'], '.2f')})",
        ),
        ("largest yen surge", surge),
        ("carry stock drawdown", _fmt(s["hf_gross_max_drawdown_pct"], ".1f", "% (hedge funds' gross position)")),
        ("margin calls", _fmt(s["hf_margin_calls_total"], ",d")),
        ("fund failures", _fmt(s["hf_failures_total"], ",d")),
        ("peak risk index", _fmt(s["risk_index_peak"], ".1f")),
        (
            "UST 10y / JGB 10y change",
            f"{_fmt(s['ust10y_change_bp'], '+.0f', ' bp')} / {_fmt(s['jgb10y_change_bp'], '+.0f', ' bp')}",
        ),
        (
            "clearing residual",
            f"max {_fmt(s['clearing_residual_max'], '.1e')} "
            f"(mean {_fmt(s['clearing_iterations_mean'], '.1f')} Newton iterations/day)",
        ),
        ("output", f"{out}/  ({', '.join(OUTPUT_FILES)})"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from model.scenarios import list_scenarios

    scenarios = list_scenarios()
    width = max((len(name) for name in scenarios), default=0)
    for name, description in scenarios.items():
        print(f"{name:<{width}}  {description}")
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from experiments.bench import run_benchmark
    except ModuleNotFoundError as exc:
        if exc.name != "experiments.bench":
            raise
        print(
            f"{PROG}: error: the benchmark (experiments/bench.py) is not available in this installation",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    run_benchmark(n_funds=args.funds, days=args.days, seed=args.seed, reps=args.reps)
    return EXIT_OK


# -- entry point -------------------------------------------------------------------------------


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
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if args.command is None:
        commands = "run, scenarios, bench, sweep, sensitivity, validate or app"
        print(f"{PROG}: error: choose a command: {commands} (see '{PROG} --help')", file=sys.stderr)
        return EXIT_USAGE

    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    with _logging(level):
        try:
            return args.handler(args)
        except (ConfigError, UsageError) as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            # model.clearing pulls in numba: look the class up only if a run has loaded it
            clearing = sys.modules.get("model.clearing")
            if clearing is not None and isinstance(exc, clearing.ClearingError):
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                return EXIT_FAILURE
            raise


if __name__ == "__main__":
    sys.exit(main())
