"""The Bank of Japan: policy rate at meetings, JGB purchases on a taper path, optional YCC.

* Meetings: eight a year on the BoJ's own calendar for 2023-26 (mid or late Jan, early or mid Mar,
  late Apr or 1 May, mid Jun, end Jul, mid or late Sep, end Oct, mid Dec), its 2024 pattern in other years; the
  model schedules them as Mesa events.
* Rule (``mode = "rule"``): ``r* = r_n + (1 − c)·φ_π·(π − π*)`` with ``c = political_constraint``
  (a fiscal constraint withholds that share of the response), smoothed on the unrounded (shadow)
  rate ``r̃ ← ρ·r̃ + (1 − ρ)·r*``, and announced in whole 25 bp steps towards ``r̃``. Markets price
  the same constrained rule after fiscal news: the fiscal term of expected inflation ``π^f``
  (:mod:`model.macro`) shifts the expected near-term rate by ``(1 − c)·φ_π·π^f`` (in both modes; a
  decision re-anchors the path at the rate decided).
  Optional financial-stability pause: no hike while the risk index is above a level or the yen
  has just surged (Deputy Governor Uchida, 7 Aug 2024).
  ``mode = "scripted"`` leaves the rate to scenario events (history: 0.25% on 31 Jul 2024,
  0.5% on 24 Jan 2025, 0.75% on 19 Dec 2025).
* Purchases: monthly ¥5.7 tn (July 2024), cut by ¥0.4 tn a quarter from Aug 2024 to ~¥2.9 tn in Q1 2026,
  then by ¥0.2 tn a quarter (BoJ, Jul 2024 and Jun 2025 decisions). A share of them buys
  super-longs (the 30y market), the rest the 10y; the holdings are split in the same proportion, so
  that one redemption rate keeps the two buckets' net supply in proportion. Holdings run off at a
  redemption rate; the MoF refinances redemptions in the market of the same maturity, so the BoJ's
  net effect on supply is redemptions minus purchases.
* Yield-curve control (optional): the BoJ buys whatever holds the 10y at the cap — in the
  clearing, a very elastic demand above the cap.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from model.sector import INSTITUTIONS, JGB, JGB30, N_MARKETS, TRADING_DAYS, Sector, Validated, param

__all__ = [
    "BojConfig",
    "Boj",
    "YccInputs",
    "ycc_flows",
    "monthly_purchases_jpy_tn",
    "Decision",
    "policy_decision",
    "fiscal_path_shift",
    "MEETING_DATES",
    "MEETING_DATES_BY_YEAR",
    "meeting_dates",
]

log = logging.getLogger(__name__)

# (month, day) of the eight meetings' decision days (each meeting's second day), as the BoJ held or
# scheduled them (BoJ, "Scheduled Dates of Monetary Policy Meetings", published a year ahead); years
# outside the table follow the pattern of MEETING_DATES, a weekend date rolling to the next trading day
MEETING_DATES_BY_YEAR = {
    2023: ((1, 18), (3, 10), (4, 28), (6, 16), (7, 28), (9, 22), (10, 31), (12, 19)),
    2024: ((1, 23), (3, 19), (4, 26), (6, 14), (7, 31), (9, 20), (10, 31), (12, 19)),
    2025: ((1, 24), (3, 19), (5, 1), (6, 17), (7, 31), (9, 19), (10, 30), (12, 19)),
    2026: ((1, 23), (3, 19), (4, 28), (6, 16), (7, 31), (9, 18), (10, 30), (12, 18)),
}
MEETING_DATES = MEETING_DATES_BY_YEAR[2024]  # the pattern for other years


def meeting_dates(year: int) -> tuple[tuple[int, int], ...]:
    """(month, day) of the BoJ's decision days in ``year``: the held or scheduled ones where known."""
    return MEETING_DATES_BY_YEAR.get(year, MEETING_DATES)


