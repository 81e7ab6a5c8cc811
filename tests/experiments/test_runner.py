"""The parallel runner: results in task order and the same whatever the executor; failures say which task."""

from __future__ import annotations

import math
import os

import pytest

from experiments.runner import EXECUTORS, TaskFailed, make_pool, run_tasks


def test_serial_results_are_in_task_order():
    assert run_tasks(abs, range(-5, 5)) == [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]
    assert run_tasks(abs, []) == []


def test_local_processes_give_the_serial_results_in_order_with_one_numba_thread():
    tasks = [float(x) for x in range(40, 0, -1)]
    assert run_tasks(math.sqrt, tasks, workers=2) == run_tasks(math.sqrt, tasks, executor="serial")
    # the workers pin numba to one thread before anything imports it
    assert run_tasks(os.getenv, ["NUMBA_NUM_THREADS"] * 3, workers=2) == ["1", "1", "1"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_is_reported_with_its_index_and_cause(workers):
    with pytest.raises(TaskFailed) as info:
        run_tasks(math.sqrt, [4.0, 9.0, -1.0, 16.0], workers=workers)
    assert info.value.index == 2
    assert isinstance(info.value.__cause__, ValueError)


def test_an_unknown_executor_is_refused():
    # the one line names every executor there is
    listed = ", ".join(EXECUTORS)
    with pytest.raises(ValueError, match=rf"^executor = 'threads' is not allowed; expected one of {listed}$"):
        make_pool("threads", 1)
