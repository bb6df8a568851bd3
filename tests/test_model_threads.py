"""model/threads.py: a turn takes the cores other processes leave free."""

import pytest

from dialogqa.model import threads

torch = pytest.importorskip("torch")


def test_free_cores_counts_other_processes_only(monkeypatch):
    monkeypatch.setattr(threads, "own_running", lambda: 2)  # our main thread and a spinning worker
    monkeypatch.setattr(threads, "runnable_tasks", lambda: 2)
    assert threads.free_cores(2) == 2
    monkeypatch.setattr(threads, "runnable_tasks", lambda: 3)  # one busy loop elsewhere
    assert threads.free_cores(2) == 1
    monkeypatch.setattr(threads, "runnable_tasks", lambda: 12)
    assert threads.free_cores(2) == 1  # never fewer than one


def test_a_task_that_only_passes_by_is_not_a_busy_core(monkeypatch):
    reads = iter([3, 1, 3])
    monkeypatch.setattr(threads, "own_running", lambda: 1)
    monkeypatch.setattr(threads, "runnable_tasks", lambda: next(reads))
    assert threads.free_cores(2) == 2


def test_without_proc_every_core_is_used(monkeypatch):
    monkeypatch.setattr(threads, "runnable_tasks", lambda: None)
    assert threads.free_cores(4) == 4


def test_own_running_counts_this_thread():
    assert threads.own_running() >= 1


def test_turn_threads_follows_the_free_cores_unless_fixed(monkeypatch):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        free = iter([1, 2])
        monkeypatch.setattr(threads, "free_cores", lambda cores=None: next(free))
        chooser = threads.TurnThreads()
        assert chooser.apply() == 1 and torch.get_num_threads() == 1
        assert chooser.apply() == 2 and torch.get_num_threads() == 2
        fixed = threads.TurnThreads(fixed=1)
        assert fixed.apply() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
