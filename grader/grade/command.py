"""``dlgrade grade ASSIGNMENT SUBMISSION... --out DIR --jobs N``: the instructor's batch grading.

Each result is written to ``DIR/<student>/`` and recorded in the gradebook
(``DIR/gradebook.db`` unless ``--db`` names another, SQLite or PostgreSQL) in
its own transaction as soon as it is done. A batch that is interrupted, even
by SIGKILL, is finished by running the same command again: a submission whose
content is already graded is skipped unless ``--regrade`` is given.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import load_assignment
from grader.grade.batch import GradeJob, find_submissions, grade_many
from grader.grade.engine import content_hash, parse_limit_options, submission_id_for
from grader.report import table


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("grade", help="grade submissions against an assignment (all questions)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    p.add_argument("submissions", nargs="+", type=Path,
                   help=".py/.ipynb files (or answer sheets), submission folders, or class folders holding them")
    p.add_argument("--out", type=Path, default=Path("graded"), help="output folder (default: ./graded)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded in parallel (default: number of CPUs)")
    p.add_argument("--db", help="gradebook: a SQLite file or a postgresql:// URL without a password (default: "
                                "$DLGRADE_DB, the URL in the 0600 file $DLGRADE_DB_FILE, or OUT/gradebook.db)")
    p.add_argument("--regrade", action="store_true",
                   help="grade submissions again even when their content is already graded (history is kept)")
    p.add_argument("--manifest", type=Path,
                   help="CSV with columns student, submitted_at[, started_at] (ISO 8601 with a time zone); "
                        "without it a submission's time is its file's modification time")
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
    assignment = load_assignment(args.assignment)
    from grader.exam import is_exam

    submissions = find_submissions(args.submissions, assignment.module, sheets=is_exam(assignment))
    if not submissions:
        print(f"no submissions found in {', '.join(map(str, args.submissions))}", file=sys.stderr)
        return 2
    outcome = grade_class(assignment, submissions, args.out, db=args.db, jobs=args.jobs, regrade=args.regrade,
                          times=read_manifest(args.manifest) if args.manifest else {},
                          limit_overrides=parse_limit_options(args.limit), progress=not args.no_progress)
    print(table(outcome.headers, outcome.rows, align="l" + "r" * (len(outcome.headers) - 2) + "l"))
    print(f"\n{outcome.graded} graded now, {outcome.skipped} unchanged; {len(outcome.rows)} students in the "
          f"gradebook. Results: {args.out}/<student>/ (report.html for the student), summary: "
          f"{args.out / 'summary.csv'}, class report: {args.out / 'report.html'}")
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
                regrade: bool = False, times: dict | None = None, limit_overrides: dict | None = None,
                progress: bool = True) -> ClassOutcome:
    """Grade ``submissions`` into ``out`` and the gradebook, skipping content already graded."""
    from grader.gradebook import Gradebook
    from grader.policy import load_policy

    policy = load_policy(assignment.folder)
    times = times or {}
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(db or out / "gradebook.db") as gradebook:
        done = set() if regrade else gradebook.graded_hashes(assignment.name)
        jobs_to_run, skipped = [], 0
        compile_for = compiler_for(assignment)
        for path in submissions:
            student = submission_id_for(path)
            if (student, content_hash(path)) in done:
                skipped += 1
                continue
            jobs_to_run.append(GradeJob(path, student, compile_for(student)))
        if skipped:
            print(f"{skipped} submission(s) already graded with the same content: skipped "
                  "(--regrade grades them again)", file=sys.stderr)

        def record(result) -> None:
            result.write(out / result.submission)
            submitted_at, started_at = times.get(result.submission, (None, None))
            gradebook.record(result, student_id=result.submission, policy=policy, regrade=regrade,
                             submitted_at=submitted_at or modification_time(Path(result.path)),
                             started_at=started_at)

        results = grade_many(jobs_to_run, workers=jobs, on_result=record, progress=progress,
                             limit_overrides=limit_overrides)
        finals = gradebook.final_scores(assignment.name)
    headers, rows = summary_rows(finals, assignment.question_names)
    with (out / "summary.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    try:
        from grader.feedback import write_instructor_report

        write_instructor_report(out)
    except Exception as exc:  # the class report is an extra: every result is recorded already
        print(f"the instructor report could not be written: {type(exc).__name__}: {exc}", file=sys.stderr)
    return ClassOutcome(len(results), skipped, headers, rows, [r.submission for r in results if r.grader_error])


def compiler_for(assignment):
    """student id -> CompiledAssignment: one compilation, or each student's own variant of an exam."""
    from grader.exam import is_exam

    if is_exam(assignment):
        from grader.exam.variants import compile_for_student, exam_salt

        salt = exam_salt(assignment)
        return lambda student: compile_for_student(assignment, student, salt=salt)
    compiled = assignment.compile()
    return lambda student: compiled


def summary_rows(finals, question_names: list[str]) -> tuple[list[str], list[list]]:
    headers = ["student", "score", "max", *question_names, "late min", "attempts", "note"]
    rows = []
    for s in sorted(finals, key=lambda s: s.student):
        by_name = {q.question: q.score for q in s.questions}
        note = "; ".join(s.notes)
        rows.append([s.student, "" if s.score is None else round(s.score, 4), s.max_score,
                     *[round(by_name[n], 4) if n in by_name else "" for n in question_names],
                     round(s.late_minutes, 1), s.attempts, note])
    return headers, rows


def modification_time(path: Path) -> _dt.datetime:
    """When a submission was last changed: its newest file's modification time, in UTC."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    newest = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
    return _dt.datetime.fromtimestamp(newest, _dt.timezone.utc)


def read_manifest(path: Path) -> dict[str, tuple[_dt.datetime | None, _dt.datetime | None]]:
    """student -> (submitted_at, started_at) from a CSV an LMS exports."""
    times = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"student", "submitted_at"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: the manifest needs the columns student and submitted_at; "
                             f"missing {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            times[row["student"].strip()] = (_when(row["submitted_at"], path, line, "submitted_at"),
                                              _when(row.get("started_at") or "", path, line, "started_at"))
    return times


def _when(text: str, path: Path, line: int, column: str) -> _dt.datetime | None:
    if not text.strip():
        return None
    try:
        value = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{path}:{line}: {column} {text!r} is not an ISO 8601 time "
                         "(e.g. 2026-11-28T14:05:00+01:00)") from None
    if value.tzinfo is None:
        raise ValueError(f"{path}:{line}: {column} {text!r} has no time zone (add e.g. +00:00)")
    return value
