"""``carry-unwind run``: one scenario, its time series, summary, configuration and figure."""

from __future__ import annotations

import argparse
import contextvars
import logging
import re
from pathlib import Path
from typing import Any

from experiments.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    FORMATTER,
    UsageError,
    add_set_option,
    check_out_dir,
    config_context,
    out_path,
    parse_set,
    positive_int,
    print_error,
    print_warning,
    seed_int,
    seed_list,
    table,
    worker_count,
)

__all__ = ["register", "OUTPUT_FILES", "SEEDS_FILE", "SEEDS_SUMMARY_FILE", "HEADLINE"]

OUTPUT_FILES = ("timeseries.parquet", "summary.json", "config.toml", "overview.png", "complete")
SEEDS_FILE = "seeds.csv"  # --seeds: one row per seed, the headline figures
SEEDS_SUMMARY_FILE = "seeds_summary.csv"  # --seeds: median and 5-95% range of each headline figure
SERIAL_SEED_DAYS = 5_000  # --seeds jobs up to this many seed-days run in this process

# the headline figures of the table over seeds: (summary key, label with unit)
HEADLINE = (
    ("usdjpy_end", "USD/JPY at the end"),
    ("usdjpy_surge_60d_pct", "largest yen surge within 60 days, % fall in USD/JPY"),
    ("usdjpy_surge_60d_days", "  its length, trading days"),
    ("usdjpy_max_fall_pct", "largest fall over the whole run, %"),
    ("hf_gross_max_drawdown_pct", "carry stock drawdown, %"),
    ("hf_margin_calls_total", "margin calls"),
    ("hf_failures_total", "fund failures"),
    ("risk_index_peak", "peak risk index"),
    ("ust10y_change_bp", "UST 10y change, bp"),
    ("jgb10y_change_bp", "JGB 10y change, bp"),
    ("clearing_residual_max", "max clearing residual"),
)


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
            "  complete            written last: a directory without it was cut short\n"
            "  timeseries.csv      with --csv, the time series as CSV too\n"
            "and print the headline figures. The directory is written beside its final name and\n"
            "renamed into place, so a killed run never leaves half a directory; an existing run\n"
            "directory is replaced only with --force. With --seeds, each seed's run goes into\n"
            "DIR/seed-N/ and DIR/seeds.csv, DIR/seeds_summary.csv hold the headline figures per\n"
            "seed and their median and 5-95% range. The configuration is built in layers: the\n"
            "defaults (or --config FILE), then the scenario's overrides, then each --set; a field\n"
            "that --config FILE sets and the scenario overrides to another value is an error."
        ),
        epilog=(
            "examples:\n"
            "  carry-unwind run                                   # baseline, 500 days, seed 1 -> out/baseline-seed1\n"
            "  carry-unwind run --scenario risk_off --seed 7 --days 250\n"
            "  carry-unwind run --set hedge_funds.max_leverage=1 --out out/no_leverage\n"
            "  carry-unwind run --config out/baseline-seed1/config.toml --seed 2   # rerun a saved configuration\n"
            "  carry-unwind run --scenario risk_off --seeds 1-10 --days 250   # 10 seeds, median and 5-95% range"
        ),
        formatter_class=FORMATTER,
    )
    run.add_argument(
        "--scenario",
        default=None,
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
        default=None,
        metavar="S",
        help="integer seed >= 0 for all random streams; the same seed gives the same run (default: 1)",
    )
    run.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        metavar="LIST",
        help="run once per seed, a range or comma list such as 1-10 or 1,3,7; each run goes into "
        "DIR/seed-N/, with a table over seeds (default: one run, --seed)",
    )
    run.add_argument(
        "--workers",
        type=worker_count,
        default=None,
        metavar="W",
        help="with --seeds: worker processes; results do not depend on it (default: 1 for small jobs, "
        "else the CPU cores this process may use)",
    )
    run.add_argument(
        "--out",
        type=out_path,
        default=None,
        metavar="DIR",
        help="output directory, created if missing; an existing run there is replaced only with --force "
        "(default: out/<scenario name>-seed<seed>, or out/<scenario name>-seeds<LIST> with --seeds)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in the output directory (default: refuse to overwrite it)",
    )
    run.add_argument(
        "--csv",
        action="store_true",
        help="also write the time series as timeseries.csv beside timeseries.parquet (default: parquet only)",
    )
    run.add_argument(
        "--check-every-day",
        action="store_true",
        help="check every accounting identity after each day, not only on the final state (about half again "
        "the run's time; the same numbers)",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE.toml",
        help="base configuration, one TOML table per section, e.g. [hedge_funds] max_leverage = 5.0; "
        "missing fields keep their defaults; a field it sets that the scenario overrides to another value is "
        "an error (default: the built-in defaults)",
    )
    add_set_option(
        run,
        'override one configuration field, value read as a TOML scalar (5, 0.5, true, "text"); '
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
    from model.config import ModelConfig
    from model.scenarios import load_scenario
    from model.validation import read_text_file

    if args.seeds is not None and args.seed is not None:
        raise UsageError("--seed and --seeds do not go together; give one of them")
    seed = 1 if args.seed is None else args.seed
    if args.workers is not None and args.seeds is None:
        raise UsageError("--workers goes with --seeds")
    base = None
    if args.config is not None:
        with config_context("--config"):  # read once: a pipe (--config <(...)) can be read only once
            text = read_text_file(args.config, "configuration")
            base = ModelConfig.from_toml_text(text, str(args.config))
    if args.config is not None and args.scenario is None:
        _check_config_saved_without_its_scenario(args.config)
    scenario = load_scenario("baseline" if args.scenario is None else args.scenario, base=base)
    sets = parse_set(args.sets)
    if args.days is not None and sets.get("simulation.days", args.days) != args.days:
        from model.validation import shown

        raise UsageError(
            f"--days {args.days} and --set simulation.days = {shown(sets['simulation.days'])} do not agree; "
            "give the number of days once"
        )
    if base is not None:  # a field --set or --days gives is no conflict: the value is said outright
        given = {*sets, *(("simulation.days",) if args.days is not None else ())}
        _check_config_against_scenario(args.config, text, base, scenario, named=args.scenario is not None,
                                       given=given)  # fmt: skip
    config = scenario.config
    if sets:
        with config_context("--set"):
            config = config.with_overrides(sets)
    if args.days is not None:
        with config_context("--days"):
            config = config.with_overrides({"simulation.days": args.days})
    days = config.simulation.days
    if config.market.start_date != scenario.config.market.start_date:  # dated events fire on their dates
        import dataclasses

        from model.scenarios import events_for

        with config_context("--set"):
            scenario = dataclasses.replace(scenario, events=events_for(scenario, config.market.start_date))
    _warn_late_events(scenario, days)
    if args.seeds is None:
        from experiments.runner import output_lock

        out = args.out if args.out is not None else _default_out(f"{scenario.name}-seed{seed}", "--seed")
        # --out's lock is the command line's; the default folder's is taken here, before it is checked
        with output_lock(out if args.out is None else None):
            _check_target(out, args.force)
            task = {"config": config, "scenario": scenario, "seed": seed, "out": out, "csv": args.csv,
                    "force": args.force, "check_every_day": args.check_every_day}  # fmt: skip
            try:
                summary = run_one(task, progress=args.progress and not args.quiet)
            except OSError as exc:
                print_error(f"cannot write the results to {out}: {exc.strerror or exc}")
                return EXIT_FAILURE
        print(_summary_table(summary, scenario=scenario.name, seed=seed, out=out, csv=args.csv))
        return EXIT_OK
    return _run_seeds(args, config, scenario)


def _check_config_saved_without_its_scenario(path: Path) -> None:
    """Refuse to rerun a saved run's ``config.toml`` without ``--scenario`` when the run it was saved from
    (its ``summary.json`` beside it) was of another scenario than the default: the file holds the
    configuration, not the scenario's events, so the rerun would silently be a run without them."""
    import json

    from model.results import SUMMARY_FILE

    summary = path.parent / SUMMARY_FILE
    if path.name != "config.toml" or not summary.is_file():
        return
    try:
        saved = json.loads(summary.read_text(encoding="utf-8")).get("scenario")
    except (OSError, ValueError, AttributeError):  # not a run's summary: nothing to go by
        return
    if isinstance(saved, str) and saved != "baseline":
        raise UsageError(
            f"--config {path} was saved from a run of scenario {saved!r}, whose events the file does not hold; "
            f"expected --scenario {saved} to rerun that run, or --scenario baseline to run its configuration "
            "without them"
        )


def _check_config_against_scenario(path: Path, text: str, base: Any, scenario: Any, *, named: bool,
                                   given: Any = ()) -> None:  # fmt: skip
    """Refuse a field that the ``--config`` file sets and the scenario overrides to another value.

    The scenario's overrides are applied on top of the file (:func:`model.scenarios.load_scenario`), so
    such a field silently took the scenario's value: a saved ``config.toml`` rerun with another
    scenario, or with the default baseline, did not run the configuration it holds. A field the
    scenario sets to the file's own value is no conflict, nor is a field in ``given`` (``section.field``
    names that ``--set`` or ``--days`` set after both). ``text``: the file's text, read (and checked)
    into ``base`` already; here it only lists the fields the file sets. ``named``: the scenario came
    from ``--scenario`` (else it is the default, baseline).
    """
    from model.config import dates_as_text, toml_loads
    from model.validation import shown

    data = dates_as_text(toml_loads(text, str(path)))
    start, final = base.to_dict(), scenario.config.to_dict()
    conflicts = [
        (f"{section}.{name}", start[section][name], final[section][name])
        for section, fields in data.items() if isinstance(fields, dict)
        for name in fields
        if section in start and name in start[section] and start[section][name] != final[section][name]
        and f"{section}.{name}" not in given
    ]  # fmt: skip
    if not conflicts:
        return
    field, mine, theirs = conflicts[0]
    more = f" (and {len(conflicts) - 1} more field{'s' if len(conflicts) > 2 else ''})" if len(conflicts) > 1 else ""
    if named:
        who, advice = f"scenario {scenario.name}", "pass it with --set or drop --scenario"
    else:
        who = f"scenario {scenario.name} (the default, without --scenario)"
        advice = "pass it with --set, or give the scenario the file came from with --scenario"
    raise UsageError(
        f"--config {path} sets {field} = {shown(mine)} but {who} overrides it to {shown(theirs)}{more}; {advice}"
    )


# the longest name a directory may have on the usual file systems (ext4, APFS, NTFS: 255 bytes)
MAX_NAME_BYTES = 255


def _default_out(name: str, flag: str) -> Path:
    """``out/NAME``, the default output directory; a name too long for a file system (a long comma list of
    seeds) is a one-line error asking for ``--out`` rather than "File name too long" after the runs."""
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise UsageError(
            f"{flag}: the default output directory out/{name[:40]}… would have a name of {size:,} bytes, more than "
            f"a file system allows ({MAX_NAME_BYTES}); expected --out DIR with a shorter name"
        )
    return Path("out") / name


def _warn_late_events(scenario: Any, days: int) -> None:
    """One warning for the scenario's events after the last simulated day: they never fire."""
    from model.scenarios import report_late_events

    report_late_events(scenario, days, print_warning)


def _check_target(out: Path, force: bool) -> None:
    """Refuse an output directory that holds a run (unless ``force``) or anything else."""
    from model.results import is_run_dir

    check_out_dir(out)
    if not out.exists() or not any(out.iterdir()):
        return
    if not is_run_dir(out):
        raise UsageError(
            f"--out = {str(out)!r} is not allowed; it holds files that are not a carry-unwind run, "
            "expected a new or empty directory (or a run directory, with --force)"
        )
    if not force:
        raise UsageError(
            f"--out = {str(out)!r} is not allowed; it already holds a run. Pass --force to replace it, "
            "or choose another --out"
        )


# Whether run_one shows the model's progress bar when its caller does not say. Not a field of the task:
# a task is the identity of its result (a checkpoint finds a stored result by a hash of the task), and
# how a run is displayed does not change what it computes. Set only around a one-seed --seeds job, which
# runs in this process; worker processes keep the default, no bar.
_SHOW_PROGRESS: contextvars.ContextVar[bool] = contextvars.ContextVar("carry_unwind_run_progress", default=False)


def run_one(task: dict[str, Any], progress: bool | None = None) -> dict[str, Any]:
    """Run one seed and write its directory atomically; returns the headline figures.

    ``task`` holds ``config``, ``scenario`` (a loaded Scenario), ``seed``, ``out``, ``csv`` and
    ``force``. ``progress``: show the model's progress bar (default: the value set in
    ``_SHOW_PROGRESS`` by the caller, else no bar). Module-level, so that the parallel runner can send
    it to workers.
    """
    from experiments.analysis.plots import plot_overview, save_figure
    from model.results import atomic_run_dir, run_simulation, write_run

    if progress is None:
        progress = _SHOW_PROGRESS.get()
    scenario, out = task["scenario"], Path(task["out"])
    # the command has warned of the scenario's events beyond the horizon: a worker process's model must
    # not say it again (its own record of what was reported starts empty)
    late = logging.getLogger("model.scenarios")
    level = late.level
    late.setLevel(logging.ERROR)
    try:
        result = run_simulation(task["config"], scenario=scenario, seed=task["seed"], progress=progress,
                                check_every_day=task.get("check_every_day", False))  # fmt: skip
    finally:
        late.setLevel(level)
    try:
        with atomic_run_dir(out, overwrite=task["force"]) as tmp:
            write_run(result, tmp)
            if task["csv"]:
                result.timeseries.to_csv(tmp / "timeseries.csv", index=False)
            events = [(e.day, e.kind.replace("_", " ")) for e in scenario.events if e.day <= result.days]
            fig = plot_overview(
                result.timeseries,
                title=f"{scenario.name} · seed {result.seed} · {result.days} trading days",
                events=events,
                tolerance=result.config.simulation.clearing_tolerance,
            )
            save_figure(fig, tmp / "overview.png")
    except FileExistsError as exc:
        raise UsageError(f"--out: {exc}") from None
    return {"seed": result.seed, **result.summary}


# what a writer killed half-way leaves in a --seeds directory: a seed's directory being written
# (model.results.atomic_run_dir) or moved aside, or a table being written (experiments.runner.atomic_write)
_ABANDONED = re.compile(r"\.seed-\d+\.(?:tmp|old)-.*|\.tmp-[0-9a-f]{8}-.*")


def _remove_runs(out: Path, entries: list[Path]) -> None:
    """Remove what ``run`` wrote into ``out`` (one run's files, ``seed-N/`` runs, the tables over seeds),
    for ``--force``; refuse, removing nothing, if ``out`` holds anything else.

    A single run's ``complete`` marker goes first, so that a removal cut short never leaves a directory
    that reads as a finished run.
    """
    import shutil

    from model.results import is_run_dir

    ours = {*OUTPUT_FILES, "timeseries.csv", SEEDS_FILE, SEEDS_SUMMARY_FILE}
    seed_dir = re.compile(r"seed-\d+")
    foreign = [
        p.name for p in entries
        if not (p.name in ours and p.is_file() and not p.is_symlink())
        and not (seed_dir.fullmatch(p.name) and not p.is_symlink() and is_run_dir(p))
    ]  # fmt: skip
    if foreign:
        raise UsageError(
            f"--out = {str(out)!r} is not allowed; it holds files that are not carry-unwind runs "
            f"({', '.join(sorted(foreign)[:3])}{', ...' if len(foreign) > 3 else ''}), expected a new or empty "
            "directory, or one that run wrote (with --force)"
        )
    for p in sorted(entries, key=lambda p: p.name != "complete"):
        if p.is_dir():
            (p / "complete").unlink(missing_ok=True)
            shutil.rmtree(p)
        else:
            p.unlink()


def _abandoned(out: Path) -> list[Path]:
    """The temporary files and directories a killed writer left in ``out``."""
    if not out.is_dir():
        return []
    return [p for p in out.iterdir() if _ABANDONED.fullmatch(p.name)]


def _seeds_settings(seeds: list[int], config: Any, scenario: Any, csv: bool) -> dict[str, Any]:
    """What the runs of a ``--seeds`` command depend on, recorded in its checkpoint: a later command
    resumes from that checkpoint only if it has the same record."""
    import hashlib
    import pickle

    from experiments.runner import code_fingerprint

    blob = pickle.dumps((config, scenario, csv), protocol=5)
    return {
        "seeds": list(seeds),
        "days": config.simulation.days,
        "scenario": scenario.name,
        "configuration_sha256": hashlib.sha256(blob).hexdigest(),
        "code": code_fingerprint(),
    }


def _settings_difference(recorded: dict[str, Any] | None, wanted: dict[str, Any]) -> str:
    """How the settings of an earlier ``--seeds`` command differ from this one's, in words."""
    if recorded is None:
        return "its settings are not recorded"
    parts = []
    if recorded.get("seeds") != wanted["seeds"]:
        parts.append(f"seeds {_seed_label(recorded.get('seeds') or [])} there, {_seed_label(wanted['seeds'])} here")
    if recorded.get("days") != wanted["days"]:
        parts.append(f"{recorded.get('days')} trading days there, {wanted['days']} here")
    if recorded.get("scenario") != wanted["scenario"]:
        parts.append(f"scenario {recorded.get('scenario')} there, {wanted['scenario']} here")
    elif recorded.get("configuration_sha256") != wanted["configuration_sha256"]:
        parts.append("another configuration")
    if recorded.get("code") != wanted["code"]:
        parts.append("other code or library versions")
    return "; ".join(parts) or "other settings"


def _seed_label(seeds: list[int]) -> str:
    """``1-3`` for a run of consecutive seeds (three or more), else ``1,2`` or ``1,3,7``."""
    if len(seeds) >= 3 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def _forget_missing_seeds(checkpoint: Path, tasks: list[dict[str, Any]]) -> None:
    """Drop from the checkpoint the seeds whose directory is no longer whole in the output (removed or
    cut short since), so that they are run again rather than counted as done."""
    from experiments.runner import Checkpoint
    from model.results import COMPLETE_FILE

    stored = Checkpoint(checkpoint)
    for task in tasks:
        if not (Path(task["out"]) / COMPLETE_FILE).is_file():
            key = stored.key(run_one, task)
            if key is not None:
                stored.forget(key)


def _run_seeds(args: argparse.Namespace, config: Any, scenario: Any) -> int:
    """``--seeds``: one run per seed into OUT/seed-N/, then the table over seeds.

    An interrupted command, run again with the same seeds, configuration and code, goes on from the
    seeds it finished (kept in the checkpoint beside OUT); one with other settings is refused unless
    ``--force`` is given, so that OUT never holds runs of different settings side by side.
    """
    from experiments.runner import output_lock

    seeds: list[int] = args.seeds
    label = _seed_label(seeds)
    if args.out is not None:  # the command line holds --out's lock already
        return _run_seeds_into(args.out, args, config, scenario)
    # the default folder is known only here: its lock is taken before anything in it is looked at or removed
    out = _default_out(f"{scenario.name}-seeds{label.replace(',', '_')}", "--seeds")
    with output_lock(out):
        return _run_seeds_into(out, args, config, scenario)


def _run_seeds_into(out: Path, args: argparse.Namespace, config: Any, scenario: Any) -> int:
    """:func:`_run_seeds` into ``out``, whose lock the caller holds."""
    import shutil

    import pandas as pd

    from experiments.runner import (
        TaskFailed,
        beside,
        checkpoint_settings,
        default_workers,
        resumable,
        run_tasks,
        write_text_atomic,
    )

    seeds: list[int] = args.seeds
    label = _seed_label(seeds)
    check_out_dir(out)
    settings = _seeds_settings(seeds, config, scenario, args.csv)
    # the finished seeds of an interrupted attempt with the same settings: the command goes on from them
    checkpoint = beside(out)
    recorded = checkpoint_settings(checkpoint) if checkpoint.is_dir() else None
    resuming = recorded == settings
    if checkpoint.is_dir() and not resuming:
        if not args.force:
            raise UsageError(
                f"--out = {str(out)!r} is not allowed; it holds the runs of an unfinished command with other "
                f"settings ({_settings_difference(recorded, settings)}). Run that command again to finish it, "
                "pass --force to replace its runs, or choose another --out"
            )
        shutil.rmtree(checkpoint)
    abandoned = set(_abandoned(out))  # a killed writer's temporary files count as nothing
    if out.exists() and any(p not in abandoned for p in out.iterdir()) and not resuming:
        if not args.force:
            raise UsageError(
                f"--out = {str(out)!r} is not allowed; it is not empty. Pass --force to replace the runs in it, "
                "or choose another --out"
            )
        # replaced means removed: the earlier runs (one run, or other seeds) must not stay beside these
        _remove_runs(out, [p for p in out.iterdir() if p not in abandoned])
    if not resuming:
        for seed in seeds:
            _check_target(out / f"seed-{seed}", args.force)
    # one command at a time writes into OUT: what another one left half-written is removed
    for path in abandoned:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    days = config.simulation.days
    workers = args.workers or (1 if len(seeds) * days <= SERIAL_SEED_DAYS else default_workers())
    workers = min(workers, len(seeds))
    progress = args.progress and not args.quiet
    # "force": a seed's directory is this command's own (checked above, or written by the attempt it
    # resumes), so it may be replaced: a seed whose directory was written just before a kill, but not
    # yet recorded in the checkpoint, is run again and replaces it with the same bits
    tasks = [
        {"config": config, "scenario": scenario, "seed": seed, "out": out / f"seed-{seed}", "csv": args.csv,
         "force": True, "check_every_day": args.check_every_day}
        for seed in seeds
    ]  # fmt: skip
    if resuming:
        _forget_missing_seeds(checkpoint, tasks)
    with resumable(checkpoint, settings) as kept:  # kept until the tables are written
        kept.record()  # at once: a seed written into OUT before its result is kept is still this command's
        # a single seed runs in this process (workers is 1) and shows the model's own bar; that choice is
        # passed beside the tasks, so that --quiet or --no-progress does not change their checkpoint keys
        show = _SHOW_PROGRESS.set(progress and workers == 1 and len(seeds) == 1)
        try:
            rows = run_tasks(run_one, tasks, workers=workers, progress=progress, desc=f"{scenario.name} seeds")
        except TaskFailed as exc:
            kept.keep()  # the seeds that finished are not run again by the next attempt
            cause = exc.__cause__ or exc
            print_error(f"seed {seeds[exc.index]}: {cause}")
            return EXIT_FAILURE
        finally:
            _SHOW_PROGRESS.reset(show)
        per_seed = pd.DataFrame(rows)
        write_text_atomic(out / SEEDS_FILE, per_seed.to_csv(index=False))
        summary = seeds_summary(per_seed)
        write_text_atomic(out / SEEDS_SUMMARY_FILE, summary.to_csv(index=False))
    print(f"{scenario.name}: {len(seeds)} seeds ({label}), {days} trading days each; {out}/seed-N/ per seed")
    print(_seeds_table(summary))
    print(f"  tables: {out / SEEDS_FILE} (per seed), {out / SEEDS_SUMMARY_FILE}")
    return EXIT_OK


def seeds_summary(per_seed: Any) -> Any:
    """Median and 5-95% range over seeds of each headline figure (a tidy pandas DataFrame).

    Parameters
    ----------
    per_seed
        One row per seed with the summary keys of :data:`HEADLINE` as columns.

    Returns
    -------
    DataFrame
        Columns ``figure, label, n, median, p5, p95``; ``n`` counts the seeds where it is defined.
    """
    import numpy as np
    import pandas as pd

    rows = []
    for key, label in HEADLINE:
        x = pd.to_numeric(per_seed[key], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        q = np.percentile(x, [50, 5, 95]) if len(x) else [np.nan] * 3
        rows.append({"figure": key, "label": label.strip(), "n": len(x), "median": q[0], "p5": q[1], "p95": q[2]})
    return pd.DataFrame(rows)


def _seeds_table(summary: Any) -> str:
    def num(v: float) -> str:
        if v != v:  # NaN
            return "n/a"
        return f"{v:.1e}" if 0 < abs(v) < 1e-3 else f"{v:,.2f}"

    rows = [("", "median   [5%, 95%]")]
    for (_, label), r in zip(HEADLINE, summary.itertuples(index=False), strict=True):
        rows.append((label, f"{num(r.median)}   [{num(r.p5)}, {num(r.p95)}]"))
    return table(rows)


def _fmt(value: Any, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def _days(n: int) -> str:
    return f"{n} trading day" if n == 1 else f"{n} trading days"


def _summary_table(s: dict[str, Any], *, scenario: str, seed: int, out: Path, csv: bool = False) -> str:
    """The headline figures as a short two-column table."""
    surge = (
        f"{_fmt(s['usdjpy_surge_60d_pct'], '.1f', '%')} fall in USD/JPY over {_days(s['usdjpy_surge_60d_days'])} "
        f"(day {s['usdjpy_surge_60d_peak_day']} → {s['usdjpy_surge_60d_trough_day']})"
        if s["usdjpy_surge_60d_pct"]
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
        ("largest yen surge (≤ 60 days)", surge),
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
        ("output", f"{out}/  ({', '.join(OUTPUT_FILES + (('timeseries.csv',) if csv else ()))})"),
    ]
    return table(rows)
