"""The cleared super-long (30y) JGB segment: habitat investors, dealers, curve arbitrageurs, supply.

Known answers on hand-written clearing inputs (linear habitat demand and dealers give a closed-form
30y yield; with the arbitrageurs the two JGB yields solve an independently written 2×2 system), the
Jacobian against central differences, the reduction without arbitrageurs, the accounting identity,
and twins on common random numbers: a supplementary budget steepens the curve, a 30y supply shock
reaches the 10y only through the arbitrageurs, and the insurers' trigger acts on the cleared 30y.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from model.accounting import AccountingError, check_identities
from model.clearing import ClearingError
from model.compose import Bounds
from model.model import CarryUnwindModel
from model.scenarios import ScenarioEvent, load_scenario
from model.sector import JGB, JGB30, N_MARKETS, PRICES
from tests.model.test_clearing import (
    CLEARING,
    bond_excess_levels,
    book_of,
    dealer_capacity_share,
    evaluate,
    hand_inputs,
    no_funds,
    prev_of,
    sector_inputs,
    solve,
)

SEEDS = (1, 2, 3)
SMALL = {"hedge_funds__n_funds": 40, "nisa__n_households": 1000}


def run(seed: int, days: int, events=(), **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(seed=seed, **{**SMALL, **overrides})
    for e in events:
        model.schedule(e.day, model.apply_event, e)
    for _ in range(days):
        model.step()
    return model


def test_the_30y_is_the_fifth_cleared_price():
    assert N_MARKETS == 5 and JGB30 == 4 and PRICES[JGB30] == "jgb30y_yield"


# ---------------------------------------------------------------------------------------------
# known answers on hand-written inputs


def habitat_dealer_closed_form(inp) -> float:
    """The 30y with the arbitrageurs off: habitat ``h·(Δy − Δβ) + x`` plus dealers ``−φ·I + c·k·Δy`` plus
    orders ``e − q`` is zero at ``Δy = (q − e − x + φ·I + h·Δβ)/(h + c·k)`` (both linear in the yield)."""
    k = dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)
    num = (
        inp.jgb30_new_supply_units
        - inp.exogenous_jgb30_units
        - inp.habitat_extra_units
        + inp.dealer_decay * inp.dealer_jgb30_inventory
        + inp.habitat_slope_units * inp.habitat_anchor_change
    )
    return inp.yjp30_prev + num / (inp.habitat_slope_units + inp.dealer_jgb30_capacity_units * k)


@pytest.mark.parametrize("supply", [0.0, 40.0, 150.0, -60.0])
def test_linear_habitat_demand_and_dealers_clear_the_30y_at_the_closed_form(supply):
    inp = hand_inputs(jgb30_new_supply_units=supply, habitat_anchor_change=0.0007, habitat_extra_units=5.0,
                      dealer_jgb30_inventory=-12.0, exogenous_jgb30_units=3.0)  # fmt: skip
    res = solve(inp, no_funds())
    want = habitat_dealer_closed_form(inp)
    assert res.jgb30y_yield == pytest.approx(want, abs=1e-13)
    assert res.residual_jgb30 <= 1e-13 and res.gross_jgb30_units > 0.0
    # segmented: the 10y stays where its own quiet market leaves it
    assert res.jgb10y_yield == pytest.approx(inp.yjp_prev, abs=1e-14)
    if supply == 150.0:
        assert want - inp.yjp30_prev > 1e-3  # the known answer is not the previous close


def two_segment_excess(inp, y10: float, y30: float) -> tuple[float, float]:
    """The two JGB markets' excess demand written from the docstrings (arbitrageurs on, dealers' capacity a
    constant): the 10y by levels (test_clearing's helper) plus the arbitrageurs' hedge ``−r·x30 − x10_old``;
    the 30y habitat + dealers + orders plus ``x30 − x30_old`` with ``x30 = a·(y30 − y10 − s̄)``."""
    k = dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)
    x30 = inp.arb_slope_units * (y30 - y10 - inp.arb_expected_spread)
    z10 = bond_excess_levels(
        y10, inp.yjp_prev, inp.dealer_jgb_inventory, inp.dealer_jgb_capacity_units * k, inp.dealer_decay,
        inp.jgb_investor_anchor_change, inp.jgb_investor_elasticity, inp.jgb_investor_extra_change, inp.jgb_duration,
        inp.jgb_investor_units, inp.exogenous_jgb_units, inp.jgb_new_supply_units,
    ) + (-inp.arb_hedge_ratio * x30 - inp.arb_jgb_units)  # fmt: skip
    z30 = (
        inp.habitat_slope_units * (y30 - inp.yjp30_prev - inp.habitat_anchor_change)
        + inp.habitat_extra_units
        - inp.dealer_decay * inp.dealer_jgb30_inventory
        + inp.dealer_jgb30_capacity_units * k * (y30 - inp.yjp30_prev)
        + inp.exogenous_jgb30_units
        - inp.jgb30_new_supply_units
        + x30
        - inp.arb_jgb30_units
    )
    return z10, z30


@pytest.mark.filterwarnings("ignore:The iteration is not making good progress")  # the residual is checked below
@pytest.mark.parametrize("tolerance", [0.02, 0.1, 1.0])
def test_with_arbitrageurs_both_jgb_yields_solve_the_independent_two_market_system(tolerance):
    p30 = math.exp(-22.0 * 0.018)
    inp = hand_inputs(jgb30_new_supply_units=120.0, arb_slope_units=tolerance * 1e4 / p30, arb_jgb30_units=4.0,
                      arb_jgb_units=-9.0, jgb_new_supply_units=10.0)  # fmt: skip
    res = solve(inp, no_funds())
    # scaled to units per bp so the root finder's tolerance is meaningful
    y10, y30 = 1e-4 * fsolve(lambda b: two_segment_excess(inp, *(1e-4 * b)), [1e4 * inp.yjp_prev, 1e4 * inp.yjp30_prev],
                             xtol=1e-13)  # fmt: skip
    assert max(abs(v) for v in two_segment_excess(inp, y10, y30)) < 1e-8
    assert res.jgb10y_yield == pytest.approx(y10, abs=1e-12)
    assert res.jgb30y_yield == pytest.approx(y30, abs=1e-12)


def test_a_30y_supply_shock_reaches_the_10y_only_through_the_arbitrageurs():
    """Reduction: without arbitrageurs the 10y does not move when the 30y's supply does; with them it rises
    by a fraction of the 30y's rise, and the 30y rises less than alone (the arbitrageurs absorb part)."""
    p30 = math.exp(-22.0 * 0.018)
    moves = {}
    for tol in (0.0, 0.1):
        base = hand_inputs(arb_slope_units=tol * 1e4 / p30)
        quiet, shocked = solve(base, no_funds()), solve(base._replace(jgb30_new_supply_units=150.0), no_funds())
        moves[tol] = (shocked.jgb10y_yield - quiet.jgb10y_yield, shocked.jgb30y_yield - quiet.jgb30y_yield)
    (d10_off, d30_off), (d10_on, d30_on) = moves[0.0], moves[0.1]
    assert d10_off == 0.0 and d30_off > 1e-3
    assert 0.0 < d10_on < 0.5 * d30_on
    assert d30_on < d30_off
    # the Jacobian: off-diagonal JGB/JGB30 terms with the arbitrageurs, none without
    for tol, coupled in ((0.0, False), (0.1, True)):
        inp = hand_inputs(arb_slope_units=tol * 1e4 / p30)
        _, jac, _ = evaluate(inp, no_funds(), np.array(prev_of(inp)))
        assert bool(jac[JGB, JGB30] != 0.0) is coupled and bool(jac[JGB30, JGB] != 0.0) is coupled
        assert jac[JGB30, JGB30] > 0.0 and jac[JGB, JGB] > 0.0


def test_the_segments_jacobian_matches_central_differences():
    """Dealers under the capital constraint holding both JGBs (their capacity moves with the 30y through their
    equity), habitat investors and arbitrageurs with positions: the analytic 5×5 Jacobian against central
    differences at points away from yesterday's close."""
    p30 = math.exp(-22.0 * 0.018)
    inp = hand_inputs(dealer_capital_constraint=True, dealer_jgb30_inventory=30.0, dealer_jgb_inventory=-20.0,
                      arb_slope_units=0.1 * 1e4 / p30, arb_jgb30_units=5.0, arb_jgb_units=-11.0,
                      habitat_anchor_change=0.0004, risk_vol_sensitivity=0.04)  # fmt: skip
    steps = np.array([1e-7, 1e-7, 1e-7, 1e-7, 1e-7])
    rng = np.random.default_rng(7)
    p0 = np.array(prev_of(inp))
    for _ in range(4):
        p = p0 + rng.normal(0.0, [0.01, 0.001, 0.001, 0.001, 0.002])
        _, jac, _ = evaluate(inp, no_funds(), p)
        fd = np.column_stack([
            (evaluate(inp, no_funds(), p + np.eye(N_MARKETS)[j] * steps[j])[0]
             - evaluate(inp, no_funds(), p - np.eye(N_MARKETS)[j] * steps[j])[0]) / (2.0 * steps[j])
            for j in range(N_MARKETS)
        ])  # fmt: skip
        scale = np.abs(jac).max(axis=1, keepdims=True)
        assert np.all(np.abs(fd - jac) <= 1e-5 * np.maximum(np.abs(jac), 1e-6 * scale)), f"\n{jac}\n{fd}"
        # the dealers' capacity in every market moves with the 30y's price through their equity
        assert jac[JGB30, 0] != 0.0 and jac[JGB, JGB30] != 0.0


def test_an_absurd_30y_is_a_clearing_failure_naming_the_30y():
    inp = hand_inputs(jgb30_new_supply_units=3e4)  # ~¥20 tn dumped on a ¥0.2 tn-per-bp market in a day
    bounds = Bounds(max_fx_log_move=0.15, min_yield=-0.05, max_yield=0.05, min_basis=-0.05, max_basis=0.05)
    with pytest.raises(ClearingError, match=r"implausible prices on day 3: JGB30y=.* outside \[-0.05, 0.05\]"):
        CLEARING.clear(sector_inputs(inp, book_of(no_funds())), prev_of(inp), day=3, tol=1e-12, bounds=bounds)


# ---------------------------------------------------------------------------------------------
# the model: inputs, accounts, events


def test_day_zero_30y_is_the_10y_plus_the_configured_spread_and_scenarios_override_it():
    for name in ("baseline", "boj_hike_2024", "fiscal_dominance_2025"):
        cfg = load_scenario(name).config
        model = CarryUnwindModel(seed=1, scenario=name, hedge_funds__n_funds=10, nisa__n_households=100)
        assert model.market.jgb30y_yield == pytest.approx(cfg.market.jgb10y_yield + cfg.macro.jgb30_spread_pa)
        assert model.latest["jgb30y_yield"] == model.market.jgb30y_yield
    assert load_scenario("fiscal_dominance_2025").config.macro.jgb30_spread_pa == 0.015


def test_fiscal_news_and_superlong_shocks_shift_the_habitat_investors_required_yield():
    """Known answers on the habitat investors' inputs: a budget raises their required 30y yield by
    (φ_10 + φ_30)·ΔF; a ``superlong_shock`` by its ``spread_pa``; nothing else changes between the calls."""
    model = run(1, 3)
    bi, cfg = model.bond_investors, model.config.macro
    before = bi.clearing_inputs(model).jgb30_anchor_change
    risk0 = model.macro.fiscal_risk
    model.macro.add_fiscal_news(20.0)
    after = bi.clearing_inputs(model).jgb30_anchor_change
    d_risk = model.macro.fiscal_risk - risk0
    assert d_risk > 0
    assert after - before == pytest.approx((cfg.fiscal_jgb_premium_pa + cfg.fiscal_superlong_premium_pa) * d_risk,
                                           rel=1e-9)  # fmt: skip
    model.apply_event(ScenarioEvent(day=4, kind="superlong_shock", params={"spread_pa": 0.004}))
    assert bi.clearing_inputs(model).jgb30_anchor_change - after == pytest.approx(0.004, rel=1e-9)


def test_30y_holdings_equal_the_amount_outstanding_every_day_and_a_holding_moved_without_a_trade_is_caught():
    events = [ScenarioEvent(day=5, kind="supplementary_budget", params={"jpy_tn": 20.0}),
              ScenarioEvent(day=8, kind="superlong_shock", params={"spread_pa": 0.005})]  # fmt: skip
    model = CarryUnwindModel(seed=4, **SMALL)
    for e in events:
        model.schedule(e.day, model.apply_event, e)
    for _ in range(25):
        model.step()
        check_identities(model)
        held = (model.dealers.jgb30_inventory_units + model.bond_investors.jgb30_units
                + model.life_insurers.jgb_units.sum() + model.boj.jgb30_units
                + model.curve_arbitrageurs.jgb30_units)  # fmt: skip
        assert held == pytest.approx(model.outstanding_jgb30_units, rel=1e-12)
    assert model.curve_arbitrageurs.jgb30_units != 0.0 and model.boj.jgb30_units > 0.0
    # a check that could fail: habitat investors' 30y moved without a trade
    model.bond_investors.jgb30_units += 1.0
    with pytest.raises(AccountingError, match="superlong_investors holds jgb30_units"):
        check_identities(model)


# ---------------------------------------------------------------------------------------------
# twins on common random numbers


@pytest.fixture(scope="module")
def budget_twins():
    budget = ScenarioEvent(day=20, kind="supplementary_budget", params={"jpy_tn": 20.0})
    out = []
    for seed in SEEDS:
        on, off = run(seed, 40, [budget]).timeseries(), run(seed, 40).timeseries()
        out.append((on, off))
    return out


def test_a_supplementary_budget_steepens_the_curve_against_a_twin(budget_twins):
    """A ¥20 tn budget (super-long supply, the habitat investors' fiscal premium): over the 20 days after it
    the 30y rises more than the 10y against the twin without it (bear steepening, as in Nov 2025), in every
    seed; the paths agree before the budget."""
    steepening = []
    for on, off in budget_twins:
        assert on.jgb30y_yield.iloc[:20].equals(off.jgb30y_yield.iloc[:20])
        d10 = 1e4 * (on.jgb10y_yield - off.jgb10y_yield).iloc[21:].mean()
        d30 = 1e4 * (on.jgb30y_yield - off.jgb30y_yield).iloc[21:].mean()
        assert d10 > 0.0 and d30 > d10
        steepening.append(d30 - d10)
    assert min(steepening) > 1.0, steepening  # bp of 30y-10y spread, averaged over the 20 days


def test_the_curve_arbitrageurs_carry_a_30y_shock_to_the_10y_in_a_run():
    """A 30y shock (habitat investors require 50 bp more): with the arbitrageurs the 10y rises against its
    twin; without them, with the dealers' capacity held constant (no capital or volatility channel between the
    markets), it stays within the clearing's resolution."""
    shock = [ScenarioEvent(day=10, kind="superlong_shock", params={"spread_pa": 0.005})]
    constant = {"dealers__capital_constraint": False, "dealers__capacity_risk_elasticity": 0.0}
    for tol, linked in ((0.1, True), (0.0, False)):
        kw = {**constant, "curve_arbitrage__risk_tolerance_jpy_tn_per_bp": tol}
        on, off = run(2, 20, shock, **kw).timeseries(), run(2, 20, **kw).timeseries()
        d10 = 1e4 * (on.jgb10y_yield - off.jgb10y_yield).iloc[10:]
        d30 = 1e4 * (on.jgb30y_yield - off.jgb30y_yield).iloc[10:]
        assert d30.min() > 5.0
        if linked:
            assert d10.min() > 0.1 and d10.max() < d30.min()
        else:
            assert d10.abs().max() < 1e-6


def test_the_insurers_trigger_acts_on_the_cleared_30y():
    """Insurers read the cleared 30y (not a 10y plus a spread); with the trigger just above the day-0 30y and a
    super-long shock that lifts the cleared yield through it, a twin without the acceleration is identical
    until the first close above the trigger, after which the accelerating insurers buy more super-longs."""
    shock = [ScenarioEvent(day=5, kind="superlong_shock", params={"spread_pa": 0.01})]
    kw = {"life_insurers__jgb_trigger_pa": 0.0175}
    fast = run(3, 25, shock, **kw)
    slow = run(3, 25, shock, life_insurers__jgb_acceleration=0.0, **kw)
    ins = fast.life_insurers
    y30 = fast.market.jgb30y_yield
    cfg = fast.config.life_insurers
    u = fast.sectors["life_insurers"].utilities(fast)
    assert u[0] == pytest.approx(y30 + cfg.jgb_acceleration * max(0.0, y30 - cfg.jgb_trigger_pa), rel=1e-12)
    a, b = fast.timeseries(), slow.timeseries()
    above = np.flatnonzero(a.jgb30y_yield.to_numpy() > cfg.jgb_trigger_pa)
    assert above.size and a.jgb30y_yield.iloc[0] < cfg.jgb_trigger_pa
    first = int(above[0])
    # identical up to the first day that decides on a close above the trigger
    assert a.iloc[: first + 1].drop(columns="date").equals(b.iloc[: first + 1].drop(columns="date"))
    assert not a.lifer_foreign_share.iloc[first + 1 :].equals(b.lifer_foreign_share.iloc[first + 1 :])
    assert ins.jgb_units.sum() > slow.life_insurers.jgb_units.sum()
    assert a.lifer_foreign_share.iloc[-1] < b.lifer_foreign_share.iloc[-1]


def test_the_brentq_root_of_the_habitat_closed_form_agrees():
    """The closed form against a root finder on the same two lines (guards the closed form itself)."""
    inp = hand_inputs(jgb30_new_supply_units=80.0, habitat_anchor_change=-0.0003)
    k = dealer_capacity_share(inp, inp.s_prev, inp.yus_prev, inp.yjp_prev)
    root = brentq(lambda y: two_segment_excess(inp, inp.yjp_prev, y)[1], 0.0, 0.05, xtol=1e-16)
    assert root == pytest.approx(habitat_dealer_closed_form(inp), abs=1e-13)
    assert k > 0.0


def test_the_arbitrageurs_expect_the_policy_part_of_the_spread_the_habitat_investors_price():
    """After BoJ news the arbitrageurs' expected 30y-10y spread moves by what the habitat investors' two
    anchors move by (the BoJ rate expected over 30 years less over 10, each yield's own average); the
    forward spread (years 10-30 less 0-10) would move 1.5 times as far."""
    model = run(2, 3)
    arb = model.sectors["curve_arbitrageurs"]
    model.apply_event(ScenarioEvent(day=3, kind="boj_rate", params={"rate": 0.01}))
    model.apply_event(ScenarioEvent(day=3, kind="boj_path_news", params={"change_pa": 0.002}))
    mk = model.market
    habitat = mk.expected_change_30y_boj() - mk.expected_change_10y("boj")
    moved = arb.expected_spread(model) - arb.spread_0
    assert abs(habitat) > 1e-4  # the news moved the curve's policy part by more than a basis point
    assert moved == pytest.approx(habitat, rel=1e-9, abs=1e-15)
