"""The replay and super-long analyses: their measures on planted paths, failed runs, bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.analysis import replay, superlong


def test_replay_measures_are_the_known_drawdowns_of_planted_paths():
    s = [160.0, 162.0, 150.0, 155.0, 145.8, 150.0]  # peak 162 on day 1, trough 145.8 on day 4: −10%
    carry = [100.0, 120.0, 90.0, 60.0, 80.0, 70.0]  # peak 120, trough 60: half unwound
    v = [15.0, 20.0, 150.0, 150.0, 40.0, 30.0]
    m = replay.replay_measures(s, v, carry, cap=150.0)
    assert m["fall_pct"] == pytest.approx(-10.0)
    assert m["trough_day"] == 4.0
    assert m["carry_fall_pct"] == pytest.approx(50.0)
    assert m["risk_index_peak"] == 150.0 and m["days_at_cap"] == 2.0
    rising = replay.replay_measures([1.0, 2.0, 3.0], [10.0] * 3, [5.0, 6.0, 7.0], cap=150.0)
    assert rising["fall_pct"] == 0.0 and rising["carry_fall_pct"] == 0.0 and rising["days_at_cap"] == 0.0


def test_a_failed_replay_run_counts_outside_the_band():
    keys = ("fall_pct", "trough_day", "risk_index_peak", "carry_fall_pct", "days_at_cap")
    ok = {**dict.fromkeys(keys, 1.0), "fall_pct": -10.0, "failed": ""}
    out = {**ok, "fall_pct": -3.0}
    failed = {**dict.fromkeys(keys, math.nan), "failed": "implausible prices on day 40"}
    s = replay._summary([ok, ok, out, failed])
    assert s["runs"] == 4 and s["failed_runs"] == 1
    assert s["share_in_band"] == 0.5  # the failed run is in the denominator, never inside
    assert s["fall_pct"]["n"] == 3  # and left out of the spread, counted


def test_a_replay_run_is_reproducible_and_starts_at_the_scenarios_level():
    a = replay.replay_run((3, 5, {"market__risk_news_sd": 0.0}))
    b = replay.replay_run((3, 5, {"market__risk_news_sd": 0.0}))
    assert a == b and not a["failed"]
    assert a["usdjpy"][0] == 161.5 and a["dates"][0] == "2024-07-01"
    assert len(a["usdjpy"]) == 6 and np.isfinite(a["fall_pct"])


@pytest.mark.parametrize(
    "module, argv, message",
    [
        (replay, ["--seeds", "0"], "--seeds = 0 is not allowed"),
        (replay, ["--news-sd", "-0.1"], "--news-sd = -0.1 is not allowed"),
        (replay, ["--news-sd", "nan"], "--news-sd = nan is not allowed"),
        (replay, ["--workers", "0"], "--workers = 0 is not allowed"),
        (superlong, ["--workers", "0"], "--workers = 0 is not allowed"),
        (superlong, ["--jpy-tn", "0"], "--jpy-tn = 0.0 is not allowed"),
        (superlong, ["--seeds", "0"], "--seeds = 0 is not allowed"),
    ],
)
def test_the_analyses_reject_bad_arguments(module, argv, message, capsys):
    with pytest.raises(SystemExit):
        module.main(argv)
    assert message in capsys.readouterr().err
