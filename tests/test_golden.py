"""The golden set (``tests/golden.py``): every recorded number is reproduced bit for bit.

A change that alters numbers on purpose regenerates the set (``python -m tests.golden --write``) in a
commit of its own that says why; a refactor must pass this test unchanged.
"""

from __future__ import annotations

import copy

import pytest

from tests import golden


@pytest.fixture(scope="module")
def computed():
    return golden.compute()


def test_golden_set_is_reproduced_bit_for_bit(computed):
    problems = golden.compare(computed)
    assert not problems, f"{len(problems)} differences from the golden set, first: {problems[:10]}"


def test_golden_comparison_sees_a_bit_level_change(computed):
    arrays, numbers = copy.deepcopy(computed)
    key = next(k for k in arrays if k.endswith("/usdjpy"))
    arrays[key][-1] = arrays[key][-1] * (1 + 1e-15)
    numbers["summaries"][next(iter(numbers["summaries"]))]["usdjpy_end"] = -1.0
    problems = golden.compare((arrays, numbers))
    assert any(key in p for p in problems)
    assert any("usdjpy_end" in p for p in problems)
