"""Two fixes of the clearing found in review, each with a test that fails without it, and a saving.

* A root beyond the plausibility bounds is not yet a failed day: Newton can converge to one while
  the bracketed solver's rule (the first sign change of FX excess demand moving from yesterday's
  close the way it pushes the price) finds another inside them; the search is then run again,
  cut at the bound, before the day is called a failure.
* The Walras check (``walras_residual``) reads what the sectors booked after settlement (the day's
  changes in the ledger), not the solver's own flows evaluated again at the same prices, which gave
  the solver's residual bit for bit.

And a saving, with tests that it changes nothing: the excess demand at the recorded prices is the
solver's own last evaluation where the recorded prices are the ones it ended at, bit for bit
(evaluating again would write the same numbers), and an evaluation there where they are not.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

from agents.fx_fundamentals import RealMoney
from model.accounting import WALRAS_SLACK, AccountingError, Ledger, booked_excess, check_identities
from model.clearing import ClearingError, Work, make_result
from model.compose import Bounds, ComposedClearing
from model.model import CarryUnwindModel
from model.results import check_accounting


# -- a root beyond the bounds ------------------------------------------------------------------------------
class KinkInputs(NamedTuple):
    """One sector whose FX excess demand has a fire-sale kink at yesterday's close ``s0``."""

    s0: float
    level: float  # excess demand at the close, per unit of k (> 0: it pushes USD/JPY up)
    k: float  # USD bn
    y_us: float
    y_jp: float
    basis: float
    y_30: float


@njit(cache=True)
def rest_at_targets(p, targets, z, jac, gross, out):
    """The four markets other than USD/JPY, each clearing where its price is at its target (a steep linear
    excess demand, 100 per unit of price)."""
    for m in range(1, 5):
        d = p[m] - targets[m - 1]
        z[m] += 100.0 * d
        jac[m, m] += 100.0
        gross[m] += 100.0
        out[m] = 100.0 * d


@njit(cache=True)
def kink_flows(p, inp, z, jac, gross, out, aux):
    """``z_fx = k·(level − x + C·tanh(x/w))``, ``x = ln S − s0``: above the close a small bump (C = 0.02,
    w = 0.01; the slope there is +1, the wrong sign), below it a large one (C = 0.7, w = 0.4). With
    ``level = 0.12`` the first root above the close is at x = 0.14; Newton, sent down by the wrong-signed
    slope, converges to the root at x ≈ −0.19. The other markets clear at their targets."""
    x = p[0] - inp.s0
    if x >= 0.0:
        c, w = 0.02, 0.01
    else:
        c, w = 0.7, 0.4
    t = math.tanh(x / w)
    z[0] += inp.k * (inp.level - x + c * t)
    jac[0, 0] += inp.k * (-1.0 + (c / w) * (1.0 - t * t))
    gross[0] += inp.k
    out[0] = inp.k * (inp.level - x + c * t)
    rest_at_targets(p, (inp.y_us, inp.y_jp, inp.basis, inp.y_30), z, jac, gross, out)


S0 = math.log(150.0)
PREV = np.array([S0, 0.04, 0.006, -0.004, 0.02])
BOUNDS = Bounds(max_fx_log_move=0.15, min_yield=-0.02, max_yield=0.25, min_basis=-0.05, max_basis=0.05)
TOL = 1e-10


@pytest.fixture(scope="module")
def kink():
    return ComposedClearing([kink_flows])


def kink_inputs(level: float) -> tuple:
    return (KinkInputs(S0, level, 100.0, *PREV[1:]),)


def bounds_ok(result) -> bool:
    return BOUNDS.violation(result, PREV) == ""


