"""The cluster's pieces without a cluster: a task is plain data, a worker refuses what it must not
grade, a result crosses as JSON and reads back the same, a bad --cluster is refused up front."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

from grader.cli import main
from grader.course.cluster.connect import check_spec, local_workers
from grader.course.cluster.task import GradingTask, make_task
from grader.course.cluster.wire import result_from_json, result_to_json
from grader.course.cluster.worker import grade_task
from grader.engine.authoring import load_assignment
from grader.engine.grading import content_hash, grade_submission


@pytest.fixture(scope="module")
def assignment(classroom):
    return load_assignment(classroom.ASSIGNMENT)


@pytest.fixture
def task(assignment, classroom, tmp_path) -> GradingTask:
    path = tmp_path / "ana.py"
    path.write_text((classroom.EXAMPLES / "reference.py").read_text())
    return make_task(assignment, "ana", path, limit_overrides={"request_seconds": 5})


def test_a_task_is_plain_data_with_its_versions(task, tmp_path):
    data = task.to_dict()
    assert {type(v) for v in data.values()} <= {str, bytes, dict, type(None)}
    assert data["sha256"] == content_hash(tmp_path / "ana.py")
    assert data["content"] == (tmp_path / "ana.py").read_bytes()
    assert len(data["assignment_fingerprint"]) == 64 and data["dlgrade_version"]
    assert data["limit_overrides"] == {"request_seconds": 5}


@pytest.mark.parametrize("change, why", [
    ({"dlgrade_version": "0.0.0-other"}, "dlgrade 0.0.0-other"),
    ({"assignment_fingerprint": "f" * 64}, "differs from the driver's"),
    ({"content": b"print('swapped')\n"}, "do not match the task's sha256"),
    ({"assignment_folder": "/no/such/assignment", "assignment_name": "no_such_assignment"},
     "nor an assignment named no_such_assignment"),
])
def test_a_worker_refuses_a_task_of_another_version_or_content(task, change, why):
    answer = json.loads(grade_task(dataclasses.replace(task, **change).to_dict()))
    assert why in answer["refused"]


def test_a_worker_without_the_drivers_folder_finds_the_assignment_by_name(task):
    from grader.course.cluster.worker import assignment_folder, refusal

    elsewhere = dataclasses.replace(task, assignment_folder="/srv/course/assignments/01_backprop")
    assert assignment_folder(elsewhere) == task.assignment_folder    # this checkout's 01_backprop
    assert refusal(elsewhere) is None


def test_a_folder_submission_is_not_a_task(assignment, tmp_path):
    (tmp_path / "bob").mkdir()
    with pytest.raises(ValueError, match="file submissions"):
        make_task(assignment, "bob", tmp_path / "bob")


def test_a_result_crosses_as_json_and_reads_back_the_same(assignment, task, tmp_path, monkeypatch):
    from grader.course.feedback.data import report_data

    monkeypatch.setenv("DLGRADE_SANDBOX", "none")
    result = grade_submission(assignment.compile(), tmp_path / "ana.py", submission_id="ana")
    text = result_to_json(result, figures=report_data(result))
    back, figures = result_from_json(text)
    assert back.to_gradescope("instructor") == result.to_gradescope("instructor")
    assert back.to_gradescope("student") == result.to_gradescope("student")
    assert (back.stdout, back.stderr, back.sha256, back.grader_error) == (result.stdout, result.stderr,
                                                                           result.sha256, None)
    assert figures == json.loads(json.dumps(report_data(result)))
    for bad in ('{"format": "something else"}', "[]", b"{}"):
        with pytest.raises(ValueError):
            result_from_json(bad)


def test_cluster_values(tmp_path):
    assert local_workers("local:3") == 3 and local_workers("tcp://127.0.0.1:8786") is None
    check_spec("tls://127.0.0.1:8786")
    (tmp_path / "scheduler.json").write_text("{}")
    check_spec(str(tmp_path / "scheduler.json"))
    for bad in ("local:0", "local:two", "127.0.0.1:8786"):
        with pytest.raises(ValueError, match="--cluster"):
            check_spec(bad)


def test_a_bad_cluster_value_is_refused_before_anything_is_recorded(classroom, tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ana.py").write_text((classroom.EXAMPLES / "reference.py").read_text())
    code = main(["grade", str(classroom.ASSIGNMENT), str(folder), "--out", str(tmp_path / "out"),
                 "--cluster", "local:zero", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "expected local:N" in err and "Nothing was recorded" in err
    assert not (tmp_path / "out" / "gradebook.db").exists()


def test_a_worker_grades_an_exam_sheet_against_the_students_own_variant(tmp_path, monkeypatch, classroom):
    """An exam's task names the variant the driver compiled; the worker compiles the same one itself
    (the salt from its own checkout) and grades the sheet in-process (a sheet runs no code)."""
    from grader.course.exam.variants import SALT_ENV, compile_for_student, compiler_for, exam_salt
    from grader.engine.sheets import expected_answers, render_sheet

    monkeypatch.delenv(SALT_ENV, raising=False)
    midterm = load_assignment(classroom.ROOT / "assignments" / "midterm")
    mine = compile_for_student(midterm, "ana", salt=exam_salt(midterm))
    sheet = tmp_path / "ana.toml"
    sheet.write_text(render_sheet(mine, fmt="toml", answers=expected_answers(mine)))
    task = make_task(midterm, "ana", sheet, variant=compiler_for(midterm)("ana").variant)
    result, _ = result_from_json(grade_task(task.to_dict()))
    assert (result.variant, result.score, result.grader_error) == (mine.variant, mine.max_score, None)

    bens = dataclasses.replace(task, variant=compile_for_student(midterm, "ben", salt=exam_salt(midterm)).variant)
    assert "compiles variant" in json.loads(grade_task(bens.to_dict()))["refused"]



class RecomputedFuture:
    """A future ``as_completed`` gave as done whose worker then died holding its result: the scheduler
    computes it again, so its status reads ``pending`` until ``result`` (which waits) returns."""

    status = "pending"

    def __init__(self, answer: str | None = None, error: BaseException | None = None):
        self.answer, self.error = answer, error

    def result(self):
        if self.error is not None:
            raise self.error
        self.status = "finished"
        return self.answer

    def exception(self):
        return None if self.status == "finished" else self.error


def test_a_result_computed_again_after_its_worker_died_is_read_not_called_an_error(assignment, task,
                                                                                    tmp_path, monkeypatch):
    from distributed import KilledWorker

    from grader.course.cluster.driver import read_answer

    monkeypatch.setenv("DLGRADE_SANDBOX", "none")
    compiled = assignment.compile()
    answer = grade_task(task.to_dict())
    result, figures = read_answer(RecomputedFuture(answer), compiled, task)
    assert result.grader_error is None and result.score == compiled.max_score and figures

    last_worker = types.SimpleNamespace(address="tcp://127.0.0.1:1")
    killed, _ = read_answer(RecomputedFuture(error=KilledWorker("grade-ana", last_worker, 3)), compiled, task)
    assert killed.grader_error.startswith("cluster: KilledWorker") and killed.score == 0
