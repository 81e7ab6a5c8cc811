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

from numba import njit

from model.validation import Validated, param

__all__ = ["DealerConfig", "DealerState", "capacity_scale", "fx_flow", "bond_flow"]


@dataclass(frozen=True)
class DealerConfig(Validated):
    fx_capacity_usd_bn: float = param(
        400.0,
        unit="USD bn per unit of ln S",
        lo=0.0,
        lo_open=True,
        doc="calm-market FX capacity 1/Γ: a $1 bn customer flow moves USD/JPY by 100/c % on impact",
        source="Evans & Lyons (2002): ~0.5% per $1 bn of interdealer flow (c≈200); customer flow moves prices "
        "less (here 0.25%/bn on dealers alone, 0.08%/bn with real money)",
    )
    ust_capacity_usd_bn_per_bp: float = param(
        8.0, unit="USD bn per bp", lo=0.0, lo_open=True, doc="UST dealers' calm-market capacity (value per bp of yield)"
    )
    jgb_capacity_jpy_tn_per_bp: float = param(
        0.4, unit="JPY tn per bp", lo=0.0, lo_open=True, doc="JGB dealers' calm-market capacity"
    )
    capacity_risk_elasticity: float = param(
        1.3,
        lo=0.0,
        hi=5.0,
        doc="η in c(v) = c₀·(v̄/v)^η; 0 switches the liquidity channel off",
        source="calibrated (issue 4 search): baseline return statistics of MODEL.md §7 and the Aug 2024 replay",
    )
    inventory_decay: float = param(
        0.05, unit="per day", lo=0.0, hi=1.0, doc="share φ of yesterday's inventory laid off each day"
    )


class DealerState:
    """Inventories (mutable scalars)."""

    def __init__(self) -> None:
        self.fx_inventory_usd_bn = 0.0
        self.ust_inventory_units = 0.0
        self.jgb_inventory_units = 0.0


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
