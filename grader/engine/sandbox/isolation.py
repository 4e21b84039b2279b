"""Which launcher isolates the child here: bubblewrap where it works, else the fallback.

``DLGRADE_SANDBOX`` asks for ``bwrap`` (required), ``none`` (the fallback)
or ``auto`` (the default). The pieces live in their own modules:
``launchers/`` (bubblewrap, the fallback, their interface), ``seccomp.py``,
``uid_slots.py``, ``procfs.py``, ``python_view.py`` and ``staging.py``;
the names below are re-exported here, where callers have always found them.
"""

from __future__ import annotations

import os

from grader.engine.sandbox.errors import SandboxError, SandboxUnavailable
from grader.engine.sandbox.launchers import bwrap as _bwrap
from grader.engine.sandbox.launchers.base import Launcher, describe_exit
from grader.engine.sandbox.launchers.bwrap import RUNTIME_DIR, SOURCE_DIR, WORKDIR, BubblewrapLauncher, bwrap_command
from grader.engine.sandbox.launchers.fallback import (
    ENV_ALLOW_WEAK,
    FallbackLauncher,
    fallback_description,
    kill_tree,
    make_undumpable,
    python_roots_closed_to_others,
    weak_fallback_allowed,
    weak_fallback_refusal,
)
from grader.engine.sandbox.procfs import process_tree, processes_of_uid, run_queue_seconds
from grader.engine.sandbox.python_view import (
    MASKED_NAMES,
    child_sys_path,
    fallback_hidden_paths,
    hidden_paths,
    python_roots,
)
from grader.engine.sandbox.seccomp import (
    DENIED_SYSCALLS,
    FALLBACK_SECCOMP_WORDS,
    seccomp_program,
    seccomp_program_confined_to,
)
from grader.engine.sandbox.staging import CHILD_FILES, CHILD_PACKAGE, runtime_dir
from grader.engine.sandbox.uid_slots import (
    ENV_SLOTS,
    ENV_UID_BASE,
    STATE_DIR,
    UidSlot,
    claim_slot,
    kill_uid,
    slot_count,
    uid_base,
)

ENV_MODE = "DLGRADE_SANDBOX"             # "auto" (default), "bwrap" (required), "none" (fallback)

__all__ = [
    "ENV_MODE", "requested_mode", "isolation_available", "choose_launcher", "SandboxError", "SandboxUnavailable",
    "Launcher", "BubblewrapLauncher", "FallbackLauncher", "describe_exit", "RUNTIME_DIR", "SOURCE_DIR", "WORKDIR",
    "bwrap_command", "ENV_ALLOW_WEAK", "fallback_description", "kill_tree", "make_undumpable",
    "python_roots_closed_to_others", "weak_fallback_allowed", "weak_fallback_refusal", "process_tree",
    "processes_of_uid", "run_queue_seconds", "MASKED_NAMES", "child_sys_path", "fallback_hidden_paths",
    "hidden_paths", "python_roots", "DENIED_SYSCALLS", "FALLBACK_SECCOMP_WORDS", "seccomp_program",
    "seccomp_program_confined_to", "CHILD_FILES", "CHILD_PACKAGE", "runtime_dir", "ENV_SLOTS", "ENV_UID_BASE",
    "STATE_DIR", "UidSlot", "claim_slot", "kill_uid", "slot_count", "uid_base",
]


def requested_mode(mode: str | None = None) -> str:
    value = (mode if mode is not None else os.environ.get(ENV_MODE, "")).strip().lower() or "auto"
    aliases = {"bubblewrap": "bwrap", "off": "none", "fallback": "none", "0": "none"}
    value = aliases.get(value, value)
    if value not in ("auto", "bwrap", "none"):
        raise ValueError(f"{ENV_MODE} must be auto, bwrap or none, not {value!r}")
    return value


def isolation_available(mode: str | None = None) -> tuple[bool, str]:
    """Whether bubblewrap isolation can be used here, and why not."""
    if requested_mode(mode) == "none":
        return False, f"disabled by {ENV_MODE}=none"
    return _bwrap.probe()


def choose_launcher(mode: str | None = None) -> tuple[type[Launcher], str]:
    """The launcher for ``mode`` (see :func:`requested_mode`) and why bubblewrap is not it, if it is not.

    :class:`SandboxUnavailable` when bubblewrap is required but cannot be used.
    """
    mode = requested_mode(mode)
    available, why = isolation_available(mode)
    if mode == "bwrap" and not available:
        raise SandboxUnavailable(f"bubblewrap isolation was required but cannot be used: {why}")
    return (BubblewrapLauncher, "") if available else (FallbackLauncher, why)
