"""The lean path (``collect=False``: preallocated arrays, no per-day DataCollector) and the batch API
(``simulate_many``) give the same numbers, bit for bit, as the Mesa path (``run_for``)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

from model.model import ArrayRecord, CarryUnwindModel, ListRecord
from model.results import run_simulation, simulate_many, summarize
from model.scenarios import load_scenario
from model.validation import ConfigError
from tests.support import N_FUNDS

SMALL = {"hedge_funds__n_funds": N_FUNDS}
DAYS = 80  # past risk_off's US growth surprise on day 60 and the BoJ's first meetings
COLUMNS = ("usdjpy", "ust10y_yield", "jgb10y_yield", "risk_index", "hf_alive", "clearing_iterations",
           "walras_residual", "dash_a_fx_break_pct")  # fmt: skip


def mesa_run(scenario: str, seed: int, days: int, **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(scenario=scenario, seed=seed, **{**SMALL, "simulation__days": days, **overrides})
    model.run_for(days)
    return model


@pytest.mark.parametrize("scenario", ["baseline", "risk_off"])
@pytest.mark.parametrize("seed", [0, 7])
def test_run_simulation_equals_the_mesa_path_bit_for_bit(scenario, seed):
    lean = run_simulation(scenario=scenario, seed=seed, days=DAYS, **SMALL)
    mesa_model = mesa_run(scenario, seed, DAYS)
    df = mesa_model.timeseries()
    np.testing.assert_array_equal(lean.timeseries["usdjpy"].to_numpy(), np.asarray(mesa_model.history["usdjpy"]))
    for col in COLUMNS:
        assert lean.timeseries[col].tolist() == df[col].tolist(), col
    pd.testing.assert_frame_equal(lean.timeseries, df, check_exact=True)  # every column and its dtype
    assert lean.summary == summarize(df)


def test_the_scenario_event_fires_on_its_day_on_the_lean_path():
    # risk_off without its US growth surprise (day 60) follows the same path up to day 59 and not after,
    # so the comparisons with the Mesa path above include an event
    scenario = load_scenario("risk_off")
    shocked = run_simulation(scenario=scenario, seed=3, days=DAYS, **SMALL)
    twin = run_simulation(scenario=dataclasses.replace(scenario, events=()), seed=3, days=DAYS, **SMALL)
    s, t = shocked.timeseries["equity_index"].to_numpy(), twin.timeseries["equity_index"].to_numpy()
    np.testing.assert_array_equal(s[:60], t[:60])
    assert s[60] != t[60]
    assert shocked.timeseries["usdjpy"].tolist() == mesa_run("risk_off", 3, DAYS).history["usdjpy"]


def test_a_run_longer_than_a_year_reads_the_year_ago_rate_alike():
    # past 250 days the macro block reads the recorded USD/JPY of a year ago, from the arrays on the lean path
    days = 260
    lean = run_simulation(scenario="baseline", seed=1, days=days, **SMALL)
    pd.testing.assert_frame_equal(lean.timeseries, mesa_run("baseline", 1, days).timeseries(), check_exact=True)


def test_running_past_the_preallocated_days_grows_the_arrays():
    lean = CarryUnwindModel(scenario="baseline", seed=2, collect=False, simulation__days=5, **SMALL)
    lean.run_for(12)
    full = mesa_run("baseline", 2, 12, simulation__days=5)
    assert lean.history == full.history
    assert len(lean.series("usdjpy")) == 13


def test_the_mesa_path_still_collects_every_day_and_the_lean_datacollector_matches():
    mesa_model = mesa_run("risk_off", 4, 10)
    collected = mesa_model.datacollector.get_model_vars_dataframe()
    assert len(collected) == 11  # day 0 and ten steps
    assert collected["usdjpy"].tolist() == mesa_model.history["usdjpy"]
    lean = CarryUnwindModel(scenario="risk_off", seed=4, collect=False, simulation__days=10, **SMALL)
    lean.run_for(10)
    rebuilt = lean.datacollector
    pd.testing.assert_frame_equal(rebuilt.get_model_vars_dataframe(), collected, check_exact=True)
    assert rebuilt._collection_steps == mesa_model.datacollector._collection_steps


def test_an_integer_column_that_receives_a_float_is_widened_not_truncated():
    rec = ArrayRecord(("n", "x", "flag"), capacity=2)
    rec.append({"n": 1, "x": 0.5, "flag": True})
    rec.append({"n": 2.5, "x": 1, "flag": 0.25})
    rec.append({"n": 3, "x": 2.0, "flag": False})  # past the capacity
    assert rec.series("n").tolist() == [1.0, 2.5, 3.0] and rec.series("n").dtype == np.float64
    assert rec.lists()["flag"] == [True, 0.25, False]
    assert rec.series("x").tolist() == [0.5, 1.0, 2.0]
    # the frame pandas builds from the arrays has the dtypes it infers from the same lists
    lists = {"n": [1, 2.5, 3], "x": [0.5, 1, 2.0], "flag": [True, 0.25, False]}
    assert (pd.DataFrame(rec.arrays()).dtypes == pd.DataFrame(lists).dtypes).all()


def test_simulate_many_equals_single_runs_in_a_fixed_order():
    runs = simulate_many(["baseline", "risk_off"], [0, 5], days=DAYS, overrides=SMALL)
    assert [(r.scenario, r.seed) for r in runs] == [("baseline", 0), ("baseline", 5), ("risk_off", 0), ("risk_off", 5)]
    for r in runs:
        one = run_simulation(scenario=r.scenario, seed=r.seed, days=DAYS, **SMALL)
        pd.testing.assert_frame_equal(r.timeseries, one.timeseries, check_exact=True)
        assert r.summary == one.summary and r.config == one.config
    assert not runs[0].timeseries["usdjpy"].equals(runs[1].timeseries["usdjpy"])  # seeds do differ


def test_a_run_of_a_configuration_given_with_no_scenario_is_not_recorded_as_the_baseline(tmp_path, caplog):
    """``run_simulation(ModelConfig())`` was recorded as scenario "baseline" (in the result, summary.json and its log
    line), though the baseline's BoJ is scripted and ModelConfig()'s follows its rule: a run of a configuration given
    with no scenario is no scenario's. Its scenario is None (null in summary.json, read back by load), named
    "custom configuration" where a name is shown; its configuration is recorded beside it as ever. With a scenario
    named, or none at all, the scenario's name is recorded as before."""
    import json
    import logging

    from model import results
    from model.config import ModelConfig

    config = ModelConfig().with_overrides({**SMALL, "simulation__days": 3})
    assert config.boj.mode != load_scenario("baseline").config.boj.mode  # not the baseline's configuration
    with caplog.at_level(logging.INFO, logger="model.results"):
        custom = run_simulation(config, seed=1, days=3)
    assert custom.scenario is None, custom.scenario
    custom_name = results.CUSTOM_CONFIGURATION
    assert custom_name == "custom configuration"
    assert custom.label == custom_name and custom.config == config
    assert any(r.getMessage().startswith(f"{custom_name}, seed 1, 3 trading days") for r in caplog.records)
    saved = results.save(custom, tmp_path / "custom")
    record = json.loads((saved / "summary.json").read_text())
    assert record["scenario"] is None and record["config"]["boj"]["mode"] == config.boj.mode
    back = results.load(saved)
    assert back.scenario is None and back.label == custom_name and back.config == custom.config
    # the same numbers as the run of that configuration with the baseline's events, which are none
    assert load_scenario("baseline").events == ()
    named = run_simulation(config, scenario="baseline", seed=1, days=3)
    pd.testing.assert_frame_equal(custom.timeseries, named.timeseries, check_exact=True)
    assert named.scenario == named.label == "baseline"
    assert run_simulation(seed=1, days=3, **SMALL).scenario == "baseline"  # no configuration: the baseline's
    many = simulate_many([config, "risk_off"], [1], days=3)
    assert [r.scenario for r in many] == [None, "risk_off"]
    pd.testing.assert_frame_equal(many[0].timeseries, custom.timeseries, check_exact=True)


