"""What ``run_autograder`` runs on Gradescope for each submission.

    python -m grader.engine.gradescope_runner --source DIR --submission DIR --results DIR [--metadata FILE]

Loads the compiled assignment shipped in the zip, finds the student's main
file in the submission folder, grades it with :func:`grade_submission` (the
sandbox, the checks in this process) and writes ``results.json`` in
Gradescope's schema. Whatever goes wrong, a valid ``results.json`` is
written: a submission without a gradable file gets zero with a message
saying what to upload, and a fault of the grader gets zero with a message
saying that the autograder failed (the traceback goes to stdout, which only
instructors see). Exit status 0 means ``results.json`` was written; anything
else tells ``run_autograder`` to write its own failure result.

``--self-check`` (run by ``setup.sh`` when the image is built) only loads
the assignment and reports which isolation the sandbox will use.

Hidden data on disk: with bubblewrap the child sees none of the autograder's
files. Where the container forbids bubblewrap the child runs under rlimits,
seccomp and, where the kernel has it, Landlock (it cannot signal or trace
the grader, nor read ``/autograder/source``); without Landlock it could
read that folder, so, as every Gradescope submission
runs in a fresh container, the compiled assignment is then deleted from disk
once it is loaded (``--scrub``, default: in Gradescope's own layout).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

FORMAT = "dlgrade-gradescope/1"
GRADESCOPE_SOURCE = Path("/autograder/source")
COMPILED = Path("compiled") / "assignment.json"
MANIFEST = "autograder.json"
STDOUT_SHOWN = 20_000          # characters of the student's output echoed for instructors
FAILURE_OUTPUT = ("The autograder failed while grading this submission. This is not a verdict on your "
                  "code: please tell your instructor, who can see what went wrong and grade it again.")


class NoSubmission(Exception):
    """The submission folder holds nothing to grade."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m grader.engine.gradescope_runner", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", type=Path, default=Path(env("DLGRADE_GS_SOURCE", "/autograder/source")))
    p.add_argument("--submission", type=Path,
                   default=Path(env("DLGRADE_GS_SUBMISSION", "/autograder/submission")))
    p.add_argument("--results", type=Path, default=Path(env("DLGRADE_GS_RESULTS", "/autograder/results")))
    p.add_argument("--metadata", type=Path, default=None, help="Gradescope's submission_metadata.json")
    p.add_argument("--scrub", choices=("auto", "yes", "no"), default=env("DLGRADE_GS_SCRUB", "auto"),
                   help="delete the compiled assignment from disk once loaded (auto: in /autograder/source)")
    p.add_argument("--self-check", action="store_true", help="load the assignment, report the isolation, exit")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.self_check:
        return self_check(args.source)
    started = time.perf_counter()
    manifest: dict = {}
    try:
        manifest = _read_manifest(args.source)
        _accept_weak_sandbox_if_built_so(manifest)
        results = grade(args, manifest)
    except Exception as exc:  # a fault of the grader: the student still gets a result saying so
        print("dlgrade: the autograder failed:", file=sys.stdout)
        traceback.print_exc(file=sys.stdout)
        results = failure_results(f"{type(exc).__name__}: {exc}", manifest, time.perf_counter() - started)
    try:
        write_results(args.results, results)
    except Exception:
        traceback.print_exc(file=sys.stdout)
        return 1
    sys.stdout.flush()
    return 0


def grade(args: argparse.Namespace, manifest: dict) -> dict:
    import grader
    from grader.engine.authoring import CompiledAssignment
    from grader.engine.grading import grade_submission

    print(f"dlgrade {_version()} from {Path(grader.__file__).resolve().parent}")
    compiled = CompiledAssignment.load(args.source / COMPILED)
    if _should_scrub(args):
        scrub(args.source)
    try:
        submission = find_submission(args.submission, compiled.module)
    except NoSubmission as exc:
        print(f"no submission to grade: {exc}")
        return no_submission_results(str(exc), compiled)
    print(f"grading {submission} against {compiled.name} ({len(compiled.questions)} questions, "
          f"{compiled.max_score:g} points)")
    result = grade_submission(compiled, submission, submission_id=_submission_id(args.metadata))
    data = result.to_gradescope("student")
    if result.grader_error:
        # A fault of the grader, not of the student: no score stands (the instructor grades it again;
        # what was graded before the fault stays in extra_data).
        data["score"] = 0.0
        for test in data["tests"]:
            test["score"], test["status"] = 0.0, "failed"
        data["output"] = FAILURE_OUTPUT + "\n\n" + data["output"]
        data["extra_data"]["autograder_error"] = result.grader_error.splitlines()[0][:2000]
    _report_for_instructors(result)
    return data


# --------------------------------------------------------------------------
# The submission
# --------------------------------------------------------------------------

