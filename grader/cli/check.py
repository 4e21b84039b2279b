"""``dlgrade check SUBMISSION``: a student runs the public checks before submitting.

The public checks come with the student template as data
(``checks/public.json`` beside the student's file), their expected values
computed when the template was generated; the answer key is not needed.
Exit status 0 when every public question passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from grader.engine.authoring import CompiledAssignment
from grader.engine.cells import load_problems
from grader.engine.text_report import question_table

PUBLIC_CHECKS = Path("checks") / "public.json"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check", help="run the public checks on your work (student side)",
                              description=__doc__)
    p.add_argument("submission", type=Path, help="your .py or .ipynb file (or its folder)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--checks", type=Path, help=f"the public checks file (default: {PUBLIC_CHECKS} "
                        "beside the submission or in a folder above it)")
    source.add_argument("--assignment", help="instructors: compile the public checks from this assignment's master")
    from grader.cli.options import add_limit_option

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
        from grader.engine.authoring import load_assignment

        return load_assignment(args.assignment).compile().public_only()
    return CompiledAssignment.load(args.checks or find_public_checks(args.submission))


def run(args: argparse.Namespace) -> int:
    from grader.engine.grading import grade_submission, parse_limit_options

    if not args.submission.exists():
        print(f"dlgrade check: no such file: {args.submission}", file=sys.stderr)
        return 2
    compiled = load_public(args)
    with Progress(sys.stderr) as progress:
        result = grade_submission(compiled, args.submission, limit_overrides=parse_limit_options(args.limit),
                                  own_code=True,  # the student's own code, on their own machine
                                  progress=progress.step)
    print(f"{compiled.title}: public checks of {args.submission}")
    problems = load_problems(result.load)
    if problems:  # first: a cell that failed explains the questions that follow
        print("\n\n".join(problems))
        print()
    print(question_table(result, view="student"))
    print()
    passed = sum(q.status == "passed" for q in result.questions)
    for question in result.questions:
        if question.status != "passed":
            print(f"{question.name}:\n  " + question.message("student").replace("\n", "\n  "))
    print(f"\n{passed} of {len(result.questions)} public questions pass. "
          "Hidden questions test more cases when you submit.")
    print(f"Isolation: {result.isolation}.")
    return 0 if result.all_passed else 1


class Progress:
    """What ``check`` is doing while it waits, on ``stream`` (standard error).

    On a terminal, one line rewritten every second with the current step and
    its seconds; elsewhere (a log, a pipe), a line per step, and a reminder
    every ``every`` seconds while a step goes on.
    """

    def __init__(self, stream, every: float = 10.0):
        self.stream = stream
        self.every = every
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._step: str | None = None
        self._started = 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> "Progress":
        self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._ticker.join()
        if self.tty and self._step is not None:
            self._write("\r\033[K")

    def step(self, step: str) -> None:
        with self._lock:
            self._step, self._started = step, time.monotonic()
            self._write(f"\r\033[K{step} ..." if self.tty else f"checking: {step} ...\n")

    def _tick(self) -> None:
        last_reminder = time.monotonic()
        while not self._done.wait(1.0):
            with self._lock:
                if self._step is None:
                    continue
                seconds = time.monotonic() - self._started
                if self.tty:
                    self._write(f"\r\033[K{self._step} ... {seconds:.0f} s")
                elif seconds >= self.every and time.monotonic() - last_reminder >= self.every:
                    self._write(f"checking: still on {self._step} ({seconds:.0f} s)\n")
                    last_reminder = time.monotonic()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream must not stop the check
            pass
