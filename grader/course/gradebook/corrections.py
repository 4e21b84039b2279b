"""An instructor's corrections: overrides (deactivated, never deleted) and removals (kept in ``removals``)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.conversions import json_safe, require_text, row_data, utcnow
from grader.course.gradebook.core import GradebookCore


class CorrectionsMixin(GradebookCore):
    """Overrides of a question or an assignment, their revocation, and the removal of mistaken records."""

    def override(self, student_id: str, assignment: str, score: float, *, reason: str, by: str,
                 question: str | None = None, create_student: bool = False, force: bool = False) -> int:
        """Set a student's score on a question or (``question=None``) the whole assignment.

        Replaces (deactivates) the active override of the same target; revoking the new one
        restores it. The student must be known to the gradebook unless ``create_student``.
        A score outside [0, max] (the assignment's, or the question's) is refused unless
        ``force``; below 0 never. Returns the override's id.
        """
        student_id = require_text(student_id, "student_id")
        reason = require_text(reason, "reason (why the score is overridden)")
        by = require_text(by, "by (who overrides)")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or score < 0:
            raise ValueError(f"override score must be a number >= 0, got {score!r}")
        if question is not None:
            question = require_text(question, "question")

        def tx(conn):
            info = self._require_assignment(conn, assignment)
            if not create_student:
                self._require_student(conn, student_id)
            self._ensure_student(conn, student_id)
            if question is not None:
                known = self._question_names(conn, assignment)
                if known and question not in known:
                    raise ValueError(f"{assignment} has no question {question!r}; its questions: "
                                     f"{', '.join(sorted(known))}")
            top = self._question_max(conn, assignment, question) if question is not None else info.max_score
            if top and score > top and not force:
                target = f"question {question}" if question is not None else assignment
                raise ValueError(f"override score {score:g} is above the maximum of {target} ({top:g}); "
                                 f"give --force (force=True) if that is meant (e.g. a bonus)")
            now = utcnow()
            previous = self._deactivate(conn, student_id, assignment, question, now=now, by=by,
                                        reason="replaced by a new override")
            override_id = conn.execute(sa.insert(S.overrides).values(
                assignment=assignment, student=student_id, question=question, score=float(score),
                reason=reason, created_by=by, created_at=now, active=True,
                replaces=previous[0] if previous else None).returning(S.overrides.c.id)).scalar_one()
            if previous:
                conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(previous))
                             .values(deactivation_reason=f"replaced by override #{override_id}"))
            return override_id

        return self._write(tx)

    def revoke_override(self, student_id: str, assignment: str, *, reason: str, by: str,
                        question: str | None = None) -> int:
        """Deactivate the active override of this target (kept as history) and restore the one it
        replaced, if any, so that the score is what it was before. Returns how many were revoked (0 or 1)."""
        reason = require_text(reason, "reason")
        by = require_text(by, "by")

        def tx(conn):
            self._require_assignment(conn, assignment)
            self._require_student(conn, student_id)
            self._ensure_student(conn, student_id)
            target = S.overrides.c.question.is_(None) if question is None else S.overrides.c.question == question
            replaced = conn.execute(sa.select(S.overrides.c.replaces).where(
                S.overrides.c.assignment == assignment, S.overrides.c.student == student_id, target,
                S.overrides.c.active)).scalar()
            now = utcnow()
            revoked = self._deactivate(conn, student_id, assignment, question, now=now, by=by, reason=reason)
            if revoked and replaced is not None:
                # Restored as a new row (a copy), so that the replaced one keeps its own history.
                old = conn.execute(sa.select(S.overrides).where(S.overrides.c.id == replaced)).one()
                restored = conn.execute(sa.insert(S.overrides).values(
                    assignment=old.assignment, student=old.student, question=old.question, score=old.score,
                    reason=old.reason, created_by=old.created_by, created_at=now, active=True,
                    replaces=old.replaces).returning(S.overrides.c.id)).scalar_one()
                conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(revoked)).values(
                    deactivation_reason=f"{reason} (override #{old.id} restored as #{restored})"))
            return len(revoked)

        return self._write(tx)

    def remove(self, student_id: str, assignment: str | None = None, *, reason: str, by: str,
               attempt: int | None = None) -> str:
        """Delete a mistaken record, keeping what was deleted (and who, why) in ``removals``.

        ``attempt``: that one submission (all its gradings) of ``student_id`` on ``assignment``.
        Without it: the student's whole record on ``assignment`` (submissions, start, overrides).
        Without ``assignment``: the student, from every assignment and from the roster.
        Returns what was removed, in words.
        """
        student_id = require_text(student_id, "student_id")
        reason = require_text(reason, "reason (why it is removed)")
        by = require_text(by, "by (who removes)")
        if attempt is not None and assignment is None:
            raise ValueError("an attempt is removed from an assignment: name the assignment too")

        def tx(conn):
            self._require_student(conn, student_id)
            if assignment is not None:
                self._require_assignment(conn, assignment)
            subs = S.submissions
            query = sa.select(subs).where(subs.c.student == student_id)
            if assignment is not None:
                query = query.where(subs.c.assignment == assignment)
            rows = conn.execute(query.order_by(subs.c.id)).all()
            if attempt is not None:
                rows = [r for r in rows if r.attempt == attempt]
                if not rows:
                    raise ValueError(f"{student_id} has no attempt {attempt} on {assignment}")
            elif assignment is not None and not rows and not self._has_overrides(conn, student_id, assignment):
                raise ValueError(f"{student_id} has nothing recorded on {assignment}")
            snapshot = self._snapshot(conn, rows)
            ids = [r.id for r in rows]
            grading_ids = list(conn.execute(sa.select(S.gradings.c.id).where(
                S.gradings.c.submission_id.in_(ids))).scalars()) if ids else []
            if grading_ids:
                conn.execute(sa.delete(S.question_results).where(S.question_results.c.grading_id.in_(grading_ids)))
                conn.execute(sa.delete(S.gradings).where(S.gradings.c.id.in_(grading_ids)))
            if ids:
                conn.execute(sa.delete(subs).where(subs.c.id.in_(ids)))
            if attempt is None:
                scope = [S.overrides.c.student == student_id]
                starts = [S.starts.c.student == student_id]
                if assignment is not None:
                    scope.append(S.overrides.c.assignment == assignment)
                    starts.append(S.starts.c.assignment == assignment)
                snapshot["overrides"] = [row_data(o) for o in conn.execute(sa.select(S.overrides).where(*scope))]
                conn.execute(sa.delete(S.overrides).where(*scope))
                conn.execute(sa.delete(S.starts).where(*starts))
            if attempt is not None:
                what = f"attempt {attempt} (sha256 {rows[0].sha256[:12]})"
            elif assignment is not None:
                what = f"the whole record ({len(rows)} submission(s))"
            else:
                what = f"the student, from every assignment and the roster ({len(rows)} submission(s))"
                conn.execute(sa.delete(S.students).where(S.students.c.id == student_id))
            conn.execute(sa.insert(S.removals).values(
                assignment=assignment, student=student_id, what=what, snapshot=json_safe(snapshot),
                reason=reason, removed_by=by, removed_at=utcnow()))
            if assignment is not None and attempt is not None:
                self._refresh(conn, assignment, student_id)
            return what

        return self._write(tx)
