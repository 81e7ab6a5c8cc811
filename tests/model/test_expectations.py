"""Expected policy paths: known answers of the path's persistence, and priced vs surprise decisions.

The pass-through of a policy surprise to 2y and 10y yields is a known answer of the path's
half-life (``market.policy_halflife_years``, set against event studies): with ``H`` = 5 years a
100 bp surprise moves the expected average over 10 years by ~54 bp and over 2 years by ~87 bp;
the cleared 10y yields pass on part of it within a week (25-55 bp, the event-study range).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from model.market import ExpectedPath
from model.scenarios import ScenarioEvent
from tests.support import make_model

SEEDS = (1, 2, 3)


@pytest.mark.parametrize("years", [0.25, 2.0, 10.0])
@pytest.mark.parametrize("halflife", [0.5, 3.0, 8.0])
def test_path_average_equals_the_integral_of_the_expected_path(years, halflife):
    path = ExpectedPath(level=0.05, anchor=0.02, halflife_years=halflife)
    integral, _ = quad(lambda h: 0.02 + (0.05 - 0.02) * 2.0 ** (-h / halflife), 0.0, years)
    assert path.average(years) == pytest.approx(integral / years, rel=1e-12)


def test_a_priced_decision_is_no_surprise_and_an_unpriced_one_is():
    path = ExpectedPath(level=0.0525, anchor=0.03, halflife_years=3.0)
    path.news(-0.005)  # guidance prices a 50 bp cut
    before = path.average(10.0)
    assert path.decide(0.0475) == pytest.approx(0.0)
    assert path.average(10.0) == pytest.approx(before, abs=1e-15)
    assert path.decide(0.0450) == pytest.approx(-0.0025)  # a further 25 bp nobody expected
    assert path.average(10.0) < before


def test_a_decision_priced_on_day_0_is_a_surprise_only_by_its_unpriced_part():
    """``market.boj_priced_change_pa`` starts the BoJ path above the policy rate: a hike of that size is
    no surprise, a larger one surprises by the rest, and the day-0 2y yield is still the stated one."""
    from model.market import MarketConfig, MarketState

    for priced in (0.0, 0.00075, 0.0015):
        cfg = MarketConfig(boj_rate=0.001, boj_priced_change_pa=priced, jgb2y_yield=0.0036)
        state = MarketState(cfg)
        assert state.jgb2y_yield == pytest.approx(0.0036, abs=1e-15)
        state.set_boj_rate(0.0025)
        assert state.last_surprise["boj"] == pytest.approx(0.0015 - priced, abs=1e-15)
    assert MarketState(MarketConfig(boj_priced_change_pa=0.0)).boj_path.level == MarketConfig().boj_rate


# The known answers are those of the expectations channel: the risk index's response to the day's
# moves and forced sales (the carry unwind a Fed surprise sets off, and the flight to quality it
# brings) is switched off, as it adds a further fall in UST yields (measured in the closing note).
EXPECTATIONS_ONLY = {"market__risk_endogenous": False}


def twin_difference(column: str, event: ScenarioEvent, days: int, seed: int, **overrides) -> float:
    """``column`` on the last day with the event minus without it (same seed, common random numbers)."""
    out = []
    for with_event in (True, False):
        model = make_model(seed, **overrides)
        if with_event:
            model.schedule(event.day, model.apply_event, event)
        model.run_for(days)
        out.append(model.history[column][-1])
    return out[0] - out[1]


def test_a_100bp_boj_surprise_moves_the_10y_jgb_by_25_to_55bp_after_five_days():
    rate0 = make_model(1).market.boj_rate
    event = ScenarioEvent(day=20, kind="boj_rate", params={"rate": rate0 + 0.01})
    moves = [twin_difference("jgb10y_yield", event, 24, s, **EXPECTATIONS_ONLY) * 1e4 for s in SEEDS]  # five days
    assert 25.0 <= float(np.median(moves)) <= 55.0, moves


def test_a_100bp_fed_cut_surprise_moves_the_10y_ust_by_25_to_55bp_after_five_days():
    rate0 = make_model(1).market.us_short_rate
    event = ScenarioEvent(day=20, kind="us_short_rate", params={"rate": rate0 - 0.01})
    moves = [twin_difference("ust10y_yield", event, 24, s, **EXPECTATIONS_ONLY) * 1e4 for s in SEEDS]
    assert -55.0 <= float(np.median(moves)) <= -25.0, moves


def test_fed_path_news_of_minus_1pc_moves_the_2y_ust_by_at_least_70bp_on_the_day():
    event = ScenarioEvent(day=10, kind="fed_path_news", params={"change_pa": -0.01})
    for seed in SEEDS:
        assert twin_difference("ust2y_yield", event, 10, seed) <= -0.007


def test_us_growth_news_moves_the_fed_path_and_equities_in_its_direction():
    event = ScenarioEvent(day=10, kind="us_growth_news", params={"surprise_sd": -2.0})
    for seed in SEEDS:
        assert twin_difference("ust2y_yield", event, 10, seed) < -0.001
        assert twin_difference("equity_index", event, 10, seed) < 0.0


def test_a_decision_the_news_had_priced_does_not_move_long_yields_again():
    m0 = make_model(1).market
    news = ScenarioEvent(day=10, kind="boj_path_news", params={"change_pa": 0.0025})
    hike = ScenarioEvent(day=15, kind="boj_rate", params={"rate": m0.boj_rate + 0.0025})
    with_both, news_only = make_model(1), make_model(1)
    for model, events in ((with_both, (news, hike)), (news_only, (news,))):
        for e in events:
            model.schedule(e.day, model.apply_event, e)
        model.run_for(20)
    assert with_both.market.last_surprise["boj"] == pytest.approx(0.0, abs=1e-15)
    assert with_both.market.expected_change_10y("boj") == pytest.approx(news_only.market.expected_change_10y("boj"))
    assert math.isclose(with_both.history["jgb2y_yield"][-1], news_only.history["jgb2y_yield"][-1], abs_tol=1e-15)


@pytest.mark.parametrize("years", [0.25, 2.0, 10.0])
@pytest.mark.parametrize("halflife", [0.5, 5.0])
def test_set_average_puts_the_paths_average_there_and_keeps_its_anchor_and_half_life(years, halflife):
    path = ExpectedPath(level=0.0533, anchor=0.0275, halflife_years=halflife)
    path.set_average(years, 0.0416)
    integral, _ = quad(lambda h: 0.0275 + (path.level - 0.0275) * 2.0 ** (-h / halflife), 0.0, years)
    assert integral / years == pytest.approx(0.0416, rel=1e-12)
    assert (path.anchor, path.halflife) == (0.0275, halflife)


def test_an_observed_2y_close_sets_the_models_2y_that_day_and_a_lower_one_weakens_the_dollar():
    event = ScenarioEvent(day=10, kind="ust2y_observed", params={"yield_pa": 0.04})
    for seed in SEEDS:
        model = make_model(seed)
        model.schedule(event.day, model.apply_event, event)
        model.run_for(10)
        assert model.history["ust2y_yield"][-1] == pytest.approx(0.04, abs=1e-15)
        lower = ScenarioEvent(
            day=10, kind="ust2y_observed", params={"yield_pa": model.history["ust2y_yield"][-2] - 0.005}
        )
        assert twin_difference("usdjpy", lower, 10, seed) < 0.0
