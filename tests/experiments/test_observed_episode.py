"""The observed August 2024 episode and how the reports compare the model with it: one table of observed
closes, every close-based figure derived from it and compared with the model's daily closes (the intraday
extremes named apart), the two measures of the share unwound named apart, and each report's "model 5–95 %
over seeds" column said to be the range it is."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from experiments.analysis import replay, targets
from experiments.analysis.targets import (
    EPISODE,
    EPISODE_DAYS,
    EPISODE_OBSERVED,
    OBSERVED_CLOSES,
    STATISTICS,
    UNWOUND_LARGEST_DRAWDOWN,
    UNWOUND_SINCE_EVE,
    close_fall,
)
from model.calendar import TradingCalendar

# -- one table of observed closes ----------------------------------------------------------------------------


def test_the_observed_fall_is_from_the_highest_close_to_the_5_august_close_of_the_one_table():
    obs = EPISODE_OBSERVED
    before = {d: v for d, v in OBSERVED_CLOSES.items() if d <= obs["usdjpy_trough_date"]}
    # both ends are closes of the table: the highest before the fall and the close on the fall's observation
    assert obs["usdjpy_trough_date"] == "2024-08-05"
    assert (obs["usdjpy_peak_date"], obs["usdjpy_peak"]) == (max(before, key=before.get), max(before.values()))
    assert (obs["usdjpy_peak_date"], obs["usdjpy_peak"]) == ("2024-07-10", 161.7)
    assert obs["usdjpy_trough"] == OBSERVED_CLOSES["2024-08-05"] == 144.0
    assert obs["usdjpy_change_pct"] == pytest.approx(100.0 * (144.0 / 161.7 - 1.0))  # −10.9 %, not −12.5 %
    # trading days from the peak close to the trough close on the model's calendar, not from the intraday high
    assert obs["usdjpy_fall_days"] == TradingCalendar("2024-07-10").day_of("2024-08-05") == 18
    # the intraday extremes are named as such, and lie beyond the closes as extremes within a day must
    assert (obs["usdjpy_intraday_high"], obs["usdjpy_intraday_high_date"]) == (161.95, "2024-07-03")
    assert (obs["usdjpy_intraday_low"], obs["usdjpy_intraday_low_date"]) == (141.7, "2024-08-05")
    assert obs["usdjpy_intraday_high"] > max(OBSERVED_CLOSES.values())
    assert obs["usdjpy_intraday_low"] < obs["usdjpy_trough"]
    assert "usdjpy_change_close_pct" not in obs  # one fall, on closes


def test_close_fall_is_the_largest_fall_from_a_running_peak_up_to_a_date():
    closes = {"2024-01-01": 100.0, "2024-01-02": 110.0, "2024-01-03": 99.0, "2024-01-04": 120.0, "2024-01-05": 96.0}
    assert close_fall("2024-01-03", closes) == ("2024-01-02", "2024-01-03", pytest.approx(-10.0))
    assert close_fall("2024-01-05", closes) == ("2024-01-04", "2024-01-05", pytest.approx(-20.0))
    assert close_fall("2024-01-02", closes) == ("2024-01-01", "2024-01-01", 0.0)  # never falls
    # the same rule as the model's closes are measured by
    from model.results import max_drawdown

    fall, peak, trough = max_drawdown(np.array(list(closes.values())))
    assert close_fall("2024-12-31", closes)[2] == pytest.approx(-100.0 * fall)
    with pytest.raises(ValueError, match="end_date = '2023-12-31' is not allowed"):
        close_fall("2023-12-31", closes)


def test_the_replay_takes_its_observed_closes_and_falls_from_the_one_table():
    from model.scenarios import load_scenario

    assert replay.OBSERVED_CLOSES is OBSERVED_CLOSES
    assert replay.OBSERVED_FALL_PCT == EPISODE_OBSERVED["usdjpy_change_pct"]
    assert (replay.FALL_DATE, replay.UNWOUND_DATE) == ("2024-08-05", "2024-08-09")
    # the table starts on the scenario's day 0, and the 60-day figure ends on its day 60 (25 Sep)
    start = load_scenario(replay.SCENARIO).config.market.start_date
    assert min(OBSERVED_CLOSES) == start
    assert replay.OBSERVED_FALL_60D_PCT == pytest.approx(100.0 * (140.6 / 161.7 - 1.0))


def test_the_episode_days_end_on_the_date_the_comment_gives():
    from model.scenarios import load_scenario

    calendar = TradingCalendar(load_scenario(EPISODE).config.market.start_date)
    assert calendar.date(EPISODE_DAYS).isoformat() == "2024-09-25"
    assert "1 Jul – 25 Sep 2024" in Path(targets.__file__).read_text()


# -- the reports ---------------------------------------------------------------------------------------------


def _stat(judged: bool) -> dict:
    data = {"value": 0.5, "interval": [0.4, 0.6], "model_range": [0.3, 0.7], "share_of_seeds_in_interval": 0.5,
            "rank_p_value": 0.4}  # fmt: skip
    return {"judged": judged, "model": {"median": 0.5, "q05": 0.3, "q95": 0.7}, "data": data,
            "data_without_plaza": data, "seeds_without_value": 0, "pass": True, "pass_without_plaza": True}  # fmt: skip


def _report() -> dict:
    """A validation report with the August 2024 episode (two runs that fall 12% and unwind 65%, as in
    tests/experiments/test_validate.py) and one observed range among the facts."""
    from experiments.analysis.validation import _episode_report
    from experiments.analysis.validation_report import method_notes
    from model.scenarios import load_scenario

    scenario = load_scenario(EPISODE)
    shock = scenario.events[0].day
    day = np.arange(shock + 30)
    run = {"day": day, "usdjpy": np.where(day < shock, 160.0, 140.8),
           "hf_gross_usd_bn": np.where(day < shock, 100.0, 35.0), "risk_index": np.full(day.size, 20.0)}  # fmt: skip
    fact = {"scenario": "fiscal_dominance_2025", "label": "a level", "unit": "u", "lo": 1.0, "hi": 2.0,
            "median": 2.5, "q05": 1.8, "q95": 3.0, "observed_in_range": True, "share_inside": 0.2,
            "failed_runs": 0, "source": "s"}  # fmt: skip
    return {
        "package_version": "0", "git_commit": None, "elapsed_s": 1.0,
        "baseline": {"scenario": "baseline", "seeds": [1001, 1002], "days": 500, "burn_in": 250,
                     "returns_per_seed": 250},
        "data": {"source": "d", "period": "p", "n_returns": 2000, "transformation": "t"},
        "data_without_plaza": {"n_returns": 1999, "dropped": [{"date": "1985-09-23", "return_pct": -5.7}]},
        "rule": {"model_range_pct": [5.0, 95.0], "max_failed_share": 0.1, "range_false_fail_rate": 0.46,
                 "data_interval_level": 0.9,
                 "bootstrap": {"sample_length": 250, "block_days": 100, "resamples": 10, "seed": 1}},
        "statistics": {name: _stat(st.judged) for name, st in STATISTICS.items()},
        "targets": 6, "targets_met": 6, "targets_met_without_plaza": 6, "method": method_notes(),
        "episode_facts": [fact],
        "episode": _episode_report(scenario, [{"seed": 1, **run}, {"seed": 2, **run}], int(day[-1])),
    }  # fmt: skip


def _tables(md: str) -> list[tuple[int, int]]:
    """The (first, last) line numbers of each Markdown table in ``md``."""
    out, start = [], None
    for i, line in enumerate([*md.splitlines(), ""]):
        if line.startswith("|") and start is None:
            start = i
        elif not line.startswith("|") and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def test_the_episode_table_compares_closes_with_closes_and_takes_the_dates_from_the_data():
    from experiments.analysis.validation_report import markdown

    md = markdown(_report())
    fall = next(line for line in md.splitlines() if line.startswith("| largest USD/JPY peak-to-trough change"))
    assert "(closes)" in fall
    assert "-10.9 on closes (161.7 on 10 Jul → 144.0 on 5 Aug)" in fall
    assert "intraday 161.95 (3 Jul) → 141.7 (5 Aug), not compared" in fall
    assert "-12.5" not in fall and "161.9 →" not in fall
    length = next(line for line in md.splitlines() if line.startswith("| its length, trading days"))
    assert "| 18 (10 Jul → 5 Aug) |" in length and "3 Jul" not in length


def test_the_two_measures_of_the_carry_unwound_are_named_apart():
    from experiments.analysis.validation_report import markdown

    assert UNWOUND_SINCE_EVE != UNWOUND_LARGEST_DRAWDOWN
    md = markdown(_report())
    carry = next(line for line in md.splitlines() if line.startswith(f"| {UNWOUND_SINCE_EVE}"))
    assert "| 50–60 |" in carry
    assert f"| {UNWOUND_SINCE_EVE}, % |" in md  # the per-seed table's header
    assert f"another measure, the {UNWOUND_LARGEST_DRAWDOWN}" in md and "two measures of one observation" in md
    # the replay's panel of the carry unwound says which of the two it is
    assert UNWOUND_LARGEST_DRAWDOWN in replay.PANEL_TITLES[1]


def test_every_model_range_column_says_which_range_it_is():
    from experiments.analysis.validation_report import RANGE_NOTE_JUDGED, RANGE_NOTE_PLAIN, markdown

    md = markdown(_report())
    lines = md.splitlines()
    notes = []
    for first, last in _tables(md):
        if "model 5–95 % over seeds" not in lines[first]:
            continue
        after = "\n".join(lines[last + 1 : last + 3])  # the line under the table (after one blank line)
        before = "\n".join(lines[max(first - 2, 0) : first])  # or the paragraph just above it
        notes.append((RANGE_NOTE_JUDGED in after, RANGE_NOTE_PLAIN in after, before))
    judged, unjudged, facts, episode = notes
    assert judged[:2] == (True, False)  # the rule's range: failed runs counted against the data
    assert unjudged[:2] == (False, True) and episode[:2] == (False, True)  # plain percentiles over the cleared
    assert "that rule's range, a failed run counted against the observation" in facts[2]


def test_the_facts_table_says_an_observed_range_must_overlap_the_models():
    from experiments.analysis.validation_report import markdown

    md = markdown(_report())
    assert "an observed range must overlap it" in md and "an observed point must lie inside" in md
    assert "observation in (or overlapping) range" in md


def test_an_observed_range_passes_when_it_overlaps_the_models_a_point_when_it_lies_inside():
    from experiments.analysis import episode_facts as ef

    def fact(lo: float, hi: float) -> ef.Fact:
        return ef.Fact("fiscal_dominance_2025", "x", "usdjpy", "2025-10-06", "on", lo, hi, "u", "s")

    seeds = np.linspace(10.0, 20.0, 21)  # the model's 5–95 % range is 10.5 to 19.5
    assert ef.judge(fact(5.0, 11.0), seeds)["observed_in_range"]  # overlaps, not inside
    assert not ef.judge(fact(5.0, 10.0), seeds)["observed_in_range"]  # below the range
    assert ef.judge(fact(15.0, 15.0), seeds)["observed_in_range"]
    assert not ef.judge(fact(10.2, 10.2), seeds)["observed_in_range"]


def test_the_spirals_verdict_needs_the_seeds_a_medians_interval_needs():
    from experiments.analysis.balance_sheet_cycle import liquidity_spiral_summary
    from experiments.analysis.statistics import MIN_SEEDS_MEDIAN_INTERVAL

    def rows(n: int) -> list[dict[str, float]]:
        return [{"dealer_equity_mean_gap_usd_bn": -1.0 - k} for k in range(n)]

    n = MIN_SEEDS_MEDIAN_INTERVAL
    assert liquidity_spiral_summary(rows(n - 1))["verdicts"]["dealers_equity_falls"] is None
    assert liquidity_spiral_summary(rows(n))["verdicts"]["dealers_equity_falls"] is True
    # a seed without a value does not count towards them
    short = rows(n - 1) + [{"dealer_equity_mean_gap_usd_bn": math.nan}]
    assert liquidity_spiral_summary(short)["verdicts"]["dealers_equity_falls"] is None
    doc = liquidity_spiral_summary.__doc__
    assert "MIN_SEEDS_MEDIAN_INTERVAL" in doc and "five" not in doc


def test_the_return_sd_metric_says_it_is_a_fraction():
    from experiments.analysis.metrics import METRICS

    assert "a fraction" in METRICS["usdjpy_logret_sd"] and "not %" in METRICS["usdjpy_logret_sd"]
