"""The hypotheses over parameter draws: the prior's draws, the shares and their intervals (known
answers), the draws reaching every arm, and bad draws files. The hypotheses themselves are planted
here; no test asserts a verdict the model gives."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.analysis import hypotheses as hyp
from experiments.analysis import hypothesis_draws as hd


def test_prior_draws_are_a_seeded_latin_hypercube_within_the_calibration_ranges():
    from experiments.calibration.baseline import BOUNDS, CAPS, LOG_SCALE

    k = 200
    draws = hd.prior_draws(k)
    assert draws == hd.prior_draws(k)  # the same draws every time
    assert hd.prior_draws(k, seed=1) != draws
    ranges = {key.replace("__", "."): (lo, hi, key in LOG_SCALE) for key, (lo, hi) in {**BOUNDS, **CAPS}.items()}
    assert all(set(d) == set(ranges) for d in draws)
    for name, (lo, hi, log) in ranges.items():
        x = np.array([d[name] for d in draws])
        assert ((lo <= x) & (x <= hi)).all()
        # one draw in each of the k equal-probability strata (in logs for a log-scale field)
        u = (np.log10(x) - math.log10(lo)) / math.log10(hi / lo) if log else (x - lo) / (hi - lo)
        assert sorted(np.floor(u * k).astype(int).tolist()) == list(range(k)), name


def test_prior_draws_leave_out_the_held_fields_and_reject_absurd_counts():
    for held in (("hedge_funds.max_leverage",), ("hedge_funds__max_leverage",)):
        draws = hd.prior_draws(3, held=held)
        assert all("hedge_funds.max_leverage" not in d and len(d) == len(hd.prior()) - 1 for d in draws)
    for k in (0, hd.MAX_DRAWS + 1):
        with pytest.raises(ValueError, match="--draws"):
            hd.prior_draws(k)
    with pytest.raises(ValueError, match="nothing is left to draw"):
        hd.prior_draws(2, held=tuple(p.name for p in hd.prior()))


@pytest.mark.parametrize(
    "successes, n, lo, hi",
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (3, 20, 0.0524, 0.3604)],
)
def test_wilson_interval_known_answers(successes, n, lo, hi):
    got = hd.wilson_interval(successes, n)
    assert got == pytest.approx((lo, hi), abs=5e-4)
    assert all(math.isnan(v) for v in hd.wilson_interval(0, 0))


@pytest.mark.parametrize("n", [1, 7, 40, 400])
def test_wilson_interval_holds_its_share_mirrors_and_narrows(n):
    for k in range(0, n + 1, max(1, n // 7)):
        lo, hi = hd.wilson_interval(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0
        rlo, rhi = hd.wilson_interval(n - k, n)
        assert (lo, hi) == pytest.approx((1 - rhi, 1 - rlo), abs=1e-12)
        lo4, hi4 = hd.wilson_interval(4 * k, 4 * n)
        assert hi4 - lo4 < hi - lo


def test_summary_counts_verdicts_and_reads_each_estimate_against_its_own_rule():
    rows = [
        {"hypothesis": "H1", "verdict": "supported", "effect": 3.0},
        {"hypothesis": "H1", "verdict": "inconclusive", "effect": 2.5},  # beyond ×2, interval straddling
        {"hypothesis": "H1", "verdict": "refuted", "effect": 1.2},
        {"hypothesis": "H1", "verdict": "inconclusive", "effect": math.nan},  # a failed run
        {"hypothesis": "H5", "verdict": "supported", "effect": -0.4},  # H5 predicts an effect below 0
        {"hypothesis": "H5", "verdict": "refuted", "effect": 0.3},
    ]
    s = hd.summarise(rows, ["H1", "H5"])
    h1, h5 = s["H1"], s["H5"]
    assert (h1["draws"], h1["supported"], h1["refuted"], h1["inconclusive"]) == (4, 1, 1, 2)
    assert h1["share_supported"] == 0.25 and h1["share_supported_ci"] == list(hd.wilson_interval(1, 4))
    # of the three draws with an estimate, two lie beyond ×2 (the undefined one is not counted as "not beyond")
    assert h1["share_estimate_beyond_threshold"] == pytest.approx(2 / 3) and h1["undefined_estimates"] == 1
    assert h1["inconclusive_undefined"] == 1
    assert h1["estimate_quantiles"]["50%"] == 2.5
    assert h5["share_estimate_beyond_threshold"] == 0.5 and h5["share_refuted"] == 0.5


def test_a_joint_verdict_refuted_with_its_headline_estimate_undefined_is_counted_as_refuted():
    """H6's verdict joins several arms: it can be refuted while the headline arm's estimate is undefined.
    The table and the figure used to count every undefined estimate as inconclusive: "1 (2)" and a bar
    of negative width, the shares summing to 125%."""
    rows = [
        {"hypothesis": "H6", "verdict": "refuted", "effect": math.nan},
        {"hypothesis": "H6", "verdict": "refuted", "effect": math.nan},
        {"hypothesis": "H6", "verdict": "supported", "effect": 0.5},
        {"hypothesis": "H6", "verdict": "inconclusive", "effect": 0.1},
    ]
    s = hd.summarise(rows, ["H6"])["H6"]
    assert (s["refuted"], s["inconclusive"], s["undefined_estimates"], s["inconclusive_undefined"]) == (2, 1, 2, 0)
    fig = hd.draws_figure({"H6": s}, n_draws=4, n_seeds=3, source="test")
    widths = [patch.get_width() for patch in fig.axes[0].patches]
    assert min(widths) >= 0.0 and sum(widths) == pytest.approx(1.0)


def test_rank_correlations_know_monotone_answers_and_skip_what_they_cannot_judge():
    points = [{"a": float(x), "b": float(-(x**3)), "c": 1.0, "flag": True} for x in range(8)]
    est = np.exp(np.arange(8.0))  # increasing in a, decreasing in b: ranks decide, not the shape
    rho = hd.rank_correlations(points, est)
    assert rho["a"] == pytest.approx(1.0) and rho["b"] == pytest.approx(-1.0)
    assert math.isnan(rho["c"])  # a parameter that does not vary
    assert "flag" not in rho  # a switch, not a number
    est[[0, 3, 5, 7]] = np.nan  # 4 finite estimates: too few
    assert all(math.isnan(v) for v in hd.rank_correlations(points, est).values())
    logged = [{**p, "a": 10.0 ** p["a"]} for p in points]  # a monotone transform leaves ranks alone
    assert hd.rank_correlations(logged, np.exp(np.arange(8.0)))["a"] == pytest.approx(1.0)
    assert hd._noise_level(16) == pytest.approx(0.506, abs=1e-3) and math.isnan(hd._noise_level(2))
    rows = [{"hypothesis": "H3", "verdict": "inconclusive", "effect": float(e), "draw": i} for i, e in
            enumerate(np.arange(8.0)[::-1])]  # fmt: skip
    s = hd.summarise(rows, ["H3"], points)
    assert s["H3"]["rank_correlation"]["a"] == pytest.approx(-1.0)


def _planted(seen):
    """A planted hypothesis: supported where the draw's funds are less risk-averse than 1.5."""

    def planted(seeds, runs, quick):
        seen.append(runs)
        gamma = dict(runs.base)["hedge_funds__risk_aversion_median"]
        if gamma == 2.0:  # a draw whose runs failed to clear: an undefined estimate
            return hyp.HypothesisResult(key="H3", title="t", claim="c", verdict="inconclusive", effect_name="e",
                                        effect=math.nan, ci_low=math.nan, ci_high=math.nan, per_seed=[])  # fmt: skip
        v = "supported" if gamma < 1.5 else "refuted"
        return hyp.HypothesisResult(key="H3", title="t", claim="c", verdict=v, effect_name="e", effect=1.5 - gamma,
                                    ci_low=1.4 - gamma, ci_high=1.6 - gamma, per_seed=[0.0] * len(seeds))  # fmt: skip

    return planted