def test_the_mesa_path_names_a_configuration_given_alone_as_no_scenario():
    """``CarryUnwindModel(config=...)`` with no scenario took the baseline's name while running ``config``, so the
    Mesa path labelled it as the lean path no longer does. Given alone, a configuration is no scenario's: its
    spec is named "custom configuration", has no events and holds ``config``; the run's messages name it without
    the word "scenario"; its numbers are the lean path's. With no configuration either, the baseline's name and
    configuration; with a scenario named, that scenario's."""
    from model import results
    from model.config import ModelConfig
    from model.scenarios import CUSTOM_CONFIGURATION, is_custom

    config = ModelConfig().with_overrides({**SMALL, "simulation__days": 3})
    model = CarryUnwindModel(config=config, seed=1)
    spec = model.scenario_spec
    assert spec.name == CUSTOM_CONFIGURATION and is_custom(spec) and spec.events == () and spec.config == config
    assert model.config == config
    assert results.run_name(model) == f"{CUSTOM_CONFIGURATION}, seed 1"
    model.run_for(3)
    lean = run_simulation(config, seed=1, days=3)
    np.testing.assert_array_equal(np.asarray(model.timeseries()["usdjpy"]), lean.timeseries["usdjpy"].to_numpy())
    plain = CarryUnwindModel(seed=1, **SMALL)
    assert plain.scenario_spec.name == "baseline" and not is_custom(plain.scenario_spec)
    assert plain.config == load_scenario("baseline").config.with_overrides(SMALL)
    named = CarryUnwindModel(config=config, scenario="risk_off", seed=1)
    assert named.scenario_spec.name == "risk_off" and named.config == config


