"""``dlgrade new NAME``: scaffold an assignment that validates and grades as it stands.

Writes ``assignments/NAME/`` in the course (``--course DIR`` or
``$DLGRADE_COURSE``; default: the current folder's ``assignments/``): a
master with solution markers and cells, ``questions.py`` with one question
of each kind, the answer key's own code in ``key/``, ``instructions.md``,
``examples/examples.toml`` and ``policy.toml``. Then edit them and run
``dlgrade validate NAME``.
"""

from __future__ import annotations

import argparse

from grader.course.scaffold.files import default_module, write_assignment
from grader.engine.authoring import default_assignments_dir


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("new", help="scaffold a new assignment (validates as it stands)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="the assignment's name and folder, e.g. 05_batchnorm")
    p.add_argument("--module", default=None, help="the student's file name without .py (default: the name "
                                                  "without its number, e.g. batchnorm)")
    p.add_argument("--title", default=None, help="the title students see")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    module = args.module or default_module(args.name)
    title = args.title or f"Assignment {args.name}"
    folder = default_assignments_dir() / args.name
    try:
        written = write_assignment(folder, name=args.name, module=module, title=title)
    except FileExistsError as exc:
        raise ValueError(str(exc)) from exc
    print(f"{args.name}: wrote {len(written)} files under {folder}")
    print(f"next: edit them, then `dlgrade validate {args.name}` and `dlgrade generate {args.name}`")
    return 0
