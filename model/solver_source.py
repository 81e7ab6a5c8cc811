"""The market-clearing solvers, compiled inside the composed clearing module.

This file is not imported: :mod:`model.compose` copies its source below the generated
``excess_demand`` (the registered sectors' flows, summed in registration order), so that every
function here calls that composition as a module global and numba's on-disk cache keeps working
(a cached kernel may not receive other compiled functions as arguments or close over them).

``inputs`` is the tuple of the sectors' NamedTuples for the day, ``prev`` yesterday's close as a
price vector ``(ln S, y_us, y_jp, b, y_jp30)``, ``work`` a :class:`model.clearing.Work` of scratch arrays
(``z``, ``jac``, ``gross`` and each sector's flows at the last evaluation, which settlement uses).
Every solver returns ``(p, iterations, worst, res, gross, converged, z)``: the prices, the count of
iterations or evaluations, the worst relative residual, the residuals, gross volumes and excess
demand per market at ``p`` (copies).
"""
# ruff: noqa: F821  (excess_demand is defined by the generated module this source is appended to)

import math

import numpy as np
from numba import njit

from model.clearing import MAX_STALLED, MAX_STEP, OWN_SIGN, STALL_DECREASE, VOLUME_FLOOR, residuals, solve_linear


@njit(cache=True)
def solve_clearing(inputs, prev, work, tol, max_iter):
    """Damped Newton from yesterday's close in all markets at once.

    The merit function is ``Σ (z_m / scale_m)²`` with the scales fixed at the first iterate, so
    the backtracking line search compares like with like across trial prices. Where no step gives a
    sufficient decrease, the smallest one is taken if it is no worse (it may cross a kink, after
    which Newton can go on). After ``MAX_STALLED`` iterations in a row that lower the merit function
    by less than the share ``STALL_DECREASE`` (tiny steps the line search accepts because their
    decrease, however small, is proportional to them), Newton has stalled near a local minimum of
    the merit function that is not a root, and it stops, unconverged, for the bracketed solver.
    """
    z = work.z
    gross = work.gross
    n = z.shape[0]
    res = np.empty(n)
    scale = np.empty(n)
    a = np.empty((n, n))
    rhs = np.empty(n)
    dp = np.empty(n)
    p = prev.copy()
    trial = np.empty(n)
    last = np.zeros(n + 1)  # the prices of the last evaluation (none yet): evaluate_once
    evaluate_once(p, inputs, work, last)
    for m in range(n):
        scale[m] = max(gross[m], VOLUME_FLOOR)
    worst = residuals(z, gross, res)
    it = 0
    stalled = 0
    converged = worst <= tol
    while not converged and it < max_iter and stalled < MAX_STALLED:
        it += 1
        _, status, merit0, merit = newton_step(p, 0, inputs, work, scale, trial, a, rhs, dp, 60, last)
        if status == STEP_FAILED:
            break
        # status STEP_NO_WORSE: the smallest step is taken anyway: progress at kinks
        stalled = stalled + 1 if merit > (1.0 - STALL_DECREASE) * merit0 else 0
        for m in range(n):
            p[m] = trial[m]
        worst = residuals(z, gross, res)
        converged = worst <= tol
    if not converged:
        # make sure the sectors' outputs describe the final iterate
        evaluate_once(p, inputs, work, last)
        worst = residuals(z, gross, res)
        converged = worst <= tol
    return p.copy(), it, worst, res, gross.copy(), converged, z.copy()


