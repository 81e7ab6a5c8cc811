"""The order within a day: policy decisions and meetings before the day's news, the BoJ's fiscal
shift before any sector decides, day 0's inflation by the day's own formula, and events built in code
held to a scenario file's rules. Each test fails on the code before 5 December 2026."""

from __future__ import annotations

import dataclasses
import math

import pytest

from model.macro import MacroState
from model.model import CarryUnwindModel
from model.scenarios import ScenarioEvent, check_event, load_scenario
from model.validation import ConfigError

SMALL = dict(hedge_funds__n_funds=20, nisa__n_households=500, retail_fx__n_accounts=500, cta__n_ctas=20)


def _first_meeting(scenario: str) -> int:
    probe = CarryUnwindModel(scenario=scenario, seed=1, collect=False, **SMALL)
    return probe.sectors["boj"].next_meeting_day


def _with_events(scenario: str, *events: ScenarioEvent):
    spec = load_scenario(scenario)
    return dataclasses.replace(spec, events=tuple(spec.events) + events)


def test_boj_path_news_on_a_rule_meeting_day_is_not_erased_by_the_meeting():
    """The meeting re-anchors the expected path at the rate decided; news about the path the same day
    came after it and must move the day's prices (before: the news was applied first and erased)."""
    day = _first_meeting("imported_inflation")
    news = ScenarioEvent(day=day, kind="boj_path_news", params={"change_pa": 0.005})
    runs = {}
    for label, scenario in (("plain", "imported_inflation"), ("news", _with_events("imported_inflation", news))):
        m = CarryUnwindModel(scenario=scenario, seed=1, collect=False, **SMALL)
        m.run_days(day)
        runs[label] = (m.market.usdjpy, m.market.boj_path.level, m.sectors["boj"].decisions)
    assert runs["news"][1] == pytest.approx(runs["plain"][1] + 0.005, abs=1e-12)
    assert runs["news"][0] != runs["plain"][0]


def test_a_scripted_boj_decision_on_a_rule_meeting_day_is_the_day_s_decision():
    day = _first_meeting("imported_inflation")
    scripted = ScenarioEvent(day=day, kind="boj_rate", params={"rate": -0.001})
    m = CarryUnwindModel(scenario=_with_events("imported_inflation", scripted), seed=1, collect=False, **SMALL)
    m.run_days(day)
    assert m.market.boj_rate == -0.001
    assert [d for d in m.sectors["boj"].decisions if d[0] == day] == [(day, -0.001)]


@pytest.mark.parametrize("meeting", [True, False])
def test_the_boj_surprise_recorded_is_that_of_the_decision_that_stands(meeting):
    """A scripted decision replaces the day's earlier decision (the rule's meeting's, when the decision was scheduled
    after the meeting, as the hypotheses' arms schedule theirs; or another scripted one): ``market.last_surprise
    ["boj"]`` is the standing decision's surprise, against the expected rate priced before the day's decisions, as if
    the replaced one had not been taken (before: against the path the replaced decision had re-anchored, the surprise
    of a decision that no longer stands). The rate and the path are the standing decision's either way."""
    day = _first_meeting("imported_inflation")
    scripted = ScenarioEvent(day=day, kind="boj_rate", params={"rate": -0.001})
    earlier = () if meeting else (ScenarioEvent(day=day, kind="boj_rate", params={"rate": 0.01}),)
    mode = {} if meeting else {"boj__mode": "scripted"}
    runs = {}
    # the day's decisions without the scripted one, and with it replacing the earlier one (scheduled after the
    # model's own meetings, as an experiment's events are)
    for label, extra in (("control", earlier), ("replaced", (*earlier, scripted))):
        m = CarryUnwindModel(scenario="imported_inflation", seed=1, collect=False, **SMALL, **mode)
        for event in extra:
            m.schedule_scenario_event(event)
        m.run_days(day - 1)
        priced = m.market.boj_path.level  # the expected near-term rate before the day's decisions
        decided: list[float] = []

        def spy(rate, _set=m.market.set_boj_rate, _seen=decided, **kw):  # each decision's rate, in order
            _seen.append(rate)
            _set(rate, **kw)

        m.market.set_boj_rate = spy
        m.run_days(1)
        runs[label] = (priced, decided, m)
    (priced, decided, m), (_, replaced, control) = runs["replaced"], runs["control"]
    assert priced == runs["control"][0]
    # the day's decisions: the earlier one (the meeting's, at another rate than the priced one), then the scripted
    assert len(replaced) == 1 and replaced[0] not in (priced, -0.001) and decided == [*replaced, -0.001]
    assert m.market.boj_rate == -0.001 and [d for d in m.sectors["boj"].decisions if d[0] == day] == [(day, -0.001)]
    assert m.market.last_surprise["boj"] == -0.001 - priced
    assert control.market.last_surprise["boj"] == replaced[0] - priced


