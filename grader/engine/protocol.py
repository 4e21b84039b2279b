"""The grading protocol: what the engine asks a session, what comes back, and how it becomes a value.

One case of a compiled assignment is a *request* (:class:`CallRequest`,
:class:`GetRequest`, :class:`TaskRequest`, :class:`TrainerRequest`), sent to a
:class:`Session` (the sandboxed child, or an answer sheet), which answers with
one :class:`Reply` per call. An :class:`Assembly` turns the replies into the
value a check receives; a reply that carries no value is worded for the
student by :func:`describe_failure`, from one table of reply kinds
(:data:`FAILURE_KINDS`). :func:`shows_details` is the one disclosure rule:
details only to instructors or for public questions.

Compiled assignments store requests, slot references and assemblies as plain
data (``{"kind": "call", ...}``, ``{"__slot__": NAME, "index": I}``,
``"field:PATH"``); every type here reads that data with ``from_data`` (or
:func:`parse_request`) and writes it back byte for byte with ``to_data``.

Standard library only, and no import of the rest of the engine: the otter
export ships this file beside its notebook helper.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence, Union, runtime_checkable

if TYPE_CHECKING:
    from grader.engine.sandbox.types import LoadReport

# --------------------------------------------------------------------------
# Statuses of a case or question, from best to worst, and who sees details
# --------------------------------------------------------------------------

# "passed"/"failed" are what Gradescope knows; the others say why a question failed.
PASSED, PARTIAL, FAILED = "passed", "partial", "failed"
NOT_IMPLEMENTED, ERROR, TIMEOUT = "not implemented", "error", "timeout"

STUDENT, INSTRUCTOR = "student", "instructor"
VIEWS = (STUDENT, INSTRUCTOR)


def shows_details(view: str, public: bool) -> bool:
    """The disclosure rule: details (tracebacks, the student's own error texts, distances to an
    expected value) go only to instructors, or to anyone for a public question.

    ``view``: "student" or "instructor"; ``public``: the question is public.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    return view == INSTRUCTOR or bool(public)


# --------------------------------------------------------------------------
# Calls and slot references
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRef:
    """An argument taken from a slot kept in the child (``index``: one element of it).

    Stored in a compiled assignment as ``{"__slot__": NAME, "index": I}``
    (:meth:`to_data`); on the wire to the child as ``{"__slot__": [NAME, I]}``
    (:meth:`to_wire`, decoded by the child's ``wire.SlotMarker``).
    """

    slot: str
    index: int | str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.slot, str) or not self.slot:
            raise TypeError("SlotRef.slot must be a non-empty str")
        if not (self.index is None or isinstance(self.index, (int, str))) or isinstance(self.index, bool):
            raise TypeError("SlotRef.index must be None, an int or a str")

    @staticmethod
    def is_data(value: Any) -> bool:
        """Whether ``value`` is a stored slot reference (the form :meth:`to_data` writes)."""
        return isinstance(value, dict) and "__slot__" in value

    @classmethod
    def from_data(cls, data: dict) -> "SlotRef":
        return cls(data["__slot__"], data.get("index"))

    def to_data(self) -> dict:
        return {"__slot__": self.slot, "index": self.index}

    def to_wire(self) -> dict:
        return {"__slot__": [self.slot, self.index]}


@dataclass
class Call:
    """One function call in a batch.

    ``fn``: a module-level name of the submission; ``"Name.attr"`` reaches a
    public attribute of it, and ``"@slot.method"`` a method of an object kept
    in a slot. ``args``/``kwargs``: plain data, possibly holding
    :class:`SlotRef`. ``keep``: store the raw return value in this slot
    inside the child; it never leaves the child, and the reply's value is
    ``None`` unless ``pick`` asks for one element. ``pick``: return only
    element ``pick`` of a returned tuple or list (the ``out`` of
    ``(out, cache)``).
    """

    fn: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    keep: str | None = None
    pick: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fn, str) or not self.fn:
            raise TypeError("Call.fn must be a non-empty str")
        if not isinstance(self.args, (list, tuple)):
            raise TypeError("Call.args must be a list")
        if not isinstance(self.kwargs, dict) or not all(isinstance(k, str) for k in self.kwargs):
            raise TypeError("Call.kwargs must be a dict with str keys")
        if self.keep is not None and (not isinstance(self.keep, str) or not self.keep):
            raise TypeError("Call.keep must be None or a non-empty str")
        if self.pick is not None and (not isinstance(self.pick, int) or isinstance(self.pick, bool)):
            raise TypeError("Call.pick must be None or an int")

    @classmethod
    def from_data(cls, data: dict) -> "Call":
        """A stored call; an argument (or keyword argument) that is a stored slot reference becomes a SlotRef."""
        def arg(value: Any) -> Any:
            return SlotRef.from_data(value) if SlotRef.is_data(value) else value

        return cls(data["fn"], args=[arg(a) for a in data.get("args") or []],
                   kwargs={k: arg(v) for k, v in (data.get("kwargs") or {}).items()},
                   keep=data.get("keep"), pick=data.get("pick"))

    def to_data(self) -> dict:
        def arg(value: Any) -> Any:
            return value.to_data() if isinstance(value, SlotRef) else value

        return {"fn": self.fn, "args": [arg(a) for a in self.args],
                "kwargs": {k: arg(v) for k, v in self.kwargs.items()}, "keep": self.keep, "pick": self.pick}


