"""The plain-Mesa reference implementation of the hedge-fund sector.

Each fund is a Python :class:`mesa.Agent` holding its own balance sheet as attributes and
computing its own decision, demand and settlement with the *pure-Python* versions of the rule
functions (``.py_func`` of the compiled ones), so both engines apply literally the same rules.

The markets are cleared by the same composed clearing as the compiled engine — damped Newton
from yesterday's close, then the bracketing fallback — run as plain Python with the funds' flows
summed over the agents (:meth:`model.compose.ComposedClearing.plain` re-binds the solvers to a
namespace in which the funds' ``flows`` asks the agents). Where fire sales allow several
equilibria, both engines therefore select the same one.

This is how a Mesa user would write the model; it is slow by design and exists for the
benchmark (``carry-unwind bench``) and the engine-equivalence tests.
"""

from __future__ import annotations

import math

import mesa

from agents import hedge_funds as hf

__all__ = ["HedgeFundAgent", "MesaFundSector"]

_decision = hf.fund_decision.py_func
_trade = hf.fund_trade.py_func
_settle = hf.fund_settle.py_func
_finish = hf.finish_aggregate.py_func
_add = hf.add_aggregate.py_func


class HedgeFundAgent(mesa.Agent):
    """One carry fund with its own state (reference engine)."""

    def __init__(self, model: mesa.Model, s: hf.HedgeFundState, row: int) -> None:
        super().__init__(model)
        self.row = row
        self.units = float(s.ust_units[row])
        self.loan = float(s.loan_jpy_tn[row])
        self.cash = float(s.cash_usd_bn[row])
        self.book = float(s.equity_book_usd_bn[row])
        self.capital0 = float(s.initial_capital_usd_bn[row])
        self.perf = float(s.perf_ema[row])
        self.alive = bool(s.alive[row])
        self.liquidating = bool(s.liquidating[row])
        self.reentry_day = int(s.reentry_day[row])
        self.risk_aversion = float(s.risk_aversion[row])
        self.leverage_cap = float(s.leverage_cap[row])
        self.spread = float(s.funding_spread_pa[row])
        self.trend_weight = float(s.trend_weight[row])
        self.value_weight = float(s.value_weight[row])
        self.vol_target = float(s.vol_target_pa[row])
        self.target = self.lam_init = self.lam_maint = self.speed = 0.0
        self.x_new = 0.0
        self.called = False

    def decide(self, cfg: hf.HedgeFundConfig, **observations) -> None:
        if not self.alive:
            self.target, self.lam_init, self.lam_maint, self.speed = 0.0, 0.0, 0.0, 1.0
            return
        traits = hf.FundTraits(self.risk_aversion, self.leverage_cap, self.spread, self.trend_weight,
                               self.value_weight, self.vol_target)  # fmt: skip
        self.target, self.lam_init, self.lam_maint, self.speed = _decision(
            traits, self.liquidating, hf.Observation(**observations), hf.decision_rules(cfg)
        )

    def demand(self, terms: hf.TradeTerms):
        """``(x_new, called, q, dq_ds, dq_dy, dx_ds, dx_dy)`` at trial prices."""
        order = hf.FundOrder(self.target, self.lam_init, self.lam_maint, self.speed)
        out = _trade(self.units, self.loan, self.cash, order, terms)
        self.x_new, self.called = out[0], out[1]
        return out

    def settle(self, prices: hf.SettlePrices, rules: hf.SettleRules, day: int) -> tuple:
        """Returns ``(coupon, interest_jpy, flow, payout, default, failed, reentered)``."""
        if not self.alive:
            if self.reentry_day >= 0 and day >= self.reentry_day:
                self.alive, self.reentry_day = True, -1
                self.cash = self.book = self.capital0
                self.perf = 0.0
                return 0.0, 0.0, self.capital0, 0.0, 0.0, False, True
            return 0.0, 0.0, 0.0, 0.0, 0.0, False, False
        acct = hf.FundAccount(self.units, self.loan, self.cash, self.book, self.capital0, self.perf, self.liquidating,
                              self.spread)  # fmt: skip
        (
            self.units,
            self.loan,
            self.cash,
            self.book,
            self.perf,
            coupon,
            int_jpy,
            flow,
            payout,
            default,
            closed,
            failed,
        ) = _settle(acct, self.x_new, prices, rules)
        if closed:
            self.alive, self.liquidating = False, False
            self.reentry_day = day + rules.reentry_delay
        elif failed:
            self.liquidating = True
        return coupon, int_jpy, flow, payout, default, failed, False


