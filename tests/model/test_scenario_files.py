"""Reading scenario files: what cannot be read is a ConfigError naming the file; dates may be unquoted;
the built-in scenarios' descriptions speak to a researcher."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib

import pytest

from model.config import ModelConfig
from model.scenarios import SCENARIO_DIR, list_scenarios, load_scenario, read_text_file
from model.validation import ConfigError
from tests.support import make_model


def test_a_file_that_is_not_utf8_names_the_file_the_byte_and_the_line(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "x"\n\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"latin\.toml' is not allowed; it is not UTF-8 text \(byte 0xe9 on line 3\)"):
        load_scenario(path)


def test_a_directory_is_not_a_scenario_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, expected a .toml file"):
        load_scenario(tmp_path)


def test_a_missing_scenario_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.toml' does not exist"):
        load_scenario(tmp_path / "missing.toml")


def test_read_text_file_returns_utf8_text(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('description = "¥ and €"\n', encoding="utf-8")
    assert read_text_file(path, "scenario file") == 'description = "¥ and €"\n'


def test_unquoted_dates_in_overrides_and_events_are_accepted(tmp_path):
    path = tmp_path / "dated.toml"
    path.write_text(
        "[overrides.market]\nstart_date = 2024-07-01\n"
        "[[events]]\ndate = 2024-08-05\nkind = 'us_growth_news'\nsurprise_sd = -1.0\n"
    )
    scenario = load_scenario(path)
    assert scenario.config.market.start_date == "2024-07-01"
    assert scenario.events[0].day == 24  # 1 Jul -> 5 Aug 2024: 25 weekdays less Independence Day


def test_unquoted_date_in_a_configuration_file_round_trips(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[market]\nstart_date = 2024-07-01\n")
    config = ModelConfig.from_toml(path)
    assert config.market.start_date == "2024-07-01"
    again = tmp_path / "again.toml"
    config.to_toml(again)
    assert ModelConfig.from_toml(again) == config


SHORTHAND = re.compile(r"\bseed \d{3}\b|\bOption [A-Z]\b", re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
def test_built_in_scenarios_use_no_internal_shorthand(name):
    text = (SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert not SHORTHAND.search(list_scenarios()[name])
    for event in data.get("events", []):
        assert not SHORTHAND.search(event.get("source", "")), event
    assert not SHORTHAND.search(text), "a comment uses 'seed 00N' or 'Option X' without saying what it is"


def test_the_conditional_replay_differs_from_the_replay_only_in_the_fed_paths_source():
    """boj_hike_2024_conditional_fed is boj_hike_2024 with the surprise-sized Fed news up to 1 Aug replaced by
    observed 2y closes: every other input the same, so the two files cannot drift apart."""
    plain, conditional = (tomllib.loads((SCENARIO_DIR / f"{n}.toml").read_text(encoding="utf-8"))
                          for n in ("boj_hike_2024", "boj_hike_2024_conditional_fed"))  # fmt: skip

    def inputs(data, dropped):
        return [{k: v for k, v in e.items() if k != "source"} for e in data["events"] if e["kind"] != dropped]

    assert inputs(plain, "fed_path_news") == inputs(conditional, "ust2y_observed")
    assert all(e["date"] <= dt.date(2024, 8, 1) for e in plain["events"] if e["kind"] == "fed_path_news")
    assert conditional["overrides"] == plain["overrides"]


# event kinds whose size is read off a price the episode itself made: no replay "from its inputs" may hold one
OBSERVED_PRICE_KINDS = ("us_equity_news", "risk_shock", "ust2y_observed")


def test_the_replay_from_its_inputs_reads_no_observed_price():
    """boj_hike_2024 is the episode from its inputs: data surprises times sourced sensitivities, interventions,
    decisions and guidance. An S&P 500 move or a VIX jump read off the days it replays would be an outcome of
    the same risk-off put in as an input."""
    kinds = {e.kind for e in load_scenario("boj_hike_2024").events}
    assert kinds and not kinds & set(OBSERVED_PRICE_KINDS), sorted(kinds)


def test_the_conditional_replays_2y_is_each_observed_close_on_its_day():
    scenario = load_scenario("boj_hike_2024_conditional_fed")
    closes = {e.day: e.params["yield_pa"] for e in scenario.events if e.kind == "ust2y_observed"}
    assert len(closes) == 5
    model = make_model(1, "boj_hike_2024_conditional_fed")
    model.run_for(max(closes))
    assert model.history["ust2y_yield"][0] == 0.04737
    for day, close in closes.items():
        assert model.history["ust2y_yield"][day] == pytest.approx(close, abs=1e-15), day


def test_a_scripted_risk_index_is_allowed_only_in_a_scenario_named_for_sentiment():
    """``risk_shock`` sets the risk index, an outcome of the model, by hand: like an observed price
    (``conditional``), it is refused unless the scenario's name says what it is."""
    from model.scenarios import parse_scenario

    text = '[[events]]\nday = 5\nkind = "risk_shock"\nlog_jump = 0.7\n'
    with pytest.raises(ConfigError, match=r"events\[0\]\.kind = 'risk_shock' sets the risk index by hand.*'sentiment'"):
        parse_scenario('name = "scare"\n' + text, "scare.toml")
    scenario = parse_scenario('name = "sentiment_scare"\n' + text, "scare.toml")
    assert [e.kind for e in scenario.events] == ["risk_shock"]


