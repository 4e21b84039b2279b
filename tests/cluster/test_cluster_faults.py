"""Faults on a local cluster, with real SIGKILL: a worker killed mid-batch, the driver killed and the
same command run again, a task that kills every worker it runs on.

What must hold: every submission graded exactly once, no sandbox child left behind, and a task
that kills its workers ends as a grader error (the next run grades it again). Each wait is bounded
by what it waits for (a count of gradings, a process gone), with a generous ceiling that only
stops a hung test; nothing asserts how long anything took.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CEILING_S = 300        # only for a hung run: every wait below ends when its condition holds


def _grade_command(classroom, folder: Path, out: Path) -> list[str]:
    limits = [arg for name, value in classroom.LIMITS.items() for arg in ("--limit", f"{name}={value}")]
    return [sys.executable, "-m", "grader.cli", "grade", str(classroom.ASSIGNMENT), str(folder), "--out", str(out),
            "--cluster", "local:2", "--no-progress", *limits]


def _start(command: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, what: str):
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def _busy_worker(classroom, driver: int):
    """A Dask worker process under ``driver`` that is running a sandbox child: (pid, its descendants)."""
    spawned = [pid for pid in classroom.descendants(driver) if "spawn_main" in classroom.cmdline(pid)]
    for pid in spawned:       # a nanny is spawned too: the worker is the spawned process with none below it
        below = classroom.descendants(pid)
        if below and not set(below) & set(spawned):
            return pid, below
    return None


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=CEILING_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def test_a_worker_killed_mid_batch_loses_nothing_and_grades_each_submission_once(tmp_path, sandbox_mode,
                                                                                classroom):
    paths = classroom.write_slow_class(tmp_path / "class", count=4)
    out = tmp_path / "out"
    driver = _start(_grade_command(classroom, tmp_path / "class", out))
    try:
        worker, its_processes = _wait_for(lambda: _busy_worker(classroom, driver.pid), "a worker grading")
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: not classroom.alive(its_processes) or None, "the killed worker's sandbox children to end")
    finally:
        code, stdout, stderr = _finish(driver)
    assert code == 0, stderr[-3000:]
    assert classroom.gradings_per_submission(out / "gradebook.db") == {p.stem: 1 for p in paths}
    assert "4 graded now" in stdout
    assert classroom.alive(classroom.descendants(driver.pid)) == []


def test_the_driver_killed_and_run_again_grades_each_submission_once(tmp_path, sandbox_mode, classroom):
    paths = classroom.write_slow_class(tmp_path / "class", count=4)
    out = tmp_path / "out"
    command = _grade_command(classroom, tmp_path / "class", out)
    driver = _start(command)
    try:
        _wait_for(lambda: sum(classroom.gradings_per_submission(out / "gradebook.db").values()) >= 1,
                  "a first grading recorded")
        everything = classroom.descendants(driver.pid)     # the cluster and the sandbox children under it
        driver.kill()                                       # SIGKILL
        _finish(driver)
    finally:
        if driver.poll() is None:
            driver.kill()
    _wait_for(lambda: not classroom.alive(everything) or None, "the killed driver's cluster to end")
    first = classroom.gradings_per_submission(out / "gradebook.db")
    assert 1 <= sum(first.values()) < len(paths) and set(first.values()) == {1}

    code, stdout, stderr = _finish(_start(command))          # the same command again
    assert code == 0, stderr[-3000:]
    assert classroom.gradings_per_submission(out / "gradebook.db") == {p.stem: 1 for p in paths}
    assert f"{len(paths) - sum(first.values())} graded now, {sum(first.values())} unchanged" in stdout
