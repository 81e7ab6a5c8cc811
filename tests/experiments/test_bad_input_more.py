"""More bad input: absurd sizes, damaged saved runs, names that become paths, options that would be
ignored, counts that would never finish. Each case is a one-line error (exit status 2 on the command
line, a ``ConfigError`` from the API) before anything runs; none is a traceback, a hang or silence.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from experiments.cli.common import EXIT_USAGE
from model.validation import ConfigError
from tests.support import CLI_TINY, usage_error

BIG = "1" + "0" * 399  # a 400-digit integer
TINY = CLI_TINY


# -- absurd numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "hypotheses"])
def test_a_400_digit_integer_in_a_float_field_is_out_of_range(tmp_path, capsys, command):
    line = usage_error(capsys, command, "--set", f"hedge_funds.max_leverage={BIG}", "--out", str(tmp_path / "o"))
    assert "hedge_funds.max_leverage = 10000000000000000000… (400 digits) is out of range" in line
    assert len(line) < 250


def test_an_integer_of_more_than_4300_digits_in_set_is_one_line(tmp_path, capsys):
    line = usage_error(capsys, "run", "--set", "hedge_funds.n_funds=1" + "0" * 5000, "--out", str(tmp_path / "o"))
    assert "--set hedge_funds.n_funds = '1000000000000000000… (5,001 characters) is not allowed" in line


def test_a_400_digit_integer_in_a_configuration_file_is_out_of_range(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_text(f"[hedge_funds]\nmax_leverage = {BIG}\n")
    line = usage_error(capsys, "run", "--config", str(path), *TINY, "--out", str(tmp_path / "o"))
    assert "max_leverage = 10000000000000000000… (400 digits) is out of range" in line


def test_an_event_day_of_400_digits_is_refused_before_the_run(tmp_path, capsys):
    path = tmp_path / "late.toml"
    path.write_text(f'name = "late"\n[[events]]\nday = {BIG}\nkind = "risk_shock"\nlog_jump = 1.0\n')
    line = usage_error(capsys, "run", "--scenario", str(path), *TINY, "--out", str(tmp_path / "o"))
    assert "events[0].day = 10000000000000000000… (400 digits) is not allowed" in line
    assert "outside the horizon" not in capsys.readouterr().err


# -- scenario files: names that become paths, empty files ----------------------------------------


@pytest.mark.parametrize("name", ['"../../esc"', '""', '"a\\nb"', "5"])
def test_a_scenario_name_that_would_make_a_bad_output_path_is_refused(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(f"name = {name}\n")
    line = usage_error(capsys, "run", "--scenario", str(path), *TINY)
    assert "name = " in line and "is not allowed; expected a name of 1 to 100 letters" in line
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "esc-seed1").exists()


@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_empty_scenario_file_is_refused(tmp_path, capsys, command):
    path = tmp_path / "empty.txt"
    path.write_text("")
    argv = [command, "--scenario", str(path), *TINY] if command == "run" else [command, "baseline", str(path)]
    line = usage_error(capsys, *argv, "--out", str(tmp_path / "o"))
    assert f"{path} is empty" in line


# -- damaged saved runs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    from model.results import run_simulation, save

    out = tmp_path_factory.mktemp("saved") / "good"
    return save(run_simulation(seed=1, days=3, hedge_funds__n_funds=20), out)


def _damaged(saved_run: Path, where: Path, name: str, content: bytes | None) -> Path:
    run = where / "damaged"
    shutil.copytree(saved_run, run)
    if content is None:
        (run / name).unlink()
    else:
        (run / name).write_bytes(content)
    return run


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("summary.json", b"{bad", "summary.json: it is not valid JSON (Expecting property name"),
        ("summary.json", b"[1, 2]", "summary.json: it holds a JSON list, not an object"),
        ("summary.json", b'{"seed": NaN, "scenario": "x", "summary": {}}', "summary.json: NaN is not allowed in it"),
        ("summary.json", b'{"seed": 1.5, "scenario": "x", "summary": {}}', "summary.json: seed = 1.5 is not allowed"),
        ("summary.json", b'{"seed": 1, "summary": {}}', "summary.json: scenario is missing"),
        ("summary.json", b'{"x": "caf\xe9"}', "summary.json: it is not UTF-8 text (byte 0xe9"),
        ("timeseries.parquet", b"garbage", "timeseries.parquet: it is not a readable Parquet file"),
        ("config.toml", b"[hedge_funds\n", "config.toml: malformed TOML"),
        ("summary.json", None, "summary.json not found"),
    ],
)
def test_compare_names_the_damaged_file_of_a_saved_run(saved_run, tmp_path, capsys, name, content, problem):
    run = _damaged(saved_run, tmp_path, name, content)
    line = usage_error(capsys, "compare", str(saved_run), str(run), "--out", str(tmp_path / "cmp"))
    assert line.startswith(f"carry-unwind: error: cannot read the saved run '{run}': ")
    assert problem in line and "cannot write" not in line
    assert not (tmp_path / "cmp").exists()


def test_compare_names_a_text_column_of_a_saved_run(saved_run, tmp_path, capsys):
    import pandas as pd

    run = _damaged(saved_run, tmp_path, "summary.json", (saved_run / "summary.json").read_bytes())
    df = pd.read_parquet(run / "timeseries.parquet")
    df["usdjpy"] = ["n/a"] * len(df)  # text where a run writes numbers
    df.to_parquet(run / "timeseries.parquet")
    line = usage_error(capsys, "compare", str(saved_run), str(run), "--out", str(tmp_path / "cmp"))
    assert re.search(r"timeseries\.parquet: column 'usdjpy' holds \w+ values, not numbers; expected the", line)
    assert not (tmp_path / "cmp").exists()


def test_load_reads_back_a_good_run(saved_run):
    from model.results import load

    result = load(saved_run)
    assert (result.seed, result.scenario, result.days) == (1, "baseline", 3)


# -- options a command would ignore ---------------------------------------------------------------


def test_hypotheses_refuses_set_simulation_days(tmp_path, capsys):
    line = usage_error(capsys, "hypotheses", "--set", "simulation.days=5", "--out", str(tmp_path / "o"))
    assert "--set simulation.days: this command sets it itself" in line


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"draws": [{"simulation.days": 5}]}', "draw 0 sets simulation.days, which each hypothesis sets itself"),
        ('{"draws": [{"simulation__days": 5}]}', "draw 0 sets simulation.days"),
        ('{"draws": [{"hedge_funds.max_leverage": 5}], "note": 1}', "unknown top-level key 'note'"),
        ('{"draws": [{"hedge_funds.max_leverage": 5, "hedge_funds.max_leverage": 6}]}',
         "the key 'hedge_funds.max_leverage' appears twice"),
        ('{"draws": [], "draws": [{"hedge_funds.max_leverage": 5}]}', "the key 'draws' appears twice"),
    ],
)  # fmt: skip
def test_hypotheses_refuses_draws_it_would_misread(tmp_path, capsys, text, message):
    path = tmp_path / "draws.json"
    path.write_text(text)
    line = usage_error(capsys, "hypotheses", "--draws-from", str(path), "--seeds", "3", "--out", str(tmp_path / "o"))
    assert f"--draws-from {path}: " in line and message in line


# -- counts that would never finish --------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--funds", "10", "--days", "2", "--reps", "1000000000"], "--reps"),
        (["--funds", "10", "--days", "2", "--plain-reps", "101"], "--plain-reps"),
        (["--standard", "--seeds", "1000000000"], "--seeds"),
    ],
)
def test_bench_caps_its_repetitions(capsys, argv, flag):
    line = usage_error(capsys, "bench", *argv)
    assert re.search(rf"{flag} = '\d+' is not allowed; expected a positive integer, at most 100", line)


def test_simulate_many_caps_and_refuses_duplicate_seeds():
    from model.results import simulate_many

    with pytest.raises(ConfigError, match=r"seeds = 10,000,000 seeds is not allowed; expected at most 10,000"):
        simulate_many("baseline", seeds=range(10**7), days=2)
    with pytest.raises(ConfigError, match=r"seeds\[1\] = 1 is not allowed; that seed is already in the list"):
        simulate_many("baseline", seeds=[1, 1], days=2)


def test_run_simulation_accepts_numpy_integers():
    np = pytest.importorskip("numpy")
    from model.results import run_simulation

    result = run_simulation(seed=np.int64(1), days=np.int64(2), hedge_funds__n_funds=np.int64(20))
    assert result.config.hedge_funds.n_funds == 20 and result.days == 2


# -- the scripts: arguments checked first, one-line errors ----------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--runs", "0"], "--runs = 0 is not allowed; expected an integer from 1 to 10,000"),
        (["--runs", "-1"], "--runs = -1 is not allowed"),
        (["--days", "99999999999"], "--days = 99999999999 is not allowed; expected an integer from 1 to 100,000"),
        (["--funds", "0"], "--funds = 0 is not allowed; expected an integer from 1 to 10,000,000"),
        (["--repeat", "0"], "--repeat = 0 is not allowed; expected an integer from 1 to 100"),
        (["--repeat", "x"], "--repeat = 'x' is not allowed; expected an integer"),
    ],
)
def test_the_sweep_benchmark_checks_its_arguments_first(capsys, args, message):
    from experiments.sweeps import bench

    with pytest.raises(SystemExit) as exit_:
        bench.main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == EXIT_USAGE and err.count("\n") == 1
    assert err.startswith("python -m experiments.sweeps.bench: error: ") and message in err
    with pytest.raises(ValueError, match="--repeat = 0 is not allowed"):
        bench.benchmark_sweeps(runs=1, days=1, n_funds=1, repeat=0)


@pytest.mark.parametrize("module", ["experiments.analysis.balance_sheet_cycle", "experiments.calibration.baseline"])
def test_the_scripts_refuse_an_output_directory_before_running(tmp_path, capsys, module):
    import importlib

    script = importlib.import_module(module)
    for argv, message in (
        (["--out", str(tmp_path)], f"--out = '{tmp_path}' is not allowed; it is a directory, expected a file name"),
        (["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
        (["--seeds", "0"], "--seeds = 0 is not allowed"),
    ):
        with pytest.raises(SystemExit) as exit_:
            script.main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == EXIT_USAGE and err.count("\n") == 1, err
        assert err.startswith(f"python -m {module}: error: ") and message in err


@pytest.mark.parametrize("module", ["experiments.analysis.replay", "experiments.calibration.profile"])
def test_the_other_scripts_usage_errors_are_one_line(capsys, module):
    import importlib

    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(["--no-such-option"])
    err = capsys.readouterr().err
    assert exit_.value.code == EXIT_USAGE and err.count("\n") == 1, err
    assert err.startswith(f"python -m {module}: error: ")


# -- params --------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["", ".", "hedge_funds."])
def test_params_refuses_an_empty_name(capsys, which):
    line = usage_error(capsys, "params", which)
    assert f"SECTION[.FIELD] = {which!r} is not allowed; expected a section, one of simulation, market" in line


@pytest.mark.parametrize(
    "values, match",
    [
        ("[2.0, 1" + "0" * 400 + "]", r"values\[1\] = 10000.*\(401 digits\) is not allowed; expected a finite number"),
        ("[2.0, 1" + "0" * 5000 + "]", r"more than 4,300 digits"),
    ],
)
def test_a_sweep_spec_with_an_absurd_number_is_one_line(values, match):
    from experiments.sweeps.parsing import parse_spec
    from experiments.sweeps.spec import SpecError

    head = '[sweep]\ndesign = "grid"\nscenario = "baseline"\ndays = 20\n\n[parameters]\n'
    text = f'{head}"hedge_funds.max_leverage" = {values}\n'
    with pytest.raises(SpecError, match=match) as err:
        parse_spec(text, where="spec.toml")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "argv",
    [["run"], ["compare", "baseline", "risk_off"], ["validate"], ["hypotheses"], ["figures"]],
    ids=lambda argv: argv[0],
)
@pytest.mark.parametrize("workers", ["1000000", "0"])
def test_every_commands_workers_are_capped_as_the_sweeps_are(tmp_path, capsys, argv, workers):
    """Before: --workers 1000000 was accepted by these commands, which size their pool by their tasks (a
    compare over 2,000 seeds asked for 2,000 processes)."""
    from experiments.runner import max_workers

    line = usage_error(capsys, *argv, "--workers", workers, "--out", str(tmp_path / "out"))
    assert f"--workers = '{workers}' is not allowed; expected an integer from 1 to {max_workers():,}" in line
    assert not (tmp_path / "out").exists()


def test_paths_that_are_not_utf8_are_refused_in_one_line_or_read(saved_run, tmp_path, capsys):
    """Before: sensitivity gave a traceback, --draws-from failed after its runs, and compare said a good run's
    timeseries.parquet was not a readable Parquet file."""
    import os

    from model.results import load

    odd = Path(os.fsdecode(bytes(tmp_path) + b"/r\xff"))  # a name with a byte that is not UTF-8
    shutil.copytree(saved_run, odd)
    assert load(odd).seed == load(saved_run).seed  # the library reads it
    for argv, flag in (
        (["compare", str(odd), "baseline"], "a saved run's folder"),  # its name would label the arm
        (["sensitivity", str(odd)], "DIR"),
        (["hypotheses", "--only", "H3", "--seeds", "2", "--draws-from", str(odd / "summary.json")], "--draws-from"),
    ):
        line = usage_error(capsys, *argv, "--out", str(tmp_path / "out"))
        assert f"{flag} = " in line and "is not allowed; the path is not valid UTF-8" in line, line
        assert not (tmp_path / "out").exists()
