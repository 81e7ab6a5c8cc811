"""The Ministry of Finance: FX intervention (executed by the BoJ), JGB issuance, budgets.

* Intervention: when yesterday's USD/JPY is above ``level + tolerance`` or rose more than
  ``speed`` over ``speed_window`` days, the MoF sells dollars and buys yen in daily bursts of
  ``burst`` (¥3–6 tn; 2022: ¥9.2 tn near 145–152, 2024: ¥15.3 tn near 160, MoF), for at most
  ``burst_days`` consecutive days, then waits ``cooldown`` days; never below a reserve floor
  (reserves ~$1.25 tn). The tolerance for yen weakness is the political put (a weak yen offsets
  US tariffs). Scenario events can also order an intervention.
* Issuance: the planned deficit is absorbed by investors who expect it; a supplementary budget
  (¥17–25 tn packages, Nov 2025) is unplanned supply over ``issuance_days`` and raises the
  fiscal-risk index. Redemptions of the BoJ's holdings are refinanced in the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.sector import FX, INSTITUTIONS, ISSUANCE, JGB, N_MARKETS, TRADING_DAYS, ConfigError, Sector, Validated, param

__all__ = ["MofConfig", "MofState", "Mof", "intervention_today"]


@dataclass(frozen=True)
class MofConfig(Validated):
    intervention: bool = param(True, doc="the MoF defends the yen")
    intervention_level_usdjpy: float = param(
        160.0,
        unit="JPY per USD",
        lo=100.0,
        hi=200.0,
        source="MoF interventions: Apr-May 2024 at ~160, Jul 2024 ~161",
        range_note="intervention levels 145-162 (2022-24); 75-125 in yen-selling episodes",
    )
    tolerance_usdjpy: float = param(
        0.0, unit="JPY per USD", lo=0.0, hi=40.0, doc="political tolerance added to the level", range_note="assumption"
    )
    speed_threshold: float = param(
        0.07,
        lo=0.02,
        hi=0.2,
        doc="also intervene after a rise of this much over the window",
        source="Sep 2022 and Apr 2024: intervened after USD/JPY rose ~5-8% in a month (MoF)",
        range_note="MoF: 'excessive' moves of 4-10% in a month (2022-24)",
    )
    speed_window_days: int = param(20, unit="trading days", lo=5, hi=60, range_note="a week to three months")
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
        range_note="assumption",
    )
    burst_jpy_tn: float = param(
        4.0,
        unit="JPY tn per day",
        lo=0.0,
        hi=10.0,
        source="MoF daily data: ¥3-6 tn intervention days",
        range_note="MoF daily interventions up to ¥5.9 tn (Apr 2024)",
    )
    burst_days: int = param(2, unit="days", lo=1, hi=10, range_note="interventions of 1-5 days (2022-24)")
    cooldown_days: int = param(
        40,
        unit="days",
        lo=0,
        hi=250,
        source="2022: Sep 22 then Oct 21-24; 2024: Apr 29-May 1 then Jul 11-12 (MoF)",
        range_note="gaps between intervention episodes: weeks to a year",
    )
    reserves_usd_bn: float = param(
        1250.0,
        unit="USD bn",
        lo=800.0,
        hi=1500.0,
        source="MoF: FX reserves ~$1.25 tn",
        range_note="Japan's FX reserves $1.1-1.4 tn, 2011-2024 (MoF)",
    )
    reserve_floor_usd_bn: float = param(
        600.0, unit="USD bn", lo=0.0, hi=1200.0, range_note="assumption: reserves the MoF keeps in any case"
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
    issuance_days: int = param(
        60,
        unit="days",
        lo=5,
        hi=250,
        doc="days over which a supplementary budget is issued",
        range_note="supplementary budgets financed over weeks to a year",
    )

    def _check(self) -> None:
        if self.reserve_floor_usd_bn > self.reserves_usd_bn:
            raise ConfigError(
                f"MofConfig.reserve_floor_usd_bn = {self.reserve_floor_usd_bn!r} is not allowed with reserves_usd_bn = "
                f"{self.reserves_usd_bn!r}; expected a floor at or below the reserves"
            )


class MofState:
    def __init__(self, cfg: MofConfig) -> None:
        self.reserves_usd_bn = cfg.reserves_usd_bn
        self.burst_left = 0
        self.burst_sign = 1.0  # +1: buying yen (selling dollars); -1: selling yen
        self.cooldown_left = 0
        self.scripted_jpy_tn = 0.0
        self.pending_issuance: list[list[float]] = []  # [jpy_tn per day, days left]

    def issuance_today(self) -> float:
        total = 0.0
        for item in self.pending_issuance:
            total += item[0]
            item[1] -= 1
        self.pending_issuance = [i for i in self.pending_issuance if i[1] > 0]
        return total


def intervention_today(cfg: MofConfig, state: MofState, *, usdjpy: float, usdjpy_window_ago: float) -> float:
    """Yen bought today (JPY tn; negative = yen sold) by the rule and any scripted order.

    Updates bursts and cooldown. Dollar sales are limited by the reserves above the floor.
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


