"""The text normalised (Unicode minus, times, superscripts ...) and cut into tokens, each with its position."""

from __future__ import annotations

import re
from typing import NamedTuple

#: Spellings of sigma that a prime turns into sigma_prime (``sigma'``, ``σ′``).
_PRIMED = {"sigma": "sigma_prime", "sigmoid": "sigma_prime", "σ": "sigma_prime"}

_REPLACE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-",
    "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u2217": "*", "\u2022": "*",
    "\u00f7": "/", "\u2215": "/",
    "\u00b2": "^2", "\u00b3": "^3",
    "\u2032": "'", "\u2019": "'",
    "\u00a0": " ", "\t": " ", "\n": " ", "\r": " ",
}

_TOKEN_RE = re.compile(
    r"(?P<ws>[ ]+)"
    r"|(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<op>\*\*|\^|[-+*/()=])"
)

_CHAR_HINTS = {
    ",": "a function takes a single argument, and decimals are written with '.'",
    "[": "use round parentheses ( )",
    "]": "use round parentheses ( )",
    "{": "use round parentheses ( )",
    "}": "use round parentheses ( )",
    "'": "primes and quotes are not part of an expression; write the derivative out in full",
    '"': "quotes are not part of an expression",
    "\\": "LaTeX is not understood; write plain text such as sigma(z)*(1 - sigma(z))",
    ".": "a '.' can only be part of a number",
    "!": "factorials are not supported",
    "%": "'%' is not an operator here",
}


class Token(NamedTuple):
    kind: str  # num, name, op, end
    text: str
    pos: int  # index in the normalised text



def normalise(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        rep = _REPLACE.get(ch, ch)
        for c in rep:
            out.append(c)
            pos.append(i)
    pos.append(len(text))
    return "".join(out), pos


def tokenize(norm: str, raise_at, primes: bool = False) -> list[Token]:
    """Tokens of ``norm``. With ``primes``, ``sigma'`` (any spelling of sigma
    followed by a prime) is the single name token ``sigma_prime``."""
    toks: list[Token] = []
    i = 0
    n = len(norm)
    while i < n:
        m = _TOKEN_RE.match(norm, i)
        if m is not None and primes and m.lastgroup == "name" and m.group() in _PRIMED \
                and norm.startswith("'", m.end()):
            toks.append(Token("name", _PRIMED[m.group()], i))
            i = m.end() + 1
            continue
        if m is None:
            ch = norm[i]
            hint = _CHAR_HINTS.get(ch)
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            raise_at(f"unexpected character {shown}" + (f" ({hint})" if hint else ""), i)
        kind = m.lastgroup
        if kind != "ws":
            toks.append(Token(kind, m.group(), i))
        i = m.end()
    toks.append(Token("end", "", n))
    return toks
