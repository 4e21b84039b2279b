"""A class list: the student ids to make papers for.

A text file with one id per line (blank lines and ``#`` comments skipped),
or a CSV file whose header names the id column (``student_id``, ``student``,
``id``, ``sis_id``, ``username``, ``login`` or ``email``, any case); a CSV
without such a header uses its first column. Ids are checked with
:func:`grader.course.exam.variants.normalize_student_id`; duplicates are kept once.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .variants import normalize_student_id

ID_COLUMNS = ("student_id", "student id", "student", "id", "sis_id", "sis user id", "username", "login", "email")


def read_roster(path: str | Path) -> tuple[list[str], list[str]]:
    """(ids in file order, warnings). Raises ValueError naming the bad lines."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    column, start = 0, 0
    if rows:
        header = [c.strip().casefold() for c in rows[0]]
        for name in ID_COLUMNS:
            if name in header:
                column, start = header.index(name), 1
                break
    ids: list[str] = []
    seen: set[str] = set()
    errors: list[str] = []
    warnings: list[str] = []
    line_of = _line_numbers(text)
    for n, row in enumerate(rows[start:], start=start):
        cell = row[column].strip() if column < len(row) else ""
        if not cell or cell.startswith("#"):
            continue
        try:
            sid = normalize_student_id(cell)
        except ValueError as exc:
            errors.append(f"line {line_of.get(n, '?')}: {exc}")
            continue
        if sid in seen:
            warnings.append(f"line {line_of.get(n, '?')}: {sid} is listed twice (one paper made)")
            continue
        seen.add(sid)
        ids.append(sid)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ValueError(f"{path}: " + "; ".join(errors[:5]) + more)
    if not ids:
        raise ValueError(f"{path}: no student ids found")
    return ids, warnings


def _line_numbers(text: str) -> dict[int, int]:
    """Index of a non-empty CSV row -> its line number in the file (for one-line rows)."""
    out, index = {}, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and line.strip(", \t"):
            out[index] = number
            index += 1
    return out
