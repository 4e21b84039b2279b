"""``dlgrade validate [ASSIGNMENT...]``: prove assignments before students get them.

Checks that every name a question uses is in the master, that the master
scores full marks through the sandbox, that each example scores its declared
score, that the student template is up to date, that the public checks carry
no hidden value, and that each question fails at least one plausible wrong
answer (a mutant of the master). Exits 1 with a list of what to fix, each
naming the file, question and line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.course.validate.proof import DEFAULT_MUTANTS, validate
from grader.engine.authoring import default_assignments_dir, default_template_root, resolve_assignment_dir


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="prove assignments: master, examples, template, mutants",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", help="assignment names or folders (default: all)")
    p.add_argument("--mutants", type=int, default=DEFAULT_MUTANTS,
                   help=f"mutants of the master to grade per assignment, at most (default {DEFAULT_MUTANTS}; "
                        "0 skips mutation testing)")
    p.add_argument("--no-examples", action="store_true", help="do not grade the examples")
    p.add_argument("--no-tasks", action="store_true",
                   help="leave out questions that train a model (minutes each), and so the examples")
    p.add_argument("--templates", type=Path, default=None,
                   help="student template root to check (default: student_template/ beside the assignments)")
    p.add_argument("--jobs", type=int, default=2, help="examples graded at once (default 2)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.mutants < 0:
        raise ValueError(f"--mutants takes a count of 0 or more, got {args.mutants}")
    dirs = [resolve_assignment_dir(a) for a in args.assignments] or sorted(
        p.parent for p in default_assignments_dir().glob("*/questions.py"))
    if not dirs:
        print(f"no assignments found in {default_assignments_dir()}")
        return 2
    failed = 0
    for folder in dirs:
        report = validate(folder, template_root=args.templates or default_template_root(folder),
                          examples=not args.no_examples, mutants=args.mutants, jobs=args.jobs,
                          tasks=not args.no_tasks)
        print(report.text(), flush=True)
        failed += not report.ok
    if failed:
        print(f"{failed} of {len(dirs)} assignment(s) have something to fix")
        return 1
    return 0
