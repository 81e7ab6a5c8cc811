"""Trading days ↔ calendar dates (Monday–Friday business days; holidays are not modelled).

Day 0 is the initial state, dated ``start_date`` (rolled forward to a business day); day ``d``
is the ``d``-th business day after it. Policy calendars (BoJ meetings, the January NISA quota
reset, the BoJ's purchase taper) are written in dates and looked up here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["TradingCalendar"]


class TradingCalendar:
    def __init__(self, start_date: str) -> None:
        self.start = np.busday_offset(np.datetime64(start_date, "D"), 0, roll="forward")

    def date(self, day: int) -> dt.date:
        return np.busday_offset(self.start, int(day), roll="forward").astype(dt.date)

    def day_of(self, date: str | dt.date) -> int:
        """The first trading day on or after ``date`` (may be ≤ 0 for dates before the start)."""
        d = np.busday_offset(np.datetime64(date, "D"), 0, roll="forward")
        return int(np.busday_count(self.start, d)) if d >= self.start else -int(np.busday_count(d, self.start))

    def month(self, day: int) -> int:
        return self.date(day).month

    def trading_days_in_month(self, day: int) -> int:
        d = self.date(day)
        first = np.datetime64(dt.date(d.year, d.month, 1), "D")
        nxt = np.datetime64(dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1), "D")
        return int(np.busday_count(first, nxt))
