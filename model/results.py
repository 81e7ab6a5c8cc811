"""Run a simulation to the end, summarise it, and save or load the result.

:func:`run_simulation` is the one-call entry point used by the command line, the notebooks and
the experiments: it builds a :class:`~model.model.CarryUnwindModel`, steps it day by day and
returns a :class:`RunResult` holding the time series, a dictionary of headline figures, the
configuration and the seed. :func:`save` writes a result to a directory that records everything
needed to reproduce it (seed, full configuration, package version, git commit); :func:`load`
reads it back.

A saved run is a directory::

    timeseries.parquet   one row per trading day, day 0 = initial state (columns: TIMESERIES_COLUMNS)
    summary.json         scenario (null for a custom configuration), seed, days, package version, git commit,
                         headline figures, config
    config.toml          the full configuration, loadable with ``ModelConfig.from_toml``
    complete             written last, after the others: :func:`load` refuses a directory without it

The directory is written beside its final name and renamed into place (:func:`atomic_run_dir`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from model import detmath
from model.config import ModelConfig
from model.scenarios import CUSTOM_CONFIGURATION, is_custom
from model.streams import seed_problem

if TYPE_CHECKING:
    from model.scenarios import Scenario

__all__ = [
    "RunResult",
    "CUSTOM_CONFIGURATION",
    "run_simulation",
    "check_accounting",
    "run_name",
    "simulate_many",
    "summarize",
    "max_drawdown",
    "max_drawdown_within",
    "SURGE_WINDOW_DAYS",
    "save",
    "load",
    "write_run",
    "atomic_run_dir",
    "is_run_dir",
    "IncompleteRunError",
    "DamagedRunError",
    "git_commit",
    "git_dirty",
    "json_safe",
    "check_accounting",
]

log = logging.getLogger(__name__)

TIMESERIES_FILE = "timeseries.parquet"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.toml"
COMPLETE_FILE = "complete"  # written last: a run directory without it was cut short
# what the marker holds: the same text always (no time), so that two runs of one seed write the same bytes
COMPLETE_TEXT = "carry-unwind run complete\n"


@dataclass(frozen=True, eq=False)
class RunResult:
    """One finished run.

    Attributes
    ----------
    timeseries
        One row per trading day, day 0 (the initial state) included; columns as
        :data:`model.model.TIMESERIES_COLUMNS`.
    summary
        Headline figures from :func:`summarize` (plain Python numbers; ``None`` where undefined).
    config
        The configuration the run used (scenario overrides and user overrides applied).
    seed
        The integer seed of all random streams.
    scenario
        The scenario's name; ``None`` for a run of a configuration given with no scenario
        (``run_simulation(config)``), which is no scenario's and ran no scenario's events.
    """

    timeseries: pd.DataFrame
    summary: dict[str, Any]
    config: ModelConfig
    seed: int
    scenario: str | None

    @property
    def days(self) -> int:
        """Number of simulated trading days (rows − 1)."""
        return len(self.timeseries) - 1

    @property
    def label(self) -> str:
        """How the run is named for reading: its scenario's name, or :data:`CUSTOM_CONFIGURATION`."""
        return CUSTOM_CONFIGURATION if self.scenario is None else self.scenario


