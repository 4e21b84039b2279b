"""Build SubmissionResult objects for the gradebook tests (no grading involved)."""

from __future__ import annotations

import datetime as dt
import hashlib

from grader.engine.results import ERROR, FAILED, PARTIAL, PASSED, CaseResult, LoadInfo, QuestionResult, SubmissionResult

UTC = dt.timezone.utc


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A time in January 2025, UTC."""
    return dt.datetime(2025, 1, day, hour, minute, second, tzinfo=UTC)


def make_result(assignment: str = "a1", student: str = "s1", scores=(5.0, 3.0), *, points=5.0,
                sha: str | None = None, grader_error: str | None = None, loaded: bool = True,
                graded_at: dt.datetime | None = None, variant: str | None = None,
                names: tuple[str, ...] | None = None) -> SubmissionResult:
    names = names or tuple(f"q{i + 1}" for i in range(len(scores)))
    questions = []
    for name, score in zip(names, scores):
        status = PASSED if score == points else (FAILED if score == 0 else PARTIAL)
        if not loaded:
            status = ERROR
        questions.append(QuestionResult(
            name=name, title=f"Question {name}", points=float(points), score=float(score), public=name != names[-1],
            status=status, cases=[CaseResult(label="case 1", fraction=score / points, status=status,
                                             message="ok" if status == PASSED else "wrong value",
                                             detail=f"expected {points}, got {score}")]))
    if sha is None:
        sha = hashlib.sha256(f"{assignment}/{student}/{list(scores)}".encode()).hexdigest()
    return SubmissionResult(
        assignment=assignment, submission=student, path=f"/class/{student}/{assignment}.py",
        questions=questions, load=LoadInfo(ok=loaded, error=None if loaded else "SyntaxError: invalid syntax"),
        isolation="test", seconds=1.25, sha256=sha, variant=variant,
        graded_at=(graded_at or at(20)).isoformat(), grader_error=grader_error)
