"""Bad input and unsafe output: every case a one-line error with exit status 2, a warning, or a
quiet stop, never a traceback, a hang or silence.

Each test feeds the command line one kind of bad input (a file that is not UTF-8, a directory
where a file belongs, an output directory that cannot be written, a damaged sweep file, a
malformed address, a design too large to generate, a closed pipe, a full disk...) and checks
the exit status and the message's form ``carry-unwind: error: <flag or field> = <value> is not
allowed; expected ...``. Runs that must actually simulate are 3 days with 20 funds.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.cli.common import EXIT_BROKEN_PIPE, EXIT_FAILURE, EXIT_OK
from tests.support import CLI_TINY, one_error_line, usage_error

ROOT = Path(__file__).resolve().parents[2]
TINY = CLI_TINY

LATIN1 = 'name = "x"\ndescription = "caf\xe9 cr\xe8me"\n'.encode("latin-1")


@pytest.fixture()
def small_spec(tmp_path) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(
        textwrap.dedent(
            """
            [sweep]
            design = "grid"
            days = 3
            metrics = ["usdjpy_max_fall_pct", "hf_failures_total"]
            [fixed]
            hedge_funds.n_funds = 20
            [parameters]
            hedge_funds.max_leverage = { values = [2.0, 5.0] }
            """
        )
    )
    return path


# -- files that are not UTF-8 text, directories where a file belongs ------------------------------


def test_non_utf8_scenario_file_names_the_file_and_the_line(tmp_path, capsys):
    path = tmp_path / "latin.toml"
    path.write_bytes(LATIN1)
    line = usage_error(capsys, "run", "--scenario", str(path), *TINY)
    assert str(path) in line and "not UTF-8" in line and "line 2" in line


def test_non_utf8_config_file_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_bytes(b"[hedge_funds]\n# r\xe9glages\nmax_leverage = 5.0\n")
    line = usage_error(capsys, "run", "--config", str(path), *TINY)
    assert str(path) in line and "not UTF-8" in line and "byte 0xe9 on line 2" in line


def test_non_utf8_sweep_spec_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "spec.toml"
    path.write_bytes(LATIN1)
    line = usage_error(capsys, "sweep", str(path), "--out", str(tmp_path / "out"))
    assert str(path) in line and "not UTF-8" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag", ["--scenario", "--config"])
def test_a_directory_given_as_a_file_is_a_usage_error(tmp_path, capsys, flag):
    line = usage_error(capsys, "run", flag, str(tmp_path), *TINY)
    assert str(tmp_path) in line and "directory" in line.lower()


def test_a_directory_given_as_the_sweep_spec_is_a_usage_error(tmp_path, capsys):
    line = usage_error(capsys, "sweep", str(tmp_path), "--out", str(tmp_path / "out"))
    assert "is a directory" in line


# -- output directories that cannot be written ----------------------------------------------------


@pytest.fixture()
def a_file(tmp_path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["hypotheses", "--seeds", "2", "--only", "H1", "--out", "{out}"],
        ["figures", "--quick", "--only", "phase_diagram", "--out", "{out}"],
        ["validate", "--quick", "--out", "{out}"],
        ["sweep", "{spec}", "--out", "{out}"],
        ["run", *TINY, "--out", "{out}"],
        ["sensitivity", "{tmp}", "--out", "{out}"],
    ],
    ids=lambda a: a[0],
)
@pytest.mark.parametrize("where", ["under a file", "a file"])
def test_unwritable_out_is_refused_before_any_work(tmp_path, capsys, a_file, small_spec, argv, where):
    out = a_file / "sub" if where == "under a file" else a_file
    args = [a.format(out=out, spec=small_spec, tmp=tmp_path) for a in argv]
    line = usage_error(capsys, *args)
    assert f"--out = {str(out)!r} is not allowed" in line


def test_out_in_a_directory_without_write_permission(tmp_path, capsys, small_spec):
    if os.geteuid() == 0:
        out = Path("/proc/carry-unwind-test")  # root may write anywhere but here
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = locked / "out"
    line = usage_error(capsys, "sensitivity", str(tmp_path), "--out", str(out))
    assert "cannot create files" in line


# -- a damaged sweep directory --------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged_sweep(tmp_path_factory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("damaged")
    spec = tmp / "spec.toml"
    spec.write_text(
        "[sweep]\ndesign = 'grid'\ndays = 3\nmetrics = ['usdjpy_max_fall_pct']\n"
        "[fixed]\nhedge_funds.n_funds = 20\n[parameters]\nhedge_funds.max_leverage = { values = [2.0, 5.0] }\n"
    )
    out = tmp / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == EXIT_OK
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    part.write_bytes(b"PAR1 cut short by a full disk")
    return spec, out, part


def test_damaged_part_file_on_resume_names_the_file_and_the_way_out(capsys, damaged_sweep):
    spec, out, part = damaged_sweep
    line = usage_error(capsys, "sweep", str(spec), "--out", str(out), "--resume", "--executor", "serial")
    assert str(part) in line and "remove it" in line and "--resume" in line


def test_damaged_part_file_in_sensitivity_names_the_file(capsys, damaged_sweep):
    _, out, part = damaged_sweep
    line = usage_error(capsys, "sensitivity", str(out))
    assert str(part) in line and "remove it" in line


# -- malformed addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["tcp://", "tcp://a b:8786", "tcp://host:99999", "host:port", "tcp://hôte:1", "", "tcp://dask-head"]
)
def test_malformed_scheduler_address(tmp_path, capsys, small_spec, address):
    line = usage_error(capsys, "sweep", str(small_spec), "--out", str(tmp_path / "o"), "--scheduler", address)
    assert f"--scheduler = {address!r} is not allowed; expected a Dask scheduler address" in line


@pytest.mark.parametrize(
    "address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://[::1]:8786", "tcp://dask-head:8786"]
)
def test_wellformed_scheduler_addresses_pass_the_check(address):
    from experiments.cli.common import scheduler_address

    assert scheduler_address(address) == address


@pytest.mark.parametrize("host", ["", "my laptop", "hôte.local", "0.0.0.0 ", "under_score"])
def test_app_host_must_be_an_address_and_empty_does_not_mean_everywhere(capsys, host):
    line = usage_error(capsys, "app", "--host", host)
    assert f"--host = {host!r} is not allowed" in line and "0.0.0.0" in line


@pytest.mark.parametrize("name", ["no_such_scenario", "model/scenarios/baseline.toml", ""])
def test_app_scenario_must_be_a_built_in_name_and_reaches_the_server(capsys, monkeypatch, name):
    from experiments.app import server
    from experiments.cli import app as app_command

    monkeypatch.setattr(app_command, "serve", lambda *a: pytest.fail("a bad --scenario must not start the server"))
    line = usage_error(capsys, "app", "--scenario", name)
    assert f"--scenario {name!r} is not allowed; expected a built-in scenario: baseline," in line
    assert server.server_env({}, scenario="boj_hike_2024")["CARRY_UNWIND_APP_SCENARIO"] == "boj_hike_2024"
    assert "CARRY_UNWIND_APP_SCENARIO" not in server.server_env({})


# -- closed pipes and full disks ------------------------------------------------------------------


def test_closed_pipe_ends_quietly():
    """``carry-unwind scenarios | head -0``: the reader is gone before the first line is written."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(ROOT / ".numba_cache")}
    code = "import sys; from experiments.cli import main; sys.exit(main(['scenarios']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the pipe's reader goes away at once
    err = proc.stderr.read().decode()
    status = proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert err == ""
    assert status == EXIT_BROKEN_PIPE


