"""Joint clearing of USD/JPY, the UST 10y and the JGB 10y: the compiled hot path.

Unknowns ``p = (s, y_us, y_jp)`` with ``s = ln S``. Excess demand in each market, in its own
units (positive = more buyers than the supply change):

* FX (USD bn):  funds + dealers + real money + trade flows + exogenous (policy) flows
* UST (index units):  funds + dealers + UST investors − new supply
* JGB (index units):  dealers + domestic investors − new supply

Every participant's flow is an explicit function of the trial prices, so the Jacobian is
analytic (the funds' piecewise-linear rule included) and a damped Newton method converges in a
few iterations from yesterday's close. The convergence test is ``|Z_m| / gross volume_m ≤ tol``
in every market, the gross volume being the sum of the absolute trades of all participants
(floored at ``VOLUME_FLOOR``). Where fire sales make excess demand non-monotone, Newton can stall
at a local extremum; a bracketing solver then takes over (:func:`solve_clearing_bracketed`).
A step that does not converge raises :class:`ClearingError` naming the day and the state: no
NaN price ever leaves this module.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from agents.bond_investors import bond_investor_flow
from agents.dealers import bond_flow, fx_flow
from agents.fx_fundamentals import fundamental_flow
from agents.hedge_funds import aggregate_demand

__all__ = ["ClearingInputs", "ClearingResult", "ClearingError", "solve_clearing", "excess_demand"]

DEFAULT_TOL = 1e-10
# Gross volume is floored at this many market units (USD bn; UST/JGB index units ≈ USD bn, JPY tn)
# in the residual |z|/volume. A price can only be located to one floating-point step: a yield
# near 4% has a spacing of ~7e-18 and the UST market's depth is ~7e5 units per unit of yield,
# so excess demand cannot be resolved below ~5e-12 units. Relative to a near-zero volume on a
# quiet day that would be far above 1e-10; relative to 0.1 units ($100 m) it is below.
VOLUME_FLOOR = 0.1
MAX_ITER = 100
# Largest Newton move per iteration: keeps trial prices in a range where exp() is safe.
MAX_STEP_S = 0.25
MAX_STEP_Y = 0.02


class ClearingError(RuntimeError):
    """The markets did not clear; the message names the day and the state."""


class ClearingInputs(NamedTuple):
    """Everything the non-fund participants need, fixed for one day's clearing."""

    s_prev: float
    yus_prev: float
    yjp_prev: float
    dealer_fx_inventory: float
    dealer_fx_capacity: float
    dealer_decay: float
    dealer_ust_inventory: float
    dealer_ust_capacity_units: float
    dealer_jgb_inventory: float
    dealer_jgb_capacity_units: float
    real_money_kept: float
    real_money_log_anchor: float
    real_money_gap_ref: float
    real_money_fiscal_premium: float
    real_money_beta: float
    real_money_capacity: float
    infl_us: float
    infl_jp: float
    trade_flow_usd_bn: float
    ust_investor_anchor_change: float
    ust_investor_elasticity: float
    ust_investor_extra_change: float
    ust_investor_units: float
    jgb_investor_anchor_change: float
    jgb_investor_elasticity: float
    jgb_investor_extra_change: float
    jgb_investor_units: float
    ust_duration: float
    jgb_duration: float
    ust_new_supply_units: float
    jgb_new_supply_units: float
    exogenous_usd_bn: float
    exogenous_ust_units: float
    exogenous_jgb_units: float
    margin_call_band: float
    ycc_cap: float = 0.0  # BoJ yield-curve control: 10y cap (only used when ycc_units_per_unit_yield > 0)
    ycc_units_per_unit_yield: float = 0.0


