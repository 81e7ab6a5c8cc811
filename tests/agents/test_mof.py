"""The MoF: reserves held in USTs and sold to fund interventions, and the signalling channel.

Identities of the reserves' books, the UST sale as supply in the day's UST clearing (twin on the
same seed funded from deposits instead), reductions (no signal = flow only), the signal's known
path, the calibration script's known answer on a planted model, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.mof import SIGNAL, Mof, MofConfig, MofState, funding, intervention_today, next_signal
from experiments.calibration.intervention import (
    RECORD,
    fit_halflife,
    fit_kappa,
    linear_response,
    record_move_pct,
)
from model.accounting import check_identities
from model.market import bond_price
from model.model import CarryUnwindModel
from model.registry import default_sectors
from model.scenarios import ScenarioEvent
from model.validation import ConfigError

SMALL = dict(hedge_funds__n_funds=50, nisa__n_households=2000)
SEEDS = (1, 2, 4)  # seed 3 crashes after the ¥5 tn intervention (a carry unwind, then no clearing price)
DAY = 12


def run(seed: int, days: int, events=(), sectors=None, check=False, **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(seed=seed, sectors=sectors, **{**SMALL, "mof__intervention": False, **overrides})
    for event in events:
        model.schedule(event.day, model.apply_event, event)
    for _ in range(days):
        model.step()
        if check:
            check_identities(model)
    return model


def intervene(jpy_tn: float, day: int = DAY) -> list[ScenarioEvent]:
    return [ScenarioEvent(day=day, kind="mof_intervention", params={"jpy_tn": jpy_tn})]


# -- the reserves' books -----------------------------------------------------------------------------
def test_reserves_open_with_the_configured_split_between_usts_and_deposits():
    cfg = MofConfig(reserves_usd_bn=1200.0, ust_share=0.75)
    state = MofState(cfg, ust_price=0.7)
    assert state.ust_holdings_usd_bn == pytest.approx(900.0, rel=1e-14)
    assert state.deposits_usd_bn == pytest.approx(300.0, rel=1e-14)
    assert state.reserves_usd_bn == pytest.approx(1200.0, rel=1e-14)
    assert state.ust_units == pytest.approx(900.0 / 0.7, rel=1e-14)


def test_ust_holdings_fall_by_the_amount_sold_every_day_and_the_books_balance():
    # two scripted interventions and one yen sale; the identities are checked after every day
    events = [*intervene(5.0, 8), *intervene(3.0, 15), *intervene(-2.0, 20)]
    model = run(2, 25, events, check=True)
    ts = model.timeseries()
    duration = model.config.market.ust_duration
    price = np.exp(-duration * ts.ust10y_yield.to_numpy())
    held = ts.mof_ust_holdings_usd_bn.to_numpy()
    sold = ts.mof_ust_sold_usd_bn.to_numpy()
    # holdings(t) = holdings(t−1) revalued at today's price − today's sale at today's price
    np.testing.assert_allclose(held[1:], held[:-1] * price[1:] / price[:-1] - sold[1:], rtol=1e-12, atol=1e-9)
    assert sold[8] > 0 and sold[15] > 0 and sold[20] == 0.0  # a yen sale buys dollars into deposits
    assert np.count_nonzero(sold) == 2
    # the MoF's ledger row is its own books, and its USTs are part of the amount outstanding
    led, st = model.ledger, model.mof.state
    assert led.get("mof", "ust_units") == pytest.approx(st.ust_units, rel=1e-12)
    assert led.get("mof", "usd_bn") == pytest.approx(st.deposits_usd_bn, rel=1e-12)
    holders = sum(led.get(r, "ust_units") for r in led.rows if r != "us_treasury")
    assert model.outstanding_ust_units == pytest.approx(holders, rel=1e-12)


def test_the_dollars_sold_are_raised_by_selling_usts_when_the_deposits_are_at_their_buffer():
    model = run(1, DAY, intervene(4.0))
    ts = model.timeseries()
    duration = model.config.market.ust_duration
    usd = 4.0 * 1000.0 / ts.usdjpy.iloc[DAY - 1]
    units = ts.mof_ust_sold_usd_bn.iloc[DAY] / bond_price(ts.ust10y_yield.iloc[DAY], duration)
    # the units were sized at yesterday's close to raise exactly the dollars sold
    assert units * bond_price(ts.ust10y_yield.iloc[DAY - 1], duration) == pytest.approx(usd, rel=1e-12)


def test_funding_spends_deposits_above_the_buffer_first_then_sells_usts():
    cfg = MofConfig(reserves_usd_bn=1000.0, ust_share=0.8, deposit_buffer_share=0.5)
    state = MofState(cfg, ust_price=0.5)  # deposits 200, buffer 100, USTs $800 bn
    assert funding(state, 60.0) == pytest.approx((60.0, 0.0))
    deposits, units = funding(state, 150.0)
    assert deposits == pytest.approx(100.0) and units * 0.5 == pytest.approx(50.0)
    assert funding(state, -30.0) == (-30.0, 0.0)  # dollars bought go to the deposits
    # never more USTs than it holds: what is left comes from deposits below the buffer
    deposits, units = funding(state, 950.0)
    assert units == pytest.approx(state.ust_units) and deposits == pytest.approx(150.0)


def test_the_reserve_floor_counts_the_usts_at_market_value():
    # $900 bn of reserves, floor $860 bn: $40 bn may be sold however they are held
    cfg = MofConfig(intervention_level_usdjpy=150.0, burst_jpy_tn=10.0, reserves_usd_bn=900.0,
                    reserve_floor_usd_bn=860.0, ust_share=0.9)  # fmt: skip
    amount = intervention_today(cfg, MofState(cfg, ust_price=0.6), usdjpy=160.0, usdjpy_window_ago=160.0)
    assert amount * 1000.0 / 160.0 == pytest.approx(40.0, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_ust_sale_raises_the_ust_yield_against_a_twin_funded_from_deposits(seed):
    # the twin keeps no deposit buffer and holds enough deposits: the same intervention sells no USTs
    deposits_only = dict(mof__deposit_buffer_share=0.0, mof__ust_share=0.5)
    sells = run(seed, DAY, intervene(5.0), mof__ust_share=0.5).timeseries()
    spends = run(seed, DAY, intervene(5.0), **deposits_only).timeseries()
    assert sells.mof_ust_sold_usd_bn.iloc[DAY] > 30.0 and spends.mof_ust_sold_usd_bn.iloc[DAY] == 0.0
    assert sells.ust10y_yield.iloc[:DAY].equals(spends.ust10y_yield.iloc[:DAY])
    assert sells.ust10y_yield.iloc[DAY] > spends.ust10y_yield.iloc[DAY]


# -- signalling --------------------------------------------------------------------------------------
def test_the_signal_follows_its_known_path():
    kappa, halflife = 0.004, 3.0
    model = run(4, DAY + 6, intervene(5.0), mof__signal_log_per_jpy_tn=kappa, mof__signal_halflife_days=halflife)
    signal = model.timeseries().mof_signal_log.to_numpy()
    assert np.all(signal[:DAY] == 0.0)
    expected = -kappa * 5.0 * 0.5 ** (np.arange(7) / halflife)
    np.testing.assert_allclose(signal[DAY:], expected, rtol=1e-12)
    assert next_signal(-0.01, 2.0, 0.004, 0.5) == pytest.approx(-0.013)
    assert next_signal(0.0, -2.0, 0.004, 0.5) == pytest.approx(0.008)  # selling yen signals a higher ceiling


class _SilentMof(Mof):
    """The MoF without its signal in ``model.signals``: real money sees no shift at all."""

    def publish(self, model):
        return {k: v for k, v in super().publish(model).items() if k != SIGNAL}


def test_no_signal_is_the_flow_only_model_bit_for_bit():
    sectors = tuple(_SilentMof if s is Mof else s for s in default_sectors())
    flow_only = run(4, DAY + 3, intervene(5.0), mof__signal_log_per_jpy_tn=0.0).timeseries()
    silent = run(4, DAY + 3, intervene(5.0), sectors=sectors, mof__signal_log_per_jpy_tn=0.01).timeseries()
    assert flow_only.drop(columns="mof_signal_log").equals(silent.drop(columns="mof_signal_log"))
    # and a signalling MoF that never intervenes changes nothing
    quiet_a = run(4, DAY + 3, mof__signal_log_per_jpy_tn=0.01).timeseries()
    quiet_b = run(4, DAY + 3, mof__signal_log_per_jpy_tn=0.0).timeseries()
    assert quiet_a.equals(quiet_b)


def test_real_money_anchor_moves_by_the_signal():
    model = run(5, DAY, intervene(5.0), mof__signal_log_per_jpy_tn=0.004)
    rm = model.real_money
    assert model.signals[SIGNAL] == pytest.approx(-0.02, rel=1e-12)
    assert rm.perceived_anchor(model) - rm.log_anchor == pytest.approx(-0.02, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_signalling_adds_to_the_same_day_effect_against_the_flow_only_twin(seed):
    def effect(kappa: float) -> float:
        with_it = run(seed, DAY, intervene(5.0), mof__signal_log_per_jpy_tn=kappa).timeseries()
        without = run(seed, DAY, mof__signal_log_per_jpy_tn=kappa).timeseries()
        return math.log(with_it.usdjpy.iloc[DAY] / without.usdjpy.iloc[DAY])

    flow, full = effect(0.0), effect(0.004)
    assert flow < 0.0
    # the signal (a 2% shift of real money's anchor) moves the close further down; by how much depends
    # on the day's state (stop-outs and margin calls can amplify it), so only its sign and a floor
    assert full - flow < -0.002


# -- the calibration script --------------------------------------------------------------------------
def test_the_fit_recovers_a_planted_coefficient():
    planted = 0.0042
    a = {"d1": -0.6, "d2": -1.1, "d3": -0.8}
    b = {"d1": -260.0, "d2": -590.0, "d3": -300.0}

    def effect(day, kappa):
        return a[day] + b[day] * kappa

    targets = {d: effect(d, planted) for d in a}
    response = linear_response(effect, ["d1", "d2"], probe=0.005)
    assert response["d1"] == pytest.approx((-0.6, -260.0))
    assert fit_kappa(response, targets) == pytest.approx(planted, rel=1e-12)
    # targets the linear model cannot reach both: least squares, then the declared range
    assert fit_kappa(response, {"d1": 0.5, "d2": 0.5}) == 0.0
    assert fit_kappa(response, {"d1": -1e3, "d2": -1e3}) == 0.05


def test_the_half_life_is_the_grid_point_closest_to_the_record_share():
    best, shares = fit_halflife(lambda h: 0.4 + 0.05 * h, grid=(0.5, 1.0, 2.0, 5.0), target=0.5)
    assert best == 2.0 and shares[5.0] == pytest.approx(0.65)


def test_the_record_moves_are_the_days_closes_against_their_levels():
    assert record_move_pct("2022-09-22") == pytest.approx(100 * math.log(142.4 / 145.9))
    per_tn = [record_move_pct(d) / RECORD[d][0] for d in RECORD]
    assert all(-0.9 < x < -0.4 for x in per_tn)


def test_the_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="probe"):
        linear_response(lambda d, k: 0.0, ["d1"], probe=0.0)
    with pytest.raises(ValueError, match="not identified"):
        fit_kappa({"d1": (-0.5, 0.0)}, {"d1": -1.0})
    with pytest.raises(ValueError, match="lack the fit days"):
        fit_kappa({"d1": (-0.5, -100.0)}, {})
    with pytest.raises(ValueError, match="not finite"):
        fit_kappa({"d1": (math.nan, -100.0)}, {"d1": -1.0})


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [("ust_share", 1.5), ("deposit_buffer_share", -0.1), ("signal_log_per_jpy_tn", -0.01),
     ("signal_halflife_days", 0.0)],
)  # fmt: skip
def test_bad_mof_config_names_the_field_and_range(field, value):
    with pytest.raises(ConfigError, match=rf"^mof\.{field} = .* expected"):
        MofConfig(**{field: value})


def test_a_bad_ust_price_is_rejected():
    with pytest.raises(ConfigError, match="ust_price"):
        MofState(MofConfig(), ust_price=0.0)


def _settle_with_the_ledgers_bookings(ledger, trades, prices, books, buffer_share):
    """The MoF's settlement as it was written in Python with the ledger's own bookings: the rule the
    compiled mof_settle must reproduce to the last bit."""
    units_sold, usd_sold, jgb_bought, jgb30_bought = trades
    ust_price, usdjpy, coupon_per_unit, jgb_price, jgb30_price = prices
    units, deposits, buffer = books
    proceeds = units_sold * ust_price
    ledger.bonds("mof", "ust_units", "usd_bn", -units_sold, ust_price)
    ledger.fx("mof", -usd_sold, usdjpy / 1000.0)
    units -= units_sold
    deposits += proceeds - usd_sold
    coupon = units * coupon_per_unit
    ledger.book("mof", "usd_bn", coupon)
    ledger.book("us_treasury", "usd_bn", -coupon)
    deposits += coupon
    buffer += buffer_share * coupon
    ledger.bonds("jgb_issuer", "jgb_units", "jpy_tn", jgb_bought, jgb_price)
    ledger.bonds("jgb_issuer", "jgb30_units", "jpy_tn", jgb30_bought, jgb30_price)
    return proceeds, units, deposits, buffer


@pytest.mark.parametrize("seed", range(10))
def test_the_compiled_settlement_is_the_rule_with_the_ledgers_bookings_to_the_last_bit(seed):
    from agents import mof as mof_module
    from model.accounting import Ledger

    rng = np.random.default_rng(seed)
    trades = (rng.uniform(0, 50) if seed % 2 else 0.0, rng.normal(0, 30), rng.normal(0, 0.5), rng.normal(0, 0.1))
    prices = (
        rng.uniform(60, 120),
        rng.uniform(100, 170),
        rng.uniform(0, 0.02),
        rng.uniform(80, 100),
        rng.uniform(40, 70),
    )
    books = (rng.uniform(0, 15), rng.uniform(0, 300), rng.uniform(0, 50))
    start = rng.normal(0.0, 100.0)
    results = []
    for fn in (None, mof_module.mof_settle, mof_module.mof_settle.py_func):
        ledger = Ledger(("mof", "us_treasury", "jgb_issuer"))
        ledger.table[:] = start + np.arange(ledger.table.size).reshape(ledger.table.shape)
        ledger.freeze_initial()
        if fn is None:
            out = _settle_with_the_ledgers_bookings(ledger, trades, prices, books, 0.25)
        else:
            out = fn(trades, prices, books, 0.25, ledger.table, ledger.turnover, ledger.cells(mof_module._BOOKED))
        results.append((np.array(out).tobytes(), ledger.table.tobytes(), ledger.turnover.tobytes()))
    assert results[1] == results[0] and results[2] == results[0]
