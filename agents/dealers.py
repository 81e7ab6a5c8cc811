"""Dealers: intermediaries with limited, volatility-sensitive risk-bearing capacity.

Following Gabaix & Maggiori (2015), dealers absorb net customer order flow into inventory and
charge for it through the price: to take on inventory they need the price to move against the
customer. Their capacity shrinks as the risk index ``v`` rises, ``c(v) = c₀·(v̄/v)^η``, so the
same flow moves prices more in stress ("liquidity evaporates"). Each day they lay off a share
``φ`` of yesterday's inventory.

Stock demand (per market): ``I*(p) = (1 − φ)·I_old + c(v)·(move that compensates them)``:

* USD/JPY: ``c_fx·(s_prev − s)`` USD bn (``s = ln S``): they buy dollars when the dollar falls;
* UST / JGB: ``c·(y − y_prev)`` per bp of yield, converted to index units at yesterday's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import mesa
from numba import njit

from model.sector import FX, JGB, UST, BalanceSheet, Sector, Validated, param

__all__ = ["DealerConfig", "DealerInputs", "Dealers", "capacity_scale", "fx_flow", "bond_flow", "dealer_flows"]


@dataclass(frozen=True)
class DealerConfig(Validated):
    fx_capacity_usd_bn: float = param(
        400.0,
        unit="USD bn per unit of ln S",
        lo=20.0,
        hi=5000.0,
        doc="calm-market FX capacity 1/Γ: a $1 bn customer flow moves USD/JPY by 100/c % on impact",
        source="Evans & Lyons (2002): ~0.5% per $1 bn of interdealer flow (c≈200); customer flow moves prices "
        "less (here 0.25%/bn on dealers alone, 0.08%/bn with real money); range: 5% to 0.02% per $1 bn",
    )
    ust_capacity_usd_bn_per_bp: float = param(
        8.0,
        unit="USD bn per bp",
        lo=0.5,
        hi=100.0,
        doc="UST dealers' calm-market capacity (value per bp of yield)",
        source="primary dealers' net UST positions ~$200-400 bn (NY Fed, 2023) against daily 10y moves of ~5-10 bp: "
        "a few $bn per bp; range one order of magnitude either side",
    )
    jgb_capacity_jpy_tn_per_bp: float = param(
        0.4,
        unit="JPY tn per bp",
        lo=0.02,
        hi=10.0,
        doc="JGB dealers' calm-market capacity",
        source="JGB dealers' inventories of a few ¥ tn (JSDA); range one order of magnitude either side",
    )
    capacity_risk_elasticity: float = param(
        1.3,
        lo=0.0,
        hi=3.0,
        doc="η in c(v) = c₀·(v̄/v)^η; 0 switches the liquidity channel off",
        source="calibrated by a seeded random search on the baseline return statistics and the Aug 2024 replay",
        range_note="model coefficient: 0 (no liquidity channel) to ~2x the calibrated value",
    )
    inventory_decay: float = param(
        0.05,
        unit="per day",
        lo=0.01,
        hi=0.5,
        doc="share φ of yesterday's inventory laid off each day",
        range_note="dealers lay off inventory within days to months (Lyons 1995: half-life ~10 minutes to a day "
        "intraday)",
    )
    equity_usd_bn: float = param(
        60.0,
        unit="USD bn",
        lo=10.0,
        hi=500.0,
        doc="dealers' equity capital allocated to market making in the three markets (held as USD cash at the "
        "start); an account only: capacity does not depend on it yet",
        source="order of magnitude: market-risk capital of the largest FX/rates dealers, ~8% of ~$0.7 tn of "
        "market-risk RWA (Basel III Pillar 3 disclosures of the G-SIB dealers, 2023)",
        range_note="order of magnitude of dealer capital at stake in FX and rates market making",
    )


def capacity_scale(cfg: DealerConfig, risk_index: float, risk_index_mean: float) -> float:
    """``(v̄/v)^η``: the share of calm-market capacity available today."""
    return float((risk_index_mean / risk_index) ** cfg.capacity_risk_elasticity)


@njit(cache=True)
def fx_flow(s, s_prev, inventory, capacity, decay):
    """USD bought by dealers at log price ``s``; returns ``(flow, dflow_ds)``."""
    return -decay * inventory + capacity * (s_prev - s), -capacity


@njit(cache=True)
def bond_flow(y, y_prev, inventory_units, capacity_units_per_unit_yield, decay):
    """Bond units bought by dealers at yield ``y``; returns ``(flow, dflow_dy)``."""
    c = capacity_units_per_unit_yield
    return -decay * inventory_units + c * (y - y_prev), c


def bond_capacity_units(capacity_per_bp: float, scale: float, price_prev: float) -> float:
    """Convert a value-per-bp capacity to index units per unit of yield at yesterday's price."""
    return capacity_per_bp * scale * 1e4 / price_prev


