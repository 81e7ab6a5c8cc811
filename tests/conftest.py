"""pytest configuration for the carry-unwind test suite.

The packages key numba's cache directory by a hash of their sources (``model/numba_cache.py``),
so an edit to one module never leaves a stale compiled caller in another. Importing the package
here makes sure that happens before any test module imports numba.
"""

from __future__ import annotations

import model  # noqa: F401  (configures the numba cache directory)
