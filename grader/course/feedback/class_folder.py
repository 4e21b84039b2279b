"""A graded class's folder, written from the gradebook: what students get apart from what instructors keep.

Every score in this folder is the gradebook's final score (policy and
overrides applied, :meth:`grader.course.gradebook.Gradebook.final_score`), and every
file that shows a score says why it differs from the graded one. The folder
is rewritten from the gradebook after each grading run and by ``dlgrade
report OUT``, so it never disagrees with ``dlgrade grades show``::

    OUT/
      students/<id>/            HAND OUT: only what a student may see
        report.html             their report (report_files/: its figures)
        feedback.txt            the same as text
        results.json            Gradescope's schema, the student's view
      instructor/<id>/          NEVER HAND OUT: expected values of hidden questions
        results.instructor.json everything recorded of the attempt shown
        report.instructor.txt   the same as text
        stdout.txt              what the submission printed
        figures/<sha256>.json   figure data of each graded content
      class-report.html         the instructor's class report (class-report_files/)
      summary.csv               one row per student: final score, per question, why
      class.json                which assignment and gradebook this folder shows

A student's files show the attempt that counts (or, when none counts, the
latest one) and lead with the final score, the reasons (late by N min,
penalty, not accepted, override by whom and why) and the rule for which
attempt counts. Nothing under ``students/`` holds an expected value of a
hidden question (the tests scan every assignment's example class for them:
``tests/assignments/test_assignments.py``, ``tests/exam/test_exam_handout.py``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from grader.engine.results import LoadInfo, SubmissionResult
from grader.engine.textsafe import spreadsheet_row

if TYPE_CHECKING:
    from grader.course.gradebook import Gradebook, StudentScore

STUDENTS_DIR = "students"
INSTRUCTOR_DIR = "instructor"
CLASS_REPORT = "class-report.html"
SUMMARY = "summary.csv"
CLASS_FILE = "class.json"
INSTRUCTOR_RESULTS = "results.instructor.json"
INSTRUCTOR_TEXT = "report.instructor.txt"


def student_folder(out: Path, student: str) -> Path:
    """What may be handed to ``student``."""
    return Path(out) / STUDENTS_DIR / student


def instructor_folder(out: Path, student: str) -> Path:
    """What only the instructor sees of ``student``."""
    return Path(out) / INSTRUCTOR_DIR / student


# -- at grading time -------------------------------------------------------------------
def keep_grading_extras(out: Path, result: SubmissionResult, *, figures: dict | None = None) -> None:
    """What a grading has that the gradebook does not keep: the figure data and the printed output.

    Saved in the instructor folder, keyed by content, so that the student's report can show
    the figures of whichever attempt it shows. ``figures``: the figure data when it was
    computed elsewhere (on a cluster worker); by default it is computed from ``result``.
    """
    from grader.course.feedback import data as report_data

    folder = instructor_folder(out, result.submission)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    (folder / "stdout.txt").write_text(result.stdout, encoding="utf-8")
    if figures is None:
        try:
            figures = report_data.report_data(result)
        except Exception:  # the figures are an extra; the report says when they are missing
            return
    (folder / "figures" / f"{result.sha256}.json").write_text(json.dumps(figures, separators=(",", ":")),
                                                              encoding="utf-8")


# -- from the gradebook -------------------------------------------------------------------
def write_class_folder(gradebook: "Gradebook", assignment: str, out: Path, *,
                       question_names: list[str] | None = None, gradebook_file: str | None = None,
                       embed_images: bool = False) -> list["StudentScore"]:
    """Rewrite every student's files, the summary and the class report of ``assignment`` in ``out``.

    Students the gradebook no longer holds (removed) lose their folders. Returns the final scores.
    ``gradebook_file`` (an SQLite path) is remembered in ``class.json`` for ``dlgrade report OUT``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    finals = gradebook.final_scores(assignment)
    for final in finals:
        try:
            write_student_files(gradebook, final, out, embed_images=embed_images)
        except Exception as exc:  # one student's files cost only that student's; the gradebook holds the score
            print(f"{final.student}: files not written ({type(exc).__name__}: {exc}); "
                  f"run dlgrade report {out} again", file=sys.stderr)
    kept = {f.student for f in finals}
    for top in (STUDENTS_DIR, INSTRUCTOR_DIR):
        for folder in sorted((out / top).glob("*")) if (out / top).is_dir() else []:
            if folder.is_dir() and folder.name not in kept:
                shutil.rmtree(folder)
    names = question_names or _question_names(finals)
    headers, rows = summary_rows(finals, names)
    with (out / SUMMARY).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(spreadsheet_row(headers))
        writer.writerows(spreadsheet_row(row) for row in rows)
    (out / CLASS_FILE).write_text(json.dumps({"assignment": assignment, "gradebook": gradebook_file}, indent=2),
                                  encoding="utf-8")
    from grader.course.feedback.instructor import write_instructor_report

    try:
        write_instructor_report(out, out / CLASS_REPORT, embed_images=embed_images)
    except Exception as exc:  # the class report is an extra: the summary holds every final score
        print(f"the class report could not be written: {type(exc).__name__}: {exc}", file=sys.stderr)
    return finals


