"""Shared helpers of the sandbox tests: real submission files written into tmp_path."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from grader.sandbox import Limits, isolation_available
from grader.sandbox import isolation

REPO = Path(__file__).resolve().parents[2]

#: Short limits for hostile submissions: the whole suite has to stay fast.
FAST = Limits(wall_seconds=30.0, request_seconds=2.0, load_seconds=3.0, max_restarts=3,
              file_bytes=1 << 20, tmp_bytes=8 << 20)


def pytest_configure(config):
    config.addinivalue_line("markers", "keras: trains a tiny Keras model in the sandbox (a few seconds)")


def write_py(directory: Path, code: str, name: str = "submission.py") -> Path:
    path = Path(directory) / name
    path.write_text(textwrap.dedent(code))
    return path


def write_notebook(directory: Path, cells: list, name: str = "submission.ipynb") -> Path:
    """``cells``: code strings, or ("markdown", text) pairs."""
    nb_cells = []
    for cell in cells:
        if isinstance(cell, tuple):
            nb_cells.append({"cell_type": cell[0], "metadata": {}, "source": cell[1]})
        else:
            source = textwrap.dedent(cell).strip("\n")
            nb_cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                             "source": source.splitlines(True)})
    nb = {"cells": nb_cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = Path(directory) / name
    path.write_text(json.dumps(nb, indent=1))
    return path


def bwrap_usable() -> bool:
    return isolation_available("auto")[0]


@pytest.fixture
def bwrap():
    """The bubblewrap mode; a machine that cannot run it skips, unless DLGRADE_TEST_REQUIRE_BWRAP=1 (CI)."""
    if isolation.requested_mode() == "none":
        pytest.skip("DLGRADE_SANDBOX=none: this run proves the fallback")
    ok, why = isolation_available("auto")
    if not ok:
        if os.environ.get("DLGRADE_TEST_REQUIRE_BWRAP") == "1":
            pytest.fail(f"bubblewrap isolation is required here (DLGRADE_TEST_REQUIRE_BWRAP=1): {why}")
        pytest.skip(f"bubblewrap isolation cannot run here: {why}")
    return "bwrap"


@pytest.fixture
def landlock_abi() -> int:
    """The kernel's Landlock ABI; a kernel without it skips, unless DLGRADE_TEST_REQUIRE_LANDLOCK=1 (CI)."""
    from grader.sandbox import landlock

    version, why = landlock.abi()
    if not version:
        if os.environ.get("DLGRADE_TEST_REQUIRE_LANDLOCK") == "1":
            pytest.fail(f"Landlock is required here (DLGRADE_TEST_REQUIRE_LANDLOCK=1): {why}")
        pytest.skip(f"this kernel has {why}")
    return version


@pytest.fixture(params=["bwrap", "none"])
def mode(request):
    """Both the bubblewrap mode and the fallback (rlimits, timeout and seccomp; no namespaces)."""
    if request.param == "bwrap":
        return request.getfixturevalue("bwrap")
    return "none"


def leftover_processes(uid: int | None) -> list[int]:
    if uid is None:
        return []
    return isolation.processes_of_uid(uid, include_zombies=False)
