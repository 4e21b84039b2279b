"""The instructor's side of an exam on the website: the live view, extensions, closing, release,
and one student's paper, answers and key side by side. Every page is refused to a student (403)."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, url_for

from grader.course.web import exams
from grader.course.web.course import utcnow
from grader.course.web.view_helpers import app_page, course_of, signed_in
from grader.course.web.views_exam import exam_or_404, paper_sections
from grader.course.web.views_instructor import _number, _reason

bp = Blueprint("exam_instructor", __name__, url_prefix="/instructor/exam")


@bp.get("/<name>")
@signed_in("instructor")
def live(name: str):
    """Who has opened, their time left, who has handed in; extend, close, release."""
    course = course_of()
    a = exam_or_404(name)
    now = utcnow()
    exams.sweep(course, a, now)
    with course.engine.begin() as conn:
        rows = exams.sittings(course, conn, a, now)
        closed = exams.closed_at(conn, a.name)
        settings = course.settings(conn, a.name)
    return app_page("exam_instructor.html", a=a, rows=rows, now=now, closed=closed, settings=settings)


@bp.post("/<name>/s/<student>/extend")
@signed_in("instructor")
def extend(name: str, student: str):
    a = exam_or_404(name)
    minutes = _number("minutes", "the extension in minutes")
    exams.extend(course_of(), a, student, minutes, _reason(), g.identity.user_id)
    return redirect(url_for("exam_instructor.live", name=a.name))


@bp.post("/<name>/close")
@signed_in("instructor")
def close(name: str):
    a = exam_or_404(name)
    exams.close(course_of(), a, g.identity.user_id)
    return redirect(url_for("exam_instructor.live", name=a.name))


@bp.post("/<name>/release")
@signed_in("instructor")
def release(name: str):
    a = exam_or_404(name)
    course = course_of()
    with course.writer.begin() as conn:
        course.save_settings(conn, a.name, released_at=utcnow())
    return redirect(url_for("exam_instructor.live", name=a.name))


def _formula(key) -> str | None:
    """An expected expression as MathML (written by sympy from the parsed key), else None."""
    if getattr(key.check, "kind", "") != "expression":
        return None
    from sympy.printing.mathml import mathml

    try:
        parsed = key.check.parse_expected(key.expected)
    except ValueError:
        return None
    return '<math display="block">' + mathml(parsed.expr, printer="presentation") + "</math>"


@bp.get("/<name>/s/<student>")
@signed_in("instructor")
def student(name: str, student: str):
    """The student's paper, their answers and the key, question by question, and their history."""
    from grader.course.exam.paper import _fmt_value
    from grader.engine.sheets import answer_keys

    course = course_of()
    a = exam_or_404(name)
    now = utcnow()
    with course.engine.begin() as conn:
        sitting = exams.sitting(course, conn, a, student, now)
        if sitting is None:
            abort(404)
        saved = exams.saved_answers(conn, a.name, student)
        events = exams.history(conn, a.name, student)
    compiled = exams.PAPERS.compiled(a, student)
    keys = {k.key: (_fmt_value(k.expected), k.check.describe(), _formula(k)) for k in answer_keys(compiled)}
    final = course.gradebook.final_score(a.name, student)
    return app_page("exam_instructor_student.html", a=a, student=student, sitting=sitting, now=now,
                    compiled=compiled, sections=paper_sections(compiled, saved), keys=keys, events=events,
                    final=final)