def test_a_root_beyond_the_bound_gives_way_to_the_first_root_inside_it(kink):
    # the premise: Newton alone converges to a root beyond the bound, and without bounds the day is Newton's
    newton = make_result(*kink.module.solve_clearing(kink_inputs(0.12), PREV, Work.allocate(1), TOL, 100))
    assert newton.converged and math.log(newton.usdjpy) - S0 < -BOUNDS.max_fx_log_move
    assert kink.clear(kink_inputs(0.12), PREV, day=7, tol=TOL) == newton
    # with bounds, the bracketed rule inside them
    result = kink.clear(kink_inputs(0.12), PREV, day=7, tol=TOL, bounds=BOUNDS)
    assert result.converged and result.residual <= TOL and bounds_ok(result)
    # the first root above the close, where excess demand pushes USD/JPY: x = 0.14 (z = 0.12 − x + 0.02·tanh(x/0.01))
    assert math.log(result.usdjpy) - S0 == pytest.approx(0.14, abs=1e-6)
    # counted as a fallback day is: Newton's iterations plus the bracketed search's evaluations
    assert result.iterations > newton.iterations
    # the sectors' flows are the ones at the returned prices (what settlement books)
    assert kink.work.flows[0, 0] == pytest.approx(result.excess_fx_usd_bn, abs=1e-6)


def test_with_no_root_inside_the_bound_the_day_still_fails_in_one_line(kink):
    """``level = 0.2``: the first root above the close is at x = 0.22, beyond the bound of 0.15."""
    with pytest.raises(ClearingError, match=r"^implausible prices on day 9: USD/JPY=.* moved [-+]\d+\.\d% in a day .*"
                       r"no root inside the USD/JPY bound") as caught:  # fmt: skip
        kink.clear(kink_inputs(0.2), PREV, day=9, tol=TOL, bounds=BOUNDS)
    assert "\n" not in str(caught.value)


def test_the_bounded_search_never_evaluates_beyond_the_bound(kink):
    """The search's last step ends on the bound instead of overshooting it (an unbounded search steps
    from x = 0.137 to x = 0.220 and would bisect there)."""
    seen = []

    def recording(p, inp, z, jac, gross, out, aux):
        seen.append(p[0] - S0)
        kink_flows.py_func(p, inp, z, jac, gross, out, aux)

    twin = kink.plain({0: recording})
    out = twin._bracketed(kink_inputs(0.2), PREV, Work.allocate(1), TOL, BOUNDS.max_fx_log_move)
    assert not out[5]  # no root inside the bound
    assert max(abs(x) for x in seen) == pytest.approx(BOUNDS.max_fx_log_move, abs=1e-15)
    seen.clear()
    twin._bracketed(kink_inputs(0.2), PREV, Work.allocate(1), TOL)
    assert max(abs(x) for x in seen) > 0.2  # unbounded: beyond it


# -- two equilibria close together ----------------------------------------------------------------------------
class PairInputs(NamedTuple):
    """One sector whose FX excess demand has three roots below yesterday's close ``s0``."""

    s0: float
    k: float  # USD bn per unit of the cubic
    y_us: float
    y_jp: float
    basis: float
    y_30: float


PAIR_ROOTS = (-0.025, -0.028, -0.14)  # in ln S from the close: two 0.3% apart, then one 14% below


@njit(cache=True)
def pair_flows(p, inp, z, jac, gross, out, aux):
    """``z_fx = −k·(x + 0.025)(x + 0.028)(x + 0.14)``, ``x = ln S − s0``: negative at the close (it pushes
    USD/JPY down), positive between the first two roots and negative again until the third. The other markets
    clear at their targets."""
    x = p[0] - inp.s0
    a, b, c = x - PAIR_ROOTS[0], x - PAIR_ROOTS[1], x - PAIR_ROOTS[2]
    z[0] += -inp.k * a * b * c
    jac[0, 0] += -inp.k * (b * c + a * c + a * b)
    gross[0] += 100.0
    out[0] = -inp.k * a * b * c
    rest_at_targets(p, (inp.y_us, inp.y_jp, inp.basis, inp.y_30), z, jac, gross, out)