def test_a_decision_fires_before_news_about_the_path_on_the_same_day_whatever_the_files_order():
    """A decision re-anchors the expected path at the rate decided; guidance listed before it on the same
    day used to be erased. Listed news first, the path still carries it after the day."""
    from model.model import CarryUnwindModel
    from model.scenarios import parse_scenario

    events = {
        "decision": '[[events]]\nday = 3\nkind = "boj_rate"\nrate = 0.005\n',
        "news": '[[events]]\nday = 3\nkind = "boj_path_news"\nchange_pa = 0.001\n',
    }
    levels = {}
    for order in (("news", "decision"), ("decision", "news"), ("decision",)):
        text = 'name = "guidance"\n[overrides.boj]\nmode = "scripted"\n' + "".join(events[k] for k in order)
        scenario = parse_scenario(text, "guidance.toml")
        assert [e.kind for e in scenario.events] == ["boj_rate", "boj_path_news"][: len(order)]
        model = CarryUnwindModel(scenario=scenario, seed=1, nisa__n_households=200, hedge_funds__n_funds=20)
        model.run_for(3)
        levels[order] = model.market.boj_path.level
    assert levels[("news", "decision")] == levels[("decision", "news")]
    assert levels[("news", "decision")] - levels[("decision",)] == pytest.approx(0.001, rel=1e-9)  # the guidance


def test_no_shipped_scenario_scripts_an_outcome():
    from model.scenarios import OBSERVED_KINDS, SCRIPTED_KINDS

    for name in list_scenarios():
        kinds = {e.kind for e in load_scenario(name).events}
        assert not kinds & SCRIPTED_KINDS, name
        assert not kinds & OBSERVED_KINDS or "conditional" in name, name


# -- dated events and the run's start date ------------------------------------------------------
def test_a_dated_event_fires_on_its_date_when_the_run_starts_on_another_day():
    """``boj_hike_2024`` dates its BoJ hike 31 July 2024. Started a month earlier than the scenario's own
    start (3 June), the run schedules it on the trading day that is 31 July in the run's calendar, not on
    the scenario's day number (which would be 2 July); an event the file gave as a day keeps its day."""
    from model.model import CarryUnwindModel
    from model.scenarios import ScenarioEvent, events_for

    own = load_scenario("boj_hike_2024")
    model = CarryUnwindModel(scenario=own, seed=1, collect=False, market__start_date="2024-06-03")
    hike = next(e for e in model.scenario_spec.events if e.kind == "boj_rate")
    assert model.calendar.date(hike.day) == dt.date(2024, 7, 31)
    assert hike.day != next(e for e in own.events if e.kind == "boj_rate").day
    # one given as a day keeps it
    by_day = dataclasses.replace(own, events=(ScenarioEvent(day=5, kind="boj_path_news", params={"change_pa": 0.001}),))
    assert events_for(by_day, "2024-06-03")[0].day == 5


