"""Read-only look-ups in the gradebook's own tables that its public API does not offer (yet).

The website renders every report from the grading the gradebook stores
(``gradings.results``, the instructor view of results.json) and needs the
current grading of one submission. Writing stays with
:class:`grader.course.gradebook.Gradebook`; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from grader.course.gradebook import schema as S


@dataclass(frozen=True)
class Grading:
    id: int
    submission_id: int
    student: str
    assignment: str
    score: float
    max_score: float
    is_current: bool
    grader_error: str | None
    results: dict


def grading(conn, grading_id: int) -> Grading | None:
    row = conn.execute(
        sa.select(S.gradings.c.id, S.gradings.c.submission_id, S.submissions.c.student,
                  S.submissions.c.assignment, S.gradings.c.score, S.gradings.c.max_score,
                  S.gradings.c.is_current, S.gradings.c.grader_error, S.gradings.c.results)
        .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
        .where(S.gradings.c.id == grading_id)).first()
    return Grading(*row) if row is not None else None


def current_grading_of(conn, grading_id: int) -> int | None:
    """The current grading of the submission that ``grading_id`` graded (itself, unless regraded)."""
    sub = sa.select(S.gradings.c.submission_id).where(S.gradings.c.id == grading_id).scalar_subquery()
    return conn.execute(sa.select(S.gradings.c.id).where(S.gradings.c.submission_id == sub,
                                                         S.gradings.c.is_current)).scalar()


def current_grading(conn, assignment: str, student: str, sha256: str) -> tuple[int, str | None] | None:
    """(id, grader_error) of the current grading of this content, or None when it is not graded."""
    row = conn.execute(
        sa.select(S.gradings.c.id, S.gradings.c.grader_error)
        .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
        .where(S.submissions.c.assignment == assignment, S.submissions.c.student == student,
               S.submissions.c.sha256 == sha256, S.gradings.c.is_current)).first()
    return (row.id, row.grader_error) if row is not None else None


def failure_lines(conn, grading_ids: list[int]) -> list[tuple[str, str]]:
    """(question, first line of its message) for every question not passed in these gradings."""
    out: list[tuple[str, str]] = []
    for start in range(0, len(grading_ids), 500):
        rows = conn.execute(sa.select(S.question_results.c.question, S.question_results.c.message).where(
            S.question_results.c.grading_id.in_(grading_ids[start:start + 500]),
            S.question_results.c.status != "passed")).all()
        out += [(q, (m.strip().splitlines() or [""])[0][:160]) for q, m in rows]
    return out
