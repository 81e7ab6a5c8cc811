"""Joint clearing of USD/JPY, the UST 10y, the JGB 10y, the FX forward market and the JGB 30y:
results, errors and the shared kernels.

Unknowns ``p = (s, y_us, y_jp, b, y_jp30)`` with ``s = ln S``, ``b`` the cross-currency basis and
``y_jp30`` the super-long (30y) JGB yield. Excess
demand in each market, in its own units (positive = more buyers than the supply change), is the
sum of the registered sectors' flows (:mod:`model.sector`): each sector's compiled ``flows`` adds
its demand, its derivatives and its gross trades, so the Jacobian is analytic and a damped Newton
method converges in a few iterations from yesterday's close. The composition and the solvers live in one generated,
cached module (:mod:`model.compose`, :mod:`model.solver_source`).

The convergence test is ``|Z_m| / gross volume_m ≤ tol`` in every market, the gross volume being
the sum of the absolute trades of all participants (floored at ``VOLUME_FLOOR``). Where fire
sales make excess demand non-monotone, Newton can stall at a local extremum; a bracketing solver
then takes over. A day that does not clear raises :class:`ClearingError` naming the day and the
state: no NaN price ever leaves the engine.

Price-inelastic orders enter through the *order book* block (:func:`order_flows`): three lines per
market — customer flows, institutions' orders, new issuance — added in that order.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from model.sector import N_AUX, N_MARKETS, Sector

__all__ = [
    "ClearingError",
    "ClearingResult",
    "OrderBook",
    "OrderBookInputs",
    "Work",
    "DEFAULT_TOL",
    "VOLUME_FLOOR",
    "order_flows",
    "residuals",
    "solve_linear",
    "make_result",
]

DEFAULT_TOL = 1e-10
# Gross volume is floored at this many market units (USD bn; UST/JGB index units ≈ USD bn, JPY tn)
# in the residual |z|/volume. A price can only be located to one floating-point step: a yield
# near 4% has a spacing of ~7e-18 and the UST market's depth is ~7e5 units per unit of yield,
# so excess demand cannot be resolved below ~5e-12 units. Relative to a near-zero volume on a
# quiet day that would be far above 1e-10; relative to 0.1 units ($100 m) it is below.
VOLUME_FLOOR = 0.1
MAX_ITER = 100
# Newton is judged stalled, and the bracketed solver takes over, after MAX_STALLED iterations in a row
# that lower the merit function by less than the share STALL_DECREASE. A converging Newton lowers it
# by orders of magnitude an iteration. On baseline seed 1's day 327 Newton reaches a local minimum of
# the merit function (largest relative residual 1.2e-3) in 7 iterations, then creeps: it took all
# 100 iterations, most with 30-37 halvings of the step, about 3,000 evaluations and 130 ms.
MAX_STALLED = 5
STALL_DECREASE = 1e-6
# Largest Newton move per iteration and price (ln S, yields, basis): keeps trial prices in a range
# where exp() is safe and the line search starts from a sensible step.
MAX_STEP = np.array([0.25, 0.02, 0.02, 0.01, 0.02])
# Sign of d(excess demand)/d(own price) when a sector's Jacobian says nothing (bracketing solver):
# dollars are demanded less as USD/JPY rises; bonds more as their yield rises; long-USD forwards
# more as the basis falls (the dealers' book N = −b·ℓ·E_d/κ grows), so less as it rises.
OWN_SIGN = np.array([-1.0, 1.0, 1.0, -1.0, 1.0])


class ClearingError(RuntimeError):
    """The markets did not clear; the message names the day and the state."""


class ClearingResult(NamedTuple):
    usdjpy: float
    ust10y_yield: float
    jgb10y_yield: float
    fx_basis: float  # per annum; negative = dollars dear through swaps
    iterations: int
    residual: float  # max over markets of |excess demand| / gross volume
    residual_fx: float
    residual_ust: float
    residual_jgb: float
    residual_fwd: float
    residual_jgb30: float
    gross_fx_usd_bn: float
    gross_ust_units: float
    gross_jgb_units: float
    gross_fwd_usd_bn: float
    gross_jgb30_units: float
    converged: bool
    # signed excess demand left at the cleared prices (within tolerance); the dealers take it
    excess_fx_usd_bn: float
    excess_ust_units: float
    excess_jgb_units: float
    excess_fwd_usd_bn: float
    excess_jgb30_units: float
    # ln S at which the solver evaluated the flows (``usdjpy = exp(log_usdjpy)``)
    log_usdjpy: float
    jgb30y_yield: float

    @property
    def prices(self) -> tuple[float, float, float, float, float]:
        """The cleared price vector ``(ln S, y_us, y_jp, b, y_jp30)`` as the solver evaluated it."""
        return self.log_usdjpy, self.ust10y_yield, self.jgb10y_yield, self.fx_basis, self.jgb30y_yield


def make_result(p, iterations, worst, res, gross, converged, z) -> ClearingResult:
    """A :class:`ClearingResult` from the solver's arrays (prices, residuals, gross volumes, excess)."""
    s, y_us, y_jp, b, y_jp30 = p.tolist()  # Python floats, the same values as float(p[i])
    return ClearingResult(
        math.exp(s), y_us, y_jp, b, int(iterations), float(worst), *res.tolist(), *gross.tolist(), bool(converged),
        *z.tolist(), s, y_jp30,
    )  # fmt: skip


