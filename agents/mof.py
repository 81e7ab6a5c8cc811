"""The Ministry of Finance: FX intervention (executed by the BoJ), its reserves, JGB issuance, budgets.

* Intervention: when yesterday's USD/JPY is above ``level + tolerance`` or rose more than
  ``speed`` over ``speed_window`` days, the MoF sells dollars and buys yen in daily bursts of
  ``burst`` (¥3–6 tn; 2022: ¥9.2 tn near 145–152, 2024: ¥15.3 tn near 160, MoF), for at most
  ``burst_days`` consecutive days, then waits ``cooldown`` days; never below a reserve floor
  (reserves ~$1.25 tn). The tolerance for yen weakness is the political put (a weak yen offsets
  US tariffs). Scenario events can also order an intervention.
* Reserves: a share ``ust_share`` is held in securities, modelled as USTs (10y-equivalent index
  units at market value), the rest as dollar deposits (MoF, International Reserves/Foreign Currency
  Liquidity). The dollars an intervention sells come from deposits above a buffer
  (``deposit_buffer_share`` of the initial deposits) and the rest from selling USTs, a
  price-inelastic order in the day's UST clearing: the sale is supply the UST market clears the
  same day, so UST yields respond. The USTs earn the index coupon, paid into the deposits (the
  buffer grows with it by the same share).
* Signalling: an intervention of ``X`` (¥ tn of yen bought) shifts market participants' perceived
  ceiling — the fundamental anchor ln S̄ value-based traders trade towards — by
  ``s_t = d·s_{t−1} − κ·X_t`` in ln S, ``d = 2^(−1/h)`` for the half-life ``h``. The MoF owns the
  state and publishes it as ``intervention_signal_log`` in ``model.signals``; real money adds it
  to its anchor the same day (:mod:`agents.fx_fundamentals`), and every sector that reads the
  published fundamental sees it from the next day.
* Issuance: the planned deficit is absorbed by investors who expect it; a supplementary budget
  (¥17–25 tn packages, Nov 2025) is unplanned supply over ``issuance_days`` and raises the
  fiscal-risk index. A share ``superlong_issuance_share`` of both is issued as super-longs in the
  cleared 30y market, the rest in the 10y. Redemptions of the BoJ's holdings are refinanced in the
  market of the same maturity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from model.accounting import book_entry, book_exchange
from model.sector import (
    FX,
    INSTITUTIONS,
    ISSUANCE,
    JGB,
    JGB30,
    N_MARKETS,
    TRADING_DAYS,
    UST,
    ConfigError,
    Sector,
    Validated,
    param,
)

__all__ = ["MofConfig", "MofState", "Mof", "intervention_today", "funding", "next_signal", "mof_settle"]

# The MoF's intervention signal in ``model.signals``: the shift of the perceived anchor, ln S units.
SIGNAL = "intervention_signal_log"


@dataclass(frozen=True)
class MofConfig(Validated):
    intervention: bool = param(True, doc="the MoF defends the yen")
    intervention_level_usdjpy: float = param(
        160.0,
        unit="JPY per USD",
        lo=100.0,
        hi=200.0,
        doc="USD/JPY above which (plus tolerance_usdjpy) the MoF starts a burst of yen buying",
        source="MoF interventions: Apr-May 2024 at ~160, Jul 2024 ~161",
        range_note="intervention levels 145-162 (2022-24); 75-125 in yen-selling episodes",
    )
    tolerance_usdjpy: float = param(
        0.0,
        unit="JPY per USD",
        lo=0.0,
        hi=40.0,
        doc="political tolerance added to the level",
        source="0: the MoF defends the level it defended in 2024 (intervention_level_usdjpy) with nothing added; "
        "scenarios raise it (imported_inflation 10, fiscal_dominance_2025 5)",
        range_note="assumption",
    )
    speed_threshold: float = param(
        0.07,
        lo=0.02,
        hi=0.2,
        doc="also intervene after a rise of this much over the window",
        source="Sep 2022 and Apr 2024: intervened after USD/JPY rose ~5-8% in a month (MoF)",
        range_note="MoF: 'excessive' moves of 4-10% in a month (2022-24)",
    )
    speed_window_days: int = param(
        20,
        unit="trading days",
        lo=5,
        hi=60,
        doc="trading days over which the speed rule measures USD/JPY's move (speed_threshold)",
        source="a month of trading days: the interventions of Sep 2022 and Apr 2024 followed rises of USD/JPY of ~5-8% "
        "in a month (MoF; as for speed_threshold)",
        range_note="a week to three months",
    )
    lean_against_surges: bool = param(
        False,
        doc="also sell yen (buy dollars) when USD/JPY falls faster than the speed threshold (as in 2003-04, 2010-11)",
    )
    speed_zone_usdjpy: float = param(
        10.0,
        unit="JPY per USD",
        lo=0.0,
        hi=30.0,
        doc="the speed rule applies only within this distance below the level",
        source="assumption, not estimated: the speed rule acts only near the defended level (within ¥10 below it: from "
        "150 to 160 at the default level)",
        range_note="assumption",
    )
    burst_jpy_tn: float = param(
        4.0,
        unit="JPY tn per day",
        lo=0.0,
        hi=10.0,
        doc="yen bought (or sold) on each day of a burst, as planned: the dollars sold are this at yesterday's close",
        source="MoF daily data: the seven intervention days of 2022-24 bought ¥0.7-5.9 tn of yen, ¥3.5 tn on average "
        "(¥2.84 tn 22 Sep 2022; ¥5.62 and 0.73 tn 21 and 24 Oct 2022; ¥5.92 and 3.87 tn 29 Apr and 1 May 2024; ¥3.17 "
        "and 2.37 tn 11 and 12 Jul 2024); 4 is a round figure near their mean",
        range_note="MoF daily interventions up to ¥5.9 tn (Apr 2024)",
    )
    burst_days: int = param(
        2,
        unit="trading days",
        lo=1,
        hi=10,
        doc="trading days a burst lasts",
        source="the 2022-24 intervention episodes lasted one or two days (22 Sep 2022; 21 and 24 Oct 2022; 29 Apr and "
        "1 May 2024; 11-12 Jul 2024; MoF, as in model/scenarios/mof_intervention.toml)",
        range_note="interventions of 1-5 days (2022-24)",
    )
    cooldown_days: int = param(
        18,
        unit="trading days",
        lo=0,
        hi=250,
        doc="trading days after a burst before the next can start",
        source="the 2022-24 episodes started 20 trading days apart on the model's calendar (22 Sep to 21 Oct 2022, "
        "Columbus Day not a trading day) and 50 (29 Apr to 11 Jul 2024; MoF): with bursts of burst_days = 2, a "
        "cooldown of 18 lets the next burst start 20 trading days after the last one started (2 + 18). 19 fitted "
        "the calendar of every weekday (21 days apart) until the holiday calendar of 5 Dec 2026, on which it ruled "
        "the October 2022 intervention out by a day, as 20 had before (40 before that)",
        range_note="gaps between intervention episodes: weeks to a year",
    )
    reserves_usd_bn: float = param(
        1250.0,
        unit="USD bn",
        lo=800.0,
        hi=1500.0,
        doc="FX reserves at the start (ust_share of them in USTs, the rest in deposits)",
        source="MoF: FX reserves ~$1.25 tn",
        range_note="Japan's FX reserves $1.1-1.4 tn, 2011-2024 (MoF)",
    )
    reserve_floor_usd_bn: float = param(
        600.0,
        unit="USD bn",
        lo=0.0,
        hi=1200.0,
        doc="reserves the MoF keeps: dollars are sold only down to this floor",
        source="assumption, not estimated: about half of the ~$1.25 tn of reserves (reserves_usd_bn) is kept in any "
        "case, leaving ~$650 bn to sell (~¥90 tn at 140.5), many times the ¥3-6 tn of an intervention day "
        "(burst_jpy_tn)",
        range_note="assumption: reserves the MoF keeps in any case",
    )
    ust_share: float = param(
        0.78,
        lo=0.0,
        hi=1.0,
        doc="share of the reserves held in securities, modelled as USTs (10y-equivalent index units); the rest "
        "is dollar deposits (with IMF position, SDRs and gold)",
        source="MoF International Reserves/Foreign Currency Liquidity, 31 Oct 2023: securities $961.7 bn of "
        "$1,238.0 bn (78%), deposits $145.3 bn, IMF position, SDRs and gold $131 bn",
        range_note="securities 78-85% of Japan's reserves 2017-2024 (MoF: 85% Nov 2017, 80% Jun 2022, 78% Oct "
        "2023); 0-1 defines the model",
    )
    deposit_buffer_share: float = param(
        1.0,
        lo=0.0,
        hi=1.0,
        doc="share of the deposits (initial, plus coupon income) the MoF keeps: interventions spend only the "
        "deposits above it and sell USTs for the rest (1: every intervention sells USTs)",
        source="Sep 2022: the ¥2.84 tn intervention left deposits at $135.5 bn (end-Aug and end-Sep) while "
        "securities fell from $1.04 tn to $985 bn (MoF reserves release, 7 Oct 2022)",
        range_note="0 (deposits first) to 1 (USTs only)",
    )
    signal_log_per_jpy_tn: float = param(
        0.00320,
        unit="ln S per JPY tn",
        lo=0.0,
        hi=0.05,
        doc="κ: shift of participants' perceived ceiling (real money's anchor ln S̄) per ¥1 tn of yen bought",
        source="fitted to the same-day moves to the close on 22 Sep 2022 (¥2.84 tn, 145.9→142.4) and 29 Apr 2024 "
        "(¥5.92 tn, 160.2→156.3), checked on 21 Oct 2022 and 11 Jul 2024 (MoF intervention data) by "
        "experiments/calibration/intervention.py (run: --seeds 10 --workers 2 on commit 68da08b; experiments/"
        "calibration/results/intervention.json): check days within 0.17 pp of the record on average; not refitted "
        "since the baseline's later recalibrations (be7d9a8; the joint fit, e317fd5; the refit of 2026-12-05) or "
        "the risk index's 'realised' yardstick (c7cd652)",
        range_note="0 (flow only) to 5% per ¥1 tn (above Chen, Watanabe & Yabu 2009's 1.7% per ¥1 tn, 1991-2002)",
    )
    signal_halflife_days: float = param(
        0.5,
        unit="trading days",
        lo=0.5,
        hi=250.0,
        doc="half-life of the signal's shift of the perceived ceiling",
        source="not identified: the lower end of a grid (0.5-10 days) searched by "
        "experiments/calibration/intervention.py for about half of the same-day move left after 5 trading days. "
        "The record it cites says less: on 22 Sep 2022 the yen closed at 142.4 from 145.9, and 2 trading days "
        "later, at 143.8 on 26 Sep, 0.60 of the move was left. The model's median share left after 5 days, on the "
        "fit days, is 0.646 at 0.5 days and 0.656 at 1 day (0.79 at 2, 0.90-1.18 at 3-10; run as for "
        "signal_log_per_jpy_tn, experiments/calibration/results/intervention.json), so the grid's shortest is "
        "closest to either figure, at the parameter's lower bound: the rest of the model keeps most of any one-day "
        "move, whatever the signal's half-life",
        range_note="effects of Japanese interventions last days to under a month (Fatum & Hutchison 2006; "
        "Takagi 2014's review)",
    )
    deficit_jpy_tn_pa: float = param(
        30.0,
        unit="JPY tn per year",
        lo=-20.0,
        hi=80.0,
        doc="planned net new JGB supply (expected by investors)",
        source="FY2026 plan: ¥180.7 tn gross issuance, of which ~¥30 tn new financing (MoF)",
        range_note="net new JGB financing ¥10-60 tn a year since 2000",
    )
    superlong_issuance_share: float = param(
        0.17,
        lo=0.0,
        hi=0.5,
        doc="share of new issuance (planned and supplementary) in super-longs (20-40y), sold in the cleared 30y market",
        source="MoF JGB Issuance Plans FY2024-25: 20y ¥12 tn, 30y ¥9-10 tn and 40y ¥2-3 tn of ~¥140 tn of coupon "
        "issuance to the market, about 15-20%",
        range_note="0 (no super-longs) to 0.5; 10-20% in the MoF's plans since 2010",
    )
    issuance_days: int = param(
        60,
        unit="trading days",
        lo=5,
        hi=250,
        doc="days over which a supplementary budget is issued",
        source="assumption, not estimated: a supplementary budget's bonds are issued over about a quarter, within the "
        "weeks to a year of the range note (60 trading days)",
        range_note="supplementary budgets financed over weeks to a year",
    )

    @property
    def signal_decay(self) -> float:
        """The signal's daily persistence ``d = 2^(−1/h)``."""
        return 0.5 ** (1.0 / self.signal_halflife_days)

    def _check(self) -> None:
        if self.reserve_floor_usd_bn > self.reserves_usd_bn:
            name = self.field_name
            raise ConfigError(
                f"{name('reserve_floor_usd_bn')} = {self.reserve_floor_usd_bn!r} is not allowed with "
                f"{name('reserves_usd_bn')} = {self.reserves_usd_bn!r}; expected a floor at or below the reserves"
            )


