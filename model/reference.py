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
benchmark (``carry-unwind bench``) and the engine-equivalence tests. The benchmark runs it with
numba's JIT disabled (``NUMBA_DISABLE_JIT=1``), where every ``@njit`` function is its plain Python
source, so nothing compiled runs in it; the rule functions are then taken as they are.
"""

from __future__ import annotations

import math

import mesa

from agents import hedge_funds as hf

__all__ = ["HedgeFundAgent", "MesaFundSector"]


def _python(fn):
    """The Python function behind a numba dispatcher (``fn`` itself when numba's JIT is disabled)."""
    return getattr(fn, "py_func", fn)


_decision = _python(hf.fund_decision)
_trade = _python(hf.fund_trade)
_settle = _python(hf.fund_settle)
_accumulate = _python(hf.accumulate)
_add = _python(hf.add_aggregate)


class HedgeFundAgent(mesa.Agent):
    """One carry fund with its own state (reference engine)."""

    def __init__(self, model: mesa.Model, s: hf.HedgeFundState, row: int) -> None:
        super().__init__(model)
        self.row = row
        self.fwd = float(s.fwd_usd_bn[row])
        self.units = float(s.ust_units[row])
        self.cash = float(s.cash_usd_bn[row])
        self.book = float(s.equity_book_usd_bn[row])
        self.capital0 = float(s.initial_capital_usd_bn[row])
        self.perf = float(s.perf_ema[row])
        self.alive = bool(s.alive[row])
        self.liquidating = bool(s.liquidating[row])
        self.reentry_day = int(s.reentry_day[row])
        self.traits = hf.FundTraits(float(s.risk_aversion[row]), float(s.leverage_cap[row]),
                                    float(s.trend_weight[row]), float(s.value_weight[row]),
                                    float(s.vol_target_pa[row]), bool(s.duration_leg[row]),
                                    float(s.funding_spread_pa[row]))  # fmt: skip
        self.spread = float(s.funding_spread_pa[row])
        self.order = hf.FundOrder(0.0, 0.0, 1.0, 1.0, 0.0, 1.0)
        self.x_new = self.fwd
        self.v_new = 0.0
        self.called = False
        self.forced = 0.0

    def decide(self, cfg: hf.HedgeFundConfig, **observations) -> None:
        if not self.alive:
            self.order = hf.FundOrder(0.0, 0.0, 1.0, 1.0, 0.0, 1.0)
            return
        self.order = hf.FundOrder(*_decision(self.traits, self.liquidating, hf.Observation(**observations),
                                             hf.decision_rules(cfg)))  # fmt: skip

    def demand(self, terms: hf.TradeTerms, keep: bool = True):
        """The fields of :func:`agents.hedge_funds.fund_trade` at trial prices; ``keep``: the fund keeps
        its trade there as the one it settles (the solver's evaluations, not the check's or the scan's)."""
        out = _trade(self.fwd, self.units, self.cash, self.order, terms)
        if keep:
            self.x_new, self.v_new, self.called, self.forced = out[0], out[1], out[6], out[7]
        return out

    def settle(self, prices: hf.SettlePrices, rules: hf.SettleRules, day: int) -> tuple:
        """Returns the seven money totals of :class:`agents.hedge_funds.SettleTotals`, failed, re-entered."""
        zero = (0.0,) * 7
        if not self.alive:
            if self.reentry_day >= 0 and day >= self.reentry_day:
                self.alive, self.reentry_day = True, -1
                self.fwd = self.units = 0.0
                self.cash = self.book = self.capital0
                self.perf = 0.0
                return (0.0, 0.0, 0.0, 0.0, self.capital0, 0.0, 0.0), False, True
            return zero, False, False
        acct = hf.FundAccount(self.fwd, self.units, self.cash, self.book, self.capital0, self.perf, self.liquidating,
                              self.spread)  # fmt: skip
        out = _settle(acct, self.x_new, self.v_new, prices, rules)
        self.fwd, self.units, self.cash, self.book, self.perf = out[:5]
        closed, failed = out[12], out[13]
        counted = failed
        if closed:
            counted = failed and not self.liquidating  # a liquidating fund was counted the day it failed
            self.alive, self.liquidating = False, False
            self.reentry_day = day + rules.reentry_delay
        elif failed:
            self.liquidating = True
        return tuple(out[5:12]), counted, False


class MesaFundSector:
    """Drives the fund agents in place of the array kernels (``engine="mesa"``)."""

    def __init__(self, model, sector: hf.HedgeFunds) -> None:
        self.model = model
        self.sector = sector
        s = sector.state
        self.agents = [HedgeFundAgent(model, s, i) for i in range(s.ust_units.shape[0])]

    # -- decide ------------------------------------------------------------------------------
    def decide(self, **obs) -> None:
        for a in self.agents:
            a.decide(self.sector.config, **obs)

    # -- clear ---------------------------------------------------------------------------------
    def flows(self, p, book, z, jac, gross, out, aux):
        """:func:`agents.hedge_funds.fund_flows` with the funds' demand summed over the agents."""
        duration = book.duration
        price = math.exp(-duration * p[1])
        terms = hf.TradeTerms(math.exp(book.s_prev - p[0]), price, duration, book.band, book.forced_sales)
        # the Walras check and the root scan evaluate into scratch outputs: the trades the funds settle
        # stay those of the solver's last evaluation, as the array engines' outputs do
        keep = book.out_x is self.sector.state.fwd_new_usd_bn
        acc = hf.ZERO_SUMS
        for a in self.agents:
            if not a.alive:
                if keep:
                    a.x_new, a.v_new, a.called, a.forced = 0.0, 0.0, False, 0.0
                continue
            acc = _accumulate(acc, a.fwd, a.units, a.demand(terms, keep), price, duration)
        _add(acc, z, jac, gross, out, aux)

    # -- settle ------------------------------------------------------------------------------
    def settle(self, prices: hf.SettlePrices) -> hf.SettleTotals:
        rules = hf.settle_rules(self.sector.config)
        totals = [0.0] * 7
        failures = reentries = calls = 0
        day = self.model.day
        for a in self.agents:
            if a.alive and a.called:
                calls += 1
            money, failed, reentered = a.settle(prices, rules, day)
            for k in range(7):
                totals[k] += money[k]
            failures += int(failed)
            reentries += int(reentered)
        self._sync_arrays()
        return hf.SettleTotals(*totals, failures, reentries, calls)

    def sums(self) -> hf.FundSums:
        """The sector's sums over the funds' rows (mirrored into the arrays at settlement)."""
        return hf.fund_sums(self.sector.state)

    def _sync_arrays(self) -> None:
        """Mirror the agents' state into the sector arrays that records and checks read."""
        s = self.sector.state
        for a in self.agents:
            r = a.row
            s.fwd_usd_bn[r], s.ust_units[r], s.cash_usd_bn[r] = a.fwd, a.units, a.cash
            s.equity_book_usd_bn[r], s.perf_ema[r] = a.book, a.perf
            s.alive[r], s.liquidating[r], s.reentry_day[r] = a.alive, a.liquidating, a.reentry_day
            s.fwd_new_usd_bn[r], s.ust_new_usd_bn[r], s.margin_called[r] = a.x_new, a.v_new, a.called
            s.forced_usd_bn[r] = a.forced
