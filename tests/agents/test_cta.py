"""Trend followers (CTAs): the signal and the vol-targeted position by hand, the compiled flows against
their Python source bit for bit, analytic derivatives against central differences, the disabled
sector, the accounting identities every day, the P&L of a day by hand, the amplification of a sharp
fall (twin runs with and without CTAs over several seeds) and a run with 100,000 accounts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import cta
from agents.cta import CtaConfig
from model.accounting import check_identities
from model.scenarios import ScenarioEvent
from model.sector import AUX_FORCED, FWD, FX, N_AUX, N_MARKETS, TRADING_DAYS
from model.sums import ROW_BLOCK
from tests.support import make_model, run_model

SQRT_DAYS = math.sqrt(TRADING_DAYS)


def signal(s, *, anchor=0.0, inv_width=1.0, upper=1.0, lower=-1.0, exit_upper=1.0, exit_lower=-1.0, long0=0.0,
           short0=0.0, ramp=0.01, beta=0.0):  # fmt: skip
    return cta.cta_signal(s, anchor, inv_width, upper, lower, exit_upper, exit_lower, long0, short0, ramp, beta)


# -- the rules by hand ------------------------------------------------------------------------------
def test_momentum_signal_is_tanh_of_the_normalised_trailing_return():
    # r = 0.02 over L = 4 days at σ_d = 1%: one standard deviation of the 4-day return, w = 1
    inv_width = 1.0 / (1.0 * 0.01 * math.sqrt(4.0))
    phi, dphi, long, short = signal(0.12, anchor=0.10, inv_width=inv_width)
    assert phi == pytest.approx(0.7615941559557649, rel=1e-14)  # tanh(1)
    assert dphi == pytest.approx(50.0 * (1.0 - 0.7615941559557649**2), rel=1e-12)
    assert (long, short) == (0.0, 0.0)
    # a fall gives the opposite sign; no trend, no signal
    assert signal(0.08, anchor=0.10, inv_width=inv_width)[0] == pytest.approx(-0.7615941559557649, rel=1e-14)
    assert signal(0.10, anchor=0.10, inv_width=inv_width)[0] == 0.0


def test_breakout_enters_above_the_channel_and_exits_below_the_narrower_one():
    # half-way up the entry ramp (ramp 0.01): smoothstep(0.5) = 0.5, slope 1.5/ramp
    phi, dphi, long, short = signal(0.005, upper=0.0, lower=-0.02, exit_upper=-0.001, exit_lower=-0.01, beta=1.0)
    assert (phi, long, short) == (0.5, 0.5, 0.0)
    assert dphi == pytest.approx(150.0, rel=1e-12)
    # fully beyond the ramp: a full long
    assert signal(0.02, upper=0.0, beta=1.0)[:3] == (1.0, 0.0, 1.0)
    # a long held from yesterday stays inside the channel (hysteresis)...
    assert signal(0.0, upper=0.05, lower=-0.05, exit_lower=-0.02, long0=1.0, beta=1.0)[0] == 1.0
    # ...and is cut a quarter of the way down the exit ramp below the exit channel: 1 − smoothstep(0.25)
    phi, dphi, long, _ = signal(-0.0025, upper=0.05, lower=-0.05, exit_lower=0.0, long0=1.0, beta=1.0)
    assert long == pytest.approx(1.0 - 0.15625, rel=1e-14) and phi == long
    assert dphi == pytest.approx(6.0 * 0.25 * 0.75 / 0.01, rel=1e-12)
    # a short entry below the channel; momentum and breakout blend with weight β
    phi, _, _, short = signal(-0.03, anchor=-0.03, lower=-0.02, beta=0.3)
    assert short == 1.0 and phi == pytest.approx(-0.3, rel=1e-14)


def test_vol_targeted_position_with_partial_adjustment():
    cfg = CtaConfig(n_ctas=2, pre_sample_random=False, signal_width=0.5)
    closes = cta.pre_sample_path(cfg, np.random.default_rng(0), math.log(150.0), 0.006)
    state = cta.init_ctas(cfg, np.random.default_rng(0), closes, 0.006)
    state.cash_usd_bn[:] = [2.0, -1.0]
    state.vol_target_pa[:] = [0.12, 0.12]
    ramp = cta.sizing(state, cfg, 0.08 / SQRT_DAYS)
    # E·σ*/σ̂ = 2 × 0.12 / 0.08 = 3; a CTA with no equity left targets nothing
    np.testing.assert_allclose(state.scale, [3.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(state.inv_width, 1.0 / (0.5 * 0.08 / SQRT_DAYS * np.sqrt(state.lookback_days)))
    assert ramp == pytest.approx(cfg.breakout_ramp_sd * 0.08 / SQRT_DAYS, rel=1e-14)
    # half a signal at κ = 0.25 from 0.5: 0.5 + 0.25·(1.5 − 0.5)
    x, dx = cta.cta_position(0.5, 3.0, 0.5, 10.0, 0.25)
    assert (x, dx) == (0.75, 7.5)
    # in calm markets the volatility floor caps leverage at σ*/floor
    cta.sizing(state, cfg, 0.01 / SQRT_DAYS)
    assert state.scale[0] == pytest.approx(2.0 * 0.12 / cfg.vol_floor_pa, rel=1e-14)


def test_lookups_read_the_anchor_and_both_channels_from_past_closes():
    past = np.array([0.3, 0.1, 0.5, -0.2, 0.0])  # most recent first: yesterday's close is 0.3
    anchor, upper, lower, exit_upper, exit_lower = cta.daily_lookups(past, np.array([4, 1]), np.array([2, 1]))
    np.testing.assert_array_equal(anchor, [-0.2, 0.3])
    np.testing.assert_array_equal(upper, [0.5, 0.3])
    np.testing.assert_array_equal(lower, [-0.2, 0.3])
    np.testing.assert_array_equal(exit_upper, [0.3, 0.3])
    np.testing.assert_array_equal(exit_lower, [0.1, 0.3])


def test_a_pre_sample_uptrend_opens_long_positions_that_the_dealers_intermediate():
    up = make_model(0, cta__pre_sample_random=False, cta__pre_sample_drift_pa=0.2)
    down = make_model(0, cta__pre_sample_random=False, cta__pre_sample_drift_pa=-0.2)
    flat = make_model(0, cta__pre_sample_random=False)
    for model, sign in ((up, 1.0), (down, -1.0)):
        st = model.cta.state
        assert np.all(np.sign(st.fwd_usd_bn) == sign)
        assert np.all((st.long_state if sign > 0 else st.short_state) > 0.99)  # broke out and never exited
        path = cta.pre_sample_path(model.config.cta, None, model.market.log_usdjpy, 0.0)
        assert path[-1] == model.market.log_usdjpy
        assert np.diff(path) == pytest.approx(sign * 0.2 / TRADING_DAYS, rel=1e-9)
        assert model.ledger.get("cta", "usd_fwd_bn") == pytest.approx(st.fwd_usd_bn.sum(), rel=1e-12)
        check_identities(model)  # the forward column nets to zero with the CTAs' opening book
    assert np.all(flat.cta.state.fwd_usd_bn == 0.0)


# -- the compiled flows -----------------------------------------------------------------------------
def _book_at(model, s_offsets):
    """The CTAs' clearing inputs for the next day, and trial price vectors around yesterday's close,
    including points on the breakout ramps of some accounts."""
    sector = model.cta
    sector.decide(model)
    book = sector.clearing_inputs(model)
    s0 = model.market.log_usdjpy
    mk = model.market
    base = np.array([s0, mk.ust10y_yield, mk.jgb10y_yield, mk.fx_basis, mk.jgb30y_yield])
    points = [base + np.eye(N_MARKETS)[FX] * d for d in s_offsets]
    for edge in (book.upper[0], book.lower[0], book.exit_upper[1], book.exit_lower[1]):
        for frac in (-0.3, 0.3, 0.7):
            points.append(np.array([edge + frac * book.ramp, *base[1:]]))
    return book, points


def _evaluate(fn, p, book):
    scratch = book._replace(**{f: np.empty_like(getattr(book, f)) for f in book._fields if f.startswith("out_")})
    z, jac, gross, out = np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(N_MARKETS)
    aux = np.zeros((N_AUX, 1 + N_MARKETS))
    fn(p, scratch, z, jac, gross, out, aux)
    return z, jac, gross, out, aux, scratch


@pytest.fixture(scope="module")
def traded_model():
    return run_model(3, 60, "risk_off")


def test_compiled_flows_equal_their_python_source_bit_for_bit(traded_model):
    book, points = _book_at(traded_model, (-0.05, -0.01, 0.0, 0.004, 0.03))
    for p in points:
        fast = _evaluate(cta.cta_flows, p, book)
        slow = _evaluate(cta.cta_flows.py_func, p, book)
        for a, b in zip(fast[:5], slow[:5], strict=True):
            np.testing.assert_array_equal(a, b)
        for f in ("out_x", "out_long", "out_short"):
            np.testing.assert_array_equal(getattr(fast[5], f), getattr(slow[5], f))
        # forwards only: nothing in spot or bonds, no forced sales
        z, jac, gross, out, aux, _ = fast
        assert z[FX] == 0.0 and out[FX] == 0.0 and not aux.any()
        assert out[FWD] == z[FWD]


def _one_loop_flows(p, book):
    """The CTAs' flows as one plain-Python loop over CTAs in row order (the rule the blocked kernel
    must reproduce), into fresh outputs: ``(z, jac, gross, out, x, long, short)``."""
    n = book.fwd_usd_bn.shape[0]
    x_out, long_out, short_out = np.empty(n), np.empty(n), np.empty(n)
    total = slope = traded = 0.0
    for i in range(n):
        phi, dphi, long, short = cta.cta_signal.py_func(
            p[FX], book.anchor[i], book.inv_width[i], book.upper[i], book.lower[i], book.exit_upper[i],
            book.exit_lower[i], book.long_state[i], book.short_state[i], book.ramp, book.breakout_weight,
        )  # fmt: skip
        x, dx = cta.cta_position.py_func(book.fwd_usd_bn[i], book.scale[i], phi, dphi, book.speed)
        if book.liquidating[i]:
            x, dx = 0.0, 0.0
        x_out[i], long_out[i], short_out[i] = x, long, short
        q = x - book.fwd_usd_bn[i]
        total += q
        slope += dx
        traded += abs(q)
    z, jac, gross, out = np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS), np.zeros(N_MARKETS)
    z[FWD] += total
    jac[FWD, FX] += slope
    gross[FWD] += traded
    out[FWD] = total
    return z, jac, gross, out, x_out, long_out, short_out


def test_a_failed_ctas_closing_is_a_forced_sale_of_its_long_dollars(traded_model):
    """Two CTAs marked as closing, one long and one short dollars: both positions go to 0 whatever the price,
    with no slope, and only the long one's closing enters the forced sales the risk index reads."""
    book, points = _book_at(traded_model, (-0.02, 0.0, 0.02))
    fwd = book.fwd_usd_bn.copy()
    fwd[0], fwd[1] = 3.0, -2.0
    closing = np.zeros(fwd.shape[0], dtype=np.bool_)
    closing[:2] = True
    failed = book._replace(fwd_usd_bn=fwd, liquidating=closing)
    for p in points:
        for fn in (cta.cta_flows, cta.cta_flows.py_func):
            z, jac, gross, out, aux, scratch = _evaluate(fn, p, failed)
            assert scratch.out_x[0] == 0.0 and scratch.out_x[1] == 0.0
            assert aux[AUX_FORCED, 0] == 3.0 and not aux[AUX_FORCED, 1:].any()
        ref = _one_loop_flows(p, failed)
        np.testing.assert_array_equal(_evaluate(cta.cta_flows, p, failed)[0], ref[0])