def run_simulation(
    config: ModelConfig | None = None,
    *,
    scenario: str | Scenario | None = None,
    seed: int = 0,
    days: int | None = None,
    progress: bool = False,
    check_every_day: bool = False,
    **overrides: Any,
) -> RunResult:
    """Build the model, run it for ``days`` trading days and summarise the run.

    Parameters
    ----------
    config
        Full configuration; if omitted, the scenario's configuration is used.
    scenario
        Built-in scenario name, path to a scenario TOML file, or a loaded ``Scenario``: its events
        run, and its name is recorded (``RunResult.scenario``, ``summary.json``). If omitted, the
        ``baseline`` scenario without ``config``; with ``config``, no scenario: the run is of that
        configuration alone, with no scenario's events, and its scenario is recorded as ``None``
        (``null``; :data:`CUSTOM_CONFIGURATION` where a name is shown).
    seed
        Non-negative integer seed for all random streams.
    days
        Number of trading days to simulate; defaults to ``config.simulation.days``. When given,
        it is also written into ``simulation.days`` so that the recorded configuration
        reproduces the run; an override ``simulation__days`` of another value beside it is an error.
    progress
        Show a tqdm progress bar on stderr.
    check_every_day
        Check every accounting identity (:func:`model.accounting.check_identities`) after each day,
        not only on the final state: a day whose books break an identity that a later day would mend
        is caught, at about 0.3 ms a day (about half again a standard run's time). The excess demand at
        the recorded prices is then evaluated again every day (``CarryUnwindModel.recheck_evaluates``),
        not taken from the solver's last evaluation there. The numbers are the same bit for bit.
    **overrides
        Configuration fields as ``section__field=value``, applied on top of ``config``.

    Raises
    ------
    model.validation.ConfigError
        An invalid configuration value, override, scenario or ``days``.
    model.clearing.ClearingError
        The markets failed to clear on some day.
    model.accounting.AccountingError
        The run's accounting does not add up (:func:`check_accounting`): a bug in a sector, never
        bad input.
    """
    from model.model import CarryUnwindModel  # heavy (numba); imported only when a run is asked for
    from model.validation import ConfigError, shown

    if seed is None:  # Mesa would draw one: a research run's seed is said, not drawn
        raise ConfigError("seed = None is not allowed; expected a non-negative integer (the run's random streams)")
    for name, flag in (("progress", progress), ("check_every_day", check_every_day)):
        if not isinstance(flag, (bool, np.bool_)):  # 'no' is a true value: it must not switch the option on
            raise ConfigError(f"{name} = {shown(flag)} is not allowed; expected True or False")
    if days is not None:
        overrides = _with_days(overrides, days)
    t0 = time.perf_counter()
    # the lean path: arrays preallocated for the run, no per-day DataCollector (same numbers)
    model = CarryUnwindModel(config, scenario=scenario, seed=seed, collect=False, **overrides)
    n_days = model.config.simulation.days
    log.info(
        "%s, seed %d, %d trading days, %d hedge funds",
        _scenario_words(model.scenario_spec),
        model.seed,
        n_days,
        model.config.hedge_funds.n_funds,
    )
    settings = "".join(f", {k.replace('__', '.')}={v!r}" for k, v in overrides.items())
    where = f"{run_name(model)}{settings}"
    model.recheck_evaluates = check_every_day  # the excess demand at the recorded prices evaluated again every day
    _step_all(model, n_days, progress, t0, check=(lambda: _check_day(model, where)) if check_every_day else None)
    check_accounting(model, where)
    df = model.timeseries()
    return RunResult(
        timeseries=df,
        summary=summarize(df),
        config=model.config,
        seed=model.seed,
        scenario=None if is_custom(model.scenario_spec) else model.scenario_spec.name,
    )


def _with_days(overrides: dict[str, Any], days: Any) -> dict[str, Any]:
    """A copy of ``overrides`` with the horizon ``days`` as ``simulation__days``; a ConfigError where the overrides
    give ``simulation.days`` (in either spelling) as another number."""
    from model.validation import ConfigError, shown

    out = dict(overrides)
    for key in ("simulation__days", "simulation.days"):
        if key in out and not _same_days(out[key], days):
            raise ConfigError(
                f"days = {shown(days)} and {key} = {shown(out[key])} are not allowed together; they differ, "
                "expected one of them (or the same number in both)"
            )
        out.pop(key, None)
    out["simulation__days"] = days
    return out


def _same_days(a: Any, b: Any) -> bool:
    """Whether two values given for the horizon are the same number (``3`` and ``3.0``; never a bool)."""
    try:
        return not isinstance(a, bool) and not isinstance(b, bool) and bool(a == b)
    except Exception:  # an object whose comparison fails is no horizon: the configuration's check says so
        return False


def run_name(model: Any) -> str:
    """``scenario NAME, seed N``: how a message names a run, so that it can be run again alone
    (``custom configuration, seed N`` for a run of a configuration given with no scenario)."""
    return f"{_scenario_words(model.scenario_spec)}, seed {model.seed}"


def _scenario_words(spec: Any) -> str:
    """How a message names a run's scenario: ``scenario NAME``, or :data:`CUSTOM_CONFIGURATION` for none."""
    return CUSTOM_CONFIGURATION if is_custom(spec) else f"scenario {spec.name}"


def check_accounting(model: Any, where: str = "") -> None:
    """Check a run's accounting once it has run: every day's recorded ``clearing_residual`` and
    ``walras_residual``, then every identity on the final state (:func:`model.accounting.check_identities`).

    A day's ``clearing_residual`` is the excess demand left at the recorded prices, from an evaluation
    there (not the solver's report that it converged), relative to gross volume: what the dealers took. Its
    ``walras_residual`` is its Walras check after settlement (:func:`model.accounting.walras_residual`):
    the trades every sector booked that day, summed over the ledger's rows in each market, and the
    gap between excess demand at the recorded prices and what the dealers took, relative to gross
    volume. Each must be within the limit :func:`~model.accounting.check_identities` applies
    (``WALRAS_SLACK`` times ``simulation.clearing_tolerance``), a NaN never is. The final state's
    check covers conservation of money, bonds, repo and forwards (cumulative, so a trade booked on one
    side only on any day shows at the end), the sectors' records against the ledger, the equity
    identities and the risk index. It reads what the run recorded and changes nothing: the numbers
    are the same with it or without it. It costs about 0.3 ms, under 0.1% of a standard 500-day run
    (docs/model/clearing.md).

    ``where`` (the run's scenario, seed and settings) starts the message, so that a failure in one run
    of many can be run again alone.

    Raises
    ------
    model.accounting.AccountingError
        One line naming the run (``where``) and the first day whose residual is out of bounds, or the
        identity that fails on the final day.
    """
    with _naming(where):
        _check_accounting(model)


