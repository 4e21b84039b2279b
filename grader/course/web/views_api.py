"""The HTTP API that ``dlgrade submit`` uses (JSON; a bearer token, or the session for GETs).

``GET  /api/v1/assignments``                         the student's assignments and attempts left
``POST /api/v1/assignments/NAME/submissions?filename=backprop.py``
                                                     body: the file's bytes; 202 with ``{"id", "status_url"}``
``GET  /api/v1/submissions/ID``                      ``{"status": "queued"|"running"|"done"|"failed", ...}``;
                                                     once done, ``"result"`` with the score and questions
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for

from grader.course.web import records, render, submissions
from grader.course.web.view_helpers import course_of, error_response, limit, signed_in, upload_view_or_404

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/assignments")
@signed_in()
def assignments():
    course = course_of()
    out = []
    with course.engine.begin() as conn:
        for a in course.assignments.values():
            state = submissions.standing(course, conn, a, g.identity.user_id)
            out.append({"name": a.name, "title": a.title, "module": a.module, "accepts": list(a.suffixes),
                        "due": state.due.isoformat() if state.due else None,
                        "attempts_used": state.attempts_used, "attempts_left": state.attempts_left,
                        "max_attempts": a.policy.max_attempts})
    return jsonify({"assignments": out})


@bp.post("/assignments/<name>/submissions")
@signed_in("student")
def submit(name: str):
    if not g.via_bearer:
        return error_response(401, "the API takes uploads with a bearer token (Authorization: Bearer TOKEN)")
    limit("upload", g.identity.user_id)
    upload_id = submissions.accept_upload(course_of(), name, g.identity.user_id, request.stream,
                                          request.args.get("filename"), content_length=request.content_length)
    response = jsonify({"id": upload_id, "status": "queued",
                        "status_url": url_for("api.status", upload_id=upload_id)})
    response.status_code = 202
    return response


@bp.get("/submissions/<int:upload_id>")
@signed_in()
def status(upload_id: int):
    course = course_of()
    with course.engine.begin() as conn:
        view = upload_view_or_404(course, conn, upload_id)
        out = view.status
        if out["grading_id"] is not None and view.results:
            grading = records.grading(conn, out["grading_id"])
            out["result"] = render.result_summary(grading.results, show_hidden=view.hidden)
            out["report_url"] = url_for("student.report", upload_id=upload_id)
    return jsonify(out)
