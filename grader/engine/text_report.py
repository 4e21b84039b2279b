"""Readable text: tables for the terminal and a per-submission report."""

from __future__ import annotations

import shutil
import textwrap
from typing import Sequence

from grader.engine.cells import load_problems
from grader.engine.results import PASSED, SubmissionResult
from grader.engine.textsafe import terminal_text

STATUS_MARK = {
    "passed": "PASS",
    "partial": "PART",
    "failed": "FAIL",
    "not implemented": "TODO",
    "error": "ERR ",
    "timeout": "TIME",
}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, align: str | None = None,
          max_width: int | None = None) -> str:
    """A plain-text table. ``align`` has one letter per column, "l" or "r".

    The last column is truncated so that the table fits ``max_width``.
    """
    cells = [[terminal_text(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if max_width:
        fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(10, min(widths[-1], max_width - fixed))
    align = align or "l" * len(headers)

    def line(row):
        parts = []
        for i, value in enumerate(row):
            if len(value) > widths[i]:
                value = value[: widths[i] - 1] + "…"
            parts.append(value.rjust(widths[i]) if align[i] == "r" else value.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return terminal_text(" ".join(str(value).split()))  # one line per cell; a name's escapes made harmless


def terminal_width() -> int:
    return shutil.get_terminal_size((110, 24)).columns


def question_table(result: SubmissionResult, view: str = "student", width: int | None = None) -> str:
    rows = []
    for q in result.questions:
        hint = "" if q.status == PASSED else _first_message(q, view)
        rows.append([STATUS_MARK.get(q.status, q.status), q.name, f"{q.score:.3g}/{q.points:g}",
                     "public" if q.public else "hidden", hint])
    return table(["", "question", "points", "", "what to look at"], rows, align="llrll",
                 max_width=width or terminal_width())


def _first_message(question, view: str) -> str:
    for case in question.cases:
        if case.status != PASSED:
            return case.message
    return ""


def text_report(result: SubmissionResult, view: str = "student", final: dict | None = None) -> str:
    """The whole report: header, question table, then every failing case in full.

    ``final`` (:meth:`grader.course.gradebook.StudentScore.to_dict`) is the gradebook's final score:
    the header shows it, followed by every reason it differs from the graded score and the
    rule for which attempt counts. ``view`` "student" never shows an expected value of a
    hidden question; "instructor" shows everything (and says so in its first line).
    """
    audience = "FOR THE INSTRUCTOR ONLY (holds expected values): " if view == "instructor" else ""
    score, top = result.score, result.max_score
    if final is not None:
        score = final.get("score")
        top = final.get("max_score", top)
    shown = "no score" if score is None else f"{score:g} of {top:g} points"
    header = (f"{audience}{result.assignment} / {result.submission}: {shown}"
              + (f" (variant {result.variant})" if result.variant else ""))
    lines = [header, "=" * len(header), ""]
    if final is not None:
        lines += final_lines(final, result.score) + [""]
    problems = load_problems(result.load)
    if problems:
        lines += ["\n\n".join(problems), ""]
    lines += [question_table(result, view, width=120), ""]
    for q in result.questions:
        if q.status == PASSED:
            continue
        lines.append(f"{q.name} ({q.score:.3g}/{q.points:g}, {q.status})")
        lines.append(textwrap.indent(q.message(view), "  "))
        lines.append("")
    if result.grader_error and view == "instructor":
        lines += ["Grader error (not the student's fault):", result.grader_error, ""]
    lines.append(f"Graded in {result.seconds:.2f} s. Isolation: {result.isolation}.")
    return "\n".join(lines) + "\n"


def final_lines(final: dict, graded: float | None = None) -> list[str]:
    """How the final score came about, one line each: the graded score, every reason, the counting rule."""
    score = final.get("score")
    lines = [f"Final score: {'none' if score is None else format(score, 'g')} / {final.get('max_score', 0):g}"]
    attempt = final.get("attempt")
    if attempt is not None:
        raw = final.get("raw_score")
        lines.append(f"Graded score of the attempt that counts (attempt {attempt} of {final.get('attempts')}): "
                     f"{raw:g}" if raw is not None else f"Attempt {attempt} counts")
    elif graded is not None and final.get("attempts"):
        lines.append(f"Graded score of the attempt shown here: {graded:g} (it does not count)")
    lines += [f"- {reason}" for reason in final.get("reasons", [])]
    if final.get("counting"):
        lines.append(final["counting"])
    return lines
