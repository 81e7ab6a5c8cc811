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

Long commands resume where they stopped: inside :func:`resumable`, :func:`run_tasks` keeps each
finished result on disk (atomically: a file is whole or absent) and runs only the tasks an
interrupted attempt had not finished. The same command run again after Ctrl-C, a crash or a killed
machine therefore gives the output an uninterrupted run gives, bit for bit; once the block ends
without an error the directory is removed, unless the block called :meth:`Checkpoint.keep` (a command
that reports a failure by its exit status rather than by an exception). A result is found only under
a key made of the task's function and arguments (pickled) and :func:`code_fingerprint` (the package
version, the ``.py``, ``.toml`` and ``.json`` files of ``model/``, ``agents/`` and ``experiments/``,
outputs written there and the example sweep specifications of ``experiments/specs/`` excepted, and the
versions of Python, NumPy, SciPy, numba, pandas, Mesa and pyarrow): after an edit anywhere there, or an
upgrade, nothing stored before is reused. A task that cannot be pickled, or a stored result that cannot
be read, is simply run again.

Every worker process reports its own code fingerprint with each result (:func:`call_reporting`,
computed once per process): a result computed by other code than the command's (a Dask worker with
another installation, a worker started after an edit) is refused with :class:`CodeMismatch`, and
nothing of it is kept. One command at a time writes an output: :func:`output_lock` (taken by
:func:`resumable` and by the command line for every ``--out``) refuses a second with :class:`OutputBusy`.

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
import contextvars
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from experiments.logs import quiet_model_logs
from model.files import atomic_write, fsync_dir

log = logging.getLogger(__name__)

__all__ = [
    "EXECUTORS",
    "Pool",
    "PoolError",
    "TaskFailed",
    "default_workers",
    "max_workers",
    "WORKERS_RULE",
    "init_worker",
    "make_pool",
    "run_tasks",
    "Checkpoint",
    "resumable",
    "active_checkpoint",
    "beside",
    "checkpoint_settings",
    "command_settings",
    "code_fingerprint",
    "FINGERPRINT_LIBRARIES",
    "FINGERPRINT_SKIPS",
    "NOT_INSTALLED",
    "installed_version",
    "is_host",
    "CodeMismatch",
    "OutputBusy",
    "call_reporting",
    "check_worker",
    "worker_identity",
    "fingerprint_difference",
    "lock_file",
    "output_lock",
    "scheduler_address_problem",
    "scheduler_connection_problem",
    "atomic_write",
    "save_figure_atomic",
    "fsync_dir",
    "write_bytes_atomic",
    "write_text_atomic",
]

EXECUTORS = ("local", "dask", "serial")


class PoolError(RuntimeError):
    """The pool could not be started (e.g. the Dask scheduler is unreachable)."""


class StopCommand(SystemExit):
    """A command must stop, for a reason its one line says; not a failure of the model or of the code.

    A ``SystemExit``: the command line prints the line (``carry-unwind: error: ...``), and a script
    run with ``python -m`` that does not catch it stops with that line on stderr and exit status 1,
    without a traceback. Handlers of ``Exception`` (which a run's errors go through) pass it by; the
    checkpoint of the command's finished runs is kept, as after an interruption."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CodeMismatch(StopCommand):
    """A worker computed a result with other code than the command's (see :func:`check_worker`)."""


class OutputBusy(StopCommand):
    """Another command is writing the same output (see :func:`output_lock`)."""


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


# what max_workers allows, in words, for messages and --help
WORKERS_RULE = "4 per CPU core of this machine, or 256 where that is more"


def max_workers() -> int:
    """The most worker processes a sweep may ask for (``--workers``): 4 per CPU core of this machine, or 256
    where that is more (:data:`WORKERS_RULE`). A run uses one core, so more workers than cores only share them; the
    cap turns a typo (``--workers 100000``: as many processes started, each importing the model) into an
    error. It holds for local processes and for a local Dask cluster alike (each worker is a process here)."""
    return max(4 * (os.cpu_count() or 1), 256)


