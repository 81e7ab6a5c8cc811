"""The Bank of Japan: policy rate at meetings, JGB purchases on a taper path, optional YCC.

* Meetings: eight a year on a calendar (late Jan, mid Mar, late Apr, mid Jun, end Jul, late
  Sep, end Oct, mid Dec, as in 2024-25); the model schedules them as Mesa events.
* Rule (``mode = "rule"``): ``r* = r_n + φ_π·(π − π*)``, smoothed ``r ← ρ·r + (1 − ρ)·r*``, the
  move scaled by ``1 − political_constraint`` (fiscal dominance dampens the response), then
  rounded to 25 bp steps. Optional financial-stability pause: no hike while the risk index is
  above a level or the yen has just surged (Deputy Governor Uchida, 7 Aug 2024).
  ``mode = "scripted"`` leaves the rate to scenario events (history: 0.25% on 31 Jul 2024,
  0.5% on 24 Jan 2025, 0.75% on 19 Dec 2025).
* Purchases: monthly ¥6 tn, cut by ¥0.4 tn a quarter from Aug 2024 to ~¥2.9 tn in Q1 2026,
  then by ¥0.2 tn a quarter (BoJ, Jul 2024 and Jun 2025 decisions). Holdings run off at a
  redemption rate; the MoF refinances redemptions in the market, so the BoJ's net effect on
  supply is redemptions minus purchases.
* Yield-curve control (optional): the BoJ buys whatever holds the 10y at the cap — in the
  clearing, a very elastic demand above the cap.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from model.validation import Validated, param

__all__ = ["BojConfig", "BojState", "monthly_purchases_jpy_tn", "policy_decision", "MEETING_DATES"]

# (month, day) of the eight meetings' decision days, 2024-25 pattern
MEETING_DATES = ((1, 24), (3, 19), (4, 26), (6, 14), (7, 31), (9, 20), (10, 31), (12, 19))


@dataclass(frozen=True)
class BojConfig(Validated):
    mode: str = param("rule", choices=("rule", "scripted"), doc="reaction function or scripted decisions")
    neutral_rate_pa: float = param(
        0.01,
        unit="per annum",
        lo=-0.05,
        hi=0.2,
        doc="nominal neutral rate r_n",
        source="BoJ staff (2024): nominal neutral rate estimates ~1-2.5%",
    )
    inflation_target: float = param(0.02, unit="per annum", lo=-0.05, hi=0.2, source="BoJ price stability target 2%")
    inflation_response: float = param(1.5, lo=0.0, hi=10.0, doc="φ_π (Taylor 1993: 1.5)")
    smoothing: float = param(0.8, lo=0.0, hi=1.0, doc="ρ per meeting")
    step_pa: float = param(0.0025, unit="per annum", lo=0.0001, hi=0.05, doc="rate steps (25 bp)")
    lower_bound_pa: float = param(
        -0.001,
        unit="per annum",
        lo=-0.05,
        hi=0.2,
        doc="effective lower bound",
        source="BoJ negative rate −0.1% (2016-24)",
    )
    political_constraint: float = param(
        0.0, lo=0.0, hi=1.0, doc="share of the rule's move the BoJ does not make (fiscal dominance)"
    )
    stability_pause: bool = param(True, doc="no hike while markets are unstable (Uchida, 7 Aug 2024)")
    pause_risk_index: float = param(30.0, unit="index points", lo=0.0, hi=1000.0)
    pause_yen_surge: float = param(0.05, lo=0.0, hi=1.0, doc="no hike after USD/JPY fell this much in 20 days")
    purchases: bool = param(True, doc="monthly JGB purchases (False: none)")
    purchase_start_jpy_tn: float = param(
        6.0, unit="JPY tn per month", lo=0.0, hi=100.0, source="BoJ: ~¥6 tn a month in 2024"
    )
    taper_start: str = param(
        "2024-08-01", doc="first month of the taper (ISO date)", source="BoJ decision, 31 Jul 2024"
    )
    taper1_per_quarter_jpy_tn: float = param(0.4, unit="JPY tn per quarter", lo=0.0, hi=100.0, source="BoJ, Jul 2024")
    taper1_floor_jpy_tn: float = param(
        2.9, unit="JPY tn per month", lo=0.0, hi=100.0, source="BoJ: ~¥2.9 tn by Jan-Mar 2026"
    )
    taper2_per_quarter_jpy_tn: float = param(
        0.2, unit="JPY tn per quarter", lo=0.0, hi=100.0, source="BoJ, Jun 2025 (from Apr 2026)"
    )
    purchase_scale: float = param(1.0, lo=0.0, hi=10.0, doc="multiplies the purchase path (for experiments)")
    holdings_jpy_tn: float = param(
        580.0,
        unit="JPY tn",
        lo=0.0,
        hi=10_000.0,
        source="BoJ accounts 2023: JGB holdings ~¥580 tn, about half of all JGBs",
    )
    redemption_rate_pa: float = param(
        0.12, unit="per annum", lo=0.0, hi=1.0, doc="share of holdings maturing per year (average maturity ~8y)"
    )
    ycc: bool = param(False, doc="yield-curve control on the 10y")
    ycc_cap_pa: float = param(0.01, unit="per annum", lo=-0.05, hi=0.3, source="YCC cap 1% 'reference' from Oct 2023")
    ycc_elasticity_jpy_tn_per_bp: float = param(50.0, unit="JPY tn per bp", lo=0.0, hi=1e6)

    def _check(self) -> None:
        try:
            dt.date.fromisoformat(self.taper_start)
        except ValueError:
            from model.validation import ConfigError

            raise ConfigError(
                f"BojConfig.taper_start = {self.taper_start!r} is not allowed; expected an ISO date YYYY-MM-DD"
            ) from None


class BojState:
    def __init__(self, cfg: BojConfig, jgb_price: float) -> None:
        self.jgb_units = cfg.holdings_jpy_tn / jgb_price
        self.next_meeting_day = -1
        self.decisions: list[tuple[int, float]] = []


def monthly_purchases_jpy_tn(cfg: BojConfig, date: dt.date) -> float:
    """Gross monthly JGB purchases on the taper path at ``date``.

    The first cut applies in the taper's first month; once the floor is reached the second,
    slower taper follows quarter by quarter (BoJ, Jul 2024 and Jun 2025).
    """
    if not cfg.purchases:
        return 0.0
    start = dt.date.fromisoformat(cfg.taper_start)
    amount = cfg.purchase_start_jpy_tn
    if date >= start:
        months = (date.year - start.year) * 12 + date.month - start.month
        cuts = months // 3 + 1
        amount = cfg.purchase_start_jpy_tn - cfg.taper1_per_quarter_jpy_tn * cuts
        if amount <= cfg.taper1_floor_jpy_tn:
            gap = max(cfg.purchase_start_jpy_tn - cfg.taper1_floor_jpy_tn, 0.0)
            cuts_to_floor = math.ceil(gap / cfg.taper1_per_quarter_jpy_tn) if cfg.taper1_per_quarter_jpy_tn > 0 else 0
            amount = cfg.taper1_floor_jpy_tn - cfg.taper2_per_quarter_jpy_tn * max(cuts - cuts_to_floor, 0)
    return max(amount, 0.0) * cfg.purchase_scale


def policy_decision(cfg: BojConfig, *, rate, inflation, risk_index, yen_surge) -> float:
    """The rate after a meeting under the reaction function (rounded to the step)."""
    target = cfg.neutral_rate_pa + cfg.inflation_response * (inflation - cfg.inflation_target)
    proposal = cfg.smoothing * rate + (1 - cfg.smoothing) * target
    move = (1.0 - cfg.political_constraint) * (proposal - rate)
    steps = round(move / cfg.step_pa)  # move in whole steps from the current rate
    new = max(rate + steps * cfg.step_pa, cfg.lower_bound_pa)
    if abs(new - rate) < 1e-12 or (new < rate and rate <= cfg.lower_bound_pa):
        return rate
    if new > rate and cfg.stability_pause and (risk_index > cfg.pause_risk_index or yen_surge > cfg.pause_yen_surge):
        return rate
    return new
