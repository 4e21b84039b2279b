"""Exams sat on the website: the clock, the typed answers, the hand-in at the deadline.

A student *opens* an exam: the server records the opening time, and the
clock starts there. The student's deadline is

    min(opened_at + duration, closes_at) + the student's extension

(``duration_minutes`` and ``closes_at`` from the exam's ``policy.toml``; the
extension is the latest one the instructor granted, ``web_extensions``, the
same table as for assignments). The server alone decides whether time is
left; the page only shows it.

Answers are typed into fields, one per answer key of the student's own
variant (:func:`grader.course.exam.variants.compile_for_student`): a number, a list
of numbers, a matrix of the key's shape, or an expression. Each field is
saved as typed (text: nothing is parsed on save except to tell the student
how it reads) and every save is in the history. When the student submits,
or when time runs out, the saved answers are written as an answer sheet
(:func:`grader.engine.sheets.render_sheet`) and handed in as an upload: the worker
grades it exactly as ``dlgrade grade`` grades the same sheet.

Time running out: the sitting stops taking answers once the policy stops
accepting them (:func:`grader.course.policy.late_status`: after the grace when
late work is not accepted; after ``late_max_days`` when it is, the late
answers penalised by the gradebook). :func:`sweep` then hands in the saved
answers, stamped with the deadline; it runs at every exam request and in the
idle loop of the workers, so no answer waits on the student coming back.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from grader.course.policy import NOT_ACCEPTED, TOO_LATE, late_status
from grader.course.web import exam_tables as X
from grader.course.web import queue
from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment, utcnow
from grader.course.web.standing import Refused, standing

MAX_NUMBER_CHARS = 60
MAX_CELLS = 400
SHEET_NAME = "answers.toml"

_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")
_FRACTION = re.compile(r"^([+-]?\d{1,30})\s*/\s*(\d{1,30})$")


# -- the fields of a paper -------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One answer key as the page asks for it.

    ``kind``: ``"number"`` (``shape`` ``()``, ``(n,)`` or ``(rows, columns)``) or ``"expression"``.
    """
    key: str
    question: str
    number: int
    points: float
    form: str
    what: str
    kind: str
    shape: tuple[int, ...]

    @property
    def cells(self) -> int:
        return math.prod(self.shape)


def fields_of(compiled) -> list[Field]:
    """The answer fields of a compiled (per-student) exam, in the paper's order."""
    import numpy as np

    from grader.engine.sheets import answer_keys

    out = []
    for k in answer_keys(compiled):
        if getattr(k.check, "kind", "") == "expression":
            kind, shape = "expression", ()
        else:
            kind, shape = "number", tuple(int(n) for n in np.shape(k.expected))
        out.append(Field(k.key, k.question, k.number, k.points, k.form, k.what, kind, shape))
    return out


