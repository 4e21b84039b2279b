"""What the parent sends to the child and what it gets back: plain data only.

The request and reply types are the grading protocol's (:mod:`grader.engine.protocol`),
named here too for the sandbox's own modules; a load's report is the sandbox's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.engine.protocol import CHILD_KINDS, REPLY_KINDS, Call, Reply, SlotRef

__all__ = ["CHILD_KINDS", "REPLY_KINDS", "Call", "Reply", "SlotRef", "CellReport", "LoadReport"]


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