def test_closed_pipe_in_process_gives_the_sigpipe_status(monkeypatch, capsys):
    class Closed:
        def write(self, _):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def fileno(self):
            raise ValueError("no file")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["scenarios"]) == EXIT_BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err


def test_full_disk_on_stdout_is_one_error_line(monkeypatch, capsys):
    class Full:
        def write(self, _):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Full())
    assert main(["scenarios"]) == EXIT_FAILURE
    line = one_error_line(capsys.readouterr().err)
    assert "No space left on device" in line


def test_full_disk_while_writing_a_run_leaves_the_earlier_run_whole(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from model.results import load

    out = tmp_path / "run"
    assert main(["run", *TINY, "--out", str(out)]) == EXIT_OK
    before = (out / "summary.json").read_text()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    capsys.readouterr()
    assert main(["run", *TINY, "--seed", "2", "--out", str(out), "--force"]) == EXIT_FAILURE
    line = one_error_line(capsys.readouterr().err)
    assert "No space left on device" in line and str(out) in line
    assert (out / "summary.json").read_text() == before  # the earlier run, untouched
    assert load(out).seed == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary directory left behind


# -- designs too large to generate, horizons too long to run -------------------------------------


def spec_with(tmp_path: Path, sweep: str, parameters: str) -> Path:
    path = tmp_path / "big.toml"
    path.write_text(f"[sweep]\n{sweep}\n[parameters]\n{parameters}\n")
    return path


@pytest.mark.parametrize(
    ("sweep", "parameters", "expected"),
    [
        ('design = "grid"\ndays = 5', "hedge_funds.max_leverage = { range = [1.0, 10.0], num = 100000000 }",
         "num = 100000000 is not allowed; expected at most 1,000,000"),
        ('design = "lhs"\nsamples = 1000000000\ndays = 5', "hedge_funds.max_leverage = { range = [1.0, 10.0] }",
         "samples = 1000000000 is not allowed; expected at most 1,000,000"),
        ('design = "saltelli"\nsamples = 1073741824\ndays = 5', "hedge_funds.max_leverage = { range = [1.0, 10.0] }",
         "samples = 1073741824 is not allowed"),
        ('design = "grid"\ndays = 5\nreplicates = 2000000000', "hedge_funds.max_leverage = { values = [2.0, 3.0] }",
         "replicates = 2000000000 is not allowed"),
        ('design = "grid"\ndays = 5',
         "hedge_funds.max_leverage = { range = [1.0, 10.0], num = 1000 }\n"
         "hedge_funds.margin_vol_elasticity = { range = [0.0, 2.0], num = 1001 }",
         "1,001,000 runs; expected at most 1,000,000"),
        ('design = "grid"\ndays = 1000000000', "hedge_funds.max_leverage = { values = [2.0, 3.0] }",
         "days = 1000000000 is not allowed; expected at most 100,000 trading days"),
    ],
    ids=["grid-num", "lhs-samples", "saltelli-samples", "replicates", "grid-product", "days"],
)  # fmt: skip
def test_oversized_specification_is_refused_at_once(tmp_path, capsys, sweep, parameters, expected):
    spec = spec_with(tmp_path, sweep, parameters)
    line = usage_error(capsys, "sweep", str(spec), "--out", str(tmp_path / "out"))
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_max_runs_flag_lowers_and_raises_the_cap(tmp_path, capsys, small_spec):
    line = usage_error(capsys, "sweep", str(small_spec), "--out", str(tmp_path / "o"), "--max-runs", "1")
    assert "2 runs; expected at most 1" in line and "--max-runs" in line
    from experiments.sweeps.parsing import load_spec

    spec = spec_with(
        tmp_path, 'design = "lhs"\nsamples = 2000000\ndays = 5', "hedge_funds.max_leverage = { range = [1.0, 10.0] }"
    )  # noqa: E501
    assert load_spec(spec, max_runs=2_000_000).n_runs == 2_000_000


# -- empty or unknown names -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["figures", "hypotheses"])
@pytest.mark.parametrize("only", ["", " , ", "{a},,{b}", "{a},{a}", "{a}, {a} "])
def test_empty_only_is_an_error_not_everything(tmp_path, capsys, command, only):
    """An empty list or item, or a name twice (which ran a hypothesis twice into one report)."""
    a, b = ("phase_diagram", "return_statistics") if command == "figures" else ("H1", "H2")
    only = only.format(a=a, b=b)
    line = usage_error(capsys, command, "--only", only, "--out", str(tmp_path / "o"))
    assert f"--only = {only!r} is not allowed" in line
    assert not (tmp_path / "o").exists()


def test_unknown_episode_scenario_fails_before_the_runs(tmp_path, capsys):
    line = usage_error(capsys, "validate", "--quick", "--episode-scenario", "no_such", "--out", str(tmp_path / "v"))
    assert "--episode-scenario" in line and "unknown scenario 'no_such'" in line


@pytest.mark.parametrize(
    ("value", "expected"), [("3-1", "'3-1' is not allowed"), ("1-x", "'1-x' is not allowed"), ("1,1", "twice")]
)
def test_malformed_seed_lists(capsys, value, expected):
    line = usage_error(capsys, "run", "--seeds", value, *TINY)
    assert expected in line


def test_seed_and_seeds_together_is_an_error(capsys):
    assert "do not go together" in usage_error(capsys, "run", "--seed", "2", "--seeds", "1-2", *TINY)


# -- events beyond the horizon, dates without quotes ---------------------------------------------


def test_event_beyond_the_horizon_is_reported_once_on_stderr(tmp_path, capsys):
    assert main(["run", "--scenario", "risk_off", *TINY, "--out", str(tmp_path / "r")]) == EXIT_OK
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "outside the horizon" in line]
    assert len(warnings) == 1 and "us growth news on day 60" in warnings[0] and "3 trading days" in warnings[0]
    assert warnings[0].startswith("carry-unwind: warning:")
    assert "outside the horizon" not in captured.out


