"""Hostile submissions graded in one batch with correct classmates, in both sandbox modes and both gradebooks.

Each attacker scores what it earned, every classmate keeps full marks, no
attack is recorded as a grader fault, the batch completes, and the grading
process's peak memory (its own VmHWM, measured in the process that
grades) stays under :data:`PARENT_PEAK_BYTES`.

The midterm is the assignment: its answers are values, so a class mixes
answer sheets (read in the grading process, no code runs) and ``.py`` files
(run in the sandbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from grader.course.exam.variants import SALT_ENV, compile_for_student
from grader.engine.authoring import load_assignment
from grader.engine.sandbox import isolation_available
from grader.engine.sheets import answer_keys, expected_answers, render_sheet

ROOT = Path(__file__).resolve().parents[2]
MIDTERM_DIR = ROOT / "assignments" / "midterm"

#: Peak resident memory of the grading process for this class: about 136 MiB measured in
#: both modes (a 256 MiB reply of [[],[],...] once made it 12.8 GB).
PARENT_PEAK_BYTES = 512 << 20

# Products of big numbers to a negative rational power: 14 s of sympy's CPU for this one
# before numbers were bounded, minutes for longer ones, all in the grading thread.
BIG = "(99999999999999999999999999999999999999^25+%d)"
EXPRESSION_ATTACK = "*".join((BIG % k) + "^(-1/3)" for k in range(1, 5))

FORGE = """
import gc
_runtime = next(o for o in gc.get_objects() if type(o).__name__ == "Runtime")
_runtime.send({"t": "sandbox_error", "error": "not your fault"})
"""

GRADE = """
import datetime as dt, json, os, sys
from pathlib import Path
from grader.engine.authoring import load_assignment
from grader.course.batch.classes import grade_class

assignment = load_assignment(Path(sys.argv[1]))
submissions = sorted(Path(sys.argv[2]).iterdir())
during = dt.datetime(2025, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
times = {p.stem: (during, during - dt.timedelta(minutes=30)) for p in submissions}
outcome = grade_class(assignment, submissions, Path(sys.argv[3]), db=os.environ["HOSTILE_BATCH_DB"], jobs=2,
                      times=times, progress=False)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so that would be pytest's own peak when
# subprocess started this one with vfork.
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"headers": outcome.headers, "rows": outcome.rows, "grader_errors": outcome.grader_errors,
                  "peak": peak}, default=str))
"""


@pytest.fixture(params=["bwrap", "none"])
def sandbox_mode(request):
    if request.param == "bwrap":
        ok, why = isolation_available("auto")
        if not ok:
            if os.environ.get("DLGRADE_TEST_REQUIRE_BWRAP") == "1":
                pytest.fail(f"bubblewrap is required here (DLGRADE_TEST_REQUIRE_BWRAP=1): {why}")
            pytest.skip(f"bubblewrap isolation cannot run here: {why}")
        return "auto"
    return "none"


def _class(folder: Path) -> dict[str, float]:
    """Writes the class into ``folder``; returns each student's expected score."""
    midterm = load_assignment(MIDTERM_DIR)
    salt = tomllib.loads((MIDTERM_DIR / "secret.toml").read_text())["salt"]
    expected: dict[str, float] = {}

    def write(student: str, fmt: str, changes: dict | None = None, before: str = "", after: str = "",
              lose: tuple[str, ...] = ()) -> None:
        compiled = compile_for_student(midterm, student, salt=salt)
        answers = {**expected_answers(compiled), **(changes or {})}
        body = render_sheet(compiled, fmt=fmt, answers=answers)
        (folder / f"{student}.{fmt}").write_text(before + body + after)
        points = {k.key: k.points for k in answer_keys(compiled)}
        expected[student] = sum(points.values()) - sum(points[k] for k in lose)

    write("classmate_sheet", "toml")
    write("classmate_code", "py")
    write("attack_expression_sheet", "toml", {"DERIVATIVE": EXPRESSION_ATTACK}, lose=("DERIVATIVE",))
    write("attack_expression_code", "py", {"DERIVATIVE": EXPRESSION_ATTACK}, lose=("DERIVATIVE",))
    write("attack_nul_byte", "py", {"CONV_PARAMETERS": "12\x00"}, lose=("CONV_PARAMETERS",),
          after='\n# %%\nprint("printed \\x00 and \\x1b[2J")\nraise ValueError("not done yet\\x00")\n')
    write("attack_many_values", "py", lose=("NET_HIDDEN_A",),
          after="\nNET_HIDDEN_A = [[] for _ in range(1_200_000)]\n")
    write("attack_forged_error", "py", before=FORGE, lose=tuple(expected_answers(
        compile_for_student(midterm, "attack_forged_error", salt=salt))))
    return expected


def test_attackers_score_what_they_earned_and_classmates_keep_full_marks(tmp_path, sandbox_mode, db_url,
                                                                          monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    folder = tmp_path / "class"
    folder.mkdir()
    expected = _class(folder)
    env = {**os.environ, "DLGRADE_SANDBOX": sandbox_mode, "HOSTILE_BATCH_DB": db_url,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", GRADE, str(MIDTERM_DIR), str(folder), str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["grader_errors"] == [], done.stderr[-3000:]
    scores = {row[0]: float(row[1]) for row in outcome["rows"]}
    assert scores == pytest.approx(expected), done.stderr[-3000:]
    assert outcome["peak"] < PARENT_PEAK_BYTES, f"the grading process peaked at {outcome['peak'] >> 20} MiB"

    from grader.course.gradebook import Gradebook

    with Gradebook.open(db_url) as gradebook:   # what was stored reads back, NUL bytes replaced
        finals = {s.student: s for s in gradebook.final_scores("midterm")}
    assert set(finals) == set(expected)
    written = sorted((tmp_path / "out").rglob("attack_nul_byte/results*.json"))   # the student's and the instructor's
    assert written
    for path in written:
        stored = path.read_text()
        assert "\\u0000" not in stored and "\x00" not in stored, path
    assert any("not done yet\ufffd" in json.dumps(json.loads(p.read_text()), ensure_ascii=False) for p in written)
