"""Named, independent random streams from one integer seed.

Each stream's ``SeedSequence`` is ``SeedSequence(seed, spawn_key=(crc32(name),))``: it depends
only on the run's seed and the stream's name, so adding a sector (a new name) never changes the
draws of the others, and the same seed gives the same draws in any process.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

__all__ = ["RandomStreams", "resolve_seed", "seed_problem", "SEED_LIMIT"]

# seeds are integers in [0, 2**64): what the command line and the app take; a seed's digits name output folders
SEED_LIMIT = 2**64


def seed_problem(value: Any) -> str:
    """'' if ``value`` is a seed (an int or NumPy integer, not a bool, in [0, 2**64)), else what follows
    "seed = " in a one-line error: the value (shortened) and what is allowed."""
    if not isinstance(value, bool | np.bool_) and isinstance(value, int | np.integer) and 0 <= int(value) < SEED_LIMIT:
        return ""
    from model.validation import shown

    whole = int(value) if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
    return f"{shown(whole, 30)} is not allowed; expected a non-negative integer below 2**64"


class RandomStreams:
    def __init__(self, seed: int) -> None:
        problem = seed_problem(seed)
        if problem:
            raise ValueError(f"seed = {problem}")
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
    problem = seed_problem(value)
    if problem:
        raise ValueError(f"seed = {problem}")
    return int(value)