class MofState:
    """The MoF's books and rule state.

    Parameters
    ----------
    cfg
        The configuration.
    ust_price
        The UST index price the reserves are first valued at (USD per index unit).
    """

    def __init__(self, cfg: MofConfig, ust_price: float = 1.0) -> None:
        if not (math.isfinite(ust_price) and ust_price > 0):
            raise ConfigError(f"MofState ust_price = {ust_price!r} is not allowed; expected a positive price")
        self.ust_price = ust_price  # the price the holdings were last valued at (yesterday's close)
        self.ust_units = cfg.ust_share * cfg.reserves_usd_bn / ust_price
        self.deposits_usd_bn = (1.0 - cfg.ust_share) * cfg.reserves_usd_bn
        self.deposit_buffer_usd_bn = cfg.deposit_buffer_share * self.deposits_usd_bn
        self.signal_log = 0.0  # shift of the perceived ceiling, ln S
        self.burst_left = 0
        self.burst_sign = 1.0  # +1: buying yen (selling dollars); -1: selling yen
        self.cooldown_left = 0
        self.scripted_jpy_tn = 0.0
        self.pending_issuance: list[list[float]] = []  # [jpy_tn per day, days left]

    @property
    def ust_holdings_usd_bn(self) -> float:
        return self.ust_units * self.ust_price

    @property
    def reserves_usd_bn(self) -> float:
        """Deposits plus the USTs at the price they were last valued at (USD bn)."""
        return self.deposits_usd_bn + self.ust_holdings_usd_bn

    def issuance_today(self) -> float:
        total = 0.0
        for item in self.pending_issuance:
            total += item[0]
            item[1] -= 1
        self.pending_issuance = [i for i in self.pending_issuance if i[1] > 0]
        return total


