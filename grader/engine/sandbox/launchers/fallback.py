"""The fallback launcher: no namespaces; the child confines itself before any student code runs.

The child runtime applies, in order, Landlock (its own files, the Python
runtime, its own /proc folder), under a root grader the uid of a slot,
rlimits, and a seccomp filter that confines signals to itself and refuses
sockets, new sessions and System V IPC. Without a pid namespace its
processes are found by walking /proc (or its control groups) to kill them.
A stranger's code is refused here without seccomp and Landlock unless the
instructor accepts the risk (``DLGRADE_ALLOW_WEAK_SANDBOX=1``).
"""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import sys

from grader.engine.sandbox import cgroups, landlock, seccomp
from grader.engine.sandbox.errors import SandboxUnavailable
from grader.engine.sandbox.launchers.base import Launch, Launcher
from grader.engine.sandbox.procfs import children_map, threads_of_uid
from grader.engine.sandbox.python_view import fallback_hidden_paths, python_roots
from grader.engine.sandbox.seccomp import FALLBACK_SECCOMP_WORDS
from grader.engine.sandbox.staging import CHILD_PACKAGE
from grader.engine.sandbox.uid_slots import claim_slot, kill_uid

ENV_ALLOW_WEAK = "DLGRADE_ALLOW_WEAK_SANDBOX"


def fallback_description(why: str, uid: int | None = None, cgroup_words: str | None = None) -> str:
    """The isolation line of the fallback (``why``: why not bubblewrap), as the child will be confined here.

    ``uid``: the uid the child runs as, where known (a root grader's slot);
    ``cgroup_words``: what the child's control groups give it, or why it has none.
    """
    program, words = seccomp.seccomp_program()
    if program is None:  # no filter, and then the child confines itself no further either
        line = f"rlimits and timeout only ({why}; {words})"
    else:
        version, no_landlock = landlock.abi()
        line = (f"rlimits, timeout, {FALLBACK_SECCOMP_WORDS} and "
                f"{landlock.describe(version) if version else no_landlock}, no namespaces ({why})")
    if cgroup_words:
        line += f", {cgroup_words}"
    if os.geteuid() != 0:
        line += f"; the student's code runs as uid {os.geteuid()}, the grader's own"
    elif program is None:
        line += "; the student's code runs as root"
    elif uid is None:
        line += "; the student's code runs as an unprivileged uid of its worker, without capabilities"
    else:
        line += f"; the student's code runs as uid {uid}, without capabilities"
    if program is None or not landlock.abi()[0]:
        line += f" (a weak sandbox: allowed by {ENV_ALLOW_WEAK}=1 or for the student's own code)"
    return line


def weak_fallback_allowed() -> bool:
    """Whether the instructor has accepted grading in the fallback without seccomp and Landlock."""
    return os.environ.get(ENV_ALLOW_WEAK, "").strip().lower() in ("1", "yes", "true")


def weak_fallback_refusal() -> str | None:
    """Why strangers' code must not be graded here (the fallback would miss seccomp or Landlock), or None.

    Without Landlock the child reads and writes whatever its uid may: as the
    grader's own uid, the answer key and the gradebook; as root, root's files.
    """
    if weak_fallback_allowed():
        return None
    program, words = seccomp.seccomp_program()
    version, no_landlock = landlock.abi()
    if program is not None and version:
        return None
    missing = words if program is None else no_landlock
    return (f"the fallback sandbox cannot confine a stranger's code here: {missing}. Install bubblewrap, "
            f"or run where Landlock is available, or accept the risk with {ENV_ALLOW_WEAK}=1")


def python_roots_closed_to_others(roots: list[str]) -> list[str]:
    """The Python roots an unprivileged uid cannot reach by path (below a mode 0700 /root, say).

    The child opens these while it is still root and imports through the
    open folders (``/proc/self/fd/N/...``) once it is not.
    """
    closed = []
    for root in roots:
        path, reachable = "/", True
        for part in [p for p in root.split("/") if p]:
            path = os.path.join(path, part)
            try:
                mode = os.stat(path).st_mode
            except OSError:
                reachable = False
                break
            if not mode & stat.S_IXOTH:
                reachable = False
                break
        if not reachable:
            closed.append(root)
    return closed


