"""Running a sweep: the pure function every executor runs, and the loop that streams rows to disk.

Batches of :func:`run_one` go to a pool of :mod:`experiments.runner` (this process, local
processes or Dask); finished rows are written as they arrive; a dead local pool is restarted;
Ctrl-C writes what is finished and raises :class:`~experiments.sweeps.spec.SweepInterrupted`.
Every batch comes back with the code fingerprint of the worker that ran it
(:func:`experiments.runner.call_reporting`); a batch computed by other code than the manifest
records stops the sweep with a :class:`~experiments.sweeps.spec.SweepError` and is not written.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process  # BrokenProcessPool: named in except clauses, which must not fail
import contextlib
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.logs import quiet_model_logs
from experiments.runner import (
    EXECUTORS,
    WORKERS_RULE,
    CodeMismatch,
    PoolError,
    call_reporting,
    check_worker,
    default_workers,
    make_pool,
    max_workers,
    scheduler_address_problem,
    scheduler_connection_problem,
)
from experiments.sweeps.designs import make_tasks, point_overrides, spec_scenario
from experiments.sweeps.spec import (
    ID_COLUMNS,
    MIN_SENSITIVITY_SAMPLES,
    STATUS_ERROR,
    STATUS_OK,
    TIMESERIES_KEY,
    SpecError,
    SweepError,
    SweepInterrupted,
    SweepSpec,
)
from experiments.sweeps.store import SweepStore, code_identity, now
from model.numba_cache import CacheDamaged
from model.validation import ConfigError, shown

__all__ = ["SweepReport", "run_one", "run_batch", "run_sweep"]

log = logging.getLogger(__name__)

MAX_BATCH = 16  # runs per task: amortises the per-task cost of IPC and of Dask's scheduler
MAX_POOL_RESTARTS = 3  # a local worker that dies takes the pool down; restart it this often
GRACE_SECONDS = 5.0  # after Ctrl-C, how long batches already running may take to finish


def run_one(spec: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task and return its result row (a pure function of its arguments).

    Parameters
    ----------
    spec
        ``SweepSpec.to_dict()`` (plain data, so it pickles to any worker).
    task
        One entry of :func:`make_tasks`.

    Returns
    -------
    dict
        ``run_id, point, replicate, seed``, the parameters, the spec's metrics (floats),
        ``status`` ("ok" or "error"), ``error`` (None, or the exception's type and message) and
        ``version`` (the package version that ran it); with ``timeseries`` also the run's time
        series under ``"_timeseries"`` (the writer stores it and drops the key).

    Raises
    ------
    model.accounting.AccountingError
        A run whose books do not balance: a bug in the model, which stops the sweep (its finished
        runs are kept) rather than being recorded as a failed run.
    model.numba_cache.CacheDamaged
        numba's cache of compiled kernels cannot be read: a broken environment, not a result of the
        run; it stops the sweep with one line naming the folder to delete.
    SpecError
        The run's configuration, or anything else it was given, is not valid (a ``ConfigError``): bad
        input, not a result of the model; it stops the sweep with one line naming the design point
        (:func:`~experiments.sweeps.parsing.parse_spec` checks every point before anything runs, so
        this is a last guard).
    """
    from model import __version__
    from model.accounting import AccountingError
    from model.numba_cache import raise_if_damaged

    row: dict[str, Any] = {k: task[k] for k in ID_COLUMNS}
    row.update(task["params"])
    timeseries = None
    try:
        from experiments.analysis.metrics import run_metrics
        from model.results import run_simulation

        with quiet_model_logs():
            scenario = spec_scenario(spec)
            config = scenario.config.with_overrides(point_overrides(spec["fixed"], task["params"], spec["days"]))
            result = run_simulation(config, scenario=scenario, seed=task["seed"], days=spec["days"])
            values = run_metrics(result.timeseries, result.summary)
        row.update({m: values[m] for m in spec["metrics"]})
        row["status"], row["error"] = STATUS_OK, None
        timeseries = result.timeseries if spec.get("timeseries") else None
    except AccountingError:  # books that do not balance are a bug in the model, not a result: the sweep stops
        raise
    except ConfigError as exc:  # bad input, not a result: recorded as a failed run, it would fail again on a retry
        params = ", ".join(f"{name} = {shown(value)}" for name, value in task["params"].items())
        raise SpecError(
            f"design point {task['point']} ({params}) is not a valid configuration: {' '.join(str(exc).split())}"
        ) from None
    except Exception as exc:  # a failed run is a result too: recorded, and the sweep goes on
        raise_if_damaged(exc)  # ... but a damaged cache fails every run: not a result
        row.update({m: math.nan for m in spec["metrics"]})
        row["status"], row["error"] = STATUS_ERROR, _describe(exc)
    row["version"] = __version__
    if timeseries is not None:
        row[TIMESERIES_KEY] = timeseries
    return row


