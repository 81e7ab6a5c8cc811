"""Trading days ↔ calendar dates (Monday–Friday business days; holidays are not modelled).

Day 0 is the initial state, dated ``start_date`` (rolled forward to a business day); day ``d``
is the ``d``-th business day after it. Policy calendars (BoJ meetings, the January NISA quota
reset, the BoJ's purchase taper) are written in dates and looked up here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["TradingCalendar", "LAST_DATE"]

# The last whole day pandas' ``datetime64[ns]`` holds (its limit is 2262-04-11 23:47:16): a run's
# time series dates every day, so no run may reach past it (ModelConfig checks this)
LAST_DATE = dt.date(2262, 4, 11)


_BLOCK = 256  # trading days whose dates are computed together (about a year)


class TradingCalendar:
    def __init__(self, start_date: str) -> None:
        self.start = np.busday_offset(np.datetime64(start_date, "D"), 0, roll="forward")
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
        return np.busday_offset(self.start, np.asarray(days, dtype=np.int64), roll="forward")

    def last_day_until(self, date: str | dt.date = LAST_DATE) -> int:
        """The last trading day dated on or before ``date`` (-1 if ``date`` is before the start): the
        longest run, in trading days, whose dates all fit. Cheap: one business-day count."""
        end = np.datetime64(date, "D") + np.timedelta64(1, "D")
        return int(np.busday_count(self.start, end)) - 1 if end > self.start else -1

    def day_of(self, date: str | dt.date) -> int:
        """The first trading day on or after ``date`` (may be ≤ 0 for dates before the start)."""
        d = np.busday_offset(np.datetime64(date, "D"), 0, roll="forward")
        return int(np.busday_count(self.start, d)) if d >= self.start else -int(np.busday_count(d, self.start))

    def month(self, day: int) -> int:
        return self.date(day).month

    def trading_days_in_month(self, day: int) -> int:
        d = self.date(day)
        key = (d.year, d.month)
        n = self._month_days.get(key)
        if n is None:
            first = np.datetime64(dt.date(d.year, d.month, 1), "D")
            nxt = np.datetime64(dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1), "D")
            n = self._month_days[key] = int(np.busday_count(first, nxt))
        return n