def make_undumpable() -> None:
    """Linux: make this process's memory off limits to the other processes of its uid.

    The fallback's child has no pid namespace and may run as the grader's
    own uid. A non-dumpable process can be traced, or its /proc/PID/mem
    opened, only with CAP_SYS_PTRACE, which the child never has (a root
    child drops its capabilities first). The price: no core dumps of the
    grading process, and a debugger must run as root to attach to it.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, SUID_DUMP_DISABLE
    except (OSError, AttributeError):
        pass



def kill_tree(pid: int, rounds: int = 20) -> None:
    """Stop ``pid`` and all its descendants (SIGSTOP, so none can fork any more), then SIGKILL them.

    For the fallback mode, where no pid namespace or uid of its own holds
    the child's processes together. Linux only (reads /proc); elsewhere the
    process group is all there is.
    """
    stopped: set = set()
    for _ in range(rounds):
        children = children_map()
        if not children:
            break
        found, frontier = set(), [pid]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        new = (found | {pid}) - stopped
        if not new:
            break
        for target in new:
            try:
                os.kill(target, signal.SIGSTOP)
            except OSError:
                pass
        stopped |= new
    for target in stopped:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass



def chown_tree(top: str, uid: int) -> None:
    """Give the folder ``top`` and everything in it (none of it links: see staging.copy_submission) to ``uid``, and
    close ``top`` to every other uid (a classmate's child among them, should Landlock be missing)."""
    os.chown(top, uid, uid)
    os.chmod(top, 0o700)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


class FallbackLauncher(Launcher):
    """The child as a plain process that confines itself (see the module's docstring)."""

    mode = "none"

    def prepare(self) -> None:
        refusal = None if self.own_code else weak_fallback_refusal()
        if refusal:
            raise SandboxUnavailable(refusal)
        self.home = os.path.join(self.session_dir, "home")
        os.mkdir(self.home, 0o700)
        self.seccomp_program, _ = seccomp.seccomp_program()  # the child's own is built per child in child_config
        if os.geteuid() == 0:  # a root grader's child becomes the uid of a slot
            self.slot = claim_slot(self.slot_asked)
            self.uid = self.slot.uid
            os.chmod(self.session_dir, 0o711)  # the child reaches its folders, lists nothing
            os.chown(self.home, self.uid, self.uid)
            name = f"uid-{self.uid}"
        else:
            name = f"pid-{os.getpid()}-{id(self):x}"
        self.cgroup, cgroup_words = cgroups.create(name, self.limits.processes, self.memory_cap())
        self.isolation = fallback_description(self.why_not_bwrap, self.uid, cgroup_words)
        if self.seccomp_program is not None:
            make_undumpable()

    def files_copied(self, total_bytes: int, total_files: int) -> None:
        super().files_copied(total_bytes, total_files)
        if self.uid is not None:  # the private copy is the child's own
            chown_tree(self.workdir, self.uid)

    def command(self, request_fd: int, reply_fd: int) -> Launch:
        return Launch(self.child_argv(str(CHILD_PACKAGE), request_fd, reply_fd), self.workdir)

    def environment(self) -> dict[str, str]:
        return self.base_environment(self.home)

    def child_config(self, child_pid: int, rlimits: dict[str, list[int]]) -> dict:
        limits = self.limits
        if self.uid is not None:  # a uid of the slot's alone
            rlimits["NPROC"] = [limits.processes, limits.processes]
        if os.geteuid() != 0:  # the limit counts every task of this uid, so leave room for the others
            nproc = threads_of_uid(os.getuid()) + limits.processes
            rlimits["NPROC"] = [nproc, nproc]
        config: dict = {"workdir": self.workdir, "copy_from": None, "subreaper": True}
        if self.uid is not None:
            config["uid"] = self.uid
            config["reach_through"] = python_roots_closed_to_others(python_roots())
        if self.seccomp_program is not None:
            # No bubblewrap to install the filter: the runtime installs it itself, before any of the
            # student's code runs, with signals confined to the child's own pid.
            program, _ = seccomp.seccomp_program_confined_to(child_pid)
            if program is not None:
                config["seccomp"] = base64.b64encode(program).decode("ascii")
                if landlock.abi()[0]:
                    config["landlock"] = landlock.ruleset(
                        writable=[self.workdir, self.home], python_roots=python_roots(),
                        hidden=fallback_hidden_paths(), readable=[str(CHILD_PACKAGE)])
                    config["landlock_required"] = not (self.own_code or weak_fallback_allowed())
        return config

    def kill(self, proc: subprocess.Popen) -> int | None:
        self.kill_cgroup()
        kill_tree(proc.pid)  # no pid namespace: stop the whole tree (a child not yet off root has no uid of its own)
        self.kill_process_group(proc)
        code = self.reap(proc)
        if self.slot is not None:  # the child is ours to reap first
            kill_uid(self.slot.uid)
        return code