@njit(cache=True)
def evaluate_once(p, inputs, work, last):
    """``excess_demand(p, inputs, work)`` unless the previous call through here was at the same prices.

    ``last`` holds the prices of that call and, in its last element, 1.0 once it is valid (0.0 to start).
    Returns the number of evaluations made: 1, or 0 when the last one was reused.
    ``excess_demand`` is a function of the prices and the day's inputs alone (each evaluation starts
    from zeroed scratch arrays and rewrites every output), so an evaluation at identical prices, bit
    for bit and sign of zero included, would write identical numbers: it is skipped, and ``work`` and
    the sectors' outputs are already what it would have written. The bracketed solver repeats the
    evaluation at its current prices at every hand-over (one own-price solve to the next, a sweep's
    check, a bracket found to its Newton steps); only the callers here may evaluate between two calls.
    """
    n = p.shape[0]
    if last[n] == 1.0:
        same = True
        for m in range(n):
            if p[m] != last[m] or math.copysign(1.0, p[m]) != math.copysign(1.0, last[m]):
                same = False
                break
        if same:
            return 0
    excess_demand(p, inputs, work)
    for m in range(n):
        last[m] = p[m]
    last[n] = 1.0
    return 1


# the outcomes of newton_step
STEP_DECREASED = 0  # a step lowered the merit function enough
STEP_NO_WORSE = 1  # none did; the smallest step tried is no worse
STEP_FAILED = 2  # the Jacobian's block is singular, or even the smallest step is worse


@njit(cache=True)
def newton_step(p, m0, inputs, work, scale, trial, a, rhs, dp, attempts, last):
    """One damped Newton step in the prices ``p[m0:]``, the others held, from the flows evaluated at ``p``.

    Solves the Jacobian's block for those prices, caps the step by ``MAX_STEP`` and halves it, up to
    ``attempts`` trials, until the merit function ``Σ_{m ≥ m0} (z_m / scale_m)²`` falls by the
    Armijo share ``1e-4·t``. Writes the last trial into ``trial`` (``work`` describes it; ``p`` is
    not moved) and returns ``(evaluations, outcome, merit at p, merit at trial)``, the outcome one
    of ``STEP_DECREASED``, ``STEP_NO_WORSE`` and ``STEP_FAILED``. ``a`` (k × k), ``rhs`` and ``dp``
    (k) are scratch arrays, ``k = n − m0``.
    """
    z = work.z
    n = z.shape[0]
    k = n - m0
    for r in range(k):
        rhs[r] = -z[m0 + r]
        for c in range(k):
            a[r, c] = work.jac[m0 + r, m0 + c]
    if not solve_linear(a, rhs, dp):
        return 0, STEP_FAILED, np.inf, np.inf
    # cap the step so that trial prices stay in range
    cap = 1.0
    for r in range(k):
        if abs(dp[r]) > MAX_STEP[m0 + r]:
            cap = min(cap, MAX_STEP[m0 + r] / abs(dp[r]))
    merit0 = 0.0
    for m in range(m0, n):
        merit0 += (z[m] / scale[m]) ** 2
    for m in range(m0):
        trial[m] = p[m]
    t = cap
    evals = 0
    merit = np.inf
    for attempt in range(attempts):
        for r in range(k):
            trial[m0 + r] = p[m0 + r] + t * dp[r]
        evals += evaluate_once(trial, inputs, work, last)
        merit = 0.0
        for m in range(m0, n):
            merit += (z[m] / scale[m]) ** 2
        if np.isfinite(merit) and merit <= (1.0 - 1e-4 * t) * merit0:
            return evals, STEP_DECREASED, merit0, merit
        if attempt < attempts - 1:  # the last trial stays evaluated: z and the flows describe it
            t *= 0.5
    if np.isfinite(merit) and merit <= merit0:
        return evals, STEP_NO_WORSE, merit0, merit
    return evals, STEP_FAILED, merit0, merit


