"""Point numba's on-disk cache at a directory keyed by the source of the compiled kernels.

Numba invalidates a cached kernel only when the file that *defines* it changes, not when a
kernel it calls from another module changes: after an edit to ``agents/hedge_funds.py`` the
cached clearing kernels in ``model/clearing.py`` would still run the old fund rules. Keying the
cache directory by a hash of every ``model/`` and ``agents/`` source file makes an edit anywhere
give a fresh cache (one compile) and never a stale kernel.

The base directory is ``$NUMBA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/carry-unwind/numba``
(``~/.cache/...``). This module imports nothing heavy and must run before numba decorates
anything; both package ``__init__`` files call :func:`configure`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_DONE = False


def source_hash(
    packages: tuple[str, ...] = ("model", "agents"), suffixes: tuple[str, ...] = (".py",), recursive: bool = False
) -> str:
    """A hash of the files with these ``suffixes`` in the project's ``packages`` (their names and contents).

    The default, the compiled kernels' source (``model/*.py``, ``agents/*.py``), keys the numba
    cache. ``recursive`` takes sub-packages too (names then relative to the project), skipping
    hidden directories and ``__pycache__``.
    """
    h = hashlib.sha1()
    for package in packages:
        root = _ROOT / package
        found = root.rglob("*") if recursive else root.glob("*")
        for path in sorted(found):
            inside = path.relative_to(root).parts
            if path.suffix not in suffixes or any(p.startswith(".") or p == "__pycache__" for p in inside[:-1]):
                continue
            if not path.is_file():
                continue
            h.update((str(path.relative_to(_ROOT)) if recursive else path.name).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def configure() -> None:
    global _DONE
    if _DONE:
        return
    _DONE = True
    base = os.environ.get("CARRY_UNWIND_NUMBA_BASE") or os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "carry-unwind" / "numba")
    # remember the base so that child processes (which inherit NUMBA_CACHE_DIR) key it afresh
    os.environ["CARRY_UNWIND_NUMBA_BASE"] = base
    cache_dir = str(Path(base) / f"src-{source_hash()}")
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    if "numba" in sys.modules:  # numba already imported: set its config directly
        sys.modules["numba"].config.CACHE_DIR = cache_dir