# --------------------------------------------------------------------------
# Requests: what one case asks
# --------------------------------------------------------------------------


@dataclass
class CallRequest:
    """Calls made in order in one child, sharing slots; one reply per call."""

    calls: list[Call]
    kind = "call"

    @property
    def target(self) -> str:
        return self.calls[0].fn

    def to_data(self) -> dict:
        return {"kind": self.kind, "calls": [c.to_data() for c in self.calls]}


@dataclass
class GetRequest:
    """A module-level name of the submission (or a key of an answer sheet)."""

    name: str
    kind = "get"

    @property
    def target(self) -> str:
        return self.name

    def to_data(self) -> dict:
        return {"kind": self.kind, "name": self.name}


@dataclass
class TaskRequest:
    """A harness routine run in the child (``grader/engine/sandbox/child/tasks.py``) with ``params``;
    ``about``: the name in the submission it exercises (for messages)."""

    task: str
    params: dict = field(default_factory=dict)
    about: str | None = None
    kind = "task"

    @property
    def target(self) -> str:
        return self.about or self.task

    def to_data(self) -> dict:
        return {"kind": self.kind, "task": self.task, "params": self.params,
                **({"target": self.about} if self.about is not None else {})}


@dataclass
class TrainerRequest:
    """``task`` run in the grader's trainer process on the model the child exports with ``export``
    (see ``grader/engine/trainer.py``)."""

    export: dict
    task: str
    params: dict = field(default_factory=dict)
    about: str | None = None
    kind = "trainer"

    @property
    def target(self) -> str:
        return self.about or self.task

    def to_data(self) -> dict:
        return {"kind": self.kind, "export": self.export, "task": self.task, "params": self.params,
                **({"target": self.about} if self.about is not None else {})}


Request = Union[CallRequest, GetRequest, TaskRequest, TrainerRequest]
REQUEST_KINDS = ("call", "get", "task", "trainer")


def parse_request(data: dict | Request) -> Request:
    """The typed request of a stored one (``{"kind": ..., ...}``); a typed request is returned as it is."""
    if isinstance(data, (CallRequest, GetRequest, TaskRequest, TrainerRequest)):
        return data
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "call":
        return CallRequest([Call.from_data(c) for c in data["calls"]])
    if kind == "get":
        return GetRequest(data["name"])
    if kind == "task":
        return TaskRequest(data["task"], dict(data.get("params") or {}), data.get("target"))
    if kind == "trainer":
        return TrainerRequest(dict(data["export"]), data["task"], dict(data.get("params") or {}), data.get("target"))
    raise ValueError(f"unknown request kind {kind!r}: expected one of {', '.join(REQUEST_KINDS)}")


# --------------------------------------------------------------------------
# Replies and their kinds
# --------------------------------------------------------------------------


@dataclass
class Reply:
    """The outcome of one call, get or task. ``value`` is plain data decoded by the parent."""

    ok: bool
    value: Any
    error: str | None
    kind: str
    seconds: float = 0.0

    @classmethod
    def success(cls, value: Any, seconds: float = 0.0) -> "Reply":
        return cls(True, value, None, "ok", seconds)

    @classmethod
    def failure(cls, kind: str, error: str, seconds: float = 0.0) -> "Reply":
        return cls(False, None, error, kind, seconds)


@dataclass(frozen=True)
class ReplyKind:
    """What a reply of one kind means to the student.

    ``message`` is worded with ``{name}`` (what the case exercises) and
    ``{error}`` (the first line of the reply's error, or ``when_empty``).
    ``hidden``: the wording for a hidden question when the reply's text was
    chosen by the student's process (an exception's message, a type name, an
    exit code); None when the text is the grader's own and may be shown.
    ``from_child``: the child itself may report this kind (the rest are the
    parent's verdicts).
    """

    status: str
    message: str
    when_empty: str = ""
    hidden: str | None = None
    from_child: bool = False


