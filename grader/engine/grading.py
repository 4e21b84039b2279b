"""Grade one submission: run its cases in the sandbox, check the replies in the parent.

Every expected value and every check stays in this (parent) process; the
child only ever receives inputs and sends back plain data. One failure costs
one case: an exception, a timeout or a dead child is turned into a failing
:class:`~grader.engine.results.CaseResult` with a message, and grading goes on.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import hashlib
import stat
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from grader.engine.authoring import Case, CompiledAssignment, CompiledQuestion
from grader.engine.cells import cell_lines, explain_cell_error
from grader.engine.checks.bounded import check_bounded
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
from grader.engine.sandbox import Call, Limits, Reply, SandboxSession, SlotRef
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


def grade_question(session: SandboxSession, question: CompiledQuestion,
                   shared: dict[str, list[Reply]], trainer: ModelTrainer | None = None) -> QuestionResult:
    # An answer sheet runs no code: every word of its failures is the grader's, safe for a hidden question.
    disclose = question.public or isinstance(session, AnswerSheetSession)
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


def run_case(session: SandboxSession, case: Case, shared: dict[str, list[Reply]],
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


def send(session: SandboxSession, request: dict, trainer: ModelTrainer | None = None) -> list[Reply]:
    """The replies to ``request``; a ``trainer`` request runs in the grader's trainer process."""
    kind = request["kind"]
    if kind == "call":
        return session.call([_to_call(c) for c in request["calls"]])
    if kind == "get":
        return [session.get(request["name"])]
    if kind == "task":
        return [session.task(request["task"], params=request["params"])]
    if kind == "trainer":
        if trainer is None:
            raise ValueError("a trainer request needs a ModelTrainer (see grader.engine.trainer)")
        return [trainer.run(request)]
    raise ValueError(f"unknown request kind {kind!r}")


def _to_call(spec: dict) -> Call:
    def arg(value: Any) -> Any:
        if isinstance(value, dict) and "__slot__" in value:
            return SlotRef(value["__slot__"], value.get("index"))
        return value

    return Call(spec["fn"], args=[arg(a) for a in spec["args"]],
                kwargs={k: arg(v) for k, v in spec["kwargs"].items()},
                keep=spec.get("keep"), pick=spec.get("pick"))


def assemble(case: Case, replies: list[Reply], *, public: bool = True) -> tuple[Any, CaseResult | None]:
    """Turn replies into the value the check receives, or a failing result."""
    if case.assemble == "gradient":
        return _assemble_gradient(case, replies, public)
    reply = replies[0]
    if not reply.ok:
        return None, failure_from_reply(case, reply, case.target, public=public)
    value = reply.value
    if value is None and case.request["kind"] == "get":
        # The template's stubs are `NAME = None  # TODO: your answer`.
        return None, CaseResult(case.label, 0.0, NOT_IMPLEMENTED,
                                f"`{case.target}` is not answered yet (it is None)", weight=case.weight)
    if case.assemble.startswith("field:"):
        path = case.assemble.split(":", 1)[1]
        try:
            value = extract(value, path)
        except (KeyError, IndexError, TypeError, ValueError):
            return None, CaseResult(case.label, 0.0, ERROR, f"the grading harness got no {path!r} back "
                                    f"from {case.target}", weight=case.weight)
    return value, None


def extract(value: Any, path: str) -> Any:
    """``extract(d, "layers.-1.activation")`` is ``d["layers"][-1]["activation"]`` (dict keys, list indices)."""
    for key in path.split("."):
        if isinstance(value, dict):
            value = value[key]
        elif isinstance(value, list):
            value = value[int(key)]
        else:
            raise TypeError(f"cannot take {key!r} of a {type(value).__name__}")
    return value


def _assemble_gradient(case: Case, replies: list[Reply], public: bool) -> tuple[Any, CaseResult | None]:
    fn_forward = case.request["calls"][0]["fn"]
    forward = replies[0]
    if not forward.ok:
        return None, failure_from_reply(case, forward, fn_forward, public=public)
    probes_ok = all(r.ok for r in replies[1 if case.meta.get("value_and_grad") else 2:])
    if case.meta.get("value_and_grad"):
        value = forward.value
        if not isinstance(value, list) or len(value) != 2:
            return None, CaseResult(case.label, 0.0, FAILED,
                                    f"{fn_forward} must return a pair (loss, gradient); "
                                    f"it returned {_describe(value)}", weight=case.weight)
        out, grads = value[0], [value[1]]
        probe_replies = replies[1:]
    else:
        fn_backward = case.request["calls"][1]["fn"]
        backward = replies[1]
        if not backward.ok:
            return None, failure_from_reply(case, backward, fn_backward, public=public)
        out = forward.value
        grads = backward.value
        if case.meta.get("single_gradient") and not isinstance(grads, list):
            grads = [grads]
        probe_replies = replies[2:]
    probes = []
    if probes_ok:
        for spec, (plus, minus) in zip(case.expected["directions"], _pairs(probe_replies)):
            probes.append({"input": spec["input"], "plus": plus.value, "minus": minus.value})
    return {"out": out, "grads": grads, "probes": probes}, None


