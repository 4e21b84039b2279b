"""The pieces of a web exam that need no server: reading typed numbers, checking a saved answer's
shape, writing the answer sheet, the expression preview and the student's deadline."""

from __future__ import annotations

import datetime as _dt
import math
import tomllib

import pytest

from grader.course.policy import Policy
from grader.course.web import exams
from grader.course.web.course import CourseAssignment
from grader.course.web.standing import Refused
from grader.engine.checks import Expression


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("-0.25", -0.25), (".5", 0.5), ("1e-3", 0.001), ("2.5E+2", 250.0), ("3/4", 0.75),
    (" -1 / 8 ", -0.125), ("\u22120.5", -0.5),
])
def test_typed_numbers_read_as_the_sheets_and_fractions(text, value):
    assert exams.read_number(text) == value


@pytest.mark.parametrize("text, why", [
    ("abc", "not a number"), ("1/0", "divide by 0"), ("0,5", "not a number"), ("1e999", "out of range"),
    ("1" * 61, "too long"), ("2**3", "not a number"),
])
def test_what_is_not_a_number_says_what_is_expected(text, why):
    with pytest.raises(ValueError, match=why):
        exams.read_number(text)


NUMBER = exams.Field("NET_LOSS", "q", 1, 2.0, "a number", "", "number", ())
PAIR = exams.Field("PAIR", "q", 1, 2.0, "a list of 2 numbers", "", "number", (2,))
GRID = exams.Field("GRID", "q", 1, 2.0, "a matrix", "", "number", (2, 3))
EXPR = exams.Field("DERIVATIVE", "q", 1, 6.0, "an expression", "", "expression", ())


def test_a_saved_answer_must_have_its_fields_shape():
    assert exams.check_value(GRID, [["1", "2", "3"], ["4", "", "6"]]) == [["1", "2", "3"], ["4", "", "6"]]
    for bad in ([["1", "2"], ["3", "4"]], [["1", "2", "3"]], "1", [["1", "2", 3], ["4", "5", "6"]]):
        with pytest.raises(Refused, match="GRID"):
            exams.check_value(GRID, bad)
    with pytest.raises(Refused, match="list of 2"):
        exams.check_value(PAIR, ["1"])
    with pytest.raises(Refused, match="too long"):
        exams.check_value(NUMBER, "1" * 61)


def test_the_sheet_holds_numbers_text_that_does_not_read_and_nan_for_blank_cells():
    assert exams.sheet_value(NUMBER, "3/4") == 0.75
    assert exams.sheet_value(NUMBER, "  ") is None
    assert exams.sheet_value(NUMBER, "abc") == "abc"          # the check says what it expected
    assert exams.sheet_value(PAIR, ["", ""]) is None
    first, second = exams.sheet_value(PAIR, ["1e-3", ""])
    assert first == 0.001 and math.isnan(second)
    assert exams.sheet_value(GRID, [["1", "2", "3"], ["4", "5", "x"]]) == [[1, 2, 3], [4, 5, "x"]]
    assert exams.sheet_value(EXPR, "2x exp(x") == "2x exp(x"


def test_the_answer_sheet_of_the_midterm_reads_back_as_typed():
    from grader.course.exam.variants import compile_for_student
    from grader.engine.authoring import load_assignment

    compiled = compile_for_student(load_assignment("midterm"), "ada")
    fields = exams.fields_of(compiled)
    by_key = {f.key: f for f in fields}
    assert by_key["DERIVATIVE"].kind == "expression" and by_key["NET_LOSS"].shape == ()
    assert by_key["NET_HIDDEN_A"].shape == (2,) and len(by_key["CORRELATION"].shape) == 2
    rows, columns = by_key["CORRELATION"].shape
    saved = {"NET_LOSS": "2.5e-1", "CORRELATION": [[str(i + j) for j in range(columns)] for i in range(rows)],
             "DERIVATIVE": "2*x", "NET_GRADIENT": ""}
    sheet = tomllib.loads("\n".join(line for line in exams.answer_sheet(compiled, fields, saved, "ada").splitlines()
                                    if not line.rstrip().endswith("=")))
    assert sheet == {"NET_LOSS": 0.25, "CORRELATION": [[i + j for j in range(columns)] for i in range(rows)],
                     "DERIVATIVE": "2*x"}


