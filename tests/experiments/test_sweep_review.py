"""Sweeps, reviewed: every design point checked before anything runs, keys given twice, Morris levels and
integer parameters, a noise estimate above 1, the --workers cap, the size checked before the values,
damaged output folders, a text parameter on resume, the benchmark with one run, the code fingerprint
without the example specifications, leftover temporary series, and the package docstring's example.

Each test says how the code before these fixes failed it. The runs are tiny (20 funds, 3 days).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import pickle
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import runner
from experiments.cli import main
from experiments.sweeps import (
    Parameter,
    SpecError,
    design_table,
    load_results,
    make_tasks,
    parse_spec,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[2]
REAL_FINGERPRINT = runner.code_fingerprint  # before same_code holds it


@pytest.fixture(scope="module", autouse=True)
def same_code():
    """The code fingerprint held at its value now: the tests resume sweeps they made earlier, and an edit of
    the working tree in between (another change in progress) must not make them fail."""
    fingerprint = runner.code_fingerprint()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "code_fingerprint", lambda: fingerprint)
        yield


GRID = """
[sweep]
name = "review"
design = "grid"
days = 3
metrics = ["usdjpy_max_fall_pct", "hf_failures_total"]

[fixed]
hedge_funds.n_funds = 20

[parameters]
hedge_funds.max_leverage = { values = [2.0, 10.0] }
"""


def spec_text(design: str, parameters: str, sweep: str = "", fixed: str = "hedge_funds.n_funds = 20") -> str:
    return f'[sweep]\ndesign = "{design}"\ndays = 3\n{sweep}\n[fixed]\n{fixed}\n[parameters]\n{parameters}\n'


def refused(text: str) -> str:
    """The one-line message of the SpecError that ``text`` (a specification) raises."""
    with pytest.raises(SpecError) as info:
        parse_spec(text, "spec.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("spec.toml: "), message
    return message


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("carry-unwind: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished serial sweep of two 3-day runs."""
    out = tmp_path_factory.mktemp("finished") / "out"
    run_sweep(parse_spec(GRID, "spec.toml"), out, executor="serial", progress=False)
    return out


def copy_of(finished: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    return copy


# -- 1. every design point is checked, and only the points the design runs -----------------------------------


def test_a_grid_whose_combination_breaks_a_rule_is_refused_naming_the_point(tmp_path, capsys):
    """Before: each value was checked alone, so the grid was accepted and the run of (1200, 800) failed with a
    ConfigError recorded as a failed run (exit status 0)."""
    text = spec_text(
        "grid",
        "mof.reserve_floor_usd_bn = { values = [300.0, 1200.0] }\nmof.reserves_usd_bn = { values = [800.0, 1250.0] }",
    )
    message = refused(text)
    assert "design point 2 (mof.reserve_floor_usd_bn = 1200.0, mof.reserves_usd_bn = 800.0)" in message
    assert "mof.reserve_floor_usd_bn = 1200.0 is not allowed with mof.reserves_usd_bn = 800.0" in message
    path = tmp_path / "spec.toml"
    path.write_text(text)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "serial"]) == 2
    assert "design point 2" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()  # nothing written


def test_an_lhs_range_that_samples_odd_network_degrees_is_refused():
    """Before: both ends (2 and 10) are even, so the range was accepted, and the runs at odd degrees failed."""
    message = refused(spec_text("lhs", "nisa.network_degree = { range = [2, 10] }", "samples = 20"))
    assert "design point" in message and "(nisa.network_degree = " in message
    assert "nisa.network_degree" in message and "expected an even number" in message


def test_a_valid_lhs_is_not_refused_for_a_value_it_never_meets():
    """Before: max_leverage = 50 was checked against the scenario's margin_requirement of 0.04, a value this
    sweep never uses ("max_leverage = 50.0 is not allowed with margin_requirement = 0.04")."""
    spec = parse_spec(
        spec_text(
            "lhs",
            "retail_fx.max_leverage = { range = [10, 50] }\nretail_fx.margin_requirement = { range = [0.01, 0.02] }",
            "samples = 50",
        ),
        "spec.toml",
    )
    design = design_table(spec)
    assert design["retail_fx.max_leverage"].max() > 25.0  # leverage the scenario's margin would not allow


