"""The market-clearing solvers, compiled inside the composed clearing module.

This file is not imported: :mod:`model.compose` copies its source below the generated
``excess_demand`` (the registered sectors' flows, summed in registration order), so that every
function here calls that composition as a module global and numba's on-disk cache keeps working
(a cached kernel may not receive other compiled functions as arguments or close over them).

``inputs`` is the tuple of the sectors' NamedTuples for the day, ``prev`` yesterday's close
``(ln S, y_us, y_jp)``, ``work`` a :class:`model.clearing.Work` of scratch arrays (``z``, ``jac``,
``gross`` and each sector's flows at the last evaluation, which settlement uses).
"""
# ruff: noqa: F821  (excess_demand is defined by the generated module this source is appended to)

import math

import numpy as np
from numba import njit

from model.clearing import MAX_STEP_S, MAX_STEP_Y, VOLUME_FLOOR, residuals, solve3


@njit(cache=True)
def solve_clearing(inputs, prev, work, tol, max_iter):
    """Damped Newton from yesterday's close. Returns the fields of :class:`ClearingResult`.

    The merit function is ``Σ (z_m / scale_m)²`` with the scales fixed at the first iterate, so
    the backtracking line search compares like with like across trial prices.
    """
    z = work.z
    jac = work.jac
    gross = work.gross
    res = np.empty(3)
    scale = np.empty(3)
    dp = np.empty(3)
    rhs = np.empty(3)
    s = prev[0]
    y_us = prev[1]
    y_jp = prev[2]
    excess_demand(s, y_us, y_jp, inputs, work)
    for m in range(3):
        scale[m] = max(gross[m], VOLUME_FLOOR)
    worst = residuals(work.z, work.gross, res)
    it = 0
    converged = worst <= tol
    while not converged and it < max_iter:
        it += 1
        for m in range(3):
            rhs[m] = -z[m]
        if not solve3(jac.copy(), rhs, dp):
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
            excess_demand(s + t * dp[0], y_us + t * dp[1], y_jp + t * dp[2], inputs, work)
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
        worst = residuals(work.z, work.gross, res)
        converged = worst <= tol
    if not converged:
        # make sure the funds' outputs describe the final iterate
        excess_demand(s, y_us, y_jp, inputs, work)
        worst = residuals(work.z, work.gross, res)
        converged = worst <= tol
    return (math.exp(s), y_us, y_jp, it, worst, res[0], res[1], res[2], gross[0], gross[1], gross[2], converged,
            z[0], z[1], z[2], s)  # fmt: skip


@njit(cache=True)
def solve_bond_yield(m, s, y_us, y_jp, inputs, work, tol):
    """Clear market ``m`` (1 = UST, 2 = JGB) in its own yield, the others fixed: bracketed Newton.

    Returns the yield. Demand rises with the yield (investors and dealers buy cheaper bonds); the
    bracket starts ±50 pp around the guess and widens if it does not contain a sign change.
    """
    z = work.z
    jac = work.jac
    gross = work.gross
    y = y_us if m == 1 else y_jp
    lo = y - 0.5
    hi = y + 0.5
    for _ in range(200):
        if m == 1:
            excess_demand(s, y, y_jp, inputs, work)
        else:
            excess_demand(s, y_us, y, inputs, work)
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
def fx_gap(s, y_us, y_jp, inputs, work, tol):
    """FX excess demand at ``s`` with the UST market cleared; returns ``(z_fx, y_us)``."""
    y = solve_bond_yield(1, s, y_us, y_jp, inputs, work, tol)
    excess_demand(s, y, y_jp, inputs, work)
    return work.z[0], y


@njit(cache=True)
def solve_clearing_bracketed(inputs, prev, work, tol):
    """Robust fallback: clear the JGB market, then search USD/JPY for a sign change of FX
    excess demand (UST cleared inside) outward from yesterday's close, and bisect it.

    When fire sales make excess demand non-monotone there may be several equilibria; this picks
    the first one reached moving from yesterday's close in the direction the excess demand
    pushes the price (tâtonnement), which is where Newton fails: it stalls at a local extremum
    of excess demand that does not reach zero.
    """
    z = work.z
    gross = work.gross
    res = np.empty(3)
    y_jp = solve_bond_yield(2, prev[0], prev[1], prev[2], inputs, work, tol)
    s0 = prev[0]
    g0, y0 = fx_gap(s0, prev[1], y_jp, inputs, work, tol)
    evals = 1
    direction = 1.0 if g0 > 0.0 else -1.0  # excess demand for dollars lifts USD/JPY
    a, ga, ya = s0, g0, y0
    b, gb, yb = s0, g0, y0
    step = 0.002
    found = g0 == 0.0
    while not found and step < 3.0:
        b = s0 + direction * step
        gb, yb = fx_gap(b, ya, y_jp, inputs, work, tol)
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
            gm, ym = fx_gap(mid, ya, y_jp, inputs, work, tol)
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
    y_us = solve_bond_yield(1, s, y_us, y_jp, inputs, work, tol)
    excess_demand(s, y_us, y_jp, inputs, work)
    worst = residuals(work.z, work.gross, res)
    return (math.exp(s), y_us, y_jp, evals, worst, res[0], res[1], res[2], gross[0], gross[1], gross[2],
            worst <= tol, z[0], z[1], z[2], s)  # fmt: skip
