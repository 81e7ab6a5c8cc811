"""Fiscal dominance from mechanisms: the fiscal reaction function's expected inflation (model.macro), the
BoJ's fiscal constraint on the path markets price (agents.boj), households' outflows (agents.nisa), and
the root search that sizes H2's shocks (experiments.analysis.hypotheses).

Known answers and reductions on the pieces, signs of partial effects against a twin that differs in one
parameter (common random numbers), and bad input. No test here asserts which way a budget moves the yen
at default parameters, nor H2's verdict: that is what the experiment finds, and a recalibration may
change it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.boj import BojConfig, fiscal_path_shift
from agents.nisa import NisaConfig, fiscal_outflow_jpy_tn_per_day
from experiments.analysis.hypotheses import bracket_up, solve_monotone
from model.macro import MacroConfig, MacroState, fiscal_inflation_news
from model.model import CarryUnwindModel
from model.scenarios import ScenarioEvent
from model.validation import ConfigError

SMALL = dict(hedge_funds__n_funds=50, nisa__n_households=2000, boj__mode="scripted")
BUDGET_DAY = 20
COLUMNS = ("usdjpy", "jgb10y_yield", "jgb2y_yield", "jp_inflation_expectations", "nisa_flow_jpy_tn", "fiscal_risk")


def run(seed: int, days: int, budget_jpy_tn: float | None = 30.0, **overrides):
    model = CarryUnwindModel(seed=seed, **{**SMALL, **overrides})
    if budget_jpy_tn is not None:
        e = ScenarioEvent(day=BUDGET_DAY, kind="supplementary_budget", params={"jpy_tn": budget_jpy_tn})
        model.schedule(e.day, model.apply_event, e)
    model.run_for(days)
    return {c: np.asarray(model.history[c], dtype=float) for c in COLUMNS}


# -- known answers on the pieces ------------------------------------------------------------------
def test_fiscal_inflation_is_the_unbacked_share_of_the_budget_spread_over_the_debts_maturity():
    """π^f = s·B/(D·M): linear in the budget and the unbacked share, 0 in the Ricardian regime (s = 0)."""
    one = fiscal_inflation_news(10.0, unbacked_share=1.0, debt_jpy_tn=1000.0, horizon_years=10.0)
    assert one == pytest.approx(0.001, rel=1e-12)  # ¥10 tn of ¥1,000 tn over 10 years: 10 bp a year
    assert fiscal_inflation_news(20.0, unbacked_share=0.5, debt_jpy_tn=1000.0, horizon_years=10.0) == pytest.approx(one)
    assert fiscal_inflation_news(10.0, unbacked_share=0.0, debt_jpy_tn=1000.0, horizon_years=10.0) == 0.0


def test_budget_news_moves_fiscal_risk_and_expected_inflation_by_the_stated_amounts_and_each_fades_at_its_own_rate():
    """F fades with its half-life; π^f with a mean life of M years, so that summed over its life (250 days a
    year) it raises the price level by s·B/D, what the valuation equation requires. Before, π^f faded with
    F's one-year half-life and delivered 1.44/M of it (a sixth at M = 9)."""
    cfg = MacroConfig(fiscal_unbacked_share=0.6)
    macro = MacroState(cfg, 0.01)
    macro.add_fiscal_news(25.0)
    expected = 0.6 * 25.0 / (cfg.jgb_outstanding_jpy_tn * cfg.fiscal_inflation_horizon_years)
    assert macro.fiscal_inflation() == pytest.approx(expected, rel=1e-12)
    assert macro.jp_expectations() == pytest.approx(0.01 + expected, rel=1e-12)
    assert macro.fx_premium() == 0.0  # the experiment knob is 0 at default parameters
    risk0 = macro.fiscal_risk
    mean_life = cfg.fiscal_inflation_horizon_years
    price_level = 0.0  # the price-level rise π^f adds, a year's π^f spread over 250 days
    for day in range(1, 250 * 12 * 9 + 1):  # twelve mean lives: what is left is e^-12 of it
        price_level += macro.fiscal_inflation() / 250.0
        macro.update(log_s_now=math.log(150.0), log_s_year_ago=math.log(150.0), log_s_change_before_start=0.0,
                     d_y_us=0.0, shock_commodity=0.0, shock_equity=0.0)  # fmt: skip
        if day == 250:  # after a year: F at half, π^f at e^(-1/M)
            assert macro.fiscal_risk == pytest.approx(risk0 * 0.5 ** (250 / cfg.fiscal_risk_halflife_days), rel=1e-9)
            assert macro.fiscal_inflation() == pytest.approx(expected * math.exp(-1.0 / mean_life), rel=1e-9)
    # over its life π^f raises the price level by s·B/D (to the daily discretisation, about 1/(2·250·M))
    assert price_level == pytest.approx(0.6 * 25.0 / cfg.jgb_outstanding_jpy_tn, rel=1e-3)
    # the ablation switch removes the term from expectations, not fiscal risk
    off = MacroState(MacroConfig(fiscal_unbacked_share=0.6, fiscal_dominance=False), 0.01)
    off.add_fiscal_news(25.0)
    assert off.fiscal_inflation() == 0.0 and off.jp_expectations() == 0.01 and off.fiscal_risk > 0


