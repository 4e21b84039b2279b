"""Find expected values of hidden questions in text a student may receive.

:func:`hidden_values` collects every number a hidden question's cases expect
(arrays flattened; texts and callables have none). :func:`leaks` looks for
them in a text: each number written there with at least
:data:`MIN_DIGITS` significant digits matches an expected value when that
value, rounded to the digits written, gives it (so 0.5933 matches 0.59327...,
as does 5.9327e-01). Values any student would write or see anyway are left
out: whole numbers, and values with fewer than :data:`MIN_DIGITS` significant
digits (0.25, 0.5), which grading messages and timings print for other reasons.

The student's own values are not leaks, even where they equal an expected
value (a right element of a partly wrong array, a gradient routed to the
wrong place): numbers a report labels as the student's ("your value is X",
the ``got`` arrays of ``report-data.json`` and the report's table "Your
values of ...", which hold the student's replies only) are left out, and so
are times ("1.80 s", ``execution_time``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

MIN_DIGITS = 4
MAX_VALUES_PER_CASE = 20_000
NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+\.\d+|\d+)(?:[eE]([-+]?\d+))?(?![\w.])")


@dataclass(frozen=True)
class HiddenValue:
    question: str
    case: str
    value: float


@dataclass(frozen=True)
class Leak:
    written: str
    value: HiddenValue
    context: str


def _numbers(value: Any, out: list[float]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float, np.integer, np.floating)):
        out.append(float(value))
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu":
            out.extend(float(x) for x in value.ravel()[:MAX_VALUES_PER_CASE])
    elif isinstance(value, dict):
        for v in value.values():
            _numbers(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _numbers(v, out)


def significant_digits(value: float) -> int:
    """Digits of the shortest text that reads back as ``value`` (0.25 -> 2, 0.59327 -> 5)."""
    mantissa = repr(float(value)).lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0").rstrip("0")
    return len(mantissa)


def distinctive(value: float) -> bool:
    return math.isfinite(value) and value != round(value) and significant_digits(value) >= MIN_DIGITS


def hidden_values(compiled) -> list[HiddenValue]:
    """Every distinctive number the hidden questions of ``compiled`` expect."""
    found = []
    for question in compiled.questions:
        if question.public:
            continue
        for case in question.cases:
            numbers: list[float] = []
            _numbers(case.expected, numbers)
            found += [HiddenValue(question.name, case.label, v) for v in numbers if distinctive(v)]
    return found


def leaks(text: str, values: list[HiddenValue], *, allowed: Iterable[float] = ()) -> list[Leak]:
    """Each number in ``text`` that is a hidden expected value as rounded to the digits written.

    ``allowed``: the student's own values (an answer sheet's answers), which their report may echo.
    """
    if not values:
        return []
    expected = np.array([v.value for v in values])
    own = np.array(list(allowed), dtype=float)
    out = []
    for match in NUMBER.finditer(text):
        if _labelled_own_or_time(text, match):
            continue
        digits, exponent = match.group(1), int(match.group(2) or 0)
        if len(digits.replace(".", "").lstrip("0")) < MIN_DIGITS:
            continue
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        written = float(match.group(0))
        if not math.isfinite(written) or exponent - decimals > 300:
            continue   # beyond float64 (a digest's "1e4123..."): no expected value is written so
        tolerance = 0.5 * 10.0 ** (exponent - decimals) * (1 + 1e-9)
        if own.size and np.any(np.abs(own - written) <= tolerance):
            continue
        hits = np.nonzero(np.abs(expected - written) <= tolerance)[0]
        if hits.size:
            context = text[max(0, match.start() - 60):match.end() + 30].replace("\n", " ")
            out.append(Leak(match.group(0), values[int(hits[0])], context))
    return out


OWN_VALUES_TABLE = re.compile(r'<table class="values"><caption class="sr-only">Your values of .*?</table>', re.S)
OWN_LABELS = ("your value is ", "your value ", "your value: ")
TIME_LABELS = ('"execution_time": ', "graded in ", "took ")


def _labelled_own_or_time(text: str, match: re.Match) -> bool:
    before = text[max(0, match.start() - 20):match.start()].lower()
    after = text[match.end():match.end() + 4]
    return (before.endswith(OWN_LABELS) or before.endswith(TIME_LABELS)
            or after.startswith((" s", " ms", "s<", " s<")))


def _without_own_arrays(data: Any) -> Any:
    """Report data with the student's own values (``got``) taken out."""
    if isinstance(data, dict):
        return {k: _without_own_arrays(v) for k, v in data.items() if k != "got"}
    if isinstance(data, list):
        return [_without_own_arrays(v) for v in data]
    return data


def scan_folder(folder: Path, values: list[HiddenValue], *, allowed: Iterable[float] = ()) -> dict[str, list[Leak]]:
    """Every text file under ``folder`` (HTML, JSON, text, CSV) -> its leaks; files without any left out."""
    allowed = list(allowed)
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in (".html", ".json", ".txt", ".csv", ".md", ".toml"):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.name == "report-data.json":
                text = json.dumps(_without_own_arrays(json.loads(text)))
            elif path.suffix == ".html":
                text = OWN_VALUES_TABLE.sub("", text)
            hits = leaks(text, values, allowed=allowed)
            if hits:
                found[str(path)] = hits
    return found
