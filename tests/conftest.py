"""pytest configuration for the carry-unwind test suite.

``NUMBA_CACHE_DIR`` must be set before numba is first imported (numba reads it at import); pytest
loads this file before any test module, so it is set here.

Numba's on-disk cache is invalidated only when the *defining* file of a kernel changes, not when a
kernel it calls from another module changes (numba docs, "Notes on caching"): after an edit to
``agents/hedge_funds.py`` the cached clearing kernels in ``model/clearing.py`` would still run the
old fund rules. So the tests use a cache sub-directory keyed by a hash of every source file the
kernels are built from: an edit anywhere gives a fresh cache (one compile), never a stale kernel.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _source_hash() -> str:
    h = hashlib.sha1()
    for package in ("model", "agents"):
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


_base = Path(os.environ.get("NUMBA_CACHE_DIR", ROOT / ".numba_cache"))
os.environ["NUMBA_CACHE_DIR"] = str(_base / f"src-{_source_hash()}")
