"""What the gradebook hands its callers: frozen dataclasses, never rows."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from grader.course.policy import Policy


@dataclass(frozen=True)
class QuestionScore:
    question: str
    score: float
    max_score: float | None
    status: str
    overridden: bool = False


@dataclass(frozen=True)
class StudentScore:
    """One student's final score on one assignment, and how it came about."""
    student: str
    assignment: str
    score: float | None          # final: counted attempt, late penalty, overrides; None: nothing counts
    max_score: float
    raw_score: float | None      # the counted attempt as graded (question overrides applied), before penalty
    late_minutes: float
    late_status: str
    late_penalty: float          # points taken off for lateness
    attempt: int | None          # the counted attempt's number
    attempts: int                # attempts recorded, counted or not
    submission_id: int | None
    grading_id: int | None
    overridden: bool             # an active override changed the score
    questions: tuple[QuestionScore, ...] = ()
    notes: tuple[str, ...] = ()  # every reason the final score differs from the raw one, in words
    counting: str = ""           # which attempt counts under the policy, in one sentence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what a student's report, a results file or a web page shows of this score."""
        return {
            "student": self.student, "assignment": self.assignment, "score": self.score,
            "max_score": self.max_score, "raw_score": self.raw_score, "late_minutes": self.late_minutes,
            "late_status": self.late_status, "late_penalty": self.late_penalty, "attempt": self.attempt,
            "attempts": self.attempts, "overridden": self.overridden, "reasons": list(self.notes),
            "counting": self.counting,
            "questions": [{"question": q.question, "score": q.score, "max_score": q.max_score,
                           "status": q.status, "overridden": q.overridden} for q in self.questions],
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One event in a student's record on an assignment."""
    when: _dt.datetime
    kind: str                    # start, submission, grading, override, override deactivated
    summary: str
    attempt: int | None = None
    question: str | None = None
    score: float | None = None
    max_score: float | None = None
    by: str | None = None
    reason: str | None = None
    current: bool | None = None  # grading: is the current one; override: is active
    id: int | None = None


@dataclass(frozen=True)
class AssignmentInfo:
    name: str
    title: str
    max_score: float
    kind: str
    policy: Policy
