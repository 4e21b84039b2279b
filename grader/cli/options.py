"""Options and helpers several commands share (this module is not a command)."""

from __future__ import annotations

import argparse
import ctypes
import signal
from pathlib import Path


def add_limit_option(parser) -> None:
    """``--limit NAME=VALUE`` (repeatable): a sandbox limit of the assignment overridden."""
    parser.add_argument("--limit", action="append", metavar="NAME=VALUE",
                        help="override a sandbox limit of the assignment, e.g. request_seconds=5 "
                             "(names: see the README); repeatable")


def course_options(parser, *, suppress: bool = False) -> None:
    """``--course DIR`` and ``--db URL`` (``suppress``: a subcommand's, not overriding its parent's)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--course", type=Path, default=default, help="the course folder (default: ./course)")
    parser.add_argument("--db", default=default, help="gradebook URL (default: course.toml's db, else "
                                                      "COURSE/gradebook.db)")


def die_with_parent() -> None:
    """Linux: this process is SIGKILLed when its parent dies (PR_SET_PDEATHSIG)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
