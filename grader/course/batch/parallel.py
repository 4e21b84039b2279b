"""Grade many submissions in parallel, writing each result as soon as it is done.

Each worker thread drives one sandboxed child process at a time; the heavy
work happens in those children, so threads are enough in the parent and no
student data ever crosses a process boundary by pickle. A submission that
misbehaves costs only its own result: :func:`grade_submission` never raises
for anything a submission does, and an unexpected failure of the grader on
one submission is recorded as that submission's ``grader_error``.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from grader.engine.authoring import CompiledAssignment
from grader.engine.grading import grade_submission, submission_id_for
from grader.engine.results import SubmissionResult
from grader.engine.submission_files import SUBMISSION_SUFFIXES, is_submission

#: How a load ends when it ran out of time (its own limit, or the submission's whole budget):
#: under a parallel batch, another child's CPU can be the cause.
CONTENDED_LOAD_KINDS = ("timeout", "budget")
SHEET_SUFFIXES = (".toml", ".yaml", ".yml")  # exam answer sheets


@dataclass
class GradeJob:
    submission: Path
    submission_id: str
    compiled: CompiledAssignment


SUBMISSION_ID_RULE = """\
Submission ids (one rule): a submission is a file (.py or .ipynb; for an exam
also an answer sheet .toml/.yaml/.yml) and its id is the student's id: the
file's name without its suffix (alice.py -> alice). A folder named on the
command line is a class folder: every such file directly inside it is a
submission; its subfolders are not students. Only when the assignment asks
for folder submissions (Assignment(..., submissions="folders")) is a folder
holding MODULE.py/.ipynb (or one .py/.ipynb) a submission, with the folder's
name as its id; a class folder then holds one such folder per student."""


@dataclass
class Found:
    """What a command line names: the submissions, and what in its class folders is not one."""
    submissions: list[Path]
    ignored: list[Path]


def find_submissions(paths: Iterable[Path], module: str, *, sheets: bool = False,
                     folders: bool = False) -> list[Path]:
    """Expand class folders into submissions (:data:`SUBMISSION_ID_RULE`); see :func:`find_class`."""
    return find_class(paths, module, sheets=sheets, folders=folders).submissions


def find_class(paths: Iterable[Path], module: str, *, sheets: bool = False, folders: bool = False) -> Found:
    """The submissions that ``paths`` name, by :data:`SUBMISSION_ID_RULE`.

    ``sheets``: answer sheets count as submissions (an exam). ``folders``: the assignment
    takes one folder per student instead of one file. Raises ValueError naming a path that
    is not a submission, and ids that two submissions share.
    """
    suffixes = SUBMISSION_SUFFIXES + (SHEET_SUFFIXES if sheets else ())
    found: list[Path] = []
    ignored: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"no such submission: {path}")
        if path.is_file():
            if path.suffix not in suffixes:
                raise ValueError(f"{path} is not a submission: expected a file ending in {', '.join(suffixes)}")
            found.append(path)
            continue
        if folders and is_submission(path, module, suffixes):
            found.append(path)
            continue
        entries = sorted(p for p in path.iterdir() if not p.name.startswith((".", "__")))
        for entry in entries:
            if entry.is_file() and not folders and entry.suffix in suffixes:
                found.append(entry)
            elif entry.is_dir() and folders and is_submission(entry, module, suffixes):
                found.append(entry)
            else:
                ignored.append(entry)
    ids = [submission_id_for(p) for p in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"two submissions share the id(s) {duplicates}: rename one of each")
    return Found(found, ignored)


def grade_many(jobs: list[GradeJob], *, workers: int = 1, on_result: Callable[[SubmissionResult], None] | None = None,
               progress: bool = True, limit_overrides: dict | None = None) -> list[SubmissionResult]:
    """Grade ``jobs`` on ``workers`` threads; call ``on_result`` (in this thread) as each finishes.

    Returns the results in the order of ``jobs``. With several workers, a submission whose load
    ran out of time (:data:`CONTENDED_LOAD_KINDS`) is not recorded then: once the others are done
    it is graded again alone, and that grading is the one recorded, so a classmate that held the
    CPUs cannot cost it its points.
    """
    results: dict[int, SubmissionResult] = {}
    bar = _progress_bar(len(jobs), progress)

    def grade(job: GradeJob) -> SubmissionResult:
        return grade_submission(job.compiled, job.submission, submission_id=job.submission_id,
                                limit_overrides=limit_overrides)

    def finish(index: int, result: SubmissionResult) -> None:
        results[index] = result
        if on_result:
            try:
                on_result(result)
            except Exception as exc:  # recording one result failed: say so for it, grade the rest
                why = f"{type(exc).__name__}: {str(exc)[:500]}"
                print(f"{result.submission}: the result could not be recorded ({why})", file=sys.stderr)
                result.grader_error = f"the result could not be recorded: {why}"
        bar.set_postfix_str(f"{result.submission}: {result.score:g}/{result.max_score:g}", refresh=False)
        bar.update(1)

    contended: list[int] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="grade") as pool:
        futures = {pool.submit(grade, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            result = future.result()  # grade_submission does not raise for a submission's faults
            if workers > 1 and result.load.kind in CONTENDED_LOAD_KINDS:
                contended.append(index)   # not recorded: a classmate's CPU may have cost it its load
                continue
            finish(index, result)
    for index in sorted(contended):     # the pool is drained: nothing else runs now
        print(f"{jobs[index].submission_id}: its load ran out of time while {workers} submissions were "
              "graded at once; grading it again alone", file=sys.stderr)
        finish(index, grade(jobs[index]))
    bar.close()
    return [results[i] for i in range(len(jobs))]


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="sub", desc="grading", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True)
