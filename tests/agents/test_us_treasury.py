"""US Treasury auctions: the uniform-price auction's known answers, the tail measured against the
when-issued yield (not the day's yield change), and tails and indirect shares that move with the
bidders' schedules against a twin on the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.us_treasury import BIDDER_CLASSES, UsTreasuryConfig, auction_with_news, uniform_price_auction
from model.accounting import AccountingError, check_identities
from model.model import CarryUnwindModel
from model.scenarios import ScenarioEvent
from model.validation import ConfigError

SMALL = dict(hedge_funds__n_funds=50, nisa__n_households=2000)
SEEDS = (1, 2, 3)
# every bidder's level fixed, covering the offering exactly at the when-issued yield
EXACT = dict(
    us_treasury__indirect_level_share=0.66,
    us_treasury__direct_level_share=0.17,
    us_treasury__dealer_level_share=0.17,
    us_treasury__bid_common_sd=0.0,
    us_treasury__bid_class_sd=0.0,
    us_treasury__dealer_risk_elasticity=0.0,
    us_treasury__indirect_pickup_sensitivity_per_pp=0.0,
    us_treasury__indirect_japan_weight=0.0,
)


def run(seed: int, days: int, events=(), **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(seed=seed, **{**SMALL, **overrides})
    for event in events:
        model.schedule(event.day, model.apply_event, event)
    model.run_for(days)
    return model


def auctions(ts):
    return ts[ts.ust_auction == 1]


# ---------------------------------------------------------------------------------------------
# the auction itself


def test_linear_schedules_stop_out_at_the_closed_form():
    levels, slopes, size = np.array([12.0, 4.0, 3.0]), np.array([0.6, 0.2, 1.2]), 20.0
    r = uniform_price_auction(levels, slopes, size)
    x = (size - levels.sum()) / slopes.sum()  # every class bids at the stop-out
    assert r.stop_out_bp == pytest.approx(x, abs=1e-12)
    assert r.allotments == pytest.approx(levels + slopes * x, abs=1e-12)
    assert r.allotments.sum() == pytest.approx(size, rel=1e-15)


def test_a_class_that_starts_bidding_above_the_stop_out_gets_nothing():
    # dealers bid only from 4 bp above the when-issued yield; the others cover at 2.5 bp
    levels, slopes, size = np.array([15.0, 4.0, -8.0]), np.array([1.5, 0.5, 2.0]), 24.0
    r = uniform_price_auction(levels, slopes, size)
    x = (size - 19.0) / 2.0  # only the first two classes bid there
    assert r.stop_out_bp == pytest.approx(x, abs=1e-12) and x < 4.0
    assert r.allotments == pytest.approx([15.0 + 1.5 * x, 4.0 + 0.5 * x, 0.0], abs=1e-12)
    # with more to sell the dealers come in: all three bid at the new stop-out
    r = uniform_price_auction(levels, slopes, 40.0)
    assert r.stop_out_bp == pytest.approx((40.0 - 11.0) / 4.0, abs=1e-12)
    assert r.allotments[2] > 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    levels=st.lists(st.floats(-20.0, 40.0), min_size=1, max_size=5),
    slope_scale=st.floats(0.01, 5.0),
    size=st.floats(0.1, 100.0),
    data=st.data(),
)
def test_the_stop_out_is_the_lowest_yield_at_which_bids_cover_the_offering(levels, slope_scale, size, data):
    n = len(levels)
    slopes = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))) * slope_scale
    levels = np.array(levels)
    r = uniform_price_auction(levels, slopes, size)

    def bids(x):
        return np.maximum(levels + slopes * x, 0.0).sum()

    assert r.allotments.sum() == pytest.approx(size, rel=1e-12)
    assert np.all(r.allotments >= 0)
    assert bids(r.stop_out_bp) == pytest.approx(size, rel=1e-9, abs=1e-9)
    assert bids(r.stop_out_bp - 1e-6 * (1 + abs(r.stop_out_bp))) < size
    # more demand from one class lowers (never raises) the stop-out and raises its allotment
    more = levels.copy()
    more[0] += 1.0
    r2 = uniform_price_auction(more, slopes, size)
    assert r2.stop_out_bp <= r.stop_out_bp + 1e-12
    assert r2.allotments[0] >= r.allotments[0] - 1e-9


def test_bad_auction_inputs_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="slopes"):
        uniform_price_auction(np.array([1.0, 2.0]), np.array([0.1, 0.0]), 3.0)
    with pytest.raises(ValueError, match="size"):
        uniform_price_auction(np.array([1.0]), np.array([0.1]), 0.0)
    with pytest.raises(ConfigError, match="dealer_slope_share_per_bp = 0.0"):
        UsTreasuryConfig(dealer_slope_share_per_bp=0.0)
    with pytest.raises(ConfigError, match="indirect_level_share = -0.1"):
        UsTreasuryConfig(indirect_level_share=-0.1)


# ---------------------------------------------------------------------------------------------
# the tail is measured against the when-issued yield


def test_the_tail_is_zero_when_bids_cover_at_the_when_issued_yield_whatever_the_market_does():
    model = run(1, 100, **EXACT)
    ts = model.timeseries()
    a = auctions(ts)
    assert len(a) == 20
    assert np.abs(a.ust_auction_tail_bp).max() < 1e-9
    assert a.ust_indirect_share.to_numpy() == pytest.approx(0.66, abs=1e-12)
    # ... while the secondary market moves on those days (the old definition would give these)
    day_change = (ts.ust10y_yield.diff() * 1e4)[a.index]
    assert day_change.abs().mean() > 1.0


def test_news_before_the_auction_moves_the_when_issued_and_stop_out_yields_not_the_tail():
    news = ScenarioEvent(day=10, kind="fed_path_news", params={"change_pa": 0.005})
    with_news, without = run(2, 10, [news]), run(2, 10)
    prev_close = without.timeseries().ust10y_yield.iloc[9]
    ut, ut0 = with_news.us_treasury, without.us_treasury
    expected_news = with_news.market.expected_change_10y("fed") - without.market.expected_change_10y("fed")
    assert expected_news > 0.002
    assert ut0.when_issued_yield == pytest.approx(prev_close, abs=1e-15)  # no news: yesterday's close
    assert ut.when_issued_yield == pytest.approx(prev_close + expected_news, abs=1e-15)
    assert ut.stop_out_yield - ut.when_issued_yield == pytest.approx(1e-4 * ut.last_tail_bp, abs=1e-15)
    # the bids relative to the when-issued yield use the same draws; they differ only through the hedged
    # pickup: hawkish news raises the expected 3-month hedge cost more than the 10y, so indirect demand falls
    hedge_cost_change = with_news.market.fed_path.average(0.25) - without.market.fed_path.average(0.25)
    assert hedge_cost_change > expected_news
    assert ut.last_tail_bp > ut0.last_tail_bp
    exact = dict(us_treasury__indirect_pickup_sensitivity_per_pp=0.0)
    a, b = run(2, 10, [news], **exact).us_treasury, run(2, 10, **exact).us_treasury
    assert a.last_tail_bp == b.last_tail_bp
    assert a.stop_out_yield - b.stop_out_yield == pytest.approx(expected_news, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# the allotment in the ledger and in the day's market


def test_allotments_partition_the_offering_and_the_issuer_books_what_it_sold():
    model = CarryUnwindModel(seed=3, **SMALL)
    outstanding = [model.outstanding_ust_units]
    for _ in range(30):
        model.step()
        check_identities(model)  # includes the issuer's own record against its ledger row
        outstanding.append(model.outstanding_ust_units)
    ts = model.timeseries()
    a = auctions(ts)
    total = a[[f"ust_allotted_{c}_usd_bn" for c in BIDDER_CLASSES]].sum(axis=1)
    assert total.to_numpy() == pytest.approx(model.config.us_treasury.auction_size_usd_bn, rel=1e-12)
    assert (a.ust_indirect_share * 20.0).to_numpy() == pytest.approx(
        a.ust_allotted_indirect_usd_bn.to_numpy(), rel=1e-12
    )
    issued = np.diff(outstanding)
    assert np.all(issued[ts.ust_auction.to_numpy()[1:] == 0] == 0)
    assert np.all(issued[ts.ust_auction.to_numpy()[1:] == 1] > 0)
    # a sale the issuer did not record is caught
    model.us_treasury.issued_units += 1.0
    with pytest.raises(AccountingError, match="us_treasury holds ust_units"):
        check_identities(model)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_weaker_auction_leaves_more_supply_to_the_secondary_market_that_day(seed):
    base = run(seed, 5).timeseries()
    weak = run(seed, 5, us_treasury__indirect_level_share=0.4).timeseries()
    assert weak.ust10y_yield.iloc[:5].equals(base.ust10y_yield.iloc[:5])  # the same before the first auction
    assert weak.ust_allotted_dealers_usd_bn.iloc[5] > base.ust_allotted_dealers_usd_bn.iloc[5]
    assert weak.ust10y_yield.iloc[5] > base.ust10y_yield.iloc[5]


def test_a_bigger_offering_than_the_bidders_expect_tails():
    base = auctions(run(1, 50).timeseries())
    bigger = auctions(run(1, 50, us_treasury__auction_size_usd_bn=30.0).timeseries())
    assert (bigger.ust_auction_tail_bp.to_numpy() > base.ust_auction_tail_bp.to_numpy() + 5.0).all()


# ---------------------------------------------------------------------------------------------
# tails and the indirect share move with the bidders' demand (twins on the same seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_less_indirect_demand_widens_tails_and_lowers_the_indirect_share(seed):
    base = auctions(run(seed, 100).timeseries())
    shifted = auctions(run(seed, 100, us_treasury__indirect_level_share=0.66 * 0.8).timeseries())
    tail = shifted.ust_auction_tail_bp.mean() - base.ust_auction_tail_bp.mean()
    share = shifted.ust_indirect_share.mean() - base.ust_indirect_share.mean()
    # 20% of the indirect level is 0.13 of the offering; the other classes take it at ~0.063 per bp
    assert 1.0 < tail < 4.0
    assert -0.13 < share < -0.04
    assert shifted.ust_allotted_dealers_usd_bn.mean() > base.ust_allotted_dealers_usd_bn.mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_less_dealer_appetite_widens_tails_and_cuts_their_allotment(seed):
    base = auctions(run(seed, 100).timeseries())
    shifted = auctions(run(seed, 100, us_treasury__dealer_level_share=0.13 * 0.5).timeseries())
    assert shifted.ust_auction_tail_bp.mean() > base.ust_auction_tail_bp.mean() + 0.3
    assert shifted.ust_allotted_dealers_usd_bn.mean() < base.ust_allotted_dealers_usd_bn.mean()
    assert shifted.ust_indirect_share.mean() > base.ust_indirect_share.mean()  # the others take more, higher up


def _news_then_auction(levels, slopes, draws, sc, sk, size):
    """The rule as the model states it in NumPy: the demand news on the levels, then the auction."""
    from model import detmath

    levels = levels * detmath.exp(sc * draws[0] + sk * draws[1:] - 0.5 * (sc * sc + sk * sk))
    return uniform_price_auction(levels, slopes, size)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_the_compiled_auction_is_the_numpy_rule_bit_for_bit(n):
    """The model's auction day (one compiled call) against bid_schedules' news and uniform_price_auction,
    on schedules where every class bids, where some start only above the when-issued yield, and with
    ties: the same stop-out and allotments to the last bit, compiled and as plain Python."""
    rng = np.random.default_rng(n)
    for trial in range(3000):
        levels = rng.normal(8.0, 8.0, n)
        slopes = rng.uniform(0.01, 2.0, n)
        if trial % 5 == 0 and n > 1:  # two classes starting at the same yield
            levels[1], slopes[1] = levels[0], slopes[0]
        draws = rng.standard_normal(n + 1)
        sc, sk, size = rng.uniform(0.0, 0.3), rng.uniform(0.0, 0.3), rng.uniform(1.0, 60.0)
        want = _news_then_auction(levels, slopes, draws, sc, sk, size)
        for fn in (auction_with_news, auction_with_news.py_func):
            got = np.full(n, np.nan)
            x = fn(levels, slopes, draws, sc, sk, size, got)
            # the bits, so that -0.0 and +0.0 count as different
            assert np.float64(x).view(np.uint64) == np.float64(want.stop_out_bp).view(np.uint64)
            assert np.array_equal(got.view(np.uint64), want.allotments.view(np.uint64))


SLOPES_REFUSED = r"^slopes = .* are not allowed; expected finite positive numbers \(and finite levels\)$"


@pytest.mark.parametrize(
    "levels, slopes, size, message",
    [([1.0, 2.0, 3.0], [0.1, 0.0, 0.2], 5.0, SLOPES_REFUSED),
     ([1.0, np.nan, 3.0], [0.1, 0.1, 0.2], 5.0, SLOPES_REFUSED),
     ([1.0, 2.0, 3.0], [0.1, np.inf, 0.2], 5.0, SLOPES_REFUSED),
     ([1.0, 2.0, 3.0], [0.1, 0.1, 0.2], 0.0, r"^size = 0\.0 is not allowed; expected a finite number > 0$")],
)  # fmt: skip
def test_the_compiled_auction_refuses_what_the_numpy_one_refuses(levels, slopes, size, message):
    levels, slopes, draws = np.array(levels), np.array(slopes), np.zeros(4)
    with pytest.raises(ValueError, match=message):
        uniform_price_auction(levels, slopes, size)
    assert np.isnan(auction_with_news(levels, slopes, draws, 0.05, 0.05, size, np.empty(3)))


@pytest.mark.parametrize(
    "levels, slopes, shapes",
    [
        ([1.0, 2.0, 3.0], [0.1, 0.2], r"\(3,\) and \(2,\)"),  # one class without a slope
        ([1.0, 2.0], [0.1, 0.2, 0.3], r"\(2,\) and \(3,\)"),
        ([], [], r"\(0,\) and \(0,\)"),  # no bidders: nothing covers the offering
        ([[1.0, 2.0]], [[0.1, 0.2]], r"\(1, 2\) and \(1, 2\)"),  # equal shapes, but not one row of classes
        (1.0, 0.1, r"\(\) and \(\)"),  # scalars
    ],
    ids=["more-levels", "more-slopes", "empty", "two-dimensional", "scalars"],
)
def test_the_auction_refuses_levels_and_slopes_that_are_not_one_equal_row(levels, slopes, shapes):
    """``uniform_price_auction`` needs one level and one slope per bidder class, as two 1-d arrays of the
    same length n ≥ 1: mismatched lengths, no classes at all, 2-d arrays (even of equal shapes) and scalars
    are refused with a message naming both shapes, before any arithmetic."""
    with pytest.raises(ValueError, match=rf"^levels and slopes have shapes {shapes}; expected equal \(n,\), n ≥ 1$"):
        uniform_price_auction(np.array(levels), np.array(slopes), 10.0)


def test_an_auction_the_rule_refuses_stops_the_day_with_its_message():
    model = CarryUnwindModel(seed=1, **SMALL)
    ut = model.us_treasury
    schedules = ut._schedules_before_news

    def dealers_bid_nothing(model, when_issued):
        levels, slopes = schedules(model, when_issued)
        slopes[2] = 0.0
        return levels, slopes

    ut._schedules_before_news = dealers_bid_nothing
    with pytest.raises(ValueError, match="slopes .* are not allowed"):
        model.run_for(5)  # an auction on day 5


def test_dealers_bid_less_when_the_risk_index_is_high():
    model = CarryUnwindModel(seed=1, **SMALL)
    ut, mk = model.us_treasury, model.market
    draws = np.zeros(4)
    mk.risk_index = model.config.market.risk_index_mean
    calm = ut.bid_schedules(model, mk.ust10y_yield, draws)
    mk.risk_index = 2.0 * model.config.market.risk_index_mean
    stressed = ut.bid_schedules(model, mk.ust10y_yield, draws)
    assert stressed[0][2] == pytest.approx(calm[0][2] / 2.0, rel=1e-12)  # (v̄/v)^η with η = 1
    assert stressed[1][2] == pytest.approx(calm[1][2] / 2.0, rel=1e-12)
    assert stressed[0][:2] == pytest.approx(calm[0][:2], rel=1e-12)  # end investors' bids do not depend on v
    tail = [uniform_price_auction(*s, 20.0).stop_out_bp for s in (calm, stressed)]
    assert tail[1] > tail[0]


def test_indirect_demand_falls_with_the_hedged_pickup_and_with_repatriation():
    model = CarryUnwindModel(seed=1, **SMALL)
    model.step()  # day 1 reads the opening foreign share
    ut, mk = model.us_treasury, model.market
    draws = np.zeros(4)
    y = mk.ust10y_yield
    at = ut.bid_schedules(model, y, draws)[0][0]
    lower_pickup = ut.bid_schedules(model, y - 0.01, draws)[0][0]  # 100 bp less hedged pickup
    cfg = model.config.us_treasury
    k, dp = cfg.indirect_pickup_sensitivity_per_pp, 100 * (ut.hedged_pickup(model, y) - ut.pickup0)  # pp
    assert lower_pickup == pytest.approx(at * (1 + k * (dp - 1)) / (1 + k * dp), rel=1e-12)
    assert lower_pickup < at
    share0 = ut.japan_share0
    model.latest["lifer_foreign_share"] = 0.5 * share0  # insurers halve their foreign share
    repatriated = ut.bid_schedules(model, y, draws)[0][0]
    model.latest["lifer_foreign_share"] = share0
    same = ut.bid_schedules(model, y, draws)[0][0]
    assert repatriated == pytest.approx(same * (1 - 0.5 * cfg.indirect_japan_weight), rel=1e-12)