@contextlib.contextmanager
def _naming(where: str) -> Iterator[None]:
    """An :class:`~model.accounting.AccountingError` raised inside starts with ``where`` (the run), if given."""
    from model.accounting import AccountingError

    try:
        yield
    except AccountingError as exc:
        if not where:
            raise
        raise AccountingError(f"{where}: {exc}") from None


def _check_accounting(model: Any) -> None:
    from model.accounting import WALRAS_SLACK, AccountingError, check_identities, residual_problem

    limit = WALRAS_SLACK * model.config.simulation.clearing_tolerance
    columns = ("clearing_residual", "walras_residual")
    values = [np.asarray(model.series(column), dtype=np.float64) for column in columns]
    out = [~(v <= limit) for v in values]  # a NaN is out too
    if any(o.any() for o in out):
        i = int(np.argmax(np.logical_or(*out)))  # the first day either is out, the clearing's first
        column, value = next((c, v[i]) for c, v, o in zip(columns, values, out, strict=True) if o[i])
        day = int(model.series("day")[i])
        raise AccountingError(f"day {day}: {residual_problem(column, float(value), limit)}")
    check_identities(model)


def _check_day(model: Any, where: str) -> None:
    """The identities after the day just run (``check_every_day``), the run named as check_accounting does."""
    from model.accounting import check_identities

    with _naming(where):
        check_identities(model)


def _step_all(model: Any, n_days: int, progress: bool, t0: float, check: Callable[[], None] | None = None) -> None:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    name = model.scenario_spec.name  # a configuration given alone: CUSTOM_CONFIGURATION
    bar = tqdm(
        total=n_days,
        desc=f"{name} (compiling…)",
        unit="day",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
    )
    # log lines (scenario events) are written above the bar instead of through it
    redirect = logging_redirect_tqdm() if progress else contextlib.nullcontext()
    with bar, redirect:
        if n_days > 0:
            model.run_days(1)
            if check is not None:
                check()
            # The first day includes numba compilation (or loading it from the cache), seconds
            # where a day takes milliseconds: counted as a day it made the bar's first estimate
            # of the time left minutes long. The clock restarts after it.
            log.info("first trading day done after %.1f s (model set-up and compilation)", time.perf_counter() - t0)
            bar.reset(total=n_days)
            bar.set_description_str(name, refresh=False)
            bar.update()
            model.run_days(n_days - 1, after_day=bar.update if check is None else lambda: (check(), bar.update()))
    log.info("%d trading days in %.1f s", n_days, time.perf_counter() - t0)


# -- many runs -------------------------------------------------------------------------------------

MAX_SEEDS = 10_000  # seeds one simulate_many call may run (as ``carry-unwind run --seeds``): a typo must not start


