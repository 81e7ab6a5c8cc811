"""Elementwise ``exp`` and ``log`` over arrays that give the same bits on every x86-64 CPU.

NumPy chooses the loop of a ufunc by the CPU it runs on: on a CPU with AVX-512 its ``np.exp`` and
``np.log`` of float64 take a vectorised path whose results differ in the last bit from the C
library's (which NumPy uses elsewhere) for some inputs. A population drawn with ``np.exp`` then
differs in its last bits between machines, and so does the whole run. These functions call the C
library's ``exp`` and ``log`` one element at a time, from a compiled loop (numba without a vector
math library cannot vectorise the calls), as the compiled kernels do: the same numbers on any
machine. Every array ``exp`` and ``log`` in the simulation goes through here.

:func:`skew_kurtosis` is the same care for two reported statistics: SciPy's ``skew`` raises the
second moment to the power 1.5 with ``np.power``, whose AVX-512 loop has the same problem.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["exp", "log", "skew_kurtosis"]


@njit(cache=True)
def _exp(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


@njit(cache=True)
def _log(x, out):
    for i in range(x.shape[0]):
        v = x[i]
        # math.log raises on v <= 0 in Python; the C library's answers, as np.log gives them
        if v > 0.0:
            out[i] = math.log(v)
        elif v == 0.0:
            out[i] = -math.inf
        else:
            out[i] = math.nan


def _apply(kernel, x) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty(a.size)
    kernel(a.reshape(-1), out)
    return out.reshape(a.shape)


def exp(x) -> np.ndarray:
    """``np.exp(x)`` as a new float64 array of ``x``'s shape, the same bits on every CPU."""
    return _apply(_exp, x)


def log(x) -> np.ndarray:
    """``np.log(x)`` as a new float64 array of ``x``'s shape (−inf at 0, NaN below), the same bits on every CPU."""
    return _apply(_log, x)


def skew_kurtosis(x, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected sample skewness and excess kurtosis along ``axis``, the same bits on every CPU.

    The definitions of ``scipy.stats.skew(x, bias=False)`` and ``scipy.stats.kurtosis(x,
    fisher=True, bias=False)``: with ``d = x − x̄`` and ``m_k`` the mean of ``d^k``,
    ``√(n(n−1))/(n−2) · m₃/m₂^{3/2}`` and ``((n²−1)·m₄/m₂² − 3(n−1)²)/((n−2)(n−3))``, the powers
    taken as products and square roots (exactly rounded everywhere). NaN where the variance is
    zero to rounding (SciPy's rule) or ``n`` is too small (3 for the skewness, 4 for the kurtosis).
    Returns arrays of ``x``'s shape without ``axis`` (0-d for a 1-d ``x``).
    """
    a = np.asarray(x, dtype=np.float64)
    n = float(a.shape[axis])
    mean = a.mean(axis=axis, keepdims=True)
    d = a - mean
    d2 = d * d
    m2 = d2.mean(axis=axis)
    m3 = (d2 * d).mean(axis=axis)
    m4 = (d2 * d2).mean(axis=axis)
    eps = np.finfo(np.float64).eps
    scale = np.squeeze(mean, axis=axis) * eps
    with np.errstate(all="ignore"):
        flat = m2 <= scale * scale
        skew = math.sqrt(n * (n - 1.0)) / (n - 2.0) * m3 / (m2 * np.sqrt(m2)) if n > 2 else np.full(m2.shape, np.nan)
        kurt = ((n * n - 1.0) * m4 / (m2 * m2) - 3.0 * (n - 1.0) ** 2) / ((n - 2.0) * (n - 3.0)) if n > 3 else (
            np.full(m2.shape, np.nan))  # fmt: skip
    return np.where(flat, np.nan, skew), np.where(flat, np.nan, kurt)
