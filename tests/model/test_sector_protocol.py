"""The sector protocol: adding a sector is one module and one registration; the composed clearing
is generated and cached; every identity checker fails on a broken state."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from model.accounting import AccountingError, check_identities
from model.compose import generated_source
from model.model import CarryUnwindModel
from model.registry import DEFAULT_SECTORS, default_sectors, register_sector, unregister_sector
from model.risk import MIN_REALISED_VOL
from model.scenarios import list_scenarios
from tests.model.linear_fx_sector import LinearFx, linear_fx_flows
from tests.support import make_model, run_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registered_linear_fx():
    register_sector(LinearFx)
    yield LinearFx
    unregister_sector(LinearFx.name)


# sectors whose FX demand is not linear in ln S, or that trade FX at all besides the dealers (the trend
# followers and retail FX traders trade forwards, which the dealers hedge in spot)
NONLINEAR_FX = ("hedge_funds", "real_money", "long_horizon", "life_insurers", "cta", "retail_fx")


def dealers_fx_excess(model, s: float, books: dict) -> float:
    """FX excess demand at ``ln S = s`` (yields at today's cleared levels) written from the docstrings:
    dealers ``−φ·(I + N) + c₀·k(s)·(s_prev − s)`` with ``k = (E_d(s)/E*)·exp(−η·β·(ln v(s) − ln v̄))``, the
    linear sector ``a − b·(s − s_ref)``; nobody else trades FX and nobody trades forwards.

    ``E_d(s)``: yesterday's equity plus the revaluation of the dealers' yen, forward book and bonds
    (their equity under the capital constraint, else E*, floored at 1% of E*); ``ln v(s)`` the risk
    index: ``ln v̄ + ρ·(ln v_prev − ln v̄) + a·(√(r² + ε²)/σ_{t−1} − √(2/π)) + news`` with ``r = s − s_prev``,
    ``σ_{t−1}`` the EWMA volatility of yesterday's books (``market.risk_vol_yardstick = "realised"``, floored)
    or ``σ_fx(v_prev)/√250`` (``"implied"``), ``ε = 1e-4``, no forced sales (no funds), ``a = 0`` unless the
    index is endogenous, and the equity channel switched off by the test.
    """
    cfg, mk = model.config, model.market
    d, m = cfg.dealers, cfg.market
    s_prev = books["s_prev"]
    y_us, y_jp, y_30 = mk.ust10y_yield, mk.jgb10y_yield, mk.jgb30y_yield  # today's cleared yields
    if d.capital_constraint:
        equity = (
            books["equity"]
            + books["jpy_tn"] * 1000.0 * (math.exp(-s) - math.exp(-s_prev))
            + books["fwd"] * (1.0 - math.exp(s_prev - s))
            + books["ust"] * (math.exp(-m.ust_duration * y_us) - math.exp(-m.ust_duration * books["yus_prev"]))
            + books["jgb"]
            * 1000.0
            * (math.exp(-m.jgb_duration * y_jp - s) - math.exp(-m.jgb_duration * books["yjp_prev"] - s_prev))
            + books["jgb30"]
            * 1000.0
            * (math.exp(-m.jgb30_duration * y_30 - s) - math.exp(-m.jgb30_duration * books["yjp30_prev"] - s_prev))
        )
        equity = max(equity, 0.01 * d.equity_usd_bn)
    else:
        equity = d.equity_usd_bn
    a = m.risk_vol_sensitivity if m.risk_endogenous else 0.0
    if m.risk_vol_yardstick == "realised":
        expected = max(math.sqrt(books["ewma_var"]), MIN_REALISED_VOL)
    else:
        implied = m.fx_implied_vol_pa * (books["v_prev"] / m.risk_index_mean) ** m.fx_vol_risk_elasticity
        expected = implied / math.sqrt(250)
    g = math.sqrt((s - s_prev) ** 2 + 1e-8) / expected - math.sqrt(2.0 / math.pi)
    log_mean = math.log(m.risk_index_mean)
    news = m.risk_news_sd * mk.risk_draw + books["risk_shock"]
    log_v = log_mean + m.risk_persistence * (math.log(books["v_prev"]) - log_mean) + a * g + news
    log_v = min(max(log_v, math.log(5.0)), math.log(m.risk_index_max))
    k = equity / d.equity_usd_bn * math.exp(-d.capacity_risk_elasticity * m.fx_vol_risk_elasticity * (log_v - log_mean))
    dealers = -d.inventory_decay * books["inventory"] + d.fx_capacity_usd_bn * k * (s_prev - s)
    linear = LinearFx.intercept_usd_bn - LinearFx.slope_usd_bn * (s - math.log(m.usdjpy))
    return dealers + linear


@pytest.mark.parametrize("switched_off, yardstick", [(True, "realised"), (False, "realised"), (False, "implied")])
def test_a_registered_linear_fx_sector_clears_at_the_known_price(registered_linear_fx, switched_off, yardstick):
    """Only the dealers and a registered linear sector trade FX. With the risk index a known constant
    (no endogenous response, no news) and the dealers' capital constraint off, their capacity is
    ``c₀·(v̄/v)^η`` with ``ln v = ln v̄ + ρ·(ln v_prev − ln v̄)`` and USD/JPY has a closed form; with both
    on, it is the root of the excess demand written independently (brentq at the cleared yields)."""
    assert default_sectors()[-1] is LinearFx
    sectors = tuple(c for c in default_sectors() if c.name not in NONLINEAR_FX)
    switches = (
        {"market__risk_endogenous": False, "market__risk_news_sd": 0.0, "dealers__capital_constraint": False}
        if switched_off
        else {}
    )
    # the remaining price-takers' FX orders switched off: only dealers and the linear sector trade FX
    model = CarryUnwindModel(seed=4, sectors=sectors, nisa__enabled=False, mof__intervention=False,
                             market__risk_equity_sensitivity=0.0, market__risk_vol_yardstick=yardstick,
                             **switches)  # fmt: skip
    cfg = model.config
    dl = model.dealers
    for _ in range(15):
        mk = model.market
        books = {
            "s_prev": mk.log_usdjpy, "yus_prev": mk.ust10y_yield, "yjp_prev": mk.jgb10y_yield,
            "v_prev": mk.risk_index, "risk_shock": mk.risk_shock, "equity": dl.equity_book_usd_bn,
            "jpy_tn": dl.jpy_tn, "fwd": dl.fwd_usd_bn, "ust": dl.ust_inventory_units, "jgb": dl.jgb_inventory_units,
            "jgb30": dl.jgb30_inventory_units, "yjp30_prev": mk.jgb30y_yield,
            # the dealers' FX rule acts on their whole exposure: the forward book (which nobody trades here,
            # so it stays put) less their net yen, cash and JGBs, in dollars at yesterday's close
            "inventory": dl.fwd_usd_bn - (dl.jpy_tn + dl.jgb_inventory_units * mk.jgb_price
                                          + dl.jgb30_inventory_units * mk.jgb30_price) * 1000.0 / mk.usdjpy,
            "ewma_var": mk.ewma_var_daily,  # the EWMA variance of the moves up to yesterday's close
        }  # fmt: skip
        model.step()
        assert dl.fwd_usd_bn == pytest.approx(books["fwd"], rel=1e-12)
        check_identities(model)
        s_prev = books["s_prev"]
        if switched_off:
            log_mean = math.log(cfg.market.risk_index_mean)
            log_v = log_mean + cfg.market.risk_persistence * (math.log(books["v_prev"]) - log_mean)
            assert math.log(model.market.risk_index) == pytest.approx(log_v, abs=1e-14)
            c_d = cfg.dealers.fx_capacity_usd_bn * math.exp(
                -cfg.dealers.capacity_risk_elasticity * cfg.market.fx_vol_risk_elasticity * (log_v - log_mean)
            )
            a, b, s_ref = LinearFx.intercept_usd_bn, LinearFx.slope_usd_bn, math.log(cfg.market.usdjpy)
            s_star = (c_d * s_prev - cfg.dealers.inventory_decay * books["inventory"] + a + b * s_ref) / (c_d + b)
            assert dealers_fx_excess(model, s_star, books) == pytest.approx(0.0, abs=1e-9)
            # the day's marginal price impact (the clearing's Jacobian at the cleared prices): $1 bn more
            # of customer dollar buying moves ln S by 1/(c_d + b), nothing else re-prices it
            assert model.latest["fx_impact_pct_per_bn"] == pytest.approx(100.0 / (c_d + b), rel=1e-9)
        else:
            s_star = brentq(
                lambda s, books=books: dealers_fx_excess(model, s, books), s_prev - 0.1, s_prev + 0.1, xtol=1e-15
            )
        assert math.log(model.market.usdjpy) == pytest.approx(s_star, abs=1e-12)
    assert model.history["linear_fx_usd_bn"][-1] != 0.0  # it traded, and its column is recorded
    assert abs(math.log(model.market.usdjpy) - math.log(cfg.market.usdjpy)) > 1e-3  # not a trivial answer
    if not switched_off:  # the channels were live: the dealers' equity and the risk index moved
        assert abs(dl.equity_book_usd_bn - cfg.dealers.equity_usd_bn) > 1e-3
        assert abs(model.history["risk_index"][-1] - model.history["risk_index"][-2]) > 1e-3


def test_registration_rejects_a_duplicate_or_a_non_sector():
    with pytest.raises(ValueError, match="appears twice"):
        register_sector(DEFAULT_SECTORS[0])
    with pytest.raises(ValueError, match="subclass of model.sector.Sector"):
        register_sector(object)  # type: ignore[arg-type]


def test_a_sector_asked_for_what_it_does_not_have_says_so():
    """The protocol's defaults refuse, naming the sector: a sector that trades in no market has no
    clearing inputs, and one that declares no events handles none (not a silent no-op)."""
    model = make_model(0)
    quiet = next(s for s in model.sector_list if s.flows is None and not s.event_kinds)
    with pytest.raises(TypeError, match=f"sector {quiet.name!r} has no flows in the clearing"):
        quiet.clearing_inputs(model)
    with pytest.raises(TypeError, match=f"sector {quiet.name!r} handles no events"):
        quiet.handle_event(model, object())


def test_the_composed_clearing_calls_the_sectors_flows_in_registration_order():
    flows = [c.flows for c in (*DEFAULT_SECTORS, LinearFx) if c.flows is not None]
    text = generated_source(flows)
    calls = [line.strip() for line in text.splitlines() if line.strip().startswith("flows_") and "(" in line]
    assert len(calls) == len(flows)
    last = len(flows) - 1
    assert f"from tests.model.linear_fx_sector import linear_fx_flows as flows_{last}" in text
    assert calls[-1].startswith(f"flows_{last}(") and linear_fx_flows is flows[-1]


# -- the honest residual ----------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", sorted(list_scenarios()))
def test_walras_residual_is_within_tolerance_on_every_day_of_every_scenario(scenario):
    model = CarryUnwindModel(scenario=scenario, seed=2)
    model.recheck_evaluates = True  # the excess demand at the recorded prices evaluated, not the solver's reused
    model.run_for(250)
    w = np.asarray(model.history["walras_residual"])
    assert np.all(w <= 1e-9), f"max {w.max():.3e} on day {int(w.argmax())}"
    assert w.max() > 0.0  # recomputed, not copied from a constant


def test_prices_off_the_clearing_price_fail_the_identity_check():
    model = make_model(seed=1)
    real_clear = model.clearing.clear

    def two_percent_off(inputs, prev, **kw):
        res = real_clear(inputs, prev, **kw)
        return res._replace(usdjpy=res.usdjpy * 1.02, log_usdjpy=res.log_usdjpy + math.log(1.02))

    model.clearing.clear = two_percent_off
    model.step()
    assert model.last_clearing.residual <= 1e-10  # the solver's own report looks fine
    assert model.latest["clearing_residual"] > 1e-3  # evaluated again at the prices recorded
    assert model.walras_residual > 1e-3
    with pytest.raises(AccountingError, match="recorded prices"):
        check_identities(model)


@pytest.mark.parametrize("market", range(5))
@pytest.mark.parametrize("where", ["excess", "volume"])
def test_a_nan_in_any_market_makes_the_walras_check_fail(market, where):
    """The check's measure is the worst market's |excess| / volume; a NaN in either, in any market, is
    the worst (Python's max() would pass over it anywhere but in the first market)."""
    model = make_model(seed=1)
    clearing = model.clearing
    real = clearing.recheck

    def broken(inputs, result, **kw):  # the excess demand and volumes at the recorded prices, one NaN in them
        z, gross = real(inputs, result, **kw)
        (z if where == "excess" else gross)[market] = math.nan
        return z, gross

    clearing.recheck = broken
    model.step()
    assert model.walras_residual == math.inf
    with pytest.raises(AccountingError, match="recorded prices"):
        check_identities(model)


# -- every checker fails on a broken state -----------------------------------------------------------
@pytest.mark.parametrize(
    "sector, field, match",
    [
        ("dealers", "usd_bn", "dealers holds usd_bn"),
        ("dealers", "ust_inventory_units", "dealers holds ust_units"),
        ("bond_investors", "jgb_units", "jgb_investors holds jgb_units"),
        ("boj", "jgb_units", "boj holds jgb_units"),
        ("real_money", "holdings_usd_bn", "real_money holds usd_bn"),
        ("long_horizon", "usd_bn", "long_horizon holds usd_bn"),
    ],
)
def test_a_sector_whose_records_disagree_with_the_ledger_fails(sector, field, match):
    model = make_model(seed=3)
    for _ in range(5):
        model.step()
    check_identities(model)
    obj = model.sectors[sector]
    setattr(obj, field, getattr(obj, field) + 1.0)
    with pytest.raises(AccountingError, match=match):
        check_identities(model)


def test_dealers_equity_account_must_match_their_marked_balance_sheet():
    model = make_model(seed=3)
    for _ in range(5):
        model.step()
    check_identities(model)
    model.dealers.equity_book_usd_bn += 0.5
    with pytest.raises(AccountingError, match="dealers equity"):
        check_identities(model)


def test_a_trade_booked_on_one_side_only_breaks_conservation():
    model = make_model(seed=3)
    model.step()
    model.ledger.book("real_money", "usd_bn", 3.0)
    with pytest.raises(AccountingError, match="USD not conserved"):
        check_identities(model)


# sectors whose holdings_rows() list every holding their balance sheet counts (the others hold more in
# the ledger than their own records check: repo, issued bonds, money-market balances)
FULLY_RECORDED = ("dealers", "long_horizon", "cta", "retail_fx")


def test_every_sector_reports_a_balance_sheet_that_adds_up():
    model = make_model(seed=5)
    for _ in range(30):
        model.step()
    for s in model.sector_list:
        bs = s.balance_sheet(model)
        assert all(math.isfinite(v) for v in bs), s.name
    assert model.dealers.balance_sheet(model).equity_usd_bn == pytest.approx(model.dealers.equity_book_usd_bn, rel=1e-9)
    # recomputed from the sectors' own records at today's prices: each holding an asset when positive,
    # a liability when negative; yen and JGBs at USD/JPY; forwards worth nothing once margined
    usdjpy, p_ust, p_jgb, p_jgb30 = model.prices()
    per_yen_tn = 1000.0 / usdjpy
    worth = {"usd_bn": 1.0, "jpy_tn": per_yen_tn, "ust_units": p_ust, "jgb_units": p_jgb * per_yen_tn,
             "jgb30_units": p_jgb30 * per_yen_tn, "repo_usd_bn": 1.0, "usd_fwd_bn": 0.0}  # fmt: skip
    for name in FULLY_RECORDED:
        sector = model.sectors[name]
        values = [amount * worth[column] for holdings in sector.holdings_rows().values()
                  for column, amount in holdings.items()]  # fmt: skip
        assets = sum(v for v in values if v > 0)
        liabilities = -sum(v for v in values if v < 0)
        assert assets > 0, name
        bs = sector.balance_sheet(model)
        assert bs.assets_usd_bn == pytest.approx(assets, rel=1e-9), name
        assert bs.liabilities_usd_bn == pytest.approx(liabilities, rel=1e-9, abs=1e-9), name
        assert bs.equity_usd_bn == pytest.approx(assets - liabilities, rel=1e-9, abs=1e-9), name


# -- the composed clearing is cached on disk ------------------------------------------------------------
PROBE = """
import json, sys, model
from model.compose import FlatKernel
from model.model import CarryUnwindModel
# the recheck at the recorded prices made to evaluate: the excess-demand entry point is called every day (by
# default the recheck reuses the solver's last evaluation and calls it only where those prices are not the solver's)
m = CarryUnwindModel(seed=1, hedge_funds__n_funds=20)
m.recheck_evaluates = True
m.step()
flat = m.clearing.flat  # the entry points the day calls, which call the composed module's solvers
stats = {name: getattr(flat, name).stats for name in ("excess", "solve")}
# and the sectors' kernels' entry points taking their states as plain tuples (model.compose.FlatKernel)
kernels = [(f"{mod}.{name}", k) for mod in list(sys.modules) if mod.startswith("agents.")
           for name, k in vars(sys.modules[mod]).items() if isinstance(k, FlatKernel) and k._call is not None]
stats.update({name: k._call.__globals__["flat"].stats for name, k in kernels})
print(json.dumps({n: [sum(s.cache_hits.values()), sum(s.cache_misses.values())] for n, s in stats.items()}))
"""


def test_the_composed_clearing_hits_numbas_cache_in_a_second_process(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "CARRY_UNWIND_NUMBA_BASE": str(tmp_path)}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["solve"][1] >= 1  # compiled in the first process
    assert len(second) >= 2 + 9, sorted(second)  # nine sector kernels called through plain-tuple entries
    for name, (hits, misses) in second.items():
        assert hits >= 1 and misses == 0, f"{name}: {hits} cache hits, {misses} misses in the second process"
    for stem in ("clearing", "flat"):  # one file for one composition, never rewritten
        assert len(list(tmp_path.rglob(f"composed/{stem}_*.py"))) == 1, stem
    assert len(list(tmp_path.rglob("composed/kernel_*.py"))) == len(second) - 2  # one a kernel


def test_a_clearing_failure_names_the_stocks_that_can_drive_it():
    """The failure message's state is each sector's ``failure_state`` in registration order: the
    households' holdings in yen at yesterday's close (recomputed here from their units) and share in
    panic, and the live funds; a sector with nothing to say adds nothing."""
    import re

    from model.sector import Sector

    model = run_model(seed=3, days=5)
    households = model.sectors["nisa_households"]
    s = households.state
    held = s.units.sum() * model.macro.equity_index * model.market.usdjpy / 1000.0
    live = int(model.hedge_funds.alive.sum())
    households.panicked = 2345  # today's count as the decision left it: 2,345 of the 10,000 households
    text = model._clearing_state()
    shown = re.fullmatch(r"NISA holdings ¥([\d,.]+) tn, (\d+)% of households in panic; live funds=(\d+)", text)
    assert shown is not None, text
    assert float(shown[1].replace(",", "")) == pytest.approx(held, abs=0.05)  # to the tenth of a trillion shown
    assert int(shown[2]) == round(100 * 2345 / s.units.shape[0]) and int(shown[3]) == live
    assert held > 20.0 and live > 0  # the households hold their initial ¥20 tn and more
    assert all(type(x).failure_state is Sector.failure_state for x in model.sector_list
               if x.name not in ("nisa_households", "hedge_funds"))  # fmt: skip
    quiet = run_model(seed=3, days=1, nisa__enabled=False)
    assert quiet._clearing_state() == f"live funds={int(quiet.hedge_funds.alive.sum())}"