def intervention_today(cfg: MofConfig, state: MofState, *, usdjpy: float, usdjpy_window_ago: float) -> float:
    """Yen bought today (JPY tn; negative = yen sold) by the rule and any scripted order.

    Updates bursts and cooldown. Dollar sales are limited by the reserves above the floor
    (valued at ``state.ust_price``).
    """
    amount = state.scripted_jpy_tn
    state.scripted_jpy_tn = 0.0
    if cfg.intervention:
        if state.burst_left > 0:
            state.burst_left -= 1
            amount += state.burst_sign * cfg.burst_jpy_tn
            if state.burst_left == 0:
                state.cooldown_left = cfg.cooldown_days
        elif state.cooldown_left > 0:
            state.cooldown_left -= 1
        else:
            too_weak = usdjpy > cfg.intervention_level_usdjpy + cfg.tolerance_usdjpy
            near = usdjpy > cfg.intervention_level_usdjpy + cfg.tolerance_usdjpy - cfg.speed_zone_usdjpy
            too_fast = near and usdjpy / usdjpy_window_ago - 1.0 > cfg.speed_threshold
            surge = cfg.lean_against_surges and usdjpy / usdjpy_window_ago - 1.0 < -cfg.speed_threshold
            if too_weak or too_fast or surge:
                state.burst_sign = -1.0 if surge and not (too_weak or too_fast) else 1.0
                amount += state.burst_sign * cfg.burst_jpy_tn
                state.burst_left = cfg.burst_days - 1
                if state.burst_left == 0:
                    state.cooldown_left = cfg.cooldown_days
    usd = amount * 1000.0 / usdjpy
    room = max(state.reserves_usd_bn - cfg.reserve_floor_usd_bn, 0.0)
    if usd > room:
        amount = room * usdjpy / 1000.0
    return amount