def write_student_files(gradebook: "Gradebook", final: "StudentScore", out: Path, *,
                        embed_images: bool = False) -> None:
    """One student's files (both folders) from the gradebook: the attempt shown, and the final score."""
    from grader.course.feedback.student import result_from_json, write_student_report
    from grader.engine.text_report import text_report

    recorded = gradebook.shown_results(final.assignment, final.student, final)
    if recorded is not None:
        result = result_from_json(recorded)
        result.submission = final.student
    else:   # an override without any graded submission
        result = SubmissionResult(final.assignment, final.student, "", [], LoadInfo(ok=True), "", 0.0, "")
    standing = final.to_dict()
    mine, theirs = student_folder(out, final.student), instructor_folder(out, final.student)
    mine.mkdir(parents=True, exist_ok=True)
    theirs.mkdir(parents=True, exist_ok=True)
    _write_json(mine / "results.json", with_final(result.to_gradescope("student"), standing))
    (mine / "feedback.txt").write_text(text_report(result, "student", final=standing), encoding="utf-8")
    # The instructor's file is the grading as recorded (every field, e.g. reply digests), with the final score.
    _write_json(theirs / INSTRUCTOR_RESULTS,
                with_final(recorded if recorded is not None else result.to_gradescope("instructor"), standing))
    (theirs / INSTRUCTOR_TEXT).write_text(text_report(result, "instructor", final=standing), encoding="utf-8")
    try:
        write_student_report(result, mine, report_data=_figures(theirs, result.sha256), embed_images=embed_images,
                             final=standing)
    except Exception as exc:  # the HTML is an extra: feedback.txt and results.json say the same
        (mine / "report.html").unlink(missing_ok=True)   # never an older report with an older score
        (theirs / "report.error.txt").write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")


def with_final(results: dict, final: dict) -> dict:
    """A results file whose score is the final score, with the reasons in its output and extra data."""
    from grader.engine.text_report import final_lines

    results = dict(results)
    results["score"] = 0.0 if final.get("score") is None else round(final["score"], 4)
    results["output"] = "\n".join(final_lines(final, None)) + "\n\n" + results.get("output", "")
    results["extra_data"] = dict(results.get("extra_data") or {}, final=final)
    return results


def summary_rows(finals: Iterable["StudentScore"], question_names: list[str]) -> tuple[list[str], list[list]]:
    """The summary's header and rows: final score, per-question scores of the attempt that counts, why."""
    headers = ["student", "score", "max", *question_names, "late min", "attempt", "attempts", "why"]
    rows = []
    for s in sorted(finals, key=lambda s: s.student):
        by_name = {q.question: q.score for q in s.questions}
        rows.append([s.student, "" if s.score is None else round(s.score, 4), s.max_score,
                     *[round(by_name[n], 4) if n in by_name else "" for n in question_names],
                     round(s.late_minutes, 1), s.attempt or "", s.attempts, "; ".join(s.notes)])
    return headers, rows


def class_file(out: Path) -> dict:
    """``out/class.json``: the assignment and gradebook a class folder was written from ({} if none)."""
    path = Path(out) / CLASS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def gradebook_reference(out: Path, db: str | Path | None) -> str | None:
    """How ``class.json`` names the gradebook: an SQLite file relative to ``out``; None for a URL."""
    from grader.course.gradebook.connection import database_url, sqlite_path

    path = sqlite_path(database_url(db)) if db is not None else Path(out) / "gradebook.db"
    if path is None:
        return None
    return os.path.relpath(path.resolve(), Path(out).resolve())


def class_folders_of(db_file: Path, assignments: list[str]) -> list[tuple[Path, dict]]:
    """The class folders of ``assignments`` written from the SQLite gradebook ``db_file``: beside it or
    up to two folders down (``--out DIR`` with the default gradebook, or the demo's layout)."""
    found = []
    base = Path(db_file).parent
    for pattern in (CLASS_FILE, f"*/{CLASS_FILE}", f"*/*/{CLASS_FILE}"):
        for path in sorted(base.glob(pattern)):
            recorded = class_file(path.parent)
            name = recorded.get("gradebook")
            if (recorded.get("assignment") in assignments and name
                    and (path.parent / name).resolve() == Path(db_file).resolve()):
                found.append((path.parent, recorded))
    return found


def _question_names(finals) -> list[str]:
    names: list[str] = []
    for final in finals:
        names += [q.question for q in final.questions if q.question not in names]
    return names


def _figures(folder: Path, sha256: str) -> dict:
    from grader.course.feedback import data as report_data

    path = folder / "figures" / f"{sha256}.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8")) if sha256 and path.exists() else None
    except (OSError, ValueError):
        loaded = None
    if report_data.valid(loaded, sha256):
        return loaded
    return {"format": report_data.FORMAT, "sha256": sha256, "questions": [], "training": [], "missing": True}


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


__all__ = ["write_class_folder", "write_student_files", "keep_grading_extras", "student_folder",
           "instructor_folder", "summary_rows", "with_final", "class_file", "class_folders_of",
           "gradebook_reference", "STUDENTS_DIR", "INSTRUCTOR_DIR", "CLASS_REPORT", "SUMMARY"]
