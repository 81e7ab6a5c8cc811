"""The FX forward market and the carry trade through forwards.

Known answers (the basis enters the insurers' hedge cost and the funds' carry one for one; the
dealers' book prices the basis), identities (forwards in zero net supply on every day of every
built-in scenario; customers' forwards reach spot only through the dealers), reductions (no
duration leg: no Treasuries, no repo) and effects against twins on common random numbers (the
Fed channel before any cut; an unwind of the funds' forwards widens the basis).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.life_insurers import yen_returns
from experiments.analysis.carry_channels import CROWDED, basis_in_unwind, crowding, fed_channel, ust_share_of_unwind
from model.accounting import check_identities
from model.registry import DEFAULT_SECTORS
from model.scenarios import list_scenarios, load_scenario
from model.sector import FWD, FX, TRADING_DAYS, Day
from tests.support import forwards_held, make_model

SEEDS = (1, 2, 3, 4, 5)


# -- known answers ------------------------------------------------------------------------------


def test_a_more_negative_basis_raises_hedge_cost_and_forward_carry_by_the_same_amount():
    model = make_model(1, "boj_hike_2024")
    funds, insurers = model.sectors["hedge_funds"], model.sectors["life_insurers"]
    carry0 = funds.observation(model)["carry_pa"]
    hedged0 = insurers.utilities(model)[1]
    model.market.fx_basis -= 0.0025  # 25 bp more negative: dollars dearer through swaps
    assert funds.observation(model)["carry_pa"] - carry0 == pytest.approx(0.0025, abs=1e-15)
    assert hedged0 - insurers.utilities(model)[1] == pytest.approx(0.0025, abs=1e-15)


def test_the_hedge_cost_is_the_expected_differential_less_the_basis():
    cfg = make_model(1).config.life_insurers
    u = yen_returns(cfg, y30=0.02, y_us=0.045, r_us=0.05, r_jp=0.0025, basis=-0.004, misvaluation=0.0, fx_var_pa=0.01)
    assert u[1] == pytest.approx(0.045 - (0.05 - 0.0025 + 0.004), abs=1e-15)


def test_a_day_of_forward_carry_and_margin_are_the_stated_formulas():
    model = make_model(1)
    model.step()
    day = Day(model.last_clearing, model.market, model.clearing.work.flows, {}, model.clearing.work.aux)
    mk = model.market
    assert day.forward_carry() == (mk.us_short_rate - mk.boj_rate - day.fx_basis) / TRADING_DAYS
    assert day.forward_revaluation() == 1.0 - mk.usdjpy / day.usdjpy


def test_with_no_forward_trades_the_basis_is_the_dealers_price_of_their_book():
    """Nobody but the dealers trades forwards: the basis is ``−κ·N/(ℓ·E_d)`` at their book and their
    capital marked at the day's prices (their books at yesterday's close revalued at the close)."""
    sectors = tuple(c for c in DEFAULT_SECTORS if c.name not in ("cta", "retail_fx"))
    model = make_model(3, hedge_funds__n_funds=1, hedge_funds__capital_usd_bn=0.0, life_insurers__enabled=False,
                       sectors=sectors)  # fmt: skip
    cfg = model.config.dealers
    d = model.dealers
    moved = 0
    for _ in range(10):
        mk = model.market
        book, equity, jpy = d.fwd_usd_bn, d.equity_book_usd_bn, d.jpy_tn
        ust, jgb, jgb30 = d.ust_inventory_units, d.jgb_inventory_units, d.jgb30_inventory_units
        s_prev, p_us_prev, p_jp_prev, p_30_prev = mk.usdjpy, mk.ust_price, mk.jgb_price, mk.jgb30_price
        model.step()
        s, p_us, p_jp, p_30 = model.prices()
        marked = (equity + jpy * (1000.0 / s - 1000.0 / s_prev) + book * (1.0 - s_prev / s) + ust * (p_us - p_us_prev)
                  + jgb * (1000.0 * p_jp / s - 1000.0 * p_jp_prev / s_prev)
                  + jgb30 * (1000.0 * p_30 / s - 1000.0 * p_30_prev / s_prev))  # fmt: skip
        expected = -cfg.basis_slope_pa * book / (cfg.swap_leverage_limit * marked)
        assert model.market.fx_basis == pytest.approx(expected, rel=1e-9)
        assert d.fwd_usd_bn == pytest.approx(book, rel=1e-12)
        moved += abs(marked - equity) > 1e-4 * equity  # the day's prices do reach the dealers' capital
    assert moved >= 5


def test_the_day0_basis_is_the_configured_one_and_clears():
    model = make_model(1, "boj_hike_2024", market__fx_basis_pa=-0.006)
    d = model.dealers
    cfg = model.config.dealers
    assert -cfg.basis_slope_pa * d.fwd_usd_bn / (cfg.swap_leverage_limit * d.equity_book_usd_bn) == pytest.approx(
        -0.006, rel=1e-12
    )
    check_identities(model)


# -- identities ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(list_scenarios()))
def test_forwards_are_in_zero_net_supply_every_day_of_every_scenario(scenario):
    days = load_scenario(scenario).config.simulation.days
    model = make_model(1, scenario)
    for _ in range(min(days, 300)):
        model.step()
        check_identities(model)  # includes the ledger's forward column and the settlement account
        held = forwards_held(model)
        assert abs(sum(held)) <= 1e-12 * sum(abs(h) for h in held), f"day {model.day}: {held}"


def test_customers_forwards_reach_spot_only_through_the_dealers():
    """No customer books a forward a second time in spot: the funds trade no spot at all, and the
    insurers' spot order is the dollars for the bonds they buy, whatever their hedge does."""
    model = make_model(2, "risk_off")
    index = {s.name: i for i, s in enumerate(model.priced)}
    ins = model.life_insurers
    moved = hedged = 0.0
    for _ in range(80):
        price = model.market.ust_price
        model.step()
        flows = model.clearing.work.flows
        assert flows[index["hedge_funds"], FX] == 0.0
        moved += abs(flows[index["hedge_funds"], FWD])
        assert ins.order_usd_bn == pytest.approx(ins.order_ust_units * price, rel=1e-12, abs=1e-12)
        hedged += abs(ins.order_fwd_usd_bn.sum())
    assert moved > 1.0 and hedged > 0.1  # both did trade forwards


