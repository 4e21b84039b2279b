"""Fixtures of the sandbox tests: the sandbox modes (bubblewrap skipped with the reason where it cannot run),
the kernel's Landlock ABI, and a pids cgroup that bounds a fork bomb. The helpers are in sandbox_support.py."""

from __future__ import annotations

import os

import pytest

from grader.engine.sandbox import isolation, isolation_available


def pytest_configure(config):
    config.addinivalue_line("markers", "keras: trains a tiny Keras model in the sandbox (a few seconds)")


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
