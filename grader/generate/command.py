"""``dlgrade generate [ASSIGNMENT...]``: write the student templates and example submissions.

With ``--check``, write nothing and exit 1 if the committed files differ
from a fresh generation (CI runs this).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.authoring import default_assignments_dir, resolve_assignment_dir
from grader.generate.build import MASTER, generate_assignment, stale_files


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help="write student_template/ and examples from the masters",
                              description=__doc__)
    p.add_argument("assignments", nargs="*", help="assignment names or folders (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="template root (default: student_template/ beside the assignments folder)")
    p.add_argument("--check", action="store_true", help="only check that the committed files are up to date")
    p.set_defaults(run=run)


def all_assignment_dirs() -> list[Path]:
    return sorted(p.parent for p in default_assignments_dir().glob(f"*/{MASTER}"))


def run(args: argparse.Namespace) -> int:
    dirs = [resolve_assignment_dir(a) for a in args.assignments] or all_assignment_dirs()
    if not dirs:
        print(f"no assignments with a {MASTER} found in {default_assignments_dir()}", file=sys.stderr)
        return 2
    root = args.out or dirs[0].resolve().parent.parent / "student_template"
    if args.check:
        stale = stale_files(dirs, root)
        for line in stale:
            print(line)
        if stale:
            print("out of date: run `dlgrade generate`", file=sys.stderr)
            return 1
        print(f"{len(dirs)} assignment(s) up to date")
        return 0
    for folder in dirs:
        written = generate_assignment(folder, root)
        print(f"{folder.name}: wrote {len(written)} files under {root / folder.name} and {folder / 'examples'}")
    return 0