def simulate_many(
    scenarios: str | Scenario | ModelConfig | Sequence[str | Scenario | ModelConfig],
    seeds: int | Sequence[int],
    *,
    days: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    progress: bool = False,
) -> list[RunResult]:
    """Run every scenario with every seed on the lean path; results in a fixed order.

    Set-up is shared: each scenario file is read and each configuration built and validated
    once, before any run (a bad value fails at once, not in the hundredth run); numba compiles
    (or loads its cache) once per worker process, and every run in that worker reuses it. Each
    run gives the same numbers, bit for bit, as ``run_simulation(scenario=..., seed=...,
    days=..., **overrides)``, whatever ``workers`` is.

    Parameters
    ----------
    scenarios
        One or a sequence of: a built-in scenario name, the path of a scenario TOML file, a
        loaded :class:`~model.scenarios.Scenario`, or a full :class:`~model.config.ModelConfig`
        (run as ``run_simulation(config)`` runs it: no scenario's events, its scenario recorded as ``None``).
    seeds
        One or a sequence of distinct non-negative integer seeds, at most :data:`MAX_SEEDS`; every
        scenario runs with every seed.
    days
        Trading days per run, 1 to 1,000,000; default each configuration's ``simulation.days``.
    overrides
        Configuration fields as ``{"section__field": value}``, applied to every run.
    workers
        Worker processes (``experiments.runner.run_tasks``); 1 runs in this process. Inside
        :func:`experiments.runner.resumable`, runs finished before an interruption are read back
        instead of run again.
    progress
        A tqdm progress bar on stderr.

    Returns
    -------
    list of RunResult
        ``len(scenarios) * len(seeds)`` results, scenario-major: the result of scenario ``i``
        with seed ``j`` is at index ``i * len(seeds) + j``.

    Raises
    ------
    model.validation.ConfigError
        An unknown scenario, a seed that is not a non-negative integer, a seed given twice, more
        than :data:`MAX_SEEDS` seeds, ``days`` or an override
        out of range, or ``workers`` < 1.
    model.clearing.ClearingError
        A run's markets failed to clear (the first such run to finish), whatever ``workers`` is.

    Examples
    --------
    >>> runs = simulate_many(["baseline", "risk_off"], [0, 1], days=3, overrides={"hedge_funds__n_funds": 20})
    >>> [(r.scenario, r.seed, r.days) for r in runs]
    [('baseline', 0, 3), ('baseline', 1, 3), ('risk_off', 0, 3), ('risk_off', 1, 3)]
    >>> one = run_simulation(scenario="risk_off", seed=1, days=3, hedge_funds__n_funds=20)
    >>> runs[3].timeseries["usdjpy"].equals(one.timeseries["usdjpy"])
    True
    """
    from model.scenarios import Scenario, load_scenario
    from model.validation import ConfigError

    items = list(scenarios) if isinstance(scenarios, (list, tuple)) else [scenarios]
    many = isinstance(seeds, (list, tuple, range, np.ndarray))
    if many and len(seeds) > MAX_SEEDS:  # before making a list of them: range(10**12) is cheap, its list is not
        raise ConfigError(
            f"seeds = {len(seeds):,} seeds is not allowed; expected at most {MAX_SEEDS:,} (call again for more)"
        )
    seed_list = list(seeds) if many else [seeds]
    if not items:
        raise ConfigError(
            "scenarios = [] is not allowed; expected at least one scenario name, file, Scenario or ModelConfig"
        )
    if not seed_list:
        raise ConfigError("seeds = [] is not allowed; expected at least one non-negative integer seed")
    seen: set[int] = set()
    for j, seed in enumerate(seed_list):
        problem = seed_problem(seed)
        if problem:
            raise ConfigError(f"seeds[{j}] = {problem}")
        if int(seed) in seen:
            raise ConfigError(
                f"seeds[{j}] = {int(seed)} is not allowed; that seed is already in the list, expected distinct "
                "seeds (a seed twice gives the same run twice)"
            )
        seen.add(int(seed))
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, np.integer))):
        raise ConfigError(f"days = {days!r} is not allowed; expected an integer from 1 to 1000000 (trading days)")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers = {workers!r} is not allowed; expected a positive integer")
    extra = _with_days(overrides or {}, int(days)) if days is not None else dict(overrides or {})

    tasks = []
    for item in items:
        if isinstance(item, ModelConfig):
            scenario, base = None, item
        else:
            scenario = item if isinstance(item, Scenario) else load_scenario(item)
            base = scenario.config
        config = base.with_overrides(extra) if extra else base  # validated here, once per scenario
        tasks += [(config, scenario, int(seed)) for seed in seed_list]

    from experiments.runner import TaskFailed, run_tasks  # experiments imports model, never the reverse at import

    try:  # in this process for one worker; inside experiments.runner.resumable, finished runs are kept
        return run_tasks(_simulate_task, tasks, workers=int(workers), progress=progress, desc="runs")
    except TaskFailed as exc:  # the run's own error (a ClearingError), as if it had run here
        raise exc.__cause__ from None


def _simulate_task(task: tuple[ModelConfig, Scenario | None, int]) -> RunResult:
    """One run of :func:`simulate_many` (module level, so worker processes can unpickle it)."""
    config, scenario, seed = task
    return run_simulation(config, scenario=scenario, seed=seed)


# -- headline figures ----------------------------------------------------------------------------


