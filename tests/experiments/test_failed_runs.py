"""A run that ends in a clearing failure counts as a failed run downstream, never silently dropped."""

from __future__ import annotations

import json
import math

import numpy as np

from experiments.analysis import hypotheses as hyp
from experiments.analysis import validation
from experiments.analysis.targets import FIRST_SEED
from model.clearing import ClearingError


def test_a_failed_seed_makes_a_hypothesis_effect_undefined_not_smaller():
    assert all(math.isnan(v) for v in hyp.seed_ci([1.0, 2.0, float("nan"), 3.0]))
    assert hyp.verdict(*hyp.seed_ci([5.0, float("nan")])[1:], above=2.0) == "inconclusive"


def test_an_arm_that_fails_to_clear_returns_nan_series():
    arm = hyp.Arm(
        scenario="baseline",
        seed=1,
        days=5,
        overrides=hyp.overrides(hedge_funds__n_funds=20),
        events=(hyp.event(2, "trade_flow", usd_bn=1500.0),),  # a 15%+ move on day 2: implausible
    )
    out = hyp.run_arm(arm)
    assert set(out) == set(arm.columns)
    assert all(np.isnan(v).all() and v.shape == (6,) for v in out.values())


def test_validation_counts_a_failed_run_against_every_statistic(tmp_path, monkeypatch):
    """A break-the-state test: one of three baseline runs ends in a clearing failure. The runs are
    synthetic random walks (no model), so only the validation's bookkeeping is under test."""

    def synthetic_runs(task):
        scenario, seed, days, _overrides = task
        if seed == FIRST_SEED + 1:  # the second seed
            return {"seed": seed, "failed": str(ClearingError("markets did not clear on day 7"))}
        r = np.random.default_rng(seed).standard_t(5, days) * 0.005
        usdjpy = 150.0 * np.exp(np.r_[0.0, np.cumsum(r)])
        ones = np.ones(days + 1)
        return {"seed": seed, "day": np.arange(days + 1), "usdjpy": usdjpy, "hf_gross_usd_bn": ones, "risk_index": ones}

    monkeypatch.setattr(validation, "run_one", synthetic_runs)
    report = validation.run_validation(tmp_path / "v", seeds=3, days=300, burn_in=100, episode_scenario="none_here")
    assert [f["seed"] for f in report["failed_runs"]] == [FIRST_SEED + 1]
    judged = [row for row in report["statistics"].values() if row["judged"]]
    assert judged and all(row["failed_runs"] == 1 for row in report["statistics"].values())
    # one of three seeds failed (more than 10 %): no judged statistic passes, against either version of the data
    assert all(row["pass"] is False and row["pass_without_plaza"] is False for row in judged)
    assert report["targets_met"] == report["targets_met_without_plaza"] == 0 and not report["all_targets_met"]
    for row in report["statistics"].values():  # the others still reported, the failed seed kept in its place
        assert row["model"]["n"] == 2 and len(row["per_seed"]) == 3 and math.isnan(row["per_seed"][1])
    saved = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert saved["failed_runs"][0]["error"].startswith("markets did not clear")
    assert saved["statistics"]["sd_pct"]["per_seed"][1] is None
    assert "Failed run" in (tmp_path / "v" / "validation.md").read_text()