class DealerInputs(NamedTuple):
    """What the dealers' flows read during one day's clearing."""

    s_prev: float
    yus_prev: float
    yjp_prev: float
    fx_inventory: float
    fx_capacity: float
    decay: float
    ust_inventory: float
    ust_capacity_units: float
    jgb_inventory: float
    jgb_capacity_units: float


@njit(cache=True)
def dealer_flows(s, y_us, y_jp, inp, z, jac, gross, out):
    """Dealers' flows in the three markets at trial prices (see :mod:`model.sector`)."""
    d_fx, d_fx_ds = fx_flow(s, inp.s_prev, inp.fx_inventory, inp.fx_capacity, inp.decay)
    d_ust, d_ust_dy = bond_flow(y_us, inp.yus_prev, inp.ust_inventory, inp.ust_capacity_units, inp.decay)
    d_jgb, d_jgb_dy = bond_flow(y_jp, inp.yjp_prev, inp.jgb_inventory, inp.jgb_capacity_units, inp.decay)
    z[FX] += d_fx
    z[UST] += d_ust
    z[JGB] += d_jgb
    jac[FX, FX] += d_fx_ds
    jac[UST, UST] += d_ust_dy
    jac[JGB, JGB] += d_jgb_dy
    gross[FX] += abs(d_fx)
    gross[UST] += abs(d_ust)
    gross[JGB] += abs(d_jgb)
    out[FX] = d_fx
    out[UST] = d_ust
    out[JGB] = d_jgb


