"""``carry-unwind run``: one scenario, its time series, summary, configuration and figure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    FORMATTER,
    config_context,
    parse_set,
    positive_int,
    print_error,
    seed_int,
    table,
)

__all__ = ["register", "OUTPUT_FILES"]

OUTPUT_FILES = ("timeseries.parquet", "summary.json", "config.toml", "overview.png")


def register(sub: Any) -> None:
    """Add ``run`` to ``sub`` (the object ``add_subparsers`` returned)."""
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
        formatter_class=FORMATTER,
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
        type=positive_int,
        default=None,
        metavar="N",
        help="number of trading days to simulate, > 0 (default: simulation.days of the configuration, 500)",
    )
    run.add_argument(
        "--seed",
        type=seed_int,
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


def _cmd_run(args: argparse.Namespace) -> int:
    from experiments.analysis.plots import plot_overview, save_figure
    from model.config import ModelConfig
    from model.results import run_simulation, save
    from model.scenarios import load_scenario

    base = None
    if args.config is not None:
        with config_context(str(args.config)):
            base = ModelConfig.from_toml(args.config)
    scenario = load_scenario(args.scenario, base=base)
    config = scenario.config
    if args.sets:
        with config_context("--set"):
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
        print_error(f"cannot write the results to {out}: {exc.strerror or exc}")
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
    return table(rows)
