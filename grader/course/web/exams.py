"""Exams sat on the website: the clock, the typed answers, the hand-in at the deadline.

A student *opens* an exam: the server records the opening time, and the
clock starts there. The student's deadline is

    min(opened_at + duration, closes_at) + the student's extension

(``duration_minutes`` and ``closes_at`` from the exam's ``policy.toml``; the
extension is the latest one the instructor granted, ``web_extensions``, the
same table as for assignments). The server alone decides whether time is
left; the page only shows it.

Answers are typed into fields, one per answer key of the student's own
variant (:func:`grader.course.exam.variants.compile_for_student`): a number, a list
of numbers, a matrix of the key's shape, or an expression. Each field is
saved as typed (text: nothing is parsed on save except to tell the student
how it reads) and every save is in the history. When the student submits,
or when time runs out, the saved answers are written as an answer sheet
(:func:`grader.engine.sheets.render_sheet`) and handed in as an upload: the worker
grades it exactly as ``dlgrade grade`` grades the same sheet.

Time running out: the sitting stops taking answers once the policy stops
accepting them (:func:`grader.course.policy.late_status`: after the grace when
late work is not accepted; after ``late_max_days`` when it is, the late
answers penalised by the gradebook). :func:`sweep` then hands in the saved
answers, stamped with the deadline; it runs at every exam request and in the
idle loop of the workers, so no answer waits on the student coming back.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from grader.course.policy import NOT_ACCEPTED, TOO_LATE, late_status
from grader.course.web import exam_tables as X
from grader.course.web import queue
from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment, utcnow
from grader.course.web.exam_fields import (
    PAPERS,
    Field,
    Papers,
    answer_sheet,
    check_value,
    expression_preview,
    fields_of,
    number_reading,
    prompt_formulas,
    read_number,
    sheet_value,
    typed_from_sheet,
)
from grader.course.web.standing import Refused, standing

SHEET_NAME = "answers.toml"

__all__ = [
    # the fields and the typed answers (grader.course.web.exam_fields), named here too
    "Field", "Papers", "PAPERS", "fields_of", "read_number", "number_reading", "expression_preview",
    "prompt_formulas", "check_value", "sheet_value", "typed_from_sheet", "answer_sheet",
    # the sheet, the clock and the sitting
    "SHEET_NAME", "fill_from_sheet", "Sitting", "student_deadline", "closed_at", "sitting", "sittings",
    "record_event", "history", "saved_answers",
    # what a student does
    "open_exam", "refuse_outside_sitting", "save_answer", "submit", "sweep", "sweep_all",
    # what the instructor does
    "extend", "close", "results_visible",
]


def fill_from_sheet(course: Course, a: CourseAssignment, student: str, sheet_path, now: _dt.datetime | None = None
                    ) -> tuple[list[str], list[str]]:
    """Save the answers of an uploaded TOML/YAML sheet into the student's fields (read safely, never run).

    Returns (the keys filled, what was left out and why). Refused when the sheet cannot be read at all.
    """
    from grader.engine.sheets import read_sheet

    now = now or utcnow()
    contents = read_sheet(sheet_path)
    if not contents.ok:
        raise Refused(400, f"the sheet could not be read: {contents.error}")
    fields = fields_of(PAPERS.compiled(a, student))
    filled, left_out = [], []
    for field in fields:
        if field.key in contents.problems:
            left_out.append(f"{field.key}: {contents.problems[field.key].message}")
        if field.key not in contents.values:
            continue
        typed = typed_from_sheet(field, contents.values[field.key])
        if typed is None:
            left_out.append(f"{field.key}: not {field.form}")
            continue
        save_answer(course, a, field, student, typed, now)
        filled.append(field.key)
    known = {f.key for f in fields}
    left_out += [f"{key}: not a key of your paper" for key in contents.values if key not in known]
    return filled, left_out


# -- the clock -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sitting:
    """One student's sitting of an exam, as the server sees it at ``now``."""
    student: str
    opened_at: _dt.datetime
    duration_minutes: float | None
    extension_minutes: float
    deadline: _dt.datetime | None     # the student's, with the extension
    ended_at: _dt.datetime | None
    ended_how: str | None
    upload_id: int | None
    accepting: bool                   # whether answers are taken now
    late: bool                        # past the deadline (and its grace) but still accepted

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def seconds_left(self, now: _dt.datetime) -> float | None:
        return None if self.deadline is None else max(0.0, (self.deadline - now).total_seconds())


