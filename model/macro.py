"""Macro state that is not cleared but evolves daily: Japanese inflation and expectations, the
fiscal-risk index and the global equity index NISA households hold.

* Inflation: ``π = π_core + pass·(ln S_t − ln S_{t−250}) + c_t`` with ``pass`` =
  pass-through × import share and ``c_t`` an AR(1) commodity component.
* Expectations adapt, ``π^e += (λ/250)·(π − π^e)``; under fiscal dominance (an active fiscal
  regime, Leeper 1991) they also carry a fiscal term ``π^f``: the price level must rise to back the
  share ``s`` of new debt that future primary surpluses will not (the fiscal reaction function;
  Blanchard 2004, Cochrane 2001), spread over the debt's average maturity ``M``, so a budget of ¥B tn
  adds ``s·B/(D·M)`` per annum (``D``: the debt outstanding); ``π^e_eff = π^e + π^f``. ``s = 0`` is the
  passive (Ricardian) regime: the budget is then only bond supply.
* Fiscal risk ``F`` rises with unplanned issuance (supplementary budgets) and decays with its
  half-life; ``π^f`` decays with a mean life of ``M`` years, so that over its life it raises the price
  level by ``s·B/D``, the rise the valuation equation requires. ``F`` raises the JGB term premium
  (super-longs most). Its effect on the yen
  comes through real rates (``π^f`` and the BoJ's expected response to it, :mod:`agents.boj`),
  domestic outflows (:mod:`agents.nisa`) and, only as an experiment knob set to 0 by default, a
  yen risk premium ``fiscal_fx_premium·F`` in real money's fundamental value.
* Global equity (USD, index 100 at the start): ``Δln E = μ/250 − D_e·Δy_us + σ·ε + news``: it moves
  with US growth news and US yields, not with the risk index; the risk index responds to it
  (:mod:`model.risk`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.calendar import TRADING_DAYS
from model.validation import Validated, param

__all__ = ["MacroConfig", "MacroState", "fiscal_inflation_news"]

# a year of history in trading days, as a count (the lag of the inflation pass-through)
_YEAR_DAYS = int(TRADING_DAYS)


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
        doc="pass-through × import share: the inflation rate (a fraction a year) per unit of 1-year ln(USD/JPY) change "
        "(0.05: a 10% depreciation adds 0.05·ln 1.1 = 0.0048, about 0.5 pp)",
        source="BoJ Outlook (Apr 2022): a 10% yen depreciation adds ~0.3-0.6pp to CPI; import share ~20% of GDP",
        range_note="a 10% yen depreciation adds 0.3-1.5 pp to CPI (BoJ 2022; Shioji 2014)",
    )
    pass_through_switch: bool = param(
        True,
        doc="the imported-inflation loop: False cuts the pass-through of the model's own USD/JPY moves; the "
        "depreciation before day 0 (usdjpy_year_ago to usdjpy) still passes through until it leaves the year's "
        "window, as it does with the loop on",
    )
    commodity_sd: float = param(
        0.0005,
        unit="per annum per day",
        lo=0.0,
        hi=0.005,
        doc="daily shock to commodity inflation",
        source="assumption, not estimated: commodity shocks that move inflation by tenths of a point (with "
        "commodity_persistence 0.995 the commodity term of inflation has a stationary sd of ~0.5 pp: 0.0005/√(1 − "
        "0.995²))",
        range_note="assumption: energy/food CPI contributions move up to ~0.5 pp a day-year",
    )
    commodity_persistence: float = param(
        0.995,
        lo=0.9,
        hi=1.0,
        doc="AR(1) coefficient of the commodity term of Japanese inflation (per day)",
        source="assumption, not estimated: commodity-price shocks persist for months (range note) (a half-life of ~140 "
        "trading days, about 6½ months: ln 0.5/ln 0.995)",
        range_note="commodity-price shocks persist for months",
    )
    expectations_speed_pa: float = param(
        0.5,
        unit="per annum",
        lo=0.0,
        hi=5.0,
        doc="λ: adaptive-expectations speed (half-life ~1.4 years)",
        source="assumption, not estimated: slow adaptation, as survey evidence finds in Japan (range note) (a gap "
        "between inflation and expectations halves in ~1.4 years: ln 2/0.5)",
        range_note="adaptive-expectations gains 0-5 a year (survey evidence: slow in Japan)",
    )
    fiscal_dominance: bool = param(
        True,
        doc="fiscal news reaches expected inflation (the fiscal term π^f) and the yen-premium knob; False: a budget "
        "is only bond supply and term premia (an ablation)",
    )
    fiscal_risk_per_jpy_tn: float = param(
        0.05,
        unit="index per JPY tn",
        lo=0.0,
        hi=0.2,
        doc="fiscal-risk index added by ¥1 tn of unplanned issuance",
        source="assumption, not estimated: pending the event study of budget news that identifies it (the 10y and the "
        "30y-10y response; docs/model/state.md); it sets the index's scale, one point per ¥20 tn of unplanned "
        "issuance, and yields feel it times the premia per point (at the defaults ¥1 tn raises the 10y JGB investors' "
        "anchor by 0.75 bp and super-long investors' required 30y yield by 2.5 bp)",
        range_note="model coefficient: 0 to 4x the default (assumption)",
    )
    fiscal_risk_halflife_days: float = param(
        250.0,
        unit="trading days",
        lo=20.0,
        hi=2500.0,
        doc="half-life of the fiscal-risk index F, which unplanned issuance raises and JGB investors' required "
        "yields read",
        source="assumption, not estimated: fiscal news fades within the month to ten years of the range note, taken as "
        "a year (a half-life of 250 trading days; the fiscal term of expected inflation has its own horizon, "
        "fiscal_inflation_horizon_years)",
        range_note="fiscal news fades over a month to ten years",
    )
    fiscal_unbacked_share: float = param(
        0.3,
        lo=0.0,
        hi=1.0,
        doc="s: share of new debt that expected primary surpluses do not back (the fiscal reaction function): "
        "0 = passive, Ricardian regime (surpluses respond to debt, Bohn 1998); 1 = active regime (no response, "
        "Leeper 1991), the price level backs it all",
        source="Doi, Hoshi & Okimoto (2011, JJIE): Japan's primary surplus stopped responding to debt after the early "
        "1990s (an active regime); default 0.3 is an assumption pending the event study that identifies it",
        range_note="0-1; identified by the 10y breakeven's move around budget news, Δπ^e_10y = s·B/(D·M): the "
        "¥11.7 tn of new bonds of the Nov 2025 supplementary budget at the defaults' D·M = ¥1,100 tn × 9 years gives "
        "~1.2 bp of breakeven per 0.1 of s (inflation-indexed JGBs, MoF)",
    )
    jgb_outstanding_jpy_tn: float = param(
        1100.0,
        unit="JPY tn",
        lo=500.0,
        hi=2000.0,
        doc="D: government debt whose real value the price level adjusts",
        source="MoF: ordinary JGBs outstanding ~¥1,100 tn (end FY2024)",
        range_note="ordinary JGBs ¥1,100 tn to general-government gross debt ~¥1,500 tn (MoF, IMF WEO 2025)",
    )
    fiscal_inflation_horizon_years: float = param(
        9.0,
        unit="years",
        lo=1.0,
        hi=20.0,
        doc="M: years over which the price level backs unbacked debt (with long-term debt the adjustment is spread "
        "over its maturity, Cochrane 2001)",
        source="MoF Debt Management Report: average remaining maturity of JGBs ~9 years (2023-24)",
        range_note="average JGB maturity 5-10 years since 2000 (MoF); up to 20 if adjustment is slower",
    )
    fiscal_jgb_premium_pa: float = param(
        0.0015,
        unit="per annum per index point",
        lo=0.0,
        hi=0.01,
        doc="10y JGB term premium per point of fiscal risk",
        source="assumption, not estimated: pending the event study of the 10y's response to budget news "
        "(docs/model/state.md) (15 bp on the 10y investors' anchor per point of fiscal risk: 0.75 bp per ¥1 tn of "
        "unplanned issuance at fiscal_risk_per_jpy_tn 0.05)",
        range_note="model coefficient (assumption, pending estimation)",
    )
    fiscal_superlong_premium_pa: float = param(
        0.0035,
        unit="per annum per index point",
        lo=0.0,
        hi=0.02,
        doc="extra yield super-long habitat investors require on the 30y per point of fiscal risk, on top of the "
        "10y premium (super-longs sold off most: 30y record 3.45% Dec 2025); it shifts their demand in the cleared "
        "30y market (agents.bond_investors)",
        source="assumption, not estimated: pending the event study of the 30y-10y response to budget news "
        "(docs/model/state.md); above the 10y's 15 bp because super-longs sold off most (30y record 3.45% Dec 2025) "
        "(35 bp per point of fiscal risk on top of the 10y's: 1.75 bp per ¥1 tn of unplanned issuance at "
        "fiscal_risk_per_jpy_tn 0.05)",
        range_note="model coefficient (assumption, pending estimation)",
    )
    fiscal_fx_premium: float = param(
        0.0,
        unit="ln S per index point",
        lo=0.0,
        hi=0.05,
        doc="experiment knob, 0 by default: a yen risk premium per fiscal-risk point added to real money's "
        "fundamental value without a mechanism behind it; a positive value imposes a weaker yen after fiscal news",
        source="0: off by default; an experiment knob with no mechanism behind it, so that the yen answers fiscal news "
        "through the mechanisms alone (docs/model/state.md)",
        range_note="sensitivity only: 0 (default, mechanisms alone) to a 1% weaker fundamental yen per ¥4 tn of budget",
    )
    jgb30_spread_pa: float = param(
        0.010,
        unit="per annum",
        lo=-0.005,
        hi=0.03,
        doc="30y minus 10y JGB yield on day 0: fixes the cleared 30y's initial level only",
        source="2023: 30y ~1.6%, 10y ~0.6% (MoF)",
        range_note="JGB 30y-10y spread 0-200 bp in 2000-2025 (MoF)",
    )
    equity_drift_pa: float = param(
        0.07,
        unit="per annum",
        lo=-0.1,
        hi=0.15,
        doc="μ: the US equity index's drift in logs (its daily log drift μ/250, so a compound return of about e^μ − 1 "
        "a year; the arithmetic mean return is higher by about σ²/2 with σ = equity_vol_pa; through the risk index's "
        "equity term it also lowers the index's level)",
        source="MSCI ACWI long-run ~7% a year in USD, compounded (taken as the log drift: ln 1.07 = 6.8%)",
        range_note="world equity expected returns from crisis to boom",
    )
    equity_vol_pa: float = param(
        0.12,
        unit="per annum",
        lo=0.08,
        hi=0.35,
        doc="idiosyncratic equity volatility: the US equity index's daily noise beyond the news the model names",
        source="S&P 500 realised volatility of daily returns about 13% a year in 2023 and 12-13% in 2024 (S&P Dow "
        "Jones Indices), nearly all of it news the model does not name",
        range_note="MSCI ACWI realised volatility by year 8-35%",
    )
    equity_rate_duration: float = param(
        5.0,
        unit="years",
        lo=0.0,
        hi=20.0,
        doc="D_e: equity sensitivity to US yields",
        source="equity duration estimates of 5-20 years (Dechow et al. 2004; range note): 5 is a choice at their low "
        "end (a 100 bp rise of US yields lowers the index by ~5%)",
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


def fiscal_inflation_news(jpy_tn: float, *, unbacked_share: float, debt_jpy_tn: float, horizon_years: float) -> float:
    """Expected inflation (per annum) that backs an unplanned budget: ``s·B/(D·M)``.

    The fiscal theory's valuation equation (Leeper 1991; Cochrane 2001): the real value of debt equals
    the present value of primary surpluses, so the share ``s`` of new debt ``B`` that surpluses do not
    back raises the price level by ``s·B/D``; with debt of average maturity ``M`` years the rise is
    spread over ``M`` years. Example: ¥20 tn, ``s = 0.5``, ¥1,100 tn, 9 years → about 10 bp a year.

    >>> round(1e4 * fiscal_inflation_news(20.0, unbacked_share=0.5, debt_jpy_tn=1100.0, horizon_years=9.0), 1)
    10.1
    """
    return unbacked_share * jpy_tn / (debt_jpy_tn * horizon_years)


class MacroState:
    def __init__(
        self, cfg: MacroConfig, jp_inflation_expectations: float, *, jp_inflation: float | None = None
    ) -> None:
        """``jp_inflation``: the opening inflation (:meth:`opening_inflation`); ``None`` starts it at the
        expectations, as a unit test of the state alone may."""
        self.cfg = cfg
        self.jp_inflation = jp_inflation_expectations if jp_inflation is None else jp_inflation
        self.jp_expectations_adaptive = jp_inflation_expectations
        self.commodity = 0.0
        self.fiscal_risk = 0.0
        self.fiscal_inflation_pa = 0.0  # π^f before the fiscal_dominance switch (mean life M years)
        self.equity_index = 100.0
        self.equity_news_log = 0.0  # today's growth-news move of ln E (applied when the news arrives)
        self.draws = None

    def fiscal_inflation(self) -> float:
        """π^f: expected inflation (per annum) from debt that surpluses will not back; 0 without fiscal dominance."""
        return self.fiscal_inflation_pa if self.cfg.fiscal_dominance else 0.0

    def jp_expectations(self) -> float:
        """Expected inflation used in real rates: adaptive plus the fiscal term π^f."""
        return self.jp_expectations_adaptive + self.fiscal_inflation()

    def fx_premium(self) -> float:
        """The experiment knob ``fiscal_fx_premium·F`` (0 at default parameters)."""
        return self.cfg.fiscal_fx_premium * self.fiscal_risk if self.cfg.fiscal_dominance else 0.0

    @staticmethod
    def opening_inflation(cfg: MacroConfig, market_cfg) -> float:
        """Day 0's inflation by the day's own formula: core, plus the pass-through of the year's
        depreciation before day 0 (in both arms of ``pass_through_switch``), with no commodity shock yet."""
        return cfg.jp_core_inflation + cfg.fx_pass_through * (
            math.log(market_cfg.usdjpy) - math.log(market_cfg.usdjpy_year_ago)
        )

    @staticmethod
    def log_usdjpy_year_ago(history: list[float], market_cfg) -> float:
        """ln USD/JPY 250 trading days ago; before a year of history, interpolated from the
        configured year-ago level to the initial one."""
        if len(history) >= _YEAR_DAYS:
            return math.log(float(history[len(history) - _YEAR_DAYS]))
        w = len(history) / TRADING_DAYS
        return (1 - w) * math.log(market_cfg.usdjpy_year_ago) + w * math.log(market_cfg.usdjpy)

    @staticmethod
    def log_usdjpy_change_before_start(history: list[float], market_cfg, year_ago: float) -> float:
        """The part of the year's ln USD/JPY change that happened before day 0: ``ln S₀`` less ``year_ago``
        (what :meth:`log_usdjpy_year_ago` gave for ``history``) while that lies before day 0, then 0."""
        return math.log(market_cfg.usdjpy) - year_ago if len(history) < _YEAR_DAYS else 0.0

    def record(self, market) -> dict[str, float]:
        """The day's prices, rates and macro state for the time series (``market``: a ``MarketState``)."""
        return dict(
            usdjpy=market.usdjpy, ust10y_yield=market.ust10y_yield, jgb10y_yield=market.jgb10y_yield,
            jgb30y_yield=market.jgb30y_yield, risk_index=market.risk_index,
            us_short_rate=market.us_short_rate, boj_rate=market.boj_rate, ust2y_yield=market.ust2y_yield,
            jgb2y_yield=market.jgb2y_yield, fx_basis_bp=market.fx_basis * 1e4, jp_inflation=self.jp_inflation,
            jp_inflation_expectations=self.jp_expectations(), fiscal_risk=self.fiscal_risk,
            equity_index=self.equity_index,
        )  # fmt: skip

    def apply_event(self, event) -> bool:
        """Apply a macro scenario event; ``False`` if the kind is not the macro state's."""
        if event.kind == "commodity_shock":
            self.commodity += event.params["inflation_pa"]
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
        return (
            self.equity_news_log
            + c.equity_drift_pa / TRADING_DAYS
            + c.equity_vol_pa / math.sqrt(TRADING_DAYS) * self.draws[1]
        )

    def add_fiscal_news(self, jpy_tn: float) -> None:
        """A budget of ``jpy_tn`` unplanned: fiscal risk ``F`` and the fiscal term ``π^f = s·B/(D·M)``."""
        c = self.cfg
        self.fiscal_risk += c.fiscal_risk_per_jpy_tn * jpy_tn
        self.fiscal_inflation_pa += fiscal_inflation_news(
            jpy_tn, unbacked_share=c.fiscal_unbacked_share, debt_jpy_tn=c.jgb_outstanding_jpy_tn,
            horizon_years=c.fiscal_inflation_horizon_years,
        )  # fmt: skip

    def update(
        self,
        *,
        log_s_now: float,
        log_s_year_ago: float,
        log_s_change_before_start: float,
        d_y_us: float,
        shock_commodity: float,
        shock_equity: float,
    ) -> None:
        c = self.cfg
        self.commodity = c.commodity_persistence * self.commodity + c.commodity_sd * shock_commodity
        if c.pass_through_switch:
            imported = c.fx_pass_through * (log_s_now - log_s_year_ago)
        else:  # the loop cut: only what the yen did before day 0 passes through
            imported = c.fx_pass_through * log_s_change_before_start
        self.jp_inflation = c.jp_core_inflation + imported + self.commodity
        self.jp_expectations_adaptive += (
            c.expectations_speed_pa / TRADING_DAYS * (self.jp_inflation - self.jp_expectations_adaptive)
        )
        self.fiscal_risk *= 0.5 ** (1.0 / c.fiscal_risk_halflife_days)
        # π^f = s·B/(D·M) a year with a mean life of M years: s·B/D on the price level over its life
        self.fiscal_inflation_pa *= math.exp(-1.0 / (TRADING_DAYS * c.fiscal_inflation_horizon_years))
        self.equity_index *= math.exp(
            c.equity_drift_pa / TRADING_DAYS
            - c.equity_rate_duration * d_y_us
            + c.equity_vol_pa / math.sqrt(TRADING_DAYS) * shock_equity
        )
        self.equity_news_log = 0.0
