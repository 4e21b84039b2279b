"""A task that kills every worker it runs on is given up after Dask's allowed failures and becomes a
grader error, and so does a task the workers refuse (another version of the assignment); their
classmates are graded, and the next run grades both again."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys

import cloudpickle
from distributed.diagnostics.plugin import WorkerPlugin

from grader.course.batch.classes import grade_class
from grader.course.cluster.connect import ALLOWED_FAILURES, open_client
from grader.course.cluster.driver import grade_on_cluster
from grader.course.cluster.task import make_task
from grader.engine.authoring import load_assignment

POISON = "poison"


class KillWorkerOnPoison(WorkerPlugin):
    """On every worker (those the nanny starts again included): grading :data:`POISON` SIGKILLs the
    worker process itself, after noting its pid in ``log``, as an out-of-memory kill would."""

    name = "kill-worker-on-poison"

    def __init__(self, log: str):
        self.log = log

    def setup(self, worker):
        import grader.engine.grading as engine

        grade, log = engine.grade_submission, self.log

        def grade_or_die(compiled, submission, *, submission_id=None, **options):
            if submission_id == POISON:
                with open(log, "a") as file:
                    file.write(f"{os.getpid()}\n")
                os.kill(os.getpid(), signal.SIGKILL)
            return grade(compiled, submission, submission_id=submission_id, **options)

        engine.grade_submission = grade_or_die


cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the workers cannot import this test file


def test_a_task_that_kills_its_workers_becomes_a_grader_error_and_is_regraded(tmp_path, classroom, monkeypatch):
    monkeypatch.setenv("DLGRADE_SANDBOX", "none")
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("ana", "ben", POISON, "stale"):
        shutil.copyfile(classroom.EXAMPLES / "reference.py", folder / f"{name}.py")
    assignment = load_assignment(classroom.ASSIGNMENT)
    compiled = assignment.compile()
    tasks = [make_task(assignment, path.stem, path, limit_overrides=classroom.LIMITS)
             for path in sorted(folder.glob("*.py"))]
    tasks = [dataclasses.replace(t, assignment_fingerprint="0" * 64) if t.student == "stale" else t for t in tasks]
    deaths = tmp_path / "deaths.log"

    with open_client("local:2") as client:
        client.register_plugin(KillWorkerOnPoison(str(deaths)))
        results = grade_on_cluster(client, tasks, lambda student: compiled, run_id="poison-test", progress=False)

    by_student = {r.submission: r for r in results}
    assert "KilledWorker" in by_student[POISON].grader_error
    assert by_student[POISON].score == 0
    assert len(deaths.read_text().split()) == ALLOWED_FAILURES + 1    # the first run and every retry
    assert "refused by the worker" in by_student["stale"].grader_error
    assert "fingerprint" in by_student["stale"].grader_error and by_student["stale"].score == 0
    for student in ("ana", "ben"):
        assert by_student[student].grader_error is None and by_student[student].score == compiled.max_score

    # Recorded, the grader errors are graded again by the next run; the others are not.
    from grader.course.gradebook import Gradebook

    out = tmp_path / "out"
    with Gradebook.open(out / "gradebook.db") as gradebook:
        for result in results:
            gradebook.record(result, student_id=result.submission)
    again = grade_class(assignment, sorted(folder.glob("*.py")), out, jobs=1, progress=False,
                        limit_overrides=classroom.LIMITS)
    assert (again.graded, again.skipped, again.grader_errors) == (2, 2, [])
    assert {row[0]: float(row[1]) for row in again.rows} == {
        s: compiled.max_score for s in ("ana", "ben", POISON, "stale")}