def student_deadline(a: CourseAssignment, opened_at: _dt.datetime, duration_minutes: float | None,
                     extension_minutes: float) -> _dt.datetime | None:
    candidates = []
    if a.policy.closes_at is not None:
        candidates.append(a.policy.closes_at)
    if duration_minutes is not None:
        candidates.append(opened_at + _dt.timedelta(minutes=duration_minutes))
    if not candidates:
        return None
    return min(candidates) + _dt.timedelta(minutes=extension_minutes)


def closed_at(conn, exam: str) -> _dt.datetime | None:
    return conn.execute(sa.select(X.state.c.closed_at).where(X.state.c.assignment == exam)).scalar()


def sitting(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime, *,
            lock: bool = False) -> Sitting | None:
    """The student's sitting, or None; ``lock``: hold its row until ``conn`` commits (PostgreSQL:
    ``FOR UPDATE``; SQLite's writers hold the whole database already)."""
    query = sa.select(X.sittings).where(X.sittings.c.assignment == a.name, X.sittings.c.student == student)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    return _sitting(course, conn, a, row, now)


def _sitting(course: Course, conn, a: CourseAssignment, row, now: _dt.datetime) -> Sitting:
    extension = course.extension_minutes(conn, a.name, row.student)
    due = student_deadline(a, row.opened_at, row.duration_minutes, extension)
    minutes = 0.0 if due is None else max(0.0, (now - due).total_seconds() / 60.0)
    status = late_status(a.policy, minutes)
    open_ = row.ended_at is None and closed_at(conn, a.name) is None
    accepting = open_ and status not in (NOT_ACCEPTED, TOO_LATE)
    late = accepting and minutes > a.policy.late_grace_minutes
    return Sitting(row.student, row.opened_at, row.duration_minutes, extension, due, row.ended_at, row.ended_how,
                   row.upload_id, accepting, late)


def sittings(course: Course, conn, a: CourseAssignment, now: _dt.datetime) -> list[Sitting]:
    rows = conn.execute(sa.select(X.sittings).where(X.sittings.c.assignment == a.name)
                        .order_by(X.sittings.c.student)).all()
    return [_sitting(course, conn, a, row, now) for row in rows]


def record_event(conn, exam: str, student: str, kind: str, by: str, now: _dt.datetime, *, key: str | None = None,
                 value: Any = None) -> None:
    conn.execute(sa.insert(X.events).values(assignment=exam, student=student, kind=kind, key=key, value=value,
                                            by=by, at=now))


def history(conn, exam: str, student: str) -> list:
    return conn.execute(sa.select(X.events).where(X.events.c.assignment == exam, X.events.c.student == student)
                        .order_by(X.events.c.id)).all()


def saved_answers(conn, exam: str, student: str) -> dict[str, Any]:
    rows = conn.execute(sa.select(X.answers.c.key, X.answers.c.value).where(
        X.answers.c.assignment == exam, X.answers.c.student == student)).all()
    return {key: value for key, value in rows}


# -- what a student does -----------------------------------------------------------------------
def open_exam(course: Course, a: CourseAssignment, student: str, now: _dt.datetime | None = None) -> Sitting:
    """Start the student's clock (once: opening again returns the running sitting)."""
    now = now or utcnow()
    policy = a.policy
    with course.writer.begin() as conn:
        existing = sitting(course, conn, a, student, now)
        if existing is not None:
            return existing
        if closed_at(conn, a.name) is not None:
            raise Refused(403, f"{a.name} has been closed by your instructor")
        if policy.opens_at is not None and now < policy.opens_at:
            raise Refused(403, f"{a.name} opens at {policy.opens_at.isoformat()}")
        if policy.closes_at is not None and now >= policy.closes_at:
            raise Refused(403, f"{a.name} closed at {policy.closes_at.isoformat()}")
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(X.sittings).values(assignment=a.name, student=student, opened_at=now,
                                                          duration_minutes=policy.duration_minutes))
        except sa.exc.IntegrityError:   # opened at the same moment by another request: that one counts
            return sitting(course, conn, a, student, now)
        record_event(conn, a.name, student, "open", student, now)
    course.gradebook.record_start(student, a.name, now)
    with course.engine.begin() as conn:
        return sitting(course, conn, a, student, now)


