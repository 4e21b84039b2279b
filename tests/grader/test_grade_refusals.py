"""What `dlgrade grade` refuses, and what it says, before anything is recorded.

A folder is a class folder, never a student; an id the roster does not know
needs --new-student; a manifest must match the submissions one to one (a
time without a zone takes policy.toml's); an exam graded without a manifest
after its window says that file times are used and what they cost; a sheet
whose header names another student is refused.
"""

from __future__ import annotations

import datetime as _dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from grader.cli import main
from grader.course.exam.variants import compile_for_student
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet

TINY = Path(__file__).resolve().parent / "tiny_assignment"
RIGHT = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0.0)\n\nSIGMOID_AT_ZERO = 0.5\n"


def grade(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["grade", *argv, "--jobs", "1", "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def recorded(db: Path) -> tuple[list[str], int]:
    """(roster, number of submissions) of an SQLite gradebook."""
    if not db.exists():
        return [], 0
    with sqlite3.connect(db) as conn:
        students = [r[0] for r in conn.execute("SELECT id FROM students ORDER BY id")]
        return students, conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]


def write(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(RIGHT)
    return folder


def test_a_folder_of_submissions_is_a_class_never_a_student(tmp_path, capsys):
    one = write(tmp_path / "one", "alice.py")
    write(one / "nested", "ghost.py")
    code, out, err = grade(capsys, str(TINY), str(one), "--out", str(tmp_path / "graded"))
    assert code == 0, err
    assert recorded(tmp_path / "graded" / "gradebook.db") == (["alice"], 1)
    assert "not submissions, not graded" in err and "nested" in err
    assert (tmp_path / "graded" / "students" / "alice" / "report.html").is_file()
    assert not (tmp_path / "graded" / "students" / "one").exists()


def test_an_id_the_roster_does_not_know_needs_new_student(tmp_path, capsys):
    out = tmp_path / "graded"
    assert grade(capsys, str(TINY), str(write(tmp_path / "class", "alice.py", "bob.py")), "--out", str(out))[0] == 0
    before = recorded(out / "gradebook.db")
    typo = write(tmp_path / "late", "alicee.py")
    code, _, err = grade(capsys, str(TINY), str(typo), "--out", str(out))
    assert code == 2
    assert "alicee" in err and "did you mean alice" in err and "--new-student" in err and "Nothing was recorded" in err
    assert recorded(out / "gradebook.db") == before
    code, _, err = grade(capsys, str(TINY), str(typo), "--out", str(out), "--new-student")
    assert code == 0, err
    assert recorded(out / "gradebook.db") == (["alice", "alicee", "bob"], 3)


@pytest.fixture
def tiny_with_deadline(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    (folder / "policy.toml").write_text('timezone = "Asia/Karachi"\ncloses_at = 2026-01-10T12:00:00\n'
                                        'accept_late = false\n')
    return folder


def test_a_manifest_row_without_submission_and_a_submission_without_row_name_each_other(
        tmp_path, capsys, tiny_with_deadline):
    students = write(tmp_path / "class", "alice.py", "bob.py")
    manifest = tmp_path / "times.csv"
    manifest.write_text("student,submitted_at\nalicee,2026-01-10T11:00:00\nbob,2026-01-10T11:00:00\n")
    code, _, err = grade(capsys, str(tiny_with_deadline), str(students), "--out", str(tmp_path / "graded"),
                         "--manifest", str(manifest))
    assert code == 2
    assert "manifest row 'alicee' matches no submission" in err and "'alice' has no row" in err
    assert "submission 'alice'" in err and "has no manifest row" in err
    assert recorded(tmp_path / "graded" / "gradebook.db") == ([], 0)


def test_a_time_without_zone_is_in_the_policy_zone(tmp_path, capsys, tiny_with_deadline):
    students = write(tmp_path / "class", "alice.py", "bob.py")
    manifest = tmp_path / "times.csv"
    # 11:59 in Karachi is on time; 12:01 (07:01 UTC) is one minute late: not accepted.
    manifest.write_text("student,submitted_at\nalice,2026-01-10T11:59:00\nbob,2026-01-10T07:01:00+00:00\n")
    code, out, err = grade(capsys, str(tiny_with_deadline), str(students), "--out", str(tmp_path / "graded"),
                           "--manifest", str(manifest))
    assert code == 0, err
    with sqlite3.connect(tmp_path / "graded" / "gradebook.db") as conn:
        times = dict(conn.execute("SELECT student, submitted_at FROM submissions"))
        status = dict(conn.execute("SELECT student, late_status FROM submissions"))
    assert _dt.datetime.fromisoformat(times["alice"]) == _dt.datetime(2026, 1, 10, 6, 59)   # stored in UTC
    assert status == {"alice": "on time", "bob": "not accepted"}
    feedback = (tmp_path / "graded" / "students" / "bob" / "feedback.txt").read_text()
    assert "Final score: 0 / 2" in feedback and "not accepted: late by 1 min" in feedback


def test_no_manifest_after_the_deadline_says_what_file_times_do(tmp_path, capsys, tiny_with_deadline):
    students = write(tmp_path / "class", "alice.py")
    code, _, err = grade(capsys, str(tiny_with_deadline), str(students), "--out", str(tmp_path / "graded"))
    assert code == 0, err
    assert "WARNING: no --manifest" in err and "modification time" in err
    assert "1 of 1 are dated after the deadline" in err and "not accepted: they score 0" in err
    assert "--manifest times.csv" in err


def test_an_exam_without_manifest_warns_and_a_sheet_of_another_student_is_refused(tmp_path, capsys):
    exam = load_assignment("midterm")
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    for student in ("amina", "bilal"):
        paper = compile_for_student(exam, student)
        (sheets / f"{student}.toml").write_text(render_sheet(paper, answers=expected_answers(paper),
                                                             student_id=student))
    code, _, err = grade(capsys, "midterm", str(sheets), "--out", str(tmp_path / "graded"))
    assert code == 0, err
    assert "WARNING: no --manifest" in err and "2 of 2 are dated after the deadline" in err

    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "bilal.toml").write_text((sheets / "amina.toml").read_text())   # amina's sheet under bilal's name
    before = recorded(tmp_path / "graded" / "gradebook.db")
    code, _, err = grade(capsys, "midterm", str(bob / "bilal.toml"), "--out", str(tmp_path / "graded"))
    assert code == 2
    assert "bilal.toml" in err and "the file is bilal's" in err and "student amina" in err
    assert recorded(tmp_path / "graded" / "gradebook.db") == before


def test_exam_grade_is_gone(capsys):
    assert main(["exam", "grade", "midterm", "x.toml"]) == 2
    assert "dlgrade grade EXAM SHEETS" in capsys.readouterr().err


def test_the_help_states_the_submission_id_rule(capsys):
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    text = capsys.readouterr().out
    assert "Submission ids (one rule)" in text and "alice.py -> alice" in text and "--new-student" in text


def test_an_assignment_that_asks_for_folders_takes_one_folder_per_student(tmp_path, capsys):
    folders = tmp_path / "tiny_folders"
    shutil.copytree(TINY, folders)
    questions = folders / "questions.py"
    questions.write_text(questions.read_text().replace('module="tiny")', 'module="tiny", submissions="folders")'))
    write(tmp_path / "class" / "alice", "tiny.py", "helper.py")
    write(tmp_path / "class" / "bob", "tiny.py")
    code, _, err = grade(capsys, str(folders), str(tmp_path / "class"), "--out", str(tmp_path / "graded"))
    assert code == 0, err
    assert recorded(tmp_path / "graded" / "gradebook.db") == (["alice", "bob"], 2)
