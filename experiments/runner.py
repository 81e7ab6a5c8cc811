"""The one parallel runner: independent simulation runs on this process, local processes or Dask.

Every job that runs many models (sweeps, hypotheses, validation, the paper figures) goes
through here. Two levels:

:func:`run_tasks`
    ``[fn(task) for task in tasks]``, computed by a pool and returned in task order. What
    hypotheses, validation and figures use.
:func:`make_pool`
    A pool with ``submit``/``wait``/``restart``/``close``, for callers that stream results as
    they finish and recover from dead workers themselves (:mod:`experiments.sweeps.executors`).

Executors: ``serial`` (this process), ``local`` (``concurrent.futures.ProcessPoolExecutor`` with
the *spawn* start method: no fork of a process holding numba's threads) and ``dask`` (a
``distributed.LocalCluster`` started for the job, or an existing scheduler). Worker processes set
``NUMBA_NUM_THREADS=1`` before numba is imported: one process per core. A run depends only on
its configuration and seed and the kernels are sequential, so results are identical, bit for bit,
whichever executor and however many workers computed them.

Inside :func:`experiments.checkpoint.resumable` (the long commands), :func:`run_tasks` keeps each
finished result on disk and skips the tasks an interrupted attempt already finished.

A function sent to worker processes must be importable by name (a module-level function), and
a script that uses the local executor must call it under ``if __name__ == "__main__":`` (spawn
imports the calling script again in each worker).

Example
-------
>>> from experiments.runner import run_tasks
>>> run_tasks(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from experiments.logs import quiet_model_logs

log = logging.getLogger(__name__)

__all__ = [
    "EXECUTORS",
    "Pool",
    "PoolError",
    "TaskFailed",
    "default_workers",
    "init_worker",
    "make_pool",
    "run_tasks",
]

EXECUTORS = ("local", "dask", "serial")


class PoolError(RuntimeError):
    """The pool could not be started (e.g. the Dask scheduler is unreachable)."""


class TaskFailed(RuntimeError):
    """A task raised; ``index`` is its position in the task list, the original error its ``__cause__``."""

    def __init__(self, index: int, exc: BaseException) -> None:
        super().__init__(f"task {index} failed: {type(exc).__name__}: {exc}")
        self.index = index


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def init_worker() -> None:
    """Initializer of local worker processes: runs before the model (hence numba) is imported."""
    import signal

    os.environ["NUMBA_NUM_THREADS"] = "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # Ctrl-C reaches the whole process group: the parent alone handles it (writes what is
    # finished, then stops the workers), so the workers do not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# -- pools ----------------------------------------------------------------------------------------


class Pool(Protocol):
    """What every executor offers; ``workers`` and ``label`` ("2 local worker processes") describe it."""

    workers: int
    label: str

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def wait(self, futures: Iterable[Any], timeout: float | None) -> set: ...

    def restart(self) -> None: ...

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None: ...


class SerialPool:
    """Runs each task in this process when it is submitted (debugging, tests, tiny jobs)."""

    label = "this process"

    def __init__(self) -> None:
        self.workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def wait(self, futures: Iterable[Any], timeout: float | None) -> set:
        return {f for f in futures if f.done()}

    def restart(self) -> None:
        pass

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        pass


class LocalPool:
    """``ProcessPoolExecutor`` with the spawn start method (no fork of a process holding numba/threads)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.label = f"{workers} local worker process{'es' if workers != 1 else ''}"
        self._start()

    def _start(self) -> None:
        import multiprocessing

        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Iterable[Any], timeout: float | None) -> set:
        done, _ = concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def restart(self) -> None:
        self.close(cancel=True)
        self._start()

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # Python 3.12 cannot terminate a pool's workers through the public API (3.14 adds
        # terminate_workers): stop the queue, let idle workers leave, and end those still busy
        # with a task, so that a long run does not delay the exit.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.join(timeout=1.0)
        for p in processes:
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        self._pool.shutdown(wait=True)  # joins the pool's manager thread, which releases its queues


