"""Accepting an upload, and what a student may see of their submissions.

:func:`accept_upload` is the one way a file enters the course (the form and
the API both call it). It checks, in this order, with a clear refusal for
each: the file name (a plain name with an allowed suffix; it never reaches a
path), the assignment's window and late rules (with the student's
extension), the attempts left, the cooldown since the last attempt, the size
(streamed: the upload is never read past the cap), and that it is not a
copy of an earlier attempt. It then stores the bytes by hash and commits the
upload row and its queue job in one transaction.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import BinaryIO

import sqlalchemy as sa

from grader.course.policy import NOT_ACCEPTED, TOO_LATE, late_minutes, late_status
from grader.course.web import queue, records
from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment, utcnow
from grader.course.web.exams import refuse_outside_sitting
from grader.course.web.standing import Refused, standing
from grader.course.web.storage import TooLarge

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,100}$")


def check_file_name(name: str | None, assignment: CourseAssignment) -> str:
    """The upload's suffix, after refusing anything that is not a plain file name with an allowed suffix."""
    allowed = ", ".join(assignment.suffixes)
    if not name:
        raise Refused(400, f"the upload has no file name: send {assignment.module}.py or .ipynb")
    if "/" in name or "\\" in name or "\0" in name or name.startswith(".") or ".." in name:
        raise Refused(400, f"the file name {name[:80]!r} is a path: send a plain file name such as "
                           f"{assignment.module}.py")
    if not SAFE_NAME.match(name):
        raise Refused(400, f"the file name {name[:80]!r} has characters other than letters, digits, spaces "
                           f"and ._()-: rename it, e.g. {assignment.module}.py")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in assignment.suffixes:
        raise Refused(415, f"{name!r} is not a file this assignment takes: expected one of {allowed}")
    return suffix


def _check_rules(course: Course, conn, assignment: CourseAssignment, student: str, now: _dt.datetime) -> None:
    policy = assignment.policy
    if policy.opens_at is not None and now < policy.opens_at:
        raise Refused(403, f"{assignment.name} opens at {policy.opens_at.isoformat()}; uploads are not "
                           "accepted before")
    state = standing(course, conn, assignment, student, now)
    if state.attempts_left == 0:
        raise Refused(403, f"you have used all {policy.max_attempts} attempts on {assignment.name}; "
                           "ask your instructor if you need another")
    if state.next_upload_at is not None:
        wait = math.ceil((state.next_upload_at - now).total_seconds())
        raise Refused(429, f"wait {wait} s before your next attempt on {assignment.name} (a cooldown of "
                           f"{course.settings(conn, assignment.name).cooldown_seconds:g} s between attempts)",
                      retry_after=wait)
    shifted = now - _dt.timedelta(minutes=state.extension_minutes)
    status = late_status(policy, late_minutes(policy, shifted))
    if status in (NOT_ACCEPTED, TOO_LATE):
        raise Refused(403, f"{assignment.name} was due at {state.due.isoformat()}; this assignment takes no "
                           f"{'late work' if status == NOT_ACCEPTED else 'work this late'}")
    if assignment.kind == "exam":
        refuse_outside_sitting(course, conn, assignment, student, now)


def accept_upload(course: Course, assignment_name: str, student: str, stream: BinaryIO, file_name: str | None,
                  *, content_length: int | None = None) -> int:
    """Store and queue one upload; returns its id, or raises :class:`Refused`."""
    assignment = course.assignments.get(assignment_name)
    if assignment is None:
        raise Refused(404, f"no assignment {assignment_name!r} in this course; its assignments: "
                           f"{', '.join(course.assignments)}")
    suffix = check_file_name(file_name, assignment)
    cap = course.config.max_upload_bytes
    if content_length is not None and content_length > cap:
        raise Refused(413, f"the file is {content_length:,} bytes; the limit is {cap:,} bytes")
    now = utcnow()
    with course.engine.begin() as conn:
        _check_rules(course, conn, assignment, student, now)
    try:
        blob = course.blobs.put(stream, cap)
    except TooLarge as exc:
        raise Refused(413, str(exc)) from None
    if blob.size == 0:
        raise Refused(400, "the file is empty")
    with course.writer.begin() as conn:
        if conn.dialect.name == "postgresql":   # one student's uploads are checked and added one at a time
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                         {"key": f"dlgrade-upload:{assignment.name}:{student}"})
        _check_rules(course, conn, assignment, student, now)
        earlier = conn.execute(sa.select(T.uploads.c.id).where(
            T.uploads.c.student == student, T.uploads.c.assignment == assignment.name,
            T.uploads.c.blob_sha256 == blob.sha256, T.uploads.c.suffix == suffix)).first()
        if earlier is not None:
            raise Refused(409, f"this file is identical to your upload #{earlier.id}: it was graded already "
                               "(change something before you submit again)")
        upload_id = conn.execute(sa.insert(T.uploads).values(
            student=student, assignment=assignment.name, blob_sha256=blob.sha256, suffix=suffix,
            display_name=file_name[:120], size=blob.size, uploaded_at=now).returning(T.uploads.c.id)).scalar_one()
        queue.enqueue(conn, upload_id)
    return upload_id


# -- reading -----------------------------------------------------------------------------
def own_upload(conn, upload_id: int, student: str | None):
    """The upload, if it exists and (for a student) is theirs; else None (a 404, whoever owns it)."""
    query = sa.select(T.uploads).where(T.uploads.c.id == upload_id)
    if student is not None:
        query = query.where(T.uploads.c.student == student)
    return conn.execute(query).first()


def upload_status(conn, upload) -> dict:
    """What the status page and ``dlgrade submit`` poll: the latest job's state and the grading."""
    job = conn.execute(sa.select(T.jobs).where(T.jobs.c.upload_id == upload.id)
                       .order_by(T.jobs.c.id.desc()).limit(1)).first()
    grading_id = upload.grading_id
    if grading_id is not None:
        grading_id = records.current_grading_of(conn, grading_id) or grading_id
    status = job.status if job is not None else queue.DONE
    if status in (queue.QUEUED, queue.RUNNING) and grading_id is not None:
        status = "regrading"
    ahead = None
    if job is not None and job.status == queue.QUEUED:
        ahead = conn.execute(sa.select(sa.func.count()).select_from(T.jobs).where(
            T.jobs.c.status == queue.QUEUED, T.jobs.c.id < job.id)).scalar_one()
    return {"id": upload.id, "assignment": upload.assignment, "status": status, "grading_id": grading_id,
            "uploaded_at": upload.uploaded_at.isoformat(), "file": upload.display_name, "size": upload.size,
            "queued_ahead": ahead, "error": job.error if job is not None and job.status == queue.FAILED else None}


def uploads_of(conn, assignment: str, student: str) -> list:
    return conn.execute(sa.select(T.uploads).where(T.uploads.c.assignment == assignment,
                                                   T.uploads.c.student == student)
                        .order_by(T.uploads.c.id)).all()

