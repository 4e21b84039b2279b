"""Answer sheets: a student's answers as a plain TOML or YAML file, graded without running code.

An answer sheet holds one line per answer, ``KEY = value`` (TOML) or
``KEY: value`` (YAML), with the keys of the exam's paper::

    NET_HIDDEN_A = [0.5933, 0.5969]     # a list of numbers
    NET_LOSS = 0.2984                   # a number
    CORRELATION = [[0, 1], [-1, -1]]    # a matrix: one list per row
    DERIVATIVE = "2*x*exp(x^2)"         # an expression, in quotes

:class:`AnswerSheetSession` reads such a file in the grading parent with safe
parsers only (``tomllib``; PyYAML's safe loader) and answers the engine's
requests like a sandbox session does: ``get(KEY)`` is the value on the sheet.
Nothing in the sheet is ever executed; questions that need code (``call``,
``task``) are answered with a failure saying so.

How a sheet is read (one bad answer costs one answer)
-----------------------------------------------------
- Keys are exact (``NET_LOSS``, not ``net_loss`` or ``NET-LOSS``); a question
  whose key is absent is "not answered", and the message names a near miss on
  the sheet ("did you mean ..."), a key inside a ``[table]`` or indented under
  another key.
- A blank answer (``KEY =`` with nothing after it, ``KEY = ""``, ``KEY = []``,
  YAML's ``KEY:``) is "not answered". The blank sheets ``dlgrade exam sheet``
  writes are made of such lines.
- When the whole file is not valid TOML (a blank ``KEY =`` line, an
  expression without quotes, ``.5``, a decimal comma ...), it is read again
  statement by statement: every readable ``KEY = value`` counts; an
  unreadable one costs only its own question, with the parser's message and
  line; an unquoted value containing letters (``DERIVATIVE = 2*x``) is read
  as the text it is. YAML sheets are re-read block by block the same way.
  Only a file with no readable ``KEY = value`` statement at all is refused as
  a whole (``load_report.ok`` is False, with the parser's line and column).
- A key given twice is ambiguous and counts as unreadable.
- Dates and other non-numbers are handed to the checks as text, so the
  question's check says what was expected instead.
- Size: at most :data:`MAX_SHEET_BYTES`; links, devices and binary files
  (a Word or PDF document) are refused with a message.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import json
import math
import os
import re
import stat
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from grader.engine.sandbox.types import LoadReport, Reply

__all__ = [
    "MAX_SHEET_BYTES", "SHEET_FORMATS", "AnswerSheetSession", "SheetContents", "Problem", "read_sheet",
    "sheet_format", "is_answer_sheet", "answer_keys", "AnswerKey", "expected_answers", "render_sheet",
    "NEEDS_CODE", "ISOLATION",
]

MAX_SHEET_BYTES = 256 * 1024
MAX_RECOVERY_LINES = 5000
MAX_YAML_FLOW_DEPTH = 32       # a matrix is 2 deep; a sheet never needs more than a few
MAX_STATEMENT_LINES = 200
MAX_NODES = 100_000
MAX_DEPTH = 32
SHEET_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
ISOLATION = "answer sheet: no code was run"
NEEDS_CODE = ("this question needs code; an answer sheet can only answer values "
              "(submit a .py file for questions that call your functions)")

# Reply kinds this session uses. The engine knows "missing" (not implemented),
# "unsupported" and "not_loaded" today; grader/course/exam/grading.py words the
# messages for answer sheets. See the module docstring of grader/course/exam/grading.py.
NOT_ANSWERED_KIND = "not_answered"
UNREADABLE_KIND = "unreadable"
LOAD_FAILED_KIND = "not_loaded"


def sheet_format(path: str | os.PathLike) -> str | None:
    """``"toml"`` or ``"yaml"`` by the file's extension, else None."""
    return SHEET_FORMATS.get(Path(path).suffix.lower())


def is_answer_sheet(path: str | os.PathLike) -> bool:
    return sheet_format(path) is not None


