"""The gradebook's assignments and students: adding them, a timed exam's start, listing them."""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.conversions import require_text
from grader.course.gradebook.core import GradebookCore
from grader.course.gradebook.values import AssignmentInfo
from grader.course.policy import Policy, require_aware


class RosterMixin(GradebookCore):
    """Assignments (with their policy), students and the starts of timed exams."""

    def add_assignment(self, name: str, *, title: str | None = None, max_score: float | None = None,
                       policy: Policy | None = None) -> None:
        """Create or update an assignment. A changed policy is kept in ``policy_history`` and
        its decisions are recomputed for every submission, in the same transaction."""
        name = require_text(name, "assignment")

        def tx(conn):
            changed = self._ensure_assignment(conn, name, policy, max_score=max_score, title=title)
            if changed:
                self._refresh_assignment(conn, name)

        self._write(tx)

    def add_student(self, student_id: str, *, name: str | None = None, email: str | None = None) -> None:
        """Add a student to the roster (or update their name and email)."""
        student_id = require_text(student_id, "student_id")

        def tx(conn):
            self._ensure_student(conn, student_id)
            values = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
            if values:
                conn.execute(sa.update(S.students).where(S.students.c.id == student_id).values(**values))

        self._write(tx)

    def record_start(self, student_id: str, assignment: str, started_at: _dt.datetime) -> None:
        """Record when a student started a timed exam. The first recorded start is kept."""
        student_id = require_text(student_id, "student_id")
        assignment = require_text(assignment, "assignment")
        require_aware(started_at, "started_at")

        def tx(conn):
            self._ensure_assignment(conn, assignment, None)
            self._ensure_student(conn, student_id)
            if self._insert_start(conn, assignment, student_id, started_at):
                self._refresh(conn, assignment, student_id)

        self._write(tx)

    def assignments(self) -> list[AssignmentInfo]:
        with self._read() as conn:
            rows = conn.execute(sa.select(S.assignments).order_by(S.assignments.c.name)).all()
        return [AssignmentInfo(r.name, r.title, r.max_score, r.kind, Policy.from_dict(r.policy))
                for r in rows]

    def students(self) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(sa.select(S.students.c.id).order_by(S.students.c.id)).scalars())

    def policy(self, assignment: str) -> Policy:
        with self._read() as conn:
            return self._policy(conn, assignment)
