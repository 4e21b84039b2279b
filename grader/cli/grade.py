"""``dlgrade grade ASSIGNMENT SUBMISSION... --out DIR --jobs N``: the instructor's batch grading.

Each result is recorded in the gradebook (``DIR/gradebook.db`` unless
``--db`` names another, SQLite or PostgreSQL) in its own transaction as soon
as it is done. Then the class folder is written from the gradebook (policy
and overrides applied): ``DIR/students/<id>/`` holds only what may be handed
to that student, ``DIR/instructor/<id>/`` what only the instructor sees,
``DIR/summary.csv`` and ``DIR/class-report.html`` the class. A batch that is
interrupted, even by SIGKILL, is finished by running the same command again:
a submission whose content is already graded is skipped unless ``--regrade``.

An exam (``dlgrade grade midterm SHEETS...``) is graded the same way, each
sheet against its student's own paper; a sheet whose header names another
student than its file is refused.

{rule}

Roster: the first grading into an empty gradebook makes its submission ids
the roster. Afterwards an id the roster does not know is refused (a typo, a
folder taken for a student) unless --new-student is given.

Times: with --manifest, every submission needs a row and every row a
submission; a time without a zone is in policy.toml's timezone. Without a
manifest a submission's time is its file's modification time (when it was
copied, not when it was handed in): with a deadline, the command says how
many that makes late and what that costs.

Nothing is recorded when any of these checks fails.
(The library: :mod:`grader.course.batch.classes`.)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.cli.options import add_limit_option
from grader.course.batch.classes import Refused, grade_class, read_manifest
from grader.course.batch.parallel import SUBMISSION_ID_RULE, find_class
from grader.engine.authoring import load_assignment
from grader.engine.grading import parse_limit_options
from grader.engine.text_report import table

__doc__ = __doc__.format(rule=SUBMISSION_ID_RULE)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade submissions against an assignment (all questions)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    p.add_argument("submissions", nargs="+", type=Path,
                   help="submission files (id = file name without suffix) or class folders holding them")
    p.add_argument("--out", type=Path, default=Path("graded"), help="output folder (default: ./graded)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded in parallel (default: number of CPUs)")
    p.add_argument("--db", help="gradebook: a SQLite file or a postgresql:// URL without a password (default: "
                                "$DLGRADE_DB, the URL in the 0600 file $DLGRADE_DB_FILE, or OUT/gradebook.db)")
    p.add_argument("--regrade", action="store_true",
                   help="grade submissions again even when their content is already graded (history is kept)")
    p.add_argument("--new-student", action="store_true",
                   help="allow submission ids the gradebook's roster does not know yet (they join it)")
    p.add_argument("--manifest", type=Path,
                   help="CSV with columns student, submitted_at[, started_at] (ISO 8601; without a zone: "
                        "policy.toml's timezone), one row per submission; without it a submission's time is "
                        "its file's modification time")
    p.add_argument("--cluster", metavar="local[:N]|tcp://HOST:PORT|tls://HOST:PORT|FILE",
                   help="grade on a Dask cluster instead of --jobs threads: a local one of N worker processes, "
                        "or an existing scheduler (its address or scheduler file); this process records")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_limit_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from grader.course.gradebook.credentials import CredentialError, gradebook_location

    try:
        args.db = gradebook_location(args.db)  # never a password on the command line
    except CredentialError as exc:
        print(f"dlgrade grade: {exc}", file=sys.stderr)
        return 2
    from grader.course.exam import is_exam
    from grader.course.policy import load_policy

    assignment = load_assignment(args.assignment)
    found = find_class(args.submissions, assignment.module, sheets=is_exam(assignment),
                       folders=getattr(assignment, "submissions", "files") == "folders")
    if found.ignored:
        print("not submissions, not graded: " + ", ".join(map(str, found.ignored)), file=sys.stderr)
    if not found.submissions:
        print(f"no submissions found in {', '.join(map(str, args.submissions))}", file=sys.stderr)
        return 2
    policy = load_policy(assignment.folder)
    try:
        times = read_manifest(args.manifest, policy.timezone) if args.manifest else None
        outcome = grade_class(assignment, found.submissions, args.out, db=args.db, jobs=args.jobs,
                              regrade=args.regrade, times=times, new_students=args.new_student,
                              limit_overrides=parse_limit_options(args.limit), progress=not args.no_progress,
                              cluster=args.cluster)
    except Refused as exc:
        print(f"dlgrade grade: {exc}\nNothing was recorded.", file=sys.stderr)
        return 2
    print(table(outcome.headers, outcome.rows, align="l" + "r" * (len(outcome.headers) - 2) + "l"))
    print(f"\n{outcome.graded} graded now, {outcome.skipped} unchanged; {len(outcome.rows)} students in the "
          f"gradebook. Hand out {args.out}/students/<student>/ (nothing else); instructor files: "
          f"{args.out}/instructor/, summary: {args.out / 'summary.csv'}, class report: "
          f"{args.out / 'class-report.html'}")
    if outcome.grader_errors:
        print("grader errors (not the students' fault; run again to regrade them): "
              + ", ".join(outcome.grader_errors), file=sys.stderr)
        return 2
    return 0