@dataclass(frozen=True)
class BojConfig(Validated):
    mode: str = param("rule", choices=("rule", "scripted"), doc="reaction function or scripted decisions")
    neutral_rate_pa: float = param(
        0.01,
        unit="per annum",
        lo=-0.01,
        hi=0.03,
        doc="nominal neutral rate r_n",
        source="BoJ staff (2024): nominal neutral rate estimates ~1-2.5%",
        range_note="BoJ staff estimates of the nominal neutral rate -1% to 2.5% (2024)",
    )
    inflation_target: float = param(
        0.02,
        unit="per annum",
        lo=0.0,
        hi=0.03,
        doc="π*: the inflation target in the reaction function",
        source="BoJ price stability target 2%",
        range_note="BoJ targets 0-2% since 2000",
    )
    inflation_response: float = param(
        1.5,
        lo=0.0,
        hi=3.0,
        doc="φ_π (Taylor 1993: 1.5)",
        source="Taylor (1993): φ_π = 1.5",
        range_note="Taylor (1993): 1.5; estimated policy rules 0-3",
    )
    smoothing: float = param(
        0.8,
        lo=0.0,
        hi=0.95,
        doc="ρ per meeting",
        source="assumption: 0.8 a meeting is 0.64 a quarter at eight meetings a year, a little faster than the "
        "estimates' 0.7-0.9 a quarter (0.84-0.95 a meeting)",
        range_note="interest-rate smoothing estimates 0.7-0.9 a quarter",
    )
    step_pa: float = param(
        0.0025,
        unit="per annum",
        lo=0.0005,
        hi=0.01,
        doc="rate steps (25 bp)",
        source="the BoJ's hikes of 2025 were 25 bp steps: from 0.25% to 0.5% on 24 Jan 2025 and to 0.75% on 19 Dec "
        "2025 (BoJ; model/scenarios/gradual_normalization.toml)",
        range_note="BoJ moves of 10-50 bp",
    )
    lower_bound_pa: float = param(
        -0.001,
        unit="per annum",
        lo=-0.01,
        hi=0.01,
        doc="effective lower bound",
        source="BoJ negative rate −0.1% (2016-24)",
        range_note="effective lower bounds -0.75% (SNB) to 0.1%",
    )
    political_constraint: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        doc="c: the fiscal constraint on the BoJ, the share of its rule's response to inflation it does not make "
        "(at meetings, and in the path markets expect after fiscal news); 0 = unconstrained",
        source="2023-25: core CPI ~2.5-3% gives a Taylor-rule rate of ~1.8-2.5% (r_n 1%, φ_π 1.5), the BoJ moved from "
        "-0.1% to 0.25-0.75%: it withheld ~0.7-0.8 of the move from its starting rate to the rule's (an upper bound: "
        "the BoJ read underlying inflation as below 2%; BoJ Outlook Reports 2024-25). In the rule's form here c "
        "withholds a share of the response above r_n, and rates below r_n with inflation above target would need "
        "c > 1: the record does not pin c down in this form, and its range is an assumption",
        range_note="0 (unconstrained, Taylor 1993) to 1 (fully constrained); identified by the policy-rate path "
        "markets price against inflation (OIS), not by the yen",
    )
    stability_pause: bool = param(True, doc="no hike while markets are unstable (Uchida, 7 Aug 2024)")
    pause_risk_index: float = param(
        30.0,
        unit="index points",
        lo=15.0,
        hi=100.0,
        doc="no hike while the risk index is above this (stability_pause)",
        source="assumption, not estimated: a stressed level between retail_fx.calm_risk_index (20) and the VIX close "
        "of 38.6 on 5 Aug 2024, two days before the Deputy Governor said the BoJ would not hike while markets were "
        "unstable (Uchida, 7 Aug 2024) (no hike while the risk index is above 30)",
        range_note="assumption: a pause from VIX 15 to 100",
    )
    pause_yen_surge: float = param(
        0.05,
        lo=0.01,
        hi=0.3,
        doc="no hike after USD/JPY fell this much in 20 days",
        source="assumption, not estimated: well inside the ~11% fall of USD/JPY's close from 161.7 (10 Jul) to "
        "about 144 (5 Aug 2024; 12.5% from the intraday high of 161.95 on 3 Jul to the intraday low of 141.7) "
        "before the Deputy Governor's statement of 7 Aug 2024 (no hike after a fall of 5% from the 20-day high)",
        range_note="assumption",
    )
    purchases: bool = param(True, doc="monthly JGB purchases (False: none)")
    purchase_start_jpy_tn: float = param(
        5.7,
        unit="JPY tn per month",
        lo=0.0,
        hi=15.0,
        doc="monthly purchases before the taper",
        source="BoJ: ¥5.7 tn in July 2024, the month before the taper (cut to ¥5.3 tn for Aug-Sep 2024; Reuters, 30 "
        "Sep 2024); ~¥6 tn a month in the first half of 2024",
        range_note="BoJ JGB purchases up to ~¥12 tn a month (2013-2022)",
    )
    taper_start: str = param(
        "2024-08-01",
        doc="first month of the taper (ISO date): the first cut applies from it, the next ones at the start of each "
        "calendar quarter after it",
        source="BoJ decision, 31 Jul 2024 (¥5.3 tn in Aug-Sep 2024, ¥4.9 tn in Oct-Dec 2024, ¥2.9 tn in Jan-Mar 2026)",
    )
    taper1_per_quarter_jpy_tn: float = param(
        0.4,
        unit="JPY tn per quarter",
        lo=0.0,
        hi=2.0,
        doc="first taper: cut in monthly purchases at each quarter from taper_start until taper1_floor_jpy_tn",
        source="BoJ, Jul 2024",
        range_note="BoJ taper steps ¥0.2-0.4 tn a quarter; up to 5x",
    )
    taper1_floor_jpy_tn: float = param(
        2.9,
        unit="JPY tn per month",
        lo=0.0,
        hi=10.0,
        doc="monthly purchases at which the first taper stops and the second starts",
        source="BoJ: ~¥2.9 tn by Jan-Mar 2026",
        range_note="BoJ plans ¥2.1-2.9 tn a month",
    )
    taper2_per_quarter_jpy_tn: float = param(
        0.2,
        unit="JPY tn per quarter",
        lo=0.0,
        hi=2.0,
        doc="second taper: cut in monthly purchases at each quarter after the first taper's floor",
        source="BoJ, Jun 2025 (from Apr 2026)",
        range_note="as taper1",
    )
    purchase_scale: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="multiplies the purchase path (for experiments)",
        source="1: the BoJ's announced purchase path as it is (purchase_start_jpy_tn and the taper decisions of July "
        "2024 and June 2025); other values are for experiments",
        range_note="from no purchases to three times the plan",
    )
    superlong_purchase_share: float = param(
        0.08,
        lo=0.0,
        hi=0.5,
        doc="share of the monthly purchases (and of the holdings) in super-longs, bought in the cleared 30y market",
        source="BoJ purchase plans 2024-25 (Outline of Outright Purchases of JGBs): the buckets over 10 years' "
        "residual maturity get a few hundred ¥bn a month of ~¥6 tn",
        range_note="0 (no super-long purchases) to 0.5; 0.03-0.15 across the BoJ's plans since 2013",
    )
    holdings_jpy_tn: float = param(
        580.0,
        unit="JPY tn",
        lo=0.0,
        hi=700.0,
        doc="JGBs held at the start (superlong_purchase_share of them super-longs)",
        source="BoJ accounts 2023: JGB holdings ~¥580 tn, about half of all JGBs",
        range_note="BoJ JGB holdings up to ~¥590 tn (2023)",
    )
    redemption_rate_pa: float = param(
        0.12,
        unit="per annum",
        lo=0.0,
        hi=0.3,
        doc="share of holdings maturing per year (average maturity ~8y)",
        source="about an eighth of the holdings a year for an average maturity of ~8 years, inside the ~10-15% of the "
        "BoJ's JGBs maturing a year (range note)",
        range_note="maturing share of the BoJ's JGBs ~10-15% a year",
    )
    ycc: bool = param(False, doc="yield-curve control on the 10y")
    ycc_cap_pa: float = param(
        0.01,
        unit="per annum",
        lo=-0.005,
        hi=0.02,
        doc="10y JGB yield above which the BoJ buys under yield-curve control (ycc)",
        source="YCC cap 1% 'reference' from Oct 2023",
        range_note="YCC caps 0.25%-1% (2016-2024)",
    )
    ycc_elasticity_jpy_tn_per_bp: float = param(
        50.0,
        unit="JPY tn per bp",
        lo=1.0,
        hi=1000.0,
        doc="under yield-curve control, JGBs the BoJ buys per bp of the 10y above the cap",
        source="assumption, not estimated: a stiff demand that holds the 10y near its cap (¥50 tn per bp above it, ~60 "
        "times the price-elastic investors' 0.8 ¥tn per bp, bond_investors.jgb_elasticity_jpy_tn_per_bp); yield-curve "
        "control is off by default (ycc)",
        range_note="model coefficient: a stiff demand above the cap",
    )

    def _check(self) -> None:
        from model.calendar import iso_date

        try:
            iso_date(self.taper_start)
        except ValueError:
            from model.validation import ConfigError

            raise ConfigError(
                f"{self.field_name('taper_start')} = {self.taper_start!r} is not allowed; expected an ISO date "
                "YYYY-MM-DD"
            ) from None


