"""The hypothesis experiments: their statistics (known answers), the verdict logic on planted effects,
and the command's output (structure only).

No test here asserts what a hypothesis's verdict is at the default parameters, nor the sign of an
effect the model finds there: a recalibration that refutes a thesis must not fail the suite. The
verdict machinery is tested by planting the arms' paths (``run_arms`` replaced), so the effect, its
interval and its verdict are known answers; the mechanisms behind the hypotheses are tested as
partial effects in the sectors' own tests (e.g. tests/model/test_fiscal.py for the fiscal channels
of H2)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict

import numpy as np
import pytest

from experiments.analysis import hypotheses as hyp


def test_seed_interval_of_a_constant_collapses_and_of_a_sample_is_students_t():
    assert hyp.seed_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    x = np.random.default_rng(1).normal(5.0, 1.0, 40)
    m, lo, hi = hyp.seed_ci(x)
    assert lo < m < hi and m == pytest.approx(x.mean())
    # t(39) at 97.5% is 2.0227 (tables): the half-width in standard errors
    assert (hi - lo) / 2 == pytest.approx(2.0227 * x.std(ddof=1) / np.sqrt(40), rel=1e-4)
    # three seeds: t(2) at 97.5% is 4.3027
    m3, lo3, hi3 = hyp.seed_ci([1.0, 2.0, 4.0])
    assert (hi3 - lo3) / 2 == pytest.approx(4.3027 * np.std([1.0, 2.0, 4.0], ddof=1) / np.sqrt(3), rel=1e-4)
    assert np.isnan(hyp.seed_ci([])[0])
    # one seed: an estimate but no interval, so no verdict
    m1, lo1, hi1 = hyp.seed_ci([0.3])
    assert m1 == 0.3 and np.isnan(lo1) and np.isnan(hi1)
    assert hyp.verdict(lo1, hi1, above=0.0) == "inconclusive"


@pytest.mark.parametrize("n", [3, 5])
def test_with_no_effect_the_interval_calls_supported_about_as_often_as_its_level_says(n):
    """Under no effect a 95% interval lies above 0 in 2.5% of samples. The percentile bootstrap it
    replaced did so in 13% of three-seed and 8% of five-seed samples (a reviewer's simulation)."""
    rng = np.random.default_rng(20261204)
    reps = 4000
    above = sum(hyp.verdict(*hyp.seed_ci(rng.normal(size=n))[1:], above=0.0) == "supported" for _ in range(reps))
    # binomial sd at 2.5% over 4000 draws is 0.25 pp
    assert 0.015 < above / reps < 0.035


def test_ratio_of_means_known_answers_and_a_small_denominator_does_not_dominate():
    # exactly twice in every seed
    assert hyp.ratio_ci([20.0, 22.0, 24.0], [10.0, 11.0, 12.0]) == pytest.approx((2.0, 2.0, 2.0), abs=1e-7)
    # a reviewer's case: the off surges spread over 0.03-1 %, the on surges 0.4 % higher
    off = np.linspace(0.0003, 0.01, 20)
    on = off + 0.004
    r, lo, hi = hyp.ratio_ci(on, off)
    assert r == pytest.approx(on.mean() / off.mean()) and r == pytest.approx(1.7767, abs=1e-4)
    assert lo < r < hi
    per_seed_mean = float(np.mean(on / off))
    assert per_seed_mean > 2.5  # the mean of per-seed ratios, used before, passed ×2 on this case
    amp = hyp.amplification(on, off)
    assert amp["ratio"] == r and amp["ci"] == [lo, hi]
    # undefined without a positive mean denominator, or with a failed run
    assert all(np.isnan(v) for v in hyp.ratio_ci([1.0, 2.0], [0.0, 0.0]))
    assert all(np.isnan(v) for v in hyp.ratio_ci([1.0, np.nan], [1.0, 1.0]))
    with pytest.raises(ValueError, match="one of each per seed"):
        hyp.ratio_ci([1.0, 2.0], [1.0])


def test_the_ratios_interval_is_fiellers_its_ends_where_the_paired_t_test_just_rejects():
    rng = np.random.default_rng(5)
    off = rng.normal(1.0, 0.4, 12)
    on = 2.0 * off + rng.normal(0.0, 0.3, 12)
    r, lo, hi = hyp.ratio_ci(on, off)
    t = hyp.t_quantile(hyp.CI_LEVEL, 12)
    for rho in (lo, hi):  # at each end the paired t statistic of on − ρ·off is exactly ±t
        d = on - rho * off
        assert abs(d.mean()) / (d.std(ddof=1) / math.sqrt(12)) == pytest.approx(t, rel=1e-9)
    assert lo < r < hi
    # a denominator indistinguishable from 0: the set of ratios is unbounded, no interval, no verdict
    r, lo, hi = hyp.ratio_ci([1.0, 2.0, 3.0], [0.05, -0.1, 0.2])
    assert r == pytest.approx(2.0 / (0.15 / 3)) and math.isnan(lo) and math.isnan(hi)


def test_the_ratios_interval_misses_a_true_ratio_of_two_about_equally_often_on_each_side():
    """A true ratio of means of 2, 10 seeds, the denominator noisy (sd half its mean): the linearised
    interval used before lay wholly below 2 in 5–11 % of samples and above it in under 1 %."""
    rng = np.random.default_rng(20261205)
    reps, below, above = 4000, 0, 0
    for _ in range(reps):
        off = rng.normal(1.0, 0.5, 10)
        on = rng.normal(2.0, 0.5, 10)
        _, lo, hi = hyp.ratio_ci(on, off)
        below += hi < 2.0
        above += lo > 2.0
    # binomial sd at 2.5 % over 4000 draws is 0.25 pp
    assert 0.015 < below / reps < 0.037 and 0.015 < above / reps < 0.037, (below, above)


def test_bootstrap_standard_error_interval_matches_students_t_for_a_mean_and_needs_two_units():
    x = np.random.default_rng(3).normal(size=6)
    rng = np.random.default_rng(4)
    means = x[rng.integers(0, 6, (20000, 6))].mean(axis=1)
    lo, hi = hyp.bootstrap_se_ci(float(x.mean()), means, 6)
    _, tlo, thi = hyp.seed_ci(x)
    assert lo == pytest.approx(tlo, rel=0.02, abs=0.01) and hi == pytest.approx(thi, rel=0.02, abs=0.01)
    assert all(np.isnan(v) for v in hyp.bootstrap_se_ci(0.1, [0.1] * 100, 1))  # one held-out seed


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


def test_crash_onset_is_the_close_the_fall_starts_from():
    s = np.array([100, 100.5, 101, 100.8, 97, 95, 94, 96, 98, 99, 99, 99], float)
    # a 5% fall within 3 days follows days 2 and 3; the run's highest close is day 2, and the lowest
    # close within 3 days of the run's last day (3) is day 6's
    assert hyp.crash_labels(s, fall=0.05, horizon=3).tolist()[:5] == [False, False, True, True, False]
    assert hyp.crash_onsets(s, fall=0.05, horizon=3) == [(2, 6)]
    warn, scored = hyp.onset_labels(s, lead=2, fall=0.05, horizon=3)
    assert np.flatnonzero(warn).tolist() == [1, 2]  # the two days up to and including the onset
    # not scored: the fall under way (3-6) and the last horizon + lead - 1 = 4 days, whose labels need later closes
    assert np.flatnonzero(~scored).tolist() == [3, 4, 5, 6, 8, 9, 10, 11]
    # a flat path has no crash: nothing to warn of, every day scored but the last four
    warn, scored = hyp.onset_labels(np.full(10, 100.0), lead=2, fall=0.05, horizon=3)
    assert not warn.any() and scored.tolist() == [True] * 6 + [False] * 4


def test_a_long_slide_is_one_crash_under_way_until_its_trough():
    # a gentle rise to day 29 (the onset: the highest close), a slide of 0.5% a day to day 109, then flat
    rise = 99.0 + np.arange(30) / 29
    s = np.concatenate([rise, 100.0 * np.exp(-0.005 * np.arange(1, 81)), np.full(40, 100.0 * np.exp(-0.4))])
    ((onset, trough),) = hyp.crash_onsets(s)
    assert onset == 29 and trough == 109  # the last close of the slide
    warn, scored = hyp.onset_labels(s)
    assert not scored[30:110].any() and scored[10:30].all() and warn[10:30].all() and not warn[:10].any()


@pytest.mark.parametrize(
    "with_policy, without, since, expected",
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 1, False),  # the same run: it never acted
        ([1.0, 2.0, 3.5], [1.0, 2.0, 3.0], 1, True),  # apart after day 1 only
        ([1.5, 2.0, 3.5], [1.0, 2.0, 3.0], 1, False),  # apart before: it acted before the trigger
        ([1.0, np.nan, 3.5], [1.0, 2.0, 3.0], 1, False),  # a failed run
    ],
)
def test_policy_acted(with_policy, without, since, expected):
    assert hyp.policy_acted(np.array(with_policy), np.array(without), since) is expected


