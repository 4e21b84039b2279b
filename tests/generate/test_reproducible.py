"""Generated public checks are the same on every CPU: compared as data within a stated tolerance.

numpy's BLAS picks a kernel by CPU, and two kernels round differently: one
array of 03_cnn's public checks came out 1.8e-15 away on another machine.
`dlgrade generate` must leave the committed tree unchanged there, and
`generate --check` must pass; a value that really moved is named with how far.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.course.generate.compare import ATOL, RTOL, data_differences
from grader.engine import datafile

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "03_cnn"


def dlgrade(*args: str, course: Path, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if k not in ("DLGRADE_ASSIGNMENTS", "DLGRADE_COURSE")}
    return subprocess.run([sys.executable, "-m", "grader.cli", "--course", str(course), *args], cwd=course,
                          capture_output=True, text=True, timeout=600, env={**environment, **(env or {})})


@pytest.fixture
def course(tmp_path) -> Path:
    """A copy of one assignment and its committed template."""
    shutil.copytree(ROOT / "assignments" / ASSIGNMENT, tmp_path / "assignments" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "student_template" / ASSIGNMENT, tmp_path / "student_template" / ASSIGNMENT)
    return tmp_path


def nudge_first_array(public: Path, by: float) -> str:
    """Add ``by`` to one element of the first float array in the public checks; return where it is."""
    data = datafile.load(public)
    for q_index, question in enumerate(data["questions"]):
        for c_index, case in enumerate(question["cases"]):
            if isinstance(case["expected"], np.ndarray) and case["expected"].dtype.kind == "f":
                case["expected"].flat[0] += by
                datafile.save(data, public)
                return f"questions[{q_index}].cases[{c_index}].expected"
    raise AssertionError("no float array in the public checks")


def test_differences_within_the_tolerance_are_none():
    a = np.array([[4.764148648467961, 1.0], [0.0, -2.5]])
    assert data_differences({"x": a + 2.7e-15, "n": 3}, {"x": a, "n": 3}) == []
    assert data_differences([1.0 + 1e-15], [1.0]) == []
    assert RTOL * 4.76 + ATOL > 2.7e-15


def test_differences_beyond_it_say_where_and_by_how_much():
    a = np.zeros((2, 3))
    b = a.copy()
    b[1, 2] = 1e-6
    [line] = data_differences({"q": [{"expected": b}]}, {"q": [{"expected": a}]})
    assert line.startswith("q[0].expected: value[1, 2] moved by 1e-06 (0.0 committed, 1e-06 now;")
    assert data_differences({"label": "a"}, {"label": "b"}) == ["label: 'a' now, 'b' committed"]
    assert data_differences({"x": np.zeros(3)}, {"x": np.zeros(4)}) == ["x: shape (3,) now, (4,) committed"]


def test_a_last_bit_difference_leaves_the_tree_unchanged(course):
    public = course / "student_template" / ASSIGNMENT / "checks" / "public.json"
    nudge_first_array(public, 1.8e-15)
    committed = {p: p.read_bytes() for p in public.parent.iterdir()}
    check = dlgrade("generate", "--check", ASSIGNMENT, course=course)
    assert check.returncode == 0, check.stdout + check.stderr
    run = dlgrade("generate", ASSIGNMENT, course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    assert {p: p.read_bytes() for p in public.parent.iterdir()} == committed


def test_a_value_that_moved_is_named_with_how_far(course):
    public = course / "student_template" / ASSIGNMENT / "checks" / "public.json"
    where = nudge_first_array(public, 1e-6)
    check = dlgrade("generate", "--check", ASSIGNMENT, course=course)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"public.json: out of date: {where}: value[0, 0, 0, 0] moved by 1e-06" in check.stdout, check.stdout
    assert f"tolerance rtol={RTOL:g}, atol={ATOL:g}" in check.stdout


def test_another_blas_kernel_changes_nothing(course, tmp_path):
    """A real second kernel where OpenBLAS offers one this CPU runs (Sandybridge: AVX)."""
    kernel = {"OPENBLAS_CORETYPE": "Sandybridge"}
    fresh = dlgrade("generate", ASSIGNMENT, "--out", str(tmp_path / "fresh"), course=course, env=kernel)
    if fresh.returncode < 0 or fresh.returncode == 132:
        pytest.skip(f"this CPU cannot run OpenBLAS's Sandybridge kernel (exit {fresh.returncode})")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    committed = course / "student_template" / ASSIGNMENT / "checks" / "public.npz"
    if (tmp_path / "fresh" / ASSIGNMENT / "checks" / "public.npz").read_bytes() == committed.read_bytes():
        pytest.skip("numpy here gives the same bits with this kernel (not OpenBLAS, or the same code path)")
    before = committed.read_bytes()
    check = dlgrade("generate", "--check", ASSIGNMENT, course=course, env=kernel)
    assert check.returncode == 0, check.stdout + check.stderr
    assert dlgrade("generate", ASSIGNMENT, course=course, env=kernel).returncode == 0
    assert committed.read_bytes() == before
