"""A course holding the midterm with a window that is open now, for the exam-on-the-website tests.

The midterm's own policy.toml sits in March 2025; the tests copy the exam into a temporary
assignments folder and give it a policy without dates (the clock is the student's duration
only), so nothing depends on today's date. The test drives the clock by moving the stored
opening time, never by sleeping.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from pathlib import Path

import sqlalchemy as sa
from web_support import ROOT

EXAM = "midterm"
POLICY = """kind = "exam"
duration_minutes = {duration}
max_attempts = 3
counting = "last"
accept_late = {accept_late}
late_grace_minutes = 2
late_penalty_per_day = 0.5
"""


def exam_assignments(folder: Path, *, duration: float = 90, accept_late: bool = False) -> Path:
    """An assignments folder holding a copy of the midterm with a dateless policy."""
    target = folder / EXAM
    shutil.copytree(ROOT / "assignments" / EXAM, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "policy.toml").write_text(POLICY.format(duration=duration, accept_late=str(accept_late).lower()))
    return folder


def write_exam_course(folder: Path, *, hidden: str = "on_release") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(f'assignments = ["{EXAM}"]\ncooldown_seconds = 0\n'
                                        f'hidden_results = "{hidden}"\n')
    return folder


def move_opening(course_dir: Path, student: str, minutes_ago: float, *, db: str | None = None) -> None:
    """Set ``student``'s opening time to ``minutes_ago`` minutes before now: the website's sitting and
    the gradebook's record of the start (from which the gradebook counts lateness) alike."""
    from grader.course.gradebook import schema as S
    from grader.course.web import exam_tables as X
    from grader.course.web.course import Course, utcnow

    opened = utcnow() - _dt.timedelta(minutes=minutes_ago)
    course = Course(course_dir, db=db)
    try:
        with course.writer.begin() as conn:
            changed = conn.execute(sa.update(X.sittings).where(
                X.sittings.c.assignment == EXAM, X.sittings.c.student == student)
                .values(opened_at=opened)).rowcount
            started = conn.execute(sa.update(S.starts).where(
                S.starts.c.assignment == EXAM, S.starts.c.student == student).values(started_at=opened)).rowcount
        assert changed == 1 and started == 1, f"{student} has no sitting to move"
    finally:
        course.close()
