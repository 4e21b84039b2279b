"""``dlgrade grades ...``: read, correct and export the gradebook.

    dlgrade grades show     --db PATH [--assignment A] [--student S]
    dlgrade grades export   --db PATH --format csv --out FILE [--per-question FILE]
    dlgrade grades override --db PATH STUDENT ASSIGNMENT [--question Q] --score X --reason "..." --by NAME
    dlgrade grades revoke   --db PATH STUDENT ASSIGNMENT [--question Q] --reason "..." --by NAME
    dlgrade grades remove   --db PATH STUDENT [ASSIGNMENT [--attempt N]] --reason "..." --by NAME
    dlgrade grades history  --db PATH STUDENT ASSIGNMENT

An override outside [0, max] needs --force. A revoke restores what the revoked
override replaced. ``remove`` deletes a mistaken submission (--attempt), a
student's record on an assignment, or a student altogether; what was deleted,
by whom and why stays in the history.

After a change, the class folder beside an SQLite gradebook (``dlgrade grade
--out DIR`` without ``--db``) is rewritten at once; any other: ``dlgrade
report DIR --db ...``.

``--db`` is an SQLite file or a ``postgresql+psycopg://`` URL without a password
(default: $DLGRADE_DB, else the URL in the 0600 file $DLGRADE_DB_FILE, else
graded/gradebook.db). A password goes in one of those two, never on the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DB = "graded/gradebook.db"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("grades", help="show, override, export the gradebook",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="grades_command", required=True, metavar="ACTION")

    def db_option(parser):
        parser.add_argument("--db", help="gradebook: SQLite path or postgresql+psycopg:// URL without a password "
                                          f"(default: $DLGRADE_DB, $DLGRADE_DB_FILE or {DEFAULT_DB})")

    show = sub.add_parser("show", help="final scores as a table")
    db_option(show)
    show.add_argument("--assignment", help="only this assignment")
    show.add_argument("--student", help="only this student (with --assignment: per question too)")
    show.set_defaults(grades_run=_show)

    export = sub.add_parser("export", help="grade sheet (one row per student) and per-question sheet")
    db_option(export)
    export.add_argument("--format", choices=["csv"], default="csv", help="file format (default: csv)")
    export.add_argument("--out", type=Path, required=True, help="grade sheet to write")
    export.add_argument("--per-question", type=Path, help="per-question sheet to write")
    export.set_defaults(grades_run=_export)

    override = sub.add_parser("override", help="set a student's score (a question or the whole assignment)")
    db_option(override)
    override.add_argument("student")
    override.add_argument("assignment")
    override.add_argument("--question", help="the question (default: the whole assignment)")
    override.add_argument("--score", type=float, required=True, help="the new score")
    override.add_argument("--reason", required=True, help="why (required, kept in the history)")
    override.add_argument("--by", required=True, help="who overrides")
    override.add_argument("--new-student", action="store_true",
                          help="allow a student the gradebook does not know yet")
    override.add_argument("--force", action="store_true",
                          help="allow a score above the maximum (e.g. a bonus)")
    override.set_defaults(grades_run=_override)

    revoke = sub.add_parser("revoke", help="deactivate an override (it stays in the history)")
    db_option(revoke)
    revoke.add_argument("student")
    revoke.add_argument("assignment")
    revoke.add_argument("--question", help="the question (default: the whole-assignment override)")
    revoke.add_argument("--reason", required=True, help="why (required, kept in the history)")
    revoke.add_argument("--by", required=True, help="who revokes")
    revoke.set_defaults(grades_run=_revoke)

    remove = sub.add_parser("remove", help="delete a mistaken submission or student (kept in the history)")
    db_option(remove)
    remove.add_argument("student")
    remove.add_argument("assignment", nargs="?",
                        help="only this assignment's record (default: the student, from every assignment)")
    remove.add_argument("--attempt", type=int, help="only this attempt (see grades history)")
    remove.add_argument("--reason", required=True, help="why (required, kept in the history)")
    remove.add_argument("--by", required=True, help="who removes")
    remove.set_defaults(grades_run=_remove)

    history = sub.add_parser("history", help="every submission, grading and override of a student")
    db_option(history)
    history.add_argument("student")
    history.add_argument("assignment")
    history.set_defaults(grades_run=_history)

    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from grader.course.gradebook import Gradebook
    from grader.course.gradebook.connection import database_url
    from grader.course.gradebook.credentials import CredentialError, gradebook_location

    try:
        args.db = gradebook_location(args.db, DEFAULT_DB)
    except CredentialError as exc:
        print(f"dlgrade grades: {exc}", file=sys.stderr)
        return 2
    try:
        gradebook = Gradebook.open(args.db, create=False)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = database_url(args.db).render_as_string(hide_password=True)
        print(f"dlgrade grades: cannot open the gradebook {where}: {reason}", file=sys.stderr)
        return 2
    with gradebook:
        return args.grades_run(gradebook, args)


def _show(gradebook, args) -> int:
    from grader.course.gradebook.export import number
    from grader.engine.text_report import table, terminal_width

    infos = gradebook.assignments()
    if args.assignment:
        infos = [a for a in infos if a.name == args.assignment]
        if not infos:
            gradebook.final_scores(args.assignment)   # raises, naming the known assignments
    rows = []
    scores = []
    for info in infos:
        for s in gradebook.final_scores(info.name):
            if args.student and s.student != args.student:
                continue
            scores.append(s)
            late = "" if s.late_status in ("", "on time") else s.late_status
            if s.late_minutes:
                late += f" ({s.late_minutes:g} min)"
            rows.append([s.student, s.assignment, number(s.score), number(s.max_score),
                         f"{s.attempt}/{s.attempts}" if s.attempt else f"-/{s.attempts}",
                         late, "; ".join(s.notes)])
    if not rows:
        print("no scores" + (f" for {args.student}" if args.student else ""))
        return 0
    print(table(["student", "assignment", "score", "max", "attempt", "late", "notes"], rows,
                align="llrrrll", max_width=terminal_width()))
    if args.student and args.assignment and scores and scores[0].questions:
        print()
        print(table(["question", "score", "max", "status"],
                    [[q.question, number(q.score), number(q.max_score), q.status] for q in scores[0].questions],
                    align="lrrl"))
    return 0


def _export(gradebook, args) -> int:
    from grader.course.gradebook.export import export_csv

    export_csv(gradebook, args.out, per_question_path=args.per_question)
    print(f"grade sheet: {args.out}" + (f"; per question: {args.per_question}" if args.per_question else ""))
    return 0


def _override(gradebook, args) -> int:
    override_id = gradebook.override(args.student, args.assignment, args.score, reason=args.reason, by=args.by,
                                     question=args.question, create_student=args.new_student, force=args.force)
    target = f"question {args.question}" if args.question else "the whole assignment"
    print(f"override #{override_id}: {args.student} {args.assignment} {target} = {args.score:g}"
          + _final_text(gradebook, args.assignment, args.student))
    _rewrite_files(gradebook, args, [args.assignment])
    return 0


def _revoke(gradebook, args) -> int:
    count = gradebook.revoke_override(args.student, args.assignment, reason=args.reason, by=args.by,
                                      question=args.question)
    target = f"question {args.question}" if args.question else "the whole assignment"
    if not count:
        print(f"{args.student} has no active override on {args.assignment} {target}", file=sys.stderr)
        return 1
    print(f"override on {args.student} {args.assignment} {target} revoked"
          + _final_text(gradebook, args.assignment, args.student))
    _rewrite_files(gradebook, args, [args.assignment])
    return 0


def _remove(gradebook, args) -> int:
    assignments = [args.assignment] if args.assignment else [a.name for a in gradebook.assignments()]
    what = gradebook.remove(args.student, args.assignment, reason=args.reason, by=args.by, attempt=args.attempt)
    print(f"removed {args.student}: {what}" + (f" on {args.assignment}" if args.assignment else "")
          + (_final_text(gradebook, args.assignment, args.student) if args.attempt else ""))
    _rewrite_files(gradebook, args, assignments)
    return 0


def _final_text(gradebook, assignment: str, student: str) -> str:
    final = gradebook.final_score(assignment, student)
    if final is None or final.score is None:
        return "; no final score now"
    return f"; final score now {final.score:g} / {final.max_score:g}"


def _rewrite_files(gradebook, args, assignments: list[str]) -> None:
    """Rewrite the class folders graded into this SQLite gradebook (found beside it, up to two folders
    down), so that no file disagrees with it; for any other gradebook, say how."""
    from grader.course.feedback.class_folder import class_folders_of, write_class_folder
    from grader.course.gradebook.connection import database_url, sqlite_path

    path = sqlite_path(database_url(args.db))
    folders = class_folders_of(path, assignments) if path is not None else []
    for folder, recorded in folders:
        write_class_folder(gradebook, recorded["assignment"], folder, gradebook_file=recorded["gradebook"])
        print(f"{folder}: students' files, summary.csv and class-report.html rewritten")
    if not folders:
        print("to update a class folder graded into this gradebook: dlgrade report DIR"
              + (f" --db {args.db}" if path is not None else " --db URL"), file=sys.stderr)


def _history(gradebook, args) -> int:
    from grader.engine.text_report import table

    entries = gradebook.history(args.student, args.assignment)
    if not entries:
        print(f"nothing recorded for {args.student} on {args.assignment}")
        return 0
    rows = [[e.when.strftime("%Y-%m-%d %H:%M:%S UTC"), e.kind, e.summary] for e in entries]
    print(table(["when", "event", "what"], rows))   # never truncated: reasons matter here
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``dlgrade grades`` on its own (``python -m grader.cli.grades show ...``)."""
    parser = argparse.ArgumentParser(prog="dlgrade")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["grades", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"dlgrade grades: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
