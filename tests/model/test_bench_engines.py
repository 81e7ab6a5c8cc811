"""The three engines of ``carry-unwind bench`` apply the same rules: the NumPy engine gives the compiled
engine's prices and fund balance sheets bit for bit (also through margin calls, failures and
re-entries), the plain-Python engine runs with no compiled code and gives the same prices; the
command's report ends in ``speedup: <x>x`` and bad arguments are one-line errors. No timings are
asserted (they belong to the benchmark itself)."""

from __future__ import annotations

import itertools
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.cli.bench import PHASES, run_benchmark, run_plain_python, timed_run
from experiments.cli.common import EXIT_USAGE
from model.model import CarryUnwindModel
from model.numpy_engine import running_sum
from tests.support import CRASH_PRONE, SENTIMENT_CRASH

PRICES = ("usdjpy", "ust10y_yield", "jgb10y_yield", "fx_basis_bp", "jgb30y_yield")
FUND_COUNTS = ("hf_margin_calls", "hf_failures", "hf_alive", "hf_equity_usd_bn", "hf_forced_usd_bn",
               "hf_investor_flows_usd_bn", "hf_gross_usd_bn", "hf_net_usd_bn", "hf_ust_usd_bn")  # fmt: skip
# margin calls from the sentiment jump on day 60, failures, and re-entries a few days later
STRESS = {**CRASH_PRONE, "hedge_funds__reentry_delay_days": 5}


def _run(engine: str, seed: int, scenario: str, days: int, **overrides) -> CarryUnwindModel:
    model = CarryUnwindModel(seed=seed, scenario=scenario, engine=engine, hedge_funds__n_funds=300,
                             simulation__max_agent_views=0, **overrides)  # fmt: skip
    model.run_for(days)
    return model


@pytest.mark.parametrize(
    "seed, scenario, days, overrides",
    [
        (0, "baseline", 60, {}),
        (3, SENTIMENT_CRASH, 90, STRESS),
        (3, SENTIMENT_CRASH, 90, {**STRESS, "hedge_funds__forced_sales": False}),  # gradual margin calls
    ],
    ids=["baseline", "crash", "crash-gradual-calls"],
)
def test_numpy_engine_equals_the_compiled_engine_bit_for_bit(seed, scenario, days, overrides):
    compiled = _run("numba", seed, scenario, days, **overrides)
    vectorised = _run("numpy", seed, scenario, days, **overrides)
    assert vectorised.sectors["hedge_funds"].engine is not None
    a, b = compiled.history, vectorised.history
    for column in (*PRICES, *FUND_COUNTS):
        assert np.array_equal(np.asarray(a[column]), np.asarray(b[column])), column
    for field in compiled.hedge_funds._fields:
        assert np.array_equal(getattr(compiled.hedge_funds, field), getattr(vectorised.hedge_funds, field)), field
    assert np.ptp(a["usdjpy"]) > 0.1  # the prices move: not a comparison of constants
    if scenario == SENTIMENT_CRASH:  # the stress branches of the rules were taken
        assert max(a["hf_margin_calls"]) > 0 and sum(a["hf_failures"]) > 0
        assert min(a["hf_alive"]) < a["hf_alive"][-1]  # funds failed, and new ones entered in their place


def test_running_sum_adds_left_to_right_like_a_loop():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(1001) * 10.0 ** rng.integers(-8, 8, 1001)
    loop = 0.0
    for value in a:
        loop += value
    assert running_sum(a) == loop
    assert running_sum(a) != float(np.sum(a))  # np.sum pairs terms: the reason for running_sum
    assert running_sum(np.zeros(0)) == 0.0 and str(running_sum(np.array([-0.0]))) == "0.0"


def test_plain_python_engine_runs_no_compiled_code_and_gives_the_compiled_prices():
    plain = run_plain_python(n_funds=20, days=10, seed=4)  # a child process with NUMBA_DISABLE_JIT=1
    assert plain["jit_disabled"] and plain["compiled_rules"] == []
    compiled = timed_run("numba", n_funds=20, days=10, first=10, seed=4)
    for column, values in compiled["prices"].items():
        np.testing.assert_allclose(plain["prices"][column], values, rtol=1e-9, atol=0.0, err_msg=column)
    assert set(plain["phases"]) == set(PHASES)