def test_simulate_many_gives_the_same_results_with_two_workers():
    args = (["risk_off"], [2, 9])
    serial = simulate_many(*args, days=30, overrides=SMALL, workers=1)
    parallel = simulate_many(*args, days=30, overrides=SMALL, workers=2)
    assert [r.seed for r in parallel] == [2, 9]
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
        assert a.summary == b.summary


@pytest.mark.parametrize("workers", [1, 2])
def test_simulate_many_raises_a_runs_clearing_failure_itself(workers):
    from model.clearing import ClearingError
    from model.scenarios import ScenarioEvent

    # $1.5 tn of trade flow on day 2: a move of more than 15% in a day, which the engine refuses
    flow = ScenarioEvent(day=2, kind="trade_flow", params={"usd_bn": 1500.0})
    crash = dataclasses.replace(load_scenario("baseline"), events=(flow,))
    with pytest.raises(ClearingError, match="day 2"):
        simulate_many([crash], [1, 2], days=5, overrides=SMALL, workers=workers)


def test_simulate_many_inside_a_resumable_block_reads_back_finished_runs(tmp_path):
    from experiments.runner import resumable

    where = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt), resumable(where):
        simulate_many("risk_off", [4], days=DAYS, overrides=SMALL)
        raise KeyboardInterrupt  # interrupted after one of the two seeds
    with resumable(where) as checkpoint:
        runs = simulate_many("risk_off", [4, 7], days=DAYS, overrides=SMALL)
        assert checkpoint.found == 1 and checkpoint.stored == 1
    for r in runs:
        one = run_simulation(scenario="risk_off", seed=r.seed, days=DAYS, **SMALL)
        pd.testing.assert_frame_equal(r.timeseries, one.timeseries, check_exact=True)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scenarios": "no_such_scenario", "seeds": [0]}, "no_such_scenario"),
        ({"scenarios": "baseline", "seeds": [0, -1]}, "seeds[1] = -1"),
        ({"scenarios": "baseline", "seeds": [True]}, "seeds[0] = True"),
        ({"scenarios": "baseline", "seeds": []}, "seeds = []"),
        ({"scenarios": "baseline", "seeds": [0], "days": 0}, "days"),
        ({"scenarios": "baseline", "seeds": [0], "days": 2.5}, "days = 2.5"),
        ({"scenarios": "baseline", "seeds": [0], "workers": 0}, "workers = 0"),
    ],
)
def test_simulate_many_rejects_bad_input_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        simulate_many(kwargs.pop("scenarios"), kwargs.pop("seeds"), **kwargs)


