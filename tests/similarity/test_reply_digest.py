"""Each case's reply is recorded as a digest in the instructor's results, never in the student's."""

from __future__ import annotations

import numpy as np

from grader.course.exam.grading import grade_exam_submission
from grader.course.exam.variants import compile_for_student
from grader.engine.authoring import load_assignment
from grader.engine.results import reply_digest
from grader.engine.sheets import expected_answers, render_sheet

from .classes import ROOT

SALT = "similarity-tests-salt-0123456789"


def test_equal_replies_give_equal_digests_and_different_ones_differ():
    assert reply_digest(0.1 + 0.2) == reply_digest(0.3)               # the same number, computed differently
    assert reply_digest(0.3) != reply_digest(0.3001)
    assert reply_digest(np.array([[1.0, 2.0]])) == reply_digest(np.array([[1.0, 2.0]]) * 1.0)
    assert reply_digest(np.array([[1.0, 2.0]])) != reply_digest(np.array([1.0, 2.0]))   # shape counts
    assert reply_digest({"out": [1, 2], "grads": None}) == reply_digest({"grads": None, "out": [1, 2]})
    assert reply_digest("a - y") != reply_digest("y - a")


def test_the_digest_is_in_the_instructor_results_only(tmp_path):
    midterm = load_assignment(ROOT / "assignments" / "midterm")
    digests = {}
    for student in ("ana", "ben"):
        compiled = compile_for_student(midterm, student, salt=SALT)
        answers = {**expected_answers(compiled), "NET_LOSS": 0.5}   # the same wrong loss from both
        sheet = tmp_path / f"{student}.toml"
        sheet.write_text(render_sheet(compiled, answers=answers))
        result = grade_exam_submission(midterm, sheet, salt=SALT)
        instructor = result.to_gradescope("instructor")["extra_data"]["questions"]
        student_view = result.to_gradescope("student")["extra_data"]["questions"]
        assert all("reply_digest" not in case for q in student_view for case in q["cases"])
        digests[student] = {case["label"]: case["reply_digest"] for q in instructor for case in q["cases"]}
    assert digests["ana"]["NET_LOSS"] == digests["ben"]["NET_LOSS"] == reply_digest(0.5)
    assert digests["ana"]["NET_HIDDEN_A"] != digests["ben"]["NET_HIDDEN_A"]   # their own (right) answers differ
