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

import numpy as np
from numba import njit

from model.validation import Validated, param

__all__ = ["BondInvestorConfig", "BondInvestorState", "bond_investor_flow"]


@dataclass(frozen=True)
class BondInvestorConfig(Validated):
    ust_holdings_usd_bn: float = param(
        10_000.0,
        unit="USD bn (10y-equivalent)",
        lo=1.0,
        doc="UST held by investors outside the model",
        source="US Treasury: ~$27 tn marketable debt end-2023, average duration ~6y → ~$16 tn 10y-eq; "
        "part held elastically",
    )
    ust_elasticity_usd_bn_per_bp: float = param(
        30.0,
        unit="USD bn per bp",
        lo=0.0,
        lo_open=True,
        doc="e: extra 10y-equivalent holdings per bp of yield above the anchor",
        source="Greenwood & Vayanos (2014): ~10% of GDP of duration supply moves 10y yields ~50-100bp",
    )
    ust_term_premium_sd_bp: float = param(
        5.5, unit="bp per day", lo=0.0, hi=100.0, doc="daily shock to the term premium"
    )
    ust_term_premium_persistence: float = param(0.998, lo=0.0, hi=1.0, doc="AR(1) coefficient of the term premium")
    flight_to_quality_usd_bn: float = param(
        10.0,
        unit="USD bn per index point",
        lo=-1000.0,
        hi=1000.0,
        doc="f: extra UST demand per risk-index point above its mean",
    )
    jgb_holdings_jpy_tn: float = param(
        500.0, unit="JPY tn (10y-equivalent)", lo=1.0, doc="JGBs held by the domestic stand-in (banks, insurers, BoJ)"
    )
    jgb_elasticity_jpy_tn_per_bp: float = param(0.8, unit="JPY tn per bp", lo=0.0, lo_open=True)
    jgb_term_premium_sd_bp: float = param(2.5, unit="bp per day", lo=0.0, hi=100.0)
    jgb_term_premium_persistence: float = param(0.998, lo=0.0, hi=1.0)


class BondInvestorState:
    def __init__(self, ust_units: float, jgb_units: float, ust_anchor: float, jgb_anchor: float) -> None:
        self.ust_units = ust_units
        self.jgb_units = jgb_units
        # yesterday's anchors and extra demand: trades are computed from their changes
        self.ust_anchor = ust_anchor
        self.jgb_anchor = jgb_anchor
        self.ust_extra_usd_bn = 0.0
        self.jgb_extra_jpy_tn = 0.0
        self.ust_term_premium = 0.0  # deviation of the term premium from its initial level
        self.jgb_term_premium = 0.0
        # demand growth that absorbs anticipated supply (auctions, the planned deficit)
        self.ust_absorbed_usd_bn = 0.0
        self.jgb_absorbed_jpy_tn = 0.0


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