def test_a_fixed_value_is_judged_with_the_parameters_it_meets():
    """Before: [fixed] was applied to the scenario alone, so a leverage that only the varied margins allow was
    refused. A [fixed] value that fails at every point alike is still reported as the [fixed] table's."""
    accepted = spec_text(
        "grid", "retail_fx.margin_requirement = { values = [0.01, 0.02] }", fixed="retail_fx.max_leverage = 50.0"
    )
    assert parse_spec(accepted, "spec.toml").n_points == 2
    message = refused(
        spec_text("grid", "hedge_funds.max_leverage = { values = [2.0, 3.0] }", fixed="retail_fx.max_leverage = 50.0")
    )
    assert message.startswith("spec.toml: [fixed]: retail_fx.max_leverage = 50.0 is not allowed with")
    # a value out of its own range is named with its parameter, as before
    assert (
        "hedge_funds.max_leverage: value 500.0: hedge_funds.max_leverage = 500.0 x equity is out of range"
        in refused(spec_text("lhs", "hedge_funds.max_leverage = { values = [2.0, 500.0] }", "samples = 4"))
    )


def test_the_fast_point_check_agrees_with_the_configurations_own_overrides():
    """The check builds each point's sections itself, for speed: on a design with valid and invalid points it
    must find exactly the points that ModelConfig.with_overrides (the path a run takes) refuses."""
    from experiments.sweeps.designs import point_overrides
    from experiments.sweeps.parsing import _suspect_points
    from model.scenarios import load_scenario
    from model.validation import ConfigError

    spec = parse_spec(GRID, "spec.toml")
    spec = dataclasses.replace(
        spec,
        parameters=(
            Parameter("retail_fx.max_leverage", "float", values=(10.0, 30.0, 60.0)),
            Parameter("retail_fx.margin_requirement", "float", values=(0.01, 0.02, 0.04)),
            Parameter("mof.reserve_floor_usd_bn", "float", values=(300.0, 1000.0)),
            Parameter("mof.reserves_usd_bn", "float", values=(900.0, 1250.0)),
        ),
    )
    scenario = load_scenario("baseline")
    design = design_table(spec)
    columns = [design[name].tolist() for name in spec.names]
    fast = set(_suspect_points(scenario.config, spec.fixed, spec.days, spec.names, columns))
    slow = set()
    for task in make_tasks(spec, design):
        try:
            scenario.config.with_overrides(point_overrides(spec.fixed, task["params"], spec.days))
        except ConfigError:
            slow.add(task["point"])
    assert slow and len(slow) < len(design) and fast == slow