def sheet_in_folder(folder: str | os.PathLike) -> Path | None:
    """The answer sheet of a submission folder that holds one sheet and no code, else None."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if any(p.suffix in (".py", ".ipynb") for p in files):
        return None
    sheets = [p for p in files if is_answer_sheet(p)]
    return sheets[0] if len(sheets) == 1 else None


def answer_sheet_of(submission: str | os.PathLike) -> Path | None:
    """The sheet to read when ``submission`` is answered on a sheet (a file or a folder with one), else None."""
    submission = Path(submission)
    return submission if is_answer_sheet(submission) else sheet_in_folder(submission)


# ==========================================================================
# Reading
# ==========================================================================


@dataclass
class Problem:
    """Why a key has no usable answer: ``kind`` is "not answered" or "unreadable"."""

    kind: str
    message: str


@dataclass
class SheetContents:
    """What was read from a sheet: values by top-level key, problems by key, notes."""

    format: str
    ok: bool
    kind: str = "ok"                      # ok, exception (unreadable), rejected, missing
    error: str | None = None
    values: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)   # key -> Problem
    lines: dict = field(default_factory=dict)      # key -> line number (when known)
    notes: list = field(default_factory=list)
    recovered: bool = False               # read statement by statement
    sha256: str = ""


class _Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _human_bytes(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; refuses links, non-regular files and files over ``max_bytes``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _Refused("missing", f"there is no answer sheet at {path.name}") from None
    except OSError as exc:
        if os.path.islink(path):
            raise _Refused("rejected", "your answer sheet is a link; submit the file itself") from None
        if os.path.isdir(path):
            raise _Refused("rejected", f"{path.name} is a folder, not an answer sheet") from None
        raise _Refused("rejected", f"your answer sheet cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise _Refused("rejected", f"{path.name} is {what}, not an answer sheet")
        if info.st_size > max_bytes:
            raise _Refused("rejected", f"your answer sheet is {_human_bytes(info.st_size)}; an answer sheet "
                                       f"may be at most {_human_bytes(max_bytes)}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we read it
                raise _Refused("rejected", f"your answer sheet is larger than {_human_bytes(max_bytes)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _decode(data: bytes, notes: list[str]) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _Refused("exception", "your answer sheet starts like UTF-16 text but cannot be read as it; "
                                        "save it as UTF-8 plain text") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:8192]
    if b"\0" in head or head.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"{\\rtf")):
        raise _Refused("rejected", "your answer sheet is not a plain text file (is it a Word, PDF or RTF "
                                   "document?): save it as plain text (.toml or .yaml)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        notes.append(f"your answer sheet is not valid UTF-8 text (byte {exc.start}); characters that could "
                     "not be read were replaced by \ufffd")
        return data.decode("utf-8", errors="replace")


# -- plain values -------------------------------------------------------------

class _TooLarge(Exception):
    pass


def _plain(value: Any, budget: list[int], depth: int = 0) -> Any:
    """A copy of ``value`` holding only None, bool, int, float, str, list and dict (str keys).

    Dates and times become their ISO text, binary data and other scalars a
    description, so that a check can say what it expected instead.
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"<binary data of {len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, budget, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    return str(value)[:200]


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


# -- TOML ---------------------------------------------------------------------

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')"""
_TOML_STATEMENT = re.compile(rf"^\s*(?P<key>{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(?P<value>.*)$")
_TOML_TABLE = re.compile(rf"^\s*\[\s*(?P<name>{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]\s*(?:#.*)?$")
_TOML_ARRAY_TABLE = re.compile(r"^\s*\[\[.*\]\]\s*(?:#.*)?$")
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_AT_END = "(at end of document)"


def _key_parts(key: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(_KEY_PART, key)]


def _shift(message: str, first_line: int, last_line: int) -> str:
    """tomllib's position, relative to one statement, moved to the sheet's line numbers."""
    message = _AT.sub(lambda m: f"(line {int(m.group(1)) + first_line - 1}, column {m.group(2)})", message)
    return message.replace(_AT_END, f"(at the end of line {last_line})")


