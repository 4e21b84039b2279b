"""What every view uses: the signed-in guard, the request's course, error pages, rate limits, CSRF,
and the steps several views take alike (a student's uploads, an upload they may see, a refusal, a report
page, a CSV download).

Kept apart from :mod:`grader.course.web.app` (which imports the views to register them) so that a
view module imports these without importing the application.
"""

from __future__ import annotations

import secrets
from functools import wraps

from flask import Response, abort, g, jsonify, make_response, redirect, render_template, request, session, url_for

from grader.course.web import submissions
from grader.course.web.course import Course
from grader.course.web.standing import Refused
from grader.course.web.visibility import UploadView, upload_view

REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def wants_json() -> bool:
    return request.path.startswith("/api/") or g.get("via_bearer", False)


def error_response(status: int, message: str, *, as_json: bool = False):
    """The error page, or ``{"error", "status"}`` for the API, a bearer token or ``as_json``."""
    if as_json or wants_json():
        response = jsonify({"error": message, "status": status})
    else:
        response = app_page("error.html", status=status, message=message)
    response.status_code = status
    return response


def refusal_response(exc: Refused, *, as_json: bool = False):
    """The error page (or JSON) that says why a request was refused, with Retry-After where it gives one."""
    response = error_response(exc.status, exc.message, as_json=as_json)
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def app_page(template: str, **context):
    return make_response(render_template(template, **context))


def limit(name: str, key: str) -> None:
    from flask import current_app

    wait = current_app.extensions["dlgrade_limits"][name].hit(key)
    if wait:
        raise Refused(429, f"too many requests: try again in {int(wait) + 1} s", retry_after=int(wait) + 1)


def signed_in(role: str | None = None):
    """A view for signed-in users (``role``: only them); others get the sign-in page or a 403."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            identity = g.get("identity")
            if identity is None:
                if wants_json():
                    return error_response(401, "sign in first (a bearer token, or the sign-in link)")
                return redirect(url_for("student.signin"))
            if role is not None and identity.role != role:
                return error_response(403, f"this page is for {role}s only")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def course_of() -> Course:
    return g.course


def assignment_or_404(name: str):
    assignment = course_of().assignments.get(name)
    if assignment is None:
        abort(404)
    return assignment


def uploads_with_status(conn, assignment: str, student: str) -> list[tuple]:
    """(upload row, its status dict) for each of the student's uploads to ``assignment``, oldest first."""
    return [(u, submissions.upload_status(conn, u)) for u in submissions.uploads_of(conn, assignment, student)]


def upload_view_or_404(course: Course, conn, upload_id: int) -> UploadView:
    """The upload as the signed-in user may see it; a 404 where it is not theirs to see (or does not exist)."""
    view = upload_view(course, conn, upload_id, g.identity)
    if view is None:
        abort(404)
    return view


def report_response(html: str) -> Response:
    """A report page, under the policy that lets it run no script and load nothing (:data:`REPORT_CSP`)."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


def csv_download(text: str, file_name: str) -> Response:
    """``text`` as a CSV file the browser saves as ``file_name``."""
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={file_name}"})
