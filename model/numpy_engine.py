"""The hedge-fund sector vectorised with NumPy: the benchmark's middle engine (``engine="numpy"``).

The funds' rules of :mod:`agents.hedge_funds` (``fund_decision``, ``fund_trade``, ``fund_settle`` and
the sums of ``accumulate``) applied to whole arrays at once, with no numba in the sector: each
rule's branches become masks, and each expression is evaluated in the same order of operations as
the compiled rule, so every fund's numbers are the same to the last bit. Sums over funds are taken
in the order the compiled kernels add them: the clearing's aggregates and the settlement's totals
in row order (``np.add.accumulate``, a running sum), the holdings after settlement with
``ndarray.sum`` (pairwise, as :func:`agents.hedge_funds.fund_sums` adds them), so the aggregates,
and hence the prices, match the compiled engine bit for bit as well.

The state stays in the sector's arrays (:class:`agents.hedge_funds.HedgeFundState`); no copy to
mirror. The other sectors keep their compiled flows; the clearing's solvers run as plain Python
(:meth:`model.compose.ComposedClearing.plain`), since a compiled solver cannot call NumPy code.
"""

from __future__ import annotations

import math

import numpy as np

from agents import hedge_funds as hf
from model.sector import FX, TRADING_DAYS, UST

__all__ = ["NumpyFundSector", "running_sum"]

# the plain Python function (with numba's JIT disabled, @njit returns the function itself)
_add_aggregate = getattr(hf.add_aggregate, "py_func", hf.add_aggregate)


def running_sum(a: np.ndarray) -> float:
    """``0.0 + a[0] + a[1] + …`` added left to right, as a compiled loop does (``np.sum`` pairs terms).

    >>> running_sum(np.array([1e16, 1.0, -1e16]))
    0.0
    """
    if a.size == 0:
        return 0.0
    # a running sum starting from a[0] instead of 0.0 differs only in the sign of an all-zero total
    return float(np.add.accumulate(a)[-1]) + 0.0


