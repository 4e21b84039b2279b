"""Small conversions at the gradebook's edge: checked text, times, rows and JSON-safe data."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def require_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.utcoffset() is not None else value.replace(tzinfo=_dt.timezone.utc)


def row_data(row) -> dict:
    """A database row as plain JSON-ready data (times as ISO 8601)."""
    return {k: (v.isoformat() if isinstance(v, _dt.datetime) else v) for k, v in row._mapping.items()}


def json_safe(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (PostgreSQL's json rejects NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
