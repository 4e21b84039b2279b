"""The one reader of /proc in the parent: who a process is, its children, its waits for a CPU.

Linux only. A process that ends while it is read is skipped, never an
error. (The child's runtime reads its own /proc/self/status itself: it may
import nothing of the grader.)
"""

from __future__ import annotations

import os


def pids() -> list[int]:
    """Every process on the machine (as far as this /proc shows them); raises OSError without /proc."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def status(pid: int | str) -> dict[bytes, list[bytes]] | None:
    """The fields of /proc/PID/status, each as its words (``{b"Uid": [b"0", b"0", b"0", b"0"]}``), or None."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = {}
    for line in text.split(b"\n"):
        name, colon, rest = line.partition(b":")
        if colon:
            fields[name] = rest.split()
    return fields


def status_uids(pid: int | str, include_zombies: bool = True) -> list[int] | None:
    """The real, effective and saved uid of ``pid``; None if it is gone (or a zombie, unless included)."""
    fields = status(pid)
    if fields is None:
        return None
    state = fields.get(b"State") or [b""]
    if not include_zombies and b"Z" in state[0]:
        return None
    words = fields.get(b"Uid")
    return [int(x) for x in words[:3]] if words else None


def processes_of_uid(uid: int, *, include_zombies: bool = True) -> list[int]:
    """Pids of the processes whose real, effective or saved uid is ``uid``."""
    found = []
    for pid in pids():
        uids = status_uids(pid, include_zombies)
        if uids is not None and uid in uids:
            found.append(pid)
    return found


def threads_of_uid(uid: int) -> int:
    """How many threads (tasks, as RLIMIT_NPROC counts them) run with the real uid ``uid``."""
    try:
        every = pids()
    except OSError:
        return 0
    count = 0
    for pid in every:
        fields = status(pid)
        if fields is None or not fields.get(b"Uid"):
            continue
        if int(fields[b"Uid"][0]) == uid:
            threads = fields.get(b"Threads")
            count += int(threads[0]) if threads else 1
    return count


def children_map() -> dict[int, list[int]]:
    """{parent pid: [child pids]} over the whole machine, from /proc/PID/stat."""
    children: dict[int, list[int]] = {}
    try:
        every = pids()
    except OSError:
        return children
    for pid in every:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(pid)
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, parents first."""
    children = children_map()
    found, frontier = [pid], [pid]
    while frontier:
        for child in children.get(frontier.pop(0), ()):
            if child not in found:
                found.append(child)
                frontier.append(child)
    return found


def run_queue_seconds(pids: list[int]) -> float:
    """Seconds the threads of ``pids`` have spent ready to run but waiting for a CPU.

    From /proc/PID/task/TID/schedstat (its second field, in nanoseconds);
    0.0 where the kernel does not keep it. Threads that have ended are not
    counted, so this is a lower bound.
    """
    total = 0
    for member in pids:
        try:
            threads = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{member}/task/{tid}/schedstat", "rb") as handle:
                    total += int(handle.read().split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9
