"""The answers a compiled assignment asks a sheet for: their keys, points, forms and expected values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AnswerKey:
    """One answer of a compiled assignment: its key, question, points and form."""

    key: str
    question: str          # the question's name
    question_title: str
    number: int            # the question's position, from 1
    points: float          # this answer's share of the question's points
    form: str              # what to write ("a number", ...)
    what: str              # what it is ("the loss L", ...)
    expected: Any
    check: Any


def _form_of(case) -> str:
    meta = case.meta or {}
    if meta.get("form"):
        return str(meta["form"])
    kind = getattr(case.check, "kind", "")
    if kind == "expression":
        return "an expression in quotes"
    expected = case.expected
    if isinstance(expected, str):
        return "a text in quotes"
    try:
        import numpy as np

        ndim = np.ndim(expected)
    except Exception:
        ndim = 0
    if ndim == 0:
        return "a number"
    if ndim == 1:
        return "a list of numbers"
    return "a matrix written as a list of rows"


def answer_keys(compiled) -> list[AnswerKey]:
    """Every value a sheet can answer (cases that read a name), in the paper's order."""
    keys: list[AnswerKey] = []
    for number, question in enumerate(compiled.questions, start=1):
        total = sum(c.weight for c in question.cases) or 1.0
        for case in question.cases:
            if case.request.get("kind") != "get":
                continue
            share = question.points * case.weight / total if question.scoring == "partial" else question.points
            keys.append(AnswerKey(case.request["name"], question.name, question.title, number, share,
                                  _form_of(case), str((case.meta or {}).get("what", "")), case.expected,
                                  case.check))
    return keys


def as_plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and Python numbers; whole floats as ints."""
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def expected_answers(compiled) -> dict[str, Any]:
    """The expected value of every key, as plain data (the instructor's filled-in sheet)."""
    return {k.key: as_plain(k.expected) for k in answer_keys(compiled)}
