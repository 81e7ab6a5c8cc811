"""The calibration targets and the observed August 2024 episode the model is validated against.

Target bands for the daily USD/JPY log returns of the calibrated ``baseline`` scenario (judged on
the median over seeds by :mod:`experiments.analysis.validation`), and the August 2024 unwind as
observed, with the bands within which a simulated episode counts as "of the observed order".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.analysis.statistics import ABS_ACF_LAGS, ACF_LAGS, TAIL_FRACTION, Band

__all__ = [
    "Statistic",
    "STATISTICS",
    "EPISODE_OBSERVED",
    "EPISODE_BANDS",
    "BASELINE",
    "EPISODE",
    "EPISODE_DAYS",
    "MIN_DAYS",
    "ACF_PLOT_LAGS",
]

DEFAULT_SEEDS, DEFAULT_DAYS = 20, 2000
QUICK_SEEDS, QUICK_DAYS = 4, 500
MIN_DAYS = 100  # the longest autocorrelation lag is 50: fewer days leave too few pairs
BASELINE = "baseline"
EPISODE = "boj_hike_2024"
EPISODE_DAYS = 60  # 1 Jul – 20 Sep 2024: the unwind and its aftermath
ACF_PLOT_LAGS = tuple(range(1, 51))


@dataclass(frozen=True)
class Statistic:
    """One validation statistic: its label, how to print it and its target band (if any)."""

    label: str
    fmt: str
    band: Band | None = None


# name (a key of experiments.analysis.statistics.return_statistics) -> definition and target band:
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

# The August 2024 episode as observed (sources as in model/scenarios/boj_hike_2024.toml)
EPISODE_OBSERVED: dict[str, Any] = {
    "usdjpy_peak": 161.9,  # 3 Jul 2024 (BoJ/Bloomberg close)
    "usdjpy_trough": 141.7,  # 5 Aug 2024
    "usdjpy_peak_date": "2024-07-03",
    "usdjpy_trough_date": "2024-08-05",
    "usdjpy_change_pct": 100.0 * (141.7 / 161.9 - 1.0),  # −12.5 %
    "usdjpy_fall_days": 23,  # weekdays from 3 Jul to 5 Aug 2024
    "carry_fall_pct_range": (60.0, 75.0),  # share of the yen carry trade unwound (BIS Bulletin 90)
    "vix_intraday_peak": 65.7,  # 5 Aug 2024 (CBOE); close 38.6
    "vix_close_peak": 38.6,
    "cftc_yen_net_shorts_contracts": (-180_000, 41_000),  # speculative positions, early Jul → late Aug 2024
}
EPISODE_BANDS: dict[str, Band] = {
    # a yen move "of the observed order": USD/JPY peak to trough between −18 % and −8 %
    "usdjpy_change_pct": Band(-18.0, -8.0, "−18 % to −8 %"),
    # a "large" unwind: at least 40 % of the carry stock gone
    "carry_fall_pct": Band(40.0, None, "≥ 40 %"),
}