class ClearingResult(NamedTuple):
    usdjpy: float
    ust10y_yield: float
    jgb10y_yield: float
    iterations: int
    residual: float  # max over markets of |excess demand| / gross volume
    residual_fx: float
    residual_ust: float
    residual_jgb: float
    gross_fx_usd_bn: float
    gross_ust_units: float
    gross_jgb_units: float
    converged: bool
    # signed excess demand left at the cleared prices (within tolerance); the dealers take it
    excess_fx_usd_bn: float
    excess_ust_units: float
    excess_jgb_units: float
    # ln S at which the solver evaluated the flows (``usdjpy = exp(log_usdjpy)``)
    log_usdjpy: float


@njit(cache=True)
def rest_excess(s, y_us, y_jp, inp, z, jac, gross):
    """Excess demand of everyone but the hedge funds, its Jacobian and gross volumes."""
    d_fx, d_fx_ds = fx_flow(s, inp.s_prev, inp.dealer_fx_inventory, inp.dealer_fx_capacity, inp.dealer_decay)
    rm, rm_ds, rm_dyus, rm_dyjp = fundamental_flow(
        s,
        y_us,
        y_jp,
        inp.infl_us,
        inp.infl_jp,
        inp.real_money_log_anchor,
        inp.real_money_gap_ref,
        inp.real_money_fiscal_premium,
        inp.real_money_beta,
        inp.real_money_capacity,
        inp.real_money_kept,
    )
    d_ust, d_ust_dy = bond_flow(
        y_us, inp.yus_prev, inp.dealer_ust_inventory, inp.dealer_ust_capacity_units, inp.dealer_decay
    )
    inv_ust, inv_ust_dy = bond_investor_flow(
        y_us,
        inp.yus_prev,
        inp.ust_investor_anchor_change,
        inp.ust_investor_elasticity,
        inp.ust_investor_extra_change,
        inp.ust_duration,
        inp.ust_investor_units,
    )
    d_jgb, d_jgb_dy = bond_flow(
        y_jp, inp.yjp_prev, inp.dealer_jgb_inventory, inp.dealer_jgb_capacity_units, inp.dealer_decay
    )
    inv_jgb, inv_jgb_dy = bond_investor_flow(
        y_jp,
        inp.yjp_prev,
        inp.jgb_investor_anchor_change,
        inp.jgb_investor_elasticity,
        inp.jgb_investor_extra_change,
        inp.jgb_duration,
        inp.jgb_investor_units,
    )
    z[0] = d_fx + rm + inp.trade_flow_usd_bn + inp.exogenous_usd_bn
    z[1] = d_ust + inv_ust + inp.exogenous_ust_units - inp.ust_new_supply_units
    # yield-curve control: the BoJ buys without limit above the cap (a very elastic demand)
    ycc = 0.0
    ycc_dy = 0.0
    if inp.ycc_units_per_unit_yield > 0.0 and y_jp > inp.ycc_cap:
        ycc = inp.ycc_units_per_unit_yield * (y_jp - inp.ycc_cap)
        ycc_dy = inp.ycc_units_per_unit_yield
    z[2] = d_jgb + inv_jgb + ycc + inp.exogenous_jgb_units - inp.jgb_new_supply_units

    jac[0, 0] = d_fx_ds + rm_ds
    jac[0, 1] = rm_dyus
    jac[0, 2] = rm_dyjp
    jac[1, 0] = 0.0
    jac[1, 1] = d_ust_dy + inv_ust_dy
    jac[1, 2] = 0.0
    jac[2, 0] = 0.0
    jac[2, 1] = 0.0
    jac[2, 2] = d_jgb_dy + inv_jgb_dy + ycc_dy

    gross[0] = abs(d_fx) + abs(rm) + abs(inp.trade_flow_usd_bn) + abs(inp.exogenous_usd_bn)
    gross[1] = abs(d_ust) + abs(inv_ust) + abs(inp.exogenous_ust_units) + abs(inp.ust_new_supply_units)
    gross[2] = abs(d_jgb) + abs(inv_jgb) + ycc + abs(inp.exogenous_jgb_units) + abs(inp.jgb_new_supply_units)


