"""Configuration and scenario validation: every bad value is rejected with a message that names the
field, the value and what is allowed."""

from __future__ import annotations

import math
import re

import pytest

from agents.hedge_funds import HedgeFundConfig
from model.config import ConfigError, ModelConfig
from model.model import CarryUnwindModel
from model.scenarios import list_scenarios, load_scenario, parse_scenario

# ---------------------------------------------------------------------------------------------
# ModelConfig


@pytest.mark.parametrize(
    "override, value, allowed",
    [
        ("hedge_funds.max_leverage", 0.5, "[1, 50]"),
        ("hedge_funds.max_leverage", 51.0, "[1, 50]"),
        ("hedge_funds.maintenance_ratio", 1.0, "[0.5, 1)"),  # open at the top
        ("hedge_funds.adjustment_speed", 0.0, "(0, 1]"),  # open at the bottom
        ("market.usdjpy", -3.0, "[70, 360]"),
        ("dealers.fx_capacity_usd_bn", 0.0, "[20, 5000]"),
        ("simulation.days", 0, "[1, 1e+06]"),
    ],
)
def test_out_of_range_value_is_rejected_naming_field_value_and_range(override, value, allowed):
    field = override.split(".")[1]
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({override: value})
    msg = str(err.value)
    assert field in msg and repr(value) in msg and allowed in msg, msg


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_value_is_rejected(value):
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({"hedge_funds.flow_sensitivity": value})
    msg = str(err.value)
    assert "flow_sensitivity" in msg and repr(value) in msg and "[0, 1]" in msg, msg


@pytest.mark.parametrize(
    "override, value, expected",
    [
        ("hedge_funds.max_leverage", "12", "[1, 50]"),
        ("hedge_funds.max_leverage", None, "[1, 50]"),
        ("hedge_funds.max_leverage", True, "[1, 50]"),  # a bool is not a number here
        ("hedge_funds.n_funds", 2.5, "integer"),
        ("hedge_funds.n_funds", "200", "integer"),
        ("hedge_funds.forced_sales", 1, "true or false"),
        ("hedge_funds.investor_flows", "yes", "true or false"),
    ],
)
def test_wrong_type_is_rejected_naming_field_value_and_what_is_allowed(override, value, expected):
    field = override.split(".")[1]
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({override: value})
    msg = str(err.value)
    assert field in msg and repr(value) in msg and expected in msg, msg


def test_integral_float_is_accepted_for_an_integer_field():
    cfg = ModelConfig().with_overrides({"hedge_funds.n_funds": 50.0})
    assert cfg.hedge_funds.n_funds == 50 and isinstance(cfg.hedge_funds.n_funds, int)


def test_unknown_field_is_rejected_listing_the_known_fields():
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({"hedge_funds.max_levrage": 3.0})
    msg = str(err.value)
    assert "max_levrage" in msg and "max_leverage" in msg and "n_funds" in msg, msg
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_dict({"hedge_funds": {"nfunds": 10}})
    assert "nfunds" in str(err.value) and "n_funds" in str(err.value)


def test_unknown_section_is_rejected_listing_the_known_sections():
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_dict({"hedgefunds": {"n_funds": 10}})
    msg = str(err.value)
    assert "hedgefunds" in msg and "hedge_funds" in msg and "bond_investors" in msg, msg
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({"hedgefunds.n_funds": 10})
    assert "hedgefunds" in str(err.value) and "hedge_funds" in str(err.value)


def test_sector_config_validates_on_direct_construction():
    with pytest.raises(ConfigError, match=r"max_leverage = 0\.5"):
        HedgeFundConfig(max_leverage=0.5)


