"""The two early-warning dashboards of the source article, as time-series columns.

*The four-pillar dashboard* (the carry-unwind thesis) — signals of a carry unwind:

* ``dash_a_boj_signal_bp``: change of the BoJ rate over the last 60 trading days (bp);
* ``dash_a_auction_tail_bp``: mean tail of the last four UST auctions (bp);
* ``dash_a_fx_break_pct``: USD/JPY against its 50-day average (%; negative = a break lower);
* ``dash_a_risk_index``: the VIX-like risk index (credit spreads and the VIX).

*The structural-flows dashboard* (the article's alternative, "Option B") — signals that the yen
stays weak instead:

* ``dash_b_real_yield_pct``: the 10y JGB real yield, nominal minus expected inflation (%);
* ``dash_b_political_support``: the fiscal-risk index (political support for fiscal expansion
  and a weak yen);
* ``dash_b_indirect_bidding``: mean foreign ("indirect") share of the last four UST auctions;
* ``dash_b_zone``: 1 while USD/JPY is in the 155–160 zone, else 0.

All are computed from information available at the day's close, so an experiment can score
them as predictors of later crashes.
"""

from __future__ import annotations

from statistics import fmean

import numpy as np

__all__ = ["DASHBOARD_COLUMNS", "dashboards"]

DASHBOARD_COLUMNS = (
    "dash_a_boj_signal_bp",
    "dash_a_auction_tail_bp",
    "dash_a_fx_break_pct",
    "dash_a_risk_index",
    "dash_b_real_yield_pct",
    "dash_b_political_support",
    "dash_b_indirect_bidding",
    "dash_b_zone",
)


def dashboards(model, row: dict) -> dict[str, float]:
    # model.series: the live list (Mesa path) or an array view (lean path); fmean sums exactly
    # (math.fsum), so both give the same number bit for bit
    boj = model.series("boj_rate")
    boj_then = float(boj[-60] if len(boj) >= 60 else (boj[0] if len(boj) else row["boj_rate"]))
    past = model.series("usdjpy")[-49:]
    fx = [*(past.tolist() if isinstance(past, np.ndarray) else past), row["usdjpy"]]  # Python floats
    ut = model.sectors.get("us_treasury")
    s = row["usdjpy"]
    return {
        "dash_a_boj_signal_bp": (row["boj_rate"] - boj_then) * 1e4,
        "dash_a_auction_tail_bp": fmean(ut.tails[-4:]) if ut is not None and ut.tails else 0.0,
        "dash_a_fx_break_pct": 100.0 * (s / fmean(fx) - 1.0),
        "dash_a_risk_index": row["risk_index"],
        "dash_b_real_yield_pct": 100.0 * (row["jgb10y_yield"] - row["jp_inflation_expectations"]),
        "dash_b_political_support": row["fiscal_risk"],
        "dash_b_indirect_bidding": fmean(ut.indirect[-4:]) if ut is not None and ut.indirect else 0.0,
        "dash_b_zone": 1.0 if 155.0 <= s <= 160.0 else 0.0,
    }
