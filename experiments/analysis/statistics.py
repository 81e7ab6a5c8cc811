"""Statistics of daily exchange-rate returns, their spread over seeds, and target bands.

These are the stylised facts the calibration is judged on (the targets are in
:mod:`experiments.analysis.targets`): the first four moments, the autocorrelation of returns and
of absolute returns (volatility clustering) and a tail index.
Each function takes plain arrays, so the same code measures a simulated run and the real data.

Conventions
-----------
* Returns are daily log returns, ``r_t = ln S_t − ln S_{t−1}`` (:func:`log_returns`).
* Skewness and excess kurtosis are the bias-corrected sample moments (``scipy.stats`` with
  ``bias=False``), the same as the headline figures of :func:`model.results.summarize`;
  the standard deviation has ``ddof=1``.
* Autocorrelation is the usual (Box–Jenkins) estimator with the full-sample mean and the lag-0
  autocovariance in the denominator (:func:`autocorrelation`).
* The tail index is Hill's estimator on the largest 5 % of ``|r|`` (:func:`hill_tail_index`).
* A spread over seeds reports the mean, the median, the 5–95 % range and a 95 % interval: for the
  mean Student's t, for the median a percentile bootstrap resampling seeds with a fixed generator
  (:func:`seed_spread`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ACF_LAGS",
    "ABS_ACF_LAGS",
    "TAIL_FRACTION",
    "MIN_SEEDS_MEDIAN_INTERVAL",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "Band",
    "log_returns",
    "moments",
    "autocorrelation",
    "is_flat",
    "hill_tail_index",
    "return_statistics",
    "seed_spread",
    "paired_difference",
    "t_quantile",
    "mean_interval",
    "spread_by_field",
    "judge",
]

ACF_LAGS = (1, 5, 10, 20)
ABS_ACF_LAGS = (1, 5, 10, 20, 50)
# Hill's estimator trades bias (too many order statistics reach into the body of the
# distribution) against variance (its standard error is about alpha / sqrt(k)). 5 % of ~2000
# daily returns, k ~ 100, is the usual compromise for daily FX returns and gives a standard
# error of about 0.3 for an index near 3.
TAIL_FRACTION = 0.05
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20240805  # fixed, so that the interval is the same on every machine and run


def log_returns(prices: Sequence[float] | np.ndarray) -> np.ndarray:
    """Daily log returns of a positive price series.

    Parameters
    ----------
    prices
        Shape ``(n,)``, e.g. USD/JPY in yen per dollar.

    Returns
    -------
    numpy.ndarray
        Shape ``(n − 1,)``: ``ln p[1:] − ln p[:-1]``.
    """
    from model import detmath  # lazily: it imports numba

    return np.diff(detmath.log(np.asarray(prices, dtype=float)))


def moments(r: np.ndarray) -> dict[str, float]:
    """Standard deviation (% a day), skewness and excess kurtosis of returns ``r`` (shape ``(n,)``).

    ``sd_pct`` is ``100 · std(r, ddof=1)``; skewness and excess kurtosis are bias-corrected
    (the definitions of ``scipy.stats.skew``/``kurtosis`` with ``bias=False``, computed by
    :func:`model.detmath.skew_kurtosis` to give the same bits on every CPU), as in
    :func:`model.results.summarize`.
    NaN where undefined (too few returns, or all equal).
    """
    from model import detmath  # lazily: it imports numba

    r = np.asarray(r, dtype=float)
    ok = len(r) >= 4 and bool(np.all(np.isfinite(r))) and np.ptp(r) > 0.0
    skew, kurt = (float(v) for v in detmath.skew_kurtosis(r)) if ok else (math.nan, math.nan)
    return {
        "sd_pct": 100.0 * float(np.std(r, ddof=1)) if len(r) >= 2 else math.nan,
        "skewness": skew,
        "excess_kurtosis": kurt,
    }


def autocorrelation(x: np.ndarray, lags: Sequence[int]) -> np.ndarray:
    """Sample autocorrelation of ``x`` at the given lags.

    ``ρ̂_k = Σ_{t=1}^{n−k} (x_t − x̄)(x_{t+k} − x̄) / Σ_{t=1}^{n} (x_t − x̄)²`` (Box & Jenkins): the
    full-sample mean and the lag-0 sum in the denominator, so that the estimates form a positive
    semi-definite sequence. For white noise its standard error is about ``1/√n``.

    Parameters
    ----------
    x
        Shape ``(n,)``.
    lags
        Positive integers; a lag ``≥ n`` gives NaN.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(lags),)``; all NaN where ``x`` is flat (:func:`is_flat`), as the skewness and
        kurtosis of :func:`moments` are.
    """
    x = np.asarray(x, dtype=float)
    mean = x.mean()
    d = x - mean
    # exactly rounded sums (math.fsum), not BLAS dot products: BLAS sums in an order that depends on
    # the CPU, and a reported statistic must be the same number on every machine
    denom = math.fsum(d * d)
    out = np.full(len(lags), math.nan)
    if denom <= 0.0 or not math.isfinite(denom) or is_flat(denom, math.fsum(d), float(mean), len(x)):
        return out
    for i, k in enumerate(lags):
        if k < 1:
            raise ValueError(f"lag = {k} is not allowed; expected an integer >= 1")
        if k < len(x):
            out[i] = math.fsum(d[:-k] * d[k:]) / denom
    return out


def is_flat(sum_sq: Any, sum_dev: Any, mean: Any, n: int) -> Any:
    """Whether a series is constant to rounding, from its deviations ``d = x − x̄`` about its computed mean.

    A constant series should have ``d = 0``, but its computed mean can be a few units in the last place
    off the constant, which leaves every ``d`` equal to that small error: ``Σd²`` is then tiny but
    positive, and an autocorrelation ``Σ d_t d_{t+k} / Σd²`` of it comes out as ``(n − k)/n`` instead of
    undefined. So the offset is taken out first, ``Σd² − (Σd)²/n`` (the corrected two-pass sum of
    squares), and the series is flat where what is left, per observation, is no more than
    ``(ε · x̄)²`` (``ε`` the float64 machine epsilon): the rule by which
    :func:`model.detmath.skew_kurtosis` (SciPy's) finds a series flat, with the mean's rounding error
    no longer counted as spread. A series that varies by more than one part in about 10¹⁶ of its mean
    is not flat.

    Parameters
    ----------
    sum_sq, sum_dev
        ``Σd²`` and ``Σd``: floats, or arrays of one value per series.
    mean
        ``x̄``, of the same shape.
    n
        Observations per series.

    Returns
    -------
    bool or numpy.ndarray
        Of the arguments' shape.
    """
    eps, n = np.finfo(np.float64).eps, np.float64(n)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        spread = sum_sq - sum_dev * sum_dev / n
        return spread <= n * (eps * mean) * (eps * mean)


def hill_tail_index(x: np.ndarray, tail_fraction: float = TAIL_FRACTION) -> float:
    """Hill's estimate of the tail index α of ``|x|``.

    With the order statistics ``X_(1) ≥ X_(2) ≥ …`` of ``|x|`` and ``k = ⌊tail_fraction · n⌋``,
    ``α̂ = 1 / ((1/k) Σ_{i=1}^{k} ln X_(i) − ln X_(k+1))`` (Hill 1975). For a Pareto tail
    ``P(|X| > u) ∝ u^{−α}`` it is consistent with standard error about ``α/√k``. Both tails are
    pooled, so the estimate is that of the fatter one where they differ.

    Parameters
    ----------
    x
        Returns, shape ``(n,)``.
    tail_fraction
        Share of the largest ``|x|`` used, in ``(0, 0.5]``; default 5 % (see :data:`TAIL_FRACTION`).

    Returns
    -------
    float
        α̂; NaN if ``k < 2`` or the threshold ``X_(k+1)`` is zero.
    """
    from model import detmath  # lazily: it imports numba

    if not 0.0 < tail_fraction <= 0.5:
        raise ValueError(f"tail_fraction = {tail_fraction!r} is not allowed; expected a number in (0, 0.5]")
    a = np.sort(np.abs(np.asarray(x, dtype=float)))[::-1]
    k = int(math.floor(tail_fraction * len(a)))
    if k < 2 or k >= len(a) or not a[k] > 0.0 or not np.all(np.isfinite(a[: k + 1])):
        return math.nan
    h = float(np.mean(detmath.log(a[:k])) - math.log(a[k]))
    return 1.0 / h if h > 0.0 else math.nan


def return_statistics(r: np.ndarray) -> dict[str, float]:
    """Every validation statistic of one return series ``r`` (shape ``(n,)``), in a fixed order.

    Keys: ``sd_pct``, ``skewness``, ``excess_kurtosis`` (:func:`moments`); ``acf_lag{k}`` for
    ``k`` in :data:`ACF_LAGS` (returns); ``abs_acf_lag{k}`` for ``k`` in :data:`ABS_ACF_LAGS`
    (absolute returns); ``hill_tail_index`` (:func:`hill_tail_index`).
    """
    r = np.asarray(r, dtype=float)
    out = moments(r)
    out.update({f"acf_lag{k}": float(v) for k, v in zip(ACF_LAGS, autocorrelation(r, ACF_LAGS), strict=True)})
    abs_acf = autocorrelation(np.abs(r), ABS_ACF_LAGS)
    out.update({f"abs_acf_lag{k}": float(v) for k, v in zip(ABS_ACF_LAGS, abs_acf, strict=True)})
    out["hill_tail_index"] = hill_tail_index(r)
    return out


def t_quantile(level: float, n: int) -> float:
    """The two-sided ``level`` quantile of Student's t with ``n − 1`` degrees of freedom (``n`` values)."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, n - 1))


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student's t interval of the mean of ``values`` (finite, at least two): ``mean ± t(n−1)·s/√n``."""
    mean, n = float(values.mean()), values.size
    half = t_quantile(level, n) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


# the fewest seeds a median's 95 % interval is given for (seed_spread): below it none can hold 95 %
MIN_SEEDS_MEDIAN_INTERVAL = 6


def seed_spread(
    values: Sequence[float] | np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    of: str = "mean",
) -> dict[str, Any]:
    """Summary of one statistic over independent seeds.

    Parameters
    ----------
    values
        One value per seed, shape ``(n_seeds,)``; NaNs (undefined in that run) are left out, so
        ``n`` counts the seeds with a value (the caller counts those without).
    resamples, seed
        Bootstrap resamples and the seed of its fixed ``numpy.random.Generator``.
    of
        ``"mean"`` or ``"median"``: the statistic whose interval ``ci95_*`` gives.

    Returns
    -------
    dict
        ``n`` (seeds with a value), ``mean``, ``median``, ``q05`` and ``q95`` (5th and 95th
        percentiles over seeds, linear interpolation), ``ci95_lo`` and ``ci95_hi``: for the mean,
        Student's t interval ``mean ± t(n−1)·s/√n`` (a percentile bootstrap of the mean is too
        narrow at few seeds: it covered the mean in 75% of three-seed normal samples); for the
        median, the 2.5th and 97.5th percentiles of the medians of ``resamples`` resamples of the
        seeds with replacement (percentile bootstrap: no normality assumed), and NaN with fewer than
        :data:`MIN_SEEDS_MEDIAN_INTERVAL` values: no interval for a median can hold 95 % there (even
        the seeds' whole range holds it with probability ``1 − 2^(1−n)``, 94 % at 5), and the
        bootstrap's covered it in 49 % of two-seed and 73 % of three-seed normal samples (93 % at 5,
        95 % at 20). NaN where there are no values; the interval is NaN with one value.
    """
    if of not in ("mean", "median"):
        raise ValueError(f"of = {of!r} is not allowed; expected 'mean' or 'median'")
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {key: math.nan for key in ("mean", "median", "q05", "q95", "ci95_lo", "ci95_hi")} | {"n": 0}
    if len(v) < 2:
        lo = hi = math.nan  # one seed: no interval (a bootstrap would collapse to the value)
    elif of == "mean":
        lo, hi = mean_interval(v)
    elif len(v) < MIN_SEEDS_MEDIAN_INTERVAL:
        lo = hi = math.nan
    else:
        rng = np.random.default_rng(seed)
        samples = v[rng.integers(0, len(v), size=(resamples, len(v)))]
        lo, hi = np.percentile(np.median(samples, axis=1), [2.5, 97.5])
    q05, q95 = np.percentile(v, [5.0, 95.0])
    return {
        "n": len(v),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "q05": float(q05),
        "q95": float(q95),
        "ci95_lo": float(lo),
        "ci95_hi": float(hi),
    }


def paired_difference(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """:func:`seed_spread` (of the median) of the per-seed differences ``x − y`` over the seeds where both
    have a value (``pairs``), the others left out and counted (``pairs_without_a_value``: a failed run
    in either arm, say)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    return {**seed_spread(x[both] - y[both], of="median"), "pairs": int(both.sum()),
            "pairs_without_a_value": int((~both).sum())}  # fmt: skip


def spread_by_field(rows: Sequence[Mapping[str, float]], *, of: str = "median") -> dict[str, dict[str, Any]]:
    """:func:`seed_spread` of every field over rows (one row per seed), with the field's ``min`` and
    ``max``; a field a row lacks (a run that ended early) counts as missing for that seed."""
    out = {}
    for k in dict.fromkeys(k for row in rows for k in row):
        v = np.array([row.get(k, math.nan) for row in rows], dtype=float)
        finite = v[np.isfinite(v)]
        extremes = (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
        out[k] = seed_spread(v, of=of) | dict(zip(("min", "max"), extremes, strict=True))
    return out


@dataclass(frozen=True)
class Band:
    """A target interval for one statistic; either end may be open-ended (``None``).

    ``lo_strict``/``hi_strict`` make that end exclusive (``x > lo`` rather than ``x ≥ lo``).
    ``text`` is the band as a person writes it, e.g. ``"≥ 0.1"``.
    """

    lo: float | None
    hi: float | None
    text: str
    lo_strict: bool = False
    hi_strict: bool = False

    def contains(self, x: float | None) -> bool:
        """Whether ``x`` lies in the band; a missing or NaN ``x`` never does."""
        if x is None or not math.isfinite(x):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_strict else x < self.lo):
            return False
        if self.hi is not None and (x >= self.hi if self.hi_strict else x > self.hi):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "lo": self.lo,
            "hi": self.hi,
            "lo_strict": self.lo_strict,
            "hi_strict": self.hi_strict,
            "text": self.text,
        }


def judge(spread: Mapping[str, Any], band: Band | None) -> bool | None:
    """Pass/fail of a statistic: its median over seeds (``spread["median"]``) inside ``band``.

    The median, not the mean, because a few seeds with a crash can move the mean of a heavy-tailed
    statistic (kurtosis above all) far from the typical run. ``None`` where there is no band.
    """
    if band is None:
        return None
    return band.contains(spread["median"])
