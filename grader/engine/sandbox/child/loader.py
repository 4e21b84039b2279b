"""Loading a submission inside the child: a ``.py`` as a module (cell by cell when it has ``# %%``
cells, like its notebook), an ``.ipynb`` cell by cell.

Self-contained (standard library only): the child runtime loads this file by
path inside the sandbox.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import linecache
import os
import re
import sys
import traceback
import types

MAX_ERROR_CHARS = 4000
MAX_FRAMES = 6


# ---------------------------------------------------------------------------
# Error messages
# ---------------------------------------------------------------------------

def _safe_str(value, limit: int = 300) -> str:
    try:
        text = repr(value)
    except BaseException:  # a hostile __repr__
        text = "<unprintable>"
    if not isinstance(text, str):
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _headline(exc: BaseException, prefix: str) -> str:
    """``TypeError: message`` on the first line (what a grader shows), details after it."""
    try:
        name = type(exc).__name__
        name = name[:100] if isinstance(name, str) else "Exception"
    except BaseException:
        name = "Exception"
    if isinstance(exc, SystemExit):
        return f"SystemExit: sys.exit({_safe_str(exc.code)}) was called"
    if isinstance(exc, SyntaxError):
        filename = exc.filename or ""
        filename = filename[len(prefix):] if filename.startswith(prefix) else filename
        where = f" ({filename}, line {exc.lineno})" if exc.lineno else ""
        head = f"{name}: {exc.msg}{where}"
        text = (exc.text or "").rstrip("\n")
        if text.strip():
            head += "\n    " + text.strip()[:200]
            if exc.offset and exc.offset > 0:
                indent = len(text) - len(text.lstrip())
                head += "\n    " + " " * max(0, min(exc.offset - 1 - indent, 200)) + "^"
        return head
    try:
        message = str(exc)
        message = message if isinstance(message, str) else "<exception str() failed>"
    except BaseException:  # a hostile __str__
        message = "<exception str() failed>"
    head = f"{name}: {message}" if message else name
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        head += "".join("\n" + n[:500] for n in notes[:5] if isinstance(n, str))
    return head


def describe_exception(exc: BaseException, workdir: str, *, library_frames: bool = False) -> str:
    """``TypeError: message``, then the last frames of the student's code.

    Frames of the child runtime and of libraries are left out, unless the
    student's code has no frame at all and ``library_frames`` is set (then the
    last few frames say where a library call failed).
    """
    prefix = workdir.rstrip("/") + "/"
    head = _headline(exc, prefix)
    if len(head) > MAX_ERROR_CHARS // 2:
        head = head[: MAX_ERROR_CHARS // 2] + " ... (truncated)"
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except BaseException:
        frames = []
    mine = [f for f in frames if f.filename.startswith(prefix) or f.filename.startswith("<cell ")]
    shown = mine[-MAX_FRAMES:]
    if not shown and library_frames:
        runtime = os.path.dirname(os.path.abspath(__file__))
        shown = [f for f in frames if not f.filename.startswith(runtime)][-3:]
    if not shown:
        return head
    lines = [head, "Traceback (most recent call last, your code only):" if mine else "Traceback (most recent call last):"]
    for frame in shown:
        name = frame.filename[len(prefix):] if frame.filename.startswith(prefix) else frame.filename
        lines.append(f'  File "{name}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()[:200]}")
    text = "\n".join(lines)
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + "\n..."
    return text


# ---------------------------------------------------------------------------
# IPython stand-ins, so code exported from Jupyter still runs
# ---------------------------------------------------------------------------

class _IPythonStandIn:
    """What ``get_ipython()`` returns here: every magic is a no-op."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    def getoutput(self, *args, **kwargs):
        return []

    def magic(self, *args, **kwargs):
        return None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


_STAND_IN = _IPythonStandIn()


def _get_ipython():
    return _STAND_IN


def _display(*objs, **kwargs):
    for obj in objs:
        print(obj)