def test_phase_times_add_up_to_the_run(monkeypatch):
    """Every day's phases are timed once each and together cover the timed run: on a clock that ticks
    once at every reading, each of decide, clear, settle and record gets one tick a day, and the
    phases add up to the run's seconds less the two readings that bracket it."""
    import experiments.cli.bench as bench

    ticks = itertools.count()
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(ticks)))
    days = 6
    run = timed_run("numba", n_funds=20, days=days, first=2, seed=1)
    assert set(run["phases"]) == set(PHASES)
    assert {p: run["phases"][p] for p in ("decide", "clear", "settle", "record")} == dict.fromkeys(
        ("decide", "clear", "settle", "record"), float(days)
    )
    assert run["phases"]["other"] >= 2 * days + 2  # two laps a day (before and after observing), two after the runs
    assert sum(run["phases"].values()) == run["seconds"] - 2.0


def test_bench_report_ends_with_the_speedup(capsys):
    result = run_benchmark(n_funds=20, days=3, seed=2, plain_days=2, steady=False)
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"speedup: \d+(\.\d+)?x", lines[-1]), lines[-1]
    assert result["prices_match"] and result["numpy_prices_identical"]
    assert any(line.startswith("plain Python") for line in lines)


def test_the_plain_engine_repeated_gives_the_median_run_and_each_ratio(monkeypatch, capsys):
    import experiments.cli.bench as bench

    real = bench.run_plain_python(n_funds=20, days=2, seed=2)
    times = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(bench, "run_plain_python", lambda n_funds, days, seed, steady: {**real, "seconds": next(times)})
    result = run_benchmark(n_funds=20, days=3, seed=2, plain_days=2, plain_reps=3, steady=False)
    assert result["plain_seconds_each"] == [3.0, 1.0, 2.0]
    assert result["engines"]["mesa"]["seconds"] == 2.0  # the median of the three
    compiled = result["engines"]["numba"]["first_seconds"]
    assert result["speedup"] == pytest.approx(2.0 / compiled)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("speedup over each plain-Python run: ") and lines[-2].count("x") == 3
    assert "plain Python 3)" in lines[0]


