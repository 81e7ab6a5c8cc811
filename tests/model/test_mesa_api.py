"""The model behaves as a Mesa model: stepping, data collection, batch runs, agent views."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd
import pytest

from agents.hedge_funds import HedgeFundView
from model.model import TIMESERIES_COLUMNS, CarryUnwindModel
from tests.support import make_model

BATCH_PARAMS = {"hedge_funds__n_funds": [20], "hedge_funds__max_leverage": [1.0, 10.0]}
BATCH_STEPS = 20


@pytest.fixture(scope="module")
def batch():
    return mesa.batch_run(
        CarryUnwindModel, parameters=BATCH_PARAMS, rng=[1, 2], max_steps=BATCH_STEPS, display_progress=False
    )


def test_step_advances_the_day_by_one():
    model = make_model(0)
    assert model.day == 0
    model.step()
    assert model.day == 1
    model.step()
    assert model.day == 2
    assert model.steps == 2


def test_run_for_advances_the_day_by_n():
    model = make_model(0)
    model.step()
    model.run_for(7)
    assert model.day == 8
    assert len(model.history["usdjpy"]) == 9


def test_run_for_gives_the_same_history_as_stepping():
    a, b = make_model(4), make_model(4)
    a.run_for(30)
    for _ in range(30):
        b.step()
    assert a.timeseries().equals(b.timeseries())


def test_datacollector_has_one_row_per_step_plus_the_initial_state():
    model = make_model(0)
    for _ in range(12):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 13
    assert set(TIMESERIES_COLUMNS) - {"day"} <= set(df.columns)
    # the collected rows are the recorded history
    ts = model.timeseries()
    for col in ("usdjpy", "ust10y_yield", "hf_margin_calls", "clearing_residual"):
        np.testing.assert_array_equal(df[col].to_numpy(dtype=float), ts[col].to_numpy(dtype=float))
    assert df["usdjpy"].iloc[0] == model.config.market.usdjpy


def test_timeseries_has_the_documented_columns_and_one_row_per_day():
    model = make_model(0)
    model.run_for(5)
    ts = model.timeseries()
    assert tuple(ts.columns) == ("day", "date", *TIMESERIES_COLUMNS[1:])
    assert ts["day"].tolist() == list(range(6))


def test_date_column_is_the_trading_calendar_date_of_each_day():
    model = make_model(0)
    model.run_for(7)
    ts = model.timeseries()
    assert str(ts["date"].dtype) == "datetime64[ns]"
    assert [d.date() for d in ts["date"]] == [model.calendar.date(day) for day in ts["day"]]
    # day 0 is the start date rolled to a business day; day d is the d-th business day after it
    start = np.busday_offset(np.datetime64(model.config.market.start_date, "D"), 0, roll="forward")
    assert ts["date"].iloc[0] == pd.Timestamp(start)
    days = ts["date"].to_numpy().astype("datetime64[D]")
    assert (np.busday_count(days[0], days) == ts["day"].to_numpy()).all()
    assert (ts["date"].dt.day_of_week < 5).all()  # business days only


def test_date_column_of_a_known_start():
    # Friday 13 January 2023: day 1 is Tuesday 17 January (the weekend and Martin Luther King Jr. Day,
    # Monday 16 January, skipped), day 5 Monday 23 January
    model = CarryUnwindModel(seed=0, hedge_funds__n_funds=20, market__start_date="2023-01-13")
    model.run_for(5)
    dates = model.timeseries()["date"]
    assert dates.iloc[0] == pd.Timestamp("2023-01-13") and dates.iloc[1] == pd.Timestamp("2023-01-17")
    assert dates.iloc[5] == pd.Timestamp("2023-01-23")


def test_date_column_round_trips_through_a_saved_run(tmp_path):
    from model.results import load, run_simulation, save

    result = run_simulation(seed=3, days=6, hedge_funds__n_funds=20)
    back = load(save(result, tmp_path / "run"))
    pd.testing.assert_frame_equal(back.timeseries, result.timeseries, check_exact=True)
    assert back.timeseries.columns[1] == "date"


def test_batch_run_returns_one_result_per_parameter_combination_and_seed(batch):
    assert len(batch) == 4
    combos = {(r["seed"], r["hedge_funds__max_leverage"]) for r in batch}
    assert combos == {(1, 1.0), (1, 10.0), (2, 1.0), (2, 10.0)}
    for r in batch:
        assert r["hedge_funds__n_funds"] == 20
        assert r["Step"] == BATCH_STEPS
        for col in set(TIMESERIES_COLUMNS) - {"day"}:
            assert col in r, col
        assert math.isfinite(r["usdjpy"]) and r["clearing_residual"] <= 1e-10


def test_batch_run_sweeps_the_parameter(batch):
    by = {(r["seed"], r["hedge_funds__max_leverage"]): r for r in batch}

    def fx_leverage(r):  # forward notional per unit of equity (the cap applies to it)
        return r["hf_gross_usd_bn"] / r["hf_equity_usd_bn"]

    for seed in (1, 2):
        assert fx_leverage(by[(seed, 1.0)]) <= 1.0 + 1e-9
        assert fx_leverage(by[(seed, 10.0)]) > 1.2 * fx_leverage(by[(seed, 1.0)])
        assert fx_leverage(by[(seed, 10.0)]) > 1.0


def test_batch_run_equals_a_direct_run_with_the_same_seed(batch):
    for r in batch:
        model = CarryUnwindModel(
            seed=r["seed"], hedge_funds__n_funds=20, hedge_funds__max_leverage=r["hedge_funds__max_leverage"]
        )
        for _ in range(BATCH_STEPS):
            model.step()
        for col in set(TIMESERIES_COLUMNS) - {"day"}:
            assert r[col] == model.latest[col], col


def test_rng_and_seed_are_the_same_thing():
    a = CarryUnwindModel(seed=9, hedge_funds__n_funds=20)
    b = CarryUnwindModel(rng=9, hedge_funds__n_funds=20)
    a.run_for(10)
    b.run_for(10)
    assert a.timeseries().equals(b.timeseries())
    with pytest.raises(ValueError, match=r"^pass either seed or rng, not both$"):
        CarryUnwindModel(seed=1, rng=1)


def test_seed_is_recorded_when_none_is_given():
    """A model without a seed draws one (not a fixed default) and records it, so its run can be repeated."""
    a = CarryUnwindModel(hedge_funds__n_funds=5)
    assert isinstance(a.seed, int) and a.seed >= 0
    others = {CarryUnwindModel(hedge_funds__n_funds=5).seed for _ in range(3)}
    assert len(others | {a.seed}) > 1
    b = CarryUnwindModel(seed=a.seed, hedge_funds__n_funds=5)
    a.run_for(5)
    b.run_for(5)
    assert a.timeseries().equals(b.timeseries())


def test_fund_views_exist_one_per_fund():
    model = make_model(0, hedge_funds__n_funds=60)
    views = model.agents_by_type[HedgeFundView]
    assert len(views) == 60
    assert sorted(v.row for v in views) == list(range(60))


def test_fund_views_are_capped_by_max_agent_views():
    model = make_model(0, hedge_funds__n_funds=60, simulation__max_agent_views=25)
    assert len(model.agents_by_type[HedgeFundView]) == 25
    assert model.hedge_funds.alive.shape == (60,)


@pytest.mark.parametrize("scenario, overrides", [("baseline", {}), ("risk_off", {"hedge_funds__max_leverage": 25.0})])
def test_fund_view_properties_agree_with_the_arrays(scenario, overrides):
    # seed 3: at the fourth refit's defaults, caps up to 25 end seed 2's risk_off in a clearing failure on day 2
    model = make_model(3, scenario, **overrides)
    model.run_for(150)
    f, mk = model.hedge_funds, model.market
    price = math.exp(-model.config.market.ust_duration * mk.ust10y_yield)
    for v in model.agents_by_type[HedgeFundView]:
        i = v.row
        exposure = f.fwd_usd_bn[i]
        duration = f.ust_units[i] * price
        equity = duration + f.cash_usd_bn[i]
        assert v.alive == bool(f.alive[i])
        assert v.exposure_usd_bn == pytest.approx(exposure, rel=1e-12, abs=1e-15)
        assert v.duration_leg_usd_bn == pytest.approx(duration, rel=1e-12, abs=1e-15)
        assert v.equity_usd_bn == pytest.approx(equity, rel=1e-12, abs=1e-12)
        if equity > 0:
            assert v.leverage == pytest.approx((exposure + duration) / equity, rel=1e-12, abs=1e-15)
        assert v.has_duration_leg == bool(f.duration_leg[i])
        assert v.leverage_cap == f.leverage_cap[i]
        assert v.is_trend_follower == bool(f.trend_weight[i] > 0) == bool(f.vol_target_pa[i] > 0)
        assert v.margin_called == bool(f.margin_called[i])
    views = model.agents_by_type[HedgeFundView]
    # the views see the live state, not a copy taken at creation
    assert sum(v.alive for v in views) == int(f.alive.sum())
    assert sum(v.is_trend_follower for v in views) > 0


def test_trend_followers_are_told_apart_with_their_trend_weight_at_zero():
    """``hedge_funds.trend_weight = 0`` (the trend channel off) leaves the trend followers' volatility target
    and their lack of value weight: the views and the balance-sheet benchmark still count them apart."""
    from experiments.analysis import balance_sheet_cycle as bsc

    model = CarryUnwindModel(scenario="baseline", seed=4, collect=False, hedge_funds__trend_weight=0.0)
    f = model.hedge_funds
    drawn = f.value_weight == 0.0  # the trend followers' draw: no value weight
    assert drawn.any() and (~drawn).any() and not (f.trend_weight > 0).any()
    views = model.agents_by_type[HedgeFundView]
    assert [v.is_trend_follower for v in views] == [bool(drawn[v.row]) for v in views]
    carry = bsc._carry_state(model)[0]
    assert np.array_equal(carry, ~drawn & f.alive)