def test_every_sector_reads_the_same_expected_boj_path_on_a_budget_day(monkeypatch):
    """In fiscal_dominance_2025 the BoJ's response to the fiscal term moves the expected path on the
    budget day: every sector's decision must see the moved path (before: those registered before the
    BoJ saw yesterday's)."""
    m = CarryUnwindModel(scenario="fiscal_dominance_2025", seed=1, collect=False, **SMALL)
    budget = next(e.day for e in m.scenario_spec.events if e.kind == "supplementary_budget")
    m.run_days(budget - 1)
    seen = {}
    for s in m.sector_list:
        original = s.decide

        def spy(model, _s=s, _f=original):
            seen[_s.name] = model.market.boj_path.level
            return _f(model)

        monkeypatch.setattr(s, "decide", spy)
    before = m.market.boj_path.level
    m.run_days(1)
    assert len(set(seen.values())) == 1, seen
    assert next(iter(seen.values())) != before  # the day's shift did move it


@pytest.mark.parametrize("switch", [True, False])
def test_day_0_inflation_is_the_day_s_formula_at_the_opening_state(switch):
    m = CarryUnwindModel(scenario="imported_inflation", seed=1, collect=False, macro__pass_through_switch=switch,
                         **SMALL)  # fmt: skip
    c, mk = m.config.macro, m.config.market
    expected = c.jp_core_inflation + c.fx_pass_through * (math.log(mk.usdjpy) - math.log(mk.usdjpy_year_ago))
    assert m.macro.jp_inflation == pytest.approx(expected, rel=1e-15)
    assert m.macro.jp_inflation != mk.jp_inflation_expectations
    assert MacroState.opening_inflation(c, mk) == m.macro.jp_inflation


@pytest.mark.parametrize(
    "event, message",
    [
        (
            ScenarioEvent(day=5, kind="no_such_kind", params={}),
            r"^scenario 'baseline': events\[0\]\.kind = 'no_such_kind'",
        ),
        (ScenarioEvent(day=5, kind="boj_rate", params={}), r"missing field 'rate' for kind 'boj_rate'$"),
        (ScenarioEvent(day=5, kind="boj_rate", params={"rate": float("nan")}), r"\.rate = nan is not allowed"),
        (ScenarioEvent(day=5, kind="us_short_rate", params={"rate": 5.0}), r"\.rate = 5\.0 is not allowed"),
        (ScenarioEvent(day=0, kind="boj_rate", params={"rate": 0.0}), r"\.day = 0 is not allowed"),
        (ScenarioEvent(day=5, kind="risk_shock", params={"log_jump": 1.0}), r"allowed only in a scenario whose name"),
    ],
)
def test_a_scenario_built_in_code_is_refused_before_any_day_as_a_file_would_be(event, message, monkeypatch):
    spec = dataclasses.replace(load_scenario("baseline"), events=(event,))
    monkeypatch.setattr(CarryUnwindModel, "step", lambda self: pytest.fail("no day may be simulated"))
    with pytest.raises(ConfigError, match=message):
        CarryUnwindModel(scenario=spec, seed=1, collect=False, **SMALL)


