"""Faults, with real SIGKILLs, on SQLite and on a real PostgreSQL server: the server killed with
uploads queued and being graded, then restarted; a worker killed while it grades, then another
started. Every upload ends graded, each recorded in the gradebook exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import sqlalchemy as sa
from web_support import EXAMPLES, ROOT, Client, issue_token, wait_until

from grader.course.gradebook.connection import database_url

# Each submission sleeps in its first cell, so that a kill finds one being graded and others queued.
SLOW_REFERENCE = b"# %%\nimport time\ntime.sleep(2)\n\n" + (EXAMPLES / "reference.py").read_bytes()
STUDENTS = ["s1", "s2", "s3", "s4"]


def job_states(db: str) -> list[str]:
    engine = sa.create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT status FROM web_jobs ORDER BY id")).scalars())
    finally:
        engine.dispose()


def gradings(db: str) -> dict[str, list[float]]:
    """student -> the scores of every grading recorded for them."""
    engine = sa.create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT s.student, g.score FROM gradings g JOIN submissions s "
                                        "ON s.id = g.submission_id ORDER BY s.student")).all()
    finally:
        engine.dispose()
    out: dict[str, list[float]] = {}
    for student, score in rows:
        out.setdefault(student, []).append(score)
    return out


def upload_all(base: str, tokens: dict[str, str]) -> None:
    client = Client(base)
    for student, token in tokens.items():
        status, text = client.request(
            "POST", "/api/v1/assignments/01_backprop/submissions?filename=backprop.py",
            data=SLOW_REFERENCE + f"\n# {student}\n".encode(), headers={"Authorization": f"Bearer {token}"})
        assert status == 202, text


def test_server_killed_with_uploads_queued_and_running(course_dir, db_url, start_server):
    tokens = {s: issue_token(course_dir, s, db=db_url) for s in STUDENTS}
    server = start_server(course_dir, db=db_url, workers=1, lease=3)
    upload_all(server.base, tokens)
    wait_until(lambda: "running" in job_states(db_url), what="a job being graded")
    server.kill()
    states = job_states(db_url)
    assert "queued" in states and states.count("done") < len(STUDENTS), states

    restarted = start_server(course_dir, db=db_url, workers=2, lease=3)
    wait_until(lambda: job_states(db_url) == ["done"] * len(STUDENTS), what="every job done after the restart")
    assert gradings(db_url) == {s: [31.0] for s in STUDENTS}
    client = Client(restarted.base)
    client.sign_in(tokens["s1"])
    status, text = client.get("/api/v1/submissions/1")
    assert status == 200 and json.loads(text)["result"]["score"] == 31


def test_worker_killed_while_grading(course_dir, db_url, start_server):
    tokens = {s: issue_token(course_dir, s, db=db_url) for s in STUDENTS[:2]}
    server = start_server(course_dir, db=db_url, workers=0)
    upload_all(server.base, tokens)
    command = [sys.executable, "-m", "grader.cli", "worker", "--course", str(course_dir), "--db", db_url,
               "--lease-seconds", "3"]
    env = {**os.environ, "DLGRADE_ASSIGNMENTS": str(ROOT / "assignments")}
    doomed = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: "running" in job_states(db_url), what="the worker to start grading")
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)   # the worker and its sandboxed child
        doomed.wait(timeout=30)
    assert job_states(db_url).count("done") < 2
    survivor = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: job_states(db_url) == ["done", "done"], what="the second worker to finish both")
    finally:
        os.killpg(survivor.pid, signal.SIGTERM)
        survivor.wait(timeout=60)
    assert gradings(db_url) == {"s1": [31.0], "s2": [31.0]}
