"""The bubblewrap launcher: namespaces, a filesystem view of its own, the uid of a slot.

The child starts in a new mount namespace (unshare) holding a size- and
inode-capped tmpfs for its /tmp, /dev/shm and /submission, then in
bubblewrap (new pid, network, IPC and UTS namespaces; /usr, the Python
runtime and the child runtime read-only, the grader and the answer key
masked), then setpriv drops it to the slot's uid with no capabilities,
under bubblewrap's seccomp filter. Its processes die with its pid namespace.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from grader.engine.sandbox import cgroups, seccomp
from grader.engine.sandbox.launchers.base import Launch, Launcher
from grader.engine.sandbox.python_view import hidden_paths, python_roots
from grader.engine.sandbox.staging import runtime_dir
from grader.engine.sandbox.uid_slots import claim_slot, kill_uid, slot_count, state_dir, uid_base

RUNTIME_DIR = "/opt/dlgrade/runtime"          # the child runtime, read-only
SOURCE_DIR = "/opt/dlgrade/submission"        # the private copy of the submission, read-only
WORKDIR = "/submission"                       # a tmpfs the runtime fills from SOURCE_DIR: cwd


@functools.lru_cache(maxsize=None)
def probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return False, "not running as root (a dedicated uid per slot needs root)"
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    if not bwrap:
        return False, "bubblewrap not found"
    for tool in ("setpriv", "unshare", "mount"):
        if not shutil.which(tool):
            return False, f"{tool} (util-linux) not found"
    scratch = tempfile.mkdtemp(prefix="dlgrade-probe-")
    cmd = [shutil.which("unshare"), "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
           _SCRATCH_SCRIPT, "sh", scratch, str(2**20), "64",
           bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
           "--new-session", *_usr_args(), "--proc", "/proc", "--dev", "/dev", "--bind", f"{scratch}/tmp", "/tmp",
           "--", setpriv, f"--reuid={uid_base()}", f"--regid={uid_base()}", "--clear-groups", "--inh-caps=-all",
           "--bounding-set=-all", "--no-new-privs", "true"]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap does not work here ({exc})"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        return False, f"bubblewrap does not work here ({message[-1] if message else done.returncode})"
    return True, "bubblewrap available"



@functools.lru_cache(maxsize=None)
def _etc_files() -> dict[str, str]:
    """Small /etc/passwd, /etc/group and /etc/hosts naming the slot uids."""
    base, count = uid_base(), slot_count()
    files = {
        "passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n" + "".join(
            f"student{i}:x:{base + i}:{base + i}:sandboxed submission:/tmp:/usr/sbin/nologin\n" for i in range(count)),
        "group": "root:x:0:\n" + "".join(f"student{i}:x:{base + i}:\n" for i in range(count)),
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    }
    out = {}
    state = state_dir()
    for name, text in files.items():
        path = state / f"etc-{hashlib.sha256(text.encode()).hexdigest()[:12]}-{name}"
        if not path.exists():
            tmp = state / f".{path.name}.{os.getpid()}.{threading.get_ident()}"
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
            os.rename(tmp, path)
        out[name] = str(path)
    return out


def _usr_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args



def _masks(roots: list[str]) -> list[str]:
    """bubblewrap args hiding the grader, the answer key and tests wherever a bound path would show them."""
    args: list[str] = []
    for path, kind in hidden_paths(roots):
        if kind == "dir":
            args += ["--perms", "0755", "--tmpfs", path]
        else:
            args += ["--ro-bind", "/dev/null", path]
    return args


def _mkdirs_args(path: str, made: set) -> list[str]:
    args: list[str] = []
    parts = Path(path).parts[1:-1]
    current = "/"
    for part in parts:
        current = os.path.join(current, part)
        if current not in made:
            made.add(current)
            args += ["--perms", "0755", "--dir", current]
    return args


@functools.lru_cache(maxsize=None)
def _static_head() -> tuple[str, ...]:
    """Namespaces, /usr, /etc, /proc and /dev: the same for every session."""
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--die-with-parent", "--new-session"]
    args += _usr_args()
    etc = _etc_files()
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ("ld.so.cache", "localtime"):
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind", etc["passwd"], "/etc/passwd", "--ro-bind", etc["group"], "/etc/group",
             "--ro-bind", etc["hosts"], "/etc/hosts"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    return tuple(args)


@functools.lru_cache(maxsize=None)
def _static_tail() -> tuple[str, ...]:
    """The Python runtime (masked where it would show the grader) and the child runtime.

    These come after the session's tmpfs mounts, so a Python that lives under
    /tmp (a checkout or a virtual environment there) is bound into the child's
    own /tmp instead of being hidden by it.
    """
    args: list[str] = []
    made: set = {"/etc", "/usr", "/tmp", "/dev", "/dev/shm"}
    roots = python_roots()
    for root in roots:
        args += _mkdirs_args(root + "/x", made)
        args += ["--ro-bind", root, root]
    args += _masks(roots)
    args += _mkdirs_args(RUNTIME_DIR, made)
    args += ["--ro-bind", runtime_dir(), RUNTIME_DIR]
    return tuple(args)


# Run in a mount namespace of its own by unshare(1): a tmpfs with a size and an inode cap (bubblewrap's
# --tmpfs has no inode option, and millions of empty files would take gigabytes of kernel memory), with
# the child's three writable folders inside it. The namespace, and so the tmpfs, ends with the child.
_SCRATCH_SCRIPT = (
    'mount -t tmpfs -o "size=$2,nr_inodes=$3,mode=0755,nosuid,nodev" dlgrade-scratch "$1" '
    '&& mkdir -m 1777 "$1/tmp" "$1/shm" "$1/work" && shift 3 && exec "$@"'
)


def bwrap_command(*, uid: int, files_dir: str, scratch_dir: str, scratch_bytes: int, scratch_files: int,
                  seccomp_fd: int | None, child_argv: list[str]) -> list[str]:
    """The command line that starts the child: unshare, a capped tmpfs, bubblewrap, setpriv, Python.

    ``scratch_dir`` is an empty folder of the session's, where the tmpfs is
    mounted (seen only inside the new mount namespace); the child's /tmp,
    /dev/shm and /submission share its ``scratch_bytes`` and ``scratch_files``.
    """
    unshare, bwrap, setpriv = shutil.which("unshare"), shutil.which("bwrap"), shutil.which("setpriv")
    args = [unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _SCRATCH_SCRIPT, "sh",
            scratch_dir, str(scratch_bytes), str(scratch_files),
            bwrap, *_static_head(),
            "--bind", f"{scratch_dir}/tmp", "/tmp",
            "--bind", f"{scratch_dir}/shm", "/dev/shm",
            *_static_tail(),
            "--ro-bind", files_dir, SOURCE_DIR,
            "--bind", f"{scratch_dir}/work", WORKDIR,
            "--chdir", WORKDIR]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--", setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all", "--no-new-privs", "--", *child_argv]
    return args



class BubblewrapLauncher(Launcher):
    """The child in bubblewrap's namespaces as the uid of a slot (see the module's docstring)."""

    mode = "bwrap"
    shell_exit_codes = True

    def prepare(self) -> None:
        self.scratch = os.path.join(self.session_dir, "scratch")  # the child's tmpfs is mounted here
        os.mkdir(self.scratch, 0o700)
        self.slot = claim_slot(self.slot_asked)
        self.uid = self.slot.uid
        self.seccomp_program, seccomp_words = seccomp.seccomp_program()
        # bubblewrap's own processes (its monitor, unshare, the shell) count too: a few more
        self.cgroup, cgroup_words = cgroups.create(f"uid-{self.uid}", self.limits.processes + 4, self.memory_cap())
        self.isolation = (f"bubblewrap (pid/net/ipc/uts/mount namespaces), uid {self.uid}, "
                          f"{seccomp_words}, rlimits" + (f", {cgroup_words}" if self.cgroup else ""))

    def command(self, request_fd: int, reply_fd: int) -> Launch:
        seccomp_fd = None
        if self.seccomp_program is not None:
            seccomp_fd, seccomp_w = os.pipe()
            try:
                os.write(seccomp_w, self.seccomp_program)  # a few hundred bytes: fits in the pipe
            finally:
                os.close(seccomp_w)
        try:
            limits = self.limits
            # One tmpfs for /tmp, /dev/shm and /submission: the student's budget plus room for the
            # copy of their own files.
            scratch_bytes = limits.tmp_bytes + self.files_bytes + 4096 * (self.files_count + 16)
            scratch_files = limits.tmp_files + self.files_count + 16
            argv = bwrap_command(uid=self.uid, files_dir=self.workdir, scratch_dir=self.scratch,
                                 scratch_bytes=scratch_bytes, scratch_files=scratch_files, seccomp_fd=seccomp_fd,
                                 child_argv=self.child_argv(RUNTIME_DIR, request_fd, reply_fd))
        except BaseException:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            raise
        return Launch(argv, "/", (seccomp_fd,) if seccomp_fd is not None else ())

    def environment(self) -> dict[str, str]:
        return self.base_environment("/tmp")

    def child_config(self, child_pid: int, rlimits: dict[str, list[int]]) -> dict:
        rlimits["NPROC"] = [self.limits.processes, self.limits.processes]  # a uid of the slot's alone
        return {"workdir": WORKDIR, "copy_from": SOURCE_DIR, "subreaper": False}

    def kill(self, proc: subprocess.Popen) -> int | None:
        self.kill_cgroup()
        self.kill_process_group(proc)
        if self.slot is not None:
            kill_uid(self.slot.uid)
        return self.reap(proc)
