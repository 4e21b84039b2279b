"""Why a cell of a submission failed, said so that a student can act on it.

The child reports each cell of a notebook or of a ``# %%`` script with its
index and its error. Here, in the parent, a failed cell of a script gets the
line its ``# %%`` marker is on (a script has no cell numbers a student can
see), and an error whose cause is one of the sandbox's limits names that
limit and its size ("OSError: [Errno 27] File too large" says neither).
"""

from __future__ import annotations

from pathlib import Path

from grader.engine.sandbox import Limits
from grader.engine.sandbox.child.loader import py_cells

__all__ = ["cell_lines", "describe_failed_cells", "explain_cell_error", "fmt_bytes", "load_problems"]

_FILE_TOO_LARGE = "[Errno 27] File too large"


def fmt_bytes(n: int) -> str:
    """16777216 -> '16 MiB'."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def cell_lines(submission: Path, main: str | None) -> dict[int, int]:
    """{cell index: line of its first line} for a ``# %%`` script; {} for a notebook or a plain script."""
    path = Path(submission)
    if path.is_dir():
        path = path / main if main else path
    if path.suffix != ".py" or not path.is_file():
        return {}
    try:
        cells = py_cells(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    lines = {}
    for index, padded in cells or []:
        blank = len(padded) - len(padded.lstrip("\n"))
        lines[index] = blank + 1
    return lines


def explain_cell_error(error: str | None, limits: Limits) -> str | None:
    """The error, with the limit that caused it named when it is one of the sandbox's."""
    if not error or _FILE_TOO_LARGE not in error:
        return error
    return (f"{error}\nYour code printed or wrote more than the output cap: {fmt_bytes(limits.file_bytes)} "
            "per file (the file_bytes limit), standard output included. Print less (not inside a long loop), "
            "or write less to files.")


def describe_failed_cells(cells: list[dict]) -> list[str]:
    """One paragraph per failed cell, with its line when known, in the order of the file."""
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("ok", True):
            continue
        line = cell.get("line")
        name = f"The cell at line {line}" if line else f"Cell {cell.get('index', '?')}"
        error = str(cell.get("error") or "no reason given")
        if error.startswith("not run: "):
            out.append(f"{name} was not run: {error[len('not run: '):]}")
        else:
            out.append(f"{name} raised: {error}")
    return out


def load_problems(load) -> list[str]:
    """What kept the submission, or some of its cells, from running (a ``LoadInfo``): the first
    thing every report shows, since a missing name in a question follows from it."""
    out = []
    if not load.ok:
        out.append(f"Your submission could not be loaded: {load.error}")
    failed = describe_failed_cells(load.cells)
    out += failed
    if failed:
        out.append("The other cells still ran, but what a failed cell should have defined is missing: "
                   "fix these first (a question saying that a name is not defined follows from them).")
    return out
