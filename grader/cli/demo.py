"""``dlgrade demo``: generate the student templates and grade a class, end to end, offline.

A class of twelve students hands in every assignment; each student's
submission is one of the assignment's example submissions (the reference,
or a mistake students really make), so the gradebook at the end shows what
the grader does with each. Everything runs on embedded data: no network.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate the templates and grade a demo class of every assignment",
                              description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default: ./demo)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded in parallel")
    p.add_argument("--assignments", nargs="*", help="only these assignments (default: all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from grader.course.demo import run_demo

    return run_demo(args.out, jobs=args.jobs, assignments=args.assignments, progress=not args.no_progress)
