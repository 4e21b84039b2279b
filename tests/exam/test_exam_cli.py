"""An exam graded like any assignment: `dlgrade grade midterm SHEETS --manifest times.csv`.

Each student's key (their own expected answers, written into an answer
sheet) scores full marks on their own paper and not on another's; the
exam policy decides lateness from the submission times in the manifest.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from grader.course.exam.variants import compile_for_student
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet

ROOT = Path(__file__).resolve().parents[2]


def test_exam_graded_from_sheets_with_manifest(tmp_path):
    exam = load_assignment("midterm")
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    own = ["amina", "bilal", "chloe"]
    for student in own:
        compiled = compile_for_student(exam, student)
        (sheets / f"{student}.toml").write_text(render_sheet(compiled, fmt="toml", answers=expected_answers(compiled)))
    amina = compile_for_student(exam, "amina")
    (sheets / "copier.toml").write_text(render_sheet(amina, fmt="toml", answers=expected_answers(amina)))
    (sheets / "late.yaml").write_text(render_sheet(compile_for_student(exam, "late"), fmt="yaml",
                                                   answers=expected_answers(compile_for_student(exam, "late"))))
    manifest = tmp_path / "times.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "started_at", "submitted_at"])
        for student in own + ["copier"]:
            writer.writerow([student, "2025-03-10T09:05:00+05:00", "2025-03-10T10:20:00+05:00"])
        writer.writerow(["late", "2025-03-10T09:00:00+05:00", "2025-03-10T11:00:00+05:00"])  # 90 min passed at 10:30

    out = tmp_path / "graded"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "midterm", str(sheets), "--out", str(out),
                          "--manifest", str(manifest), "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    with (out / "summary.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    for student in own:
        assert float(rows[student]["score"]) == 30.0, rows[student]
    assert float(rows["copier"]["score"]) < 20.0          # another student's answers: a different paper
    assert float(rows["late"]["score"]) == 0.0            # right answers, handed in after the duration
    assert "not accepted" in rows["late"]["why"]
    assert float(rows["late"]["late min"]) > 0
    assert (out / "students" / "amina" / "results.json").is_file()
    variants = {(out / "instructor" / s / "report.instructor.txt").read_text().split("(variant ")[1].split(")")[0] for s in own}
    assert len(variants) == 3
