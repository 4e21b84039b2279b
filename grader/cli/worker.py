"""``dlgrade worker``: grade the website's queued uploads, here or on another host (same database).

    dlgrade worker --course COURSE                 one more worker
    dlgrade worker --course COURSE --cluster SPEC  its gradings run on a Dask cluster; it records them
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from grader.cli.options import course_options, die_with_parent


def add_parser(subparsers) -> None:
    import flask  # noqa: F401

    worker = subparsers.add_parser("worker", help="grade the website's queued uploads", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    course_options(worker)
    worker.add_argument("--lease-seconds", type=float, default=30.0, help="claim lease (default: 30)")
    worker.add_argument("--until-idle", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--cluster", metavar="SPEC", help="grade on a Dask cluster instead of this host: local[:N], "
                                                          "tcp://host:port, tls://host:port or a scheduler file; "
                                                          "this worker still records every grading")
    worker.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="queue loops at once (default: 1; with --cluster, the cluster's task slots)")
    worker.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    worker.set_defaults(run=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    import logging

    from grader.course.web.worker import Worker, worker_name

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        print(f"dlgrade worker: --jobs {jobs}: expected a whole number >= 1", file=sys.stderr)
        return 2
    if getattr(args, "cluster", None):
        from grader.course.cluster.connect import check_spec

        try:
            check_spec(args.cluster)
        except ValueError as exc:
            print(f"dlgrade worker: {exc}", file=sys.stderr)
            return 2
    from grader.course.web.course import Course

    course = Course(args.course or Path("course"), db=args.db)
    try:
        with _grading_place(getattr(args, "cluster", None)) as (grade, slots):
            workers = [Worker(course, lease_seconds=args.lease_seconds, grade=grade,
                              name=None if i == 0 else f"{worker_name()}-{i}") for i in range(jobs or slots)]
            signal.signal(signal.SIGTERM, lambda *_: [w.stopping.set() for w in workers])
            if args.exit_with_parent and sys.platform == "linux":
                die_with_parent()
                if os.getppid() == 1:   # the parent died before the line above
                    return 0
            done = _run_all(workers, until_idle=args.until_idle)
    finally:
        course.close()
    if done is not None:
        print(f"dlgrade worker: {done} job(s) done", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _grading_place(cluster: str | None):
    """(how to grade one submission, how many at once): here, one; or on ``cluster``, its task slots."""
    if not cluster:
        yield None, 1
        return
    from grader.course.cluster.connect import open_client
    from grader.course.cluster.driver import task_slots
    from grader.course.cluster.remote import ClusterGrader

    with open_client(cluster) as client:
        yield ClusterGrader(client), max(1, task_slots(client))


def _run_all(workers, *, until_idle: bool) -> int | None:
    """Run each worker's loop in a thread of its own; the jobs done by all (None when interrupted)."""
    import threading

    if len(workers) == 1:     # in this thread, as it always ran
        try:
            return workers[0].run(until_idle=until_idle)
        except KeyboardInterrupt:
            return None
    counts = [0] * len(workers)

    def loop(index: int) -> None:
        counts[index] = workers[index].run(until_idle=until_idle)

    threads = [threading.Thread(target=loop, args=(i,), name=f"queue-{i}", daemon=True) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.5)
    except KeyboardInterrupt:
        for worker in workers:
            worker.stopping.set()
        return None
    return sum(counts)