def monthly_purchases_jpy_tn(cfg: BojConfig, date: dt.date) -> float:
    """Gross monthly JGB purchases on the taper path at ``date``.

    The first cut applies from the taper's first month, the next ones at the start of each calendar
    quarter after it (BoJ, Jul 2024: ¥5.7 tn in July 2024, ¥5.3 tn in Aug-Sep, ¥4.9 tn in Oct-Dec, …,
    ¥2.9 tn in Jan-Mar 2026); from the quarter after the one that reaches the floor, the second,
    slower taper (BoJ, Jun 2025: ¥0.2 tn a quarter from April 2026).
    """
    if not cfg.purchases:
        return 0.0
    start = dt.date.fromisoformat(cfg.taper_start)
    amount = cfg.purchase_start_jpy_tn
    if date >= start:
        cuts = _quarter(date) - _quarter(start) + 1
        step1 = cfg.taper1_per_quarter_jpy_tn
        floor = min(cfg.taper1_floor_jpy_tn, cfg.purchase_start_jpy_tn)  # the first taper never raises purchases
        gap = cfg.purchase_start_jpy_tn - floor
        # cuts that reach the floor: 2.8/0.4 is 7.000000000000001 in floats, which is 7 cuts, not 8
        if gap <= 0.0:  # at the floor already: the second taper from the first cut
            cuts_to_floor = 0
        else:
            cuts_to_floor = math.ceil(round(gap / step1, 9)) if step1 > 0 else math.inf
        if cuts < cuts_to_floor:
            amount = cfg.purchase_start_jpy_tn - step1 * cuts
        else:
            amount = floor - cfg.taper2_per_quarter_jpy_tn * (cuts - cuts_to_floor)
    return max(amount, 0.0) * cfg.purchase_scale


