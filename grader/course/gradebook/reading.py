"""Reading the gradebook: final scores with their reasons, the results a report shows, a student's history."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.core import GradebookCore
from grader.course.gradebook.decisions import decide_student, student_score
from grader.course.gradebook.values import HistoryEntry, StudentScore
from grader.course.policy import Policy


class ReadingMixin(GradebookCore):
    """Final scores (computed from the rows under the policy), shown results and history."""

    def final_scores(self, assignment: str, policy: Policy | None = None) -> list[StudentScore]:
        """Every student's final score on ``assignment``, sorted by student.

        With ``policy``, the scores that policy would give (nothing is written); by
        default the assignment's recorded policy.
        """
        with self._read() as conn:
            info = self._require_assignment(conn, assignment)
            policy = policy or Policy.from_dict(info.policy)
            subs = self._submission_rows(conn, assignment)
            starts = dict(conn.execute(sa.select(S.starts.c.student, S.starts.c.started_at)
                                       .where(S.starts.c.assignment == assignment)).all())
            active = conn.execute(sa.select(S.overrides).where(S.overrides.c.assignment == assignment,
                                                                S.overrides.c.active)
                                  .order_by(S.overrides.c.id)).all()
            by_student: dict[str, list] = defaultdict(list)
            for row in subs:
                by_student[row.student].append(row)
            overrides_of: dict[str, list] = defaultdict(list)
            for row in active:
                overrides_of[row.student].append(row)
            decided = {s: decide_student(policy, rows, starts.get(s)) for s, rows in by_student.items()}
            counted_gradings = [row.grading_id for s, rows in by_student.items() for row in rows
                                if decided[s][row.id][1]]
            per_question = self._question_rows(conn, counted_gradings)
        scores = []
        for student in sorted(set(by_student) | set(overrides_of)):
            scores.append(student_score(policy, info, student, by_student.get(student, []),
                                         decided.get(student, {}), overrides_of.get(student, []), per_question))
        return scores

    def final_score(self, assignment: str, student_id: str) -> StudentScore | None:
        """One student's final score on ``assignment`` with every reason it differs from the raw
        score (``notes``) and the counting rule; None when nothing is recorded for them.

        This is the one record every view of a score is rendered from: the student's files,
        the class report, the summary and exports, a web page.
        """
        return next((s for s in self.final_scores(assignment) if s.student == student_id), None)

    def shown_results(self, assignment: str, student_id: str, final: StudentScore | None = None) -> dict | None:
        """The results (instructor view, as recorded) that a student's report shows: the counted
        attempt's current grading, else the latest attempt's; None when nothing is graded.
        ``final``: the student's :meth:`final_score`, when the caller has it already."""
        final = final if final is not None else self.final_score(assignment, student_id)
        with self._read() as conn:
            g, subs = S.gradings, S.submissions
            query = (sa.select(g.c.results).join(subs, subs.c.id == g.c.submission_id)
                     .where(subs.c.assignment == assignment, subs.c.student == student_id, g.c.is_current))
            if final is not None and final.grading_id is not None:
                query = query.where(g.c.id == final.grading_id)
            else:
                query = query.order_by(sa.func.coalesce(subs.c.submitted_at, subs.c.recorded_at).desc(),
                                       subs.c.id.desc())
            return conn.execute(query.limit(1)).scalar()

    def history(self, student_id: str, assignment: str) -> list[HistoryEntry]:
        """Every start, submission, grading and override of a student on an assignment, in time order."""
        entries: list[tuple[_dt.datetime, int, HistoryEntry]] = []
        with self._read() as conn:
            start = conn.execute(sa.select(S.starts.c.started_at).where(
                S.starts.c.assignment == assignment, S.starts.c.student == student_id)).scalar()
            if start is not None:
                entries.append((start, 0, HistoryEntry(start, "start", "started (recorded start)")))
            subs = conn.execute(sa.select(S.submissions).where(
                S.submissions.c.assignment == assignment, S.submissions.c.student == student_id)).all()
            attempt_of = {}
            for s in subs:
                attempt_of[s.id] = s.attempt
                when = s.submitted_at or s.recorded_at
                flags = [s.late_status]
                if s.late_minutes and s.late_status != "on time":
                    flags.append(f"{s.late_minutes:g} min after the deadline")
                if s.late_penalty:
                    flags.append(f"penalty {s.late_penalty:.0%}")
                if s.over_limit:
                    flags.append("over the limit")
                if s.counted:
                    flags.append("counted")
                variant = f", variant {s.variant}" if s.variant else ""
                entries.append((when, 1, HistoryEntry(
                    when, "submission", f"attempt {s.attempt} submitted (sha256 {s.sha256[:12]}{variant}): "
                                        + ", ".join(f for f in flags if f),
                    attempt=s.attempt, current=bool(s.counted), id=s.id)))
            gradings = conn.execute(sa.select(S.gradings).where(
                S.gradings.c.submission_id.in_(list(attempt_of)) if attempt_of else sa.false())
                .order_by(S.gradings.c.id)).all()
            seen: set[int] = set()
            for g in gradings:
                kind = "regrading" if g.submission_id in seen else "grading"
                seen.add(g.submission_id)
                text = f"attempt {attempt_of[g.submission_id]} graded: {g.score:g} / {g.max_score:g}"
                if g.grader_error:
                    text += f" (grader error: {g.grader_error})"
                elif not g.loaded:
                    text += " (did not load)"
                text += " [current]" if g.is_current else " [superseded]"
                entries.append((g.graded_at, 2, HistoryEntry(
                    g.graded_at, kind, text, attempt=attempt_of[g.submission_id], score=g.score,
                    max_score=g.max_score, current=bool(g.is_current), id=g.id)))
            overrides = conn.execute(sa.select(S.overrides).where(
                S.overrides.c.assignment == assignment, S.overrides.c.student == student_id)
                .order_by(S.overrides.c.id)).all()
            for o in overrides:
                target = f"question {o.question}" if o.question else "the whole assignment"
                entries.append((o.created_at, 4, HistoryEntry(
                    o.created_at, "override", f"override #{o.id}: {target} set to {o.score:g} by {o.created_by}: "
                                              f"{o.reason}" + ("" if o.active else " [inactive]"),
                    question=o.question, score=o.score, by=o.created_by, reason=o.reason,
                    current=bool(o.active), id=o.id)))
                if o.deactivated_at is not None:
                    entries.append((o.deactivated_at, 3, HistoryEntry(
                        o.deactivated_at, "override deactivated",
                        f"override #{o.id} deactivated by {o.deactivated_by}: {o.deactivation_reason}",
                        question=o.question, by=o.deactivated_by, reason=o.deactivation_reason, id=o.id)))
            removals = conn.execute(sa.select(S.removals).where(
                S.removals.c.student == student_id,
                sa.or_(S.removals.c.assignment == assignment, S.removals.c.assignment.is_(None)))
                .order_by(S.removals.c.id)).all()
            for r in removals:
                entries.append((r.removed_at, 5, HistoryEntry(
                    r.removed_at, "removal", f"removed {r.what} by {r.removed_by}: {r.reason}",
                    by=r.removed_by, reason=r.reason, id=r.id)))
        entries.sort(key=lambda e: (e[0], e[1], e[2].id or 0))
        return [e for _, _, e in entries]
