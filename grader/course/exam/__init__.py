"""Exams: per-student variants, answer sheets, papers and keys (``dlgrade exam ...``).

- :mod:`grader.course.exam.variants`: a student's variant id (HMAC of the student id
  under the exam's secret salt) and the exam compiled for that student;
- :mod:`grader.course.exam.paper`: the student's paper (markdown and standalone
  HTML) and the instructor's key;
- :mod:`grader.course.exam.grading`: grading an answer sheet (``grader.engine.sheets``) or
  a ``.py`` submission against the student's own variant;
- :mod:`grader.cli.exam`: the ``dlgrade exam`` subcommands.

An assignment is an exam when its ``questions.py`` declares
``Assignment(..., kind="exam")``.
"""

from __future__ import annotations


def is_exam(assignment) -> bool:
    """Whether ``assignment`` is an exam: ``Assignment(..., kind="exam")`` in its questions.py."""
    return getattr(assignment, "kind", None) == "exam"


__all__ = ["is_exam"]
