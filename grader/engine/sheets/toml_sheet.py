"""TOML sheets: read strictly with ``tomllib``, else statement by statement (one bad answer costs one answer)."""

from __future__ import annotations

import json
import re
import tomllib

from grader.engine.sheets.contents import MAX_RECOVERY_LINES, Problem, SheetContents, settle_recovery, value_hint

MAX_STATEMENT_LINES = 200

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
                                  f"{first_error}{value_hint(value_text if value_text else raw)}")
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


def _toml_loads(text: str) -> dict:
    """``tomllib.loads``; nesting too deep for its recursive parser (``[[[[...``) is a TOMLDecodeError too."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("the TOML is nested too deeply (a [ or { that is not closed?)") from None


def read_toml(text: str, contents: SheetContents) -> None:
    try:
        contents.values = _toml_loads(text)
        contents.ok = True
        return
    except tomllib.TOMLDecodeError as exc:
        strict_error = str(exc).replace(_AT_END, "(at the end of the file)")
    settle_recovery(contents, _toml_recover(text, contents), fmt="TOML", form="KEY = value lines",
                    strict_error=strict_error, read_how="line by line")