def test_a_start_after_a_dated_event_is_refused_and_a_weekend_start_too():
    from model.model import CarryUnwindModel

    with pytest.raises(ConfigError, match=r"^market.start_date = '2024-08-01' is not allowed with scenario boj_hike"):
        CarryUnwindModel(scenario="boj_hike_2024", seed=1, collect=False, market__start_date="2024-08-01")
    with pytest.raises(ConfigError, match=r"it is a Saturday, not a trading day; expected a weekday that is not a "
                       r"US federal holiday, e.g. 2024-01-08"):  # fmt: skip
        CarryUnwindModel(seed=1, collect=False, market__start_date="2024-01-06")
    # Saturday 13 January 2024: Monday 15 January is Martin Luther King Jr. Day
    with pytest.raises(ConfigError, match=r"it is a Saturday, .* e\.g\. 2024-01-16$"):
        CarryUnwindModel(seed=1, collect=False, market__start_date="2024-01-13")
    with pytest.raises(
        ConfigError, match=r"'2024-07-04' is not allowed: it is a US federal holiday, .* e\.g\. 2024-07-05$"
    ):
        CarryUnwindModel(seed=1, collect=False, market__start_date="2024-07-04")


@pytest.mark.parametrize(
    "line, shown",
    [("date = 20230203", "20230203"), ('date = "20230203"', "'20230203'"), ('date = "2023-W05-5"', "'2023-W05-5'"),
     ("date = 12:00:00", "datetime.time(12, 0)"), ("date = 2023-02-03T12:00:00", "'2023-02-03T12:00:00'")],
)  # fmt: skip
def test_an_event_date_that_is_not_a_date_written_yyyy_mm_dd_is_refused(tmp_path, line, shown):
    """Before: the TOML integer 20230203 was read as 3 February 2023 (Python 3.11's fromisoformat)."""
    path = tmp_path / "d.toml"
    path.write_text(f"[[events]]\n{line}\nkind = 'us_growth_news'\nsurprise_sd = -1.0\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}, line 2: events[0].date = {shown} is not allowed; expected a date without a time, YYYY-MM-DD "
        "(an event fires before the day's trading)"
    )


def test_an_event_source_that_is_not_text_is_refused(tmp_path):
    """Before: source = 5 became the text '5'."""
    path = tmp_path / "s.toml"
    path.write_text("[[events]]\nday = 3\nkind = 'us_growth_news'\nsurprise_sd = -1.0\nsource = 5\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}, line 5: events\[0\]\.source = 5 is not allowed; "
                       "expected a string"):  # fmt: skip
        load_scenario(path)
    path.write_text("[[events]]\nday = 3\nkind = 'us_growth_news'\nsurprise_sd = -1.0\nsource = 'ISM'\n")
    assert load_scenario(path).events[0].source == "ISM"


@pytest.mark.parametrize("name", ["../scenarios/risk_off", "../../pyproject", "/risk_off", "risk_off/"])
def test_a_built_in_scenario_name_cannot_reach_out_of_the_folder(name):
    with pytest.raises(ConfigError, match=rf"^unknown scenario {re.escape(repr(name))}; known scenarios: baseline"):
        load_scenario(name)


def test_a_path_to_a_scenario_file_is_read_wherever_it_is():
    assert load_scenario(str(SCENARIO_DIR / "risk_off.toml")).name == "risk_off"
    assert load_scenario(SCENARIO_DIR / ".." / "scenarios" / "risk_off.toml").name == "risk_off"
    assert load_scenario("risk_off").name == "risk_off"


def test_a_scenario_name_too_long_for_the_file_system_is_a_config_error():
    """Before: OSError 'File name too long' from Path.exists()."""
    with pytest.raises(ConfigError, match=r"^scenario = 'x+….* is not allowed; the name is too long for the file"):
        load_scenario("x" * 300)


def test_a_scenario_that_puts_a_fiscal_premium_on_the_yen_must_say_so_in_its_name():
    """macro.fiscal_fx_premium weakens the yen after fiscal news with no mechanism: H2's answer put in. Before, any
    scenario file could set it (the hypotheses refused it, a scenario did not)."""
    from model.scenarios import parse_scenario
    from model.validation import ConfigError

    text = "[overrides.macro]\nfiscal_fx_premium = 0.05\n"
    refused = r"^mine.toml, line 3: macro.fiscal_fx_premium = 0.05 weakens the yen .* whose name contains 'premium'"
    with pytest.raises(ConfigError, match=refused):
        parse_scenario('name = "plain"\n' + text, "mine.toml")
    assert parse_scenario('name = "fiscal_premium"\n' + text, "mine.toml").config.macro.fiscal_fx_premium == 0.05
    assert parse_scenario('name = "plain"\n[overrides.macro]\nfiscal_fx_premium = 0.0\n', "mine.toml").name == "plain"