def funding(state: MofState, usd_bn: float) -> tuple[float, float]:
    """How the MoF raises ``usd_bn`` dollars to sell: ``(from deposits, UST index units to sell)``.

    Deposits above the buffer go first; the rest is a UST sale valued at ``state.ust_price``
    (yesterday's close), never more than the MoF holds (what is left then comes from the deposits
    below the buffer). Dollars bought (``usd_bn < 0``) go to the deposits: ``(usd_bn, 0)``.
    """
    if usd_bn <= 0.0:
        return usd_bn, 0.0
    from_deposits = min(usd_bn, max(state.deposits_usd_bn - state.deposit_buffer_usd_bn, 0.0))
    units = min((usd_bn - from_deposits) / state.ust_price, state.ust_units)
    return usd_bn - units * state.ust_price, units


def next_signal(signal_log: float, jpy_tn: float, kappa: float, decay: float) -> float:
    """Today's shift of the perceived ceiling: ``d·s_{t−1} − κ·X_t`` (ln S; ``X_t`` yen bought, ¥ tn)."""
    return decay * signal_log - kappa * jpy_tn


# the ledger cells the MoF's settlement books, in the order of mof_settle's `cells`
_BOOKED = (("mof", "ust_units"), ("mof", "usd_bn"), ("mof", "jpy_tn"), ("us_treasury", "usd_bn"),
           ("jgb_issuer", "jgb_units"), ("jgb_issuer", "jpy_tn"), ("jgb_issuer", "jgb30_units"))  # fmt: skip