class NumpyFundSector:
    """Drives the fund arrays with NumPy in place of the compiled kernels (``engine="numpy"``).

    Parameters
    ----------
    model
        The :class:`model.model.CarryUnwindModel` (its ``day`` is read at settlement).
    sector
        The :class:`agents.hedge_funds.HedgeFunds` sector whose ``state`` this engine updates.
    """

    def __init__(self, model, sector: hf.HedgeFunds) -> None:
        self.model = model
        self.sector = sector

    # -- decide ------------------------------------------------------------------------------
    def decide(self, **observations: float) -> None:
        """:func:`agents.hedge_funds.fund_decision` for every fund at once."""
        s, obs, rules = self.sector.state, hf.Observation(**observations), hf.decision_rules(self.sector.config)
        stress = 1.0
        if obs.vol_ratio > 1.0 and rules.margin_vol_elasticity > 0.0:
            stress = obs.vol_ratio**rules.margin_vol_elasticity
        m_fx = np.minimum(1.0, stress / s.leverage_cap)
        m_ust = min(1.0, stress * rules.ust_haircut)
        expected = obs.carry_pa + s.trend_weight * obs.trend_pa - s.value_weight * obs.misvaluation
        t_fx = np.maximum(expected / (s.risk_aversion * obs.var_pa), 0.0)
        targeted = s.vol_target_pa > 0.0
        t_fx[targeted] = np.minimum(t_fx[targeted], s.vol_target_pa[targeted] / np.sqrt(obs.var_pa))
        t_ust = np.zeros_like(t_fx)
        leg = s.duration_leg
        excess = obs.ust_excess_pa - s.funding_spread_pa[leg]  # net of each fund's repo spread
        t_ust[leg] = np.maximum(excess / (s.risk_aversion[leg] * obs.ust_var_pa), 0.0)
        usage = m_fx * t_fx + m_ust * t_ust
        over = usage > 1.0  # one margin account: both legs within the initial margin
        t_fx[over] /= usage[over]
        t_ust[over] /= usage[over]
        trading = s.alive & ~s.liquidating  # dead and liquidating funds: the order of a fund that trades nothing
        s.target_fx[:] = np.where(trading, t_fx, 0.0)
        s.target_ust[:] = np.where(trading, t_ust, 0.0)
        s.margin_fx[:] = np.where(trading, m_fx, 1.0)
        s.margin_ust[:] = np.where(trading, m_ust, 1.0)
        s.maint_usage[:] = np.where(trading, 1.0 / rules.maintenance_ratio, 0.0)
        s.speed[:] = np.where(trading, rules.adjustment_speed, 1.0)

    # -- clear ---------------------------------------------------------------------------------
    def flows(self, p, book: hf.FundBook, z, jac, gross, out, aux) -> None:
        """:func:`agents.hedge_funds.fund_flows` with every live fund's trade computed at once."""
        price = math.exp(-book.duration * p[UST])
        ratio = math.exp(book.s_prev - p[FX])
        live = np.flatnonzero(book.alive)
        if live.size == book.alive.shape[0]:
            live = slice(None)  # every fund alive: views of the arrays, not copies
        x, v, dx_ds, dx_dy, dv_ds, dv_dy, called, forced, dforced_ds, dforced_dy = self.trade(
            book.fwd_usd_bn[live], book.ust_units[live], book.cash_usd_bn[live], book.target_fx[live],
            book.target_ust[live], book.margin_fx[live], book.margin_ust[live], book.maint_usage[live],
            book.speed[live], ratio, price, book.duration, book.band, book.forced_sales,
        )  # fmt: skip
        if not isinstance(live, slice):
            for arr, value in ((book.out_x, 0.0), (book.out_v, 0.0), (book.out_called, False), (book.out_forced, 0.0)):
                arr[:] = value
        book.out_x[live], book.out_v[live], book.out_called[live], book.out_forced[live] = x, v, called, forced
        fwd_old, units_old = book.fwd_usd_bn[live], book.ust_units[live]
        inv_p = 1.0 / price
        bought = v * inv_p - units_old
        terms = (x - fwd_old, dx_ds, dx_dy, bought, dv_ds * inv_p, (dv_dy + book.duration * v) * inv_p,
                 np.abs(x - fwd_old), np.abs(bought), forced, dforced_ds, dforced_dy)  # fmt: skip
        _add_aggregate(tuple(running_sum(t) for t in terms), z, jac, gross, out, aux)

    @staticmethod
    def trade(fwd, units, cash, t_fx, t_ust, m_fx, m_ust, lam, k, ratio, price, d, band, forced_sales):
        """:func:`agents.hedge_funds.fund_trade` over arrays of funds; returns its ten outputs as arrays."""
        with np.errstate(divide="ignore", invalid="ignore"):
            v_old = units * price
            equity = cash + v_old + fwd * (1.0 - ratio)
            closing = (equity <= 0.0) | (lam <= 0.0)
            de_ds = fwd * ratio
            de_dy = -d * v_old
            x = fwd + k * (t_fx * equity - fwd)
            dx_ds = k * t_fx * de_ds
            dx_dy = k * t_fx * de_dy
            v = v_old + k * (t_ust * equity - v_old)
            dv_ds = k * t_ust * de_ds
            dv_dy = (1.0 - k) * de_dy + k * t_ust * de_dy
            forced = np.zeros_like(x)
            dforced_ds = np.zeros_like(x)
            dforced_dy = np.zeros_like(x)
            g_old = m_fx * fwd + m_ust * v_old
            usage = g_old / equity
            called = (usage > lam) & ~closing
            c = np.flatnonzero(called)
            if c.size:
                e, g, u, lc, mx, mu = equity[c], g_old[c], usage[c], lam[c], m_fx[c], m_ust[c]
                dsE, dyE = de_ds[c], de_dy[c]
                dg_old_dy = mu * (-d * v_old[c])
                du_ds = -g * dsE / (e * e)
                du_dy = (dg_old_dy * e - g * dyE) / (e * e)
                if forced_sales:
                    width = band * lc
                    f = (u - lc) / width
                    df_ds = du_ds / width
                    df_dy = du_dy / width
                else:
                    f = 1.0 - lc / u
                    df_ds = lc * du_ds / (u * u)
                    df_dy = lc * du_dy / (u * u)
                full = f >= 1.0
                f[full], df_ds[full], df_dy[full] = 1.0, 0.0, 0.0
                g_f = g - f * (g - e)
                dgf_ds = -df_ds * (g - e) + f * dsE
                dgf_dy = dg_old_dy - df_dy * (g - e) - f * (dg_old_dy - dyE)
                xc, vc = x[c], v[c]
                g_v = mx * xc + mu * vc
                cut = g_f < g_v
                if cut.any():
                    rows = c[cut]
                    xc, vc, gf, gv, mx, mu = xc[cut], vc[cut], g_f[cut], g_v[cut], mx[cut], mu[cut]
                    xs, xy, vs, vy = dx_ds[rows], dx_dy[rows], dv_ds[rows], dv_dy[rows]
                    dgv_ds = mx * xs + mu * vs
                    dgv_dy = mx * xy + mu * vy
                    cc = gf / gv
                    dc_ds = (dgf_ds[cut] * gv - gf * dgv_ds) / (gv * gv)
                    dc_dy = (dgf_dy[cut] * gv - gf * dgv_dy) / (gv * gv)
                    forced[rows] = xc * (1.0 - cc)
                    dforced_ds[rows] = xs * (1.0 - cc) - xc * dc_ds
                    dforced_dy[rows] = xy * (1.0 - cc) - xc * dc_dy
                    dx_ds[rows], dx_dy[rows] = xs * cc + xc * dc_ds, xy * cc + xc * dc_dy
                    dv_ds[rows], dv_dy[rows] = vs * cc + vc * dc_ds, vy * cc + vc * dc_dy
                    x[rows] = xc * cc
                    v[rows] = vc * cc
            neg = x < 0.0
            x[neg], dx_ds[neg], dx_dy[neg] = 0.0, 0.0, 0.0
            neg = v < 0.0
            v[neg], dv_ds[neg], dv_dy[neg] = 0.0, 0.0, 0.0
            if closing.any():
                for arr in (x, v, dx_ds, dx_dy, dv_ds, dv_dy, dforced_ds, dforced_dy):
                    arr[closing] = 0.0
                called[closing] = (equity[closing] <= 0.0) & ((fwd[closing] > 0.0) | (units[closing] > 0.0))
                # a liquidated fund's whole forward; one with no equity left, (1 − κ)·X (as fund_trade)
                forced[closing] = np.where(lam[closing] <= 0.0, fwd[closing], (1.0 - k[closing]) * fwd[closing])
        return x, v, dx_ds, dx_dy, dv_ds, dv_dy, called, forced, dforced_ds, dforced_dy

    # -- settle ------------------------------------------------------------------------------
    def settle(self, prices: hf.SettlePrices) -> hf.SettleTotals:
        """:func:`agents.hedge_funds.fund_settle` for every live fund, then failures and re-entries."""
        s, rules, day = self.sector.state, hf.settle_rules(self.sector.config), self.model.day
        live = np.flatnonzero(s.alive)
        back = np.flatnonzero(~s.alive & (s.reentry_day >= 0) & (day >= s.reentry_day))
        calls = int(np.count_nonzero(s.margin_called[live]))
        fwd, units, cash, book, perf = (s.fwd_usd_bn[live], s.ust_units[live], s.cash_usd_bn[live],
                                        s.equity_book_usd_bn[live], s.perf_ema[live])  # fmt: skip
        capital0, liquidating = s.initial_capital_usd_bn[live], s.liquidating[live]
        x, v = s.fwd_new_usd_bn[live], s.ust_new_usd_bn[live]
        with np.errstate(divide="ignore", invalid="ignore"):
            price = prices.price
            vm = fwd * (1.0 - prices.ratio)
            equity = cash + units * price + vm
            bust = equity <= 0.0
            reval = units * (price - prices.price_prev) + vm
            cash = cash + vm + units * price - v
            units = v / price
            carry = x * prices.forward_carry
            coupon = v * prices.y_us / TRADING_DAYS
            rate = np.where(cash >= 0.0, prices.r_us, prices.r_us + s.funding_spread_pa[live])
            interest = cash * rate / TRADING_DAYS
            cash += carry + coupon + interest
            new_book = book + reval + carry + coupon + interest
            ret = np.where(book > 0.0, (new_book - book) / book, 0.0)
            perf = (1.0 - rules.a) * perf + rules.a * ret
            flow = np.zeros_like(cash)
            if rules.flows_on:
                paying = (new_book > 0.0) & ~liquidating
                flow = np.where(paying, rules.b * (perf - rules.r_b_daily) * new_book, 0.0)
                flow = np.where(paying & (flow < -new_book), -new_book, flow)
            cap = rules.cap_multiple * capital0
            flow = np.where(new_book + flow > cap, cap - new_book, flow)
            cash += flow
            new_book += flow
        failed = ~liquidating & (new_book < rules.floor * capital0)
        closed = bust | liquidating
        failed = bust | failed
        keep = ~closed
        zero = np.zeros_like(cash)
        payout = np.where(liquidating & ~bust, cash, 0.0)
        default = np.where(bust, -equity, 0.0)
        carry, coupon, interest, flow = (np.where(bust, 0.0, a) for a in (carry, coupon, interest, flow))
        perf = np.where(bust, s.perf_ema[live], perf)
        s.fwd_usd_bn[live] = np.where(keep, x, zero)
        s.ust_units[live] = np.where(keep, units, zero)
        s.cash_usd_bn[live] = np.where(keep, cash, zero)
        s.equity_book_usd_bn[live] = np.where(keep, new_book, zero)
        s.perf_ema[live] = perf
        gone = live[closed]
        s.alive[gone] = False
        s.liquidating[gone] = False
        s.reentry_day[gone] = day + rules.reentry_delay
        s.liquidating[live[keep & failed]] = True
        # investor flows and re-entry capital are one running total, in row order as the compiled loop adds them
        inflows = np.zeros(s.alive.shape[0])
        inflows[live] = flow
        inflows[back] = s.initial_capital_usd_bn[back]
        inflows = inflows[np.sort(np.concatenate([live, back]))]
        s.alive[back] = True
        s.reentry_day[back] = -1
        for arr in (s.fwd_usd_bn, s.ust_units, s.perf_ema):
            arr[back] = 0.0
        s.cash_usd_bn[back] = s.initial_capital_usd_bn[back]
        s.equity_book_usd_bn[back] = s.initial_capital_usd_bn[back]
        return hf.SettleTotals(running_sum(vm), running_sum(carry), running_sum(coupon), running_sum(interest),
                               running_sum(inflows), running_sum(payout), running_sum(default),
                               int(np.count_nonzero(failed & ~liquidating)), int(back.size), calls)  # fmt: skip

    def sums(self) -> hf.FundSums:
        """:func:`agents.hedge_funds.fund_sums` with NumPy's own sums (``ndarray.sum``: the numbers the
        compiled kernel gives, which adds in NumPy's order)."""
        s = self.sector.state
        return hf.FundSums(float(np.maximum(s.cash_usd_bn, 0.0).sum()), float(s.ust_units.sum()),
                           float(np.maximum(-s.cash_usd_bn, 0.0).sum()), float(s.fwd_usd_bn.sum()),
                           float(np.abs(s.fwd_usd_bn).sum()), float(s.equity_book_usd_bn.sum()),
                           float(s.forced_usd_bn.sum()), int(np.count_nonzero(s.alive)))  # fmt: skip
