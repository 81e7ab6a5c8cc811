"""Checks that act where runs are made and read: the analysis and calibration scripts check their runs'
accounting, a sweep stops on books that do not balance (a bug, not a result), a damaged sweep manifest
is one line, and a design point whose metric is undefined in a successful run is named as such.

Each is shown to fire by breaking the state or the file, as tests/model/test_identities_in_runs.py
does for the runs of ``run_simulation``."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest

from model.accounting import AccountingError

# the broken sector the runs of run_simulation are shown to catch (the fixture "unbalanced": real money
# books 3 bn dollars from nothing on day BROKEN_DAY; UNBALANCED: what the run's check says)
from tests.model.test_identities_in_runs import BROKEN_DAY, SMALL, UNBALANCED, unbalanced  # noqa: F401

# -- the scripts check their runs ---------------------------------------------------------------------------


def _replay(days):
    from experiments.analysis import replay

    return replay.replay_run((1, days, SMALL))


def _episode_facts(days):
    from experiments.analysis import episode_facts

    return episode_facts._run(("baseline", 1, days, ("usdjpy",), SMALL))


def _auctions(days):
    from experiments.analysis import auctions

    return auctions.run(1, days, **SMALL)


def _risk_index_moments(days):
    from experiments.calibration import risk_index

    return risk_index.moments_of_run((SMALL, 1, days))


def _baseline_moments(days):
    from experiments.calibration import baseline

    return baseline.moments_of_run((SMALL, 1, days))


def _liquidity_spiral(days):
    from experiments.analysis import balance_sheet_cycle

    return balance_sheet_cycle.liquidity_spiral(1, shock_day=days // 2, window=days // 2, base=SMALL)


def _fed_channel(days):
    from experiments.analysis import carry_channels

    return carry_channels.fed_channel(1, news_day=days // 2, after=days - days // 2, overrides=SMALL)


def _ust_share_of_unwind(days):
    from experiments.analysis import carry_channels

    return carry_channels.ust_share_of_unwind(1, 0.5, start=days // 2, end=days)


def _basis_in_unwind(days):
    from experiments.analysis import carry_channels

    return carry_channels.basis_in_unwind(1, day=days, **SMALL)


def _intervention_twins(days):
    from experiments.analysis import interventions

    return interventions.twin_effect((SMALL, 5.0, 1, 160.0))  # its own horizon, past BROKEN_DAY


def _budget_twins(days):
    from experiments.analysis import superlong

    return superlong.budget_twins((1, 1.0, "supplementary_budget", SMALL))  # its own horizon


def _run_stats(days):
    from experiments.analysis import balance_sheet_cycle

    return balance_sheet_cycle.run_stats(("baseline", SMALL, 1, days))


def _news_on_its_day(days):
    from experiments.analysis import balance_sheet_cycle

    return balance_sheet_cycle.news_on_its_day(1, day=days, base=SMALL)


def _leverage_binds(days, monkeypatch):
    from experiments.analysis import balance_sheet_cycle

    # a small book never reaches the anchor: its eve is put at day 5, so that the month after it holds BROKEN_DAY
    monkeypatch.setattr(balance_sheet_cycle, "crowded_eve", lambda books, anchor, warmup: 5 if len(books) > 5 else -1)
    return balance_sheet_cycle.leverage_binds(1, month=days - 5, base=SMALL)


def _multi_root_days(days):
    from experiments.analysis import balance_sheet_cycle

    return balance_sheet_cycle.multi_root_days(("baseline", 1, days, SMALL))


RUNNERS = [_replay, _episode_facts, _auctions, _risk_index_moments, _baseline_moments, _liquidity_spiral,
           _fed_channel, _ust_share_of_unwind, _basis_in_unwind, _intervention_twins, _budget_twins, _run_stats,
           _news_on_its_day, _leverage_binds, _multi_root_days]  # fmt: skip


@pytest.mark.usefixtures("unbalanced")
@pytest.mark.parametrize("runner", RUNNERS, ids=lambda f: f.__name__.lstrip("_"))
def test_each_script_checks_the_accounting_of_its_runs(runner, monkeypatch):
    takes_monkeypatch = "monkeypatch" in inspect.signature(runner).parameters
    with pytest.raises(AccountingError, match=rf"^scenario \w+, seed 1.*{UNBALANCED}") as caught:
        runner(20, monkeypatch) if takes_monkeypatch else runner(20)
    assert "\n" not in str(caught.value)


def test_the_fuzzer_reads_every_days_recorded_residual(monkeypatch):
    """A day's residual out of bounds between two of the fuzzer's identity checks is found all the same."""
    import model.model as model_module
    from experiments.analysis import fuzz

    real = model_module.walras_residual
    calls = []

    def corrupted(*args):
        calls.append(None)
        return 1e-3 if len(calls) == BROKEN_DAY else real(*args)

    monkeypatch.setattr(model_module, "walras_residual", corrupted)
    monkeypatch.setattr(fuzz, "draw_overrides", lambda draw, scenarios: ("baseline", dict(SMALL), 1))
    out = fuzz.fuzz_one((0, 15))
    assert out["outcome"] == "identity" and f"day {BROKEN_DAY}: excess demand" in out["error"]


# -- sweeps --------------------------------------------------------------------------------------------------

SWEEP = textwrap.dedent(
    """
    [sweep]
    scenario = "baseline"
    days = 12
    design = "grid"
    replicates = 1
    metrics = ["usdjpy_max_fall_pct"]

    [fixed]
    hedge_funds.n_funds = 20
    nisa.n_households = 200

    [parameters]
    hedge_funds.max_leverage = { values = [4.0, 6.0] }
    """
)


@pytest.mark.usefixtures("unbalanced")
def test_a_sweep_stops_on_books_that_do_not_balance_and_says_so_in_one_line(tmp_path, capsys):
    """A run that breaks the accounting is a bug, not a failed run to record: the sweep stops."""
    from experiments.cli import main
    from experiments.cli.common import EXIT_FAILURE
    from experiments.sweeps import parse_spec, run_sweep

    with pytest.raises(AccountingError, match=UNBALANCED):
        run_sweep(parse_spec(SWEEP, "s.toml"), tmp_path / "lib", executor="serial", progress=False)
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP)
    status = main(["sweep", str(spec), "--out", str(tmp_path / "cli"), "--executor", "serial", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()  # the sweep's log lines, then the error
    assert status == EXIT_FAILURE and not any("Traceback" in line for line in err)
    assert "accounting does not add up" in err[-1] and UNBALANCED in err[-1]


@pytest.mark.parametrize(
    "content, match",
    [
        (b'{"format": "caf\xe9"}', "cannot read the sweep's manifest: it is not UTF-8 text"),
        (b"[1, 2]", "the sweep's manifest must be a JSON object, got list"),
        (b'{"format": 1', "cannot read the sweep's manifest: it is not valid JSON"),
    ],
)
def test_a_damaged_manifest_is_one_line_naming_the_file(tmp_path, content, match):
    from experiments.sweeps import SpecError
    from experiments.sweeps.store import MANIFEST_FILE, load_manifest

    (tmp_path / MANIFEST_FILE).write_bytes(content)
    with pytest.raises(SpecError, match=match) as caught:
        load_manifest(tmp_path)
    assert str(tmp_path / MANIFEST_FILE) in str(caught.value) and "\n" not in str(caught.value)


def test_a_metric_undefined_in_a_successful_run_is_named_as_such_not_as_a_failed_run():
    from experiments.analysis.sensitivity import point_means
    from experiments.sweeps import SpecError
    from tests.experiments.test_sensitivity import fake_results, make_spec

    spec = make_spec("saltelli", 8, replicates=2)
    results = fake_results(spec, lambda u: u[:, 0])
    metric = "usdjpy_max_fall_pct"
    every = results.copy()  # both replicates of point 3 ran and their metric is undefined
    every.loc[every["point"] == 3, metric] = np.nan
    one = results.copy()  # one replicate's metric undefined: not averaged away
    one.loc[(one["point"] == 3) & (one["replicate"] == 0), metric] = np.nan
    for broken in (every, one):
        with pytest.raises(SpecError, match=f"metric '{metric}' is undefined \\(NaN\\) in a successful run at 1 "):
            point_means(broken, spec, metric)
    assert np.isfinite(point_means(results, spec, metric)).all()