def _pairs(items: list) -> list[tuple]:
    return [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a sequence of length {len(value)}"
    return f"a {type(value).__name__}"


def failure_from_reply(case: Case, reply: Reply, name: str, *, public: bool = True) -> CaseResult:
    """A student-facing explanation of a request that did not produce a value.

    The student's code chose the text of an exception, the name of its class, the type it
    returned and the code it exited with, and it chose them knowing its inputs. For a hidden
    question (``public=False``) the message therefore names only what the grader knows without
    that text (a built-in exception's name, or "an exception"); the full explanation goes into
    ``detail``, which only instructors see for hidden questions.
    """
    status, message, detail = _full_failure(reply, name)
    if not public and reply.kind in _STUDENT_CHOSEN_TEXT:
        detail = "\n".join(part for part in (message, detail) if part)
        message = _hidden_failure(reply, name)
    return CaseResult(case.label, 0.0, status, message, detail, weight=case.weight, seconds=reply.seconds)


# Reply kinds whose text the student's process wrote (an exception, a type name, an exit code,
# malformed data); the others are the grader's own words.
_STUDENT_CHOSEN_TEXT = frozenset(("exception", "not_callable", "crashed", "unsupported", "not_loaded", "protocol"))


def _full_failure(reply: Reply, name: str) -> tuple[str, str, str]:
    """(status, message, detail) with everything the reply says."""
    error = (reply.error or "").strip()
    first_line = exception_summary(error)
    kind = reply.kind
    status, detail = ERROR, ""
    if kind == "exception" and first_line.startswith("NotImplementedError"):
        hint = first_line.partition(":")[2].strip()
        hint = hint[len(name) + 1:].strip() if hint.startswith(f"{name}:") else hint
        status, message = NOT_IMPLEMENTED, f"`{name}` is not implemented yet" + (f" (hint: {hint})" if hint else "")
    elif kind == "exception":
        message, detail = f"`{name}` raised {first_line}", error
    elif kind == "missing":
        status, message = NOT_IMPLEMENTED, f"`{name}` is not defined in your submission"
    elif kind == "not_callable":
        message = f"`{name}` should be a function, but it is {first_line or 'not callable'}"
    elif kind == "timeout":
        status, message = TIMEOUT, f"`{name}` did not finish in time ({first_line or 'time limit'}): an infinite loop?"
    elif kind == "crashed":
        message = f"your program stopped while running `{name}` ({first_line or 'the process ended'})"
    elif kind == "unsupported":
        message = f"`{name}` returned something that is not plain data: {first_line}"
    elif kind == "not_loaded":
        message = f"not graded: your submission could not be loaded ({first_line})"
    elif kind == "not_answered":  # answer sheets
        status, message = NOT_IMPLEMENTED, first_line
    elif kind in ("unreadable", "refused"):  # the grader's own words on a sheet, or on a model's architecture
        status, message = FAILED, first_line
    elif kind in ("budget", "restarts"):
        status, message = TIMEOUT, f"not graded: {first_line or 'the submission used up its time budget'}"
    else:  # "protocol" and anything new
        message = f"the grader could not read the answer of `{name}` ({kind}: {first_line})"
    return status, message, detail


def _hidden_failure(reply: Reply, name: str) -> str:
    """The student's message for a failed request of a hidden question: fixed words only."""
    kind = reply.kind
    if kind == "exception":
        exception = builtin_exception_name(exception_summary((reply.error or "").strip()))
        if exception == "NotImplementedError":
            return f"`{name}` is not implemented yet"
        return f"`{name}` raised {exception or 'an exception'} (its message is not shown for a hidden question)"
    if kind == "not_callable":
        return f"`{name}` should be a function, but it is not callable"
    if kind == "crashed":
        return f"your program stopped while running `{name}` (details are not shown for a hidden question)"
    if kind == "unsupported":
        return f"`{name}` returned something that is not plain data (numbers, arrays, lists, dicts, strings)"
    if kind == "not_loaded":
        return "not graded: your submission could not be loaded"
    return f"the grader could not read the answer of `{name}`"


def builtin_exception_name(summary: str) -> str | None:
    """``"ValueError"`` for ``"ValueError: ..."``; None for a class the student's code defined."""
    candidate = summary.partition(":")[0].strip()
    found = getattr(builtins, candidate, None) if candidate.isidentifier() else None
    return candidate if isinstance(found, type) and issubclass(found, BaseException) else None


def exception_summary(error: str) -> str:
    """``"ValueError: bad shape"`` out of an error text that may start with a traceback."""
    lines = error.splitlines()
    if lines and lines[0].startswith("Traceback"):
        lines = [ln for ln in lines[1:] if not ln.startswith("  ") and ln.strip() != "..."]
    return lines[0].strip() if lines else ""


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
