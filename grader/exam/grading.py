"""Grading an exam submission against the student's own variant.

A submission is an answer sheet (``.toml``, ``.yaml``, ``.yml``; read by
:class:`grader.sheets.AnswerSheetSession`, no code runs) or anything the
sandbox grades (a ``.py``, a notebook, a folder). Either way the exam is
first compiled for the student (:func:`grader.exam.variants.compile_for_student`),
so the expected answers are those of that student's paper.

Answer sheets are graded by the engine's own :func:`grader.grade.engine.grade_question`.
The engine words a failing reply for code ("`X` is not defined in your
submission"); for a sheet, :func:`grade_answer_sheet` replaces that wording
with the sheet reader's own explanation ("`X` is not answered: ... did you
mean ...", "could not read your answer to `X` on line 7: ...", "could not read
your answer sheet: ..."). Once the engine opens an AnswerSheetSession itself
and knows the reply kinds "not_answered"/"unreadable", that step goes away.
"""

from __future__ import annotations

import datetime as _dt
import time
import traceback
from pathlib import Path

from grader.authoring import Assignment, CompiledAssignment, CompiledQuestion
from grader.grade import engine
from grader.results import FAILED, NOT_IMPLEMENTED, PASSED, LoadInfo, QuestionResult, SubmissionResult
from grader.sheets import AnswerSheetSession, answer_keys, is_answer_sheet

from .variants import compile_for_student, normalize_student_id


def student_id_for(path: Path) -> str:
    """The student id a submission is filed under: a folder's name, else the file's stem."""
    path = Path(path)
    return path.name if path.is_dir() else path.stem


def explain_sheet_failures(result: QuestionResult, question: CompiledQuestion,
                           session: AnswerSheetSession) -> QuestionResult:
    """Word the failing cases of a graded question as the sheet reader explains them."""
    changed = False
    for case, case_result in zip(question.cases, result.cases):
        if case.request.get("kind") != "get" or case_result.status == PASSED or case_result.fraction > 0:
            continue
        why = session.explain(case.request["name"])
        if why is None:
            continue
        kind, message = why
        case_result.message = message
        case_result.status = NOT_IMPLEMENTED if kind == "not answered" else FAILED
        changed = True
    if changed:
        result.status = engine._question_status(result.fraction, result.cases)
    return result


def grade_answer_sheet(compiled: CompiledAssignment, sheet: Path, *,
                       submission_id: str | None = None) -> SubmissionResult:
    """Grade an answer sheet against ``compiled`` (already the student's variant). Never raises
    for anything in the sheet; a fault of the grader is recorded in ``grader_error``."""
    sheet = Path(sheet)
    started = time.perf_counter()
    result = SubmissionResult(
        assignment=compiled.name,
        submission=submission_id or student_id_for(sheet),
        path=str(sheet),
        questions=[],
        load=LoadInfo(ok=False),
        isolation="",
        seconds=0.0,
        sha256="",
        variant=compiled.variant,
        graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    try:
        names = [k.key for k in answer_keys(compiled)]
        with AnswerSheetSession(sheet, expected_names=names) as session:
            load = session.load_report
            result.isolation = session.isolation
            result.sha256 = session.sha256
            result.load = LoadInfo(ok=load.ok, error=load.error, kind=load.kind, cells=[],
                                   seconds=load.seconds)
            for question in compiled.questions:
                graded = engine.grade_question(session, question, {})
                result.questions.append(explain_sheet_failures(graded, question, session))
            result.stdout, result.stderr = session.stdout, session.stderr
    except Exception as exc:  # a fault of the grader, not of the student
        result.grader_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        graded = {q.name for q in result.questions}
        for question in compiled.questions:
            if question.name not in graded:
                result.questions.append(engine._not_graded(
                    question, f"not graded: internal grader error ({type(exc).__name__})"))
    result.seconds = time.perf_counter() - started
    return result


def sheet_in_folder(folder: Path) -> Path | None:
    """The answer sheet of a submission folder that holds one sheet and no code, else None."""
    if not folder.is_dir() or folder.is_symlink():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if any(p.suffix in (".py", ".ipynb") for p in files):
        return None
    sheets = [p for p in files if is_answer_sheet(p)]
    return sheets[0] if len(sheets) == 1 else None


def grade_exam_submission(assignment: Assignment, submission: Path, *, student_id: str | None = None,
                          salt: str | None = None, **engine_options) -> SubmissionResult:
    """Grade one student's submission against that student's variant.

    An answer sheet (or a folder holding one sheet and no code) is read by
    :func:`grade_answer_sheet`; anything else goes to the sandbox.

    ``engine_options`` (e.g. ``slot``) go to :func:`grader.grade.engine.grade_submission`
    for code submissions.
    """
    submission = Path(submission)
    sid = normalize_student_id(student_id or student_id_for(submission))
    compiled = compile_for_student(assignment, sid, salt=salt)
    sheet = submission if is_answer_sheet(submission) else sheet_in_folder(submission)
    if sheet is not None:
        return grade_answer_sheet(compiled, sheet, submission_id=sid)
    return engine.grade_submission(compiled, submission, submission_id=sid, **engine_options)


__all__ = ["grade_answer_sheet", "grade_exam_submission", "explain_sheet_failures", "student_id_for",
           "sheet_in_folder"]