def init_worker() -> None:
    """Initializer of local worker processes: runs before the model (hence numba) is imported."""
    import signal

    os.environ["NUMBA_NUM_THREADS"] = "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # Ctrl-C reaches the whole process group: the parent alone handles it (writes what is
    # finished, then stops the workers), so the workers do not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# -- which code a worker runs ---------------------------------------------------------------------

_PROCESS_TOKEN = uuid.uuid4().hex  # this process's own (a spawned worker imports the module afresh: its own)
_WORKER_FINGERPRINT: str | None = None  # this process's code fingerprint, computed by its first task


def worker_identity() -> tuple[str, str]:
    """``(process token, code fingerprint)`` of this process: the fingerprint of the code it loaded,
    computed once, at its first task, and kept (an edit of the files later does not change the code a
    running process executes)."""
    global _WORKER_FINGERPRINT
    if _WORKER_FINGERPRINT is None:
        _WORKER_FINGERPRINT = code_fingerprint()
    return _PROCESS_TOKEN, _WORKER_FINGERPRINT


def call_reporting(fn: Callable[..., Any], *args: Any) -> tuple[tuple[str, str], Any]:
    """``(worker_identity(), fn(*args))``: the unit of work a pool runs, so that the caller can refuse a
    result computed by other code (:func:`check_worker`). An error raised while numba reads a damaged
    cache is raised as :class:`model.numba_cache.CacheDamaged`, whose one line names the folder to delete."""
    identity = worker_identity()
    try:
        value = fn(*args)
    except Exception as exc:
        from model.numba_cache import raise_if_damaged

        raise_if_damaged(exc)
        raise
    return identity, value


def check_worker(identity: tuple[str, str], expected: str, what: str = "results") -> None:
    """Refuse (:class:`CodeMismatch`) a result reported by :func:`call_reporting` from a process that runs
    other code than ``expected`` (the fingerprint the command started with, or its manifest records).
    This process is held to it too: its fingerprint is that of the code it loaded (:func:`worker_identity`),
    which a file edited since (in a notebook's long-lived session) no longer is."""
    _, fingerprint = identity
    if fingerprint == expected:
        return
    diff = fingerprint_difference(fingerprint, expected, "on the worker", "in this command")
    raise CodeMismatch(
        f"a worker computed {what} with other code than this command's ({diff}; "
        f"worker: {fingerprint!r}, this command: {expected!r}); nothing it computed was kept: give every worker "
        "the same code and library versions (restart them after an edit or upgrade; in a notebook, restart its "
        "kernel too) and run the command again"
    )


def fingerprint_difference(old: str | None, new: str, there: str = "there", here: str = "here") -> str:
    """How two code fingerprints differ, in words: "source hash 1a2b there, 3c4d here; numpy 2.0 there, ..."."""
    if not old:
        return f"no code fingerprint recorded {there}"
    a, b = old.split(), new.split()
    shown = []
    # "VERSION SOURCE_HASH python 3.12.1 numpy 2.0.1 ...": compared item by item if the names agree
    if len(a) == len(b) and a[2::2] == b[2::2]:
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                name = ("version", "source hash")[i] if i < 2 else a[i - 1]
                shown.append(f"{name} {x} {there}, {y} {here}")
    return "; ".join(shown) or f"{old} {there}, {new} {here}"


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
            problem = scheduler_address_problem(scheduler)
            if problem:
                raise PoolError(f"scheduler = {scheduler!r} is not allowed; {problem}")
            try:
                self._client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_SECONDS:g}s")
            except (OSError, TimeoutError, ValueError) as exc:
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
            self._client.close(timeout=CLOSE_TIMEOUT_SECONDS)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=CLOSE_TIMEOUT_SECONDS)


_SCHEDULER_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(\d{1,5})/?")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def is_host(text: str) -> bool:
    """Whether ``text`` is an IP address (IPv6 possibly in brackets) or an ASCII host name."""
    import ipaddress

    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(text)) and text.isascii()


