"""Grading an exam submission against the student's own variant.

A submission is an answer sheet (``.toml``, ``.yaml``, ``.yml``; read by
:class:`grader.engine.sheets.AnswerSheetSession`, no code runs) or anything the
sandbox grades (a ``.py``, a notebook, a folder). Either way the exam is
first compiled for the student (:func:`grader.course.exam.variants.compile_for_student`),
so the expected answers are those of that student's paper.

The engine opens an answer sheet itself (no code runs for it), so a sheet and
a ``.py`` go through the same grading.
"""

from __future__ import annotations

from pathlib import Path

from grader.engine import grading
from grader.engine.authoring import Assignment, CompiledAssignment
from grader.engine.results import SubmissionResult

from .variants import compile_for_student, normalize_student_id


def grade_answer_sheet(compiled: CompiledAssignment, sheet: Path, *,
                       submission_id: str | None = None) -> SubmissionResult:
    """Grade an answer sheet against ``compiled`` (already the student's variant)."""
    return grading.grade_submission(compiled, Path(sheet), submission_id=submission_id)


def grade_exam_submission(assignment: Assignment, submission: Path, *, student_id: str | None = None,
                          salt: str | None = None, **engine_options) -> SubmissionResult:
    """Grade one student's submission against that student's variant.

    An answer sheet (or a folder holding one sheet and no code) is read by
    :class:`~grader.engine.sheets.AnswerSheetSession`; anything else goes to the sandbox.

    ``engine_options`` (e.g. ``slot``) go to :func:`grader.engine.grading.grade_submission`
    for code submissions.
    """
    submission = Path(submission)
    sid = normalize_student_id(student_id or grading.submission_id_for(submission))
    compiled = compile_for_student(assignment, sid, salt=salt)
    return grading.grade_submission(compiled, submission, submission_id=sid, **engine_options)


__all__ = ["grade_answer_sheet", "grade_exam_submission"]
