"""Figures say what they measure: axis labels, thresholds, verdicts, and legends clear of titles."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.analysis.hypotheses import DECISION_RULES, HYPOTHESES, HypothesisResult, verdict
from experiments.analysis.hypotheses_report import hypothesis_figure


def _h1(ratio: float, lo: float, hi: float) -> HypothesisResult:
    ablations = {
        "all feedback off": {"ratio": ratio, "ci": [lo, hi]},
        "forced sales off": {"ratio": 1.3, "ci": [1.1, 1.5]},
    }
    worlds = {"default leverage": {"ablations": ablations, "overrides": {}}}
    v = verdict(lo, hi, above=DECISION_RULES["H1"][1])
    return HypothesisResult("H1", "Vicious cycle", "claim", v, "amplification ratio", ratio, lo, hi, [ratio], worlds)


def _vertical_lines(ax) -> set[float]:
    return {round(float(line.get_xdata()[0]), 9) for line in ax.get_lines() if len(set(line.get_xdata())) == 1}


def test_every_hypothesis_has_a_decision_rule():
    assert set(DECISION_RULES) == set(HYPOTHESES)
    assert all(side in ("above", "below") for side, _, _ in DECISION_RULES.values())


def test_the_hypotheses_judged_jointly_are_those_whose_code_joins_arms_and_their_caption_says_so():
    """JOINT_RULES names exactly the hypotheses whose verdict is a joint_verdict over arms (read from their
    code), and the figure's rule says that any arm on the wrong side refutes for them alone."""
    import inspect

    from experiments.analysis.hypotheses import JOINT_RULES

    joined = {k for k, fn in HYPOTHESES.items() if "joint_verdict(" in inspect.getsource(fn)}
    assert joined == set(JOINT_RULES)
    joint, single = _h1(4.0, 3.0, 7.0), HypothesisResult("H3", "x", "claim", "supported", "effect", 1.0, 0.5, 1.5,
                                                         [1.0], {})  # fmt: skip
    texts = [" ".join(t.get_text() for t in hypothesis_figure(r).texts) for r in (joint, single)]
    assert "(for any of the arms)" in texts[0] and "(for any of the arms)" not in texts[1]


@pytest.mark.parametrize(
    "ci, expected", [((3.0, 7.0), "supported"), ((1.2, 1.8), "refuted"), ((1.5, 3.0), "inconclusive")]
)
def test_hypothesis_figure_labels_its_axis_and_shows_threshold_and_verdict(ci, expected):
    r = _h1(sum(ci) / 2, *ci)
    assert r.verdict == expected
    fig = hypothesis_figure(r)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "amplification ratio"
    assert ax.get_title(loc="left").endswith(f": {expected}")
    assert {1.0, 2.0} <= _vertical_lines(ax)  # no amplification, and H1's ×2 threshold
    legend = fig.legends[0]
    assert any("threshold: 2" in t.get_text() for t in legend.get_texts())
    caption = fig._supxlabel.get_text()
    assert f"Verdict: {expected}" in caption and "above 2" in caption


def test_a_below_rule_is_stated_as_such():
    worlds = {"MoF leans against the surge": {"surge_change_pct": -3.0, "ci": [-4.0, -2.0], "verdict": "supported"}}
    r = HypothesisResult(
        "H6", "Policy", "claim", "supported", "change in the yen surge (pp)", -3.0, -4.0, -2.0, [], worlds
    )
    fig = hypothesis_figure(r)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "change in the yen surge (pp)" and 0.0 in _vertical_lines(ax)
    assert "below 0" in fig._supxlabel.get_text()
    assert any("(supported)" in t.get_text() for t in ax.get_yticklabels())