class Papers:
    """Each student's compiled exam, compiled once per process (again after questions.py changes)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def compiled(self, a: CourseAssignment, student: str):
        from grader.course.exam.variants import compile_for_student
        from grader.engine.authoring import load_assignment

        source = (a.folder / "questions.py").stat()
        key = (a.name, student, source.st_mtime_ns, source.st_size)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        from grader.course.exam.variants import normalize_student_id

        try:
            normalize_student_id(student)
        except ValueError as exc:   # an LMS may send any id; a variant needs one of a safe alphabet
            raise Refused(403, f"your user id cannot sit {a.name} on this site: {exc}; ask your instructor "
                               "to map your account to a course id") from None
        compiled = compile_for_student(load_assignment(a.folder), student)
        with self._lock:
            if len(self._cache) >= self.size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = compiled
        return compiled


PAPERS = Papers()


# -- reading what a student types ----------------------------------------------------------
def read_number(text: str) -> float | int:
    """A typed number: ``12``, ``-0.25``, ``.5``, ``1e-3``, ``2.5E+2`` or a fraction ``3/4``.

    Raises ValueError saying what is expected.
    """
    text = text.strip().replace("\u2212", "-")
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"too long for a number ({len(text)} characters)")
    if _DECIMAL.match(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is out of range")
        return int(value) if re.fullmatch(r"[+-]?\d+", text) and abs(value) < 2**53 else value
    fraction = _FRACTION.match(text)
    if fraction:
        numerator, denominator = int(fraction.group(1)), int(fraction.group(2))
        if denominator == 0:
            raise ValueError("a fraction cannot divide by 0")
        return float(Fraction(numerator, denominator))
    raise ValueError(f"{text[:40]!r} is not a number: write e.g. 0.2984, -1.5e-3 or 3/4")


def number_reading(text: str) -> dict:
    """How one typed number is read, for the page: ``{"ok", "value"}`` or ``{"ok": False, "error"}``."""
    if not text.strip():
        return {"ok": True, "blank": True}
    try:
        return {"ok": True, "value": read_number(text)}
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}


def expression_preview(field_check, text: str) -> dict:
    """How the grader reads an expression: the same parser and grammar as the question's check.

    ``{"ok": True, "read_as", "mathml"}`` or ``{"ok": False, "error", "position", "pointer"}``.
    The parser bounds the length, nesting, node count and number sizes of what it builds
    (:mod:`grader.engine.checks.mathparse`), so this is quick whatever is typed.
    """
    from sympy.printing.mathml import mathml

    from grader.engine.checks.expression_answers import read_answer

    if not text.strip():
        return {"ok": True, "blank": True}
    parsed, _, failure = read_answer(text, field_check.grammar, field_check.target, field_check.max_length)
    if failure is not None:
        return {"ok": False, "error": failure.message.splitlines()[0],
                "position": failure.data.get("position"), "pointer": "\n".join(failure.message.splitlines()[1:])}
    return {"ok": True, "read_as": parsed.read_as,
            "mathml": '<math display="block">' + mathml(parsed.expr, printer="presentation") + "</math>"}


_STATEMENT = re.compile(r"^\s*([A-Za-z]\w{0,20})(?:\(\s*([A-Za-z]\w{0,20})\s*\))?\s*=\s*(.+?)\s*$")


def prompt_formulas(prompt: str, check) -> list[str]:
    """The formulas a prompt states in its code blocks (``f(x) = exp(2x^2 + 3x)``), as MathML.

    Each right-hand side is read by the same parser and grammar as the question's expression
    answer, so the page shows the formula as the grader reads such text; a line the parser does
    not take (a definition in words, another symbol) stays as the prompt's text only.
    """
    import html

    from sympy.printing.mathml import mathml

    from grader.engine.checks.mathparse import ParseError, parse

    out = []
    inside = False
    for line in prompt.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
            continue
        match = _STATEMENT.match(line) if inside else None
        if match is None:
            continue
        name, variable, rhs = match.groups()
        rhs = re.split(r",\s{2,}|,\s+where\b", rhs)[0]
        try:
            expr = parse(rhs, check.grammar).expr
        except (ParseError, ValueError):
            continue
        lhs = f"<mi>{html.escape(name)}</mi>" + (
            f"<mo>(</mo><mi>{html.escape(variable)}</mi><mo>)</mo>" if variable else "")
        out.append(f'<math display="block"><mrow>{lhs}<mo>=</mo>{mathml(expr, printer="presentation")}</mrow></math>')
    return out


def check_value(field: Field, value: Any) -> Any:
    """A saved value checked against its field's form: text, or lists of text of the field's shape."""
    def text(v, limit):
        if not isinstance(v, str):
            raise Refused(400, f"{field.key}: expected text in every cell, got {type(v).__name__}")
        if len(v) > limit:
            raise Refused(400, f"{field.key}: an entry is too long ({len(v)} characters; at most {limit})")
        return v

    if field.kind == "expression":
        return text(value, 2000)
    if field.shape == ():
        return text(value, MAX_NUMBER_CHARS)
    if field.cells > MAX_CELLS:
        raise Refused(400, f"{field.key}: too many cells")
    if len(field.shape) == 1:
        if not isinstance(value, list) or len(value) != field.shape[0]:
            raise Refused(400, f"{field.key}: expected a list of {field.shape[0]} entries")
        return [text(v, MAX_NUMBER_CHARS) for v in value]
    rows, columns = field.shape[0], math.prod(field.shape[1:])
    if (not isinstance(value, list) or len(value) != rows
            or any(not isinstance(r, list) or len(r) != columns for r in value)):
        raise Refused(400, f"{field.key}: expected {rows} rows of {columns} entries")
    return [[text(v, MAX_NUMBER_CHARS) for v in r] for r in value]


def sheet_value(field: Field, value: Any) -> Any:
    """A saved answer as the value written on the answer sheet; None when it is blank.

    A number that does not read stays the text typed (the question's check then says what
    it expected); a blank cell of a list or matrix is written as nan, which no check accepts.
    """
    def cell(v: str):
        if not v.strip():
            return float("nan")
        try:
            return read_number(v)
        except ValueError:
            return v

    if field.kind == "expression" or field.shape == ():
        if not value.strip():
            return None
        return value if field.kind == "expression" else cell(value)
    flat = value if len(field.shape) == 1 else [v for r in value for v in r]
    if not any(v.strip() for v in flat):
        return None
    if len(field.shape) == 1:
        return [cell(v) for v in value]
    return [[cell(v) for v in r] for r in value]


def typed_from_sheet(field: Field, value: Any) -> Any:
    """A value read from an answer sheet as the field's typed text; None when it is not of the field's form."""
    def cell(v):
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            return None
        return v if isinstance(v, str) else repr(v)

    if field.kind == "expression" or field.shape == ():
        return cell(value)
    rows = value if len(field.shape) == 2 else [value]
    columns = field.shape[-1]
    if (not isinstance(rows, list) or len(rows) != (field.shape[0] if len(field.shape) == 2 else 1)
            or any(not isinstance(r, list) or len(r) != columns for r in rows)):
        return None
    cells = [[cell(v) for v in r] for r in rows]
    if any(v is None for r in cells for v in r):
        return None
    return cells if len(field.shape) == 2 else cells[0]


def fill_from_sheet(course: Course, a: CourseAssignment, student: str, sheet_path, now: _dt.datetime | None = None
                    ) -> tuple[list[str], list[str]]:
    """Save the answers of an uploaded TOML/YAML sheet into the student's fields (read safely, never run).

    Returns (the keys filled, what was left out and why). Refused when the sheet cannot be read at all.
    """
    from grader.engine.sheets import read_sheet

    now = now or utcnow()
    contents = read_sheet(sheet_path)
    if not contents.ok:
        raise Refused(400, f"the sheet could not be read: {contents.error}")
    fields = fields_of(PAPERS.compiled(a, student))
    filled, left_out = [], []
    for field in fields:
        if field.key in contents.problems:
            left_out.append(f"{field.key}: {contents.problems[field.key].message}")
        if field.key not in contents.values:
            continue
        typed = typed_from_sheet(field, contents.values[field.key])
        if typed is None:
            left_out.append(f"{field.key}: not {field.form}")
            continue
        save_answer(course, a, field, student, typed, now)
        filled.append(field.key)
    known = {f.key for f in fields}
    left_out += [f"{key}: not a key of your paper" for key in contents.values if key not in known]
    return filled, left_out


def answer_sheet(compiled, fields: list[Field], saved: dict[str, Any], student: str) -> str:
    """The TOML answer sheet of the saved answers (blank keys left blank, as on a blank sheet)."""
    from grader.engine.sheets import render_sheet

    answers = {}
    for field in fields:
        if field.key in saved:
            value = sheet_value(field, saved[field.key])
            if value is not None:
                answers[field.key] = value
    return render_sheet(compiled, answers=answers, student_id=student)


# -- the clock -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sitting:
    """One student's sitting of an exam, as the server sees it at ``now``."""
    student: str
    opened_at: _dt.datetime
    duration_minutes: float | None
    extension_minutes: float
    deadline: _dt.datetime | None     # the student's, with the extension
    ended_at: _dt.datetime | None
    ended_how: str | None
    upload_id: int | None
    accepting: bool                   # whether answers are taken now
    late: bool                        # past the deadline (and its grace) but still accepted

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def seconds_left(self, now: _dt.datetime) -> float | None:
        return None if self.deadline is None else max(0.0, (self.deadline - now).total_seconds())


