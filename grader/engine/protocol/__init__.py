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
export ships this package beside its notebook helper.

``statuses``: case statuses and :func:`shows_details`; ``requests``: calls,
slot references and requests; ``replies``: replies and their kinds;
``assembly``: from replies to a value; ``session``: the :class:`Session`
protocol and the load report.
"""

from __future__ import annotations

from grader.engine.protocol.assembly import Assembly, assemble, extract
from grader.engine.protocol.replies import (
    CHILD_KINDS,
    FAILURE_KINDS,
    REPLY_KINDS,
    UNKNOWN_KIND,
    Failure,
    Reply,
    ReplyKind,
    builtin_exception_name,
    describe_failure,
    exception_summary,
)
from grader.engine.protocol.requests import (
    MODEL_KINDS,
    REQUEST_KINDS,
    Call,
    CallRequest,
    GetRequest,
    Request,
    SlotRef,
    TaskRequest,
    TrainerRequest,
    parse_request,
    runs_a_model,
)
from grader.engine.protocol.session import CellReport, LoadReport, Session
from grader.engine.protocol.statuses import (
    ERROR,
    FAILED,
    INSTRUCTOR,
    NOT_IMPLEMENTED,
    PARTIAL,
    PASSED,
    STUDENT,
    TIMEOUT,
    VIEWS,
    shows_details,
)

__all__ = [
    "Assembly", "assemble", "extract",
    "CHILD_KINDS", "FAILURE_KINDS", "REPLY_KINDS", "UNKNOWN_KIND", "Failure", "Reply", "ReplyKind",
    "builtin_exception_name", "describe_failure", "exception_summary",
    "MODEL_KINDS", "REQUEST_KINDS", "Call", "CallRequest", "GetRequest", "Request", "SlotRef", "TaskRequest",
    "TrainerRequest", "parse_request", "runs_a_model",
    "CellReport", "LoadReport", "Session",
    "ERROR", "FAILED", "INSTRUCTOR", "NOT_IMPLEMENTED", "PARTIAL", "PASSED", "STUDENT", "TIMEOUT", "VIEWS",
    "shows_details",
]
