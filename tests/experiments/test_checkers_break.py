"""Every experiments-side checker, fed a broken state or input, fires with its one-line message: the
golden-file comparison, the sweep specification's rules, the sweep directory's lock and results, the
sensitivity methods and the pool's restart limit, validation's failed runs and episode window,
comparisons without arms, seeds or equal horizons, and the small guards of the hypotheses, the
command line, the calibration and the app.
"""

from __future__ import annotations

import argparse
import shutil
from collections import deque

import numpy as np
import pandas as pd
import pytest

from experiments.sweeps import SpecError, load_results, parse_spec, run_sweep, to_xarray
from experiments.sweeps.spec import SweepError

SPEC = """
[sweep]
design = "grid"
days = 3

[fixed]
hedge_funds.n_funds = 20

[parameters]
hedge_funds.max_leverage = { values = [2.0, 10.0] }
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A finished serial sweep of two runs."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    run_sweep(parse_spec(SPEC, "spec.toml"), out, executor="serial", progress=False)
    return out


# -- the golden files -------------------------------------------------------------------------------


def test_golden_compare_reports_every_stored_number_no_longer_computed():
    from tests import golden

    problems = golden.compare(({}, {}))
    assert problems and all(p.endswith(": no longer computed") for p in problems), problems[:3]
    assert "/summaries: no longer computed" in problems


def test_golden_diff_reports_a_list_of_another_length():
    from tests import golden

    assert golden._diff_json({"a": [1, 2]}, {"a": [1]}, "") == ["/a: length 2 != 1"]


# -- sweep specifications ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        (('[sweep]\ndesign = "grid"\ndays = 3\n', ""), "missing [sweep] table (with at least design = one of"),
        (
            ("hedge_funds.max_leverage =", "simulation.days = { values = [3, 4] }\nhedge_funds.max_leverage ="),
            "[parameters]: 'simulation.days' cannot be set here; the horizon is [sweep] days",
        ),
        (("[2.0, 10.0]", "[2.0, 2.0]"), "[parameters] hedge_funds.max_leverage.values = [2.0, 2.0] repeats a value"),
        (
            ("hedge_funds.max_leverage = { values = [2.0, 10.0] }", "hedge_funds.forced_sales = { range = [0, 1] }"),
            "[parameters] hedge_funds.forced_sales: a bool field takes 'values', not a 'range'",
        ),
        (
            ("values = [2.0, 10.0]", "range = [1]"),
            "hedge_funds.max_leverage.range = [1] is not allowed; expected [lo, hi]",
        ),
        (
            (
                "hedge_funds.max_leverage = { values = [2.0, 10.0] }",
                "hedge_funds.trend_share = { range = [0.0, 0.5], num = 3, log = true }",
            ),
            "hedge_funds.trend_share: log = true needs a positive range, got [0, 0.5]",
        ),
        (
            ("values = [2.0, 10.0]", "range = [2.0, 10.0], num = 1"),
            "hedge_funds.max_leverage.num = 1 is not allowed; expected an integer >= 2",
        ),
        (
            ('design = "grid"', 'design = "lhs"\nsamples = 4'),
            ("{ values = [2.0, 10.0] }", "{ range = [2.0, 10.0], num = 3 }"),
            "hedge_funds.max_leverage: 'num' is only used by the grid design (this one is 'lhs')",
        ),
        (("days = 3", "days = 3\nsecond_order = true"), "[sweep] second_order is only used by the saltelli design"),
        (("days = 3", "days = 3\nlevels = 4"), "[sweep] levels is only used by the morris design"),
        (("days = 3", "days = 3\nmetrics = []"), "[sweep] metrics = [] is not allowed; expected a non-empty list"),
        (
            ("days = 3", 'days = 3\nmetrics = ["risk_index_peak", "risk_index_peak"]'),
            "[sweep] metrics lists 'risk_index_peak' twice",
        ),
        (("days = 3", "days = 3\nname = 5"), "[sweep] name = 5 is not allowed; expected a string on one line"),
        (
            ("days = 3", "days = 45000"),
            ("hedge_funds.n_funds = 20", 'hedge_funds.n_funds = 20\nmarket.start_date = "2100-12-30"'),
            "simulation.days = 45000 is not allowed with market.start_date = '2100-12-30'",
        ),
        (("days = 3", 'days = 3\nname = "a\\nb"'), "[sweep] name = 'a\\nb' is not allowed"),
        (
            ("hedge_funds.max_leverage = { values = [2.0, 10.0] }", ""),
            "[parameters] is empty; name at least one section.field to vary",
        ),
    ],
    ids=[
        "no-sweep-table",
        "simulation-days",
        "repeated-values",
        "range-on-bool",
        "range-of-one",
        "log-of-zero",
        "num-1",
        "num-outside-grid",
        "second-order-outside-saltelli",
        "levels-outside-morris",
        "no-metrics",
        "metric-twice",
        "name-not-a-string",
        "days-past-the-last-date",
        "name-on-two-lines",
        "no-parameters",
    ],
)
def test_a_bad_sweep_specification_is_one_line_naming_the_culprit(case):
    *edits, message = case
    text = SPEC
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(SpecError) as err:
        parse_spec(text, "spec.toml")
    assert str(err.value).startswith("spec.toml: ") and message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


# -- the sweep directory ----------------------------------------------------------------------------


def test_a_second_writer_of_a_sweep_directory_is_refused(tmp_path):
    from experiments.sweeps.store import SweepStore

    spec = parse_spec(SPEC, "spec.toml")
    with SweepStore(tmp_path, spec).lock():
        with pytest.raises(SweepError, match=r"^another sweep is writing to .*; wait for it to finish$"):
            with SweepStore(tmp_path, spec).lock():
                pass
    with SweepStore(tmp_path, spec).lock():  # released: the next writer gets it
        pass


def test_a_run_recorded_twice_in_the_results_is_refused(sweep_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy)
    part = sorted((copy / "runs").glob("part-*.parquet"))[0]
    shutil.copy(part, part.with_name("part-zz-copy.parquet"))
    with pytest.raises(ValueError, match=r"copy: run .* is recorded more than once$"):
        load_results(copy)


def test_dimensions_that_do_not_identify_the_runs_are_refused(sweep_dir):
    df = load_results(sweep_dir)
    assert len(df) == 2
    with pytest.raises(ValueError, match=r"^the dimensions \['replicate'\] do not identify the runs uniquely$"):
        to_xarray(df, dims=["replicate"])


# -- sensitivity and the worker pool ----------------------------------------------------------------


def test_a_sensitivity_method_that_does_not_exist_is_refused():
    from experiments.analysis.sensitivity import analyze

    spec = parse_spec(SPEC, "spec.toml")
    with pytest.raises(SpecError, match=r"^method 'fast' is not allowed; expected one of sobol, morris$"):
        analyze(pd.DataFrame(), spec, method="fast")


def test_the_pool_is_not_restarted_past_its_limit():
    from experiments.sweeps.executors import MAX_POOL_RESTARTS, _restart_pool

    class Pool:
        restarts = 0

        def restart(self):
            self.restarts += 1

    pool, queue, pending = Pool(), deque(), {"future": [{"run": 1}]}
    assert _restart_pool(pool, queue, pending, MAX_POOL_RESTARTS - 1) == MAX_POOL_RESTARTS
    assert pool.restarts == 1 and list(queue) == [[{"run": 1}]] and not pending
    with pytest.raises(SweepError, match=rf"^worker processes died {MAX_POOL_RESTARTS + 1} times; stopping"):
        _restart_pool(pool, queue, pending, MAX_POOL_RESTARTS)
    assert pool.restarts == 1


# -- validation -------------------------------------------------------------------------------------


def test_a_failed_validation_run_names_its_scenario_and_seed(tmp_path, monkeypatch):
    from experiments import runner
    from experiments.analysis import validation

    def fail_first(fn, tasks, **kw):
        cause = KeyError("x")
        raise runner.TaskFailed(0, cause) from cause

    monkeypatch.setattr(validation, "run_tasks", fail_first)
    with pytest.raises(validation.ValidationError, match=r"^baseline seed 1001 failed: KeyError: 'x'$"):
        validation.run_validation(tmp_path / "v", seeds=1)


def test_a_shock_day_after_the_window_is_refused():
    from experiments.analysis.validation import episode_measures

    day = np.arange(5)
    series = np.full(5, 150.0)
    with pytest.raises(ValueError, match=r"^shock_day = 10 is after the last day of the window \(4\)$"):
        episode_measures(day, series, series, series, shock_day=10)


# -- comparisons ------------------------------------------------------------------------------------


def test_a_comparison_without_arms_is_refused():
    from experiments.analysis.compare import CompareError, compare_table

    with pytest.raises(CompareError, match=r"^nothing to compare$"):
        compare_table([])


def test_a_scenario_arm_without_seeds_is_refused():
    from experiments.analysis.compare import CompareError, scenario_arm

    with pytest.raises(CompareError, match=r"^no seeds to run$"):
        scenario_arm("baseline", seeds=())


def test_saved_runs_of_different_horizons_are_not_one_arm(tmp_path):
    from experiments.analysis.compare import CompareError, saved_arm
    from model.results import run_simulation, save

    for name, days in (("a", 3), ("b", 5)):
        save(run_simulation(seed=1, days=days, hedge_funds__n_funds=20), tmp_path / "runs" / name)
    with pytest.raises(CompareError, match=r"runs have different horizons \(\[3, 5\] trading days\)$"):
        saved_arm(tmp_path / "runs")


# -- small guards -----------------------------------------------------------------------------------


def test_a_verdict_needs_a_side():
    from experiments.analysis.hypotheses import verdict

    with pytest.raises(ValueError, match=r"^give above= or below=$"):
        verdict(0.0, 1.0)


def test_an_unknown_hypothesis_is_refused():
    from experiments.analysis.hypotheses import chosen

    with pytest.raises(ValueError, match=r"^unknown hypothesis 'H9'; expected some of H1, "):
        chosen(["H9"])


def test_a_set_value_that_is_a_list_is_refused():
    from experiments.cli.common import UsageError, parse_set

    with pytest.raises(
        UsageError, match=r"^bad --set 'a\.b=\[1\]': the value must be a number, true/false or a string$"
    ):
        parse_set(["a.b=[1]"])


def test_port_zero_is_refused():
    from experiments.cli.common import port_int

    with pytest.raises(argparse.ArgumentTypeError, match=r"^expected a port number in \[1, 65535\], got '0'$"):
        port_int("0")


def test_a_missing_draws_file_cannot_be_read(tmp_path):
    from experiments.analysis.hypothesis_draws import load_draws

    with pytest.raises(ValueError, match=r"^--draws-from .*none\.json: cannot be read \(No such file or directory\)$"):
        load_draws(tmp_path / "none.json")


def test_fitting_kappa_to_an_empty_response_is_refused():
    from experiments.calibration.intervention import fit_kappa

    with pytest.raises(ValueError, match=r"^response is empty; expected at least one fit day$"):
        fit_kappa({}, {})


def test_a_shock_button_of_an_unknown_event_kind_is_unavailable():
    from experiments.app.specs import ShockSpec, ShockUnavailable

    button = ShockSpec("odd", "Odd", "no_such", "not an event", lambda model, kind: {})
    assert not button.available()
    with pytest.raises(ShockUnavailable, match=r"^event kind 'no_such' is not in model\.scenarios\.EVENT_KINDS$"):
        button.event(model=None)
