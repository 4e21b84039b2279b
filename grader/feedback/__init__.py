"""HTML reports: a student's (``report.html`` beside results.json) and a class's (for the instructor).

``write_student_report(result, folder)`` and ``write_instructor_report(results_dir)``;
``dlgrade report`` (grader.feedback.command) rebuilds either from the JSON on disk.
"""

from grader.feedback.instructor import write_instructor_report
from grader.feedback.student import rebuild_student_report, write_student_report

__all__ = ["write_student_report", "rebuild_student_report", "write_instructor_report"]
