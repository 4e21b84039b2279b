"""What one viewer may see of one upload: the upload itself, its graded results, its hidden questions.

One rule for every page and API answer that shows an upload:

- a student sees only their own uploads (another student's id is a 404, as a missing one);
  an instructor sees every upload;
- a student sees the graded results of an exam only once they are released (or at once, where
  the exam's setting says so) (:func:`grader.course.web.exams.results_visible`);
- a student sees the results of hidden questions as the course's ``hidden_results`` setting says
  (:meth:`grader.course.web.course.Course.hidden_visible`); an instructor always does.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.course.web import exams, submissions


@dataclass(frozen=True)
class UploadView:
    upload: object        # the uploads row
    status: dict          # :func:`grader.course.web.submissions.upload_status`
    results: bool         # the graded results may be shown
    hidden: bool          # the hidden questions' results may be shown


def upload_view(course, conn, upload_id: int, identity) -> UploadView | None:
    """The upload as ``identity`` may see it, or None when it is missing or not theirs."""
    teacher = identity.is_instructor
    upload = submissions.own_upload(conn, upload_id, None if teacher else identity.user_id)
    if upload is None:
        return None
    a = course.assignments[upload.assignment]
    return UploadView(upload, submissions.upload_status(conn, upload),
                      results=teacher or exams.results_visible(course, conn, a),
                      hidden=teacher or course.hidden_visible(conn, a))
