"""Replay dlgrade's compiled cases in a notebook: the glue of an otter-grader export.

``dlgrade export otter`` ships this file beside the notebook, with the
assignment's cases as data (``dlgrade_public.json`` for everyone,
``dlgrade_hidden.json`` in otter's autograder only). Every otter test is::

    def test_QUESTION_CASE(env):
        import dlgrade_otter
        got, expected, check = dlgrade_otter.replay(env, "QUESTION", CASE)
        result = check.check(got, expected)
        assert result.passed, result.message

``env`` is the notebook's globals. :func:`replay` sends the case's request
to the student's functions the way dlgrade's sandboxed child does (the same
calls, the same keep/pick/slot rules, the forward, backward and probe calls
of a gradient case, replies turned into the same plain data) and assembles
the value dlgrade's check receives with dlgrade's own protocol
(``grader/engine/protocol/``, shipped in the export's ``grader/``). A
request that fails (a missing function, an exception, a ``None`` answer)
fails the test with the message dlgrade gives a public question.

Unlike dlgrade's own grading, this runs inside the notebook's process, next
to the student's code, which can patch numpy or these checks and read the
data files: see ``OTTER_SECURITY.md`` in dlgrade's ``grader/course/export``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from grader.engine import datafile, protocol
from grader.engine.checks import check_from_spec
from grader.engine.protocol import (
    Assembly,
    Call,
    CallRequest,
    GetRequest,
    Reply,
    SlotRef,
    TaskRequest,
    TrainerRequest,
    describe_failure,
    parse_request,
)
from grader.engine.sandbox.child import wire

DATA_FILES = ("dlgrade_public.json", "dlgrade_hidden.json")

_CASES: dict[str, list[dict]] | None = None
_SHARED: dict[tuple, list[Reply]] = {}


class CaseFailure(AssertionError):
    """The student's code did not produce a value to check (the test fails with this message)."""


class _RequestFailure(Exception):
    """A call that cannot be made (a missing name, an empty slot): a reply of ``kind``."""

    def __init__(self, kind: str, error: str) -> None:
        super().__init__(error)
        self.kind, self.error = kind, error


# --------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------

def cases() -> dict[str, list[dict]]:
    """question name -> its compiled cases, from the data files found beside this module or in the cwd."""
    global _CASES
    if _CASES is None:
        found: dict[str, list[dict]] = {}
        for name in DATA_FILES:
            for folder in (Path(__file__).resolve().parent, Path.cwd()):
                path = folder / name
                if path.is_file():
                    for question in datafile.load(path)["questions"]:
                        found[question["name"]] = question["cases"]
                    break
        _CASES = found
    return _CASES


def case(question: str, index: int) -> dict:
    known = cases()
    if question not in known:
        raise LookupError(f"no data for question {question!r} (looked for {', '.join(DATA_FILES)} beside "
                          f"{__file__} and in {os.getcwd()})")
    return known[question][index]


# --------------------------------------------------------------------------
# Replaying a case
# --------------------------------------------------------------------------

def replay(env: dict, question: str, index: int) -> tuple[Any, Any, Any]:
    """Run case ``index`` of ``question`` against the notebook's globals; return (got, expected, check)."""
    data = case(question, index)
    check = check_from_spec(data["check"])
    share = data.get("share")
    key = None
    if share:
        target = data["request"].get("target")
        key = (share, id(env), id(env.get(target)) if isinstance(target, str) else None)
    if key is not None and key in _SHARED:
        replies = _SHARED[key]
    else:
        replies = send(env, data["request"])
        if key is not None:
            _SHARED[key] = replies
    return assemble(data, replies), data["expected"], check


def send(env: dict, request: dict) -> list[Reply]:
    typed = parse_request(request)
    if isinstance(typed, CallRequest):
        slots: dict = {}
        return [_run_call(env, call, slots) for call in typed.calls]
    if isinstance(typed, GetRequest):
        if typed.name not in env:
            return [Reply.failure("missing", f"no name {typed.name!r} in the submission")]
        return [_reply(env[typed.name])]
    if isinstance(typed, TaskRequest):
        return [_run_task(env, typed.task, typed.params)]
    return [_run_trainer(env, typed)]


def _run_call(env: dict, call: Call, slots: dict) -> Reply:
    try:
        target = _resolve_callable(env, call.fn, slots)
        args = [_resolve_arg(a, slots) for a in call.args]
        kwargs = {k: _resolve_arg(v, slots) for k, v in call.kwargs.items()}
    except _RequestFailure as exc:
        return Reply.failure(exc.kind, exc.error)
    try:
        result = target(*args, **kwargs)
    except BaseException as exc:  # the student's exception, SystemExit included
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Reply.failure("exception", f"{type(exc).__name__}: {exc}")
    keep, pick = call.keep, call.pick
    if keep is not None:
        slots[keep] = result
    if pick is not None:
        if not isinstance(result, (tuple, list)):
            return Reply.failure("unsupported", f"returned {_a(type(result).__name__)}, expected a tuple or list "
                                                f"to take element {pick} of")
        try:
            return _reply(result[pick])
        except (IndexError, TypeError):
            return Reply.failure("unsupported", f"returned a sequence of length {len(result)}, "
                                                f"expected element {pick}")
    if keep is not None:
        return Reply.success(None)
    return _reply(result)