def _quarter(date: dt.date) -> int:
    """The calendar quarter ``date`` falls in, counted from year 0."""
    return 4 * date.year + (date.month - 1) // 3


class Decision(NamedTuple):
    """A meeting's outcome under the reaction function."""

    rate: float  # the policy rate announced: whole steps from the current rate
    shadow: float  # the rule's smoothed rate before rounding, which the next meeting smooths from


def policy_decision(cfg: BojConfig, *, rate, inflation, risk_index, yen_surge, shadow=None) -> Decision:
    """The rate after a meeting under the reaction function.

    ``r* = r_n + (1 − c)·φ_π·(π − π*)``: the constraint ``c`` withholds that share of the response's
    level, as markets price it after fiscal news (:func:`fiscal_path_shift`).
    The rule smooths its unrounded rate, ``shadow' = ρ·shadow + (1 − ρ)·r*`` (``shadow`` defaults to
    ``rate``; floored at the lower bound), and announces the current rate moved by the whole steps
    nearest ``shadow'``. Smoothing the rounded rate instead would stop short of ``r*`` by up to
    ``step/(2(1 − ρ))`` (0.625 pp at ρ = 0.8), where each meeting's move rounds to nothing. The
    stability pause holds both the announced rate and the shadow where it would have risen, so that
    the first meeting after a pause moves by one meeting's smoothing, not by the whole gap the pause
    left (advancing the shadow through a pause of three meetings at 3% inflation gave a 125 bp hike).
    """
    shadow = held = rate if shadow is None else shadow
    target = cfg.neutral_rate_pa + (1.0 - cfg.political_constraint) * cfg.inflation_response * (
        inflation - cfg.inflation_target
    )
    shadow = max(cfg.smoothing * shadow + (1 - cfg.smoothing) * target, cfg.lower_bound_pa)
    paused = cfg.stability_pause and (risk_index > cfg.pause_risk_index or yen_surge > cfg.pause_yen_surge)
    if paused:  # the shadow does not rise either, whether or not this meeting's rise would round to a step
        shadow = min(shadow, max(held, rate))
    steps = round((shadow - rate) / cfg.step_pa)  # move in whole steps from the current rate
    new = max(rate + steps * cfg.step_pa, cfg.lower_bound_pa)
    if abs(new - rate) < 1e-12 or (new < rate and rate <= cfg.lower_bound_pa):
        return Decision(rate, shadow)
    if new > rate and paused:
        return Decision(rate, shadow)
    return Decision(new, shadow)