def test_a_run_whose_configuration_is_invalid_stops_the_sweep_as_bad_input(tmp_path, monkeypatch, capsys):
    """Before: the ConfigError was recorded as a failed run, the sweep went on, and the command exited 0
    advising --resume --retry-failed, which met the same error again. (A specification cannot reach a run
    with such a point any more: the design is checked first. The check is bypassed here.)"""
    import experiments.sweeps

    spec = parse_spec(GRID, "spec.toml")
    bad = dataclasses.replace(spec, parameters=(Parameter("hedge_funds.max_leverage", "float", values=(2.0, 500.0)),))
    with pytest.raises(SpecError, match=r"design point 1 \(hedge_funds.max_leverage = 500.0\) is not a valid") as info:
        run_sweep(bad, tmp_path / "api", executor="serial", progress=False)
    assert "\n" not in str(info.value) and "hedge_funds.max_leverage = 500.0 x equity is out of range" in str(
        info.value
    )
    assert len(load_results(tmp_path / "api")) == 1  # the valid point's run is kept

    path = tmp_path / "spec.toml"
    path.write_text(GRID)
    monkeypatch.setattr(experiments.sweeps, "load_spec", lambda *args, **kwargs: bad)
    assert main(["sweep", str(path), "--out", str(tmp_path / "cli"), "--executor", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err  # the sweep's own log lines, then its error
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "design point 1" in errors[0] and "Traceback" not in err
    # it crosses a process boundary (local workers, Dask) as itself
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is SpecError and str(again) == str(info.value)


# -- 2. a field given twice -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, body",
    [
        ("fixed", 'hedge_funds.n_funds = 10\n"hedge_funds.n_funds" = 20'),
        ("parameters", '"hedge_funds.max_leverage" = [2.0, 3.0]\n[parameters.hedge_funds]\nmax_leverage = [4.0, 5.0]'),
    ],
)
def test_a_field_given_twice_in_one_table_is_refused(table, body):
    """Before: both TOML keys flattened to one name and the last silently won."""
    if table == "fixed":
        text = f'[sweep]\ndesign = "grid"\ndays = 3\n[fixed]\n{body}\n[parameters]\nhedge_funds.max_leverage = [2.0]\n'
        name = "hedge_funds.n_funds"
    else:
        text = f'[sweep]\ndesign = "grid"\ndays = 3\n[parameters]\n{body}\n'
        name = "hedge_funds.max_leverage"
    message = refused(text)
    assert f"[{table}] {name} is given twice" in message and "expected each field once" in message


# -- 3. and 4. Morris levels and integer parameters ------------------------------------------------------------


@pytest.mark.parametrize("levels", ["3", "1", "0", "102", "100000000000000000000", "1000000000", "4.0", "true"])
def test_morris_levels_must_be_an_even_integer_from_2_to_100(levels):
    """Before: 3 gave a biased design (SALib warned), 10^20 a traceback, 10^9 allocated gigabytes."""
    message = refused(spec_text("morris", "hedge_funds.max_leverage = { range = [2.0, 10.0] }",
                                f"samples = 4\nlevels = {levels}"))  # fmt: skip
    assert "[sweep] levels = " in message and "expected an even integer from 2 to 100" in message


def test_absurd_morris_levels_are_one_line_and_leave_nothing(tmp_path, capsys):
    """Before: a traceback, and a partial runs/ folder in --out."""
    path = tmp_path / "spec.toml"
    path.write_text(spec_text("morris", "hedge_funds.max_leverage = { range = [2.0, 10.0] }",
                              "samples = 4\nlevels = 100000000000000000000"))  # fmt: skip
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "levels = " in one_error_line(capsys) and not (tmp_path / "out").exists()
    spec = parse_spec(spec_text("morris", "hedge_funds.max_leverage = { range = [2.0, 10.0] }",
                                "samples = 4\nlevels = 2"), "spec.toml")  # fmt: skip
    assert spec.n_points == 8


def _morris_mu_star(lo: int, hi: int) -> float:
    """mu* of an integer parameter over [lo, hi] (4 levels) for the metric y = the parameter's value."""
    from experiments.analysis.sensitivity import analyze

    spec = parse_spec(
        spec_text(
            "morris",
            f"hedge_funds.reentry_delay_days = {{ range = [{lo}, {hi}] }}\n"
            "hedge_funds.max_leverage = { range = [2.0, 10.0] }",
            "samples = 8\nlevels = 4",
        ),
        "spec.toml",
    )
    design = design_table(spec)
    rows = [
        {**{k: v for k, v in task.items() if k != "params"}, **task["params"],
         "usdjpy_max_fall_pct": float(task["params"]["hedge_funds.reentry_delay_days"]),
         "hf_failures_total": 0.0, "status": "ok", "error": None}
        for task in make_tasks(spec, design)
    ]  # fmt: skip
    table = analyze(pd.DataFrame(rows), spec, "usdjpy_max_fall_pct", "morris").table.set_index("parameter")
    return float(table.loc["hedge_funds.reentry_delay_days", "mu_star"])


def test_an_integer_morris_parameter_needs_every_level_to_be_an_integer():
    """Before: [10, 14] on 4 levels was accepted; its levels rounded to 10, 11, 13, 14, and mu* of the linear
    metric came out 4.5 in place of 4 (hi - lo)."""
    message = refused(spec_text("morris", "hedge_funds.reentry_delay_days = { range = [10, 14] }",
                                "samples = 4\nlevels = 4"))  # fmt: skip
    assert "range = [10, 14] is not allowed with levels = 4" in message
    assert "divisible by levels - 1 = 3" in message and "10, 11.33, 12.67, 14" in message
    assert _morris_mu_star(10, 13) == pytest.approx(3.0, rel=1e-12)  # unbiased: hi - lo


@pytest.mark.parametrize("design, sweep", [("lhs", "samples = 4"), ("grid", ""), ("morris", "samples = 4")])
def test_an_integer_range_that_holds_fewer_than_two_integers_is_refused(design, sweep):
    """Before: [10.4, 10.6] was accepted, and its values rounded to 10 and 11, both outside it."""
    num = ", num = 2" if design == "grid" else ""
    message = refused(spec_text(design, f"hedge_funds.reentry_delay_days = {{ range = [10.4, 10.6]{num} }}", sweep))
    assert "range = [10.4, 10.6] is not allowed; an integer field's range must hold at least two integers" in message


# -- 5. a noise estimate above 1 -------------------------------------------------------------------------------


def _noisy_result(method: str = "sobol"):
    from experiments.analysis.sensitivity import SensitivityResult

    if method == "sobol":
        table = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.1, 0.2], "S1_conf": [0.05, 0.05],
                              "ST": [0.6, 0.9], "ST_conf": [0.2, 0.3]})  # fmt: skip
    else:
        table = pd.DataFrame({"parameter": ["a", "b"], "mu": [0.1, 0.2], "mu_star": [0.3, 0.4],
                              "mu_star_conf": [0.1, 0.1], "sigma": [0.2, 0.3]})  # fmt: skip
    return SensitivityResult(method, "usdjpy_max_fall_pct", table, None, "s", 80, 2, 0.95, 100, noise_share=5.046)


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_a_noise_share_above_one_says_the_indices_cannot_be_read(tmp_path, method):
    """Before: the report read "about 504.6% of its variance" and the chart drew the noise floor at x = 5.05."""
    from matplotlib.figure import Figure

    from experiments.analysis.sensitivity import plot_indices, write_outputs

    result = _noisy_result(method)
    paths = write_outputs(result, tmp_path)
    md = paths[1].read_text()
    assert "Seed noise dominates: the indices below cannot be read" in md and "504.6%" not in md
    ax = plot_indices(result, Figure().subplots())
    assert not [line for line in ax.lines if list(line.get_xdata()) == [5.046, 5.046]]  # no off-scale floor
    assert ax.get_xlim()[1] < 2.0
    labels = ax.get_legend_handles_labels()[1]
    assert any("seed noise dominates" in label for label in labels)