def test_sensitivity_legend_is_clear_of_the_title_with_a_long_metric_name():
    import pandas as pd
    from matplotlib.figure import Figure

    from experiments.analysis.sensitivity import SensitivityResult, plot_indices

    table = pd.DataFrame(
        {
            "parameter": [
                "hedge_funds.max_leverage",
                "dealers.capacity_risk_elasticity",
                "market.risk_vol_sensitivity",
            ],
            "S1": [0.5, 0.2, 0.05],
            "S1_conf": [0.1, 0.1, 0.05],
            "ST": [0.6, 0.25, 0.1],
            "ST_conf": [0.1, 0.1, 0.05],
        }
    )
    metric = "hf_gross_max_drawdown_pct_with_a_much_longer_name"
    result = SensitivityResult("sobol", metric, table, None, "x", 8, 1, 0.95, 100)
    fig = Figure(figsize=(7.5, 3.5), layout="constrained")
    ax = plot_indices(result, fig.subplots())
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    title, legend = ax.title.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)
    assert not title.overlaps(legend)
    assert legend.y1 < ax.get_window_extent(renderer).y0  # below the axes


def test_event_days_group_a_days_events_once_each_in_day_order():
    from experiments.analysis.plots import event_days

    events = [(9, "b"), (3, "a"), (9, "c"), (9, "b"), (3, "a")]
    assert event_days(events) == [(3, ["a"]), (9, ["b", "c"])]
    assert event_days(None) == []


def assert_numbered_apart(ax, canvas, count: int) -> None:
    """The panel ``ax`` (drawn on ``canvas``) numbers its event days 1 … ``count`` in order, no two numbers
    overlapping."""
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert [t.get_text() for t in numbers] == [str(k) for k in range(1, count + 1)]
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in numbers]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two event numbers overlap"


def test_overview_numbers_event_days_without_overlap_and_names_them_in_a_key():
    """Eleven event days, eight of them within four weeks (the August 2024 replay conditional on the Fed's
    repricing, whose observed 2y closes add days to the replay's): the numbers at the top of the USD/JPY
    panel must not overlap each other, and the key names every event once. (The replay from its inputs
    alone has eight days, spread over 48 trading days since the S&P 500's fall of 24 July left it.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from experiments.analysis.plots import EVENT_KEY_WIDTH, plot_overview
    from model.results import run_simulation
    from model.scenarios import load_scenario

    scenario = "boj_hike_2024_conditional_fed"
    days = 120  # a day is then narrower than a number
    df = run_simulation(scenario=scenario, seed=1, days=days).timeseries
    events = [(e.day, e.kind.replace("_", " ")) for e in load_scenario(scenario).events if e.day <= days]
    distinct = sorted({d for d, _ in events})
    assert len(distinct) >= 8 and distinct[7] - distinct[0] < 25  # crowded: the case the key is for
    fig = plot_overview(df, events=events)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert_numbered_apart(fig.axes[0], canvas, len(distinct))
    key = fig.get_supxlabel()
    lines = key.split("\n")
    assert lines[0].startswith("events: 1 day") and all(len(line) <= EVENT_KEY_WIDTH for line in lines)
    for k, day in enumerate(distinct, start=1):
        assert key.count(f"{k} day {day} (") == 1  # each day once, with its date
    for _, label in events:
        assert label in key
    assert "11 Jul 2024" in key  # the first intervention's date, from the run's calendar
    assert plot_overview(df).get_supxlabel() == ""  # no events, no key


def test_the_paper_replay_numbers_its_event_days_without_overlap_and_keys_them_by_date():
    """Figure 1 (the August 2024 replay) numbers its nine event dates along the top of panel a, with no two
    numbers overlapping, and names each date once in the key under the panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from experiments.analysis.figures.episode import build_replay
    from experiments.analysis.style import paper_style

    with paper_style():  # as `carry-unwind figures` builds and draws it
        fig, meta = build_replay(quick=True, workers=1)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    dates = sorted({e["date"] for e in meta["data"]["events"]})
    assert len(dates) >= 8
    assert_numbered_apart(fig.axes[0], canvas, len(dates))
    key = fig.get_supxlabel()
    assert key.startswith("events: 1 11 Jul")
    for k, date in enumerate(dates, start=1):
        day = np.datetime64(date).astype(object)
        assert key.count(f"{k} {day.day} {day:%b} ") == 1
