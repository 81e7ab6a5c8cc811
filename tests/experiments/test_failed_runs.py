"""A run that ends in a clearing failure counts as a failed run downstream, never silently dropped."""

from __future__ import annotations

import json
import math

import numpy as np

from experiments.analysis import hypotheses as hyp
from experiments.analysis import validation
from model.clearing import ClearingError


def test_a_failed_seed_makes_a_hypothesis_effect_undefined_not_smaller():
    assert all(math.isnan(v) for v in hyp.bootstrap_ci([1.0, 2.0, float("nan"), 3.0]))
    assert hyp.verdict(*hyp.bootstrap_ci([5.0, float("nan")])[1:], above=2.0) == "inconclusive"


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
    real = validation.run_one

    def failing_seed_two(task):
        scenario, seed, days = task
        if seed == 2 and "baseline" in scenario:
            return {"seed": seed, "failed": str(ClearingError("markets did not clear on day 7"))}
        return real(task)

    monkeypatch.setattr(validation, "run_one", failing_seed_two)
    report = validation.run_validation(tmp_path / "v", seeds=3, days=300, episode_days=20)
    assert [f["seed"] for f in report["failed_runs"]] == [2]
    banded = [row for row in report["statistics"].values() if row["band"] is not None]
    assert banded and all(row["failed_runs"] == 1 and row["pass"] is False for row in banded)
    assert all(len(row["per_seed"]) == 2 for row in report["statistics"].values())  # the others still reported
    saved = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert saved["failed_runs"][0]["error"].startswith("markets did not clear")
    assert "Failed run" in (tmp_path / "v" / "validation.md").read_text()
