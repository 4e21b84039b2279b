"""Final scores as CSV in the LMSs' own grade-import formats, besides the website's generic export.

Canvas (Gradebook > Import; the columns of the instructor guide "How do I import
grades in the Gradebook?"): ``Student``, ``ID``, ``SIS User ID``,
``SIS Login ID``, ``Section``, then one column per assignment; a second row
whose ``Student`` cell is ``Points Possible`` gives each column's points. Canvas
matches a row by its Canvas ``ID`` or its SIS ids; dlgrade does not know Canvas's
internal ids, so ``ID`` is left empty and the course's user id goes in
``SIS User ID`` and ``SIS Login ID`` (with LTI, the user id is the SIS id the
launch carries). An assignment column whose header has no ``(id)`` makes a new
Canvas assignment of that name.

Moodle (Grades > Import > CSV file; MoodleDocs "Grade import"): any columns, the
first row their names; at import the instructor maps one column to the user
("ID number" to ``useridnumber``, or "Email address" to ``useremail``) and each
grade column to a grade item or a new one. The file carries the identity
columns of Moodle's own grade export (``First name``, ``Last name``,
``ID number``, ``Email address``) and one grade column per assignment.

Scores are the gradebook's final scores (policy and overrides applied); a
student with nothing that counts gets an empty cell, never a zero. Every cell
goes through :func:`grader.engine.textsafe.spreadsheet_row` (no formula injection).
"""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.engine.textsafe import spreadsheet_row

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")


def _people(course) -> dict[str, tuple[str | None, str | None]]:
    """Every student of the gradebook: id -> (name, email)."""
    with course.engine.begin() as conn:
        rows = conn.execute(sa.select(S.students.c.id, S.students.c.name, S.students.c.email)).all()
    return {r.id: (r.name, r.email) for r in rows}


def _scores(course, assignment: str) -> dict[str, float | None]:
    return {s.student: s.score for s in course.gradebook.final_scores(assignment)}


def _points(course, assignment: str) -> float:
    info = next((a for a in course.gradebook.assignments() if a.name == assignment), None)
    return float(info.max_score) if info and info.max_score else 0.0


def _cell(score: float | None):
    return "" if score is None else score


def canvas_csv(course, assignment) -> str:
    """One assignment's final scores in Canvas's gradebook import format."""
    scores, people = _scores(course, assignment.name), _people(course)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_row([*CANVAS_COLUMNS, assignment.title]))
    writer.writerow(spreadsheet_row(["Points Possible", "", "", "", "", _points(course, assignment.name)]))
    for student in sorted(set(people) | set(scores)):
        name = people.get(student, (None, None))[0] or student
        writer.writerow(spreadsheet_row([name, "", student, student, "", _cell(scores.get(student))]))
    return buffer.getvalue()


def moodle_csv(course, assignment) -> str:
    """One assignment's final scores for Moodle's CSV grade import (map "ID number" to useridnumber)."""
    scores, people = _scores(course, assignment.name), _people(course)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_row([*MOODLE_COLUMNS, assignment.title]))
    for student in sorted(set(people) | set(scores)):
        name, email = people.get(student, (None, None))
        first, _, last = (name or "").partition(" ")
        writer.writerow(spreadsheet_row([first, last, student, email or "", _cell(scores.get(student))]))
    return buffer.getvalue()
