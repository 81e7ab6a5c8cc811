"""The scenarios' facts: how a fact reads a run (known answers), how it is judged over seeds (a failed
run counted, never dropped), and the plumbing from scenarios to facts on planted runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.analysis import episode_facts as ef


def fact(**kw):
    base = dict(scenario="fiscal_dominance_2025", label="x", column="usdjpy", date="2025-10-06", how="on",
                lo=1.0, hi=2.0, unit="u", source="s")  # fmt: skip
    return ef.Fact(**{**base, **kw})


def test_a_fact_reads_its_day_its_peak_its_change_or_its_sum():
    x = np.array([10.0, 12.0, 9.0, 15.0, 11.0])
    assert ef.fact_value(fact(how="on"), x, 2) == 9.0
    assert ef.fact_value(fact(how="max"), x, 2) == 12.0  # up to and including the day, not after
    assert ef.fact_value(fact(how="change", scale=100.0), x, 4) == pytest.approx(100.0)
    assert ef.fact_value(fact(how="sum"), x, 3) == 36.0  # day 0 is the initial state, not a day's flow
    sales = np.array([3.0, 0.0, 0.0, 4.0, 0.0])  # day 0's value is the initial state, not a day's sale
    assert ef.fact_value(fact(how="any"), sales, 2) == 0.0 and ef.fact_value(fact(how="any"), sales, 3) == 1.0
    # a run that failed to clear has no value (NaN != 0 would have read it as a sale)
    assert math.isnan(ef.fact_value(fact(how="any"), np.full(5, np.nan), 3))
    assert math.isnan(ef.fact_value(fact(), x, 5))  # a run shorter than the fact's day
    with pytest.raises(ValueError, match="Fact.how = 'mean' is not allowed"):
        ef.fact_value(fact(how="mean"), x, 1)


def test_a_fact_day_is_the_first_trading_day_on_or_after_its_date():
    assert ef.fact_day(fact(date="2025-10-01")) == 0  # the scenario's start
    assert ef.fact_day(fact(date="2025-10-04")) == ef.fact_day(fact(date="2025-10-06")) == 3  # a Saturday: Monday


def test_judging_reads_the_model_range_and_counts_failed_runs_as_the_validation_does():
    clean = ef.judge(fact(lo=1.0, hi=2.0), [1.5, 1.8, 3.0, 2.5])
    assert clean["observed_in_range"] and clean["median"] == pytest.approx(2.15)
    assert (clean["q05"], clean["q95"]) == tuple(np.percentile([1.5, 1.8, 3.0, 2.5], (5, 95)))
    assert clean["share_inside"] == 0.5
    r = ef.judge(fact(lo=1.0, hi=2.0), [1.5, 1.8, 3.0, math.nan])
    assert r["failed_runs"] == 1 and r["seeds"] == 4
    assert r["share_inside"] == 0.5  # 2 of 4: the failed run is outside, in the denominator
    assert not r["observed_in_range"]  # a quarter of the runs failed: more than the validation allows
    assert r["q95"] < 3.0  # and the failed run is counted against the data, below every value at the top
    far = ef.judge(fact(lo=5.0, hi=5.0), [1.0, 2.0, 3.0])
    assert not far["observed_in_range"] and far["share_inside"] is None  # a point: no share
    none = ef.judge(fact(), [math.nan, math.nan])
    assert math.isnan(none["median"]) and not none["observed_in_range"] and none["share_inside"] == 0.0


def test_run_facts_runs_each_scenario_once_per_seed_to_its_last_facts_day(monkeypatch):
    calls = []

    def planted(task):
        scenario, seed, days, columns, overrides, quiet = task
        calls.append(task)
        step = 0.5 if quiet else 1.0  # without its inputs, the run rises half as fast
        return {"failed": "", **{c: (np.arange(days + 1.0) * seed * step).tolist() for c in columns}}

    monkeypatch.setattr(ef, "_run", planted)
    monkeypatch.setattr(ef, "fact_day", lambda f: {"a": 3, "b": 5}[f.label])
    facts = (fact(label="a", how="on"), fact(label="b", column="jgb10y_yield", how="max"))
    rows = ef.run_facts([1, 2], facts=facts, overrides={"hedge_funds.max_leverage": 6.0})
    assert sorted(calls, key=lambda t: t[1]) == [
        ("fiscal_dominance_2025", s, 5, ("usdjpy", "jgb10y_yield"), {"hedge_funds__max_leverage": 6.0}, False)
        for s in (1, 2)
    ]
    assert rows[0]["median"] == pytest.approx(4.5) and rows[1]["median"] == pytest.approx(7.5)  # 3·s, 5·s
    assert "effect_of_inputs" not in rows[0]
    calls.clear()
    rows = ef.run_facts([1, 2, 3, 4, 5, 6], facts=facts, twins=True)
    assert sum(t[5] for t in calls) == 6  # each seed once more, without its inputs
    # the effect: 3·s − 1.5·s = 1.5·s for fact a, median over s = 1..6 is 1.5 × 3.5
    assert rows[0]["effect_of_inputs"]["median"] == pytest.approx(5.25)
    assert rows[0]["effect_of_inputs"]["pairs_without_a_value"] == 0


def test_every_shipped_fact_names_a_scenario_a_recorded_column_and_a_date_inside_its_run():
    from model.model import TIMESERIES_COLUMNS
    from model.scenarios import list_scenarios

    for f in ef.FACTS:
        assert f.scenario in list_scenarios() and f.column in TIMESERIES_COLUMNS and f.how in ef.HOWS
        assert f.lo <= f.hi and f.source and 0 < ef.fact_day(f) < 250


@pytest.mark.parametrize(
    "argv, message",
    [(["--seeds", "1"], "--seeds = 1 is not allowed"), (["--seeds", "100000"], "--seeds = 100000 is not allowed"),
     (["--out", "."], "it is a directory")],
)  # fmt: skip
def test_bad_command_line_input_is_one_line_before_any_run(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(ef, "run_facts", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(SystemExit) as exit_:
        ef.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and message in err[-1]


def test_a_run_that_fails_for_another_reason_is_one_error_naming_it(monkeypatch):
    def broken(task):
        raise KeyError("no such column")

    monkeypatch.setattr(ef, "_run", broken)
    with pytest.raises(ef.FactRunError, match="fiscal_dominance_2025 seed 1 failed: KeyError"):
        ef.run_facts([1, 2], facts=(fact(),))


def test_a_fact_whose_runs_all_fail_has_an_empty_range_written_as_null():
    from model.results import json_safe

    r = ef.judge(fact(), [math.nan] * 3)
    assert (r["q05"], r["q95"]) == (math.inf, -math.inf) and r["failed_runs"] == 3
    assert json_safe(r)["q05"] is None and json_safe(r)["q95"] is None