def test_the_fallback_does_not_pass_over_two_equilibria_close_together():
    """The first root from the close the way excess demand pushes is at −0.025, with another at −0.028. Before:
    the probes, each 1.6 times as far from the close as the last, fell at 0.021 and 0.034, both roots between
    them cancelled, and the search took the root 14% below (or, bounded at 13%, said there was none)."""
    pair = ComposedClearing([pair_flows])
    inputs = (PairInputs(S0, 1e6, *PREV[1:]),)
    out = make_result(*pair.module.solve_clearing_bracketed(inputs, PREV, Work.allocate(1), TOL, math.inf))
    assert out.converged and math.log(out.usdjpy) - S0 == pytest.approx(PAIR_ROOTS[0], abs=1e-9)
    bounded = make_result(*pair.module.solve_clearing_bracketed(inputs, PREV, Work.allocate(1), TOL, 0.13))
    assert bounded.converged and bounded.prices == out.prices


class CoupledInputs(NamedTuple):
    """Spot demand that moves with the basis, and a basis market that clears at a level moving with ``ln S``."""

    s0: float
    k: float
    y_us: float
    y_jp: float
    basis: float
    y_30: float


COUPLED_ROOTS = (0.0, 0.03, -0.05)  # in ln S from the close: the reduced FX gap is 50·x·(x − 0.03)·(x + 0.05)


@njit(cache=True)
def coupled_flows(p, inp, z, jac, gross, out, aux):
    """``z_fx = k·(−x + 50·(b − b0))`` and ``z_b = 100·(b − b0 − h(x))`` with ``h(x) = x/50 + x(x − 0.03)(x + 0.05)``:
    with the basis cleared, FX excess demand is ``50·k·x(x − 0.03)(x + 0.05)``, three equilibria; with the basis
    held at the cleared one's, it is ``−k·x``, one."""
    x = p[0] - inp.s0
    h = x / 50.0 + x * (x - 0.03) * (x + 0.05)
    dh = 1.0 / 50.0 + (x - 0.03) * (x + 0.05) + x * (x + 0.05) + x * (x - 0.03)
    db = p[3] - inp.basis
    z[0] += inp.k * (-x + 50.0 * db)
    jac[0, 0] += -inp.k
    jac[0, 3] += 50.0 * inp.k
    gross[0] += inp.k
    out[0] = inp.k * (-x + 50.0 * db)
    z[3] += 100.0 * (db - h)
    jac[3, 3] += 100.0
    jac[3, 0] += -100.0 * dh
    gross[3] += 100.0
    out[3] = 100.0 * (db - h)
    for m, target in ((1, inp.y_us), (2, inp.y_jp), (4, inp.y_30)):
        d = p[m] - target
        z[m] += 100.0 * d
        jac[m, m] += 100.0
        gross[m] += 100.0
        out[m] = 100.0 * d


def test_the_root_scan_counts_the_equilibria_that_come_through_another_market():
    """Before: the scan held the other four prices at today's, and counted roots of spot demand alone along that
    line: none here, where the basis carries two more equilibria (3% above and 5% below the close)."""
    coupled = ComposedClearing([coupled_flows])
    inputs = (CoupledInputs(S0, 100.0, *PREV[1:]),)
    result = coupled.clear(inputs, PREV, day=3, tol=TOL)
    assert result.converged and math.log(result.usdjpy) - S0 == pytest.approx(COUPLED_ROOTS[0], abs=1e-9)
    assert coupled.other_roots(inputs, result, PREV, 0.15, 301, TOL) == 2
    assert coupled.other_roots(inputs, result, PREV, 0.04, 81, TOL) == 1  # the one 5% below is beyond the grid
    assert coupled.other_roots(inputs, result, PREV, 0.15, 1, TOL) == 0  # no grid, no scan


# -- the Walras check after settlement ----------------------------------------------------------------------
DAYS = 40
BROKEN_DAY = 11


