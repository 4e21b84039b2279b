"""``dlgrade report RESULTS_DIR [--student ID] [--db URL]``: rewrite a graded folder's reports.

A class folder (``dlgrade grade --out`` writes one: ``RESULTS_DIR/class.json``)
is rewritten from the gradebook, policy and overrides applied, as grading
writes it: every student's files under ``students/`` and ``instructor/``,
``summary.csv`` and ``class-report.html`` (``--student ID``: that student's
files only). The gradebook is ``RESULTS_DIR/gradebook.db`` unless ``--db``
names another (as for ``dlgrade grade --db``). Run it after ``dlgrade grades
override``, ``revoke`` or ``remove`` so that the files say the same as the
gradebook.

Any other folder (older layouts, a single result's folder) is read as JSON:
without ``--student``: the instructor's class report of RESULTS_DIR (a folder
as ``dlgrade grade --out`` writes it), written to RESULTS_DIR/report.html.
With ``--student ID``: that student's report rebuilt from
RESULTS_DIR/ID/results.instructor.json (messages, details of public questions
only, load errors, isolation, times) and, where grading left it,
RESULTS_DIR/ID/report_files/report-data.json (the figures: masks of wrong
elements, training curves, confusion matrix); without that file the report
has no figures. A RESULTS_DIR that is itself one student's folder is read as
that student's. Nothing is unpickled or evaluated: only JSON is read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.course.feedback.class_folder import class_file, student_folder, write_class_folder, write_student_files
from grader.course.feedback.instructor import RESULTS_FILE, write_instructor_report
from grader.course.feedback.student import rebuild_student_report


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="HTML reports: a class's (instructor) or one student's, from graded JSON",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results_dir", type=Path, metavar="RESULTS_DIR",
                   help="a folder written by `dlgrade grade --out`, or one student's folder in it")
    p.add_argument("--student", metavar="ID", help="rebuild this student's report.html instead")
    p.add_argument("--all-students", action="store_true",
                   help="also rebuild every student's report.html (the class report links to them)")
    p.add_argument("--out", type=Path,
                   help="where to write: the class report's HTML file (default RESULTS_DIR/report.html), "
                        "or the folder for a student's report (default the student's folder)")
    p.add_argument("--embed-images", action="store_true",
                   help="put the figures into the HTML as data URIs (one self-contained file)")
    p.add_argument("--db", help="the class folder's gradebook: SQLite path or postgresql:// URL "
                                "(default: RESULTS_DIR/gradebook.db)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.results_dir
    if not folder.is_dir():
        print(f"dlgrade report: {folder} is not a folder", file=sys.stderr)
        return 2
    if class_file(folder):
        return rewrite_class_folder(folder, args)
    if args.student or (folder / RESULTS_FILE).exists() or (folder / "results.json").exists():
        student_dir = folder / args.student if args.student else folder
        if args.student and (Path(args.student).name != args.student or args.student in (".", "..")):
            print(f"dlgrade report: --student takes a student id, not a path: {args.student!r}", file=sys.stderr)
            return 2
        path = rebuild_student_report(student_dir, args.out, embed_images=args.embed_images)
        print(path)
        return 0
    if args.all_students:
        rebuilt = 0
        for results in sorted(folder.glob(f"*/{RESULTS_FILE}")):
            try:
                rebuild_student_report(results.parent, embed_images=args.embed_images)
                rebuilt += 1
            except (OSError, ValueError, KeyError, TypeError) as exc:
                print(f"{results.parent.name}: no report ({type(exc).__name__}: {exc})", file=sys.stderr)
        print(f"{rebuilt} student report(s) rebuilt", file=sys.stderr)
    path = write_instructor_report(folder, args.out, embed_images=args.embed_images)
    print(path)
    return 0


def rewrite_class_folder(folder: Path, args: argparse.Namespace) -> int:
    """A class folder, rewritten from its gradebook (all of it, or one student's files)."""
    from grader.course.gradebook import Gradebook

    recorded = class_file(folder)
    assignment = recorded.get("assignment")
    db = args.db or (folder / recorded["gradebook"] if recorded.get("gradebook") else None)
    if db is None:
        print(f"dlgrade report: {folder} was graded into a gradebook elsewhere: give it with --db", file=sys.stderr)
        return 2
    with Gradebook.open(db, create=False) as gradebook:
        if args.student:
            final = gradebook.final_score(assignment, args.student)
            if final is None:
                print(f"dlgrade report: the gradebook holds nothing of {args.student} on {assignment}",
                      file=sys.stderr)
                return 2
            write_student_files(gradebook, final, folder, embed_images=args.embed_images)
            print(student_folder(folder, args.student))
            return 0
        finals = write_class_folder(gradebook, assignment, folder, gradebook_file=recorded.get("gradebook"),
                                    embed_images=args.embed_images)
    print(f"{folder}: {len(finals)} students' files, summary.csv and class-report.html rewritten from the "
          f"gradebook", file=sys.stderr)
    return 0
