"""The compiled pairwise sum adds in NumPy's order: the same number as ``ndarray.sum`` bit for bit, of the
numbers or of a part of each (positive part, negative part, magnitude) as NumPy computes it."""

import math

import numpy as np
import pytest

from model.sums import MAGNITUDE, NEGATIVE, POSITIVE, WHOLE, pairwise_sum, pairwise_sum_of

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


PARTS = {
    WHOLE: lambda a: a,
    POSITIVE: lambda a: np.maximum(a, 0.0),
    NEGATIVE: lambda a: np.maximum(-a, 0.0),
    MAGNITUDE: np.abs,
}


@pytest.mark.parametrize("part", sorted(PARTS))
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 1000, 1025, 65_537])
def test_sum_of_a_part_equals_numpy_on_the_part_bit_for_bit(part, n):
    rng = np.random.default_rng(1000 + n)
    a = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)
    assert _same(pairwise_sum_of(a, part), float(PARTS[part](a).sum()))


@pytest.mark.parametrize("part", sorted(PARTS))
def test_sum_of_a_part_keeps_numpy_rules_for_nan_inf_and_signed_zeros(part):
    cases = (np.array([1.0, np.nan, -2.0]), np.array([-np.inf, 3.0]), np.array([np.inf, -1.0]), np.full(9, -0.0),
             np.array([-0.0, 0.0, -5.0] * 50))  # fmt: skip
    for a in cases:
        assert _same(pairwise_sum_of(a, part), float(PARTS[part](a).sum())), (part, a[:3])


def test_the_parts_differ_where_they_should():
    a = np.array([3.0, -5.0])  # a check that the part is applied at all
    assert [pairwise_sum_of(a, p) for p in (WHOLE, POSITIVE, NEGATIVE, MAGNITUDE)] == [-2.0, 3.0, 5.0, 8.0]
