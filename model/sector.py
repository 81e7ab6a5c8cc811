"""The sector protocol: what every sector block declares, and the building blocks sectors share.

A *sector* is one population of the model (hedge funds, dealers, life insurers, …). Each lives in
one module of ``agents/`` and is the only place for:

* its configuration (a frozen :class:`~model.validation.Validated` dataclass, one config section);
* its state (arrays or scalars owned by the sector object; rows never shift);
* its decision for the day (:meth:`Sector.decide`), from yesterday's close;
* if it is price-elastic, its **flows in each market at trial prices together with their
  derivatives**: one compiled function ``flows(p, inp, z, jac, gross, out, aux)`` that reads the
  trial prices ``p = (ln S, y_us, y_jp, b, y_jp30)`` (:data:`MARKETS`), adds its excess demand to ``z`` (one
  entry per market), its derivatives to ``jac`` (markets × prices),
  its absolute trades to ``gross`` and writes its own flow per market into ``out``; ``inp`` is the
  NamedTuple that :meth:`Sector.clearing_inputs` returns for the day. ``aux`` carries day-wide
  quantities evaluated at the trial prices from one sector to others, each a row ``(value,
  d/dp...)``: :data:`AUX_FORCED` (forced sales of long-USD positions: margin calls, stop-outs,
  liquidations, USD bn), :data:`AUX_LOG_RISK` (ln of the risk index) and :data:`AUX_RISK_CHANNELS`
  (the part of ln v − ln v̄ that the day's USD/JPY move and forced sales put there). Sectors are evaluated by
  :attr:`Sector.flows_stage` (then registration order): customers write forced sales (stage 0),
  the risk index reads them (1), the balance sheets that read the risk index (2: the dealers' capacity,
  real money's risk budget, the Treasury investors' flight to quality). The clearing composes the
  registered sectors' flows into one system (:mod:`model.compose`);
* if it takes prices, its orders per market (:meth:`Sector.orders`), executed at the day's prices;
* its settlement from the flows the solver returned (:meth:`Sector.settle`; never a second
  evaluation of the same flows);
* its balance sheet (:meth:`Sector.balance_sheet`) and the holdings its own state implies
  (:meth:`Sector.holdings`), which the accounting checks against the double-entry ledger;
* its columns of the time series (:meth:`Sector.record`) and a thin ``mesa.Agent`` view.

Sectors never import each other; they meet only in the model (:mod:`model.model`), which reads
what one sector publishes (:meth:`Sector.publish`) and passes it to another through
``model.signals``. This module imports nothing from ``agents/`` so both sides can import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np

from model.calendar import TRADING_DAYS
from model.market import bond_price
from model.validation import ConfigError, Validated, param

# ``model`` arguments below are the :class:`model.model.CarryUnwindModel` (not imported: no cycle)
CarryUnwindModel = Any

__all__ = [
    "TRADING_DAYS",
    "FX",
    "UST",
    "JGB",
    "FWD",
    "JGB30",
    "MARKETS",
    "AUX_FORCED",
    "AUX_LOG_RISK",
    "AUX_RISK_CHANNELS",
    "N_AUX",
    "N_MARKETS",
    "CUSTOMER",
    "INSTITUTIONS",
    "ISSUANCE",
    "ORDER_LINES",
    "BalanceSheet",
    "Sector",
    "Validated",
    "ConfigError",
    "param",
    "fx_book",
    "Day",
]

# TRADING_DAYS (imported above, 250.0): trading days a year, defined in model.calendar and re-exported here

# The cleared markets, in the order of the price vector p = (ln S, y_us, y_jp, b, y_jp30) and of z's
# rows: USD/JPY spot, the UST 10y and JGB 10y yields, the FX forward (swap) market, whose price is the
# cross-currency basis b (per annum; negative = dollars are dear through swaps), and the super-long
# (30y) JGB segment, whose price is its yield. The forward market's quantity is long-USD forward
# notional (USD bn), in zero net supply; the 30y market's is units of a constant-duration 30y index.
FX, UST, JGB, FWD, JGB30 = 0, 1, 2, 3, 4
MARKETS = ("usdjpy", "ust10y", "jgb10y", "fx_forward", "jgb30y")
PRICES = ("ln_usdjpy", "ust10y_yield", "jgb10y_yield", "fx_basis", "jgb30y_yield")
MARKET_UNITS = ("USD bn", "UST index units", "JGB index units", "USD bn of long-USD forwards", "JGB 30y index units")
N_MARKETS = 5
# Day-wide quantities at trial prices passed between sectors in the clearing (rows of ``aux``:
# value, then its derivatives in the N_MARKETS prices).
AUX_FORCED, AUX_LOG_RISK, AUX_RISK_CHANNELS = 0, 1, 2
N_AUX = 3

# Price-inelastic orders are added to excess demand in three lines per market, in this order:
# customer flows (trade and noise), institutions' orders, and new issuance (negative demand).
CUSTOMER, INSTITUTIONS, ISSUANCE = 0, 1, 2
ORDER_LINES = ("customer", "institutions", "issuance")


class BalanceSheet(NamedTuple):
    """A sector's balance sheet in USD bn at the day's prices (yen at the day's USD/JPY)."""

    assets_usd_bn: float
    liabilities_usd_bn: float
    equity_usd_bn: float


class Sector:
    """Base class of every sector block (see the module docstring for the protocol).

    Class attributes
    ----------------
    name
        Registry key and the sector's row in the ledger.
    section
        Its configuration section in :class:`~model.config.ModelConfig` (``None``: none).
    flows
        The compiled flows function if the sector is price-elastic, else ``None``.
    event_kinds
        Scenario event kinds this sector handles (:meth:`handle_event`).
    ledger_rows
        Its rows in the double-entry ledger (default: one row named ``name``).
    columns
        The time-series columns :meth:`record` returns, in order.
    requires
        Names of sectors this one trades with or books against (its counterparties in the ledger), or
        whose published signals it reads.
    flows_stage
        When its flows are evaluated within one trial (0: customers; 1: day-wide functions of their
        flows such as the risk index; 2: sectors that read those, such as the dealers).
    """

    name: ClassVar[str] = ""
    section: ClassVar[str | None] = None
    flows: ClassVar[Callable[..., Any] | None] = None
    event_kinds: ClassVar[tuple[str, ...]] = ()
    ledger_rows: ClassVar[tuple[str, ...] | None] = None  # its rows in the ledger; None: (name,)
    columns: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()
    flows_stage: ClassVar[int] = 0

    def __init__(self, model: CarryUnwindModel) -> None:
        self.model = model
        # its configuration section, read once (sectors read it about 40 times a day): a frozen dataclass
        # that only CarryUnwindModel.switch replaces, between two days
        self.config: Any = getattr(model.config, self.section) if self.section else None

    # -- the day ----------------------------------------------------------------------------------
    def observe(self, model: CarryUnwindModel) -> None:
        """Before any sector decides: bring what every sector reads today up to date with what has
        arrived since the close (the day's news and decisions), so that no sector sees it before another."""

    def decide(self, model: CarryUnwindModel) -> None:
        """Today's decision, from yesterday's close (and today's draws from the sector's stream)."""

    def clearing_inputs(self, model: CarryUnwindModel) -> tuple:
        """The NamedTuple the compiled ``flows`` reads during today's clearing (price-elastic sectors)."""
        raise TypeError(f"sector {self.name!r} has no flows in the clearing")

    def orders(self) -> np.ndarray | None:
        """Today's price-inelastic orders, shape ``(N_MARKETS, len(ORDER_LINES))``, or ``None``."""
        return None

    def start(self, model: CarryUnwindModel) -> None:
        """Set-up that needs the other sectors' signals (called once all sectors exist)."""

    def finish_opening(self, model: CarryUnwindModel) -> None:
        """Set-up that needs the other sectors' opening books (called once every sector has opened
        its books, before the ledger's opening totals are frozen); e.g. the dealers take the other
        side of the customers' forwards."""

    def handle_event(self, model: CarryUnwindModel, event: Any) -> None:
        """Apply a scenario event of one of :attr:`event_kinds`; it takes effect at the next clearing."""
        raise TypeError(f"sector {self.name!r} handles no events")

    def settle(self, model: CarryUnwindModel, day: Any) -> None:
        """Book the day from the cleared prices and this sector's flows (``day.flows_of(self)``)."""

    def publish(self, model: CarryUnwindModel) -> dict[str, float]:
        """Values other sectors may read through ``model.signals`` after settlement."""
        return {}

    # -- accounts ---------------------------------------------------------------------------------
    def open_books(self, ledger: Any) -> None:
        """Write the sector's initial holdings into the ledger (its row, ``self.name``)."""

    def holdings(self) -> dict[str, float]:
        """Holdings implied by the sector's own state, by ledger column; checked against its ledger row."""
        return {}

    def rows(self) -> tuple[str, ...]:
        return (self.name,) if self.ledger_rows is None else self.ledger_rows

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        """:meth:`holdings` by ledger row: the sector's own row (a sector whose other rows hold what its
        records can check overrides this)."""
        return {self.name: self.holdings()} if self.name in self.rows() else {}

    def balance_sheet(self, model: CarryUnwindModel) -> BalanceSheet:
        """Assets, liabilities and equity at today's prices (USD bn), from the sector's own records."""
        books = [fx_book(model.ledger, row, model.prices()) for row in self.rows()]
        return BalanceSheet(*(float(sum(b[k] for b in books)) for k in range(3)))

    def equity_gap(self, model: CarryUnwindModel) -> float:
        """|equity by accumulated profit and loss − (assets − liabilities)|; 0 where not tracked."""
        return 0.0

    def failure_state(self, model: CarryUnwindModel) -> str:
        """What a clearing failure's message says about this sector's state ("" for nothing): built only
        when a day fails to clear, so that the message names the stocks that drove it."""
        return ""

    def record(self, model: CarryUnwindModel) -> dict[str, float]:
        return {}


def fx_book(ledger: Any, row: str, prices: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """(assets, liabilities, equity) in USD bn of a ledger row at ``prices = (S, P_ust, P_jgb, P_jgb30)``.

    Each holding is an asset when positive and a liability when negative; yen and JGBs (10y and
    30y) are converted at USD/JPY ``S``. Repo is a claim (the lender) or a debt (the borrower). FX forwards
    have no value after the day's variation margin is settled, so they do not enter.
    """
    usdjpy, p_us, p_jp, p_jp30 = prices
    per_yen_tn = 1000.0 / usdjpy  # USD bn per JPY tn
    values = np.array(
        [
            ledger.get(row, "usd_bn"),
            ledger.get(row, "jpy_tn") * per_yen_tn,
            ledger.get(row, "ust_units") * p_us,
            ledger.get(row, "jgb_units") * p_jp * per_yen_tn,
            ledger.get(row, "repo_usd_bn"),
            ledger.get(row, "jgb30_units") * p_jp30 * per_yen_tn,
        ]
    )
    if not np.isfinite(values).all():  # a holding that is not a number makes the whole book so, never dropped
        return math.nan, math.nan, math.nan
    assets = float(values[values > 0].sum())
    liabilities = float(-values[values < 0].sum())
    return assets, liabilities, assets - liabilities


class Day:
    """One day's cleared prices, yesterday's close and every sector's flows, as settlement reads them."""

    def __init__(self, result: Any, market: Any, flows: np.ndarray, index: dict[str, int], aux: np.ndarray) -> None:
        d_us, d_jp, d_jp30 = market.cfg.ust_duration, market.cfg.jgb_duration, market.cfg.jgb30_duration
        self.result = result
        self.usdjpy, self.ust10y_yield, self.jgb10y_yield = result.usdjpy, result.ust10y_yield, result.jgb10y_yield
        self.fx_basis = result.fx_basis
        self.jgb30y_yield, self.jgb30y_yield_prev = result.jgb30y_yield, market.jgb30y_yield
        self.usdjpy_prev, self.ust10y_yield_prev = market.usdjpy, market.ust10y_yield
        self.jgb10y_yield_prev, self.fx_basis_prev = market.jgb10y_yield, market.fx_basis
        # the policy rates the day's money-market interest and forward carry accrue at
        self.us_short_rate, self.boj_rate = market.us_short_rate, market.boj_rate
        self.ust_price, self.jgb_price = bond_price(self.ust10y_yield, d_us), bond_price(self.jgb10y_yield, d_jp)
        self.ust_price_prev, self.jgb_price_prev = market.ust_price, market.jgb_price
        self.jgb30_price, self.jgb30_price_prev = bond_price(self.jgb30y_yield, d_jp30), market.jgb30_price
        # coupon per bond index unit held at the close (USD bn; JPY tn)
        self.ust_coupon_per_unit = self.ust_price * self.ust10y_yield / TRADING_DAYS
        self.jgb_coupon_per_unit = self.jgb_price * self.jgb10y_yield / TRADING_DAYS
        self.jgb30_coupon_per_unit = self.jgb30_price * self.jgb30y_yield / TRADING_DAYS
        self.flows = flows.copy()
        self.aux = aux.copy()  # day-wide quantities at the cleared prices (model.sector's AUX_ rows)
        self._index = index

    def flows_of(self, sector: Sector) -> np.ndarray:
        """The sector's flows per market at the cleared prices, as the solver returned them."""
        return self.flows[self._index[sector.name]]

    def forward_carry(self) -> float:
        """A long-USD forward's carry accrued today per USD bn of notional: ``(r_us − r_jp − b)/250``.

        The forward premium is ``(ln F − ln S)/τ = r_jp − r_us + b`` (the sign convention of Du, Tepper
        & Verdelhan 2018), so rolling a long-USD forward earns ``r_us − r_jp − b``; a
        hedger who sells dollars forward pays it.
        """
        return (self.us_short_rate - self.boj_rate - self.fx_basis) / TRADING_DAYS

    def forward_revaluation(self) -> float:
        """A long-USD forward's variation margin today per USD bn of notional, in USD: ``1 − S_prev/S``.

        The position is long ``X`` dollars against ``X·S_prev`` yen; marked at today's ``S`` and settled
        in dollars, its profit is ``X·(1 − S_prev/S)``.
        """
        return 1.0 - self.usdjpy_prev / self.usdjpy
