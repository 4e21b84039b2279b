"""The Flask application: sessions, CSRF, security headers, errors; the views live in their own modules.

Why Flask: a small, long-lived WSGI framework whose templates are Jinja2
(already how the course's reports think: server-rendered pages, no build
step); it runs under any WSGI server (``dlgrade serve`` uses waitress, which
is pure Python and runs everywhere; gunicorn works too); its whole surface
here is a few dozen routes, which FastAPI's async model would not simplify,
since grading happens in separate worker processes anyway.

Security, in one place:

* Sessions are Flask's signed cookies (key: the course's ``secret_key``),
  ``HttpOnly``, ``SameSite=Lax``, ``Secure`` unless the site runs on a
  loopback address over plain HTTP. A session holds only the id of the token
  used to sign in, checked against the database at every request, so
  revoking a token or its expiry ends the session.
* Every POST carries a CSRF token bound to the session (a form field); the
  API's POST takes a bearer token instead and ignores cookies.
* Responses carry a Content-Security-Policy (scripts and styles from this
  site only; a report page: inline styles and data: images, nothing else),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (a
  sign-in link holds a token) and ``X-Frame-Options: DENY``; with LMS platforms
  registered (:mod:`grader.course.web.lti`), only their origins may frame the site.
* Sign-in is rate-limited per address, uploads per student.
"""

from __future__ import annotations

import hmac

from flask import Flask, g, request, session
from werkzeug.exceptions import HTTPException

from grader.course.web import tokens
from grader.course.web.course import Course
from grader.course.web.ratelimit import RateLimit
from grader.course.web.standing import Refused
from grader.course.web.view_helpers import csrf_token, error_response, refusal_response

UPLOAD_SLACK = 64 * 1024    # multipart headers and the form's other fields, beyond the file's cap
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def create_app(course: Course, *, secure_cookies: bool = True, signin_limit: tuple[int, float] = (10, 60.0),
               upload_limit: tuple[int, float] = (10, 60.0), preview_limit: tuple[int, float] = (240, 60.0)) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=course.secret_key(),
        SESSION_COOKIE_NAME="dlgrade_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        MAX_CONTENT_LENGTH=course.config.max_upload_bytes + UPLOAD_SLACK,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["dlgrade_course"] = course
    # preview: an exam's expression preview parses in this process (bounded by the parser): a typist
    # needs a few a second, a script probing the parser is slowed to that.
    app.extensions["dlgrade_limits"] = {"signin": RateLimit(*signin_limit), "upload": RateLimit(*upload_limit),
                                        "preview": RateLimit(*preview_limit)}

    @app.before_request
    def identify():
        g.course = course
        g.identity = None
        g.via_bearer = False
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.via_bearer = True
            with course.engine.begin() as conn:
                g.identity = tokens.verify(conn, header[len("Bearer "):].strip())
            if g.identity is None:
                return error_response(401, "the token is not valid: unknown, expired or revoked; ask your "
                                           "instructor for a new sign-in link")
            return None
        token_id = session.get("tid")
        if isinstance(token_id, int):
            with course.engine.begin() as conn:
                g.identity = tokens.identity_by_id(conn, token_id)
            if g.identity is None:
                session.clear()
        if request.method == "POST" and request.endpoint not in app.config.get("DLGRADE_CSRF_EXEMPT", ()):
            sent = request.form.get("csrf_token", "")
            if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                return error_response(400, "missing or wrong CSRF token: reload the page and submit the form again")
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        ancestors = app.config.get("DLGRADE_FRAME_ANCESTORS")
        if ancestors:   # an LMS (grader.course.web.lti) shows the site in a frame: only its origins may
            response.headers["Content-Security-Policy"] = response.headers["Content-Security-Policy"].replace(
                "frame-ancestors 'none'", "frame-ancestors " + " ".join(ancestors))
        else:
            response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.context_processor
    def common():
        return {"identity": g.get("identity"), "csrf_token": csrf_token, "course_assignments": course.assignments}

    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return refusal_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {413: f"the upload is larger than the limit of {course.config.max_upload_bytes:,} bytes",
                    404: "there is nothing here (or it is not yours to see)",
                    405: "this address does not take that method"}
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name))

    from grader.course.web import views_api, views_instructor, views_student

    app.register_blueprint(views_student.bp)
    app.register_blueprint(views_instructor.bp)
    app.register_blueprint(views_api.bp)
    from grader.course.web import views_exam, views_exam_instructor

    app.register_blueprint(views_exam.bp)
    app.register_blueprint(views_exam_instructor.bp)
    from grader.course.web import lti

    lti.install(app, course)
    return app
