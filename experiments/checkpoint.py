"""Long commands resume where they stopped: each finished run's result is kept on disk until the command completes.

A command that runs many models (the balance-sheet benchmark, the replay, the hypotheses, validation,
the calibration's search) wraps its work in :func:`resumable`. Inside that block every call of
:func:`experiments.runner.run_tasks` looks up each task in the checkpoint directory first, runs only
the tasks not found there, and writes each result as it arrives (atomically: a file is whole or
absent). A command killed after 90 of 100 runs therefore runs the last 10 when it is started again
with the same arguments, and its output is the one an uninterrupted run gives, bit for bit (a run
depends only on its configuration and seed). When the block finishes without an error the directory
is removed; after an error or an interruption it is kept, and the log says so.

A result is found only under a key made of the task's function and arguments (pickled) and a hash of
the code and data that could change it (the ``.py``, ``.toml`` and ``.json`` files of ``model/``,
``agents/`` and ``experiments/``, and the versions of Python, NumPy, SciPy, numba and pandas): after
an edit anywhere there, or an upgrade, nothing stored before is reused. A
task that cannot be pickled, or a stored result that cannot be read, is simply run again.

Example
-------
>>> import tempfile, pathlib
>>> from experiments.runner import run_tasks
>>> where = pathlib.Path(tempfile.mkdtemp()) / "checkpoint"
>>> with resumable(where):
...     run_tasks(abs, [-1, 2, -3])
[1, 2, 3]
>>> where.exists()  # removed once the block has finished
False
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import logging
import pickle
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "active", "code_fingerprint", "resumable", "beside"]

log = logging.getLogger(__name__)

_ACTIVE: contextvars.ContextVar[Checkpoint | None] = contextvars.ContextVar("carry_unwind_checkpoint", default=None)
_SUFFIX = ".pkl"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of everything a stored result could depend on besides its task: the package's version, the
    ``.py``, ``.toml`` and ``.json`` files of ``model/``, ``agents/`` and ``experiments/``, and the
    versions of Python and the numerical libraries."""
    import platform
    from importlib import metadata

    from model import __version__
    from model.numba_cache import source_hash

    libraries = " ".join(f"{name} {metadata.version(name)}" for name in ("numpy", "scipy", "numba", "pandas"))
    code = source_hash(("model", "agents", "experiments"), (".py", ".toml", ".json"), True)
    return f"{__version__} {code} python {platform.python_version()} {libraries}"


class Checkpoint:
    """A directory of finished tasks' results, one file per task, named by the task's key."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.fingerprint = code_fingerprint()
        self.found = 0  # results read back, over this checkpoint's life
        self.stored = 0  # results written

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
        path = self.directory / (key + _SUFFIX)
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
        from experiments.sweeps.store import write_bytes_atomic

        write_bytes_atomic(self.directory / (key + _SUFFIX), pickle.dumps(value, protocol=5))
        self.stored += 1

    def split(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> tuple[dict[int, Any], list[str | None]]:
        """The results stored for ``tasks`` (by position; only those found) and every task's key."""
        keys = [self.key(fn, task) for task in tasks]
        found = {}
        for i, key in enumerate(keys):
            hit, value = self.load(key) if key is not None else (False, None)
            if hit:
                found[i] = value
        return found, keys


def active() -> Checkpoint | None:
    """The checkpoint of the enclosing :func:`resumable` block, if any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def resumable(directory: str | Path | None) -> Iterator[Checkpoint | None]:
    """Within the block, :func:`experiments.runner.run_tasks` keeps finished results in ``directory``
    and reuses those already there; on leaving the block normally the directory is removed.
    ``None``: no checkpoint (the block runs as it would without this)."""
    if directory is None:
        yield None
        return
    checkpoint = Checkpoint(directory)
    token = _ACTIVE.set(checkpoint)
    try:
        yield checkpoint
    except BaseException:
        if checkpoint.stored or checkpoint.found:
            log.warning("%d finished runs are kept in %s: the same command, run again, resumes from them",
                        checkpoint.stored + checkpoint.found, checkpoint.directory)  # fmt: skip
        raise
    finally:
        _ACTIVE.reset(token)
    shutil.rmtree(checkpoint.directory, ignore_errors=True)


def beside(out: str | Path | None) -> Path | None:
    """Where a command writing ``out`` (a file or a directory) keeps its checkpoint: ``out`` with
    ``.checkpoint`` appended, beside it; None when there is no ``out``."""
    if out is None or str(out) in ("", "-"):
        return None
    out = Path(out)
    return out.with_name(out.name + ".checkpoint")
