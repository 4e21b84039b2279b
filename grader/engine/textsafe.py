"""Text from a submission made safe to store and to show.

A submission's text reaches files, HTML, terminals and the gradebook: its
exception messages, what it printed, its answers quoted in feedback. Some of
that text cannot be stored at all (PostgreSQL refuses a NUL byte in text and
in JSON, and a lone surrogate cannot be encoded as UTF-8), and control
characters rewrite a terminal or hide text in a report. So every string of a
:class:`~grader.engine.results.SubmissionResult` passes through :func:`safe_text`
before the result leaves the engine: control characters other than newline
and tab, and lone surrogates, become U+FFFD, and lengths are capped.

Names the grader did not choose (a student id is a submission's file name)
need two more guards where they are written: :func:`spreadsheet_row` for a CSV
file (a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula) and :func:`terminal_text` for a terminal
(where an escape sequence moves the cursor, rewrites lines or sets the title).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

__all__ = ["safe_text", "safe_data", "safe_result", "spreadsheet_cell", "spreadsheet_row", "terminal_text",
           "REPLACEMENT"]

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# In a terminal every control character is unsafe (a newline breaks a table's row too), and so are
# the bidirectional overrides, which show text in another order than it is.
_TERMINAL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
MESSAGE_CHARS = 8_000
DETAIL_CHARS = 20_000
OUTPUT_CHARS = 1 << 20
DATA_CHARS = 8_000


def safe_text(text: Any, limit: int = MESSAGE_CHARS) -> str:
    """``text`` with control characters (but newline and tab) and lone surrogates replaced, at most ``limit`` characters."""
    text = str(text).replace("\r\n", "\n")
    if len(text) > limit:
        text = text[:limit] + " ... (truncated)"
    return _UNSAFE.sub(REPLACEMENT, text)


def safe_data(value: Any, depth: int = 0) -> Any:
    """Report data with every string (keys included) made safe; its numbers and arrays unchanged."""
    if isinstance(value, str):
        return safe_text(value, DATA_CHARS)
    if isinstance(value, dict) and depth < 50:
        return {(safe_text(k, 200) if isinstance(k, str) else k): safe_data(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 50:
        return type(value)(safe_data(v, depth + 1) for v in value)
    return value


def safe_result(result: Any) -> Any:
    """Make every submission-derived string of a SubmissionResult safe, in place; returns it."""
    for question in result.questions:
        for case in question.cases:
            case.message = safe_text(case.message, MESSAGE_CHARS)
            case.detail = safe_text(case.detail, DETAIL_CHARS)
            case.data = safe_data(case.data)
    load = result.load
    if load.error is not None:
        load.error = safe_text(load.error, DETAIL_CHARS)
    load.cells = [safe_data(cell) for cell in load.cells]
    result.stdout = safe_text(result.stdout, OUTPUT_CHARS)
    result.stderr = safe_text(result.stderr, OUTPUT_CHARS)
    result.isolation = safe_text(result.isolation, MESSAGE_CHARS)
    if result.grader_error is not None:
        result.grader_error = safe_text(result.grader_error, DETAIL_CHARS)
    return result


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell that a spreadsheet shows as text, never runs as a formula.

    A text that starts with ``= + - @``, a tab or a carriage return gets a leading ``'``
    (OWASP's advice for CSV injection); a plain number (``-0.5``) and anything not a text stay as
    they are, so the file still reads back as numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(row: Iterable[Any]) -> list[Any]:
    """One CSV row with every cell passed through :func:`spreadsheet_cell`."""
    return [spreadsheet_cell(value) for value in row]


def terminal_text(text: Any) -> str:
    """``text`` for one line of a terminal: every control character and bidi override becomes U+FFFD."""
    return _TERMINAL_UNSAFE.sub(REPLACEMENT, str(text))