def test_bad_value_in_a_config_file_is_rejected(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text("[hedge_funds]\nmax_leverage = nan\n")
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_toml(path)
    assert "max_leverage" in str(err.value) and "nan" in str(err.value) and "[1, 50]" in str(err.value)
    path.write_text("[hedge_funds]\nmax_leverage = 3.0\n[hedge_fund]\nn_funds = 3\n")
    with pytest.raises(ConfigError, match="hedge_fund'"):
        ModelConfig.from_toml(path)
    path.write_text("[hedge_funds\nmax_leverage = 3.0\n")
    with pytest.raises(ConfigError, match="line 1"):
        ModelConfig.from_toml(path)


@pytest.mark.parametrize("key", ["hedge_funds.max_leverage", "hedge_funds__max_leverage"])
def test_with_overrides_accepts_dotted_and_double_underscore_names(key):
    cfg = ModelConfig().with_overrides({key: 3.5, "dealers__inventory_decay": 0.2})
    assert cfg.hedge_funds.max_leverage == 3.5
    assert cfg.dealers.inventory_decay == 0.2
    # everything else untouched
    assert cfg.hedge_funds.n_funds == ModelConfig().hedge_funds.n_funds
    assert cfg.market == ModelConfig().market


def test_with_overrides_does_not_mutate_the_original():
    base = ModelConfig()
    base.with_overrides({"hedge_funds.max_leverage": 3.5})
    assert base.hedge_funds.max_leverage == HedgeFundConfig().max_leverage


def test_model_keyword_overrides_are_validated():
    with pytest.raises(ConfigError, match="max_leverage"):
        CarryUnwindModel(seed=0, hedge_funds__max_leverage=0.0)
    model = CarryUnwindModel(seed=0, hedge_funds__n_funds=7, hedge_funds__max_leverage=2.0)
    assert model.config.hedge_funds.n_funds == 7 and model.hedge_funds.alive.shape == (7,)
    assert model.hedge_funds.leverage_cap.max() <= 2.0


# ---------------------------------------------------------------------------------------------
# scenarios

GOOD = """name = "mine"
description = "a test scenario"

[overrides.hedge_funds]
max_leverage = 15.0

[[events]]
day = 30
kind = "boj_rate"
rate = 0.0025
"""


def test_a_user_written_scenario_file_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    assert sc.name == "mine"
    assert sc.config.hedge_funds.max_leverage == 15.0
    assert [(e.day, e.kind, e.params) for e in sc.events] == [(30, "boj_rate", {"rate": 0.0025})]


def test_scenario_event_fires_on_its_day(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    model = CarryUnwindModel(seed=0, scenario=str(path), hedge_funds__n_funds=20)
    for _ in range(29):
        model.step()
    assert model.market.boj_rate == model.config.market.boj_rate
    model.step()
    assert model.market.boj_rate == 0.0025
    assert model.history["boj_rate"][30] == 0.0025


def test_malformed_scenario_toml_names_the_line():
    text = 'name = "x"\n\n[overrides.hedge_funds\nmax_leverage = 3\n'
    with pytest.raises(ConfigError, match=r"mine\.toml.*malformed.*line 3"):
        parse_scenario(text, "mine.toml")


def test_unknown_scenario_field_names_the_field_and_its_line():
    text = 'name = "x"\n\n[overrides.hedge_funds]\nn_funds = 10\nmax_levrage = 3\n'
    with pytest.raises(ConfigError) as err:
        parse_scenario(text, "mine.toml")
    msg = str(err.value)
    assert "max_levrage" in msg and "line 5" in msg and "mine.toml" in msg, msg


def test_unknown_top_level_scenario_key_names_its_line():
    with pytest.raises(ConfigError, match=r"line 2.*'event'"):
        parse_scenario('name = "x"\nevent = 3\n', "mine.toml")


def test_unknown_override_section_is_rejected():
    with pytest.raises(ConfigError, match=r"line 2.*'hedgefunds'"):
        parse_scenario('name = "x"\n[overrides.hedgefunds]\nn_funds = 3\n', "mine.toml")


def test_override_section_that_is_not_a_table_is_a_config_error():
    with pytest.raises(ConfigError, match="hedge_funds"):
        parse_scenario('name = "x"\n[overrides]\nhedge_funds = 3\n', "mine.toml")


def test_out_of_range_scenario_override_names_the_line_of_that_field():
    # risk_index_mean comes first and contains the name of the bad field as a prefix
    text = 'name = "x"\n[overrides.market]\nrisk_index_mean = 20.0\nrisk_index = 500.0\n'
    with pytest.raises(ConfigError) as err:
        parse_scenario(text, "mine.toml")
    msg = str(err.value)
    assert "risk_index" in msg and "500" in msg and "[9, 85]" in msg, msg
    assert "line 4" in msg, msg


def test_bad_event_kind_is_rejected_listing_the_kinds():
    text = 'name = "x"\n[[events]]\nday = 5\nkind = "boj_hike"\nrate = 0.01\n'
    with pytest.raises(ConfigError) as err:
        parse_scenario(text, "mine.toml")
    msg = str(err.value)
    assert "boj_hike" in msg and "kind" in msg and "boj_rate" in msg and "risk_shock" in msg, msg


@pytest.mark.parametrize(
    "event, needle",
    [
        ('kind = "risk_shock"\nlog_jump = 9.0', r"log_jump = 9\.0.*\[-5, 5\]"),
        ('kind = "boj_rate"\nrate = 1.5', r"rate = 1\.5.*\[-0\.05, 0\.3\]"),
        ('kind = "risk_shock"\nlog_jump = "big"', r"log_jump = 'big'"),
        ('kind = "risk_shock"\nlogjump = 1.0', r"unknown field 'logjump'"),
        ('kind = "risk_shock"', r"missing field 'log_jump'"),
        # a list is not hashable: before, the membership test raised TypeError, a traceback
        ('kind = ["boj_rate"]', r"kind = \['boj_rate'\] is not allowed; expected one of"),
    ],
)
def test_bad_event_value_names_the_event_the_line_and_the_field(event, needle):
    text = f'name = "x"\n[[events]]\nday = 5\n{event}\n'
    with pytest.raises(ConfigError, match=r"mine\.toml, line (\d+): events\[0\].*" + needle) as err:
        parse_scenario(text, "mine.toml")
    line = int(re.search(r"line (\d+)", str(err.value)).group(1))
    # the offending key's own line, or the event's header when a field is missing
    expected = "[[events]]" if "missing" in needle else event.splitlines()[-1]
    assert text.splitlines()[line - 1] == expected


@pytest.mark.parametrize("day", ["0", "2.5", '"five"', "true"])
def test_bad_event_day_is_rejected(day):
    with pytest.raises(ConfigError, match=r"events\[0\]\.day"):
        parse_scenario(f'name = "x"\n[[events]]\nday = {day}\nkind = "risk_shock"\nlog_jump = 1.0\n', "mine.toml")


def test_unknown_scenario_name_lists_the_known_ones():
    known = list_scenarios()
    assert {"baseline", "risk_off"} <= set(known)
    with pytest.raises(ConfigError) as err:
        load_scenario("no_such_scenario")
    msg = str(err.value)
    assert "no_such_scenario" in msg
    for name in known:
        assert name in msg


def test_missing_scenario_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_scenario(tmp_path / "nowhere.toml")


@pytest.mark.parametrize("name", sorted(list_scenarios()))
def test_every_builtin_scenario_loads_with_a_description(name):
    sc = load_scenario(name)
    assert sc.description
    assert all(e.day >= 1 for e in sc.events)
    # every event fires in the scenario's own default run (gradual_normalization's last hike did not)
    assert all(e.day <= sc.config.simulation.days for e in sc.events), [e.day for e in sc.events]


# ---------------------------------------------------------------------------------------------
# config.toml with comments


def test_every_field_of_the_written_toml_carries_its_unit_range_and_meaning():
    import dataclasses

    from model.config import SECTIONS

    text = ModelConfig().to_toml()
    tables = {}
    for line in text.splitlines():
        if line.startswith("["):
            section = tables.setdefault(line.strip("[]"), {})
        elif " = " in line and not line.startswith("#"):
            section[line.split(" = ", 1)[0]] = line
    for name, kind in SECTIONS.items():
        for f in dataclasses.fields(kind):
            m = f.metadata
            line = tables[name][f.name]
            assignment, _, comment = line.partition("  # ")
            assert comment and len(line) <= 200, line  # one short line however long the documentation
            parts = comment.split("; ")
            if m.get("unit"):
                assert parts[0] == m["unit"], line
            if m.get("lo") is not None and m.get("choices") is None:
                left = "(" if m["lo_open"] else "["
                assert any(p.startswith(left) and "," in p for p in parts), line
            if m.get("hi") is None and m.get("lo") is not None:
                assert any(p.endswith(", inf)") for p in parts), line  # no upper bound
            elif m.get("hi") is not None:
                right = ")" if m["hi_open"] else "]"
                assert any(p.endswith(right) and "," in p for p in parts), line
            if m.get("doc"):
                first_words = " ".join(m["doc"].split()[:2])
                assert first_words in comment, line


def test_toml_comment_of_a_field_reads_unit_range_then_the_first_clause_of_its_meaning():
    line = next(x for x in ModelConfig().to_toml().splitlines() if x.startswith("days = "))
    assert line == "days = 500  # trading days; [1, 1000000]; default horizon of a run"


def test_commented_toml_round_trips_every_section_exactly(tmp_path):
    cfg = ModelConfig().with_overrides(
        {
            "hedge_funds.max_leverage": 17.123456789012345,
            "simulation.clearing_tolerance": 3e-11,
            "real_money.trade_flow_mean_usd_bn": 0.1 + 0.2,
            "hedge_funds.forced_sales": False,
        }
    )
    path = tmp_path / "config.toml"
    text = cfg.to_toml(path)
    assert text.count("  # ") > 100  # the comments are there
    back = ModelConfig.from_toml(path)
    assert back == cfg
    assert back.to_toml() == text
    for section in back.to_dict():
        assert getattr(back, section) == getattr(cfg, section), section


def test_an_observed_price_as_an_event_needs_a_scenario_named_conditional():
    event = '[[events]]\nday = 5\nkind = "ust2y_observed"\nyield_pa = 0.04\n'
    with pytest.raises(ConfigError, match=r"mine\.toml, line 4: events\[0\]\.kind = 'ust2y_observed' .* allowed only "
                       r"in a scenario whose name contains 'conditional'; name = 'replay'"):  # fmt: skip
        parse_scenario(f'name = "replay"\n{event}', "mine.toml")
    scenario = parse_scenario(f'name = "replay_conditional_on_the_2y"\n{event}', "mine.toml")
    assert [e.kind for e in scenario.events] == ["ust2y_observed"]


def unread_fields(config, source: str) -> list[str]:
    """``section.field`` of every configuration field that ``source`` never reads, as an attribute
    (``.field``) or by name (``"field"``)."""
    import dataclasses

    out = []
    for section in dataclasses.fields(config):
        for f in dataclasses.fields(getattr(config, section.name)):
            name = re.escape(f.name)
            if not re.search(rf"\.{name}\b", source) and not re.search(rf"[\"']{name}[\"']", source):
                out.append(f"{section.name}.{f.name}")
    return out


def test_every_configuration_field_is_read_by_the_model():
    """A parameter the model never reads would let a sweep or a calibration vary nothing."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = "\n".join(p.read_text(encoding="utf-8") for d in ("model", "agents") for p in (root / d).rglob("*.py"))
    assert unread_fields(ModelConfig(), source) == []
    # the check itself: a source that reads everything but one field finds that one
    planted = re.sub(r"\.max_leverage\b", ".other_name", source).replace('"max_leverage"', '"other"')
    assert unread_fields(ModelConfig(), planted.replace("'max_leverage'", "'other'")) == [
        "hedge_funds.max_leverage",
        "retail_fx.max_leverage",
    ]


# ---------------------------------------------------------------------------------------------
# Absurd sizes, names that become paths, NumPy numbers, bad argument types


BIG = 10**400  # a 401-digit integer: beyond every float


@pytest.mark.parametrize("override", ["hedge_funds.max_leverage", "hedge_funds.n_funds", "market.usdjpy"])
def test_a_huge_integer_is_out_of_range_in_one_short_line(override):
    with pytest.raises(ConfigError, match=r"is out of range; expected") as err:
        ModelConfig().with_overrides({override: BIG})
    message = str(err.value)
    assert "\n" not in message and "(401 digits)" in message and len(message) < 200


def test_an_integer_of_more_than_4300_digits_in_a_configuration_file_is_one_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[hedge_funds]\nn_funds = 1" + "0" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"config\.toml: an integer of more than 4,300 digits is not allowed"):
        ModelConfig.from_toml(path)


def test_numpy_integers_are_accepted_for_integer_fields_and_numpy_booleans_are_not():
    np = pytest.importorskip("numpy")
    cfg = ModelConfig().with_overrides({"hedge_funds.n_funds": np.int64(50), "hedge_funds.max_leverage": np.int32(5)})
    assert cfg.hedge_funds.n_funds == 50 and type(cfg.hedge_funds.n_funds) is int
    assert cfg.hedge_funds.max_leverage == 5.0 and type(cfg.hedge_funds.max_leverage) is float
    with pytest.raises(ConfigError, match=r"^hedge_funds\.n_funds = .* expected an integer"):
        ModelConfig().with_overrides({"hedge_funds.n_funds": np.bool_(True)})


def _event(day: str) -> str:
    return f'name = "x"\n[[events]]\n{day}\nkind = "us_growth_news"\nsurprise_sd = -1.0\n'


def test_an_event_day_beyond_the_longest_run_is_rejected_when_the_scenario_is_read():
    with pytest.raises(
        ConfigError, match=r"mine\.toml, line 3: events\[0\]\.day = 1000.*\(401 digits\) is not allowed"
    ):
        parse_scenario(_event(f"day = {BIG}"), "mine.toml")
    with pytest.raises(ConfigError, match=r"events\[0\]\.day = 1000001 is not allowed; expected an integer from 1 to"):
        parse_scenario(_event("day = 1000001"), "mine.toml")
    assert parse_scenario(_event("day = 1000000"), "mine.toml").events[0].day == 1_000_000
    with pytest.raises(ConfigError, match=r"events\[0\]\.date = 9999-12-31 is trading day"):
        parse_scenario(_event("date = 9999-12-31"), "mine.toml")


@pytest.mark.parametrize("date", ["2023-01-05T10:00:00", "2023-01-05 10:00:00Z", '"2023-01-05T10:00"'])
def test_an_event_date_with_a_time_is_rejected(date):
    with pytest.raises(ConfigError, match=r"events\[0\]\.date = '2023-01-05.10:00.*expected a date without a time"):
        parse_scenario(_event(f"date = {date}"), "mine.toml")


def test_a_scheduled_day_beyond_mesas_clock_is_a_config_error():
    import dataclasses

    from model.scenarios import ScenarioEvent

    huge = ScenarioEvent(day=BIG, kind="risk_shock", params={"log_jump": 1.0})
    scenario = dataclasses.replace(load_scenario("baseline"), events=(huge,))
    with pytest.raises(ConfigError, match=r"day = 1000.*\(401 digits\) is not allowed; expected an integer from 1 to "):
        CarryUnwindModel(scenario=scenario, seed=1, hedge_funds__n_funds=10)
    # scheduled directly, past the scenario's check: Mesa's clock is the limit
    model = CarryUnwindModel(seed=1, hedge_funds__n_funds=10)
    with pytest.raises(ConfigError, match=r"day = 1000.*\(401 digits\) is not allowed; expected an integer >= 1"):
        model.schedule(BIG, model.apply_event, huge)
    scheduled = len(model._callbacks)
    with pytest.raises(ValueError, match="^an event is scheduled first or late, not both$"):
        model.schedule(3, model.apply_event, huge, first=True, late=True)
    assert len(model._callbacks) == scheduled  # nothing was scheduled


@pytest.mark.parametrize("name", ['"../../esc"', '""', '"a\\nb"', "5", '".hidden"', '"a b"', '"a/b"', f'"{"x" * 101}"'])
def test_a_scenario_name_that_is_not_a_plain_file_name_is_rejected(name):
    with pytest.raises(ConfigError, match=r"mine\.toml, line 1: name = .* is not allowed; expected a name of 1 to 100"):
        parse_scenario(f"name = {name}\n", "mine.toml")


def test_a_plain_scenario_name_and_a_file_name_default_are_accepted():
    assert parse_scenario('name = "my_hike-2.v1"\ndescription = "only a name"\n', "mine.toml").name == "my_hike-2.v1"
    assert parse_scenario('description = "no name"\n', "dir/my_file.toml").name == "my_file"
    with pytest.raises(ConfigError, match=r"the file name 'my file' is not allowed as the scenario's name"):
        parse_scenario('description = "no name"\n', "dir/my file.toml")
    with pytest.raises(ConfigError, match=r"description = 5 is not allowed; expected a string"):
        parse_scenario('name = "x"\ndescription = 5\n', "mine.toml")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_scenario_file_is_rejected(tmp_path, text):
    for suffix in (".toml", ".txt"):
        path = tmp_path / f"empty{suffix}"
        path.write_text(text)
        with pytest.raises(
            ConfigError, match=rf"empty\{suffix} is empty \(no name, description, overrides or events\)"
        ):
            load_scenario(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scenario": 5}, r"scenario = 5 is not allowed; expected a built-in scenario name, .* a Scenario or None"),
        ({"config": 5}, r"config = 5 is not allowed; expected a ModelConfig"),
        ({"config": {"hedge_funds": {}}}, r"config = \{'hedge_funds': \{\}\} is not allowed; expected a ModelConfig"),
        ({"seed": -1}, r"seed = -1 is not allowed; expected a non-negative integer below 2\*\*64"),
        ({"seed": 2**64}, r"seed = 18446744073709551616 is not allowed; expected a non-negative integer below 2"),
        ({"seed": 10**300}, r"seed = 100000000000000… \(301 digits\) is not allowed; expected a non-negative"),
        ({"seed": True}, r"seed = True is not allowed"),
        ({"seed": 1, "rng": 2}, r"pass either seed or rng, not both"),
        ({"engine": "gpu"}, r"engine = 'gpu' is not allowed"),
    ],
)
def test_bad_model_arguments_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CarryUnwindModel(**kwargs)


def test_the_command_lines_seed_bound_is_the_models():
    """The command line keeps its own copy of the seed bound (its --help imports no NumPy): the same number."""
    from experiments.cli.common import SEED_LIMIT as CLI_LIMIT
    from model.streams import SEED_LIMIT, resolve_seed

    assert CLI_LIMIT == SEED_LIMIT == 2**64
    assert resolve_seed(SEED_LIMIT - 1, None) == 2**64 - 1


def test_a_field_given_in_both_spellings_is_refused_unless_the_values_agree():
    """Before: the one given last won, silently."""
    cfg = ModelConfig()
    with pytest.raises(ConfigError, match=r"^hedge_funds.n_funds is given twice, as 'hedge_funds__n_funds' = 20 and "
                                          r"'hedge_funds.n_funds' = 30; expected it once$"):  # fmt: skip
        cfg.with_overrides({"hedge_funds__n_funds": 20, "hedge_funds.n_funds": 30})
    with pytest.raises(ConfigError, match="is given twice"):
        CarryUnwindModel(seed=1, **{"hedge_funds.n_funds": 30, "hedge_funds__n_funds": 20})
    same = cfg.with_overrides({"hedge_funds__n_funds": 20, "hedge_funds.n_funds": 20.0})
    assert same.hedge_funds.n_funds == 20


def test_run_simulations_switches_and_a_scenarios_configuration_are_checked():
    import dataclasses

    from model.results import run_simulation

    for name in ("progress", "check_every_day"):
        with pytest.raises(ConfigError, match=rf"^{name} = 'no' is not allowed; expected True or False$"):
            run_simulation(seed=1, days=3, hedge_funds__n_funds=10, **{name: "no"})
    odd = dataclasses.replace(load_scenario("baseline"), config={"hedge_funds": {}})
    with pytest.raises(
        ConfigError, match=r"^scenario 'baseline': its config = .* is not allowed; expected a ModelConfig"
    ):
        run_simulation(scenario=odd, seed=1, days=3)


def test_a_whole_number_too_long_to_write_out_is_named_by_its_size():
    """Before: shown() and seed_problem() raised ValueError on an integer of more than 4,300 digits (Python's
    limit on writing one out), so the one-line error became a traceback."""
    from model.streams import seed_problem
    from model.validation import shown

    assert shown(10**5000) == "an integer of about 5,001 digits" and shown(-(10**5000)).startswith("a negative")
    assert seed_problem(10**5000) == "an integer of about 5,001 digits is not allowed; expected a non-negative " \
        "integer below 2**64"  # fmt: skip
    with pytest.raises(ConfigError, match=r"seed = an integer of about 5,001 digits is not allowed"):
        CarryUnwindModel(seed=10**5000)
