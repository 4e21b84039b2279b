"""The ``dlgrade`` command: one thin module per subcommand, each ``add_parser(subparsers)`` and
``run(args)``; the work is done by :mod:`grader.course` and :mod:`grader.engine`. No command
imports another (shared options: :mod:`grader.cli.options`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# subcommand -> module holding add_parser(subparsers) and run(args)
COMMANDS = {
    "check": "grader.cli.check",
    "grade": "grader.cli.grade",
    "generate": "grader.cli.generate",
    "grades": "grader.cli.grades",
    "exam": "grader.cli.exam",
    "gradescope": "grader.cli.gradescope",
    "export": "grader.cli.export",
    "report": "grader.cli.report",
    "student-kit": "grader.cli.student_kit",
    "similarity": "grader.cli.similarity",
    "demo": "grader.cli.demo",
    "new": "grader.cli.new",
    "validate": "grader.cli.validate",
    "serve": "grader.cli.serve",
    "worker": "grader.cli.worker",
    "submit": "grader.cli.submit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description="Auto-grading for a deep-learning course.")
    parser.add_argument("--course", metavar="DIR", default=None, dest="course_root",
                        help="the course folder holding assignments/ and student_template/ (default: "
                             "$DLGRADE_COURSE, else the current folder's assignments/)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            importlib.import_module(module).add_parser(subparsers)
        except ImportError as exc:  # e.g. the student kit's engine, installed without the instructor's extras
            missing = exc.name or str(exc)
            unavailable = subparsers.add_parser(name, help=f"(not available here: needs {missing})", add_help=False)
            unavailable.add_argument("rest", nargs=argparse.REMAINDER)
            unavailable.set_defaults(run=lambda args, command=name, missing=missing: _unavailable(command, missing))
    return parser


def _unavailable(command: str, missing: str) -> int:
    print(f"dlgrade {command} is not available in this installation: it needs {missing}, which is not "
          "installed (the student kit installs only what `dlgrade check` needs)", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    # The grading process imports TensorFlow only to describe reference models, never for numbers:
    # keep its start-up banners out of the instructor's terminal. (Student code runs elsewhere,
    # in the sandbox, with an environment of its own.)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.course_root:
        os.environ["DLGRADE_COURSE"] = os.path.abspath(args.course_root)
        os.environ.pop("DLGRADE_ASSIGNMENTS", None)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"dlgrade {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `dlgrade check ... | head`: the reader went away; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