def test_blocked_flows_equal_one_loop_over_ctas_bit_for_bit(traded_model):
    """The kernel takes the CTAs a block at a time (vector loop, then row-order sums); a plain loop
    over CTAs must give the same sums and outputs, across more than one block."""
    book, points = _book_at(traded_model, (-0.05, -0.01, 0.0, 0.004, 0.03))
    assert book.fwd_usd_bn.shape[0] > ROW_BLOCK
    for p in points:
        z, jac, gross, out, _, scratch = _evaluate(cta.cta_flows, p, book)
        ref = _one_loop_flows(p, book)
        for a, b in zip((z, jac, gross, out, scratch.out_x, scratch.out_long, scratch.out_short), ref, strict=True):
            np.testing.assert_array_equal(a, b)


def _branchy_smoothstep(u):
    if u <= 0.0:
        return 0.0, 0.0
    if u >= 1.0:
        return 1.0, 0.0
    return u * u * (3.0 - 2.0 * u), 6.0 * u * (1.0 - u)


@pytest.mark.parametrize("u", [-np.inf, -1.0, -1e-300, -0.0, 0.0, 5e-324, 1e-8, 0.25, 0.5, 1 - 1e-16, 1.0, 2.0, np.inf])
def test_smoothstep_selection_equals_the_branches_bit_for_bit(u):
    for fn in (cta.smoothstep, cta.smoothstep.py_func):
        got, want = fn(u), _branchy_smoothstep(u)
        assert [math.copysign(1.0, g) for g in got] == [math.copysign(1.0, w) for w in want]  # signs of zeros
        assert got == want
    assert all(math.isnan(v) for v in cta.smoothstep(math.nan))