def _value_hint(raw: str, fmt: str = "toml") -> str:
    """A hint about a value the parser refused, from its text."""
    text = raw.strip()
    if fmt == "toml" and re.fullmatch(r"[+-]?\.\d+", text):
        fixed = text.replace(".", "0.", 1)
        return f" - TOML needs a digit before the decimal point: write {fixed}, not {text}"
    if re.fullmatch(r"[+-]?\d+\s*/\s*\d+", text):
        return " - write a decimal number (0.3333), not a fraction"
    if re.search(r"\d,\d", text) and not text.startswith("["):
        return " - use a decimal point, not a comma (0.25, not 0,25)"
    if text.count("[") > text.count("]"):
        return " - a [ is not closed: a list ends with ], a matrix with ]]"
    if text.count('"') % 2 == 1:
        return ' - a text in quotes is not closed: end it with "'
    if fmt == "toml" and re.fullmatch(r"[+-]?\d+\.", text):
        return f" - TOML needs a digit after the decimal point: write {text}0, not {text}"
    return ""


class _Openness:
    """Fed a TOML statement line by line: is a bracket, a brace or a multi-line string still open?"""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string: str | None = None   # the delimiter of an open multi-line string

    def feed(self, line: str) -> bool:
        i, n = 0, len(line)
        while i < n:
            if self.in_string:
                close = line.find(self.in_string, i)
                if close < 0:
                    return True
                i, self.in_string = close + 3, None
                continue
            ch = line[i]
            if ch == "#":
                break
            if line.startswith(('"""', "'''"), i):
                self.in_string = line[i:i + 3]
                i += 3
                continue
            if ch in "\"'":
                j = i + 1
                while j < n and line[j] != ch:
                    j += 2 if (ch == '"' and line[j] == "\\") else 1
                i = j + 1
                continue
            if ch in "[{":
                self.depth += 1
            elif ch in "]}":
                self.depth -= 1
            i += 1
        return self.depth > 0 or self.in_string is not None


def _strip_comment(raw: str) -> str:
    """The value text before a # comment (only for text without quotes)."""
    return raw.split("#", 1)[0].strip()


def _merge(target: dict, parsed: dict, table: list[str], line: int, contents: SheetContents,
           first_seen: dict) -> None:
    dest = target
    for part in table:
        existing = dest.get(part)
        if not isinstance(existing, dict):
            existing = {}
            dest[part] = existing
        dest = existing
    for key, value in parsed.items():
        if not table:
            if key in first_seen:
                contents.problems[key] = Problem(
                    "unreadable", f"`{key}` is answered twice (lines {first_seen[key]} and {line}); keep only one")
                dest.pop(key, None)
                continue
            first_seen[key] = line
            contents.lines[key] = line
        dest[key] = value


