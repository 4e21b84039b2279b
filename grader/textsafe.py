"""Text from a submission made safe to store and to show.

A submission's text reaches files, HTML, terminals and the gradebook: its
exception messages, what it printed, its answers quoted in feedback. Some of
that text cannot be stored at all (PostgreSQL refuses a NUL byte in text and
in JSON, and a lone surrogate cannot be encoded as UTF-8), and control
characters rewrite a terminal or hide text in a report. So every string of a
:class:`~grader.results.SubmissionResult` passes through :func:`safe_text`
before the result leaves the engine: control characters other than newline
and tab, and lone surrogates, become U+FFFD, and lengths are capped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["safe_text", "safe_data", "safe_result", "REPLACEMENT"]

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
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
