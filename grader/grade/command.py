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
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import load_assignment
from grader.feedback.class_folder import summary_rows
from grader.grade.batch import SUBMISSION_ID_RULE, GradeJob, find_class, grade_many
from grader.grade.checks import Refused, admit_to_roster, check_manifest, check_sheet_owners
from grader.grade.engine import content_hash, parse_limit_options, submission_id_for
from grader.grade.times import modification_time, read_manifest, warn_file_times
from grader.report import table

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


def add_limit_option(parser) -> None:
    parser.add_argument("--limit", action="append", metavar="NAME=VALUE",
                        help="override a sandbox limit of the assignment, e.g. request_seconds=5 "
                             "(names: see the README); repeatable")


def run(args: argparse.Namespace) -> int:
    from grader.gradebook.credentials import CredentialError, gradebook_location

    try:
        args.db = gradebook_location(args.db)  # never a password on the command line
    except CredentialError as exc:
        print(f"dlgrade grade: {exc}", file=sys.stderr)
        return 2
    from grader.exam import is_exam
    from grader.policy import load_policy

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


@dataclass
class ClassOutcome:
    graded: int
    skipped: int
    headers: list[str]
    rows: list[list]
    grader_errors: list[str]


def grade_class(assignment, submissions: list[Path], out: Path, *, db: str | None = None, jobs: int = 1,
                regrade: bool = False, times: dict | None = None, new_students: bool = False,
                limit_overrides: dict | None = None, progress: bool = True,
                cluster: str | None = None) -> ClassOutcome:
    """Grade ``submissions`` into the gradebook, skipping content already graded, then write ``out``'s
    class folder from the gradebook (:mod:`grader.feedback.class_folder`).

    ``times`` (from :func:`read_manifest`): student -> (submitted_at, started_at); None means
    the files' modification times. Raises :class:`Refused`, before anything is recorded, for an
    id the roster does not know (unless ``new_students``), a manifest that does not match the
    submissions, or an exam sheet that names another student.

    ``cluster`` (``local:N``, a scheduler's address or file): grade on a Dask cluster
    (:mod:`grader.cluster`) instead of ``jobs`` threads; this process still records every result.
    """
    from grader.feedback.class_folder import gradebook_reference, keep_grading_extras, write_class_folder
    from grader.gradebook import Gradebook
    from grader.policy import load_policy

    policy = load_policy(assignment.folder)
    ids = {submission_id_for(path): path for path in submissions}
    if times is not None:
        check_manifest(times, ids)
    else:
        warn_file_times(assignment, policy, submissions)
    check_sheet_owners(assignment, ids)
    if cluster:
        check_cluster(cluster, assignment)
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(db or out / "gradebook.db") as gradebook:
        admit_to_roster(gradebook, sorted(ids), new_students=new_students)
        done = set() if regrade else gradebook.graded_hashes(assignment.name)
        jobs_to_run, skipped = [], 0
        compile_for = compiler_for(assignment)
        for student, path in ids.items():
            if (student, content_hash(path)) in done:
                skipped += 1
                continue
            jobs_to_run.append(GradeJob(path, student, compile_for(student)))
        if skipped:
            print(f"{skipped} submission(s) already graded with the same content: skipped "
                  "(--regrade grades them again)", file=sys.stderr)

        def record(result, figures: dict | None = None, run_id: str | None = None) -> None:
            submitted_at, started_at = (times or {}).get(result.submission, (None, None))
            gradebook.record(result, student_id=result.submission, policy=policy, regrade=regrade,
                             submitted_at=submitted_at or modification_time(Path(result.path)),
                             started_at=started_at, run_id=run_id)
            keep_grading_extras(out, result, figures=figures)

        if cluster:
            from grader.cluster import grade_class_on_cluster

            results = grade_class_on_cluster(cluster, assignment, jobs_to_run, on_result=record,
                                             progress=progress, limit_overrides=limit_overrides)
        else:
            results = grade_many(jobs_to_run, workers=jobs, on_result=record, progress=progress,
                                 limit_overrides=limit_overrides)
        gradebook.add_assignment(assignment.name, policy=policy)   # a changed policy applies without regrading
        finals = write_class_folder(gradebook, assignment.name, out, question_names=assignment.question_names,
                                    gradebook_file=gradebook_reference(out, db))
    headers, rows = summary_rows(finals, assignment.question_names)
    return ClassOutcome(len(results), skipped, headers, rows, [r.submission for r in results if r.grader_error])


def check_cluster(spec: str, assignment) -> None:
    """Refuse (before anything is recorded) a bad ``--cluster`` value, or folder submissions on one."""
    from grader.cluster.connect import check_spec

    try:
        check_spec(spec)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if getattr(assignment, "submissions", "files") == "folders":
        raise Refused(f"--cluster grades file submissions; {assignment.name} takes folders: grade it "
                      f"without --cluster")


def compiler_for(assignment):
    """student id -> CompiledAssignment: one compilation, or each student's own variant of an exam."""
    from grader.exam import is_exam

    if is_exam(assignment):
        from grader.exam.variants import compile_for_student, exam_salt

        salt = exam_salt(assignment)
        return lambda student: compile_for_student(assignment, student, salt=salt)
    compiled = assignment.compile()
    return lambda student: compiled


__all__ = ["add_parser", "run", "grade_class", "ClassOutcome", "compiler_for", "read_manifest", "Refused"]
