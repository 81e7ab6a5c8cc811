"""Double-entry ledger of cash and securities by sector, and the identities it must satisfy.

Rows are sectors, columns are holdings. Every trade and transfer is booked on both sides, so:

* USD and JPY are conserved: column sums never change (issuers, the money markets and outside
  accounts are rows);
* UST, JGB 10y and JGB 30y units add up to zero (issuers hold minus the amount outstanding: holdings
  = amounts outstanding);
* repo: the money market's claims equal the borrowers' debts;
* FX forwards are in zero net supply: the long-USD notional of every holder (funds, insurers,
  dealers, outside swap clients) sums to zero, and their variation margin and carry, which pass
  through the dealers' settlement account, net to zero.

Its rows are the sectors' ledger rows (:meth:`model.sector.Sector.rows`) plus the two issuers.
Sectors book their own trades at settlement; the checks then compare each sector's own records
with its rows, so a trade booked on one side only, or a holding that moves without a trade, is
caught. The hedge-fund row is recomputed from the funds' own arrays. Where a sector keeps equity
by accumulated profit and loss (funds, dealers), it must equal its assets minus its liabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from model.clearing import residuals
from model.sector import FWD, FX, JGB, JGB30, N_MARKETS, UST

__all__ = [
    "Ledger",
    "AccountingError",
    "book_cell",
    "book_entry",
    "book_exchange",
    "booked_excess",
    "check_identities",
    "pay_coupons",
    "walras_residual",
]

ISSUERS = ("us_treasury", "jgb_issuer")  # always present: they pay coupons and hold minus the outstanding
ASSETS = ("usd_bn", "jpy_tn", "ust_units", "jgb_units", "repo_usd_bn", "usd_fwd_bn", "jgb30_units")
_USD, _JPY, _UST, _JGB, _REPO, _FWD, _JGB30 = range(len(ASSETS))


class AccountingError(AssertionError):
    """An accounting identity is violated."""


class Ledger:
    """Holdings by row (sector accounts) and column (:data:`ASSETS`)."""

    def __init__(self, rows: tuple[str, ...] = ()) -> None:
        names = tuple(dict.fromkeys((*rows, *ISSUERS)))  # unique, in order
        self.rows = names
        self.table = np.zeros((len(names), len(ASSETS)))
        self._row = {s: i for i, s in enumerate(names)}
        self._col = {a: j for j, a in enumerate(ASSETS)}
        self.initial_totals: np.ndarray | None = None
        # cumulative gross flows booked per column: the scale for round-off tolerances
        self.turnover = np.zeros(len(ASSETS))
        self._bind()

    def _bind(self) -> None:
        # A day books about 90 entries one at a time: flat views that read and write Python floats
        # cost a fraction of NumPy's scalar indexing, with the same float64 arithmetic.
        self._cells = memoryview(self.table).cast("B").cast("d")
        self._turnover = memoryview(self.turnover).cast("B").cast("d")
        self._ncols = self.table.shape[1]

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_cells", "_turnover")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bind()

    def book(self, sector: str, asset: str, amount: float) -> None:
        amount = float(amount)  # what NumPy's float64 addition would cast it to
        j = self._col[asset]
        k = self._row[sector] * self._ncols + j
        cells, turnover = self._cells, self._turnover
        cells[k] = cells[k] + amount
        turnover[j] = turnover[j] + abs(amount)

    def fx(self, sector: str, usd_bought: float, yen_per_usd: float) -> None:
        """``sector`` buys ``usd_bought`` dollars (negative: sells) and pays yen (JPY tn per USD bn)."""
        self.book(sector, "usd_bn", usd_bought)
        self.book(sector, "jpy_tn", -usd_bought * yen_per_usd)

    def bonds(self, sector: str, units: str, cash: str, bought: float, price: float) -> None:
        """``sector`` buys ``bought`` bond index units (column ``units``) paying ``price`` each in ``cash``."""
        self.book(sector, units, bought)
        self.book(sector, cash, -bought * price)

    def set(self, sector: str, asset: str, amount: float) -> None:
        self.table[self._row[sector], self._col[asset]] = amount

    def has(self, sector: str) -> bool:
        return sector in self._row

    def column(self, asset: str) -> int:
        return self._col[asset]

    def coupon_cells(self) -> np.ndarray:
        """The cells :func:`coupon_payments` books, for the holders this ledger has (its rows are
        fixed once it is built, so they are looked up once)."""
        cells = self.__dict__.get("_coupons")
        if cells is None:
            rows = [(g, self._row[h], self._col[units], self._col[cash])
                    for g, (holders, units, cash) in enumerate(_COUPONS)
                    for h in holders if h in self._row]  # fmt: skip
            rows += [(-1, self._row["us_treasury"], -1, self._col["usd_bn"]),
                     (-1, self._row["jgb_issuer"], -1, self._col["jpy_tn"])]  # fmt: skip
            cells = self._coupons = np.array(rows, dtype=np.int64)
        return cells

    def cell(self, sector: str, asset: str) -> tuple[int, int]:
        """``(row, column)`` of a holding in :attr:`table`, for kernels that book with :func:`book_cell`."""
        return self._row[sector], self._col[asset]

    def cells(self, holdings: tuple[tuple[str, str], ...]) -> np.ndarray:
        """The ``(row, column)`` of each ``(sector, asset)``, one row each, for :func:`book_entry`."""
        return np.array([self.cell(sector, asset) for sector, asset in holdings], dtype=np.int64)

    def get(self, sector: str, asset: str) -> float:
        return self._cells[self._row[sector] * self._ncols + self._col[asset]]

    def totals(self) -> np.ndarray:
        return self.table.sum(axis=0)

    def freeze_initial(self) -> None:
        """Close the opening books: the issuers hold minus every bond held, then record the totals."""
        for issuer, units in (("us_treasury", "ust_units"), ("jgb_issuer", "jgb_units"), ("jgb_issuer", "jgb30_units")):
            self.set(issuer, units, 0.0)
            self.set(issuer, units, -self.totals()[self.column(units)])
        self.initial_totals = self.totals().copy()
        self.turnover = np.abs(self.table).sum(axis=0)
        self._bind()


@njit(cache=True, inline="always")
def book_cell(table, turnover, row, col, amount):
    """:meth:`Ledger.book` from compiled code: ``amount`` added to the holding at ``(row, col)`` of the
    ledger's ``table`` and its absolute value to the column's ``turnover``, as the method adds them."""
    table[row, col] = table[row, col] + amount
    turnover[col] = turnover[col] + abs(amount)


@njit(cache=True, inline="always")
def book_entry(table, turnover, cells, k, amount):
    """:func:`book_cell` at the ``k``-th of ``cells`` (rows ``(row, column)``, as :meth:`Ledger.cells` lists them)."""
    book_cell(table, turnover, cells[k, 0], cells[k, 1], amount)


@njit(cache=True, inline="always")
def book_exchange(table, turnover, cells, got, paid, amount, price):
    """:meth:`Ledger.fx` and :meth:`Ledger.bonds` from compiled code: ``amount`` of the ``got``-th of
    ``cells`` bought (negative: sold) for ``price`` each out of the ``paid``-th, in that order."""
    book_entry(table, turnover, cells, got, amount)
    book_entry(table, turnover, cells, paid, -amount * price)


def booked_excess(before: np.ndarray, after: np.ndarray, day) -> np.ndarray:
    """Net trades booked in each cleared market between two states of the ledger's ``table``, summed
    over every row: the day's excess demand as the sectors' books record it.

    Parameters
    ----------
    before, after
        The ledger's ``table`` (rows × :data:`ASSETS`) before and after the sectors settle the day.
    day
        The :class:`model.sector.Day` they settled: the recorded USD/JPY and bond prices.

    Returns
    -------
    numpy.ndarray
        Shape ``(N_MARKETS,)``, in each market's units (USD bn, UST, JGB and JGB 30y index units, USD
        bn of long-USD forwards): what every row booked together, the dealers' take of the clearing's
        residual and the issuers' issuance and redemptions included. Every trade has a counterparty
        among the rows, so each entry is zero up to round-off when every sector booked what cleared.

    Notes
    -----
    The bond and forward markets are their holdings columns. Spot dollars have no column of their
    own: every other booking in cash is a transfer between two rows (coupons, interest, margin,
    payouts) or the payment for a bond, so the spot dollars bought are the change in the dollar
    column plus the dollars paid for Treasuries, ``ΔUSD + P_us·ΔUST`` and, read from the yen
    side, ``−(ΔJPY + P_jp·ΔJGB + P_30·ΔJGB30)·1000/S``. The larger of the two in magnitude is
    returned (NaN if either is), so a spot trade booked with one leg wrong shows on its side.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> led = Ledger(("buyer", "seller"))
    >>> before = led.table.copy()
    >>> led.bonds("buyer", "ust_units", "usd_bn", 2.0, 0.9)  # 2 UST units bought from no one
    >>> day = SimpleNamespace(usdjpy=150.0, ust_price=0.9, jgb_price=1.0, jgb30_price=1.0)
    >>> booked_excess(before, led.table, day).tolist()
    [0.0, 2.0, 0.0, 0.0, 0.0]
    """
    out = np.empty(N_MARKETS)
    _booked_excess(before, after, day.usdjpy, day.ust_price, day.jgb_price, day.jgb30_price, out)
    return out


@njit(cache=True)
def _booked_excess(before, after, usdjpy, ust_price, jgb_price, jgb30_price, out):
    """:func:`booked_excess` into ``out``: compiled, since it runs every day (a few µs from NumPy)."""
    d = np.zeros(after.shape[1])
    for r in range(after.shape[0]):  # cell by cell: the round-off of the day's changes, not of the holdings
        for c in range(after.shape[1]):
            d[c] += after[r, c] - before[r, c]
    fx_usd = d[_USD] + ust_price * d[_UST]
    fx_jpy = -(d[_JPY] + jgb_price * d[_JGB] + jgb30_price * d[_JGB30]) * 1000.0 / usdjpy
    if not (np.isfinite(fx_usd) and np.isfinite(fx_jpy)):
        fx = np.nan
    else:
        fx = fx_usd if abs(fx_usd) >= abs(fx_jpy) else fx_jpy
    out[FX] = fx
    out[UST] = d[_UST]
    out[JGB] = d[_JGB]
    out[FWD] = d[_FWD]
    out[JGB30] = d[_JGB30]


@njit(cache=True)
def walras_residual(booked, absorbed, recorded, gross):
    """The day's Walras check after settlement: ``max_m max(|B_m|, |Z_m − A_m|) / max(G_m, VOLUME_FLOOR)``.

    Parameters
    ----------
    booked
        ``B``, shape ``(N_MARKETS,)``: the net trades every ledger row booked in each market
        (:func:`booked_excess`), the dealers' take of the clearing's residual included. Non-zero
        beyond round-off where a sector booked a trade that did not clear, or missed one that did.
    absorbed
        ``A``: the excess demand the clearing left at its final iterate, which the dealers took
        (``ClearingResult.excess_*``).
    recorded
        ``Z``: excess demand at the recorded prices, before settlement
        (:meth:`model.compose.ComposedClearing.recheck`: the solver's last evaluation where they are its
        own prices, bit for bit, and an evaluation there where not). ``Z − A`` is zero, bit for bit, where the
        recorded prices are the ones the solver's flows (which the sectors book) were evaluated at;
        not where a recorded price is off them.
    gross
        ``G``: the markets' gross volumes at the recorded prices (the same evaluation as ``Z``).

    Returns
    -------
    float
        The worst market's ratio (``inf`` if any is not finite). A day whose books add up and whose
        recorded prices are the solver's gives round-off of the books, about 10⁻¹⁴; the identity
        check allows ``WALRAS_SLACK`` times the clearing tolerance.
    """
    n = booked.shape[0]
    worst = np.empty(n)
    for m in range(n):
        b, gap = abs(booked[m]), abs(recorded[m] - absorbed[m])
        worst[m] = gap if (gap > b or np.isnan(gap)) else b  # a NaN in either stays
    return residuals(worst, gross, np.empty(n))


@dataclass(frozen=True)
class IdentityReport:
    usd_drift: float
    jpy_drift: float
    ust_units_drift: float
    jgb_units_drift: float
    repo_drift: float
    forwards_drift: float
    jgb30_units_drift: float
    worst_equity_gap_usd_bn: float
    worst_holdings_gap: float
    walras_residual: float


def residual_problem(column: str, value: float, limit: float) -> str:
    """What a day's ``clearing_residual`` or ``walras_residual`` of ``value`` above ``limit`` means (for
    :class:`AccountingError`'s message)."""
    if column == "clearing_residual":
        return (
            f"excess demand left at the recorded prices is {value:.3e} of gross volume (tolerance {limit:.1e}): "
            "the markets did not clear at the prices recorded, and the dealers took the rest"
        )
    return (
        f"excess demand at the recorded prices is {value:.3e} of gross volume (tolerance {limit:.1e}): "
        "the trades booked do not net to zero, or the recorded prices are not the ones they cleared at"
    )


