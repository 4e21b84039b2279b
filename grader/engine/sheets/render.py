"""Writing a sheet: blank, or filled in with given answers (the instructor's key), as TOML, YAML or Python."""

from __future__ import annotations

import json
import math
from typing import Any

from grader.engine.sheets.keys import answer_keys, as_plain


def _literal(value: Any, fmt: str) -> str:
    value = as_plain(value)
    if isinstance(value, bool):
        return repr(value) if fmt == "py" else str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        if fmt == "py":
            return f"float({str(value)!r})"
        if fmt == "yaml":
            return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, fmt) for v in value) + "]"
    if value is None:
        return "None" if fmt == "py" else ""
    return json.dumps(value, ensure_ascii=False)


_HOW = {
    "toml": [
        "How to fill it in: write each answer after the = of its key, on the same line.",
        "  numbers: 0.2984 (a digit before the decimal point, no quotes)",
        "  lists: [0.5933, 0.5969]   matrices, one list per row: [[1, 2], [3, 4]]",
        '  expressions: in double quotes, "2*x*exp(x^2)"',
        "A line KEY = with nothing after the = is an unanswered question.",
        "Do not rename or remove keys; everything after a # is a comment.",
    ],
    "yaml": [
        "How to fill it in: write each answer after the : of its key, on the same line.",
        "  numbers: 0.2984",
        "  lists: [0.5933, 0.5969]   matrices, one list per row: [[1, 2], [3, 4]]",
        '  expressions: in double quotes, "2*x*exp(x^2)"',
        "A line KEY: with nothing after the : is an unanswered question.",
        "Do not rename or remove keys; everything after a # is a comment.",
    ],
    "py": [
        "How to fill it in: replace each None by your answer.",
        "  numbers: 0.2984   lists: [0.5933, 0.5969]   matrices: [[1, 2], [3, 4]]",
        '  expressions: in quotes, "2*x*exp(x^2)"',
        "This file is run when it is graded: keep it to plain assignments.",
    ],
}


def render_sheet(compiled, *, fmt: str = "toml", answers: dict[str, Any] | None = None,
                 student_id: str | None = None, title: str | None = None) -> str:
    """An answer sheet for ``compiled``: blank, or with ``answers`` filled in.

    Every key comes with a comment giving its question, points and the form
    of the answer. ``fmt``: ``"toml"``, ``"yaml"`` or ``"py"`` (a Python file
    of ``KEY = None`` lines, graded in the sandbox like any ``.py``).
    """
    if fmt not in ("toml", "yaml", "py"):
        raise ValueError(f"unknown answer sheet format {fmt!r}: toml, yaml or py")
    sep = {"toml": " = ", "yaml": ": ", "py": " = "}[fmt]
    out = [f"# {title or compiled.title}: answer sheet"]
    who = []
    if student_id:
        who.append(f"student {student_id}")
    if compiled.variant:
        who.append(f"variant {compiled.variant}")
    if who:
        out.append("# " + ", ".join(who) + " (this sheet belongs to this paper only)")
    out.append("#")
    out += [f"# {line}" for line in _HOW[fmt]]
    current = None
    for k in answer_keys(compiled):
        if k.question != current:
            current = k.question
            question = compiled.question(k.question)
            out += ["", f"# Question {k.number}: {question.title} ({question.points:g} points)"]
        what = f"{k.what}: " if k.what else ""
        out.append(f"# {k.key} ({k.points:g} point{'s' if k.points != 1 else ''}): {what}{k.form}")
        if answers is not None and k.key in answers:
            out.append(f"{k.key}{sep}{_literal(answers[k.key], fmt)}")
        elif fmt == "py":
            out.append(f"{k.key} = None")
        else:
            out.append(f"{k.key}{sep}".rstrip() if fmt == "yaml" else f"{k.key} =")
    return "\n".join(out) + "\n"
