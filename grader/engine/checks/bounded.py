"""Checks of student text, run in a worker process under a CPU-time limit.

A symbolic answer is read by the whitelisting parser and compared with sympy
and mpmath. The parser bounds what it builds (:mod:`grader.engine.checks.mathparse`),
but sympy's work on a bounded expression is still not something we can prove
small, and big-integer arithmetic holds the GIL: run in a grading thread, one
slow answer stalls every other thread's wall-clock deadlines, and classmates
graded alongside lose points for it. So checks whose class says
``runs_in_worker`` run here instead, in a separate process (a
:mod:`grader.engine.checks.worker`) with a CPU-time limit per check. The grading
thread only waits on a pipe, which releases the GIL.

Only plain data crosses: the check's spec, the student's answer when it is a
string, a number, a bool or None, and the expected value, as JSON; the reply
is JSON read back and validated field by field (never unpickled). An answer
that runs past the budget gets zero for that case with a message saying so;
the worker is replaced and the next check starts from a fresh one.

Workers are kept between checks (starting one imports sympy: about a second
of CPU) in a small pool, one per grading thread at most.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .base import Check, CheckResult, ExpectedValueError

__all__ = ["CHECK_CPU_SECONDS", "check_bounded", "shutdown_workers"]

#: CPU seconds one check of student text may use (the kernel ends it at the next whole second).
CHECK_CPU_SECONDS = 5.0
#: A backstop on a machine so loaded that a worker gets no CPU at all: far above any real check.
_WALL_SECONDS = 120.0
_MAX_REPLY_BYTES = 1 << 20
_MAX_TEXT = 8000
_MAX_DATA_VALUES = 2000
_MAX_SHIPPED_TEXT = 100_000  # longer answers are refused by every check's length limit, here
_PLAIN_ANSWER = (str, int, float, bool, type(None))


def check_bounded(check: Check, got: Any, expected: Any, *, cpu_seconds: float = CHECK_CPU_SECONDS) -> CheckResult:
    """``check.check(got, expected)``, in a worker process when the check reads student text.

    Checks that do not say ``runs_in_worker``, and answers that are not plain
    scalars (no parser reads them, so they fail fast), are checked here.
    Raises :class:`ExpectedValueError` as ``check`` would.
    """
    if (not getattr(check, "runs_in_worker", False) or type(got) not in _PLAIN_ANSWER
            or (isinstance(got, str) and len(got) > _MAX_SHIPPED_TEXT)):  # refused by length at once
        return check.check(got, expected)
    request = {"spec": check.to_spec(), "got": got, "expected": expected, "cpu": float(cpu_seconds)}
    try:
        line = json.dumps(request, allow_nan=False) + "\n"
    except (TypeError, ValueError):  # nan/inf answers, or an int too long to write: no parser reads them
        return check.check(got, expected)
    worker = None
    try:
        worker = _POOL.take()
        reply = worker.ask(line, _WALL_SECONDS + cpu_seconds)
    except (_WorkerDied, _WorkerStalled, OSError) as exc:
        if worker is None:  # the worker itself could not start: our fault, not the answer's
            return CheckResult(0.0, "the grader could not start the check of this answer (internal error); "
                                    "please report this to the course staff",
                               data={"internal_error": f"check worker: {type(exc).__name__}", "reason": "internal"})
        _POOL.discard(worker)
        if not isinstance(exc, _WorkerDied):
            return CheckResult(
                0.0, "this answer could not be checked: the grading machine did not give its check any time; "
                "please tell your instructor", data={"reason": "stalled", "internal_error": "stalled"})
        return CheckResult(
            0.0,
            f"checking this answer used more than {cpu_seconds:g} s of computing time, the limit for one "
            "answer; write it in a simpler form (smaller numbers, fewer nested functions)",
            data={"reason": "cpu_budget", "cpu_seconds": cpu_seconds},
        )
    _POOL.give_back(worker)
    return _result_from(reply)


def shutdown_workers() -> None:
    """End the idle workers (they end by themselves when the grader exits, too)."""
    _POOL.close()


# --------------------------------------------------------------------------
# Reading a worker's reply (JSON it wrote; its text comes from a student's answer)
# --------------------------------------------------------------------------


class _BadReply(Exception):
    pass


def _result_from(raw: bytes) -> CheckResult:
    try:
        reply = json.loads(raw)
        if not isinstance(reply, dict):
            raise _BadReply("not an object")
        if "expected_error" in reply:
            raise ExpectedValueError(_text(reply["expected_error"]))
        if reply.get("out_of_memory"):
            return CheckResult(0.0, "checking this answer ran out of memory; write it in a simpler form",
                               data={"reason": "memory"})
        fraction = reply.get("fraction")
        if type(fraction) not in (int, float) or not math.isfinite(fraction):
            raise _BadReply("no fraction")
        data = reply.get("data")
        if not isinstance(data, dict):
            raise _BadReply("no data")
        _check_plain(data, [0], 0)
        return CheckResult(float(fraction), _text(reply.get("message")), _text(reply.get("detail")), data)
    except (ValueError, _BadReply, RecursionError) as exc:
        if isinstance(exc, ExpectedValueError):
            raise
        return CheckResult(0.0, "the grader could not read its own check of this answer (internal error); "
                                "please report this to the course staff",
                           data={"internal_error": "check worker reply", "reason": "internal"})


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadReply("not text")
    return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + " ... (truncated)"


def _check_plain(value: Any, count: list[int], depth: int) -> None:
    count[0] += 1
    if count[0] > _MAX_DATA_VALUES or depth > 8:
        raise _BadReply("data too large")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(v, count, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_plain(v, count, depth + 1)
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise _BadReply("data text too long")
    elif value is not None and type(value) not in (int, float, bool):
        raise _BadReply("data not plain")


# --------------------------------------------------------------------------
# The workers
# --------------------------------------------------------------------------


class _WorkerDied(Exception):
    pass


class _WorkerStalled(Exception):
    pass


def _package_root() -> str:
    """The folder holding the ``grader`` package: the checks worker's PYTHONPATH."""
    import grader

    return str(Path(grader.__file__).resolve().parent.parent)


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
        env["OMP_NUM_THREADS"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader.engine.checks.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True, start_new_session=True,
        )
        self._buffer = b""
        self._read_line(_WALL_SECONDS)  # {"ready": pid}

    def ask(self, line: str, wall_seconds: float) -> bytes:
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _WorkerDied from None
        return self._read_line(wall_seconds)

    def _read_line(self, wall_seconds: float) -> bytes:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + wall_seconds
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _WorkerStalled
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _WorkerDied
            self._buffer += chunk
            if len(self._buffer) > _MAX_REPLY_BYTES:
                raise _WorkerDied
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    """Idle workers; a thread takes one, uses it alone, and gives it back (or discards it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._pid = os.getpid()

    def take(self) -> _Worker:
        with self._lock:
            if self._pid != os.getpid():  # a forked copy of the grader does not share our workers
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                worker = self._idle.pop()
                if worker.proc.poll() is None:
                    return worker
                worker.close()
        return _Worker()

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def discard(self, worker: _Worker) -> None:
        worker.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_POOL = _Pool()
atexit.register(shutdown_workers)
