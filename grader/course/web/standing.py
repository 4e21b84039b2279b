"""A student's standing on an assignment (attempts, due date, cooldown), and the web's refusal.

:class:`Refused` is how every check of the website says no: an HTTP status and a message that
names what is wrong and what is expected.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa

from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment, utcnow


class Refused(Exception):
    """An upload or request refused; ``status`` is the HTTP status, ``message`` says why and what is expected."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Standing:
    """A student's standing on an assignment: what the page shows before they upload."""
    attempts_used: int
    attempts_left: int | None        # None: unlimited
    due: _dt.datetime | None         # with the student's extension
    extension_minutes: float
    next_upload_at: _dt.datetime | None


def standing(course: Course, conn, assignment: CourseAssignment, student: str,
             now: _dt.datetime | None = None) -> Standing:
    """``student``'s attempts used and left, due date (with their extension) and next allowed upload."""
    now = now or utcnow()
    used = conn.execute(sa.select(sa.func.count()).select_from(T.uploads).where(
        T.uploads.c.student == student, T.uploads.c.assignment == assignment.name)).scalar_one()
    last = conn.execute(sa.select(sa.func.max(T.uploads.c.uploaded_at)).where(
        T.uploads.c.student == student, T.uploads.c.assignment == assignment.name)).scalar()
    extension = course.extension_minutes(conn, assignment.name, student)
    cooldown = course.settings(conn, assignment.name).cooldown_seconds
    limit = assignment.policy.max_attempts
    next_at = last + _dt.timedelta(seconds=cooldown) if last is not None and cooldown else None
    return Standing(used, None if limit is None else max(0, limit - used), course.due(assignment, extension),
                    extension, next_at if next_at and next_at > now else None)
