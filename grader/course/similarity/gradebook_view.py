"""What similarity needs from the gradebook: each student's counted submission, its file, time and results."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.gradebook.store import Gradebook


@dataclass(frozen=True)
class Handed:
    """One student's submission that counts: where it was read from, when it was handed in, its results."""
    student: str
    source_path: str | None
    submitted_at: _dt.datetime | None
    results: dict


def counted_submissions(gradebook: Gradebook, assignment: str) -> dict[str, Handed]:
    """Student → the submission that counts (the policy's choice; else the latest graded one)."""
    g = S.gradings
    query = (sa.select(S.submissions.c.student, S.submissions.c.source_path, S.submissions.c.submitted_at,
                       S.submissions.c.counted, S.submissions.c.id, g.c.results)
             .select_from(S.submissions.join(g, sa.and_(g.c.submission_id == S.submissions.c.id, g.c.is_current)))
             .where(S.submissions.c.assignment == assignment)
             .order_by(S.submissions.c.student, S.submissions.c.counted, S.submissions.c.id))
    chosen: dict[str, Handed] = {}
    with gradebook.engine.connect() as conn:
        for row in conn.execute(query):
            results = row.results if isinstance(row.results, dict) else json.loads(row.results or "{}")
            chosen[row.student] = Handed(row.student, row.source_path, row.submitted_at, results)  # last wins
    return chosen
