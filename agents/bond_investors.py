"""Price-elastic bond investors who hold most of the UST and JGB stocks.

*UST investors* (US domestic and foreign official money, everyone the model does not name):
their target holding value rises with the yield's excess over an anchor (the US short rate plus
a term premium that follows an AR(1) with daily shocks) and with risk aversion (flight to
quality):

    V*(y) = V₀ + e·(y − r_us − tp)·1e4 + f·(v − v̄)     (USD bn; e per bp, f per index point)

*Domestic JGB demand* is a plainly named stand-in for Japanese banks, insurers and the BoJ in
the JGB market until those sectors are modelled: the same form in JPY tn around the BoJ rate
plus a term premium.

Holdings are in index units of a constant-duration bond, price ``P(y) = exp(−D·y)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from model.sector import JGB, UST, Sector, Validated, param

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
        range_note="sd of daily UST 10y yield changes 4-9 bp by year 2000-2024",
    )
    ust_term_premium_persistence: float = param(
        0.998,
        lo=0.9,
        hi=1.0,
        doc="AR(1) coefficient of the term premium",
        range_note="term-premium estimates are near random walks at daily frequency (ACM)",
    )
    flight_to_quality_usd_bn: float = param(
        10.0,
        unit="USD bn per index point",
        lo=-20.0,
        hi=50.0,
        doc="f: extra UST demand per risk-index point above its mean",
        range_note="assumption: a VIX point moves up to ~$50 bn of demand for USTs (flight-to-quality episodes 2008, "
        "2020)",
    )
    jgb_holdings_jpy_tn: float = param(
        500.0,
        unit="JPY tn (10y-equivalent)",
        lo=50.0,
        hi=1200.0,
        doc="JGBs held by the domestic stand-in (banks, insurers, BoJ)",
        source="JGBs outstanding ~¥1,100 tn (MoF, 2024), about half held by the BoJ",
    )
    jgb_elasticity_jpy_tn_per_bp: float = param(
        0.8,
        unit="JPY tn per bp",
        lo=0.05,
        hi=20.0,
        doc="extra 10y-equivalent JGB holdings per bp of yield above the anchor",
        source="scaled from the UST elasticity by the relative size of the markets (Greenwood & Vayanos 2014)",
    )
    jgb_term_premium_sd_bp: float = param(
        2.5, unit="bp per day", lo=0.5, hi=6.0, range_note="sd of daily JGB 10y yield changes 1-5 bp by year 2000-2024"
    )
    jgb_term_premium_persistence: float = param(0.998, lo=0.9, hi=1.0, range_note="as for the UST term premium")


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
    ust_extra_change: float
    ust_duration: float
    ust_units: float
    jgb_anchor_change: float
    jgb_elasticity: float
    jgb_extra_change: float
    jgb_duration: float
    jgb_units: float


@njit(cache=True)
def bond_investor_flows(p, inp, z, jac, gross, out, aux):
    """UST and JGB investors' purchases at trial prices (see :mod:`model.sector`)."""
    y_us = p[UST]
    y_jp = p[JGB]
    q_us, q_us_dy = bond_investor_flow(
        y_us, inp.yus_prev, inp.ust_anchor_change, inp.ust_elasticity, inp.ust_extra_change, inp.ust_duration,
        inp.ust_units,
    )  # fmt: skip
    q_jp, q_jp_dy = bond_investor_flow(
        y_jp, inp.yjp_prev, inp.jgb_anchor_change, inp.jgb_elasticity, inp.jgb_extra_change, inp.jgb_duration,
        inp.jgb_units,
    )  # fmt: skip
    z[UST] += q_us
    z[JGB] += q_jp
    jac[UST, UST] += q_us_dy
    jac[JGB, JGB] += q_jp_dy
    gross[UST] += abs(q_us)
    gross[JGB] += abs(q_jp)
    out[UST] = q_us
    out[JGB] = q_jp