def h7_planted(failed_seed: int | None = None):
    """Planted H7 runs: a crash starts on day 300; pillar A rises only once the fall is under way (as a
    volatility index does), pillar B rises in the month before it. ``failed_seed``'s runs failed to clear."""
    days = hyp.H7_WARM_UP + 540

    def run(arms, workers=1, progress=False):
        out = []
        for arm in arms:
            t = np.arange(days + 1, dtype=float)
            rng = np.random.default_rng(arm.seed)
            s = 150.0 + 0.01 * rng.standard_normal(days + 1)
            s[301:320] = 150.0 * np.exp(-0.004 * np.arange(1, 20))  # -7% over 19 days from the close of day 300
            s[320:] = s[319]
            paths = {c: rng.standard_normal(days + 1) for c in arm.columns if c != "usdjpy"}
            paths["usdjpy"] = s
            paths["dash_a_risk_index"] = paths["dash_a_risk_index"] + 5.0 * ((t > 300) & (t < 320))
            paths["dash_b_zone"] = paths["dash_b_zone"] + 5.0 * ((t > 280) & (t <= 300))
            if arm.seed == failed_seed:  # as run_arms returns a failed run
                paths = {c: np.full(days + 1, np.nan) for c in arm.columns}
            out.append(paths)
        return out

    return run


def test_h7_credits_warnings_before_the_onset_not_signals_of_a_fall_under_way(monkeypatch):
    """An early warning is B's: H7 must favour B, whatever A does during the fall."""
    monkeypatch.setattr(hyp, "run_arms", h7_planted())
    # four held-out seeds: with two, Student's t has one degree of freedom and no planted effect decides
    r = hyp.h7([1, 2, 3, 4, 5, 6, 7, 8], workers=1, quick=True)
    assert r.worlds["train_seeds"] == [1, 2, 3, 4] and r.worlds["test_seeds"] == [5, 6, 7, 8]
    assert r.worlds["onsets"] == len(hyp.H7_SCENARIOS) * 4  # one per held-out run
    assert all(v["onsets"] == 4 for v in r.worlds["per_scenario"].values())
    assert r.worlds["pillar_auc"]["dash_b_zone"] > 0.9
    assert r.worlds["pillar_auc"]["dash_a_risk_index"] < 0.6  # its rise comes after the onset: not scored
    assert r.effect < 0.0 and r.verdict == "refuted"
    assert r.worlds["failed_runs"] == []


def test_h7_does_not_credit_a_dashboard_for_telling_the_scenarios_apart(monkeypatch):
    """Crashes only in the last scenario, whose pillar A sits higher by construction and carries no warning
    within it: ranked across scenarios A looks like a warning (pooled AUC near 1); within scenarios it is
    noise, as B is everywhere, and the headline difference is about 0."""
    days = hyp.H7_WARM_UP + 540
    crash_scenario = hyp.H7_SCENARIOS[-1]

    def run(arms, workers=1, progress=False):
        out = []
        for arm in arms:
            rng = np.random.default_rng(1000 * hyp.H7_SCENARIOS.index(arm.scenario) + arm.seed)
            s = 150.0 + 0.01 * rng.standard_normal(days + 1)
            if arm.scenario == crash_scenario:
                for start in (150, 300, 450):  # -7% over 19 days from the close of each start day
                    s[start + 1 : start + 20] = s[start] * np.exp(-0.004 * np.arange(1, 20))
                    s[start + 20 :] = s[start + 19] * s[start + 20 :] / s[start + 20]
            paths = {c: rng.standard_normal(days + 1) for c in arm.columns if c != "usdjpy"}
            paths["usdjpy"] = s
            if arm.scenario == crash_scenario:
                paths["dash_a_risk_index"] = paths["dash_a_risk_index"] + 3.0
            out.append(paths)
        return out

    monkeypatch.setattr(hyp, "run_arms", run)
    r = hyp.h7([1, 2, 3, 4, 5, 6, 7, 8], workers=1, quick=True)
    pooled = r.worlds["auc_pooled_across_scenarios"]
    assert pooled[hyp.DASHBOARD_NAMES["A"]] - pooled[hyp.DASHBOARD_NAMES["B"]] > 0.1  # what the pooled AUC says
    assert abs(r.effect) < 0.1 and r.verdict != "supported"


def h7_two_crash_scenarios(arms, workers=1, progress=False):
    """Planted H7 runs, the same for every seed: USD/JPY rises 0.01% a day, and falls 0.4% a day on the 19
    days after each onset: on day 200 in the baseline, on days 150 and 250 in the gradual normalisation,
    never in the other scenarios. Every pillar is 0 but ``dash_b_zone``, which is 1 on the 20 days up to
    and including the baseline's onset, and only before the first of the gradual normalisation's two."""
    n = 400  # days 0..399
    crashes = {"baseline": (200,), "gradual_normalization": (150, 250)}
    warned = {"baseline": (200,), "gradual_normalization": (150,)}
    out = []
    for arm in arms:
        r = np.full(n, 1e-4)
        r[0] = 0.0
        for onset in crashes.get(arm.scenario, ()):
            r[onset + 1 : onset + 20] = -0.004
        paths = {c: np.zeros(n) for c in arm.columns}
        paths["usdjpy"] = 150.0 * np.exp(np.cumsum(r))
        for onset in warned.get(arm.scenario, ()):
            paths["dash_b_zone"][onset - 19 : onset + 1] = 1.0
        out.append(paths)
    return out