def test_booked_excess_sums_the_days_trades_over_every_row():
    """Known answers on a two-row ledger: a trade with a counterparty nets to zero, a trade without one
    is the excess demand it books, read on both sides of a spot trade."""

    class Prices(NamedTuple):
        usdjpy: float = 150.0
        ust_price: float = 0.9
        jgb_price: float = 1.1
        jgb30_price: float = 0.8

    led = Ledger(("a", "b"))
    before = led.table.copy()
    led.bonds("a", "ust_units", "usd_bn", 2.0, 0.9)
    led.bonds("b", "ust_units", "usd_bn", -2.0, 0.9)
    led.fx("a", 1.5, 0.15)
    led.fx("b", -1.5, 0.15)
    assert np.array_equal(booked_excess(before, led.table, Prices()), np.zeros(5))
    led.bonds("a", "jgb30_units", "jpy_tn", 3.0, 0.8)  # bought from no one
    led.fx("a", 0.25, 0.15)  # dollars bought from no one
    led.book("a", "usd_fwd_bn", -4.0)  # a forward sold to no one
    got = booked_excess(before, led.table, Prices())
    assert got == pytest.approx([0.25, 0.0, 0.0, -4.0, 3.0], abs=1e-12)
    # yen paid for nothing shows on the yen side of spot (the dollar side is silent)
    led.book("b", "jpy_tn", -0.3)
    assert booked_excess(before, led.table, Prices())[0] == pytest.approx(0.25 + 0.3 * 1000.0 / 150.0)


@pytest.fixture(scope="module")
def seeded():
    """A baseline run, with each day's re-evaluation at the recorded prices kept."""
    model = CarryUnwindModel(seed=4, collect=False, simulation__days=DAYS)
    model.run_days(DAYS)
    return model


def test_the_walras_check_is_within_tolerance_every_day_and_is_not_the_solvers_residual(seeded):
    w = np.asarray(seeded.series("walras_residual"))[1:]
    c = np.asarray(seeded.series("clearing_residual"))[1:]
    limit = WALRAS_SLACK * seeded.config.simulation.clearing_tolerance
    assert np.all(w <= limit), w.max()
    assert w.max() > 0.0  # computed, not a constant
    # computed from the books, not from the solver's flows: not the solver's number
    assert np.mean(w == c) < 0.5, np.mean(w == c)
    check_accounting(seeded)


@pytest.mark.parametrize("usd_bn", [1.0, 1e-6])
def test_a_sector_booking_a_trade_that_did_not_clear_fails_the_check_on_that_day(monkeypatch, usd_bn):
    """Real money books ``usd_bn`` more spot dollars on one day than cleared (paid in yen at the day's
    rate). The excess demand at the recorded prices is the solver's (the old check, evaluating the
    flows again, passed); the books show it. A thousand-dollar error (1e-6 bn) is below what the
    cumulative conservation checks of the final state can see (about 5e-6 bn of dollars after 40
    days), so without the daily check the run would pass; a billion-dollar one they see, but only
    on the final day."""
    settle = RealMoney.settle
    rechecked = {}
    real_recheck = ComposedClearing.recheck

    def faulty(self, model, day):
        settle(self, model, day)
        if model.day == BROKEN_DAY:
            model.ledger.fx("real_money", usd_bn, day.usdjpy / 1000.0)
            self.holdings_usd_bn += usd_bn  # its own records follow the ledger: only the market is wrong

    def recheck(self, inputs, result, **kw):
        z, gross = real_recheck(self, inputs, result, **kw)
        rechecked[len(rechecked) + 1] = float(np.max(np.abs(z) / np.maximum(gross, 0.1)))
        return z, gross

    monkeypatch.setattr(RealMoney, "settle", faulty)
    monkeypatch.setattr(ComposedClearing, "recheck", recheck)
    model = CarryUnwindModel(seed=4, collect=False, simulation__days=DAYS)
    model.run_days(DAYS)
    limit = WALRAS_SLACK * model.config.simulation.clearing_tolerance
    assert rechecked[BROKEN_DAY] <= limit  # what the old check measured: it would have passed
    w = np.asarray(model.series("walras_residual"))
    assert w[BROKEN_DAY] > limit and np.all(np.delete(w, BROKEN_DAY) <= limit)
    with pytest.raises(AccountingError, match=f"^day {BROKEN_DAY}: excess demand at the recorded prices is"):
        check_accounting(model)