@njit(cache=True)
def solve_own_price(m, p, inputs, work, tol, last):
    """Clear market ``m`` in its own price, the others fixed at ``p``: bracketed Newton.

    Moves ``p[m]`` in place and returns the number of evaluations. The bracket grows outward from
    the start in the direction excess demand pushes the price, then Newton steps inside it fall
    back to bisection where they leave it.
    """
    z = work.z
    jac = work.jac
    gross = work.gross
    step = MAX_STEP[m] * 0.05
    evals = evaluate_once(p, inputs, work, last)
    if abs(z[m]) / max(gross[m], VOLUME_FLOOR) <= tol:
        return evals
    slope = jac[m, m] if jac[m, m] != 0.0 else OWN_SIGN[m]
    sign = 1.0 if slope > 0.0 else -1.0
    # excess demand z rises with the price when sign > 0: a positive z needs a lower price
    direction = -sign if z[m] > 0.0 else sign
    x0 = p[m]
    za = z[m]
    a = x0
    b = x0
    found = False
    for _ in range(60):
        b = a + direction * step
        p[m] = b
        evals += evaluate_once(p, inputs, work, last)
        if (z[m] > 0.0) != (za > 0.0) or z[m] == 0.0:
            found = True
            break
        a = b
        za = z[m]
        step *= 1.6
    if not found:  # no sign change within 60 growing steps: leave the price where it started
        p[m] = x0
        return evals
    lo, hi = (a, b) if a < b else (b, a)
    x = b
    for _ in range(200):
        p[m] = x
        evals += evaluate_once(p, inputs, work, last)
        if abs(z[m]) / max(gross[m], VOLUME_FLOOR) <= tol:
            return evals
        if (z[m] > 0.0) == (sign < 0.0):  # the root lies above x
            lo = x
        else:
            hi = x
        x_new = x - z[m] / jac[m, m] if jac[m, m] != 0.0 else 0.5 * (lo + hi)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        if x_new == x:
            return evals
        x = x_new
    return evals


@njit(cache=True)
def newton_rest(p, inputs, work, tol, last):
    """Clear every market but spot USD/JPY at ``p[0]`` by damped Newton in the other prices jointly.

    :func:`solve_clearing`'s step (:func:`newton_step`) on the Jacobian's block without spot, the merit
    scales fixed at the first iterate. Moves ``p[1:]`` in place;
    returns ``(evaluations, converged)``. It stops, unconverged, where the block is singular, no
    step lowers the merit function (a kink) or it has stalled (:func:`solve_clearing`'s rule);
    :func:`clear_rest` then sweeps from where it stopped.
    """
    z = work.z
    gross = work.gross
    n = z.shape[0]
    k = n - 1
    res = np.empty(n)
    scale = np.empty(n)
    a = np.empty((k, k))
    rhs = np.empty(k)
    dp = np.empty(k)
    trial = p.copy()
    evals = evaluate_once(p, inputs, work, last)
    for m in range(n):
        scale[m] = max(gross[m], VOLUME_FLOOR)
    stalled = 0
    for _ in range(30):
        if rest_cleared(work, res, tol):
            return evals, True
        e, status, merit0, merit = newton_step(p, 1, inputs, work, scale, trial, a, rhs, dp, 40, last)
        evals += e
        if status != STEP_DECREASED:
            return evals, False
        for r in range(k):
            p[r + 1] = trial[r + 1]
        stalled = stalled + 1 if merit > (1.0 - STALL_DECREASE) * merit0 else 0
        if stalled >= MAX_STALLED:
            return evals, False
    return evals, rest_cleared(work, res, tol)


@njit(cache=True)
def clear_rest(p, inputs, work, tol, last):
    """Clear every market but spot USD/JPY at ``p[0]``: :func:`newton_rest`, then, where it stops short,
    Gauss–Seidel sweeps of bracketed solves (:func:`solve_own_price`) from where it stopped.

    Returns the number of evaluations; ``work`` and the sectors' outputs describe ``p`` on return.
    """
    n = work.z.shape[0]
    res = np.empty(n)
    evals, converged = newton_rest(p, inputs, work, tol, last)
    if converged:
        return evals
    for _ in range(50):
        for m in range(1, n):
            evals += solve_own_price(m, p, inputs, work, tol, last)
        evals += evaluate_once(p, inputs, work, last)
        if rest_cleared(work, res, tol):
            break
    return evals


@njit(cache=True)
def rest_cleared(work, res, tol):
    """Whether every market but spot USD/JPY is within ``tol`` at the last evaluation (writes the
    relative residuals into ``res``)."""
    residuals(work.z, work.gross, res)
    for m in range(1, res.shape[0]):
        if res[m] > tol:
            return False
    return True