# -- reductions -----------------------------------------------------------------------------------


def test_without_a_duration_leg_funds_hold_no_treasuries_and_borrow_no_repo():
    model = make_model(4, "risk_off", hedge_funds__duration_leg_share=0.0)
    model.run_for(120)
    ts = model.timeseries()
    assert (ts.hf_ust_usd_bn == 0.0).all()
    assert (ts.repo_usd_bn == 0.0).all()
    assert not model.hedge_funds.duration_leg.any()


def test_treasury_selling_in_an_unwind_is_an_outcome_of_the_duration_leg():
    none = [ust_share_of_unwind(s, 0.0) for s in SEEDS[:3]]
    some = [ust_share_of_unwind(s, 0.5) for s in SEEDS[:3]]
    assert all(r["ust_sold_usd_bn"] == 0.0 and r["carry_cut_usd_bn"] > 0 for r in none)
    assert all(r["duration_leg_usd_bn"] > 0 for r in some)


def test_the_unwinds_treasury_share_is_of_the_shocks_own_sales_and_cut():
    """The share is of the differences against the run without the shock (the fully positioned book cuts
    and trades by itself), recomputed here from the two runs' books."""
    import dataclasses

    from model.model import CarryUnwindModel

    r = ust_share_of_unwind(SEEDS[0], 0.5)
    spec = load_scenario("risk_off")
    got = []
    for events in (spec.events, ()):
        m = CarryUnwindModel(scenario=dataclasses.replace(spec, events=events), seed=SEEDS[0], collect=False,
                             hedge_funds__duration_leg_share=0.5)  # fmt: skip
        m.run_days(59)
        net0, units0 = m.latest["hf_net_usd_bn"], float(m.hedge_funds.ust_units.sum())
        m.run_days(21)
        units1 = float(m.hedge_funds.ust_units.sum())
        got.append((net0 - m.latest["hf_net_usd_bn"], units0 - units1, m.market.ust_price))
    (cut, sold, price), (cut0, sold0, _) = got
    assert r["failed"] == 0.0 and r["carry_cut_usd_bn_unpaired"] == cut
    assert r["carry_cut_usd_bn"] == cut - cut0 and r["ust_sold_usd_bn"] == (sold - sold0) * price
    assert cut0 != 0.0  # the book moves without the shock: the unpaired share would mix it in


# -- effects against twins -------------------------------------------------------------------------


def test_the_crowded_preset_is_crowded():
    base = dataclasses.replace(load_scenario("boj_hike_2024"), events=())
    for seed in SEEDS[:3]:
        c = crowding(make_model(seed, base, **{**CROWDED, "hedge_funds__n_funds": 200}))
        assert c["carry_stock_usd_bn"] >= 250.0
        assert c["equity_share_near_maintenance"] >= 0.5


@pytest.mark.parametrize("share", [0.0, None])
def test_priced_fed_cuts_hit_a_crowded_carry_book_before_any_cut(share):
    """−1% on the expected Fed path (no rate decision): equity, carry stock and USD/JPY fall, on the
    day and the day after, against the twin without the news. (Whether the gap widens the day after or
    the book partly rebuilds as USD/JPY falls towards value depends on the calibration: it widened
    before the joint recalibration of 2026-12-03 and narrows after it. Later the unwind of this crowded
    book can run away to a day beyond the plausibility bound in some seeds. Neither is asserted.)"""
    for seed in SEEDS:
        r = fed_channel(seed, duration_leg_share=share, after=1)
        assert r["ust2y_bp_day"] <= -70.0
        for when in ("day", "later"):
            assert r[f"equity_usd_bn_{when}"] < 0.0
            assert r[f"carry_stock_usd_bn_{when}"] < 0.0
            assert r[f"usdjpy_pct_{when}"] < 0.0


def test_an_unwind_of_the_funds_forwards_widens_the_basis_all_else_fixed():
    for seed in SEEDS:
        r = basis_in_unwind(seed)
        assert r["forwards_usd_bn"] < -50.0
        assert r["basis_bp"] < -1.0
        assert r["usdjpy_pct"] < 0.0


def test_twin_runs_without_the_news_are_identical():
    """The twins share their draws: without the news the two arms are the same run."""
    r = fed_channel(1, change_pa=0.0)
    assert np.isnan(r.pop("failed_day")) and r.pop("failed") == 0.0  # neither arm failed
    assert all(v == 0.0 for v in r.values())
