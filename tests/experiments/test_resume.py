"""Long commands resume where they stopped (experiments.runner.resumable around run_tasks)."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from experiments import runner as ck
from experiments.runner import TaskFailed, run_tasks
from model import numba_cache

CALLS: list[int] = []  # the tasks flaky() computed in this process
FAIL_AT: list[int] = []  # the task flaky() fails on, if any


def flaky(task: int) -> int:
    if task in FAIL_AT:
        raise RuntimeError(f"killed at task {task}")
    CALLS.append(task)
    return 2 * task


def usdjpy_path(seed: int) -> np.ndarray:
    """A short run's USD/JPY closes (module level: it goes to worker processes)."""
    from model.model import CarryUnwindModel

    m = CarryUnwindModel(seed=seed, collect=False, simulation__days=15, simulation__max_agent_views=0)
    m.run_for(15)
    return np.asarray(m.series("usdjpy"))


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    FAIL_AT.clear()
    yield
    CALLS.clear()
    FAIL_AT.clear()


def test_an_interrupted_command_runs_only_what_is_left(tmp_path):
    where = tmp_path / "out.json.checkpoint"
    FAIL_AT.append(3)
    with pytest.raises(TaskFailed), ck.resumable(where):
        run_tasks(flaky, range(6))
    assert CALLS == [0, 1, 2]
    assert len(list(where.glob("*.pkl"))) == 3  # kept after the failure
    CALLS.clear()
    FAIL_AT.clear()
    with ck.resumable(where) as checkpoint:
        assert run_tasks(flaky, range(6)) == [0, 2, 4, 6, 8, 10]
        assert checkpoint.found == 3 and checkpoint.stored == 3
    assert CALLS == [3, 4, 5]  # the first three were read back, not run again
    assert not where.exists()  # let go once the command finished


def test_outside_a_resumable_block_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_tasks(flaky, range(3)) == [0, 2, 4]
    assert ck.active_checkpoint() is None and list(tmp_path.iterdir()) == []
    with ck.resumable(None) as checkpoint:
        assert checkpoint is None and run_tasks(flaky, range(3)) == [0, 2, 4]
    assert CALLS == [0, 1, 2, 0, 1, 2]


def test_resumed_results_are_the_uninterrupted_ones_bit_for_bit(tmp_path):
    """Two seeds computed before the interruption, the rest by two worker processes after it."""
    seeds = [1, 2, 3, 4]
    fresh = run_tasks(usdjpy_path, seeds)
    where = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt), ck.resumable(where):
        run_tasks(usdjpy_path, seeds[:2])
        raise KeyboardInterrupt
    with ck.resumable(where) as checkpoint:
        resumed = run_tasks(usdjpy_path, seeds, workers=2)
        assert checkpoint.found == 2 and checkpoint.stored == 2
    for a, b in zip(fresh, resumed, strict=True):
        assert a.tobytes() == b.tobytes()


def test_a_result_is_found_only_for_the_same_task_and_code(tmp_path):
    checkpoint = ck.Checkpoint(tmp_path)
    key = checkpoint.key(flaky, 1)
    assert key == checkpoint.key(flaky, 1)
    assert key != checkpoint.key(flaky, 2)
    assert key != checkpoint.key(usdjpy_path, 1)
    assert key != checkpoint.key(flaky, 1.0)  # another argument, though equal
    checkpoint.fingerprint += " edited"  # the code changed since the result was stored
    assert checkpoint.key(flaky, 1) != key


def test_an_unreadable_result_is_computed_again(tmp_path, caplog):
    where = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt), ck.resumable(where):
        run_tasks(flaky, [1, 2])
        raise KeyboardInterrupt
    checkpoint = ck.Checkpoint(where)
    (where / f"{checkpoint.key(flaky, 2)}.pkl").write_bytes(b"\x80\x05 truncated")
    CALLS.clear()
    with caplog.at_level(logging.WARNING, logger="experiments.runner"), ck.resumable(where):
        assert run_tasks(flaky, [1, 2]) == [2, 4]
    assert CALLS == [2]
    assert "unreadable" in caplog.text


def test_a_task_that_cannot_be_pickled_is_always_run(tmp_path):
    where = tmp_path / "checkpoint"
    with ck.resumable(where) as checkpoint:
        assert run_tasks(lambda x: x + 1, [1, 2]) == [2, 3]
        assert checkpoint.key(lambda x: x, 1) is None
        assert checkpoint.stored == 0


def test_results_are_written_whole(tmp_path):
    where = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt), ck.resumable(where):
        run_tasks(flaky, [5])
        raise KeyboardInterrupt
    (path,) = where.iterdir()  # no temporary file left beside it
    assert path.suffix == ".pkl" and pickle.loads(path.read_bytes()) == 10


def test_where_the_checkpoint_goes():
    assert str(ck.beside("out/cycle.json")) == "out/cycle.json.checkpoint"
    assert str(ck.beside("out/hypotheses")) == "out/hypotheses.checkpoint"
    assert ck.beside("") is None and ck.beside(None) is None and ck.beside("-") is None


def test_the_fingerprint_sees_code_and_data_but_not_caches(tmp_path, monkeypatch):
    for name, text in {"model/a.py": "x = 1\n", "experiments/sub/s.toml": "a = 1\n",
                       "experiments/.hidden/r.json": "{}", "experiments/__pycache__/b.py": "",
                       "experiments/notes.txt": "?"}.items():  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(numba_cache, "_ROOT", tmp_path)

    def fingerprint():
        return numba_cache.source_hash(("model", "experiments"), (".py", ".toml", ".json"), True)

    before = fingerprint()
    (tmp_path / "experiments/sub/s.toml").write_text("a = 2\n")  # a scenario file: a result may depend on it
    edited = fingerprint()
    assert edited != before
    for name in ("experiments/.hidden/r.json", "experiments/__pycache__/b.py", "experiments/notes.txt"):
        (tmp_path / name).write_text("changed")
    assert fingerprint() == edited
    # the default (the numba cache's key) still reads only the top-level .py files of model/ and agents/
    (tmp_path / "model/sub").mkdir()
    (tmp_path / "model/sub/c.py").write_text("y = 2\n")
    (tmp_path / "agents").mkdir()
    import hashlib

    h = hashlib.sha1()
    h.update(b"a.py")
    h.update(b"x = 1\n")
    assert numba_cache.source_hash() == h.hexdigest()[:12]


def test_a_command_keeps_its_runs_beside_its_output_until_it_finishes(tmp_path, monkeypatch):
    """`carry-unwind compare`: its runs go to DIR.checkpoint; the same command again reads them back
    instead of running them, writes the same table, and removes the checkpoint."""
    from experiments.cli.entry import main

    out = tmp_path / "cmp"
    argv = ["compare", "baseline", "risk_off", "--days", "20", "--seeds", "1-2", "--out", str(out), "--quiet"]
    with monkeypatch.context() as patch:
        patch.setattr(ck.shutil, "rmtree", lambda *a, **k: None)  # as if killed just before the end
        assert main(argv) == 0
    first = (out / "compare.csv").read_bytes()
    where = tmp_path / "cmp.checkpoint"
    assert len(list(where.glob("*.pkl"))) == 4  # two arms x two seeds
    hits = []
    load = ck.Checkpoint.load

    def counted(self, key):
        found, value = load(self, key)
        hits.append(found)
        return found, value

    monkeypatch.setattr(ck.Checkpoint, "load", counted)
    assert main(argv) == 0
    assert hits == [True] * 4
    assert (out / "compare.csv").read_bytes() == first
    assert not where.exists()
