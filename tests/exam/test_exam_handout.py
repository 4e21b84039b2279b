"""The midterm's example class: nothing under students/ holds an expected value of the student's own paper.

Each student's sheet is one the demo writes (their key, rounded, a classmate's,
blank and transposed); every file a student receives is scanned for every
hidden expected value of that student's variant, the student's own answers
excepted (a report may echo what the student wrote).
"""

from __future__ import annotations

import csv

from handout_scan import _numbers, hidden_values, scan_folder

from grader.course.batch.classes import grade_class, read_manifest
from grader.course.demo import exam_answers
from grader.course.exam.variants import compile_for_student
from grader.engine.sheets import render_sheet

STUDENTS = ["amina", "bilal", "chloe", "dmitri", "esra"]


def test_no_student_file_of_the_midterm_holds_a_hidden_expected_value(midterm, tmp_path):
    papers = {s: compile_for_student(midterm, s) for s in STUDENTS}
    sheets, answers = tmp_path / "sheets", {}
    sheets.mkdir()
    for i, student in enumerate(STUDENTS):
        answers[student] = exam_answers(papers[student], i, papers[STUDENTS[(i + 1) % len(STUDENTS)]])
        (sheets / f"{student}.toml").write_text(render_sheet(papers[student], answers=answers[student],
                                                             student_id=student))
    manifest = tmp_path / "times.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "submitted_at"])
        writer.writerows([s, "2025-03-10T10:00:00"] for s in STUDENTS)
    out = tmp_path / "graded"
    outcome = grade_class(midterm, sorted(sheets.iterdir()), out, jobs=1, progress=False,
                          times=read_manifest(manifest, "Asia/Karachi"))
    assert not outcome.grader_errors and len(outcome.rows) == len(STUDENTS)
    for student in STUDENTS:
        values = hidden_values(papers[student])
        own: list[float] = []
        _numbers(list(answers[student].values()), own)
        assert values
        leaks = scan_folder(out / "students" / student, values, allowed=own)
        assert not leaks, {path: [(leak.written, leak.context) for leak in found[:3]] for path, found in leaks.items()}
    # The scan finds what it looks for: the instructor's files of a wrong sheet hold the expected values.
    assert scan_folder(out / "instructor" / "bilal", hidden_values(papers["bilal"]))
