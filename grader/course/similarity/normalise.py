"""A submission's code as grading loads it, as a list of normalised tokens.

The code of a ``.py`` is the whole file (its ``# %%`` markdown cells are
comments, dropped below); of a ``.ipynb``, its code cells in order, read by
the same function the sandbox uses. Normalising makes the usual disguises
vanish: every name becomes ``N`` (except keywords and names after a dot,
which are the libraries' API, not the student's choice), every number ``0``
and every string ``S``; comments, blank lines and spacing are dropped.
Indentation stays (as ``INDENT``/``DEDENT``), since it is structure.

Submissions are hostile text: nothing here runs or imports them, and a file
that does not tokenise as Python is lexed by a plain regular expression.
"""

from __future__ import annotations

import io
import keyword
import re
import stat
import tokenize
from pathlib import Path
from typing import NamedTuple

from grader.engine.sandbox.child.loader import notebook_code_cells

#: How large a submission's code may be before it is cut (characters): a bound on work, not a rule.
MAX_CODE_CHARS = 400_000
#: A notebook larger than this is not read at all (its outputs can be huge; its code never is).
MAX_NOTEBOOK_BYTES = 50_000_000


class Token(NamedTuple):
    """One normalised token and where it came from: ``code[start:end]``."""
    text: str
    start: int
    end: int


def submission_code(path: str | Path, module: str | None = None) -> str:
    """The code grading runs for ``path`` (a ``.py``, a ``.ipynb`` or a folder holding one).

    Raises ValueError naming the file when it is neither (or a notebook is not valid JSON).
    """
    path = Path(path)
    _refuse_links(path)
    if path.is_dir():
        path = _main_file(path, module)
        _refuse_links(path)
    if path.suffix == ".ipynb":
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"{path}: a notebook of {size:,} bytes is larger than the {MAX_NOTEBOOK_BYTES:,} "
                             "bytes read for similarity")
        cells = notebook_code_cells(str(path))
        return "\n".join(source.rstrip("\n") + "\n" for _, source in cells)[:MAX_CODE_CHARS]
    if path.suffix == ".py":
        return path.read_bytes()[:MAX_CODE_CHARS * 4].decode("utf-8", errors="replace")[:MAX_CODE_CHARS]
    raise ValueError(f"{path}: expected a .py or .ipynb file (or a folder holding one)")


def _refuse_links(path: Path) -> None:
    """Read no link and nothing but a regular file or folder, as grading copies none (run as root, it
    would show a root-only file, or another student's, in the instructor's pages)."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        raise ValueError(f"{path.name} is a link (not followed, as grading follows none)")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"{path.name} is not a regular file (a pipe or a device is never read)")


def _main_file(folder: Path, module: str | None) -> Path:
    for suffix in (".py", ".ipynb"):
        if module and (folder / f"{module}{suffix}").is_file():
            return folder / f"{module}{suffix}"
    candidates = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb") and p.is_file())
    if len(candidates) != 1:
        raise ValueError(f"{folder}: expected {module or 'MODULE'}.py or .ipynb, or exactly one .py/.ipynb file; "
                         f"found {len(candidates)}")
    return candidates[0]


_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


def normalised_tokens(code: str) -> list[Token]:
    """``code`` as normalised tokens, each with its character span in ``code``."""
    try:
        return _python_tokens(code)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _regex_tokens(code)


def _python_tokens(code: str) -> list[Token]:
    line_starts = _line_starts(code)

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return line_starts[min(row - 1, len(line_starts) - 1)] + col

    tokens: list[Token] = []
    previous = ""
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type in _SKIPPED:
            continue
        start, end = offset(tok.start), offset(tok.end)
        if tok.type == tokenize.NAME:
            text = tok.string if keyword.iskeyword(tok.string) or previous == "." else "N"
        elif tok.type == tokenize.NUMBER:
            text = "0"
        elif tok.type == tokenize.STRING or tok.type in _FSTRING_TYPES:
            text = "S"
            if tokens and tokens[-1].text == "S" and tok.type != getattr(tokenize, "FSTRING_START", -1):
                # an f-string arrives in pieces (3.12+): one S for all of them
                tokens[-1] = Token("S", tokens[-1].start, end)
                previous = "S"
                continue
        elif tok.type == tokenize.NEWLINE:
            text, end = "NEWLINE", start
        elif tok.type in (tokenize.INDENT, tokenize.DEDENT):
            text = tokenize.tok_name[tok.type]
            start = end = offset(tok.end) if tok.type == tokenize.INDENT else start
        else:
            text = tok.string
        tokens.append(Token(text, start, end))
        previous = text
    return tokens


_FSTRING_TYPES = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                  if hasattr(tokenize, name)}


def _line_starts(code: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", code):
        starts.append(match.end())
    return starts


_LEXEME = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n]*'|"[^"\n]*"))
  | (?P<number>\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?j?)
  | (?P<name>[^\W\d]\w*)
  | (?P<newline>\n)
  | (?P<space>[ \t\r\f\\]+)
  | (?P<op>\*\*=?|//=?|->|<<=?|>>=?|[-+*/%@&|^=<>!:]=|:=|\S)
""", re.VERBOSE)


def _regex_tokens(code: str) -> list[Token]:
    """A lexer for code that Python's tokenizer refuses (a syntax error, a stray notebook magic)."""
    tokens: list[Token] = []
    previous = ""
    for match in _LEXEME.finditer(code):
        kind, lexeme = match.lastgroup, match.group()
        if kind in ("comment", "space"):
            continue
        if kind == "newline":
            if tokens and tokens[-1].text != "NEWLINE":
                tokens.append(Token("NEWLINE", match.start(), match.start()))
            continue
        text = {"string": "S", "number": "0"}.get(kind, lexeme)
        if kind == "name" and not keyword.iskeyword(lexeme) and previous != ".":
            text = "N"
        tokens.append(Token(text, match.start(), match.end()))
        previous = text
    return tokens