def _toml_recover(text: str, contents: SheetContents) -> int:
    """Read a sheet that is not valid TOML statement by statement; the number of statements found."""
    lines = text.splitlines()
    if len(lines) > MAX_RECOVERY_LINES:
        return 0
    data: dict = {}
    first_seen: dict[str, int] = {}
    table: list[str] = []
    statements = 0
    ignored: list[int] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if _TOML_ARRAY_TABLE.match(line):
            table = ["[[" + stripped.strip("[] ") + "]]"]
            ignored.append(i + 1)
            i += 1
            continue
        header = _TOML_TABLE.match(line)
        if header:
            table = _key_parts(header.group("name"))
            i += 1
            continue
        m = _TOML_STATEMENT.match(line)
        if not m:
            ignored.append(i + 1)
            i += 1
            continue
        statements += 1
        key_text, raw = m.group("key"), m.group("value")
        top = _key_parts(key_text)[0] if not table else None
        if not raw.strip() or raw.strip().startswith("#") or _strip_comment(raw) in ("None", "null", "~"):
            if top is not None:
                contents.lines.setdefault(top, i + 1)
                contents.problems.setdefault(top, Problem(
                    "not answered", f"`{top}` is not answered (nothing after the = on line {i + 1})"))
            i += 1
            continue
        # The statement: this line, and the next ones while a [ { or a multi-line string is open.
        end, parsed, first_error = i, None, None
        openness = _Openness()
        still_open = openness.feed(raw)
        while (still_open and end + 1 < len(lines) and end + 1 - i < MAX_STATEMENT_LINES
               and not (_TOML_STATEMENT.match(lines[end + 1]) or _TOML_TABLE.match(lines[end + 1])
                        or _TOML_ARRAY_TABLE.match(lines[end + 1]))):
            end += 1
            still_open = openness.feed(lines[end])
        for last in sorted({end, i}, reverse=True):  # the whole statement, else its first line alone
            try:
                parsed = _toml_loads("\n".join(lines[i:last + 1]))
                end = last
                break
            except tomllib.TOMLDecodeError as exc:
                if first_error is None or last == i:
                    first_error = _shift(str(exc), i + 1, last + 1)
        if parsed is not None:
            _merge(data, parsed, table, i + 1, contents, first_seen)
            i = end + 1
            continue
        # Unreadable: an unquoted text with letters is taken as the text it is (an expression
        # without its quotes); anything else costs this key only.
        value_text = _strip_comment(raw)
        if (top is not None and re.search(r"[A-Za-z]", value_text) and not re.search(r"[\"'\[\]{}]", value_text)
                and value_text.lower() not in ("true", "false", "nan", "inf")):
            _merge(data, {top: value_text}, table, i + 1, contents, first_seen)
            contents.notes.append(f"line {i + 1}: the answer to {top} is not in quotes; it was read as the "
                                  f"text {json.dumps(value_text)}")
        elif top is not None:
            contents.lines.setdefault(top, i + 1)
            if top not in contents.problems:
                contents.problems[top] = Problem(
                    "unreadable", f"could not read your answer to `{top}` on line {i + 1}: "
                                  f"{first_error}{_value_hint(value_text if value_text else raw)}")
        else:
            ignored.append(i + 1)
        i += 1
    if ignored:
        shown = ", ".join(map(str, ignored[:10])) + (" ..." if len(ignored) > 10 else "")
        contents.notes.append(f"line{'s' if len(ignored) > 1 else ''} {shown} of your answer sheet "
                              "could not be read as KEY = value and were ignored")
    for key in list(data):
        if key in contents.problems and contents.problems[key].kind == "not answered" and key in data:
            contents.problems.pop(key)   # a blank line and an answer: the answer counts
    contents.values = data
    return statements


# -- YAML ---------------------------------------------------------------------

_YAML_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_YAML_BLOCK_START = re.compile(r"""^(?P<key>"[^"\n]*"|'[^'\n]*'|[^\s#\-:'"\[\]{}][^:#]*?)\s*:(?:\s|$)""")


def _yaml_loader():
    """PyYAML's SafeLoader, plus 1e-3 read as a number and duplicate top-level keys recorded."""
    import yaml

    class SheetLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self.root = None
            self.duplicates: list[tuple[str, int, int]] = []
            self.key_lines: dict[str, int] = {}

        def construct_document(self, node):
            self.root = node
            return super().construct_document(node)

        def construct_mapping(self, node, deep=False):
            if node is self.root and isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        line = key_node.start_mark.line + 1
                        if key_node.value in self.key_lines:
                            self.duplicates.append((key_node.value, self.key_lines[key_node.value], line))
                        else:
                            self.key_lines[key_node.value] = line
            return super().construct_mapping(node, deep)

    SheetLoader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789."))
    return SheetLoader, yaml.YAMLError


def _flow_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text`` (those inside quotes count too: an overestimate)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _yaml_load(text: str, line_offset: int = 0):
    """(data, duplicates, key_lines) or raises (message, line)."""
    # PyYAML's scanner keeps a possible key per open [ or { and walks them all at every token: a few
    # thousand [ took seconds of CPU each, so nesting is bounded before PyYAML reads anything.
    if _flow_depth(text) > MAX_YAML_FLOW_DEPTH:
        raise ValueError(f"the YAML is nested too deeply (more than {MAX_YAML_FLOW_DEPTH} levels of [ and {{)")
    Loader, YAMLError = _yaml_loader()
    try:
        loader = Loader(text)  # its reader refuses control characters already here
    except YAMLError as exc:
        raise ValueError(getattr(exc, "problem", None) or str(exc).splitlines()[0]) from None
    try:
        data = loader.get_single_data()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" (line {mark.line + 1 + line_offset}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{problem}{where}") from None
    except RecursionError:
        raise ValueError("the YAML is nested too deeply") from None
    finally:
        loader.dispose()
    return data, loader.duplicates, {k: v + line_offset for k, v in loader.key_lines.items()}


