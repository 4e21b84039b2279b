"""HTML reports: a student's (``report.html`` beside results.json) and a class's (for the instructor).

``write_student_report(result, folder)`` and ``write_instructor_report(results_dir)``;
``write_result_folder(result, folder)``: one result's files and its student report, without a gradebook;
``dlgrade report`` (grader.cli.report) rebuilds either from the JSON on disk.
"""

from grader.course.feedback.instructor import write_instructor_report
from grader.course.feedback.student import rebuild_student_report, write_student_report
from grader.engine.result_files import write_result_files


def write_result_folder(result, folder) -> None:
    """``result``'s files (:func:`~grader.engine.result_files.write_result_files`) and ``report.html``.

    The HTML report is an extra: if it cannot be made, the results files are written already and
    ``report.error.txt`` says why.
    """
    write_result_files(result, folder)
    try:
        write_student_report(result, folder)
    except Exception as exc:
        (folder / "report.error.txt").write_text(f"{type(exc).__name__}: {exc}\n")


__all__ = ["write_student_report", "rebuild_student_report", "write_instructor_report", "write_result_folder"]
