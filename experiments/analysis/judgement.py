"""How a return statistic is judged: the data against the model's range across seeds, and the data's
own sampling uncertainty.

Two numbers per statistic and per version of the data:

* **the pass flag**: the data's value lies inside the model's 5–95 % range across seeds
  (:func:`model_range`, :func:`data_inside_model_range`). A seed without a value (its run ended in a
  clearing failure, or the statistic is undefined on it) counts against the data: the range's lower
  end is computed as if those seeds lay above every other seed, its upper end as if they lay below,
  so the data pass only if they would have passed whatever values the failed runs had. And a 5–95 %
  range leaves 10 % of the seeds outside it: if more than 10 % of the seeds have no value, they alone
  would fill that share, and the flag is false.
* **beside it**, the share of seeds whose value lies inside the data's 90 % moving-block bootstrap
  interval for a sample as long as one run's (:func:`block_bootstrap_statistics`,
  :func:`share_inside`); seeds without a value count as outside.

Everything takes plain arrays, so the rule is tested on planted values without running the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments.analysis.statistics import ABS_ACF_LAGS, ACF_LAGS, TAIL_FRACTION
from experiments.analysis.targets import (
    BLOCK_DAYS,
    DATA_BOOTSTRAP_RESAMPLES,
    DATA_BOOTSTRAP_SEED,
    DATA_INTERVAL_LEVEL,
    MAX_FAILED_SHARE,
    MODEL_RANGE_PCT,
)

__all__ = [
    "moving_block_indices",
    "row_statistics",
    "block_bootstrap_statistics",
    "bootstrap_interval",
    "model_range",
    "data_inside_model_range",
    "share_inside",
    "judge_statistic",
]


# -- the data's sampling uncertainty ---------------------------------------------------------------


def moving_block_indices(n: int, length: int, block: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``resamples`` moving-block bootstrap samples of a series of ``n`` observations.

    Each sample joins blocks of ``block`` consecutive observations whose starts are drawn uniformly
    from the ``n − block + 1`` possible ones (Künsch 1989; no wrapping around the end), and is cut to
    ``length``. Shape ``(resamples, length)``.
    """
    if not 1 <= block <= n:
        raise ValueError(f"block = {block} is not allowed; expected an integer in [1, {n}] (the series' length)")
    if length < 1 or resamples < 1:
        raise ValueError(f"length = {length} and resamples = {resamples} must both be positive integers")
    n_blocks = -(-length // block)
    starts = rng.integers(0, n - block + 1, size=(resamples, n_blocks))
    return (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :length]


def _acf_rows(x: np.ndarray, lags: Sequence[int]) -> dict[int, np.ndarray]:
    """:func:`experiments.analysis.statistics.autocorrelation` of every row of ``x`` (shape ``(m, n)``)."""
    d = x - x.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.einsum("ij,ij->i", d, d)
        denom = np.where(denom > 0.0, denom, np.nan)
        return {k: np.einsum("ij,ij->i", d[:, :-k], d[:, k:]) / denom if k < x.shape[1] else
                np.full(len(x), math.nan) for k in lags}  # fmt: skip


def row_statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    """Every statistic of :func:`experiments.analysis.statistics.return_statistics` for each row of ``x``.

    The same definitions, computed for many series at once (the bootstrap needs thousands).

    Parameters
    ----------
    x
        Log returns, shape ``(m, n)``: ``m`` series of ``n`` returns.

    Returns
    -------
    dict
        Statistic name → values, shape ``(m,)``, keys in the order of ``return_statistics``.
    """
    from model import detmath  # lazily: it imports numba

    x = np.atleast_2d(np.asarray(x, dtype=float))
    m, n = x.shape
    ok = (n >= 4) & np.all(np.isfinite(x), axis=1) & (np.ptp(x, axis=1) > 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        skew, kurt = detmath.skew_kurtosis(x, axis=1)
        out = {
            "sd_pct": 100.0 * np.std(x, axis=1, ddof=1) if n >= 2 else np.full(m, math.nan),
            "skewness": np.where(ok, skew, math.nan),
            "excess_kurtosis": np.where(ok, kurt, math.nan),
        }
        out.update({f"acf_lag{k}": v for k, v in _acf_rows(x, ACF_LAGS).items()})
        out.update({f"abs_acf_lag{k}": v for k, v in _acf_rows(np.abs(x), ABS_ACF_LAGS).items()})
        # Hill (1975) on the largest TAIL_FRACTION of |x|, as statistics.hill_tail_index
        k = int(math.floor(TAIL_FRACTION * n))
        if 2 <= k < n:
            a = -np.sort(-np.abs(x), axis=1)
            good = (a[:, k] > 0.0) & np.all(np.isfinite(a[:, : k + 1]), axis=1)
            h = np.mean(detmath.log(a[:, :k]), axis=1) - detmath.log(a[:, k])
            out["hill_tail_index"] = np.where(good & (h > 0.0), 1.0 / h, math.nan)
        else:
            out["hill_tail_index"] = np.full(m, math.nan)
    return out


def block_bootstrap_statistics(
    r: np.ndarray,
    length: int,
    *,
    block: int = BLOCK_DAYS,
    resamples: int = DATA_BOOTSTRAP_RESAMPLES,
    seed: int = DATA_BOOTSTRAP_SEED,
    chunk: int = 500,
) -> dict[str, np.ndarray]:
    """Every statistic of ``resamples`` moving-block bootstrap samples of ``r``, each ``length`` long.

    The spread of a statistic over these samples is its sampling distribution for a sample of
    ``length`` days from the process that made ``r``, with the dependence (volatility clustering)
    kept within blocks of ``block`` days.

    Parameters
    ----------
    r
        The data's log returns, shape ``(n,)``.
    length
        Returns per bootstrap sample: those of one model run after the burn-in.
    block, resamples, seed
        Block length in days, number of samples and the seed of the ``numpy.random.Generator``.
    chunk
        Samples computed at once (memory: ``chunk × length`` floats a few times over).

    Returns
    -------
    dict
        Statistic name → values, shape ``(resamples,)``.
    """
    r = np.asarray(r, dtype=float)
    rng = np.random.default_rng(seed)
    idx = moving_block_indices(len(r), length, block, resamples, rng)
    parts = [row_statistics(r[idx[i : i + chunk]]) for i in range(0, resamples, chunk)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def bootstrap_interval(draws: np.ndarray, level: float = DATA_INTERVAL_LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap ``draws`` (shape ``(B,)``), NaNs left out."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(d, [50.0 * (1.0 - level), 50.0 * (1.0 + level)])
    return float(lo), float(hi)


# -- the model's range across seeds ----------------------------------------------------------------


def _percentile_of_sorted(a: list[float], pct: float) -> float:
    """``numpy.percentile``'s linear rule on a sorted list that may hold ±inf at its ends."""
    h = (len(a) - 1) * pct / 100.0
    i = int(math.floor(h))
    j = min(i + 1, len(a) - 1)
    w = h - i
    if w == 0.0 or a[i] == a[j]:
        return a[i]
    if math.isinf(a[i]) or math.isinf(a[j]):
        return a[i] if math.isinf(a[i]) else a[j]
    return a[i] + w * (a[j] - a[i])


def model_range(
    values: Sequence[float] | np.ndarray, pct: tuple[float, float] = MODEL_RANGE_PCT
) -> tuple[float, float]:
    """The model's ``pct`` range across seeds, with seeds without a value counted against the data.

    Parameters
    ----------
    values
        One value per seed, shape ``(n_seeds,)``; NaN where the seed has none (a failed run).
    pct
        Lower and upper percentile, default 5 and 95.

    Returns
    -------
    (lo, hi)
        ``lo``: the lower percentile over all seeds with the valueless ones placed above every other
        seed; ``hi``: the upper percentile with them placed below. Either is infinite when the
        valueless seeds reach it (then no data value lies beyond it). With every seed valued this is
        ``numpy.percentile(values, pct)``; with none, ``(+inf, −inf)``, an empty range.
    """
    v = np.asarray(values, dtype=float)
    finite = sorted(float(x) for x in v[np.isfinite(v)])
    missing = len(v) - len(finite)
    if not finite:
        return math.inf, -math.inf
    if missing == 0:
        q_lo, q_hi = np.percentile(finite, pct)
        return float(q_lo), float(q_hi)
    lo = _percentile_of_sorted(finite + [math.inf] * missing, pct[0])
    hi = _percentile_of_sorted([-math.inf] * missing + finite, pct[1])
    return lo, hi


def data_inside_model_range(
    values: Sequence[float] | np.ndarray,
    data_value: float,
    *,
    pct: tuple[float, float] = MODEL_RANGE_PCT,
    max_failed_share: float = MAX_FAILED_SHARE,
) -> bool:
    """The pass rule: ``data_value`` inside :func:`model_range`, and at most ``max_failed_share`` of the
    seeds without a value (NaN in ``values``)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or data_value is None or not math.isfinite(data_value):
        return False
    if np.count_nonzero(~np.isfinite(v)) > max_failed_share * v.size + 1e-9:
        return False
    lo, hi = model_range(v, pct)
    return bool(lo <= data_value <= hi)


def share_inside(values: Sequence[float] | np.ndarray, interval: tuple[float, float]) -> float:
    """Share of all seeds whose value lies in the closed ``interval``; a seed without a value is outside."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return math.nan
    lo, hi = interval
    with np.errstate(invalid="ignore"):
        return float(np.count_nonzero(np.isfinite(v) & (v >= lo) & (v <= hi)) / v.size)


def judge_statistic(
    values: Sequence[float] | np.ndarray,
    data_value: float,
    data_interval: tuple[float, float],
    *,
    judged: bool = True,
) -> dict[str, Any]:
    """One statistic against one version of the data.

    Returns
    -------
    dict
        ``value`` (the data's), ``interval`` (its bootstrap interval at :data:`DATA_INTERVAL_LEVEL`),
        ``model_range`` (:func:`model_range`), ``inside_model_range``, ``share_of_seeds_in_interval``
        and ``pass`` (``inside_model_range`` for a judged statistic, ``None`` otherwise).
    """
    inside = data_inside_model_range(values, data_value)
    return {
        "value": data_value,
        "interval": list(data_interval),
        "model_range": list(model_range(values)),
        "inside_model_range": inside,
        "share_of_seeds_in_interval": share_inside(values, data_interval),
        "pass": inside if judged else None,
    }
