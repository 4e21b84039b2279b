"""What comes back for one call, and the words for a reply that carries no value.

:data:`FAILURE_KINDS` is the one table of reply kinds with their status and
message; :func:`describe_failure` words a failed reply for a public or a
hidden question."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from grader.engine.protocol.statuses import ERROR, FAILED, NOT_IMPLEMENTED, TIMEOUT


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
