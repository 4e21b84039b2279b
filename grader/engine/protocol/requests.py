"""What one case asks of a session: calls (with slot references), a name, a harness task, a trainer task.

Stored in a compiled assignment as plain data (``{"kind": "call", "calls": [...]}``,
``{"__slot__": NAME, "index": I}``): :func:`parse_request` and each type's
``from_data`` read it, ``to_data`` writes it back byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


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
MODEL_KINDS = ("task", "trainer")
"""The kinds that run a Keras harness task (in the student's process or the grader's trainer): each
imports TensorFlow, and most train, so they cost seconds to minutes where a call costs milliseconds."""


def runs_a_model(request: dict) -> bool:
    """Whether the stored ``request`` is of one of the :data:`MODEL_KINDS`."""
    return isinstance(request, dict) and request.get("kind") in MODEL_KINDS


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
