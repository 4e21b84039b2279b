"""How replies become the value a check receives: ``"value"``, ``"gradient"`` or ``"field:PATH"``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from grader.engine.protocol.replies import Failure, Reply, describe_failure
from grader.engine.protocol.requests import CallRequest, GetRequest, Request
from grader.engine.protocol.statuses import ERROR, FAILED, NOT_IMPLEMENTED


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