def test_the_population_table_gives_each_populations_engines_and_ends_with_the_last_speedup(monkeypatch, capsys):
    import experiments.cli.bench as bench

    seen = []

    def fake(n_funds, days, seed, reps, plain_days, plain_reps):
        seen.append(n_funds)
        # seconds chosen so that every figure of the table is known: 10, 40 and 10,000 ns a fund-day
        engines = {
            "numba": {"seconds": 1e-8 * n_funds * days, "first_seconds": 1e-8 * n_funds * plain_days},
            "numpy": {"seconds": 4e-8 * n_funds * days, "first_seconds": 4e-8 * n_funds * plain_days},
            "mesa": {"seconds": 1e-5 * n_funds * plain_days, "first_seconds": 1e-5 * n_funds * plain_days},
        }
        return {"n_funds": n_funds, "days": days, "plain_days": plain_days, "engines": engines,
                "speedup": 1000.0 + n_funds, "numpy_speedup": 250.0, "prices_match": True}  # fmt: skip

    monkeypatch.setattr(bench, "run_benchmark", fake)
    assert main(["bench", "--populations", "100,20", "--days", "4", "--plain-days", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert seen == [100, 20]  # in the order given
    assert lines[-1] == "speedup: 1020.0x"  # the last population's
    rows = {int(line.split()[0].replace(",", "")): line.split() for line in lines[-3:-1]}
    assert rows[100][1:] == ["10.0", "40.0", "10000.0", "1100.0x", "250.0x", "4.0x"]
    assert rows[20][3] == "10000.0" and rows[20][4] == "1020.0x"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")
def test_the_funds_benchmark_fixes_the_allocators_thresholds_in_every_engines_process(monkeypatch):
    import experiments.cli.bench as bench

    # in a process of its own: the thresholds stay fixed for the rest of the process that sets them
    cmd = [sys.executable, "-m", "experiments.cli", "bench", "--funds", "20", "--days", "3", "--plain-days", "2"]
    out = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert ("allocator: malloc's mmap threshold at 32 MiB and its trim threshold at 1 GiB fixed in every engine's "
            "process") in out  # fmt: skip
    # the plain engine's child process gets them from its environment, where glibc reads them at start
    seen = []

    def fake_run(cmd, env, **kwargs):
        seen.append({k: v for k, v in env.items() if k.startswith("MALLOC_")})
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    for steady in (True, False):
        with pytest.raises(KeyboardInterrupt):
            run_plain_python(n_funds=20, days=2, seed=2, steady=steady)
    assert seen == [{k: str(v) for k, v in bench.MALLOC_THRESHOLDS.items()}, {}]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--funds", "0", "--days", "3"], "--funds"),
        (["--funds", "10", "--days", "3", "--plain-reps", "0"], "--plain-reps"),
        (["--standard", "--plain-reps", "2"], "--plain-reps is not allowed with --standard"),
        (["--standard", "--seeds", "0"], "--seeds"),
        (["--funds", "10", "--days", "3", "--seeds", "2"], "--seeds is only allowed with --standard"),
        (["--funds", "10", "--days", "3", "--by-part"], "--by-part is only allowed with --standard"),
        (["--funds", "10", "--days", "-1"], "--days"),
        (["--funds", "10", "--days", "3", "--plain-days", "4"], "--plain-days = 4 is not allowed"),
        (["--funds", "10", "--days", "3", "--plain-days", "0"], "--plain-days"),
        (["--funds", "10", "--days", "3", "--reps", "x"], "--reps"),
        (["--populations", "10,0", "--days", "3"], "--populations"),
        (["--populations", "10,x", "--days", "3"], "--populations"),
        (["--populations", "10,10", "--days", "3"], "expected distinct populations"),
        (["--populations", ",".join(str(n) for n in range(1, 10)), "--days", "3"], "at most 8 populations"),
        (["--populations", "10,20", "--funds", "10", "--days", "3"], "--populations and --funds are not allowed"),
        (["--populations", "10,20"], "--days is required"),
        (["--days", "3"], "--funds is required (or give --populations, or --standard)"),
        (["--standard", "--populations", "10,20"], "--populations is not allowed with --standard"),
    ],
)
def test_bad_bench_arguments_are_one_line_errors(capsys, argv, expected):
    assert main(["bench", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("carry-unwind: error:") and expected in lines[0], err


def test_a_price_that_is_nan_or_missing_differs_and_a_mismatch_fails_the_command(monkeypatch, capsys):
    """Before: a NaN price read as a difference of 0 (max(0.0, nan) is 0.0), and a mismatch still exited 0 with
    its speedup as the last line."""
    import experiments.cli.bench as bench

    good = {c: [150.0, 151.0, 152.0] for c in bench.PRICE_COLUMNS}
    assert bench._price_difference(good, good, 2) == (0.0, True)
    nan = {**good, "usdjpy": [150.0, float("nan"), 152.0]}
    assert bench._price_difference(good, nan, 2) == (float("inf"), False)
    zero = {**good, "usdjpy": [0.0, 151.0, 152.0]}
    assert bench._price_difference(zero, good, 2)[0] == float("inf")
    short = {**good, "usdjpy": [150.0, 151.0]}
    assert bench._price_difference(good, short, 2) == (float("inf"), False)

    real = bench.run_plain_python(n_funds=20, days=2, seed=2)
    off = {**real, "prices": {c: [v * 1.5 for v in vals] for c, vals in real["prices"].items()}}
    monkeypatch.setattr(bench, "run_plain_python", lambda n_funds, days, seed, steady: off)
    assert main(["bench", "--funds", "20", "--days", "3", "--plain-days", "2"]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out and "the engines' prices differ" in captured.err


def test_the_median_repetition_of_an_even_number_is_the_lower_middle_one():
    import experiments.cli.bench as bench

    runs = [{"seconds": s, "first_seconds": f} for s, f in ((4.0, 1.0), (1.0, 3.0), (3.0, 2.0), (2.0, 4.0))]
    assert bench._median_run(runs)["seconds"] == 2.0
    assert bench._median_run(runs, "first_seconds")["first_seconds"] == 2.0
