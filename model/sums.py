"""NumPy's pairwise summation as a compiled function, so a kernel's sums equal ``a.sum()`` bit for bit.

``ndarray.sum`` of a contiguous float64 array adds in blocks: fewer than 8 numbers left to right; up
to 128 in eight interleaved partial sums combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``,
then the remainder; above 128 the two halves (split at a multiple of 8) separately. A kernel that
sums a sector's arrays while it settles them (instead of NumPy summing them again after) must add in
the same order to give the same numbers. numba cannot reload a recursive kernel from its cache, so
the halves are walked with an explicit stack.

:func:`pairwise_sum_of` adds a part of each number instead (its positive or negative part, its
magnitude) in the same order, the number ``np.maximum(a, 0.0).sum()`` and the like give, without
the temporary array: a temporary the size of a population, allocated in a kernel every day, costs
more than the sum (each fresh allocation of that size is new memory the system has to map).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["MAGNITUDE", "NEGATIVE", "POSITIVE", "ROW_BLOCK", "WHOLE", "pairwise_sum", "pairwise_sum_of"]

_LEAF = 128  # NumPy's PW_BLOCKSIZE

# Rows per block of the kernels that add their rows' terms in row order but compute the terms in
# vector instructions: a first loop over the block's rows computes every row's terms branch-free into
# a scratch block, a second adds them one row at a time (the same numbers, bit for bit, as one loop).
# 128 rows of a dozen terms fit in a core's L1 data cache; 512 did not, and ran at half the speed.
ROW_BLOCK = 128

# the part of each number a sum adds (pairwise_sum_of), as NumPy computes it
WHOLE = 0  # x
POSITIVE = 1  # np.maximum(x, 0.0): a NaN stays NaN
NEGATIVE = 2  # np.maximum(-x, 0.0)
MAGNITUDE = 3  # np.abs(x)


@njit(cache=True, inline="always")
def _part(x, part):
    if part == POSITIVE:
        return x if x > 0.0 or x != x else 0.0
    if part == NEGATIVE:
        return -x if -x > 0.0 or x != x else 0.0
    if part == MAGNITUDE:
        return abs(x)
    return x


@njit(cache=True)
def _leaf(a, lo, n, part):
    """NumPy's sum of the parts of ``a[lo:lo + n]`` for ``n <= 128`` (one leaf of the pairwise tree)."""
    # a view indexed by range() counters: the compiler can see the indices are never negative, so it
    # drops the wrap-around check on each (and loads the eight partial sums' numbers as one vector)
    b = a[lo : lo + n]
    if n < 8:
        res = -0.0
        for i in range(n):
            res += _part(b[i], part)
        return res
    r0, r1, r2, r3 = _part(b[0], part), _part(b[1], part), _part(b[2], part), _part(b[3], part)
    r4, r5, r6, r7 = _part(b[4], part), _part(b[5], part), _part(b[6], part), _part(b[7], part)
    end = n - n % 8
    for k in range(1, end // 8):
        j = 8 * k
        r0 += _part(b[j], part)
        r1 += _part(b[j + 1], part)
        r2 += _part(b[j + 2], part)
        r3 += _part(b[j + 3], part)
        r4 += _part(b[j + 4], part)
        r5 += _part(b[j + 5], part)
        r6 += _part(b[j + 6], part)
        r7 += _part(b[j + 7], part)
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(end, n):
        res += _part(b[i], part)
    return res


@njit(cache=True)
def pairwise_sum(a):
    """``a.sum()`` of a 1-D float64 array, added in NumPy's order (the same number bit for bit)."""
    return pairwise_sum_of(a, WHOLE)


@njit(cache=True)
def pairwise_sum_of(a, part):
    """The sum of the parts ``part`` (``WHOLE``, ``POSITIVE``, ``NEGATIVE`` or ``MAGNITUDE``) of a 1-D
    float64 array's numbers, added in NumPy's order: ``a.sum()``, ``np.maximum(a, 0.0).sum()``,
    ``np.maximum(-a, 0.0).sum()`` or ``np.abs(a).sum()``, bit for bit."""
    n = a.shape[0]
    if n <= _LEAF:
        return 0.0 + _leaf(a, 0, n, part)
    # post-order walk of the split tree: (lo, n, children done?) on one stack, partial sums on another
    los = np.empty(128, np.int64)
    ns = np.empty(128, np.int64)
    done = np.empty(128, np.bool_)
    sums = np.empty(128)
    depth = 0
    los[0], ns[0], done[0] = 0, n, False
    top = 1
    while top > 0:
        top -= 1
        lo, m, d = los[top], ns[top], done[top]
        if m <= _LEAF:
            sums[depth] = _leaf(a, lo, m, part)
            depth += 1
        elif d:
            depth -= 1
            sums[depth - 1] = sums[depth - 1] + sums[depth]
        else:
            half = m // 2
            half -= half % 8
            los[top], ns[top], done[top] = lo, m, True
            los[top + 1], ns[top + 1], done[top + 1] = lo + half, m - half, False
            los[top + 2], ns[top + 2], done[top + 2] = lo, half, False
            top += 3
    return 0.0 + sums[0]
