"""Balance-sheet identities at every step of seeded runs, failures and re-entry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from model.accounting import (
    JGB30_HOLDERS,
    JGB_HOLDERS,
    UST_HOLDERS,
    AccountingError,
    Ledger,
    check_identities,
    pay_coupons,
)
from tests.support import CRASH_PRONE, SENTIMENT_CRASH, forwards_held, fund_snapshot, make_model

DAYS = 300

CONFIGS = {
    "baseline": ("baseline", {}),
    "risk_off": ("risk_off", {}),
    # funds fail at 45% of their initial capital (the default is 10%): failures happen within 300 days
    "crash_prone": (SENTIMENT_CRASH, {**CRASH_PRONE, "hedge_funds__failure_floor": 0.45}),
}


def marked_equity(model) -> np.ndarray:
    """Assets − liabilities per fund at the model's current prices (USD bn): the duration leg and cash
    (forwards have no value once the day's variation margin is paid)."""
    f, mk = model.hedge_funds, model.market
    return f.ust_units * mk.ust_price + f.cash_usd_bn


def run_with_daily_checks(seed: int, scenario: str, overrides: dict, days: int = DAYS):
    """Run, checking every identity after every step; return the model and per-day snapshots."""
    model = make_model(seed, scenario, **overrides)
    check_identities(model)
    snapshots = []
    for _ in range(days):
        model.step()
        check_identities(model)  # raises AccountingError naming the day
        f = model.hedge_funds
        live = f.alive
        np.testing.assert_allclose(
            f.equity_book_usd_bn[live],
            marked_equity(model)[live],
            rtol=1e-9,
            atol=1e-9,
            err_msg=f"day {model.day}: equity by P&L != assets − liabilities",
        )
        # Holdings of the bonds add up to the amounts outstanding, from the sectors' own state (not
        # the ledger). Dealers take the excess demand left within the clearing tolerance, so the
        # sums agree to round-off.
        ust_held = (
            f.ust_units.sum()
            + model.dealers.ust_inventory_units
            + model.bond_investors.ust_units
            + model.life_insurers.ust_units.sum()
            + model.mof.state.ust_units
        )
        assert abs(ust_held - model.outstanding_ust_units) <= 1e-12 * ust_held, (
            f"day {model.day}: UST held {ust_held!r} vs outstanding {model.outstanding_ust_units!r}"
        )
        # the 10y: the insurers hold super-longs only; the curve arbitrageurs are short the 10y
        jgb_held = (
            model.dealers.jgb_inventory_units
            + model.bond_investors.jgb_units
            + model.boj.jgb_units
            + model.curve_arbitrageurs.jgb_units
        )
        assert abs(jgb_held - model.outstanding_jgb_units) <= 1e-12 * jgb_held, (
            f"day {model.day}: JGB held {jgb_held!r} vs outstanding {model.outstanding_jgb_units!r}"
        )
        # the super-long (30y) segment: habitat investors, insurers, the BoJ, dealers and arbitrageurs
        jgb30_held = (
            model.dealers.jgb30_inventory_units
            + model.bond_investors.jgb30_units
            + model.life_insurers.jgb_units.sum()
            + model.boj.jgb30_units
            + model.curve_arbitrageurs.jgb30_units
        )
        assert abs(jgb30_held - model.outstanding_jgb30_units) <= 1e-12 * jgb30_held, (
            f"day {model.day}: JGB 30y held {jgb30_held!r} vs outstanding {model.outstanding_jgb30_units!r}"
        )
        # forwards are in zero net supply, from the holders' own state (the trend followers and retail
        # FX traders among them)
        held = forwards_held(model)
        assert sum(h != 0.0 for h in held[4:]) >= 2
        assert abs(sum(held)) <= 1e-12 * sum(abs(h) for h in held), f"day {model.day}: forwards {held} do not net"
        # repo: the money market's claims equal the funds' borrowing
        assert model.ledger.get("us_money_market", "repo_usd_bn") == pytest.approx(
            np.maximum(-f.cash_usd_bn, 0.0).sum(), rel=1e-9, abs=1e-9
        )
        snapshots.append(fund_snapshot(model))
    return model, snapshots


def has_reentry(snapshots, delay) -> bool:
    """Some fund closed early enough for its re-entry day to fall inside the run."""
    last = snapshots[-1]["day"]
    return any(
        np.any(a["alive"] & ~b["alive"]) and b["day"] + delay <= last
        for a, b in zip(snapshots[:-1], snapshots[1:], strict=True)
    )


@pytest.fixture(scope="module")
def crash_run():
    """The first crash-prone run (by seed) in which a failed fund reaches its re-entry day."""
    for seed in range(3, 11):
        model, snaps = run_with_daily_checks(seed, *CONFIGS["crash_prone"], days=400)
        if has_reentry(snaps, model.config.hedge_funds.reentry_delay_days):
            return model, snaps
    pytest.fail("no crash-prone run (seeds 3-10, 400 days) had a failure followed by a re-entry")


@pytest.mark.parametrize("config", ["baseline", "risk_off"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identities_hold_after_every_step(config, seed):
    model, _ = run_with_daily_checks(seed, *CONFIGS[config])
    assert model.day == DAYS


@pytest.mark.parametrize("seed", [2, 3])
def test_identities_hold_after_every_step_through_margin_calls_and_failures(seed):
    model, _ = run_with_daily_checks(seed, *CONFIGS["crash_prone"])
    df = model.timeseries()
    # the run is only a test of the crash bookkeeping if crashes happen
    assert df["hf_margin_calls"].sum() > 0
    assert df["hf_failures"].sum() > 0


def test_crash_prone_run_has_margin_calls_failures_and_reentries(crash_run):
    model, snaps = crash_run
    df = model.timeseries()
    assert df["hf_margin_calls"].sum() > 0
    assert df["hf_failures"].sum() > 0
    reentered = [
        i
        for i in range(model.hedge_funds.alive.shape[0])
        if any(not s["alive"][i] for s in snaps) and snaps[-1]["alive"][i]
    ]
    assert reentered, "no fund failed and came back within the run"


def test_failed_fund_reenters_exactly_after_the_delay_with_fresh_capital(crash_run):
    model, snaps = crash_run
    delay = model.config.hedge_funds.reentry_delay_days
    capital0 = model.hedge_funds.initial_capital_usd_bn
    checked = 0
    for t in range(1, len(snaps)):
        died = snaps[t - 1]["alive"] & ~snaps[t]["alive"]
        for i in np.flatnonzero(died):
            day_closed = snaps[t]["day"]
            back = day_closed + delay
            assert snaps[t]["reentry_day"][i] == back
            if back > snaps[-1]["day"]:
                continue
            # dead every day until the re-entry day, alive again on it
            for s in snaps[t:]:
                if s["day"] < back:
                    assert not s["alive"][i], f"fund {i} back early on day {s['day']} (closed {day_closed})"
                elif s["day"] == back:
                    assert s["alive"][i], f"fund {i} not back on day {back}"
                    assert s["cash_usd_bn"][i] == capital0[i]
                    assert s["equity_book_usd_bn"][i] == capital0[i]
                    assert s["ust_units"][i] == 0.0 and s["fwd_usd_bn"][i] == 0.0
                    assert s["perf_ema"][i] == 0.0
                    assert not s["liquidating"][i]
                    checked += 1
                    break
    assert checked > 0, "no failed fund reached its re-entry day within the run"


def test_check_identities_detects_a_fund_whose_books_do_not_balance():
    """The checker is not vacuous: corrupting one fund's cash is caught."""
    model = make_model(0)
    for _ in range(5):
        model.step()
    check_identities(model)
    model.hedge_funds.cash_usd_bn[7] += 0.01
    # the check that sees it: the funds' own records of dollars against the ledger's row
    with pytest.raises(AccountingError, match=r"day 5: hedge_funds holds usd_bn = .* by its own records but"):
        check_identities(model)


def test_check_identities_detects_a_fund_whose_equity_is_not_its_assets_less_its_liabilities():
    """Its ledger rows still agree with the ledger: only the equity check (P&L against the balance
    sheet) can see it."""
    model = make_model(0)
    for _ in range(5):
        model.step()
    check_identities(model)
    model.hedge_funds.equity_book_usd_bn[7] += 0.01
    with pytest.raises(AccountingError, match="fund 7 equity by P&L"):
        check_identities(model)


@pytest.mark.parametrize(
    "asset, name",
    [("usd_bn", "USD"), ("jpy_tn", "JPY"), ("ust_units", "UST units"), ("jgb_units", "JGB units"),
     ("repo_usd_bn", "repo"), ("usd_fwd_bn", "FX forwards"), ("jgb30_units", "JGB 30y units")],
)  # fmt: skip
def test_every_column_is_checked_for_conservation(asset, name):
    model = make_model(0)
    model.step()
    model.ledger.book("trade", asset, 1.0)  # on one side only
    with pytest.raises(AccountingError, match=f"{name} .*not conserved"):
        check_identities(model)


def _held(model) -> list[tuple[str, str, str]]:
    return [(s.name, row, asset) for s in model.sector_list for row, h in s.holdings_rows().items() for asset in h]


def test_every_holding_a_sector_reports_is_checked_against_the_ledger():
    """For each (sector, ledger row, asset) a sector reports, a record that disagrees with the ledger is
    caught, whichever it is."""
    model = make_model(3)
    for _ in range(5):
        model.step()
    check_identities(model)
    held = _held(model)
    assert len(held) >= 30 and {s for s, _, _ in held} >= {"cta", "retail_fx", "life_insurers", "mof"}
    for (name, row, asset), nan in itertools.product(held, (False, True)):
        sector = model.sectors[name]
        real = type(sector).holdings_rows

        def off(self, row=row, asset=asset, real=real, nan=nan):
            rows = {r: dict(h) for r, h in real(self).items()}
            rows[row][asset] = math.nan if nan else rows[row][asset] + 1.0  # a NaN fails every comparison
            return rows

        sector.holdings_rows = off.__get__(sector)
        try:
            with pytest.raises(AccountingError, match=f"{row} holds {asset}"):
                check_identities(model)
        finally:
            del sector.holdings_rows
    check_identities(model)


def test_a_nan_anywhere_in_the_books_fails_the_checks():
    """Each check compares in the form that a NaN fails (``not x <= tol``): a NaN in a ledger cell, in a
    fund's or the dealers' equity by P&L, or in a holding the dealers' balance sheet values."""
    breaks = {
        "USD not conserved": lambda m: m.ledger.set("trade", "usd_bn", math.nan),
        "JGB units not conserved": lambda m: m.ledger.set("boj", "jgb_units", math.nan),
        "fund 7 equity by P&L nan": lambda m: m.hedge_funds.equity_book_usd_bn.__setitem__(7, math.nan),
        "dealers equity by P&L": lambda m: setattr(m.dealers, "equity_book_usd_bn", math.nan),
    }
    for match, corrupt in breaks.items():
        model = make_model(3)
        for _ in range(3):
            model.step()
        check_identities(model)
        corrupt(model)
        with pytest.raises(AccountingError, match=match):
            check_identities(model)
    model = make_model(3)
    model.step()
    model.dealers.ust_inventory_units = math.nan
    assert all(math.isnan(v) for v in model.dealers.balance_sheet(model))  # not the NaN holding left out


def test_check_identities_detects_bonds_created_from_nothing():
    model = make_model(0)
    model.step()
    model.ledger.book("ust_investors", "ust_units", 1.0)
    with pytest.raises(AccountingError, match="UST"):
        check_identities(model)


def test_check_identities_detects_forwards_created_from_nothing():
    """Forwards are in zero net supply: a long position booked without a short is caught."""
    model = make_model(0)
    model.step()
    check_identities(model)
    model.ledger.book("swap_clients", "usd_fwd_bn", 1.0)
    with pytest.raises(AccountingError, match="FX forwards"):
        check_identities(model)


def test_check_identities_detects_margin_that_does_not_net():
    """Variation margin paid to one holder and not charged to another leaves the settlement account
    with a balance: caught, although dollars are conserved."""
    model = make_model(0)
    model.step()
    model.ledger.book("forward_settlement", "usd_bn", -0.5)
    model.ledger.book("swap_clients", "usd_bn", 0.5)
    with pytest.raises(AccountingError, match="forward_settlement holds usd_bn"):
        check_identities(model)


def test_check_identities_detects_a_dealer_book_that_disagrees_with_the_ledger():
    model = make_model(0)
    model.step()
    model.dealers.fwd_usd_bn += 2.0
    with pytest.raises(AccountingError, match="dealers holds usd_fwd_bn"):
        check_identities(model)


def _coupons_by_hand(led: Ledger, jgb30: float, ust: float, jgb: float) -> None:
    """The coupon rule written with the ledger's own bookings, holder by holder."""
    ust_paid = jgb_paid = 0.0
    for holders, units, cash, coupon in ((JGB30_HOLDERS, "jgb30_units", "jpy_tn", jgb30),
                                         (UST_HOLDERS, "ust_units", "usd_bn", ust),
                                         (JGB_HOLDERS, "jgb_units", "jpy_tn", jgb)):  # fmt: skip
        for holder in holders:
            if led.has(holder):
                c = led.get(holder, units) * coupon
                led.book(holder, cash, c)
                if cash == "usd_bn":
                    ust_paid += c
                else:
                    jgb_paid += c
    led.book("us_treasury", "usd_bn", -ust_paid)
    led.book("jgb_issuer", "jpy_tn", -jgb_paid)


@pytest.mark.parametrize("missing", [(), ("boj", "life_insurers"), ("dealers",)])
def test_coupons_are_the_rule_written_holder_by_holder_to_the_last_bit(missing):
    class Day:
        jgb30_coupon_per_unit, ust_coupon_per_unit, jgb_coupon_per_unit = 0.0123, 0.0171, 0.0042

    rows = tuple(r for r in dict.fromkeys((*JGB30_HOLDERS, *UST_HOLDERS, *JGB_HOLDERS)) if r not in missing)
    ledgers = []

    def by_hand(led, day):
        _coupons_by_hand(led, day.jgb30_coupon_per_unit, day.ust_coupon_per_unit, day.jgb_coupon_per_unit)

    for pay in (pay_coupons, by_hand):
        led = Ledger(rows)
        led.table[:] = np.random.default_rng(7).normal(0.0, 50.0, led.table.shape)
        for _ in range(3):  # the cells looked up once serve every day
            pay(led, Day())
        ledgers.append(led)
    a, b = ledgers
    assert a.table.tobytes() == b.table.tobytes() and a.turnover.tobytes() == b.turnover.tobytes()


@pytest.mark.parametrize("amount, price", [(1.0 / 3.0, 151.7 / 1000.0), (-2.5, 0.93), (0.0, 1.1), (7.0, -0.0)])
def test_a_compiled_exchange_books_what_ledger_fx_and_bonds_book(amount, price):
    from model.accounting import book_exchange

    def ledger_with(cells_of):
        led = Ledger(("a", "b"))
        led.table[:] = np.arange(led.table.size, dtype=float).reshape(led.table.shape) / 7.0
        return led, led.cells(cells_of)

    for method, holdings in (("fx", (("a", "usd_bn"), ("a", "jpy_tn"))),
                             ("bonds", (("b", "ust_units"), ("b", "usd_bn")))):  # fmt: skip
        by_method, _ = ledger_with(holdings)
        if method == "fx":
            by_method.fx("a", amount, price)
        else:
            by_method.bonds("b", "ust_units", "usd_bn", amount, price)
        for fn in (book_exchange, book_exchange.py_func):
            led, cells = ledger_with(holdings)
            fn(led.table, led.turnover, cells, 0, 1, amount, price)
            assert led.table.tobytes() == by_method.table.tobytes(), method
            assert led.turnover.tobytes() == by_method.turnover.tobytes(), method