def student_deadline(a: CourseAssignment, opened_at: _dt.datetime, duration_minutes: float | None,
                     extension_minutes: float) -> _dt.datetime | None:
    candidates = []
    if a.policy.closes_at is not None:
        candidates.append(a.policy.closes_at)
    if duration_minutes is not None:
        candidates.append(opened_at + _dt.timedelta(minutes=duration_minutes))
    if not candidates:
        return None
    return min(candidates) + _dt.timedelta(minutes=extension_minutes)


def closed_at(conn, exam: str) -> _dt.datetime | None:
    return conn.execute(sa.select(X.state.c.closed_at).where(X.state.c.assignment == exam)).scalar()


def sitting(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime, *,
            lock: bool = False) -> Sitting | None:
    """The student's sitting, or None; ``lock``: hold its row until ``conn`` commits (PostgreSQL:
    ``FOR UPDATE``; SQLite's writers hold the whole database already)."""
    query = sa.select(X.sittings).where(X.sittings.c.assignment == a.name, X.sittings.c.student == student)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    return _sitting(course, conn, a, row, now)


def _sitting(course: Course, conn, a: CourseAssignment, row, now: _dt.datetime) -> Sitting:
    extension = course.extension_minutes(conn, a.name, row.student)
    due = student_deadline(a, row.opened_at, row.duration_minutes, extension)
    minutes = 0.0 if due is None else max(0.0, (now - due).total_seconds() / 60.0)
    status = late_status(a.policy, minutes)
    open_ = row.ended_at is None and closed_at(conn, a.name) is None
    accepting = open_ and status not in (NOT_ACCEPTED, TOO_LATE)
    late = accepting and minutes > a.policy.late_grace_minutes
    return Sitting(row.student, row.opened_at, row.duration_minutes, extension, due, row.ended_at, row.ended_how,
                   row.upload_id, accepting, late)


