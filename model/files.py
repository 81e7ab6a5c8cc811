"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then renamed
over it (:func:`atomic_write`). The command-line tools write through :mod:`experiments.runner`'s
wrappers of it; the model writes its own configuration files through it."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "fsync_dir"]


def fsync_dir(path: Path) -> None:
    """Make a rename durable (a killed machine must not lose a part file it reported written)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Any) -> None:
    """``write(file)`` to a temporary name in the same directory, fsync, then rename onto ``path``."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