@njit(cache=True)
def fx_gap(p, inputs, work, tol, last):
    """FX excess demand at ``p[0]`` with the other markets cleared (moves ``p[1:]`` in place)."""
    evals = clear_rest(p, inputs, work, tol, last)
    return work.z[0], evals


# The fallback's probes move outward from yesterday's close at 0.002, 0.0032 and 0.00512 in ln S (each 1.6
# times the last), then every PROBE_SPACING: two roots between the same two probes cancel and are passed
# over, so the spacing is the resolution of "the first root reached". Growing by 1.6 all the way (as until
# 6 December 2026) put probes 1.3% apart at 2% from the close and 5% apart at 8%: on a crash-prone day
# (risk_off seed 5, max_leverage 20, day 200) it passed over two equilibria 2.5% and 2.8% below the
# close and took one 13% below, or reported none inside a bound of 10-13%. About 60 probes then cover
# the default bound of 15%, each a few evaluations, on the rare days the fallback runs. Beyond
# FINE_RANGE (a move of 28%, nearly four times the largest daily USD/JPY move on record) the probes grow
# by 1.6 again, so that a search that finds no sign change at all stops after about 100 probes, not 1,200.
PROBE_SPACING = 0.0025
FINE_RANGE = 0.25


@njit(cache=True)
def solve_clearing_bracketed(inputs, prev, work, tol, max_move=math.inf):
    """Robust fallback: search USD/JPY for a sign change of FX excess demand, the other markets
    cleared inside (:func:`clear_rest`), outward from yesterday's close, and bisect it.

    When fire sales make excess demand non-monotone there may be several equilibria; this picks
    the first one reached moving from yesterday's close in the direction the excess demand
    pushes the price (tâtonnement), which is where Newton fails: it stalls at a local extremum
    of excess demand that does not reach zero.

    ``max_move`` bounds the search in ``ln S`` to ``prev[0] ± max_move``: the last step is cut to
    end on the bound, and the search stops there (unconverged) if the sign has not changed. With
    the default (no bound) the steps are those of an unbounded search, bit for bit.
    """
    gross = work.gross
    last = np.zeros(prev.shape[0] + 1)  # the prices of the last evaluation (none yet): evaluate_once
    pa = prev.copy()
    ga, evals = fx_gap(pa, inputs, work, tol, last)
    s0 = prev[0]
    direction = 1.0 if ga > 0.0 else -1.0  # excess demand for dollars lifts USD/JPY
    pb = pa.copy()
    gb = ga
    step = 0.002
    found = ga == 0.0
    while not found and step < 3.0:
        move = min(step, max_move)
        pb = pa.copy()
        pb[0] = s0 + direction * move
        gb, e = fx_gap(pb, inputs, work, tol, last)
        evals += e
        if (gb > 0.0) != (ga > 0.0) or gb == 0.0:
            found = True
            break
        pa = pb.copy()
        ga = gb
        if move >= max_move:  # the bound reached without a sign change: no root inside it this way
            break
        step = min(step * 1.6, step + PROBE_SPACING) if step < FINE_RANGE else step * 1.6
    best = pa
    if found:
        # bisection (robust at kinks and steep fire-sale stretches) to the clearing tolerance
        for _ in range(200):
            mid = 0.5 * (pa[0] + pb[0])
            if mid == pa[0] or mid == pb[0]:
                break
            pm = pa.copy()
            pm[0] = mid
            gm, e = fx_gap(pm, inputs, work, tol, last)
            evals += e
            if abs(gm) / max(gross[0], VOLUME_FLOOR) <= tol:
                pa = pm
                pb = pm.copy()
                ga = gb = gm
                break
            if (gm > 0.0) == (ga > 0.0):
                pa, ga = pm, gm
            else:
                pb, gb = pm, gm
        best = pa if abs(ga) <= abs(gb) else pb
    evals += clear_rest(best, inputs, work, tol, last)
    evals += evaluate_once(best, inputs, work, last)
    n = work.z.shape[0]
    res = np.empty(n)
    worst = residuals(work.z, gross, res)
    return best.copy(), evals, worst, res, gross.copy(), worst <= tol, work.z.copy()
