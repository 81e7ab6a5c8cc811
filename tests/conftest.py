"""pytest configuration for the carry-unwind test suite.

``NUMBA_CACHE_DIR`` must be set before numba is first imported (numba reads it at import); pytest
loads this file before any test module, so it is set here.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))
