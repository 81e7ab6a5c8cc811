"""The lean path's shortcuts give what the plain computations give, and the standard-run benchmark reports it."""

from __future__ import annotations

import pickle
import sys
import time
import types

import numpy as np
import pytest

from experiments.cli.bench import KernelTimer, PartTimer, part_table, run_standard_benchmark
from model.accounting import Ledger
from model.calendar import TradingCalendar
from model.compose import _ScratchOutputs
from model.model import CarryUnwindModel


@pytest.mark.parametrize("amount", [1.5, -0.1, 3, np.float64(0.3), np.float32(0.1), np.int64(-7), True])
def test_ledger_booking_adds_like_numpy_float64(amount):
    led = Ledger(("a", "b"))
    led.book("a", "usd_bn", 1.0 / 3.0)
    led.book("a", "usd_bn", amount)
    table = np.zeros(2)
    table[0] += 1.0 / 3.0
    table[0] += amount
    turnover = np.zeros(1)
    turnover[0] += abs(1.0 / 3.0)
    turnover[0] += abs(amount)
    assert led.table[led.rows.index("a"), led.column("usd_bn")] == table[0]
    assert led.get("a", "usd_bn") == table[0]
    assert led.turnover[led.column("usd_bn")] == turnover[0]
    assert isinstance(led.get("a", "usd_bn"), float)


def test_ledger_survives_pickling_and_freezing():
    led = Ledger(("a",))
    led.book("a", "ust_units", 2.0)
    led.freeze_initial()  # replaces the turnover array: the bookings must reach the new one
    led.book("a", "ust_units", 1.0)
    assert led.turnover[led.column("ust_units")] == 2.0 + 2.0 + 1.0  # |a| and |issuer| at the freeze, then 1
    copy = pickle.loads(pickle.dumps(led))
    copy.book("a", "ust_units", 1.0)
    assert copy.get("a", "ust_units") == 4.0 and led.get("a", "ust_units") == 3.0


def test_calendar_shortcuts_agree_with_the_direct_computation():
    cal, fresh = TradingCalendar("2024-01-01"), TradingCalendar
    days = [0, 1, 1, 22, 5, 300, 300, 0]
    for d in days:
        assert cal.date(d) == fresh("2024-01-01").date(d)
        assert cal.trading_days_in_month(d) == fresh("2024-01-01").trading_days_in_month(d)
    assert [np.datetime64(cal.date(d), "D") for d in days] == list(cal.dates(days))


def test_scratch_outputs_are_kept_and_replaced_only_when_the_layout_changes():
    from typing import NamedTuple

    class Inp(NamedTuple):
        x: np.ndarray
        out_y: np.ndarray

    scratch = _ScratchOutputs()
    a = Inp(np.ones(3), np.zeros(3))
    first = scratch.inputs((a,))[0]
    assert first.x is a.x and first.out_y is not a.out_y and first.out_y.shape == (3,)
    assert scratch.inputs((Inp(np.ones(3), np.zeros(3)),))[0].out_y is first.out_y  # kept from day to day
    grown = scratch.inputs((Inp(np.ones(4), np.zeros(4)),))[0].out_y
    assert grown.shape == (4,) and grown is not first.out_y
    fortran = np.zeros((2, 3), order="F")
    assert scratch.inputs((Inp(np.ones(4), fortran),))[0].out_y.flags.f_contiguous
    # as plain tuples (the compiled entry points' form): the same fields, the same scratch array
    b = Inp(np.ones(4), fortran)
    named, plain = scratch.inputs((b,))[0], scratch.inputs((b,), plain=True)[0]
    assert type(plain) is tuple and plain[0] is b.x and plain[1] is named.out_y


def test_kernel_timer_counts_kernel_calls_and_restores_the_dispatchers():
    import agents.nisa as nisa

    original = nisa._decide_kernel
    model = CarryUnwindModel(seed=3, collect=False, hedge_funds__n_funds=20, simulation__days=3)
    model.run_for(1)
    timer = KernelTimer().install(model)
    try:
        assert nisa._decide_kernel is not original
        model.run_for(2)
    finally:
        timer.remove()
    assert nisa._decide_kernel is original
    assert timer.calls >= 2 * 4  # at least the solver and the households' kernels


