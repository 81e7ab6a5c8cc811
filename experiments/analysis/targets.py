"""The calibration targets, how they are judged, and the observed August 2024 episode.

The statistics of daily USD/JPY log returns that :mod:`experiments.analysis.validation` judges, and
the protocol it judges them by (:mod:`experiments.analysis.judgement`): seeds 1001…1020 of the
``baseline`` scenario, 2,000 trading days each with the first 250 dropped; for each judged
statistic the data's value must lie inside the model's 5–95 % range across seeds (failed runs
counted against it), reported beside the share of seeds inside the data's 90 % moving-block
bootstrap interval (blocks of 100 days) for a sample of the same length; on the data with and
without the Plaza accord's day (23 Sep 1985). The stated target ranges are reported, never judged.

Also the August 2024 unwind as observed, USD/JPY's figures derived from one table of observed daily
closes (``OBSERVED_CLOSES``: the model's USD/JPY is a daily close), with the bands within which a
simulated episode counts as "of the observed order".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.analysis.statistics import ABS_ACF_LAGS, ACF_LAGS, TAIL_FRACTION, Band
from model.calendar import TradingCalendar

__all__ = [
    "Statistic",
    "STATISTICS",
    "OBSERVED_CLOSES",
    "close_fall",
    "EPISODE_OBSERVED",
    "UNWOUND_SINCE_EVE",
    "UNWOUND_LARGEST_DRAWDOWN",
    "EPISODE_BANDS",
    "BASELINE",
    "EPISODE",
    "EPISODE_DAYS",
    "MIN_DAYS",
    "BURN_IN",
    "ACF_PLOT_LAGS",
    "MODEL_RANGE_PCT",
    "MAX_FAILED_SHARE",
    "DATA_INTERVAL_LEVEL",
    "JOINT_TEST_LEVEL",
    "FITTED_TO_STATISTICS",
    "FIRST_SEED",
    "held_out_seeds",
    "BLOCK_DAYS",
    "DATA_BOOTSTRAP_RESAMPLES",
    "DATA_BOOTSTRAP_SEED",
    "PLAZA_DATE",
]

DEFAULT_SEEDS, DEFAULT_DAYS = 20, 2000
# The validation's seeds are 1001, 1002, ...: held out from the calibration, which fits its parameters
# on seeds 1..S (experiments/calibration/search.py), so the seeds' spread is not the one it was fitted on.
FIRST_SEED = 1001


def held_out_seeds(n: int) -> list[int]:
    """The first ``n`` held-out seeds, ``FIRST_SEED … FIRST_SEED + n − 1``: what validation and every
    analysis that reports out-of-sample figures run (not the calibration's 1..S)."""
    return list(range(FIRST_SEED, FIRST_SEED + n))


QUICK_SEEDS, QUICK_DAYS = 4, 500
MIN_DAYS = 100  # returns per run after the burn-in: the longest autocorrelation lag is 50
# Days dropped from the start of every baseline run before its statistics are computed: the funds'
# book, the noise positions and the risk index start at rest and need about a year to reach their
# own stationary behaviour (the risk index's calibration drops the same 250 days).
BURN_IN = 250
BASELINE = "baseline"
EPISODE = "boj_hike_2024"
EPISODE_DAYS = 60  # 1 Jul – 25 Sep 2024 on the model's calendar (day 60): the unwind and its aftermath
ACF_PLOT_LAGS = tuple(range(1, 51))

# -- how a statistic is judged (experiments.analysis.judgement) --
MODEL_RANGE_PCT = (5.0, 95.0)  # the model's range across seeds the data's value must lie in
# A 5–95 % range leaves 10 % of the seeds outside it; failed runs count as outside, so a model
# whose failed runs alone exceed 10 % of the seeds cannot hold the data inside its range.
MAX_FAILED_SHARE = 0.10
DATA_INTERVAL_LEVEL = 0.90  # the data's own sampling interval, reported beside the pass flag
# The judged statistics jointly (experiments.analysis.judgement.joint_test): the data pass when the
# exact Monte Carlo p-value of their simulated-moments distance is at least this level.
JOINT_TEST_LEVEL = 0.05
# The parameters whose defaults were fitted to the judged statistics of these data by
# experiments/calibration/baseline.py: the five of its joint fit, and real money's noise persistence,
# fitted to the same statistics before it and held there. Each takes a degree of freedom from the
# J-test (experiments.analysis.judgement.joint_test); tests/experiments/test_judgement.py checks the
# list against the parameters' cited sources.
FITTED_TO_STATISTICS = (
    "real_money.capacity_usd_bn",
    "real_money.capacity_risk_elasticity",
    "real_money.trade_flow_sd_usd_bn",
    "real_money.noise_persistence",
    "hedge_funds.risk_aversion_median",
    "hedge_funds.max_leverage",
)
# Block length of the moving-block bootstrap (Künsch 1989). Joining blocks cuts the pairs of days k
# apart that straddle a seam, so a bootstrap sample keeps only about 1 − k/b of an autocorrelation at
# lag k: with blocks of 50 days the |return| autocorrelation at lag 20, a judged statistic, averaged
# 0.030 over the data's bootstrap samples against the data's 0.051, and its interval sat low. Blocks
# of 100 days keep about 80 % of it (0.044 on average). Longer blocks keep more but leave fewer blocks
# in a sample, and the intervals start to undercover: over 300 samples of iid normal returns the 90 %
# intervals held the truth in 87-91 % of them with blocks of 50 or 100 days, in 84-87 % with 150.
# tests/experiments/test_judgement.py holds both sides to simulated processes.
BLOCK_DAYS = 100
DATA_BOOTSTRAP_RESAMPLES = 5000
DATA_BOOTSTRAP_SEED = 19850922  # fixed: the intervals are the same on every machine and run
# The Plaza accord (announced Sunday 22 Sep 1985): USD/JPY fell 5.7 % on Monday 23 Sep, the largest
# move in the data and a policy event the event-free baseline does not contain. Every statistic is
# also computed on the data without that day's return.
PLAZA_DATE = "1985-09-23"


@dataclass(frozen=True)
class Statistic:
    """One validation statistic: its label, how to print it and its stated target range (if any).

    A statistic with a stated target range is *judged*: it gets pass flags (the data inside the
    model's 5–95 % range across seeds). The range itself is reported beside it, never judged.
    """

    label: str
    fmt: str
    band: Band | None = None

    @property
    def judged(self) -> bool:
        return self.band is not None


# name (a key of experiments.analysis.statistics.return_statistics) -> definition and stated target:
# stylised facts of daily major-currency returns (fat tails, no linear predictability, volatility clustering)
STATISTICS: dict[str, Statistic] = {
    "sd_pct": Statistic("standard deviation, % a day", ".3f", Band(0.5, 0.75, "0.5–0.75")),
    "skewness": Statistic("skewness", ".2f", Band(None, 0.0, "≤ 0")),
    "excess_kurtosis": Statistic("excess kurtosis", ".2f", Band(2.0, 6.0, "2–6")),
    **{
        f"acf_lag{k}": Statistic(
            f"autocorrelation of returns, lag {k}",
            ".3f",
            Band(-0.05, 0.05, "|x| < 0.05", lo_strict=True, hi_strict=True) if k == 1 else None,
        )
        for k in ACF_LAGS
    },
    **{
        f"abs_acf_lag{k}": Statistic(
            f"autocorrelation of |returns|, lag {k}",
            ".3f",
            {1: Band(0.1, None, "≥ 0.1"), 20: Band(0.03, None, "> 0.03", lo_strict=True)}.get(k),
        )
        for k in ABS_ACF_LAGS
    },
    "hill_tail_index": Statistic(f"tail index (Hill, largest {TAIL_FRACTION:.0%} of |returns|)", ".2f"),
}

# Observed USD/JPY daily closes of July-September 2024, for comparison only (approximate closes; BoJ /
# Federal Reserve H.10): the one source of every observed close below and of the replay's
# (experiments.analysis.replay). The model's USD/JPY is a daily close, so it is compared with these; the
# intraday extremes (below) are context. Not every day's close: the first day's (the scenario's day 0), the
# highest of the run-up (161.7 on 10 Jul), the fall's path to the 5 Aug close and the 16 Sep low.
OBSERVED_CLOSES: dict[str, float] = {
    "2024-07-01": 161.5,
    "2024-07-10": 161.7,
    "2024-07-12": 157.9,
    "2024-07-25": 152.0,
    "2024-08-01": 149.5,
    "2024-08-02": 146.5,
    "2024-08-05": 144.0,
    "2024-08-07": 147.0,
    "2024-08-15": 149.0,
    "2024-09-16": 140.6,
}


def close_fall(end_date: str, closes: Mapping[str, float] = OBSERVED_CLOSES) -> tuple[str, str, float]:
    """The largest peak-to-trough fall of the observed ``closes`` dated up to ``end_date`` (the rule the model's
    daily closes are measured by, :func:`model.results.max_drawdown`): ``(peak date, trough date, change in %)``,
    the change negative (the yen rose) and 0.0 with both dates the first close where the closes never fall.

    >>> peak, trough, change = close_fall("2024-08-05")
    >>> peak, trough, round(change, 1)
    ('2024-07-10', '2024-08-05', -10.9)
    """
    from model.results import max_drawdown

    dates = sorted(d for d in closes if d <= end_date)
    if not dates:
        raise ValueError(f"end_date = {end_date!r} is not allowed; expected a date on or after {min(closes)}")
    values = np.array([float(closes[d]) for d in dates])
    _, peak, trough = max_drawdown(values)
    return dates[peak], dates[trough], float(100.0 * (values[trough] / values[peak] - 1.0))


# the fall's observation: to the 5 Aug 2024 close, the day of the unwind's climax
_PEAK_DATE, _TROUGH_DATE, _CHANGE_PCT = close_fall("2024-08-05")

# The August 2024 episode as observed (sources as in model/scenarios/boj_hike_2024.toml). USD/JPY on closes,
# from OBSERVED_CLOSES: 161.7 (10 Jul) to 144.0 (5 Aug), -10.9 % in 18 trading days.
EPISODE_OBSERVED: dict[str, Any] = {
    "usdjpy_peak": OBSERVED_CLOSES[_PEAK_DATE],  # the highest close before the fall: 161.7
    "usdjpy_peak_date": _PEAK_DATE,  # 10 Jul 2024
    "usdjpy_trough": OBSERVED_CLOSES[_TROUGH_DATE],  # the 5 Aug close, ~144
    "usdjpy_trough_date": _TROUGH_DATE,  # 5 Aug 2024: the fall's observation, the model's fall is measured to it
    "usdjpy_change_pct": _CHANGE_PCT,  # peak to trough on closes, −10.9 %
    # trading days from the peak close to the trough close on the model's calendar (18)
    "usdjpy_fall_days": TradingCalendar(_PEAK_DATE).day_of(_TROUGH_DATE),
    # the intraday extremes (BoJ/Bloomberg), not closes: never compared with the model's daily closes, only
    # quoted beside the closes (an extreme within a day is further out than any close: 161.95 → 141.7 is −12.5 %)
    "usdjpy_intraday_high": 161.95,
    "usdjpy_intraday_high_date": "2024-07-03",
    "usdjpy_intraday_low": 141.7,
    "usdjpy_intraday_low_date": "2024-08-05",
    # share of the yen carry trade unwound, bank estimates of 7-9 Aug 2024: Morgan Stanley ~60% of yen-funded
    # carry trades; JPMorgan's FX strategy 50-60% of the speculative yen carry (its 75% is of global carry
    # trades, not the yen's). BIS Bulletin 90 sizes the stock (~¥40 tn), not the share unwound. Two measures of
    # the model are compared with it (UNWOUND_SINCE_EVE, UNWOUND_LARGEST_DRAWDOWN)
    "carry_fall_pct_range": (50.0, 60.0),
    # the latest of those estimates: the model's unwind is measured up to it (and its fall to usdjpy_trough_date)
    "carry_fall_date": "2024-08-09",
    "vix_intraday_peak": 65.7,  # 5 Aug 2024 (CBOE); close 38.6
    "vix_close_peak": 38.6,
    "cftc_yen_net_shorts_contracts": (-180_000, 41_000),  # speculative positions, early Jul → late Aug 2024
}
# The one observation of the share unwound (carry_fall_pct_range) is compared with two measures of the model's
# carry stock, which differ and are named apart in every report:
# * validation's (experiments.analysis.validation.episode_measures): the fall of the funds' gross carry stock
#   from its level on the eve of the scenario's first event (the day before it) to its trough by carry_fall_date;
# * the replay's (experiments.analysis.replay.replay_measures): the largest drawdown of their net carry stock
#   from a running peak, from the scenario's start (1 Jul) to carry_fall_date.
UNWOUND_SINCE_EVE = "carry unwound since the eve of the first event"
UNWOUND_LARGEST_DRAWDOWN = "largest drawdown of the carry stock since 1 Jul"
EPISODE_BANDS: dict[str, Band] = {
    # a yen move "of the observed order": USD/JPY peak to trough between −18 % and −8 %
    "usdjpy_change_pct": Band(-18.0, -8.0, "−18 % to −8 %"),
    # a "large" unwind: at least 40 % of the carry stock gone
    "carry_fall_pct": Band(40.0, None, "≥ 40 %"),
}
