"""``carry-unwind compare``: the table's known answers, pairing by seed, saved runs, the files written."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.compare import HEADLINE_METRICS, Arm, CompareError, compare_table, saved_arm
from experiments.cli import main


def _arm(label: str, seeds, values, days: int = 5) -> Arm:
    """An arm whose every headline figure of seed ``s`` is ``values[i]`` (and a flat USD/JPY path)."""
    summaries = tuple({m: float(v) for m in HEADLINE_METRICS} for v in values)
    return Arm(label, f"test {label}", tuple(seeds), summaries, np.full((len(seeds), days + 1), 140.0))


def _row(table: pd.DataFrame, arm: str, metric: str = "usdjpy_surge_60d_pct") -> pd.Series:
    return table[(table["arm"] == arm) & (table["metric"] == metric)].iloc[0]


def test_median_range_and_a_constant_paired_difference():
    a = _arm("a", [1, 2, 3, 4, 5], [1.0, 2.0, 3.0, 4.0, 5.0])
    b = _arm("b", [1, 2, 3, 4, 5], [11.0, 12.0, 13.0, 14.0, 15.0])
    table = compare_table([a, b])
    assert len(table) == 2 * len(HEADLINE_METRICS)
    ra, rb = _row(table, "a"), _row(table, "b")
    assert (ra["median"], ra["q05"], ra["q95"]) == (3.0, pytest.approx(1.2), pytest.approx(4.8))
    assert ra["diff_mean"] == 0.0 and ra["n_pairs"] == 5  # the first arm against itself
    # every seed differs by exactly 10: the bootstrap interval of the mean collapses to it
    assert (rb["diff_median"], rb["diff_mean"], rb["diff_ci95_lo"], rb["diff_ci95_hi"]) == (10.0, 10.0, 10.0, 10.0)


def test_differences_are_paired_by_seed_not_by_position():
    a = _arm("a", [1, 2, 3], [1.0, 2.0, 30.0])
    b = _arm("b", [3, 1, 2], [31.0, 2.0, 3.0])  # the same runs + 1, listed in another order
    rb = _row(compare_table([a, b]), "b")
    assert rb["n_pairs"] == 3 and rb["diff_median"] == 1.0 and rb["diff_ci95_lo"] == rb["diff_ci95_hi"] == 1.0


def test_only_shared_seeds_are_paired_and_none_shared_gives_no_difference():
    a = _arm("a", [1, 2, 3], [1.0, 2.0, 3.0])
    some = _row(compare_table([a, _arm("b", [2, 3, 9], [5.0, 7.0, 100.0])]), "b")
    assert some["n_pairs"] == 2 and some["diff_mean"] == pytest.approx(3.5)  # (5-2 + 7-3) / 2
    assert some["median"] == 7.0  # the spread uses every run of the arm
    none = _row(compare_table([a, _arm("c", [7, 8], [1.0, 2.0])]), "c")
    assert none["n_pairs"] == 0 and math.isnan(none["diff_mean"]) and math.isnan(none["diff_ci95_lo"])


def test_a_difference_that_varies_by_seed_has_an_interval_around_its_mean():
    rng = np.random.default_rng(0)
    base = rng.normal(10.0, 3.0, 20)
    a, b = _arm("a", range(20), base), _arm("b", range(20), base + 2.0 + rng.normal(0.0, 1.0, 20))
    rb = _row(compare_table([a, b]), "b")
    assert rb["diff_ci95_lo"] < rb["diff_mean"] < rb["diff_ci95_hi"]
    assert rb["diff_ci95_lo"] < 2.0 < rb["diff_ci95_hi"]  # the planted shift lies in the interval


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Two seeds of risk_off saved as ``carry-unwind run --seeds`` lays them out, 20 days."""
    from model.results import run_simulation, save

    root = tmp_path_factory.mktemp("saved") / "risk_off-seeds"
    for seed in (1, 2):
        save(run_simulation(scenario="risk_off", seed=seed, days=20, hedge_funds__n_funds=20), root / f"seed-{seed}")
    return root


def test_a_saved_multi_seed_directory_is_one_arm_with_its_seeds(saved):
    arm = saved_arm(saved)
    assert arm.seeds == (1, 2) and arm.days == 20 and arm.usdjpy.shape == (2, 21)
    assert arm.label == "risk_off-seeds" and arm.provenance["scenario"] == "risk_off"
    one = saved_arm(saved / "seed-2")
    assert one.seeds == (2,) and one.summaries[0] == arm.summaries[1]
    from model.results import load

    first_date = load(saved / "seed-2").timeseries["date"].iloc[0]
    assert one.dates[0] == first_date.strftime("%Y-%m-%d") and len(one.dates) == 21


def test_a_folder_whose_runs_are_not_one_arm_is_refused(saved, tmp_path):
    """Before: a folder mixing scenarios, configurations or a repeated seed was taken as one arm, named after its
    first run, with the repeated seed counted twice."""
    import shutil
    from pathlib import Path

    from model.results import run_simulation, save

    def folder(name, *runs):
        where = tmp_path / name
        for sub, source in runs:
            if isinstance(source, Path):
                shutil.copytree(source, where / sub)
            else:
                save(source, where / sub)
        return where

    twice = folder("twice", ("seed-1", saved / "seed-1"), ("seed-1-again", saved / "seed-1"))
    with pytest.raises(CompareError, match=r"repeat seed 1 \(seed-1 and seed-1-again\); an arm holds one run per seed"):
        saved_arm(twice)
    other = run_simulation(scenario="baseline", seed=3, days=20, hedge_funds__n_funds=20)
    mixed = folder("mixed", ("seed-1", saved / "seed-1"), ("seed-3", other))
    with pytest.raises(CompareError, match=r"different scenarios \(seed-1: risk_off, seed-3: baseline\)"):
        saved_arm(mixed)
    levered = run_simulation(
        scenario="risk_off", seed=3, days=20, hedge_funds__n_funds=20, hedge_funds__max_leverage=3.0
    )
    configs = folder("configs", ("seed-1", saved / "seed-1"), ("seed-3", levered))
    with pytest.raises(
        CompareError, match=r"different configurations \(seed-1 and seed-3 differ in hedge_funds.max_leverage\)"
    ):
        saved_arm(configs)


