"""``dlgrade serve --demo``: a course with the demo class, its first uploads queued, sign-in links printed.

The demo class is ``dlgrade demo``'s twelve students; each hands in one of
assignment 01's example submissions (the reference or a real mistake), so
the instructor's class table fills while the site runs. The instructor is
``prof``. Running it again reuses the course and issues fresh links.
"""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from grader.course.web import tables as T
from grader.course.web import tokens
from grader.course.web.course import CONFIG_NAME, Course

DEMO_CONFIG = """\
# The demo course of `dlgrade serve --demo`.
assignments = ["01_backprop", "02_softmax", "03_cnn"]
cooldown_seconds = 10
hidden_results = "at_once"
"""
INSTRUCTOR = "prof"
FIRST_ASSIGNMENT = "01_backprop"


def prepare_course(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / CONFIG_NAME
    if not config.exists():
        config.write_text(DEMO_CONFIG, encoding="utf-8")


def demo_links(course: Course, base: str) -> list[str]:
    """Issue the demo's tokens, queue the class's uploads once, and return lines to print."""
    from grader.course.demo import STUDENTS
    from grader.course.generate.build import load_examples
    from grader.course.web.submissions import accept_upload

    base = base.rstrip("/")
    with course.writer.begin() as conn:
        links = {user: tokens.issue(conn, user, "student", days=30) for user in STUDENTS}
        links[INSTRUCTOR] = tokens.issue(conn, INSTRUCTOR, "instructor", days=30)
        queued = conn.execute(sa.select(sa.func.count()).select_from(T.uploads)).scalar_one()
    for user in STUDENTS:
        course.gradebook.add_student(user)
    lines = []
    assignment = course.assignments.get(FIRST_ASSIGNMENT)
    if assignment is not None and not queued:
        examples = load_examples(assignment.folder)
        for i, student in enumerate(STUDENTS[1:], start=1):   # the first student's page starts empty
            source = assignment.folder / "examples" / examples[i % len(examples)].file
            accept_upload(course, assignment.name, student, io.BytesIO(source.read_bytes()),
                          f"{assignment.module}{source.suffix}")
        lines.append(f"{len(STUDENTS) - 1} demo uploads to {assignment.name} queued for grading.")
    lines += [f"student {STUDENTS[0]}:  {base}/signin?token={links[STUDENTS[0]]}",
              f"instructor {INSTRUCTOR}: {base}/signin?token={links[INSTRUCTOR]}"]
    return lines