def _describe(exc: BaseException) -> str:
    """``Type: message (file.py:line in function)``: the innermost frame says where it failed."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_batch(spec: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`run_one` over a few tasks: the unit of work sent to a worker."""
    return [run_one(spec, task) for task in tasks]


@dataclass(frozen=True)
class SweepReport:
    """What a call of :func:`run_sweep` did.

    ``n_done``/``n_ok``/``n_error`` count the whole directory (all sessions); ``n_new`` the runs
    written by this call, ``n_new_error`` those of them that failed, ``first_error`` the error text of
    the first of those; ``n_lost`` runs whose worker died repeatedly (rerun with resume).
    ``steady_runs_per_min`` is the rate after the first batch came back (start-up excluded);
    ``where`` says what ran them ("2 local worker processes").
    """

    out_dir: Path
    n_runs: int
    n_done: int
    n_ok: int
    n_error: int
    n_new: int
    n_lost: int
    elapsed_s: float
    startup_s: float | None
    steady_runs_per_min: float | None
    executor: str
    where: str = ""
    n_new_error: int = 0
    first_error: str | None = None

    @property
    def complete(self) -> bool:
        return self.n_done == self.n_runs


@contextlib.contextmanager
def _deferred_sigint() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, then raise it.

    A part file written but still in the buffer when KeyboardInterrupt strikes would be written
    again by the final flush: a duplicated run. Python runs signal handlers in the main thread
    only, so swapping the handler there is enough (blocking the signal would not be: the kernel
    may hand it to another thread).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)


def _restart_pool(pool: Any, queue: deque, pending: dict[Any, Any], restarts: int) -> int:
    """A local worker died (killed, out of memory) and took the pool with it: start a new pool.

    Every batch that was on the dead pool goes back to the front of the queue (none of them
    was recorded, so none is duplicated). Returns the new restart count; raises SweepError
    past MAX_POOL_RESTARTS.
    """
    lost = list(pending.values())
    pending.clear()
    queue.extendleft(reversed(lost))
    restarts += 1
    if restarts > MAX_POOL_RESTARTS:
        raise SweepError(f"worker processes died {restarts} times; stopping (continue with --resume)")
    log.warning("a worker process died; restarting the pool and resubmitting %d runs", sum(len(b) for b in queue))
    pool.restart()
    return restarts


def _harvest(pool: Any, pending: dict[Any, Any], accept: Any) -> None:
    """After Ctrl-C: cancel the queued batches, keep those that finish within GRACE_SECONDS (``accept``
    takes what a worker returned: its identity and the rows)."""
    if pool is None:
        return
    for fut in list(pending):
        if fut.cancel():
            pending.pop(fut)
    deadline = time.monotonic() + GRACE_SECONDS
    while pending and time.monotonic() < deadline:
        for fut in pool.wait(pending, timeout=max(deadline - time.monotonic(), 0.01)):
            pending.pop(fut, None)
            if not fut.cancelled() and fut.exception() is None:
                accept(fut.result())


