"""Dealers: intermediaries with equity capital and limited, volatility-sensitive risk-bearing capacity.

Following Gabaix & Maggiori (2015), dealers absorb net customer order flow into inventory and
charge for it through the price: to take on inventory they need the price to move against the
customer. Their capacity shrinks as the risk index ``v`` rises, ``c(v) = c₀·(v̄/v)^η``, so the
same flow moves prices more in stress ("liquidity evaporates"). Each day they lay off a share
``φ`` of yesterday's inventory.

Stock demand (per market): ``I*(p) = (1 − φ)·I_old + c(v)·(move that compensates them)``:

* USD/JPY: their whole dollar exposure, spot inventory plus forward book, ``c_fx·(s_prev − s)``
  USD bn (``s = ln S``): they buy dollars when the dollar falls;
* UST / JGB: ``c·(y − y_prev)`` per bp of yield, converted to index units at yesterday's price.

**The forward (FX swap) market.** Dealers take the other side of every customer's forward:
their long-USD forward book ``N`` is the customers' net synthetic dollar borrowing (insurers' and
other hedgers' forward sales of dollars less the funds' forward purchases). It uses their balance
sheet under a leverage-ratio limit ``ℓ``, and they price it through the cross-currency basis,
``b = −κ·N/(ℓ·E_d)``: the basis is more negative the more synthetic dollars customers need and the
less capital dealers have (Du, Tepper & Verdelhan 2018). Equivalently dealers supply forwards
``N(b) = −b·ℓ·E_d/κ``, which clears the forward market jointly with the spot. They hedge the book
in spot, so customers' forward trades reach the spot market only through them: a change ``ΔN``
in the book is a spot sale of ``ΔN`` dollars, unless the price moves them to keep part of it as
inventory (the FX rule above acts on spot inventory plus the book).

Their capital earns its money-market interest and their trading profits; above or below its
target it is paid out or rebuilt with a half-life (retained earnings, recapitalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
from numba import njit

from model.sector import FWD, FX, JGB, TRADING_DAYS, UST, BalanceSheet, Sector, Validated, param

__all__ = [
    "DealerConfig",
    "DealerInputs",
    "Dealers",
    "capacity_scale",
    "fx_flow",
    "bond_flow",
    "dealer_flows",
    "forward_supply",
]


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
        doc="dealers' target equity capital allocated to market making (held as USD cash at the start); it prices "
        "the forward book (the basis); spot and bond capacity do not depend on it yet",
        source="order of magnitude: market-risk capital of the largest FX/rates dealers, ~8% of ~$0.7 tn of "
        "market-risk RWA (Basel III Pillar 3 disclosures of the G-SIB dealers, 2023)",
        range_note="order of magnitude of dealer capital at stake in FX and rates market making",
    )
    swap_leverage_limit: float = param(
        20.0,
        unit="x equity",
        lo=3.0,
        hi=100.0,
        doc="ℓ: the forward book per unit of equity at which the basis reaches −κ (the leverage-ratio limit)",
        source="Basel III leverage ratio 3% plus G-SIB buffers (BCBS 2017): an effective ~5% of exposure, 20x",
        range_note="leverage-ratio requirements 3-10% and their buffers (10-33x); up to 100x for netted books",
    )
    basis_slope_pa: float = param(
        0.01,
        unit="per annum",
        lo=0.0005,
        hi=0.1,
        doc="κ in b = −κ·N/(ℓ·E_d): the basis when the forward book uses the whole leverage-ratio limit",
        source="Du, Tepper & Verdelhan (2018): the JPY 3m basis widens by ~10-30 bp at quarter-ends, when balance "
        "sheets are scarce; with the day-0 book at about half the limit, κ = 1% puts the basis at -40 bp and a "
        "quarter-end halving of capacity at about -80 bp",
        range_note="5 bp to 10% at full use of the limit",
    )
    recapitalisation_halflife_days: float = param(
        250.0,
        unit="trading days",
        lo=5.0,
        hi=2500.0,
        doc="half-life of the gap between dealers' equity and its target (payouts above, capital raised below)",
        source="He & Krishnamurthy (2013): intermediary capital recovers slowly, over a year or more after losses",
        range_note="a week (a rights issue) to ten years (retained earnings only)",
    )


def capacity_scale(cfg: DealerConfig, risk_index: float, risk_index_mean: float) -> float:
    """``(v̄/v)^η``: the share of calm-market capacity available today."""
    return float((risk_index_mean / risk_index) ** cfg.capacity_risk_elasticity)


@njit(cache=True)
def fx_flow(s, s_prev, inventory, capacity, decay):
    """Change in dealers' dollar exposure at log price ``s``; returns ``(flow, dflow_ds)``."""
    return -decay * inventory + capacity * (s_prev - s), -capacity


