"""``AnswerSheetSession``: a read sheet answering the grading engine like a sandbox session does."""

from __future__ import annotations

import difflib
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from grader.engine.sandbox.types import LoadReport, Reply
from grader.engine.sheets.contents import is_blank
from grader.engine.sheets.files import MAX_SHEET_BYTES
from grader.engine.sheets.reader import read_sheet

ISOLATION = "answer sheet: no code was run"
NEEDS_CODE = ("this question needs code; an answer sheet can only answer values "
              "(submit a .py file for questions that call your functions)")

# Reply kinds this session uses. The engine knows "missing" (not implemented),
# "unsupported" and "not_loaded" today; grader/course/exam/grading.py words the
# messages for answer sheets. See the module docstring of grader/course/exam/grading.py.
NOT_ANSWERED_KIND = "not_answered"
UNREADABLE_KIND = "unreadable"
LOAD_FAILED_KIND = "not_loaded"


def _norm(key: str) -> str:
    return re.sub(r"[\s.\-]+", "_", key.strip().casefold())


class AnswerSheetSession:
    """An answer sheet, answering the grading engine like a sandbox session does.

    ``path``: a ``.toml``, ``.yaml`` or ``.yml`` file. ``expected_names``:
    the keys the assignment asks for (optional; used to list keys on the
    sheet that no question asks for). ``limits``, ``module_name`` and
    ``slot`` are accepted, and ignored, so that the engine can open either
    kind of session with the same call.
    """

    isolation = ISOLATION

    def __init__(self, path: str | os.PathLike, *, expected_names: Iterable[str] | None = None,
                 max_bytes: int = MAX_SHEET_BYTES, fmt: str | None = None, limits: Any = None,
                 module_name: str | None = None, slot: int | None = None) -> None:
        started = time.perf_counter()
        self.path = Path(path)
        self.contents = read_sheet(self.path, fmt=fmt, max_bytes=max_bytes)
        self.expected_names = list(expected_names) if expected_names is not None else None
        c = self.contents
        notes = list(c.notes)
        if c.ok and self.expected_names is not None:
            extra = sorted(k for k in c.values if k not in self.expected_names)
            if extra:
                notes.append("keys no question asks for (ignored): " + ", ".join(extra[:20])
                             + (" ..." if len(extra) > 20 else ""))
        self.notes = notes
        self.load_report = LoadReport(
            ok=c.ok,
            error=None if c.ok else f"could not read your answer sheet: {c.error}",
            kind="ok" if c.ok else c.kind,
            cells=[],
            seconds=round(time.perf_counter() - started, 6),
            main=self.path.name,
            notes=notes,
        )
        self._closed = False

    # -- what a key holds --------------------------------------------------
    def explain(self, name: str) -> tuple[str, str] | None:
        """Why ``name`` has no usable answer, as (``"not answered"`` | ``"unreadable"``, message); else None."""
        c = self.contents
        if not c.ok:
            return "unreadable", self.load_report.error
        if name in c.problems:
            problem = c.problems[name]
            return problem.kind, problem.message
        if name in c.values:
            if is_blank(c.values[name]):
                line = c.lines.get(name)
                return "not answered", f"`{name}` is not answered (it is blank{f' on line {line}' if line else ''})"
            return None
        return "not answered", self._missing_message(name)

    def _missing_message(self, name: str) -> str:
        c = self.contents
        head = f"`{name}` is not answered: your answer sheet has no key {name}"
        same = [k for k in c.values if k != name and _norm(k) == _norm(name)]
        if same:
            return (f"{head}, but it has {same[0]!r} - write the key exactly as {name} "
                    "(as on your blank answer sheet)")
        nested = self._find_nested(name)
        if nested:
            where = ".".join(nested)
            if c.format == "toml":
                return (f"{head} at the top of the file: it is inside the table [{where}] - write every "
                        "answer before any [table] line")
            return f"{head} at the start of a line: it is indented under `{where}:`"
        close = difflib.get_close_matches(_norm(name), {_norm(k): k for k in c.values if k not in
                                                        (self.expected_names or ())}, n=1, cutoff=0.75)
        if close:
            original = next(k for k in c.values if _norm(k) == close[0])
            return f"{head} (did you mean your key {original!r}? write the key exactly as {name})"
        return f"`{name}` is not answered (your answer sheet has no key {name})"

    def _find_nested(self, name: str) -> list[str] | None:
        def walk(d: dict, path: list[str], depth: int):
            if depth > 4:
                return None
            for k, v in d.items():
                if isinstance(v, dict):
                    if any(kk == name or _norm(kk) == _norm(name) for kk in v):
                        return path + [k]
                    found = walk(v, path + [k], depth + 1)
                    if found:
                        return found
            return None

        return walk(self.contents.values, [], 0)

    # -- the session interface --------------------------------------------
    def get(self, name: str, *, timeout: float | None = None) -> Reply:
        """The answer to ``name``; a failing reply (with the reason) when there is none."""
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        why = self.explain(name)
        if why is None:
            return Reply(True, self.contents.values[name], None, "ok")
        kind, message = why
        if not self.contents.ok:
            return Reply.failure(LOAD_FAILED_KIND, message)
        return Reply.failure(NOT_ANSWERED_KIND if kind == "not answered" else UNREADABLE_KIND, message)

    def call(self, calls: Sequence[Any], *, timeout: float | None = None) -> list[Reply]:
        """Questions that call code cannot be answered by a sheet: one failing reply per call."""
        return [Reply.failure(LOAD_FAILED_KIND, NEEDS_CODE) for _ in calls]

    def task(self, name: str, params: dict | None = None, *, timeout: float | None = None) -> Reply:
        return Reply.failure(LOAD_FAILED_KIND, NEEDS_CODE)

    def names(self, *, timeout: float | None = None) -> Reply:
        if not self.contents.ok:
            return Reply.failure(LOAD_FAILED_KIND, self.load_report.error)
        return Reply(True, sorted(self.contents.values), None, "ok")

    @property
    def stdout(self) -> str:
        return ""

    @property
    def stderr(self) -> str:
        """What the sheet reader noticed (lines ignored, unquoted answers ...), one line each."""
        return "".join(f"answer sheet: {note}\n" for note in self.notes)

    @property
    def sha256(self) -> str:
        return self.contents.sha256

    @property
    def alive(self) -> bool:
        return not self._closed

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> "AnswerSheetSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AnswerSheetSession {self.path.name} {self.contents.format} ok={self.contents.ok}>"
