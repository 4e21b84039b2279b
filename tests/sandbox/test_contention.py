"""Deadlines and a busy machine: time a child spent waiting for a CPU a classmate held is not its fault."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from grader.engine.sandbox import isolation
from grader.engine.sandbox.channel import FairDeadline

HOG = "import time\nwhile True:\n    pass\n"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def two_hogs_on_one_cpu():
    """Two busy processes sharing one CPU: each waits on the run queue while the other runs."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/schedstat"):
        pytest.skip("this kernel keeps no scheduler statistics (/proc/PID/task/TID/schedstat)")
    cpu = min(os.sched_getaffinity(0))
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(2)]
    try:
        for hog in hogs:
            os.sched_setaffinity(hog.pid, {cpu})
        for _ in range(2000):  # bounded: at most 20 s of polling
            if _cpu_seconds(hogs[0].pid) >= 0.3:
                break
            time.sleep(0.01)
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_waiting_for_the_cpu_is_measured_and_moves_a_deadline(two_hogs_on_one_cpu):
    first = two_hogs_on_one_cpu[0].pid
    assert _cpu_seconds(first) >= 0.3
    assert isolation.run_queue_seconds([first]) > 0.1  # its twin held the CPU about half the time
    deadline = FairDeadline(time.monotonic() - 2.0, 1.0, lambda: [first])  # passed a second ago
    for _ in range(2000):  # let it wait some more on the run queue
        if isolation.run_queue_seconds([first]) > deadline.waited + 0.2:
            break
        time.sleep(0.01)
    before = deadline.at
    assert deadline.move_for_contention()
    assert deadline.at > before and 0 < deadline.moved <= deadline.limit


def test_a_deadline_moves_at_most_by_its_own_length(two_hogs_on_one_cpu):
    first = two_hogs_on_one_cpu[0].pid
    deadline = FairDeadline(time.monotonic() - 10.0, 0.05, lambda: [first])
    deadline.waited = 0.0  # as if it had waited all its life during this deadline
    assert deadline.move_for_contention() and deadline.moved == pytest.approx(0.05)
    assert not deadline.move_for_contention()
