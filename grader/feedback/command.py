"""``dlgrade report RESULTS_DIR [--student ID]``: HTML reports from a graded folder.

Without ``--student``: the instructor's class report of RESULTS_DIR (a folder
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

from grader.feedback.instructor import RESULTS_FILE, write_instructor_report
from grader.feedback.student import rebuild_student_report


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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.results_dir
    if not folder.is_dir():
        print(f"dlgrade report: {folder} is not a folder", file=sys.stderr)
        return 2
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
