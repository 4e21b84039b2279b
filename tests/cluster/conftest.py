"""Fixtures for the cluster tests: the sandbox mode, and the class's helpers (:mod:`classroom`)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from grader.engine.sandbox import isolation_available


def _load(name: str):
    """A helper module of this folder, by path (whatever pytest's import mode)."""
    spec = importlib.util.spec_from_file_location(f"cluster_tests_{name}", Path(__file__).parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def classroom():
    return _load("classroom")


@pytest.fixture(params=["bwrap", "none"])
def sandbox_mode(request, monkeypatch):
    """Each test runs with bubblewrap (skipped with the reason where it cannot run) and in the fallback."""
    if request.param == "bwrap":
        ok, why = isolation_available("auto")
        if not ok:
            if os.environ.get("DLGRADE_TEST_REQUIRE_BWRAP") == "1":
                pytest.fail(f"bubblewrap is required here (DLGRADE_TEST_REQUIRE_BWRAP=1): {why}")
            pytest.skip(f"bubblewrap isolation cannot run here: {why}")
    mode = "auto" if request.param == "bwrap" else "none"
    monkeypatch.setenv("DLGRADE_SANDBOX", mode)
    return mode