class Work(NamedTuple):
    """Scratch arrays of one clearing: excess demand, Jacobian, gross volume, each sector's flows."""

    z: np.ndarray  # (N_MARKETS,)
    jac: np.ndarray  # (N_MARKETS, N_MARKETS): d z_m / d (s, y_us, y_jp, b, y_jp30)
    gross: np.ndarray  # (N_MARKETS,)
    flows: np.ndarray  # (n_sectors, N_MARKETS): each sector's flow at the last evaluation
    aux: np.ndarray  # (N_AUX, 1 + N_MARKETS): day-wide quantities and their derivatives (model.sector)

    @classmethod
    def allocate(cls, n_sectors: int) -> Work:
        return cls(np.zeros(N_MARKETS), np.zeros((N_MARKETS, N_MARKETS)), np.zeros(N_MARKETS),
                   np.zeros((n_sectors, N_MARKETS)), np.zeros((N_AUX, 1 + N_MARKETS)))  # fmt: skip


class OrderBookInputs(NamedTuple):
    """Price-inelastic orders for the day: ``lines[m, l]`` for market ``m`` and order line ``l``."""

    lines: np.ndarray  # (N_MARKETS, 3): customer, institutions, issuance (negative = supply)


class OrderBook(Sector):
    """The clearing's order book: every price-taking sector's orders for the day, line by line.

    Its position in the sector list fixes where the orders enter the sum of excess demand. It
    holds nothing: each sector executes and books its own orders at settlement.
    """

    name = "order_book"
    ledger_rows = ()
    flows = None  # set below, once order_flows is compiled

    def start(self, model) -> None:
        # the sectors that place orders (the others' orders() return None), once every sector exists
        self._takers = [s for s in model.sector_list if type(s).orders is not Sector.orders]

    def clearing_inputs(self, model) -> OrderBookInputs:
        lines = np.zeros((N_MARKETS, 3))
        for sector in self._takers:
            orders = sector.orders()
            if orders is not None:
                lines += orders
        return OrderBookInputs(lines)


@njit(cache=True)
def order_flows(p, inp, z, jac, gross, out, aux):
    """The order book's flows: constant in prices, added line by line (no derivatives)."""
    for m in range(inp.lines.shape[0]):
        total = 0.0
        for line in range(inp.lines.shape[1]):
            q = inp.lines[m, line]
            z[m] += q
            gross[m] += abs(q)
            total += q
        out[m] = total


@njit(cache=True)
def solve_linear(a, b, out):
    """Solve the square system ``a·out = b`` by Gaussian elimination with partial pivoting.

    Returns False when ``a`` is numerically singular. ``a`` and ``b`` are overwritten.
    """
    n = b.shape[0]
    for col in range(n):
        piv = col
        best = abs(a[col, col])
        for r in range(col + 1, n):
            if abs(a[r, col]) > best:
                best = abs(a[r, col])
                piv = r
        if best == 0.0 or not np.isfinite(best):
            return False
        if piv != col:
            for c in range(n):
                tmp = a[col, c]
                a[col, c] = a[piv, c]
                a[piv, c] = tmp
            tmp = b[col]
            b[col] = b[piv]
            b[piv] = tmp
        for r in range(col + 1, n):
            f = a[r, col] / a[col, col]
            for c in range(col, n):
                a[r, c] -= f * a[col, c]
            b[r] -= f * b[col]
    for r in range(n - 1, -1, -1):
        acc = b[r]
        for c in range(r + 1, n):
            acc -= a[r, c] * out[c]
        out[r] = acc / a[r, r]
    return True


@njit(cache=True)
def residuals(z, gross, res):
    worst = 0.0
    for m in range(z.shape[0]):
        g = gross[m]
        if g < VOLUME_FLOOR:
            g = VOLUME_FLOOR
        res[m] = abs(z[m]) / g
        if not np.isfinite(res[m]):
            res[m] = np.inf
        if res[m] > worst:
            worst = res[m]
    return worst


OrderBook.flows = order_flows