_UST, _USD, _JPY, _TREASURY_USD, _ISSUER_JGB, _ISSUER_JPY, _ISSUER_JGB30 = range(len(_BOOKED))


@njit(cache=True)
def mof_settle(trades, prices, books, buffer_share, table, turnover, cells):
    """The MoF's and the JGB issuer's day at the cleared prices, booked into the ledger's ``table`` (the
    bookings of :meth:`model.accounting.Ledger.bonds`, ``fx`` and ``book``, in the same order and
    arithmetic).

    ``trades``: ``(UST units sold, dollars sold for yen, JGB 10y units redeemed less issued, JGB 30y
    units redeemed less issued)``; ``prices``: ``(UST price, USD/JPY, UST coupon per unit, JGB 10y
    price, JGB 30y price)``; ``books``: ``(UST units held, deposits, deposit buffer)`` before the day;
    ``buffer_share``: the share of the coupon added to the buffer; ``cells``: the ledger cells of
    :data:`_BOOKED`. The UST sale and the dollars sold for yen come out of the deposits; the USTs held
    at the close earn the index coupon from the issuer; the issuer sells new JGBs and repays the BoJ's
    maturing ones. Returns ``(proceeds of the UST sale, UST units, deposits, buffer)``.
    """
    ust_units_sold, usd_sold, jgb_bought, jgb30_bought = trades
    ust_price, usdjpy, ust_coupon, jgb_price, jgb30_price = prices
    ust_units, deposits, buffer = books
    proceeds = ust_units_sold * ust_price
    book_exchange(table, turnover, cells, _UST, _USD, -ust_units_sold, ust_price)
    book_exchange(table, turnover, cells, _USD, _JPY, -usd_sold, usdjpy / 1000.0)
    ust_units -= ust_units_sold
    deposits += proceeds - usd_sold
    coupon = ust_units * ust_coupon
    book_entry(table, turnover, cells, _USD, coupon)
    book_entry(table, turnover, cells, _TREASURY_USD, -coupon)
    deposits += coupon
    buffer += buffer_share * coupon
    book_exchange(table, turnover, cells, _ISSUER_JGB, _ISSUER_JPY, jgb_bought, jgb_price)
    book_exchange(table, turnover, cells, _ISSUER_JGB30, _ISSUER_JPY, jgb30_bought, jgb30_price)
    return proceeds, ust_units, deposits, buffer