@pytest.mark.parametrize("constraint, response", [(0.0, 1.5), (0.5, 1.5), (1.0, 1.5), (0.3, 0.0)])
def test_markets_price_the_constrained_rules_response_to_fiscal_inflation(constraint, response):
    cfg = BojConfig(political_constraint=constraint, inflation_response=response)
    assert fiscal_path_shift(cfg, 0.002) == pytest.approx((1 - constraint) * response * 0.002, abs=1e-15)
    assert fiscal_path_shift(cfg, 0.0) == 0.0


def test_households_outflow_is_linear_in_fiscal_inflation_and_zero_without_it():
    cfg = NisaConfig(fiscal_outflow_jpy_tn_pa_per_pp=8.0)
    assert fiscal_outflow_jpy_tn_per_day(cfg, 0.01) == pytest.approx(8.0 / 250.0, rel=1e-12)  # 1 pp: ¥8 tn a year
    assert fiscal_outflow_jpy_tn_per_day(cfg, 0.0) == 0.0
    assert fiscal_outflow_jpy_tn_per_day(NisaConfig(fiscal_outflow_jpy_tn_pa_per_pp=0.0), 0.01) == 0.0


# -- reductions -----------------------------------------------------------------------------------
def test_with_the_fiscal_parameters_at_zero_a_budget_is_only_bond_supply():
    """s = 0 (Ricardian), no outflow response and no yen-premium knob: the fiscal-dominance world is exactly
    the world with the channel switched off, so a budget moves yields and the yen only through supply and
    term premia; its expected-inflation term and the BoJ path's fiscal shift stay 0."""
    zero = dict(macro__fiscal_unbacked_share=0.0, nisa__fiscal_outflow_jpy_tn_pa_per_pp=0.0,
                macro__fiscal_fx_premium=0.0)  # fmt: skip
    on = run(3, BUDGET_DAY + 5, **zero)
    off = run(3, BUDGET_DAY + 5, **zero, macro__fiscal_dominance=False)
    for c in COLUMNS:
        assert np.array_equal(on[c], off[c]), c
    # the budget itself still moved the 10y (supply and term premia) against a twin without it
    none = run(3, BUDGET_DAY + 5, budget_jpy_tn=None, **zero)
    assert on["jgb10y_yield"][BUDGET_DAY] > none["jgb10y_yield"][BUDGET_DAY]


def test_the_fiscal_channels_are_inert_until_fiscal_news_arrives():
    a = run(5, BUDGET_DAY + 2, macro__fiscal_unbacked_share=1.0, boj__political_constraint=1.0,
            nisa__fiscal_outflow_jpy_tn_pa_per_pp=20.0)  # fmt: skip
    b = run(5, BUDGET_DAY + 2, macro__fiscal_unbacked_share=0.0, boj__political_constraint=0.0,
            nisa__fiscal_outflow_jpy_tn_pa_per_pp=0.0)  # fmt: skip
    for c in COLUMNS:
        assert np.array_equal(a[c][:BUDGET_DAY], b[c][:BUDGET_DAY]), c


