"""``carry-unwind compare``: scenarios and saved runs side by side, over seeds (:mod:`experiments.analysis.compare`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    FORMATTER,
    PROG,
    UsageError,
    check_horizon,
    check_out_dir,
    check_utf8_path,
    out_path,
    positive_int,
    print_error,
    print_warning,
    seed_list,
    worker_count,
)

__all__ = ["register", "DEFAULT_SEEDS", "DEFAULT_OUT"]

DEFAULT_SEEDS = "1-10"
DEFAULT_OUT = Path("out") / "compare"


def register(sub: Any) -> None:
    """Add ``compare`` to ``sub`` (the object ``add_subparsers`` returned)."""
    p = sub.add_parser(
        "compare",
        help="compare scenarios and saved runs over seeds: a table with paired differences and a figure",
        description=(
            "Compare two or more arms, each a built-in scenario (or a scenario .toml file), run once\n"
            "per seed, or a directory saved by 'carry-unwind run' (one run, or one per seed with\n"
            "--seeds). Writes into DIR:\n"
            "  compare.csv           tidy table: per arm and headline figure, the median and the 5-95%\n"
            "                        range over seeds, and the difference from the FIRST arm paired by\n"
            "                        seed (median, mean and a 95% Student-t interval of the mean)\n"
            "  compare.md            the same table for reading\n"
            "  compare.png, .pdf     USD/JPY's median path with its 5-95% band per arm, and the\n"
            "                        headline figures per arm; provenance in the file metadata\n"
            "  compare.json          provenance (version, git commit, seeds, command) and the numbers\n"
            "Scenarios share the seeds, so a difference compares the same random shocks under two\n"
            "scenarios. The same command gives the same numbers, whatever --workers."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind compare baseline risk_off --seeds 1-10 --out out/cmp\n"
            "  carry-unwind compare baseline boj_hike_2024 risk_off --days 250 --workers 2\n"
            "  carry-unwind compare out/baseline-seeds1-10 risk_off --out out/cmp2   # a saved run vs a scenario"
        ),
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "arms",
        nargs="+",
        metavar="RUN_OR_SCENARIO",
        help="a saved run directory, a built-in scenario name (see 'carry-unwind scenarios') or a scenario "
        ".toml file; the first is the reference of the differences",
    )
    p.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        metavar="LIST",
        help=f"seeds of the scenario runs: a range 1-10, a list 1,3,7 or both (default: {DEFAULT_SEEDS}; "
        "saved runs keep their own seeds)",
    )
    p.add_argument(
        "--days",
        type=positive_int,
        default=None,
        metavar="N",
        help="trading days of each scenario run, > 0 (default: the saved runs' horizon if any are given, "
        "else the scenario's simulation.days, 500)",
    )
    p.add_argument(
        "--out",
        type=out_path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output directory, created if missing; compare.* files in it are replaced (default: {DEFAULT_OUT})",
    )
    p.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        metavar="W",
        help="worker processes for the scenario runs; results do not depend on it (default: 1)",
    )
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar (default: shown on stderr)"
    )
    p.add_argument("--quiet", action="store_true", help="log only warnings and errors; implies --no-progress")
    p.set_defaults(handler=_cmd_compare, resumable=True)


def _cmd_compare(args: argparse.Namespace) -> int:
    from experiments.analysis.compare import CompareError, saved_arm, scenario_arm, write_comparison
    from experiments.runner import TaskFailed
    from model.results import DamagedRunError
    from model.scenarios import load_scenario
    from model.validation import ConfigError, shown

    if len(args.arms) < 2:
        raise UsageError("compare needs at least two runs or scenarios, e.g. 'carry-unwind compare baseline risk_off'")
    check_out_dir(args.out)
    seeds = args.seeds if args.seeds is not None else seed_list(DEFAULT_SEEDS)
    progress = args.progress and not args.quiet

    # read every argument before running anything: a typo fails at once
    kinds: list[tuple[str, Any]] = []
    for item in args.arms:
        path = Path(item)
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError:  # a name too long for the file system: not a saved run; load_scenario says why
            is_dir = exists = False
        if is_dir:  # a saved run: its folder's name labels the arm in the table printed and written
            check_utf8_path(item, "a saved run's folder")
            _check_finished(path, item)
            try:
                kinds.append(("saved", saved_arm(path)))
            except CompareError as exc:
                raise UsageError(f"{item!r}: {exc}") from None
            except (OSError, DamagedRunError, ConfigError) as exc:  # a saved run that is damaged or unreadable
                raise UsageError(f"cannot read the saved run {item!r}: {_reason(exc)}") from None
            continue
        try:
            kinds.append(("scenario", load_scenario(item)))
        except ConfigError as exc:
            if not exists and path.suffix != ".toml":
                raise ConfigError(f"{shown(item, 60)} is not a saved run directory, and {exc}") from None
            raise

    saved_days = sorted({arm.days for kind, arm in kinds if kind == "saved"})
    if len(saved_days) > 1:
        raise UsageError(f"the saved runs have different horizons ({saved_days} trading days); compare like with like")
    if saved_days and args.days is not None and args.days != saved_days[0]:
        raise UsageError(
            f"--days {args.days}: the saved runs have {saved_days[0]} trading days; "
            f"use --days {saved_days[0]} (or leave it out) so that every arm covers the same horizon"
        )
    days = args.days if args.days is not None else (saved_days[0] if saved_days else None)
    if days is not None:  # the configuration's bounds on a horizon (its last date too), before any run
        flag = "--days" if args.days is not None else f"the saved runs' horizon ({days} trading days)"
        for kind, value in kinds:
            if kind == "scenario":
                check_horizon(value, days, flag)

    arms = []
    for kind, value in kinds:
        if kind == "saved":
            arms.append(value)
            continue
        try:
            arms.append(scenario_arm(value, seeds=seeds, days=days, workers=args.workers, progress=progress))
        except TaskFailed as exc:
            print_error(f"scenario {value.name}, seed {seeds[exc.index]}: {exc.__cause__}")
            return EXIT_FAILURE
    _unique_labels(arms)
    horizons = sorted({a.days for a in arms})
    if len(horizons) > 1:
        raise UsageError(f"the arms cover different horizons ({horizons} trading days); set --days")

    for arm in arms[1:]:  # a difference is paired by seed: none without a common seed, no interval with one
        common = set(arm.seeds) & set(arms[0].seeds)
        if len(common) < 2:
            lacks = "no paired difference (Δ)" if not common else "a paired difference (Δ) from one seed, no interval"
            print_warning(
                f"{arm.label} shares {len(common) or 'no'} seed{'' if len(common) == 1 else 's'} with {arms[0].label}, "
                f"so {lacks}: its seeds are {_seed_text(arm.seeds)}, {arms[0].label}'s {_seed_text(arms[0].seeds)} "
                "(give the scenarios the saved runs' seeds with --seeds)"
            )
    table, files = write_comparison(args.out, arms, command=_command(args, seeds))
    print(_console(table, arms))
    print("written: " + ", ".join(str(p) for p in files))
    return EXIT_OK


def _check_finished(path: Path, item: str) -> None:
    """Refuse the directory of a ``run --seeds`` that has not finished: it holds ``seed-N`` runs, not the
    table over seeds that the command writes last (``seeds.csv``), and the command's checkpoint beside it
    (:func:`experiments.runner.beside`), which records the seeds it was to run, is still there.

    Without that checkpoint nothing says that a command was cut short, or how many seeds there were to
    be: ``seed-N`` runs saved from Python with :func:`model.results.save` are laid out the same way, and
    are compared as they are.
    """
    import re

    from experiments.cli.run import SEEDS_FILE
    from experiments.runner import beside, checkpoint_settings
    from model.results import COMPLETE_FILE, is_run_dir

    if is_run_dir(path) or (path / SEEDS_FILE).is_file():
        return
    seed_dirs = [p for p in path.iterdir() if re.fullmatch(r"seed-\d+", p.name) and p.is_dir()]
    if not seed_dirs:
        return
    done = sum((p / COMPLETE_FILE).is_file() for p in seed_dirs)
    recorded = checkpoint_settings(beside(path)) or {}
    wanted = recorded.get("seeds")
    if not (isinstance(wanted, list) and wanted):
        return
    again = (
        f"{PROG} run --scenario {recorded.get('scenario', '...')} --days {recorded.get('days', '...')} --seeds "
        f"{_seed_range(wanted)} ... --out {shlex.quote(item)}"
    )
    raise UsageError(
        f"{item!r} is an unfinished '{PROG} run --seeds' directory: it holds {done} of its {len(wanted)} seeds and "
        f"no {SEEDS_FILE}; rerun '{again}' (with the other options it had) to finish it"
    )


def _seed_range(seeds: list[Any]) -> str:
    """``1-10`` for consecutive seeds, else the comma list (cut after a few)."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    listed = ",".join(map(str, seeds[:8]))
    return listed + (",..." if len(seeds) > 8 else "")


