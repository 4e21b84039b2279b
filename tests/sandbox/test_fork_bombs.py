"""Fork bombs, in both sandbox modes: stopped at the process cap, counted, cleaned up.

Every forked copy writes one byte to the child's stdout before forking on,
so the length of stdout is the number of processes the bomb made. The cap
is ``Limits.processes`` (RLIMIT_NPROC of the slot's uid, and the child's
pids cgroup where one can be made); threads of the child count too, so a
bomb makes somewhat fewer processes than the cap. Each test runs inside a
pids cgroup of its own (``bounded_processes``): a regression fails the test,
it does not take the machine down.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from sandbox_support import FAST, leftover_processes, write_py

from grader.engine.sandbox import Call, SandboxSession, cgroups

# Forks until refused, then keeps trying; every copy does the same.
FORK_BOMB = """
import os
def bomb():
    while True:
        try:
            if os.fork() == 0:
                os.write(1, b"+")
        except OSError:
            pass
def ok():
    return os.getpid()
"""


def _processes_made(session: SandboxSession) -> int:
    return session.stdout.count("+")


def _can_start_a_process() -> bool:
    return subprocess.run(["true"]).returncode == 0


def test_fork_bomb_in_a_call_is_capped_killed_and_cleaned_up(tmp_path, mode, bounded_processes):
    path = write_py(tmp_path, FORK_BOMB)
    limits = FAST.replace(request_seconds=1.5, processes=32)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        uid = s.uid
        assert s.call([Call("bomb")])[0].kind == "timeout"
        assert leftover_processes(uid) == []
        assert s.call([Call("ok")])[0].ok       # restarted, and the machine can still fork
    made = _processes_made(s)
    assert 1 <= made < limits.processes, made
    assert leftover_processes(uid) == []
    assert _can_start_a_process()


def test_fork_bomb_at_import_is_capped(tmp_path, mode, bounded_processes):
    path = write_py(tmp_path, FORK_BOMB + "\nbomb()\n")
    limits = FAST.replace(load_seconds=1.5, processes=32)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        uid = s.uid
        assert s.load_report.kind == "timeout"
    made = _processes_made(s)
    assert 1 <= made < limits.processes, made
    assert leftover_processes(uid) == []
    assert _can_start_a_process()


def test_a_naive_fork_bomb_is_stopped_by_the_process_limit(tmp_path, mode, bounded_processes):
    path = write_py(tmp_path, """
        import os
        def bomb():
            while True:
                os.fork()
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        reply = s.call([Call("bomb")])[0]
        # The fork past the cap fails: an exception in the child's main process (forked copies exit at once).
        assert reply.kind == "exception" and "BlockingIOError" in reply.error
        assert s.call([Call("bomb")])[0].kind == "exception"
        assert s.restarts == 0


def test_the_fallback_cgroup_caps_processes_below_the_uid_limit(tmp_path, bounded_processes):
    """The fallback's pids cgroup holds on its own (whatever uid the processes run as), and says it was hit."""
    if bounded_processes is None:
        pytest.skip("the fallback's own pids cgroup needs a writable cgroup hierarchy")
    path = write_py(tmp_path, FORK_BOMB)
    limits = FAST.replace(request_seconds=1.0, processes=32)
    with SandboxSession(path, limits=limits, mode="none") as s:
        group = s._state.launcher.cgroup
        assert group is not None and f"pids cgroup (at most {limits.processes} processes)" in s.isolation
        with open(os.path.join(group.pids, "pids.max"), "w") as handle:
            handle.write("8")  # below RLIMIT_NPROC: only the group can stop the bomb
        assert s.call([Call("bomb")])[0].kind == "timeout"
        refused = group.refused_forks()
    assert refused > 0
    assert 1 <= _processes_made(s) < 8


def test_busy_processes_share_one_childs_cpu(tmp_path, mode):
    """Fairness between classmates: the child and all it starts are in a cpu cgroup of their own where one
    can be made; in the fallback no process of it may start a session (a scheduler group) of its own."""
    from grader.engine.sandbox import cgroups, isolation

    path = write_py(tmp_path, """
        import os
        def new_session():
            try:
                os.setsid()
                return "allowed"
            except PermissionError:
                return "refused"
        def new_group():
            try:
                os.setpgid(0, 0)
                return "allowed"
            except PermissionError:
                return "refused"
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        replies = s.call([Call("new_session"), Call("new_group")])
        group = s._state.launcher.cgroup
        pids = isolation.process_tree(s._state.child.proc.pid)
        where = {}
        for pid in pids:
            with open(f"/proc/{pid}/cgroup") as handle:
                where[pid] = {line.split(":")[1]: line.split(":")[2].strip() for line in handle}
    if mode == "none":
        assert [r.value for r in replies] == ["refused", "refused"]
    else:
        assert all(r.ok for r in replies)
    if cgroups._controller_dir("cpu") is None:
        pytest.skip("no cpu cgroup can be made here: the fallback's refusal of new sessions is all there is")
    assert group is not None and group.cpu is not None
    assert all(groups.get("cpu", "").endswith(os.path.basename(group.cpu)) for groups in where.values()), where


HOARDERS = """
import os, select, time

def hoard(children, mib):
    '''Start ``children`` processes that each fill ``mib`` MiB and then wait; how many hold it at the end.

    A child reports when its block is filled; the OOM killer may then end one that had reported
    (it takes the largest), so only reporters still alive are counted.'''
    read_end, write_end = os.pipe()
    pids = []
    for k in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = bytearray(mib << 20)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                os.write(write_end, bytes([65 + k]))
            except MemoryError:
                pass
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    os.close(write_end)
    got = b""
    while len(got) < children and select.select([read_end], [], [], 1.0)[0]:
        chunk = os.read(read_end, children)
        if not chunk:
            break
        got += chunk
    alive = {k for k, pid in enumerate(pids) if os.waitpid(pid, os.WNOHANG)[0] == 0}
    return len({byte - 65 for byte in got} & alive)
"""


def test_the_processes_of_one_submission_share_one_memory_cap(tmp_path, mode):
    """RLIMIT_AS binds each process alone: 64 processes of one submission could hold 64 times
    ``memory_bytes``. A memory cgroup caps them together (the OOM killer ends one inside the group)."""
    path = write_py(tmp_path, HOARDERS)
    limits = FAST.replace(memory_bytes=400 << 20, request_seconds=20.0)
    if cgroups._controller_dir("memory") is None:
        pytest.skip("no memory controller the grader may use here")
    with SandboxSession(path, limits=limits, mode=mode) as s:
        if "pids cgroup" not in s.isolation:
            pytest.skip(f"no cgroup can be made here: {s.isolation}")
        assert f"at most {(limits.memory_bytes + limits.tmp_bytes) >> 20} MiB of memory in all" in s.isolation
        held = s.call([Call("hoard", (4, 150))])[0]
    cap = limits.memory_bytes + limits.tmp_bytes
    assert held.kind == "ok", held
    assert held.value * (150 << 20) <= cap, f"{held.value} children held 150 MiB each under a cap of {cap >> 20} MiB"