class BondInvestors(Sector):
    """UST investors and the domestic JGB stand-in: holdings, anchors and term-premium processes.

    Ledger rows ``ust_investors`` and ``jgb_investors``. Reads the anticipated supply other
    sectors announce for the day (``model.signals``: ``ust_absorbed_usd_bn`` from auctions,
    ``jgb_planned_jpy_tn`` from planned issuance), which their demand grows by.
    """

    name = "bond_investors"
    section = "bond_investors"
    flows = bond_investor_flows
    ledger_rows = ("ust_investors", "jgb_investors")

    def __init__(self, model) -> None:
        super().__init__(model)
        cfg, mk = self.config, model.market
        self.ust_units = cfg.ust_holdings_usd_bn / mk.ust_price
        self.jgb_units = cfg.jgb_holdings_jpy_tn / mk.jgb_price
        # yesterday's anchors and extra demand: trades are computed from their changes
        self.ust_anchor = model.config.market.ust10y_yield
        self.jgb_anchor = model.config.market.jgb10y_yield
        self.ust_extra_usd_bn = 0.0
        self.jgb_extra_jpy_tn = 0.0
        self.ust_term_premium = 0.0  # deviation of the term premium from its initial level
        self.jgb_term_premium = 0.0
        # demand growth that absorbs anticipated supply (auctions, the planned deficit)
        self.ust_absorbed_usd_bn = 0.0
        self.jgb_absorbed_jpy_tn = 0.0
        self._today: BondInvestorInputs | None = None

    def open_books(self, ledger) -> None:
        ledger.set("ust_investors", "ust_units", self.ust_units)
        ledger.set("jgb_investors", "jgb_units", self.jgb_units)

    def decide(self, model) -> None:
        cfg = self.config
        # term premia: AR(1) deviations from their initial levels, each from its own stream
        self.ust_term_premium = cfg.ust_term_premium_persistence * self.ust_term_premium + (
            cfg.ust_term_premium_sd_bp * 1e-4 * float(model.streams["ust_term_premium"].standard_normal())
        )
        self.jgb_term_premium = cfg.jgb_term_premium_persistence * self.jgb_term_premium + (
            cfg.jgb_term_premium_sd_bp * 1e-4 * float(model.streams["jgb_term_premium"].standard_normal())
        )

    def clearing_inputs(self, model) -> BondInvestorInputs:
        cfg, mk, m0, sig = self.config, model.market, model.config.market, model.signals
        # anchors: the initial yield plus the change of the policy rate expected over ten years
        ust_anchor = m0.ust10y_yield + mk.expected_change_10y("fed") + self.ust_term_premium
        jgb_anchor = (
            m0.jgb10y_yield
            + mk.expected_change_10y("boj")
            + self.jgb_term_premium
            + model.config.macro.fiscal_jgb_premium_pa * model.macro.fiscal_risk
        )
        ust_extra = cfg.flight_to_quality_usd_bn * (mk.risk_index - m0.risk_index_mean) + self.ust_absorbed_usd_bn
        ust_extra += sig.get("ust_absorbed_usd_bn", 0.0)
        jgb_extra = self.jgb_absorbed_jpy_tn + sig.get("jgb_planned_jpy_tn", 0.0)
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
        )
        return self._today

    def settle(self, model, day) -> None:
        inp, flows, sig = self._today, day.flows_of(self), model.signals
        q_us, q_jp = flows[UST], flows[JGB]
        model.ledger.bonds("ust_investors", "ust_units", "usd_bn", q_us, day.ust_price)
        model.ledger.bonds("jgb_investors", "jgb_units", "jpy_tn", q_jp, day.jgb_price)
        self.ust_units += q_us
        self.jgb_units += q_jp
        self.ust_anchor += inp.ust_anchor_change
        self.jgb_anchor += inp.jgb_anchor_change
        self.ust_extra_usd_bn += inp.ust_extra_change
        self.jgb_extra_jpy_tn += inp.jgb_extra_change
        self.ust_absorbed_usd_bn += sig.get("ust_absorbed_usd_bn", 0.0)
        self.jgb_absorbed_jpy_tn += sig.get("jgb_planned_jpy_tn", 0.0)
        day.executed[self.name] = (0.0, q_us, q_jp)

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {"ust_investors": {"ust_units": self.ust_units}, "jgb_investors": {"jgb_units": self.jgb_units}}
