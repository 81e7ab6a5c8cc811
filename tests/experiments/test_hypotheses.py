"""The hypothesis experiments: their statistics (known answers) and the directions they find over
several seeds, judged by intervals that come from the seed spread."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.analysis import hypotheses as hyp


def test_bootstrap_interval_of_a_constant_collapses_and_of_a_sample_covers_its_mean():
    assert hyp.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    x = np.random.default_rng(1).normal(5.0, 1.0, 40)
    m, lo, hi = hyp.bootstrap_ci(x)
    assert lo < m < hi and m == pytest.approx(x.mean())
    # about ±1.96 standard errors
    assert (hi - lo) / 2 == pytest.approx(1.96 * x.std(ddof=1) / np.sqrt(40), rel=0.2)
    assert np.isnan(hyp.bootstrap_ci([])[0])


@pytest.mark.parametrize(
    "lo, hi, kw, expected",
    [
        (2.5, 4.0, {"above": 2.0}, "supported"),
        (0.5, 1.5, {"above": 2.0}, "refuted"),
        (1.5, 2.5, {"above": 2.0}, "inconclusive"),
        (-3.0, -1.0, {"below": 0.0}, "supported"),
        (1.0, 3.0, {"below": 0.0}, "refuted"),
        (float("nan"), 1.0, {"above": 0.0}, "inconclusive"),
    ],
)
def test_verdict_reads_the_interval_against_the_threshold(lo, hi, kw, expected):
    assert hyp.verdict(lo, hi, **kw) == expected


def test_roc_auc_known_answers():
    y = np.array([0, 0, 0, 1, 1], bool)
    assert hyp.roc_auc(np.array([1, 2, 3, 4, 5]), y) == 1.0
    assert hyp.roc_auc(np.array([5, 4, 3, 2, 1]), y) == 0.0
    assert hyp.roc_auc(np.ones(5), y) == 0.5  # ties count half
    rng = np.random.default_rng(0)
    labels = rng.random(20_000) < 0.3
    assert hyp.roc_auc(rng.random(20_000), labels) == pytest.approx(0.5, abs=0.02)
    # a shift of d standard deviations between the classes: AUC = Φ(d/√2)
    scores = rng.normal(size=20_000) + 1.0 * labels
    assert hyp.roc_auc(scores, labels) == pytest.approx(0.760, abs=0.01)


def test_crash_labels_look_ahead_only():
    s = np.array([100, 100, 100, 94, 94, 94, 94], float)
    y = hyp.crash_labels(s, fall=0.05, horizon=2)
    assert y.tolist() == [False, True, True, False, False, False, False]


def test_drawdown_and_impact():
    from model.results import max_drawdown  # the one drawdown rule the hypotheses use too

    assert max_drawdown(np.array([100.0, 120, 90, 110])) == (pytest.approx(0.25), 1, 2)
    base = np.full(10, 100.0)
    hit = base.copy()
    hit[5:] = 90.0
    assert hyp.impact(hit, base, 3, 10) == pytest.approx(np.log(100 / 90))


SEEDS = [1, 2, 3, 4]


def test_h2_fiscal_rise_weakens_the_yen_only_under_fiscal_dominance():
    r = hyp.h2(SEEDS, workers=1, quick=True)
    on, off = r.worlds["fiscal dominance on"], r.worlds["fiscal dominance off"]
    # intervals from the spread over seeds
    assert on["fiscal"]["ci"][0] > 0  # USD/JPY up: the yen weakens
    assert on["monetary"]["ci"][1] < 0  # a BoJ hike strengthens it
    assert off["fiscal"]["ci"][1] < 0  # without fiscal dominance the same budget strengthens it
    assert on["fiscal"]["jgb10y_change_bp"] > 0 and on["monetary"]["jgb10y_change_bp"] > 0


def test_h1_feedback_channels_amplify_the_surge():
    r = hyp.h1(SEEDS, workers=1, quick=True)
    main = r.worlds["default leverage"]["ablations"]["all feedback off"]
    assert main["ci"][0] > 1.0  # the feedback channels make the same trigger's surge larger
    # switching investor redemptions off alone barely matters; the VaR channel matters most
    ab = r.worlds["default leverage"]["ablations"]
    assert ab["VaR deleveraging off"]["ratio"] > ab["investor redemptions off"]["ratio"]


def test_hypotheses_command_writes_report_and_verdicts(tmp_path):
    from experiments.cli import main

    assert main(["hypotheses", "--seeds", "2", "--only", "H2,H7", "--quick", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "verdicts.json").read_text())
    keys = [h["key"] for h in payload["hypotheses"]]
    assert keys == ["H2", "H7"]
    for h in payload["hypotheses"]:
        assert h["verdict"] in ("supported", "refuted", "inconclusive")
        assert (tmp_path / h["figure"]).exists()
    report = (tmp_path / "report.md").read_text()
    assert "| H2 |" in report and "| H7 |" in report
    assert main(["hypotheses", "--seeds", "2", "--only", "H9", "--out", str(tmp_path)]) == 2
