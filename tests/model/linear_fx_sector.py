"""A user-written sector in one module: a linear FX demander (used by the protocol tests).

It buys ``intercept − slope·(ln S − ln S_ref)`` dollars a day, price-elastic inside the clearing,
and keeps the dollars it buys (its own records, checked against its ledger row).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from numba import njit

from model.sector import FX, Sector


class LinearFxInputs(NamedTuple):
    intercept_usd_bn: float
    slope_usd_bn: float  # USD bn per unit of ln S
    log_ref: float


@njit(cache=True)
def linear_fx_flows(p, inp, z, jac, gross, out, aux):
    q = inp.intercept_usd_bn - inp.slope_usd_bn * (p[FX] - inp.log_ref)
    z[FX] += q
    jac[FX, FX] += -inp.slope_usd_bn
    gross[FX] += abs(q)
    out[FX] = q


class LinearFx(Sector):
    name = "linear_fx"
    flows = linear_fx_flows
    columns = ("linear_fx_usd_bn",)
    intercept_usd_bn = 5.0
    slope_usd_bn = 300.0

    def __init__(self, model) -> None:
        super().__init__(model)
        self.usd_bn = 0.0
        self.jpy_tn = 0.0
        self.log_ref = math.log(model.config.market.usdjpy)

    def clearing_inputs(self, model) -> LinearFxInputs:
        return LinearFxInputs(self.intercept_usd_bn, self.slope_usd_bn, self.log_ref)

    def settle(self, model, day) -> None:
        q = day.flows_of(self)[FX]
        model.ledger.fx(self.name, q, day.usdjpy / 1000.0)
        self.usd_bn += q
        self.jpy_tn -= q * day.usdjpy / 1000.0

    def holdings(self) -> dict[str, float]:
        return {"usd_bn": self.usd_bn, "jpy_tn": self.jpy_tn}

    def record(self, model) -> dict[str, float]:
        return {"linear_fx_usd_bn": self.usd_bn}