@njit(cache=True)
def forward_supply(b, book_capacity):
    """The long-USD forward book dealers hold at basis ``b``: ``N = −b·ℓ·E_d/κ``; returns ``(N, dN_db)``."""
    return -b * book_capacity, -book_capacity


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
    fwd_book: float  # N_old: long-USD forwards held
    book_capacity: float  # ℓ·E_d/κ: forwards per unit of basis


@njit(cache=True)
def dealer_flows(p, inp, z, jac, gross, out):
    """Dealers' flows in the four markets at trial prices (see :mod:`model.sector`).

    The spot trade is the change in their dollar exposure less the change in their forward book
    (the hedge): ``q_spot = ΔT(s) − ΔN(b)``.
    """
    d_fx, d_fx_ds = fx_flow(p[FX], inp.s_prev, inp.fx_inventory + inp.fwd_book, inp.fx_capacity, inp.decay)
    book, book_db = forward_supply(p[FWD], inp.book_capacity)
    d_fwd = book - inp.fwd_book
    d_ust, d_ust_dy = bond_flow(p[UST], inp.yus_prev, inp.ust_inventory, inp.ust_capacity_units, inp.decay)
    d_jgb, d_jgb_dy = bond_flow(p[JGB], inp.yjp_prev, inp.jgb_inventory, inp.jgb_capacity_units, inp.decay)
    spot = d_fx - d_fwd
    z[FX] += spot
    z[FWD] += d_fwd
    z[UST] += d_ust
    z[JGB] += d_jgb
    jac[FX, FX] += d_fx_ds
    jac[FX, FWD] += -book_db
    jac[FWD, FWD] += book_db
    jac[UST, UST] += d_ust_dy
    jac[JGB, JGB] += d_jgb_dy
    gross[FX] += abs(spot)
    gross[FWD] += abs(d_fwd)
    gross[UST] += abs(d_ust)
    gross[JGB] += abs(d_jgb)
    out[FX] = spot
    out[FWD] = d_fwd
    out[UST] = d_ust
    out[JGB] = d_jgb


