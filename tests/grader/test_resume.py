"""A batch killed with SIGKILL at random moments, then finished, loses nothing.

200 submissions of a small assignment are graded by `dlgrade grade` into a
gradebook; the whole command (its process group) is killed at a random
moment three times, then run to the end. The gradebook must equal the one of
an uninterrupted run: the same final scores, one submission and one current
grading per student, nothing lost or duplicated.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).resolve().parent / "tiny_assignment"
STUDENTS = 200


def write_class(folder: Path) -> None:
    folder.mkdir()
    for i in range(STUDENTS):
        relu = "np.maximum(z, 0.0)" if i % 3 else "np.abs(z)"          # a third get relu wrong
        answer = "0.5" if i % 4 else "0.25"                            # a quarter get the number wrong
        (folder / f"s{i:03d}.py").write_text(
            f"# student {i}\nimport numpy as np\n\ndef relu(z):\n    return {relu}\n\nSIGMOID_AT_ZERO = {answer}\n")


def grade_command(classdir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "grader.cli", "grade", str(TINY), str(classdir), "--out", str(out),
            "--jobs", "2", "--no-progress"]


def gradebook_state(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        per_student = conn.execute(
            "SELECT s.student, COUNT(DISTINCT s.id), COUNT(g.id), SUM(g.is_current), "
            "MAX(CASE WHEN g.is_current THEN g.score END) "
            "FROM submissions s JOIN gradings g ON g.submission_id = s.id GROUP BY s.student").fetchall()
        questions = conn.execute(
            "SELECT s.student, q.question, q.score FROM submissions s JOIN gradings g ON g.submission_id = s.id "
            "JOIN question_results q ON q.grading_id = g.id WHERE g.is_current ORDER BY 1, 2").fetchall()
    return {"students": sorted(per_student), "questions": questions}


def test_killed_batch_resumes_to_the_same_gradebook(tmp_path):
    classdir = tmp_path / "class"
    write_class(classdir)

    reference_out = tmp_path / "uninterrupted"
    started = time.monotonic()
    run = subprocess.run(grade_command(classdir, reference_out), cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    full_run = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    expected = gradebook_state(reference_out / "gradebook.db")
    assert len(expected["students"]) == STUDENTS
    assert all(row[1:4] == (1, 1, 1) for row in expected["students"])  # one submission, one grading each

    out = tmp_path / "interrupted"
    rng = random.Random(20261128)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(grade_command(classdir, out), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        # Past the start-up (imports, compiling the assignment), and early enough that three
        # interrupted runs cannot finish the batch between them.
        time.sleep(max(0.15 * full_run, 2.0) + rng.uniform(0.0, 0.1) * full_run)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    assert kills >= 1
    partial = gradebook_state(out / "gradebook.db")
    assert 0 < len(partial["students"]) < STUDENTS, "the kills interrupted the batch"

    run = subprocess.run(grade_command(classdir, out), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "already graded" in run.stderr
    assert gradebook_state(out / "gradebook.db") == expected

    # Once finished, running again grades nothing new and changes nothing.
    run = subprocess.run(grade_command(classdir, out), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "0 graded now, 200 unchanged" in run.stdout
    assert gradebook_state(out / "gradebook.db") == expected
