"""``dlgrade check SUBMISSION``: a student runs the public checks before submitting.

The public checks come with the student template as data
(``checks/public.json`` beside the student's file), their expected values
computed when the template was generated; the answer key is not needed.
Exit status 0 when every public question passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.authoring import CompiledAssignment
from grader.report import question_table

PUBLIC_CHECKS = Path("checks") / "public.json"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="run the public checks on your work (student side)",
                              description=__doc__)
    p.add_argument("submission", type=Path, help="your .py or .ipynb file (or its folder)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--checks", type=Path, help=f"the public checks file (default: {PUBLIC_CHECKS} "
                        "beside the submission or in a folder above it)")
    source.add_argument("--assignment", help="instructors: compile the public checks from this assignment's master")
    from grader.grade.command import add_limit_option

    add_limit_option(p)
    p.set_defaults(run=run)


def find_public_checks(submission: Path) -> Path:
    start = submission.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in [folder, *folder.parents]:
        if (candidate / PUBLIC_CHECKS).is_file():
            return candidate / PUBLIC_CHECKS
    raise FileNotFoundError(f"no public checks found: looked for {PUBLIC_CHECKS} in {folder} and the "
                            "folders above it; run dlgrade check from your assignment folder, or pass --checks")


def load_public(args: argparse.Namespace) -> CompiledAssignment:
    if args.assignment:
        from grader.authoring import load_assignment

        return load_assignment(args.assignment).compile().public_only()
    return CompiledAssignment.load(args.checks or find_public_checks(args.submission))


def run(args: argparse.Namespace) -> int:
    from grader.grade.engine import grade_submission, parse_limit_options

    if not args.submission.exists():
        print(f"dlgrade check: no such file: {args.submission}", file=sys.stderr)
        return 2
    compiled = load_public(args)
    result = grade_submission(compiled, args.submission, limit_overrides=parse_limit_options(args.limit),
                              own_code=True)  # the student's own code, on their own machine
    print(f"{compiled.title}: public checks of {args.submission}")
    print(question_table(result, view="student"))
    print()
    passed = sum(q.status == "passed" for q in result.questions)
    if not result.load.ok:
        print(f"Your file could not be loaded: {result.load.error}")
    for question in result.questions:
        if question.status != "passed":
            print(f"{question.name}:\n  " + question.message("student").replace("\n", "\n  "))
    print(f"\n{passed} of {len(result.questions)} public questions pass. "
          "Hidden questions test more cases when you submit.")
    print(f"Isolation: {result.isolation}.")
    return 0 if result.all_passed else 1
