"""Load on the course website over loopback: many clients upload at once, workers grade them all.

A fresh course (assignment 01, no cooldown) gets one token per client; each
client (a thread) uploads its share of the submissions through the HTTP API
that ``dlgrade submit`` uses, each a copy of one of assignment 01's example
scripts with a distinct comment. ``dlgrade serve`` runs on 127.0.0.1 with
``--workers N``. The script prints the upload latency (median and 95th
percentile), the time from the first upload to the last result, and checks
that every upload was graded and recorded in the gradebook exactly once.

Usage: python benchmarks/web_load.py [--uploads 200] [--clients 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def post(base: str, token: str, body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(f"{base}/api/v1/assignments/01_backprop/submissions?filename=backprop.py",
                                     data=body, method="POST", headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from grader.course.web import tokens
    from grader.course.web.course import Course

    work = Path(tempfile.mkdtemp(prefix="dlgrade-web-load-"))
    course_dir = work / "course"
    course_dir.mkdir()
    (course_dir / "course.toml").write_text('assignments = ["01_backprop"]\ncooldown_seconds = 0\n')
    course = Course(course_dir)
    with course.writer.begin() as conn:
        keys = [tokens.issue(conn, f"client{i:03d}", "student") for i in range(args.clients)]
    course.close()
    examples = sorted((ROOT / "assignments" / "01_backprop" / "examples").glob("*.py"))
    bodies = [examples[i % len(examples)].read_bytes() + f"\n# upload {i}\n".encode() for i in range(args.uploads)]

    server = subprocess.Popen([sys.executable, "-m", "grader.cli", "serve", "--course", str(course_dir),
                               "--port", "0", "--workers", str(args.workers), "--threads", "16"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                              start_new_session=True)
    try:
        base = None
        while base is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the server did not start")
            found = re.search(r" on (http://127\.0\.0\.1:\d+) ", line)
            base = found.group(1) if found else None
        latencies: list[float] = []
        refused: list[int] = []
        lock = threading.Lock()

        def client(index: int) -> None:
            for body in bodies[index::args.clients]:
                status, seconds = post(base, keys[index], body)
                with lock:
                    (latencies if status == 202 else refused).append(seconds if status == 202 else status)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        uploaded = time.perf_counter() - started
        engine = sa.create_engine(f"sqlite:///{course_dir / 'gradebook.db'}")
        while True:
            with engine.connect() as conn:
                waiting = conn.execute(sa.text("SELECT count(*) FROM web_jobs WHERE status IN "
                                               "('queued', 'running')")).scalar_one()
            if not waiting:
                break
            time.sleep(0.5)
        last_result = time.perf_counter() - started
        with engine.connect() as conn:
            jobs = dict(conn.execute(sa.text("SELECT status, count(*) FROM web_jobs GROUP BY status")).all())
            per_submission = list(conn.execute(sa.text(
                "SELECT count(*) FROM gradings GROUP BY submission_id")).scalars())
        engine.dispose()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)

    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)] if latencies else float("nan")
    print(json.dumps({
        "uploads": args.uploads, "clients": args.clients, "workers": args.workers,
        "accepted": len(latencies), "refused": refused,
        "upload_latency_median_s": round(statistics.median(latencies), 4) if latencies else None,
        "upload_latency_p95_s": round(p95, 4),
        "all_uploaded_s": round(uploaded, 2),
        "time_to_last_result_s": round(last_result, 2),
        "graded_per_minute": round(60 * len(latencies) / last_result, 1),
        "jobs": jobs, "gradings": len(per_submission),
        "each_recorded_once": bool(per_submission) and set(per_submission) == {1},
    }, indent=2))


if __name__ == "__main__":
    main()