class Dealers(Sector):
    """The dealers' sector block: inventories, the forward book, cash accounts and an equity account.

    Dealers also take whatever excess demand the clearing leaves within its tolerance, so that
    every trade has a counterparty exactly; the accounting checks that this residual is within
    the clearing tolerance (``model.accounting``). Ledger rows: the dealers; the
    ``forward_settlement`` account through which every forward's variation margin and carry pass
    (it nets to zero: forwards are in zero net supply); the ``swap_clients``, hedgers outside the
    model (Japanese banks and corporates borrowing dollars through swaps) whose fixed book is sized
    so that the basis clears at its observed level on day 0; and ``dealer_shareholders``.
    """

    name = "dealers"
    section = "dealers"
    flows = dealer_flows
    ledger_rows = ("dealers", "forward_settlement", "swap_clients", "dealer_shareholders")
    requires = ("money_market",)
    columns = ("dealer_fx_inventory_usd_bn", "dealer_fwd_book_usd_bn", "dealer_equity_usd_bn")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.fx_inventory_usd_bn = 0.0  # spot
        self.fwd_usd_bn = 0.0  # N: long-USD forward book
        self.swap_clients_fwd_usd_bn = 0.0  # the outside hedgers' forwards (fixed)
        self.ust_inventory_units = 0.0
        self.jgb_inventory_units = 0.0
        self.usd_bn = self.config.equity_usd_bn
        self.jpy_tn = 0.0
        self.equity_book_usd_bn = self.config.equity_usd_bn
        self.absorbed = (0.0, 0.0, 0.0, 0.0)  # today's clearing residual taken into inventory, per market
        DealerView(model)

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "usd_bn", self.usd_bn)

    def finish_opening(self, model) -> None:
        """Take the other side of every customer's forward and hedge it in spot at the opening prices.

        The outside hedgers' book is what makes the dealers' book ``N = −b₀·ℓ·E_d/κ`` at the day-0
        basis ``b₀`` (a negative book would mean those customers lend dollars through swaps).
        """
        led, cfg, mk = model.ledger, self.config, model.market
        customers = float(led.totals()[led.column("usd_fwd_bn")])
        book = -mk.fx_basis * cfg.swap_leverage_limit * self.equity_book_usd_bn / cfg.basis_slope_pa
        self.fwd_usd_bn = book
        self.swap_clients_fwd_usd_bn = -(book + customers)
        # the book is hedged: dollars sold spot for yen, so the total exposure starts flat
        self.fx_inventory_usd_bn = -book
        self.usd_bn -= book
        self.jpy_tn += book * mk.usdjpy / 1000.0
        for row, holdings in self.holdings_rows().items():
            for asset, amount in holdings.items():
                led.set(row, asset, amount)

    def book_capacity(self) -> float:
        """``ℓ·E_d/κ``: forwards the dealers hold per unit of (negative) basis at today's capital.

        The capital is floored at 1% of its target: dealers with no capital left price the book at
        a basis a hundred times wider than at their target (the plausibility bounds then stop the
        run), rather than at an infinite one.
        """
        cfg = self.config
        return cfg.swap_leverage_limit * max(self.equity_book_usd_bn, 0.01 * cfg.equity_usd_bn) / cfg.basis_slope_pa

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
            fwd_book=self.fwd_usd_bn,
            book_capacity=self.book_capacity(),
        )

    def settle(self, model, day) -> None:
        flows = day.flows_of(self)
        res = day.result
        # the dealers take the excess demand left within the clearing tolerance
        excess = (res.excess_fx_usd_bn, res.excess_ust_units, res.excess_jgb_units, res.excess_fwd_usd_bn)
        q_fx, q_ust, q_jgb, q_fwd = (flows[m] - excess[m] for m in (FX, UST, JGB, FWD))
        self.absorbed = tuple(-e for e in excess)
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
        led.book(self.name, "usd_fwd_bn", q_fwd)
        self.fx_inventory_usd_bn += q_fx
        self.ust_inventory_units += q_ust
        self.jgb_inventory_units += q_jgb
        self.usd_bn += q_fx - q_ust * p_us
        self.jpy_tn += -q_fx * S / 1000.0 - q_jgb * p_jp
        # forwards: margin on the book held overnight, carry on the book at the close, for the dealers
        # and their outside swap clients, through the settlement account
        fwd_vm, fwd_carry = day.forward_revaluation(), day.forward_carry()
        own = self.fwd_usd_bn * fwd_vm + (self.fwd_usd_bn + q_fwd) * fwd_carry
        clients = self.swap_clients_fwd_usd_bn * (fwd_vm + fwd_carry)
        self.fwd_usd_bn += q_fwd
        led.book(self.name, "usd_bn", own)
        led.book("swap_clients", "usd_bn", clients)
        led.book("forward_settlement", "usd_bn", -(own + clients))
        # coupons, then the money market's interest on the cash balances at the close
        coupon_usd = self.ust_inventory_units * day.ust_coupon_per_unit
        coupon_jpy = self.jgb_inventory_units * day.jgb_coupon_per_unit
        self.usd_bn += own + coupon_usd
        self.jpy_tn += coupon_jpy
        int_usd = self.usd_bn * day.us_short_rate / TRADING_DAYS
        int_jpy = self.jpy_tn * day.boj_rate / TRADING_DAYS
        self.usd_bn += int_usd
        self.jpy_tn += int_jpy
        led.book(self.name, "usd_bn", int_usd)
        led.book(self.name, "jpy_tn", int_jpy)
        led.book("us_money_market", "usd_bn", -int_usd)
        led.book("jp_money_market", "jpy_tn", -int_jpy)
        self.equity_book_usd_bn += reval + own + coupon_usd + int_usd + (coupon_jpy + int_jpy) * usd_per_tn
        # payouts above the target capital, capital raised below it
        cfg = self.config
        payout = (self.equity_book_usd_bn - cfg.equity_usd_bn) * -math.expm1(
            -math.log(2.0) / cfg.recapitalisation_halflife_days
        )
        self.usd_bn -= payout
        self.equity_book_usd_bn -= payout
        led.book(self.name, "usd_bn", -payout)
        led.book("dealer_shareholders", "usd_bn", payout)
        day.executed[self.name] = (q_fx, q_ust, q_jgb, q_fwd)

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {
            self.name: {"usd_bn": self.usd_bn, "jpy_tn": self.jpy_tn, "ust_units": self.ust_inventory_units,
                        "jgb_units": self.jgb_inventory_units, "usd_fwd_bn": self.fwd_usd_bn},
            # every forward's margin and carry pass through it and net to zero
            "forward_settlement": {"usd_bn": 0.0, "usd_fwd_bn": 0.0},
            "swap_clients": {"usd_fwd_bn": self.swap_clients_fwd_usd_bn},
        }  # fmt: skip

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
        return {"dealer_fx_inventory_usd_bn": self.fx_inventory_usd_bn + self.fwd_usd_bn,
                "dealer_fwd_book_usd_bn": self.fwd_usd_bn,
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
