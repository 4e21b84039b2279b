"""Nothing is lost: a batch SIGKILLed at random moments, then resumed, leaves exactly what an
uninterrupted run leaves; two processes writing at once corrupt nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import Gradebook, schema

HERE = Path(__file__).parent


def _load(name: str):
    """A helper module of this folder, by path (whatever pytest's import mode)."""
    spec = importlib.util.spec_from_file_location(f"gradebook_tests_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load("batch_worker")
KILLS = 6


def start_worker(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "batch_worker.py"), url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def dump(url: str) -> dict[str, list]:
    """Everything in the gradebook that a run decides, keyed by natural keys (no ids, no clock times)."""
    with Gradebook.open(url, create=False) as gb, gb.engine.connect() as conn:
        subs = {r.id: (r.assignment, r.student, r.sha256) for r in conn.execute(sa.select(schema.submissions))}
        grading_sub = {r.id: subs[r.submission_id] for r in conn.execute(sa.select(schema.gradings))}

        def table(t, drop=(), **mapped):
            out = []
            for row in conn.execute(sa.select(t)):
                d = {k: v for k, v in row._mapping.items() if k not in drop}
                for column, mapping in mapped.items():
                    d[column] = mapping[d[column]]
                out.append(json.dumps(d, sort_keys=True, default=str))
            return sorted(out)

        return {
            "students": table(schema.students, drop=("created_at",)),
            "assignments": table(schema.assignments, drop=("created_at", "updated_at")),
            "policy_history": table(schema.policy_history, drop=("id", "set_at")),
            "submissions": table(schema.submissions, drop=("id", "recorded_at")),
            "gradings": table(schema.gradings, drop=("id", "recorded_at"), submission_id=subs),
            "question_results": table(schema.question_results, drop=("id",), grading_id=grading_sub),
            "overrides": table(schema.overrides),
            "starts": table(schema.starts),
        }


def assert_same(got: dict[str, list], expected: dict[str, list]) -> None:
    for name in expected:
        extra = [r for r in got[name] if r not in expected[name]]
        missing = [r for r in expected[name] if r not in got[name]]
        assert got[name] == expected[name], \
            f"{name}: {len(got[name])} rows, expected {len(expected[name])}; extra {extra[:3]}, missing {missing[:3]}"


def check_invariants(url: str) -> int:
    """No partial result: each submission has one current grading with all its question rows."""
    with Gradebook.open(url, create=False) as gb, gb.engine.connect() as conn:
        subs = conn.execute(sa.select(schema.submissions)).all()
        gradings = conn.execute(sa.select(schema.gradings)).all()
        questions = conn.execute(sa.select(schema.question_results)).all()
    assert len(gradings) == len(subs)
    assert sorted(g.submission_id for g in gradings if g.is_current) == sorted(s.id for s in subs)
    for g in gradings:
        assert sum(q.grading_id == g.id for q in questions) == len(g.results["tests"]) == 3
    assert all(s.late_status for s in subs) and all(s.attempt >= 1 for s in subs)
    return len(subs)


def test_a_batch_killed_at_random_moments_resumes_to_the_same_gradebook(db_url, tmp_path):
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    assert worker.run(reference) == worker.N

    rng = random.Random(20250110)
    progress = []
    for _ in range(KILLS):
        # Let it record a few results, then kill it a random moment later: a record takes a
        # few milliseconds, so the kill lands inside a transaction or between two.
        process = start_worker(db_url)
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        for _ in range(rng.randint(0, 8)):
            process.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.004))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        progress.append(check_invariants(db_url))
    assert progress == sorted(progress) and 0 < progress[-1] < worker.N, progress
    finish = start_worker(db_url)
    out, err = finish.communicate(timeout=60)
    assert finish.returncode == 0, err
    assert check_invariants(db_url) == worker.N
    assert_same(dump(db_url), dump(reference))      # no row lost, none duplicated, same decisions


def test_two_processes_recording_at_once(db_url, tmp_path):
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    worker.run(reference)
    Gradebook.open(db_url).close()
    processes = [start_worker(db_url) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    assert check_invariants(db_url) == worker.N
    assert_same(dump(db_url), dump(reference))    # each result once, whichever process wrote it
