"""Uid slots, parallel sessions and the choice of isolation mode."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from sandbox_support import FAST, leftover_processes, write_py

from grader.engine.sandbox import Call, SandboxSession, isolation
from grader.engine.sandbox.isolation import SandboxError, SandboxUnavailable

WORK = """
import os, time
def work(x):
    time.sleep(0.3)
    return x * 2, os.getuid()
"""


def test_two_sessions_in_parallel_threads_get_different_uids(tmp_path, bwrap):
    path = write_py(tmp_path, WORK)
    results: dict = {}
    errors: list = []

    def run(k: int) -> None:
        try:
            with SandboxSession(path, limits=FAST, mode=bwrap) as s:
                value, uid = s.call([Call("work", args=[np.full(3, float(k))])])[0].value
                results[k] = (value.tolist(), uid, s.uid)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert results[1][0] == [2.0] * 3 and results[2][0] == [4.0] * 3
    uids = {results[1][1], results[2][1]}
    assert len(uids) == 2 and all(uid >= isolation.uid_base() for uid in uids)
    assert results[1][1] == results[1][2] and results[2][1] == results[2][2]
    for uid in uids:
        assert leftover_processes(uid) == []


def test_an_explicit_slot_is_exclusive_and_freed_on_close(tmp_path, bwrap):
    path = write_py(tmp_path, WORK)
    with SandboxSession(path, limits=FAST, mode=bwrap, slot=5) as s:
        assert s.uid == isolation.uid_base() + 5
        with pytest.raises(SandboxError, match="in use"):
            SandboxSession(path, limits=FAST, mode=bwrap, slot=5)
        with SandboxSession(path, limits=FAST, mode=bwrap) as other:
            assert other.uid != s.uid
    with SandboxSession(path, limits=FAST, mode=bwrap, slot=5) as s:
        assert s.call([Call("work", args=[1])])[0].value == [2, isolation.uid_base() + 5]


def test_uid_base_comes_from_the_environment(tmp_path, bwrap, monkeypatch):
    monkeypatch.setenv("DLGRADE_SANDBOX_UID_BASE", "62000")
    path = write_py(tmp_path, WORK)
    with SandboxSession(path, limits=FAST, mode=bwrap, slot=1) as s:
        assert s.uid == 62001 and s.call([Call("work", args=[1])])[0].value[1] == 62001


def test_environment_chooses_the_mode(tmp_path, monkeypatch, bwrap):
    path = write_py(tmp_path, WORK)
    monkeypatch.setenv("DLGRADE_SANDBOX", "none")
    with SandboxSession(path, limits=FAST) as s:
        assert s.mode == "none"
        assert s.isolation.startswith(f"rlimits, timeout, {isolation.FALLBACK_SECCOMP_WORDS} and "
                                      "landlock ABI ")
        assert "no namespaces (disabled by DLGRADE_SANDBOX=none)" in s.isolation
        # a root grader's fallback child runs as the uid of a slot, as under bubblewrap
        if os.geteuid() == 0:
            assert isolation.uid_base() <= s.uid < isolation.uid_base() + isolation.slot_count()
        else:
            assert s.uid is None
        assert s.call([Call("work", args=[1])])[0].value[1] == (s.uid if s.uid is not None else os.getuid())
        assert f"runs as uid {s.uid if s.uid is not None else os.getuid()}" in s.isolation
    monkeypatch.setenv("DLGRADE_SANDBOX", "bwrap")
    with SandboxSession(path, limits=FAST) as s:
        assert s.mode == "bwrap" and s.isolation.startswith("bubblewrap (pid/net/ipc/uts/mount namespaces), uid ")
    monkeypatch.setenv("DLGRADE_SANDBOX", "sometimes")
    with pytest.raises(ValueError, match="auto, bwrap or none"):
        SandboxSession(path, limits=FAST)


def test_requiring_bubblewrap_where_it_cannot_run_is_an_error(tmp_path, monkeypatch):
    path = write_py(tmp_path, WORK)
    from grader.engine.sandbox.launchers import bwrap

    monkeypatch.setattr(bwrap, "probe", lambda: (False, "bubblewrap not found"))
    with pytest.raises(SandboxUnavailable, match="bubblewrap not found"):
        SandboxSession(path, limits=FAST, mode="bwrap")
    with SandboxSession(path, limits=FAST, mode="auto") as s:
        assert s.isolation.startswith(f"rlimits, timeout, {isolation.FALLBACK_SECCOMP_WORDS} and ")
        assert "no namespaces (bubblewrap not found)" in s.isolation
        assert s.call([Call("work", args=[3])])[0].value[0] == 6


DRIVER = """
import sys, time
from grader.engine.sandbox import Limits, SandboxSession
s = SandboxSession(sys.argv[1], limits=Limits(request_seconds=30), mode=sys.argv[2])
print(s.uid, flush=True)
s.call  # keep the session open
time.sleep(60)
"""


@pytest.mark.parametrize("which", ["bwrap", "none"])
def test_the_child_dies_with_a_killed_grader(tmp_path, which, request):
    import os
    import signal
    import subprocess
    import sys
    import time

    if which == "bwrap":
        request.getfixturevalue("bwrap")
    path = write_py(tmp_path, "import os\nPID = os.getpid()\n")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    grader = subprocess.Popen([sys.executable, str(driver), str(path), which], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        line = grader.stdout.readline().strip()
        uid = None if line == "None" else int(line)
        children = _descendants(grader.pid)
        assert children, "the grader started no child"
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (any(_alive(p) for p in children) or leftover_processes(uid)):
            time.sleep(0.05)
        assert not any(_alive(p) for p in children)
        assert leftover_processes(uid) == []
        # Its private directory is left behind (it was killed); the next session removes it.
        stale = list(Path(tempfile.gettempdir()).glob(f"dlgrade-session-{grader.pid}-*"))
        assert stale
        with SandboxSession(path, limits=FAST, mode="none"):
            pass
        assert not any(p.exists() for p in stale)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()


def _descendants(pid: int) -> list[int]:
    import os

    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    found.append(int(entry))
                    frontier.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