def fiscal_path_shift(cfg: BojConfig, fiscal_inflation: float) -> float:
    """The shift of the expected near-term BoJ rate that markets price for the fiscal term of expected
    inflation ``π^f`` (per annum): the rule's response ``φ_π·π^f`` less the constrained share,
    ``(1 − c)·φ_π·π^f``. With ``c = 1`` the BoJ is expected not to respond, so ``π^f`` lowers Japan's
    real rates one for one; with ``c = 0`` and ``φ_π > 1`` it is expected to more than offset it.
    """
    return (1.0 - cfg.political_constraint) * cfg.inflation_response * fiscal_inflation


class YccInputs(NamedTuple):
    """Yield-curve control for one day: the 10y cap and the BoJ's demand slope above it."""

    cap: float
    units_per_unit_yield: float  # 0 = no yield-curve control


@njit(cache=True)
def ycc_flows(p, inp, z, jac, gross, out, aux):
    """Under yield-curve control the BoJ buys without limit above the cap (a very elastic demand)."""
    y_jp = p[JGB]
    ycc = 0.0
    ycc_dy = 0.0
    if inp.units_per_unit_yield > 0.0 and y_jp > inp.cap:
        ycc = inp.units_per_unit_yield * (y_jp - inp.cap)
        ycc_dy = inp.units_per_unit_yield
    z[JGB] += ycc
    jac[JGB, JGB] += ycc_dy
    gross[JGB] += ycc
    out[JGB] = ycc