class Dealers(Sector):
    """The dealers' sector block: inventories, cash accounts and an equity account.

    Dealers also take whatever excess demand the clearing leaves within its tolerance, so that
    every trade has a counterparty exactly; the accounting checks that this residual is within
    the clearing tolerance (``model.accounting``).
    """

    name = "dealers"
    section = "dealers"
    flows = dealer_flows
    columns = ("dealer_fx_inventory_usd_bn", "dealer_equity_usd_bn")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.fx_inventory_usd_bn = 0.0
        self.ust_inventory_units = 0.0
        self.jgb_inventory_units = 0.0
        self.usd_bn = self.config.equity_usd_bn
        self.jpy_tn = 0.0
        self.equity_book_usd_bn = self.config.equity_usd_bn
        self.absorbed = (0.0, 0.0, 0.0)  # today's clearing residual taken into inventory, per market
        DealerView(model)

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "usd_bn", self.usd_bn)

    def clearing_inputs(self, model) -> DealerInputs:
        cfg, mk = self.config, model.market
        scale = capacity_scale(cfg, mk.risk_index, model.config.market.risk_index_mean)
        return DealerInputs(
            s_prev=mk.log_usdjpy,
            yus_prev=mk.ust10y_yield,
            yjp_prev=mk.jgb10y_yield,
            fx_inventory=self.fx_inventory_usd_bn,
            fx_capacity=cfg.fx_capacity_usd_bn * scale,
            decay=cfg.inventory_decay,
            ust_inventory=self.ust_inventory_units,
            ust_capacity_units=bond_capacity_units(cfg.ust_capacity_usd_bn_per_bp, scale, mk.ust_price),
            jgb_inventory=self.jgb_inventory_units,
            jgb_capacity_units=bond_capacity_units(cfg.jgb_capacity_jpy_tn_per_bp, scale, mk.jgb_price),
        )

    def settle(self, model, day) -> None:
        flows = day.flows_of(self)
        res = day.result
        # the dealers take the excess demand left within the clearing tolerance
        q_fx = flows[FX] - res.excess_fx_usd_bn
        q_ust = flows[UST] - res.excess_ust_units
        q_jgb = flows[JGB] - res.excess_jgb_units
        self.absorbed = (-res.excess_fx_usd_bn, -res.excess_ust_units, -res.excess_jgb_units)
        S, p_us, p_jp = day.usdjpy, day.ust_price, day.jgb_price
        usd_per_tn, usd_per_tn_prev = 1000.0 / S, 1000.0 / day.usdjpy_prev
        # profit and loss on what was held overnight, in USD (yen and JGBs at the day's USD/JPY)
        reval = (
            self.ust_inventory_units * (p_us - day.ust_price_prev)
            + self.jgb_inventory_units * (p_jp * usd_per_tn - day.jgb_price_prev * usd_per_tn_prev)
            + self.jpy_tn * (usd_per_tn - usd_per_tn_prev)
        )
        led = model.ledger
        led.fx(self.name, q_fx, S / 1000.0)
        led.bonds(self.name, "ust_units", "usd_bn", q_ust, p_us)
        led.bonds(self.name, "jgb_units", "jpy_tn", q_jgb, p_jp)
        self.fx_inventory_usd_bn += q_fx
        self.ust_inventory_units += q_ust
        self.jgb_inventory_units += q_jgb
        self.usd_bn += q_fx - q_ust * p_us
        self.jpy_tn += -q_fx * S / 1000.0 - q_jgb * p_jp
        coupon_usd = self.ust_inventory_units * day.ust_coupon_per_unit
        coupon_jpy = self.jgb_inventory_units * day.jgb_coupon_per_unit
        self.usd_bn += coupon_usd
        self.jpy_tn += coupon_jpy
        self.equity_book_usd_bn += reval + coupon_usd + coupon_jpy * usd_per_tn

    def holdings(self) -> dict[str, float]:
        return {"usd_bn": self.usd_bn, "jpy_tn": self.jpy_tn, "ust_units": self.ust_inventory_units,
                "jgb_units": self.jgb_inventory_units}  # fmt: skip

    def balance_sheet(self, model) -> BalanceSheet:
        S, p_us, p_jp = model.prices()
        values = (self.usd_bn, self.jpy_tn * 1000.0 / S, self.ust_inventory_units * p_us,
                  self.jgb_inventory_units * p_jp * 1000.0 / S)  # fmt: skip
        assets = sum(v for v in values if v > 0)
        liabilities = -sum(v for v in values if v < 0)
        return BalanceSheet(assets, liabilities, assets - liabilities)

    def equity_gap(self, model) -> float:
        return abs(self.balance_sheet(model).equity_usd_bn - self.equity_book_usd_bn)

    def record(self, model) -> dict[str, float]:
        return {"dealer_fx_inventory_usd_bn": self.fx_inventory_usd_bn,
                "dealer_equity_usd_bn": self.balance_sheet(model).equity_usd_bn}  # fmt: skip


class DealerView(mesa.Agent):
    """A read-only Mesa view of the dealers' sector."""

    @property
    def _s(self) -> Dealers:
        return self.model.sectors["dealers"]

    @property
    def fx_inventory_usd_bn(self) -> float:
        return self._s.fx_inventory_usd_bn

    @property
    def equity_usd_bn(self) -> float:
        return self._s.balance_sheet(self.model).equity_usd_bn
