"""Grade one submission: run its cases in the sandbox, check the replies in the parent.

Every expected value and every check stays in this (parent) process; the
child only ever receives inputs and sends back plain data. One failure costs
one case: an exception, a timeout or a dead child is turned into a failing
:class:`~grader.engine.results.CaseResult` with a message, and grading goes on.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import stat
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from grader.engine import protocol
from grader.engine.authoring import Case, CompiledAssignment, CompiledQuestion
from grader.engine.cells import cell_lines, explain_cell_error
from grader.engine.checks.bounded import check_bounded
from grader.engine.protocol import (
    STUDENT,
    Assembly,
    CallRequest,
    GetRequest,
    Reply,
    Request,
    Session,
    TaskRequest,
    describe_failure,
    parse_request,
    shows_details,
)
from grader.engine.results import (
    ERROR,
    FAILED,
    NOT_IMPLEMENTED,
    PARTIAL,
    PASSED,
    TIMEOUT,
    CaseResult,
    LoadInfo,
    QuestionResult,
    SubmissionResult,
    reply_digest,
)
from grader.engine.sandbox import Limits, SandboxSession
from grader.engine.sheets import AnswerSheetSession, answer_sheet_of
from grader.engine.task_report import task_report
from grader.engine.textsafe import safe_result
from grader.engine.trainer import ModelTrainer


def grade_submission(compiled: CompiledAssignment, submission: Path, *, submission_id: str | None = None,
                     limit_overrides: dict | None = None, slot: int | None = None,
                     own_code: bool = False,
                     progress: Callable[[str], None] | None = None) -> SubmissionResult:
    """Grade ``submission`` (a .py, a .ipynb or a folder) against ``compiled``.

    ``progress(step)``, when given, is told each step as it starts ("loading
    ...", then "question 2 of 5: name"), so that a caller can show what a
    slow submission is doing.

    Never raises for anything the submission does. A fault of the grader
    itself (the sandbox cannot start, say) is recorded in ``grader_error``
    with every question at zero, so a batch goes on and the instructor sees
    which submissions to grade again. ``own_code``: the submission is the
    code of whoever runs this (``dlgrade check``), which a weak fallback may run.
    """
    submission = Path(submission)
    started = time.perf_counter()
    result = SubmissionResult(
        assignment=compiled.name,
        submission=submission_id or submission_id_for(submission),
        path=str(submission),
        questions=[],
        load=LoadInfo(ok=False),
        isolation="",
        seconds=0.0,
        sha256=content_hash(submission),
        variant=compiled.variant,
        graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    limits = limits_for(compiled, limit_overrides)
    notify = progress or (lambda step: None)
    try:
        notify(f"loading {submission.name} (its cells run, up to {limits.load_seconds:g} s)")
        with open_session(compiled, submission, limits, slot, own_code) as session, ModelTrainer(session) as trainer:
            load = session.load_report
            result.isolation = session.isolation
            lines = cell_lines(submission, getattr(load, "main", None)) if load.cells else {}
            result.load = LoadInfo(ok=load.ok, error=explain_cell_error(load.error, limits), kind=load.kind,
                                   cells=[{"index": c.index, "ok": c.ok, "error": explain_cell_error(c.error, limits),
                                           **({"line": lines[c.index]} if c.index in lines else {})}
                                          for c in load.cells],
                                   seconds=load.seconds)
            shared: dict[str, list[Reply]] = {}
            for number, question in enumerate(compiled.questions, 1):
                notify(f"question {number} of {len(compiled.questions)}: {question.name}")
                result.questions.append(grade_question(session, question, shared, trainer))
            point_to_failed_cells(result)
            result.stdout, result.stderr = session.stdout, session.stderr
            result.isolation = session.isolation  # as it ended: a restarted child may say more
    except Exception as exc:  # a fault of the grader, not of the student
        result.grader_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        graded = {q.name for q in result.questions}
        for question in compiled.questions:
            if question.name not in graded:
                result.questions.append(_not_graded(question, f"not graded: internal grader error ({type(exc).__name__})"))
    result.seconds = time.perf_counter() - started
    return safe_result(result)  # its text is stored and shown: no NUL, no control characters, capped


def point_to_failed_cells(result: SubmissionResult) -> None:
    """A name missing because a cell failed: say so where the name is reported missing."""
    failed = [c for c in result.load.cells if not c.get("ok", True)]
    if not failed:
        return
    first = failed[0]
    where = f"the cell at line {first['line']}" if first.get("line") else f"cell {first['index']}"
    more = f" and {len(failed) - 1} other cell(s)" if len(failed) > 1 else ""
    note = f" ({where}{more} of your file raised an error, shown at the top: fix that first)"
    for question in result.questions:
        for case in question.cases:
            if "is not defined" in case.message and note not in case.message:
                case.message += note


def open_session(compiled: CompiledAssignment, submission: Path, limits: Limits, slot: int | None,
                 own_code: bool = False):
    """An answer sheet is read in this process (no code runs); anything else runs in the sandbox."""
    sheet = answer_sheet_of(submission)
    if sheet is not None:
        names = [c.request["name"] for q in compiled.questions for c in q.cases if c.request["kind"] == "get"]
        return AnswerSheetSession(sheet, expected_names=names)
    return SandboxSession(submission, limits=limits, module_name=compiled.module, slot=slot, own_code=own_code)


def limits_for(compiled: CompiledAssignment, overrides: dict | None = None) -> Limits:
    """The defaults, then the assignment's limits, then ``overrides`` (e.g. from the command line)."""
    return Limits.from_dict({**Limits().to_dict(), **compiled.limits, **(overrides or {})})


def parse_limit_options(options: list[str] | None) -> dict:
    """``["request_seconds=5", "memory_bytes=4e9"]`` → ``{"request_seconds": 5.0, ...}``."""
    fields = Limits().to_dict()
    overrides = {}
    for option in options or []:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise ValueError(f"--limit takes NAME=VALUE with NAME one of {', '.join(fields)}; got {option!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--limit {name}: {value!r} is not a number") from None
        overrides[name] = int(number) if isinstance(fields[name], int) else number
    return overrides


def grade_question(session: Session, question: CompiledQuestion,
                   shared: dict[str, list[Reply]], trainer: ModelTrainer | None = None) -> QuestionResult:
    # An answer sheet runs no code: every word of its failures is the grader's, safe for a hidden question.
    disclose = shows_details(STUDENT, question.public) or isinstance(session, AnswerSheetSession)
    cases = [run_case(session, case, shared, trainer, public=disclose) for case in question.cases]
    total_weight = sum(c.weight for c in cases) or 1.0
    if question.scoring == "all":
        fraction = 1.0 if all(c.fraction == 1.0 for c in cases) else 0.0
    else:
        fraction = sum(c.weight * c.fraction for c in cases) / total_weight
    score = round(question.points * fraction, 6)
    return QuestionResult(question.name, question.title, question.points, score, question.public,
                          _question_status(fraction, cases), cases)


def _question_status(fraction: float, cases: list[CaseResult]) -> str:
    if fraction >= 1.0:
        return PASSED
    if fraction > 0:
        return PARTIAL
    failing = {c.status for c in cases if c.status != PASSED}
    if failing == {NOT_IMPLEMENTED}:
        return NOT_IMPLEMENTED
    for status in (TIMEOUT, ERROR):
        if status in failing:
            return status
    return FAILED


def _not_graded(question: CompiledQuestion, message: str) -> QuestionResult:
    cases = [CaseResult(c.label, 0.0, ERROR, message, weight=c.weight) for c in question.cases]
    return QuestionResult(question.name, question.title, question.points, 0.0, question.public, ERROR, cases)


# --------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------


def run_case(session: Session, case: Case, shared: dict[str, list[Reply]],
             trainer: ModelTrainer | None = None, *, public: bool = True) -> CaseResult:
    """Send ``case``'s request and judge the answer; ``public=False`` (a hidden question) keeps
    every text the student's code chose out of the student's message (see :func:`failure_from_reply`)."""
    started = time.perf_counter()
    if case.share and case.share in shared:
        replies = shared[case.share]
    else:
        replies = send(session, case.request, trainer)
        if case.share:
            shared[case.share] = replies
    got, failure = assemble(case, replies, public=public)
    if failure is not None:
        failure.seconds = time.perf_counter() - started
        return failure
    try:
        checked = check_bounded(case.check, got, case.expected)
    except Exception as exc:  # a bug in a check must not cost the student, nor stop the batch
        return CaseResult(case.label, 0.0, ERROR,
                          f"internal grader error while checking ({type(exc).__name__}); "
                          "tell your instructor", detail=traceback.format_exc(limit=4),
                          weight=case.weight, seconds=time.perf_counter() - started)
    status = PASSED if checked.fraction >= 1.0 else PARTIAL if checked.fraction > 0 else FAILED
    data = dict(checked.data)
    data["reply_digest"] = reply_digest(got)  # instructors' view only: the same rare wrong reply in two submissions
    if case.request["kind"] in ("task", "trainer") and replies[0].ok and isinstance(replies[0].value, dict):
        # What a harness reports besides the graded value (a training history, its time) feeds the reports.
        data["task"] = task_report(replies[0].value, case.request.get("params"))
    return CaseResult(case.label, float(checked.fraction), status, checked.message, checked.detail,
                      case.weight, time.perf_counter() - started, data)


def send(session: Session, request: dict | Request, trainer: ModelTrainer | None = None) -> list[Reply]:
    """The replies to ``request`` (stored or typed); a ``trainer`` request runs in the grader's trainer process."""
    request = parse_request(request)
    if isinstance(request, CallRequest):
        return session.call(request.calls)
    if isinstance(request, GetRequest):
        return [session.get(request.name)]
    if isinstance(request, TaskRequest):
        return [session.task(request.task, params=request.params)]
    if trainer is None:
        raise ValueError("a trainer request needs a ModelTrainer (see grader.engine.trainer)")
    return [trainer.run(request.to_data())]


def assemble(case: Case, replies: list[Reply], *, public: bool = True) -> tuple[Any, CaseResult | None]:
    """Turn replies into the value the check receives, or a failing result (see :func:`grader.engine.protocol.assemble`)."""
    value, failure = protocol.assemble(parse_request(case.request), Assembly.parse(case.assemble), replies,
                                       meta=case.meta, expected=case.expected, disclose=public)
    if failure is None:
        return value, None
    seconds = next((r.seconds for r in replies if not r.ok), 0.0)
    return None, CaseResult(case.label, 0.0, failure.status, failure.message, failure.detail,
                            weight=case.weight, seconds=seconds)


def failure_from_reply(case: Case, reply: Reply, name: str, *, public: bool = True) -> CaseResult:
    """A student-facing explanation of a request that did not produce a value.

    For a hidden question (``public=False``) the message names only what the grader knows
    without the text the student's code chose; the full explanation goes into ``detail``
    (see :func:`grader.engine.protocol.describe_failure`).
    """
    failure = describe_failure(reply, name, disclose=public)
    return CaseResult(case.label, 0.0, failure.status, failure.message, failure.detail,
                      weight=case.weight, seconds=reply.seconds)


# --------------------------------------------------------------------------
# Identity of a submission
# --------------------------------------------------------------------------


def submission_id_for(path: Path) -> str:
    """``alice.py`` → ``alice``; a folder ``bob/`` → ``bob``."""
    return path.name if path.is_dir() else path.stem


def content_hash(path: Path) -> str:
    """sha256 over the submission's files (names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if not stat.S_ISREG(file.lstat().st_mode):  # a link, a pipe: never followed, never read
            digest.update(f"{file.name}: not a regular file\0".encode())
            continue
        name = file.relative_to(path) if path.is_dir() else Path(file.name)
        digest.update(str(name).encode() + b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
