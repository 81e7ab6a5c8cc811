"""Price-elastic bond investors who hold most of the UST and JGB stocks.

*UST investors* (US domestic and foreign official money, everyone the model does not name):
their target holding value rises with the yield's excess over an anchor and with risk aversion
(flight to quality):

    V*(y) = V₀ + e·(y − a)·1e4 + f·(v − v̄)     (USD bn; e per bp, f per index point)
    a     = y₀ + Δr̄₁₀ + tp

The anchor ``a`` is the day-0 10y yield ``y₀``, plus ``Δr̄₁₀``, the change since day 0 of the Fed's
policy rate expected on average over ten years (so a 100 bp policy surprise moves it by about
54 bp at the default half-life, not 100), plus a term premium ``tp`` that follows an AR(1) with
daily shocks. ``v`` is the day's risk index at the trial prices, read from the clearing's ``aux``
like the dealers' capacity: a flight to quality moves the day's Treasury yield, not the next day's.
Anticipated supply (the day's auction) adds to the extra demand when
``absorb_anticipated_supply`` is on.

*Domestic JGB demand* is a plainly named stand-in for the holders of 10-year JGBs the model does
not have as sectors (banks above all; the BoJ and the life insurers are sectors of their own): the
same form in JPY tn, its anchor the day-0 10y JGB yield plus the change of the BoJ rate expected
over ten years, the JGB term premium and the fiscal premium (``macro.fiscal_jgb_premium_pa`` per
point of fiscal risk), without a flight to quality.

*Super-long habitat investors* (pensions, Japan Post Insurance and other long-liability holders of
20-40y JGBs; the life insurers are their own sector) demand the 30y index price-elastically in its
own yield, as preferred-habitat investors do in Vayanos & Vila (2021): linear in the yield, in units,

    H*(y30) = H₀ + h·(y30 − β_t)      (index units; h = e30·1e4 / P30, e30 in JPY tn per bp)

with the required yield ``β_t`` = the initial 30y + the change of the BoJ rate expected over thirty
years + the 10y term premium (common) + the super-long segment's own AR(1) premium + fiscal premia
(``macro.fiscal_jgb_premium_pa`` + ``macro.fiscal_superlong_premium_pa`` per point of fiscal risk)
+ ``superlong_shock`` events (a permanent shift of ``β``, e.g. a weak 30y auction). They absorb the
super-long share of the planned deficit (``jgb30_planned_jpy_tn``), as the 10y stand-in does its part.

Holdings are in index units of a constant-duration bond, price ``P(y) = exp(−D·y)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from model.sector import AUX_LOG_RISK, JGB, JGB30, UST, Sector, Validated, param

__all__ = ["BondInvestorConfig", "BondInvestorInputs", "BondInvestors", "bond_investor_flow", "bond_investor_flows"]


@dataclass(frozen=True)
class BondInvestorConfig(Validated):
    ust_holdings_usd_bn: float = param(
        10_000.0,
        unit="USD bn (10y-equivalent)",
        lo=1000.0,
        hi=30_000.0,
        doc="UST held by investors outside the model",
        source="US Treasury: ~$27 tn marketable debt end-2023, average duration ~6y → ~$16 tn 10y-eq; "
        "part held elastically",
    )
    ust_elasticity_usd_bn_per_bp: float = param(
        30.0,
        unit="USD bn per bp",
        lo=1.0,
        hi=300.0,
        doc="e: extra 10y-equivalent holdings per bp of yield above the anchor",
        source="Greenwood & Vayanos (2014): ~10% of GDP of duration supply moves 10y yields ~50-100bp",
    )
    ust_term_premium_sd_bp: float = param(
        5.5,
        unit="bp per day",
        lo=1.0,
        hi=10.0,
        doc="daily shock to the term premium",
        source="inside the 4-9 bp sd of daily UST 10y yield changes by year, 2000-2024 (range note); the value within "
        "it is an assumption (the cleared yield also moves with policy news, flight to quality and supply)",
        range_note="sd of daily UST 10y yield changes 4-9 bp by year 2000-2024",
    )
    ust_term_premium_persistence: float = param(
        0.998,
        lo=0.9,
        hi=1.0,
        doc="AR(1) coefficient of the term premium",
        source="assumption, not estimated: close to the random walk that daily term-premium estimates follow (ACM; "
        "range note), yet reverting over years (a half-life of ~350 trading days, ~1.4 years: ln 0.5/ln 0.998)",
        range_note="term-premium estimates are near random walks at daily frequency (ACM)",
    )
    absorb_anticipated_supply: bool = param(
        True,
        doc="anticipated supply (auction allotments, the planned deficit) raises the investors' demand by as much, "
        "so it is held at unchanged yields and only surprises move them; False: it must be bought along the demand "
        "curve, so every bond issued raises yields (no demand grows with it)",
    )
    flight_to_quality_usd_bn: float = param(
        10.0,
        unit="USD bn per index point",
        lo=-20.0,
        hi=50.0,
        doc="f: extra UST demand per risk-index point above its mean (at the day's index, inside the clearing)",
        source="assumption, not estimated: a fifth of the ~$50 bn per VIX point at the top of the range note "
        "(flight-to-quality episodes 2008, 2020) ($10 bn of extra 10y-equivalent UST demand per index point above the "
        "mean: $200 bn at 20 points above it)",
        range_note="assumption: a VIX point moves up to ~$50 bn of demand for USTs (flight-to-quality episodes 2008, "
        "2020)",
    )
    jgb_holdings_jpy_tn: float = param(
        270.0,
        unit="JPY tn (10y-equivalent)",
        lo=50.0,
        hi=1200.0,
        doc="JGBs held by the domestic stand-in (banks, foreigners and the other holders the model has no sector for)",
        source="JGBs outstanding ~¥1,100 tn (MoF, 2024) less what the model's own sectors hold: the BoJ's ~¥580 tn "
        "(boj.holdings_jpy_tn), the insurers' ~¥170 tn (life_insurers.superlong_jgb_jpy_tn) and the super-long "
        "habitat investors' ~¥80 tn (superlong_holdings_jpy_tn); until 5 December 2026 it was ¥500 tn, 'the half "
        "the BoJ does not hold', which counted the insurers' and the habitat investors' JGBs twice",
        range_note="the remainder after the model's sectors, banks above all, then foreigners and other holders (BoJ "
        "flow of funds); less in 10-year equivalents, as banks hold shorter bonds",
    )
    jgb_elasticity_jpy_tn_per_bp: float = param(
        0.8,
        unit="JPY tn per bp",
        lo=0.05,
        hi=20.0,
        doc="extra 10y-equivalent JGB holdings per bp of yield above the anchor",
        source="assumption, an order of magnitude: scaling the UST elasticity ($30 bn per bp on $10 tn) by the "
        "stand-in's holdings (¥270 tn, about $1.8 tn at 150) gives about ¥0.8 tn per bp, by the debts outstanding "
        "(¥1,100 tn against ~$27 tn) about ¥1.2 tn (Greenwood & Vayanos 2014 for the form)",
    )
    jgb_term_premium_sd_bp: float = param(
        2.5,
        unit="bp per day",
        lo=0.5,
        hi=6.0,
        doc="daily shock to the JGB term premium (in the 10y and the 30y anchors)",
        source="inside the 1-5 bp sd of daily JGB 10y yield changes by year, 2000-2024 (range note); the value within "
        "it is an assumption",
        range_note="sd of daily JGB 10y yield changes 1-5 bp by year 2000-2024",
    )
    jgb_term_premium_persistence: float = param(
        0.998,
        lo=0.9,
        hi=1.0,
        doc="AR(1) coefficient of the JGB term premium",
        source="assumption, not estimated: as for the UST term premium, near a random walk at daily frequency (a "
        "half-life of ~350 trading days, ~1.4 years: ln 0.5/ln 0.998)",
        range_note="as for the UST term premium",
    )
    superlong_holdings_jpy_tn: float = param(
        80.0,
        unit="JPY tn",
        lo=5.0,
        hi=400.0,
        doc="super-long (20-40y) JGBs held by habitat investors other than the life insurers and the BoJ "
        "(public and corporate pensions, Japan Post Insurance, non-life insurers)",
        source="BoJ flow of funds 2024: pension funds and non-life/other insurers hold ~¥80-100 tn of JGBs, "
        "weighted to long and super-long maturities",
        range_note="¥5-400 tn: from a few pension funds to every long-liability holder",
    )
    superlong_elasticity_jpy_tn_per_bp: float = param(
        0.15,
        unit="JPY tn per bp",
        lo=0.005,
        hi=5.0,
        doc="e30: habitat investors' extra super-long holdings (value) per bp of the 30y above their required yield "
        "(the demand slope of Vayanos & Vila 2021)",
        source="the 10y stand-in's 0.8 ¥tn/bp scaled by the super-longs' ~20% share of JGBs outstanding (MoF "
        "Debt Management Report 2024), as Greenwood & Vayanos (2014) scale demand by the segment's size",
        range_note="one order of magnitude either side of the scaled value",
    )
    superlong_premium_sd_bp: float = param(
        1.5,
        unit="bp per day",
        lo=0.0,
        hi=6.0,
        doc="daily shock to the super-long segment's own premium (on top of the 10y term premium, which it shares)",
        source="sd of daily changes of the JGB 30y-10y spread ~1-2 bp, 2015-2024 (MoF yield curve data)",
        range_note="0 (no own shock) to the 10y's daily sd",
    )
    superlong_premium_persistence: float = param(
        0.998,
        lo=0.9,
        hi=1.0,
        doc="AR(1) coefficient of the super-long segment's own premium",
        source="assumption, not estimated: as for the 10y term premium, near a random walk at daily frequency (a "
        "half-life of ~350 trading days, ~1.4 years: ln 0.5/ln 0.998)",
        range_note="as for the 10y term premium (near a random walk at daily frequency)",
    )


@njit(cache=True)
def bond_investor_flow(y, y_prev, anchor_change, elasticity_per_bp, extra_change, duration, units_old):
    """Units bought at yield ``y``; returns ``(flow, dflow_dy)``.

    Investors ended yesterday on their demand curve, ``units_old·P(y_prev) = V*(y_prev)``, so
    today's trade is the change of the target value less the revaluation of what they hold,
    bought at today's price:

        flow = [e·1e4·(Δy − Δanchor) + Δextra − units_old·P(y_prev)·expm1(−D·Δy)] / P(y)

    Written in changes, not as ``V*(y)/P(y) − units_old``, so a quiet day's small trade is not
    the difference of two large stocks: the clearing residual can then reach 1e-10 of volume.
    """
    dy = y - y_prev
    price_prev = np.exp(-duration * y_prev)
    gap = elasticity_per_bp * 1e4 * (dy - anchor_change) + extra_change
    gap -= units_old * price_prev * np.expm1(-duration * dy)
    inv_price = np.exp(duration * y)
    dgap_dy = elasticity_per_bp * 1e4 + units_old * price_prev * duration * np.exp(-duration * dy)
    return gap * inv_price, (dgap_dy + duration * gap) * inv_price


class BondInvestorInputs(NamedTuple):
    """What the bond investors' flows read during one day's clearing."""

    yus_prev: float
    yjp_prev: float
    ust_anchor_change: float
    ust_elasticity: float
    ust_extra_change: float  # today's change of the extra demand but its flight to quality f·v (USD bn)
    ust_duration: float
    ust_units: float
    jgb_anchor_change: float
    jgb_elasticity: float
    jgb_extra_change: float
    jgb_duration: float
    jgb_units: float
    # super-long habitat investors (units linear in the 30y yield)
    yjp30_prev: float
    jgb30_anchor_change: float  # Δβ: today's change of their required yield
    jgb30_slope_units: float  # h: units per unit of 30y yield
    jgb30_extra_units: float  # today's extra demand (anticipated supply), units
    ust_flight_to_quality: float  # f: USD bn of UST demand per point of the day's risk index


@njit(cache=True)
def superlong_habitat_flow(y30, y30_prev, anchor_change, slope_units, extra_units):
    """Habitat investors' 30y purchase at yield ``y30``: ``h·(Δy − Δβ) + extra``; returns ``(flow, dflow_dy)``.

    Their target ``H*(y) = H₀ + h·(y − β)`` is linear in the yield (Vayanos & Vila 2021); they ended
    yesterday on it, so today's trade is the change of the target.
    """
    return slope_units * (y30 - y30_prev - anchor_change) + extra_units, slope_units


@njit(cache=True)
def bond_investor_flows(p, inp, z, jac, gross, out, aux):
    """UST, JGB 10y and super-long habitat investors' purchases at trial prices (see :mod:`model.sector`).

    The UST investors' flight to quality ``f·v`` reads the day's risk index at the trial prices (``aux``,
    written by the risk index at stage 1), so its derivatives in every price enter their row."""
    y_us = p[UST]
    y_jp = p[JGB]
    flight = inp.ust_flight_to_quality * math.exp(aux[AUX_LOG_RISK, 0])  # f·v, USD bn
    q_us, q_us_dy = bond_investor_flow(
        y_us, inp.yus_prev, inp.ust_anchor_change, inp.ust_elasticity, inp.ust_extra_change + flight,
        inp.ust_duration, inp.ust_units,
    )  # fmt: skip
    q_jp, q_jp_dy = bond_investor_flow(
        y_jp, inp.yjp_prev, inp.jgb_anchor_change, inp.jgb_elasticity, inp.jgb_extra_change, inp.jgb_duration,
        inp.jgb_units,
    )  # fmt: skip
    q_30, q_30_dy = superlong_habitat_flow(
        p[JGB30], inp.yjp30_prev, inp.jgb30_anchor_change, inp.jgb30_slope_units, inp.jgb30_extra_units
    )
    z[UST] += q_us
    z[JGB] += q_jp
    z[JGB30] += q_30
    # d q_us / d ln v = f·v / P(y_us): the extra demand is a value, bought at today's price
    dq_dlogv = flight * math.exp(inp.ust_duration * y_us)
    for k in range(jac.shape[1]):
        jac[UST, k] += dq_dlogv * aux[AUX_LOG_RISK, 1 + k]
    jac[UST, UST] += q_us_dy
    jac[JGB, JGB] += q_jp_dy
    jac[JGB30, JGB30] += q_30_dy
    gross[UST] += abs(q_us)
    gross[JGB] += abs(q_jp)
    gross[JGB30] += abs(q_30)
    out[UST] = q_us
    out[JGB] = q_jp
    out[JGB30] = q_30


class BondInvestors(Sector):
    """UST investors, the domestic JGB stand-in and the super-long habitat investors: holdings, anchors and
    term-premium processes.

    Ledger rows ``ust_investors``, ``jgb_investors`` and ``superlong_investors``. Reads the anticipated
    supply other sectors announce for the day (``model.signals``: ``ust_absorbed_usd_bn`` from auctions,
    ``jgb_planned_jpy_tn`` and ``jgb30_planned_jpy_tn`` from planned issuance), which their demand grows
    by. Handles ``superlong_shock`` events (``spread_pa``: a shift of the habitat investors' required
    30y yield).
    """

    name = "bond_investors"
    section = "bond_investors"
    flows = bond_investor_flows
    ledger_rows = ("ust_investors", "jgb_investors", "superlong_investors")
    event_kinds = ("superlong_shock",)
    requires = ("risk_index",)
    flows_stage = 2  # the flight to quality reads the day's risk index at the trial prices

    def __init__(self, model) -> None:
        super().__init__(model)
        cfg, mk = self.config, model.market
        self.ust_units = cfg.ust_holdings_usd_bn / mk.ust_price
        self.jgb_units = cfg.jgb_holdings_jpy_tn / mk.jgb_price
        self.jgb30_units = cfg.superlong_holdings_jpy_tn / mk.jgb30_price
        # yesterday's anchors and extra demand: trades are computed from their changes
        self.ust_anchor = model.config.market.ust10y_yield
        self.jgb_anchor = model.config.market.jgb10y_yield
        self.jgb30_anchor = mk.jgb30y_yield
        self.superlong_premium = 0.0  # the super-long segment's own premium (AR(1) deviation)
        self.superlong_shift = 0.0  # superlong_shock events: shifts of the required 30y yield
        self.jgb30_extra_jpy_tn = 0.0
        self._jgb30_extra_change = 0.0
        # the flight-to-quality demand already held at day 0's risk index: the investors start on their
        # demand curve, so day 1 trades only on the index's change (from 0, day 1 sold or bought
        # f·(v₀ − v̄) that no input caused: $20 bn in the baseline, $58 bn in the August 2024 replay)
        self.ust_extra_usd_bn = cfg.flight_to_quality_usd_bn * (mk.risk_index - model.config.market.risk_index_mean)
        self.jgb_extra_jpy_tn = 0.0
        self.ust_term_premium = 0.0  # deviation of the term premium from its initial level
        self.jgb_term_premium = 0.0
        # demand growth that absorbs anticipated supply (auctions, the planned deficit)
        self.ust_absorbed_usd_bn = 0.0
        self.jgb_absorbed_jpy_tn = 0.0
        self.jgb30_absorbed_jpy_tn = 0.0
        self._today: BondInvestorInputs | None = None

    def open_books(self, ledger) -> None:
        ledger.set("ust_investors", "ust_units", self.ust_units)
        ledger.set("jgb_investors", "jgb_units", self.jgb_units)
        ledger.set("superlong_investors", "jgb30_units", self.jgb30_units)

    def handle_event(self, model, event) -> None:
        """``superlong_shock``: habitat investors require ``spread_pa`` more on the 30y from the next clearing."""
        self.superlong_shift += event.params["spread_pa"]

    def decide(self, model) -> None:
        cfg = self.config
        # term premia: AR(1) deviations from their initial levels, each from its own stream
        self.ust_term_premium = cfg.ust_term_premium_persistence * self.ust_term_premium + (
            cfg.ust_term_premium_sd_bp * 1e-4 * float(model.streams["ust_term_premium"].standard_normal())
        )
        self.jgb_term_premium = cfg.jgb_term_premium_persistence * self.jgb_term_premium + (
            cfg.jgb_term_premium_sd_bp * 1e-4 * float(model.streams["jgb_term_premium"].standard_normal())
        )
        self.superlong_premium = cfg.superlong_premium_persistence * self.superlong_premium + (
            cfg.superlong_premium_sd_bp * 1e-4 * float(model.streams["superlong_premium"].standard_normal())
        )

    def clearing_inputs(self, model) -> BondInvestorInputs:
        cfg, mk, m0, sig = self.config, model.market, model.config.market, model.signals
        # anchors: the initial yield plus the change of the policy rate expected over ten years
        ust_anchor = m0.ust10y_yield + mk.expected_change_10y("fed") + self.ust_term_premium
        macro_cfg, fiscal = model.config.macro, model.macro.fiscal_risk
        jgb_anchor = (
            m0.jgb10y_yield
            + mk.expected_change_10y("boj")
            + self.jgb_term_premium
            + macro_cfg.fiscal_jgb_premium_pa * fiscal
        )
        jgb30_anchor = (
            mk.jgb30y_yield_0
            + mk.expected_change_30y_boj()
            + self.jgb_term_premium
            + self.superlong_premium
            + (macro_cfg.fiscal_jgb_premium_pa + macro_cfg.fiscal_superlong_premium_pa) * fiscal
            + self.superlong_shift
        )
        absorb = cfg.absorb_anticipated_supply
        jgb30_extra = self.jgb30_absorbed_jpy_tn + sig.get("jgb30_planned_jpy_tn", 0.0) if absorb else 0.0
        p30 = mk.jgb30_price
        self._jgb30_extra_change = jgb30_extra - self.jgb30_extra_jpy_tn
        # the flight to quality f·(v − v̄) without its f·v, which the clearing adds at the day's index
        ust_extra = -cfg.flight_to_quality_usd_bn * m0.risk_index_mean
        if absorb:
            ust_extra += self.ust_absorbed_usd_bn
            ust_extra += sig.get("ust_absorbed_usd_bn", 0.0)
        jgb_extra = self.jgb_absorbed_jpy_tn + sig.get("jgb_planned_jpy_tn", 0.0) if absorb else 0.0
        self._today = BondInvestorInputs(
            yus_prev=mk.ust10y_yield,
            yjp_prev=mk.jgb10y_yield,
            ust_anchor_change=ust_anchor - self.ust_anchor,
            ust_elasticity=cfg.ust_elasticity_usd_bn_per_bp,
            ust_extra_change=ust_extra - self.ust_extra_usd_bn,
            ust_duration=m0.ust_duration,
            ust_units=self.ust_units,
            jgb_anchor_change=jgb_anchor - self.jgb_anchor,
            jgb_elasticity=cfg.jgb_elasticity_jpy_tn_per_bp,
            jgb_extra_change=jgb_extra - self.jgb_extra_jpy_tn,
            jgb_duration=m0.jgb_duration,
            jgb_units=self.jgb_units,
            yjp30_prev=mk.jgb30y_yield,
            jgb30_anchor_change=jgb30_anchor - self.jgb30_anchor,
            jgb30_slope_units=cfg.superlong_elasticity_jpy_tn_per_bp * 1e4 / p30,
            jgb30_extra_units=self._jgb30_extra_change / p30,
            ust_flight_to_quality=cfg.flight_to_quality_usd_bn,
        )
        return self._today

    def settle(self, model, day) -> None:
        inp, flows, sig = self._today, day.flows_of(self), model.signals
        q_us, q_jp, q_30 = flows[UST], flows[JGB], flows[JGB30]
        model.ledger.bonds("ust_investors", "ust_units", "usd_bn", q_us, day.ust_price)
        model.ledger.bonds("jgb_investors", "jgb_units", "jpy_tn", q_jp, day.jgb_price)
        model.ledger.bonds("superlong_investors", "jgb30_units", "jpy_tn", q_30, day.jgb30_price)
        self.ust_units += q_us
        self.jgb_units += q_jp
        self.jgb30_units += q_30
        self.ust_anchor += inp.ust_anchor_change
        self.jgb_anchor += inp.jgb_anchor_change
        self.jgb30_anchor += inp.jgb30_anchor_change
        self.jgb30_extra_jpy_tn += self._jgb30_extra_change
        # the extra demand at the day's risk index, as the clearing added it
        self.ust_extra_usd_bn += inp.ust_extra_change + inp.ust_flight_to_quality * math.exp(day.aux[AUX_LOG_RISK, 0])
        self.jgb_extra_jpy_tn += inp.jgb_extra_change
        self.ust_absorbed_usd_bn += sig.get("ust_absorbed_usd_bn", 0.0)
        self.jgb_absorbed_jpy_tn += sig.get("jgb_planned_jpy_tn", 0.0)
        self.jgb30_absorbed_jpy_tn += sig.get("jgb30_planned_jpy_tn", 0.0)

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {"ust_investors": {"ust_units": self.ust_units}, "jgb_investors": {"jgb_units": self.jgb_units},
                "superlong_investors": {"jgb30_units": self.jgb30_units}}  # fmt: skip
