"""Every file and export of a graded class shows the gradebook's final score, and says why.

A class of the tiny assignment with a deadline and ``counting = "last"``:
alice on time; bob 1 minute late (-10 %); carol on time, then a second,
wrong attempt three days late (too late: not accepted, and it must not wipe
her first under "last"); dave overridden twice, the second revoked (the first
comes back); erin half right, overridden, revoked (back to her graded score).
Every student's files, the summary, the class report and the CSV exports
must show what ``dlgrade grades show`` shows, before and after ``dlgrade
report`` rewrites the folder.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from grader.cli import main

TINY = Path(__file__).resolve().parent / "tiny_assignment"
POLICY = """\
timezone = "UTC"
closes_at = 2026-01-10T12:00:00
counting = "last"
late_penalty_per_day = 0.1
late_max_days = 2
"""
RIGHT = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0.0)\n\nSIGMOID_AT_ZERO = 0.5\n"
HALF = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0.0)\n\nSIGMOID_AT_ZERO = 0.25\n"
WRONG = "import numpy as np\n\ndef relu(z):\n    return np.abs(z)\n\nSIGMOID_AT_ZERO = 0.25\n"


def dlgrade(capsys, *argv: str) -> str:
    capsys.readouterr()
    code = main([*argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def graded(tmp_path, capsys):
    assignment = tmp_path / "tiny"
    shutil.copytree(TINY, assignment)
    (assignment / "policy.toml").write_text(POLICY)
    first = tmp_path / "first"
    first.mkdir()
    for student, source in {"alice": RIGHT, "bob": RIGHT, "carol": RIGHT, "dave": RIGHT, "erin": HALF}.items():
        (first / f"{student}.py").write_text(source)
    (tmp_path / "first.csv").write_text(
        "student,submitted_at\nalice,2026-01-10T11:00:00\nbob,2026-01-10T12:01:00\n"
        "carol,2026-01-10T10:00:00\ndave,2026-01-10T11:30:00\nerin,2026-01-10T11:59:00Z\n")
    out, db = tmp_path / "graded", str(tmp_path / "graded" / "gradebook.db")
    common = ["--out", str(out), "--jobs", "1", "--no-progress"]
    dlgrade(capsys, "grade", str(assignment), str(first), "--manifest", str(tmp_path / "first.csv"), *common)
    second = tmp_path / "second"
    second.mkdir()
    (second / "carol.py").write_text(WRONG)
    (tmp_path / "second.csv").write_text("student,submitted_at\ncarol,2026-01-13T12:00:00+00:00\n")
    dlgrade(capsys, "grade", str(assignment), str(second), "--manifest", str(tmp_path / "second.csv"), *common)
    by = ["--by", "Prof. Ada"]
    dlgrade(capsys, "grades", "override", "--db", db, "dave", "tiny", "--score", "1.5", "--reason", "regrade request",
            *by)
    dlgrade(capsys, "grades", "override", "--db", db, "dave", "tiny", "--score", "0.5", "--reason", "plagiarism?",
            *by)
    dlgrade(capsys, "grades", "revoke", "--db", db, "dave", "tiny", "--reason", "no plagiarism after all", *by)
    dlgrade(capsys, "grades", "override", "--db", db, "erin", "tiny", "--score", "2", "--reason", "typo", *by)
    dlgrade(capsys, "grades", "revoke", "--db", db, "erin", "tiny", "--reason", "not a typo", *by)
    return out, db


def shown(capsys, db: str) -> dict[str, float]:
    """``dlgrade grades show``: student -> final score."""
    lines = dlgrade(capsys, "grades", "show", "--db", db, "--assignment", "tiny").splitlines()
    return {line.split()[0]: float(line.split()[2]) for line in lines[2:] if line.strip()}


def scores_in_files(out: Path, student: str) -> dict[str, float]:
    mine, theirs = out / "students" / student, out / "instructor" / student
    feedback = (mine / "feedback.txt").read_text()
    html = (mine / "report.html").read_text()
    instructor = json.loads((theirs / "results.instructor.json").read_text())
    return {
        "results.json": json.loads((mine / "results.json").read_text())["score"],
        "feedback.txt header": float(re.search(r": ([\d.]+) of 2 points", feedback.splitlines()[0]).group(1)),
        "feedback.txt final": float(re.search(r"Final score: ([\d.]+) / 2", feedback).group(1)),
        "report.html": float(re.search(r'id="score">([\d.]+) ', html).group(1)),
        "results.instructor.json": instructor["score"],
        "results.instructor.json final": instructor["extra_data"]["final"]["score"],
        "report.instructor.txt": float(re.search(r"Final score: ([\d.]+) / 2",
                                                 (theirs / "report.instructor.txt").read_text()).group(1)),
    }


def class_scores(out: Path, exports: Path) -> dict[str, dict[str, float]]:
    with (out / "summary.csv").open() as handle:
        summary = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
    everyone = (out / "class-report.html").read_text().split('id="all-heading"')[1]
    report = {m.group(1): float(m.group(2))
              for m in re.finditer(r">(\w+)</a></th><td class=\"num\">([\d.]+) / 2", everyone)}
    with (exports / "grades.csv").open() as handle:
        sheet = {row["student"]: float(row["tiny"]) for row in csv.DictReader(handle)}
    per_question: dict[str, float] = {}
    with (exports / "questions.csv").open() as handle:
        for row in csv.DictReader(handle):
            per_question[row["student"]] = per_question.get(row["student"], 0.0) + float(row["score"])
    return {"summary.csv": summary, "class-report.html": report, "grades.csv": sheet,
            "per-question sum": per_question}


def check_everything(capsys, out: Path, db: str, exports: Path) -> dict[str, float]:
    finals = shown(capsys, db)
    assert finals == {"alice": 2.0, "bob": 1.8, "carol": 2.0, "dave": 1.5, "erin": 1.0}
    for student, final in finals.items():
        for where, score in scores_in_files(out, student).items():
            assert score == pytest.approx(final), f"{student}: {where} says {score}, grades show {final}"
    dlgrade(capsys, "grades", "export", "--db", db, "--out", str(exports / "grades.csv"),
            "--per-question", str(exports / "questions.csv"))
    for where, scores in class_scores(out, exports).items():
        assert scores == pytest.approx(finals), f"{where}: {scores} != {finals}"
    return finals


def test_every_file_and_export_shows_the_gradebook_final_score(graded, capsys, tmp_path):
    out, db = graded
    check_everything(capsys, out, db, tmp_path / "exports")

    bob = (out / "students" / "bob" / "feedback.txt").read_text()
    assert "late by 1 min" in bob and "penalty -10%" in bob and "Graded score" in bob and ": 2" in bob
    carol = (out / "students" / "carol" / "feedback.txt").read_text()
    assert "attempt 2 too late" in carol and "does not count" in carol and "attempt 1 of 2 counts" in carol
    assert "What counts: your latest attempt" in carol and "not accepted" in carol
    dave = (out / "students" / "dave" / "report.html").read_text()
    assert "override by Prof. Ada: 1.5 / 2 (regrade request)" in dave and "plagiarism" not in dave
    erin = (out / "students" / "erin" / "results.json").read_text()
    assert "override" not in erin

    history = dlgrade(capsys, "grades", "history", "--db", db, "dave", "tiny")
    assert "no plagiarism after all" in history and "replaced by override" in history

    # Rewriting the folder from the gradebook changes nothing that a file says.
    for path in (out / "students").rglob("*"):
        if path.is_file():
            path.write_text("stale")
    dlgrade(capsys, "report", str(out))
    check_everything(capsys, out, db, tmp_path / "exports-again")