def test_analytic_derivatives_equal_central_differences(traded_model):
    book, points = _book_at(traded_model, (-0.05, -0.01, 0.0, 0.004, 0.03))
    h = 1e-7
    slopes = []
    for p in points:
        _, jac, *_ = _evaluate(cta.cta_flows, p, book)
        for k in range(N_MARKETS):
            up, down = p.copy(), p.copy()
            up[k] += h
            down[k] -= h
            numeric = (_evaluate(cta.cta_flows, up, book)[0] - _evaluate(cta.cta_flows, down, book)[0]) / (2 * h)
            np.testing.assert_allclose(jac[:, k], numeric, rtol=1e-5, atol=1e-5 * max(1.0, abs(jac[FWD, FX])))
        slopes.append(jac[FWD, FX])
    assert max(slopes) > 1.0  # dollar buying rises with USD/JPY: they buy strength


# -- reductions and accounts ------------------------------------------------------------------------
def test_disabled_ctas_hold_nothing_and_trade_nothing():
    model = make_model(1, "risk_off", cta__enabled=False)
    for _ in range(80):
        model.step()
        assert model.clearing.work.flows[model._flow_index["cta"]].tolist() == [0.0] * N_MARKETS
    assert model.cta.state.fwd_usd_bn.shape == (0,)
    assert model.ledger.get("cta", "usd_fwd_bn") == 0.0 and model.ledger.get("cta", "usd_bn") == 0.0
    df = model.timeseries()
    for col in ("cta_position_usd_bn", "cta_gross_usd_bn", "cta_flow_usd_bn", "cta_equity_usd_bn"):
        assert (df[col] == 0.0).all(), col


