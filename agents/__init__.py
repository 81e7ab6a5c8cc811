"""The sectors of the carry-unwind model: one module per sector, each with its parameters,
its array state, the pure functions that turn state and prices into demand, and a thin Mesa
view. Sectors never import each other; they meet in :mod:`model`."""

from model.numba_cache import configure as _configure_numba_cache

_configure_numba_cache()