def test_h7_weights_each_scenarios_auc_by_its_pairs_of_a_warning_and_a_quiet_day(monkeypatch):
    """The within-scenario AUC is each scenario's AUC weighted by its (warning day, quiet day) pairs, not a
    plain mean over scenarios. Planted (:func:`h7_two_crash_scenarios`): the baseline has one onset per run,
    which ``dash_b_zone`` warns of (AUC 1); the gradual normalisation has two, of which it warns of the first
    only (AUC 0.75); the other two scenarios have no crash (no pairs). Held-out seeds 3 and 4, two runs per
    scenario. The scored days are 60..360, less the 19 days of each fall under way; the warning days are the
    20 up to each onset: so the baseline has 2·20 = 40 warning and 2·(301 − 19 − 20) = 524 quiet days (20,960
    pairs), the gradual normalisation 2·40 = 80 and 2·(301 − 38 − 40) = 446 (35,680 pairs). The pair-weighted
    AUC is (20,960·1 + 35,680·0.75)/56,640 = 0.84251…; equal weights would give 0.875, weights by onsets or
    by warning days 0.8333…"""
    monkeypatch.setattr(hyp, "run_arms", h7_two_crash_scenarios)
    r = hyp.h7([1, 2, 3, 4], workers=1, quick=True)
    assert r.worlds["test_seeds"] == [3, 4]
    onsets = {sc: v["onsets"] for sc, v in r.worlds["per_scenario"].items()}
    assert onsets == {"baseline": 2, "gradual_normalization": 4, "fiscal_dominance_2025": 0, "imported_inflation": 0}
    b = hyp.DASHBOARD_NAMES["B"]
    # each crash scenario's own AUC: every warning day above every quiet day; in the gradual normalisation
    # half the warning days (the first onset's 40) above every quiet day, half (the second's 40) tied with them
    assert r.worlds["per_scenario"]["baseline"][b] == 1.0
    assert r.worlds["per_scenario"]["gradual_normalization"][b] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5, abs=1e-12)
    pairs = {"baseline": 40 * 524, "gradual_normalization": 80 * 446}
    expected = (pairs["baseline"] * 1.0 + pairs["gradual_normalization"] * 0.75) / sum(pairs.values())
    assert expected == pytest.approx(47_720 / 56_640, abs=1e-15)
    assert abs(expected - (1.0 + 0.75) / 2) > 0.03  # equal weights are far off: the test tells them apart
    # dashboard B's score is increasing in dash_b_zone (its other pillars are constant): the same AUC
    assert r.worlds["pillar_auc"]["dash_b_zone"] == pytest.approx(expected, abs=1e-12)
    assert r.worlds["auc"][b] == pytest.approx(expected, abs=1e-12)
    # dashboard A is constant: every day tied, AUC 0.5 in each scenario, whatever the weights
    assert r.worlds["auc"][hyp.DASHBOARD_NAMES["A"]] == pytest.approx(0.5, abs=1e-12)
    assert r.effect == pytest.approx(0.5 - expected, abs=1e-12)


@pytest.mark.parametrize("failed_seed", [2, 4])  # one of the seeds that fit the pillars, one of those scored
def test_h7_is_undefined_when_a_run_failed_not_judged_on_the_runs_that_cleared(monkeypatch, failed_seed):
    monkeypatch.setattr(hyp, "run_arms", h7_planted(failed_seed))
    r = hyp.h7([1, 2, 3, 4], workers=1, quick=True)
    assert math.isnan(r.ci_low) and math.isnan(r.ci_high) and r.verdict == "inconclusive"
    assert r.worlds["failed_runs"] == [f"{sc} seed {failed_seed}" for sc in hyp.H7_SCENARIOS]


def test_h5_and_h6_count_the_seeds_in_which_their_mechanism_acted(monkeypatch):
    def moves(arm):
        if not arm.events:
            return {}
        ov = dict(arm.overrides)
        fragile = ov.get("nisa__panic_threshold") == 0.05
        leaning = dict(arm.switches).get("mof__lean_against_surges") is True
        return {
            "usdjpy": -0.02 + (0.005 if leaning else 0.0),  # the MoF's leaning changes the run; the pause never does
            "nisa_panic_share": 0.01 if fragile else 0.005,  # 1 pp above the control's only when fragile
        }

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    h5 = hyp.h5(SEEDS, workers=1, quick=True)
    assert h5.worlds["fragile (panic at 5% drawdown)"]["panic_seeds"] == len(SEEDS)
    assert h5.worlds["sticky (default thresholds)"]["panic_seeds"] == 0
    h6 = hyp.h6(SEEDS, workers=1, quick=True)
    assert h6.worlds["MoF leans against the surge"]["acted_seeds"] == len(SEEDS)
    assert h6.worlds["BoJ stability pause"]["acted_seeds"] == 0
    assert all(w["acted_without_trigger_seeds"] == 0 for w in h6.worlds.values())
    assert f"pause in 0 of {len(SEEDS)}" in h6.notes
    # planted surges are step paths of equal length with and without the policy: the unwind lasts as long
    assert h6.worlds["MoF leans against the surge"]["duration_change_days"] == 0.0
    assert "Reported beside the verdict, not in it" in h6.notes


def test_counts_of_seeds_name_the_runs_that_failed_and_a_share_is_undefined_with_them(monkeypatch):
    """Seed 2's first arm fails to clear: H3's share of runs with a break is undefined (not "no break"), and
    H5's and H6's counts of seeds in which their mechanism acted say that one seed failed."""
    inner = planted_runs(lambda arm: {"usdjpy": -0.1} if arm.events else {})

    def run(arms, workers=1, progress=False):
        out = inner(arms, workers)
        i = next(i for i, arm in enumerate(arms) if arm.seed == 2)
        out[i] = {c: np.full(arms[i].days + 1, np.nan) for c in arms[i].columns}
        return out

    monkeypatch.setattr(hyp, "run_arms", run)
    h3 = hyp.h3(SEEDS, workers=1, quick=True)
    assert all(math.isnan(w["share_of_runs_with_a_break"]) and w["failed_seeds"] == 1 for w in h3.worlds.values())
    h5 = hyp.h5(SEEDS, workers=1, quick=True)
    assert f"of {len(SEEDS)} (1 failed to clear) seeds" in h5.notes
    h6 = hyp.h6(SEEDS, workers=1, quick=True)
    assert all(w["failed_seeds"] == 1 for w in h6.worlds.values())
    assert f"of {len(SEEDS)} (1 failed to clear)" in h6.notes
    # H1, H2 and H4 count them too: seed 2's first arm of each batch of runs failed
    h1 = hyp.h1(SEEDS, workers=1, quick=True)  # one batch: seed 2's first arm is in the first world
    assert [w["failed_seeds"] for w in h1.worlds.values()] == [1, 0]
    assert f"default leverage 1 of {len(SEEDS)}, low leverage (max_leverage 1.5) 0 of {len(SEEDS)}." in h1.notes
    h2 = hyp.h2(SEEDS, workers=1, quick=True)  # a batch per size: the controls' seed 2 failed
    assert all(w[arm]["failed_seeds"] == 1 for name, w in h2.worlds.items() for arm in ("fiscal", "monetary"))
    assert f"of {len(SEEDS)}, budget and hike: default parameters 1 and 1;" in h2.notes
    h4 = hyp.h4(SEEDS, workers=1, quick=True)
    assert h4.worlds["repatriation"]["failed_seeds"] == 1 and f"1 of {len(SEEDS)}." in h4.notes
    # the counter-view's flag is undefined, not False, when its interval is
    assert h4.worlds["structural-flows view"]["indirect_share_stays_high"] is None
    assert "stays high" in h4.notes and ": n/a." in h4.notes


def test_h7_needs_three_seeds_so_that_at_least_two_are_scored():
    for seeds in ([1], [1, 2]):
        with pytest.raises(ValueError, match=f"seeds = {len(seeds)} is not allowed for H7; expected at least 3"):
            hyp.h7(seeds, workers=1, quick=True)


def test_drawdown_and_impact():
    from model.results import max_drawdown  # the one drawdown rule the hypotheses use too

    assert max_drawdown(np.array([100.0, 120, 90, 110])) == (pytest.approx(0.25), 1, 2)
    base = np.full(10, 100.0)
    hit = base.copy()
    hit[5:] = 90.0
    assert hyp.impact(hit, base, 3, 10) == pytest.approx(np.log(100 / 90))


def test_an_unwind_lasts_the_days_its_gap_is_at_least_half_its_peak():
    base = np.full(12, 100.0)
    hit = base * np.exp(-np.array([0, 0, 0, 0.01, 0.021, 0.04, 0.03, 0.021, 0.019, 0.0, 0.0, 0.0]))
    assert hyp.unwind_days(hit, base, 2, 12) == 4.0  # 0.021, 0.04, 0.03, 0.021: at least half of 0.04
    assert hyp.unwind_days(hit, base, 6, 12) == 3.0  # after the peak, its own: 0.03, 0.021, 0.019 of 0.03
    assert hyp.unwind_days(base, base, 0, 12) == 0.0  # no gap, no unwind
    assert hyp.unwind_days(base * 1.1, base, 0, 12) == 0.0  # a trigger that lifted USD/JPY: no unwind
    broken = hit.copy()
    broken[7] = np.nan  # a failed run
    assert np.isnan(hyp.unwind_days(broken, base, 2, 12))


