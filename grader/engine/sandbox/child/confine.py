"""How the fallback's child confines itself: Landlock, its slot's uid, rlimits, seccomp, in that order.

A sibling file of the child runtime (loaded by path, standard library
only). Under bubblewrap, bubblewrap and setpriv have already set the uid,
the capabilities and the seccomp filter, and the configuration asks for
none of them; the working folder, the import path and the rlimits are set
here in both modes.
"""

from __future__ import annotations

import base64
import fcntl
import os
import resource
import sys

_FD_FLOOR = 1000


def confine(config: dict, workdir: str, send) -> None:
    """Confine this process as ``config`` says, before any of the student's code runs.

    ``send``: how to tell the parent that Landlock could not be applied where the instructor accepted
    that. The fallback confines itself here (bubblewrap and setpriv did it already otherwise), in an
    order where each step still has what it needs: Landlock while root may still open every path
    it allows; the uid dropped while root may still drop it; rlimits once the uid is the one
    RLIMIT_NPROC counts; seccomp last, as it refuses what the steps before it use."""
    program = config.get("seccomp")
    uid = config.get("uid")
    reach = _open_closed_roots(config.get("reach_through") or []) if uid is not None else {}
    if program and config.get("landlock"):
        try:
            _apply_landlock(config["landlock"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if config.get("landlock_required"):
                raise OSError(f"Landlock is required to grade this submission but cannot be applied "
                              f"({type(exc).__name__}: {exc})") from None
            # The instructor accepted a weaker sandbox: grade all the same, and say so.
            send({"t": "landlock_failed", "error": f"{type(exc).__name__}: {exc}"})
    if os.geteuid() == 0 and (program or uid is not None):
        _drop_bounding_set()
        if uid is not None:
            _become(int(uid))
        else:
            _clear_capabilities()
    os.chdir(workdir)
    sys.path[:] = [workdir] + [_through(p, reach) for p in config["sys_path"] if isinstance(p, str)]
    _reroute_packages(reach)
    sys.argv = [os.path.join(workdir, config["main"])]
    for name, (soft, hard) in config.get("rlimits", {}).items():
        which = getattr(resource, "RLIMIT_" + name, None)
        if which is None:
            continue
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):  # above the inherited hard limit: keep that one
            try:
                current = resource.getrlimit(which)[1]
                if current != resource.RLIM_INFINITY:
                    resource.setrlimit(which, (min(soft, current), current))
            except (ValueError, OSError):
                pass  # a platform that refuses this limit (the parent's timeout still holds)
    if config.get("subreaper"):
        _subreaper()
    if program:  # the fallback: no bubblewrap installed the filter, so install it here
        _install_seccomp(base64.b64decode(program))


def high_fd(fd: int) -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    floor = _FD_FLOOR if soft == resource.RLIM_INFINITY or soft > _FD_FLOOR + 16 else max(10, soft - 16)
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)
    os.close(fd)
    return new


def _subreaper() -> None:
    """Linux: orphans of the student's processes stay below this process, where the parent finds them."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError, ImportError):
        pass


def _prctl(option: int, *args: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    values = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:4]]
    if libc.prctl(ctypes.c_int(option), *values) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}) failed: {os.strerror(errno)}")


def _drop_bounding_set() -> None:
    """Root: no capability can ever come back, to this process or whatever it executes."""
    capbset_drop = 24
    for capability in range(64):
        try:
            _prctl(capbset_drop, capability)
        except OSError:
            break  # EINVAL: past the last capability this kernel knows


def _clear_capabilities() -> None:
    """A root child that keeps uid 0 loses every capability all the same.

    Without them it cannot raise its rlimits again, trace or read the memory
    of the (non-dumpable) grader, or override file permissions.
    """
    import ctypes

    capability_version_3 = 0x20080522

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(Header(capability_version_3, 0)), (Data * 2)()) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"capset failed: {os.strerror(errno)}")


def _become(uid: int) -> None:
    """Root: become ``uid`` (its own group, no others) for good; every capability goes with uid 0.

    From here on RLIMIT_NPROC counts this uid's processes, file permissions
    apply, and the grader's and classmates' processes are out of signal reach.
    """
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid) or os.getgroups():
        raise OSError(f"the child could not become uid {uid}")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise OSError(f"the child, as uid {uid}, could become root again")


def _open_closed_roots(roots: list) -> dict:
    """{root: "/proc/self/fd/N"} for folders (a Python below a mode 0700 /root) that the unprivileged uid
    cannot reach by path. Opened while still root; through an open folder no parent is searched again."""
    reach = {}
    for root in roots:
        if isinstance(root, str):
            fd = high_fd(os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
            reach[root.rstrip("/")] = f"/proc/self/fd/{fd}"
    return reach


def _through(path: str, reach: dict) -> str:
    for root, via in reach.items():
        if path == root or path.startswith(root + "/"):
            return via + path[len(root):]
    return path


def _reroute_packages(reach: dict) -> None:
    """Packages imported before the uid changed (encodings, collections) find their submodules through ``reach``."""
    if not reach:
        return
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [_through(p, reach) if isinstance(p, str) else p for p in paths]
    sys.path_importer_cache.clear()


def _apply_landlock(spec: dict) -> None:
    """Restrict this process and all it starts to the paths in ``spec["rules"]`` (grader.engine.sandbox.landlock)."""
    import ctypes
    import struct

    syscalls, rule_path_beneath = spec["syscalls"], 1
    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> int:
        if result < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"landlock {what}: {os.strerror(errno)}")
        return result

    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net, scoped. A kernel that
    # knows fewer fields accepts the larger struct as long as the fields it does not know are 0.
    attr = ctypes.create_string_buffer(struct.pack("<QQQ", spec["fs"], spec["net"], spec["scope"]), 24)
    ruleset = check(libc.syscall(syscalls["create_ruleset"], attr, ctypes.c_size_t(24), ctypes.c_uint32(0)),
                    "create_ruleset")
    try:
        for path, rights in spec["rules"]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path this machine does not have
            try:
                if not os.path.isdir(path):
                    rights &= spec["file_rights"]
                beneath = ctypes.create_string_buffer(struct.pack("<Qi", rights, fd), 12)  # packed struct
                check(libc.syscall(syscalls["add_rule"], ruleset, rule_path_beneath, beneath, ctypes.c_uint32(0)),
                      f"add_rule {path}")
            finally:
                os.close(fd)
        _prctl(38, 1)  # PR_SET_NO_NEW_PRIVS, which restrict_self needs without CAP_SYS_ADMIN
        check(libc.syscall(syscalls["restrict_self"], ruleset, ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)


def _install_seccomp(program: bytes) -> None:
    """Install a BPF program (libseccomp's export, 8 bytes per instruction) on this process."""
    import ctypes

    if not program or len(program) % 8:
        raise ValueError(f"a seccomp program of {len(program)} bytes is not a BPF program")

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    set_no_new_privs, set_seccomp, mode_filter = 38, 22, 2
    _prctl(set_no_new_privs, 1)
    _prctl(set_seccomp, mode_filter, ctypes.addressof(fprog))