#: Every kind of reply that carries no value, with its status and message. ("ok" carries a value.)
FAILURE_KINDS: dict[str, ReplyKind] = {
    "exception": ReplyKind(ERROR, "`{name}` raised {error}", from_child=True,
                           hidden="`{name}` raised {exception} (its message is not shown for a hidden question)"),
    "timeout": ReplyKind(TIMEOUT, "`{name}` did not finish in time ({error}): an infinite loop?", "time limit"),
    "crashed": ReplyKind(ERROR, "your program stopped while running `{name}` ({error})", "the process ended",
                         hidden="your program stopped while running `{name}` "
                                "(details are not shown for a hidden question)"),
    "missing": ReplyKind(NOT_IMPLEMENTED, "`{name}` is not defined in your submission", from_child=True),
    "not_callable": ReplyKind(ERROR, "`{name}` should be a function, but it is {error}", "not callable",
                              hidden="`{name}` should be a function, but it is not callable", from_child=True),
    "unsupported": ReplyKind(ERROR, "`{name}` returned something that is not plain data: {error}", from_child=True,
                             hidden="`{name}` returned something that is not plain data "
                                    "(numbers, arrays, lists, dicts, strings)"),
    "protocol": ReplyKind(ERROR, "the grader could not read the answer of `{name}` (protocol: {error})",
                          hidden="the grader could not read the answer of `{name}`"),
    "not_loaded": ReplyKind(ERROR, "not graded: your submission could not be loaded ({error})",
                            hidden="not graded: your submission could not be loaded"),
    "budget": ReplyKind(TIMEOUT, "not graded: {error}", "the submission used up its time budget"),
    "restarts": ReplyKind(TIMEOUT, "not graded: {error}", "the submission used up its time budget"),
    # Answer sheets (grader/engine/sheets.py): the grader's own words.
    "not_answered": ReplyKind(NOT_IMPLEMENTED, "{error}"),
    "unreadable": ReplyKind(FAILED, "{error}"),
    # The grader's own trainer refusing a model's architecture (grader/engine/trainer.py).
    "refused": ReplyKind(FAILED, "{error}"),
}
#: A kind this table does not know (a newer child): reported, never hidden, as the grader's own failure.
UNKNOWN_KIND = ReplyKind(ERROR, "the grader could not read the answer of `{name}` ({kind}: {error})")

REPLY_KINDS = ("ok", *FAILURE_KINDS)
#: The kinds the child itself may report; the rest are decided by the parent.
CHILD_KINDS = frozenset(["ok"] + [k for k, v in FAILURE_KINDS.items() if v.from_child])


@dataclass
class Failure:
    """Why a case has no value to check: its status, the student's message, and ``detail``
    (shown under :func:`shows_details` only)."""

    status: str
    message: str
    detail: str = ""


def describe_failure(reply: Reply, name: str, *, disclose: bool = True) -> Failure:
    """A student-facing explanation of a request that did not produce a value.

    The student's code chose the text of an exception, the name of its class, the type it
    returned and the code it exited with, and it chose them knowing its inputs. Unless
    ``disclose`` (a public question, see :func:`shows_details`), the message therefore names
    only what the grader knows without that text (a built-in exception's name, or "an
    exception"); the full explanation goes into ``detail``.
    """
    kind = FAILURE_KINDS.get(reply.kind, UNKNOWN_KIND)
    error = (reply.error or "").strip()
    first_line = exception_summary(error)
    detail = ""
    if reply.kind == "exception" and first_line.startswith("NotImplementedError"):
        hint = first_line.partition(":")[2].strip()
        hint = hint[len(name) + 1:].strip() if hint.startswith(f"{name}:") else hint
        status, message = NOT_IMPLEMENTED, f"`{name}` is not implemented yet" + (f" (hint: {hint})" if hint else "")
    else:
        status = kind.status
        message = kind.message.format(name=name, error=first_line or kind.when_empty, kind=reply.kind)
        if reply.kind == "exception":
            detail = error
    if disclose or kind.hidden is None:
        return Failure(status, message, detail)
    detail = "\n".join(part for part in (message, detail) if part)
    if reply.kind == "exception":
        exception = builtin_exception_name(first_line)
        if exception == "NotImplementedError":
            return Failure(status, f"`{name}` is not implemented yet", detail)
        return Failure(status, kind.hidden.format(name=name, exception=exception or "an exception"), detail)
    return Failure(status, kind.hidden.format(name=name), detail)


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
# Assembly: from replies to the value a check receives
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Assembly:
    """How replies become the checked value; stored as ``"value"``, ``"gradient"`` or ``"field:PATH"``.

    ``value``: the single reply. ``gradient``: forward, backward and probe
    replies as ``{"out", "grads", "probes"}`` (see ``QuestionBuilder.gradient``).
    ``field``: one entry of a task's dict reply, ``path`` as in :func:`extract`.
    """

    how: str
    path: str = ""

    HOWS = ("value", "gradient", "field")

    def __post_init__(self) -> None:
        if self.how not in self.HOWS or (self.how == "field") != bool(self.path):
            raise ValueError(f"an assembly is 'value', 'gradient' or 'field:PATH', got {self.to_data()!r}")

    @classmethod
    def parse(cls, text: str) -> "Assembly":
        how, _, path = str(text).partition(":")
        return cls(how, path)

    def to_data(self) -> str:
        return f"field:{self.path}" if self.how == "field" else self.how


