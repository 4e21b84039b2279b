"""A hidden question's inputs never reach the student through what the student's code chose to say.

A submission knows its inputs when it runs, so the text of an exception it raises, the name of
an exception class it defines and the code it exits with can all carry them. For a hidden
question the student's files show fixed words (a built-in exception's name at most); the
instructor's files keep the whole text. Public questions keep the helpful message. Graded
through ``dlgrade grade`` in both sandbox modes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from handout_scan import HiddenValue, _numbers, scan_folder

from grader.cli import main
from grader.engine.authoring import load_assignment
from grader.engine.sandbox import isolation, isolation_available

QUESTIONS = '''\
import numpy as np

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose

assignment = Assignment("leaky", title="Inputs that must stay hidden", module="leaky")


@assignment.question(points=1)
def relu_hidden(q):
    """relu on hidden random values"""
    z = q.rng.normal(size=(3, 4))
    q.call("relu", z, expected=np.maximum(z, 0.0), check=ArrayClose())


@assignment.question(points=1, public=True)
def relu_public(q):
    """relu on public random values"""
    z = q.rng.normal(size=(2, 3))
    q.call("relu", z, expected=np.maximum(z, 0.0), check=ArrayClose())
'''

SUBMISSIONS = {
    # The message carries every input.
    "says": "def relu(z):\n    raise ValueError(repr(z.tolist()))\n",
    # The class name carries the first input (no built-in name: the student sees "an exception").
    "names": ("def relu(z):\n"
              "    name = 'Leak_' + repr(float(z.flat[0])).replace('.', '_').replace('-', 'm')\n"
              "    raise type(name, (Exception,), {})(repr(z.tolist()))\n"),
    # The exit code carries a byte of the first input.
    "exits": "import os\n\ndef relu(z):\n    os._exit(int(abs(float(z.flat[0])) * 1000) % 200 + 3)\n",
}


@pytest.fixture(params=["bwrap", "none"])
def sandbox_mode(request, monkeypatch):
    if request.param == "bwrap":
        if isolation.requested_mode() == "none":
            pytest.skip("DLGRADE_SANDBOX=none: this run proves the fallback")
        ok, why = isolation_available("auto")
        if not ok:
            if os.environ.get("DLGRADE_TEST_REQUIRE_BWRAP") == "1":
                pytest.fail(f"bubblewrap isolation is required here (DLGRADE_TEST_REQUIRE_BWRAP=1): {why}")
            pytest.skip(f"bubblewrap isolation cannot run here: {why}")
    monkeypatch.setenv("DLGRADE_SANDBOX", request.param)
    return request.param


def hidden_inputs(assignment: Path) -> list[HiddenValue]:
    """Every number passed to the student's functions by a hidden question."""
    found = []
    for question in load_assignment(assignment).compile().questions:
        if question.public:
            continue
        for case in question.cases:
            numbers: list[float] = []
            _numbers([call["args"] for call in case.request["calls"]], numbers)
            found += [HiddenValue(question.name, case.label, v) for v in numbers]
    return found


@pytest.fixture
def graded(tmp_path, sandbox_mode, capsys):
    assignment = tmp_path / "leaky"
    assignment.mkdir()
    (assignment / "questions.py").write_text(QUESTIONS)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for student, source in SUBMISSIONS.items():
        (submissions / f"{student}.py").write_text(source)
    out = tmp_path / "graded"
    code = main(["grade", str(assignment), str(submissions), "--out", str(out), "--jobs", "1", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    return out, hidden_inputs(assignment)


def question_output(results: dict, name: str) -> str:
    return next(t["output"] for t in results["tests"] if t["number"] == name)


def test_no_hidden_input_reaches_a_student_file(graded):
    out, inputs = graded
    assert len(inputs) == 12 and all(isinstance(v.value, float) for v in inputs)
    handed_out = {p.name for p in (out / "students").rglob("*")}
    assert {"feedback.txt", "results.json", "report.html"} <= handed_out
    leaks = scan_folder(out / "students", inputs)
    assert not leaks, "\n".join(f"{path}: {leak.written} in ...{leak.context}..."
                                for path, found in leaks.items() for leak in found[:3])
    # The scan finds what it looks for: the instructor's side keeps the whole message.
    assert scan_folder(out / "instructor" / "says", inputs)


def test_a_hidden_question_shows_fixed_words_and_a_public_one_the_message(graded):
    out, inputs = graded
    first = repr(inputs[0].value)
    hidden_class = "Leak_" + first.replace(".", "_").replace("-", "m")
    for student, expected in {"says": "`relu` raised ValueError (its message is not shown",
                              "names": "`relu` raised an exception (its message is not shown",
                              "exits": "your program stopped while running `relu` (details are not shown"}.items():
        student_files = out / "students" / student
        results = json.loads((student_files / "results.json").read_text())
        hidden = question_output(results, "relu_hidden")
        assert expected in hidden, hidden
        everything = "".join(p.read_text() for p in student_files.rglob("*") if p.is_file())
        assert hidden_class not in everything and "exit" not in hidden.lower()
        instructor = (out / "instructor" / student / "report.instructor.txt").read_text()
        assert expected in instructor  # the instructor sees the student's words and the full text below them
    says = json.loads((out / "students" / "says" / "results.json").read_text())
    assert "raised ValueError: [[" in question_output(says, "relu_public")
    assert first in (out / "instructor" / "says" / "report.instructor.txt").read_text()
    names_instructor = (out / "instructor" / "names" / "report.instructor.txt").read_text()
    assert hidden_class in names_instructor


def test_the_scan_finds_a_rounded_value_and_passes_over_numbers_beyond_float64():
    """The scan itself: a hidden value written to 5 digits is found; a digest's fragment such as
    ``1e4123`` (beyond float64, so no expected value) is passed over, not an error."""
    from handout_scan import leaks

    hidden = [HiddenValue("q", "case", 0.3647058904)]
    assert [leak.written for leak in leaks("x = 0.36471 and y = 2.5", hidden)] == ["0.36471"]
    assert leaks("sha 1e4123 and -7e999 and 0.36480", hidden) == []
