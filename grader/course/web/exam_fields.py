"""The fields of an exam paper and what a student types into them.

A field per answer key of the student's own compiled paper (:class:`Papers`
compiles each paper once per process); a typed answer read and checked as
it is saved (numbers, fractions, expressions: nothing is parsed on save
except to tell the student how it reads); the saved answers to and from an
answer sheet. The clock, the saving and the hand-in are in
:mod:`grader.course.web.exams`.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.course.web.course import CourseAssignment
from grader.course.web.standing import Refused

MAX_NUMBER_CHARS = 60
MAX_CELLS = 400

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
