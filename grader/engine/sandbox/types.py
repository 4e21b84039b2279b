"""What the parent sends to the child and what it gets back: plain data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Reply kinds. ``ok`` carries a value; every other kind carries an error message.
REPLY_KINDS = ("ok", "exception", "timeout", "crashed", "missing", "not_callable", "unsupported",
               "protocol", "not_loaded", "budget", "restarts",
               "not_answered", "unreadable",  # answer sheets (grader/engine/sheets.py)
               "refused")  # the grader's own trainer refusing a model's architecture (grader/engine/trainer.py)
#: The kinds the child itself may report; the rest are decided by the parent.
CHILD_KINDS = frozenset(("ok", "exception", "missing", "not_callable", "unsupported"))


@dataclass(frozen=True)
class SlotRef:
    """An argument taken from a slot kept in the child (``index``: one element of it)."""

    slot: str
    index: int | str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.slot, str) or not self.slot:
            raise TypeError("SlotRef.slot must be a non-empty str")
        if not (self.index is None or isinstance(self.index, (int, str))) or isinstance(self.index, bool):
            raise TypeError("SlotRef.index must be None, an int or a str")


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


@dataclass
class Reply:
    """The outcome of one call, get or task. ``value`` is plain data decoded by the parent."""

    ok: bool
    value: Any
    error: str | None
    kind: str
    seconds: float = 0.0

    @classmethod
    def failure(cls, kind: str, error: str, seconds: float = 0.0) -> "Reply":
        return cls(False, None, error, kind, seconds)


@dataclass
class CellReport:
    """One code cell of a notebook: ``index`` is its position in the notebook's list of cells (0-based)."""

    index: int
    ok: bool
    error: str | None
    notes: list = field(default_factory=list)


@dataclass
class LoadReport:
    """How loading the submission went.

    ``kind``: ``ok``, ``exception`` (a ``.py`` raised at import, or the
    notebook could not be read), ``timeout``, ``crashed``, ``budget``,
    ``protocol``, ``missing`` (no ``.py``/``.ipynb`` to load) or ``rejected``
    (the submission is too large). ``main``: the file that was loaded.
    ``notes``: what was skipped or changed (links not copied, cells re-run).
    """

    ok: bool
    error: str | None
    kind: str
    cells: list = field(default_factory=list)
    seconds: float = 0.0
    main: str | None = None
    notes: list = field(default_factory=list)