def find_submission(folder: Path, module: str) -> Path:
    """The folder (or subfolder) to grade, found the way the batch grader finds submissions.

    Gradescope puts the uploaded files in ``folder``; an uploaded zip is
    unpacked there, possibly as one subfolder. The engine then picks the main
    file (``MODULE.py``/``MODULE.ipynb``, else the only ``.py``/``.ipynb``).
    """
    from grader.engine.submission_files import SUBMISSION_SUFFIXES, is_submission

    if not folder.is_dir():
        raise NoSubmission(f"the submission folder {folder} does not exist")
    if is_submission(folder, module):
        return folder
    subfolders = [p for p in sorted(folder.iterdir())
                  if p.is_dir() and not p.name.startswith((".", "__"))]
    inside = [p for p in subfolders if is_submission(p, module)]
    if len(inside) == 1:
        return inside[0]
    if any(p.is_file() and p.suffix in SUBMISSION_SUFFIXES for p in folder.iterdir()):
        return folder  # several candidates: the engine's load report says which name to use
    raise NoSubmission(f"no .py or .ipynb file found: upload {module}.py or {module}.ipynb")


def _submission_id(metadata: Path | None) -> str:
    if metadata is not None and metadata.is_file():
        try:
            data = json.loads(metadata.read_text())
            if isinstance(data, dict) and data.get("id") is not None:
                return f"gradescope-{data['id']}"
        except (OSError, ValueError):
            pass
    return "submission"


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

def failure_results(error: str, manifest: dict, seconds: float) -> dict:
    """``results.json`` for a grader fault: zero, every question listed, the reason kept for instructors."""
    tests = [_zero_test(q, "not graded: the autograder failed") for q in manifest.get("questions", [])]
    return {
        "score": 0.0,
        "execution_time": round(seconds, 3),
        "output": FAILURE_OUTPUT,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"format": FORMAT, "assignment": manifest.get("assignment"), "autograder_error": error[:2000]},
    }


def no_submission_results(message: str, compiled) -> dict:
    questions = [{"name": q.name, "title": q.title, "points": q.points, "public": q.public}
                 for q in compiled.questions]
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"{compiled.name}: nothing was graded: {message}.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_zero_test(q, f"not graded: {message}") for q in questions],
        "extra_data": {"format": FORMAT, "assignment": compiled.name, "no_submission": message},
    }


def _zero_test(question: dict, output: str) -> dict:
    name, title = question.get("name", "?"), question.get("title", "")
    return {
        "name": name if not title or title == name else f"{name}: {title}",
        "number": name,
        "score": 0.0,
        "max_score": float(question.get("points", 0.0)),
        "status": "failed",
        "output": output,
        "visibility": "visible" if question.get("public") else "after_published",
    }


def write_results(folder: Path, results: dict) -> Path:
    """Write ``results.json`` atomically (strict JSON: no NaN or Infinity)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "results.json"
    tmp = folder / f".results.json.{os.getpid()}"
    tmp.write_text(json.dumps(_strict(results), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, target)
    return target


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _report_for_instructors(result) -> None:
    """Gradescope shows run_autograder's stdout to instructors only (stdout_visibility: hidden)."""
    print(f"score {result.score:g} / {result.max_score:g}; isolation: {result.isolation}; "
          f"{result.seconds:.2f} s")
    for q in result.questions:
        print(f"  {q.name:32s} {q.score:g}/{q.points:g}  {q.status}")
    if not result.load.ok:
        print(f"the submission did not load: {result.load.error}")
    if result.grader_error:
        print("grader error:\n" + result.grader_error)
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            shown = text[:STDOUT_SHOWN] + ("\n[... cut]" if len(text) > STDOUT_SHOWN else "")
            print(f"--- the submission's {name} ---\n{shown}")


# --------------------------------------------------------------------------
# Hidden data on disk
# --------------------------------------------------------------------------

def _should_scrub(args: argparse.Namespace) -> bool:
    if args.scrub == "auto":
        return args.source.resolve() == GRADESCOPE_SOURCE
    return args.scrub == "yes"


def scrub(source: Path) -> None:
    """Delete the compiled assignment (expected values of hidden questions) from disk."""
    for path in (source / COMPILED, (source / COMPILED).with_suffix(".npz")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def self_check(source: Path) -> int:
    """Load the assignment and say how student code will be isolated; exit 1 where it would be refused."""
    from grader.engine.authoring import CompiledAssignment
    from grader.engine.sandbox import isolation_available
    from grader.engine.sandbox.isolation import weak_fallback_refusal

    _accept_weak_sandbox_if_built_so(_read_manifest(source))
    compiled = CompiledAssignment.load(source / COMPILED)
    available, why = isolation_available()
    print(f"dlgrade {_version()}: {compiled.name}, {len(compiled.questions)} questions, "
          f"{compiled.max_score:g} points")
    if available:
        print("sandbox: bubblewrap")
    else:
        from grader.engine.sandbox.isolation import fallback_description

        print(f"sandbox: {fallback_description(why)}")
        refusal = weak_fallback_refusal()
        if refusal:
            print(f"dlgrade: every submission would be refused: {refusal}. Rebuild the zip with "
                  "`dlgrade gradescope --allow-weak-sandbox` to grade in this container anyway.")
            return 1
    return 0


def _accept_weak_sandbox_if_built_so(manifest: dict) -> None:
    """The instructor built the zip with ``--allow-weak-sandbox``: say so to the sandbox."""
    from grader.engine.sandbox.isolation import ENV_ALLOW_WEAK

    if manifest.get("allow_weak_sandbox") is True:
        os.environ[ENV_ALLOW_WEAK] = "1"


def _read_manifest(source: Path) -> dict:
    path = source / MANIFEST
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("dlgrade")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


if __name__ == "__main__":
    sys.exit(main())