def scheduler_address_problem(address: str) -> str | None:
    """What is wrong with ``address`` as the address of a Dask scheduler, or None if nothing is.

    Dask connects to ``[PROTOCOL://]HOST:PORT`` (protocol tcp, tls, ucx, ws or wss; an IP address or
    an ASCII host name; port 1-65535); without a port it fails only when it connects, so callers
    (the command line's ``--scheduler`` among them) check first, before writing anything.
    """
    m = _SCHEDULER_ADDRESS.fullmatch(address)
    if m is None or not is_host(m.group(1)) or not 1 <= int(m.group(2)) <= 65535:
        return (
            "expected a Dask scheduler address PROTOCOL://HOST:PORT, e.g. tcp://10.0.0.5:8786 "
            "(protocol tcp, tls, ucx, ws or wss; port 1-65535)"
        )
    return None


CLOSE_TIMEOUT_SECONDS = 30.0  # the longest a Dask client or local cluster may take to shut down
SCHEDULER_TIMEOUT_SECONDS = 20.0  # how long a Dask client waits for its scheduler: the probe below and the pool


# The probe's client runs in a child process: a client that a non-Dask peer leaves hanging can then be
# killed, and it cannot hold locks of ``distributed`` that this process needs later (a probe made in a
# thread here, left hanging by such a peer, could block every later client of the process).
_PROBE = """
import os, sys, threading
from distributed import Client

address, seconds = sys.argv[1], float(sys.argv[2])


def give_up():  # a client that a silent peer holds in its handshake ignores its own timeout
    print(f"no answer within {seconds:g} s", flush=True)
    os._exit(2)


timer = threading.Timer(seconds + 1.0, give_up)
timer.daemon = True
timer.start()
try:
    Client(address, timeout=f"{seconds}s", set_as_default=False)
except BaseException as exc:
    print(" ".join(str(exc).split()) or type(exc).__name__, flush=True)
    os._exit(1)
os._exit(0)  # connected; no teardown, which does not matter for a probe
"""
PROBE_START_SECONDS = 30.0  # allowance for the probe's interpreter to start and import distributed (a backstop)


def scheduler_connection_problem(address: str, timeout: float | None = None) -> str | None:
    """Why the Dask scheduler at ``address`` cannot be reached, in one line, or None if it answers.

    Connects a client, waiting at most ``timeout`` seconds (default :data:`SCHEDULER_TIMEOUT_SECONDS`,
    as long as the pool itself waits), so that a caller can refuse an unreachable scheduler before it
    writes anything. The client is made in a child process that gives up a second after the timeout
    (and is killed if it has not answered :data:`PROBE_START_SECONDS` later): an address where
    something other than a Dask scheduler answers (a web dashboard, an SSH server) can make the
    client hang or fail in any way, and either is a one-line answer here. None as well when
    ``distributed`` is not installed: the pool says so when it starts.
    """
    import subprocess

    try:
        import distributed  # noqa: F401  (only whether it is installed)
    except ImportError:
        return None
    seconds = SCHEDULER_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, address, f"{seconds!r}"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=seconds + PROBE_START_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {seconds:g} s"
    if done.returncode == 0:
        return None
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"the probe's client exited with status {done.returncode}"