class Boj(Sector):
    """The Bank of Japan: policy meetings (Mesa events), purchases on the taper path, redemptions, YCC.

    Purchases are price-inelastic orders; yield-curve control is a price-elastic flow in the JGB
    market. Bonds maturing in its portfolio are repaid by the issuer and refinanced in the
    market (their amount is announced as ``boj_redeemed_units`` and ``boj_redeemed_jgb30_units`` for the
    issuer's supply).
    """

    name = "boj"
    section = "boj"
    flows = ycc_flows
    columns = ("boj_jgb_holdings_jpy_tn", "boj_purchases_jpy_tn")
    event_kinds = ("boj_rate",)

    def __init__(self, model) -> None:
        super().__init__(model)
        cfg, mk = self.config, model.market
        self.jgb_units = (1.0 - cfg.superlong_purchase_share) * cfg.holdings_jpy_tn / mk.jgb_price
        self.jgb30_units = cfg.superlong_purchase_share * cfg.holdings_jpy_tn / mk.jgb30_price
        self.next_meeting_day = -1
        self._scripted_day = -1  # the last day a scripted decision was taken (its meeting is skipped)
        self.decisions: list[tuple[int, float]] = []
        self.purchase_jpy_tn = 0.0
        self.purchase_units = 0.0
        self.redeemed_units = 0.0
        self.purchase30_units = 0.0
        self.redeemed30_units = 0.0
        self.fiscal_shift_pa = 0.0  # the part of the expected path's level that prices π^f
        self._orders = np.zeros((N_MARKETS, 3))
        self.shadow_rate = model.market.boj_rate  # the rule's unrounded rate, which its meetings smooth

    def start(self, model) -> None:
        self._schedule_next_meeting(model, after_day=0)

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "jgb_units", self.jgb_units)
        ledger.set(self.name, "jgb30_units", self.jgb30_units)

    def handle_event(self, model, event) -> None:
        """A scripted policy decision, effective from the next day. It is the day's decision: a meeting of
        the rule on the same day is skipped, or, if it came first, its decision replaced."""
        day = model.day + 1
        replacing = bool(self.decisions) and self.decisions[-1][0] == day
        # the surprise recorded is this decision's, against the path priced before the one it replaces
        model.market.set_boj_rate(event.params["rate"], replacing=replacing)
        self.shadow_rate = model.market.boj_rate  # the rule smooths from the rate decided
        self.fiscal_shift_pa = 0.0  # the decision re-anchored the path; the fiscal shift is priced again on top
        if replacing:
            self.decisions.pop()
        self.decisions.append((day, model.market.boj_rate))
        self._scripted_day = day

    # -- meetings -------------------------------------------------------------------------------
    def _schedule_next_meeting(self, model, after_day: int) -> None:
        year = model.calendar.date(after_day).year
        for y in (year, year + 1):
            for month, dom in meeting_dates(y):
                day = model.calendar.day_of(f"{y:04d}-{month:02d}-{dom:02d}")
                if day > after_day:
                    self.next_meeting_day = day
                    model.schedule(day, self.meeting, model, day)
                    return

    def meeting(self, model, day: int) -> None:
        cfg, mk = self.config, model.market
        if cfg.mode == "rule" and day == self._scripted_day:
            log.info("day %d: the BoJ's meeting takes the scripted decision (%.2f%%)", day, 100 * mk.boj_rate)
        elif cfg.mode == "rule":
            history = model.series("usdjpy")
            window = history[-20:] if len(history) else [mk.usdjpy]
            surge = 1.0 - mk.usdjpy / float(max(window))
            new, self.shadow_rate = policy_decision(
                cfg, rate=mk.boj_rate, inflation=model.macro.jp_inflation, risk_index=mk.risk_index, yen_surge=surge,
                shadow=self.shadow_rate,
            )  # fmt: skip
            if new != mk.boj_rate:
                log.info("day %d: BoJ moves the policy rate %.2f%% -> %.2f%%", day, 100 * mk.boj_rate, 100 * new)
                mk.set_boj_rate(new)
                self.fiscal_shift_pa = 0.0
                self.decisions.append((day, new))
        self._schedule_next_meeting(model, after_day=day)

    # -- the day --------------------------------------------------------------------------------
    def observe(self, model) -> None:
        """Markets price the constrained rule's response to today's fiscal term of expected inflation:
        moved before any sector decides, so every sector reads the same expected path today."""
        shift = fiscal_path_shift(self.config, model.macro.fiscal_inflation())
        if shift != self.fiscal_shift_pa:
            model.market.boj_path.news(shift - self.fiscal_shift_pa)
            self.fiscal_shift_pa = shift

    def decide(self, model) -> None:
        cfg, p_jp, p_30 = self.config, model.market.jgb_price, model.market.jgb30_price
        date = model.calendar.date(model.day)
        self.purchase_jpy_tn = monthly_purchases_jpy_tn(cfg, date) / model.calendar.trading_days_in_month(model.day)
        share = cfg.superlong_purchase_share
        self.purchase_units = (1.0 - share) * self.purchase_jpy_tn / p_jp
        self.purchase30_units = share * self.purchase_jpy_tn / p_30
        self.redeemed_units = self.jgb_units * cfg.redemption_rate_pa / TRADING_DAYS
        self.redeemed30_units = self.jgb30_units * cfg.redemption_rate_pa / TRADING_DAYS
        self._orders[JGB, INSTITUTIONS] = self.purchase_units
        self._orders[JGB30, INSTITUTIONS] = self.purchase30_units

    def publish(self, model) -> dict[str, float]:
        return {"boj_redeemed_units": self.redeemed_units, "boj_redeemed_jgb30_units": self.redeemed30_units}

    def orders(self) -> np.ndarray:
        return self._orders

    def clearing_inputs(self, model) -> YccInputs:
        cfg = self.config
        slope = cfg.ycc_elasticity_jpy_tn_per_bp * 1e4 / model.market.jgb_price if cfg.ycc else 0.0
        return YccInputs(cap=cfg.ycc_cap_pa, units_per_unit_yield=slope)

    def settle(self, model, day) -> None:
        q_ycc = day.flows_of(self)[JGB]
        bought = self.purchase_units + q_ycc - self.redeemed_units
        model.ledger.bonds(self.name, "jgb_units", "jpy_tn", bought, day.jgb_price)
        self.jgb_units += bought
        bought30 = self.purchase30_units - self.redeemed30_units
        model.ledger.bonds(self.name, "jgb30_units", "jpy_tn", bought30, day.jgb30_price)
        self.jgb30_units += bought30

    def holdings(self) -> dict[str, float]:
        return {"jgb_units": self.jgb_units, "jgb30_units": self.jgb30_units}

    def record(self, model) -> dict[str, float]:
        mk = model.market
        return {"boj_jgb_holdings_jpy_tn": self.jgb_units * mk.jgb_price + self.jgb30_units * mk.jgb30_price,
                "boj_purchases_jpy_tn": self.purchase_jpy_tn}  # fmt: skip