def _yaml_recover(text: str, contents: SheetContents) -> int:
    lines = text.splitlines()
    if len(lines) > MAX_RECOVERY_LINES:
        return 0
    # A block is a KEY: line at the start of a line, with the lines that continue it
    # (blank, comments, indented, or "- item" lines); any other line ends it.
    blocks: list[tuple[int, int, str]] = []   # (first line index, end index, key text)
    ignored: list[int] = []
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#") or line[:1].isspace() or line.startswith("-"):
            continue
        if blocks and blocks[-1][1] == -1:
            blocks[-1] = (blocks[-1][0], i, blocks[-1][2])
        m = _YAML_BLOCK_START.match(line)
        if m:
            blocks.append((i, -1, m.group("key").strip().strip("\"'")))
        else:
            ignored.append(i + 1)
    if blocks and blocks[-1][1] == -1:
        blocks[-1] = (blocks[-1][0], len(lines), blocks[-1][2])
    data: dict = {}
    for start, end, key in blocks:
        chunk = "\n".join(lines[start:end])
        try:
            parsed, _, _ = _yaml_load(chunk, line_offset=start)
        except ValueError as exc:
            raw = lines[start].split(":", 1)[1] if ":" in lines[start] else ""
            raw = "\n".join([raw] + lines[start + 1:end]).split(" #", 1)[0]
            contents.lines.setdefault(key, start + 1)
            contents.problems.setdefault(key, Problem(
                "unreadable", f"could not read your answer to `{key}` on line {start + 1}: {exc}"
                              f"{_value_hint(raw, 'yaml')}"))
            continue
        if not isinstance(parsed, dict):
            ignored.append(start + 1)
            continue
        for k, v in parsed.items():
            k = str(k)
            if k in data or (k in contents.problems and contents.problems[k].kind == "unreadable"):
                contents.problems[k] = Problem(
                    "unreadable", f"`{k}` is answered twice (lines {contents.lines.get(k, '?')} and {start + 1}); "
                                  "keep only one")
                data.pop(k, None)
                continue
            data[k] = v
            contents.lines[k] = start + 1
    if ignored:
        shown = ", ".join(map(str, ignored[:10])) + (" ..." if len(ignored) > 10 else "")
        contents.notes.append(f"line{'s' if len(ignored) > 1 else ''} {shown} of your answer sheet could not be "
                              "read as KEY: value and were ignored")
    contents.values = data
    return len(blocks)


# -- the reader ---------------------------------------------------------------

def read_sheet(path: str | os.PathLike, *, fmt: str | None = None,
               max_bytes: int = MAX_SHEET_BYTES) -> SheetContents:
    """Read an answer sheet; never raises for anything in the file."""
    path = Path(path)
    fmt = fmt or sheet_format(path)
    contents = SheetContents(format=fmt or "?", ok=False)
    if fmt not in ("toml", "yaml"):
        contents.kind = "rejected"
        contents.error = (f"{path.name} is not an answer sheet: an answer sheet is a .toml, .yaml or .yml file")
        return contents
    try:
        raw = _read_bytes(path, max_bytes)
        digest = hashlib.sha256()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        contents.sha256 = digest.hexdigest()
        text = _decode(raw, contents.notes)
    except _Refused as exc:
        contents.kind, contents.error = exc.kind, str(exc)
        return contents

    if fmt == "toml":
        _read_toml(text, contents)
    else:
        _read_yaml(text, contents)
    if contents.ok:
        _sanitize(contents)
        if not contents.values and not contents.problems:
            contents.notes.append("your answer sheet is empty: no question is answered")
    return contents


