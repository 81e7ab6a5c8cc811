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

  The flag is a looser test than "5–95 %" suggests: the range is estimated from the seeds, so data
  that are a draw of the model fall outside it with probability about
  :func:`range_false_fail_rate` (18.6 % at 20 seeds, 13 % at 60, 46 % at 4), not 10 %. Each
  statistic therefore also gets its two-sided rank p-value (:func:`rank_p_value`), whose size is
  exact at any number of seeds.

And one judgement of the statistics **jointly** (:func:`joint_test`), per version of the data, with
two p-values: an exact Monte Carlo rank test against the seeds (the flag), which weights the
statistics by their covariance across the data's and the seeds' vectors together, and the
asymptotic chi-squared J-test beside it, which weights them by their covariance in the data's own
block bootstrap, on as many degrees of freedom as statistics less the parameters fitted to them.

Everything takes plain arrays, so the rule is tested on planted values without running the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments.analysis.statistics import ABS_ACF_LAGS, ACF_LAGS, TAIL_FRACTION, is_flat
from experiments.analysis.targets import (
    BLOCK_DAYS,
    DATA_BOOTSTRAP_RESAMPLES,
    DATA_BOOTSTRAP_SEED,
    DATA_INTERVAL_LEVEL,
    JOINT_TEST_LEVEL,
    MAX_FAILED_SHARE,
    MODEL_RANGE_PCT,
)

