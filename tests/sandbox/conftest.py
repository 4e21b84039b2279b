"""Shared helpers of the sandbox tests: real submission files written into tmp_path."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from grader.engine.sandbox import Limits, isolation, isolation_available

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
    from grader.engine.sandbox import landlock

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


@pytest.fixture
def bounded_processes():
    """Run the test inside a pids cgroup of its own (at most 1024 processes and threads, pytest's included),
    so that a sandbox that fails to cap a fork bomb fails the test instead of taking the machine down.

    The sandbox makes its children's groups beneath the grader's own, so the bound holds them too. Where
    no pids cgroup can be made: a non-root test bounds itself with RLIMIT_NPROC; root (which that limit
    does not bind) skips.
    """
    import resource

    from grader.engine.sandbox import cgroups

    parent = cgroups._controller_dir("pids")
    folder = None
    if parent is not None:
        folder = os.path.join(parent, f"dlgrade-test-{os.getpid()}")
        try:
            os.mkdir(folder)
            with open(os.path.join(folder, "pids.max"), "w") as handle:
                handle.write("1024")
            with open(os.path.join(folder, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
        except OSError:
            try:
                os.rmdir(folder)
            except OSError:
                pass
            folder = None
    if folder is None:
        if os.geteuid() == 0:
            pytest.skip("no writable pids cgroup to bound a fork bomb in, and RLIMIT_NPROC does not bind root")
        soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        resource.setrlimit(resource.RLIMIT_NPROC, (min(hard, 4096), hard))
        try:
            yield None
        finally:
            resource.setrlimit(resource.RLIMIT_NPROC, (soft, hard))
        return
    try:
        yield folder
    finally:
        with open(os.path.join(parent, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))
        for _ in range(200):
            try:
                os.rmdir(folder)
                break
            except OSError:
                import time

                time.sleep(0.01)