def test_an_event_applied_or_scheduled_in_code_is_checked_but_may_set_an_outcome():
    m = CarryUnwindModel(seed=1, collect=False, **SMALL)
    with pytest.raises(ConfigError, match=r"^event: missing field 'rate' for kind 'boj_rate'$"):
        m.apply_event(ScenarioEvent(day=1, kind="boj_rate", params={}))
    with pytest.raises(ConfigError, match=r"^event\.surprise_sd = inf is not allowed"):
        m.schedule_scenario_event(ScenarioEvent(day=3, kind="us_growth_news", params={"surprise_sd": math.inf}))
    m.apply_event(ScenarioEvent(day=1, kind="risk_shock", params={"log_jump": 0.5}))  # an experiment may
    m.run_days(1)
    assert m.market.risk_index > m.config.market.risk_index


@pytest.mark.parametrize(
    "event, match",
    [
        ({"day": 3, "kind": "boj_rate", "params": {"rate": 0.0025}},
         r"^event = \{'day': 3, .* is not allowed; expected a model\.scenarios\.ScenarioEvent$"),
        (("boj_rate", 3), r"^event = \('boj_rate', 3\) is not allowed; expected a model\.scenarios\.ScenarioEvent$"),
        (ScenarioEvent(day=3, kind="boj_rate", params=[("rate", 0.0025)]),
         r"^event\.params = \[\('rate', 0\.0025\)\] is not allowed; expected a mapping of field to number$"),
        (ScenarioEvent(day=3, kind="boj_rate", params=None),
         r"^event\.params = None is not allowed; expected a mapping of field to number$"),
    ],
)  # fmt: skip
def test_an_event_that_is_not_a_scenario_event_or_whose_fields_are_not_a_mapping_is_refused(event, match):
    with pytest.raises(ConfigError, match=match):
        check_event(event)
    m = CarryUnwindModel(seed=1, collect=False, **SMALL)
    with pytest.raises(ConfigError, match=match):  # the model's own entry point checks it the same way
        m.schedule_scenario_event(event)
    with pytest.raises(ConfigError, match=match.replace("^event", "^events\\[2\\]")):
        check_event(event, where="events[2]")


def test_a_scripted_boj_decision_and_a_rule_meeting_give_the_same_day_in_either_order():
    """Scheduled inside the scenario, the decision fires before the day's meeting (skipped); scheduled after
    the model is built, it fires after the meeting and replaces its decision. Both must give one decision
    for the day and the same path."""
    day = _first_meeting("imported_inflation")
    scripted = ScenarioEvent(day=day, kind="boj_rate", params={"rate": 0.003})
    inside = CarryUnwindModel(scenario=_with_events("imported_inflation", scripted), seed=1, collect=False, **SMALL)
    after = CarryUnwindModel(scenario="imported_inflation", seed=1, collect=False, **SMALL)
    after.schedule_scenario_event(scripted)
    for m in (inside, after):
        m.run_days(day + 3)
    assert inside.sectors["boj"].decisions == after.sectors["boj"].decisions
    assert [d for d in after.sectors["boj"].decisions if d[0] == day] == [(day, 0.003)]
    assert list(inside.series("usdjpy")) == list(after.series("usdjpy"))


def test_an_event_built_in_code_enters_as_a_file_s_would_python_floats_and_ints():
    """A NumPy float32 field used to carry its type into the market's state (the BoJ's rate, its path)."""
    import numpy as np

    m = CarryUnwindModel(seed=1, collect=False, **SMALL)
    m.schedule_scenario_event(ScenarioEvent(day=np.int64(2), kind="boj_rate", params={"rate": np.float32(0.003)}))
    m.run_days(3)
    assert type(m.market.boj_rate) is float and m.market.boj_rate == float(np.float32(0.003))
    with pytest.raises(ConfigError, match=r"^event\.kind = \['boj_rate'\] is not allowed"):
        m.apply_event(ScenarioEvent(day=4, kind=["boj_rate"], params={"rate": 0.0}))


def test_the_cached_holidays_cannot_be_edited():
    from model.calendar import us_federal_holidays

    with pytest.raises(ValueError):
        us_federal_holidays()[0] = us_federal_holidays()[1]
