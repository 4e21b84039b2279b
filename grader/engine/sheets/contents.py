"""What a sheet holds once read: its values, the problem of each unusable answer, plain data only."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

MAX_RECOVERY_LINES = 5000
MAX_NODES = 100_000
MAX_DEPTH = 32


@dataclass
class Problem:
    """Why a key has no usable answer: ``kind`` is "not answered" or "unreadable"."""

    kind: str
    message: str


@dataclass
class SheetContents:
    """What was read from a sheet: values by top-level key, problems by key, notes."""

    format: str
    ok: bool
    kind: str = "ok"                      # ok, exception (unreadable), rejected, missing
    error: str | None = None
    values: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)   # key -> Problem
    lines: dict = field(default_factory=dict)      # key -> line number (when known)
    notes: list = field(default_factory=list)
    recovered: bool = False               # read statement by statement
    sha256: str = ""


def value_hint(raw: str, fmt: str = "toml") -> str:
    """A hint about a value the parser refused, from its text."""
    text = raw.strip()
    if fmt == "toml" and re.fullmatch(r"[+-]?\.\d+", text):
        fixed = text.replace(".", "0.", 1)
        return f" - TOML needs a digit before the decimal point: write {fixed}, not {text}"
    if re.fullmatch(r"[+-]?\d+\s*/\s*\d+", text):
        return " - write a decimal number (0.3333), not a fraction"
    if re.search(r"\d,\d", text) and not text.startswith("["):
        return " - use a decimal point, not a comma (0.25, not 0,25)"
    if text.count("[") > text.count("]"):
        return " - a [ is not closed: a list ends with ], a matrix with ]]"
    if text.count('"') % 2 == 1:
        return ' - a text in quotes is not closed: end it with "'
    if fmt == "toml" and re.fullmatch(r"[+-]?\d+\.", text):
        return f" - TOML needs a digit after the decimal point: write {text}0, not {text}"
    return ""


# -- plain values -------------------------------------------------------------

class _TooLarge(Exception):
    pass


def _plain(value: Any, budget: list[int], depth: int = 0) -> Any:
    """A copy of ``value`` holding only None, bool, int, float, str, list and dict (str keys).

    Dates and times become their ISO text, binary data and other scalars a
    description, so that a check can say what it expected instead.
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"<binary data of {len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, budget, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    return str(value)[:200]


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def sanitize(contents: SheetContents) -> None:
    """Every value made plain data; one too large or too deep becomes its key's problem."""
    budget = [MAX_NODES]
    clean: dict = {}
    for key, value in contents.values.items():
        key = str(key)
        try:
            clean[key] = _plain(value, budget)
        except (_TooLarge, RecursionError):
            contents.problems[key] = Problem(
                "unreadable", f"your answer to `{key}` is too large or nested too deeply to be read")
    contents.values = clean


def settle_recovery(contents: SheetContents, found: int, *, fmt: str, form: str, strict_error: str,
                    read_how: str) -> None:
    """After a strict parse failed and the line-by-line reader ran: nothing ``found`` makes the whole
    sheet unreadable (``form`` says what a sheet holds); else it is read, noting how."""
    if found == 0:
        contents.values, contents.problems, contents.notes[:] = {}, {}, []
        contents.kind = "exception"
        contents.error = f"it is not a {fmt} answer sheet of {form}: {strict_error}"
        return
    contents.ok = True
    contents.recovered = True
    contents.notes.insert(0, f"your answer sheet is not valid {fmt} ({strict_error}); it was read {read_how}")