class Mof(Sector):
    """The Ministry of Finance: FX intervention from its reserves, and JGB issuance (the JGB issuer).

    Intervention is a price-inelastic dollar sale decided from yesterday's close, funded from
    deposits above the buffer and by a same-day UST sale (a price-inelastic order in the UST
    clearing). Its signal, the shift of the perceived ceiling, is published as
    ``intervention_signal_log``. Issuance is the planned deficit (announced as
    ``jgb_planned_jpy_tn``, which investors anticipate), supplementary budgets spread over
    ``issuance_days``, and the refinancing of the BoJ's maturing bonds (``boj_redeemed_units`` from
    ``model.signals``). Ledger rows ``mof`` (deposits as ``usd_bn``, USTs as ``ust_units``; the US
    Treasury is the counterparty of their coupons) and ``jgb_issuer``.
    """

    name = "mof"
    section = "mof"
    columns = (
        "mof_intervention_jpy_tn",
        "mof_reserves_usd_bn",
        "mof_ust_holdings_usd_bn",
        "mof_ust_sold_usd_bn",
        "mof_signal_log",
    )
    event_kinds = ("supplementary_budget", "mof_intervention")
    ledger_rows = ("mof", "jgb_issuer")

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {self.name: self.holdings()}

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state = MofState(self.config, model.market.ust_price)
        self.intervention_jpy_tn = 0.0
        self.usd_sold_bn = 0.0
        self.ust_units_sold = 0.0
        self.ust_sold_usd_bn = 0.0  # proceeds of today's UST sale at the day's price
        self.planned_jpy_tn = 0.0
        self.supply_units = 0.0
        self.redeemed_units = 0.0
        self.supply30_units = 0.0
        self.redeemed30_units = 0.0
        self._orders = np.zeros((N_MARKETS, 3))
        self._cells: np.ndarray | None = None  # the ledger cells the settlement books (_BOOKED)

    @property
    def reserves_usd_bn(self) -> float:
        return self.state.reserves_usd_bn

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "usd_bn", self.state.deposits_usd_bn)
        ledger.set(self.name, "ust_units", self.state.ust_units)

    def handle_event(self, model, event) -> None:
        p = event.params
        if event.kind == "supplementary_budget":
            days = self.config.issuance_days
            self.state.pending_issuance.append([p["jpy_tn"] / days, days])
            model.macro.add_fiscal_news(p["jpy_tn"])
        else:  # mof_intervention
            self.state.scripted_jpy_tn += p["jpy_tn"]

    def decide(self, model) -> None:
        cfg, mk, st = self.config, model.market, self.state
        S, p_jp, p_30 = mk.usdjpy, mk.jgb_price, mk.jgb30_price
        st.ust_price = mk.ust_price
        window = model.series("usdjpy")
        ago = float(window[max(0, len(window) - 1 - cfg.speed_window_days)]) if len(window) else S
        self.intervention_jpy_tn = intervention_today(cfg, st, usdjpy=S, usdjpy_window_ago=ago)
        self.usd_sold_bn = self.intervention_jpy_tn * 1000.0 / S
        _, self.ust_units_sold = funding(st, self.usd_sold_bn)
        st.signal_log = next_signal(st.signal_log, self.intervention_jpy_tn, cfg.signal_log_per_jpy_tn,
                                    cfg.signal_decay)  # fmt: skip
        self.planned_jpy_tn = cfg.deficit_jpy_tn_pa / TRADING_DAYS
        supplementary = st.issuance_today()
        self.redeemed_units = model.signals.get("boj_redeemed_units", 0.0)
        self.redeemed30_units = model.signals.get("boj_redeemed_jgb30_units", 0.0)
        share = cfg.superlong_issuance_share
        self.supply_units = (1.0 - share) * (self.planned_jpy_tn + supplementary) / p_jp + self.redeemed_units
        self.supply30_units = share * (self.planned_jpy_tn + supplementary) / p_30 + self.redeemed30_units
        self._orders[FX, INSTITUTIONS] = -self.usd_sold_bn
        self._orders[UST, INSTITUTIONS] = -self.ust_units_sold
        self._orders[JGB, ISSUANCE] = -self.supply_units
        self._orders[JGB30, ISSUANCE] = -self.supply30_units

    def publish(self, model) -> dict[str, float]:
        share = self.config.superlong_issuance_share
        return {"jgb_planned_jpy_tn": (1.0 - share) * self.planned_jpy_tn,
                "jgb30_planned_jpy_tn": share * self.planned_jpy_tn, SIGNAL: self.state.signal_log}  # fmt: skip

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        # the UST sale at the day's price, then the dollars sold for yen, both out of the deposits; the USTs
        # held at the close earn the index coupon, paid by the issuer into the deposits, and the buffer grows
        # with it, so income is not spent on interventions before USTs are sold; the issuer sells new bonds
        # at today's price and repays the BoJ's maturing ones (mof_settle)
        st, led = self.state, model.ledger
        if self._cells is None:  # the ledger's rows and columns are fixed once the model is built
            self._cells = led.cells(_BOOKED)
        trades = (self.ust_units_sold, self.usd_sold_bn, self.redeemed_units - self.supply_units,
                  self.redeemed30_units - self.supply30_units)  # fmt: skip
        prices = (day.ust_price, day.usdjpy, day.ust_coupon_per_unit, day.jgb_price, day.jgb30_price)
        books = (st.ust_units, st.deposits_usd_bn, st.deposit_buffer_usd_bn)
        self.ust_sold_usd_bn, st.ust_units, st.deposits_usd_bn, st.deposit_buffer_usd_bn = mof_settle(
            trades, prices, books, self.config.deposit_buffer_share, led.table, led.turnover, self._cells
        )
        st.ust_price = day.ust_price

    def holdings(self) -> dict[str, float]:
        return {"usd_bn": self.state.deposits_usd_bn, "ust_units": self.state.ust_units}

    def record(self, model) -> dict[str, float]:
        st = self.state
        return {
            "mof_intervention_jpy_tn": self.intervention_jpy_tn,
            "mof_reserves_usd_bn": st.reserves_usd_bn,
            "mof_ust_holdings_usd_bn": st.ust_holdings_usd_bn,
            "mof_ust_sold_usd_bn": self.ust_sold_usd_bn,
            "mof_signal_log": st.signal_log,
        }
