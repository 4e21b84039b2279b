"""The parent's end of one child's pipes: requests encoded, frames read by a deadline, replies checked.

Nothing the child sends is unpickled or evaluated: frames are validated by
:mod:`grader.engine.sandbox.child.wire`, and every reply or cell report
that is not as expected is a :class:`wire.WireError`, never a crash.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from typing import Any, Callable

from grader.engine.sandbox import procfs
from grader.engine.sandbox.cgroups import ChildCgroup
from grader.engine.sandbox.child import wire
from grader.engine.sandbox.types import CHILD_KINDS, CellReport, Reply, SlotRef

MAX_ERROR_CHARS = 4000


def _special(value: Any):
    if isinstance(value, SlotRef):
        return {"__slot__": [value.slot, value.index]}
    return None


def encode_request(body: Any) -> tuple[Any, list]:
    """A request's body as wire data and its arrays; TypeError naming what cannot be sent."""
    try:
        return wire.encode(body, tuples=True, special=_special)
    except wire.Unsupported as exc:
        raise TypeError(exc.describe("a request argument is")) from None


def clean_error(value: Any) -> str | None:
    """An error message from the child as a string of at most MAX_ERROR_CHARS (and a mark if cut)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " ... (truncated)"


class FairDeadline:
    """A wall-clock deadline that moves by the time the child spent waiting for a CPU a classmate held.

    Wall time alone would blame a submission for a busy machine: when the
    deadline passes while the child's processes waited on the run queue, the
    deadline moves by that wait, up to ``limit`` seconds in all (so a
    deadline never stretches past twice its length).
    """

    def __init__(self, started: float, limit: float, members: Callable[[], list[int]]) -> None:
        self.at = started + limit
        self.limit = limit
        self.members = members  # () -> the pids of the child's processes
        self.moved = 0.0
        self.waited = procfs.run_queue_seconds(members())

    def move_for_contention(self) -> bool:
        """After the deadline passed: move it by the new run-queue wait; False if there is none to move by."""
        if self.moved >= self.limit:
            return False
        waited = procfs.run_queue_seconds(self.members())
        extra = min(waited - self.waited, self.limit - self.moved)
        self.waited = waited
        if extra < 0.05 * self.limit:
            return False
        self.at = max(self.at, time.monotonic()) + extra
        self.moved += extra
        return True


class ChildChannel:
    """One started child process, its request and reply pipes, and a pidfd that says when it ended."""

    def __init__(self, proc: subprocess.Popen, req_w: int, rep_r: int) -> None:
        self.proc = proc
        self.req_w = req_w
        self.rep_r = rep_r
        self.next_id = 1
        try:
            self.pidfd: int | None = os.pidfd_open(proc.pid)
        except (OSError, AttributeError):
            self.pidfd = None

    def close_fds(self) -> None:
        for name in ("req_w", "rep_r", "pidfd"):
            fd = getattr(self, name)
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, -1 if name != "pidfd" else None)

    def read(self, deadline: float, max_bytes: int) -> tuple[dict, bytes]:
        """One frame by ``deadline`` (time.monotonic()); FrameTimeout, FrameEOF or WireError else."""
        return wire.read_frame(self.rep_r, deadline=deadline, max_bytes=max_bytes, pidfd=self.pidfd)

    def members(self, cgroup: ChildCgroup | None) -> Callable[[], list[int]]:
        """A function listing the child's processes: its control group's, cheap and exact; else /proc's tree
        (read at the deadline only: at the start the child's own threads stand for it)."""
        if cgroup is not None:
            return cgroup.pids_inside
        started = [False]

        def members() -> list[int]:
            if not started[0]:
                started[0] = True
                return [self.proc.pid]
            return procfs.process_tree(self.proc.pid)

        return members

    def read_fair(self, deadline: FairDeadline, max_bytes: int) -> tuple[dict, bytes]:
        """Read a frame by ``deadline``, moved while the child waited for a CPU (see :class:`FairDeadline`)."""
        poller = select.poll()
        poller.register(self.rep_r, select.POLLIN | select.POLLHUP | select.POLLERR)
        if self.pidfd is not None:
            poller.register(self.pidfd, select.POLLIN)
        while True:
            remaining = deadline.at - time.monotonic()
            if remaining > 0 and poller.poll(max(1, int(remaining * 1000))):
                return self.read(deadline.at, max_bytes)  # a frame (or the end) is coming: the old rules
            if time.monotonic() >= deadline.at and not deadline.move_for_contention():
                raise wire.FrameTimeout("the deadline passed")


def decode_reply(message: dict, blob: bytes, rid: int, index: int, seconds: float, reply_bytes: int) -> Reply:
    """The ``index``-th reply to request ``rid``, checked; its arrays read within ``reply_bytes``."""
    if message.get("t") != "reply" or message.get("id") != rid or message.get("i") != index:
        raise wire.WireError("a reply out of sequence")
    kind = message.get("kind")
    if kind not in CHILD_KINDS:
        raise wire.WireError(f"a reply of unknown kind {str(kind)[:40]!r}")
    error = message.get("error")
    if error is not None and not isinstance(error, str):
        raise wire.WireError("a reply whose error is not a string")
    if kind == "ok":
        try:
            value = wire.decode(message.get("value"), wire.load_arrays(blob, reply_bytes))
        except wire.WireError:
            raise
        except Exception as exc:  # nothing the child sends may crash the parent
            raise wire.WireError(f"an undecodable reply ({type(exc).__name__})") from None
        return Reply(True, value, None, "ok", round(seconds, 6))
    if blob:
        raise wire.WireError("a failed reply carrying data")
    return Reply(False, None, clean_error(error) or kind, kind, round(seconds, 6))


def int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None


def cell_report(data: dict) -> CellReport:
    """A notebook cell's report from the child, checked."""
    index = int_or_none(data.get("index"))
    if index is None or type(data.get("ok")) is not bool:
        raise wire.WireError("a malformed cell report")
    notes = data.get("notes") or []
    if not isinstance(notes, list):
        notes = []
    return CellReport(index, data["ok"], clean_error(data.get("error")),
                      [str(n)[:300] for n in notes[:50] if isinstance(n, str)])