def _taking(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime) -> Sitting:
    # Locked: a save and a hand-in of the same sitting take turns, so no answer is saved after the
    # hand-in read the answers (it would be shown as saved yet not be on the sheet handed in).
    current = sitting(course, conn, a, student, now, lock=True)
    if current is None:
        raise Refused(409, f"open {a.name} first: your time starts when you open it")
    if current.ended and current.ended_how == "deadline":
        raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: your saved answers "
                           "were handed in then and can no longer be changed")
    if current.ended and current.ended_how == "closed":
        raise Refused(403, f"{a.name} was closed by your instructor at {current.ended_at.isoformat()}: your saved "
                           "answers were handed in then and can no longer be changed")
    if current.ended:
        raise Refused(409, f"your answers to {a.name} were handed in at {current.ended_at.isoformat()}; "
                           "they can no longer be changed")
    if not current.accepting:
        raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: answers are no "
                           "longer taken (your saved answers are handed in)")
    return current


def refuse_outside_sitting(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime) -> None:
    """An uploaded answer sheet keeps to the student's clock once they have opened the exam on the website,
    and is refused once they handed the paper in there."""
    current = sitting(course, conn, a, student, now)
    if current is None:
        return   # a paper exam: the window and the late rules of the policy, as for any upload
    if closed_at(conn, a.name) is not None:
        raise Refused(403, f"{a.name} has been closed by your instructor: answers are no longer taken")
    if current.ended_how == "student":   # as the paper says once handed in: nothing changes after
        raise Refused(409, f"you handed in {a.name} at {current.ended_at.isoformat()}: your answers can no "
                           "longer be changed")
    if current.deadline is not None:
        minutes = max(0.0, (now - current.deadline).total_seconds() / 60.0)
        if late_status(a.policy, minutes) in (NOT_ACCEPTED, TOO_LATE):
            raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: "
                               "answers are no longer taken")


def save_answer(course: Course, a: CourseAssignment, field: Field, student: str, value: Any,
                now: _dt.datetime | None = None) -> _dt.datetime:
    """Save one answer as typed (refused once the student's time is up); returns the time saved."""
    now = now or utcnow()
    value = check_value(field, value)
    sweep(course, a, now, student=student)
    with course.writer.begin() as conn:
        _taking(course, conn, a, student, now)
        where = (X.answers.c.assignment == a.name, X.answers.c.student == student, X.answers.c.key == field.key)
        if conn.execute(sa.update(X.answers).where(*where).values(value=value, saved_at=now)).rowcount == 0:
            conn.execute(sa.insert(X.answers).values(assignment=a.name, student=student, key=field.key,
                                                     value=value, saved_at=now))
        record_event(conn, a.name, student, "save", student, now, key=field.key, value=value)
    return now


def submit(course: Course, a: CourseAssignment, student: str, now: _dt.datetime | None = None) -> int:
    """The student hands in the saved answers; returns the upload id."""
    now = now or utcnow()
    sweep(course, a, now, student=student)
    with course.writer.begin() as conn:
        current = _taking(course, conn, a, student, now)
        if standing(course, conn, a, student, now).attempts_left == 0:
            raise Refused(403, f"you have used all {a.policy.max_attempts} attempts on {a.name}; ask your "
                               "instructor if you need another")
        return _hand_in(course, conn, a, current, now, how="student", by=student)


def _hand_in(course: Course, conn, a: CourseAssignment, current: Sitting, at: _dt.datetime, *, how: str,
             by: str) -> int:
    """Write the saved answers as a sheet, store it as an upload and queue it, in ``conn``'s transaction."""
    locked = sitting(course, conn, a, current.student, at, lock=True)   # a save in progress ends first
    if locked is None or locked.ended:
        raise Refused(409, "these answers were handed in already")
    compiled = PAPERS.compiled(a, current.student)
    sheet = answer_sheet(compiled, fields_of(compiled), saved_answers(conn, a.name, current.student),
                         current.student).encode("utf-8")
    blob = course.blobs.put(io.BytesIO(sheet), course.config.max_upload_bytes)
    upload_id = conn.execute(sa.insert(T.uploads).values(
        student=current.student, assignment=a.name, blob_sha256=blob.sha256, suffix=".toml",
        display_name=SHEET_NAME, size=blob.size, uploaded_at=at).returning(T.uploads.c.id)).scalar_one()
    queue.enqueue(conn, upload_id)
    ended = conn.execute(sa.update(X.sittings).where(
        X.sittings.c.assignment == a.name, X.sittings.c.student == current.student, X.sittings.c.ended_at.is_(None))
        .values(ended_at=at, ended_how=how, upload_id=upload_id)).rowcount
    if ended != 1:   # another request handed it in first: this transaction is rolled back
        raise Refused(409, "these answers were handed in already")
    record_event(conn, a.name, current.student, "submit", by, at, value={"how": how, "upload": upload_id})
    return upload_id