SEEDS = [1, 2, 3]


def planted_runs(moves):
    """A stand-in for :func:`hyp.run_arms`: each arm's paths are flat until its first event and then
    move by ``moves(arm)`` (column → log move of USD/JPY, level change of the others)."""

    def run(arms, workers=1, progress=False):
        out = []
        for arm in arms:
            t = np.arange(arm.days + 1)
            start = arm.events[0][0] if arm.events else arm.days + 1
            m = moves(arm)
            paths = {}
            for col in arm.columns:
                step = np.where(t >= start, m.get(col, 0.0), 0.0)
                paths[col] = 150.0 * np.exp(step) if col == "usdjpy" else 0.01 + step
            out.append(paths)
        return out

    return run


def feedback_off(arm) -> bool:
    """Whether the arm switches off at least one of H1's feedback channels (on the trigger's day)."""
    ov = dict(arm.switches)
    return any(key in ov and ov[key] == value for key, value in hyp.FEEDBACK_OFF.items())


@pytest.mark.parametrize("amplification, expected", [(5.0, "supported"), (1.2, "refuted")])
def test_h1_verdict_reads_the_amplification_ratio_of_planted_surges(monkeypatch, amplification, expected):
    # the trigger lowers USD/JPY by 2% with the feedback channels off and by `amplification` times that with them on
    def moves(arm):
        if not arm.events:
            return {}
        surge = 0.02 * (1.0 + 0.1 * arm.seed)
        return {"usdjpy": -surge if feedback_off(arm) else -amplification * surge}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    r = hyp.h1(SEEDS, workers=1, quick=True)
    main = r.worlds["default leverage"]["ablations"]["all feedback off"]
    assert main["per_seed"] == pytest.approx([amplification] * len(SEEDS))
    assert main["ci"] == pytest.approx([amplification, amplification])
    assert r.effect == pytest.approx(amplification) and r.verdict == expected
    assert r.verdict == hyp.verdict(*main["ci"], above=hyp.DECISION_RULES["H1"][1])
    assert set(r.worlds) == set(hyp.H1_WORLDS)
    impacts = 100 * 0.02 * amplification * (1.0 + 0.1 * np.array(SEEDS))  # the largest log gap, %
    assert r.worlds["default leverage"]["impact_on_pct"] == pytest.approx(impacts.mean())


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        (["supported", "supported"], "supported"),
        (["supported", "inconclusive"], "inconclusive"),
        (["supported", "refuted"], "refuted"),
        (["inconclusive", "refuted"], "refuted"),
        ([], "inconclusive"),
    ],
)
def test_joint_verdict_needs_every_part(verdicts, expected):
    assert hyp.joint_verdict(verdicts) == expected


def test_h1_needs_every_trigger_amplified(monkeypatch):
    # the growth news and the Fed-path repricing amplified 5x, the BoJ hike not at all: refuted
    def moves(arm):
        if not arm.events:
            return {}
        surge = 0.02 * (1.0 + 0.1 * arm.seed)
        boj = any(kind == "boj_rate" for _, kind, _ in arm.events)
        return {"usdjpy": -surge if feedback_off(arm) or boj else -5.0 * surge}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    r = hyp.h1(SEEDS, workers=1, quick=True)
    triggers = r.worlds["default leverage"]["triggers"]
    assert set(triggers) == set(hyp.H1_TRIGGERS)
    assert triggers["BoJ hike"]["ratio"] == pytest.approx(1.0) and triggers["BoJ hike"]["verdict"] == "refuted"
    assert triggers[hyp.H1_HEADLINE]["verdict"] == "supported" and r.effect == pytest.approx(5.0)
    assert r.verdict == "refuted"


def test_h1_arms_pair_each_trigger_with_its_own_control(monkeypatch):
    seen = []
    monkeypatch.setattr(hyp, "run_arms", lambda arms, workers=1, progress=False: seen.extend(arms) or planted_runs(
        lambda arm: {})(arms))  # fmt: skip
    hyp.h1(SEEDS, workers=1, quick=True)
    controls = {(a.seed, a.overrides, a.switches, a.switch_day) for a in seen if not a.events}
    triggered = [a for a in seen if a.events]
    # every triggered arm has a control with the same seed, overrides and switches, and only the trigger differs
    assert triggered and all((a.seed, a.overrides, a.switches, a.switch_day) in controls for a in triggered)
    # a world's arms differ from day 0 only by the world: each ablation is switched on the trigger's day
    assert {a.switch_day for a in seen if a.switches} == {hyp.TRIGGER_DAY}
    assert {a.overrides for a in seen} == {
        hyp.overrides(**hyp.CROWDED, **w, nisa__n_households=2000) for w in hyp.H1_WORLDS.values()
    }
    per_trigger = {name: [a for a in triggered if a.events == events] for name, events in hyp.H1_TRIGGERS.items()}
    n_worlds = len(hyp.H1_WORLDS)
    assert len(per_trigger[hyp.H1_HEADLINE]) == n_worlds * len(SEEDS) * (1 + len(hyp.H1_ABLATIONS))
    assert all(len(v) == n_worlds * len(SEEDS) * 2 for k, v in per_trigger.items() if k != hyp.H1_HEADLINE)


def test_h1_compares_each_triggered_arm_with_its_own_control(monkeypatch):
    """Every world and feedback setting's control path sits at its own level and every trigger moves
    its arm 2% below it: only an arm compared with its own control shows a 2% surge."""
    import zlib

    def level(arm):
        return 100.0 + zlib.crc32(repr((arm.seed, arm.overrides, arm.switches)).encode()) % 5000 / 100.0

    def run(arms, workers=1, progress=False):
        out = []
        for arm in arms:
            t = np.arange(arm.days + 1)
            move = np.where(t >= arm.events[0][0], -0.02, 0.0) if arm.events else np.zeros(arm.days + 1)
            out.append({c: level(arm) * np.exp(move) for c in arm.columns})
        return out

    arms = hyp.h1_arms(SEEDS, hyp.TRIGGER_DAY + 40)
    assert len({level(a) for a in arms if not a.events}) == len([a for a in arms if not a.events])  # all apart
    monkeypatch.setattr(hyp, "run_arms", run)
    r = hyp.h1(SEEDS, workers=1, quick=True)
    for world in r.worlds.values():
        for row in (*world["ablations"].values(), *world["triggers"].values()):
            assert row["per_seed"] == pytest.approx([1.0] * len(SEEDS), abs=1e-12)
            assert row["impact_off_pct"] == pytest.approx(100 * 0.02, abs=1e-9)
        for row in world["triggers"].values():
            assert row["impact_on_pct"] == pytest.approx(100 * 0.02, abs=1e-9)


def test_no_hypothesis_schedules_a_move_of_the_risk_index_or_an_observed_price():
    """Every event any hypothesis builds (``event(day, kind, ...)`` in the module, whatever the arm) is an
    input: a known kind, never ``risk_shock`` nor an observed price. The run-based test below sees the arms
    of H1, H5 and H6; this one reads every call in the module's source, so a new arm cannot slip past it."""
    import ast
    import inspect

    from model.scenarios import EVENT_KINDS, OBSERVED_KINDS

    tree = ast.parse(inspect.getsource(hyp))
    kinds = {
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "event" and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
    }  # fmt: skip
    assert {"us_growth_news", "supplementary_budget", "boj_rate", "superlong_shock"} <= kinds
    assert kinds <= set(EVENT_KINDS) and "risk_shock" not in kinds and not kinds & OBSERVED_KINDS


def test_h1_hikes_from_the_shock_scenarios_policy_rate():
    from model.scenarios import load_scenario

    assert hyp.BASELINE_BOJ_RATE == load_scenario(hyp.SHOCK_SCENARIO).config.market.boj_rate
    assert load_scenario(hyp.SHOCK_SCENARIO).config.boj.mode == "scripted"  # no rule undoes the trigger's hike


