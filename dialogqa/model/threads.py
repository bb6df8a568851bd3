"""How many torch threads a turn gets: the cores free right now, chosen again every turn.

A 135M model decodes in ~130 small parallel regions a token. With two threads every region
ends at a barrier, and when another process takes one of the two cores the worker is
descheduled for a whole time slice at a time: a turn got 6.5x slower with one busy-loop
running (issue 16). One thread has no barrier to wait at. So before each turn the model
counts the cores nobody else is running on (``free_cores``) and uses that many threads, at
most the number it started with; a quiet machine keeps every core.
"""

from __future__ import annotations

import os
import time

SAMPLES = 3  # /proc/loadavg reads, 0.5 ms apart: a task that only passes by is not a busy core


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def runnable_tasks() -> int | None:
    """Tasks running or waiting for a core right now, machine-wide (this thread included),
    from /proc/loadavg ("0.50 0.40 0.30 2/512 1234"); None where there is no such file."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def own_running() -> int:
    """This process's threads running or runnable now (an OpenMP worker still spinning after
    the last parallel region counts here, not as another task)."""
    n = 0
    try:
        for task in os.scandir("/proc/self/task"):
            try:
                with open(f"{task.path}/stat", "rb") as f:
                    n += f.read().rsplit(b")", 1)[1].split()[0] == b"R"
            except (OSError, IndexError):
                pass
    except OSError:
        return 1
    return max(1, n)


def free_cores(cores: int | None = None) -> int:
    """Cores this process could run on without waiting for another task: its usable cores
    less the tasks of other processes runnable now (the fewest of a few quick reads)."""
    cores = cores or usable_cores()
    others = None
    for i in range(SAMPLES):
        if i:
            time.sleep(0.0005)
        n = runnable_tasks()
        if n is None:
            return cores
        seen = max(0, n - own_running())
        others = seen if others is None else min(others, seen)
    return max(1, cores - (others or 0))


class TurnThreads:
    """Sets torch's thread count before a turn: ``most`` threads when that many cores are
    free, fewer when other tasks hold some. ``fixed``: always that many (DIALOGQA_THREADS)."""

    def __init__(self, most: int | None = None, fixed: int | None = None):
        import torch

        self.fixed = fixed
        self.most = fixed or most or torch.get_num_threads()
        self.current = torch.get_num_threads()

    def choose(self) -> int:
        if self.fixed:
            return self.fixed
        return min(self.most, free_cores())

    def apply(self) -> int:
        import torch

        n = self.choose()
        if n != self.current:
            torch.set_num_threads(n)
            self.current = n
        return n