def _seed_text(seeds) -> str:
    """A few seeds, for a message."""
    seeds = sorted(seeds)
    return ",".join(map(str, seeds[:5])) + (f",... ({len(seeds)})" if len(seeds) > 5 else "")


def _reason(exc: Exception) -> str:
    """What went wrong reading a file, in one line: an OSError's file and reason, else the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return " ".join(str(exc).split())


def _command(args: argparse.Namespace, seeds: list[int]) -> str:
    """The command line that reproduces the comparison (seeds written out)."""
    contiguous = len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1))
    listed = f"{seeds[0]}-{seeds[-1]}" if contiguous else ",".join(map(str, seeds))
    parts = [PROG, "compare", *(shlex.quote(a) for a in args.arms), "--seeds", listed]
    if args.days is not None:
        parts += ["--days", str(args.days)]
    return " ".join([*parts, "--out", shlex.quote(str(args.out))])


def _unique_labels(arms: list[Any]) -> None:
    """Two arms with one name (a scenario and its saved run) get numbered labels."""
    import dataclasses

    seen: dict[str, int] = {}
    for i, arm in enumerate(arms):
        n = seen.get(arm.label, 0)
        seen[arm.label] = n + 1
        if n:
            arms[i] = dataclasses.replace(arm, label=f"{arm.label} ({n + 1})")


def _interval(lo: float, hi: float, pairs: int) -> str:
    """``[lo, hi]`` of a difference, or why there is none (one seed gives no interval, not ``[nan, nan]``)."""
    import math

    if math.isfinite(lo) and math.isfinite(hi):
        return f"[{lo:+.3g}, {hi:+.3g}]"
    return "no interval (one seed)" if pairs == 1 else "no interval"


def _console(table: Any, arms: list[Any]) -> str:
    """A short table on the terminal: per headline figure, each arm's median [5-95%]."""
    from experiments.analysis.compare import HEADLINE_METRICS

    names = [a.label for a in arms]
    rows = [("", *(f"{n} ({len(a.seeds)} runs)" for n, a in zip(names, arms, strict=True)))]
    for metric, label in HEADLINE_METRICS.items():
        part = table[table["metric"] == metric].set_index("arm")
        cells = []
        for i, n in enumerate(names):
            cell = f"{part.at[n, 'median']:.4g} [{part.at[n, 'q05']:.4g}, {part.at[n, 'q95']:.4g}]"
            if i and part.at[n, "n_pairs"]:
                lo, hi = part.at[n, "diff_ci95_lo"], part.at[n, "diff_ci95_hi"]
                cell += f"  Δ {part.at[n, 'diff_mean']:+.3g} " + _interval(lo, hi, part.at[n, "n_pairs"])
            cells.append(cell)
        rows.append((label, *cells))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    note = f"median [5-95% over seeds]; Δ = mean difference from {names[0]}, paired by seed [95% Student-t interval]"
    return "\n".join([*lines, note])
