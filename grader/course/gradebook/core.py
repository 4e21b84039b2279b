"""What every job of the gradebook stands on: the engine, its writing and reading transactions,
and the queries and updates those jobs share (an assignment or a student ensured or required, the
policy's decisions refreshed)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Callable, TypeVar

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.connection import WRITE_OPTION
from grader.course.gradebook.conversions import row_data, utcnow
from grader.course.gradebook.decisions import decide_student
from grader.course.policy import Policy

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01"}   # serialization failure, deadlock detected


class GradebookCore:
    """The engine and its transactions; the helpers the gradebook's jobs share (all take an open connection)."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        # Reads see one snapshot (SQLite's read transactions always do).
        self._reader = (engine.execution_options(isolation_level="REPEATABLE READ")
                        if engine.dialect.name == "postgresql" else engine)

    # -- transactions ---------------------------------------------------------------
    def _write(self, work: Callable[[sa.Connection], T], *, tries: int = 5) -> T:
        """Run ``work`` in one writing transaction, retrying what PostgreSQL asks to retry."""
        for attempt in range(tries):
            try:
                with self._writer.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate in RETRYABLE_SQLSTATES and attempt < tries - 1:
                    time.sleep(0.05 * 2 ** attempt)
                    continue
                raise
        raise AssertionError("unreachable")

    def _read(self):
        return self._reader.begin()

    # -- internals ---------------------------------------------------------------------------
    def _dialect_insert(self, conn, table):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _ensure_assignment(self, conn, name: str, policy: Policy | None, *, max_score: float | None = None,
                           title: str | None = None) -> bool:
        """Create the assignment if needed, update what changed; True when its policy changed."""
        now = utcnow()
        row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == name)).first()
        if row is None:
            start = policy or Policy()
            inserted = conn.execute(self._dialect_insert(conn, S.assignments).values(
                name=name, title=title or name, max_score=float(max_score or 0.0), kind=start.kind,
                policy=start.to_dict(), created_at=now, updated_at=now).on_conflict_do_nothing()
                .returning(S.assignments.c.name)).first()
            if inserted is not None:   # (rowcount is not reliable for ON CONFLICT on every driver)
                conn.execute(sa.insert(S.policy_history).values(assignment=name, policy=start.to_dict(), set_at=now))
                return False
            row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == name)).first()
        values: dict[str, Any] = {}
        changed = policy is not None and Policy.from_dict(row.policy) != policy
        if changed:
            values.update(policy=policy.to_dict(), kind=policy.kind)
            conn.execute(sa.insert(S.policy_history).values(assignment=name, policy=policy.to_dict(), set_at=now))
        if max_score is not None and float(max_score) != row.max_score:
            values["max_score"] = float(max_score)
        if title is not None and title != row.title:
            values["title"] = title
        if values:
            conn.execute(sa.update(S.assignments).where(S.assignments.c.name == name)
                         .values(updated_at=now, **values))
        return changed

    def _ensure_student(self, conn, student_id: str) -> None:
        """Create the student if needed and lock their row until the transaction ends (PostgreSQL)."""
        conn.execute(self._dialect_insert(conn, S.students).values(id=student_id, created_at=utcnow())
                     .on_conflict_do_nothing())
        conn.execute(sa.select(S.students.c.id).where(S.students.c.id == student_id).with_for_update())

    def _insert_start(self, conn, assignment, student_id, started_at) -> bool:
        return conn.execute(self._dialect_insert(conn, S.starts).values(
            assignment=assignment, student=student_id, started_at=started_at, recorded_at=utcnow())
            .on_conflict_do_nothing().returning(S.starts.c.student)).first() is not None

    def _require_assignment(self, conn, assignment: str):
        row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == assignment)).first()
        if row is None:
            known = list(conn.execute(sa.select(S.assignments.c.name).order_by(S.assignments.c.name)).scalars())
            raise ValueError(f"no assignment {assignment!r} in the gradebook; known: "
                             f"{', '.join(known) or '(none)'}")
        return row

    def _require_student(self, conn, student_id: str) -> None:
        if conn.execute(sa.select(S.students.c.id).where(S.students.c.id == student_id)).first() is None:
            import difflib

            known = {k.lower(): k for k in conn.execute(sa.select(S.students.c.id)).scalars()}
            close = [known[k] for k in difflib.get_close_matches(student_id.lower(), list(known), n=3)]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"no student {student_id!r} in the gradebook{hint}; add them to the roster "
                             f"first, or allow a new student (create_student=True, --new-student)")

    def _question_max(self, conn, assignment: str, question: str) -> float | None:
        return conn.execute(
            sa.select(sa.func.max(S.question_results.c.max_score))
            .join(S.gradings, S.gradings.c.id == S.question_results.c.grading_id)
            .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
            .where(S.submissions.c.assignment == assignment, S.question_results.c.question == question)).scalar()

    def _has_overrides(self, conn, student_id: str, assignment: str) -> bool:
        return conn.execute(sa.select(S.overrides.c.id).where(
            S.overrides.c.student == student_id, S.overrides.c.assignment == assignment)).first() is not None

    def _snapshot(self, conn, submissions) -> dict:
        """What removing ``submissions`` deletes, as plain data: each with its gradings' scores."""
        out = []
        for sub in submissions:
            gradings = conn.execute(sa.select(S.gradings.c.id, S.gradings.c.graded_at, S.gradings.c.score,
                                              S.gradings.c.max_score, S.gradings.c.is_current)
                                    .where(S.gradings.c.submission_id == sub.id)).all()
            out.append(dict(row_data(sub), gradings=[row_data(g) for g in gradings]))
        return {"submissions": out}

    def _policy(self, conn, assignment: str) -> Policy:
        return Policy.from_dict(self._require_assignment(conn, assignment).policy, source=f"{assignment} policy")

    def _question_names(self, conn, assignment: str) -> set[str]:
        return set(conn.execute(
            sa.select(S.question_results.c.question).distinct()
            .join(S.gradings, S.gradings.c.id == S.question_results.c.grading_id)
            .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
            .where(S.submissions.c.assignment == assignment)).scalars())

    def _deactivate(self, conn, student_id, assignment, question, *, now, by, reason) -> list[int]:
        target = S.overrides.c.question.is_(None) if question is None else S.overrides.c.question == question
        ids = list(conn.execute(sa.select(S.overrides.c.id).where(
            S.overrides.c.assignment == assignment, S.overrides.c.student == student_id, target,
            S.overrides.c.active)).scalars())
        if ids:
            conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(ids)).values(
                active=False, deactivated_at=now, deactivated_by=by, deactivation_reason=reason))
        return ids

    def _submission_rows(self, conn, assignment: str, student_id: str | None = None):
        g = S.gradings
        query = (sa.select(S.submissions, g.c.id.label("grading_id"), g.c.score, g.c.max_score.label("graded_max"),
                           g.c.grader_error)
                 .select_from(S.submissions.outerjoin(g, sa.and_(g.c.submission_id == S.submissions.c.id,
                                                                 g.c.is_current)))
                 .where(S.submissions.c.assignment == assignment))
        if student_id is not None:
            query = query.where(S.submissions.c.student == student_id)
        return conn.execute(query.order_by(S.submissions.c.id)).all()

    def _question_rows(self, conn, grading_ids: list[int]) -> dict[int, list]:
        out: dict[int, list] = defaultdict(list)
        for chunk in range(0, len(grading_ids), 500):
            ids = grading_ids[chunk:chunk + 500]
            for row in conn.execute(sa.select(S.question_results).where(S.question_results.c.grading_id.in_(ids))
                                    .order_by(S.question_results.c.grading_id, S.question_results.c.position)):
                out[row.grading_id].append(row)
        return out

    def _refresh(self, conn, assignment: str, student_id: str, policy: Policy | None = None) -> None:
        """Recompute and store the policy's decisions on one student's submissions."""
        policy = policy or self._policy(conn, assignment)
        rows = self._submission_rows(conn, assignment, student_id)
        start = conn.execute(sa.select(S.starts.c.started_at).where(
            S.starts.c.assignment == assignment, S.starts.c.student == student_id)).scalar()
        decided = decide_student(policy, rows, start)
        for row in rows:
            decision, counted = decided[row.id]
            values = dict(attempt=decision.attempt, late_minutes=decision.late_minutes,
                          late_days=decision.late_days, late_status=decision.late_status,
                          late_penalty=decision.penalty_fraction, over_limit=decision.over_limit, counted=counted)
            if any(getattr(row, k) != v for k, v in values.items()):
                conn.execute(sa.update(S.submissions).where(S.submissions.c.id == row.id).values(**values))

    def _refresh_assignment(self, conn, assignment: str) -> None:
        policy = self._policy(conn, assignment)
        students = conn.execute(sa.select(S.submissions.c.student).distinct()
                                .where(S.submissions.c.assignment == assignment)).scalars().all()
        for student in students:
            self._refresh(conn, assignment, student, policy)