def test_the_bridge_estimate_calls_a_no_op_and_leaves_the_run_as_it_was():
    """With the call-bridge estimate on, every kernel call from Python is preceded by a compiled no-op
    with the same arguments, timed apart: the run records the same numbers bit for bit, and the no-op
    returns 0 whatever it is given (arrays, NamedTuples of arrays, scalars)."""
    from experiments.cli.bench import _bridge_noop, _same_series

    noop = _bridge_noop()
    assert noop(np.zeros(3), 1.5, (np.ones(2), 2)) == 0 and noop() == 0
    plain = CarryUnwindModel(seed=3, collect=False, hedge_funds__n_funds=20, simulation__days=4)
    plain.run_days(4)
    model = CarryUnwindModel(seed=3, collect=False, hedge_funds__n_funds=20, simulation__days=4)
    model.run_days(1)
    kernels = KernelTimer(typing=False, bridge=True).install(model)
    try:
        model.run_days(3)
    finally:
        kernels.remove()
    assert kernels.calls > 0 and kernels.bridge_seconds > 0.0
    assert _same_series(plain.arrays(), model.arrays())
    assert KernelTimer().bridge_seconds is None  # off unless asked for


def test_standard_benchmark_reports_both_paths_and_their_agreement(capsys):
    result = run_standard_benchmark(days=3, seed=2, reps=1, populations={"hedge_funds__n_funds": 20})
    out = capsys.readouterr().out
    assert result["identical"] and result["split_run_identical"]
    assert "lean path" in out and "Mesa path" in out and "inside numba kernels" in out
    assert "numba's whole call bridge" in out and result["bridge_seconds"] > 0.0
    assert out.strip().splitlines()[-1].startswith("lean path: ")


def test_part_timer_counts_each_part_once_and_takes_its_wrappers_off():
    model = CarryUnwindModel(seed=3, collect=False, hedge_funds__n_funds=20, simulation__days=4)
    model.run_days(1)
    kernels = KernelTimer().install(model)
    funds = model.sectors["hedge_funds"]
    own_record = funds.record  # a method a user has set on the instance is put back, not removed
    funds.record = own_record
    parts = PartTimer(kernels).install(model)
    try:
        assert "decide" in vars(funds) and "_record" in vars(model)
        t0 = time.perf_counter()
        model.run_days(3)
        seconds = time.perf_counter() - t0
    finally:
        parts.remove()
        kernels.remove()
    assert "decide" not in vars(funds) and "_record" not in vars(model)  # the classes' methods again
    assert vars(funds)["record"] is own_record
    for sector in model.sector_list:
        assert parts.calls[f"{sector.name}.settle"] == 3
    # each part's own time, without the parts it calls: the record's row holds no sector's record
    assert parts.calls["model._record"] == 3 and parts.calls["hedge_funds.record"] == 3
    assert 0.0 < sum(parts.seconds.values()) <= seconds
    assert 0.0 < sum(parts.kernel_seconds.values()) <= kernels.seconds
    assert all(parts.kernel_seconds[k] <= parts.seconds[k] + 1e-9 for k in parts.seconds)
    table = part_table(parts, 3, seconds, seconds, kernels.seconds, kernels.calls)
    assert table.splitlines()[2].split()[0] in {s.name for s in model.sector_list} | {"clearing", "model"}
    assert table.splitlines()[-1].startswith("no part (the day itself)")


def test_part_timer_does_not_count_a_nested_part_twice(monkeypatch):
    from experiments.cli import bench

    clock = [0.0]  # a clock that moves only when a part works

    class Box:
        def outer(self):
            clock[0] += 2.0
            self.inner()

        def inner(self):
            clock[0] += 3.0

    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    box, kernels = Box(), KernelTimer()
    parts = PartTimer(kernels)
    parts._patched += [(box, "outer", bench._NONE), (box, "inner", bench._NONE)]
    box.outer, box.inner = parts._wrap("box.outer", box.outer), parts._wrap("box.inner", box.inner)
    box.outer()
    box.inner()
    parts.remove()
    assert parts.seconds == {"box.outer": 2.0, "box.inner": 6.0}
    assert parts.calls == {"box.outer": 1, "box.inner": 2}
    assert box.outer.__func__ is Box.outer


