"""A student's report and result, rendered from the gradebook's stored grading.

The gradebook keeps each grading's results.json (instructor view); the report
is rebuilt from it with :class:`grader.course.feedback.student.StudentReport`, which
applies the student view (no detail of a hidden question), plus the figure
data the worker saved beside the upload. While hidden results are not shown
(the assignment's ``hidden_results`` setting), hidden questions are left out
of the report and the score, and the page says so.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.feedback import data as figure_data
from grader.course.feedback.page import Images, esc, page
from grader.course.feedback.student import StudentReport, result_from_json
from grader.engine.results import SubmissionResult


def student_result(results: dict, *, show_hidden: bool) -> tuple[SubmissionResult, int]:
    """The result a student may see and how many hidden questions are held back."""
    result = result_from_json(results)
    if show_hidden:
        return result, 0
    hidden = [q for q in result.questions if not q.public]
    result.questions = [q for q in result.questions if q.public]
    return result, len(hidden)


def result_summary(results: dict, *, show_hidden: bool) -> dict:
    """Plain JSON for the API: the score and every question the student may see."""
    result, held_back = student_result(results, show_hidden=show_hidden)
    return {
        "score": result.score, "max_score": result.max_score, "hidden_held_back": held_back,
        "loaded": result.load.ok, "load_error": result.load.error, "grader_error": bool(result.grader_error),
        "questions": [{"name": q.name, "title": q.title, "score": q.score, "max_score": q.points,
                       "status": q.status, "public": q.public, "message": q.message("student")}
                      for q in result.questions],
    }


def report_page(results: dict, report_data: dict | None, *, show_hidden: bool, back_url: str,
                notes: list[str]) -> str:
    """The whole report page (inline CSS, figures as data URIs, no script)."""
    result, held_back = student_result(results, show_hidden=show_hidden)
    data = report_data if figure_data.valid(report_data, result.sha256) else {
        "format": figure_data.FORMAT, "sha256": result.sha256, "questions": [], "training": [], "missing": True}
    if held_back:
        kept = {q.name for q in result.questions}
        data = {**data, "questions": [q for q in data.get("questions", []) if q.get("name") in kept]}
    body = StudentReport(result, data, Images(Path("report.html"), embed=True)).render()
    banner = [f"<p><a href=\"{esc(back_url)}\">← back to the assignment</a></p>"]
    if held_back:
        banner.append(f"<section class=\"alert warn\"><p>{held_back} hidden question"
                      f"{'s are' if held_back != 1 else ' is'} graded but not shown yet; the score below "
                      "counts the public questions only.</p></section>")
    banner += [f"<section class=\"alert warn\"><p>{esc(n)}</p></section>" for n in notes]
    return page(f"{result.assignment}: your report", "\n".join(banner) + body)
