"""Headline figures of a run (:func:`model.results.summarize`): each measures what its name says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.results import SURGE_WINDOW_DAYS, max_drawdown, max_drawdown_within, summarize


def _brute_force(x: np.ndarray, window: int) -> float:
    best = 0.0
    for t in range(len(x)):
        for s in range(max(0, t - window), t + 1):
            best = max(best, 1.0 - x[t] / x[s])
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("window", [1, 5, 60])
def test_windowed_drawdown_equals_the_brute_force_search(seed, window):
    x = 140.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, 0.01, 300)))
    fall, peak, trough = max_drawdown_within(x, window)
    assert fall == pytest.approx(_brute_force(x, window), rel=1e-12)
    assert 0 <= trough - peak <= window
    assert fall == pytest.approx(1.0 - x[trough] / x[peak], rel=1e-12)


def test_windowed_drawdown_equals_the_whole_run_drawdown_when_the_window_covers_the_run():
    x = 140.0 * np.exp(np.cumsum(np.random.default_rng(5).normal(0.0, 0.01, 200)))
    assert max_drawdown_within(x, len(x)) == max_drawdown(x)


def test_windowed_drawdown_of_a_rising_series_is_zero():
    assert max_drawdown_within(np.linspace(100.0, 160.0, 50), 10)[0] == 0.0
    with pytest.raises(ValueError, match="window"):
        max_drawdown_within(np.ones(3), 0)


def _run(usdjpy: np.ndarray) -> pd.DataFrame:
    n = len(usdjpy)
    return pd.DataFrame(
        {
            "day": np.arange(n),
            "usdjpy": usdjpy,
            "hf_gross_usd_bn": np.full(n, 250.0),
            "hf_margin_calls": np.zeros(n, dtype=int),
            "hf_failures": np.zeros(n, dtype=int),
            "hf_alive": np.full(n, 200),
            "risk_index": np.full(n, 16.0),
            "ust10y_yield": np.full(n, 0.04),
            "jgb10y_yield": np.full(n, 0.01),
            "clearing_residual": np.zeros(n),
            "clearing_iterations": np.full(n, 3),
        }
    )


def test_largest_yen_surge_is_a_fall_within_sixty_days_not_the_run_long_trend():
    # a slow yen appreciation from 160 to 100 over 1,400 days (a trend of -37.5%) and, on day 700,
    # a plunge of 8% over five days: the surge is the plunge (plus the trend's few days around it)
    trend = np.linspace(160.0, 100.0, 1401)
    plunge = np.ones(1401)
    plunge[700:705] = np.linspace(1.0, 0.92, 6)[1:]
    plunge[705:] = 0.92
    s = summarize(_run(trend * plunge))
    assert SURGE_WINDOW_DAYS == 60
    assert s["usdjpy_max_fall_pct"] == pytest.approx(100 * (1 - 0.92 * 100 / 160))  # the whole run's fall
    assert (s["usdjpy_max_fall_peak_day"], s["usdjpy_max_fall_trough_day"]) == (0, 1400)
    # within 60 days: the plunge and at most 60 days of the trend (0.043 JPY a day) around it
    assert 8.0 < s["usdjpy_surge_60d_pct"] < 8.0 + 100 * 60 * (60 / 1400) / 125
    assert s["usdjpy_surge_60d_days"] <= 60
    assert s["usdjpy_surge_60d_peak_day"] <= 700 < 704 <= s["usdjpy_surge_60d_trough_day"]
    assert s["usdjpy_surge_60d_days"] == s["usdjpy_surge_60d_trough_day"] - s["usdjpy_surge_60d_peak_day"]


def test_the_existing_summary_keys_keep_their_meaning():
    s = summarize(_run(np.array([150.0, 160.0, 120.0, 130.0, 110.0])))
    assert s["usdjpy_max_fall_pct"] == pytest.approx(100 * (1 - 110 / 160))
    assert (s["usdjpy_max_fall_peak_day"], s["usdjpy_max_fall_trough_day"], s["usdjpy_max_fall_days"]) == (1, 4, 3)
    assert s["usdjpy_surge_60d_pct"] == s["usdjpy_max_fall_pct"]  # a short run: the window covers it


def test_progress_bar_time_left_does_not_count_the_first_day_s_compilation(monkeypatch, capsys):
    """The first day (numba compilation in a fresh process) is slow; the estimate of the time left
    must come from the days after it, not put a few-second run at many minutes.

    tqdm reads its clock through ``tqdm.std.time``: a clock that each day moves on by a set amount
    (1.5 s on day 1, 10 ms after it) makes the estimate independent of how fast this machine is."""
    import re

    import tqdm.std

    from model.model import CarryUnwindModel
    from model.results import run_simulation

    now = [1000.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    step = CarryUnwindModel.step

    def slow_first_day(self):
        now[0] += 1.5 if self.day == 0 else 0.01  # "compilation", then 10 ms a day
        step(self)

    monkeypatch.setattr(CarryUnwindModel, "step", slow_first_day)
    run_simulation(seed=1, days=60, progress=True, hedge_funds__n_funds=20)
    err = capsys.readouterr().err
    assert "(compiling…)" in err
    left = [int(m) * 60 + int(s) for m, s in re.findall(r"<(\d\d):(\d\d)", err)]
    assert len(left) >= 3, err[-500:]  # estimates after the first day's, not only the bar's start and end
    assert max(left) <= 1, err[-500:]  # 59 days x 10 ms, not 59 x 1.5 s = 88 s
