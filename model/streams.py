"""Named, independent random streams from one integer seed.

Each stream's ``SeedSequence`` is ``SeedSequence(seed, spawn_key=(crc32(name),))``: it depends
only on the run's seed and the stream's name, so adding a sector (a new name) never changes the
draws of the others, and the same seed gives the same draws in any process.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

__all__ = ["RandomStreams", "resolve_seed"]


class RandomStreams:
    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is not allowed; expected a non-negative integer")
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._streams:
            ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            self._streams[name] = np.random.Generator(np.random.PCG64(ss))
        return self._streams[name]


def resolve_seed(seed: Any, rng: Any) -> int:
    """One non-negative integer seed from ``seed``/``rng`` (as ``mesa.batch_run`` passes it)."""
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both")
    value = seed if seed is not None else rng
    if value is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(value, np.random.Generator):
        return int(value.integers(0, 2**63 - 1))
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ValueError(f"seed = {value!r} is not allowed; expected a non-negative integer")
    return int(value)