def _toml_loads(text: str) -> dict:
    """``tomllib.loads``; nesting too deep for its recursive parser (``[[[[...``) is a TOMLDecodeError too."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("the TOML is nested too deeply (a [ or { that is not closed?)") from None


def _read_toml(text: str, contents: SheetContents) -> None:
    try:
        contents.values = _toml_loads(text)
        contents.ok = True
        return
    except tomllib.TOMLDecodeError as exc:
        strict_error = str(exc).replace(_AT_END, "(at the end of the file)")
    found = _toml_recover(text, contents)
    if found == 0:
        contents.values, contents.problems, contents.notes[:] = {}, {}, []
        contents.kind = "exception"
        contents.error = f"it is not a TOML answer sheet of KEY = value lines: {strict_error}"
        return
    contents.ok = True
    contents.recovered = True
    contents.notes.insert(0, f"your answer sheet is not valid TOML ({strict_error}); it was read line by line")


def _read_yaml(text: str, contents: SheetContents) -> None:
    try:
        import yaml  # noqa: F401
    except ImportError:
        contents.kind = "exception"
        contents.error = "YAML answer sheets cannot be read on this grader (PyYAML is not installed): use .toml"
        return
    try:
        data, duplicates, key_lines = _yaml_load(text)
    except ValueError as exc:
        strict_error = str(exc)
    else:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            contents.kind = "exception"
            contents.error = (f"the answer sheet must be made of KEY: value lines, but it holds "
                              f"{'a list' if isinstance(data, list) else 'a single value'}")
            return
        contents.values = {str(k): v for k, v in data.items()}
        contents.lines = {str(k): v for k, v in key_lines.items()}
        for key, first, second in duplicates:
            contents.problems[key] = Problem(
                "unreadable", f"`{key}` is answered twice (lines {first} and {second}); keep only one")
            contents.values.pop(key, None)
        contents.ok = True
        return
    found = _yaml_recover(text, contents)
    if found == 0:
        contents.values, contents.problems, contents.notes[:] = {}, {}, []
        contents.kind = "exception"
        contents.error = f"it is not a YAML answer sheet of KEY: value lines: {strict_error}"
        return
    contents.ok = True
    contents.recovered = True
    contents.notes.insert(0, f"your answer sheet is not valid YAML ({strict_error}); it was read key by key")


def _sanitize(contents: SheetContents) -> None:
    budget = [MAX_NODES]
    clean: dict = {}
    for key, value in contents.values.items():
        key = str(key)
        try:
            clean[key] = _plain(value, budget)
        except (_TooLarge, RecursionError):
            contents.problems[key] = Problem(
                "unreadable", f"your answer to `{key}` is too large or nested too deeply to be read")
    contents.values = clean


# ==========================================================================
# The session
# ==========================================================================


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
            if _is_blank(c.values[name]):
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


# ==========================================================================
# Writing sheets (blank, or filled in with the expected answers for a key)
# ==========================================================================


@dataclass
class AnswerKey:
    """One answer of a compiled assignment: its key, question, points and form."""

    key: str
    question: str          # the question's name
    question_title: str
    number: int            # the question's position, from 1
    points: float          # this answer's share of the question's points
    form: str              # what to write ("a number", ...)
    what: str              # what it is ("the loss L", ...)
    expected: Any
    check: Any


def _form_of(case) -> str:
    meta = case.meta or {}
    if meta.get("form"):
        return str(meta["form"])
    kind = getattr(case.check, "kind", "")
    if kind == "expression":
        return "an expression in quotes"
    expected = case.expected
    if isinstance(expected, str):
        return "a text in quotes"
    try:
        import numpy as np

        ndim = np.ndim(expected)
    except Exception:
        ndim = 0
    if ndim == 0:
        return "a number"
    if ndim == 1:
        return "a list of numbers"
    return "a matrix written as a list of rows"


def answer_keys(compiled) -> list[AnswerKey]:
    """Every value a sheet can answer (cases that read a name), in the paper's order."""
    keys: list[AnswerKey] = []
    for number, question in enumerate(compiled.questions, start=1):
        total = sum(c.weight for c in question.cases) or 1.0
        for case in question.cases:
            if case.request.get("kind") != "get":
                continue
            share = question.points * case.weight / total if question.scoring == "partial" else question.points
            keys.append(AnswerKey(case.request["name"], question.name, question.title, number, share,
                                  _form_of(case), str((case.meta or {}).get("what", "")), case.expected,
                                  case.check))
    return keys


