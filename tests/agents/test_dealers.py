"""The dealers' settlement kernel: the compiled code is its Python source to the last bit, and its
bookings in the ledger are the trades and transfers its returned books say."""

from __future__ import annotations

import numpy as np
import pytest

from agents.dealers import _BOOKED, dealer_settle
from model.accounting import Ledger


def _inputs(rng: np.random.Generator):
    flows = rng.normal(0.0, 20.0, 5)
    excess = rng.normal(0.0, 1e-9, 5)
    s_prev = 150.0 * np.exp(rng.normal(0.0, 0.01))
    s = s_prev * np.exp(rng.normal(0.0, 0.02))
    prices = (s, s_prev, 90.0 + rng.normal(), 90.0 + rng.normal(), 99.0 + rng.normal(), 99.0 + rng.normal(),
              80.0 + rng.normal(), 80.0 + rng.normal(), 1.0 - s_prev / s, rng.normal(2e-4, 1e-4),
              rng.uniform(0.0, 0.02), rng.uniform(0.0, 0.005), rng.uniform(0.0, 0.01), rng.uniform(0.0, 0.06),
              rng.uniform(0.0, 0.01))  # fmt: skip
    # balances of either sign, the swap clients' book included
    books = tuple(rng.normal(0.0, 50.0, 8)) + (60.0 + rng.normal(0.0, 5.0),)
    return tuple(map(float, flows)), tuple(map(float, excess)), tuple(map(float, prices)), tuple(map(float, books))


def _ledger() -> tuple[Ledger, np.ndarray]:
    rows = tuple(dict.fromkeys(r for r, _ in _BOOKED))
    ledger = Ledger(rows)
    ledger.table[:] = np.random.default_rng(0).normal(0.0, 100.0, ledger.table.shape)
    cells = ledger.cells(_BOOKED)
    return ledger, cells


@pytest.mark.parametrize("seed", range(20))
def test_the_compiled_settlement_is_its_python_source_to_the_last_bit(seed):
    flows, excess, prices, books = _inputs(np.random.default_rng(seed))
    results = []
    for fn in (dealer_settle, dealer_settle.py_func):
        ledger, cells = _ledger()
        out = fn(np.array(flows), excess, prices, books, 60.0, 0.0028, ledger.table, ledger.turnover, cells)
        results.append((np.array(out), ledger.table.copy(), ledger.turnover.copy()))
    (a, ta, ua), (b, tb, ub) = results
    assert a.tobytes() == b.tobytes() and ta.tobytes() == tb.tobytes() and ua.tobytes() == ub.tobytes()


@pytest.mark.parametrize("seed", range(5))
def test_the_bookings_are_the_days_trades_and_transfers(seed):
    flows, excess, prices, books = _inputs(np.random.default_rng(100 + seed))
    ledger, cells = _ledger()
    before = ledger.table.copy()
    out = dealer_settle(np.array(flows), excess, prices, books, 60.0, 0.0028, ledger.table, ledger.turnover, cells)
    delta = ledger.table - before

    def moved(row: str, asset: str) -> float:
        return float(delta[ledger.cell(row, asset)])

    fx, ust, jgb, jgb30, usd, jpy, fwd, _equity = out[:8]
    q = out[8:]
    # the trades are what the clearing gave them, the residual excess included
    assert q == pytest.approx([f - e for f, e in zip(flows, excess, strict=True)], abs=0.0)
    # the dealers' row moves as their own books do, but for the coupons, which the issuers pay into
    # the ledger separately (model.accounting.pay_coupons)
    coupon_usd, coupon_jpy = ust * prices[10], jgb * prices[11] + jgb30 * prices[12]
    for asset, new, old in (("usd_bn", usd - coupon_usd, books[4]), ("jpy_tn", jpy - coupon_jpy, books[5]),
                            ("ust_units", ust, books[1]), ("jgb_units", jgb, books[2]),
                            ("jgb30_units", jgb30, books[3]), ("usd_fwd_bn", fwd, books[6])):  # fmt: skip
        assert moved("dealers", asset) == pytest.approx(new - old, rel=1e-12, abs=1e-9), asset
    assert fx - books[0] == pytest.approx(q[0], abs=1e-12)
    # what passes through the settlement account and the money markets comes from somewhere
    forwards = moved("dealers", "usd_bn") + moved("swap_clients", "usd_bn") + moved("forward_settlement", "usd_bn")
    trades_usd = q[0] - q[1] * prices[2]
    interest_usd = -moved("us_money_market", "usd_bn")
    payout = moved("dealer_shareholders", "usd_bn")
    assert forwards == pytest.approx(trades_usd + interest_usd - payout, abs=1e-9)
    assert moved("dealers", "jpy_tn") == pytest.approx(
        -q[0] * prices[0] / 1000.0 - q[2] * prices[4] - q[4] * prices[6] - moved("jp_money_market", "jpy_tn"),
        abs=1e-9,
    )
    # every booking's size reaches the turnover
    assert np.all(ledger.turnover >= 0.0) and ledger.turnover.sum() > 0.0


def test_the_fx_exposure_the_dealers_lay_off_is_what_a_move_of_usdjpy_does_to_their_equity():
    """The exposure in their FX rule (the clearing's input: spot position plus the book, at yesterday's
    close) is the forward book plus the change of their dollar equity per unit of ln S, from their
    balance sheet revalued at a shifted USD/JPY (a central difference), every day of a run whose
    USD/JPY moves; the recorded column is the same at the day's close. The dollars they bought spot to
    date plus the book are another number once USD/JPY has moved: the yen paid for them, or received
    for the book's hedge, changes its dollar value with S."""
    import math
    from types import SimpleNamespace

    from model.model import CarryUnwindModel

    model = CarryUnwindModel(scenario="risk_off", seed=3, collect=False, simulation__days=80, hedge_funds__n_funds=40,
                             nisa__n_households=500, retail_fx__n_accounts=500, cta__n_ctas=20)  # fmt: skip
    dl = model.sectors["dealers"]

    def exposure_from_the_balance_sheet():
        S, p_us, p_jp, p_30 = model.prices()
        eps = 1e-6
        up, down = (dl.balance_sheet(SimpleNamespace(prices=lambda f=f: (S * math.exp(f), p_us, p_jp, p_30)))
                    for f in (eps, -eps))  # fmt: skip
        return dl.fwd_usd_bn + (up.equity_usd_bn - down.equity_usd_bn) / (2 * eps)

    apart = 0.0
    for _ in range(80):
        inputs = dl.clearing_inputs(model)
        expected = exposure_from_the_balance_sheet()
        assert inputs.fx_inventory + inputs.fwd_book == pytest.approx(expected, rel=1e-6, abs=1e-6)
        apart = max(apart, abs(dl.fx_inventory_usd_bn + dl.fwd_usd_bn - expected))
        model.run_days(1)
        assert model.latest["dealer_fx_inventory_usd_bn"] == pytest.approx(exposure_from_the_balance_sheet(),
                                                                           rel=1e-6, abs=1e-6)  # fmt: skip
    assert apart > 1.0  # $ bn: the spot dollars bought to date are not the position