def test_the_run_commands_worker_processes_do_not_repeat_its_late_event_warning(tmp_path):
    """With two spawned workers (each builds its own model, with its own record of what was reported),
    the command's one warning is still the only one."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "experiments.cli", "run", "--scenario", "risk_off", "--seeds", "1-2", "--workers",
           "2", *TINY, "--out", str(tmp_path / "r")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sum("outside the horizon" in line for line in done.stderr.splitlines()) == 1


def test_unquoted_date_in_set_and_in_a_config_file(tmp_path):
    from experiments.cli.common import parse_set
    from model.config import ModelConfig

    assert parse_set(["market.start_date=2024-07-01"]) == {"market.start_date": "2024-07-01"}
    path = tmp_path / "c.toml"
    path.write_text("[market]\nstart_date = 2024-07-01\n")
    assert ModelConfig.from_toml(path).market.start_date == "2024-07-01"
    out = tmp_path / "r"
    assert main(["run", *TINY, "--config", str(path), "--set", "market.start_date=2024-07-02", "--out", str(out)]) == 0
    assert ModelConfig.from_toml(out / "config.toml").market.start_date == "2024-07-02"


def test_unquoted_date_in_a_sweep_spec(tmp_path):
    from experiments.sweeps import parse_spec

    spec = parse_spec(
        "[sweep]\ndesign = 'grid'\ndays = 3\n[fixed]\nmarket.start_date = 2024-07-01\n"
        "[parameters]\nhedge_funds.max_leverage = { values = [2.0] }\n"
    )
    assert spec.fixed["market.start_date"] == "2024-07-01"


# -- safe output of `run` -------------------------------------------------------------------------


def test_existing_run_is_replaced_only_with_force(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *TINY, "--out", str(out)]) == EXIT_OK
    line = usage_error(capsys, "run", *TINY, "--seed", "2", "--out", str(out))
    assert "already holds a run" in line and "--force" in line
    assert main(["run", *TINY, "--seed", "2", "--out", str(out), "--force"]) == EXIT_OK
    from model.results import load

    assert load(out).seed == 2


def test_a_directory_that_is_not_a_run_is_never_replaced(tmp_path, capsys):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "thesis.tex").write_text("months of work")
    line = usage_error(capsys, "run", *TINY, "--out", str(keep), "--force")
    assert "not a carry-unwind run" in line
    assert (keep / "thesis.tex").read_text() == "months of work"


def test_default_out_names_scenario_and_seed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", *TINY, "--seed", "3"]) == EXIT_OK
    assert (tmp_path / "out" / "baseline-seed3" / "complete").is_file()


def test_load_refuses_a_run_cut_short(tmp_path):
    import shutil

    from model.results import IncompleteRunError, load

    out = tmp_path / "r"
    assert main(["run", *TINY, "--out", str(out)]) == EXIT_OK
    half = tmp_path / "half"
    shutil.copytree(out, half)
    (half / "complete").unlink()
    with pytest.raises(IncompleteRunError, match=r"incomplete run \(killed or failed while writing\)"):
        load(half)


def test_a_run_killed_while_writing_leaves_no_directory(tmp_path, monkeypatch, capsys):
    import experiments.analysis.plots as plots

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "save_figure", killed)
    out = tmp_path / "r"
    assert main(["run", *TINY, "--out", str(out)]) == 130
    assert list(tmp_path.iterdir()) == []


# -- empty names, counts that would never finish --------------------------------------------------


@pytest.mark.parametrize("command", ["run", "validate", "hypotheses", "figures", "sweep"])
def test_empty_out_is_not_the_current_directory(capsys, small_spec, command):
    argv = [command, *([str(small_spec)] if command == "sweep" else []), "--out", ""]
    assert "--out = '' is not allowed; expected a directory name" in usage_error(capsys, *argv)


def test_empty_scenario_name(capsys):
    line = usage_error(capsys, "run", "--scenario", "", *TINY)
    assert "scenario = '' is not allowed; expected a built-in scenario name" in line and "baseline" in line


@pytest.mark.parametrize("command", ["validate", "hypotheses"])
def test_a_billion_seeds_is_refused(tmp_path, capsys, command):
    line = usage_error(capsys, command, "--seeds", "1000000000", "--out", str(tmp_path / "o"))
    assert "--seeds = '1000000000' is not allowed; expected a positive integer, at most 10,000" in line


@pytest.mark.parametrize("flag", ["--days", "--episode-days"])
def test_validate_horizon_beyond_the_configuration_bound_is_refused_before_running(tmp_path, capsys, flag):
    line = usage_error(capsys, "validate", "--seeds", "1", flag, "2000000", "--out", str(tmp_path / "v"))
    assert line.startswith(f"carry-unwind: error: {flag}: simulation.days = 2000000")
    assert not (tmp_path / "v").exists()


def test_damaged_design_file_says_the_sweep_cannot_continue(tmp_path):
    from experiments.sweeps import SpecError
    from experiments.sweeps.store import load_design

    (tmp_path / "design.parquet").write_bytes(b"xx")
    with pytest.raises(SpecError, match=r"design\.parquet is not a readable parquet file.*another --out"):
        load_design(tmp_path)


def test_temporary_directories_of_a_killed_writer_are_cleared_by_the_next_run(tmp_path):
    import time

    stale = tmp_path / ".r.tmp-abandoned"
    stale.mkdir()
    (stale / "timeseries.parquet").write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    fresh = tmp_path / ".r.tmp-being-written"  # another writer, now: left alone
    fresh.mkdir()
    assert main(["run", *TINY, "--out", str(tmp_path / "r")]) == EXIT_OK
    assert not stale.exists() and fresh.exists()


def test_an_event_beyond_the_horizon_is_logged_once_by_the_model_itself(caplog):
    """Not only the ``run`` command: any model whose horizon ends before a scenario event reports it."""
    import logging

    from model import scenarios
    from model.model import CarryUnwindModel

    scenarios._REPORTED_LATE.clear()
    with caplog.at_level(logging.WARNING, logger="model.scenarios"):
        for _ in range(2):
            CarryUnwindModel(scenario="risk_off", seed=1, collect=False, simulation__days=7,
                             hedge_funds__n_funds=20)  # fmt: skip
        CarryUnwindModel(scenario="risk_off", seed=1, collect=False, simulation__days=100, hedge_funds__n_funds=20)
    late = [r.getMessage() for r in caplog.records if "outside the horizon" in r.getMessage()]
    assert late == ["scenario risk_off: 1 event outside the horizon of 7 trading days, not simulated: "
                    "us growth news on day 60"]  # fmt: skip
