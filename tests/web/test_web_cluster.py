"""The website's queue served by a Dask cluster: ``dlgrade worker --cluster local:2`` grades every queued
upload on the cluster's workers and records each once, with the scores ``dlgrade grade`` gives."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tomllib

import sqlalchemy as sa
from web_support import EXAMPLES, ROOT, write_course

from grader.course.gradebook import schema as S
from grader.course.web import queue, submissions
from grader.course.web import tables as T
from grader.course.web.course import Course

DECLARED = {e["name"]: float(e["score"]) for e in tomllib.loads((EXAMPLES / "examples.toml").read_text())["example"]}
CLASS = {"ann": "reference", "bo": "sign_error_dx", "cy": "transposed_dW", "di": "squared_error_without_the_half"}


def worker(course_dir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, "-m", "grader.cli", "worker", "--course", str(course_dir), *args],
                          capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)   # a hang guard


def test_a_cluster_grades_the_queue_and_the_worker_records_each_once(tmp_path):
    course_dir = write_course(tmp_path / "course")
    course = Course(course_dir)
    try:
        for student, example in CLASS.items():
            submissions.accept_upload(course, "01_backprop", student, io.BytesIO((EXAMPLES / f"{example}.py")
                                                                                 .read_bytes()), "backprop.py")
    finally:
        course.close()

    done = worker(course_dir, "--cluster", "local:2", "--until-idle")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dlgrade worker: 4 job(s) done" in done.stderr, done.stderr[-3000:]

    course = Course(course_dir)
    try:
        with course.engine.begin() as conn:
            statuses = conn.execute(sa.select(T.jobs.c.status)).scalars().all()
            per_submission = conn.execute(sa.select(sa.func.count()).select_from(S.gradings)
                                          .group_by(S.gradings.c.submission_id)).scalars().all()
            isolation = conn.execute(sa.select(S.gradings.c.isolation)).scalars().all()
        assert statuses == [queue.DONE] * 4 and sorted(per_submission) == [1, 1, 1, 1]
        assert all(line for line in isolation)     # graded in a sandbox, on the cluster's workers
        scores = {s.student: s.score for s in course.gradebook.final_scores("01_backprop")}
        assert scores == {student: DECLARED[example] for student, example in CLASS.items()}
    finally:
        course.close()


def test_a_bad_cluster_or_jobs_value_is_named_before_anything_starts(tmp_path):
    course_dir = write_course(tmp_path / "course")
    done = worker(course_dir, "--cluster", "local:0", "--until-idle")
    assert done.returncode == 2 and "expected local:N with N a whole number >= 1" in done.stderr, done.stderr
    done = worker(course_dir, "--jobs", "0", "--until-idle")
    assert done.returncode == 2 and "--jobs 0: expected a whole number >= 1" in done.stderr, done.stderr


def test_jobs_runs_several_queue_loops_here_each_upload_graded_once(tmp_path):
    course_dir = write_course(tmp_path / "course")
    course = Course(course_dir)
    try:
        for student in ("ann", "bo", "cy"):
            submissions.accept_upload(course, "01_backprop", student,
                                      io.BytesIO((EXAMPLES / "reference.py").read_bytes()), "backprop.py")
    finally:
        course.close()
    done = worker(course_dir, "--jobs", "2", "--until-idle")
    assert done.returncode == 0 and "dlgrade worker: 3 job(s) done" in done.stderr, done.stderr[-3000:]
    course = Course(course_dir)
    try:
        with course.engine.begin() as conn:
            workers = conn.execute(sa.select(T.jobs.c.status, T.jobs.c.claimed_by)).all()
        assert [w.status for w in workers] == [queue.DONE] * 3
        assert {s.student: s.score for s in course.gradebook.final_scores("01_backprop")} == \
            {"ann": DECLARED["reference"], "bo": DECLARED["reference"], "cy": DECLARED["reference"]}
    finally:
        course.close()
