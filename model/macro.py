"""Macro state that is not cleared but evolves daily: Japanese inflation and expectations, the
fiscal-risk index and the global equity index NISA households hold.

* Inflation: ``π = π_core + pass·(ln S_t − ln S_{t−250}) + c_t`` with ``pass`` =
  pass-through × import share and ``c_t`` an AR(1) commodity component.
* Expectations adapt, ``π^e += (λ/250)·(π − π^e)``, and — under fiscal dominance — rise with
  fiscal risk: ``π^e_eff = π^e + κ_π·F``.
* Fiscal risk ``F`` rises with unplanned issuance (supplementary budgets), decays with a
  half-life; it raises the JGB term premium (super-longs most) and, if switched on, the yen's
  fiscal risk premium in real money's fundamental value (Blanchard 2004).
* Global equity (USD, index 100 at the start): ``Δln E = μ/250 − D_e·Δy_us + σ·ε + news``: it moves
  with US growth news and US yields, not with the risk index; the risk index responds to it
  (:mod:`model.risk`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.validation import Validated, param

__all__ = ["MacroConfig", "MacroState"]


@dataclass(frozen=True)
class MacroConfig(Validated):
    jp_core_inflation: float = param(
        0.015,
        unit="per annum",
        lo=-0.02,
        hi=0.06,
        doc="inflation excluding the yen and commodity terms",
        source="BoJ 'trimmed mean' ~1.5-2% 2023-24 net of import prices",
        range_note="Japan core CPI -1% to 4% since 1990",
    )
    fx_pass_through: float = param(
        0.05,
        lo=0.0,
        hi=0.2,
        doc="pass-through × import share: CPI points per unit of 1-year ln(USD/JPY) change",
        source="BoJ Outlook (Apr 2022): a 10% yen depreciation adds ~0.3-0.6pp to CPI; import share ~20% of GDP",
        range_note="a 10% yen depreciation adds 0.3-1.5 pp to CPI (BoJ 2022; Shioji 2014)",
    )
    pass_through_switch: bool = param(True, doc="imported-inflation channel on/off")
    commodity_sd: float = param(
        0.0005,
        unit="per annum per day",
        lo=0.0,
        hi=0.005,
        doc="daily shock to commodity inflation",
        range_note="assumption: energy/food CPI contributions move up to ~0.5 pp a day-year",
    )
    commodity_persistence: float = param(0.995, lo=0.9, hi=1.0, range_note="commodity-price shocks persist for months")
    expectations_speed_pa: float = param(
        0.5,
        unit="per annum",
        lo=0.0,
        hi=5.0,
        doc="λ: adaptive-expectations speed (half-life ~1.4 years)",
        range_note="adaptive-expectations gains 0-5 a year (survey evidence: slow in Japan)",
    )
    fiscal_dominance: bool = param(True, doc="fiscal risk raises inflation expectations and the yen's risk premium")
    fiscal_risk_per_jpy_tn: float = param(
        0.05,
        unit="index per JPY tn",
        lo=0.0,
        hi=0.2,
        doc="fiscal-risk index added by ¥1 tn of unplanned issuance",
        range_note="model coefficient: 0 to 4x the default (assumption)",
    )
    fiscal_risk_halflife_days: float = param(
        250.0, unit="days", lo=20.0, hi=2500.0, range_note="fiscal news fades over a month to ten years"
    )
    fiscal_expectations_pa: float = param(
        0.002,
        unit="per annum per index point",
        lo=0.0,
        hi=0.01,
        doc="κ_π: expected inflation per point of fiscal risk",
        range_note="model coefficient (assumption, pending estimation)",
    )
    fiscal_jgb_premium_pa: float = param(
        0.0015,
        unit="per annum per index point",
        lo=0.0,
        hi=0.01,
        doc="10y JGB term premium per point of fiscal risk",
        range_note="model coefficient (assumption, pending estimation)",
    )
    fiscal_superlong_premium_pa: float = param(
        0.0035,
        unit="per annum per index point",
        lo=0.0,
        hi=0.02,
        doc="extra 30y premium per point of fiscal risk (super-longs sold off most: 30y record 3.45% Dec 2025)",
        range_note="model coefficient (assumption, pending estimation)",
    )
    fiscal_fx_premium: float = param(
        0.005,
        unit="ln S per index point",
        lo=0.0,
        hi=0.05,
        doc="yen risk premium per point (Blanchard 2004)",
        range_note="model coefficient (assumption, pending estimation)",
    )
    jgb30_spread_pa: float = param(
        0.010,
        unit="per annum",
        lo=-0.005,
        hi=0.03,
        doc="30y minus 10y JGB yield at the start",
        source="2023: 30y ~1.6%, 10y ~0.6% (MoF)",
        range_note="JGB 30y-10y spread 0-200 bp in 2000-2025 (MoF)",
    )
    equity_drift_pa: float = param(
        0.07,
        unit="per annum",
        lo=-0.1,
        hi=0.15,
        source="MSCI ACWI long-run ~7% in USD",
        range_note="world equity expected returns from crisis to boom",
    )
    equity_vol_pa: float = param(
        0.12,
        unit="per annum",
        lo=0.08,
        hi=0.35,
        doc="idiosyncratic equity volatility",
        range_note="MSCI ACWI realised volatility by year 8-35%",
    )
    equity_rate_duration: float = param(
        5.0,
        unit="years",
        lo=0.0,
        hi=20.0,
        doc="D_e: equity sensitivity to US yields",
        range_note="equity duration estimates 5-20 years (Dechow et al. 2004)",
    )
    growth_news_equity_per_sd: float = param(
        0.006,
        unit="ln index per sd",
        lo=0.0,
        hi=0.03,
        doc="move of the global equity index per standard deviation of a US data surprise",
        source="S&P 500 reactions to macro surprises: ~0.3-1% per sd of a payrolls surprise (Boyd, Hu & "
        "Jagannathan 2005; Gilbert et al. 2017)",
        range_note="0 to ~3% per sd (large surprises in stressed markets)",
    )


class MacroState:
    def __init__(self, cfg: MacroConfig, jp_inflation_expectations: float) -> None:
        self.cfg = cfg
        self.jp_inflation = jp_inflation_expectations
        self.jp_expectations_adaptive = jp_inflation_expectations
        self.commodity = 0.0
        self.fiscal_risk = 0.0
        self.equity_index = 100.0
        self.superlong_extra = 0.0  # super-long premium from events (e.g. weak 30y auctions)
        self.equity_news_log = 0.0  # today's growth-news move of ln E (applied when the news arrives)
        self.draws = None

    def jp_expectations(self) -> float:
        """Expected inflation used in real rates: adaptive plus the fiscal-dominance term."""
        extra = self.cfg.fiscal_expectations_pa * self.fiscal_risk if self.cfg.fiscal_dominance else 0.0
        return self.jp_expectations_adaptive + extra

    def fx_premium(self) -> float:
        return self.cfg.fiscal_fx_premium * self.fiscal_risk if self.cfg.fiscal_dominance else 0.0

    def jgb30y_yield(self, jgb10y: float) -> float:
        """The super-long yield: the 10y plus the 30y–10y spread, fiscal and event premia."""
        c = self.cfg
        return jgb10y + c.jgb30_spread_pa + c.fiscal_superlong_premium_pa * self.fiscal_risk + self.superlong_extra

    @staticmethod
    def log_usdjpy_year_ago(history: list[float], market_cfg) -> float:
        """ln USD/JPY 250 trading days ago; before a year of history, interpolated from the
        configured year-ago level to the initial one."""
        if len(history) >= 250:
            return math.log(history[len(history) - 250])
        w = len(history) / 250.0
        return (1 - w) * math.log(market_cfg.usdjpy_year_ago) + w * math.log(market_cfg.usdjpy)

    def record(self, market) -> dict[str, float]:
        """The day's prices, rates and macro state for the time series (``market``: a ``MarketState``)."""
        return dict(
            usdjpy=market.usdjpy, ust10y_yield=market.ust10y_yield, jgb10y_yield=market.jgb10y_yield,
            jgb30y_yield=self.jgb30y_yield(market.jgb10y_yield), risk_index=market.risk_index,
            us_short_rate=market.us_short_rate, boj_rate=market.boj_rate, ust2y_yield=market.ust2y_yield,
            jgb2y_yield=market.jgb2y_yield, fx_basis_bp=market.fx_basis * 1e4, jp_inflation=self.jp_inflation,
            jp_inflation_expectations=self.jp_expectations(), fiscal_risk=self.fiscal_risk,
            equity_index=self.equity_index,
        )  # fmt: skip

    def apply_event(self, event) -> bool:
        """Apply a macro scenario event; ``False`` if the kind is not the macro state's."""
        if event.kind == "commodity_shock":
            self.commodity += event.params["inflation_pa"]
        elif event.kind == "superlong_shock":
            self.superlong_extra += event.params["spread_pa"]
        elif event.kind == "us_growth_news":  # the Fed path's part is the market's (MarketState)
            self.equity_news(self.cfg.growth_news_equity_per_sd * event.params["surprise_sd"])
        elif event.kind == "us_equity_news":  # news about equities themselves (earnings): no policy path
            self.equity_news(event.params["log_change"])
        else:
            return False
        return True

    def draw(self, rng) -> None:
        """Today's commodity and equity shocks, from the macro stream (drawn before trading)."""
        self.draws = rng.standard_normal(2)

    def equity_news(self, log_change: float) -> None:
        """News moves the equity index when it arrives, before the day's trading."""
        self.equity_index *= math.exp(log_change)
        self.equity_news_log += log_change

    def equity_return_before_trading(self) -> float:
        """Today's ln E change known before trading: news, drift and the day's own shock; the day's
        US yield change adds ``−D_e·Δy_us`` at the clearing's prices (:mod:`model.risk`)."""
        c = self.cfg
        return self.equity_news_log + c.equity_drift_pa / 250.0 + c.equity_vol_pa / math.sqrt(250.0) * self.draws[1]

    def add_fiscal_news(self, jpy_tn: float) -> None:
        self.fiscal_risk += self.cfg.fiscal_risk_per_jpy_tn * jpy_tn

    def update(
        self,
        *,
        log_s_now: float,
        log_s_year_ago: float,
        d_y_us: float,
        risk_index: float,
        risk_mean: float,
        shock_commodity: float,
        shock_equity: float,
    ) -> None:
        c = self.cfg
        self.commodity = c.commodity_persistence * self.commodity + c.commodity_sd * shock_commodity
        imported = c.fx_pass_through * (log_s_now - log_s_year_ago) if c.pass_through_switch else 0.0
        self.jp_inflation = c.jp_core_inflation + imported + self.commodity
        self.jp_expectations_adaptive += (
            c.expectations_speed_pa / 250.0 * (self.jp_inflation - self.jp_expectations_adaptive)
        )
        self.fiscal_risk *= 0.5 ** (1.0 / c.fiscal_risk_halflife_days)
        self.equity_index *= math.exp(
            c.equity_drift_pa / 250.0 - c.equity_rate_duration * d_y_us + c.equity_vol_pa / math.sqrt(250.0) * shock_equity
        )
        self.equity_news_log = 0.0
