"""NumPy's pairwise summation as a compiled function, so a kernel's sums equal ``a.sum()`` bit for bit.

``ndarray.sum`` of a contiguous float64 array adds in blocks: fewer than 8 numbers left to right; up
to 128 in eight interleaved partial sums combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``,
then the remainder; above 128 the two halves (split at a multiple of 8) separately. A kernel that
sums a sector's arrays while it settles them (instead of NumPy summing them again after) must add in
the same order to give the same numbers. numba cannot reload a recursive kernel from its cache, so
the halves are walked with an explicit stack.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pairwise_sum"]

_LEAF = 128  # NumPy's PW_BLOCKSIZE


@njit(cache=True)
def _leaf(a, lo, n):
    """NumPy's sum of ``a[lo:lo + n]`` for ``n <= 128`` (one leaf of the pairwise tree)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(a):
    """``a.sum()`` of a 1-D float64 array, added in NumPy's order (the same number bit for bit)."""
    n = a.shape[0]
    if n <= _LEAF:
        return 0.0 + _leaf(a, 0, n)
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
            sums[depth] = _leaf(a, lo, m)
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
