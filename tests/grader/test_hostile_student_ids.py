"""A student id is a file name the student chose: it is never a formula in a CSV, nor an escape in a terminal.

Graded through ``dlgrade grade`` and exported with ``dlgrade grades export``: every cell of every
CSV file that starts with ``= + - @``, a tab or a carriage return is either a plain number or
starts with ``'`` (so a spreadsheet shows it as text), and the grade command's table holds no
control character.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from grader.cli import main

TINY = Path(__file__).resolve().parent / "tiny_assignment"
RIGHT = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0.0)\n\nSIGMOID_AT_ZERO = 0.5\n"
FORMULA = '=HYPERLINK("x")'
ESCAPE = "eve\x1b[2J\x1b]0;owned\x07"


def csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def runs_as_formula(cell: str) -> bool:
    if not cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


def test_odd_student_ids_are_text_in_every_csv_and_harmless_in_the_terminal(tmp_path, capsys):
    assignment = tmp_path / "tiny"
    shutil.copytree(TINY, assignment)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for student in ("alice", FORMULA, ESCAPE):
        (submissions / f"{student}.py").write_text(RIGHT)
    out = tmp_path / "graded"
    capsys.readouterr()
    code = main(["grade", str(assignment), str(submissions), "--out", str(out), "--jobs", "1", "--no-progress"])
    printed, errors = capsys.readouterr()
    assert code == 0, errors
    assert "\x1b" not in printed and "\x07" not in printed
    assert "HYPERLINK" in printed and "eve" in printed  # the ids are shown, their escapes made harmless

    exports = tmp_path / "exports"
    assert main(["grades", "export", "--db", str(out / "gradebook.db"), "--out", str(exports / "grades.csv"),
                 "--per-question", str(exports / "questions.csv")]) == 0
    for path in (out / "summary.csv", exports / "grades.csv", exports / "questions.csv"):
        cells = csv_cells(path)
        assert "'" + FORMULA in cells, f"{path.name}: {cells}"
        assert not [c for c in cells if runs_as_formula(c)], f"{path.name}: {cells}"
