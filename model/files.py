"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then renamed
over it (:func:`atomic_write`). The command-line tools write through :mod:`experiments.runner`'s
wrappers of it; the model writes its own configuration files through it."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "fsync_dir", "path_problem"]


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


def path_problem(exc: OSError) -> str:
    """What the system found wrong with a path it refused, in words; for a name too long
    (``ENAMETOOLONG``) the limits: bytes a part of the path and in all."""
    import errno

    if exc.errno != errno.ENAMETOOLONG:
        return exc.strerror or str(exc)
    try:
        part, whole = os.pathconf(".", "PC_NAME_MAX"), os.pathconf(".", "PC_PATH_MAX")
    except (OSError, ValueError):
        part, whole = 255, 4096
    return f"the name is too long for the file system (at most {part:,} bytes a part, {whole:,} in all)"