def install_stand_ins() -> None:
    if not hasattr(builtins, "get_ipython"):
        builtins.get_ipython = _get_ipython
    if not hasattr(builtins, "display"):
        builtins.display = _display


# ---------------------------------------------------------------------------
# .py
# ---------------------------------------------------------------------------

def load_py(path: str, module_name: str, workdir: str, guard) -> tuple[types.ModuleType, dict]:
    """Execute ``path`` as a fresh module named ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        guard(spec.loader.exec_module, module)
    except BaseException as exc:  # everything the student raises is reported
        error = describe_exception(exc, workdir)
        if isinstance(exc, SystemExit):
            first, _, rest = error.partition("\n")
            error = first + " while importing the submission" + ("\n" + rest if rest else "")
        return module, {"ok": False, "kind": "exception", "error": error, "cells": []}
    return module, {"ok": True, "kind": "ok", "error": None, "cells": []}


_CELL_MARKER = re.compile(r"^# ?%%")


def py_cells(source: str) -> list[tuple[int, str]] | None:
    """The ``# %%`` cells of a script (jupytext's percent format), or None when it has none.

    Each cell keeps its place in the file (it is padded with blank lines), so
    tracebacks give the script's own line numbers. Markdown cells are comments
    and run as nothing.
    """
    lines = source.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _CELL_MARKER.match(line)]
    if not starts:
        return None
    if any(line.strip() for line in lines[:starts[0]]):
        starts.insert(0, 0)
    bounds = starts + [len(lines)]
    return [(n, "\n" * start + "".join(lines[start:end])) for n, (start, end) in enumerate(zip(bounds, bounds[1:]))]


def load_py_cells(path: str, module_name: str, cells: list[tuple[int, str]], workdir: str, guard, skip: dict,
                  progress) -> tuple[types.ModuleType, dict]:
    """Run a percent-format script cell by cell, as its notebook would run: a failing cell costs only itself."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    return module, run_cells(module, cells, workdir, guard, skip, progress, filename=lambda index: path,
                             transform=lambda source: (source, []))


# ---------------------------------------------------------------------------
# .ipynb
# ---------------------------------------------------------------------------

_TIMEIT_OPTS_WITH_VALUE = {"-n", "-r", "-p"}
_CELL_MAGICS_AS_PYTHON = {"time", "timeit", "capture", "prun", "memit"}
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[%!]")


