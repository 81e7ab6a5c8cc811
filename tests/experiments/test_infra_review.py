"""The infrastructure review's fixes: workers report the code they run and a result of other code is refused;
one command at a time writes an output; the code fingerprint ignores outputs written under the packages; a
sweep whose every run failed exits 2, and a damaged numba cache is one line naming its folder; provenance of
the hypotheses outputs and of a sweep's manifest."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from experiments import runner
from experiments.cli import main
from model import numba_cache
from tests.experiments.test_resume_fixes import SWEEP  # a grid of two 3-day runs

OTHER_CODE = "0.0.1 0123456789ab python 3.0.0 numpy 0.1 scipy 0.1 numba 0.1 pandas 0.1 mesa 0.1 pyarrow 0.1"


def _foreign_worker(monkeypatch) -> None:
    """Every worker of a pool reports another process and other code (as a Dask worker with another
    installation would); the pool runs its tasks in this process, so that the patch reaches them."""
    monkeypatch.setattr(runner, "worker_identity", lambda: ("another-process", OTHER_CODE))


def _in_process_pool(monkeypatch) -> None:
    monkeypatch.setattr(runner, "make_pool", lambda executor, workers, scheduler=None: runner.SerialPool())


def _one_line(err: str) -> str:
    """The one error line of a command's stderr (its log lines aside), which has no traceback."""
    lines = [line for line in err.splitlines() if line.startswith("carry-unwind: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- 1. workers report their code; a result of other code is refused and nothing of it is kept -------------


def test_a_pool_task_comes_back_with_its_workers_code_fingerprint(monkeypatch):
    monkeypatch.setattr(runner, "_WORKER_FINGERPRINT", None)  # this process's first task
    token, fingerprint = runner.worker_identity()
    assert fingerprint == runner.code_fingerprint() and token == runner._PROCESS_TOKEN
    monkeypatch.setattr(runner, "code_fingerprint", lambda: OTHER_CODE)  # an edit after the first task ...
    assert runner.worker_identity() == (token, fingerprint)  # ... does not change the code the process runs
    monkeypatch.undo()
    identity, value = runner.call_reporting(abs, -3)
    assert value == 3 and identity == (token, fingerprint)
    # a real worker process: its own token, the same code
    pool = runner.make_pool("local", 1)
    try:
        (other_token, other_fp), value = pool.submit(runner.call_reporting, abs, -2).result(timeout=120)
    finally:
        pool.close(cancel=False)
    # the same code (read again after: another change in progress may edit the tree meanwhile)
    assert value == 2 and other_token != token and other_fp in (fingerprint, runner.code_fingerprint())


def test_run_tasks_refuses_a_result_computed_by_other_code_and_keeps_none_of_it(tmp_path, monkeypatch):
    _in_process_pool(monkeypatch)
    where = tmp_path / "out.checkpoint"
    with runner.resumable(where, {"command": "x"}) as checkpoint:  # the control: the same code is kept
        assert runner.run_tasks(abs, [-1, -2], workers=2, executor="local") == [1, 2]
        checkpoint.keep()
    assert len(list(where.glob("*.pkl"))) == 2
    runner.shutil.rmtree(where)

    _foreign_worker(monkeypatch)
    with pytest.raises(runner.CodeMismatch) as info, runner.resumable(where, {"command": "x"}):
        runner.run_tasks(abs, [-1, -2], workers=2, executor="local")
    message = str(info.value)
    assert "\n" not in message and OTHER_CODE in message and runner.code_fingerprint() in message
    assert "source hash 0123456789ab on the worker" in message
    assert not list(where.glob("*.pkl"))  # nothing of it stored


def test_a_run_in_this_process_is_held_to_the_commands_code_too(monkeypatch):
    """A long-lived session (a notebook) that edits the code after its first task runs the code it loaded,
    not the edited files the command's fingerprint reads: its results are refused like a worker's."""
    runner.worker_identity()  # the first task: the code this process loaded
    monkeypatch.setattr(runner, "code_fingerprint", lambda: OTHER_CODE)  # the files edited since
    with pytest.raises(runner.CodeMismatch, match="in a notebook, restart its kernel too"):
        runner.run_tasks(abs, [-1, -2], workers=1)
    monkeypatch.setattr(runner, "_WORKER_FINGERPRINT", None)  # a fresh session loads the edited code
    assert runner.run_tasks(abs, [-1, -2], workers=1) == [1, 2]


def test_a_built_in_scenario_edited_in_a_session_is_read_again(tmp_path, monkeypatch):
    import shutil

    import model.scenarios
    from experiments.sweeps.designs import spec_scenario

    folder = tmp_path / "scenarios"
    shutil.copytree(model.scenarios.SCENARIO_DIR, folder)
    monkeypatch.setattr(model.scenarios, "SCENARIO_DIR", folder)
    first = spec_scenario({"scenario": "baseline"})
    assert spec_scenario({"scenario": "baseline"}) is first  # parsed once while the file is unchanged
    path = folder / "baseline.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n[overrides.hedge_funds]\nmax_leverage = 3.25\n", encoding="utf-8"
    )
    edited = spec_scenario({"scenario": "baseline"})
    assert edited.config.hedge_funds.max_leverage == 3.25 != first.config.hedge_funds.max_leverage


def test_a_sweep_refuses_a_batch_from_a_worker_with_other_code_and_writes_nothing_of_it(tmp_path, monkeypatch, capsys):
    from experiments.sweeps import load_manifest
    from experiments.sweeps.store import part_files

    fingerprint = runner.code_fingerprint()  # held: an edit of the tree meanwhile must not fail the resume below
    monkeypatch.setattr(runner, "code_fingerprint", lambda: fingerprint)
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP)
    out = tmp_path / "sweep"
    argv = ["sweep", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]
    with monkeypatch.context() as patch:
        _foreign_worker(patch)
        assert main(argv) == 1
    line = _one_line(capsys.readouterr().err)
    assert "other code than this command's" in line and OTHER_CODE in line
    assert load_manifest(out)["code_fingerprint"] == fingerprint and fingerprint in line
    assert part_files(out) == [] and load_manifest(out)["runs_done"] == 0

    assert main([*argv, "--resume"]) == 0  # the same code: the sweep goes on where it stopped
    assert load_manifest(out)["runs_done"] == 2