# The Walras check's limit (walras_residual), in clearing tolerances: the books' round-off (about 1e-14 of
# gross volume) and that of recording ln S as S (a relative 1e-16 of the price) are far below it; a
# trade booked that did not clear, or a recorded price off the solver's, is far above it.
WALRAS_SLACK = 10.0
# |ln v − ln v at the recorded prices|: round-off of recording ln S as S, through the index's response
RISK_INDEX_TOL = 1e-9


def check_identities(model, rtol: float = 1e-9) -> IdentityReport:
    """Check every identity on the model's current state; raise :class:`AccountingError` if any fails.

    * money, bonds and repo are conserved and forwards are in zero net supply (column sums of the
      double-entry ledger);
    * every sector's own records (its state) agree with its ledger rows (:meth:`Sector.holdings`);
    * where a sector keeps equity by accumulated profit and loss (funds, dealers), it equals its
      assets minus its liabilities at today's prices;
    * the excess demand left at the recorded prices (``clearing_residual``, from an evaluation there, not
      the solver's report) is within ``WALRAS_SLACK`` times the clearing tolerance: the dealers took no
      more than the clearing's round-off, so the prices recorded clear the markets;
    * the day's Walras check after settlement (``walras_residual``, :func:`walras_residual`) is within
      the same limit: the trades every sector booked, the dealers' take
      of the clearing's residual included, net to zero in each market, and the recorded prices are
      the ones they were made at;
    * the risk index the market carries (and the day's row records) is the one the risk block prices
      at the recorded prices, recomputed from its inputs with the same evaluation (``walras_log_risk``).
    """
    led: Ledger = model.ledger
    day = model.day
    limit = WALRAS_SLACK * model.config.simulation.clearing_tolerance
    for what, value in (("clearing_residual", model.clearing_residual), ("walras_residual", model.walras_residual)):
        if not value <= limit:  # NaN-safe
            raise AccountingError(f"day {day}: {residual_problem(what, value, limit)}")
    if "risk_index" in model.sectors:
        recorded = (model.market.risk_index, model.latest.get("risk_index", model.market.risk_index))
        for v in recorded:
            if not abs(math.log(v) - model.walras_log_risk) <= RISK_INDEX_TOL:
                raise AccountingError(
                    f"day {day}: the risk index {v!r} is not the one priced at the recorded prices "
                    f"({math.exp(model.walras_log_risk)!r})"
                )
    drift = led.totals() - led.initial_totals
    scale = np.maximum(led.turnover, 1.0)
    names = {0: "USD", 1: "JPY", 2: "UST units", 3: "JGB units", 4: "repo", 5: "FX forwards (net supply)",
             6: "JGB 30y units"}  # fmt: skip
    for j, name in names.items():
        if not abs(drift[j]) <= rtol * scale[j]:  # NaN-safe: a NaN total fails
            raise AccountingError(
                f"day {day}: {name} not conserved: drift {drift[j]:.3e} vs tolerance {rtol * scale[j]:.3e}"
            )
    worst_holding = 0.0
    for sector in model.sector_list:
        for row, holdings in sector.holdings_rows().items():
            for asset, own in holdings.items():
                booked = led.get(row, asset)
                j = led.column(asset)
                gap = abs(own - booked)
                worst_holding = max(worst_holding, gap)  # a NaN gap raises below
                if not gap <= rtol * max(scale[j], abs(own)) or not math.isfinite(own):
                    raise AccountingError(
                        f"day {day}: {row} holds {asset} = {float(own)!r} by its own records but {float(booked)!r} "
                        "in the ledger"
                    )
    worst = 0.0
    if "hedge_funds" in model.sectors:
        funds = model.sectors["hedge_funds"]
        hf = funds.state
        gap = funds.equity_gaps(model)
        tol = rtol * np.maximum(np.abs(hf.ust_units * model.market.ust_price) + np.abs(hf.cash_usd_bn) + 1.0, 1.0) * 10
        worst = float(gap.max()) if gap.size else 0.0
        bad = ~(gap <= tol)  # NaN-safe: a fund whose equity (either way) is NaN fails
        if gap.size and np.any(bad):
            i = int(np.argmax(bad))
            raise AccountingError(
                f"day {day}: fund {i} equity by P&L {hf.equity_book_usd_bn[i]:.12g} differs from assets − liabilities "
                f"by {gap[i]:.3e}"
            )
    for sector in model.sector_list:
        if sector.name == "hedge_funds":
            continue
        g = sector.equity_gap(model)
        bs = sector.balance_sheet(model)
        worst = max(worst, g)  # a NaN gap raises below
        if not g <= rtol * max(bs.assets_usd_bn + bs.liabilities_usd_bn, 1.0) * 10:
            raise AccountingError(
                f"day {day}: {sector.name} equity by P&L differs from assets − liabilities by {g:.3e}"
            )
    return IdentityReport(*(float(d) for d in drift), worst, worst_holding, model.walras_residual)