def notebook_code_cells(path: str) -> list[tuple[int, str]]:
    """(index in the notebook's cell list, source) of each code cell. Raises ValueError."""
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the notebook is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(nb, dict):
        raise ValueError("the notebook is not a JSON object")
    cells = nb.get("cells")
    source_key = "source"
    if cells is None and isinstance(nb.get("worksheets"), list) and nb["worksheets"]:
        cells = nb["worksheets"][0].get("cells") if isinstance(nb["worksheets"][0], dict) else None
        source_key = "input"
    if not isinstance(cells, list):
        raise ValueError("the notebook has no list of cells")
    out = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get(source_key, "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        out.append((index, source))
    return out


def _strip_timeit_options(rest: str) -> str:
    words = rest.split(" ")
    i = 0
    while i < len(words):
        word = words[i]
        if word == "":
            i += 1
        elif word in _TIMEIT_OPTS_WITH_VALUE:
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            break
    return " ".join(words[i:])


def _transform_line(line: str, notes: list, lineno: int) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if not stripped:
        return line
    assigned = _ASSIGNED_MAGIC.match(line)
    if assigned:
        notes.append(f"line {lineno}: IPython magic or shell command skipped ({stripped.strip()[:60]})")
        return f"{assigned.group(1)}{assigned.group(2)} = None"
    if stripped.startswith("%") and not stripped.startswith("%%"):
        name, _, rest = stripped[1:].partition(" ")
        if name in ("time", "timeit", "prun") and rest.strip():
            body = _strip_timeit_options(rest.strip()) if name != "time" else rest.strip()
            notes.append(f"line {lineno}: %{name} removed, the statement runs once")
            return indent + body
        notes.append(f"line {lineno}: IPython magic skipped ({stripped.strip()[:60]})")
        return indent + "pass"
    if stripped.startswith("!"):
        notes.append(f"line {lineno}: shell command skipped ({stripped.strip()[:60]})")
        return indent + "pass"
    if stripped.rstrip().endswith("?") and re.match(r"^[\w.]+\?{1,2}\s*$", stripped):
        notes.append(f"line {lineno}: IPython help request skipped ({stripped.strip()[:60]})")
        return indent + "pass"
    return line


def transform_cell(source: str, workdir: str) -> tuple[str | None, list]:
    """Python code for a notebook cell (None: nothing to run) and notes on what was changed."""
    notes: list = []
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None, notes
    head = lines[first].strip()
    if head.startswith("%%"):
        name, _, rest = head[2:].partition(" ")
        body = "\n".join([""] * (first + 1) + lines[first + 1:])
        if name in _CELL_MAGICS_AS_PYTHON:
            notes.append(f"cell magic %%{name} removed, the cell runs once")
            source = body
        elif name in ("writefile", "file"):
            args = rest.split()
            append = "-a" in args or "--append" in args
            names = [a for a in args if not a.startswith("-")]
            if not names:
                notes.append("%%writefile without a file name skipped")
                return None, notes
            target = os.path.join(workdir, names[0])
            with open(target, "a" if append else "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines[first + 1:]))
            notes.append(f"%%writefile wrote {names[0]}")
            return None, notes
        else:
            notes.append(f"cell magic %%{name} skipped (not Python)")
            return None, notes
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
        return source, notes
    except SyntaxError:
        pass
    except (ValueError, OverflowError, MemoryError, RecursionError):
        return source, notes
    out = [_transform_line(line, notes, n + 1) for n, line in enumerate(source.split("\n"))]
    return "\n".join(out), notes


def load_ipynb(path: str, module_name: str, workdir: str, guard, skip: dict, progress) -> tuple[types.ModuleType, dict]:
    """Run the notebook's code cells in order in one namespace."""
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules[module_name] = module
    sys.modules["__main__"] = module
    try:
        cells = notebook_code_cells(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        return module, {"ok": False, "kind": "exception", "error": str(exc), "cells": []}
    return module, run_cells(module, cells, workdir, guard, skip, progress, filename=lambda index: f"<cell {index}>",
                             transform=lambda source: transform_cell(source, workdir))


def run_cells(module: types.ModuleType, cells: list[tuple[int, str]], workdir: str, guard, skip: dict, progress,
              *, filename, transform) -> dict:
    """Run ``cells`` in order in ``module``'s namespace; a cell that raises is reported and the rest still run.

    ``skip`` maps cell indices (as strings) to the reason they are not run
    (they timed out or killed the process in an earlier attempt).
    ``progress(event, data)`` is called before and after each cell.
    """
    reports = []
    for index, source in cells:
        if str(index) in skip:
            report = {"index": index, "ok": False, "error": f"not run: {skip[str(index)]}", "notes": []}
            reports.append(report)
            progress("cell", report)
            continue
        progress("cell_start", {"index": index})
        error = None
        notes: list = []
        try:
            code_text, notes = transform(source)
            if code_text is not None:
                name = filename(index)
                if name.startswith("<"):
                    linecache.cache[name] = (len(code_text), None, code_text.splitlines(True), name)
                code = compile(code_text, name, "exec", dont_inherit=True)
                guard(exec, code, module.__dict__)
        except BaseException as exc:  # reported per cell
            error = describe_exception(exc, workdir)
        report = {"index": index, "ok": error is None, "error": error, "notes": notes}
        reports.append(report)
        progress("cell", report)
    return {"ok": True, "kind": "ok", "error": None, "cells": reports}