@njit(cache=True)
def add_fund_demand(hf, z, jac, gross):
    """Add the hedge funds' aggregate (a :class:`~agents.hedge_funds.FundAggregate` tuple)."""
    usd, usd_ds, usd_dy, ust, ust_ds, ust_dy, gross_usd, gross_ust = hf
    z[0] += usd
    z[1] += ust
    jac[0, 0] += usd_ds
    jac[0, 1] += usd_dy
    jac[1, 0] += ust_ds
    jac[1, 1] += ust_dy
    gross[0] += gross_usd
    gross[1] += gross_ust


@njit(cache=True)
def excess_demand(s, y_us, y_jp, inp, book, z, jac, gross):
    """Excess demand ``z`` (3,), its Jacobian ``jac`` (3, 3) and gross volumes at ``(s, y_us, y_jp)``.

    ``book`` is the funds' state and output arrays, :func:`fund_book`; the funds' new positions
    and margin-call flags at these prices are written into its last two arrays.
    """
    ust_units, loan_jpy_tn, cash_usd_bn, alive, target, lam_init, lam_maint, speed, forced, out_x, out_called = book
    rest_excess(s, y_us, y_jp, inp, z, jac, gross)
    price_us = math.exp(-inp.ust_duration * y_us)
    k = 1000.0 * math.exp(-s)
    hf = aggregate_demand(
        ust_units, loan_jpy_tn, cash_usd_bn, alive, target, lam_init, lam_maint, speed,
        price_us, k, inp.ust_duration, inp.margin_call_band, forced, out_x, out_called,
    )  # fmt: skip
    add_fund_demand(hf, z, jac, gross)


def fund_book(funds, forced_sales: bool) -> tuple:
    """The funds' arrays in the order the solver takes them (inputs, switch, outputs)."""
    return (
        funds.ust_units, funds.loan_jpy_tn, funds.cash_usd_bn, funds.alive, funds.target_leverage,
        funds.init_leverage, funds.maint_leverage, funds.speed, forced_sales, funds.position_new_usd_bn,
        funds.margin_called,
    )  # fmt: skip


@njit(cache=True)
def _solve3(a, b, out):
    """Solve the 3×3 system ``a·out = b`` by Gaussian elimination with partial pivoting.

    Returns False when ``a`` is numerically singular. ``a`` and ``b`` are overwritten.
    """
    n = 3
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
def _residuals(z, gross, res):
    worst = 0.0
    for m in range(3):
        g = gross[m]
        if g < VOLUME_FLOOR:
            g = VOLUME_FLOOR
        res[m] = abs(z[m]) / g
        if not np.isfinite(res[m]):
            res[m] = np.inf
        if res[m] > worst:
            worst = res[m]
    return worst


