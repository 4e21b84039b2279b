"""The uid slots: one dedicated uid per concurrent child, locked by a file, emptied before reuse.

A slot's uid belongs to no account and to no other session while its lock
is held, so killing every process of that uid is exact. The lock files
live in a root-owned state directory, which also holds the staged child
runtime and the bubblewrap view's /etc files.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from grader.engine.sandbox.errors import SandboxError
from grader.engine.sandbox.procfs import processes_of_uid, status_uids

ENV_UID_BASE = "DLGRADE_SANDBOX_UID_BASE"
ENV_SLOTS = "DLGRADE_SANDBOX_SLOTS"
DEFAULT_UID_BASE = 61000
DEFAULT_SLOTS = 64
STATE_DIR = Path("/tmp/dlgrade-sandbox")  # root-owned: slot locks, the runtime copy, passwd/group


def uid_base() -> int:
    raw = os.environ.get(ENV_UID_BASE, "")
    try:
        base = int(raw) if raw else DEFAULT_UID_BASE
    except ValueError:
        raise ValueError(f"{ENV_UID_BASE} must be an integer, not {raw!r}") from None
    if not 1000 <= base < 2**31 - 4096:
        raise ValueError(f"{ENV_UID_BASE} must be a uid of at least 1000, not {base}")
    return base


def slot_count() -> int:
    raw = os.environ.get(ENV_SLOTS, "")
    return max(1, min(4096, int(raw))) if raw else DEFAULT_SLOTS


def state_dir() -> Path:
    """The root-owned directory holding slot locks and shared read-only files."""
    try:
        os.mkdir(STATE_DIR, 0o755)
    except FileExistsError:
        pass
    info = os.lstat(STATE_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(f"{STATE_DIR} must be a directory owned by uid {os.geteuid()} that only it can "
                           "write; remove it and try again")
    return STATE_DIR


@dataclass
class UidSlot:
    index: int
    uid: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = -1


def _uid_is_an_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def claim_slot(slot: int | None = None, wait_seconds: float = 30.0) -> UidSlot:
    """Lock a uid for this session. ``slot=None``: the first free one (waiting up to ``wait_seconds``)."""
    base, count = uid_base(), slot_count()
    if slot is not None and not 0 <= slot < count:
        raise ValueError(f"slot must be between 0 and {count - 1}, not {slot}")
    state = state_dir()
    candidates = [slot] if slot is not None else list(range(count))
    deadline = time.monotonic() + wait_seconds
    while True:
        for index in candidates:
            uid = base + index
            if _uid_is_an_account(uid):
                if slot is not None:
                    raise SandboxError(f"uid {uid} of slot {slot} belongs to an account; set {ENV_UID_BASE}")
                continue
            fd = os.open(state / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if not kill_uid(uid):
                os.close(fd)
                continue
            return UidSlot(index, uid, fd)
        if slot is not None:
            raise SandboxError(f"sandbox slot {slot} (uid {base + slot}) is in use by another session")
        if time.monotonic() > deadline:
            raise SandboxError(f"all {count} sandbox uid slots are busy")
        time.sleep(0.05)



def kill_uid(uid: int, timeout: float = 5.0) -> bool:
    """SIGKILL every process of ``uid`` (exact: the uid belongs to one slot) until none is left."""
    if os.geteuid() != 0 or uid == 0:
        return True
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_of_uid(uid, include_zombies=True)
        if not pids:
            return True
        for pid in pids:
            _kill_if_uid(pid, uid)
        if time.monotonic() > deadline:
            return not processes_of_uid(uid, include_zombies=False)
        time.sleep(0.005)


def _kill_if_uid(pid: int, uid: int) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        return
    try:
        uids = status_uids(str(pid))
        if uids is not None and uid in uids:  # still the same process: the pidfd pins it
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)
