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
import csv
import datetime as _dt
import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import load_assignment
from grader.grade.batch import SUBMISSION_ID_RULE, GradeJob, find_class, grade_many
from grader.grade.engine import content_hash, parse_limit_options, submission_id_for
from grader.feedback.class_folder import summary_rows
from grader.report import table

__doc__ = __doc__.format(rule=SUBMISSION_ID_RULE)


class Refused(ValueError):
    """A batch that cannot be graded as given; nothing was recorded. The message says what to change."""


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
                              limit_overrides=parse_limit_options(args.limit), progress=not args.no_progress)
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
                limit_overrides: dict | None = None, progress: bool = True) -> ClassOutcome:
    """Grade ``submissions`` into the gradebook, skipping content already graded, then write ``out``'s
    class folder from the gradebook (:mod:`grader.feedback.class_folder`).

    ``times`` (from :func:`read_manifest`): student -> (submitted_at, started_at); None means
    the files' modification times. Raises :class:`Refused`, before anything is recorded, for an
    id the roster does not know (unless ``new_students``), a manifest that does not match the
    submissions, or an exam sheet that names another student.
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

        def record(result) -> None:
            submitted_at, started_at = (times or {}).get(result.submission, (None, None))
            gradebook.record(result, student_id=result.submission, policy=policy, regrade=regrade,
                             submitted_at=submitted_at or modification_time(Path(result.path)),
                             started_at=started_at)
            keep_grading_extras(out, result)

        results = grade_many(jobs_to_run, workers=jobs, on_result=record, progress=progress,
                             limit_overrides=limit_overrides)
        gradebook.add_assignment(assignment.name, policy=policy)   # a changed policy applies without regrading
        finals = write_class_folder(gradebook, assignment.name, out, question_names=assignment.question_names,
                                    gradebook_file=gradebook_reference(out, db))
    headers, rows = summary_rows(finals, assignment.question_names)
    return ClassOutcome(len(results), skipped, headers, rows, [r.submission for r in results if r.grader_error])


def admit_to_roster(gradebook, ids: list[str], *, new_students: bool) -> None:
    """Check the batch's ids against the roster; the first batch into an empty gradebook becomes it."""
    known = set(gradebook.students())
    unknown = [i for i in ids if i not in known]
    if known and unknown and not new_students:
        lines = []
        for student in unknown:
            close = difflib.get_close_matches(student, sorted(known), n=3)
            lines.append(f"  {student}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise Refused(f"{len(unknown)} submission id(s) the gradebook's roster does not know:\n"
                      + "\n".join(lines) + "\nRename the file to the student's id, or give --new-student "
                      "if they are new to the class.")
    for student in unknown:   # all at once, before any grading: a resumed batch finds them known
        gradebook.add_student(student)


def compiler_for(assignment):
    """student id -> CompiledAssignment: one compilation, or each student's own variant of an exam."""
    from grader.exam import is_exam

    if is_exam(assignment):
        from grader.exam.variants import compile_for_student, exam_salt

        salt = exam_salt(assignment)
        return lambda student: compile_for_student(assignment, student, salt=salt)
    compiled = assignment.compile()
    return lambda student: compiled


