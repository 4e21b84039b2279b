"""``dlgrade grade ASSIGNMENT SUBMISSION... --out DIR --jobs N``: the instructor's batch grading."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.authoring import load_assignment
from grader.grade.batch import GradeJob, find_submissions, grade_many, summary_table, write_summary
from grader.grade.engine import parse_limit_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade submissions against an assignment (all questions)",
                              description=__doc__)
    p.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    p.add_argument("submissions", nargs="+", type=Path,
                   help=".py/.ipynb files, submission folders, or class folders holding them")
    p.add_argument("--out", type=Path, default=Path("graded"), help="output folder (default: ./graded)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded in parallel (default: number of CPUs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_limit_option(p)
    p.set_defaults(run=run)


def add_limit_option(parser) -> None:
    parser.add_argument("--limit", action="append", metavar="NAME=VALUE",
                        help="override a sandbox limit of the assignment, e.g. request_seconds=5 "
                             "(names: see the README); repeatable")


def run(args: argparse.Namespace) -> int:
    assignment = load_assignment(args.assignment)
    compiled = assignment.compile()
    submissions = find_submissions(args.submissions, compiled.module)
    if not submissions:
        print(f"no submissions found in {', '.join(map(str, args.submissions))}", file=sys.stderr)
        return 2
    from grader.grade.engine import submission_id_for

    jobs = [GradeJob(path, submission_id_for(path), compiled) for path in submissions]
    args.out.mkdir(parents=True, exist_ok=True)

    def write(result):
        result.write(args.out / result.submission)

    results = grade_many(jobs, workers=args.jobs, on_result=write, progress=not args.no_progress,
                         limit_overrides=parse_limit_options(args.limit))
    summary = write_summary(results, args.out)
    print(summary_table(results))
    print(f"\n{len(results)} submissions graded; results in {args.out}/<id>/results.json, summary in {summary}")
    errors = [r.submission for r in results if r.grader_error]
    if errors:
        print(f"grader errors (grade these again): {', '.join(errors)}", file=sys.stderr)
        return 2
    return 0
