"""One submission at a time on a Dask cluster, for a caller that records it itself: the website's worker.

``dlgrade worker --cluster SPEC --jobs N`` runs N queue loops in threads, each
claiming an upload from the website's queue and grading it here instead of
in a local sandbox: the task is the same plain data ``dlgrade grade
--cluster`` sends (:mod:`grader.course.cluster.task`), the answer the same JSON,
and the web worker stays the one that records the grading, exactly once, as
for a local grading (the queue's lease and the gradebook's content check).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from grader.engine.results import SubmissionResult


class ClusterGrader:
    """``grader(assignment_folder, compiled, path, student)`` grades on ``client``'s cluster."""

    def __init__(self, client):
        from grader.course.cluster.connect import offers_threads

        self.client = client
        self._threads = offers_threads(client)

    def __call__(self, assignment_folder: Path, compiled, path: Path, student: str) -> SubmissionResult:
        from distributed import wait

        from grader.course.cluster.connect import THREADS
        from grader.course.cluster.driver import read_answer
        from grader.course.cluster.task import make_task
        from grader.course.cluster.worker import grade_task
        from grader.engine.authoring import load_assignment
        from grader.engine.grading import limits_for

        # Loaded for each task (cheap: no compiling), so a fixed question's new fingerprint is sent.
        task = make_task(load_assignment(Path(assignment_folder)), student, path, variant=compiled.variant)
        resources = {THREADS: limits_for(compiled).threads} if self._threads else None
        future = self.client.submit(grade_task, task.to_dict(), key=f"{task.key}-web-{uuid.uuid4().hex}",
                                    pure=False, resources=resources)
        try:
            wait([future])
            result, _ = read_answer(future, compiled, task)
        finally:
            future.release()    # read: the scheduler forgets it and never runs it again
        result.path = str(path)
        return result