def test_a_directory_without_runs_is_refused(tmp_path):
    with pytest.raises(CompareError, match="not a saved run directory"):
        saved_arm(tmp_path)


def test_compare_writes_table_figure_and_provenance(tmp_path, capsys, saved):
    out = tmp_path / "cmp"
    argv = ["compare", "baseline", str(saved), "--seeds", "1-2", "--days", "20", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "largest yen surge" in stdout and "Δ" in stdout
    table = pd.read_csv(out / "compare.csv")
    assert set(table["arm"]) == {"baseline", "risk_off-seeds"}
    assert list(table.columns[:4]) == ["arm", "metric", "label", "n"]
    assert (table["n_pairs"] == 2).all()
    md = (out / "compare.md").read_text()
    assert "| largest yen surge (USD/JPY fall within 60 trading days), % |" in md and "Seeds — baseline: 1, 2" in md
    record = json.loads((out / "compare.json").read_text())
    assert record["seeds"] == {"baseline": [1, 2], "risk_off-seeds": [1, 2]}
    assert {"version", "git_commit", "command"} <= set(record)
    assert record["command"].startswith("carry-unwind compare baseline")
    assert len(record["data"]["usdjpy"]["baseline"]["median"]) == 21
    assert (out / "compare.png").stat().st_size > 10_000 and (out / "compare.pdf").is_file()


@pytest.mark.parametrize(("seeds", "says"), [("3-4", "shares no seeds"), ("2,3", "shares 1 seed"), ("1-2", None)])
def test_a_saved_run_without_common_seeds_is_warned_of(tmp_path, capsys, saved, seeds, says):
    """The difference is paired by seed: a saved run whose seeds the scenarios do not share gets none
    (or no interval), and the command says so in one warning instead of leaving the Δ column empty."""
    argv = ["compare", "baseline", str(saved), "--seeds", seeds, "--days", "20", "--out", str(tmp_path / "c"),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    if says is None:
        assert "warning" not in err
    else:
        (line,) = [x for x in err.splitlines() if "warning" in x]
        assert says in line and "risk_off-seeds" in line and "--seeds" in line


def test_the_same_scenario_twice_differs_by_zero_and_gets_two_labels(tmp_path, capsys):
    out = tmp_path / "same"
    assert (
        main(["compare", "baseline", "baseline", "--seeds", "3,4", "--days", "10", "--out", str(out), "--quiet"]) == 0
    )
    table = pd.read_csv(out / "compare.csv")
    assert set(table["arm"]) == {"baseline", "baseline (2)"}
    second = table[table["arm"] == "baseline (2)"]
    # every difference is there and zero, over both seeds' pairs (a NaN difference is not a zero one)
    assert len(second) == len(HEADLINE_METRICS) and np.isfinite(second["diff_mean"]).all()
    assert (second["diff_mean"] == 0.0).all() and (second["n_pairs"] == 2).all()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["compare", "baseline"], "at least two"),
        (["compare", "baseline", "risk_of"], "'risk_of' is not a saved run directory, and unknown scenario"),
        (["compare", "baseline", "risk_off", "--seeds", "3-1"], "--seeds"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, argv, needle):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("carry-unwind: error: ") and needle in err


def test_a_horizon_other_than_the_saved_runs_is_refused(tmp_path, capsys, saved):
    assert main(["compare", str(saved), "baseline", "--days", "30", "--out", str(tmp_path / "x")]) == 2
    assert "the saved runs have 20 trading days; use --days 20" in capsys.readouterr().err


def test_every_command_of_the_research_workflow_page_parses():
    import re
    import shlex
    from pathlib import Path

    from experiments.cli import build_parser

    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "research-workflow.md").read_text()
    lines = [
        line.split(">")[0]
        for block in re.findall(r"```bash\n(.*?)```", page, flags=re.S)
        for line in block.splitlines()
        if line.startswith("carry-unwind ") and "--version" not in line
    ]
    assert any(line.startswith("carry-unwind compare baseline risk_off --seeds 1-10") for line in lines)
    parser = build_parser()
    for line in lines:
        parser.parse_args(shlex.split(line, comments=True)[1:])  # exits (fails the test) on a bad option


def test_the_table_does_not_depend_on_the_number_of_workers():
    from experiments.analysis.compare import scenario_arm

    one = compare_table(
        [scenario_arm("baseline", seeds=[1, 2], days=8), scenario_arm("risk_off", seeds=[1, 2], days=8)]
    )
    two = compare_table(
        [
            scenario_arm("baseline", seeds=[1, 2], days=8, workers=2),
            scenario_arm("risk_off", seeds=[1, 2], days=8, workers=2),
        ]
    )
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_a_run_saved_before_a_headline_figure_existed_is_measured_as_today(tmp_path, saved):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(saved / "seed-1", old)
    record = json.loads((old / "summary.json").read_text())
    del record["summary"]["usdjpy_surge_60d_pct"]  # as an older version wrote it
    (old / "summary.json").write_text(json.dumps(record))
    arm = saved_arm(old)
    assert arm.values("usdjpy_surge_60d_pct")[0] == saved_arm(saved).values("usdjpy_surge_60d_pct")[0]
