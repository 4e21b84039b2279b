"""Landlock rules for the fallback: what the child may touch when there is no bubblewrap.

Landlock (Linux 5.13 and later) lets any process, root or not, give up
access to all but a list of paths, for itself and everything it starts.
Without bubblewrap the child sees the real filesystem; under these rules it
may read the Python runtime and run programs from /usr, read and write only
its private copy of the submission and its home, read its own /proc folder
and a few files there about the machine, and, where the kernel's
Landlock is recent enough, neither bind nor connect TCP (ABI 4) nor signal
processes outside its own tree (ABI 6).

This module only decides the rules, in the parent. The child runtime
applies them (``runtime._apply_landlock``) before any student code runs.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys

# Filesystem rights (include/uapi/linux/landlock.h), with the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1         # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

# The rights a rule on a file (not a folder) may carry.
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

READ = READ_FILE | READ_DIR
READ_EXECUTE = READ | EXECUTE
READ_WRITE_FILE = READ_FILE | WRITE_FILE

# The system call numbers are the same on every architecture that has them (the generic table).
SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_ARCHITECTURES = ("x86_64", "aarch64", "riscv64", "ppc64le", "s390x", "loongarch64")

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
ETC_FILES = ("ld.so.cache", "localtime", "passwd", "group", "hosts", "nsswitch.conf", "host.conf", "gai.conf")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# Of /proc, the child reads its own process folder ("self" is resolved by the child when it applies the
# rules: its own pid) and what numpy, OpenBLAS and TensorFlow read about the machine; not the folders of
# other processes, whose command lines may name a socket, a database or worse.
PROC_ENTRIES = ("self", "cpuinfo", "meminfo", "stat", "loadavg", "uptime", "version", "sys")


@functools.lru_cache(maxsize=None)
def abi() -> tuple[int, str]:
    """(the kernel's Landlock ABI version, "") or (0, why there is none)."""
    if not sys.platform.startswith("linux"):
        return 0, f"no Landlock (it needs Linux; this is {sys.platform})"
    if platform.machine() not in _ARCHITECTURES:
        return 0, f"no Landlock (not set up for {platform.machine()})"
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(SYSCALLS["create_ruleset"], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if version < 1:
        return 0, f"no Landlock ({os.strerror(ctypes.get_errno())})"
    return int(version), ""


def handled_access(version: int) -> dict[str, int]:
    """Everything this ABI can restrict: what is handled and not allowed by a rule is denied."""
    fs = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if version >= 2:
        fs |= REFER
    if version >= 3:
        fs |= TRUNCATE
    if version >= 5:
        fs |= IOCTL_DEV
    return {"fs": fs,
            "net": NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
            "scope": SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0}


def describe(version: int) -> str:
    """The words for the isolation line."""
    parts = [f"landlock ABI {version} (files: its own and the Python runtime"]
    if version >= 4:
        parts.append("no TCP")
    if version >= 6:
        parts.append("signals within its own tree")
    return ", ".join(parts) + ")"


def ruleset(*, writable: list[str], python_roots: list[str], hidden: list[str], readable: list[str] = ()) -> dict:
    """The rules for one child, as plain data for its configuration (with the numbers the child
    needs to apply them: the runtime imports nothing of the grader's).

    - ``writable``: folders the child owns (its copy of the submission, its home): every right.
    - ``python_roots``: where Python lives outside /usr (an installation, a virtual environment):
      readable and executable whole, like the system folders, to import and to start Python again.
    - ``hidden``: paths inside those that stay out of reach (the grader, the answer key, the MNIST
      copy). Landlock can only allow, never carve out, so a folder holding a hidden path is
      allowed entry by entry instead; its listings stay visible, the hidden files' contents do not.
    - ``readable``: further folders the child may read (its runtime's own files).
    """
    version, why = abi()
    if not version:
        raise RuntimeError(why)
    handled = handled_access(version)
    every = handled["fs"]
    rules = list(_shared_rules(tuple(python_roots), tuple(hidden), tuple(readable)))
    rules += [(path, every) for path in writable]
    return {**handled, "file_rights": FILE_RIGHTS & every, "syscalls": SYSCALLS,
            "rules": [[path, rights & every] for path, rights in rules]}


@functools.lru_cache(maxsize=8)
def _shared_rules(python_roots: tuple, hidden: tuple, readable: tuple) -> tuple:
    """The rules every child of this grader shares (the folders are walked once, not per child)."""
    excluded = {os.path.realpath(path) for path in hidden}
    rules: list[tuple[str, int]] = []
    for top in (*SYSTEM_DIRS, *python_roots):
        rules += _allow_except(top, excluded, READ_EXECUTE)
    rules += [(f"/etc/{name}", READ_FILE) for name in ETC_FILES]
    rules += [(device, READ_WRITE_FILE) for device in DEVICES]
    rules += [(f"/proc/{name}", READ) for name in PROC_ENTRIES]
    rules += [(path, READ) for path in readable]
    unique, seen = [], set()
    for path, rights in rules:  # a symlinked folder (a venv's lib64) would repeat its target's rules
        key = (os.path.realpath(path), rights)
        if key not in seen:
            seen.add(key)
            unique.append((path, rights))
    return tuple(unique)


def _allow_except(top: str, excluded: set[str], rights: int) -> list[tuple[str, int]]:
    """Rules allowing ``rights`` under ``top`` but for the excluded paths beneath it."""
    real = os.path.realpath(top)
    if real in excluded:
        return []
    if not any(path.startswith(real.rstrip("/") + "/") for path in excluded):
        return [(top, rights)]
    rules = [(top, READ_DIR)]  # listing stays possible; reading is allowed entry by entry
    try:
        entries = sorted(os.listdir(top))
    except OSError:
        return rules
    for name in entries:
        rules += _allow_except(os.path.join(top, name), excluded, rights)
    return rules
