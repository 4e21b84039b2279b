"""Fixtures of the report tests; the results they are built from are in report_cases.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_cases import make_class


@pytest.fixture
def graded_class(tmp_path: Path) -> Path:
    """A graded class folder (see report_cases.make_class)."""
    return make_class(tmp_path)
