"""The compiled pairwise sum adds in NumPy's order: the same number as ``ndarray.sum`` bit for bit."""

import math

import numpy as np
import pytest

from model.sums import pairwise_sum

SIZES = [*range(0, 140), 255, 256, 257, 1000, 1023, 1024, 1025, 8191, 8192, 8193, 20_000, 65_537]


def _same(x: float, y: float) -> bool:
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y) or (math.isnan(x) and math.isnan(y))


@pytest.mark.parametrize("n", SIZES)
def test_pairwise_sum_equals_numpy_sum_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        a = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)  # magnitudes where the order shows
        assert _same(pairwise_sum(a), float(a.sum()))


def test_pairwise_sum_of_signed_zeros_and_non_finite_values_equals_numpy():
    for a in (np.full(3, -0.0), np.full(200, -0.0), np.array([1.0, np.inf, -np.inf]), np.array([np.nan] * 9)):
        with np.errstate(invalid="ignore"):  # inf - inf
            expected = float(a.sum())
        assert _same(pairwise_sum(a), expected)


def test_pairwise_sum_of_a_strided_view_equals_numpy():
    a = np.random.default_rng(0).standard_normal(1001) * 1e6
    for view in (a[::-1], a[::3]):
        assert _same(pairwise_sum(view), float(view.sum()))