def test_identities_hold_every_day_with_ctas_trading_both_ways():
    model = make_model(0)
    check_identities(model)
    positions = []
    for _ in range(250):
        model.step()
        check_identities(model)
        st = model.cta.state
        assert model.ledger.get("cta", "usd_fwd_bn") == pytest.approx(st.fwd_usd_bn.sum(), rel=1e-9, abs=1e-9)
        positions.append(st.fwd_usd_bn.sum())
    flows = np.asarray(model.history["cta_flow_usd_bn"][1:])
    assert np.abs(flows).sum() > 10.0  # they did trade
    assert min(positions) < 0.0 < max(positions)  # long and short dollars in the same run


def test_a_day_of_pnl_by_hand():
    model = run_model(4, 30)
    st, mk = model.cta.state, model.market
    cash, fwd, s_prev = st.cash_usd_bn.copy(), st.fwd_usd_bn.copy(), mk.usdjpy
    r_us, r_jp = mk.us_short_rate, mk.boj_rate
    led_cash = model.ledger.get("cta", "usd_bn")
    model.step()
    carry = (r_us - r_jp - mk.fx_basis) / TRADING_DAYS
    after = (cash + fwd * (1.0 - s_prev / mk.usdjpy) + st.fwd_usd_bn * carry) * (1.0 + r_us / TRADING_DAYS)
    np.testing.assert_allclose(st.cash_usd_bn, after, rtol=1e-12)
    assert model.ledger.get("cta", "usd_bn") - led_cash == pytest.approx((after - cash).sum(), rel=1e-9)
    # each CTA's day as the state records it: margin, carry and interest by hand, and their sum is the cash's change
    np.testing.assert_allclose(st.margin_usd_bn, fwd * (1.0 - s_prev / mk.usdjpy), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(st.carry_usd_bn, st.fwd_usd_bn * carry, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(st.interest_usd_bn, (after - cash) - st.margin_usd_bn - st.carry_usd_bn, rtol=1e-9,
                               atol=1e-12)  # fmt: skip
    assert np.all(np.abs(st.interest_usd_bn) > 0.0)  # with cash interest on, every account earns or pays some


def test_a_failed_cta_is_closed_out_the_next_day_and_the_dealers_bear_its_shortfall(monkeypatch):
    """Plant a CTA with almost no cash and a large long-dollar position (moved from another CTA, so the
    sector's books are unchanged), then a $100 bn dollar sale. It fails at that day's settlement, its
    forwards are closed at the next day's clearing, and the dealers bear what it then owes, the amount
    recomputed by hand from its margin and interest; it never trades again. The books balance every day."""
    model = run_model(5, 30)
    st, dealers = model.cta.state, model.sectors["dealers"]
    cash0 = 1e-6
    st.fwd_usd_bn[0], st.fwd_usd_bn[1] = st.fwd_usd_bn[0] + 5.0, st.fwd_usd_bn[1] - 5.0
    st.cash_usd_bn[1] += st.cash_usd_bn[0] - cash0
    st.cash_usd_bn[0] = cash0
    check_identities(model)
    borne = []
    original = dealers.bear_counterparty_loss

    def bear(led, usd):  # the funds call it every day, with 0.0 when none failed
        if usd != 0.0:
            borne.append(usd)
        original(led, usd)

    monkeypatch.setattr(dealers, "bear_counterparty_loss", bear)

    model.apply_event(ScenarioEvent(day=model.day + 1, kind="trade_flow", params={"usd_bn": SHOCK_USD_BN}))
    model.step()  # the shock: the planted CTA loses more than its cash and fails at the settlement
    check_identities(model)
    assert model.history["cta_failures"][-1] == 1
    assert st.failed[0] and st.liquidating[0] and st.cash_usd_bn[0] < 0.0
    assert not st.failed[1:].any() and borne == []
    cash, fwd, s_prev = st.cash_usd_bn[0], st.fwd_usd_bn[0], model.market.usdjpy
    assert fwd > 0.0  # the partial adjustment left it long

    model.step()  # closed at this day's clearing; its margin on the position it held overnight, then interest
    check_identities(model)
    owed = (cash + fwd * (1.0 - s_prev / model.market.usdjpy)) * (1.0 + model.market.us_short_rate / TRADING_DAYS)
    assert st.fwd_usd_bn[0] == 0.0 and not st.liquidating[0] and st.failed[0]
    assert owed < 0.0 and borne == [pytest.approx(-owed, rel=1e-12)] and st.cash_usd_bn[0] == 0.0
    assert model.history["cta_failures"][-1] == 0
    assert model.ledger.get("cta", "usd_bn") == pytest.approx(st.cash_usd_bn.sum(), rel=1e-12)

    for _ in range(20):  # its slot stays empty
        model.step()
        assert st.fwd_usd_bn[0] == 0.0 and st.cash_usd_bn[0] == 0.0 and st.scale[0] == 0.0
    check_identities(model)
    assert sum(model.history["cta_failures"]) == 1


# -- emergent: trend followers amplify a sharp fall --------------------------------------------------
SHOCK_DAY = 30
SHOCK_USD_BN = -100.0  # a day's dollar sale by customers: USD/JPY falls ~3%
AMPLIFY_SEEDS = range(12)


def shocked_path(seed: int, enabled: bool, days: int = 20):
    model = make_model(seed, cta__enabled=enabled)
    for day in range(1, SHOCK_DAY + days + 1):
        if day == SHOCK_DAY:
            model.apply_event(ScenarioEvent(day=day, kind="trade_flow", params={"usd_bn": SHOCK_USD_BN}))
        model.step()
    return np.log(np.asarray(model.history["usdjpy"])), np.asarray(model.history["cta_flow_usd_bn"])


@pytest.fixture(scope="module")
def twin_runs():
    """Per seed: the shock day's ln S move with and without CTAs, the 20-day move, the CTAs' flow that day."""
    rows = []
    for seed in AMPLIFY_SEEDS:
        (s_on, flow), (s_off, _) = shocked_path(seed, True), shocked_path(seed, False)
        pre = SHOCK_DAY - 1
        rows.append((s_on[SHOCK_DAY] - s_on[pre], s_off[SHOCK_DAY] - s_off[pre], s_on[pre + 20] - s_on[pre],
                     s_off[pre + 20] - s_off[pre], flow[SHOCK_DAY]))  # fmt: skip
    return np.array(rows)


def test_ctas_sell_into_a_sharp_fall_and_deepen_it(twin_runs):
    """Twin runs (same seed, CTAs on and off) with a $100 bn dollar sale on day 30. Measured on the
    12-seed calibration (seeds 0-11, commit 330422d): the ~2.7% shock-day fall is deeper with CTAs in
    12 of 12 seeds, by 0.06 pp on average; over 20 days by 0.24 pp, deeper in 9 of 12; the CTAs sell
    dollars on the shock day in 12 of 12 seeds (−$1.1 bn on average). The thresholds below are looser
    than these figures, so that a recalibration that keeps the mechanism passes."""
    day_on, day_off, month_on, month_off, flow = twin_runs.T
    assert np.all(day_off < -0.01)  # the shock is a sharp fall
    amp_day = np.abs(day_on) - np.abs(day_off)
    assert np.sum(amp_day > 0.0) >= 10, amp_day
    assert amp_day.mean() > 0.0003, amp_day.mean()
    amp_month = month_off - month_on  # positive: a larger fall with CTAs
    assert np.sum(amp_month > 0.0) >= 8, amp_month
    assert amp_month.mean() > 0.0, amp_month.mean()
    assert np.sum(flow < 0.0) >= 10 and flow.mean() < -0.5, flow  # they sell on the shock day


# -- scaling ---------------------------------------------------------------------------------------
def test_100k_ctas_give_the_same_aggregates_per_unit_capital():
    days = 40
    small, large = run_model(0, days, cta__n_ctas=200), run_model(0, days, cta__n_ctas=100_000)
    a, b = small.timeseries(), large.timeseries()
    assert large.cta.state.fwd_usd_bn.shape == (100_000,)
    assert b["cta_equity_usd_bn"].iloc[0] == pytest.approx(a["cta_equity_usd_bn"].iloc[0], rel=1e-12)
    net_a = (a["cta_position_usd_bn"] / a["cta_equity_usd_bn"]).to_numpy()
    net_b = (b["cta_position_usd_bn"] / b["cta_equity_usd_bn"]).to_numpy()
    gross_a = (a["cta_gross_usd_bn"] / a["cta_equity_usd_bn"]).to_numpy()
    gross_b = (b["cta_gross_usd_bn"] / b["cta_equity_usd_bn"]).to_numpy()
    assert np.corrcoef(net_a, net_b)[0, 1] > 0.95
    assert np.abs(net_a - net_b).mean() < 0.2  # leverage units: a full signal is ~1.4
    assert gross_b.mean() == pytest.approx(gross_a.mean(), rel=0.1)
    assert np.abs(np.diff(np.log(a["usdjpy"])) - np.diff(np.log(b["usdjpy"]))).max() < 0.005
    check_identities(large)


def test_same_seed_same_run_bit_for_bit():
    a, b, other = run_model(5, 25), run_model(5, 25), run_model(6, 25)
    for col in ("usdjpy", "cta_position_usd_bn", "cta_equity_usd_bn", "cta_flow_usd_bn"):
        assert a.history[col] == b.history[col], col
        assert a.history[col] != other.history[col], col  # and the seed matters


def test_the_funds_trend_followers_start_from_the_same_pre_sample_trend():
    """The market's trend estimate, which the carry funds' trend followers read, starts at the
    pre-sample drift: a downtrend lowers their opening positions and leaves the other funds' alone. (An
    uptrend cannot show it here: at the opening volatility their volatility target caps them already.)"""
    down = make_model(0, cta__pre_sample_random=False, cta__pre_sample_drift_pa=-0.2)
    flat = make_model(0, cta__pre_sample_random=False)
    assert down.market.trend_daily * TRADING_DAYS == pytest.approx(-0.2, rel=1e-15)
    assert flat.market.trend_daily == 0.0
    trend = down.hedge_funds.vol_target_pa > 0
    assert trend.any() and (~trend).any()
    assert np.all(down.hedge_funds.fwd_usd_bn[trend] <= flat.hedge_funds.fwd_usd_bn[trend])
    assert down.hedge_funds.fwd_usd_bn[trend].sum() < 0.5 * flat.hedge_funds.fwd_usd_bn[trend].sum()
    np.testing.assert_array_equal(down.hedge_funds.fwd_usd_bn[~trend], flat.hedge_funds.fwd_usd_bn[~trend])


def test_ctas_given_no_capital_are_empty_not_failed():
    """With no capital for USD/JPY every CTA's cash is 0 from the start: empty, as a fund given no capital is;
    none fails (they all did on day 1 when a cash of 0 counted as a failure)."""
    model = run_model(1, 3, cta__usdjpy_share=0.0)
    assert sum(model.history["cta_failures"]) == 0 and not model.cta.state.failed.any()