def test_the_array_record_holds_what_the_list_record_holds_whenever_it_is_read():
    # rows of every kind, a float and an object widening, reads of single columns between appends, the
    # arrays grown several times: the same values as the plain lists
    rng = np.random.default_rng(7)
    columns = ("day", "x", "flag", "count", "mixed")
    arrays, lists = ArrayRecord(columns, capacity=3), ListRecord(columns)
    for day in range(600):
        count = 2.5 if day == 300 else int(rng.integers(9))  # widened to float64
        mixed = 0.25 if day == 400 else day % 2 == 0  # widened to object
        row = {"day": day, "x": float(rng.normal()), "flag": bool(rng.random() < 0.5), "count": count, "mixed": mixed}
        arrays.append(row)
        lists.append(row)
        if rng.random() < 0.3:
            column = columns[int(rng.integers(len(columns)))]
            assert arrays.series(column).tolist() == lists.series(column), (day, column)
    assert len(arrays) == len(lists)
    assert arrays.lists() == lists.lists()
    assert arrays.series("count").dtype == np.float64 and arrays.series("mixed").dtype == object
    assert arrays.series("day").dtype == np.int64 and arrays.series("flag").dtype == np.bool_
    one = ArrayRecord(("only",), capacity=1)
    one.append({"only": 1.5})
    one.append({"only": 2})
    assert one.series("only").tolist() == [1.5, 2.0]


def test_run_days_is_run_for_without_mesas_loop_and_mesa_carries_on_from_it():
    # the scenario's events (day − ½) and two a user schedules with Mesa at whole times, one of them the
    # last day's: the same days, the same order of events, Mesa's clock and step count; then both go on
    # through Mesa and stay the same
    def build(seen):
        model = CarryUnwindModel(scenario="risk_off", seed=6, collect=False, simulation__days=30, **SMALL)
        model.kept = [functools.partial(seen.append, (name, day)) for name, day in (("whole", 4), ("last", 12))]
        for call, at in zip(model.kept, (4, 12), strict=True):  # Mesa holds events by weak reference
            model.schedule_event(call, at=at)
        model.schedule(3, seen.append, ("half", 3))
        return model

    seen_a, seen_b = [], []
    a, b = build(seen_a), build(seen_b)
    days = []
    a.run_days(12, after_day=lambda: days.append(a.day))
    b.run_for(12)
    assert days == list(range(1, 13))
    assert (a.time, a.steps, a.day) == (b.time, b.steps, b.day) == (12, 12, 12)
    assert [s[0] for s in seen_a] == [s[0] for s in seen_b] == ["half", "whole", "last"]
    for model in (a, b):
        model.step()
        model.run_for(2)
    assert (a.time, a.steps, a.day) == (b.time, b.steps, b.day) == (15, 15, 15)
    for column, values in a.arrays().items():
        assert np.array_equal(values, b.arrays()[column], equal_nan=True), column


def test_run_days_leaves_a_schedule_the_user_changed_to_mesa():
    # Mesa's step event paused by the user: Mesa advances the clock without stepping, and so does run_days
    a = CarryUnwindModel(seed=6, collect=False, simulation__days=10, **SMALL)
    a._default_schedule.pause()
    a.run_days(3)
    assert (a.time, a.day) == (3, 0)
    a.run_days(0)
    assert (a.time, a.day) == (3, 0)


def test_run_days_runs_an_event_at_a_days_own_time_where_mesa_does():
    """Mesa orders an event at a whole time against that day's step by priority (HIGH before it, LOW after).
    Before: run_days ran every such event after the day; it now leaves a day with one to Mesa's own loop."""
    from mesa.time import Priority

    class Record:
        def __init__(self, model, log, name):
            self.model, self.log, self.name = model, log, name

        def __call__(self):
            self.log.append((self.name, self.model.day, self.model.time))

    logs, series = {}, {}
    for path in ("run_for", "run_days"):
        model = CarryUnwindModel(seed=1, hedge_funds__n_funds=10, nisa__n_households=100)
        log = logs[path] = []
        keep = [Record(model, log, "high"), Record(model, log, "low")]  # Mesa holds callbacks by weak reference
        model.schedule_event(keep[0], at=3, priority=Priority.HIGH)
        model.schedule_event(keep[1], at=3, priority=Priority.LOW)
        getattr(model, path)(5)
        series[path] = np.asarray(model.series("usdjpy"))
    assert logs["run_for"] == [("high", 2, 3), ("low", 3, 3)]  # Mesa's order: HIGH before day 3, LOW after it
    assert logs["run_days"] == logs["run_for"]
    assert np.array_equal(series["run_days"], series["run_for"])


def test_simulate_many_refuses_two_horizons_that_differ_as_run_simulation_does():
    """Before: days won silently over an override of simulation.days."""
    for key in ("simulation__days", "simulation.days"):
        with pytest.raises(ConfigError, match=rf"^days = 5 and {key} = 8 are not allowed together; they differ"):
            simulate_many(["baseline"], [1], days=5, overrides={key: 8})
