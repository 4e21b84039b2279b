"""The driver's batch loop: submit every task, record each result as it arrives, then release it.

Execution on a cluster is at least once: a worker that dies takes its
running task with it and the scheduler runs it again elsewhere, and a task
whose result is still held may be run again when the worker holding that
result dies. So the driver releases each future as soon as its result is
recorded (the scheduler then forgets it and never runs it again), and the
gradebook's recording is idempotent for a run id besides.

A task that fails (its worker killed :data:`~grader.course.cluster.connect.ALLOWED_FAILURES`
times, a worker that refuses it, an answer that is not a result) becomes
that submission's grader error, every question at zero: the batch goes on,
and the next run grades it again.
"""

from __future__ import annotations

import datetime as _dt
import sys
from typing import Callable

from grader.course.cluster.task import GradingTask
from grader.course.cluster.wire import result_from_json
from grader.engine.results import LoadInfo, SubmissionResult


def failed_result(compiled, task: GradingTask, why: str) -> SubmissionResult:
    """``task``'s submission with a grader error ``why`` and every question not graded."""
    from grader.engine.grading import _not_graded

    return SubmissionResult(
        assignment=compiled.name, submission=task.student, path=task.source_path,
        questions=[_not_graded(q, "not graded: internal grader error (cluster)") for q in compiled.questions],
        load=LoadInfo(ok=False), isolation="", seconds=0.0, sha256=task.sha256, variant=task.variant,
        graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        grader_error=f"cluster: {why}")


def read_answer(future, compiled, task: GradingTask) -> tuple[SubmissionResult, dict | None]:
    """The result a finished future holds, or a grader error saying why there is none."""
    import json
    from asyncio import CancelledError

    try:
        # Not ``future.status``: a finished result held by a worker that dies is computed again, so a
        # future ``as_completed`` gave as done may be pending again now; ``result`` waits for it.
        text = future.result()
    except (Exception, CancelledError) as exc:   # KilledWorker (its workers died), cancelled, ...
        return failed_result(compiled, task, f"{type(exc).__name__}: {str(exc)[:500]}"), None
    try:
        answer = json.loads(text) if isinstance(text, str) else None
        refused = answer.get("refused") if isinstance(answer, dict) else None
        if refused:
            return failed_result(compiled, task, f"refused by the worker: {refused}"), None
        result, figures = result_from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        return failed_result(compiled, task, f"the worker's answer is not a result ({exc})"), None
    if (result.submission, result.sha256) != (task.student, task.sha256):
        return failed_result(compiled, task, "the worker answered for another submission"), None
    return result, figures


def grade_on_cluster(client, tasks: list[GradingTask], compiled_for: Callable[[str], object], *,
                     run_id: str, on_result: Callable[..., None] | None = None,
                     resources: dict | None = None, progress: bool = True,
                     contended_alone: bool = False) -> list[SubmissionResult]:
    """Grade ``tasks`` on ``client``'s cluster; ``on_result(result, figures=, run_id=)`` in this thread
    as each ends, ``run_id`` naming this run of this submission (record it under that id: once).

    ``compiled_for(student)`` is the driver's compiled assignment (for a grader error's questions).
    ``run_id`` makes each task's Dask key unique to this run. ``contended_alone`` (the cluster runs
    several tasks at once): as :func:`grader.course.batch.parallel.grade_many` does, a submission whose load
    ran out of time is not recorded then but graded again alone once the others are done, and that
    grading is recorded. Returns results in the order of ``tasks``.
    """
    from distributed import as_completed, wait

    from grader.course.batch.parallel import CONTENDED_LOAD_KINDS, _progress_bar
    from grader.course.cluster.worker import grade_task

    bar = _progress_bar(len(tasks), progress)
    results: dict[int, SubmissionResult] = {}

    def submit(task: GradingTask, suffix: str = ""):
        return client.submit(grade_task, task.to_dict(), key=f"{task.key}-{run_id}{suffix}", pure=False,
                             resources=resources)

    def finish(index: int, task: GradingTask, result: SubmissionResult, figures: dict | None) -> None:
        if on_result:
            try:
                on_result(result, figures=figures, run_id=f"{run_id}:{task.student}:{task.sha256[:16]}")
            except Exception as exc:  # recording one result failed: say so for it, grade the rest
                why = f"{type(exc).__name__}: {str(exc)[:500]}"
                print(f"{result.submission}: the result could not be recorded ({why})", file=sys.stderr)
                result.grader_error = f"the result could not be recorded: {why}"
        results[index] = result
        bar.set_postfix_str(f"{result.submission}: {result.score:g}/{result.max_score:g}", refresh=False)
        bar.update(1)

    futures = {}
    for index, task in enumerate(tasks):
        future = submit(task)
        futures[future.key] = (index, task, future)
    contended: list[tuple[int, GradingTask]] = []
    for finished in as_completed([f for _, _, f in futures.values()]):
        index, task, future = futures.pop(finished.key)
        result, figures = read_answer(future, compiled_for(task.student), task)
        if contended_alone and result.load.kind in CONTENDED_LOAD_KINDS:
            contended.append((index, task))   # not recorded: a classmate's CPU may have cost it its load
        else:
            finish(index, task, result, figures)
        future.release()       # recorded (or set aside): the scheduler forgets it and never runs it again
    for index, task in sorted(contended):   # everything else is done: nothing else runs now
        print(f"{task.student}: its load ran out of time while several submissions were graded at once; "
              "grading it again alone", file=sys.stderr)
        future = submit(task, "-alone")
        wait([future])
        finish(index, task, *read_answer(future, compiled_for(task.student), task))
        future.release()
    bar.close()
    return [results[i] for i in range(len(tasks))]


def grade_class_on_cluster(spec: str, assignment, jobs: list, *, on_result=None, progress: bool = True,
                           limit_overrides: dict | None = None, run_id: str | None = None) -> list[SubmissionResult]:
    """Grade ``jobs`` (:class:`grader.course.batch.parallel.GradeJob`) of ``assignment`` on the cluster ``spec``.

    Nothing starts for no jobs. A task asks for the threads its sandbox child may use when
    every worker offers the ``threads`` resource (a local cluster's always do).
    """
    import uuid

    from grader.course.cluster.connect import THREADS, offers_threads, open_client
    from grader.course.cluster.task import make_task
    from grader.engine.grading import limits_for

    if not jobs:
        return []
    tasks = [make_task(assignment, job.submission_id, job.submission, variant=job.compiled.variant,
                       limit_overrides=limit_overrides) for job in jobs]
    compiled = {job.submission_id: job.compiled for job in jobs}
    threads = max(limits_for(job.compiled, limit_overrides).threads for job in jobs)
    with open_client(spec, threads_per_task=threads) as client:
        resources = {THREADS: threads} if offers_threads(client) else None
        return grade_on_cluster(client, tasks, compiled.__getitem__, run_id=run_id or uuid.uuid4().hex,
                                on_result=on_result, resources=resources, progress=progress,
                                contended_alone=task_slots(client) > 1)


def task_slots(client) -> int:
    """How many tasks the cluster runs at once: its workers' threads."""
    return sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())
