"""The student's side of an exam on the website: open it, read one's own paper, type, save, hand in.

Every route works on the signed-in student's own sitting: no route takes a
student id, and the paper is compiled from the session's identity only, so a
student can reach no one else's variant. Nothing sent to a student holds an
expected value or the exam's salt: the fields know only each answer's form
and shape.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, g, jsonify, redirect, request, url_for

from grader.course.web import exams
from grader.course.web.course import utcnow
from grader.course.web.standing import Refused
from grader.course.web.view_helpers import (
    app_page,
    assignment_or_404,
    course_of,
    limit,
    refusal_response,
    signed_in,
)

bp = Blueprint("exam", __name__, url_prefix="/exam")


def exam_or_404(name: str):
    a = assignment_or_404(name)
    if a.kind != "exam":
        abort(404)
    return a


def _field(a, key: str) -> tuple[object, exams.Field]:
    compiled = exams.PAPERS.compiled(a, g.identity.user_id)
    field = next((f for f in exams.fields_of(compiled) if f.key == key), None)
    if field is None:
        raise Refused(404, f"no answer key {key[:60]!r} on your paper")
    return compiled, field


def paper_sections(compiled, saved: dict) -> list[dict]:
    """The paper as the page shows it: per question, the prompt as HTML, its matrices, its fields."""
    from grader.course.exam.paper import markdown_to_html
    from grader.engine.sheets import answer_keys

    fields = exams.fields_of(compiled)
    expression_checks = {k.question: k.check for k in answer_keys(compiled)
                         if getattr(k.check, "kind", "") == "expression"}
    sections = []
    for number, question in enumerate(compiled.questions, start=1):
        given = (question.cases[0].meta or {}).get("given", {}) if question.cases else {}
        matrices = [(name, value) for name, value in given.items() if _is_matrix(value)]
        own = []
        for f in fields:
            if f.question != question.name:
                continue
            own.append({"field": f, "rows": _cells(f, saved.get(f.key))})
        sections.append({"number": number, "title": question.title[:1].upper() + question.title[1:],
                         "points": question.points, "prompt": markdown_to_html(question.prompt.strip()),
                         "matrices": matrices, "fields": own,
                         "formulas": exams.prompt_formulas(question.prompt, expression_checks[question.name])
                         if question.name in expression_checks else []})
    return sections


def _is_matrix(value) -> bool:
    return (isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for r in value for v in r))


def _cells(field: exams.Field, value) -> list[list[str]]:
    """The field's saved text as rows of cells (one row of one cell for a number or an expression)."""
    if field.kind == "expression" or field.shape == ():
        return [[value if isinstance(value, str) else ""]]
    if len(field.shape) == 1:
        value = value if isinstance(value, list) else []
        return [[value[j] if j < len(value) else "" for j in range(field.shape[0])]]
    value = value if isinstance(value, list) else []
    return [[(value[i][j] if i < len(value) and j < len(value[i]) else "") for j in range(field.shape[1])]
            for i in range(field.shape[0])]


@bp.get("/<name>")
@signed_in("student")
def paper(name: str):
    course = course_of()
    a = exam_or_404(name)
    student = g.identity.user_id
    now = utcnow()
    exams.sweep(course, a, now, student=student)
    with course.engine.begin() as conn:
        sitting = exams.sitting(course, conn, a, student, now)
        closed = exams.closed_at(conn, a.name)
        saved = exams.saved_answers(conn, a.name, student)
        visible = exams.results_visible(course, conn, a)
    if sitting is None:
        from grader.course.exam.paper import markdown_to_html, policy_lines

        rules = markdown_to_html("\n".join(f"- {line}" for line in policy_lines(a.policy)))
        return app_page("exam_start.html", a=a, rules=rules, closed=closed)
    compiled = exams.PAPERS.compiled(a, student)
    final = course.gradebook.final_score(a.name, student) if sitting.ended and visible else None
    filled, left_out = _sheet_outcome(request.args.get("sheet", ""), student)
    return app_page("exam_paper.html", a=a, sitting=sitting, now=now, compiled=compiled, filled=filled,
                    left_out=left_out,
                    sections=paper_sections(compiled, saved), final=final, visible=visible,
                    seconds_left=sitting.seconds_left(now))


@bp.post("/<name>/open")
@signed_in("student")
def open_(name: str):
    a = exam_or_404(name)
    exams.open_exam(course_of(), a, g.identity.user_id)
    return redirect(url_for("exam.paper", name=a.name))