__all__ = [
    "moving_block_indices",
    "row_statistics",
    "block_bootstrap_statistics",
    "bootstrap_interval",
    "model_range",
    "too_many_failed",
    "data_inside_model_range",
    "range_false_fail_rate",
    "rank_p_value",
    "share_inside",
    "judge_statistic",
    "moment_covariance",
    "mahalanobis",
    "joint_test",
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
    """:func:`experiments.analysis.statistics.autocorrelation` of every row of ``x`` (shape ``(m, n)``);
    NaN for a row that is flat (:func:`~experiments.analysis.statistics.is_flat`)."""
    mean = x.mean(axis=1, keepdims=True)
    d = x - mean
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.einsum("ij,ij->i", d, d)
        flat = is_flat(denom, d.sum(axis=1), mean[:, 0], x.shape[1])
        denom = np.where((denom > 0.0) & ~flat, denom, np.nan)
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


def too_many_failed(values: Sequence[float] | np.ndarray, max_failed_share: float = MAX_FAILED_SHARE) -> bool:
    """Whether more than ``max_failed_share`` of the seeds have no value (NaN: a run that failed), the
    share beyond which a statistic or a fact fails whatever the others show."""
    v = np.asarray(values, dtype=float)
    return bool(np.count_nonzero(~np.isfinite(v)) > max_failed_share * v.size + 1e-9)


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
    if too_many_failed(v, max_failed_share):
        return False
    lo, hi = model_range(v, pct)
    return bool(lo <= data_value <= hi)


def range_false_fail_rate(n_seeds: int, pct: tuple[float, float] = MODEL_RANGE_PCT) -> float:
    """About how often data that are a draw of the model fall outside the model's ``pct`` range over
    ``n_seeds`` seeds (:func:`model_range`, every seed valued): the size of the per-statistic flag.

    The range's ends are NumPy's linear percentiles, which sit at the 0-based positions
    ``h = q·(S − 1)`` of the sorted seeds. Were the data one more draw of the same continuous
    distribution, its rank among the ``S + 1`` values would be uniform, so it falls below the
    ``h``-th order statistic with probability ``(h + 1)/(S + 1)``, interpolation taken linearly
    (exact where ``h`` is a whole number). Both tails: about 0.186 at 20 seeds, 0.130 at 60 and
    0.46 at 4, against the ``1 − (pct[1] − pct[0])/100 = 0.10`` the range's name suggests.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds={n_seeds}: expected at least 1")
    low = (pct[0] / 100.0 * (n_seeds - 1) + 1.0) / (n_seeds + 1)
    high = ((1.0 - pct[1] / 100.0) * (n_seeds - 1) + 1.0) / (n_seeds + 1)
    return float(min(1.0, low + high))


def rank_p_value(values: Sequence[float] | np.ndarray, data_value: float) -> float:
    """The two-sided rank p-value of ``data_value`` among the seeds' ``values``.

    ``p = min(1, 2·min(1 + #{seeds ≤ data}, 1 + #{seeds ≥ data}) / (S + 1))`` over all ``S`` seeds.
    Were the data one more draw of the model, its rank among the ``S + 1`` values would be uniform,
    so ``P(p ≤ α) ≤ α`` at any ``S`` with every seed valued (exact up to the discreteness of the
    ranks): a seed's value beyond the data's on either side counts once. A seed without a value (NaN,
    a failed run) counts on neither side but stays in ``S``, against the data, as in the range rule:
    with failed seeds the p-value is smaller than an exact one. NaN if the data's value is not finite.
    """
    v = np.asarray(values, dtype=float)
    if data_value is None or not math.isfinite(data_value) or v.size == 0:
        return math.nan
    finite = v[np.isfinite(v)]
    below = 1 + int(np.count_nonzero(finite <= data_value))
    above = 1 + int(np.count_nonzero(finite >= data_value))
    return float(min(1.0, 2.0 * min(below, above) / (v.size + 1)))


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
        ``model_range`` (:func:`model_range`), ``inside_model_range``, ``rank_p_value``
        (:func:`rank_p_value`), ``share_of_seeds_in_interval`` and ``pass`` (``inside_model_range``
        for a judged statistic, ``None`` otherwise).
    """
    inside = data_inside_model_range(values, data_value)
    return {
        "value": data_value,
        "interval": list(data_interval),
        "model_range": list(model_range(values)),
        "inside_model_range": inside,
        "rank_p_value": rank_p_value(values, data_value),
        "share_of_seeds_in_interval": share_inside(values, data_interval),
        "pass": inside if judged else None,
    }


# -- the statistics jointly: a simulated-moments distance -------------------------------------------


def moment_covariance(draws: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """The covariance matrix of the statistics ``names`` over bootstrap ``draws`` (name → values, shape
    ``(B,)``), leaving out every draw in which any of them is undefined (NaN).

    Computed element by element (a product and NumPy's sum for each entry, divided by ``B − 1``),
    not through BLAS, so it is the same to the last bit on every CPU. Shape ``(k, k)``.
    """
    x = np.column_stack([np.asarray(draws[n], dtype=float) for n in names])
    x = x[np.all(np.isfinite(x), axis=1)]
    if x.shape[0] < 2:
        raise ValueError(f"{x.shape[0]} bootstrap draws with every statistic defined; expected at least 2")
    return _covariance(x)


def _covariance(x: np.ndarray) -> np.ndarray:
    """The sample covariance (divisor ``n − 1``) of the rows of ``x``, shape ``(n, k)``, element by
    element (a product and NumPy's sum for each entry), so the same to the last bit on every CPU."""
    d = x - x.mean(axis=0)
    k = x.shape[1]
    cov = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            cov[i, j] = cov[j, i] = float((d[:, i] * d[:, j]).sum()) / (x.shape[0] - 1)
    return cov


def _rank_weighting(pooled: np.ndarray) -> tuple[np.ndarray, str]:
    """The Monte Carlo test's weighting covariance, from the data's and the valued seeds' vectors
    together (``pooled``, shape ``(n, k)``): a symmetric function of them, so that their distances'
    ranks are exchangeable when the data are a draw of the model.

    Their sample covariance where there are at least ``k + 2`` vectors of ``k`` statistics and it is
    positive definite (``"pooled"``); otherwise its diagonal, each statistic scaled by its own
    spread and those without any spread left out (``"pooled diagonal"``). With ``k`` vectors or
    fewer the sample covariance is singular. With ``k + 1`` it is generically not, but every vector
    then lies at the same distance, ``(n − 1)²/n`` (a property of the geometry), so the ranks would be
    set by rounding noise.
    """
    n, k = pooled.shape
    cov = _covariance(pooled) if n >= 2 else np.zeros((k, k))
    if n >= k + 2:
        try:
            mahalanobis(np.zeros(k), cov)
            return cov, "pooled"
        except ValueError:
            pass
    diag = np.diag(np.where(np.diag(cov) > 0.0, np.diag(cov), math.inf))
    return diag, "pooled diagonal"


def mahalanobis(d: Sequence[float] | np.ndarray, cov: np.ndarray) -> float:
    """``d' cov⁻¹ d`` for a symmetric positive definite ``cov``, by a Cholesky factorisation written
    out in Python floats (no LAPACK: the same bits on every CPU).

    Raises ``ValueError`` if ``cov`` is not positive definite (a statistic without variance, or two
    that move together exactly).
    """
    a = np.asarray(cov, dtype=float).tolist()
    v = [float(x) for x in d]
    k = len(v)
    low = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            s = a[i][j] - sum(low[i][m] * low[j][m] for m in range(j))
            if i == j:
                if not s > 0.0:
                    raise ValueError(f"the moments' covariance matrix is not positive definite (pivot {i}: {s!r})")
                low[i][i] = math.sqrt(s)
            else:
                low[i][j] = s / low[j][j]
    y = []  # solve L y = d: then d' cov⁻¹ d = y'y
    for i in range(k):
        y.append((v[i] - sum(low[i][m] * y[m] for m in range(i))) / low[i][i])
    return float(sum(t * t for t in y))


def joint_test(
    per_seed: np.ndarray,
    data_value: Sequence[float] | np.ndarray,
    cov_run: np.ndarray,
    *,
    run_length: int,
    data_length: int,
    level: float = JOINT_TEST_LEVEL,
    fitted: int = 0,
) -> dict[str, Any]:
    """The judged statistics jointly: is the data's vector of them one the model could have produced?

    Parameters
    ----------
    per_seed
        The statistics of each seed's run, shape ``(S, k)``; a row with any NaN is a seed without a
        value (a failed run), which counts against the data.
    data_value
        The same ``k`` statistics of the data, shape ``(k,)``.
    cov_run
        Their covariance for a sample of ``run_length`` days, from the data's block bootstrap
        (:func:`moment_covariance`): the J-test's weighting matrix. The Monte Carlo test does not
        use it (below).
    run_length, data_length
        Returns per run after the burn-in, and in the data.
    fitted
        How many of the model's parameters were fitted to these same statistics of these data: each
        takes one degree of freedom from the J-test.

    Returns
    -------
    dict
        ``seeds`` (S), ``seeds_with_value``;
        ``monte_carlo``: the exact test. Under the model, the data's vector and the seeds' are draws of
        one distribution (the data's sample is ``data_length`` days, the runs' ``run_length``; the
        two are close in the validation). Each vector's distance ``D = (v − v̄)' C⁻¹ (v − v̄)`` from
        the mean ``v̄`` of all of them, the data's included, ranks it; ``p = (1 + #{seeds with D ≥
        D_data}) / (S + 1)``, a seed without a value counted as closer than the data. ``C`` is the
        covariance of all the vectors together, the data's included (:func:`_rank_weighting`;
        ``weighting`` says which form), so that ``D`` treats every vector alike and the data's rank
        is uniform under the model. (A weighting from the data alone, such as ``cov_run``, breaks
        that: data with extreme statistics have a wide bootstrap in those directions, which shrinks
        their own distance; with the validation's sizes such a test failed 0.5 % of true models at
        5 %.) ``pass``:
        ``p ≥ level``; ``False`` whatever ``p`` if more than :data:`MAX_FAILED_SHARE` of the runs have
        no value (as each statistic's own rule); ``None`` (not testable) where ``1/(S + 1) ≥ level``,
        since then no data, however far, could fail it (19 seeds or fewer at 5%); ``why`` says which.
        Beside it, the seeds' median distance in the data's units (``cov_run`` and the same
        centre) and the mean it would have if the statistics varied across seeds as they do across
        the data's bootstrap samples, ``k·(n − 1)/n`` (``n`` vectors): far above it, the model's
        seeds differ from each other more than samples of the data do.
        ``chi2``: the asymptotic J-test. ``J = (m_d − m̄)' Ω⁻¹ (m_d − m̄)`` with ``m̄`` the seeds' mean
        and ``Ω = cov_run·(run_length/data_length + 1/S_valued)``, the covariance of the gap when the
        model is true (a statistic's variance falls as 1/length); ``p`` from chi-squared with
        ``df = k − fitted`` degrees of freedom (Hansen 1982: fitting uses up as many as it fits),
        NaN when none are left (the parameters are exactly identified by these statistics, and ``J``
        measures how well they were fitted, not whether the model is right). ``gaps``: each
        statistic's gap in units of its sd in ``Ω``. The Monte Carlo p-value has no such correction:
        parameters fitted to these statistics make the data look closer than a fresh test would, so
        its pass is weaker evidence than it reads.
    """
    x = np.atleast_2d(np.asarray(per_seed, dtype=float))
    m_d = np.asarray(data_value, dtype=float)
    k = m_d.shape[0]
    if x.shape[1] != k or np.shape(cov_run) != (k, k):
        raise ValueError(f"per_seed {x.shape}, data_value {m_d.shape} and cov_run {np.shape(cov_run)} do not match")
    if not np.all(np.isfinite(m_d)):
        raise ValueError(f"the data's statistics are not all defined: {m_d.tolist()}")
    valued = x[np.all(np.isfinite(x), axis=1)]
    n_seeds, n_valued = x.shape[0], valued.shape[0]
    out: dict[str, Any] = {"level": level, "seeds": n_seeds, "seeds_with_value": n_valued}
    if n_valued == 0:
        out["monte_carlo"] = {"data_distance": math.inf, "p_value": 1.0 / (n_seeds + 1), "pass": False,
                              "why": f"none of the {n_seeds} runs has a value (failed)"}  # fmt: skip
        out["chi2"] = {"distance": math.inf, "df": k - fitted, "fitted": fitted,
                       "p_value": 0.0 if k > fitted else math.nan, "gaps": [math.nan] * k}  # fmt: skip
        return out
    pooled = np.vstack([m_d[None, :], valued])
    centre = pooled.mean(axis=0)
    weighting, weighting_form = _rank_weighting(pooled)
    dist = [mahalanobis(v - centre, weighting) for v in pooled]
    at_least = sum(1 for dv in dist[1:] if dv >= dist[0])
    in_data_units = [mahalanobis(v - centre, cov_run) for v in pooled[1:]]
    p_mc = (1 + at_least) / (n_seeds + 1)
    failed = n_seeds - n_valued > MAX_FAILED_SHARE * n_seeds + 1e-9
    if failed:  # as each statistic's own rule: beyond this share of failed runs the model fails
        verdict, why = False, f"{n_seeds - n_valued} of {n_seeds} runs have no value (failed)"
    elif 1.0 / (n_seeds + 1) >= level:  # even the data farthest from every seed would give p >= level
        verdict, why = None, f"not testable at {level:g} with {n_seeds} seeds: p is at least 1/(S + 1)"
    else:
        verdict, why = bool(p_mc >= level), ""
    from scipy.stats import chi2  # lazily: the judgement module is imported by light code too

    out["monte_carlo"] = {
        "data_distance": dist[0],
        "seed_distances": dist[1:],
        "seeds_at_least_as_far": at_least,
        "p_value": p_mc,
        "pass": verdict,
        "why": why,
        "weighting": weighting_form,
        # how far apart the seeds are in the data's units: were their statistics as variable as the
        # data's bootstrap says a sample's are (and normal), each seed's distance from the centre of the
        # n + 1 points would be n/(n + 1) times a chi-squared with k degrees of freedom, whose median (not
        # its mean, k·n/(n + 1): the distances are skewed to the right) the seeds' median is set beside
        "seed_distance_median": float(np.median(in_data_units)),
        "seed_distance_median_expected": float(chi2.median(k)) * (len(dist) - 1) / len(dist),
    }

    omega = np.asarray(cov_run, dtype=float) * (run_length / data_length + 1.0 / n_valued)
    gap = m_d - valued.mean(axis=0)
    j_stat = mahalanobis(gap, omega)
    df = k - fitted
    out["chi2"] = {
        "distance": j_stat,
        "df": df,
        "fitted": fitted,
        "p_value": float(chi2.sf(j_stat, df)) if df > 0 else math.nan,
        "gaps": [float(g / math.sqrt(omega[i, i])) for i, g in enumerate(gap)],
    }
    return out
