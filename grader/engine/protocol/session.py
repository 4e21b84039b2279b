"""What answers requests: a session (the sandboxed child, or an answer sheet) and its load report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from grader.engine.protocol.replies import Reply
from grader.engine.protocol.requests import Call


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



@runtime_checkable
class Session(Protocol):
    """What the engine grades against: the sandbox session
    (``grader.engine.sandbox.SandboxSession``) and the answer-sheet session
    (``grader.engine.sheets.AnswerSheetSession``) both have this shape."""

    load_report: LoadReport
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
