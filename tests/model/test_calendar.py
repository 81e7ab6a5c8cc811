"""The trading calendar: weekdays that are not US federal holidays, about 250 a year."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.holiday import USFederalHolidayCalendar

from model.calendar import LAST_DATE, TradingCalendar, is_trading_day, iso_date, us_federal_holidays


def test_the_holidays_are_pandas_us_federal_calendar_from_1978():
    # pandas' calendar applies today's rules to every year; from 1978 (Veterans Day back on 11 November)
    # the two must agree day for day, to the last date a run may reach
    theirs = set(USFederalHolidayCalendar().holidays("1978-01-01", LAST_DATE.isoformat()).date)
    ours = {d for d in us_federal_holidays().tolist() if dt.date(1978, 1, 1) <= d <= LAST_DATE}
    assert ours == theirs


@pytest.mark.parametrize(
    "date, holiday",
    [
        ("2023-01-02", True),  # New Year's Day on a Sunday: observed Monday
        ("2021-12-31", True),  # New Year's Day 2022 on a Saturday: observed Friday the 31st before
        ("1985-01-21", False),  # Martin Luther King Jr. Day from 1986 only
        ("1986-01-20", True),
        ("2020-06-19", False),  # Juneteenth from 2021 only
        ("2024-06-19", True),
        ("1975-10-27", True),  # Veterans Day on the fourth Monday of October, 1971-1977
        ("1975-11-11", False),
        ("2024-11-28", True),  # Thanksgiving, the fourth Thursday
        ("2024-08-05", False),  # the day of the August 2024 unwind
    ],
)
def test_known_holidays_by_the_rules_in_force(date, holiday):
    assert is_trading_day(dt.date.fromisoformat(date)) is not holiday


def test_a_year_has_about_250_trading_days_and_day_250_is_a_year_on():
    cal = TradingCalendar("2023-01-03")
    per_year = [cal.day_of(f"{y + 1}-01-01") - cal.day_of(f"{y}-01-01") for y in range(2000, 2100)]
    assert min(per_year) >= 248 and max(per_year) <= 252
    assert np.mean(per_year) == pytest.approx(250.0, abs=0.5)  # the year of TRADING_DAYS = 250
    # 2023 has 249 trading days, day 0 the first: 29 December is day 248, and 1 January 2024 a holiday
    assert cal.date(248) == dt.date(2023, 12, 29) and cal.date(249) == dt.date(2024, 1, 2)


def test_day_of_moves_a_holiday_to_the_next_trading_day_and_dates_round_trip():
    cal = TradingCalendar("2024-07-01")
    assert cal.day_of("2024-07-04") == cal.day_of("2024-07-05") == 3  # Independence Day: Friday
    days = np.arange(0, 600)
    dates = cal.dates(days)
    assert all(cal.day_of(str(d)) == k for k, d in zip(days.tolist(), dates, strict=True))
    assert not any(d in set(us_federal_holidays().tolist()) for d in dates.tolist())
    assert (pd.DatetimeIndex(dates).day_of_week < 5).all()
    assert cal.trading_days_in_month(cal.day_of("2024-07-15")) == 22  # 23 weekdays less the 4th


@pytest.mark.parametrize(
    "text",
    ["20240701", "2024W271", "2024-W27-1", "2024-07-01T00:00", " 2024-07-01", "2024-07-01\n", "2024-7-1",
     "２０２４-07-01", 20240701, None],
)  # fmt: skip
def test_iso_date_takes_only_yyyy_mm_dd(text):
    """Python 3.11's date.fromisoformat also reads the basic and week forms, which NumPy's dates do not."""
    with pytest.raises(ValueError, match="is not a date written YYYY-MM-DD"):
        iso_date(text)


def test_iso_date_reads_a_date_and_refuses_one_not_in_the_calendar():
    assert iso_date("2024-07-01") == dt.date(2024, 7, 1)
    with pytest.raises(ValueError):
        iso_date("2024-02-30")


@pytest.mark.parametrize("value", ["20240701", "2024W271", "2024-W27-1"])
@pytest.mark.parametrize("field", ["market.start_date", "boj.taper_start"])
def test_a_configuration_date_in_another_iso_form_is_a_config_error_naming_the_field(field, value):
    """Before: the start date crashed in NumPy (a ValueError traceback) or read as the year 20240701; the
    taper's start was taken without a word."""
    from model.config import ModelConfig
    from model.validation import ConfigError

    section, name = field.split(".")
    with pytest.raises(
        ConfigError, match=rf"^{section}\.{name} = '{value}' is not allowed; expected an ISO date YYYY-MM-DD$"
    ):
        ModelConfig().with_overrides({field: value})