def sittings(course: Course, conn, a: CourseAssignment, now: _dt.datetime) -> list[Sitting]:
    rows = conn.execute(sa.select(X.sittings).where(X.sittings.c.assignment == a.name)
                        .order_by(X.sittings.c.student)).all()
    return [_sitting(course, conn, a, row, now) for row in rows]


def record_event(conn, exam: str, student: str, kind: str, by: str, now: _dt.datetime, *, key: str | None = None,
                 value: Any = None) -> None:
    conn.execute(sa.insert(X.events).values(assignment=exam, student=student, kind=kind, key=key, value=value,
                                            by=by, at=now))


def history(conn, exam: str, student: str) -> list:
    return conn.execute(sa.select(X.events).where(X.events.c.assignment == exam, X.events.c.student == student)
                        .order_by(X.events.c.id)).all()


def saved_answers(conn, exam: str, student: str) -> dict[str, Any]:
    rows = conn.execute(sa.select(X.answers.c.key, X.answers.c.value).where(
        X.answers.c.assignment == exam, X.answers.c.student == student)).all()
    return {key: value for key, value in rows}


# -- what a student does -----------------------------------------------------------------------
def open_exam(course: Course, a: CourseAssignment, student: str, now: _dt.datetime | None = None) -> Sitting:
    """Start the student's clock (once: opening again returns the running sitting)."""
    now = now or utcnow()
    policy = a.policy
    with course.writer.begin() as conn:
        existing = sitting(course, conn, a, student, now)
        if existing is not None:
            return existing
        if closed_at(conn, a.name) is not None:
            raise Refused(403, f"{a.name} has been closed by your instructor")
        if policy.opens_at is not None and now < policy.opens_at:
            raise Refused(403, f"{a.name} opens at {policy.opens_at.isoformat()}")
        if policy.closes_at is not None and now >= policy.closes_at:
            raise Refused(403, f"{a.name} closed at {policy.closes_at.isoformat()}")
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(X.sittings).values(assignment=a.name, student=student, opened_at=now,
                                                          duration_minutes=policy.duration_minutes))
        except sa.exc.IntegrityError:   # opened at the same moment by another request: that one counts
            return sitting(course, conn, a, student, now)
        record_event(conn, a.name, student, "open", student, now)
    course.gradebook.record_start(student, a.name, now)
    with course.engine.begin() as conn:
        return sitting(course, conn, a, student, now)


def _taking(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime) -> Sitting:
    # Locked: a save and a hand-in of the same sitting take turns, so no answer is saved after the
    # hand-in read the answers (it would be shown as saved yet not be on the sheet handed in).
    current = sitting(course, conn, a, student, now, lock=True)
    if current is None:
        raise Refused(409, f"open {a.name} first: your time starts when you open it")
    if current.ended and current.ended_how == "deadline":
        raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: your saved answers "
                           "were handed in then and can no longer be changed")
    if current.ended and current.ended_how == "closed":
        raise Refused(403, f"{a.name} was closed by your instructor at {current.ended_at.isoformat()}: your saved "
                           "answers were handed in then and can no longer be changed")
    if current.ended:
        raise Refused(409, f"your answers to {a.name} were handed in at {current.ended_at.isoformat()}; "
                           "they can no longer be changed")
    if not current.accepting:
        raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: answers are no "
                           "longer taken (your saved answers are handed in)")
    return current