# -- signs of partial effects, one parameter changed against a twin -------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_a_larger_unbacked_share_raises_expected_inflation_after_a_budget(seed):
    lo = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.0)
    hi = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.8)
    gap = hi["jp_inflation_expectations"][BUDGET_DAY:] - lo["jp_inflation_expectations"][BUDGET_DAY:]
    assert np.all(gap > 0.5 * fiscal_inflation_news(30.0, unbacked_share=0.8, debt_jpy_tn=1100.0, horizon_years=9.0))


@pytest.mark.parametrize("seed", [1, 2])
def test_an_unconstrained_boj_is_priced_to_raise_rates_more_after_a_budget(seed):
    """Same fiscal inflation, the BoJ's constraint 0 vs 1: the expected path (the 2y yield) is higher."""
    free = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.8, boj__political_constraint=0.0)
    tied = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.8, boj__political_constraint=1.0)
    assert np.array_equal(free["jgb2y_yield"][:BUDGET_DAY], tied["jgb2y_yield"][:BUDGET_DAY])
    assert np.all(free["jgb2y_yield"][BUDGET_DAY:] > tied["jgb2y_yield"][BUDGET_DAY:] + 1e-4)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_outflow_response_raises_households_foreign_buying_after_a_budget(seed):
    none = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.8, nisa__fiscal_outflow_jpy_tn_pa_per_pp=0.0)
    some = run(seed, BUDGET_DAY + 3, macro__fiscal_unbacked_share=0.8, nisa__fiscal_outflow_jpy_tn_pa_per_pp=20.0)
    assert np.all(some["nisa_flow_jpy_tn"][BUDGET_DAY:] > none["nisa_flow_jpy_tn"][BUDGET_DAY:])


@pytest.mark.parametrize("seed", [1, 2])
def test_with_the_boj_constrained_fiscal_inflation_leaves_usdjpy_higher_on_the_budget_day(seed):
    """The real-rate channel alone (the BoJ not expected to respond, no outflows): a budget with expected
    inflation leaves USD/JPY higher than the same budget with s = 0 — Japan's real rate is lower at every
    price. The total effect of a budget on the yen is H2's question, not this test's."""
    kw = dict(boj__political_constraint=1.0, nisa__fiscal_outflow_jpy_tn_pa_per_pp=0.0)
    ricardian = run(seed, BUDGET_DAY, macro__fiscal_unbacked_share=0.0, **kw)
    active = run(seed, BUDGET_DAY, macro__fiscal_unbacked_share=1.0, **kw)
    assert active["usdjpy"][BUDGET_DAY] > ricardian["usdjpy"][BUDGET_DAY]


# -- the root search that sizes H2's shocks -------------------------------------------------------
@pytest.mark.parametrize("target", [0.5, 3.0, 25.0, 99.0])
def test_solve_monotone_finds_the_known_root_of_a_planted_increasing_function(target):
    calls = []

    def f(x):
        calls.append(x)
        return x**3 + x  # increasing; the root of x³ + x = target is known in closed form (Cardano)

    q = target / 2.0
    root = np.cbrt(q + math.sqrt(q * q + 1 / 27)) + np.cbrt(q - math.sqrt(q * q + 1 / 27))
    x = solve_monotone(f, target, 0.0, 10.0, ftol=1e-8)
    assert x == pytest.approx(root, abs=1e-6)
    assert len(calls) < 60  # at least as fast as bisection from a bracket of 10 to 1e-8


def test_solve_monotone_works_on_a_decreasing_function_and_returns_an_endpoint_that_already_hits():
    assert solve_monotone(lambda x: -2.0 * x, -3.0, 0.0, 5.0, ftol=1e-10) == pytest.approx(1.5)
    assert solve_monotone(lambda x: x, 0.0, 0.0, 1.0, ftol=1e-10) == 0.0