def make_pool(executor: str, workers: int, scheduler: str | None = None) -> Pool:
    """A pool of the given executor: ``"serial"``, ``"local"`` or ``"dask"`` (see the module docstring).

    Raises
    ------
    ValueError
        An unknown executor.
    PoolError
        The Dask scheduler's address is malformed, or the scheduler cannot be reached.
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
        The remaining tasks are cancelled; inside a :func:`resumable` block
        the results that had arrived stay on disk for the next attempt.
    """
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    tasks = list(tasks)
    if scheduler:
        executor = "dask"
    if executor is None:
        executor = "serial" if workers <= 1 else "local"
    results: list[Any] = [None] * len(tasks)
    keys: list[str | None] = [None] * len(tasks)
    todo = list(range(len(tasks)))
    from model.numba_cache import raise_if_damaged

    checkpoint = active_checkpoint()
    # the code the command started with: a worker's result computed by other code is refused
    expected = checkpoint.fingerprint if checkpoint is not None else None
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
            if todo:  # this process is held to the command's code as a worker is (an edit since its first task)
                check_worker(worker_identity(), code_fingerprint() if expected is None else expected)
            for i in todo:
                try:
                    value = fn(tasks[i])
                except Exception as exc:
                    raise_if_damaged(exc)
                    raise TaskFailed(i, exc) from exc
                finish(i, value)
            return results
        if expected is None:
            expected = code_fingerprint()
        pool = make_pool(executor, max(1, min(workers, len(todo))), scheduler)
        futures = {pool.submit(call_reporting, fn, tasks[i]): i for i in todo}
        pending = set(futures)
        try:
            while pending:
                for fut in pool.wait(pending, None):
                    pending.discard(fut)
                    i = futures[fut]
                    try:
                        identity, value = fut.result()
                    except Exception as exc:
                        raise_if_damaged(exc)
                        raise TaskFailed(i, exc) from exc
                    check_worker(identity, expected)  # before anything of it is kept
                    finish(i, value)
        except BaseException:
            pool.close(cancel=True, pending=list(pending))
            raise
        pool.close(cancel=False)
    return results


# -- resuming: finished results kept on disk -------------------------------------------------------

_ACTIVE: contextvars.ContextVar[Checkpoint | None] = contextvars.ContextVar("carry_unwind_checkpoint", default=None)
_RESULT_SUFFIX = ".pkl"
SETTINGS_FILE = "settings.json"  # a checkpoint's record of the command settings it belongs to
# The libraries whose versions are part of :func:`code_fingerprint`: the numerical ones, Mesa (the
# reference engine's agents) and pyarrow (the parquet files results are written to and read from).
FINGERPRINT_LIBRARIES = ("numpy", "scipy", "numba", "pandas", "mesa", "pyarrow")
NOT_INSTALLED = "absent"  # the version recorded for a library of FINGERPRINT_LIBRARIES that is not installed
# Folders left out of code_fingerprint: the example sweep specifications, which no command reads on its own (a
# sweep's specification is given to it, and its manifest keeps the specification's digest): an edit there, a
# comment in one example, must not stop every sweep and checkpoint from resuming.
FINGERPRINT_SKIPS: tuple[tuple[str, ...], ...] = (("experiments", "specs"),)


def code_fingerprint() -> str:
    """A hash of everything a stored result could depend on besides its task: the package's version, the
    ``.py``, ``.toml`` and ``.json`` files of ``model/``, ``agents/`` and ``experiments/`` (not the
    outputs written there: checkpoints, sweeps, runs, hidden temporary files, the calibration records;
    see :func:`model.numba_cache.source_hash`; nor the example sweep specifications of
    :data:`FINGERPRINT_SKIPS`), and the versions of Python and of the libraries in
    :data:`FINGERPRINT_LIBRARIES` (a library that is not installed is listed with the version
    :data:`NOT_INSTALLED`). Read afresh at each call (a few milliseconds): a scenario file edited in a
    long-lived session must change it."""
    import platform

    from model.numba_cache import source_hash
    from model.version import __version__

    libraries = " ".join(f"{name} {installed_version(name)}" for name in FINGERPRINT_LIBRARIES)
    code = source_hash(("model", "agents", "experiments"), (".py", ".toml", ".json"), True, FINGERPRINT_SKIPS)
    return f"{__version__} {code} python {platform.python_version()} {libraries}"