class MesaFundSector:
    """Drives the fund agents in place of the array kernels (``engine="mesa"``)."""

    def __init__(self, model, sector: hf.HedgeFunds) -> None:
        self.model = model
        self.sector = sector
        self.cfg: hf.HedgeFundConfig = sector.config
        s = sector.state
        self.agents = [HedgeFundAgent(model, s, i) for i in range(s.ust_units.shape[0])]

    # -- decide ------------------------------------------------------------------------------
    def decide(self, **obs) -> None:
        for a in self.agents:
            a.decide(self.cfg, **obs)

    # -- clear ---------------------------------------------------------------------------------
    def flows(self, s, y_us, y_jp, book, z, jac, gross, out):
        """:func:`agents.hedge_funds.fund_flows` with the funds' demand summed over the agents."""
        duration = book.duration
        price, k = math.exp(-duration * y_us), 1000.0 * math.exp(-s)
        terms = hf.TradeTerms(price, k, duration, book.band, book.forced_sales)
        usd = dusd_ds = dusd_dy = x_sum = dx_ds = dx_dy = units_old = gross_usd = gross_units = 0.0
        for a in self.agents:
            if not a.alive:
                a.x_new, a.called = 0.0, False
                continue
            x, _, q, dq_ds, dq_dy, xs, xy = a.demand(terms)
            usd += q
            dusd_ds += dq_ds
            dusd_dy += dq_dy
            x_sum += x
            dx_ds += xs
            dx_dy += xy
            units_old += a.units
            gross_usd += abs(q)
            gross_units += abs(x / price - a.units)
        sums = (usd, dusd_ds, dusd_dy, x_sum, dx_ds, dx_dy, units_old, gross_usd, gross_units)
        _add(_finish(sums, 1.0 / price, duration), z, jac, gross, out)

    # -- settle ------------------------------------------------------------------------------
    def settle(self, *, price, usdjpy, price_prev, usdjpy_prev, y_us, r_jp) -> hf.SettleTotals:
        prices = hf.SettlePrices(price, 1000.0 / usdjpy, price_prev, 1000.0 / usdjpy_prev, y_us, r_jp)
        rules = hf.settle_rules(self.cfg)
        coupons = interest = flows = payouts = defaults = 0.0
        failures = reentries = calls = 0
        day = self.model.day
        for a in self.agents:
            if a.alive and a.called:
                calls += 1
            c, i, f, p, d, failed, reentered = a.settle(prices, rules, day)
            coupons += c
            interest += i
            flows += f
            payouts += p
            defaults += d
            failures += int(failed)
            reentries += int(reentered)
        self._sync_arrays()
        return hf.SettleTotals(coupons, interest, flows, payouts, defaults, failures, reentries, calls)

    def _sync_arrays(self) -> None:
        """Mirror the agents' state into the sector arrays that records and checks read."""
        s = self.sector.state
        for a in self.agents:
            r = a.row
            s.ust_units[r], s.loan_jpy_tn[r], s.cash_usd_bn[r] = a.units, a.loan, a.cash
            s.equity_book_usd_bn[r], s.perf_ema[r] = a.book, a.perf
            s.alive[r], s.liquidating[r], s.reentry_day[r] = a.alive, a.liquidating, a.reentry_day
            s.position_new_usd_bn[r], s.margin_called[r] = a.x_new, a.called
