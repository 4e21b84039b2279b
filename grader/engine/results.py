"""What grading a submission produces, and its Gradescope-compatible form.

A :class:`SubmissionResult` holds one :class:`QuestionResult` per question,
each made of the :class:`CaseResult` of its cases. ``to_gradescope()`` writes
Gradescope's autograder ``results.json`` schema (``score``,
``execution_time``, ``output``, ``tests[]`` with ``name``, ``score``,
``max_score``, ``status``, ``output``, ``visibility``); dlgrade's own details
go under ``extra_data``, which Gradescope keeps but does not display.

Two audiences read a result. The *student view* never contains an expected
value of a hidden question: hidden questions show only their safe message
(and on Gradescope stay invisible until grades are published). The
*instructor view* shows everything.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any

# The statuses (best to worst) and the disclosure rule are the grading protocol's; named here for
# the many readers of results.
from grader.engine.protocol import (  # noqa: F401 (re-exported)
    ERROR,
    FAILED,
    NOT_IMPLEMENTED,
    PARTIAL,
    PASSED,
    TIMEOUT,
    shows_details,
)

RESULTS_FORMAT = "dlgrade-results/1"


def reply_digest(value: Any) -> str:
    """16 hex digits that stand for a student's reply to one case, for instructors' similarity checks.

    Equal replies give equal digests: floats are compared at float32 precision
    (so two students who compute the same wrong number in a different order
    still match), arrays by shape and values, containers element by element.
    The digest says nothing of the value itself.
    """
    digest = hashlib.sha256()
    _feed(digest, value, 0)
    return digest.hexdigest()[:16]


def _feed(digest, value: Any, depth: int) -> None:
    import numpy as np

    if depth > 20:
        digest.update(b"<deep>")
    elif value is None or isinstance(value, (bool, np.bool_)):
        digest.update(repr(bool(value) if value is not None else None).encode())
    elif isinstance(value, (int, np.integer)):
        digest.update(b"i" + str(int(value)).encode())
    elif isinstance(value, (float, np.floating)):
        x = float(value)
        digest.update(b"f" + (repr(float(np.float32(x))) if math.isfinite(x) else repr(x)).encode())
    elif isinstance(value, str):
        digest.update(b"s" + value.encode("utf-8", "replace") + b"\0")
    elif isinstance(value, np.ndarray):
        kind = "f" if value.dtype.kind in "fc" else value.dtype.kind
        array = value.astype(np.float32) if kind == "f" else value.astype(np.int64) if kind in "iub" else value
        digest.update(f"a{kind}{value.shape}".encode() + np.ascontiguousarray(array).tobytes())
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=str):
            digest.update(str(key).encode() + b":")
            _feed(digest, value[key], depth + 1)
        digest.update(b"}")
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _feed(digest, item, depth + 1)
        digest.update(b"]")
    else:
        digest.update(f"<{type(value).__name__}>".encode())


@dataclass
class CaseResult:
    label: str
    fraction: float
    status: str
    message: str
    detail: str = ""
    weight: float = 1.0
    seconds: float = 0.0
    data: dict = field(default_factory=dict)  # plain data for reports; not written to results.json


@dataclass
class QuestionResult:
    name: str
    title: str
    points: float
    score: float
    public: bool
    status: str
    cases: list[CaseResult]

    @property
    def fraction(self) -> float:
        return self.score / self.points if self.points else 1.0

    def message(self, view: str = "student") -> str:
        """The feedback for this question, for ``view`` "student" or "instructor"."""
        lines = []
        for case in self.cases:
            if case.status == PASSED:
                if "accuracy" in case.data:  # how well a trained model did is worth seeing when it passes too
                    lines.append(f"[{case.label}] {case.message}")
                continue
            lines.append(f"[{case.label}] {case.message}")
            if case.detail and shows_details(view, self.public):
                lines.append("    " + case.detail.replace("\n", "\n    "))
        if all(case.status == PASSED for case in self.cases):
            return "\n".join(["All checks passed."] + lines)
        return "\n".join(lines)


@dataclass
class LoadInfo:
    ok: bool
    error: str | None = None
    kind: str = "ok"
    cells: list[dict] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SubmissionResult:
    assignment: str
    submission: str          # an id: the student id or the file's stem
    path: str
    questions: list[QuestionResult]
    load: LoadInfo
    isolation: str
    seconds: float
    sha256: str
    variant: str | None = None
    stdout: str = ""
    stderr: str = ""
    graded_at: str = ""
    grader_error: str | None = None   # a fault of the grader, not of the student

    @property
    def score(self) -> float:
        return round(sum(q.score for q in self.questions), 6)

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions))

    @property
    def all_passed(self) -> bool:
        return all(q.status == PASSED for q in self.questions)

    # -- Gradescope's schema -------------------------------------------------
    def to_gradescope(self, view: str = "student") -> dict:
        """``results.json`` as Gradescope reads it."""
        tests = []
        for q in self.questions:
            tests.append({
                "name": q.title if q.title == q.name else f"{q.name}: {q.title}",
                "number": q.name,
                "score": round(q.score, 4),
                "max_score": q.points,
                "status": "passed" if q.status == PASSED else "failed",
                "output": q.message(view),
                "visibility": "visible" if q.public else "after_published",
            })
        output = self._summary_line()
        if self.grader_error:
            output += ("\nThe grader failed on this submission (not your fault); your instructor will grade it "
                       "again.")
        from grader.engine.cells import load_problems

        problems = load_problems(self.load)
        if problems:  # first in what the student reads: a failed cell explains the questions below it
            output = "\n\n".join(problems) + "\n\n" + output
        return {
            "score": round(self.score, 4),
            "execution_time": round(self.seconds, 3),
            "output": output,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": self._extra_data(view),
        }

    def _summary_line(self) -> str:
        return (f"{self.assignment}: {self.score:g} / {self.max_score:g} points "
                f"({sum(q.status == PASSED for q in self.questions)} of {len(self.questions)} "
                f"questions passed). Isolation: {self.isolation}.")

    def _extra_data(self, view: str) -> dict:
        extra: dict[str, Any] = {
            "format": RESULTS_FORMAT,
            "assignment": self.assignment,
            "submission": self.submission,
            "sha256": self.sha256,
            "variant": self.variant,
            "graded_at": self.graded_at,
            "isolation": self.isolation,
            "load": asdict(self.load),
            "questions": [
                {"name": q.name, "status": q.status, "score": q.score, "max_score": q.points,
                 "public": q.public,
                 "cases": [{"label": c.label, "status": c.status, "fraction": c.fraction,
                            "message": c.message,
                            **({"detail": c.detail} if shows_details(view, q.public) else {}),
                            **({"reply_digest": c.data["reply_digest"]}
                               if view == "instructor" and "reply_digest" in c.data else {})}
                           for c in q.cases]}
                for q in self.questions
            ],
        }
        if self.grader_error and view == "instructor":
            extra["grader_error"] = self.grader_error
        return extra
