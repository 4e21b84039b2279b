"""``dlgrade student-kit [ASSIGNMENT...] --out DIR``: what students download, one zip per assignment.

A kit holds the assignment's template (the stubs as a script and a notebook,
the instructions, the public checks as data) and dlgrade's grading engine
without the answer key, so that a student can install it and run
``dlgrade check`` before submitting::

    NAME/                 backprop.py, backprop.ipynb, instructions.md, checks/public.json(.npz)
    dlgrade-engine/       pyproject.toml, grader/...  (pip install ./dlgrade-engine)
    README.md

No ``reference/``, no master, no ``questions.py``, no hidden question.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.course.kit.build import build_kit
from grader.engine.authoring import resolve_assignment_dir


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("student-kit", help="zip what students receive: template + engine, no answer key",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", help="assignment names or folders (default: all)")
    p.add_argument("--out", type=Path, default=Path("student-kits"), help="output folder (default: ./student-kits)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from grader.course.generate.build import all_assignment_dirs

    dirs = [resolve_assignment_dir(a) for a in args.assignments] or all_assignment_dirs()
    for folder in dirs:
        path = build_kit(folder, args.out)
        print(f"{folder.name}: {path} ({path.stat().st_size // 1024} kB)")
    if not dirs:
        print("no assignments found", file=sys.stderr)
        return 2
    return 0
