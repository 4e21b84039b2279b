"""What a parse admits: the function names, constants and symbol spellings, the limits (:class:`Grammar`),
and what a parse gives back or raises (:class:`Parsed`, :class:`ParseError`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Names a student may use for functions -> the canonical function.
KNOWN_FUNCTIONS: dict[str, str] = {
    "exp": "exp",
    "log": "log",
    "ln": "log",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "sigma": "sigmoid",
    "sigmoid": "sigmoid",
    "σ": "sigmoid",
    "abs": "abs",
    "Abs": "abs",
    "sigma_prime": "sigmoid_prime",
}
ALL_FUNCTIONS: tuple[str, ...] = tuple(KNOWN_FUNCTIONS)
#: Functions allowed unless a check says otherwise. ``sigma_prime`` is not one
#: of them: it would answer "d sigma/dz" by itself, so a question opts in.
DEFAULT_FUNCTIONS: tuple[str, ...] = tuple(f for f in KNOWN_FUNCTIONS if f != "sigma_prime")

#: Other names of a symbol called ``lam`` (lambda is a Python keyword, so the
#: course's derivations write the regularisation weight λ as ``lam``).
_LAM_ALIASES = ("λ", "lambda")

CONSTANTS: dict[str, str] = {"pi": "pi", "π": "pi", "e": "e", "E": "e"}

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "ρ": "rho", "τ": "tau", "φ": "phi", "ω": "omega",
}

_NAME_RE = re.compile(r"[^\W\d]\w*")


class ParseError(ValueError):
    """The text is not an expression we accept. ``position`` is 0-based in
    ``source`` (None when it concerns the whole text)."""

    def __init__(self, message: str, position: int | None = None, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.source = source

    def shifted(self, offset: int, source: str) -> "ParseError":
        pos = None if self.position is None else self.position + offset
        return ParseError(self.message, pos, source)

    def pointer(self) -> str:
        """Two lines: the source and a caret under the position."""
        if self.position is None or not self.source or len(self.source) > 200:
            return ""
        line = self.source.replace("\n", " ").replace("\t", " ")
        return f"  {line}\n  {' ' * min(self.position, len(line))}^"

    def __str__(self) -> str:
        where = f" at position {self.position + 1}" if self.position is not None else ""
        return f"{self.message}{where}"


@dataclass(frozen=True)
class Grammar:
    """What a parse admits: the symbols, the functions, the limits."""

    symbols: tuple[str, ...]
    functions: tuple[str, ...] = DEFAULT_FUNCTIONS
    max_length: int = 500
    max_depth: int = 40
    max_nodes: int = 250
    max_exponent: int = 100
    max_digits: int = 1000
    max_number_bits: int = 1024

    def __post_init__(self) -> None:
        syms = (self.symbols,) if isinstance(self.symbols, str) else tuple(self.symbols)
        for s in syms:
            if not isinstance(s, str) or not _NAME_RE.fullmatch(s):
                raise ValueError(f"not a valid symbol name: {s!r} (letters, digits and '_', not starting with a digit)")
        if len(set(syms)) != len(syms):
            raise ValueError(f"duplicate symbols in {syms!r}")
        funcs = (self.functions,) if isinstance(self.functions, str) else tuple(self.functions)
        unknown = [f for f in funcs if f not in KNOWN_FUNCTIONS]
        if unknown:
            raise ValueError(f"unknown function name(s) {unknown}; known: {', '.join(KNOWN_FUNCTIONS)}")
        object.__setattr__(self, "symbols", syms)
        object.__setattr__(self, "functions", funcs)

    def trusted(self) -> "Grammar":
        """The same symbols with every known function and generous limits, for
        expected expressions written by the reference (sympy's ``str``)."""
        return Grammar(self.symbols, ALL_FUNCTIONS, max_length=50_000, max_depth=80,
                       max_nodes=2_000, max_exponent=10**6, max_digits=10_000,
                       max_number_bits=100_000)

    @property
    def aliases(self) -> dict[str, str]:
        return _aliases(self.symbols)


@lru_cache(maxsize=256)
def _aliases(symbols: tuple[str, ...]) -> dict[str, str]:
    """Other spellings of the allowed symbols: 'zbar' for 'z_bar', 'λ' for 'lambda',
    'λ' and 'lambda' for 'lam'. A spelling that could mean two symbols is dropped."""
    out: dict[str, str] = {}
    counts: dict[str, int] = {}
    rev_greek = {v: k for k, v in _GREEK.items()}
    for s in symbols:
        cands = {s.replace("_", "")}
        if s in _GREEK:
            cands.add(_GREEK[s])
        if s in rev_greek:
            cands.add(rev_greek[s])
        if s == "lam":
            cands.update(_LAM_ALIASES)
        for c in cands:
            if c and c != s:
                counts[c] = counts.get(c, 0) + 1
                out[c] = s
    return {k: v for k, v in out.items() if counts[k] == 1 and k not in symbols}


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: the sympy expression and how we read the text
    (with explicit ``*`` and parentheses, to show the student)."""

    expr: Any
    read_as: str
