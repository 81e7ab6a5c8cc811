"""Term-structure arbitrageurs: risk-averse traders who link the 30y JGB segment to the 10y.

In Vayanos & Vila (2021) preferred-habitat investors pin each maturity's yield to its own supply
and demand, and risk-averse arbitrageurs integrate the segments: they hold a position in each
maturity proportional to its expected excess return, so a supply shock in one segment moves the
others through their balance sheets (Greenwood & Vayanos 2014). Here the arbitrageurs trade the
30y against the 10y, duration-neutral:

    x30(p) = a·1e4/P30 · (y30 − y10 − s̄_t)            (30y index units)
    x10(p) = −x30(p) · (D30·P30)/(D10·P10)              (10y index units: the same value per bp, short)

``a`` (JPY tn per bp) is their risk tolerance: 30y value they hold per bp of the spread above
what they expect (``s̄_t``); the prices ``P`` are yesterday's close, so the position is linear
in the trial yields. The expected spread ``s̄_t`` is the day-0 30y–10y spread plus the change of
the BoJ rate expected on average over years 0–30 minus over years 0–10 (the expectations part of
the spread, from the market's expected path): they lean against the part of the spread that is
term premium and supply, not against the policy path. So a wider spread makes them buy the 30y
and sell the 10y: the 30y's row of the clearing depends on the 10y's yield and the 10y's on the
30y's. ``a = 0`` separates the segments.

Their books: the two bond positions and yen cash (ledger row ``curve_arbitrageurs``); funding
costs and margin are not modelled (their positions are small against the dealers' capital).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from numba import njit

from model.sector import JGB, JGB30, Sector, Validated, param

__all__ = ["CurveArbitrageConfig", "CurveArbitrageInputs", "CurveArbitrageurs", "curve_arbitrage_flows"]


@dataclass(frozen=True)
class CurveArbitrageConfig(Validated):
    risk_tolerance_jpy_tn_per_bp: float = param(
        0.1,
        unit="JPY tn per bp",
        lo=0.0,
        hi=5.0,
        doc="a: 30y value held (against a duration-matched short in the 10y) per bp of the 30y-10y spread above "
        "its expected value; 0 separates the segments (no arbitrage)",
        source="Vayanos & Vila (2021): the arbitrageurs' risk tolerance sets how far a segment's supply shock "
        "spreads along the curve; scale: relative-value positions of banks' and funds' JGB desks of a few ¥ tn "
        "against 30y-10y spread swings of 20-50 bp (2023-25, MoF yield data) give ~0.1 ¥tn per bp",
        range_note="0 (segmented markets) to 5 ¥tn per bp (near-perfect integration: the spread barely moves)",
    )


class CurveArbitrageInputs(NamedTuple):
    """What the arbitrageurs' flows read during one day's clearing."""

    expected_spread: float  # s̄_t
    slope_units: float  # a·1e4/P30(yesterday): 30y units per unit of the spread's deviation
    hedge_ratio: float  # (D30·P30)/(D10·P10) at yesterday's close: 10y units sold per 30y unit bought
    jgb30_units: float  # yesterday's position
    jgb_units: float


@njit(cache=True)
def curve_arbitrage_flows(p, inp, z, jac, gross, out, aux):
    """The arbitrageurs' 30y and 10y trades at trial prices (see :mod:`model.sector`)."""
    a = inp.slope_units
    x30 = a * (p[JGB30] - p[JGB] - inp.expected_spread)
    q30 = x30 - inp.jgb30_units
    q10 = -inp.hedge_ratio * x30 - inp.jgb_units
    z[JGB30] += q30
    z[JGB] += q10
    jac[JGB30, JGB30] += a
    jac[JGB30, JGB] -= a
    jac[JGB, JGB30] -= inp.hedge_ratio * a
    jac[JGB, JGB] += inp.hedge_ratio * a
    gross[JGB30] += abs(q30)
    gross[JGB] += abs(q10)
    out[JGB30] = q30
    out[JGB] = q10


class CurveArbitrageurs(Sector):
    """The term-structure arbitrageurs' sector block: a 30y-vs-10y position, cleared each day."""

    name = "curve_arbitrageurs"
    section = "curve_arbitrage"
    flows = curve_arbitrage_flows
    columns = ("curve_arb_jgb30_jpy_tn",)

    def __init__(self, model) -> None:
        super().__init__(model)
        mk = model.market
        self.jgb30_units = 0.0  # they start flat: the day-0 spread is what they expect
        self.jgb_units = 0.0
        self.spread_0 = mk.jgb30y_yield - mk.jgb10y_yield
        self._policy_spread_0 = self._policy_spread(mk)

    @staticmethod
    def _policy_spread(mk) -> float:
        """The expectations part of the 30y-10y spread: the BoJ rate expected over years 0-30 minus 0-10
        (each yield's own average, as the super-long investors expect the 30y's; the forward spread,
        years 10-30 minus 0-10, is 1.5 times this)."""
        return mk.boj_path.average(30.0) - mk.boj_path.average(10.0)

    def expected_spread(self, model) -> float:
        return self.spread_0 + self._policy_spread(model.market) - self._policy_spread_0

    def clearing_inputs(self, model) -> CurveArbitrageInputs:
        mk, mc = model.market, model.config.market
        p30, p10 = mk.jgb30_price, mk.jgb_price
        return CurveArbitrageInputs(
            expected_spread=self.expected_spread(model),
            slope_units=self.config.risk_tolerance_jpy_tn_per_bp * 1e4 / p30,
            hedge_ratio=(mc.jgb30_duration * p30) / (mc.jgb_duration * p10),
            jgb30_units=self.jgb30_units,
            jgb_units=self.jgb_units,
        )

    def settle(self, model, day) -> None:
        flows = day.flows_of(self)
        q30, q10 = float(flows[JGB30]), float(flows[JGB])
        model.ledger.bonds(self.name, "jgb30_units", "jpy_tn", q30, day.jgb30_price)
        model.ledger.bonds(self.name, "jgb_units", "jpy_tn", q10, day.jgb_price)
        self.jgb30_units += q30
        self.jgb_units += q10

    def holdings(self) -> dict[str, float]:
        return {"jgb30_units": self.jgb30_units, "jgb_units": self.jgb_units}

    def record(self, model) -> dict[str, float]:
        return {"curve_arb_jgb30_jpy_tn": self.jgb30_units * model.market.jgb30_price}
