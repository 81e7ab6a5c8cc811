"""Dealers: intermediaries with equity capital and limited, volatility-sensitive risk-bearing capacity.

Following Gabaix & Maggiori (2015), dealers absorb net customer order flow into inventory and
charge for it through the price: to take on inventory they need the price to move against the
customer. Their capacity shrinks as the risk index ``v`` rises, ``c(v) = c₀·(v̄/v)^(η·β)`` (β: how
implied FX volatility scales with ``v``), so the same flow moves prices more in stress ("liquidity
evaporates"). Each day they lay off a share
``φ`` of yesterday's inventory.

Stock demand (per market): ``I*(p) = (1 − φ)·I_old + c(v)·(move that compensates them)``:

* USD/JPY: their whole dollar exposure, the forward book less their net yen (cash and JGB
  inventories) in dollars at yesterday's close, ``c_fx·(s_prev − s)`` USD bn (``s = ln S``): they buy
  dollars when the dollar falls;
* UST / JGB 10y / JGB 30y: ``c·(y − y_prev)`` per bp of yield, converted to index units at
  yesterday's price (the 30y with its own, smaller calm-market capacity).

**Capacity is capital over value at risk, at the day's prices.** ``c = c₀·(E_d/E*)·(v̄/v)^(η·β)``: their
equity ``E_d`` is marked at the trial prices inside the clearing (their inventories and forward
book revalued since yesterday's close) and ``v`` is the day's risk index at the same prices (read
from the clearing's ``aux``), so a loss or a jump in volatility cuts their capacity on the day it
happens: the liquidity spiral (Brunnermeier & Pedersen 2009; Adrian & Shin 2010). With
``capital_constraint = False`` their equity is held at its target in this formula only.

**The forward (FX swap) market.** Dealers take the other side of every customer's forward:
their long-USD forward book ``N`` is the customers' net synthetic dollar borrowing (insurers' and
other hedgers' forward sales of dollars less the funds' forward purchases). It uses their balance
sheet under a leverage-ratio limit ``ℓ``, and they price it through the cross-currency basis,
``b = −κ·N/(ℓ·E_d)``: the basis is more negative the more synthetic dollars customers need and the
less capital dealers have (Du, Tepper & Verdelhan 2018). Equivalently dealers supply forwards
``N(b) = −b·ℓ·E_d/κ``, which clears the forward market jointly with the spot. They hedge the book
in spot, so customers' forward trades reach the spot market only through them: a change ``ΔN``
in the book is a spot sale of ``ΔN`` dollars, unless the price moves them to keep part of it as
inventory (the FX rule above acts on the whole exposure, the book included). The book's margin is
paid in dollars every day while its hedge is yen, whose dollar value moves with ``S``: the rule
reads the yen as it stands, so a move of ``S`` that leaves them exposed is laid off like any other
inventory.

Their capital earns its money-market interest and their trading profits; above or below its
target it is paid out or rebuilt with a half-life (retained earnings, recapitalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from numba import njit

from model.accounting import book_entry, book_exchange
from model.sector import AUX_LOG_RISK, FWD, FX, JGB, JGB30, TRADING_DAYS, UST, BalanceSheet, Sector, Validated, param

__all__ = [
    "DealerConfig",
    "DealerInputs",
    "Dealers",
    "dealer_flows",
    "dealer_settle",
    "forward_supply",
    "marked_equity",
    "capacity_factor",
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
        "less (here 0.25%/bn on dealers alone; with real money's 2,165 and the long-horizon investors' slope "
        "within a day, 0.004 x 3,000 = 12, at their defaults, 100/(400 + 2,165 + 12) ≈ 0.039%/bn on a calm day "
        "(the risk index at its mean), and 0.039%/bn measured, fx_impact_pct_per_bn's median in the baseline "
        "(seeds 1 and 2, 1,500 days, at the third refit's defaults of 5 December 2026): about a thirteenth of "
        "Evans & Lyons' interdealer figure, with dealers carrying about a sixth of the market's elasticity); "
        "range: 5% to 0.02% per $1 bn",
    )
    ust_capacity_usd_bn_per_bp: float = param(
        8.0,
        unit="USD bn per bp",
        lo=0.5,
        hi=100.0,
        doc="UST dealers' calm-market capacity (value per bp of yield)",
        source="assumption, below the arithmetic it cites: primary dealers' net UST positions ~$200-400 bn (NY Fed, "
        "2023) against daily 10y moves of ~5-10 bp would give $20-80 bn per bp if all of it were capacity for a "
        "day's move; most of those positions are financing and hedged inventory, so a few $bn per bp is taken; "
        "range one order of magnitude either side",
    )
    jgb_capacity_jpy_tn_per_bp: float = param(
        0.4,
        unit="JPY tn per bp",
        lo=0.02,
        hi=10.0,
        doc="JGB dealers' calm-market capacity",
        source="JGB dealers' inventories of a few ¥ tn (JSDA); range one order of magnitude either side",
    )
    jgb30_capacity_jpy_tn_per_bp: float = param(
        0.05,
        unit="JPY tn per bp",
        lo=0.005,
        hi=2.0,
        doc="super-long (30y) JGB dealers' calm-market capacity (value per bp of the 30y yield)",
        source="super-longs (20-40y) are ~10-15% of JGB secondary-market turnover (JSDA trading volume by maturity, "
        "2023-24), so dealers' inventories in them are a fraction of the 10y's: about an eighth of the 10y capacity",
        range_note="one order of magnitude either side",
    )
    capacity_risk_elasticity: float = param(
        1.0,
        lo=0.0,
        hi=3.0,
        doc="η in k = (E_d/E*)·(σ_fx(v̄)/σ_fx(v))^η = (E_d/E*)·(v̄/v)^(η·β), with σ_fx the implied USD/JPY "
        "volatility at the risk index (market.fx_vol_risk_elasticity = β): capacity is capital over value at "
        "risk, and VaR per unit of inventory scales with volatility (η = 1); 0 switches the volatility channel "
        "of liquidity off",
        source="VaR-based risk limits: capacity ∝ capital/σ (Adrian & Shin 2010; Brunnermeier & Pedersen 2009)",
        range_note="0 (no volatility channel) to 3 (limits that tighten faster than VaR, e.g. stressed VaR)",
    )
    inventory_decay: float = param(
        0.05,
        unit="per day",
        lo=0.01,
        hi=0.5,
        doc="share φ of yesterday's inventory laid off each day",
        source="modelling choice, not estimated: a half-life of ln 2/0.05 ≈ 14 trading days for what the dealers "
        "as a whole hold; one dealer lays off a position within minutes (Lyons 1995), which a daily step cannot "
        "represent, so φ stands for the interdealer market passing inventory on to end investors",
        range_note="half-lives from about 1 to 69 trading days",
    )
    equity_usd_bn: float = param(
        60.0,
        unit="USD bn",
        lo=10.0,
        hi=500.0,
        doc="dealers' target equity capital E* allocated to market making (held as USD cash at the start): their "
        "capacity and the price of their forward book scale with their equity relative to it",
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
    capital_constraint: bool = param(
        True,
        doc="capacity and the forward book's price follow the dealers' equity at the day's prices (False: equity held "
        "at its target in those formulas only; an ablation switch)",
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
    capacity_floor_share: float = param(
        0.01,
        lo=1e-4,
        hi=0.5,
        doc="the equity that sets capacity is floored at this share of its target: dealers with no capital left "
        "still make markets at this share of their calm capacity (a resolution or a central bank's facility "
        "keeps a market open) rather than at none, and the clearing can still find a price",
        source="assumption, not estimated: a numerical floor that binds only when the dealers have lost nearly all "
        "their capital, which no default run comes near (their equity stays above $50 bn of $60 bn in crash seeds)",
        range_note="0.01-50% of the target; at 0 a market with no dealer capital would have no price",
    )


@njit(cache=True)
def forward_supply(b, book_capacity):
    """The long-USD forward book dealers hold at basis ``b``: ``N = −b·ℓ·E_d/κ``; returns ``(N, dN_db)``."""
    return -b * book_capacity, -book_capacity


class DealerInputs(NamedTuple):
    """What the dealers' flows read during one day's clearing (their books at yesterday's close)."""

    s_prev: float
    yus_prev: float
    yjp_prev: float
    yjp30_prev: float
    fx_inventory: float  # spot dollar position: minus their net yen in dollars (Dealers.spot_position_usd_bn)
    fwd_book: float  # N_old: long-USD forwards held
    ust_inventory: float  # units
    jgb_inventory: float  # units
    jgb30_inventory: float  # units
    jpy_tn: float  # yen cash
    equity: float  # USD bn at yesterday's close
    equity_target: float  # E*
    equity_floor: float  # the least equity that prices capacity (capacity_floor_share·E*)
    capital_constraint: bool
    decay: float  # φ
    fx_capacity: float  # c₀, USD bn per unit of ln S at E* and v̄
    ust_capacity_units: float  # c₀, UST units per unit of yield at E* and v̄
    jgb_capacity_units: float
    jgb30_capacity_units: float
    book_per_equity: float  # ℓ/κ: forwards per unit of basis and of equity
    log_v_mean: float
    risk_elasticity: float  # η
    ust_duration: float
    jgb_duration: float
    jgb30_duration: float


@njit(cache=True)
def marked_equity(p, inp, dequity):
    """Dealers' equity at trial prices ``p`` (USD bn) and, in ``dequity``, its derivatives in ``p``.

    Yesterday's equity plus the revaluation since the close: yen cash and JGBs at ``S``, the forward
    book's variation margin ``N·(1 − S_prev/S)``, the bond inventories at the trial yields.
    """
    s = p[FX]
    inv_s = 1000.0 * math.exp(-s)  # USD bn per JPY tn
    inv_s_prev = 1000.0 * math.exp(-inp.s_prev)
    ratio = math.exp(inp.s_prev - s)  # S_prev / S
    p_us = math.exp(-inp.ust_duration * p[UST])
    p_us_prev = math.exp(-inp.ust_duration * inp.yus_prev)
    p_jp = math.exp(-inp.jgb_duration * p[JGB])
    p_jp_prev = math.exp(-inp.jgb_duration * inp.yjp_prev)
    jgb_usd = inp.jgb_inventory * p_jp * inv_s
    p_30 = math.exp(-inp.jgb30_duration * p[JGB30])
    p_30_prev = math.exp(-inp.jgb30_duration * inp.yjp30_prev)
    jgb30_usd = inp.jgb30_inventory * p_30 * inv_s
    equity = (
        inp.equity
        + inp.jpy_tn * (inv_s - inv_s_prev)
        + inp.fwd_book * (1.0 - ratio)
        + inp.ust_inventory * (p_us - p_us_prev)
        + jgb_usd
        - inp.jgb_inventory * p_jp_prev * inv_s_prev
        + jgb30_usd
        - inp.jgb30_inventory * p_30_prev * inv_s_prev
    )
    for k in range(dequity.shape[0]):
        dequity[k] = 0.0
    dequity[FX] = -inp.jpy_tn * inv_s + inp.fwd_book * ratio - jgb_usd - jgb30_usd
    dequity[UST] = -inp.ust_duration * inp.ust_inventory * p_us
    dequity[JGB] = -inp.jgb_duration * jgb_usd
    dequity[JGB30] = -inp.jgb30_duration * jgb30_usd
    return equity


@njit(cache=True)
def capacity_factor(p, inp, aux, dk, dcap):
    """The share of calm-market capacity at trial prices, ``k = (E_d/E*)·(v̄/v)^(η·β)``, and the equity that
    prices the forward book; derivatives in ``dk`` and ``dcap`` (the latter of that equity).

    The equity is floored at ``capacity_floor_share`` (1%) of its target: dealers with no capital left
    price at that share of their calm capacity rather than at none. Without the capital constraint it is
    the target.
    """
    n = dk.shape[0]
    equity = inp.equity_target
    for k in range(n):
        dcap[k] = 0.0
    if inp.capital_constraint:
        e = marked_equity(p, inp, dcap)
        floor = inp.equity_floor
        if not e <= floor:  # a NaN equity propagates (the clearing then fails) rather than flooring
            equity = e
        else:
            equity = floor
            for k in range(n):
                dcap[k] = 0.0
    log_v = aux[AUX_LOG_RISK, 0]
    vol = math.exp(-inp.risk_elasticity * (log_v - inp.log_v_mean))
    share = equity / inp.equity_target * vol
    for k in range(n):
        dk[k] = share * (dcap[k] / equity - inp.risk_elasticity * aux[AUX_LOG_RISK, 1 + k])
    return share, equity


@njit(cache=True)
def dealer_flows(p, inp, z, jac, gross, out, aux):
    """Dealers' flows in the five markets at trial prices (see :mod:`model.sector`).

    The spot trade is the change in their dollar exposure less the change in their forward book
    (the hedge): ``q_spot = ΔT(p) − ΔN(p)``. Capacity ``c₀·k(p)`` and the book's price follow their
    equity and the risk index at the trial prices (:func:`capacity_factor`).
    """
    n = z.shape[0]
    dk = np.empty(n)
    dcap = np.empty(n)
    k, equity = capacity_factor(p, inp, aux, dk, dcap)
    move_s = inp.s_prev - p[FX]
    move_us = p[UST] - inp.yus_prev
    move_jp = p[JGB] - inp.yjp_prev
    move_30 = p[JGB30] - inp.yjp30_prev
    # the forward book N = −b·(ℓ/κ)·E
    cap_b = inp.book_per_equity * equity
    book, dbook_db = forward_supply(p[FWD], cap_b)
    d_fwd = book - inp.fwd_book
    exposure = inp.fx_inventory + inp.fwd_book
    d_fx = -inp.decay * exposure + inp.fx_capacity * k * move_s
    spot = d_fx - d_fwd
    d_ust = -inp.decay * inp.ust_inventory + inp.ust_capacity_units * k * move_us
    d_jgb = -inp.decay * inp.jgb_inventory + inp.jgb_capacity_units * k * move_jp
    d_30 = -inp.decay * inp.jgb30_inventory + inp.jgb30_capacity_units * k * move_30
    for j in range(n):
        dbook = -p[FWD] * inp.book_per_equity * dcap[j]
        if j == FWD:
            dbook += dbook_db
        jac[FWD, j] += dbook
        jac[FX, j] += inp.fx_capacity * move_s * dk[j] - dbook
        jac[UST, j] += inp.ust_capacity_units * move_us * dk[j]
        jac[JGB, j] += inp.jgb_capacity_units * move_jp * dk[j]
        jac[JGB30, j] += inp.jgb30_capacity_units * move_30 * dk[j]
    jac[FX, FX] += -inp.fx_capacity * k
    jac[UST, UST] += inp.ust_capacity_units * k
    jac[JGB, JGB] += inp.jgb_capacity_units * k
    jac[JGB30, JGB30] += inp.jgb30_capacity_units * k
    z[FX] += spot
    z[FWD] += d_fwd
    z[UST] += d_ust
    z[JGB] += d_jgb
    z[JGB30] += d_30
    gross[FX] += abs(spot)
    gross[FWD] += abs(d_fwd)
    gross[UST] += abs(d_ust)
    gross[JGB] += abs(d_jgb)
    gross[JGB30] += abs(d_30)
    out[FX] = spot
    out[FWD] = d_fwd
    out[UST] = d_ust
    out[JGB] = d_jgb
    out[JGB30] = d_30


def bond_capacity_units(capacity_per_bp: float, price_prev: float) -> float:
    """Convert a value-per-bp capacity to index units per unit of yield at yesterday's price."""
    return capacity_per_bp * 1e4 / price_prev


# the ledger cells the dealers' settlement books, in the order of dealer_settle's `cells`
_BOOKED = (("dealers", "usd_bn"), ("dealers", "jpy_tn"), ("dealers", "ust_units"), ("dealers", "jgb_units"),
           ("dealers", "jgb30_units"), ("dealers", "usd_fwd_bn"), ("swap_clients", "usd_bn"),
           ("forward_settlement", "usd_bn"), ("us_money_market", "usd_bn"), ("jp_money_market", "jpy_tn"),
           ("dealer_shareholders", "usd_bn"))  # fmt: skip
(_USD, _JPY, _UST, _JGB, _JGB30, _FWD, _CLIENTS_USD, _SETTLEMENT_USD, _US_MM_USD, _JP_MM_JPY,
 _SHAREHOLDERS_USD) = range(len(_BOOKED))  # fmt: skip


@njit(cache=True)
def dealer_settle(flows, excess, prices, books, equity_target, payout_share, table, turnover, cells):
    """The dealers' day at the cleared prices, booked into the ledger's ``table`` (the bookings of
    :meth:`model.accounting.Ledger.book`, in the same order and arithmetic).

    ``flows``: their flows per market; ``excess``: the clearing's residual excess demand per market,
    which they also take; ``prices``: ``(S, S_prev, P_us, P_us_prev, P_jp, P_jp_prev, P_30, P_30_prev,
    forward margin per dollar, forward carry per dollar, coupons per UST, JGB and JGB 30y unit, US
    short rate, BoJ rate)``; ``books``: ``(dollars bought spot to date, UST, JGB and JGB 30y units, USD cash, JPY
    cash, forward book, the swap clients' forwards, equity by profit and loss)``; ``payout_share``:
    the share of the gap to ``equity_target`` closed today; ``cells``: the ledger cells of
    :data:`_BOOKED`. Returns the new books (without the swap clients' forwards, which do not change)
    and the day's trades per market.
    """
    S, S_prev, p_us, p_us_prev, p_jp, p_jp_prev, p_30, p_30_prev = prices[:8]
    fwd_vm, fwd_carry, ust_coupon, jgb_coupon, jgb30_coupon, r_us, r_boj = prices[8:]
    fx_inv, ust_inv, jgb_inv, jgb30_inv, usd, jpy, fwd, clients_fwd, equity = books
    q_fx, q_ust, q_jgb = flows[FX] - excess[FX], flows[UST] - excess[UST], flows[JGB] - excess[JGB]
    q_fwd, q_30 = flows[FWD] - excess[FWD], flows[JGB30] - excess[JGB30]
    usd_per_tn, usd_per_tn_prev = 1000.0 / S, 1000.0 / S_prev
    # profit and loss on what was held overnight, in USD (yen and JGBs at the day's USD/JPY)
    reval = (
        ust_inv * (p_us - p_us_prev)
        + jgb_inv * (p_jp * usd_per_tn - p_jp_prev * usd_per_tn_prev)
        + jgb30_inv * (p_30 * usd_per_tn - p_30_prev * usd_per_tn_prev)
        + jpy * (usd_per_tn - usd_per_tn_prev)
    )
    # the trades: spot dollars for yen, bonds for cash, forwards
    book_exchange(table, turnover, cells, _USD, _JPY, q_fx, S / 1000.0)
    book_exchange(table, turnover, cells, _UST, _USD, q_ust, p_us)
    book_exchange(table, turnover, cells, _JGB, _JPY, q_jgb, p_jp)
    book_exchange(table, turnover, cells, _JGB30, _JPY, q_30, p_30)
    book_entry(table, turnover, cells, _FWD, q_fwd)
    fx_inv += q_fx
    ust_inv += q_ust
    jgb_inv += q_jgb
    jgb30_inv += q_30
    usd += q_fx - q_ust * p_us
    jpy += -q_fx * S / 1000.0 - q_jgb * p_jp - q_30 * p_30
    # forwards: margin on the book held overnight, carry on the book at the close, for the dealers
    # and their outside swap clients, through the settlement account
    own = fwd * fwd_vm + (fwd + q_fwd) * fwd_carry
    clients = clients_fwd * (fwd_vm + fwd_carry)
    fwd += q_fwd
    book_entry(table, turnover, cells, _USD, own)
    book_entry(table, turnover, cells, _CLIENTS_USD, clients)
    book_entry(table, turnover, cells, _SETTLEMENT_USD, -(own + clients))
    # coupons, then the money market's interest on the cash balances at the close
    coupon_usd = ust_inv * ust_coupon
    coupon_jpy = jgb_inv * jgb_coupon + jgb30_inv * jgb30_coupon
    usd += own + coupon_usd
    jpy += coupon_jpy
    int_usd = usd * r_us / TRADING_DAYS
    int_jpy = jpy * r_boj / TRADING_DAYS
    usd += int_usd
    jpy += int_jpy
    book_entry(table, turnover, cells, _USD, int_usd)
    book_entry(table, turnover, cells, _JPY, int_jpy)
    book_entry(table, turnover, cells, _US_MM_USD, -int_usd)
    book_entry(table, turnover, cells, _JP_MM_JPY, -int_jpy)
    equity += reval + own + coupon_usd + int_usd + (coupon_jpy + int_jpy) * usd_per_tn
    # payouts above the target capital, capital raised below it
    payout = (equity - equity_target) * payout_share
    usd -= payout
    equity -= payout
    book_entry(table, turnover, cells, _USD, -payout)
    book_entry(table, turnover, cells, _SHAREHOLDERS_USD, payout)
    return fx_inv, ust_inv, jgb_inv, jgb30_inv, usd, jpy, fwd, equity, q_fx, q_ust, q_jgb, q_fwd, q_30


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
    requires = ("money_market", "risk_index")
    flows_stage = 2  # reads the day's risk index at the trial prices
    columns = ("dealer_fx_inventory_usd_bn", "dealer_fwd_book_usd_bn", "dealer_equity_usd_bn")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.fx_inventory_usd_bn = 0.0  # dollars bought spot, cumulative (the position is spot_position_usd_bn)
        self.fwd_usd_bn = 0.0  # N: long-USD forward book
        self.swap_clients_fwd_usd_bn = 0.0  # the outside hedgers' forwards (fixed)
        self.ust_inventory_units = 0.0
        self.jgb_inventory_units = 0.0
        self.jgb30_inventory_units = 0.0
        self.usd_bn = self.config.equity_usd_bn
        self.jpy_tn = 0.0
        self.equity_book_usd_bn = self.config.equity_usd_bn
        self.absorbed = (0.0, 0.0, 0.0, 0.0, 0.0)  # today's clearing residual taken into inventory, per market
        # the share of the gap between equity and its target closed each day (the half-life's)
        self._payout_share = -math.expm1(-math.log(2.0) / self.config.recapitalisation_halflife_days)
        self._cells: np.ndarray | None = None  # the ledger cells the settlement books (_BOOKED)
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

    def clearing_inputs(self, model) -> DealerInputs:
        cfg, mk = self.config, model.market
        mc = model.config.market
        return DealerInputs(
            s_prev=mk.log_usdjpy,
            yus_prev=mk.ust10y_yield,
            yjp_prev=mk.jgb10y_yield,
            yjp30_prev=mk.jgb30y_yield,
            fx_inventory=self.spot_position_usd_bn(mk.usdjpy, mk.jgb_price, mk.jgb30_price),  # at yesterday's close
            fwd_book=self.fwd_usd_bn,
            ust_inventory=self.ust_inventory_units,
            jgb_inventory=self.jgb_inventory_units,
            jgb30_inventory=self.jgb30_inventory_units,
            jpy_tn=self.jpy_tn,
            equity=self.equity_book_usd_bn,
            equity_target=cfg.equity_usd_bn,
            equity_floor=cfg.capacity_floor_share * cfg.equity_usd_bn,
            capital_constraint=cfg.capital_constraint,
            decay=cfg.inventory_decay,
            fx_capacity=cfg.fx_capacity_usd_bn,
            ust_capacity_units=bond_capacity_units(cfg.ust_capacity_usd_bn_per_bp, mk.ust_price),
            jgb_capacity_units=bond_capacity_units(cfg.jgb_capacity_jpy_tn_per_bp, mk.jgb_price),
            jgb30_capacity_units=bond_capacity_units(cfg.jgb30_capacity_jpy_tn_per_bp, mk.jgb30_price),
            book_per_equity=cfg.swap_leverage_limit / cfg.basis_slope_pa,
            log_v_mean=math.log(mc.risk_index_mean),
            # VaR: capacity ∝ E/σ_fx(v)^η and σ_fx ∝ v^β (market.fx_vol_risk_elasticity)
            risk_elasticity=cfg.capacity_risk_elasticity * mc.fx_vol_risk_elasticity,
            ust_duration=mc.ust_duration,
            jgb_duration=mc.jgb_duration,
            jgb30_duration=mc.jgb30_duration,
        )

    def settle(self, model, day) -> None:
        res, led = day.result, model.ledger
        # the dealers take the excess demand left within the clearing tolerance
        excess = (res.excess_fx_usd_bn, res.excess_ust_units, res.excess_jgb_units, res.excess_fwd_usd_bn,
                  res.excess_jgb30_units)  # fmt: skip
        self.absorbed = tuple(-e for e in excess)
        if self._cells is None:  # the ledger's rows and columns are fixed once the model is built
            self._cells = led.cells(_BOOKED)
        prices = (day.usdjpy, day.usdjpy_prev, day.ust_price, day.ust_price_prev, day.jgb_price, day.jgb_price_prev,
                  day.jgb30_price, day.jgb30_price_prev, day.forward_revaluation(), day.forward_carry(),
                  day.ust_coupon_per_unit, day.jgb_coupon_per_unit, day.jgb30_coupon_per_unit, day.us_short_rate,
                  day.boj_rate)  # fmt: skip
        books = (self.fx_inventory_usd_bn, self.ust_inventory_units, self.jgb_inventory_units,
                 self.jgb30_inventory_units, self.usd_bn, self.jpy_tn, self.fwd_usd_bn, self.swap_clients_fwd_usd_bn,
                 self.equity_book_usd_bn)  # fmt: skip
        out = dealer_settle(day.flows_of(self), excess, prices, books, self.config.equity_usd_bn,
                            self._payout_share, led.table, led.turnover, self._cells)  # fmt: skip
        (self.fx_inventory_usd_bn, self.ust_inventory_units, self.jgb_inventory_units, self.jgb30_inventory_units,
         self.usd_bn, self.jpy_tn, self.fwd_usd_bn, self.equity_book_usd_bn) = out[:8]  # fmt: skip

    def bear_counterparty_loss(self, ledger, usd_bn: float) -> None:
        """Take what a customer that failed could not pay (``usd_bn`` ≥ 0) out of the dealers' cash and
        equity: as the funds' prime brokers and forward counterparties, they lent the margin and are
        owed the variation margin, so a failed fund's shortfall is theirs (its repo lenders, the money
        market, lent to the dealers against collateral). Tomorrow's capacity reads the lower equity."""
        if usd_bn != 0.0:
            self.usd_bn -= usd_bn
            self.equity_book_usd_bn -= usd_bn
            ledger.book(self.name, "usd_bn", -usd_bn)

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {
            self.name: {"usd_bn": self.usd_bn, "jpy_tn": self.jpy_tn, "ust_units": self.ust_inventory_units,
                        "jgb_units": self.jgb_inventory_units, "usd_fwd_bn": self.fwd_usd_bn,
                        "jgb30_units": self.jgb30_inventory_units},
            # every forward's margin and carry pass through it and net to zero
            "forward_settlement": {"usd_bn": 0.0, "usd_fwd_bn": 0.0},
            "swap_clients": {"usd_fwd_bn": self.swap_clients_fwd_usd_bn},
        }  # fmt: skip

    def balance_sheet(self, model) -> BalanceSheet:
        S, p_us, p_jp, p_30 = model.prices()
        values = (self.usd_bn, self.jpy_tn * 1000.0 / S, self.ust_inventory_units * p_us,
                  self.jgb_inventory_units * p_jp * 1000.0 / S,
                  self.jgb30_inventory_units * p_30 * 1000.0 / S)  # fmt: skip
        # added left to right: Python's sum() compensates the round-off of floats (not of NumPy's
        # scalars), so it would make the figure depend on the numbers' type
        assets = negative = 0.0
        for v in values:
            if v > 0:
                assets += v
            elif v < 0:
                negative += v
            elif v != v:  # NaN: the book is not a number, never the NaN dropped
                return BalanceSheet(math.nan, math.nan, math.nan)
        return BalanceSheet(assets, -negative, assets + negative)

    def equity_gap(self, model) -> float:
        return abs(self.balance_sheet(model).equity_usd_bn - self.equity_book_usd_bn)

    def spot_position_usd_bn(self, usdjpy: float, jgb_price: float, jgb30_price: float) -> float:
        """The dealers' spot dollar position at the given prices: their net yen (cash and JGB inventories)
        in dollars, with the opposite sign.

        Their equity is counted in dollars, so what exposes it to USD/JPY is the yen they hold, worth
        ``Y·1000/S`` dollars, which falls as ``S`` rises, and the forward book, whose margin is paid
        in dollars every day. The dollars they bought spot over time (``fx_inventory_usd_bn``) are not
        that position: the yen they paid for them, or received for the book's hedge, changes its dollar
        value with every move of ``S``. A JGB bought with yen leaves the position unchanged; coupons
        and interest received in yen add to it.
        """
        yen_tn = self.jpy_tn + self.jgb_inventory_units * jgb_price + self.jgb30_inventory_units * jgb30_price
        return -yen_tn * 1000.0 / usdjpy

    def record(self, model) -> dict[str, float]:
        S, _, p_jp, p_30 = model.prices()
        return {"dealer_fx_inventory_usd_bn": self.spot_position_usd_bn(S, p_jp, p_30) + self.fwd_usd_bn,
                "dealer_fwd_book_usd_bn": self.fwd_usd_bn,
                "dealer_equity_usd_bn": self.balance_sheet(model).equity_usd_bn}  # fmt: skip


class DealerView(mesa.Agent):
    """A read-only Mesa view of the dealers' sector."""

    @property
    def _s(self) -> Dealers:
        return self.model.sectors["dealers"]

    @property
    def fx_inventory_usd_bn(self) -> float:
        """The dealers' spot dollar position at the last close (:meth:`Dealers.spot_position_usd_bn`)."""
        S, _, p_jp, p_30 = self.model.prices()
        return self._s.spot_position_usd_bn(S, p_jp, p_30)

    @property
    def equity_usd_bn(self) -> float:
        return self._s.balance_sheet(self.model).equity_usd_bn
