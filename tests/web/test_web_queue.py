"""The queue's claim-by-update semantics and the worker's exactly-once recording, on SQLite and on
a real PostgreSQL server: a job goes to one worker; an expired lease is claimed again; a worker
that lost its claim cannot end the job; a job whose grading was recorded by a worker killed before
it ended the job is finished without a second grading; a regrade adds one grading, once."""

from __future__ import annotations

import datetime as _dt
import io

import sqlalchemy as sa
from web_support import EXAMPLES, write_course

from grader.course.gradebook import schema as S
from grader.course.web import queue, submissions
from grader.course.web import tables as T
from grader.course.web.course import Course
from grader.course.web.worker import Worker

REFERENCE = (EXAMPLES / "reference.py").read_bytes()


def open_course(tmp_path, db_url) -> Course:
    return Course(write_course(tmp_path / "course"), db=db_url)


def upload(course: Course, student: str, content: bytes = REFERENCE) -> int:
    return submissions.accept_upload(course, "01_backprop", student, io.BytesIO(content), "backprop.py")


def expire_leases(course: Course) -> None:
    with course.writer.begin() as conn:
        conn.execute(sa.update(T.jobs).where(T.jobs.c.status == queue.RUNNING)
                     .values(lease_until=_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=1)))


def gradings_per_submission(course: Course) -> list[int]:
    with course.engine.begin() as conn:
        return list(conn.execute(sa.select(sa.func.count()).select_from(S.gradings)
                                 .group_by(S.gradings.c.submission_id)).scalars())


def test_claims_are_exclusive_and_expired_leases_return(tmp_path, db_url):
    course = open_course(tmp_path, db_url)
    try:
        first, second = upload(course, "ann"), upload(course, "bo")
        a = queue.claim(course.writer, "worker-a", 60)
        b = queue.claim(course.writer, "worker-b", 60)
        assert {a.upload_id, b.upload_id} == {first, second}
        assert queue.claim(course.writer, "worker-c", 60) is None     # both held, leases running
        expire_leases(course)                                          # as if both workers were killed
        c = queue.claim(course.writer, "worker-c", 60)
        assert c is not None and c.claims == 2
        with course.writer.begin() as conn:
            stale = a if c.id == a.id else b
            assert not queue.finish(conn, stale.id, "worker-a" if stale is a else "worker-b", 1)
            assert queue.finish(conn, c.id, "worker-c", 1)
        assert not queue.renew(course.writer, c.id, "worker-c", 60)   # ended: nothing to renew
    finally:
        course.close()


def test_a_recorded_grading_is_not_graded_twice(tmp_path, db_url):
    course = open_course(tmp_path, db_url)
    try:
        upload(course, "cy")
        # A worker claims the job, grades and records it, and is killed before it ends the job.
        doomed = Worker(course, name="doomed", lease_seconds=60)
        job = queue.claim(course.writer, doomed.name, 60)
        import tempfile
        from pathlib import Path

        from grader.engine.grading import grade_submission

        with course.engine.begin() as conn:
            row = conn.execute(sa.select(T.uploads).where(T.uploads.c.id == job.upload_id)).one()
        with tempfile.TemporaryDirectory() as folder:
            path = doomed._materialise(row, course.assignments["01_backprop"], Path(folder))
            result = grade_submission(doomed._compiled_for(course.assignments["01_backprop"], "cy"), path,
                                      submission_id="cy")
        course.gradebook.record(result, student_id="cy", submitted_at=row.uploaded_at)
        assert gradings_per_submission(course) == [1]
        expire_leases(course)

        survivor = Worker(course, name="survivor", lease_seconds=60)
        assert survivor.run(until_idle=True) == 1
        assert gradings_per_submission(course) == [1]
        with course.engine.begin() as conn:
            done = conn.execute(sa.select(T.jobs.c.status, T.jobs.c.grading_id)).one()
        assert done.status == queue.DONE and done.grading_id is not None

        # A regrade adds exactly one grading, even when its job is claimed again after recording.
        with course.writer.begin() as conn:
            queue.enqueue(conn, job.upload_id, kind="regrade", previous_grading_id=done.grading_id)
        assert survivor.run(until_idle=True) == 1
        assert gradings_per_submission(course) == [2]
        with course.writer.begin() as conn:   # the same regrade request delivered once more
            queue.enqueue(conn, job.upload_id, kind="regrade", previous_grading_id=done.grading_id)
        assert survivor.run(until_idle=True) == 1
        assert gradings_per_submission(course) == [2]
        scores = [s.score for s in course.gradebook.final_scores("01_backprop")]
        assert scores == [31]
    finally:
        course.close()