def sweep(course: Course, a: CourseAssignment, now: _dt.datetime | None = None, *,
          student: str | None = None) -> int:
    """Hand in the saved answers of every sitting whose time is up (or whose exam was closed).

    A sitting whose time ran out is handed in as at its deadline; one of a closed exam, at the
    closing. Returns how many were handed in.
    """
    now = now or utcnow()
    done = 0
    with course.engine.begin() as conn:
        query = sa.select(X.sittings).where(X.sittings.c.assignment == a.name, X.sittings.c.ended_at.is_(None))
        if student is not None:
            query = query.where(X.sittings.c.student == student)
        due = [s for s in (_sitting(course, conn, a, row, now) for row in conn.execute(query).all())
               if not s.accepting]
        closed = closed_at(conn, a.name)
    for current in due:
        over = closed if closed is not None and (current.deadline is None or closed < current.deadline) else None
        at, how = (over, "closed") if over is not None else (min(now, current.deadline), "deadline")
        try:
            with course.writer.begin() as conn:
                if _answered_since_last_upload(conn, a.name, current.student):
                    _hand_in(course, conn, a, current, at, how=how, by="server")
                    done += 1
                else:
                    _end_without_hand_in(conn, a.name, current.student, at, how)
        except Refused:
            pass   # handed in meanwhile by another request
    return done


def _answered_since_last_upload(conn, exam: str, student: str) -> bool:
    """Whether the saved answers are newer than the student's last upload (say, a sheet handed in instead).

    Handing in older saved answers as a later attempt would replace that sheet under ``counting = "last"``.
    """
    last_save = conn.execute(sa.select(sa.func.max(X.answers.c.saved_at)).where(
        X.answers.c.assignment == exam, X.answers.c.student == student)).scalar()
    last_upload = conn.execute(sa.select(sa.func.max(T.uploads.c.uploaded_at)).where(
        T.uploads.c.assignment == exam, T.uploads.c.student == student)).scalar()
    return last_save is not None and (last_upload is None or last_save > last_upload)


def _end_without_hand_in(conn, exam: str, student: str, at: _dt.datetime, how: str) -> None:
    ended = conn.execute(sa.update(X.sittings).where(
        X.sittings.c.assignment == exam, X.sittings.c.student == student, X.sittings.c.ended_at.is_(None))
        .values(ended_at=at, ended_how=how)).rowcount
    if ended == 1:
        record_event(conn, exam, student, "submit", "server", at,
                     value={"how": how, "upload": None, "why": "no answer saved since the last hand-in"})


def sweep_all(course: Course, now: _dt.datetime | None = None) -> int:
    return sum(sweep(course, a, now) for a in course.assignments.values() if a.kind == "exam")


# -- what the instructor does -------------------------------------------------------------------
def extend(course: Course, a: CourseAssignment, student: str, minutes: float, reason: str, by: str,
           now: _dt.datetime | None = None) -> None:
    """Give one student ``minutes`` more in all (the latest extension counts, as for assignments)."""
    now = now or utcnow()
    with course.writer.begin() as conn:
        conn.execute(sa.insert(T.extensions).values(assignment=a.name, student=student, minutes=minutes,
                                                    reason=reason, created_by=by, created_at=now))
        record_event(conn, a.name, student, "extend", by, now, value={"minutes": minutes, "reason": reason})


def close(course: Course, a: CourseAssignment, by: str, now: _dt.datetime | None = None) -> int:
    """Close the exam for everyone: no new openings; every running sitting is handed in now."""
    now = now or utcnow()
    with course.writer.begin() as conn:
        if closed_at(conn, a.name) is None:
            conn.execute(sa.delete(X.state).where(X.state.c.assignment == a.name))
            conn.execute(sa.insert(X.state).values(assignment=a.name, closed_at=now))
            for row in conn.execute(sa.select(X.sittings.c.student).where(
                    X.sittings.c.assignment == a.name, X.sittings.c.ended_at.is_(None))).all():
                record_event(conn, a.name, row.student, "close", by, now)
    return sweep(course, a, now)


def results_visible(course: Course, conn, a: CourseAssignment) -> bool:
    """Whether students see an exam's results: when released, or at once if the exam's setting says so.

    For an exam every question is withheld until then, public ones included.
    """
    return a.kind != "exam" or course.hidden_visible(conn, a)
