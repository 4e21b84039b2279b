"""Fixtures for the exam tests: the midterm, its salt, students' compiled variants, sheet writers."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from grader.course.exam.variants import SALT_ENV, compile_for_student
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet

ROOT = Path(__file__).resolve().parents[2]
MIDTERM_DIR = ROOT / "assignments" / "midterm"


@pytest.fixture(autouse=True)
def _no_salt_override(monkeypatch):
    """The salt comes from the exam's secret.toml unless a test sets the variable itself."""
    monkeypatch.delenv(SALT_ENV, raising=False)


@pytest.fixture(scope="session")
def midterm():
    return load_assignment(MIDTERM_DIR)


@pytest.fixture(scope="session")
def questions_module(midterm):
    return sys.modules[f"dlgrade_assignment_{MIDTERM_DIR.name}"]


@pytest.fixture(scope="session")
def salt():
    return tomllib.loads((MIDTERM_DIR / "secret.toml").read_text())["salt"]


@pytest.fixture(scope="session")
def compiled_for(midterm, salt):
    """compiled_for(student_id) -> that student's CompiledAssignment (cached)."""
    cache: dict = {}

    def get(student_id: str):
        if student_id not in cache:
            cache[student_id] = compile_for_student(midterm, student_id, salt=salt)
        return cache[student_id]

    return get


@pytest.fixture
def key_sheet(tmp_path):
    """key_sheet(compiled, name, fmt="toml", changes=None) -> a sheet holding the expected answers."""

    def write(compiled, name: str, fmt: str = "toml", changes: dict | None = None) -> Path:
        answers = expected_answers(compiled)
        answers.update(changes or {})
        path = tmp_path / f"{name}.{fmt}"
        path.write_text(render_sheet(compiled, fmt=fmt, answers=answers))
        return path

    return write
