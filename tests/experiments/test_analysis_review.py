"""The research scripts' review: the liquidity spiral's measures and window, measurement 5's horizon, the
scripts' bounds and one-line errors, failed runs counted per seed, output file names, provenance and strict
JSON, and the episode facts' resuming."""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest

from experiments.cli.common import EXIT_USAGE


def strict(text: str):
    """``text`` read as strict JSON: a bare NaN or Infinity fails."""

    def refuse(token: str):
        raise AssertionError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def one_line_error(capsys, module: str, fn, argv: list[str]) -> str:
    """``fn(argv)`` must exit 2 with one line on stderr naming the script; returns that line."""
    with pytest.raises(SystemExit) as exit_:
        fn(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == EXIT_USAGE, err
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith(f"python -m {module}: error: "), err
    return err


PROVENANCE = {"version", "git_commit", "git_dirty", "code_fingerprint", "command", "options", "seeds"}


# -- 1, 2: the liquidity spiral -----------------------------------------------------------------------


def spiral_row(mean_gap: float, low: float, end: float, last_on: float = 0.0, last_off: float = 0.0) -> dict:
    return {"failed": 0.0, "surge_pct_on": 1.0, "surge_pct_off": 1.0, "surge_on_last_day_on": last_on,
            "surge_on_last_day_off": last_off, "dealer_equity_change_usd_bn": low,
            "dealer_equity_mean_gap_usd_bn": mean_gap, "dealer_equity_end_gap_usd_bn": end}  # fmt: skip


def test_dealers_equity_falls_by_its_mean_gap_not_by_its_lowest_point():
    """Every seed dips below the twin at some point (the lowest gap is negative in all), but over the window
    the dealers' equity is above the twin: that is no fall. Below the twin throughout, it is one."""
    from experiments.analysis.balance_sheet_cycle import liquidity_spiral_summary

    above = [spiral_row(0.1 + 0.01 * i, -0.5, 0.2) for i in range(8)]
    out = liquidity_spiral_summary(above)
    assert out["dealer_equity_change_usd_bn"]["ci95_hi"] < 0  # the old measure would call it a fall
    assert out["dealer_equity_mean_gap_usd_bn"]["median"] > 0 and out["dealer_equity_end_gap_usd_bn"]["n"] == 8
    assert out["verdicts"]["dealers_equity_falls"] is False
    below = [spiral_row(-0.3 - 0.01 * i, -0.5, -0.2) for i in range(8)]
    assert liquidity_spiral_summary(below)["verdicts"]["dealers_equity_falls"] is True
    # too few seeds for an interval of the median: no verdict, rather than one from no interval
    assert liquidity_spiral_summary(below[:3])["verdicts"]["dealers_equity_falls"] is None


def test_the_spiral_counts_the_seeds_whose_surge_is_deepest_on_the_windows_last_day():
    from experiments.analysis.balance_sheet_cycle import liquidity_spiral_summary

    rows = [spiral_row(-1.0, -2.0, -1.0, 1.0, 1.0), spiral_row(-1.0, -2.0, -1.0, 1.0, 0.0),
            spiral_row(-1.0, -2.0, -1.0), {"failed": 1.0}]  # fmt: skip
    out = liquidity_spiral_summary(rows)
    assert out["seeds_surge_on_last_day"] == {"on": 2, "off": 1}
    assert (out["seeds"], out["seeds_measured"]) == (4, 3)


def test_the_spirals_measures_are_its_gap_to_the_twin_over_the_window():
    """Recomputed from the two runs: the mean and the last day's gap of the dealers' equity over the window
    (the shock's day and ``window`` days after it), beside its lowest; and whether the surge is deepest on
    the window's last day. The window is SPIRAL_WINDOW days by default."""
    import dataclasses

    from experiments.analysis import balance_sheet_cycle as bsc
    from model.model import CarryUnwindModel
    from model.scenarios import load_scenario

    assert inspect.signature(bsc.liquidity_spiral).parameters["window"].default == bsc.SPIRAL_WINDOW
    small = {"hedge_funds__n_funds": 40, "nisa__n_households": 200, "retail_fx__n_accounts": 200, "cta__n_ctas": 20}
    day, window = 10, 6
    out = bsc.liquidity_spiral(3, shock_day=day, window=window, base=small)
    spec = load_scenario("risk_off")
    shocked = dataclasses.replace(spec, events=(dataclasses.replace(spec.events[0], day=day),))
    paths = []
    for scenario in (shocked, dataclasses.replace(spec, events=())):
        m = CarryUnwindModel(scenario=scenario, seed=3, collect=False, **small, dealers__capital_constraint=True)
        m.run_days(day + window)
        paths.append(m.timeseries())
    gap = paths[0].dealer_equity_usd_bn.to_numpy()[day:] - paths[1].dealer_equity_usd_bn.to_numpy()[day:]
    ratio = paths[0].usdjpy.to_numpy()[day:] / paths[1].usdjpy.to_numpy()[day:]
    assert gap.size == window + 1
    assert out["dealer_equity_change_usd_bn"] == gap.min()
    assert out["dealer_equity_mean_gap_usd_bn"] == pytest.approx(gap.mean(), rel=1e-12)
    assert out["dealer_equity_end_gap_usd_bn"] == gap[-1]
    assert out["surge_on_last_day_on"] == float(np.argmin(ratio) == window)


def test_the_benchmark_reports_the_spirals_summary(monkeypatch):
    from experiments.analysis import balance_sheet_cycle as bsc

    def planted(specs, seeds, days, workers):
        return {name: [{"kurtosis": 1.0, "abs_acf1": 0.1, "failed": 0.0, "days_at_risk_cap": 0.0}] * seeds
                for name in specs}  # fmt: skip

    monkeypatch.setattr(bsc, "_arms", planted)
    monkeypatch.setattr("experiments.runner.run_tasks", lambda fn, tasks, **kw: [])
    out = bsc.report(2, 400, 1)
    assert set(out["4_liquidity_spiral"]) >= {"verdicts", "seeds_surge_on_last_day"}


# -- 9: measurement 5's horizon -------------------------------------------------------------------------


def test_a_late_eve_logs_no_false_warning_that_its_shock_is_not_simulated(monkeypatch, caplog):
    """The shock comes the day after the eve, which may be past ``boj_hike_2024``'s own horizon (500 days):
    it fires all the same, so nothing may say it is not simulated. Made fast: the scenario's horizon is 3
    days, the warm-up 2 and the anchor 0, so the eve is day 3 and the shock on day 4, past it."""
    import dataclasses

    import experiments.analysis.carry_channels as cc
    import model.scenarios
    from experiments.analysis import balance_sheet_cycle as bsc

    real = model.scenarios.load_scenario

    def short(name, *args, **kwargs):
        spec = real(name, *args, **kwargs)
        if name != "boj_hike_2024":
            return spec
        return dataclasses.replace(spec, config=spec.config.with_overrides({"simulation__days": 3}))

    monkeypatch.setattr(model.scenarios, "load_scenario", short)
    monkeypatch.setattr(bsc, "BUILDUP_WARMUP", 2)
    monkeypatch.setattr(cc, "ANCHOR_USD_BN", 0.0)
    real_state = bsc._carry_state  # the anchor's stock crosses 0 from below on day 3
    monkeypatch.setattr(bsc, "_carry_state", lambda m: (*real_state(m)[:3], m.day - 2.5))
    with caplog.at_level(logging.WARNING):
        out = bsc.leverage_binds(11, month=1)
    assert out["eve_day"] == 3.0 and "share_called_in_month" in out  # the shock came, on day 4
    assert not [r for r in caplog.records if "not simulated" in r.getMessage()], caplog.text


# -- 7: --days bounded by what the baseline can run -----------------------------------------------------


def test_the_benchmarks_days_are_bounded_by_the_baselines_calendar(capsys, monkeypatch):
    from experiments.analysis import balance_sheet_cycle as bsc
    from model.calendar import LAST_DATE, TradingCalendar
    from model.scenarios import load_scenario

    start = load_scenario("baseline").config.market.start_date
    most = TradingCalendar(start).last_day_until(LAST_DATE)
    assert most < 100_000  # the old hard-coded bound
    monkeypatch.setattr(bsc, "report", lambda *a, **k: {"planted": True})
    for days in (most + 1, 100_000):
        err = one_line_error(capsys, "experiments.analysis.balance_sheet_cycle", bsc.main,
                             ["--seeds", "2", "--days", str(days)])  # fmt: skip
        assert f"--days = {days} is not allowed; expected {bsc.BURN_IN + 100} to {most:,} (baseline's trading " in err
    assert bsc.main(["--seeds", "2", "--days", str(most)]) == 0


# -- 10: provenance and strict JSON -------------------------------------------------------------------


def test_the_benchmark_writes_strict_json_with_its_provenance(tmp_path, monkeypatch, capsys):
    from experiments.analysis import balance_sheet_cycle as bsc
    from experiments.analysis.targets import held_out_seeds

    monkeypatch.setattr(bsc, "report", lambda *a, **k: {"figure": math.nan, "nested": {"x": [1.0, math.inf]}})
    out = tmp_path / "cycle.json"
    assert bsc.main(["--seeds", "3", "--days", "400", "--out", str(out)]) == 0
    record = strict(out.read_text())
    assert record["figure"] is None and record["nested"]["x"] == [1.0, None]
    made = record["provenance"]
    assert PROVENANCE <= set(made) and made["seeds"] == held_out_seeds(3)
    assert made["command"] == "experiments.analysis.balance_sheet_cycle" and made["options"]["days"] == 400
    assert strict(capsys.readouterr().out) == record  # what it prints is the same strict JSON


def test_the_interventions_write_strict_json_with_their_provenance(tmp_path, monkeypatch, capsys):
    """Every pair failed: the medians are missing, written as null, not NaN."""
    import experiments.runner
    from experiments.analysis import interventions as iv

    def planted(fn, tasks, **kwargs):
        return [dict.fromkeys(("effect_pct_d0", "effect_pct_d5", "effect_pct_d20", "ust_bp_d0", "usd_sold_bn",
                               "ust_sold_usd_bn", "ust_holdings_fall_usd_bn", "signal_log_d0"), math.nan)
                for _ in tasks]  # fmt: skip

    monkeypatch.setattr(experiments.runner, "run_tasks", planted)
    out = tmp_path / "iv.json"
    assert iv.main(["--seeds", "2", "--out", str(out)]) == 0
    record = strict(out.read_text())
    assert record["median_effect_pct_per_jpy_tn_d0_all_sizes"] is None and record["failed_seeds"] == 2 * len(
        iv.SIZES_JPY_TN
    )
    assert PROVENANCE <= set(record["provenance"]) and record["provenance"]["seeds"] == [1001, 1002]


# -- 8, 10: the replay's file names, provenance and strict JSON -------------------------------------------


def test_a_dotted_out_keeps_its_whole_name_and_the_json_is_strict_with_its_provenance(tmp_path, monkeypatch):
    """``--out x_v1.5`` writes x_v1.5.json and x_v1.5.png (not x_v1.json, which x_v1.6 would write too); one
    seed has no interval of its medians, written as null."""
    from experiments.analysis import replay

    assert replay.output_files("runs/replay_v1.5")[".json"] == Path("runs/replay_v1.5.json")
    assert replay.output_files("runs/replay")["_positioning.png"] == Path("runs/replay_positioning.png")
    # a name ending in .json names the JSON file itself, as balance_sheet_cycle's --out does
    assert replay.output_files("runs/replay.json")[".json"] == Path("runs/replay.json")
    assert replay.output_files("runs/replay.json")["_positioning.png"] == Path("runs/replay_positioning.png")
    real = replay.replay
    monkeypatch.setattr(replay, "replay", lambda seeds, **kw: real(seeds, **kw, days=3, progress=False))
    assert replay.main(["--seeds", "1", "--out", str(tmp_path / "x_v1.5")]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["x_v1.5.json", "x_v1.5.png", "x_v1.5_positioning.png"], names
    record = strict((tmp_path / "x_v1.5.json").read_text())
    assert record["by_sensitivity"]["central"]["summary"]["fall_pct"]["ci95_lo"] is None
    made = record["provenance"]
    assert PROVENANCE <= set(made) and made["seeds"] == [1001] and made["command"] == "experiments.analysis.replay"


def test_the_map_figure_keeps_the_whole_name_of_a_dotted_out(tmp_path):
    from experiments.analysis import balance_sheet_cycle as bsc

    cell = {"risk_aversion_median": 1.0, "max_leverage": 6.0, "seeds_crowded": 1, "seeds_buildup_failed": 0,
            **{key: 0.5 for key, *_ in bsc.MAP_PANELS}}  # fmt: skip
    report = {"protocol": {"seeds": 2, "days": 400, "risk_aversion_median": [1.0], "max_leverage": [6.0]},
              "cells": [cell]}  # fmt: skip
    bsc.plot_map(report, str(tmp_path / "lev_v1.5"))
    bsc.plot_map(report, str(tmp_path / "lev.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lev_map.png", "lev_v1.5_map.png"]


# -- 4, 10: the episode facts resume and lock their output --------------------------------------------


def test_the_episode_facts_keep_their_runs_beside_out_and_lock_it(tmp_path, monkeypatch, capsys):
    from experiments import runner
    from experiments.analysis import episode_facts as ef

    out = tmp_path / "facts.json"
    seen = []
    row = {**ef.judge(ef.FACTS[0], [1.0, math.nan]), "effect_of_inputs": {"median": math.nan}}

    def planted(*args, **kwargs):
        seen.append(runner.active_checkpoint())
        return [row]

    monkeypatch.setattr(ef, "run_facts", planted)
    assert ef.main(["--seeds", "2", "--out", str(out)]) == 0
    assert seen[0] is not None and seen[0].directory == runner.beside(out)  # the runs are kept beside --out
    record = strict(out.read_text())
    assert record["facts"][0]["label"] == ef.FACTS[0].label and record["facts"][0]["effect_of_inputs"]["median"] is None
    assert PROVENANCE <= set(record["provenance"]) and record["provenance"]["seeds"] == [1001, 1002]
    assert not runner.beside(out).exists()  # removed once the output is written
    import fcntl

    with open(runner.lock_file(out), "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(runner.OutputBusy):
            ef.main(["--seeds", "2", "--out", str(out)])
    assert len(seen) == 1  # refused before running


# -- 5: fuzz's arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--draws", "0"], "--draws = 0 is not allowed; expected 1 to 1,000,000"),
        (["--draws", "-1"], "--draws = -1 is not allowed"),
        (["--days", "-3"], "--days = -3 is not allowed; expected 1 to "),
        (["--days", "0"], "--days = 0 is not allowed"),
        (["--days", "100000"], "--days = 100000 is not allowed"),
        (["--workers", "0"], "--workers = 0 is not allowed; expected 1 to 256"),
        (["--replay", "-2"], "--replay = -2 is not allowed; expected a draw number, 0 or more"),
        (["--draws", "x"], "argument --draws: invalid int value: 'x'"),
    ],
)
def test_fuzz_refuses_bad_arguments_in_one_line_before_any_draw(argv, message, capsys, monkeypatch):
    from experiments.analysis import fuzz

    monkeypatch.setattr(fuzz, "fuzz_one", lambda task: pytest.fail("a draw ran"))
    err = one_line_error(capsys, "experiments.analysis.fuzz", fuzz.main, argv)
    assert message in err
    if argv[0] == "--days":  # the baseline's calendar bounds it
        from model.calendar import LAST_DATE, TradingCalendar
        from model.scenarios import load_scenario

        most = TradingCalendar(load_scenario("baseline").config.market.start_date).last_day_until(LAST_DATE)
        assert f"expected 1 to {most:,} (baseline's trading days from " in err


def test_fuzz_refuses_an_out_that_is_a_directory_before_any_draw(tmp_path, capsys, monkeypatch):
    from experiments.analysis import fuzz

    monkeypatch.setattr(fuzz, "fuzz_one", lambda task: pytest.fail("a draw ran"))
    err = one_line_error(capsys, "experiments.analysis.fuzz", fuzz.main, ["--draws", "2", "--out", str(tmp_path)])
    assert f"--out = {str(tmp_path)!r} is not allowed; it is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_fuzz_writes_strict_json(tmp_path, monkeypatch, capsys):
    from experiments.analysis import fuzz

    def planted(task):
        return {"draw": task[0], "scenario": "baseline", "seed": 1, "overrides": {}, "usdjpy_ratio": math.nan,
                "outcome": "nonfinite"}  # fmt: skip

    monkeypatch.setattr(fuzz, "fuzz_one", planted)
    out = tmp_path / "fuzz.json"
    assert fuzz.main(["--draws", "2", "--days", "3", "--out", str(out)]) == 0
    assert [r["usdjpy_ratio"] for r in strict(out.read_text())] == [None, None]
    assert re.search(r"nonfinite +2  \(100\.00%\)", capsys.readouterr().out)


# -- 6: failed runs counted per seed -------------------------------------------------------------------


def test_superlong_counts_a_seed_whose_twins_failed_in_one_line(monkeypatch, capsys):
    import experiments.runner
    from experiments.analysis import superlong
    from model.clearing import ClearingError
    from model.model import CarryUnwindModel

    def breaks(self, days, *args, **kwargs):
        raise ClearingError("implausible prices on day 20: JGB30y moved +315 bp in a day\nthe state: ...")

    monkeypatch.setattr(CarryUnwindModel, "run_days", breaks)
    row = superlong.budget_twins((1, 200.0))
    assert row == {"failed": 1.0, "error": "implausible prices on day 20: JGB30y moved +315 bp in a day"}
    monkeypatch.undo()
    ok = {"failed": 0.0, **{f"{k}_day{h}": 1.0 for k in ("jgb10y_bp", "jgb30y_bp", "steepening_bp")
                            for h in superlong.HORIZONS}}  # fmt: skip
    monkeypatch.setattr(experiments.runner, "run_tasks", lambda fn, tasks, **kw: [row, ok, ok])
    assert superlong.main(["--seeds", "3", "--jpy-tn", "200"]) == 0
    captured = capsys.readouterr()
    lines = [x for x in captured.out.splitlines() if "failed" in x]
    assert lines == ["failed runs: 1 of 3 seeds ended in a clearing failure (seeds 1), left out of the medians; "
                     "seed 1: implausible prices on day 20: JGB30y moved +315 bp in a day"]  # fmt: skip
    assert "(n = 2 of 3)" in captured.out and "on the day: 0.67" in captured.out and "Traceback" not in captured.err


def test_auctions_count_a_failed_seed_per_figure(monkeypatch, capsys):
    from experiments.analysis import auctions
    from model.clearing import ClearingError

    def planted(seed, *args, **kwargs):
        if seed == 2:
            raise ClearingError("implausible prices on day 9")
        return {"figure": float(seed)}

    for name in ("auction_statistics", "schedule_shift", "repatriation"):
        monkeypatch.setattr(auctions, name, planted)
    out = auctions.report(3, days=20)
    assert out["auction_statistics"]["figure"]["n"] == 2 and out["repatriation"]["figure"]["median"] == 2.0
    assert out["failed_seeds"]["auction_statistics"] == [2] and out["failed_seeds"]["schedule_shift dealers x0.8"] == [
        2
    ]
    assert auctions.main(["--seeds", "3", "--days", "20"]) == 0
    captured = capsys.readouterr()
    assert strict(captured.out)["failed_seeds"]["repatriation"] == [2]
    assert captured.err.count("\n") == 1 and "repatriation: seeds 2" in captured.err


def test_carry_channels_list_the_seeds_whose_runs_failed(monkeypatch, capsys):
    from experiments.analysis import carry_channels as cc

    def fails_on(bad):
        return lambda seed, *a, **k: {"failed": 1.0} if seed == bad else {"failed": 0.0, "figure": 1.0}

    monkeypatch.setattr(cc, "_model", lambda *a, **k: None)
    monkeypatch.setattr(cc, "crowding", lambda model: {"carry_stock_usd_bn": 250.0})
    monkeypatch.setattr(cc, "fed_channel", fails_on(1002))
    monkeypatch.setattr(cc, "ust_share_of_unwind", fails_on(1001))
    monkeypatch.setattr(cc, "basis_in_unwind", fails_on(0))
    monkeypatch.setattr(cc, "warmup_carry_stock", lambda seed: {"carry_stock_usd_bn": 200.0})
    out = cc.report(2)
    assert out["failed_seeds"] == {"fed_channel 0.0": [1002], "fed_channel 0.25": [1002],
                                   "ust_share_of_unwind 0.0": [1001], "ust_share_of_unwind 0.25": [1001],
                                   "ust_share_of_unwind 0.5": [1001]}  # fmt: skip
    assert out["fed_channel"]["0.0"]["figure"]["n"] == 1
    assert cc.main(["--seeds", "2"]) == 0
    captured = capsys.readouterr()
    assert strict(captured.out)["failed_seeds"]["fed_channel 0.0"] == [1002]
    assert captured.err.count("\n") == 1 and "fed_channel 0.0: seeds 1002" in captured.err