def test_bracket_up_doubles_until_the_target_is_reached():
    lo, hi = bracket_up(lambda x: 2.0 * x, 25.0, 1.0, 100.0)
    assert (lo, hi) == (8.0, 16.0)
    assert bracket_up(lambda x: 2.0 * x, 1.0, 1.0, 100.0) == (0.0, 1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        # target outside the bracket
        (lambda: solve_monotone(lambda x: x, 5.0, 0.0, 1.0, ftol=1e-6),
         r"^solve_monotone: target 5\.0 is outside \[f\(0\.0\), f\(1\.0\)\] = \[0, 1\]$"),
        # lo > hi
        (lambda: solve_monotone(lambda x: x, 0.5, 1.0, 0.0, ftol=1e-6),
         r"^solve_monotone: bracket \[1\.0, 0\.0\] is not allowed; expected finite lo < hi$"),
        # no tolerance
        (lambda: solve_monotone(lambda x: x, 0.5, 0.0, 1.0, ftol=0.0),
         r"^solve_monotone: target = 0\.5, ftol = 0\.0 not allowed; expected finite, ftol > 0$"),
        # f not finite
        (lambda: solve_monotone(lambda x: math.nan, 0.5, 0.0, 1.0, ftol=1e-6),
         r"^solve_monotone: f is not finite at the bracket \[0\.0, 1\.0\]$"),
        # never reaches the target
        (lambda: bracket_up(lambda x: x, 50.0, 1.0, 10.0),
         r"^bracket_up: f\(10\) = 10 does not reach 50\.0 up to 10$"),
        # a failed run
        (lambda: bracket_up(lambda x: math.nan, 5.0, 1.0, 10.0),
         r"^bracket_up: f\(1\) is not finite before reaching 5\.0$"),
        # x0 must be positive
        (lambda: bracket_up(lambda x: x, 5.0, 0.0, 10.0),
         r"^bracket_up: x0 = 0\.0, x_max = 10\.0 not allowed; expected 0 < x0 <= x_max, finite$"),
    ],
)  # fmt: skip
def test_the_root_search_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: MacroConfig(fiscal_unbacked_share=1.5), "fiscal_unbacked_share"),
        (lambda: MacroConfig(fiscal_unbacked_share=-0.1), "fiscal_unbacked_share"),
        (lambda: MacroConfig(jgb_outstanding_jpy_tn=0.0), "jgb_outstanding_jpy_tn"),
        (lambda: MacroConfig(fiscal_inflation_horizon_years=0.5), "fiscal_inflation_horizon_years"),
        (lambda: MacroConfig(fiscal_fx_premium=-0.01), "fiscal_fx_premium"),
        (lambda: BojConfig(political_constraint=1.2), "political_constraint"),
        (lambda: NisaConfig(fiscal_outflow_jpy_tn_pa_per_pp=-1.0), "fiscal_outflow_jpy_tn_pa_per_pp"),
    ],
)
def test_fiscal_parameters_outside_their_ranges_are_rejected_with_the_field_named(make, field):
    with pytest.raises(ConfigError, match=field):
        make()


def _yields(seed: int, days: int, **overrides) -> np.ndarray:
    model = CarryUnwindModel(scenario="baseline", seed=seed, collect=False, hedge_funds__n_funds=40,
                             nisa__n_households=500, **overrides)  # fmt: skip
    model.run_days(days)
    return np.array([model.series(c) for c in ("ust10y_yield", "jgb10y_yield", "jgb30y_yield")])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_supply_that_investors_do_not_absorb_raises_every_yield_and_without_supply_the_switch_is_inert(seed):
    """The bond investors' absorption of anticipated supply: off, a year's auctions and planned deficit
    must be bought along their demand curves, so the UST, JGB and 30y yields end higher than with it on
    (the same seed); with no anticipated supply at all (no auctions, no deficit) the switch changes
    nothing, bit for bit."""
    on, off = _yields(seed, 250), _yields(seed, 250, bond_investors__absorb_anticipated_supply=False)
    assert (on[:, 0] == off[:, 0]).all()
    assert (1e4 * (off[:, -1] - on[:, -1]) > 5.0).all()  # each yield at least 5 bp higher after a year
    quiet = dict(us_treasury__auctions=False, mof__deficit_jpy_tn_pa=0.0, mof__superlong_issuance_share=0.0)
    a = _yields(seed, 60, **quiet)
    b = _yields(seed, 60, bond_investors__absorb_anticipated_supply=False, **quiet)
    assert np.array_equal(a, b)