def test_each_draw_reaches_every_arm_under_the_held_fields_and_the_shares_follow(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setitem(hd.HYPOTHESES, "H3", _planted(seen))
    draws = [{"hedge_funds.risk_aversion_median": g, "real_money__noise_persistence": 0.9} for g in (0.8, 1.2, 2.0)]
    held = {"real_money.capacity_usd_bn": 3000.0}
    payload = hd.run_over_draws(tmp_path, draws, seeds=3, only=["H3"], workers=2, overrides=held, source="f.json")
    assert [dict(r.base) for r in seen] == [
        {
            "hedge_funds__risk_aversion_median": g,
            "real_money__capacity_usd_bn": 3000.0,
            "real_money__noise_persistence": 0.9,
        }
        for g in (0.8, 1.2, 2.0)
    ]
    assert all(r.workers == 2 and r.label == f"draw {i + 1}/3 H3" for i, r in enumerate(seen))
    s = payload["summary"]["H3"]
    assert (s["supported"], s["refuted"], s["inconclusive"]) == (2, 0, 1) and s["undefined_estimates"] == 1

    def no_bare_constants(name):
        raise AssertionError(f"draws.json holds a bare {name}")

    written = json.loads((tmp_path / "draws.json").read_text(), parse_constant=no_bare_constants)
    assert written["summary"]["H3"]["supported"] == 2 and written["held"] == held
    assert written["results"][2]["effect"] is None and written["draws"][0]["real_money.noise_persistence"] == 0.9
    assert written["seeds_per_draw"] == [1001, 1002, 1003] and len(written["results"]) == 3  # held-out seeds
    report = (tmp_path / "draws.md").read_text()
    assert "| H3 | 2 | 0 | 1 (1) | 67%" in report
    assert "`hedge_funds.risk_aversion_median`" not in report and "No rank correlation" in report  # 3 draws: too few
    assert (tmp_path / "draws.png").stat().st_size > 0


def test_the_command_draws_from_the_prior_and_holds_what_set_fixes(tmp_path, monkeypatch, capsys):
    from experiments.cli import main

    seen = []
    monkeypatch.setitem(hd.HYPOTHESES, "H3", _planted(seen))
    argv = ["hypotheses", "--draws", "4", "--seeds", "2", "--only", "H3", "--out", str(tmp_path), "--no-progress"]
    assert main([*argv, "--set", "hedge_funds.max_leverage=6"]) == 0
    expected = [{**{k.replace(".", "__"): v for k, v in d.items()}, "hedge_funds__max_leverage": 6}
                for d in hd.prior_draws(4, held=("hedge_funds.max_leverage",))]  # fmt: skip
    assert [dict(r.base) for r in seen] == expected
    assert "H3  supported" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe{", "not UTF-8"),
        (b'{"draws": [', "not valid JSON"),
        (b'{"samples": []}', 'expected {"draws"'),
        (b'{"draws": [{"hedge_funds.nope": 1}]}', "draw 0: "),
        (b'{"draws": [{"hedge_funds.max_leverage": 6}, {"hedge_funds.max_leverage": -1}]}', "draw 1: "),
        (b'{"draws": [3]}', "draw 0 is 3"),
        (b'{"draws": [{"hedge_funds.max_leverage": 6, "hedge_funds__max_leverage": 7}]}', "names a field twice"),
    ],
)
def test_a_bad_draws_file_is_a_one_line_error_before_any_run(tmp_path, capsys, monkeypatch, content, message):
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    path = tmp_path / "draws.json"
    path.write_bytes(content)
    assert main(["hypotheses", "--draws-from", str(path), "--seeds", "3", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "--draws-from" in err


def test_draw_counts_and_both_sources_at_once_are_refused(tmp_path, capsys):
    from experiments.cli import main

    out = ["--seeds", "3", "--out", str(tmp_path)]
    assert main(["hypotheses", "--draws", "0", *out]) == 2
    assert "--draws = '0' is not allowed" in capsys.readouterr().err
    assert main(["hypotheses", "--draws", "2", "--draws-from", "x.json", *out]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_draws_file_may_not_set_what_set_holds_and_each_draw_is_checked_with_the_set_values(tmp_path, capsys,
                                                                                              monkeypatch):  # fmt: skip
    from experiments.cli import main

    monkeypatch.setattr(hyp, "run_arms", lambda *a, **k: pytest.fail("ran an arm"))
    path = tmp_path / "draws.json"
    path.write_text(json.dumps({"draws": [{"hedge_funds.risk_aversion_median": 1.0},
                                          {"hedge_funds.max_leverage": 6}]}))  # fmt: skip
    argv = ["hypotheses", "--draws-from", str(path), "--seeds", "3", "--out", str(tmp_path / "o")]
    assert main([*argv, "--set", "hedge_funds.max_leverage=9"]) == 2
    err = capsys.readouterr().err
    assert "draw 1 sets hedge_funds.max_leverage, which --set holds at 9" in err and err.count("\n") == 1
    with pytest.raises(ValueError, match="draw 0: "):  # a draw's value checked together with the held ones
        hd.check_draws([{"hedge_funds.max_leverage": 60}], {"hedge_funds.risk_aversion_median": 1.0})


def test_the_report_is_written_again_from_its_json_without_running(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setitem(hd.HYPOTHESES, "H3", _planted(seen))
    draws = [{"hedge_funds.risk_aversion_median": g} for g in (0.6, 0.8, 1.2, 1.6, 2.0, 2.5)]
    first = hd.run_over_draws(tmp_path / "a", draws, seeds=2, only=["H3"])
    text = (tmp_path / "a" / "draws.json").read_text()
    monkeypatch.setitem(hd.HYPOTHESES, "H3", lambda *a: pytest.fail("ran a hypothesis"))
    again = hd.write_outputs(tmp_path / "b", json.loads(text))
    assert (tmp_path / "b" / "draws.json").read_text() == text
    assert (tmp_path / "b" / "draws.md").read_text() == (tmp_path / "a" / "draws.md").read_text()
    assert again["summary"]["H3"]["undefined_estimates"] == first["summary"]["H3"]["undefined_estimates"] == 1
    assert again["summary"]["H3"]["rank_correlation"]["hedge_funds.risk_aversion_median"] == pytest.approx(-1.0)
    # the chance level for that row's 5 draws with an estimate: 1.96/sqrt(4)
    assert "| H3 | 5 (0.98) | -1.00 |" in (tmp_path / "b" / "draws.md").read_text()


def test_real_draws_do_not_depend_on_workers_and_resume_after_a_stop(tmp_path, monkeypatch):
    """H4 at two prior draws and two seeds (a few seconds): the same draws.json with 1 or 2 workers,
    and a run stopped after its first draw resumes from the checkpoint with the same result."""
    from experiments.runner import resumable

    draws = hd.prior_draws(2)
    kw = dict(seeds=2, only=["H4"], quick=True)
    hd.run_over_draws(tmp_path / "one", draws, workers=1, **kw)
    hd.run_over_draws(tmp_path / "two", draws, workers=2, **kw)
    text = (tmp_path / "one" / "draws.json").read_text()
    assert (tmp_path / "two" / "draws.json").read_text() == text

    real, calls = hd.HYPOTHESES["H4"], []

    def stops_at_the_second_draw(seeds, runs, quick):
        calls.append(runs.label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(seeds, runs, quick)

    checkpoint = tmp_path / "three.checkpoint"
    monkeypatch.setitem(hd.HYPOTHESES, "H4", stops_at_the_second_draw)
    with pytest.raises(KeyboardInterrupt), resumable(checkpoint):
        hd.run_over_draws(tmp_path / "three", draws, workers=1, **kw)
    assert checkpoint.exists() and not (tmp_path / "three" / "draws.json").exists()
    monkeypatch.setitem(hd.HYPOTHESES, "H4", real)
    with resumable(checkpoint) as cp:
        hd.run_over_draws(tmp_path / "three", draws, workers=1, **kw)
        assert cp.found > 0  # the first draw's runs were read back, not run again
    assert (tmp_path / "three" / "draws.json").read_text() == text


def test_the_verdicts_by_a_rule_changed_after_its_results_were_seen_are_counted_beside(tmp_path, monkeypatch):
    """H3's verdict by its rule as first stated (the yen alone) comes with every draw's result: counted beside
    the verdicts by the current rule in draws.json and draws.md, and kept when the report is written again."""
    seen, inner = [], _planted([])

    def planted(seeds, runs, quick):
        seen.append(runs)
        r = inner(seeds, runs, quick)
        r.earlier_rule = {"verdict": "supported", **hyp.H3_FIRST_RULE}
        return r

    monkeypatch.setitem(hd.HYPOTHESES, "H3", planted)
    draws = [{"hedge_funds.risk_aversion_median": g} for g in (0.8, 1.6, 2.0)]
    payload = hd.run_over_draws(tmp_path / "a", draws, seeds=2, only=["H3"])
    s = payload["summary"]["H3"]
    assert (s["supported"], s["refuted"], s["inconclusive"]) == (1, 1, 1)
    assert s["earlier_rule"] == {"label": hyp.H3_FIRST_RULE["label"], "supported": 3, "refuted": 0, "inconclusive": 0}
    line = f"H3 by {hyp.H3_FIRST_RULE['label']}: 3 supported, 0 refuted, 0 inconclusive."
    assert line in (tmp_path / "a" / "draws.md").read_text()
    again = hd.write_outputs(tmp_path / "b", json.loads((tmp_path / "a" / "draws.json").read_text()))
    assert again["summary"]["H3"]["earlier_rule"] == s["earlier_rule"] and len(seen) == 3