def refuse_outside_sitting(course: Course, conn, a: CourseAssignment, student: str, now: _dt.datetime) -> None:
    """An uploaded answer sheet keeps to the student's clock once they have opened the exam on the website,
    and is refused once they handed the paper in there."""
    current = sitting(course, conn, a, student, now)
    if current is None:
        return   # a paper exam: the window and the late rules of the policy, as for any upload
    if closed_at(conn, a.name) is not None:
        raise Refused(403, f"{a.name} has been closed by your instructor: answers are no longer taken")
    if current.ended_how == "student":   # as the paper says once handed in: nothing changes after
        raise Refused(409, f"you handed in {a.name} at {current.ended_at.isoformat()}: your answers can no "
                           "longer be changed")
    if current.deadline is not None:
        minutes = max(0.0, (now - current.deadline).total_seconds() / 60.0)
        if late_status(a.policy, minutes) in (NOT_ACCEPTED, TOO_LATE):
            raise Refused(403, f"your time on {a.name} ran out at {current.deadline.isoformat()}: "
                               "answers are no longer taken")


def save_answer(course: Course, a: CourseAssignment, field: Field, student: str, value: Any,
                now: _dt.datetime | None = None) -> _dt.datetime:
    """Save one answer as typed (refused once the student's time is up); returns the time saved."""
    now = now or utcnow()
    value = check_value(field, value)
    sweep(course, a, now, student=student)
    with course.writer.begin() as conn:
        _taking(course, conn, a, student, now)
        where = (X.answers.c.assignment == a.name, X.answers.c.student == student, X.answers.c.key == field.key)
        if conn.execute(sa.update(X.answers).where(*where).values(value=value, saved_at=now)).rowcount == 0:
            conn.execute(sa.insert(X.answers).values(assignment=a.name, student=student, key=field.key,
                                                     value=value, saved_at=now))
        record_event(conn, a.name, student, "save", student, now, key=field.key, value=value)
    return now


def submit(course: Course, a: CourseAssignment, student: str, now: _dt.datetime | None = None) -> int:
    """The student hands in the saved answers; returns the upload id."""
    now = now or utcnow()
    sweep(course, a, now, student=student)
    with course.writer.begin() as conn:
        current = _taking(course, conn, a, student, now)
        if standing(course, conn, a, student, now).attempts_left == 0:
            raise Refused(403, f"you have used all {a.policy.max_attempts} attempts on {a.name}; ask your "
                               "instructor if you need another")
        return _hand_in(course, conn, a, current, now, how="student", by=student)


def _hand_in(course: Course, conn, a: CourseAssignment, current: Sitting, at: _dt.datetime, *, how: str,
             by: str) -> int:
    """Write the saved answers as a sheet, store it as an upload and queue it, in ``conn``'s transaction."""
    locked = sitting(course, conn, a, current.student, at, lock=True)   # a save in progress ends first
    if locked is None or locked.ended:
        raise Refused(409, "these answers were handed in already")
    compiled = PAPERS.compiled(a, current.student)
    sheet = answer_sheet(compiled, fields_of(compiled), saved_answers(conn, a.name, current.student),
                         current.student).encode("utf-8")
    blob = course.blobs.put(io.BytesIO(sheet), course.config.max_upload_bytes)
    upload_id = conn.execute(sa.insert(T.uploads).values(
        student=current.student, assignment=a.name, blob_sha256=blob.sha256, suffix=".toml",
        display_name=SHEET_NAME, size=blob.size, uploaded_at=at).returning(T.uploads.c.id)).scalar_one()
    queue.enqueue(conn, upload_id)
    ended = conn.execute(sa.update(X.sittings).where(
        X.sittings.c.assignment == a.name, X.sittings.c.student == current.student, X.sittings.c.ended_at.is_(None))
        .values(ended_at=at, ended_how=how, upload_id=upload_id)).rowcount
    if ended != 1:   # another request handed it in first: this transaction is rolled back
        raise Refused(409, "these answers were handed in already")
    record_event(conn, a.name, current.student, "submit", by, at, value={"how": how, "upload": upload_id})
    return upload_id