@bp.post("/<name>/save")
@signed_in("student")
def save(name: str):
    """One answer, as typed: ``key`` and ``value`` (JSON text: a string, a list, or rows)."""
    a = exam_or_404(name)
    try:
        _, field = _field(a, request.form.get("key", ""))
        try:
            value = json.loads(request.form.get("value", ""))
        except ValueError:
            raise Refused(400, "the answer must be sent as JSON text") from None
        except RecursionError:   # "[[[[...": no answer is nested deeper than the rows of a matrix
            raise Refused(400, "the answer is nested too deeply: send text, a list, or rows") from None
        saved_at = exams.save_answer(course_of(), a, field, g.identity.user_id, value)
    except Refused as exc:
        return refusal_response(exc, as_json=True)
    flat = [value] if field.kind == "expression" or field.shape == () else \
        (value if len(field.shape) == 1 else [v for row in value for v in row])
    readings = None if field.kind == "expression" else [exams.number_reading(v) for v in flat]
    return jsonify({"key": field.key, "saved_at": saved_at.isoformat(), "readings": readings})


@bp.get("/<name>/preview")
@signed_in("student")
def preview(name: str):
    """How the grader reads an expression field's text (the same parser, bounded)."""
    a = exam_or_404(name)
    try:
        limit("preview", g.identity.user_id)
        _, field = _field(a, request.args.get("key", ""))
        if field.kind != "expression":
            raise Refused(400, f"{field.key} is not an expression")
        from grader.engine.sheets import answer_keys

        check = next(k.check for k in answer_keys(exams.PAPERS.compiled(a, g.identity.user_id))
                     if k.key == field.key)
        return jsonify(exams.expression_preview(check, request.args.get("text", "")[:2000]))
    except Refused as exc:
        return refusal_response(exc, as_json=True)


@bp.get("/<name>/state")
@signed_in("student")
def state(name: str):
    course = course_of()
    a = exam_or_404(name)
    now = utcnow()
    exams.sweep(course, a, now, student=g.identity.user_id)
    with course.engine.begin() as conn:
        sitting = exams.sitting(course, conn, a, g.identity.user_id, now)
    if sitting is None:
        return jsonify({"opened": False})
    return jsonify({"opened": True, "accepting": sitting.accepting, "ended": sitting.ended,
                    "seconds_left": sitting.seconds_left(now),
                    "deadline": sitting.deadline.isoformat() if sitting.deadline else None})


@bp.post("/<name>/submit")
@signed_in("student")
def submit(name: str):
    a = exam_or_404(name)
    exams.submit(course_of(), a, g.identity.user_id)
    return redirect(url_for("exam.paper", name=a.name))


@bp.post("/<name>/sheet")
@signed_in("student")
def fill_from_sheet(name: str):
    """Fill the fields from an answer sheet (TOML or YAML), to check and hand in here."""
    import tempfile
    from pathlib import Path

    from grader.engine.sheets import MAX_SHEET_BYTES, SHEET_FORMATS

    a = exam_or_404(name)
    file = request.files.get("file")
    suffix = Path(file.filename or "").suffix.lower() if file is not None else ""
    if suffix not in SHEET_FORMATS:
        raise Refused(415, f"choose an answer sheet: a file ending in {', '.join(SHEET_FORMATS)}")
    data = file.stream.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise Refused(413, f"an answer sheet is at most {MAX_SHEET_BYTES:,} bytes")
    with tempfile.TemporaryDirectory(prefix="dlgrade-sheet-") as folder:
        path = Path(folder) / f"answers{suffix}"      # the student's file name never reaches a path
        path.write_bytes(data)
        filled, left_out = exams.fill_from_sheet(course_of(), a, g.identity.user_id, path)
    outcome = _outcomes().dumps({"student": g.identity.user_id, "filled": len(filled),
                                 "left_out": [line[:300] for line in left_out[:12]]})
    return redirect(url_for("exam.paper", name=a.name, sheet=outcome))


def _outcomes():
    """Signs what a sheet filled in, for the page it redirects to: a link made elsewhere (or by a
    classmate, whose sheet's keys are text of their choosing) shows nothing on a student's paper."""
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.secret_key, salt="dlgrade-exam-sheet-filled")


def _sheet_outcome(signed: str, student: str) -> tuple[int | None, list[str]]:
    """(how many answers the sheet filled in, what it left out) if ``signed`` is this student's, else (None, [])."""
    from itsdangerous import BadSignature

    if not signed:
        return None, []
    try:
        outcome = _outcomes().loads(signed[:20_000])
    except BadSignature:
        return None, []
    if not isinstance(outcome, dict) or outcome.get("student") != student:
        return None, []
    return int(outcome["filled"]), [str(line) for line in outcome["left_out"]]


@bp.get("/<name>/sheet.toml")
@signed_in("student")
def sheet(name: str):
    """The saved answers as an answer sheet (the file that is graded when they are handed in)."""
    course = course_of()
    a = exam_or_404(name)
    student = g.identity.user_id
    with course.engine.begin() as conn:
        if exams.sitting(course, conn, a, student, utcnow()) is None:
            abort(404)
        saved = exams.saved_answers(conn, a.name, student)
    compiled = exams.PAPERS.compiled(a, student)
    text = exams.answer_sheet(compiled, exams.fields_of(compiled), saved, student)
    # The file's name holds no student id: an id from an LMS may hold any character, a header may not.
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f"attachment; filename={a.name}-answers.toml"})


__all__ = ["bp", "paper_sections"]
