"""Sensitivity analysis: known answers on analytic functions, then one tiny real sweep end to end.

The analytic tests feed :func:`experiments.analysis.sensitivity.analyze` a results table built from the
sweep's own design (as ``load_results`` would return it) with a metric computed from a function
whose indices are known in closed form.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.sensitivity import analyze, point_means, run_sensitivity
from experiments.cli import main
from experiments.sweeps import SpecError, design_table, load_results, load_spec, make_tasks, parse_spec, run_sweep

# three real parameters, each mapped below to a common unit range so the analytic answers apply
SPEC = """
[sweep]
design = "{design}"
samples = {samples}
replicates = {replicates}
metrics = ["usdjpy_max_fall_pct", "hf_failures_total"]
{extra}
[parameters]
hedge_funds.max_leverage = {{ range = [2.0, 20.0] }}
hedge_funds.trend_share = {{ range = [0.0, 0.5] }}
dealers.capacity_risk_elasticity = {{ range = [0.0, 2.0] }}
"""


def make_spec(design: str, samples: int, replicates: int = 1, extra: str = "") -> object:
    return parse_spec(SPEC.format(design=design, samples=samples, replicates=replicates, extra=extra), "test.toml")


def fake_results(spec, f, noise=None) -> pd.DataFrame:
    """A results table for ``spec`` whose metric is ``f(u)`` with u the inputs scaled to [0, 1]."""
    design = design_table(spec)
    u = np.column_stack(
        [(design[p.name].to_numpy() - p.lo) / (p.hi - p.lo) for p in spec.parameters]
    )  # (points, parameters)
    y = f(u)
    rows = []
    for task in make_tasks(spec, design):
        value = y[task["point"]] + (0.0 if noise is None else noise[task["replicate"]])
        rows.append(
            {
                "run_id": task["run_id"],
                "point": task["point"],
                "replicate": task["replicate"],
                "seed": task["seed"],
                **task["params"],
                "usdjpy_max_fall_pct": value,
                "hf_failures_total": 0.0,
                "status": "ok",
                "error": None,
            }
        )
    return pd.DataFrame(rows)


def test_linear_model_first_order_indices_are_the_squared_coefficient_shares():
    # y = a x1 + b x2 (+ 0 x3) with independent uniform inputs on equal ranges:
    # S1_i = a_i^2 / sum a^2, and without interactions ST_i = S1_i.
    a = np.array([1.0, 2.0, 0.0])
    spec = make_spec("saltelli", 1024, replicates=3)
    # common random numbers: replicate r shifts every point by the same amount, which the
    # average over replicates turns into a constant, leaving the indices unchanged
    results = fake_results(spec, lambda u: u @ a, noise=np.array([0.3, -1.0, 2.5]))
    t = analyze(results, spec, "usdjpy_max_fall_pct", seed=1).table.set_index("parameter")
    expected = a**2 / np.sum(a**2)
    np.testing.assert_allclose(t["S1"], expected, atol=0.03)
    np.testing.assert_allclose(t["ST"], expected, atol=0.03)
    conf = t["S1_conf"].to_numpy()
    assert (conf[:2] > 0).all() and (conf < 0.1).all()  # x3 has no effect at all: its interval is 0


def test_ishigami_indices_match_their_closed_form():
    # Ishigami & Homma (1990): f = sin x1 + 7 sin^2 x2 + 0.1 x3^4 sin x1, x_i ~ U(-pi, pi)
    def ishigami(u: np.ndarray) -> np.ndarray:
        x = -math.pi + 2 * math.pi * u
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    spec = make_spec("saltelli", 2048, extra="second_order = true")
    result = analyze(fake_results(spec, ishigami), spec, "usdjpy_max_fall_pct", seed=1)
    t = result.table.set_index("parameter")
    np.testing.assert_allclose(t["S1"], [0.3139, 0.4424, 0.0], atol=0.05)
    np.testing.assert_allclose(t["ST"], [0.5576, 0.4424, 0.2437], atol=0.05)
    s2 = result.second_order.set_index(["parameter_1", "parameter_2"])["S2"]
    assert s2[("hedge_funds.max_leverage", "dealers.capacity_risk_elasticity")] == pytest.approx(0.2437, abs=0.08)


def test_morris_elementary_effects_of_a_linear_model_are_exact():
    # moving x_i over its whole range changes y by a_i: mu* = |a_i| and sigma = 0 exactly
    a = np.array([3.0, -1.5, 0.0])
    spec = make_spec("morris", 8, extra="levels = 4")
    t = analyze(fake_results(spec, lambda u: u @ a), spec, "usdjpy_max_fall_pct").table.set_index("parameter")
    np.testing.assert_allclose(t["mu_star"], np.abs(a), atol=1e-9)
    np.testing.assert_allclose(t["mu"], a, atol=1e-9)
    np.testing.assert_allclose(t["sigma"], 0.0, atol=1e-9)


def test_indices_need_the_matching_design_and_a_complete_sweep():
    spec = make_spec("saltelli", 8, replicates=2)
    results = fake_results(spec, lambda u: u[:, 0])
    with pytest.raises(SpecError, match="design = 'morris'"):
        analyze(results, spec, "usdjpy_max_fall_pct", "morris")
    with pytest.raises(SpecError, match="not among the sweep's metrics"):
        analyze(results, spec, "risk_index_peak")
    with pytest.raises(SpecError, match="same value at every design point"):
        analyze(results, spec, "hf_failures_total")
    grid = parse_spec(
        '[sweep]\ndesign = "grid"\n[parameters]\nhedge_funds.max_leverage = { range = [2.0, 3.0], num = 2 }', "g.toml"
    )
    with pytest.raises(SpecError, match="need design = 'saltelli'"):
        analyze(fake_results(grid, lambda u: u[:, 0]), grid, "usdjpy_max_fall_pct")

    # too few samples: indices out of their bounds with intervals of zero width (S1 1.33 from one sample)
    few = make_spec("saltelli", 4)
    with pytest.raises(SpecError, match=r"samples = 4 is not allowed for sobol indices; expected at least 8"):
        analyze(fake_results(few, lambda u: u[:, 0]), few, "usdjpy_max_fall_pct")
    # a point whose replicates all failed (or never ran) leaves the indices undefined
    failed = results.copy()
    failed.loc[failed["point"] == 3, "status"] = "error"
    with pytest.raises(SpecError, match=r"1 of 40 design points have no successful run \(1 whose runs all failed"):
        analyze(failed, spec, "usdjpy_max_fall_pct")
    # one failed run: its replicate (seed) is left out at every point, not only at the point where it failed,
    # so every point averages the same seeds (here the replicates are the same numbers but for the fall)
    one = results.copy()
    one.loc[one["replicate"] == 1, "usdjpy_max_fall_pct"] += 100.0
    one.loc[(one["point"] == 3) & (one["replicate"] == 0), ["status", "usdjpy_max_fall_pct"]] = ["error", np.nan]
    kept = one[one["replicate"] != 0].groupby("point")["usdjpy_max_fall_pct"].mean().to_numpy()
    np.testing.assert_array_equal(point_means(one, spec, "usdjpy_max_fall_pct"), kept)
    # a run that has not run yet is not a failure: its replicate is not quietly left out
    unrun = results[~((results["point"] == 5) & (results["replicate"] == 1))]
    with pytest.raises(SpecError, match=r"1 of the sweep's 80 runs have not run yet"):
        point_means(unrun, spec, "usdjpy_max_fall_pct")
    # a failure in every replicate, at different points: no point can be averaged over the same seeds
    every = results.copy()
    for r in range(spec.replicates):
        every.loc[(every["point"] == r) & (every["replicate"] == r), "status"] = "error"
    with pytest.raises(SpecError, match="no replicate succeeded at every one of the 40 design points"):
        point_means(every, spec, "usdjpy_max_fall_pct")


def test_a_real_sobol_sweep_end_to_end(tmp_path, capsys):
    spec_path = tmp_path / "sobol.toml"
    spec_path.write_text(
        textwrap.dedent(
            """
            [sweep]
            design = "saltelli"
            samples = 8
            days = 30
            replicates = 2
            metrics = ["usdjpy_max_fall_pct", "hf_gross_max_drawdown_pct"]
            [fixed]
            hedge_funds.n_funds = 20
            [parameters]
            hedge_funds.max_leverage = { range = [2.0, 20.0] }
            dealers.fx_capacity_usd_bn = { range = [100.0, 1600.0], log = true }
            """
        )
    )
    out = tmp_path / "out"
    run_sweep(load_spec(spec_path), out, executor="serial", progress=False)
    assert len(load_results(out)) == 8 * 4 * 2

    assert main(["sensitivity", str(out), "--metric", "hf_gross_max_drawdown_pct", "--out", str(tmp_path / "s")]) == 0
    printed = capsys.readouterr().out
    assert "Sobol' indices of hf_gross_max_drawdown_pct" in printed
    table = pd.read_csv(tmp_path / "s" / "sensitivity_hf_gross_max_drawdown_pct.csv")
    assert list(table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table["parameter"].tolist() == ["hedge_funds.max_leverage", "dealers.fx_capacity_usd_bn"]
    assert np.isfinite(table[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy()).all()
    md = (tmp_path / "s" / "sensitivity_hf_gross_max_drawdown_pct.md").read_text()
    assert "| parameter | S1 | S1_conf | ST | ST_conf |" in md
    png = tmp_path / "s" / "sensitivity_hf_gross_max_drawdown_pct.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # defaults: the metric usdjpy_max_fall_pct, written beside the results
    result, paths = run_sensitivity(out)
    assert result.metric == "usdjpy_max_fall_pct" and all(p.parent == out for p in paths)
    assert main(["sensitivity", str(out), "--method", "morris"]) == 2
    assert "design = 'morris'" in capsys.readouterr().err
    nowhere = str(Path(tmp_path / "nowhere"))
    assert main(["sensitivity", nowhere]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"DIR = {nowhere!r} is not allowed; expected the directory of a sweep" in err[0], err


def test_the_noise_floor_is_the_seed_noise_that_common_random_numbers_leave_and_the_st_it_gives():
    """y = x1 + noise independent across points and replicates: the two parameters without any effect get
    ST near the noise share (spurious sensitivity, the reviewer's SALib check), and replicate_noise_share
    measures it; a replicate's shift that is the same at every point adds none."""
    from experiments.analysis.sensitivity import replicate_noise_share

    spec = make_spec("saltelli", 1024, replicates=2)
    clean = fake_results(spec, lambda u: math.sqrt(12.0) * u[:, 0], noise=np.array([0.7, -1.3]))
    assert replicate_noise_share(clean, spec, "usdjpy_max_fall_pct") == pytest.approx(0.0, abs=1e-12)
    noisy = clean.copy()
    rng = np.random.default_rng(3)
    noisy["usdjpy_max_fall_pct"] += rng.normal(0.0, 1.0, len(noisy))  # var 1 per run, 1/2 in a point's mean
    share = replicate_noise_share(noisy, spec, "usdjpy_max_fall_pct")
    assert share == pytest.approx(0.5 / 1.5, abs=0.03)  # Var(x1·√12) = 1, plus 0.5 of noise
    result = analyze(noisy, spec, "usdjpy_max_fall_pct", seed=1)
    assert result.noise_share == share
    st = result.table.set_index("parameter")["ST"]
    for dummy in ("hedge_funds.trend_share", "dealers.capacity_risk_elasticity"):
        assert st[dummy] == pytest.approx(share, abs=0.06), (dummy, st[dummy], share)
    one = make_spec("saltelli", 64, replicates=1)
    assert math.isnan(replicate_noise_share(fake_results(one, lambda u: u[:, 0]), one, "usdjpy_max_fall_pct"))


def test_failed_runs_are_counted_and_the_caption_says_which_replicates_they_leave_out():
    """Two failed runs of one replicate at two points: the result counts them, that replicate is left out
    everywhere, and the caption says so; without failures it says nothing."""
    from experiments.analysis.sensitivity import _caption

    a = np.array([1.0, 2.0, 0.0])
    spec = make_spec("saltelli", 64, replicates=3)
    results = fake_results(spec, lambda u: u @ a, noise=np.array([0.3, -1.0, 2.5]))
    clean = analyze(results, spec, "usdjpy_max_fall_pct", seed=1)
    assert clean.failed_runs == 0 and clean.dropped_replicates == 0 and "failed" not in _caption(clean)
    broken = results.copy()
    rows = broken.index[(broken["point"].isin([3, 7])) & (broken["replicate"] == 1)]
    broken.loc[rows, "status"], broken.loc[rows, "usdjpy_max_fall_pct"] = "error", np.nan
    r = analyze(broken, spec, "usdjpy_max_fall_pct", seed=1)
    assert (r.failed_runs, r.dropped_replicates) == (2, 1)
    assert "2 runs failed: the 1 replicates they belong to are left out at every design point" in _caption(r)
    assert "average the 2 replicates that succeeded everywhere" in _caption(r)


def test_the_tables_record_what_made_them_and_another_sweeps_are_not_replaced(tmp_path):
    import json

    from experiments.analysis.sensitivity import write_outputs
    from experiments.runner import code_fingerprint

    a = np.array([1.0, 2.0, 0.0])
    spec = make_spec("saltelli", 16)
    result = analyze(fake_results(spec, lambda u: u @ a), spec, "usdjpy_max_fall_pct", seed=7)
    out = tmp_path / "figures"
    paths = write_outputs(result, out, tmp_path / "sweep")
    made = json.loads((out / "sensitivity_usdjpy_max_fall_pct.json").read_text())
    assert made["spec_sha256"] == spec.digest() and made["seed"] == 7 and made["method"] == "sobol"
    assert made["code_fingerprint"] == code_fingerprint() and made["salib"] not in ("", None)
    assert made["sweep_dir"] == str((tmp_path / "sweep").resolve())
    assert f"bootstrap seed 7, from the sweep's specification `{spec.digest()[:12]}`" in paths[1].read_text()
    assert write_outputs(result, out, tmp_path / "sweep")  # the same sweep's again: replaced

    other = make_spec("saltelli", 16, replicates=2)  # another sweep, the same metric
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SpecError, match=r"holds sensitivity_usdjpy_max_fall_pct\.json of another sweep"):
        write_outputs(analyze(fake_results(other, lambda u: u @ a), other, "usdjpy_max_fall_pct"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written


def test_the_morris_caption_speaks_of_elementary_effects_not_sobol_indices():
    from experiments.analysis.sensitivity import _caption

    spec = make_spec("morris", 8, replicates=3, extra="levels = 4")
    noise = np.array([0.3, -1.0, 2.5])
    r = analyze(fake_results(spec, lambda u: u @ np.array([3.0, -1.5, 0.0]), noise=noise), spec, "usdjpy_max_fall_pct")
    assert r.method == "morris" and math.isfinite(r.noise_share)
    assert "μ*" in _caption(r) and "ST" not in _caption(r) and "S1" not in _caption(r)
