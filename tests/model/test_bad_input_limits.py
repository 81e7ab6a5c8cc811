"""Limits on sizes and dates that bad input used to pass: a run whose dates pass pandas' datetime64[ns]
limit (refused by the configuration's check, before any simulation), and scenario files with very many
events (a bounded warning, a cap on the count)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from model import scenarios
from model.calendar import LAST_DATE, TradingCalendar
from model.config import ModelConfig
from model.scenarios import Scenario, ScenarioEvent, parse_scenario, report_late_events
from model.validation import ConfigError

# -- the run's last date must fit pandas' datetime64[ns] -----------------------------------------


def _as_model_dates(dates) -> pd.Series:
    """What Model.timeseries does with the calendar's dates."""
    return pd.to_datetime(np.asarray(dates, dtype="datetime64[D]")).astype("datetime64[ns]")


def test_last_date_is_the_last_day_pandas_holds():
    assert LAST_DATE == dt.date(2262, 4, 11)
    _as_model_dates([LAST_DATE])  # fits
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        _as_model_dates([LAST_DATE + dt.timedelta(days=1)])


# trading days only: a weekend or holiday start date is refused (2100-12-31 and 2100-12-24 are the observed
# New Year's Day and Christmas, 1971-01-01 New Year's Day)
@pytest.mark.parametrize("start", ["2100-12-30", "2023-01-03", "1971-01-04", "2100-12-23"])
def test_the_longest_run_allowed_is_exactly_the_one_whose_dates_fit(start):
    calendar = TradingCalendar(start)
    most = calendar.last_day_until(LAST_DATE)
    _as_model_dates(calendar.dates([0, most]))  # what the longest run's time series does: it must not raise
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        _as_model_dates(calendar.dates([0, most + 1]))
    assert calendar.dates([most])[0] <= LAST_DATE < calendar.dates([most + 1])[0]
    ModelConfig().with_overrides({"market.start_date": start, "simulation.days": most})
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({"market.start_date": start, "simulation.days": most + 1})
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"simulation.days = {most + 1} is not allowed with market.start_date = {start!r}; ")
    assert f"expected at most {most:,} trading days" in msg and "2262-04-11" in msg


def test_the_reviewers_run_is_refused_with_the_largest_days_for_its_start():
    with pytest.raises(ConfigError) as err:
        ModelConfig().with_overrides({"market.start_date": "2100-12-30", "simulation.days": 45000})
    msg = str(err.value)
    assert "simulation.days = 45000" in msg and "market.start_date = '2100-12-30'" in msg
    assert "expected at most 40,302 trading days for that start date" in msg


def test_the_default_start_date_bounds_days_too():
    with pytest.raises(ConfigError, match=r"expected at most 59,792 trading days"):
        ModelConfig().with_overrides({"simulation.days": 1_000_000})


def test_the_check_holds_for_a_run_with_days_and_does_not_simulate(monkeypatch):
    """run_simulation (the sweep's and the command line's runs) refuses it while building the model."""
    from model import model as model_module
    from model.results import run_simulation

    late = ModelConfig().with_overrides({"market.start_date": "2100-12-30"})
    monkeypatch.setattr(model_module.CarryUnwindModel, "step", lambda self: pytest.fail("no day may be simulated"))
    with pytest.raises(ConfigError, match=r"simulation\.days = 45000 is not allowed with market\.start_date"):
        run_simulation(late, seed=1, days=45000)


def test_the_command_line_refuses_it_in_one_line_before_any_work(capsys, tmp_path):
    from experiments.cli import main
    from experiments.cli.common import EXIT_USAGE

    out = tmp_path / "run"
    status = main(["run", "--set", "market.start_date=2100-12-30", "--days", "45000", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == EXIT_USAGE, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("carry-unwind: error:")]
    assert len(lines) == 1 and "simulation.days = 45000" in lines[0] and "40,302" in lines[0], err
    assert not out.exists()


def test_a_scenario_file_setting_both_is_refused_at_its_line():
    text = "[overrides.market]\nstart_date = 2100-12-30\n[overrides.simulation]\ndays = 45000\n"
    with pytest.raises(ConfigError, match=r"late\.toml, line 4: simulation\.days = 45000 is not allowed"):
        parse_scenario(text, "late.toml")


# -- scenario files with very many events -------------------------------------------------------


def _late_scenario(n: int) -> Scenario:
    events = tuple(ScenarioEvent(day=1_000 + i, kind="boj_rate", params={"rate": 0.01}) for i in range(n))
    return Scenario(name="many", description="", config=ModelConfig(), events=events, path="many.toml")


def test_the_late_events_warning_is_short_for_any_count():
    said: list[str] = []
    report_late_events(_late_scenario(200_000), 500, warn=said.append)
    (line,) = said
    assert "\n" not in line and len(line) < 500, len(line)
    assert "200,000 events outside the horizon of 500 trading days" in line
    for day in range(1_000, 1_005):
        assert f"boj rate on day {day}" in line
    assert "day 1005" not in line and "…" in line and "199,995 more" in line


def test_a_few_late_events_are_all_listed_without_an_ellipsis():
    said: list[str] = []
    report_late_events(_late_scenario(5), 500, warn=said.append)
    assert "…" not in said[0] and "boj rate on day 1004" in said[0]


def _events_text(n: int) -> str:
    return 'name = "many"\n' + "".join(f'[[events]]\nday = {i + 1}\nkind = "boj_rate"\nrate = 0.01\n' for i in range(n))


def test_a_scenario_file_with_too_many_events_is_one_line_naming_the_file_and_the_count(monkeypatch):
    monkeypatch.setattr(scenarios, "MAX_EVENTS", 3)  # the same check, on a small file
    assert len(parse_scenario(_events_text(3), "many.toml").events) == 3
    with pytest.raises(ConfigError) as err:
        parse_scenario(_events_text(4), "many.toml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("many.toml, line 2: events = 4 tables is not allowed; ")
    assert msg.endswith("expected at most 3 [[events]] in a scenario file")


# -- files: an empty configuration, a byte-order mark ----------------------------------------------


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_configuration_file_is_refused_not_read_as_all_defaults(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="is empty") as err:
        ModelConfig.from_toml(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path):
    """A file saved with a BOM reads as the same file without it (tomllib refused it at line 1)."""
    plain = ModelConfig().to_toml()
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + plain.encode())
    assert ModelConfig.from_toml(path) == ModelConfig()
    scenario = tmp_path / "s.toml"
    scenario.write_bytes(b"\xef\xbb\xbf" + b'name = "bom"\n')
    assert scenarios.load_scenario(str(scenario)).name == "bom"
