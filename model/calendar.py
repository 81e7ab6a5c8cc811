"""Trading days ↔ calendar dates.

A trading day is a weekday that is not a US federal holiday as the federal government observes it
(:func:`us_federal_holidays`; close to the Treasury market's closures, which add Good Friday and do
not always close on a Friday 31 December observed for New Year's Day). That is 250.2 days a year on
average over 1990–2100 (249 in 2023, 251 in 2024), the year of 250 trading days in which the model
states every rate, drift and decay. Japanese holidays are not modelled: on them the JGB market would
be shut while the model's clears.

Day 0 is the initial state, dated ``start_date`` (a trading day); day ``d`` is the ``d``-th trading
day after it. Policy calendars (BoJ meetings, the January NISA quota reset, the BoJ's purchase taper)
are written in dates and looked up here; a date that is not a trading day moves to the next one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import numpy as np

__all__ = [
    "ISO_DATE",
    "TRADING_DAYS",
    "TradingCalendar",
    "LAST_DATE",
    "us_federal_holidays",
    "is_trading_day",
    "iso_date",
]

# trading days a year: one step is one trading day, and every rate, drift and decay is stated in a year of
# 250 of them (the calendar averages 250.2, above). Here, importing nothing from the model, so that
# model.market (which model.sector imports) can use it too; model.sector re-exports it for the sectors
TRADING_DAYS = 250.0

# The last whole day pandas' ``datetime64[ns]`` holds (its limit is 2262-04-11 23:47:16): a run's
# time series dates every day, so no run may reach past it (ModelConfig checks this)
LAST_DATE = dt.date(2262, 4, 11)

# the years whose holidays the calendar holds: every start date allowed (1971-2100) and every date a run
# from one may reach (LAST_DATE), with a year either side
_FIRST_YEAR, _LAST_YEAR = 1970, LAST_DATE.year + 1


# a date as configurations and scenario files write it: YYYY-MM-DD, ASCII digits (iso_date)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: Any) -> dt.date:
    """The date written ``text``, exactly ``YYYY-MM-DD`` (ASCII digits, nothing around them).

    ``datetime.date.fromisoformat`` alone also reads ``20240701``, ``2024W271`` and ``2024-W27-1`` (Python 3.11
    and later), which NumPy's dates do not: a configuration or scenario date must be one form, read the same
    everywhere.

    Raises
    ------
    ValueError
        ``text`` is not a string of that form, or not a date of the calendar (``2024-02-30``).

    Examples
    --------
    >>> iso_date("2024-07-01")
    datetime.date(2024, 7, 1)
    >>> iso_date("20240701")
    Traceback (most recent call last):
    ...
    ValueError: '20240701' is not a date written YYYY-MM-DD
    """
    if not isinstance(text, str) or not ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (Monday 0) of a month; ``n = -1`` the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """A fixed-date holiday on a Saturday is observed the Friday before, on a Sunday the Monday after
    (Executive Order 11582, 1971)."""
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


def _holidays_of(year: int) -> list[dt.date]:
    """The US federal holidays of ``year`` (5 U.S.C. 6103), as observed, by the rules in force that year:
    the Monday holidays from 1971 (Uniform Monday Holiday Act), Veterans Day back on 11 November from
    1978, Martin Luther King Jr. Day from 1986, Juneteenth from 2021."""
    monday, thursday = 0, 3
    days = [
        _observed(dt.date(year, 1, 1)),
        _nth_weekday(year, 2, monday, 3),  # Washington's Birthday
        _nth_weekday(year, 5, monday, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, monday, 1),  # Labor Day
        _nth_weekday(year, 10, monday, 2),  # Columbus Day
        _nth_weekday(year, 10, monday, 4) if year < 1978 else _observed(dt.date(year, 11, 11)),  # Veterans Day
        _nth_weekday(year, 11, thursday, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    ]
    if year >= 1986:
        days.append(_nth_weekday(year, 1, monday, 3))  # Martin Luther King Jr. Day
    if year >= 2021:
        days.append(_observed(dt.date(year, 6, 19)))  # Juneteenth
    return days


@functools.cache
def us_federal_holidays() -> np.ndarray:
    """Every US federal holiday, as observed, from 1970 to the last year a run may reach
    (``datetime64[D]``, sorted). New Year's Day on a Saturday is observed on the 31 December before.

    >>> [str(d) for d in us_federal_holidays() if str(d).startswith("2023")][:3]
    ['2023-01-02', '2023-01-16', '2023-02-20']
    """
    days = sorted({d for year in range(_FIRST_YEAR, _LAST_YEAR + 1) for d in _holidays_of(year)})
    out = np.array(days, dtype="datetime64[D]")
    out.flags.writeable = False  # cached and shared by every calendar in the process: nobody may edit it
    return out


@functools.cache
def _business_days() -> np.busdaycalendar:
    return np.busdaycalendar(weekmask="1111100", holidays=us_federal_holidays())


def is_trading_day(date: dt.date) -> bool:
    """Whether ``date`` is a trading day (a weekday that is not a US federal holiday)."""
    return bool(np.is_busday(np.datetime64(date, "D"), busdaycal=_business_days()))


_BLOCK = 256  # trading days whose dates are computed together (about a year)


class TradingCalendar:
    def __init__(self, start_date: str) -> None:
        self._cal = _business_days()
        self.start = np.busday_offset(np.datetime64(start_date, "D"), 0, roll="forward", busdaycal=self._cal)
        # several sectors ask for each day's date, and a month's trading days, every day: both are
        # computed once, the dates a block of days at a time
        self._dates: dict[int, dt.date] = {}
        self._month_days: dict[tuple[int, int], int] = {}

    def date(self, day: int) -> dt.date:
        day = int(day)
        d = self._dates.get(day)
        if d is None:
            first = day - day % _BLOCK
            days = np.arange(first, first + _BLOCK)
            self._dates.update(zip(days.tolist(), self.dates(days).tolist(), strict=True))
            d = self._dates[day]
        return d

    def dates(self, days) -> np.ndarray:
        """The dates of trading days ``days`` (array-like of int) as ``datetime64[D]``."""
        return np.busday_offset(self.start, np.asarray(days, dtype=np.int64), roll="forward", busdaycal=self._cal)

    def last_day_until(self, date: str | dt.date = LAST_DATE) -> int:
        """The last trading day dated on or before ``date`` (-1 if ``date`` is before the start): the
        longest run, in trading days, whose dates all fit. Cheap: one business-day count."""
        end = np.datetime64(date, "D") + np.timedelta64(1, "D")
        return int(np.busday_count(self.start, end, busdaycal=self._cal)) - 1 if end > self.start else -1

    def day_of(self, date: str | dt.date) -> int:
        """The first trading day on or after ``date`` (may be ≤ 0 for dates before the start)."""
        d = np.busday_offset(np.datetime64(date, "D"), 0, roll="forward", busdaycal=self._cal)
        if d >= self.start:
            return int(np.busday_count(self.start, d, busdaycal=self._cal))
        return -int(np.busday_count(d, self.start, busdaycal=self._cal))

    def month(self, day: int) -> int:
        return self.date(day).month

    def trading_days_in_month(self, day: int) -> int:
        d = self.date(day)
        key = (d.year, d.month)
        n = self._month_days.get(key)
        if n is None:
            first = np.datetime64(dt.date(d.year, d.month, 1), "D")
            nxt = np.datetime64(dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1), "D")
            n = self._month_days[key] = int(np.busday_count(first, nxt, busdaycal=self._cal))
        return n