def modification_time(path: Path) -> _dt.datetime:
    """When a submission was last changed: its newest file's modification time, in UTC."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    newest = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
    return _dt.datetime.fromtimestamp(newest, _dt.timezone.utc)


def read_manifest(path: Path, timezone: str | None = None
                  ) -> dict[str, tuple[_dt.datetime | None, _dt.datetime | None]]:
    """student -> (submitted_at, started_at) from a CSV an LMS exports.

    A time without a zone is in ``timezone`` (policy.toml's); without one it is an error.
    """
    times = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"student", "submitted_at"} - set(reader.fieldnames or [])
        if missing:
            raise Refused(f"{path}: the manifest needs the columns student and submitted_at; "
                          f"missing {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            student = (row["student"] or "").strip()
            if not student:
                raise Refused(f"{path}:{line}: the row names no student")
            if student in times:
                raise Refused(f"{path}:{line}: a second row for {student!r}: one row per submission")
            times[student] = (_when(row["submitted_at"] or "", path, line, "submitted_at", timezone),
                              _when(row.get("started_at") or "", path, line, "started_at", timezone))
    return times


def check_manifest(times: dict, ids: dict[str, Path]) -> None:
    """Every submission has a row and every row a submission; else one error naming them all."""
    rows_alone = sorted(set(times) - set(ids))
    subs_alone = sorted(set(ids) - set(times))
    if not rows_alone and not subs_alone:
        return
    lines = []
    for student in rows_alone:
        close = difflib.get_close_matches(student, subs_alone or sorted(ids), n=1)
        lines.append(f"  manifest row {student!r} matches no submission"
                     + (f" (the submission {close[0]!r} has no row: a typo?)" if close else ""))
    for student in subs_alone:
        close = difflib.get_close_matches(student, rows_alone, n=1)
        lines.append(f"  submission {student!r} ({ids[student]}) has no manifest row"
                     + (f" (the row {close[0]!r} matches no submission)" if close else ""))
    raise Refused("the manifest does not match the submissions:\n" + "\n".join(lines)
                  + "\nFix the manifest (or the file names) so that each submission has exactly one row.")


def warn_file_times(assignment, policy, submissions: list[Path]) -> None:
    """Say loudly that file times stand in for submission times, and what that does to the scores."""
    from grader.exam import is_exam
    from grader.policy import late_status

    if not policy.has_deadline:
        return
    due = policy.closes_at
    late = []
    if due is not None:
        for path in submissions:
            minutes = (modification_time(path) - due).total_seconds() / 60.0
            if minutes > 0 and late_status(policy, minutes) not in ("on time", "in grace"):
                late.append((path, late_status(policy, minutes)))
    if not late and not is_exam(assignment):
        return
    lines = ["WARNING: no --manifest: each submission's time is its file's modification time, which is when "
             "the file was last written or copied here, not when the student handed it in."]
    if late:
        statuses = sorted({status for _, status in late})
        effect = ("they score 0" if set(statuses) <= {"not accepted", "too late"}
                  else "they lose the late penalty (or score 0 beyond late_max_days)")
        lines.append(f"{len(late)} of {len(submissions)} are dated after the deadline ({due.isoformat()}) and are "
                     f"recorded as {' / '.join(statuses)}: {effect}.")
    lines.append("Give --manifest times.csv (student, submitted_at[, started_at]) with the times your LMS "
                 "recorded to grade by the real times.")
    print("\n".join(lines), file=sys.stderr)


SHEET_OWNER = re.compile(r"^#.*\bstudent\s+([^\s,()]+)")


def check_sheet_owners(assignment, ids: dict[str, Path]) -> None:
    """An exam sheet whose header names another student than its file's name is refused."""
    from grader.exam import is_exam
    from grader.grade.batch import SHEET_SUFFIXES

    if not is_exam(assignment):
        return
    wrong = []
    for student, path in ids.items():
        if not (path.is_file() and path.suffix in SHEET_SUFFIXES + (".py",)):
            continue
        owner = sheet_owner(path)
        if owner is not None and owner != student:
            wrong.append(f"  {path}: the file is {student}'s, but its header says it is the sheet of "
                         f"student {owner}")
    if wrong:
        raise Refused("answer sheet(s) handed in under another student's name:\n" + "\n".join(wrong)
                      + "\nEach sheet is graded against its student's own paper: check who handed it in, "
                        "and name the file by that student's id.")


def sheet_owner(path: Path, lines: int = 5) -> str | None:
    """The student a sheet's header names (``# student ID, variant V``), or None when it names none."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for _ in range(lines):
                match = SHEET_OWNER.match(handle.readline())
                if match:
                    return match.group(1)
    except OSError:
        return None
    return None


def _when(text: str, path: Path, line: int, column: str, timezone: str | None) -> _dt.datetime | None:
    if not text.strip():
        return None
    try:
        value = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refused(f"{path}:{line}: {column} {text!r} is not an ISO 8601 time "
                      "(e.g. 2026-11-28T14:05:00+01:00)") from None
    if value.tzinfo is None:
        if timezone is None:
            raise Refused(f"{path}:{line}: {column} {text!r} has no time zone and policy.toml sets no "
                          "timezone: add one to the time (e.g. +00:00) or timezone = \"...\" to policy.toml")
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value