def test_the_preview_is_the_graders_reading_or_an_error_at_the_character():
    check = Expression(symbols=("x",))
    ok = exams.expression_preview(check, "2x exp(x^2)")
    assert ok["ok"] and ok["read_as"] == "2*x*exp(x^2)" and ok["mathml"].startswith("<math")
    bad = exams.expression_preview(check, "2x exp(x")
    assert not bad["ok"] and bad["position"] == 6 and "never closed" in bad["error"]
    assert bad["pointer"].splitlines()[1].index("^") == 2 + 6
    unknown = exams.expression_preview(check, "2*y")
    assert not unknown["ok"] and "y" in unknown["error"]
    for hostile in ("9**9**9**9", "(" * 5000 + "x" + ")" * 5000, "__import__('os')"):
        assert not exams.expression_preview(check, hostile)["ok"]      # refused by the parser's bounds


def _exam(**policy) -> CourseAssignment:
    from pathlib import Path

    return CourseAssignment("exam", "Exam", "exam", "exam", Path("."), Policy(**policy))


def test_the_deadline_is_the_duration_or_the_closing_plus_the_extension():
    opened = _dt.datetime(2026, 1, 5, 9, 0, tzinfo=_dt.timezone.utc)
    assert exams.student_deadline(_exam(duration_minutes=90), opened, 90, 0) == opened + _dt.timedelta(minutes=90)
    assert exams.student_deadline(_exam(duration_minutes=90), opened, 90, 30) == opened + _dt.timedelta(minutes=120)
    closes = opened + _dt.timedelta(minutes=60)
    assert exams.student_deadline(_exam(duration_minutes=90, closes_at=closes), opened, 90, 15) == \
        closes + _dt.timedelta(minutes=15)
    assert exams.student_deadline(_exam(), opened, None, 0) is None


def test_a_sheets_values_become_the_fields_text_or_are_left_out():
    assert exams.typed_from_sheet(NUMBER, 0.25) == "0.25"
    assert exams.typed_from_sheet(NUMBER, 12) == "12"
    assert exams.typed_from_sheet(NUMBER, True) is None
    assert exams.typed_from_sheet(PAIR, [1, 2.5]) == ["1", "2.5"]
    assert exams.typed_from_sheet(PAIR, [1, 2, 3]) is None
    assert exams.typed_from_sheet(GRID, [[1, 2, 3], [4, 5, 6]]) == [["1", "2", "3"], ["4", "5", "6"]]
    assert exams.typed_from_sheet(GRID, [[1, 2, 3], [4, 5]]) is None
    assert exams.typed_from_sheet(GRID, "abc") is None
    assert exams.typed_from_sheet(EXPR, "2*x") == "2*x"
    assert exams.typed_from_sheet(EXPR, {"a": 1}) is None


def test_a_prompts_formulas_are_drawn_as_the_parser_reads_them():
    check = Expression(symbols=("x",))
    prompt = "Give df/dx of\n\n```\nf(x) = x^3 exp(-2x)\nnot a formula\ng(x) = 2*y\n```\n\nh(x) = x outside a block\n"
    (formula,) = exams.prompt_formulas(prompt, check)     # g uses a symbol the question does not have
    assert formula.startswith('<math display="block"><mrow><mi>f</mi><mo>(</mo><mi>x</mi><mo>)</mo><mo>=</mo>')
    assert "<msup><mi>x</mi><mn>3</mn></msup>" in formula
    with_words = "```\nf(x) = sigma(2x - 3),  where sigma(u) = 1/(1 + exp(-u))\n```"
    assert len(exams.prompt_formulas(with_words, check)) == 1
