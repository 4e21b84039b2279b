"""No module of ``grader/`` is over 500 lines unless its docstring says why it is one job
(a paragraph starting "One job")."""

from __future__ import annotations

import ast
from pathlib import Path

import grader

ROOT = Path(grader.__file__).resolve().parent
MOST_LINES = 500


def test_a_long_module_says_why_it_is_one_job():
    long_ones = []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= MOST_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if "One job" not in docstring:
            long_ones.append(f"{path.relative_to(ROOT.parent)}: {text.count(chr(10))} lines")
    assert long_ones == []
