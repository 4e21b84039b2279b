"""Helpers of the authoring tests: run ``dlgrade`` against a course folder of the test's own (so that
``dlgrade --course DIR`` never writes into the repository), and what git sees changed in the checkout.

A module of its own, not conftest.py: every test folder has a conftest module, and which one
``from conftest import`` finds depends on the order pytest collects the folders in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dlgrade(*args: str, course: Path, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run ``dlgrade --course COURSE ARGS`` from ``cwd`` (default: the course) and return the process."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DLGRADE_ASSIGNMENTS", "DLGRADE_COURSE")}
    return subprocess.run([sys.executable, "-m", "grader.cli", "--course", str(course), *args],
                          cwd=cwd or course, capture_output=True, text=True, timeout=timeout,
                          env={**environment, **(env or {})})


def repository_state() -> str:
    """What git sees as changed or new in the checkout (to prove a command wrote nothing there)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