def sweep(course: Course, a: CourseAssignment, now: _dt.datetime | None = None, *,
          student: str | None = None) -> int:
    """Hand in the saved answers of every sitting whose time is up (or whose exam was closed).

    A sitting whose time ran out is handed in as at its deadline; one of a closed exam, at the
    closing. Returns how many were handed in.
    """
    now = now or utcnow()
    done = 0
    with course.engine.begin() as conn:
        query = sa.select(X.sittings).where(X.sittings.c.assignment == a.name, X.sittings.c.ended_at.is_(None))
        if student is not None:
            query = query.where(X.sittings.c.student == student)
        due = [s for s in (_sitting(course, conn, a, row, now) for row in conn.execute(query).all())
               if not s.accepting]
        closed = closed_at(conn, a.name)
    for current in due:
        over = closed if closed is not None and (current.deadline is None or closed < current.deadline) else None
        at, how = (over, "closed") if over is not None else (min(now, current.deadline), "deadline")
        try:
            with course.writer.begin() as conn:
                if _answered_since_last_upload(conn, a.name, current.student):
                    _hand_in(course, conn, a, current, at, how=how, by="server")
                    done += 1
                else:
                    _end_without_hand_in(conn, a.name, current.student, at, how)
        except Refused:
            pass   # handed in meanwhile by another request
    return done


def _answered_since_last_upload(conn, exam: str, student: str) -> bool:
    """Whether the saved answers are newer than the student's last upload (say, a sheet handed in instead).

    Handing in older saved answers as a later attempt would replace that sheet under ``counting = "last"``.
    """
    last_save = conn.execute(sa.select(sa.func.max(X.answers.c.saved_at)).where(
        X.answers.c.assignment == exam, X.answers.c.student == student)).scalar()
    last_upload = conn.execute(sa.select(sa.func.max(T.uploads.c.uploaded_at)).where(
        T.uploads.c.assignment == exam, T.uploads.c.student == student)).scalar()
    return last_save is not None and (last_upload is None or last_save > last_upload)


def _end_without_hand_in(conn, exam: str, student: str, at: _dt.datetime, how: str) -> None:
    ended = conn.execute(sa.update(X.sittings).where(
        X.sittings.c.assignment == exam, X.sittings.c.student == student, X.sittings.c.ended_at.is_(None))
        .values(ended_at=at, ended_how=how)).rowcount
    if ended == 1:
        record_event(conn, exam, student, "submit", "server", at,
                     value={"how": how, "upload": None, "why": "no answer saved since the last hand-in"})


def sweep_all(course: Course, now: _dt.datetime | None = None) -> int:
    return sum(sweep(course, a, now) for a in course.assignments.values() if a.kind == "exam")


# -- what the instructor does -------------------------------------------------------------------
def extend(course: Course, a: CourseAssignment, student: str, minutes: float, reason: str, by: str,
           now: _dt.datetime | None = None) -> None:
    """Give one student ``minutes`` more in all (the latest extension counts, as for assignments)."""
    now = now or utcnow()
    with course.writer.begin() as conn:
        conn.execute(sa.insert(T.extensions).values(assignment=a.name, student=student, minutes=minutes,
                                                    reason=reason, created_by=by, created_at=now))
        record_event(conn, a.name, student, "extend", by, now, value={"minutes": minutes, "reason": reason})


def close(course: Course, a: CourseAssignment, by: str, now: _dt.datetime | None = None) -> int:
    """Close the exam for everyone: no new openings; every running sitting is handed in now."""
    now = now or utcnow()
    with course.writer.begin() as conn:
        if closed_at(conn, a.name) is None:
            conn.execute(sa.delete(X.state).where(X.state.c.assignment == a.name))
            conn.execute(sa.insert(X.state).values(assignment=a.name, closed_at=now))
            for row in conn.execute(sa.select(X.sittings.c.student).where(
                    X.sittings.c.assignment == a.name, X.sittings.c.ended_at.is_(None))).all():
                record_event(conn, a.name, row.student, "close", by, now)
    return sweep(course, a, now)


def results_visible(course: Course, conn, a: CourseAssignment) -> bool:
    """Whether students see an exam's results: when released, or at once if the exam's setting says so.

    For an exam every question is withheld until then, public ones included.
    """
    return a.kind != "exam" or course.hidden_visible(conn, a)