class Mof(Sector):
    """The Ministry of Finance: FX intervention from its reserves, and JGB issuance (the JGB issuer).

    Intervention is a price-inelastic dollar sale decided from yesterday's close. Issuance is the
    planned deficit (announced as ``jgb_planned_jpy_tn``, which investors anticipate), supplementary
    budgets spread over ``issuance_days``, and the refinancing of the BoJ's maturing bonds
    (``boj_redeemed_units`` from ``model.signals``). Ledger rows ``mof`` and ``jgb_issuer``.
    """

    name = "mof"
    section = "mof"
    columns = ("mof_intervention_jpy_tn", "mof_reserves_usd_bn")
    event_kinds = ("supplementary_budget", "mof_intervention")
    ledger_rows = ("mof", "jgb_issuer")

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {self.name: self.holdings()}

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state = MofState(self.config)
        self.intervention_jpy_tn = 0.0
        self.planned_jpy_tn = 0.0
        self.supply_units = 0.0
        self.redeemed_units = 0.0
        self._orders = np.zeros((N_MARKETS, 3))

    @property
    def reserves_usd_bn(self) -> float:
        return self.state.reserves_usd_bn

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "usd_bn", self.state.reserves_usd_bn)

    def handle_event(self, model, event) -> None:
        p = event.params
        if event.kind == "supplementary_budget":
            days = self.config.issuance_days
            self.state.pending_issuance.append([p["jpy_tn"] / days, days])
            model.macro.add_fiscal_news(p["jpy_tn"])
        else:  # mof_intervention
            self.state.scripted_jpy_tn += p["jpy_tn"]

    def decide(self, model) -> None:
        cfg, mk = self.config, model.market
        S, p_jp = mk.usdjpy, mk.jgb_price
        window = model.history["usdjpy"]
        ago = window[max(0, len(window) - 1 - cfg.speed_window_days)] if window else S
        self.intervention_jpy_tn = intervention_today(cfg, self.state, usdjpy=S, usdjpy_window_ago=ago)
        self.planned_jpy_tn = cfg.deficit_jpy_tn_pa / TRADING_DAYS
        supplementary = self.state.issuance_today()
        self.redeemed_units = model.signals.get("boj_redeemed_units", 0.0)
        self.supply_units = (self.planned_jpy_tn + supplementary) / p_jp + self.redeemed_units
        self._orders[FX, INSTITUTIONS] = -self.intervention_jpy_tn * 1000.0 / S
        self._orders[JGB, ISSUANCE] = -self.supply_units

    def publish(self, model) -> dict[str, float]:
        return {"jgb_planned_jpy_tn": self.planned_jpy_tn}

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        usd = self._orders[FX, INSTITUTIONS]
        led = model.ledger
        led.fx(self.name, usd, day.usdjpy / 1000.0)
        # the issuer sells new bonds at today's price and repays the BoJ's maturing ones
        led.bonds("jgb_issuer", "jgb_units", "jpy_tn", self.redeemed_units - self.supply_units, day.jgb_price)
        self.state.reserves_usd_bn += usd

    def holdings(self) -> dict[str, float]:
        return {"usd_bn": self.state.reserves_usd_bn}

    def record(self, model) -> dict[str, float]:
        return {"mof_intervention_jpy_tn": self.intervention_jpy_tn, "mof_reserves_usd_bn": self.state.reserves_usd_bn}