def max_drawdown(x: np.ndarray) -> tuple[float, int, int]:
    """Largest peak-to-trough fall of a positive series.

    Returns
    -------
    (fall, peak, trough)
        ``fall`` as a fraction of the peak (0 if the series never falls), and the row indices of
        the peak and the trough.
    """
    if len(x) == 0:
        return math.nan, 0, 0
    running_peak = np.maximum.accumulate(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(running_peak > 0, 1.0 - x / running_peak, 0.0)
    trough = int(np.argmax(fall))
    peak = int(np.argmax(x[: trough + 1]))
    return float(fall[trough]), peak, trough


# The "largest yen surge" of a run: a fall of USD/JPY from a peak to a trough at most this many
# trading days later (about three months). The drawdown over the whole run can join a peak in the
# first weeks to a trough years later, which is a trend, not a surge.
SURGE_WINDOW_DAYS = 60


def max_drawdown_within(x: np.ndarray, window: int) -> tuple[float, int, int]:
    """Largest fall of a positive series from a peak to a trough at most ``window`` rows later.

    Parameters
    ----------
    x
        The series, shape ``(n,)``.
    window
        The longest peak-to-trough distance allowed, in rows (trading days), > 0.

    Returns
    -------
    (fall, peak, trough)
        ``fall`` as a fraction of the peak (0 if the series never falls), and the row indices of
        the peak and the trough (``trough - peak <= window``; the earliest peak if it repeats).

    Examples
    --------
    >>> max_drawdown_within(np.array([100.0, 90.0, 120.0, 110.0, 100.0, 60.0]), 2)
    (0.4545454545454546, 3, 5)
    >>> max_drawdown(np.array([100.0, 90.0, 120.0, 110.0, 100.0, 60.0]))
    (0.5, 2, 5)
    """
    if window <= 0:
        raise ValueError(f"window = {window!r} is not allowed; expected a positive number of rows")
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, 0, 0
    # the running maximum over the last `window` rows, row by row: max of x[max(0, t - window) : t + 1]
    padded = np.concatenate([np.full(window, -np.inf), x])
    peaks = np.lib.stride_tricks.sliding_window_view(padded, window + 1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(peaks > 0, 1.0 - x / peaks, 0.0)
    trough = int(np.argmax(fall))
    start = max(0, trough - window)
    peak = start + int(np.argmax(x[start : trough + 1]))
    return float(max(fall[trough], 0.0)), peak, trough


def _number(value: Any) -> float | int | None:
    """A plain Python number for JSON; ``None`` for NaN and infinities."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of a run's time series.

    Parameters
    ----------
    df
        The time series, one row per day with day 0 first (``CarryUnwindModel.timeseries()``).

    Returns
    -------
    dict
        Plain Python numbers (``None`` where a figure is undefined, e.g. the skew of fewer than
        three returns). Keys and units:

        ``days`` (trading days); ``usdjpy_start``, ``usdjpy_end``, ``usdjpy_min``, ``usdjpy_max``
        (JPY per USD); ``usdjpy_surge_60d_pct`` (the largest yen surge: the largest fall of
        USD/JPY from a peak to a trough at most :data:`SURGE_WINDOW_DAYS` = 60 trading days later,
        % of the peak), ``usdjpy_surge_60d_peak_day``, ``usdjpy_surge_60d_trough_day`` and
        ``usdjpy_surge_60d_days`` (trading days from that peak to that trough);
        ``usdjpy_max_fall_pct`` (the largest peak-to-trough fall of USD/JPY over the whole run,
        however long: a trend as well as a surge, % of the peak), ``usdjpy_max_fall_peak_day``,
        ``usdjpy_max_fall_trough_day`` and ``usdjpy_max_fall_days`` (trading days from peak to
        trough); ``hf_gross_max_drawdown_pct`` (largest peak-to-trough fall of the hedge funds'
        carry stock, %); ``hf_margin_calls_total``, ``hf_failures_total`` (counts over the run);
        ``hf_alive_end`` (funds); ``risk_index_peak`` (index points); ``ust10y_change_bp``,
        ``jgb10y_change_bp`` (end − start, basis points); ``usdjpy_logret_sd`` (daily log return,
        sd), ``usdjpy_logret_skew``, ``usdjpy_logret_excess_kurtosis`` (bias-corrected sample
        moments); ``clearing_residual_max`` (relative excess demand) and
        ``clearing_iterations_mean`` (Newton iterations per day, day 0 excluded).
    """
    s = df["usdjpy"].to_numpy(dtype=float)
    days = df["day"].to_numpy()
    fall, peak, trough = max_drawdown(s)
    surge, surge_peak, surge_trough = max_drawdown_within(s, SURGE_WINDOW_DAYS)
    gross_fall, _, _ = max_drawdown(df["hf_gross_usd_bn"].to_numpy(dtype=float))
    r = np.diff(detmath.log(s))
    stepped = df.iloc[1:]  # day 0 is the initial state: no clearing took place
    # the skewness from 3 returns, the kurtosis from 4 (skew_kurtosis gives NaN below that)
    shaped = len(r) >= 3 and bool(np.all(np.isfinite(r))) and np.ptp(r) > 0.0
    skew, kurt = (float(v) for v in detmath.skew_kurtosis(r)) if shaped else (math.nan, math.nan)

    out = {
        "days": len(df) - 1,
        "usdjpy_start": s[0],
        "usdjpy_end": s[-1],
        "usdjpy_min": s.min(),
        "usdjpy_max": s.max(),
        "usdjpy_surge_60d_pct": 100.0 * surge,
        "usdjpy_surge_60d_peak_day": days[surge_peak],
        "usdjpy_surge_60d_trough_day": days[surge_trough],
        "usdjpy_surge_60d_days": days[surge_trough] - days[surge_peak],
        "usdjpy_max_fall_pct": 100.0 * fall,
        "usdjpy_max_fall_peak_day": days[peak],
        "usdjpy_max_fall_trough_day": days[trough],
        "usdjpy_max_fall_days": days[trough] - days[peak],
        "hf_gross_max_drawdown_pct": 100.0 * gross_fall,
        "hf_margin_calls_total": df["hf_margin_calls"].sum(),
        "hf_failures_total": df["hf_failures"].sum(),
        "hf_alive_end": df["hf_alive"].iloc[-1],
        "risk_index_peak": df["risk_index"].max(),
        "ust10y_change_bp": 1e4 * (df["ust10y_yield"].iloc[-1] - df["ust10y_yield"].iloc[0]),
        "jgb10y_change_bp": 1e4 * (df["jgb10y_yield"].iloc[-1] - df["jgb10y_yield"].iloc[0]),
        "usdjpy_logret_sd": float(np.std(r, ddof=1)) if len(r) >= 2 else math.nan,
        "usdjpy_logret_skew": skew,
        "usdjpy_logret_excess_kurtosis": kurt,
        "clearing_residual_max": stepped["clearing_residual"].max() if len(stepped) else math.nan,
        "clearing_iterations_mean": stepped["clearing_iterations"].mean() if len(stepped) else math.nan,
    }
    return {key: _number(value) for key, value in out.items()}


# -- saving and loading --------------------------------------------------------------------------


def json_safe(obj: Any) -> Any:
    """Recursively turn numpy scalars into Python numbers and NaN/inf into ``None``."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (bool, int, float, np.bool_, np.integer, np.floating)):
        return _number(obj)
    return obj


def git_commit() -> str | None:
    """The commit of the source tree this package was imported from, or ``None``.

    ``None`` when git is missing, the package is not in a git checkout (e.g. installed from a
    wheel), or anything else goes wrong: a missing commit must never stop a run being saved.
    """
    root = Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(top) != 2 or Path(top[0]).resolve() != root:
        return None  # some other repository that happens to contain the installed package
    return top[1]


def git_dirty() -> bool | None:
    """Whether the code differs from its commit (``None`` if unknown): a tracked file changed, or an
    untracked file that is not ignored lies in ``model/``, ``agents/`` or ``experiments/`` outside a
    command's output folder (:func:`model.numba_cache.is_output`). Other untracked files (a sweep's or a
    run's output written into the checkout, a notebook) are not the code and do not count."""
    from model.numba_cache import is_output

    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "-z", "--untracked-files=all"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for entry in out.split("\0"):
        if not entry:
            continue
        if not entry.startswith("?? "):
            return True  # a tracked file changed (with -z, a rename's second path follows as an entry of its own)
        path = root / entry[3:]
        if path.parts[len(root.parts)] in ("model", "agents", "experiments") and not is_output(path):
            return True
    return False


def provenance() -> dict[str, Any]:
    """What made an analysis's output, to record in it: the package version, the git commit and whether the
    tree had uncommitted changes (None where unknown) and the code fingerprint
    (:func:`experiments.runner.code_fingerprint`: code, inputs and library versions). Each command adds
    what is its own (its options, its seeds)."""
    from experiments.runner import code_fingerprint  # experiments imports model, never the reverse at import
    from model.version import __version__

    commit = git_commit()
    return {"version": __version__, "git_commit": commit, "git_dirty": git_dirty() if commit else None,
            "code_fingerprint": code_fingerprint()}  # fmt: skip


class IncompleteRunError(FileNotFoundError):
    """A run directory without its ``complete`` marker: the writer was killed or failed."""


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory that :func:`save` wrote (complete or not)."""
    path = Path(path)
    return path.is_dir() and ((path / COMPLETE_FILE).is_file() or (path / SUMMARY_FILE).is_file())


@contextlib.contextmanager
def atomic_run_dir(out_dir: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """A fresh directory to write a run into, renamed to ``out_dir`` only when the block succeeds.

    The block writes into a temporary directory beside ``out_dir`` (same file system, so the
    rename is atomic); on success the ``complete`` marker is written and the directory takes
    the place of ``out_dir``. A run killed or failing half-way leaves ``out_dir`` as it was
    (an earlier run stays whole) and no half-written directory under that name.

    Parameters
    ----------
    out_dir
        The run directory to create or replace.
    overwrite
        Replace an existing run directory (one :func:`save` wrote) or an empty directory; when
        false, an existing ``out_dir`` raises ``FileExistsError``. A directory holding anything
        else is never replaced.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and may not be replaced.
    """
    target = Path(out_dir)
    _check_replaceable(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        (tmp / COMPLETE_FILE).write_text(COMPLETE_TEXT, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a run directory is an ordinary one
        _check_replaceable(target, overwrite)  # again: another process may have written it meanwhile
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


STALE_AFTER_S = 3600.0  # writing a run's files takes seconds: an older temporary directory was abandoned


def _remove_stale(target: Path) -> None:
    """Delete temporary directories beside ``target`` left by a writer that was killed (SIGKILL, power)."""
    now = time.time()
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if stale.is_dir() and now - stale.stat().st_mtime > STALE_AFTER_S:
                    shutil.rmtree(stale, ignore_errors=True)


def _check_replaceable(target: Path, overwrite: bool) -> None:
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory; choose another output directory")
    empty = not any(target.iterdir())
    if not overwrite and not empty:
        raise FileExistsError(f"{target} already holds a run; not replaced")
    if not empty and not is_run_dir(target):
        raise FileExistsError(
            f"{target} holds files that are not a carry-unwind run; not replaced (choose another output directory)"
        )


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``, moving an existing ``target`` aside first and deleting it after."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)  # put the earlier run back
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_run(result: RunResult, folder: str | Path) -> Path:
    """Write ``timeseries.parquet``, ``summary.json`` and ``config.toml`` into ``folder`` (in place).

    Not atomic: :func:`save` calls it inside :func:`atomic_run_dir`; so does ``carry-unwind run``,
    which adds its figure before the directory is renamed into place.
    """
    from model.version import __version__

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    result.timeseries.to_parquet(out / TIMESERIES_FILE, engine="pyarrow", index=False)
    commit = git_commit()
    record = {
        "scenario": result.scenario,
        "seed": int(result.seed),
        "days": result.days,
        "package_version": __version__,
        "git_commit": commit,
        "git_dirty": git_dirty() if commit else None,
        "summary": result.summary,
        "config": result.config.to_dict(),
    }
    text = json.dumps(json_safe(record), indent=2, allow_nan=False)
    (out / SUMMARY_FILE).write_text(text + "\n", encoding="utf-8")
    result.config.to_toml(out / CONFIG_FILE)
    return out


def save(result: RunResult, out_dir: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``timeseries.parquet``, ``summary.json``, ``config.toml`` and ``complete`` into ``out_dir``.

    Atomic: the files are written into a temporary directory beside ``out_dir``, which is then
    renamed into place (see :func:`atomic_run_dir`), so ``out_dir`` is either the earlier run
    or the whole new one, never a mixture. An earlier run in ``out_dir`` is replaced unless
    ``overwrite`` is false; a directory holding other files is never replaced.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and may not be replaced.
    """
    with atomic_run_dir(out_dir, overwrite=overwrite) as tmp:
        write_run(result, tmp)
    return Path(out_dir)


class DamagedRunError(ValueError):
    """A saved run's file is there but cannot be read: not JSON or Parquet, or not what :func:`save` writes.

    The message names the file and what is wrong with it, in one line.
    """


# the time-series columns :func:`summarize` reads: a saved run without one of them cannot be measured
SUMMARY_COLUMNS = ("day", "usdjpy", "hf_gross_usd_bn", "hf_margin_calls", "hf_failures", "hf_alive", "risk_index",
                   "ust10y_yield", "jgb10y_yield", "clearing_residual", "clearing_iterations")  # fmt: skip


def _read_record(path: Path) -> dict[str, Any]:
    """``summary.json``, checked to hold what :func:`load` reads; :class:`DamagedRunError` naming it if not."""

    def refuse(problem: str) -> DamagedRunError:
        return DamagedRunError(f"{path}: {problem}; expected the summary.json 'carry-unwind run' writes")

    def no_constant(name: str) -> Any:  # NaN, Infinity: never written (json_safe turns them into null)
        raise refuse(f"{name} is not allowed in it")

    from model.validation import parse_json

    record = parse_json(path.read_bytes(), refuse, parse_constant=no_constant)
    if not isinstance(record, dict):
        raise refuse(f"it holds a JSON {type(record).__name__}, not an object")
    seed = record.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise refuse(f"seed = {_shown(seed)} is not allowed; a non-negative integer is")
    if "scenario" not in record:
        raise refuse("scenario is missing")
    if not (record["scenario"] is None or isinstance(record["scenario"], str)):  # null: a custom configuration's
        raise refuse(f"scenario = {_shown(record['scenario'])} is not allowed; a string or null is")
    if not isinstance(record.get("summary"), dict):
        raise refuse(f"summary = {_shown(record.get('summary'))} is not allowed; an object of headline figures is")
    return record


def _shown(value: Any) -> str:
    from model.validation import shown

    return "missing" if value is None else shown(value)


def _read_timeseries(path: Path) -> pd.DataFrame:
    """``timeseries.parquet``, checked to hold the columns :func:`summarize` reads; :class:`DamagedRunError` if not."""
    expected = "expected the timeseries.parquet 'carry-unwind run' writes"
    try:
        with open(path, "rb") as f:  # opened here: pyarrow cannot open a path whose name is not valid UTF-8
            df = pd.read_parquet(f, engine="pyarrow")
    except OSError:
        raise
    except Exception as exc:  # pyarrow.ArrowInvalid and its kin: the file is not Parquet, or is cut short
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DamagedRunError(f"{path}: it is not a readable Parquet file ({reason}); {expected}") from None
    missing = [c for c in SUMMARY_COLUMNS if c not in df.columns]
    if missing:
        raise DamagedRunError(f"{path}: it has no column {missing[0]!r}; {expected}")
    if df.empty:
        raise DamagedRunError(f"{path}: it has no rows; {expected}")
    return df


def load(out_dir: str | Path) -> RunResult:
    """Read a run saved by :func:`save`.

    Raises
    ------
    FileNotFoundError
        ``out_dir`` or one of the three files is missing.
    IncompleteRunError
        ``out_dir`` has no ``complete`` marker: the run was killed or failed while writing.
    DamagedRunError
        ``summary.json`` or ``timeseries.parquet`` cannot be read or is not what :func:`save` writes.
    model.validation.ConfigError
        ``config.toml`` is not a valid configuration.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"{out} not found: no saved carry-unwind run there")
    if not (out / COMPLETE_FILE).is_file():
        raise IncompleteRunError(
            f"{out}: incomplete run (killed or failed while writing): no '{COMPLETE_FILE}' marker; run it again"
        )
    for name in (TIMESERIES_FILE, SUMMARY_FILE, CONFIG_FILE):
        if not (out / name).is_file():
            raise FileNotFoundError(f"{out / name} not found: not a saved carry-unwind run")
    record = _read_record(out / SUMMARY_FILE)
    config = ModelConfig.from_toml(out / CONFIG_FILE)
    timeseries = _read_timeseries(out / TIMESERIES_FILE)
    _check_prices(out / TIMESERIES_FILE, timeseries, config)
    return RunResult(
        timeseries=timeseries,
        summary=record["summary"],
        config=config,
        seed=record["seed"],
        scenario=record["scenario"],
    )


def _check_prices(path: Path, df: pd.DataFrame, config: ModelConfig) -> None:
    """Refuse a saved run whose prices the engine could not have recorded: not finite, or outside the
    plausibility bounds its configuration gave the clearing; and one with a value that is not finite in
    another column :func:`summarize` reads (:data:`SUMMARY_COLUMNS`), which a run never records either
    (a file edited or damaged after the run)."""
    expected = "expected the timeseries.parquet the run wrote"

    def numbers(col: str) -> np.ndarray:
        try:
            return df[col].to_numpy(dtype=float)
        except (TypeError, ValueError):  # text, not numbers: not what a run writes
            raise DamagedRunError(
                f"{path}: column {col!r} holds {df[col].dtype} values, not numbers; {expected}"
            ) from None

    sim = config.simulation
    bounds = {"usdjpy": (sim.min_usdjpy, sim.max_usdjpy)}
    for col in ("ust10y_yield", "jgb10y_yield", "jgb30y_yield"):
        bounds[col] = (sim.min_yield_pa, sim.max_yield_pa)
    for col, (lo, hi) in bounds.items():
        if col not in df.columns:
            continue
        x = numbers(col)
        bad = ~(np.isfinite(x) & (x >= lo) & (x <= hi))
        if bad.any():
            i = int(np.argmax(bad))
            raise DamagedRunError(
                f"{path}: {col} = {float(x[i])!r} on row {i} is not allowed; a run records only finite prices within "
                f"[{lo:g}, {hi:g}] (its configuration's bounds); {expected}"
            )
    days = numbers("day")
    for col in SUMMARY_COLUMNS:
        x = numbers(col)
        bad = ~np.isfinite(x)
        if bad.any():
            i = int(np.argmax(bad))
            when = f"on day {int(days[i])}" if np.isfinite(days[i]) else f"on row {i}"
            raise DamagedRunError(
                f"{path}: {col} = {float(x[i])!r} {when} is not allowed; a run records only finite numbers in it; "
                f"{expected}"
            )