def as_plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and Python numbers; whole floats as ints."""
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def expected_answers(compiled) -> dict[str, Any]:
    """The expected value of every key, as plain data (the instructor's filled-in sheet)."""
    return {k.key: as_plain(k.expected) for k in answer_keys(compiled)}


def _literal(value: Any, fmt: str) -> str:
    value = as_plain(value)
    if isinstance(value, bool):
        return repr(value) if fmt == "py" else str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        if fmt == "py":
            return f"float({str(value)!r})"
        if fmt == "yaml":
            return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, fmt) for v in value) + "]"
    if value is None:
        return "None" if fmt == "py" else ""
    return json.dumps(value, ensure_ascii=False)


_HOW = {
    "toml": [
        "How to fill it in: write each answer after the = of its key, on the same line.",
        "  numbers: 0.2984 (a digit before the decimal point, no quotes)",
        "  lists: [0.5933, 0.5969]   matrices, one list per row: [[1, 2], [3, 4]]",
        '  expressions: in double quotes, "2*x*exp(x^2)"',
        "A line KEY = with nothing after the = is an unanswered question.",
        "Do not rename or remove keys; everything after a # is a comment.",
    ],
    "yaml": [
        "How to fill it in: write each answer after the : of its key, on the same line.",
        "  numbers: 0.2984",
        "  lists: [0.5933, 0.5969]   matrices, one list per row: [[1, 2], [3, 4]]",
        '  expressions: in double quotes, "2*x*exp(x^2)"',
        "A line KEY: with nothing after the : is an unanswered question.",
        "Do not rename or remove keys; everything after a # is a comment.",
    ],
    "py": [
        "How to fill it in: replace each None by your answer.",
        "  numbers: 0.2984   lists: [0.5933, 0.5969]   matrices: [[1, 2], [3, 4]]",
        '  expressions: in quotes, "2*x*exp(x^2)"',
        "This file is run when it is graded: keep it to plain assignments.",
    ],
}


def render_sheet(compiled, *, fmt: str = "toml", answers: dict[str, Any] | None = None,
                 student_id: str | None = None, title: str | None = None) -> str:
    """An answer sheet for ``compiled``: blank, or with ``answers`` filled in.

    Every key comes with a comment giving its question, points and the form
    of the answer. ``fmt``: ``"toml"``, ``"yaml"`` or ``"py"`` (a Python file
    of ``KEY = None`` lines, graded in the sandbox like any ``.py``).
    """
    if fmt not in ("toml", "yaml", "py"):
        raise ValueError(f"unknown answer sheet format {fmt!r}: toml, yaml or py")
    sep = {"toml": " = ", "yaml": ": ", "py": " = "}[fmt]
    out = [f"# {title or compiled.title}: answer sheet"]
    who = []
    if student_id:
        who.append(f"student {student_id}")
    if compiled.variant:
        who.append(f"variant {compiled.variant}")
    if who:
        out.append("# " + ", ".join(who) + " (this sheet belongs to this paper only)")
    out.append("#")
    out += [f"# {line}" for line in _HOW[fmt]]
    current = None
    for k in answer_keys(compiled):
        if k.question != current:
            current = k.question
            question = compiled.question(k.question)
            out += ["", f"# Question {k.number}: {question.title} ({question.points:g} points)"]
        what = f"{k.what}: " if k.what else ""
        out.append(f"# {k.key} ({k.points:g} point{'s' if k.points != 1 else ''}): {what}{k.form}")
        if answers is not None and k.key in answers:
            out.append(f"{k.key}{sep}{_literal(answers[k.key], fmt)}")
        elif fmt == "py":
            out.append(f"{k.key} = None")
        else:
            out.append(f"{k.key}{sep}".rstrip() if fmt == "yaml" else f"{k.key} =")
    return "\n".join(out) + "\n"
