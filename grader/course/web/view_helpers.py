"""What every view uses: the signed-in guard, the request's course, error pages, rate limits, CSRF.

Kept apart from :mod:`grader.course.web.app` (which imports the views to register them) so that a
view module imports these without importing the application.
"""

from __future__ import annotations

import secrets
from functools import wraps

from flask import abort, g, jsonify, make_response, redirect, render_template, request, session, url_for

from grader.course.web.course import Course
from grader.course.web.standing import Refused

REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def wants_json() -> bool:
    return request.path.startswith("/api/") or g.get("via_bearer", False)


def error_response(status: int, message: str):
    if wants_json():
        response = jsonify({"error": message, "status": status})
    else:
        response = app_page("error.html", status=status, message=message)
    response.status_code = status
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