def test_the_printed_summary_says_noise_dominates(tmp_path, monkeypatch, capsys):
    """Before: the summary printed the table alone."""
    import experiments.analysis.sensitivity as sensitivity

    monkeypatch.setattr(sensitivity, "run_sensitivity", lambda *args, **kwargs: (_noisy_result(), []))
    assert main(["sensitivity", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "NOTE: seed noise dominates usdjpy_max_fall_pct" in out and "cannot be read" in out


# -- 6. the --workers cap --------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["100000", "0", "x"])
def test_workers_beyond_the_cap_are_refused_in_one_line(tmp_path, capsys, workers):
    """Before: --workers 100000 was accepted (as many processes started)."""
    path = tmp_path / "spec.toml"
    path.write_text(GRID)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", workers]) == 2
    line = one_error_line(capsys)
    assert f"--workers = {workers!r} is not allowed; expected an integer from 1 to {runner.max_workers():,}" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cpus, most", [(1, 256), (None, 256), (64, 256), (65, 260), (100, 400)])
def test_the_workers_cap_is_four_per_core_or_256_where_that_is_more(monkeypatch, cpus, most):
    """--workers: up to 4 per CPU core of the machine, and at least up to 256 (os.cpu_count() None: unknown)."""
    import argparse

    from experiments.cli.common import worker_count as _workers

    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    assert runner.max_workers() == most
    assert _workers(str(most)) == most
    with pytest.raises(argparse.ArgumentTypeError, match=rf"^--workers = '{most + 1}' is not allowed; expected an "
                       rf"integer from 1 to {most:,} \(4 per CPU core"):  # fmt: skip
        _workers(str(most + 1))


def test_the_workers_cap_is_the_runners_and_run_sweep_keeps_it(tmp_path):
    """Before: run_sweep took any number of workers."""
    import argparse

    from experiments.cli.common import worker_count as _workers

    most = runner.max_workers()
    assert _workers(str(most)) == most
    with pytest.raises(argparse.ArgumentTypeError, match=rf"^--workers = '{most + 1}' is not allowed"):
        _workers(str(most + 1))
    with pytest.raises(SpecError, match=rf"^workers = {most + 1} is not allowed; expected an integer from 1 to"):
        run_sweep(parse_spec(GRID, "spec.toml"), tmp_path / "out", workers=most + 1, progress=False)
    assert not (tmp_path / "out").exists()


# -- 7. the size and the list's length before any value ---------------------------------------------------------


def test_a_list_of_forty_thousand_values_is_refused_at_once():
    """Before: every value was applied to the configuration (24 s for a 320 KB specification), and the sweep
    was accepted."""
    values = ", ".join(f"{1.0 + i * 1e-4:.4f}" for i in range(40_000))
    message = refused(spec_text("grid", f"hedge_funds.max_leverage = [{values}]"))
    assert "hedge_funds.max_leverage.values is a list of 40,000 values, which is not allowed" in message


def test_the_run_count_is_checked_before_the_values():
    """Before: each value was checked first, so a value out of range was reported (after checking thousands)
    rather than the design's size."""
    values = ", ".join(f"{1.0 + i * 1e-3:.3f}" for i in range(5_000))
    message = refused(spec_text("grid", f"hedge_funds.max_leverage = [{values}, 500.0]", "replicates = 1000"))
    assert "5,001 points x 1,000 replicates = 5,001,000 runs; expected at most 1,000,000" in message


# -- 8. damaged output folders -----------------------------------------------------------------------------------


def test_a_part_file_copied_twice_is_one_line_naming_both_files(finished, tmp_path, capsys):
    """Before: load_results and carry-unwind sensitivity ended in a ValueError traceback, and sweep --resume
    reported "3 of 2 recorded"."""
    copy = copy_of(finished, tmp_path)
    part = sorted((copy / "runs").glob("part-*.parquet"))[0]
    shutil.copy(part, part.with_name("part-zz-copy.parquet"))
    with pytest.raises(SpecError) as info:
        load_results(copy)
    message = str(info.value)
    assert f"runs/{part.name} and runs/part-zz-copy.parquet" in message and message.endswith("more than once")
    assert main(["sensitivity", str(copy)]) == 2
    assert "part-zz-copy.parquet" in one_error_line(capsys)
    with pytest.raises(SpecError, match="is recorded more than once"):
        run_sweep(parse_spec(GRID, "spec.toml"), copy, executor="serial", resume=True, progress=False)


def test_a_part_file_of_another_sweep_is_refused_on_resume(finished, tmp_path):
    """Before: its rows counted as done ("4 of 2 recorded")."""
    other = tmp_path / "other"
    run_sweep(parse_spec(GRID.replace("[2.0, 10.0]", "[3.0, 4.0]"), "o.toml"), other, executor="serial",
              progress=False)  # fmt: skip
    copy = copy_of(finished, tmp_path)
    foreign = sorted((other / "runs").glob("part-*.parquet"))[0]
    shutil.copy(foreign, copy / "runs" / "part-zzz-foreign.parquet")
    with pytest.raises(SpecError, match=r"part-zzz-foreign.parquet: run \w+ is not a run of the sweep in"):
        run_sweep(parse_spec(GRID, "spec.toml"), copy, executor="serial", resume=True, progress=False)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: m.pop("n_runs"), "has no 'n_runs' (the sweep's run count"),
        (lambda m: m.update(n_runs="4"), "has n_runs = '4', which is not allowed"),
        (lambda m: m.pop("spec"), "has no 'spec' (the sweep's specification, an object)"),
        (lambda m: m.update(spec=[1, 2]), "has spec = [1, 2], which is not allowed"),
        (lambda m: m["spec"].pop("design"), "the specification in the sweep's manifest has no 'design'"),
        (lambda m: m.update(sessions={"a": 1}), "has sessions = {'a': 1}, which is not allowed"),
        # an edited specification (before: tracebacks, or counts of points and runs that were not the sweep's)
        (lambda m: m["spec"].update(samples="8"), "is not the one the sweep started with"),
        (lambda m: m["spec"].update(samples=8.0), "is not the one the sweep started with"),
        (lambda m: m["spec"].update(metrics=[]), "is not the one the sweep started with"),
        (lambda m: m["spec"].update(parameters=[]), "is not the one the sweep started with"),
        (lambda m: m["spec"].update(replicates=0), "is not the one the sweep started with"),
        (lambda m: m["spec"]["parameters"][0].update(values=None), "is not the one the sweep started with"),
        (lambda m: m["spec"]["parameters"][0].update(range=[1.0]), "cannot be read (not enough values to unpack"),
        (lambda m: m.pop("spec_sha256"), "is not the one the sweep started with"),
    ],
)
def test_a_manifest_missing_an_entry_is_one_line_naming_the_file(finished, tmp_path, capsys, edit, expected):
    """Before: a KeyError or TypeError traceback from every reader."""
    copy = copy_of(finished, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SpecError) as info:
        load_results(copy)
    assert str(info.value).startswith(str(copy / "manifest.json")) and expected in str(info.value)
    assert main(["sensitivity", str(copy)]) == 2
    assert expected in one_error_line(capsys)
    with pytest.raises(SpecError, match="manifest"):
        run_sweep(parse_spec(GRID, "spec.toml"), copy, executor="serial", resume=True, progress=False)


