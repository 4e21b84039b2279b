"""A worker: claims jobs from the queue, grades them in the sandbox, records them in the gradebook.

One job at a time per worker (run several for more). For each job the
worker copies the upload from the blob store into a fresh folder under the
assignment's own file name (``backprop.py``; the student's file name is
never used), grades it with :func:`grader.engine.grading.grade_submission`
(or on a Dask cluster: ``dlgrade worker --cluster``, see
:mod:`grader.course.cluster.remote`) and records the result with
:meth:`grader.course.gradebook.Gradebook.record`.

Exactly once: before grading, the worker asks the gradebook whether this
content is already graded (a worker killed after recording, before ending
its job) and, for a regrade, whether the grading current when the regrade was
asked for is still current. If so it only ends the job. The gradebook's own
idempotence on (assignment, student, content) backs this up.

Extensions: the gradebook's policy is per assignment, so a student's
extension (``web_extensions``) is applied by recording the upload's time
moved back by the extension: lateness is then counted from the student's own
deadline. The upload row keeps the real time. (When the gradebook learns
per-student deadlines, this shift should go.)
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from grader.course.web import queue, records
from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment

log = logging.getLogger("dlgrade.worker")
EXAM_SWEEP_SECONDS = 5.0   # how often an idle worker hands in exams whose time ran out


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, course: Course, *, name: str | None = None, lease_seconds: float = 30.0,
                 poll_seconds: float = 0.5, grade=None):
        """``grade(assignment_folder, compiled, path, student) -> SubmissionResult``: where a submission
        is graded (default: a sandbox on this host; :class:`grader.course.cluster.remote.ClusterGrader`: a
        Dask cluster). This worker records the result either way."""
        self.course = course
        self.grade = grade or _grade_here
        self.name = name or worker_name()
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._compiled: dict[str, object] = {}
        self._next_exam_sweep = 0.0

    # -- the loop --------------------------------------------------------------------
    def run(self, *, until_idle: bool = False, max_jobs: int | None = None) -> int:
        """Grade jobs until stopped (or, with ``until_idle``, until the queue is empty); returns how many."""
        done = 0
        while not self.stopping.is_set() and (max_jobs is None or done < max_jobs):
            if self.run_one():
                done += 1
            elif until_idle:
                break
            else:
                self._hand_in_expired_exams()
                self.stopping.wait(self.poll_seconds)
        return done

    def _hand_in_expired_exams(self) -> None:
        """When idle, hand in the saved answers of exam sittings whose time ran out (every few seconds)."""
        now = time.monotonic()
        if now < getattr(self, "_next_exam_sweep", 0.0):
            return
        self._next_exam_sweep = now + EXAM_SWEEP_SECONDS
        try:
            from grader.course.web.exams import sweep_all

            sweep_all(self.course)
        except Exception:  # the next sweep tries again; a page request sweeps too
            log.warning("could not hand in expired exam sittings", exc_info=True)

    def run_one(self) -> bool:
        job = queue.claim(self.course.writer, self.name, self.lease_seconds)
        if job is None:
            return False
        if job.claims > queue.MAX_CLAIMS:
            queue.fail(self.course.writer, job.id, self.name,
                       f"claimed {job.claims} times without finishing: the worker died each time")
            return True
        renewing = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(job.id, renewing), daemon=True)
        heartbeat.start()
        try:
            self._grade(job)
        except Exception as exc:  # a fault of ours (the database, a missing blob): recorded on the job
            log.exception("job %s failed", job.id)
            queue.fail(self.course.writer, job.id, self.name, f"{type(exc).__name__}: {exc}")
        finally:
            renewing.set()
            heartbeat.join()
        return True

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                if not queue.renew(self.course.writer, job_id, self.name, self.lease_seconds):
                    return
            except Exception:  # the database may be briefly away; the next beat tries again
                log.warning("could not renew the lease of job %s", job_id, exc_info=True)

    # -- one job -----------------------------------------------------------------------
    def _grade(self, job: queue.Job) -> None:
        course = self.course
        with course.engine.begin() as conn:
            upload = conn.execute(sa.select(T.uploads).where(T.uploads.c.id == job.upload_id)).one()
            extension = course.extension_minutes(conn, upload.assignment, upload.student)
        assignment = course.assignments[upload.assignment]
        with tempfile.TemporaryDirectory(prefix="dlgrade-web-") as folder:
            path = self._materialise(upload, assignment, Path(folder))
            from grader.engine.grading import content_hash

            sha = content_hash(path)
            report_data = None
            with course.engine.begin() as conn:
                current = records.current_grading(conn, upload.assignment, upload.student, sha)
            if job.kind == "grade" and current is not None and current[1] is None:
                grading_id = current[0]           # recorded by a worker that died before ending the job
            elif job.kind == "regrade" and current is not None and current[0] != job.previous_grading_id:
                grading_id = current[0]           # this regrade is recorded already
            else:
                result = self.grade(assignment.folder, self._compiled_for(assignment, upload.student), path,
                                    upload.student)
                submitted_at = upload.uploaded_at - _dt.timedelta(minutes=extension)
                grading_id = course.gradebook.record(
                    result, student_id=upload.student, submitted_at=submitted_at,
                    regrade=job.kind == "regrade", source_path=f"web upload {upload.id}")
                from grader.course.feedback.data import report_data as figure_data

                try:
                    report_data = _json_safe(figure_data(result))
                except Exception:  # figures are an extra; the grade is recorded
                    report_data = None
        with course.writer.begin() as conn:
            if queue.finish(conn, job.id, self.name, grading_id):
                values = {"grading_id": grading_id}
                if report_data is not None:
                    values["report_data"] = report_data
                conn.execute(sa.update(T.uploads).where(T.uploads.c.id == upload.id).values(**values))

    def _materialise(self, upload, assignment: CourseAssignment, folder: Path) -> Path:
        stem = "answers" if upload.suffix in (".toml", ".yaml", ".yml") else assignment.module
        path = folder / f"{stem}{upload.suffix}"
        path.write_bytes(self.course.blobs.read(upload.blob_sha256))
        return path

    def _compiled_for(self, assignment: CourseAssignment, student: str):
        from grader.course.exam.variants import compiler_for
        from grader.engine.authoring import load_assignment

        # A fixed question (questions.py edited) is compiled again, so "regrade all" uses the fix.
        source = (assignment.folder / "questions.py").stat()
        version = (source.st_mtime_ns, source.st_size)
        cached = self._compiled.get(assignment.name)
        if cached is None or cached[0] != version:
            cached = self._compiled[assignment.name] = (version, compiler_for(load_assignment(assignment.folder)))
        return cached[1](student)


def _grade_here(assignment_folder: Path, compiled, path: Path, student: str):
    """Grade in a sandbox on this host."""
    from grader.engine.grading import grade_submission

    return grade_submission(compiled, path, submission_id=student)


def _json_safe(value):
    import json

    return json.loads(json.dumps(value, allow_nan=False, default=str))
