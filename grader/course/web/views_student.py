"""The student's pages: sign in, assignments, upload, status (polled), report, templates."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort, g, redirect, request, send_file, session, url_for

from grader.course.web import records, render, submissions, tokens
from grader.course.web.view_helpers import (
    app_page,
    assignment_or_404,
    course_of,
    limit,
    report_response,
    signed_in,
    upload_view_or_404,
    uploads_with_status,
)

bp = Blueprint("student", __name__)
TEMPLATE_FILES = {"py": "{module}.py", "ipynb": "{module}.ipynb", "instructions": "instructions.md"}


@bp.get("/favicon.ico")
def favicon():
    return Response(status=204)


@bp.get("/signin")
def signin():
    return app_page("signin.html", token=request.args.get("token", "")[:200])


@bp.post("/signin")
def signin_post():
    limit("signin", request.remote_addr or "?")
    course = course_of()
    with course.engine.begin() as conn:
        identity = tokens.verify(conn, request.form.get("token", "").strip())
    if identity is None:
        response = app_page("signin.html", token="", error="This sign-in token is not valid: it is unknown, "
                            "expired or revoked. Ask your instructor for a new link.")
        response.status_code = 403
        return response
    session.clear()
    session["tid"] = identity.token_id
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(url_for("instructor.home" if identity.is_instructor else "student.home"))


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("student.signin"))


@bp.get("/")
@signed_in()
def home():
    if g.identity.is_instructor:
        return redirect(url_for("instructor.home"))
    course = course_of()
    rows = []
    with course.engine.begin() as conn:
        for a in course.assignments.values():
            rows.append((a, submissions.standing(course, conn, a, g.identity.user_id)))
    return app_page("home.html", rows=rows)


@bp.get("/a/<name>")
@signed_in("student")
def assignment(name: str):
    course = course_of()
    a = assignment_or_404(name)
    student = g.identity.user_id
    with course.engine.begin() as conn:
        state = submissions.standing(course, conn, a, student)
        uploads = uploads_with_status(conn, a.name, student)
        show_hidden = course.hidden_visible(conn, a)
        settings = course.settings(conn, a.name)
    final = course.gradebook.final_score(a.name, student) if show_hidden and uploads else None
    return app_page("assignment.html", a=a, state=state, uploads=uploads, final=final, show_hidden=show_hidden,
                    settings=settings, max_bytes=course.config.max_upload_bytes)


@bp.post("/a/<name>/upload")
@signed_in("student")
def upload(name: str):
    a = assignment_or_404(name)
    limit("upload", g.identity.user_id)
    file = request.files.get("file")
    if file is None:
        raise submissions.Refused(400, f"no file in the form: choose your {a.module}.py or .ipynb")
    upload_id = submissions.accept_upload(course_of(), a.name, g.identity.user_id, file.stream, file.filename)
    return redirect(url_for("student.submission", upload_id=upload_id))


@bp.get("/s/<int:upload_id>")
@signed_in("student")
def submission(upload_id: int):
    course = course_of()
    with course.engine.begin() as conn:
        view = upload_view_or_404(course, conn, upload_id)
    return app_page("submission.html", upload=view.upload, status=view.status,
                    a=course.assignments[view.upload.assignment])


@bp.get("/s/<int:upload_id>/report")
@signed_in()
def report(upload_id: int):
    course = course_of()
    with course.engine.begin() as conn:
        view = upload_view_or_404(course, conn, upload_id)
        upload, show_hidden = view.upload, view.hidden
        if view.status["grading_id"] is None:
            return redirect(url_for("student.submission", upload_id=upload_id))
        a = course.assignments[upload.assignment]
        if not view.results:
            raise submissions.Refused(403, f"the results of {a.name} are not released yet")
        grading = records.grading(conn, view.status["grading_id"])
    notes = []
    if show_hidden:
        final = course.gradebook.final_score(a.name, upload.student)
        if final is not None and final.submission_id == grading.submission_id:
            notes = [f"Final score on {a.name}: {final.score:g} / {final.max_score:g}" +
                     (f" ({'; '.join(final.notes)})" if final.notes else "")] if final.score is not None else []
    back = url_for("instructor.student", name=a.name, student=upload.student) if g.identity.is_instructor \
        else url_for("student.assignment", name=a.name)
    return report_response(render.report_page(grading.results, upload.report_data, show_hidden=show_hidden,
                                              back_url=back, notes=notes))


@bp.get("/a/<name>/template/<kind>")
@signed_in()
def template(name: str, kind: str):
    a = assignment_or_404(name)
    if kind not in TEMPLATE_FILES:
        abort(404)
    from grader.engine.authoring import default_assignments_dir

    file_name = TEMPLATE_FILES[kind].format(module=a.module)
    path = a.folder.resolve().parent.parent / "student_template" / a.name / file_name
    if not path.is_file():
        path = default_assignments_dir().resolve().parent / "student_template" / a.name / file_name
    if not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=file_name)