# -- 9. a text parameter on resume -------------------------------------------------------------------------------


def test_a_text_parameter_does_not_make_a_resume_warn_of_another_design(tmp_path, caplog):
    """Before: the stored column read back as pandas' string dtype, the fresh design's is object, and
    DataFrame.equals said they differ: "the design generated now differs from the stored one"."""
    text = GRID.replace(
        "hedge_funds.max_leverage = { values = [2.0, 10.0] }",
        'market.risk_vol_yardstick = { values = ["implied", "realised"] }',
    )
    spec = parse_spec(text, "s.toml")
    out = tmp_path / "out"
    run_sweep(spec, out, executor="serial", progress=False)
    from experiments.sweeps.store import load_design, same_design

    assert not design_table(spec).equals(load_design(out))  # what the old comparison saw
    assert same_design(design_table(spec), load_design(out))
    with caplog.at_level(logging.WARNING):
        run_sweep(spec, out, executor="serial", resume=True, progress=False)
    assert "differs from the stored one" not in caplog.text
    shifted = load_design(out).assign(**{"market.risk_vol_yardstick": ["realised", "implied"]})
    assert not same_design(design_table(spec), shifted)  # values are still compared


# -- 10. the benchmark with one run ------------------------------------------------------------------------------


def test_the_benchmark_with_one_run_prints_na(tmp_path, capsys):
    """Before: a TypeError formatting the steady rate, None after a single batch."""
    from experiments.sweeps.bench import benchmark_sweeps

    records = benchmark_sweeps(runs=1, days=2, n_funds=20, configs=(("serial", 1),), out_dir=tmp_path)
    assert records[0]["steady_runs_per_min"] is None
    out = capsys.readouterr().out
    assert "steady     n/a runs/min" in out and "no steady rate" in out


