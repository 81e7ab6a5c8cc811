"""The early-warning dashboards on a hand-built history: each column against its definition, worked out
by hand (model/dashboards.py's docstring), so a wrong sign, window or column is seen."""

from __future__ import annotations

import types

import numpy as np
import pytest

from model.dashboards import DASHBOARD_COLUMNS, dashboards


def fake_model(history: dict[str, list[float]], tails=(), indirect=(), lean=False):
    """What dashboards() reads: the recorded series before today (lists on the Mesa path, arrays on the
    lean path) and the US Treasury's auction records."""
    treasury = types.SimpleNamespace(tails=list(tails), indirect=list(indirect))
    series = {k: (np.array(v) if lean else list(v)) for k, v in history.items()}
    return types.SimpleNamespace(series=series.__getitem__, sectors={"us_treasury": treasury})


def today(**kw) -> dict[str, float]:
    row = {"usdjpy": 150.0, "boj_rate": 0.0025, "risk_index": 20.0, "jgb10y_yield": 0.015,
           "jp_inflation_expectations": 0.02, "fiscal_risk": 0.3}  # fmt: skip
    return {**row, **kw}


@pytest.mark.parametrize("lean", [False, True])
def test_each_column_is_its_definition(lean):
    # 70 recorded days: the BoJ at 0.10% until day 19, then 0.25%; USD/JPY at 160 for 20 days, then 140
    boj = [0.0010] * 20 + [0.0025] * 50
    fx = [160.0] * 20 + [140.0] * 50
    model = fake_model({"boj_rate": boj, "usdjpy": fx}, tails=[9.0, 1.0, 2.0, 3.0, 4.0],
                       indirect=[0.9, 0.6, 0.7, 0.65, 0.75], lean=lean)  # fmt: skip
    d = dashboards(model, today(usdjpy=157.0, boj_rate=0.0050))
    assert set(d) == set(DASHBOARD_COLUMNS)
    # 60 recorded days back is day 10, at 0.10%: today's 0.50% is 40 bp above it (not the 25 bp of day 20)
    assert d["dash_a_boj_signal_bp"] == pytest.approx(40.0)
    assert d["dash_a_auction_tail_bp"] == pytest.approx((1.0 + 2.0 + 3.0 + 4.0) / 4)  # the last four auctions
    # the 50-day average: the last 49 recorded days (all 140) and today's 157
    assert d["dash_a_fx_break_pct"] == pytest.approx(100.0 * (157.0 / ((49 * 140.0 + 157.0) / 50) - 1.0))
    assert d["dash_a_fx_break_pct"] > 0  # above its average: no break lower
    assert d["dash_a_risk_index"] == 20.0
    assert d["dash_b_real_yield_pct"] == pytest.approx(-0.5)  # 1.5% nominal less 2% expected inflation
    assert d["dash_b_political_support"] == 0.3
    assert d["dash_b_indirect_bidding"] == pytest.approx((0.6 + 0.7 + 0.65 + 0.75) / 4)
    assert d["dash_b_zone"] == 1.0  # 157 is inside 155-160


def test_a_fall_below_the_average_is_a_negative_break_and_the_zone_has_edges():
    model = fake_model({"boj_rate": [0.001] * 5, "usdjpy": [160.0] * 5})
    d = dashboards(model, today(usdjpy=150.0, boj_rate=0.001))
    assert d["dash_a_fx_break_pct"] == pytest.approx(100.0 * (150.0 / ((5 * 160.0 + 150.0) / 6) - 1.0))
    assert d["dash_a_fx_break_pct"] < 0
    assert d["dash_a_boj_signal_bp"] == 0.0  # fewer than 60 days: against the first recorded day
    for s, zone in [(154.99, 0.0), (155.0, 1.0), (160.0, 1.0), (160.01, 0.0)]:
        assert dashboards(model, today(usdjpy=s))["dash_b_zone"] == zone, s


def test_without_auctions_or_a_treasury_the_auction_columns_are_zero():
    model = fake_model({"boj_rate": [0.001], "usdjpy": [150.0]})
    d = dashboards(model, today())
    assert d["dash_a_auction_tail_bp"] == 0.0 and d["dash_b_indirect_bidding"] == 0.0
    model.sectors = {}
    assert dashboards(model, today())["dash_a_auction_tail_bp"] == 0.0
