"""What runs on a Dask worker: compile the assignment (once per process), check versions, grade.

:func:`grade_task` takes a task's plain data and returns JSON text, never
raising for anything a submission does (:func:`grader.engine.grading.grade_submission`
turns that into the result). A task whose dlgrade version, assignment
fingerprint, exam variant or content hash differs from what this worker
finds is refused: the answer says why, and the driver records a grader
error that the next run grades again.

The submission is written under its own file name in a fresh temporary
folder and graded in this worker's sandbox (bubblewrap where it runs, the
fallback otherwise: ``DLGRADE_SANDBOX`` as on any grading host); its child
dies with this process (``--die-with-parent``, ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path

from grader.course.cluster.task import GradingTask, assignment_fingerprint, dlgrade_version
from grader.course.cluster.wire import FORMAT, result_to_json


@lru_cache(maxsize=8)
def _assignment(folder: str, name: str):
    from grader.engine.authoring import load_assignment

    return load_assignment(folder)


@lru_cache(maxsize=256)
def compiled_for(folder: str, name: str, fingerprint: str, student: str):
    """The compiled assignment (an exam: this student's variant), once per process and version."""
    return _compiler(folder, name, fingerprint)(student)


@lru_cache(maxsize=8)
def _compiler(folder: str, name: str, fingerprint: str):
    from grader.course.exam.variants import compiler_for

    return compiler_for(_assignment(folder, name))


def assignment_folder(task: GradingTask) -> str | None:
    """The task's assignment on this host: the driver's folder where it exists here (a shared
    filesystem), else the assignment of that name in this host's checkout; None when neither is."""
    from grader.engine.authoring import resolve_assignment_dir

    if Path(task.assignment_folder).is_dir():
        return task.assignment_folder
    try:
        return str(resolve_assignment_dir(task.assignment_name).resolve())
    except Exception:   # no such assignment here: the refusal says so
        return None


def refusal(task: GradingTask) -> str | None:
    """Why this worker must not grade ``task`` (its versions differ from this worker's), or None."""
    mine = dlgrade_version()
    if task.dlgrade_version != mine:
        return f"this worker runs dlgrade {mine}, the task was made by dlgrade {task.dlgrade_version}"
    folder = assignment_folder(task)
    if folder is None:
        return (f"this worker has neither the assignment folder {task.assignment_folder} nor an "
                f"assignment named {task.assignment_name}")
    fingerprint = assignment_fingerprint(folder)
    if fingerprint != task.assignment_fingerprint:
        return (f"this worker's {task.assignment_name} (fingerprint {fingerprint[:12]}) differs from the "
                f"driver's ({task.assignment_fingerprint[:12]}): the same checkout on every host")
    if not isinstance(task.content, bytes):
        return "the task carries no submission bytes"
    return None


def grade_task(task_data: dict) -> str:
    """Grade one task (:meth:`GradingTask.to_dict`); JSON text of the result, or of the refusal."""
    from grader.course.feedback.data import report_data
    from grader.engine.grading import content_hash, grade_submission

    task = GradingTask(**task_data)
    why = refusal(task)
    if why is not None:
        return json.dumps({"format": FORMAT, "refused": why})
    compiled = compiled_for(assignment_folder(task), task.assignment_name, task.assignment_fingerprint,
                            task.student)
    if compiled.variant != task.variant:
        return json.dumps({"format": FORMAT, "refused": f"this worker compiles variant {compiled.variant!r} "
                                                         f"for {task.student}, the driver {task.variant!r}"})
    with tempfile.TemporaryDirectory(prefix="dlgrade-task-") as folder:
        path = Path(folder) / Path(task.file_name).name
        path.write_bytes(task.content)
        if content_hash(path) != task.sha256:
            return json.dumps({"format": FORMAT, "refused": "the submission's bytes do not match the task's sha256"})
        result = grade_submission(compiled, path, submission_id=task.student,
                                  limit_overrides=task.limit_overrides or None)
    result.path = task.source_path
    try:
        figures = report_data(result)
    except Exception:   # the figures are an extra; the report says when they are missing
        figures = None
    return result_to_json(result, figures=figures)
