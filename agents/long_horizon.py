"""Long-horizon FX investors: reserve managers and pension funds with a strategic dollar allocation.

They hold a dollar position that rises with the dollar's discount to its fundamental value, like
real money (:mod:`agents.fx_fundamentals`), but move towards it slowly: each day they trade a share
``κ`` of the gap between their target and their position, at the day's price, inside the clearing

    L*(s) = c_L·(ŝ − s),        flow(s) = κ·(L*(s) − L_old)        (USD bn)

with ``ŝ`` the fundamental value of ln USD/JPY at yesterday's close (real money's anchor, read from
``model.signals``). Their balance sheet is finite (``c_L`` per unit of misvaluation): what they
absorb moves the price, and a persistent one-way flow moves it for good. They replace an earlier
device in which real money handed a share of its position each day to an unmodelled outside
account at no price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from numba import njit

from model.sector import FX, Sector, Validated, param

__all__ = ["LongHorizonConfig", "LongHorizonInputs", "LongHorizon", "long_horizon_flows"]


@dataclass(frozen=True)
class LongHorizonConfig(Validated):
    enabled: bool = param(True, doc="include the long-horizon investors")
    capacity_usd_bn: float = param(
        3000.0,
        unit="USD bn per unit of ln S",
        lo=0.0,
        hi=20000.0,
        doc="c_L: dollars they hold per 100% undervaluation of the dollar",
        source="order of magnitude, to be estimated: GPIF alone held ~¥125 tn (~$850 bn) of foreign assets in "
        "FY2023 (GPIF annual report), and its rebalancing to fixed weights after a 10% move of the yen buys "
        "about $40 bn, about 400 per unit of ln S; the default assumes other public pensions and reserve "
        "managers rebalancing within their bands bring that to ~$300 bn per 10% misvaluation, about 7x GPIF, "
        "which no source here supports (within a day the slope that meets other flows is only "
        "adjustment_per_day x c_L, 12 at the defaults)",
        range_note="0 (no such investors) to ~7x the assumed value",
    )
    adjustment_per_day: float = param(
        0.004,
        unit="per day",
        lo=0.0,
        hi=0.05,
        doc="κ: share of the gap to their target they trade each day (0.004: half-life ~170 trading days)",
        source="strategic allocations are rebalanced over quarters to a year (GPIF rebalances within its "
        "policy-portfolio bands; half-life assumption ~8 months)",
        range_note="rebalancing half-lives from ~2 weeks to never",
    )


class LongHorizonInputs(NamedTuple):
    capacity: float  # c_L, USD bn per unit of ln S
    speed: float  # κ
    log_anchor: float  # ŝ
    position: float  # L_old, USD bn


@njit(cache=True)
def long_horizon_flows(p, inp, z, jac, gross, out, aux):
    """The long-horizon investors' dollar buying at trial prices (see :mod:`model.sector`)."""
    q = inp.speed * (inp.capacity * (inp.log_anchor - p[FX]) - inp.position)
    z[FX] += q
    jac[FX, FX] += -inp.speed * inp.capacity
    gross[FX] += abs(q)
    out[FX] = q


class LongHorizon(Sector):
    """The long-horizon investors' sector block (one aggregate position)."""

    name = "long_horizon"
    section = "long_horizon"
    requires = ("real_money",)  # real money publishes the fundamental they trade towards
    flows = long_horizon_flows
    columns = ("long_horizon_usd_bn",)

    def __init__(self, model) -> None:
        super().__init__(model)
        self.usd_bn = 0.0  # dollar position, funded in yen
        self.jpy_tn = 0.0

    def clearing_inputs(self, model) -> LongHorizonInputs:
        cfg = self.config
        on = cfg.enabled
        return LongHorizonInputs(
            capacity=cfg.capacity_usd_bn if on else 0.0,
            speed=cfg.adjustment_per_day if on else 0.0,
            log_anchor=model.signals["fundamental_log_usdjpy"],
            position=self.usd_bn,
        )

    def settle(self, model, day) -> None:
        q = day.flows_of(self)[FX]
        model.ledger.fx(self.name, q, day.usdjpy / 1000.0)
        self.usd_bn += q
        self.jpy_tn -= q * day.usdjpy / 1000.0

    def holdings(self) -> dict[str, float]:
        return {"usd_bn": self.usd_bn, "jpy_tn": self.jpy_tn}

    def record(self, model) -> dict[str, float]:
        return {"long_horizon_usd_bn": self.usd_bn}
