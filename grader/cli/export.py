"""``dlgrade export otter ASSIGNMENT --out DIR``: an assignment as an otter-grader master notebook.

DIR receives the otter-assign master notebook (MODULE.ipynb) whose tests
replay dlgrade's compiled cases and call dlgrade's checks, the cases as data
(public ones for students and the autograder, hidden ones for otter's
autograder only), the helper module the tests import, and dlgrade's checks.
Then: ``otter assign DIR/MODULE.ipynb DIST``. Grading in otter's kernel is
weaker than dlgrade's sandbox: see grader/course/export/OTTER_SECURITY.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="export an assignment to another grading tool (otter-grader)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    formats = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    otter = formats.add_parser("otter", help="an otter-assign master notebook whose tests call dlgrade's checks",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    otter.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    otter.add_argument("--out", type=Path, required=True, help="folder to write the export into")
    otter.add_argument("--no-vendor", action="store_true",
                       help="do not copy dlgrade's checks into the export (the grading environment has dlgrade)")
    otter.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from grader.course.export.otter import export_otter

    report = export_otter(args.assignment, args.out, vendor=not args.no_vendor)
    tests = sum(len(t) for t in report.questions.values())
    print(f"wrote {report.notebook} ({len(report.questions)} questions, {tests} otter tests, "
          f"{report.max_score:g} points) and its support files in {report.folder}")
    print(f"next: otter assign {report.notebook} DIST")
    return 0
