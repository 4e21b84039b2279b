"""One result's files in one folder, without a gradebook.

A class's files are written by :mod:`grader.course.feedback.class_folder` from
the gradebook instead; this is for one submission graded on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.engine.results import SubmissionResult
from grader.engine.text_report import text_report


def write_result_files(result: SubmissionResult, folder: Path) -> None:
    """``results.json`` and ``feedback.txt`` (the student's view), ``results.instructor.json`` and
    ``report.instructor.txt`` (the instructor's view, with expected values), ``stdout.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(result.to_gradescope("student"), indent=2))
    (folder / "results.instructor.json").write_text(json.dumps(result.to_gradescope("instructor"), indent=2))
    (folder / "report.instructor.txt").write_text(text_report(result, view="instructor"))
    (folder / "feedback.txt").write_text(text_report(result, view="student"))
    (folder / "stdout.txt").write_text(result.stdout)
