"""Recording graded submissions, one transaction each, and asking which contents are graded."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.conversions import json_safe, parse_time, require_text, utcnow
from grader.course.gradebook.core import GradebookCore
from grader.course.policy import Policy, require_aware
from grader.engine.results import SubmissionResult


class RecordingMixin(GradebookCore):
    """One result, one transaction; the same content again changes nothing unless regraded."""

    def record(self, result: SubmissionResult, *, student_id: str, submitted_at: _dt.datetime | None = None,
               attempt: int | None = None, policy: Policy | None = None, regrade: bool = False,
               started_at: _dt.datetime | None = None, source_path: str | Path | None = None,
               run_id: str | None = None) -> int:
        """Write one graded submission in one transaction; returns the id of its current grading.

        ``submitted_at`` (timezone-aware) decides lateness; None means unknown (never late).
        ``attempt`` numbers the attempt explicitly; by default attempts are numbered in
        order of ``submitted_at``. ``policy`` (if given) becomes the assignment's policy.
        ``started_at`` records the student's start of a timed exam (if none is recorded yet).
        Idempotent for the same (assignment, student, sha256) unless ``regrade`` is true or
        the current grading was a fault of the grader: then a new grading is added and
        becomes current; the earlier ones stay as history.

        ``run_id`` names this grading run of this submission (a cluster task): a grading already
        recorded under it is returned unchanged, even under ``regrade``, so a result delivered
        twice adds one grading (the column is unique besides).
        """
        student_id = require_text(student_id, "student_id")
        assignment = require_text(result.assignment, "result.assignment")
        require_aware(submitted_at, "submitted_at")
        require_aware(started_at, "started_at")
        if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1):
            raise ValueError(f"attempt must be a whole number >= 1, got {attempt!r}")
        if not result.sha256:
            raise ValueError(f"result for {result.submission!r} has no sha256 of its content")
        for q in result.questions:
            if not (math.isfinite(q.score) and math.isfinite(q.points)):
                raise ValueError(f"{result.submission}: question {q.name} has a non-finite score "
                                 f"({q.score!r} of {q.points!r})")
        results_json = json_safe(result.to_gradescope("instructor"))
        graded_at = parse_time(result.graded_at) or utcnow()
        questions = [dict(position=i, question=q.name, title=q.title, score=float(q.score),
                          max_score=float(q.points), status=q.status, public=bool(q.public),
                          message=q.message("instructor"))
                     for i, q in enumerate(result.questions)]
        path = str(source_path if source_path is not None else result.path) or None

        def tx(conn):
            if run_id is not None:
                already = conn.execute(sa.select(S.gradings.c.id).where(S.gradings.c.run_id == run_id)).scalar()
                if already is not None:
                    return already
            now = utcnow()
            policy_changed = self._ensure_assignment(
                conn, assignment, policy, max_score=result.max_score if result.questions else None)
            self._ensure_student(conn, student_id)
            if started_at is not None:
                self._insert_start(conn, assignment, student_id, started_at)
            sub = conn.execute(sa.select(S.submissions.c.id).where(
                S.submissions.c.assignment == assignment, S.submissions.c.student == student_id,
                S.submissions.c.sha256 == result.sha256)).first()
            if sub is None:
                submission_id = conn.execute(sa.insert(S.submissions).values(
                    assignment=assignment, student=student_id, sha256=result.sha256,
                    submitted_at=submitted_at, recorded_at=now, source_path=path, variant=result.variant,
                    attempt=attempt or 0, attempt_given=attempt is not None, late_minutes=0.0, late_days=0,
                    late_status="", late_penalty=0.0, over_limit=False, counted=False,
                ).returning(S.submissions.c.id)).scalar_one()
            else:
                submission_id = sub.id
                current = conn.execute(sa.select(S.gradings.c.id, S.gradings.c.grader_error).where(
                    S.gradings.c.submission_id == submission_id, S.gradings.c.is_current)).first()
                if current is not None and not regrade and current.grader_error is None:
                    if policy_changed:
                        self._refresh_assignment(conn, assignment)
                    return current.id
                conn.execute(sa.update(S.gradings).where(S.gradings.c.submission_id == submission_id,
                                                         S.gradings.c.is_current).values(is_current=False))
            grading_id = conn.execute(sa.insert(S.gradings).values(
                submission_id=submission_id, graded_at=graded_at, recorded_at=now,
                score=float(result.score), max_score=float(result.max_score), isolation=result.isolation or "",
                seconds=float(result.seconds or 0.0), loaded=bool(result.load.ok),
                grader_error=result.grader_error, results=results_json, is_current=True, run_id=run_id,
            ).returning(S.gradings.c.id)).scalar_one()
            if questions:
                conn.execute(sa.insert(S.question_results), [dict(q, grading_id=grading_id) for q in questions])
            if policy_changed:
                self._refresh_assignment(conn, assignment)
            else:
                self._refresh(conn, assignment, student_id)
            return grading_id

        return self._write(tx)

    def is_graded(self, assignment: str, student_id: str, sha256: str) -> bool:
        """Whether this content has a current grading that is not a grader fault (what a resumed batch skips)."""
        with self._read() as conn:
            return conn.execute(
                sa.select(S.gradings.c.id)
                .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
                .where(S.submissions.c.assignment == assignment, S.submissions.c.student == student_id,
                       S.submissions.c.sha256 == sha256, S.gradings.c.is_current,
                       S.gradings.c.grader_error.is_(None))).first() is not None

    def graded_hashes(self, assignment: str) -> set[tuple[str, str]]:
        """(student, sha256) of every submission of ``assignment`` that is graded (see :meth:`is_graded`)."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(S.submissions.c.student, S.submissions.c.sha256)
                .join(S.gradings, S.submissions.c.id == S.gradings.c.submission_id)
                .where(S.submissions.c.assignment == assignment, S.gradings.c.is_current,
                       S.gradings.c.grader_error.is_(None))).all()
        return {(r.student, r.sha256) for r in rows}