def test_shock_hypotheses_are_triggered_by_inputs_only(monkeypatch):
    """H1, H5 and H6 trigger their unwinds with news and decisions, never with a move of the risk index
    or an observed price (outcomes of the model)."""
    from model.scenarios import EVENT_KINDS, OBSERVED_KINDS

    seen = []
    monkeypatch.setattr(hyp, "run_arms", lambda arms, workers=1, progress=False: seen.extend(arms) or planted_runs(
        lambda arm: {})(arms))  # fmt: skip
    for key in ("H1", "H5", "H6"):
        hyp.HYPOTHESES[key](SEEDS[:2], workers=1, quick=True)
    kinds = {kind for a in seen for _, kind, _ in a.events}
    assert kinds and kinds <= set(EVENT_KINDS)
    assert "risk_shock" not in kinds and not kinds & OBSERVED_KINDS
    assert {"us_growth_news", "fed_path_news", "boj_rate"} <= kinds


@pytest.mark.parametrize(
    "fiscal, monetary, expected",
    [(0.005, -0.004, "supported"), (-0.005, -0.004, "refuted"), (0.005, 0.004, "refuted")],
)
def test_h2_sizes_each_shock_to_the_same_10y_rise_and_needs_both_arms_on_their_predicted_sides(
    monkeypatch, fiscal, monetary, expected
):
    # planted: a budget raises the 10y JGB 0.8 bp per ¥1 tn, a hike by 0.3 of its size; they move USD/JPY by
    # `fiscal` and `monetary` (log). The root search must find ¥31.25 tn and a 83.3 bp hike for +25 bp.
    def moves(arm):
        for _, kind, params in arm.events:
            p = dict(params)
            if kind == "supplementary_budget":
                return {"usdjpy": fiscal, "jgb10y_yield": 0.8e-4 * p["jpy_tn"]}
            if kind == "boj_rate":
                return {"usdjpy": monetary, "jgb10y_yield": 0.3 * (p["rate"] - hyp.H2_BOJ_RATE)}
        return {}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    r = hyp.h2(SEEDS, workers=1, quick=True)
    assert set(r.worlds) == set(hyp.H2_WORLDS)
    on = r.worlds["default parameters"]
    assert on["fiscal"]["size"] == pytest.approx(25.0 / 0.8, abs=0.25 / 0.8)
    assert on["monetary"]["size"] == pytest.approx(0.0025 / 0.3, abs=0.25e-4 / 0.3)
    for arm in ("fiscal", "monetary"):
        assert on[arm]["jgb10y_change_bp"] == pytest.approx(hyp.H2_TARGET_BP, abs=0.25)
    assert on["fiscal"]["per_seed"] == pytest.approx([100 * fiscal] * len(SEEDS))
    assert on["monetary"]["ci"] == pytest.approx([100 * monetary] * 2)
    assert r.verdict == expected


def test_h2_reports_a_world_whose_target_cannot_be_reached_as_undefined(monkeypatch):
    # planted: the budget never moves the 10y, so no size reaches +25 bp: reported as NaN, verdict inconclusive
    def moves(arm):
        kinds = {kind for _, kind, _ in arm.events}
        if "boj_rate" in kinds:
            p = dict(arm.events[0][2])
            return {"usdjpy": -0.004, "jgb10y_yield": 0.3 * (p["rate"] - hyp.H2_BOJ_RATE)}
        return {"usdjpy": 0.004} if kinds else {}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    r = hyp.h2(SEEDS, workers=1, quick=True)
    on = r.worlds["default parameters"]
    assert np.isnan(on["fiscal"]["size"]) and "does not reach" in on["fiscal"]["calibration"]
    assert r.verdict == "inconclusive"


