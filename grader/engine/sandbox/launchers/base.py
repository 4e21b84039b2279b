"""The launcher interface: what a session asks of whatever starts and confines its child.

A session (``session.py``) loads the submission, exchanges requests and
replies, keeps the time budgets and cleans up; it never asks which
mechanism isolates the child. The launcher does that, in this order:

1. :meth:`Launcher.prepare`: claim what the child needs before any file is
   copied (a uid slot, control groups) and write the isolation line;
2. :meth:`Launcher.files_copied`: the submission's private copy is ready;
3. :meth:`Launcher.command` and :meth:`Launcher.environment`: how to start
   the child (once, and again after each restart);
4. :meth:`Launcher.child_config`: what the child must do to itself before
   any of the student's code runs;
5. :meth:`Launcher.kill`: stop the child and everything it started;
6. :meth:`Launcher.release`: give back what :meth:`prepare` claimed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from typing import NamedTuple

from grader.engine.sandbox import cgroups
from grader.engine.sandbox.limits import Limits
from grader.engine.sandbox.uid_slots import UidSlot, kill_uid

KILL_WAIT = 10.0  # seconds to wait for a SIGKILLed child to be reaped


class Launch(NamedTuple):
    """How to start the child: ``argv`` in ``cwd``; ``pass_fds``: file descriptors the launcher opened
    for the child besides its two pipes (the session closes them once the child has started)."""

    argv: list[str]
    cwd: str
    pass_fds: tuple[int, ...] = ()


class Launcher(ABC):
    """Starts, confines and stops one session's child.

    ``session_dir``: the session's private folder; ``workdir``: the folder
    in it that receives the submission's copy; ``slot``: the uid slot asked
    for (``None``: the first free); ``own_code``: the submission is the code
    of whoever runs the grader; ``why_not_bwrap``: why bubblewrap is not
    used (for a fallback's isolation line).
    """

    mode: str = ""                 # the session's ``mode``: "bwrap", "none"
    shell_exit_codes = False       # the child's exit status comes through a shell (128 + N: signal N)

    def __init__(self, limits: Limits, session_dir: str, workdir: str, *, slot: int | None = None,
                 own_code: bool = False, why_not_bwrap: str = "") -> None:
        self.limits = limits
        self.session_dir = session_dir
        self.workdir = workdir
        self.slot_asked = slot
        self.own_code = own_code
        self.why_not_bwrap = why_not_bwrap
        self.slot: UidSlot | None = None
        self.uid: int | None = None
        self.cgroup: cgroups.ChildCgroup | None = None
        self.isolation = ""            # the isolation line of every result
        self.files_bytes = 0
        self.files_count = 0

    # ------------------------------------------------------------ the steps
    @abstractmethod
    def prepare(self) -> None:
        """Claim the uid slot and control groups, check what the mode needs, write :attr:`isolation`."""

    def files_copied(self, total_bytes: int, total_files: int) -> None:
        """The submission's copy in :attr:`workdir` is complete: ``total_bytes`` in ``total_files``."""
        self.files_bytes, self.files_count = total_bytes, total_files

    @abstractmethod
    def command(self, request_fd: int, reply_fd: int) -> Launch:
        """How to start the child runtime, which reads requests on ``request_fd`` and replies on ``reply_fd``."""

    @abstractmethod
    def environment(self) -> dict[str, str]:
        """The child's whole environment (nothing of the grader's is inherited)."""

    @abstractmethod
    def child_config(self, child_pid: int, rlimits: dict[str, list[int]]) -> dict:
        """The launcher's part of the child's configuration (where it works, what it must confine itself
        with), for the child of pid ``child_pid``; adds the launcher's rlimits to ``rlimits``."""

    @abstractmethod
    def kill(self, proc: subprocess.Popen) -> int | None:
        """SIGKILL the child and every process it started; its exit status, or None if it did not end."""

    def release(self) -> None:
        """Remove the control groups, kill what is left of the slot's uid and unlock the slot."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.slot is not None:
            kill_uid(self.slot.uid)
            self.slot.release()
            self.slot = None

    def describe_exit(self, returncode: int | None) -> str:
        """Words for how the child ended."""
        return describe_exit(returncode, self.shell_exit_codes)

    # ----------------------------------------------------- shared by launchers
    def memory_cap(self) -> int:
        """What all the child's processes may hold together: one process's address space, plus its
        /tmp (a tmpfs under bubblewrap, whose pages count against the group of the writer)."""
        return self.limits.memory_bytes + self.limits.tmp_bytes

    def child_argv(self, runtime: str, request_fd: int, reply_fd: int) -> list[str]:
        """Python, isolated from the environment and site-packages' .pth files, running the child runtime."""
        return [sys.executable, "-s", "-S", "-P", "-B", f"{runtime}/child_main.py", str(request_fd), str(reply_fd)]

    def base_environment(self, home: str) -> dict[str, str]:
        """The environment of every child, with ``home`` as its home and temporary folder."""
        threads = str(self.limits.threads)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "USER": "student",
            "LOGNAME": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "MPLCONFIGDIR": home,
            "MPLBACKEND": "Agg", "KERAS_HOME": os.path.join(home, ".keras"), "TF_CPP_MIN_LOG_LEVEL": "2",
            "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "NUMEXPR_NUM_THREADS": threads, "VECLIB_MAXIMUM_THREADS": threads, "BLIS_NUM_THREADS": threads,
            "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads,
            # TensorFlow turns its oneDNN kernels on only for some CPUs; on others (AMD's among them)
            # training runs on its slower default kernels: 04's training takes 2x the CPU time.
            "TF_ENABLE_ONEDNN_OPTS": "1",
            # RLIMIT_AS counts address space: glibc reserves 64 MiB per thread arena, which makes
            # TensorFlow's thread pools fail at 2 GiB; two arenas cost nothing measurable here.
            "MALLOC_ARENA_MAX": "2",
        }
        if os.environ.get("KERAS_BACKEND"):
            env["KERAS_BACKEND"] = os.environ["KERAS_BACKEND"]
        return env

    def kill_cgroup(self) -> None:
        """SIGKILL every process in the child's control groups: exact, and their cap stops a fork bomb
        outrunning it."""
        if self.cgroup is not None:
            self.cgroup.kill_all()

    @staticmethod
    def kill_process_group(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def reap(proc: subprocess.Popen) -> int | None:
        try:
            return proc.wait(timeout=KILL_WAIT)
        except subprocess.TimeoutExpired:
            return None


def describe_exit(returncode: int | None, shell_exit_codes: bool) -> str:
    """Words for how the child process ended (``shell_exit_codes``: 128 + N means signal N)."""
    if returncode is None:
        return "the process did not end"
    signum = -returncode if returncode < 0 else (
        returncode - 128 if shell_exit_codes and 128 < returncode < 160 else None)
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        why = {signal.SIGKILL: " (killed: out of memory?)", signal.SIGXCPU: " (CPU time limit exceeded)",
               signal.SIGSEGV: " (segmentation fault)", signal.SIGABRT: " (aborted)",
               signal.SIGXFSZ: " (file size limit exceeded)"}.get(signum, "")
        return f"the process was killed by {name}{why}"
    return f"the process exited with code {returncode}"
