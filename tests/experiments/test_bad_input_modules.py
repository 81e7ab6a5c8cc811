"""Bad input to the analysis, calibration and app scripts run as ``python -m``: each case is one line on
stderr naming the option, its value and what is allowed, exit status 2, before anything runs (no
simulation, no checkpoint, no file written); never a traceback or argparse's usage block."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from experiments.cli.common import EXIT_USAGE

# each script's expensive step, replaced in the tests by one that fails if it is reached
WORK = {
    "experiments.analysis.replay": "replay",
    "experiments.analysis.interventions": "measure",
    "experiments.analysis.episode_facts": "run_facts",
    "experiments.analysis.fiscal_worlds": "fiscal_worlds",
    "experiments.calibration.profile": "profile",
    "experiments.app.bench": "widget_latency",
}


def refused(module: str, argv: list[str], capsys, monkeypatch) -> str:
    """Run ``module.main(argv)`` with its work made to fail; it must exit 2 with one line on stderr, naming
    the script, and nothing on stdout. Returns that line."""
    script = importlib.import_module(module)
    monkeypatch.setattr(script, WORK[module], lambda *a, **k: pytest.fail(f"{module} ran on bad input"))
    with pytest.raises(SystemExit) as exit_:
        script.main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert exit_.value.code == EXIT_USAGE, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "usage:" not in err, err
    assert err.startswith(f"python -m {module}: error: "), err
    assert captured.out == ""
    return err


def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a directory\n")
    return path


def nothing_written(tmp_path: Path, *keep: Path) -> None:
    assert sorted(tmp_path.iterdir()) == sorted(keep)


# -- defect 1 (and 3): --out that cannot be written is refused before any run and any checkpoint -----

# the scripts that write an --out, each with the smallest arguments it runs with
WRITERS = [
    ("experiments.analysis.replay", ["--seeds", "1"]),
    ("experiments.analysis.interventions", ["--seeds", "1"]),
    ("experiments.calibration.profile", ["hedge_funds.max_leverage", "5", "--seeds", "1", "--days", "260"]),
    ("experiments.analysis.episode_facts", ["--seeds", "2"]),
]


@pytest.mark.parametrize(
    "module, argv",
    WRITERS,
)
def test_an_out_under_a_file_is_refused_before_running(module, argv, tmp_path, capsys, monkeypatch):
    parent = a_file(tmp_path)
    out = parent / "x"
    err = refused(module, [*argv, "--out", str(out)], capsys, monkeypatch)
    # the right reason: the parent is a file (not "File exists" after the runs)
    assert f"--out {str(out)!r}: its directory = {str(parent)!r} is not allowed; it is a file, not a directory" in err
    nothing_written(tmp_path, parent)


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs /sys")
@pytest.mark.parametrize(
    "module, argv",
    WRITERS,
)
def test_an_out_in_a_directory_that_cannot_be_written_is_refused_before_running(module, argv, capsys, monkeypatch):
    err = refused(module, [*argv, "--out", "/sys/x"], capsys, monkeypatch)
    assert "--out '/sys/x': its directory = '/sys' is not allowed; cannot create files in '/sys'" in err
    assert not Path("/sys/x.checkpoint").exists()


@pytest.mark.parametrize(
    "module, argv",
    [
        ("experiments.analysis.interventions", ["--seeds", "1"]),
        ("experiments.calibration.profile", ["hedge_funds.max_leverage", "5", "--seeds", "1", "--days", "260"]),
    ],
)
def test_an_out_that_is_a_directory_is_refused_before_running(module, argv, tmp_path, capsys, monkeypatch):
    err = refused(module, [*argv, "--out", str(tmp_path)], capsys, monkeypatch)
    assert f"--out = {str(tmp_path)!r} is not allowed; it is a directory, expected a file name" in err
    nothing_written(tmp_path)


@pytest.mark.parametrize("out", [".", "/"])
def test_replay_refuses_an_out_without_a_name(out, capsys, monkeypatch):
    err = refused("experiments.analysis.replay", ["--seeds", "1", "--out", out], capsys, monkeypatch)
    assert f"--out = {out!r} is not allowed; expected a path and a file name" in err


def test_replay_still_accepts_an_out_beside_a_directory_of_that_name(tmp_path, capsys, monkeypatch):
    """``--out runs/replay`` writes runs/replay.json, .png, ...: a directory runs/replay does not stand in the way."""
    from experiments.analysis import replay

    (tmp_path / "replay").mkdir()

    class Reached(Exception):
        pass

    def stop(*a, **k):
        raise Reached

    monkeypatch.setattr(replay, "replay", stop)
    with pytest.raises(Reached):
        replay.main(["--seeds", "1", "--out", str(tmp_path / "replay")])


# -- defect 2: app.bench's --steps ----------------------------------------------------------------


@pytest.mark.parametrize("steps", ["0", "-1", "x", "1000000000"])
def test_app_bench_refuses_steps_out_of_range(steps, capsys, monkeypatch):
    err = refused("experiments.app.bench", ["--steps", steps], capsys, monkeypatch)
    assert f"--steps = {steps!r} is not allowed; expected a positive integer, at most 1,000" in err


# -- defect 4: one line, not argparse's usage block -----------------------------------------------


@pytest.mark.parametrize(
    "module, argv, message",
    [
        ("experiments.analysis.episode_facts", ["--seeds", "0"], "--seeds = 0 is not allowed; expected 2 to 10,000"),
        ("experiments.analysis.episode_facts", ["--workers", "0"], "--workers = 0 is not allowed; expected 1 to 256"),
        ("experiments.analysis.episode_facts", ["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
        ("experiments.analysis.interventions", ["--seeds", "0"], "--seeds = 0 is not allowed; expected 1 to 1000"),
        ("experiments.analysis.interventions", ["--level", "nan"], "--level = nan is not allowed; expected 70.0"),
        ("experiments.analysis.fiscal_worlds", ["--seeds", "1"], "--seeds = 1 is not allowed; expected 2 to 1000"),
        ("experiments.analysis.fiscal_worlds", ["--nope"], "unrecognized arguments: --nope"),
        ("experiments.app.bench", ["--steps"], "argument --steps: expected one argument"),
        ("experiments.app.bench", ["--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_usage_errors_are_one_line(module, argv, message, capsys, monkeypatch):
    assert message in refused(module, argv, capsys, monkeypatch)


# -- defect 5: fiscal_worlds names only the bad option --------------------------------------------


@pytest.mark.parametrize(
    "argv, bad, good",
    [
        (["--seeds", "0"], "--seeds = 0 is not allowed; expected 2 to 1000", "--workers"),
        (["--workers", "0"], "--workers = 0 is not allowed; expected 1 to 256", "--seeds"),
        (["--seeds", "3", "--workers", "1000"], "--workers = 1000 is not allowed", "--seeds"),
    ],
)
def test_fiscal_worlds_names_only_the_bad_option(argv, bad, good, capsys, monkeypatch):
    err = refused("experiments.analysis.fiscal_worlds", argv, capsys, monkeypatch)
    assert bad in err and good not in err


# -- defect 6: profile's values, each once ---------------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        (["5", "5"], "values = '5' is not allowed; it repeats '5', expected each value once"),
        (["4", "5", "5.0"], "values = '5.0' is not allowed; it repeats '5', expected each value once"),
    ],
)
def test_profile_refuses_a_value_given_twice(values, message, tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.json"
    argv = ["hedge_funds.max_leverage", *values, "--seeds", "1", "--days", "260", "--out", str(out)]
    assert message in refused("experiments.calibration.profile", argv, capsys, monkeypatch)
    nothing_written(tmp_path)


def test_profile_still_takes_distinct_values(monkeypatch):
    from experiments.calibration import profile

    seen = {}

    def fake(field, values, **kwargs):
        seen["values"] = values
        return {"points": []}

    monkeypatch.setattr(profile, "profile", fake)
    assert profile.main(["hedge_funds.max_leverage", "4", "5", "--seeds", "1", "--days", "260"]) == 0
    assert seen["values"] == [4, 5]
