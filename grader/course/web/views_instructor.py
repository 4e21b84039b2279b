"""The instructor's pages: class tables, pass rates, a student's history, overrides, extensions,
regrades, release of hidden results, CSV export and similarity evidence. Every one is refused to a student (403)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from functools import partial

import sqlalchemy as sa
from flask import Blueprint, abort, g, redirect, request, url_for

from grader.course.similarity import report as similarity_report
from grader.course.web import queue, records, submissions
from grader.course.web import similarity as similarity_evidence
from grader.course.web import tables as T
from grader.course.web.course import HIDDEN_MODES, utcnow
from grader.course.web.standing import Refused
from grader.course.web.view_helpers import (
    app_page,
    assignment_or_404,
    course_of,
    csv_download,
    report_response,
    signed_in,
    uploads_with_status,
)
from grader.engine.textsafe import spreadsheet_row

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
SIMILARITY_TOP = 50   # pairs listed per kind of evidence


@bp.get("/")
@signed_in("instructor")
def home():
    course = course_of()
    with course.engine.begin() as conn:
        counts = queue.counts(conn)
        uploads = dict(conn.execute(sa.select(T.uploads.c.assignment, sa.func.count())
                                    .group_by(T.uploads.c.assignment)).all())
    return app_page("instructor_home.html", counts=counts, uploads=uploads)


@bp.get("/a/<name>")
@signed_in("instructor")
def assignment(name: str):
    course = course_of()
    a = assignment_or_404(name)
    finals = course.gradebook.final_scores(a.name)
    passed, seen = Counter(), Counter()
    statuses: dict[str, Counter] = defaultdict(Counter)
    for s in finals:
        for q in s.questions:
            seen[q.question] += 1
            passed[q.question] += q.status == "passed"
            statuses[q.question][q.status] += 1
    with course.engine.begin() as conn:
        failures: dict[str, Counter] = defaultdict(Counter)
        for question, line in records.failure_lines(conn, [s.grading_id for s in finals if s.grading_id]):
            failures[question][line] += 1
    rates = [(q, passed[q], seen[q], statuses[q].most_common(), failures[q].most_common(3)) for q in seen]
    with course.engine.begin() as conn:
        settings = course.settings(conn, a.name)
        waiting = conn.execute(sa.select(sa.func.count()).select_from(T.jobs).join(
            T.uploads, T.uploads.c.id == T.jobs.c.upload_id).where(
            T.uploads.c.assignment == a.name, T.jobs.c.status.in_([queue.QUEUED, queue.RUNNING]))).scalar_one()
    return app_page("instructor_assignment.html", a=a, finals=finals, rates=rates, settings=settings,
                    modes=HIDDEN_MODES, waiting=waiting)


@bp.get("/a/<name>/export.csv")
@signed_in("instructor")
def export(name: str):
    a = assignment_or_404(name)
    finals = course_of().gradebook.final_scores(a.name)
    questions = sorted({q.question for s in finals for q in s.questions})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_row(["student", "score", "max_score", "attempts", "late_minutes", *questions,
                                     "notes"]))
    for s in finals:
        by = {q.question: q.score for q in s.questions}
        writer.writerow(spreadsheet_row([s.student, "" if s.score is None else s.score, s.max_score, s.attempts,
                                         s.late_minutes, *[by.get(q, "") for q in questions],
                                         "; ".join(s.notes)]))
    return csv_download(buffer.getvalue(), f"{a.name}.csv")


@bp.get("/a/<name>/s/<student>")
@signed_in("instructor")
def student(name: str, student: str):
    course = course_of()
    a = assignment_or_404(name)
    with course.engine.begin() as conn:
        uploads = uploads_with_status(conn, a.name, student)
        extension = course.extension_minutes(conn, a.name, student)
        state = submissions.standing(course, conn, a, student)
    history = course.gradebook.history(student, a.name)
    final = course.gradebook.final_score(a.name, student)
    if not uploads and not history:
        abort(404)
    return app_page("instructor_student.html", a=a, student=student, uploads=uploads, history=history,
                    final=final, extension=extension, state=state)


def _number(field: str, what: str, *, minimum: float = 0.0) -> float:
    text = request.form.get(field, "").strip()
    try:
        value = float(text)
    except ValueError:
        raise Refused(400, f"{what} must be a number, got {text[:40]!r}") from None
    if not (value >= minimum) or value != value or value in (float("inf"),):
        raise Refused(400, f"{what} must be a number >= {minimum:g}, got {text[:40]!r}")
    return value


def _reason() -> str:
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise Refused(400, "give a reason: it is kept in the student's history")
    return reason[:500]


@bp.post("/a/<name>/s/<student>/override")
@signed_in("instructor")
def override(name: str, student: str):
    a = assignment_or_404(name)
    score = _number("score", "the score")
    return _change_score(a, student, partial(course_of().gradebook.override, student, a.name, score))


@bp.post("/a/<name>/s/<student>/revoke-override")
@signed_in("instructor")
def revoke_override(name: str, student: str):
    a = assignment_or_404(name)
    return _change_score(a, student, partial(course_of().gradebook.revoke_override, student, a.name))


def _change_score(a, student: str, change):
    """An override or its revocation: ``change(reason=, by=, question=)`` on the gradebook, for the form's
    question (none: the whole score) and reason; a change the gradebook refuses (ValueError) is a 400."""
    question = request.form.get("question", "").strip() or None
    try:
        change(reason=_reason(), by=g.identity.user_id, question=question)
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    return redirect(url_for("instructor.student", name=a.name, student=student))


@bp.post("/a/<name>/s/<student>/extend")
@signed_in("instructor")
def extend(name: str, student: str):
    a = assignment_or_404(name)
    minutes = _number("minutes", "the extension in minutes")
    reason = _reason()
    with course_of().writer.begin() as conn:
        conn.execute(sa.insert(T.extensions).values(assignment=a.name, student=student, minutes=minutes,
                                                    reason=reason, created_by=g.identity.user_id,
                                                    created_at=utcnow()))
    return redirect(url_for("instructor.student", name=a.name, student=student))


def _regrade(conn, upload) -> bool:
    """Queue a regrade of ``upload`` unless one is waiting; False when it has no grading yet."""
    if upload.grading_id is None:
        return False
    waiting = conn.execute(sa.select(T.jobs.c.id).where(
        T.jobs.c.upload_id == upload.id, T.jobs.c.status.in_([queue.QUEUED, queue.RUNNING]))).first()
    if waiting is not None:
        return False
    current = records.current_grading_of(conn, upload.grading_id)
    queue.enqueue(conn, upload.id, kind="regrade", previous_grading_id=current)
    return True


@bp.post("/uploads/<int:upload_id>/regrade")
@signed_in("instructor")
def regrade_one(upload_id: int):
    with course_of().writer.begin() as conn:
        upload = submissions.own_upload(conn, upload_id, None)
        if upload is None:
            abort(404)
        _regrade(conn, upload)
    return redirect(url_for("instructor.student", name=upload.assignment, student=upload.student))


@bp.post("/a/<name>/regrade")
@signed_in("instructor")
def regrade_all(name: str):
    a = assignment_or_404(name)
    with course_of().writer.begin() as conn:
        for upload in conn.execute(sa.select(T.uploads).where(T.uploads.c.assignment == a.name)).all():
            _regrade(conn, upload)
    return redirect(url_for("instructor.assignment", name=a.name))


@bp.post("/a/<name>/settings")
@signed_in("instructor")
def settings(name: str):
    a = assignment_or_404(name)
    values: dict = {}
    if "cooldown_seconds" in request.form:
        values["cooldown_seconds"] = _number("cooldown_seconds", "the cooldown in seconds")
    if "hidden_results" in request.form:
        mode = request.form["hidden_results"]
        if mode not in HIDDEN_MODES:
            raise Refused(400, f"hidden_results must be one of {', '.join(HIDDEN_MODES)}, got {mode[:40]!r}")
        values["hidden_results"] = mode
    action = request.form.get("release")
    if action == "release":
        values["released_at"] = utcnow()
    elif action == "withdraw":
        values["released_at"] = None
    with course_of().writer.begin() as conn:
        course_of().save_settings(conn, a.name, **values)
    return redirect(url_for("instructor.assignment", name=a.name))


@bp.get("/a/<name>/similarity")
@signed_in("instructor")
def similarity(name: str):
    """The ranked similarity evidence of an assignment (see :mod:`grader.course.web.similarity` for its cost)."""
    a = assignment_or_404(name)
    evidence = similarity_evidence.class_evidence(course_of(), a)
    return app_page("instructor_similarity.html", a=a, evidence=evidence, top=SIMILARITY_TOP,
                    disclaimer=similarity_report.DISCLAIMER, summary=similarity_evidence.SUMMARY,
                    max_students=similarity_evidence.MAX_STUDENTS)


@bp.get("/a/<name>/similarity/pair")
@signed_in("instructor")
def similarity_pair(name: str):
    """One code pair side by side, the rare passages they share marked (the library's page, all escaped)."""
    a = assignment_or_404(name)
    first, second = request.args.get("a", ""), request.args.get("b", "")
    evidence = similarity_evidence.class_evidence(course_of(), a)
    pair = next((p for p in evidence.code.pairs if {p.a, p.b} == {first, second}), None)
    if pair is None:
        abort(404)
    return report_response(similarity_report.pair_page(evidence.code, pair, a.name))