@njit(cache=True)
def solve_clearing(inp, book, tol, max_iter):
    """Damped Newton from yesterday's close. Returns the fields of :class:`ClearingResult`.

    The merit function is ``Σ (z_m / scale_m)²`` with the scales fixed at the first iterate, so
    the backtracking line search compares like with like across trial prices.
    """
    z = np.empty(3)
    jac = np.empty((3, 3))
    gross = np.empty(3)
    res = np.empty(3)
    scale = np.empty(3)
    dp = np.empty(3)
    rhs = np.empty(3)
    s = inp.s_prev
    y_us = inp.yus_prev
    y_jp = inp.yjp_prev
    excess_demand(s, y_us, y_jp, inp, book, z, jac, gross)
    for m in range(3):
        scale[m] = max(gross[m], VOLUME_FLOOR)
    worst = _residuals(z, gross, res)
    it = 0
    converged = worst <= tol
    while not converged and it < max_iter:
        it += 1
        for m in range(3):
            rhs[m] = -z[m]
        if not _solve3(jac.copy(), rhs, dp):
            break
        # cap the step so that trial prices stay in range
        cap = 1.0
        if abs(dp[0]) > MAX_STEP_S:
            cap = min(cap, MAX_STEP_S / abs(dp[0]))
        if abs(dp[1]) > MAX_STEP_Y:
            cap = min(cap, MAX_STEP_Y / abs(dp[1]))
        if abs(dp[2]) > MAX_STEP_Y:
            cap = min(cap, MAX_STEP_Y / abs(dp[2]))
        merit0 = 0.0
        for m in range(3):
            merit0 += (z[m] / scale[m]) ** 2
        t = cap
        accepted = False
        merit = np.inf
        for attempt in range(60):
            excess_demand(s + t * dp[0], y_us + t * dp[1], y_jp + t * dp[2], inp, book, z, jac, gross)
            merit = 0.0
            for m in range(3):
                merit += (z[m] / scale[m]) ** 2
            if np.isfinite(merit) and merit <= (1.0 - 1e-4 * t) * merit0:
                accepted = True
                break
            if attempt < 59:  # the last trial stays evaluated: z and the flows describe the step taken
                t *= 0.5
        if not accepted:
            # accept the smallest step anyway if it is no worse: progress at kinks
            if not (np.isfinite(merit) and merit <= merit0):
                break
        s += t * dp[0]
        y_us += t * dp[1]
        y_jp += t * dp[2]
        worst = _residuals(z, gross, res)
        converged = worst <= tol
    if not converged:
        # make sure the funds' outputs describe the final iterate
        excess_demand(s, y_us, y_jp, inp, book, z, jac, gross)
        worst = _residuals(z, gross, res)
        converged = worst <= tol
    return (math.exp(s), y_us, y_jp, it, worst, res[0], res[1], res[2], gross[0], gross[1], gross[2], converged,
            z[0], z[1], z[2], s)  # fmt: skip


@njit(cache=True)
def _solve_bond_yield(m, s, y_us, y_jp, inp, book, z, jac, gross, tol):
    """Clear market ``m`` (1 = UST, 2 = JGB) in its own yield, the others fixed: bracketed Newton.

    Returns the yield. Demand rises with the yield (investors and dealers buy cheaper bonds); the
    bracket starts ±50 pp around the guess and widens if it does not contain a sign change.
    """
    y = y_us if m == 1 else y_jp
    lo = y - 0.5
    hi = y + 0.5
    for _ in range(200):
        if m == 1:
            excess_demand(s, y, y_jp, inp, book, z, jac, gross)
        else:
            excess_demand(s, y_us, y, inp, book, z, jac, gross)
        g = max(gross[m], VOLUME_FLOOR)
        if abs(z[m]) / g <= tol:
            return y
        if z[m] > 0.0:
            hi = y
        else:
            lo = y
        slope = jac[m, m]
        y_new = y - z[m] / slope if slope > 0.0 else 0.5 * (lo + hi)
        if not (lo < y_new < hi):
            y_new = 0.5 * (lo + hi)
        if y_new == y:
            return y
        y = y_new
    return y


@njit(cache=True)
def _fx_gap(s, y_us, y_jp, inp, book, z, jac, gross, tol):
    """FX excess demand at ``s`` with the UST market cleared; returns ``(z_fx, y_us)``."""
    y = _solve_bond_yield(1, s, y_us, y_jp, inp, book, z, jac, gross, tol)
    excess_demand(s, y, y_jp, inp, book, z, jac, gross)
    return z[0], y


