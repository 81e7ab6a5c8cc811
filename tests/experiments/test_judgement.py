"""How a statistic is judged (experiments/analysis/judgement.py): the data inside the model's 5–95 %
range across seeds, failed runs counted against it, and the data's block-bootstrap interval.

Known answers on planted arrays and on samples drawn here; no model runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.analysis.judgement import (
    block_bootstrap_statistics,
    bootstrap_interval,
    data_inside_model_range,
    judge_statistic,
    model_range,
    moving_block_indices,
    row_statistics,
    share_inside,
)
from experiments.analysis.statistics import return_statistics
from experiments.analysis.targets import BLOCK_DAYS, MAX_FAILED_SHARE, MODEL_RANGE_PCT

SEEDS_20 = np.linspace(1.0, 20.0, 20)  # 20 planted seed values: 5th percentile 1.95, 95th 19.05


# -- the model's range across seeds ----------------------------------------------------------------


def test_without_failed_runs_the_range_is_numpys_5_to_95_percentiles():
    v = np.random.default_rng(1).standard_t(3, 20)
    assert model_range(v) == tuple(np.percentile(v, MODEL_RANGE_PCT))
    assert model_range(SEEDS_20) == pytest.approx((1.95, 19.05))


@pytest.mark.parametrize(
    "data, inside", [(10.0, True), (1.96, True), (19.04, True), (1.94, False), (19.06, False), (math.nan, False)]
)
def test_the_data_pass_only_inside_the_range(data, inside):
    assert data_inside_model_range(SEEDS_20, data) is inside


def test_failed_runs_count_against_the_data_at_either_end():
    v = SEEDS_20.copy()
    v[[4, 15]] = math.nan  # two failed runs of 20
    lo, hi = model_range(v)
    # lower end as if the failures lay above every seed, upper end as if below: the range narrows
    assert lo == pytest.approx(np.percentile(np.r_[np.sort(v[np.isfinite(v)]), 1e9, 1e9], 5))
    assert hi == pytest.approx(np.percentile(np.r_[-1e9, -1e9, np.sort(v[np.isfinite(v)])], 95))
    completed = np.percentile(v[np.isfinite(v)], MODEL_RANGE_PCT)  # the range of the 18 runs that completed
    assert completed[0] < lo and hi < completed[1]
    assert data_inside_model_range(v, 10.0)  # 2 of 20 = 10 % failed: still judged on the range
    assert not data_inside_model_range(v, 1.9)  # inside the range of the 18 runs, not whatever the failures were
    assert lo == pytest.approx(1.95) and completed[0] == pytest.approx(1.85)


def test_more_than_ten_percent_failed_runs_fail_whatever_the_data():
    v = SEEDS_20.copy()
    v[[3, 9, 15]] = math.nan  # 3 of 20 = 15 %
    assert 3 > MAX_FAILED_SHARE * len(v)
    lo, hi = model_range(v)
    assert lo < 10.0 < hi  # the median of the rest is inside the range, and yet:
    assert data_inside_model_range(v, 10.0) is False
    assert judge_statistic(v, 10.0, (9.0, 11.0))["pass"] is False


def test_a_model_whose_every_run_failed_has_an_empty_range_and_fails():
    v = np.full(20, math.nan)
    lo, hi = model_range(v)
    assert lo > hi
    assert data_inside_model_range(v, 0.0, max_failed_share=1.0) is False
    assert share_inside(v, (-1.0, 1.0)) == 0.0


def test_failed_runs_that_reach_a_percentile_make_that_end_infinite():
    # 4 seeds, one failed: the failed run shifts both ends inwards by hand-computed amounts
    assert model_range([1.0, 2.0, 3.0, math.nan]) == pytest.approx((1.15, 2.85))
    assert not data_inside_model_range([1.0, 2.0, 3.0, math.nan], 2.0)  # 25 % of the seeds failed
    # 3 of 4 failed: the 5th percentile lies between the one value and a failed run placed above it
    assert model_range([1.0, math.nan, math.nan, math.nan]) == (math.inf, -math.inf)
    assert not data_inside_model_range([1.0, math.nan, math.nan, math.nan], 1.0, max_failed_share=1.0)


def test_the_median_over_seeds_no_longer_decides():
    # 18 of 20 seeds have a kurtosis inside the stated band 2–6 and so does their median, but the data's value
    # (3.6) lies above the model's 95th percentile: the statistic fails
    tight = np.r_[np.linspace(2.0, 3.0, 18), 3.1, 3.2]
    assert 2.0 <= np.median(tight) <= 6.0
    assert judge_statistic(tight, 3.6, (1.2, 7.2))["pass"] is False
    # a median far outside the band, but the data inside the model's wide range: it passes
    wide = np.linspace(-5.0, 50.0, 20)
    assert np.median(wide) > 6.0
    assert judge_statistic(wide, 3.6, (1.2, 7.2))["pass"] is True
    # a statistic that is not judged reports the same numbers without a flag
    assert judge_statistic(wide, 3.6, (1.2, 7.2), judged=False)["pass"] is None


def test_share_of_seeds_in_the_data_interval_counts_every_seed():
    v = np.array([0.0, 1.0, 2.0, 3.0, math.nan])
    assert share_inside(v, (1.0, 2.0)) == pytest.approx(2 / 5)  # the failed run is outside, not dropped
    row = judge_statistic(v, 1.5, (1.0, 2.0), judged=False)
    assert row["share_of_seeds_in_interval"] == pytest.approx(0.4) and row["interval"] == [1.0, 2.0]


# -- the data's block-bootstrap interval -------------------------------------------------------------


def test_moving_blocks_are_runs_of_consecutive_days_inside_the_series():
    idx = moving_block_indices(100, 23, 5, 50, np.random.default_rng(2))
    assert idx.shape == (50, 23)
    assert idx.min() >= 0 and idx.max() <= 99
    steps = np.diff(idx, axis=1)
    within = np.ones(22, bool)
    within[4::5] = False  # a new block starts every 5 days
    assert np.all(steps[:, within] == 1)
    with pytest.raises(ValueError, match="block"):
        moving_block_indices(10, 5, 11, 1, np.random.default_rng(0))


def test_statistics_of_many_rows_equal_those_of_each_row():
    x = np.random.default_rng(3).standard_t(4, size=(3, 400)) * 0.01
    rows = row_statistics(x)
    for i in range(3):
        one = return_statistics(x[i])
        assert list(rows) == list(one)
        for name, value in one.items():
            assert rows[name][i] == pytest.approx(value, rel=1e-10, abs=1e-14), name


def test_an_iid_normal_samples_interval_covers_zero_kurtosis_skewness_and_autocorrelation():
    r = np.random.default_rng(4).normal(0.0, 0.007, 1866)
    boot = block_bootstrap_statistics(r, 1750, block=BLOCK_DAYS, resamples=1000, seed=5)
    for name in ("excess_kurtosis", "skewness", "acf_lag1", "abs_acf_lag1", "abs_acf_lag20"):
        lo, hi = bootstrap_interval(boot[name], 0.90)
        assert lo < 0.0 < hi, (name, lo, hi)
    lo, hi = bootstrap_interval(boot["sd_pct"], 0.90)
    assert lo < 0.7 < hi and hi - lo < 0.1  # sd 0.7 % a day, known to about ±2 %


def test_a_longer_sample_has_a_narrower_interval():
    r = np.random.default_rng(6).standard_t(5, 2000)
    short = bootstrap_interval(block_bootstrap_statistics(r, 250, resamples=1000)["excess_kurtosis"])
    long = bootstrap_interval(block_bootstrap_statistics(r, 2000, resamples=1000)["excess_kurtosis"])
    assert long[1] - long[0] < short[1] - short[0]


def test_the_bootstrap_is_reproducible_and_depends_on_its_seed():
    r = np.random.default_rng(7).normal(size=500)
    a = block_bootstrap_statistics(r, 300, resamples=200, seed=1)["skewness"]
    b = block_bootstrap_statistics(r, 300, resamples=200, seed=1, chunk=7)["skewness"]
    c = block_bootstrap_statistics(r, 300, resamples=200, seed=2)["skewness"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_datas_intervals_are_those_quoted_for_the_usdjpy_data():
    """Ecdat Garch, samples of 1,750 days in blocks of 50: about [1.2, 7.2] for excess kurtosis,
    [0.07, 0.20] for the |return| autocorrelation at lag 1, [−1.16, −0.32] for skewness; without the
    Plaza day the kurtosis interval shrinks to about [1.0, 2.1]."""
    from experiments.analysis.validation import load_usdjpy_data

    r, _ = load_usdjpy_data()
    boot = block_bootstrap_statistics(r, 1750)
    assert bootstrap_interval(boot["excess_kurtosis"]) == pytest.approx((1.2, 7.2), abs=0.35)
    assert bootstrap_interval(boot["abs_acf_lag1"]) == pytest.approx((0.07, 0.20), abs=0.015)
    assert bootstrap_interval(boot["skewness"]) == pytest.approx((-1.16, -0.32), abs=0.06)
    r_np, _ = load_usdjpy_data(without_plaza=True)
    lo, hi = bootstrap_interval(block_bootstrap_statistics(r_np, 1750)["excess_kurtosis"])
    assert 0.7 < lo < 1.3 and 1.7 < hi < 2.5
