"""CSV exports for an LMS: a grade sheet and a per-question sheet.

Grade sheet: a header ``student,<assignment>,...`` (assignments by name), then one
row per student of the gradebook (sorted by id), holding each final score; an
empty cell where the student has no score on that assignment (nothing
submitted, or nothing that counts), which an LMS keeps apart from a zero.

Per-question sheet: ``student,assignment,question,score,max`` for the counted
attempt of each student, question overrides applied, then one row
``(late penalty)`` with the points lateness took off and one row
``(override)`` with what a whole-assignment override changed, where there
are any, so that each student's rows on an assignment add up to the final
score in the grade sheet.

Both files are written to a temporary file and renamed into place, so an
interrupted export never leaves half a file where the previous one was.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from grader.engine.textsafe import spreadsheet_row

if TYPE_CHECKING:
    from grader.course.gradebook.store import Gradebook


def number(value: float | None) -> str:
    """A score as a CSV cell: up to 4 decimals, no trailing zeros, empty for None."""
    if value is None:
        return ""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def grade_sheet(gradebook: "Gradebook") -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(header, grade rows, per-question rows) as strings."""
    names = [a.name for a in gradebook.assignments()]
    finals = {name: {s.student: s for s in gradebook.final_scores(name)} for name in names}
    students = sorted(set(gradebook.students()) | {s for f in finals.values() for s in f})
    rows = []
    for student in students:
        cells = [student]
        for name in names:
            score = finals[name].get(student)
            cells.append(number(score.score if score else None))
        rows.append(cells)
    per_question = []
    for student in students:
        for name in names:
            score = finals[name].get(student)
            if score is None:
                continue
            for q in score.questions:
                per_question.append([student, name, q.question, number(q.score), number(q.max_score)])
            per_question += [[student, name, label, number(points), ""] for label, points in adjustments(score)]
    return ["student"] + names, rows, per_question


def adjustments(score) -> list[tuple[str, float]]:
    """What turns the sum of a student's question scores into the final score: the late penalty
    and a whole-assignment override, as (label, points) rows."""
    rows = []
    if score.score is None:
        return rows
    if score.late_penalty:
        rows.append(("(late penalty)", -score.late_penalty))
    rest = round(score.score - (sum(q.score for q in score.questions) - score.late_penalty), 6)
    if abs(rest) > 1e-9:
        rows.append(("(override)", rest))
    return rows


def export_csv(gradebook: "Gradebook", path: str | Path, *, per_question_path: str | Path | None = None) -> None:
    """One row per student, one column per assignment (final score); optionally a per-question sheet."""
    path, per_question_path = Path(path), Path(per_question_path) if per_question_path else None
    header, rows, per_question = grade_sheet(gradebook)
    _write_atomic(path, [header] + rows)
    if per_question_path is not None:
        _write_atomic(per_question_path, [["student", "assignment", "question", "score", "max"]] + per_question)


def _write_atomic(path: Path, rows: Iterable[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(spreadsheet_row(row) for row in rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