# -- 11. the code fingerprint leaves the example specifications out ---------------------------------------------


def test_editing_an_example_specification_does_not_change_the_code_fingerprint(tmp_path, monkeypatch):
    """Before: the fingerprint hashed experiments/specs/*.toml, so a comment edited in one example blocked the
    resume of every sweep (a sweep's own specification is in its digest)."""
    from model import numba_cache

    files = {"model/a.py": "x = 1\n", "experiments/b.py": "y = 1\n", "experiments/specs/s.toml": "a = 1\n",
             "experiments/analysis/c.toml": "c = 1\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(numba_cache, "_ROOT", tmp_path)
    before = REAL_FINGERPRINT()
    (tmp_path / "experiments/specs/s.toml").write_text("a = 1  # a comment\n")
    (tmp_path / "experiments/specs/new.toml").write_text("b = 2\n")
    assert REAL_FINGERPRINT() == before
    (tmp_path / "experiments/analysis/c.toml").write_text("c = 2\n")  # another input still counts
    assert REAL_FINGERPRINT() != before


# -- 12. leftover temporary series -------------------------------------------------------------------------------


def test_a_resume_removes_temporary_series_left_by_a_killed_writer(tmp_path):
    """Before: only the output folder's and runs/' temporary files were removed; timeseries/ kept its own."""
    spec = parse_spec(GRID.replace("days = 3", "days = 3\ntimeseries = true"), "spec.toml")
    out = tmp_path / "out"
    run_sweep(spec, out, executor="serial", progress=False)
    leftover = out / "timeseries" / ".tmp-deadbeef-x.parquet"
    leftover.write_bytes(b"half")
    run_sweep(spec, out, executor="serial", resume=True, progress=False)
    assert not leftover.exists()
    assert len(list((out / "timeseries").glob("*.parquet"))) == 2


# -- 13. the package docstring's example -------------------------------------------------------------------------


def test_the_example_in_the_sweeps_docstring_is_a_valid_specification():
    """Before: trend_share's range went to 0.6 (its maximum is 0.5), and a grid range had no num."""
    import experiments.sweeps as sweeps

    doc = sweeps.__doc__
    start = doc.index("::\n\n") + 4
    block = doc[start : doc.index("\n\nDesigns")]
    spec = parse_spec(textwrap.dedent(block), "docstring.toml", base_dir=Path(sweeps.__file__).parent)
    assert spec.design == "grid" and spec.n_points == 4 * 3 * 3 and spec.replicates == 4
    assert math.isclose(max(design_table(spec)["hedge_funds.trend_share"]), 0.5)
    assert np.isclose(design_table(spec)["dealers.fx_capacity_usd_bn"].max(), 1600.0)


def test_a_design_larger_than_the_checked_points_still_has_its_extremes_checked(monkeypatch):
    """Beyond CHECKED_POINTS only the first points and each parameter's extremes are checked up front (two
    million points took about three minutes): an invalid highest value is still refused before any run."""
    import experiments.sweeps.parsing as parsing

    monkeypatch.setattr(parsing, "CHECKED_POINTS", 5)
    # every floor is in its own range; only the last, above the fixed reserves, is invalid, and only with them
    values = ", ".join(f"{v}.0" for v in [*range(300, 340), 1000])
    message = refused(spec_text("grid", f"mof.reserve_floor_usd_bn = [{values}]", fixed="mof.reserves_usd_bn = 900.0"))
    assert "design point 40 (mof.reserve_floor_usd_bn = 1000" in message, message
    # the rows checked: the first five and the extremes, nothing else
    import pandas as pd

    design = pd.DataFrame({"point": range(10), "a": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]})
    assert parsing._rows_to_check(design, ["a"]).tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "fixed, parameters, where",
    [
        ('market.start_date = "2025-01-02"', "hedge_funds.max_leverage = { values = [4.0, 6.0] }", "[fixed]"),
        ("", 'market.start_date = { values = ["2024-01-04", "2025-01-02"] }', "[parameters]: design point 1"),
    ],
)
def test_a_start_date_after_the_scenarios_dated_event_is_refused_before_anything_is_written(
    tmp_path, capsys, fixed, parameters, where
):
    """Before: the sweep's folder was written and its first run stopped, and a corrected specification could not
    resume it ("the specification differs")."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        f'[sweep]\nscenario = "boj_hike_2024"\ndays = 5\ndesign = "grid"\nmetrics = ["usdjpy_max_fall_pct"]\n'
        f"[fixed]\n{fixed}\n[parameters]\n{parameters}\n"
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert f"s.toml: {where}" in line and "market.start_date = '2025-01-02' is not allowed with scenario" in line
    assert not (tmp_path / "out").exists()


def test_a_horizon_the_scenario_cannot_hold_is_the_sweep_tables_error_and_serial_takes_no_workers(tmp_path, capsys):
    """Before: [sweep] days beyond what the scenario's dates allow was reported as [fixed]'s error (with no [fixed]
    table), and --workers 3 with --executor serial was silently ignored."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[sweep]\ndays = 99999\ndesign = "grid"\n[parameters]\nhedge_funds.max_leverage = { values = [4.0] }\n'
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert "s.toml: [sweep] days: simulation.days = 99999 is not allowed" in line and "[fixed]" not in line
    spec.write_text(GRID)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--executor", "serial", "--workers", "3"]) == 2
    assert "--workers = 3 is not allowed with --executor serial" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()
