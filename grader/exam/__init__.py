"""Exams: per-student variants, answer sheets, papers and keys (``dlgrade exam ...``).

- :mod:`grader.exam.variants`: a student's variant id (HMAC of the student id
  under the exam's secret salt) and the exam compiled for that student;
- :mod:`grader.exam.paper`: the student's paper (markdown and standalone
  HTML) and the instructor's key;
- :mod:`grader.exam.grading`: grading an answer sheet (``grader.sheets``) or
  a ``.py`` submission against the student's own variant;
- :mod:`grader.exam.command`: the ``dlgrade exam`` subcommands.

An assignment is an exam when its ``questions.py`` sets ``EXAM = True``, or
when its ``policy.toml`` says ``kind = "exam"``.
"""

from __future__ import annotations

import sys


def is_exam(assignment) -> bool:
    """Whether ``assignment`` (from :func:`grader.authoring.load_assignment`) is an exam."""
    if getattr(assignment, "kind", None) == "exam":
        return True
    folder = getattr(assignment, "folder", None)
    if folder is not None:
        module = sys.modules.get(f"dlgrade_assignment_{folder.name}")
        if getattr(module, "EXAM", False) is True:
            return True
        from grader.policy import load_policy

        try:
            return load_policy(folder).kind == "exam"
        except (OSError, ValueError):
            return False
    return False


__all__ = ["is_exam"]