def _resolve_callable(env: dict, name: str, slots: dict):
    if name.startswith("@"):
        slot, _, rest = name[1:].partition(".")
        if slot not in slots:
            raise _RequestFailure("missing", f"slot {slot!r} is empty")
        target, parts = slots[slot], rest.split(".") if rest else []
    else:
        first, *parts = name.split(".")
        if first not in env:
            raise _RequestFailure("missing", f"no name {first!r} in the submission")
        target = env[first]
    for part in parts:
        if not part or part.startswith("_") or not hasattr(target, part):
            raise _RequestFailure("missing", f"no attribute {part!r} in {name!r}")
        target = getattr(target, part)
    if not callable(target):
        raise _RequestFailure("not_callable", f"{_a(type(target).__name__)}, not a function")
    return target


def _resolve_arg(value: Any, slots: dict) -> Any:
    """A fresh copy of an input (the student may change it in place), slot references resolved."""
    if isinstance(value, SlotRef) or SlotRef.is_data(value):
        ref = value if isinstance(value, SlotRef) else SlotRef.from_data(value)
        name, index = ref.slot, ref.index
        if name not in slots:
            raise _RequestFailure("exception", f"SlotError: slot {name!r} is empty: the call that keeps it failed")
        stored = slots[name]
        if index is None:
            return stored
        try:
            return stored[index]
        except (IndexError, KeyError, TypeError):
            raise _RequestFailure("unsupported", f"returned {_a(type(stored).__name__)} in slot {name!r} "
                                                 f"that has no element {index!r}") from None
    if isinstance(value, list):
        return [_resolve_arg(v, slots) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_arg(v, slots) for k, v in value.items()}
    return copy.deepcopy(value)


def _reply(value: Any) -> Reply:
    """The value as the grader would receive it from the sandbox: plain data (tuples become lists...)."""
    try:
        obj, arrays = wire.encode(value)
        plain = wire.decode(obj, {f"a{i}": np.array(a, copy=True) for i, a in enumerate(arrays)})
    except wire.Unsupported as exc:
        return Reply.failure("unsupported", exc.describe("returned"))
    return Reply.success(plain)


class _TaskContext:
    """What a harness task sees (as in dlgrade's child runtime), for the notebook's globals."""

    def __init__(self, env: dict) -> None:
        self.namespace = env
        self.workdir = os.getcwd()
        self.threads = 1

    def callable(self, name: str):
        from grader.engine.sandbox.child import tasks

        try:
            return _resolve_callable(self.namespace, name, {})
        except _RequestFailure as exc:
            raise tasks.TaskFailure(exc.kind, exc.error) from None

    def run_student(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)


def _run_task(env: dict, task: str, params: dict) -> Reply:
    from grader.engine.sandbox.child import tasks

    fn = tasks.TASKS.get(task)
    if fn is None:
        return Reply.failure("missing", f"no harness task named {task!r}")
    try:
        return _reply(fn(_TaskContext(env), **copy.deepcopy(params)))
    except tasks.TaskFailure as exc:
        return Reply.failure(exc.kind, exc.message)
    except Exception as exc:
        return Reply.failure("exception", f"{type(exc).__name__}: {exc}")


def _run_trainer(env: dict, request: TrainerRequest) -> Reply:
    """Export the notebook's model and run the trainer task on it (in this process: otter has no sandbox)."""
    import tempfile

    exported = _run_task(env, "keras_export_model", request.export)
    if not exported.ok:
        return exported
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "model.keras"), "wb") as handle:
            handle.write(np.asarray(exported.value["keras"], dtype=np.uint8).tobytes())
        cwd = os.getcwd()
        os.chdir(folder)  # the task context's working directory holds model.keras
        try:
            return _run_task({}, request.task, {"path": "model.keras", **request.params})
        finally:
            os.chdir(cwd)


# --------------------------------------------------------------------------
# From replies to the checked value: dlgrade's own protocol, word for word
# --------------------------------------------------------------------------

def assemble(data: dict, replies: list[Reply]) -> Any:
    """The value dlgrade's check receives for stored case ``data``; a :class:`CaseFailure` with
    dlgrade's message when there is none."""
    value, failure = protocol.assemble(parse_request(data["request"]), Assembly.parse(data["assemble"]), replies,
                                       meta=data.get("meta", {}), expected=data["expected"])
    if failure is not None:
        raise CaseFailure(failure.message)
    return value


def failure_message(reply: Reply, name: str) -> str:
    """The words dlgrade's engine uses for a request that gave no value (a public question's)."""
    return describe_failure(reply, name).message


def _a(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name
