"""`dlgrade demo`, the README's main job, on one assignment (the full demo is the quick start)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_grades_a_class_and_exports_the_gradebook(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "demo", "--assignments", "01_backprop", "--out", str(out),
                          "--no-progress"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "The class gradebook" in run.stdout and "ada" in run.stdout
    assert (out / "student_template" / "01_backprop" / "backprop.ipynb").is_file()
    with (out / "grades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    scores = {row["student"]: float(row["01_backprop"]) for row in rows}
    assert scores["ada"] == 31.0 and min(scores.values()) < 31.0  # the reference, and mistakes that cost points
    assert (out / "graded" / "01_backprop" / "students" / "ada" / "report.html").is_file()
    assert (out / "graded" / "01_backprop" / "class-report.html").is_file()
    # The final table is the gradebook's, and the student files are named apart from the instructor's.
    table = run.stdout.split("The class gradebook")[1]
    for student, score in scores.items():
        assert f"{round(score, 2):g}/31" in next(line for line in table.splitlines() if line.startswith(student + " "))
    assert "students/<student>/" in run.stdout and "never hand out" in run.stdout
    assert "report.txt" not in run.stdout


def test_demo_grades_the_exam_against_each_students_own_paper(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "demo", "--assignments", "midterm", "--out", str(out),
                          "--no-progress"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    with (out / "grades.csv").open() as handle:
        scores = {row["student"]: float(row["midterm"]) for row in csv.DictReader(handle)}
    assert scores["ada"] == 30.0                        # her own key
    assert scores["chen"] < 10.0                        # a classmate's sheet: another paper
    assert (out / "papers" / "ada" / "paper.html").is_file()
    assert (out / "papers" / "ada" / "paper.md").read_text() != (out / "papers" / "ben" / "paper.md").read_text()
