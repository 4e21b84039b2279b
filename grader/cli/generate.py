"""``dlgrade generate [ASSIGNMENT...]``: write the student templates and example submissions.

First the cheap part of ``dlgrade validate`` (questions compile, every name
is in the master, the public checks carry no hidden value, examples.toml
reads): a mistake there stops generation, named with its file and line.

Templates go to ``student_template/`` beside the assignments folder, or to
``--out DIR``; generated examples go beside their ``examples.toml``, or to
``--examples-out DIR`` (``DIR/NAME/``). With ``--out`` alone no example is
written, so nothing lands in the course's folders unless asked.

With ``--check``, write nothing and exit 1 if the files differ from a fresh
generation (CI runs this). Public checks are compared as data within a
stated tolerance (``grader.course.generate.compare``), so a CPU with another BLAS
kernel neither rewrites them nor fails the check; a value that moved more is
named with how far it moved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.course.generate.build import MASTER, all_assignment_dirs, generate_assignment, stale_files
from grader.engine.authoring import default_assignments_dir, default_template_root, resolve_assignment_dir


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help="write student_template/ and examples from the masters",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", help="assignment names or folders (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="template root (default: student_template/ beside the assignments folder)")
    p.add_argument("--examples-out", type=Path, default=None,
                   help="write generated example submissions to DIR/NAME/ (default: beside examples.toml, "
                        "unless --out is given)")
    p.add_argument("--check", action="store_true", help="only check that the committed files are up to date")
    p.set_defaults(run=run)


def cheap_mistakes(folder: Path) -> list[str]:
    """The errors of validate's steps that run no code of a submission."""
    from grader.course.validate.findings import Report
    from grader.course.validate.proof import cheap_checks

    report = Report(folder.name)
    cheap_checks(folder, report)
    return [str(f) for f in report.errors]


def run(args: argparse.Namespace) -> int:
    dirs = [resolve_assignment_dir(a) for a in args.assignments] or all_assignment_dirs()
    if not dirs:
        print(f"no assignments with a {MASTER} found in {default_assignments_dir()}", file=sys.stderr)
        return 2
    root = args.out or default_template_root(dirs[0])
    mistakes = [line for folder in dirs for line in cheap_mistakes(folder)]
    if mistakes:
        print("\n".join(mistakes), file=sys.stderr)
        print("nothing generated: fix the above (`dlgrade validate` proves the rest)", file=sys.stderr)
        return 1
    if args.check:
        stale = stale_files(dirs, root)
        for line in stale:
            print(line)
        if stale:
            print("out of date: run `dlgrade generate`", file=sys.stderr)
            return 1
        print(f"{len(dirs)} assignment(s) up to date")
        return 0
    write_examples = args.examples_out is not None or args.out is None
    for folder in dirs:
        examples_dir = args.examples_out / folder.name if args.examples_out else None
        written = generate_assignment(folder, root, examples=write_examples, examples_dir=examples_dir)
        where = (f" and {examples_dir or folder / 'examples'}" if write_examples
                 else " (examples not written: --examples-out DIR writes them)")
        print(f"{folder.name}: wrote {len(written)} files under {root / folder.name}{where}")
    return 0