def test_hypotheses_command_writes_report_and_verdicts(tmp_path, capsys):
    """The command runs the model end to end; only the structure of what it writes is checked."""
    from experiments.cli import main

    assert main(["hypotheses", "--seeds", "3", "--only", "H2,H7", "--quick", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "verdicts.json").read_text())
    keys = [h["key"] for h in payload["hypotheses"]]
    assert keys == ["H2", "H7"]
    for h in payload["hypotheses"]:
        assert h["verdict"] in ("supported", "refuted", "inconclusive")
        assert (tmp_path / h["figure"]).exists()
    report = (tmp_path / "report.md").read_text()
    assert "| H2 |" in report and "| H7 |" in report
    capsys.readouterr()
    assert main(["hypotheses", "--seeds", "2", "--only", "H9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only: unknown hypothesis 'H9'; expected some of H1, " in err[0], err


def test_too_few_seeds_for_an_interval_or_for_h7_is_a_one_line_error_before_any_run(tmp_path, capsys, monkeypatch):
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    assert main(["hypotheses", "--seeds", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seeds = 2" in err[0] and "H7" in err[0] and "at least 3" in err[0]
    assert main(["hypotheses", "--seeds", "1", "--only", "H1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seeds = 1 is not allowed; expected at least 2" in err[0]


def test_runs_put_the_base_overrides_into_every_arm_under_the_arms_own(monkeypatch):
    seen = []
    monkeypatch.setattr(hyp, "run_tasks", lambda fn, arms, **kw: seen.append((list(arms), kw["workers"])) or [])
    arms = [hyp.Arm("baseline", 1, 5, hyp.overrides(hedge_funds__forced_sales=False)), hyp.Arm("baseline", 2, 5)]
    base = hyp.overrides(hedge_funds__forced_sales=True, market__risk_channel_persistence_ratio=0.5)
    hyp.run_arms(arms, hyp.Runs(workers=2, base=base))
    ((got, workers),) = seen
    assert workers == 2
    assert dict(got[0].overrides) == {"hedge_funds__forced_sales": False, "market__risk_channel_persistence_ratio": 0.5}
    assert dict(got[1].overrides) == {"hedge_funds__forced_sales": True, "market__risk_channel_persistence_ratio": 0.5}
    assert [a.seed for a in got] == [1, 2] and got[0].events == arms[0].events
    seen.clear()
    hyp.run_arms(arms, 3)  # a plain worker count leaves the arms as they are
    assert seen == [(arms, 3)]


def test_hypotheses_set_reaches_the_runs_and_the_outputs(tmp_path, monkeypatch):
    from experiments.analysis import hypotheses_report
    from experiments.cli import main

    got = []

    def planted(seeds, runs, quick):
        got.append(runs)
        return hyp.HypothesisResult(key="H5", title="t", claim="c", verdict="supported", effect_name="e",
                                    effect=1.0, ci_low=0.5, ci_high=1.5, per_seed=[1.0] * len(seeds))  # fmt: skip

    monkeypatch.setitem(hypotheses_report.HYPOTHESES, "H5", planted)
    monkeypatch.setattr(hypotheses_report, "_figure", lambda r, out: "")
    argv = ["hypotheses", "--seeds", "2", "--only", "H5", "--out", str(tmp_path)]
    assert main([*argv, "--set", "market.risk_channel_persistence_ratio=0.5", "--no-progress"]) == 0
    assert got == [hyp.Runs(workers=1, base=(("market__risk_channel_persistence_ratio", 0.5),), label="H5 runs")]
    assert json.loads((tmp_path / "verdicts.json").read_text())["overrides"] == {
        "market.risk_channel_persistence_ratio": 0.5
    }
    assert "verdicts with `market.risk_channel_persistence_ratio = 0.5`" in (tmp_path / "report.md").read_text()
    assert main(argv) == 0  # without --set: the defaults, and the progress bar shown
    assert got[-1] == hyp.Runs(workers=1, base=(), progress=True, label="H5 runs")


@pytest.mark.parametrize(
    "value, message",
    [
        ("market.risk_channel_persistence_ratio=2", "--set: market.risk_channel_persistence_ratio"),
        ("market.nope=1", "unknown field 'nope'"),
        ("oops", "expected section.field=value"),
    ],
)
def test_hypotheses_reject_a_bad_set_before_any_run(tmp_path, capsys, value, message):
    from experiments.cli import main

    assert main(["hypotheses", "--seeds", "2", "--only", "H5", "--out", str(tmp_path / "h"), "--set", value]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "h" / "verdicts.json").exists()


@pytest.mark.parametrize("panic, expected", [(True, "supported"), (False, "inconclusive")])
def test_h5_fragile_variant_speaks_for_the_claim_only_where_the_households_panicked(monkeypatch, panic, expected):
    """NISA households damp the trigger's surge at the default thresholds and amplify it when fragile;
    the fragile variant's larger surge supports the claim's "unless the panic threshold is crossed"
    only if the trigger made them panic (before, it did even with no panic at all)."""

    def moves(arm):
        if not arm.events:
            return {}
        ov = dict(arm.overrides)
        if dict(arm.switches).get("nisa__trading") is False:  # frozen on the trigger's day
            return {"usdjpy": -0.02}
        fragile = ov.get("nisa__panic_threshold") == 0.05
        return {"usdjpy": -0.03 if fragile else -0.01, "nisa_panic_share": 0.05 if fragile and panic else 0.0}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    h5 = hyp.h5(SEEDS, workers=1, quick=True)
    fragile = h5.worlds["fragile (panic at 5% drawdown)"]
    assert fragile["surge_change_pct"] == pytest.approx(1.0) and fragile["ci"][0] > 0.0
    assert fragile["panic_seeds"] == (len(SEEDS) if panic else 0)
    assert h5.verdict == expected


@pytest.mark.parametrize("setting", [{"market.boj_rate": 0.001}, {"boj__mode": "rule"}])
def test_h1_and_h2_refuse_settings_that_would_change_their_boj_hike(tmp_path, capsys, setting):
    """Their trigger names a rate (the baseline's −0.1% plus the hike): from an opening rate of +0.1% it was a
    5 bp cut, and H1's BoJ arm then had no surge at all. Refused for H1 and H2, before any run, from the
    command line, from Python and in a draw; other hypotheses take the setting."""
    from experiments.analysis.hypotheses_report import run_hypotheses
    from experiments.analysis.hypothesis_draws import run_over_draws
    from experiments.cli import main

    ((key, value),) = setting.items()
    with pytest.raises(ValueError, match=r"is not allowed with H1 or H2: their BoJ trigger is a hike"):
        run_hypotheses(tmp_path / "py", seeds=3, only=["H2"], overrides=setting)
    with pytest.raises(ValueError, match=r"is not allowed with H1 or H2"):
        run_over_draws(tmp_path / "draws", [setting], seeds=3, only=["H1"])
    assert not (tmp_path / "py").exists() and not (tmp_path / "draws").exists()
    hyp.check_triggers_apply(["H5", "H6"], setting)  # no BoJ trigger there
    hyp.check_triggers_apply(["H1"], {"market.boj_rate": hyp.BASELINE_BOJ_RATE})  # the rate they assume
    dotted = key.replace("__", ".")
    assert main(["hypotheses", "--seeds", "3", "--only", "H1", "--set", f"{dotted}={value}", "--out",
                 str(tmp_path / "cli")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"{dotted} = {value!r} is not allowed with H1 or H2" in err and "\n" not in err.strip()
    # in a draws file: one line naming the file and the draw (it was a traceback)
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"draws": [{"hedge_funds.max_leverage": 5.0}, {dotted: value}]}))
    assert main(["hypotheses", "--seeds", "3", "--only", "H2", "--draws-from", str(draws), "--out",
                 str(tmp_path / "cli_draws")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert f"--draws-from {draws}: draw 1: {dotted} = {value!r} is not allowed with H1 or H2" in err
    assert "\n" not in err and not (tmp_path / "cli_draws").exists()


@pytest.mark.parametrize(
    "yen_pct, inflation_pp, verdict, first_rule",
    [
        (+0.6, +0.2, "supported", "supported"),  # the yen and both links above 0
        (-0.6, +0.2, "refuted", "refuted"),  # refuted by the yen
        (+0.6, -0.2, "refuted", "supported"),  # a broken link: inflation lower with the loop on
        (+0.6, 0.0, "inconclusive", "supported"),  # a link straddling 0
    ],
)
def test_h3_judges_the_yen_and_the_loops_links_as_one_chain(monkeypatch, yen_pct, inflation_pp, verdict, first_rule):
    """Planted: USD/JPY ends ``yen_pct`` ± 0.1% higher with the loop on, the 10y JGB 2-4 bp higher, and
    inflation by ``inflation_pp`` (±0.02 pp across seeds). Supported only where the yen and both links lie
    above 0; refuted where the yen or a link lies below 0 (until the review, a link could only withhold
    support, so inflation clearly lower left it inconclusive); the verdict by the rule as first stated
    (the yen alone) is reported beside it, in verdicts.json and report.md."""
    from experiments.analysis.hypotheses_report import _report

    def run(arms, workers=1, progress=False):
        out = []
        for arm in arms:
            loop = dict(arm.overrides).get("macro__pass_through_switch", True)
            k = arm.seed - 2  # a spread across seeds, so every interval is finite
            t = np.ones(arm.days + 1)
            paths = {
                "usdjpy": 150.0 * np.exp((yen_pct + 0.1 * k) / 100 * loop) * t,
                "jgb10y_yield": (0.01 + (3e-4 + 1e-5 * k) * loop) * t,
                "jp_inflation": (0.02 + (inflation_pp + 0.02 * k) / 100 * loop) * t,
            }
            out.append(paths)
        return out

    monkeypatch.setattr(hyp, "run_arms", run)
    h3 = hyp.h3(SEEDS, workers=1, quick=True)
    world = h3.worlds[hyp.H3_HEADLINE]
    assert world["jgb10y_ci"][0] > 0  # the yields' link holds in every case
    assert (world["ci"][0] > 0) == (yen_pct > 0) and (world["ci"][1] < 0) == (yen_pct < 0)
    assert h3.verdict == world["verdict"] == verdict
    assert world["verdict_by_the_rule_before_5_december_2026"] == first_rule
    assert h3.earlier_rule == {"verdict": first_rule, **hyp.H3_FIRST_RULE}
    label = "the rule before the change of 5 December 2026, made after results had been seen"
    report = _report([h3], SEEDS)
    assert f"**{verdict}** ({first_rule} by {label})" in report  # the table, beside the verdict
    assert f"*By {label}* (USD/JPY's interval alone" in report and f"): **{first_rule}**." in report
    assert json.loads(json.dumps(asdict(h3), default=float))["earlier_rule"]["verdict"] == first_rule


def test_h3s_thesis_worlds_keep_the_scenarios_links_whatever_set_or_a_draw_gives(monkeypatch):
    """Every arm takes the --set (or draw) values under its own; the thesis's worlds set the scenario's links
    themselves, so a --set of a link reaches only the worlds that run the sourced value of it (before, it
    replaced the scenario's in the thesis's world too, which then was not the thesis's). Read from the
    configuration each run is built with, not from a verdict."""
    from model.scenarios import load_scenario

    seen = []

    def run_tasks(fn, arms, **kw):
        arms = list(arms)
        seen.extend(arms)
        return [{c: np.full(arm.days + 1, 1.0 + 0.01 * arm.seed) for c in arm.columns} for arm in arms]

    monkeypatch.setattr(hyp, "run_tasks", run_tasks)
    base = hyp.overrides(macro__fx_pass_through=0.07, boj__political_constraint=0.3)
    h3 = hyp.h3(SEEDS, hyp.Runs(workers=1, base=base), quick=True)
    scenario = load_scenario(hyp.H3_SCENARIO).config
    fields = ("macro__fx_pass_through", "macro__expectations_speed_pa", "boj__political_constraint",
              "mof__tolerance_usdjpy")  # fmt: skip
    thesis = tuple(getattr(getattr(scenario, f.split("__")[0]), f.split("__")[1]) for f in fields)
    assert thesis == (0.10, 1.5, 0.7, 10.0)  # the scenario's, as the worlds' names say
    speed = hyp.MacroConfig().expectations_speed_pa  # the sourced defaults: no --set of them
    mof = hyp.MofConfig().tolerance_usdjpy
    assert mof == 0.0  # the MoF defends the level it defended in 2024, 160, with nothing added
    expected = {  # world -> its runs' pass-through, expectations speed, BoJ's constraint and MoF's tolerance
        hyp.H3_HEADLINE: (0.07, speed, 0.3, mof),  # the sourced links: the --set values stand for them
        next(w for w in h3.worlds if w.startswith("the thesis's world (the scenario")): thesis,
        "the thesis's pass-through only": (0.10, speed, 0.3, mof),
        "the thesis's expectations speed only": (0.07, 1.5, 0.3, mof),
        "the thesis's BoJ only (withholds 0.7)": (0.07, speed, 0.7, mof),
        "the thesis's MoF tolerance only (170)": (0.07, speed, 0.3, 10.0),
        "the thesis's world, BoJ fully constrained": (0.10, 1.5, 1.0, 10.0),
    }
    assert list(h3.worlds) == list(expected) and len(seen) == 2 * len(SEEDS) * len(expected)
    for i, (world, links) in enumerate(expected.items()):
        for arm in seen[2 * len(SEEDS) * i : 2 * len(SEEDS) * (i + 1)]:
            cfg = load_scenario(arm.scenario).config.with_overrides(dict(arm.overrides))  # as the model builds it
            got = (cfg.macro.fx_pass_through, cfg.macro.expectations_speed_pa, cfg.boj.political_constraint,
                   cfg.mof.tolerance_usdjpy)  # fmt: skip
            assert got == pytest.approx(links), world


@pytest.mark.parametrize("value", [0.01, 0.05])
def test_a_field_that_encodes_an_answer_is_refused_for_every_hypothesis(tmp_path, capsys, monkeypatch, value):
    """macro.fiscal_fx_premium is a yen premium per point of fiscal risk with no mechanism behind it: a positive
    value writes H2's answer into the model. Refused, with one line naming the field, its value and what is
    allowed, for every hypothesis: from Python, from --set (exit code 2) and in a draws file."""
    from experiments.analysis.hypotheses_report import run_hypotheses
    from experiments.analysis.hypothesis_draws import check_draws, run_over_draws
    from experiments.cli import main
    from model.config import ModelConfig

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    for field, (allowed, _) in hyp.ANSWER_FIELDS.items():  # a real field, allowed at its default only
        section, _, name = field.partition("__")
        assert getattr(getattr(ModelConfig(), section), name) == allowed
    message = f"macro.fiscal_fx_premium = {value!r} is not allowed in any hypothesis: it is a yen risk premium"
    for key in hyp.HYPOTHESES:
        with pytest.raises(ValueError, match=message):
            hyp.check_triggers_apply([key], {"macro.fiscal_fx_premium": value})
        hyp.check_triggers_apply([key], {"macro__fiscal_fx_premium": 0.0})  # the allowed value
    with pytest.raises(ValueError, match="expected 0.0"):
        run_hypotheses(tmp_path / "py", seeds=3, only=["H2"], overrides={"macro.fiscal_fx_premium": value})
    with pytest.raises(ValueError, match=r"draw 0: macro.fiscal_fx_premium"):
        check_draws([{"macro.fiscal_fx_premium": value}])  # whatever the hypotheses
    with pytest.raises(ValueError, match=message):
        run_over_draws(tmp_path / "draws", [{"macro.fiscal_fx_premium": value}], seeds=3, only=["H4"])
    assert not (tmp_path / "py").exists() and not (tmp_path / "draws").exists()
    for only in ("H2", "H7"):
        argv = ["hypotheses", "--seeds", "3", "--only", only, "--out", str(tmp_path / "cli")]
        assert main([*argv, "--set", f"macro.fiscal_fx_premium={value}"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"--set {message}" in err and "expected 0.0" in err and "\n" not in err
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"draws": [{"hedge_funds.max_leverage": 5.0}, {"macro.fiscal_fx_premium": value}]}))
    assert main(["hypotheses", "--seeds", "3", "--only", "H3", "--draws-from", str(draws), "--out",
                 str(tmp_path / "cli")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert f"--draws-from {draws}: draw 1: {message}" in err and "\n" not in err
    assert not (tmp_path / "cli").exists()


@pytest.mark.parametrize(
    "key, field, value",
    [
        ("H3", "nisa.n_households", 500),
        ("H7", "nisa.n_households", 10_000),
        ("H1", "hedge_funds.initial_leverage_fraction", 0.5),
        ("H5", "hedge_funds.initial_leverage_fraction", 0.5),
        ("H6", "hedge_funds.initial_leverage_fraction", 0.5),
        ("H6", "boj.mode", "scripted"),
        ("H6", "macro.jp_core_inflation", 0.02),
    ],
)
def test_a_field_every_arm_sets_is_refused_for_the_hypotheses_that_set_it(tmp_path, capsys, monkeypatch, key, field,
                                                                           value):  # fmt: skip
    """Every arm of the hypothesis sets the field itself, so a --set or a draw of it would be silently replaced
    (as simulation.days would be): refused, in one line naming the field and why; the arms' own value, and the
    hypotheses that do not set it, take it."""
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    own = hyp.SET_BY_EVERY_ARM[key][field.replace(".", "__")]
    message = f"{field} = {value!r} is not allowed with {key}: every arm sets it itself ({key} to {own!r})"
    with pytest.raises(ValueError, match=re.escape(message)):
        hyp.check_triggers_apply([key], {field: value})
    hyp.check_triggers_apply([key], {field: own})  # nothing would be replaced
    others = [k for k in hyp.HYPOTHESES if field.replace(".", "__") not in hyp.SET_BY_EVERY_ARM[k]]
    others = [k for k in others if not (field == "boj.mode" and k in ("H1", "H2"))]  # their trigger's own check
    hyp.check_triggers_apply(others, {field: value})
    assert main(["hypotheses", "--seeds", "3", "--only", key, "--set", f"{field}={value}", "--out",
                 str(tmp_path / "cli")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert f"--set {message}" in err and "silently replace" in err and "\n" not in err
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"draws": [{field: value}]}))
    assert main(["hypotheses", "--seeds", "3", "--only", key, "--draws-from", str(draws), "--out",
                 str(tmp_path / "cli")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert f"--draws-from {draws}: draw 0: {message}" in err and "\n" not in err
    assert not (tmp_path / "cli").exists()
    with pytest.raises(ValueError, match="simulation.days = 30 is not allowed in the hypotheses"):
        hyp.check_triggers_apply([key], {"simulation.days": 30})


def arms_built(monkeypatch) -> dict[str, list]:
    """The arms each hypothesis builds, by hypothesis, its runs planted."""
    built = []

    def run(arms, workers=1, progress=False):
        built.extend(arms)
        planted = h7_planted() if arms[0].scenario in hyp.H7_SCENARIOS and arms[0].days > 250 else planted_runs(
            lambda arm: {"usdjpy": -0.02 * (1 + 0.1 * arm.seed)} if arm.events else {})  # fmt: skip
        return planted(arms, workers)

    monkeypatch.setattr(hyp, "run_arms", run)
    by_key = {}
    for key, fn in hyp.HYPOTHESES.items():
        built.clear()
        fn([1, 2, 3, 4] if key == "H7" else SEEDS, 1, True)
        by_key[key] = list(built)
    return by_key


def test_the_fields_refused_as_set_by_every_arm_are_those_every_arm_sets(monkeypatch):
    """SET_BY_EVERY_ARM is read against the arms each hypothesis builds (planted runs): exactly the fields, with
    their values, that every one of its arms sets."""
    for key, built in arms_built(monkeypatch).items():
        common = set(built[0].overrides).intersection(*(a.overrides for a in built[1:]))
        assert dict(common) == hyp.SET_BY_EVERY_ARM[key], key


@pytest.mark.parametrize(
    "key, field, value",
    [
        ("H1", "hedge_funds.forced_sales", False),
        ("H1", "hedge_funds.margin_vol_elasticity", 0.5),
        ("H1", "hedge_funds.realized_vol_weight", 0.0),
        ("H3", "macro.pass_through_switch", False),
        ("H5", "nisa.trading", False),
        ("H6", "mof.lean_against_surges", True),
        ("H6", "boj.stability_pause", False),
    ],
)
def test_a_field_an_arm_switches_is_refused_for_the_hypotheses_that_switch_it(tmp_path, capsys, monkeypatch, key,
                                                                              field, value):  # fmt: skip
    """An arm of the hypothesis switches the field to compare its mechanism on and off (H1's ablations, H5's frozen
    households and H6's policies on the trigger's day, H3's loop from day 0): a --set or a draw of it would hold from
    day 0 wherever the arms do not set it (with forced_sales = false H1's "all on" arms ran without forced sales).
    Refused whatever its value, in one line naming the field, the value, the hypothesis and the arms that switch
    it, and saying what to do instead; the hypotheses that do not switch it take it."""
    from experiments.analysis.hypotheses_report import run_hypotheses
    from experiments.analysis.hypothesis_draws import run_over_draws
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    message = f"{field} = {value!r} is not allowed with {key}: its arms switch it themselves ({key}: "
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        hyp.check_triggers_apply([key], {field: value})
    text = str(refused.value)
    assert "hold from day 0" in text and f"--only without {key}" in text and "\n" not in text
    assert "carry-unwind compare" in text and f"--set {field}=" in text
    with pytest.raises(ValueError, match=re.escape(message)):
        hyp.check_triggers_apply([key], {field.replace(".", "__"): value})
    others = [k for k in hyp.HYPOTHESES if field.replace(".", "__") not in hyp.SWITCHED_BY_AN_ARM.get(k, {})]
    assert key not in others and others
    hyp.check_triggers_apply(others, {field: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        run_hypotheses(tmp_path / "py", seeds=3, only=[key], overrides={field: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        run_over_draws(tmp_path / "draws", [{field: value}], seeds=3, only=[key])
    assert not (tmp_path / "py").exists() and not (tmp_path / "draws").exists()
    toml = str(value).lower()
    argv = ["hypotheses", "--seeds", "3", "--only", key, "--out", str(tmp_path / "cli")]
    assert main([*argv, "--set", f"{field}={toml}"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--set {message}" in err and "\n" not in err
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"draws": [{"hedge_funds.max_leverage": 5.0}, {field: value}]}))
    assert main([*argv, "--draws-from", str(draws)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--draws-from {draws}: draw 1: {message}" in err and "\n" not in err
    assert not (tmp_path / "cli").exists()


def test_the_fields_refused_as_switched_by_an_arm_are_those_the_arms_switch(monkeypatch):
    """SWITCHED_BY_AN_ARM is read against the arms each hypothesis builds (planted runs): exactly the fields its arms
    switch on a day (Arm.switches), and for H3 the field by which the arm without the loop differs from its twin."""
    for key, built in arms_built(monkeypatch).items():
        switched = {f for arm in built for f, _ in arm.switches}
        if key == "H3":  # its arms in pairs, the loop on and off, from day 0
            assert not switched
            switched = {f for on, off in zip(built[::2], built[1::2], strict=True)
                        for f in set(off.overrides) ^ set(on.overrides)}  # fmt: skip
            switched = {f for f, _ in switched}
        assert switched == set(hyp.SWITCHED_BY_AN_ARM.get(key, {})), key


def test_h4s_notes_give_the_30y_rise_its_runs_measured(monkeypatch):
    """The notes quote the cleared 30y's rise after the trigger from the runs themselves (planted: 25 bp higher
    in the shocked arm on every day), not a figure written into the code."""

    def moves(arm):
        return {"jgb30y_yield": 0.0025, "ust10y_yield": 1e-4} if arm.events else {}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    h4 = hyp.h4(SEEDS, workers=1, quick=True)
    assert h4.worlds["repatriation"]["jgb30y_change_bp"][0] == pytest.approx(25.0)
    assert "the cleared 30y rises by less: 25 bp [25, 25] on average over the rest of the year" in h4.notes


@pytest.mark.parametrize("fall, expected", [(0.10, False), (0.01, True)])
def test_h4s_counter_view_reads_the_indirect_shares_interval_against_its_stated_tolerance(monkeypatch, fall,
                                                                                          expected):  # fmt: skip
    """The indirect bidders' share of auctions falls by ``fall`` (± 0.1 pp across seeds) after the shock: it
    "stays high" where the change's interval lies above −H4_INDIRECT_SHARE_FALL (5 pp), beside the verdict."""

    def moves(arm):
        return {"ust_indirect_share": -fall + 0.001 * arm.seed, "ust10y_yield": 1e-4} if arm.events else {}

    monkeypatch.setattr(hyp, "run_arms", planted_runs(moves))
    h4 = hyp.h4(SEEDS, workers=1, quick=True)
    view = h4.worlds["structural-flows view"]
    assert (fall < hyp.H4_INDIRECT_SHARE_FALL) is expected  # each case on the side of the tolerance it says
    assert view["indirect_share_change"][0] == pytest.approx(-fall + 0.002)
    assert view["indirect_share_stays_high"] is expected
    tolerance_pp = 100 * hyp.H4_INDIRECT_SHARE_FALL
    assert f"above −{tolerance_pp:g} pp, a tolerance this project chose, not sourced; reported beside the verdict, " \
           f"not in it): {'yes' if expected else 'no'}." in h4.notes  # fmt: skip
    assert h4.worlds["repatriation"]["failed_seeds"] == 0


def test_the_scenarios_checked_for_a_start_date_are_those_each_hypothesis_runs(monkeypatch):
    """SCENARIOS_OF, which a --set or a draw of market.start_date is checked against, is read against the arms each
    hypothesis builds (planted runs)."""
    built = arms_built(monkeypatch)
    assert set(built) == set(hyp.SCENARIOS_OF)
    for key, arms in built.items():
        assert set(hyp.SCENARIOS_OF[key]) == {a.scenario for a in arms}, key


def test_a_start_date_after_a_scenarios_dated_event_is_refused_before_any_run(tmp_path, capsys, monkeypatch):
    """Before: H7's arms of gradual_normalization (a BoJ decision dated 2025-01-24) stopped mid-command, after the
    other scenarios' arms had run, and a draw did the same."""
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    late = "2030-01-02"
    with pytest.raises(ValueError, match=r"market.start_date = '2030-01-02' is not allowed with scenario \w+: its"):
        hyp.check_triggers_apply(["H7"], {"market.start_date": late})
    hyp.check_triggers_apply(["H4"], {"market__start_date": late})  # the baseline has no dated events
    argv = ["hypotheses", "--only", "H7", "--seeds", "3", "--quick", "--set", f"market.start_date={late}"]
    assert main([*argv, "--out", str(tmp_path / "h")]) == 2
    assert "is not allowed with scenario" in capsys.readouterr().err and not (tmp_path / "h").exists()
    draws = tmp_path / "draws.json"
    draws.write_text(json.dumps({"draws": [{"market.start_date": late}]}))
    assert (
        main(["hypotheses", "--only", "H7", "--seeds", "3", "--draws-from", str(draws), "--out", str(tmp_path / "d")])
        == 2
    )
    assert "draw 0: market.start_date = '2030-01-02' is not allowed with scenario" in capsys.readouterr().err