def test_standard_benchmark_by_part_runs_the_same_day(capsys):
    result = run_standard_benchmark(days=3, seed=2, reps=1, populations={"hedge_funds__n_funds": 20}, mesa_path=False,
                                    by_part=True)  # fmt: skip
    out = capsys.readouterr().out
    assert result["by_part_identical"]
    assert result["by_part"]["clearing.clear"]["calls"] == 3
    assert "no part (the day itself)" in out


def test_standard_benchmark_over_seeds_ends_with_their_medians(capsys, monkeypatch):
    from experiments.cli import bench, main

    figures = {3: (0.004, 0.6, 120.0, 1.1), 4: (0.002, 0.4, 150.0, 0.9), 5: (0.003, 0.9, 90.0, 1.0)}
    seen = []

    def planted(*, days, seed, reps, populations, mesa_path, by_part):
        seen.append(seed)
        day_s, ratio, per_minute, speedup = figures[seed]
        return {"days": days, "seed": seed, "paths": {"lean": {"seconds": day_s * days}}, "outside_over_inside": ratio,
                "runs_per_minute": per_minute, "speedup": speedup, "identical": True,
                "split_run_identical": True}  # fmt: skip

    monkeypatch.setattr(bench, "run_standard_benchmark", planted)
    assert main(["bench", "--standard", "--seed", "3", "--seeds", "3", "--days", "10"]) == 0
    assert seen == [3, 4, 5]
    capsys.readouterr()
    differ = lambda **kw: {**planted(**kw), "identical": kw["seed"] != 4}  # noqa: E731  (a seed's paths differ)
    monkeypatch.setattr(bench, "run_standard_benchmark", differ)
    assert main(["bench", "--standard", "--seed", "3", "--seeds", "3", "--days", "10"]) == 1
    assert "a timed run recorded other numbers than the lean path's" in capsys.readouterr().err
    monkeypatch.setattr(bench, "run_standard_benchmark", planted)
    assert main(["bench", "--standard", "--seed", "3", "--seeds", "3", "--days", "10"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == ("over seeds 3-5, median (range): lean path 3.000 (2.000-4.000) ms a day, outside / inside 0.60 "
                    "(0.40-0.90), 120.0 (90.0-150.0) runs per minute per core, lean path 1.00 (0.90-1.10) times as "
                    "fast as the Mesa path")  # fmt: skip

    def typed(**kw):  # with numba's typing of the arguments estimated
        return {**planted(**kw), "outside_over_inside_typing_outside": 1.0 + figures[kw["seed"]][1]}

    monkeypatch.setattr(bench, "run_standard_benchmark", typed)
    assert main(["bench", "--standard", "--seed", "3", "--seeds", "3", "--days", "10"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "outside / inside 0.60 (0.40-0.90) (1.60 (1.40-1.90) with numba's typing of the arguments counted " in last

    def bridged(**kw):  # and its whole call bridge
        return {**typed(**kw), "outside_over_inside_bridge_outside": 2.0 + figures[kw["seed"]][1]}

    monkeypatch.setattr(bench, "run_standard_benchmark", bridged)
    assert main(["bench", "--standard", "--seed", "3", "--seeds", "3", "--days", "10"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "counted outside, 2.60 (2.40-2.90) with its whole call bridge), " in last


def test_households_decision_returns_the_sum_of_its_flows():
    from agents import nisa

    model = CarryUnwindModel(seed=5, collect=False, nisa__n_households=3_001, hedge_funds__n_funds=20,
                             simulation__days=40, simulation__max_agent_views=0)  # fmt: skip
    sector = model.sectors["nisa_households"]
    for _ in range(40):
        model.step()
        assert sector.flow_jpy_tn == sector.state.flow_jpy.sum()
    total, _, _ = nisa.decide(sector.state, sector.config, equity_index=1.0, usdjpy=150.0, daily_total_jpy_tn=0.01)
    assert total == sector.state.flow_jpy.sum()


def test_households_network_is_symmetric_and_checked():
    from agents.nisa import csr_is_symmetric, small_world_csr

    for n, k, p in ((1, 6, 0.1), (2, 2, 0.0), (50, 6, 0.1), (1000, 10, 0.5), (300, 4, 1.0)):
        indptr, indices = small_world_csr(n, k, p, np.random.default_rng(n))
        assert csr_is_symmetric(indptr, indices)
    one_way = (np.array([0, 1, 1]), np.array([1]))  # 0 → 1 without 1 → 0
    repeated = (np.array([0, 2, 4]), np.array([1, 1, 0, 0]))
    assert not csr_is_symmetric(*one_way) and not csr_is_symmetric(*repeated)


@pytest.mark.parametrize("contagion_min_drawdown", [0.0, 0.15])
def test_kept_neighbour_counts_give_the_scanned_decisions(contagion_min_drawdown):
    """Households in deep drawdowns, many panicking: the kept counts decide as the neighbour scan does."""
    from agents import nisa

    cfg = nisa.NisaConfig(n_households=4_000, contagion_threshold=0.2, contagion_min_drawdown=contagion_min_drawdown,
                          panic_days=3, refractory_days=4, network_degree=8)  # fmt: skip
    scanned = nisa.init_nisa(cfg, np.random.default_rng(7), equity_index=1.0, usdjpy=150.0)
    kept = scanned._replace(**{f: getattr(scanned, f).copy() for f in scanned._fields})
    counts = nisa.PanicCounts.of(kept)
    assert counts is not None
    rng = np.random.default_rng(8)
    panics = 0
    for day in range(60):
        price = 150.0 * (1.0 - 0.5 * (day % 20) / 20.0 * rng.uniform(0.8, 1.0))  # repeated deep falls
        a = nisa.decide(scanned, cfg, equity_index=1.0, usdjpy=price, daily_total_jpy_tn=0.01)
        b = nisa.decide(kept, cfg, equity_index=1.0, usdjpy=price, daily_total_jpy_tn=0.01, neighbours=counts)
        assert a == b, day
        panics += a[1]
        nisa.settle(scanned, equity_index=1.0, usdjpy=price)
        nisa.settle(kept, equity_index=1.0, usdjpy=price)
        for f in scanned._fields:
            assert np.array_equal(getattr(scanned, f), getattr(kept, f)), (day, f)
        fresh = np.zeros_like(counts.counts)
        nisa._panicking_neighbours(kept, fresh)
        assert np.array_equal(fresh, counts.counts), day
    assert panics > 100  # contagion and thresholds were exercised


def _eager_households(monkeypatch):
    """Make the households' sector book every day's orders at settlement, as before the fold."""
    from agents.nisa import NisaHouseholds

    settle = NisaHouseholds.settle

    def eager(self, model, day):
        settle(self, model, day)
        self._book_pending()

    monkeypatch.setattr(NisaHouseholds, "settle", eager)


def test_households_booked_by_the_next_decision_equal_eager_settlement(monkeypatch):
    """The fold of a day's settlement into the next day's decision changes no number: every day's
    records and the households' arrays (read mid-run and at the end) equal a run that settles eagerly."""
    kw = dict(seed=4, collect=False, nisa__n_households=5_000, nisa__panic_threshold=0.05, hedge_funds__n_funds=30,
              simulation__days=60, simulation__max_agent_views=0)  # fmt: skip
    folded = CarryUnwindModel(**kw)
    with monkeypatch.context() as m:
        _eager_households(m)
        eager = CarryUnwindModel(**kw)
        for day in range(60):
            folded.step()
            eager.step()
            assert eager.sectors["nisa_households"]._pending == 0.0
            if day % 7 == 3:  # a read mid-run books the pending orders; the run goes on as before
                for f in folded.nisa._fields:
                    assert np.array_equal(getattr(folded.nisa, f), getattr(eager.nisa, f)), (day, f)
    for f in folded.nisa._fields:
        assert np.array_equal(getattr(folded.nisa, f), getattr(eager.nisa, f)), f
    a, b = folded.arrays(), eager.arrays()
    for c in a:
        assert np.array_equal(np.asarray(a[c]), np.asarray(b[c]), equal_nan=True), c
    assert np.any(np.asarray(a["nisa_panic_share"]) > 0)  # panics, re-anchored peaks and immunity were exercised


def test_pending_orders_are_booked_before_the_households_are_read():
    model = CarryUnwindModel(seed=2, collect=False, nisa__n_households=500, hedge_funds__n_funds=20,
                             simulation__days=3, simulation__max_agent_views=0)  # fmt: skip
    sector = model.sectors["nisa_households"]
    model.step()
    assert sector._pending > 0.0  # today's orders executed, not yet booked
    units = sector._state.units.copy()
    expected = units + sector._state.flow_jpy / sector._pending
    read = model.nisa.units  # the read books them
    assert sector._pending == 0.0 and np.array_equal(read, expected)
    assert np.array_equal(model.nisa.units, expected)  # booked once, not twice
    model.step()  # the next decision books nothing twice either
    assert sector._pending > 0.0


def test_folded_decision_equals_settle_then_decide():
    from agents import nisa

    cfg = nisa.NisaConfig(n_households=3_000, panic_threshold=0.05, panic_days=3, refractory_days=4)
    eager = nisa.init_nisa(cfg, np.random.default_rng(1), equity_index=1.0, usdjpy=150.0)
    folded = eager._replace(**{f: getattr(eager, f).copy() for f in eager._fields})
    rng = np.random.default_rng(2)
    pending = 0.0
    for day in range(40):
        price = 150.0 * (1.0 - 0.4 * (day % 15) / 15.0 * rng.uniform(0.8, 1.0))
        a = nisa.decide(eager, cfg, equity_index=1.0, usdjpy=price, daily_total_jpy_tn=0.01)
        b = nisa.decide(folded, cfg, equity_index=1.0, usdjpy=price, daily_total_jpy_tn=0.01,
                        settle_value_per_unit=pending)  # fmt: skip
        assert a == b, day
        close = price * rng.uniform(0.97, 1.03)
        nisa.settle(eager, equity_index=1.0, usdjpy=close)
        pending = nisa.value_per_unit(1.0, close)
        for f in ("panic_left", "flow_jpy"):
            assert np.array_equal(getattr(eager, f), getattr(folded, f)), (day, f)
    nisa._settle_kernel(folded.units, folded.peak_jpy, folded.flow_jpy, pending)
    for f in eager._fields:
        assert np.array_equal(getattr(eager, f), getattr(folded, f)), f


def test_the_funds_sums_taken_at_settlement_equal_fresh_sums_every_day():
    """The fund sector reads its holdings as the last settlement summed them (carry stock, yesterday's
    holdings, the record's net forwards and units): each equals the sum over the arrays at the time
    it is read, with every fund alive and after some have closed."""
    model = CarryUnwindModel(seed=6, collect=False, hedge_funds__n_funds=300, simulation__days=40,
                             simulation__max_agent_views=0)  # fmt: skip
    sector = model.sectors["hedge_funds"]
    for day in range(40):
        if day == 15:  # a third of the funds liquidated: they close and leave (as experiments.analysis does)
            model.hedge_funds.liquidating[::3] = model.hedge_funds.alive[::3]
        model.step()
        f = model.hedge_funds
        assert sector.held == sector.holdings(), day
        assert sector.publish(model)["carry_stock_usd_bn"] == f.fwd_usd_bn.sum()
        row = model.latest
        assert row["hf_net_usd_bn"] == f.fwd_usd_bn[f.alive].sum()
        assert row["hf_ust_usd_bn"] == f.ust_units[f.alive].sum() * model.market.ust_price
        assert row["hf_gross_usd_bn"] == np.abs(f.fwd_usd_bn[f.alive]).sum()
    assert not model.hedge_funds.alive.all()  # the filtered sums were exercised


def test_the_clearings_plain_tuple_entry_points_give_the_namedtuple_paths_numbers_bit_for_bit():
    def run(plain: bool):
        model = CarryUnwindModel(scenario="risk_off", seed=4, collect=False, hedge_funds__n_funds=30,
                                 simulation__days=40, simulation__root_scan_points=9)  # fmt: skip
        model.clearing._flat_allowed = plain
        model.run_for(40)
        return model

    fast, slow = run(True), run(False)
    assert fast.clearing.flat is not None and slow.clearing.flat is None
    assert fast.clearing.flat.kinds == tuple(type(s.clearing_inputs(fast)) for s in fast.priced)
    a, b = fast.arrays(), slow.arrays()
    assert a.keys() == b.keys()
    for column in a:
        assert np.array_equal(a[column], b[column], equal_nan=True), column
    assert max(a["walras_residual"]) > 0.0  # the check evaluated something


def test_the_plain_tuple_entry_is_not_used_for_types_it_cannot_import():
    from typing import NamedTuple

    from model.clearing import OrderBookInputs
    from model.compose import FlatEntry, _importable

    class Local(NamedTuple):
        x: np.ndarray

    assert _importable(OrderBookInputs)
    assert not _importable(Local) and not _importable(tuple) and not _importable(int)
    model = CarryUnwindModel(seed=1, collect=False, hedge_funds__n_funds=20, simulation__days=2)
    assert FlatEntry.for_kinds(model.clearing.module, (OrderBookInputs, Local)) is None
    assert FlatEntry.for_kinds(model.clearing.module, ()) is None
    # a type whose module's source cannot be read (defined in an interactive session): no entry either
    sourceless = types.ModuleType("carry_unwind_test_sourceless")
    exec("from typing import NamedTuple\nclass Typed(NamedTuple):\n    x: float\n", sourceless.__dict__)
    sys.modules[sourceless.__name__] = sourceless
    try:
        assert _importable(sourceless.Typed)
        assert FlatEntry.for_kinds(model.clearing.module, (OrderBookInputs, sourceless.Typed)) is None
    finally:
        del sys.modules[sourceless.__name__]


def _flat_kernels():
    """Every :class:`model.compose.FlatKernel` bound at module level in the sectors' modules."""
    from model.compose import FlatKernel

    return [v for name, m in sorted(sys.modules.items()) if name.startswith("agents.")
            for v in vars(m).values() if isinstance(v, FlatKernel)]  # fmt: skip


def test_the_sector_kernels_plain_tuple_entry_points_give_the_kernels_numbers_bit_for_bit():
    def run(plain: bool):
        model = CarryUnwindModel(scenario="risk_off", seed=4, collect=False, hedge_funds__n_funds=30,
                                 simulation__days=40)  # fmt: skip
        kernels = _flat_kernels()
        saved = [k._call for k in kernels]
        try:
            if not plain:
                for k in kernels:
                    k._call = k.kernel  # the dispatcher itself, typing the NamedTuples in Python
            model.run_for(40)
            entries = [k._call for k in kernels]
        finally:
            for k, call in zip(kernels, saved, strict=True):
                k._call = call
        return model, kernels, entries

    fast, kernels, entries = run(True)
    slow, _, _ = run(False)
    # the funds, retail traders, households, CTAs and insurers call nine through generated entries (the
    # households' kernel for populations beyond the caches is not called at this size)
    called = [(k, entry) for k, entry in zip(kernels, entries, strict=True) if entry is not None]
    assert len(called) >= 9
    for k, entry in called:
        assert entry is not k.kernel and entry.__module__.startswith("carry_unwind_composed_kernel_"), k.kernel
    a, b = fast.arrays(), slow.arrays()
    assert a.keys() == b.keys()
    for column in a:
        assert np.array_equal(a[column], b[column], equal_nan=True), column
    for name in ("hedge_funds", "retail_fx", "cta", "life_insurers", "nisa_households"):
        for x, y in zip(fast.sectors[name].state, slow.sectors[name].state, strict=True):
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), name


def test_a_kernels_plain_tuple_entry_writes_into_the_callers_arrays():
    from agents import hedge_funds as hf

    model = CarryUnwindModel(seed=2, collect=False, hedge_funds__n_funds=50, simulation__days=5)
    model.run_for(3)
    sector = model.sectors["hedge_funds"]
    obs = hf.Observation(**sector.observation(model))
    rules = hf.decision_rules(sector.config)
    via_entry, direct = (type(sector.state)(*(a.copy() for a in sector.state)) for _ in range(2))
    for s in (via_entry, direct):
        s.target_fx[:] = np.nan  # what the decision must overwrite
    assert hf._decide(via_entry, obs, rules) is None
    hf._decide_kernel(direct, obs, rules)
    for name, x, y in zip(via_entry._fields, via_entry, direct, strict=True):
        assert x.tobytes() == y.tobytes(), name
    assert np.isfinite(via_entry.target_fx).all()


def test_a_kernel_whose_argument_types_cannot_be_imported_is_called_directly():
    from typing import NamedTuple

    from numba import njit

    from agents.hedge_funds import HedgeFundState, _decide_kernel
    from model.compose import FlatKernel

    class Local(NamedTuple):
        x: float

    @njit
    def local_kernel(t):
        return t.x + 1.0

    assert FlatKernel(_decide_kernel, HedgeFundState, Local, None)._entry() == (_decide_kernel, True)
    wrapped = FlatKernel(local_kernel, None)  # a kernel not bound at a module's top level
    assert wrapped._entry() == (local_kernel, True)
    assert wrapped(Local(1.5)) == 2.5


def test_a_kernel_wrapped_by_a_profiler_at_its_first_call_gets_its_entry_once_unwrapped(monkeypatch):
    import agents.cta as cta
    from model.compose import FlatKernel

    kernel = FlatKernel(cta._settle_kernel, cta.CtaState, None, None, None, None)
    monkeypatch.setattr(cta, "_settle_kernel", lambda *args: cta._settle_kernel.__wrapped__(*args))
    cta._settle_kernel.__wrapped__ = kernel.kernel
    assert kernel._entry() == (kernel.kernel, False)  # the generated module would import the wrapper
    monkeypatch.undo()
    entry, lasting = kernel._entry()
    assert lasting and entry.__module__.startswith("carry_unwind_composed_kernel_")


def test_a_kernels_entry_is_regenerated_when_its_modules_source_changes(tmp_path, monkeypatch):
    """A kernel outside the package (a user's sector): editing its module gives a new entry, not the old
    compiled one."""
    import importlib

    import numba

    from model.compose import FlatKernel

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    source = (
        "from typing import NamedTuple\nfrom numba import njit\n\n\nclass S(NamedTuple):\n    k: float\n\n\n"
        "@njit(cache=True)\ndef kern(s, x):\n    return s.k * x + {c}\n"
    )
    path = tmp_path / "carry_unwind_test_user_sector.py"
    path.write_text(source.format(c="1.0"), encoding="utf-8")
    module = importlib.import_module(path.stem)
    results = []
    for c in ("1.0", "5.0"):
        path.write_text(source.format(c=c), encoding="utf-8")
        module = importlib.reload(module)
        flat = FlatKernel(module.kern, module.S, None)
        results.append((flat(module.S(2.0), 10.0), flat._call.__module__))
    monkeypatch.delitem(sys.modules, path.stem)
    (first, first_module), (second, second_module) = results
    assert (first, second) == (21.0, 25.0)
    assert first_module != second_module


def _households_decide_by_branches(state, rules, counts):
    """The households' rule written one branch at a time, in plain Python: the reference for the kernel."""
    new = panicked = 0
    changed = []
    for i in range(state.units.shape[0]):
        if rules.settle_value_per_unit > 0.0:
            state.units[i] += state.flow_jpy[i] / rules.settle_value_per_unit
            v = state.units[i] * rules.settle_value_per_unit
            if v > state.peak_jpy[i]:
                state.peak_jpy[i] = v
        value = state.units[i] * rules.value_per_unit
        dd = 1.0 - value / state.peak_jpy[i] if state.peak_jpy[i] > 0.0 else 0.0
        before = state.panic_left[i] > 0
        if state.panic_left[i] > 0:
            state.panic_left[i] -= 1
            if state.panic_left[i] == 0:
                state.peak_jpy[i] = value
                state.panic_left[i] = -rules.refractory_days
        elif state.panic_left[i] < 0:
            state.panic_left[i] += 1
        else:
            trigger = dd > state.threshold[i]
            if not trigger and rules.contagion and dd > rules.min_drawdown:
                deg = state.indptr[i + 1] - state.indptr[i]
                if deg > 0:
                    trigger = counts[i] > state.contagion_threshold[i] * deg
            if trigger:
                state.panic_left[i] = rules.panic_days
                new += 1
        if state.panic_left[i] > 0:
            panicked += 1
            flow = -rules.redeem * value
        else:
            flow = rules.daily_total * state.weight[i]
            if state.dip_buyer[i] and dd > rules.dip_threshold:
                flow *= 1.0 + rules.dip_multiplier
        state.flow_jpy[i] = flow
        if (state.panic_left[i] > 0) != before:
            changed.append(i)
    for i in changed:
        step = 1 if state.panic_left[i] > 0 else -1
        for j in range(state.indptr[i], state.indptr[i + 1]):
            counts[state.indices[j]] += step
    return new, panicked


@pytest.mark.parametrize("kernel", ["_decide_kernel", "_decide_kernel_large"])
@pytest.mark.parametrize("settle_at", [0.0, 0.0071])
@pytest.mark.parametrize("contagion", [True, False])
@pytest.mark.parametrize("refractory_days", [0, 3])
def test_households_kernels_equal_the_rule_written_with_branches(kernel, settle_at, contagion, refractory_days):
    # every panic state (calm, panicking with days left, on its last day, immune), zero and positive
    # peaks, dip buyers in and out of a dip, households near the contagion threshold; each kernel's
    # arrays, counts and returns against the branch-by-branch rule, bit for bit
    from agents import nisa

    rng = np.random.default_rng(11)
    n = 3_000
    indptr, indices = nisa.small_world_csr(n, 6, 0.2, rng)
    panic_left = rng.choice(np.array([0, 0, 0, 1, 2, 3, -1, -2], dtype=np.int32), n)
    peak = rng.uniform(0.5, 1.5, n) * 1e-4
    peak[rng.random(n) < 0.05] = 0.0
    state = nisa.NisaState(
        units=rng.uniform(0.4, 1.2, n) * 1e-4 / 0.007, peak_jpy=peak, threshold=rng.uniform(0.05, 0.4, n),
        contagion_threshold=rng.uniform(0.0, 0.5, n), dip_buyer=rng.random(n) < 0.3, weight=rng.dirichlet(np.ones(n)),
        panic_left=panic_left, indptr=indptr, indices=indices, flow_jpy=rng.normal(0.0, 1e-6, n),
    )  # fmt: skip
    counts = rng.integers(0, 4, n).astype(np.int32)
    rules = nisa.NisaRules(0.0068, 0.01, contagion, 0.1, 4, refractory_days, 0.02, 0.08, 1.5, settle_at)
    copy = state._replace(**{f: getattr(state, f).copy() for f in state._fields})
    copy_counts = counts.copy()
    got = getattr(nisa, kernel)(state, rules, counts, np.zeros(n, dtype=np.int32))
    want = _households_decide_by_branches(copy, rules, copy_counts)
    assert got == want and got[0] > 0 and got[1] > 0
    assert np.array_equal(counts, copy_counts)
    for f in state._fields:
        assert np.array_equal(getattr(state, f), getattr(copy, f)), f


def test_standard_benchmark_takes_the_median_kernel_split_so_one_slowed_run_does_not_set_it(monkeypatch, capsys):
    import experiments.cli.bench as bench

    real, split_runs = bench._time_standard, []

    def timed(collect, days, seed, populations, kernels=None):
        run = real(collect, days, seed, populations, kernels=kernels)
        if kernels is not None:
            split_runs.append(run)
            if len(split_runs) == 1:  # the first split run as if another process had slowed its kernels
                run["kernel_phases"] = {p: 1000.0 * s for p, s in run["kernel_phases"].items()}
        return run

    monkeypatch.setattr(bench, "_time_standard", timed)
    result = bench.run_standard_benchmark(days=3, seed=2, reps=3, populations={"hedge_funds__n_funds": 20},
                                          mesa_path=False)  # fmt: skip
    capsys.readouterr()
    assert len(split_runs) == 3
    inside = sorted(sum(r["kernel_phases"].values()) for r in split_runs)
    assert sum(result["kernel_seconds"].values()) == inside[1] < inside[2]