def assemble(request: Request, assembly: Assembly, replies: Sequence[Reply], *, meta: dict | None = None,
             expected: Any = None, disclose: bool = True) -> tuple[Any, Failure | None]:
    """(the value the check receives, None), or (None, why there is none).

    ``meta`` and ``expected`` are the case's (a gradient case reads its flags
    and its probe directions from them); ``disclose`` as in :func:`describe_failure`.
    """
    if assembly.how == "gradient":
        return _assemble_gradient(request, replies, meta or {}, expected, disclose)
    reply = replies[0]
    name = request.target
    if not reply.ok:
        return None, describe_failure(reply, name, disclose=disclose)
    value = reply.value
    if value is None and isinstance(request, GetRequest):
        # The template's stubs are `NAME = None  # TODO: your answer`.
        return None, Failure(NOT_IMPLEMENTED, f"`{name}` is not answered yet (it is None)")
    if assembly.how == "field":
        try:
            value = extract(value, assembly.path)
        except (KeyError, IndexError, TypeError, ValueError):
            return None, Failure(ERROR, f"the grading harness got no {assembly.path!r} back from {name}")
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


def _assemble_gradient(request: Request, replies: Sequence[Reply], meta: dict, expected: Any,
                       disclose: bool) -> tuple[Any, Failure | None]:
    if not isinstance(request, CallRequest):
        raise ValueError(f"a gradient assembly needs a call request, got a {request.kind!r} request")
    fn_forward = request.calls[0].fn
    forward = replies[0]
    if not forward.ok:
        return None, describe_failure(forward, fn_forward, disclose=disclose)
    if meta.get("value_and_grad"):
        value = forward.value
        if not isinstance(value, list) or len(value) != 2:
            return None, Failure(FAILED, f"{fn_forward} must return a pair (loss, gradient); "
                                         f"it returned {_describe(value)}")
        out, grads = value[0], [value[1]]
        probe_replies = replies[1:]
    else:
        fn_backward = request.calls[1].fn
        backward = replies[1]
        if not backward.ok:
            return None, describe_failure(backward, fn_backward, disclose=disclose)
        out, grads = forward.value, backward.value
        if meta.get("single_gradient") and not isinstance(grads, list):
            grads = [grads]
        probe_replies = replies[2:]
    probes = []
    if all(r.ok for r in probe_replies):
        pairs = [(probe_replies[i], probe_replies[i + 1]) for i in range(0, len(probe_replies) - 1, 2)]
        for spec, (plus, minus) in zip(expected["directions"], pairs):
            probes.append({"input": spec["input"], "plus": plus.value, "minus": minus.value})
    return {"out": out, "grads": grads, "probes": probes}, None


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a sequence of length {len(value)}"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------
# Sessions: what answers requests
# --------------------------------------------------------------------------


@runtime_checkable
class Session(Protocol):
    """What the engine grades against: the sandbox session
    (``grader.engine.sandbox.SandboxSession``) and the answer-sheet session
    (``grader.engine.sheets.AnswerSheetSession``) both have this shape."""

    load_report: "LoadReport"
    isolation: str

    @property
    def stdout(self) -> str: ...

    @property
    def stderr(self) -> str: ...

    def call(self, calls: Sequence[Call], *, timeout: float | None = None) -> list[Reply]: ...

    def get(self, name: str, *, timeout: float | None = None) -> Reply: ...

    def task(self, name: str, params: dict | None = None, *, timeout: float | None = None) -> Reply: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Session": ...

    def __exit__(self, *exc: Any) -> None: ...