def test_a_day_the_solver_reports_cleared_at_a_non_root_fails_the_check_on_that_day(monkeypatch):
    """On one day the solver accepts a point that does not clear (its tolerance loosened to 0.5 for that
    day) and reports it as cleared. Its flows are those of its prices, so every sector books them and
    the dealers take the excess demand: the books net to zero and the Walras check passes. The excess
    demand left at the recorded prices (``clearing_residual``, evaluated again there) is what shows it,
    both in the day's identity check and in the run's."""
    real_clear = ComposedClearing.clear

    def loose(self, inputs, prev, *, day, tol, **kw):
        return real_clear(self, inputs, prev, day=day, tol=0.5 if day == BROKEN_DAY else tol, **kw)

    monkeypatch.setattr(ComposedClearing, "clear", loose)
    model = CarryUnwindModel(seed=4, collect=False, simulation__days=DAYS)
    model.run_days(BROKEN_DAY)
    limit = WALRAS_SLACK * model.config.simulation.clearing_tolerance
    assert model.walras_residual <= limit  # the books add up
    assert model.clearing_residual > 1e3 * limit
    with pytest.raises(AccountingError, match=f"^day {BROKEN_DAY}: excess demand left at the recorded prices"):
        check_identities(model)
    model.run_days(DAYS - BROKEN_DAY)
    c = np.asarray(model.series("clearing_residual"))
    assert np.all(np.delete(c, BROKEN_DAY) <= limit)
    assert np.all(np.asarray(model.series("walras_residual")) <= limit)
    with pytest.raises(AccountingError, match=f"^day {BROKEN_DAY}: excess demand left at the recorded prices"):
        check_accounting(model)


def test_the_bracketing_fallback_own_signs_are_those_of_the_composed_jacobian():
    """``OWN_SIGN`` stands in for a market's own-price derivative where the Jacobian's is exactly zero; it
    must be the sign the composed model's derivative has wherever it is not (dollars demanded less as
    USD/JPY rises, bonds more as their yields rise, long-USD forwards less as the basis rises)."""
    from model.clearing import OWN_SIGN
    from model.model import CarryUnwindModel

    model = CarryUnwindModel(scenario="risk_off", seed=4, collect=False)
    for _ in range(40):
        model.step()
        diagonal = np.diag(model.clearing.work.jac)
        np.testing.assert_array_equal(np.sign(diagonal), OWN_SIGN, err_msg=f"day {model.day}")


# -- the recheck at the recorded prices --------------------------------------------------------------------
def _counting_evaluations(monkeypatch) -> list[int]:
    """Count the recheck's own evaluations (each goes through ``_scratch_calls``); returns the counter."""
    count = [0]
    real = ComposedClearing._scratch_calls

    def counted(self, inputs, work):
        count[0] += 1
        return real(self, inputs, work)

    monkeypatch.setattr(ComposedClearing, "_scratch_calls", counted)
    return count


def test_the_recheck_skips_only_an_evaluation_that_would_give_the_same_numbers(monkeypatch):
    """Where the recorded prices are those the day's clearing ended at, bit for bit, the recheck returns the
    solver's last evaluation instead of evaluating again. Evaluating again must give the same excess demand,
    gross volumes and day-wide quantities (forced sales, the risk index) to the last bit: on Newton's days
    and on the day the bracketed fallback cleared (seed 29's day 247, as in the fallback solver's tests)."""
    from tests.model.test_fallback_solver import FALLBACK_DAYS, FALLBACK_SEED

    real = ComposedClearing.recheck
    days = {"checked": 0, "skipped": 0, "fallback": 0}

    def both(self, inputs, result, *, evaluate=False):
        z_fresh, gross_fresh = real(self, inputs, result, evaluate=True)
        aux_fresh = self.checked_aux
        before = evaluations[0]
        z, gross = real(self, inputs, result)
        days["skipped"] += evaluations[0] == before
        days["checked"] += 1
        days["fallback"] += result.iterations > 20  # a fallback day counts its evaluations (about a hundred)
        for fresh, kept in ((z_fresh, z), (gross_fresh, gross), (aux_fresh, self.checked_aux)):
            np.testing.assert_array_equal(fresh.view(np.int64), kept.view(np.int64))  # bits, signs of zero too
        return z, gross

    evaluations = _counting_evaluations(monkeypatch)
    monkeypatch.setattr(ComposedClearing, "recheck", both)
    model = CarryUnwindModel(seed=FALLBACK_SEED, collect=False, simulation__days=FALLBACK_DAYS)
    model.run_days(FALLBACK_DAYS)
    assert days["checked"] == FALLBACK_DAYS and days["fallback"] >= 1
    assert days["skipped"] >= 0.95 * FALLBACK_DAYS  # ln(exp(s)) gives s back on (nearly) every day