def _batches(tasks: list[dict[str, Any]], workers: int) -> deque[list[dict[str, Any]]]:
    """Split into batches: at least ~8 per worker (load balance), at most MAX_BATCH runs each."""
    size = max(1, min(MAX_BATCH, len(tasks) // (8 * max(workers, 1))))
    return deque(tasks[i : i + size] for i in range(0, len(tasks), size))


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    flush_seconds: float = 1.0,
    spec_text: str | None = None,
) -> SweepReport:
    """Run (or resume) a sweep into ``out_dir``.

    Worker processes are started with the spawn method, which imports the calling script again
    in each worker: a script that calls this with the local executor must do so under
    ``if __name__ == "__main__":`` (as with any use of multiprocessing).

    Parameters
    ----------
    spec
        From :func:`load_spec` / :func:`parse_spec`.
    out_dir
        Output directory (created); see the module docstring for its layout.
    executor
        "local" (worker processes), "dask" (a LocalCluster, or ``scheduler``) or "serial".
    workers
        Worker processes for "local" and a local Dask cluster (default: the usable CPU cores), at most
        :func:`experiments.runner.max_workers`.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); implies executor "dask".
    resume
        Continue the sweep already in ``out_dir`` (the same specification), skipping its runs.
    retry_failed
        With ``resume``: run the runs recorded as errors again (their error rows are removed).
    progress
        tqdm progress bar on stderr: runs done, rate, time left.
    flush_seconds
        Longest time a finished run waits in memory before it is written (0: write every batch
        as it arrives). A kill loses what was not yet written: the rows waiting (at most this long's
        worth) and the batches in flight (whole batches of up to ``MAX_BATCH`` runs, about two per
        worker), which ``resume`` runs again; no run is ever recorded twice.
    spec_text
        The specification file's text, copied to ``DIR/spec.toml`` with its comments.

    Raises
    ------
    SpecError
        ``out_dir`` holds another sweep, or a sweep without ``resume``, or one that other code or another
        specification started; ``scheduler`` is not an address ``[PROTOCOL://]HOST:PORT``; ``workers`` is out of
        its range; a run's configuration is not valid (the sweep stops there, its finished runs kept).
    SweepInterrupted
        Ctrl-C: finished runs were written; the exception says how many.
    SweepError
        The executor failed beyond repair (local worker pool broke repeatedly); the scheduler did not
        answer within :data:`experiments.runner.SCHEDULER_TIMEOUT_SECONDS` (checked before ``out_dir`` is
        made).
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    t0 = time.perf_counter()
    out = Path(out_dir)
    if scheduler:
        executor = "dask"
    if executor not in EXECUTORS:
        raise SpecError(f"executor = {executor!r} is not allowed; expected one of {', '.join(EXECUTORS)}")
    problem = scheduler_address_problem(scheduler) if scheduler else None
    if problem:  # checked before the directory is made
        raise SpecError(f"scheduler = {scheduler!r} is not allowed; {problem}")
    problem = scheduler_connection_problem(scheduler) if scheduler else None
    if problem:  # so is a scheduler that does not answer: a retry must not find a half-made sweep
        raise SweepError(
            f"scheduler = {scheduler!r} cannot be reached ({problem}); expected the address of a running Dask "
            "scheduler; nothing was written"
        )
    most = max_workers()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= most):
        raise SpecError(f"workers = {shown(workers)} is not allowed; expected an integer from 1 to {most:,} "
                        f"({WORKERS_RULE})")  # fmt: skip
    workers = workers or default_workers()
    store = SweepStore(out, spec)
    store.check_target()  # before the lock file is made in it
    spec_dict = spec.to_dict()
    session: dict[str, Any] = {"id": store.session_id, "started": now(), "executor": executor, **code_identity()}

    with store.lock():
        design, manifest = store.prepare(spec_text, resume)  # refuses a sweep that other code started
        if retry_failed:
            n = store.drop_errors()
            if n:
                log.info("retrying %d failed run%s", n, "s" if n != 1 else "")
        store.begin_session(session)  # recorded before any run: a session killed outright still shows
        done = store.done_ids()  # refuses a run recorded twice
        all_tasks = make_tasks(spec, design)
        if not done <= {t["run_id"] for t in all_tasks}:  # rows of another sweep: named, with their file
            store.check_runs({t["run_id"] for t in all_tasks})
        tasks = [t for t in all_tasks if t["run_id"] not in done]
        n_total = len(all_tasks)
        fewest = MIN_SENSITIVITY_SAMPLES.get(spec.design)
        if fewest is not None and spec.samples is not None and spec.samples < fewest:
            log.warning("samples = %d: 'carry-unwind sensitivity' takes at least %d for a %s design; these runs "
                        "will not give indices", spec.samples, fewest, spec.design)  # fmt: skip
        log.info(
            "sweep %r: %s design, %d points x %d replicates = %d runs of %d days (%s); %d done, %d to run",
            spec.name,
            spec.design,
            len(design),
            spec.replicates,
            n_total,
            spec.days,
            spec.scenario,
            n_total - len(tasks),
            len(tasks),
        )

        n_new = n_new_error = n_lost = restarts = 0
        first_error: str | None = None
        expected = manifest.get("code_fingerprint") or session["code_fingerprint"]  # the code of every row
        startup_s: float | None = None
        n_at_startup = 0
        t_last = t0
        interrupted = False
        pool = None
        buffer: list[dict[str, Any]] = []
        pending: dict[Any, list[dict[str, Any]]] = {}
        queue: deque[list[dict[str, Any]]] = deque()
        bar = tqdm(
            total=n_total,
            initial=n_total - len(tasks),
            desc=spec.name,
            unit="run",
            file=sys.stderr,
            disable=not progress or not tasks,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        redirect = logging_redirect_tqdm() if progress else contextlib.nullcontext()
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush, n_new, n_new_error, first_error
            if buffer:
                with _deferred_sigint():  # written and forgotten together, or the rows are written twice
                    store.write_rows(buffer)
                    n_new += len(buffer)
                    errors = [r["error"] for r in buffer if r["status"] == STATUS_ERROR]
                    n_new_error += len(errors)
                    first_error = first_error or (errors[0] if errors else None)
                    buffer.clear()
            last_flush = time.monotonic()

        def accept(reported: tuple[Any, list[dict[str, Any]]]) -> None:
            nonlocal startup_s, n_at_startup, t_last
            identity, rows = reported
            try:  # before anything of the batch is written
                check_worker(identity, expected, f"{len(rows)} runs of the sweep in {out}")
            except CodeMismatch as exc:
                raise SweepError(str(exc)) from None
            for row in rows:
                ts = row.pop(TIMESERIES_KEY, None)
                if ts is not None:  # written before its row, so a recorded run always has its series
                    store.write_timeseries(row["run_id"], ts)
                if row["status"] == STATUS_ERROR:
                    log.warning(
                        "run %s (point %d, replicate %d) failed: %s",
                        row["run_id"],
                        row["point"],
                        row["replicate"],
                        row["error"],
                    )
                buffer.append(row)
            t_last = time.perf_counter()
            if startup_s is None:
                startup_s, n_at_startup = t_last - t0, len(rows)
            bar.update(len(rows))

        try:
            with bar, redirect:
                if tasks:
                    try:
                        pool = make_pool(executor, workers, scheduler)
                    except PoolError as exc:
                        raise SweepError(str(exc)) from None
                    session.update(workers=pool.workers, where=pool.label)
                    log.info("running on %s", pool.label)
                    queue = _batches(tasks, pool.workers)
                    in_flight = 1 if executor == "serial" else 2 * pool.workers
                    while queue or pending:
                        try:
                            while queue and len(pending) < in_flight:
                                batch = queue.popleft()
                                pending[pool.submit(call_reporting, run_batch, spec_dict, batch)] = batch
                        except concurrent.futures.process.BrokenProcessPool:
                            queue.appendleft(batch)
                            restarts = _restart_pool(pool, queue, pending, restarts)
                            continue
                        for fut in pool.wait(pending, flush_seconds if flush_seconds > 0 else None):
                            if fut not in pending:
                                continue  # already handled with a broken pool
                            batch = pending.pop(fut)
                            try:
                                reported = fut.result()
                            except concurrent.futures.process.BrokenProcessPool:
                                queue.appendleft(batch)
                                restarts = _restart_pool(pool, queue, pending, restarts)
                                break
                            except Exception as exc:  # e.g. dask KilledWorker: a task kept killing workers
                                accounting = sys.modules.get("model.accounting")  # loaded by a run that raised it
                                if accounting is not None and isinstance(exc, accounting.AccountingError):
                                    raise  # a bug in the model: the sweep stops, its finished runs kept
                                if isinstance(exc, CacheDamaged):  # a broken environment: every run would fail
                                    raise SweepError(str(exc)) from None
                                if isinstance(exc, ConfigError):  # bad input (run_one): a retry would fail again
                                    raise SpecError(
                                        f"{exc}; the sweep stopped, its finished runs are kept in {out}: correct "
                                        "the specification, then start it again with another --out"
                                    ) from None
                                n_lost += len(batch)
                                log.error(
                                    "%d runs lost (%s: %s); rerun with --resume", len(batch), type(exc).__name__, exc
                                )
                                continue
                            accept(reported)
                        if buffer and (flush_seconds <= 0 or time.monotonic() - last_flush >= flush_seconds):
                            flush()
        except KeyboardInterrupt:
            interrupted = True
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C skips the grace period
                _harvest(pool, pending, accept)
        finally:
            try:
                flush()
            finally:
                if pool is not None:
                    pool.close(cancel=interrupted or bool(pending) or bool(queue), pending=list(pending))
                session.update(finished=now(), runs_written=n_new, runs_lost=n_lost)
                manifest = store.record_session(session, interrupted)

    elapsed = time.perf_counter() - t0
    steady = None
    if startup_s is not None and t_last - t0 > startup_s and n_new > n_at_startup:
        steady = 60.0 * (n_new - n_at_startup) / (t_last - t0 - startup_s)
    if interrupted:
        raise SweepInterrupted(out, manifest["runs_done"], n_total)
    return SweepReport(
        out_dir=out,
        n_runs=n_total,
        n_done=manifest["runs_done"],
        n_ok=manifest["runs_ok"],
        n_error=manifest["runs_error"],
        n_new=n_new,
        n_lost=n_lost,
        elapsed_s=elapsed,
        startup_s=startup_s,
        steady_runs_per_min=steady,
        executor=executor,
        where=session.get("where", ""),
        n_new_error=n_new_error,
        first_error=first_error,
    )
