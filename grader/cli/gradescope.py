"""``dlgrade gradescope ASSIGNMENT [--out FILE.zip]``: build a Gradescope autograder zip.

The zip holds setup.sh, run_autograder, dlgrade's grading engine and the
assignment compiled to data (hidden questions included, expected values
precomputed); the answer key does not ship. Upload it as the autograder of a
Gradescope programming assignment; never give it to students.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("gradescope", help="build a Gradescope autograder zip for an assignment",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    p.add_argument("--out", type=Path, default=None,
                   help="the zip to write (default: ./ASSIGNMENT-gradescope.zip)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the grader's dependencies to the versions installed here")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="grade even where Gradescope's container has neither bubblewrap nor Landlock "
                        "(each submission has a container of its own; without this the image build "
                        "fails there, saying why)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from grader.course.gradescope.build import build_autograder

    report = build_autograder(args.assignment, args.out, pin=not args.no_pin,
                              allow_weak_sandbox=args.allow_weak_sandbox)
    print(f"wrote {report.path} ({report.size / 1024:.0f} KiB, {len(report.files)} files)")
    print(f"  {report.assignment}: {report.max_score:g} points; students submit {report.module}.py or "
          f"{report.module}.ipynb")
    print(f"  public questions: {', '.join(report.public_questions) or 'none'}")
    print(f"  hidden questions: {', '.join(report.hidden_questions) or 'none'} (in the zip: keep it from students)")
    print(f"  TensorFlow: {'installed by setup.sh' if report.needs_tensorflow else 'not needed'}")
    return 0