# -- 2. one command at a time writes an output --------------------------------------------------------------


def _held_by_another(out: Path):
    """The lock of ``out`` as another process holds it: an open file description of its own (flock)."""
    import fcntl

    path = runner.lock_file(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")  # noqa: SIM115
    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    f.write("4242\n")
    f.flush()
    return f


def _refused_while_held(out: Path, argv: list[str], capsys) -> str:
    """Run ``argv`` while another process holds ``out``'s lock: it must exit 1; its one error line."""
    held = _held_by_another(out)
    try:
        assert main(argv) == 1
    finally:
        held.close()
    return _one_line(capsys.readouterr().err)


def test_a_command_refuses_an_output_another_command_is_writing(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "baseline", "risk_off", "--days", "3", "--seeds", "1", "--out", str(out), "--quiet"]
    line = _refused_while_held(out, argv, capsys)
    assert f"another command is writing to {out} (lock {runner.lock_file(out)}, held by process 4242)" in line
    assert not out.exists() and not runner.beside(out).exists()  # nothing written


def test_run_seeds_leaves_a_live_writers_temporary_folders_alone(tmp_path, capsys):
    out = tmp_path / "seeds"
    live = out / ".seed-1.tmp-0123abcd"  # what a running `run --seeds` is writing
    live.mkdir(parents=True)
    argv = ["run", "--scenario", "risk_off", "--seeds", "1-2", "--days", "3", "--out", str(out), "--quiet"]
    assert "another command is writing to" in _refused_while_held(out, argv, capsys)
    assert live.is_dir()  # not removed as "abandoned"


@pytest.mark.parametrize("seeds", [None, "1-2"])
def test_a_run_into_its_default_folder_takes_that_folders_lock_before_looking_at_it(tmp_path, monkeypatch, capsys,
                                                                                    seeds):  # fmt: skip
    """Without --out the folder is chosen by ``run`` itself: its lock is taken there, before the folder is
    checked or a temporary folder in it removed as abandoned (the command line could not lock it)."""
    from experiments.cli import run as run_cli

    out = tmp_path / ("seeds" if seeds else "one")
    monkeypatch.setattr(run_cli, "_default_out", lambda name, flag: out)
    live = out / ".seed-1.tmp-0123abcd"  # what a running `run --seeds` is writing
    if seeds:
        live.mkdir(parents=True)
    argv = ["run", "--scenario", "risk_off", "--days", "3", "--quiet"] + (["--seeds", seeds] if seeds else [])
    assert f"another command is writing to {out}" in _refused_while_held(out, argv, capsys)
    assert live.is_dir() == bool(seeds)  # a live writer's folder is left alone
    assert main(argv) == 0  # the lock released: the run goes ahead (the abandoned folder removed then)
    assert not live.exists() and (out / ("seed-2" if seeds else "summary.json")).exists()


def test_the_lock_is_released_and_removed_and_nests_within_a_process(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with runner.output_lock(out) as path:
        assert path == tmp_path / "a" / "b" / ".out.lock" and path.read_text().strip() == str(os.getpid())
        with runner.resumable(runner.beside(out)):  # the command's checkpoint: the same lock, nested
            assert runner.run_tasks(abs, [-1]) == [1]
        assert path.exists()
    assert not (tmp_path / "a").exists()  # the lock file and the folders made for it are gone
    with runner.output_lock(out):  # free again
        pass


def test_resumable_alone_takes_the_outputs_lock(tmp_path):
    out = tmp_path / "cal.json"
    held = _held_by_another(out)
    try:
        with (
            pytest.raises(runner.OutputBusy, match="another command is writing to"),
            runner.resumable(runner.beside(out)),
        ):
            pass
    finally:
        held.close()


# -- 3. the fingerprint covers code and inputs, not outputs written under the packages ---------------------


def test_outputs_under_experiments_do_not_change_the_code_fingerprint(tmp_path, monkeypatch):
    files = {"model/a.py": "x = 1\n", "experiments/b.py": "y = 1\n", "experiments/specs/s.toml": "a = 1\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(numba_cache, "_ROOT", tmp_path)

    def fingerprint():
        return numba_cache.source_hash(("model", "agents", "experiments"), (".py", ".toml", ".json"), True)

    before = fingerprint()
    outputs = {
        "experiments/calibration/results/risk_index.json": "{}",  # a calibration's record
        "experiments/calibration/results/demo.json.checkpoint/settings.json": "{}",  # its checkpoint
        "experiments/out/sweep/manifest.json": "{}",  # a sweep
        "experiments/out/sweep/spec.toml": "a = 2\n",
        "experiments/out/sweep/sub/x.json": "{}",
        "experiments/out/stopped/design.parquet": "",  # a sweep stopped before its manifest
        "experiments/out/stopped/spec.toml": "a = 4\n",
        "experiments/val.checkpoint/settings.json": "{}",  # a command's checkpoint
        "experiments/val.checkpoint/extra.json": "{}",
        "experiments/ck/settings.json": "{}",  # a checkpoint under another name
        "experiments/runs/seed-1/complete": "",  # a run
        "experiments/runs/seed-1/summary.json": "{}",
        "experiments/specs/.tmp-0123abcd-s.toml": "a = 3\n",  # a writer's temporary file
        "experiments/.hidden.json": "{}",
    }
    for name, text in outputs.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert fingerprint() == before
    (tmp_path / "experiments/specs/s.toml").write_text("a = 2\n")  # source (code_fingerprint skips specs/)
    edited = fingerprint()
    assert edited != before
    (tmp_path / "experiments/b.py").write_text("y = 2\n")  # code
    coded = fingerprint()
    assert coded != edited
    # a package is code whatever it holds: a settings.json beside its __init__.py does not hide it
    for name, text in {"experiments/app/__init__.py": "", "experiments/app/settings.json": "{}"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    packaged = fingerprint()
    assert packaged != coded
    (tmp_path / "experiments/app/__init__.py").write_text("z = 1\n")
    assert fingerprint() != packaged
    # and a .py file counts wherever it lies, an output folder included
    (tmp_path / "experiments/runs/seed-1/helper.py").write_text("w = 1\n")
    assert fingerprint() not in (packaged, before)


def test_a_sweep_written_under_a_package_records_the_fingerprint_its_workers_see(tmp_path, monkeypatch):
    """The sweep's manifest records the code's fingerprint; with --out under experiments/ the folder is
    skipped by the fingerprint once its manifest exists, so the manifest must hold the fingerprint of
    the tree without the sweep's files (spec.toml included), the one every later process computes."""
    from experiments.sweeps import load_manifest, parse_spec
    from experiments.sweeps.store import SweepStore

    where = Path(runner.__file__).parent / f"infra-test-sweep-{os.getpid()}"
    try:
        store = SweepStore(where, parse_spec(SWEEP, "s.toml"))
        store.prepare(resume=False, spec_text=SWEEP)
        assert load_manifest(where)["code_fingerprint"] == runner.code_fingerprint()
        # an attempt killed after its design and specification, before its manifest, then started again
        (where / "manifest.json").unlink()
        shutil.rmtree(where / "runs")
        (where / "spec.toml").write_text(SWEEP + "\n# the killed attempt's\n")
        store.check_target()
        store.prepare(resume=False, spec_text=SWEEP)
        assert load_manifest(where)["code_fingerprint"] == runner.code_fingerprint()
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_the_real_fingerprint_ignores_a_checkpoint_written_under_experiments(tmp_path):
    before = runner.code_fingerprint()
    where = Path(runner.__file__).parent / "calibration" / "results" / f"infra-test-{os.getpid()}.json.checkpoint"
    try:
        with runner.resumable(where, {"command": "test"}) as checkpoint:
            runner.run_tasks(abs, [-1])
            assert checkpoint.stored == 1 and runner.code_fingerprint() == before
            checkpoint.keep()
        assert where.is_dir() and runner.code_fingerprint() == before
    finally:
        runner.shutil.rmtree(where, ignore_errors=True)


# -- 4. a sweep whose every run failed; a damaged numba cache ---------------------------------------------


def _failing_runs(monkeypatch, fail):
    import model.results

    real = model.results.run_simulation
    calls = []

    def run_simulation(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        if fail(len(calls)):
            raise RuntimeError("no runs here")
        return real(*args, **kwargs)

    monkeypatch.setattr(model.results, "run_simulation", run_simulation)
    return calls


def test_a_sweep_whose_every_run_failed_exits_2_in_one_line(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP)
    out = tmp_path / "sweep"
    _failing_runs(monkeypatch, lambda n: True)
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("carry-unwind: error:")]
    assert len(line) == 1 and "every one of the 2 runs of this session failed" in line[0]
    assert "RuntimeError: no runs here" in line[0] and "--resume --retry-failed" in line[0]


def test_a_sweep_where_some_runs_failed_exits_0(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP)
    _failing_runs(monkeypatch, lambda n: n == 1)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "sweep"), "--executor", "serial", "--no-progress"]) == 0
    assert "every one" not in capsys.readouterr().err


def _damaged_cache_error(tmp_path: Path) -> BaseException:
    """An error raised as numba raises it when it reads a truncated cache index (from its caching.py)."""
    fake = tmp_path / "site-packages" / "numba" / "core" / "caching.py"
    fake.parent.mkdir(parents=True)
    code = "import pickle\ndef _load_index():\n    pickle.loads(b'\\x80\\x05K')\n"
    fake.write_text(code)
    namespace: dict = {}
    exec(compile(code, str(fake), "exec"), namespace)
    try:
        namespace["_load_index"]()
    except Exception as exc:
        return exc
    raise AssertionError("expected an error")


def test_a_damaged_numba_cache_is_recognised_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/some/cache/src-0123")
    exc = _damaged_cache_error(tmp_path)
    message = numba_cache.damage_message(exc)
    assert message is not None and "\n" not in message
    assert "in /some/cache/src-0123" in message and "delete that folder" in message and "UnpicklingError" in message
    assert numba_cache.damage_message(pickle.UnpicklingError("elsewhere")) is None  # not from numba's cache
    wrapped = RuntimeError("task failed")
    wrapped.__cause__ = exc
    assert numba_cache.damage_message(wrapped) == message
    # a full disk while numba writes its cache is not damage: deleting the folder would not help
    full = tmp_path / "full" / "numba" / "core" / "caching.py"
    full.parent.mkdir(parents=True)
    code = "import errno\ndef _save_index():\n    raise OSError(errno.ENOSPC, 'No space left on device')\n"
    namespace: dict = {}
    exec(compile(code, str(full), "exec"), namespace)
    with pytest.raises(OSError) as info:
        namespace["_save_index"]()
    assert numba_cache.damage_message(info.value) is None


@pytest.fixture
def damaged_cache(tmp_path, monkeypatch):
    """Every run raises the error numba gives when its cache is damaged."""
    import model.results

    exc = _damaged_cache_error(tmp_path)

    def run_simulation(*args, **kwargs):
        raise exc

    monkeypatch.setattr(model.results, "run_simulation", run_simulation)


def test_run_with_a_damaged_numba_cache_prints_one_line_naming_the_folder(tmp_path, damaged_cache, capsys):
    out = tmp_path / "r"
    assert main(["run", "--scenario", "risk_off", "--days", "3", "--out", str(out), "--quiet"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "numba's cache of compiled kernels in " + os.environ["NUMBA_CACHE_DIR"] in line and "delete" in line


def test_a_sweep_with_a_damaged_numba_cache_stops_in_one_line_and_records_no_rows(tmp_path, damaged_cache, capsys):
    from experiments.sweeps.store import part_files

    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "numba's cache of compiled kernels" in line and "delete that folder" in line
    assert part_files(out) == []  # no error rows for a broken environment


def test_run_tasks_raises_a_damaged_cache_as_one_line_not_as_a_task_failure(tmp_path):
    exc = _damaged_cache_error(tmp_path)

    def fails(_):
        raise exc

    with pytest.raises(numba_cache.CacheDamaged, match="numba's cache of compiled kernels"):
        runner.run_tasks(fails, [1])


# -- 5, 6. provenance ----------------------------------------------------------------------------------------


def test_the_hypotheses_outputs_record_commit_dirty_fingerprint_and_quick(tmp_path, monkeypatch):
    from experiments.analysis import hypotheses_report, hypothesis_draws
    from experiments.analysis.hypotheses import HYPOTHESES, HypothesisResult

    def planted(seeds, runs, quick):
        return HypothesisResult(key="H3", title="t", claim="c", effect_name="e", effect=1.0, ci_low=0.5,
                                ci_high=1.5, verdict="supported", per_seed=[1.0] * len(seeds))  # fmt: skip

    monkeypatch.setitem(HYPOTHESES, "H3", planted)
    monkeypatch.setattr(hypotheses_report, "_figure", lambda r, staging: "")
    monkeypatch.setitem(hypothesis_draws.HYPOTHESES, "H3", planted)
    monkeypatch.setattr(hypothesis_draws, "draws_figure", lambda *a: __import__("matplotlib.figure").figure.Figure())
    from model.results import git_commit

    fingerprint = runner.code_fingerprint()
    hypotheses_report.run_hypotheses(tmp_path / "h", seeds=2, only=["H3"], quick=True)
    verdicts = json.loads((tmp_path / "h" / "verdicts.json").read_text())
    assert verdicts["code_fingerprint"] == fingerprint and verdicts["quick"] is True
    assert verdicts["git_commit"] == git_commit() and "git_dirty" in verdicts
    assert f"code fingerprint `{fingerprint}`), with --quick" in (tmp_path / "h" / "report.md").read_text()

    payload = hypothesis_draws.run_over_draws(tmp_path / "d", [{"hedge_funds.max_leverage": 5.0}], seeds=2,
                                              only=["H3"], quick=False)  # fmt: skip
    written = json.loads((tmp_path / "d" / "draws.json").read_text())
    assert written["code_fingerprint"] == payload["code_fingerprint"] == fingerprint and written["quick"] is False
    assert written["git_commit"] == git_commit() and "git_dirty" in written
    assert f"code fingerprint `{fingerprint}`)." in (tmp_path / "d" / "draws.md").read_text()


@pytest.mark.parametrize(
    "porcelain, dirty",
    [
        ("", False),
        ("?? out/baseline/summary.json\0?? sweeps_here/tiny/design.parquet\0?? notebooks/mine.ipynb\0", False),
        ("?? experiments/calibration/results/refit.json\0", False),  # a command's output folder in a package
        ("?? experiments/new_rule.py\0", True),  # untracked code
        ("?? model/scenarios/mine.toml\0", True),  # an untracked scenario: behaviour
        (" M README.md\0", True),  # any tracked file changed
        ("R  agents/a.py\0agents/b.py\0", True),
    ],
)
def test_git_dirty_counts_changed_code_not_outputs_written_into_the_checkout(monkeypatch, porcelain, dirty):
    import subprocess

    import model.results

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=porcelain))
    assert model.results.git_dirty() is dirty


def test_a_sweeps_manifest_records_whether_the_tree_was_dirty(tmp_path, monkeypatch):
    import model.results
    from experiments.sweeps import load_manifest, parse_spec, run_sweep

    monkeypatch.setattr(model.results, "git_commit", lambda: "abc123")
    monkeypatch.setattr(model.results, "git_dirty", lambda: True)
    run_sweep(parse_spec(SWEEP, "s.toml"), tmp_path / "sweep", executor="serial", progress=False)
    manifest = load_manifest(tmp_path / "sweep")
    assert manifest["git_commit"] == "abc123" and manifest["git_dirty"] is True


def test_a_lock_whose_holder_has_not_written_its_pid_is_still_a_one_line_refusal(tmp_path):
    """The holder writes its process id just after it locks: a lock file still empty names no process."""
    import fcntl

    out = tmp_path / "o"
    path = runner.lock_file(out)
    with open(path, "a+") as held:  # locked, nothing written yet
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(runner.OutputBusy) as info, runner.output_lock(out):
            pass
    assert str(info.value) == (
        f"another command is writing to {out} (lock {path}); wait for it to finish, or choose another output"
    )


def test_a_script_stopped_by_another_writer_says_so_in_one_line_without_a_traceback(tmp_path):
    """The analysis and calibration scripts take the lock through ``resumable``; they do not catch its
    refusal, which is a ``SystemExit``: Python prints its line and exits with status 1. Handlers of
    ``Exception`` pass it by."""
    import fcntl
    import subprocess
    import sys

    assert issubclass(runner.OutputBusy, SystemExit) and issubclass(runner.CodeMismatch, SystemExit)
    with pytest.raises(runner.OutputBusy):
        try:
            raise runner.OutputBusy("busy")
        except Exception:  # noqa: BLE001 - what a run's error handler does
            pytest.fail("an Exception handler caught the refusal")
    out = tmp_path / "replay"
    with open(runner.lock_file(out), "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = subprocess.run([sys.executable, "-m", "experiments.analysis.replay", "--seeds", "2", "--out", str(out)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"another command is writing to {out} (lock {runner.lock_file(out)}); wait for it to finish, or choose "
        "another output"
    )
