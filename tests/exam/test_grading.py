"""Each student's key scores full marks on their own paper and not on anyone else's."""

from __future__ import annotations

import pytest

from grader.course.exam.grading import grade_answer_sheet, grade_exam_submission
from grader.engine.grading import grade_question
from grader.engine.results import PASSED
from grader.engine.sheets import AnswerSheetSession, expected_answers, render_sheet

CLASS = ["s1001", "s1002", "s1003", "ana.lopez@uni.example", "B-42"]


def test_own_key_full_marks_other_keys_not(compiled_for, key_sheet):
    sheets = {sid: key_sheet(compiled_for(sid), f"key-{n}") for n, sid in enumerate(CLASS)}
    for sid in CLASS:
        paper = compiled_for(sid)
        for other, sheet in sheets.items():
            result = grade_answer_sheet(paper, sheet, submission_id=sid)
            if other == sid:
                assert result.score == result.max_score == 30, result.questions
            else:
                assert result.score < 30 - 10, (sid, other, result.score)  # most answers differ
                assert result.questions[0].status != PASSED      # the network's numbers never coincide


def test_driving_the_engine_question_by_question(compiled_for, key_sheet):
    """The engine's own grade_question, with the session in place of a sandbox session."""
    mine, other = compiled_for("s1001"), compiled_for("s1002")
    with AnswerSheetSession(key_sheet(mine, "mine")) as session:
        assert all(grade_question(session, q, {}).status == PASSED for q in mine.questions)
        scores = [grade_question(session, q, {}).score for q in other.questions]
    assert sum(scores) < 30


def test_grading_by_student_id_from_the_file_name(midterm, compiled_for, key_sheet, salt):
    sheet = key_sheet(compiled_for("s1002"), "s1002", "yaml")
    result = grade_exam_submission(midterm, sheet, salt=salt)
    assert result.submission == "s1002" and result.score == 30
    assert result.variant == compiled_for("s1002").variant
    wrong = grade_exam_submission(midterm, sheet, student_id="s1003", salt=salt)
    assert wrong.submission == "s1003" and wrong.score < 30


def test_a_python_answer_file_is_graded_in_the_sandbox(midterm, compiled_for, salt, tmp_path):
    paper = compiled_for("s1003")
    path = tmp_path / "s1003.py"
    path.write_text(render_sheet(paper, fmt="py", answers=expected_answers(paper)))
    result = grade_exam_submission(midterm, path, salt=salt)
    assert result.grader_error is None, result.grader_error
    assert result.score == 30, [(q.name, q.status) for q in result.questions]
    assert "answer sheet" not in result.isolation

    blank = tmp_path / "s1001.py"
    blank.write_text(render_sheet(compiled_for("s1001"), fmt="py"))
    result = grade_exam_submission(midterm, blank, salt=salt)
    assert result.score == 0 and all(q.status == "not implemented" for q in result.questions)


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_sheet_files_read_back_as_written(compiled_for, tmp_path, fmt):
    from grader.engine.sheets import read_sheet

    paper = compiled_for("s1001")
    path = tmp_path / f"sheet.{fmt}"
    path.write_text(render_sheet(paper, fmt=fmt, answers=expected_answers(paper), student_id="s1001"))
    contents = read_sheet(path)
    assert contents.ok and not contents.recovered
    assert contents.values == expected_answers(paper)


def test_a_folder_holding_one_sheet_is_graded_as_that_sheet(midterm, compiled_for, salt, tmp_path):
    folder = tmp_path / "s1002"
    folder.mkdir()
    paper = compiled_for("s1002")
    (folder / "answers.yaml").write_text(render_sheet(paper, fmt="yaml", answers=expected_answers(paper)))
    result = grade_exam_submission(midterm, folder, salt=salt)
    assert result.submission == "s1002" and result.score == 30 and "answer sheet" in result.isolation