def installed_version(name: str) -> str:
    """The installed version of the distribution ``name``, or :data:`NOT_INSTALLED` if it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


class Checkpoint:
    """A directory of finished tasks' results, one file per task, named by the task's key."""

    def __init__(self, directory: str | Path, settings: dict[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        self.settings = settings  # recorded in the directory (SETTINGS_FILE) when it first keeps something
        self.fingerprint = code_fingerprint()
        self.found = 0  # results read back, over this checkpoint's life
        self.stored = 0  # results written
        self.kept = False  # set by keep(): the block did not complete, so the directory stays

    def record(self) -> None:
        """Write the command's settings into the directory, once, before the first thing it keeps there
        (so that a command refused before any work leaves no directory behind)."""
        if self.settings is not None:
            write_text_atomic(self.directory / SETTINGS_FILE, json.dumps(self.settings, sort_keys=True) + "\n")
            self.settings = None

    def keep(self) -> None:
        """Keep the directory when the block ends, also without an exception: the command did not
        complete (it reports a failure by its exit status), and the same command run again resumes."""
        self.kept = True

    def key(self, fn: Callable[[Any], Any], task: Any) -> str | None:
        """The file name under which ``fn(task)``'s result is kept; None if the pair cannot be pickled
        (a local function or lambda: such a task is always run)."""
        try:
            blob = pickle.dumps((fn, task), protocol=5)
        except Exception:  # PicklingError, AttributeError, TypeError: whatever pickle raises for it
            return None
        return hashlib.sha256(self.fingerprint.encode() + b"\0" + blob).hexdigest()[:32]

    def load(self, key: str) -> tuple[bool, Any]:
        """``(True, result)`` if a result is stored under ``key``, else ``(False, None)``; a file that
        cannot be read back (truncated, written by another Python) counts as absent."""
        path = self.directory / (key + _RESULT_SUFFIX)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False, None
        try:
            value = pickle.loads(data)
        except Exception as exc:
            log.warning("checkpoint: ignoring unreadable %s (%s); that run is done again", path.name, exc)
            return False, None
        self.found += 1
        return True, value

    def store(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key``: written to a temporary file, then renamed (whole or absent)."""
        self.record()
        write_bytes_atomic(self.directory / (key + _RESULT_SUFFIX), pickle.dumps(value, protocol=5))
        self.stored += 1

    def forget(self, key: str) -> None:
        """Remove the result stored under ``key``, if any: the next attempt runs its task again."""
        (self.directory / (key + _RESULT_SUFFIX)).unlink(missing_ok=True)

    def split(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> tuple[dict[int, Any], list[str | None]]:
        """The results stored for ``tasks`` (by position; only those found) and every task's key."""
        keys = [self.key(fn, task) for task in tasks]
        found = {}
        for i, key in enumerate(keys):
            hit, value = self.load(key) if key is not None else (False, None)
            if hit:
                found[i] = value
        return found, keys


def checkpoint_settings(directory: str | Path | None) -> dict[str, Any] | None:
    """The settings recorded in a checkpoint directory by :func:`resumable` (``settings=``); None if the
    directory, or its record, is absent or unreadable."""
    if directory is None:
        return None
    try:
        value = json.loads((Path(directory) / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def active_checkpoint() -> Checkpoint | None:
    """The checkpoint of the enclosing :func:`resumable` block, if any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def resumable(directory: str | Path | None, settings: dict[str, Any] | None = None) -> Iterator[Checkpoint | None]:
    """Within the block, :func:`run_tasks` keeps finished results in ``directory`` and reuses those
    already there; on leaving the block normally the directory is removed, and after an error, an
    interruption or a call of :meth:`Checkpoint.keep` it is kept for the next attempt. ``None``: no
    checkpoint (the block runs as it would without this).

    ``settings`` (JSON-ready), if given, is recorded in the directory with the first result kept
    there (:meth:`Checkpoint.record`), so that a later command can tell with
    :func:`checkpoint_settings` whether the checkpoint is its own. A directory that already records
    other settings belongs to another command that has not finished (such as ``figures --only`` run
    into the ``--out`` of a stopped ``figures``): the block reuses and adds to it, and leaves it, and
    its record, in place for that command.

    >>> import pathlib, tempfile
    >>> where = pathlib.Path(tempfile.mkdtemp()) / "out.json.checkpoint"
    >>> with resumable(where):
    ...     run_tasks(abs, [-1, 2, -3])
    [1, 2, 3]
    >>> where.exists()
    False
    """
    if directory is None:
        yield None
        return
    with output_lock(_output_of(directory)):  # one command at a time writes an output and its checkpoint
        with _resumable(directory, settings) as checkpoint:
            yield checkpoint


def _output_of(checkpoint: str | Path) -> Path:
    """The output whose checkpoint is ``checkpoint`` (see :func:`beside`): its lock is that output's."""
    checkpoint = Path(checkpoint)
    if checkpoint.name.endswith(".checkpoint") and len(checkpoint.name) > len(".checkpoint"):
        return checkpoint.with_name(checkpoint.name[: -len(".checkpoint")])
    return checkpoint


@contextlib.contextmanager
def _resumable(directory: str | Path, settings: dict[str, Any] | None) -> Iterator[Checkpoint]:
    recorded = checkpoint_settings(directory)
    # another command's unfinished checkpoint (its settings recorded and not these): this block reads and
    # adds to it, and leaves it in place for that command, whose record stays
    foreign = settings is not None and recorded is not None and _json_ready(settings) != recorded
    checkpoint = Checkpoint(directory, None if foreign else settings)
    token = _ACTIVE.set(checkpoint)
    try:
        yield checkpoint
    except BaseException:
        _report_kept(checkpoint)
        raise
    finally:
        _ACTIVE.reset(token)
    if checkpoint.kept:
        _report_kept(checkpoint)
        return
    if foreign:
        log.info("%s holds the finished runs of an unfinished command with other settings; they are kept for it",
                 checkpoint.directory)  # fmt: skip
        return
    shutil.rmtree(checkpoint.directory, ignore_errors=True)


# options that change how a command runs, not what it computes: a rerun with other values is the same command
RUNTIME_OPTIONS = frozenset({"handler", "resumable", "workers", "progress", "quiet", "scheduler", "force"})


def command_settings(args: Any, command: str | None = None) -> dict[str, Any]:
    """The settings of a command-line command, for :func:`resumable`: its name (``args.command``, or
    ``command``) and its options, less :data:`RUNTIME_OPTIONS`, as JSON values (others as text)."""
    options = {k: v for k, v in sorted(vars(args).items()) if k not in RUNTIME_OPTIONS and k != "command"}
    return _json_ready({"command": getattr(args, "command", None) or command, "options": options})


def _json_ready(value: Any) -> Any:
    """``value`` as it reads back from JSON (paths and other objects as their text)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _report_kept(checkpoint: Checkpoint) -> None:
    if checkpoint.stored or checkpoint.found:
        log.warning("%d finished runs are kept in %s: the same command, run again, resumes from them",
                    checkpoint.stored + checkpoint.found, checkpoint.directory)  # fmt: skip


def beside(out: str | Path | None) -> Path | None:
    """Where a command writing ``out`` (a file or a directory) keeps its checkpoint: ``out`` with
    ``.checkpoint`` appended, beside it; None when there is no ``out``."""
    if out is None or str(out) in ("", "-"):
        return None
    out = Path(out)
    if not out.name:  # "." or "/": named by the folder it stands for
        out = Path(os.path.abspath(out))
    return out.with_name(out.name + ".checkpoint") if out.name else out / ".checkpoint"


# -- one writer per output --------------------------------------------------------------------------

_HELD: dict[Path, int] = {}  # the lock files this process holds, and how many blocks hold each
_HELD_GUARD = threading.Lock()


def lock_file(out: str | Path) -> Path:
    """The lock file of the output ``out`` (a file or a directory): ``.NAME.lock`` beside it, where
    ``NAME`` is the output's name (absolute, so that ``out`` and ``./out`` share it)."""
    path = Path(os.path.abspath(out))
    return path.with_name(f".{path.name}.lock") if path.name else path / ".carry-unwind.lock"


@contextlib.contextmanager
def output_lock(out: str | Path | None) -> Iterator[Path | None]:
    """Within the block this process alone writes ``out``: an exclusive, non-blocking ``flock`` on
    :func:`lock_file` beside it (created, with the folders above it, and removed at the end, as are
    folders made for it that stay empty). Another process that holds it makes this raise
    :class:`OutputBusy` at once: "another command is writing to OUT (lock FILE)". Where no file can be
    made beside ``out`` (a folder this user cannot write to, a file in the way) there is no lock: nothing
    can be written there either, and the command's own check says so. The lock is the process's, so
    blocks nest (a command's :func:`resumable` inside the command line's own); the
    operating system releases it when a process dies, whatever file stays behind. ``None``, ``""`` or
    ``"-"``: no output, no lock; on a system or file system without ``flock``, no lock either.
    """
    if out is None or str(out) in ("", "-"):
        yield None
        return
    path = lock_file(out)
    with _HELD_GUARD:
        if path in _HELD:
            _HELD[path] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield path
        finally:
            with _HELD_GUARD:
                _HELD[path] -= 1
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield path
        return
    fd = None
    try:
        made = _make_folders(path.parent)
    except OSError:  # no folder can be made there: the command's own check of --out says why, in its words
        made = []
    try:
        if path.parent.is_dir():
            fd = _acquire(fcntl, path, out)
        if fd is not None:
            with _HELD_GUARD:
                _HELD[path] = 1
        try:
            yield path
        finally:
            with _HELD_GUARD:
                _HELD.pop(path, None)
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                if _same_file(path, fd):
                    path.unlink()
            os.close(fd)  # releases the lock
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if it stayed empty


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, outermost first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    try:
        for f in reversed(missing):
            try:
                f.mkdir()
            except FileExistsError:
                continue
            made.append(f)
    except OSError:
        for f in reversed(made):
            with contextlib.suppress(OSError):
                f.rmdir()
        raise
    return made


def _same_file(path: Path, fd: int) -> bool:
    try:
        a, b = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _acquire(fcntl: Any, path: Path, out: str | Path) -> int | None:
    """Open and lock ``path``; its descriptor, or None where the file system has no locks (a warning)."""
    for _ in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a folder this user cannot write to: nothing can be written beside it
            log.debug("cannot create the lock %s (%s): no lock", path, exc.strerror or exc)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            with contextlib.suppress(OSError, ValueError, IndexError):  # the holder may not have written it yet
                pid = int(os.read(fd, 32).decode().split()[0])
                holder = f", held by process {pid}"
            os.close(fd)
            raise _busy(out, path, holder) from None
        except OSError as exc:  # a file system without locks (some network mounts)
            os.close(fd)
            log.warning("cannot lock %s (%s); nothing stops another command writing to %s at the same time",
                        path, exc.strerror or exc, out)  # fmt: skip
            return None
        # the holder before may have removed the file just before it released it: the lock counts only on
        # the file that is at the path now
        if _same_file(path, fd):
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)
    raise _busy(out, path)


def _busy(out: str | Path, path: Path, holder: str = "") -> OutputBusy:
    return OutputBusy(
        f"another command is writing to {out} (lock {path}{holder}); wait for it to finish, or choose another output"
    )


# -- atomic files -------------------------------------------------------------------------------------


# atomic_write and fsync_dir are the model's (model.files), named here so that the writers below find them
# in this module (a test replaces atomic_write here to see every path written)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its directory: readers see the old file or the
    new one, never a part. A character that UTF-8 cannot hold (a byte of a file name that is not UTF-8, which
    the OS hands over as a lone surrogate) is written as its escape, ``\\udcff``."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating its directory (see :func:`write_text_atomic`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))


def save_figure_atomic(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """``fig.savefig`` to ``path`` atomically (see :func:`atomic_write`), creating its directory; returns the path.

    The format is read from the suffix of ``path`` unless ``format`` is among the keyword arguments,
    which go to ``savefig``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    savefig.setdefault("format", path.suffix.lstrip(".").lower() or None)
    atomic_write(path, lambda f: fig.savefig(f, **savefig))
    return path