class DaskPool:
    """A ``distributed.Client`` on a LocalCluster started here, or on an existing scheduler."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise PoolError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = max(n, 1)
            self.label = f"the Dask cluster at {scheduler} ({n} worker{'s' if n != 1 else ''})"
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env={"NUMBA_NUM_THREADS": "1"},  # set before the worker imports numba
            )
            self._client = Client(self._cluster)
            self.workers = workers
            self.label = f"a local Dask cluster of {workers} worker{'s' if workers != 1 else ''}"

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def wait(self, futures: Iterable[Any], timeout: float | None) -> set:
        from distributed import wait

        try:
            return set(wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return set()

    def restart(self) -> None:
        pass  # Dask's nannies restart dead workers and reschedule their tasks themselves

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        # errors while tearing down a cluster (a worker already gone) must not hide the job's outcome
        if cancel and pending:
            with contextlib.suppress(Exception):
                self._client.cancel(list(pending))
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def make_pool(executor: str, workers: int, scheduler: str | None = None) -> Pool:
    """A pool of the given executor: ``"serial"``, ``"local"`` or ``"dask"`` (see the module docstring).

    Raises
    ------
    ValueError
        An unknown executor.
    PoolError
        The Dask scheduler cannot be reached.
    """
    if executor == "serial":
        return SerialPool()
    if executor == "local":
        return LocalPool(workers)
    if executor == "dask":
        return DaskPool(workers, scheduler)
    raise ValueError(f"executor = {executor!r} is not allowed; expected one of {', '.join(EXECUTORS)}")


# -- ordered map ----------------------------------------------------------------------------------


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    workers: int = 1,
    executor: str | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    desc: str = "runs",
) -> list[Any]:
    """``[fn(task) for task in tasks]``, computed in parallel; results in task order.

    Parameters
    ----------
    fn
        A module-level function of one argument (it is pickled to the workers by name).
    tasks
        The arguments, one per call; each must pickle.
    workers
        Worker processes (``local``) or Dask workers of a local cluster; capped at the number of
        tasks. Results do not depend on it.
    executor
        ``"serial"``, ``"local"`` or ``"dask"``; default ``"serial"`` for one worker, else ``"local"``.
    scheduler
        Address of a running Dask scheduler; implies ``executor="dask"``.
    progress
        A tqdm progress bar on stderr (log lines are routed around it).
    desc
        The progress bar's label.

    Returns
    -------
    list
        ``fn(task)`` for every task, in the order of ``tasks``.

    Raises
    ------
    TaskFailed
        The first task that raised (by completion): its ``index``; the error is its ``__cause__``.
        The remaining tasks are cancelled; inside a :func:`~experiments.checkpoint.resumable` block
        the results that had arrived stay on disk for the next attempt.
    """
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from experiments.checkpoint import active

    tasks = list(tasks)
    if scheduler:
        executor = "dask"
    if executor is None:
        executor = "serial" if workers <= 1 else "local"
    results: list[Any] = [None] * len(tasks)
    keys: list[str | None] = [None] * len(tasks)
    todo = list(range(len(tasks)))
    checkpoint = active()
    if checkpoint is not None:  # inside a resumable command: what an earlier attempt finished is not run again
        found, keys = checkpoint.split(fn, tasks)
        todo = [i for i in todo if i not in found]
        for i, value in found.items():
            results[i] = value
        if len(todo) < len(tasks):
            log.info("%s: %d of %d already done (from %s)", desc, len(tasks) - len(todo), len(tasks),
                     checkpoint.directory)  # fmt: skip

    def finish(i: int, value: Any) -> None:
        results[i] = value
        if keys[i] is not None:
            checkpoint.store(keys[i], value)
        bar.update()

    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="run", file=sys.stderr,
               disable=not progress, leave=False)  # fmt: skip
    redirect = logging_redirect_tqdm(tqdm_class=tqdm) if progress else contextlib.nullcontext()
    with bar, redirect, quiet_model_logs():
        if executor == "serial" or not todo:
            for i in todo:
                try:
                    value = fn(tasks[i])
                except Exception as exc:
                    raise TaskFailed(i, exc) from exc
                finish(i, value)
            return results
        pool = make_pool(executor, max(1, min(workers, len(todo))), scheduler)
        futures = {pool.submit(fn, tasks[i]): i for i in todo}
        pending = set(futures)
        try:
            while pending:
                for fut in pool.wait(pending, None):
                    pending.discard(fut)
                    i = futures[fut]
                    try:
                        value = fut.result()
                    except Exception as exc:
                        raise TaskFailed(i, exc) from exc
                    finish(i, value)
        except BaseException:
            pool.close(cancel=True, pending=list(pending))
            raise
        pool.close(cancel=False)
    return results
