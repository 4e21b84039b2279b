"""The statuses of a case or question, and the one disclosure rule: who sees details."""

from __future__ import annotations

# "passed"/"failed" are what Gradescope knows; the others say why a question failed.
PASSED, PARTIAL, FAILED = "passed", "partial", "failed"
NOT_IMPLEMENTED, ERROR, TIMEOUT = "not implemented", "error", "timeout"

STUDENT, INSTRUCTOR = "student", "instructor"
VIEWS = (STUDENT, INSTRUCTOR)


def shows_details(view: str, public: bool) -> bool:
    """The disclosure rule: details (tracebacks, the student's own error texts, distances to an
    expected value) go only to instructors, or to anyone for a public question.

    ``view``: "student" or "instructor"; ``public``: the question is public.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    return view == INSTRUCTOR or bool(public)