def test_the_recheck_evaluates_where_the_recorded_prices_or_inputs_are_not_the_clearings(monkeypatch):
    """A recorded USD/JPY off the one the clearing ended at (by a relative 1e-9), or the same inputs given as
    another tuple, is evaluated: the numbers are those of an evaluation at the recorded prices, and off the
    solver's where the price is."""
    real = ComposedClearing.recheck
    seen = {}

    def probe(self, inputs, result, *, evaluate=False):
        z, gross = real(self, inputs, result, evaluate=evaluate)
        if len(seen) == 0 and self is model.clearing and model.day == BROKEN_DAY:
            before = evaluations[0]
            off = result._replace(usdjpy=result.usdjpy * (1.0 + 1e-9))
            z_off, _ = real(self, inputs, off)
            z_off_fresh, _ = real(self, inputs, off, evaluate=True)
            real(self, tuple(list(inputs)), result)  # equal inputs, another tuple
            seen.update(evaluations=evaluations[0] - before, z=z, z_off=z_off, z_off_fresh=z_off_fresh)
        return z, gross

    evaluations = _counting_evaluations(monkeypatch)
    monkeypatch.setattr(ComposedClearing, "recheck", probe)
    model = CarryUnwindModel(seed=4, collect=False, simulation__days=DAYS)
    model.run_days(BROKEN_DAY)
    assert seen["evaluations"] == 3  # the off price, its forced twin, and the copied inputs
    np.testing.assert_array_equal(seen["z_off"], seen["z_off_fresh"])
    assert not np.array_equal(seen["z_off"], seen["z"])


def test_an_evaluation_into_the_clearings_own_arrays_makes_the_recheck_evaluate(monkeypatch):
    """``ComposedClearing.evaluate`` into the clearing's own work arrays replaces the last clearing's evaluation
    there (at whatever prices it is given), so the recheck may no longer reuse it."""
    real = ComposedClearing.recheck
    seen = {}

    def probe(self, inputs, result, *, evaluate=False):
        if self is model.clearing and model.day == BROKEN_DAY:
            before = evaluations[0]
            self.evaluate(np.array(result.prices), inputs, self.work)  # the same prices: settlement is unchanged
            z, gross = real(self, inputs, result, evaluate=evaluate)
            seen["evaluated"] = evaluations[0] - before
            return z, gross
        return real(self, inputs, result, evaluate=evaluate)

    evaluations = _counting_evaluations(monkeypatch)
    monkeypatch.setattr(ComposedClearing, "recheck", probe)
    model = CarryUnwindModel(seed=4, collect=False, simulation__days=DAYS)
    model.run_days(BROKEN_DAY)
    assert seen["evaluated"] == 1


def test_a_run_checked_every_day_evaluates_at_the_recorded_prices_every_day(monkeypatch):
    """``check_every_day`` does not rest on the solvers ending with an evaluation at the prices they return: the
    recheck evaluates again on every day (``recheck_evaluates``), and the numbers are the same."""
    from model.results import run_simulation

    evaluations = _counting_evaluations(monkeypatch)
    checked = run_simulation(scenario="baseline", seed=4, days=20, check_every_day=True, hedge_funds__n_funds=20)
    assert evaluations[0] == 20
    plain = run_simulation(scenario="baseline", seed=4, days=20, hedge_funds__n_funds=20)
    assert evaluations[0] == 20  # none without the check on these days
    assert checked.timeseries.equals(plain.timeseries)