# holders of each bond whose coupons the issuers pay through the ledger (the funds' kernel books theirs)
UST_HOLDERS = ("ust_investors", "dealers", "life_insurers")
JGB_HOLDERS = ("jgb_investors", "dealers", "boj", "curve_arbitrageurs")
JGB30_HOLDERS = ("superlong_investors", "dealers", "life_insurers", "boj", "curve_arbitrageurs")


def pay_coupons(led: Ledger, day) -> None:
    """Issuers pay the day's coupon on every bond index unit held at the close (``day``: a
    :class:`model.sector.Day`): to the super-long holders, then the UST and the JGB 10y holders,
    each in the order of the tuples above, as :func:`coupon_payments` books them."""
    cells = led.coupon_cells()
    coupon_payments(led.table, led.turnover, cells, day.jgb30_coupon_per_unit, day.ust_coupon_per_unit,
                    day.jgb_coupon_per_unit)  # fmt: skip


# the bond each group of coupon_payments' cells holds and the cash it is paid in, in the order paid
_COUPONS = ((JGB30_HOLDERS, "jgb30_units", "jpy_tn"), (UST_HOLDERS, "ust_units", "usd_bn"),
            (JGB_HOLDERS, "jgb_units", "jpy_tn"))  # fmt: skip


@njit(cache=True)
def coupon_payments(table, turnover, cells, jgb30_coupon, ust_coupon, jgb_coupon):
    """Book the coupons into the ledger's ``table``. ``cells`` rows: ``(group, holder row, units
    column, cash column)`` for each holder present (groups 0, 1, 2: the 30y, the UST and the 10y
    JGB), then the two issuers' ``(-1, row, -1, cash column)``, the US Treasury first."""
    ust_paid = jgb_paid = 0.0
    n = cells.shape[0] - 2
    for k in range(n):
        group, row, units, cash = cells[k, 0], cells[k, 1], cells[k, 2], cells[k, 3]
        coupon = jgb30_coupon if group == 0 else (ust_coupon if group == 1 else jgb_coupon)
        c = table[row, units] * coupon
        book_cell(table, turnover, row, cash, c)
        if group == 1:
            ust_paid += c
        else:
            jgb_paid += c
    book_cell(table, turnover, cells[n, 1], cells[n, 3], -ust_paid)
    book_cell(table, turnover, cells[n + 1, 1], cells[n + 1, 3], -jgb_paid)
