"""Solution markers in an assignment's master source, and the student stub made from them.

The markers are otter-assign's, so a master reads the same to both tools:

- a block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` is the
  solution. Inside a function the student gets
  ``raise NotImplementedError("<function>: <hint>")``, the hint taken from
  ``# HINT:`` lines in the block (kept as comments too); without a hint, the
  first line of the function's docstring says what to write. At module level each
  ``NAME = ...`` in the block becomes ``NAME = None  # TODO: your answer``.
- a line ending in ``# SOLUTION`` (``LOSS = 0.2984  # SOLUTION``) becomes
  ``LOSS = None  # TODO: your answer``.

:func:`student_source` makes the template; :func:`solution_source` drops the
markers and hints and keeps the solution (the reference submission).
"""

from __future__ import annotations

import re

BEGIN = re.compile(r"^(\s*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
HINT = re.compile(r"^\s*#\s*HINT:\s?(.*)$")
LINE_SOLUTION = re.compile(r"^(\s*)([A-Za-z_][A-Za-z_0-9]*)\s*=.*#\s*SOLUTION\s*$")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)\s*(?::[^=]+)?=(?!=)")
DEF = re.compile(r"^(\s*)def\s+([A-Za-z_][A-Za-z_0-9]*)\s*\(")

TODO = "None  # TODO: your answer"


class MarkerError(ValueError):
    """A master source whose solution markers do not pair up."""


def _blocks(lines: list[str]):
    """Yield (begin_index, end_index, indent) of each solution block."""
    begin = None
    for i, line in enumerate(lines):
        if BEGIN.match(line):
            if begin is not None:
                raise MarkerError(f"line {i + 1}: BEGIN SOLUTION inside the block opened on line {begin + 1}")
            begin = i
        elif END.match(line):
            if begin is None:
                raise MarkerError(f"line {i + 1}: END SOLUTION without BEGIN SOLUTION")
            yield begin, i, BEGIN.match(lines[begin]).group(1)
            begin = None
    if begin is not None:
        raise MarkerError(f"line {begin + 1}: BEGIN SOLUTION is never closed by END SOLUTION")


def _enclosing_function(lines: list[str], index: int, indent: str) -> tuple[str, str] | None:
    """(name, first line of its docstring or "") of the function holding line ``index``."""
    for position in range(index - 1, -1, -1):
        match = DEF.match(lines[position])
        if match and len(match.group(1)) < len(indent):
            return match.group(2), _docstring_summary(lines[position + 1:index])
    return None


def _docstring_summary(body: list[str]) -> str:
    """The first line of a docstring that opens ``body`` (after the signature's last line)."""
    for i, line in enumerate(body):
        text = line.strip()
        if text.startswith(('"""', "'''")):
            first = text[3:].split(text[:3])[0].strip()
            return first or (body[i + 1].strip() if i + 1 < len(body) else "")
        if text and not text.endswith((":", ",", "(")) and not text.startswith(")"):
            return ""  # code before any docstring
    return ""


def student_source(source: str) -> str:
    """The template: every solution replaced by a stub."""
    lines = source.splitlines()
    out: list[str] = []
    position = 0
    for begin, end, indent in _blocks(lines):
        out.extend(_line_markers(lines[position:begin]))
        body = lines[begin + 1:end]
        hints = [HINT.match(ln).group(1) for ln in body if HINT.match(ln)]
        if indent:
            function, summary = _enclosing_function(lines, begin, indent) or ("this part", "")
            message = f"{function}: " + (" ".join(hints) if hints else
                                         f"not written yet ({summary})" if summary else "not written yet")
            out.extend(f"{indent}# HINT: {h}" for h in hints)
            out.append(f"{indent}raise NotImplementedError({message!r})")
        else:
            out.extend(f"# HINT: {h}" for h in hints)
            out.extend(f"{m.group(1)} = {TODO}" for ln in body if (m := ASSIGNMENT.match(ln)))
        position = end + 1
    out.extend(_line_markers(lines[position:]))
    return "\n".join(out) + "\n"


def _line_markers(lines: list[str]) -> list[str]:
    result = []
    for line in lines:
        match = LINE_SOLUTION.match(line)
        result.append(f"{match.group(1)}{match.group(2)} = {TODO}" if match else line)
    return result


def solution_source(source: str) -> str:
    """The reference submission: markers and hints removed, solutions kept."""
    lines = source.splitlines()
    list(_blocks(lines))  # validate
    kept = []
    for line in lines:
        if BEGIN.match(line) or END.match(line) or HINT.match(line):
            continue
        kept.append(re.sub(r"\s*#\s*SOLUTION\s*$", "", line))
    return "\n".join(kept) + "\n"
