"""Text from a submission is stored safely, and a result that cannot be recorded costs only itself."""

from __future__ import annotations

from pathlib import Path

from grader.course.batch import parallel as batch
from grader.engine.textsafe import safe_result, safe_text


def test_safe_text_replaces_control_characters_and_caps_length():
    assert safe_text("not done yet\x00") == "not done yet\ufffd"
    assert safe_text("a\r\nb\tc\x1b[2J\x7f\ud800") == "a\nb\tc\ufffd[2J\ufffd\ufffd"
    assert safe_text("x" * 100, limit=10) == "x" * 10 + " ... (truncated)"


def test_a_nul_byte_in_a_message_is_stored_in_either_gradebook(gradebook, make_result):
    result = make_result(student="s1", scores=(5.0, 0.0))
    result.questions[1].cases[0].message = 'raised ValueError: not done yet\x00'
    result.load.cells = [{"index": 0, "ok": False, "error": "ValueError: \x00"}]
    result.stdout = "printed \x00"
    gradebook.record(safe_result(result), student_id="s1")
    final = {s.student: s for s in gradebook.final_scores("a1")}["s1"]
    assert final.score == 5.0


def test_a_result_that_cannot_be_recorded_is_reported_and_the_batch_goes_on(monkeypatch, capsys, make_result):
    results = {name: make_result(student=name) for name in ("ann", "bob", "cy")}
    monkeypatch.setattr(batch, "grade_submission", lambda compiled, path, **_: results[Path(path).stem])
    recorded = []

    def record(result):
        if result.submission == "bob":
            raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        recorded.append(result.submission)

    jobs = [batch.GradeJob(Path(f"{name}.py"), name, None) for name in results]
    out = batch.grade_many(jobs, workers=2, on_result=record, progress=False)
    assert sorted(recorded) == ["ann", "cy"]
    assert [r.submission for r in out] == ["ann", "bob", "cy"]
    assert out[1].grader_error.startswith("the result could not be recorded: ValueError: PostgreSQL")
    assert out[0].grader_error is None and out[2].grader_error is None
    assert "bob: the result could not be recorded" in capsys.readouterr().err