@njit(cache=True)
def solve_clearing_bracketed(inp, book, tol):
    """Robust fallback: clear the JGB market, then search USD/JPY for a sign change of FX
    excess demand (UST cleared inside) outward from yesterday's close, and bisect it.

    When fire sales make excess demand non-monotone there may be several equilibria; this picks
    the first one reached moving from yesterday's close in the direction the excess demand
    pushes the price (tâtonnement), which is where Newton fails: it stalls at a local extremum
    of excess demand that does not reach zero.
    """
    z = np.empty(3)
    jac = np.empty((3, 3))
    gross = np.empty(3)
    res = np.empty(3)
    y_jp = _solve_bond_yield(2, inp.s_prev, inp.yus_prev, inp.yjp_prev, inp, book, z, jac, gross, tol)
    s0 = inp.s_prev
    g0, y0 = _fx_gap(s0, inp.yus_prev, y_jp, inp, book, z, jac, gross, tol)
    evals = 1
    direction = 1.0 if g0 > 0.0 else -1.0  # excess demand for dollars lifts USD/JPY
    a, ga, ya = s0, g0, y0
    b, gb, yb = s0, g0, y0
    step = 0.002
    found = g0 == 0.0
    while not found and step < 3.0:
        b = s0 + direction * step
        gb, yb = _fx_gap(b, ya, y_jp, inp, book, z, jac, gross, tol)
        evals += 1
        if (gb > 0.0) != (ga > 0.0) or gb == 0.0:
            found = True
            break
        a, ga, ya = b, gb, yb
        step *= 1.6
    s = a
    y_us = ya
    if found:
        # bisection (robust at kinks and steep fire-sale stretches) to the clearing tolerance
        for _ in range(200):
            mid = 0.5 * (a + b)
            if mid == a or mid == b:
                break
            gm, ym = _fx_gap(mid, ya, y_jp, inp, book, z, jac, gross, tol)
            evals += 1
            if abs(gm) / max(gross[0], VOLUME_FLOOR) <= tol:
                a, ya = mid, ym
                b = mid
                break
            if (gm > 0.0) == (ga > 0.0):
                a, ga, ya = mid, gm, ym
            else:
                b, gb, yb = mid, gm, ym
        s = a if abs(ga) <= abs(gb) else b
        y_us = ya if abs(ga) <= abs(gb) else yb
    y_us = _solve_bond_yield(1, s, y_us, y_jp, inp, book, z, jac, gross, tol)
    excess_demand(s, y_us, y_jp, inp, book, z, jac, gross)
    worst = _residuals(z, gross, res)
    return (math.exp(s), y_us, y_jp, evals, worst, res[0], res[1], res[2], gross[0], gross[1], gross[2],
            worst <= tol, z[0], z[1], z[2], s)  # fmt: skip


def clear(
    inp: ClearingInputs, funds, forced_sales: bool, *, day: int, tol: float = DEFAULT_TOL, max_iter: int = MAX_ITER
) -> ClearingResult:
    """Clear the three markets for one day; raise :class:`ClearingError` if that fails."""
    book = fund_book(funds, forced_sales)
    result = ClearingResult(*solve_clearing(inp, book, tol, max_iter))
    if not result.converged:
        # Newton stalls where fire sales make excess demand non-monotone: bracket instead
        fallback = ClearingResult(*solve_clearing_bracketed(inp, book, tol))
        result = fallback._replace(iterations=result.iterations + fallback.iterations)
    prices_ok = all(math.isfinite(v) for v in result[:3]) and result.usdjpy > 0
    if not (result.converged and prices_ok):
        raise ClearingError(
            f"markets did not clear on day {day} after {result.iterations} iterations: "
            f"USD/JPY={result.usdjpy:.6g}, UST10y={result.ust10y_yield:.6g}, JGB10y={result.jgb10y_yield:.6g}, "
            f"residuals fx={result.residual_fx:.3g} ust={result.residual_ust:.3g} jgb={result.residual_jgb:.3g} "
            f"(tolerance {tol:g}); previous close USD/JPY={math.exp(inp.s_prev):.6g}, "
            f"UST10y={inp.yus_prev:.6g}, JGB10y={inp.yjp_prev:.6g}; live funds={int(funds.alive.sum())}"
        )
    return result
