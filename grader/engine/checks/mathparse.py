"""A whitelisting parser for students' mathematical expressions.

Nothing a student types is ever given to ``eval``, ``exec``, ``compile`` in
exec/eval mode, ``sympy.sympify`` or ``parse_expr``. The text passes two
independent gates:

1. **A tokenizer and recursive-descent parser of our own** (this module).
   Tokens are numbers (``12``, ``0.5``, ``1e-3``), names (letters, digits,
   underscores, Greek letters), the operators ``+ - * / ^ ** ( ) =`` and
   spaces; any other character is an error with its position. Names must be
   an allowed symbol, an allowed function or a constant (pi, e); anything
   else is "unknown symbol"/"unknown function". The grammar is the usual one
   for maths, friendly to how students write:

   - ``^`` is power, like ``**``; ``-a^2`` is ``-(a^2)``; ``a^b^c`` is ``a^(b^c)``;
   - juxtaposition multiplies: ``2x``, ``2 x``, ``x y``, ``a(1 - a)``,
     ``sigma(z)(1 - sigma(z))``, ``(a - y)(a + y)``;
   - a function may be applied without parentheses to a product of numbers
     and symbols: ``cos t`` is ``cos(t)``, ``2t exp(t^2 cos t)`` is
     ``2*t*exp(t^2*cos(t))``, ``cos t sin t`` is ``cos(t)*sin(t)``;
     ``sin^2(x)`` is ``sin(x)^2``;
   - a name made of allowed symbols glued together is their product
     (``ay`` is ``a*y`` when a and y are symbols), ``zbar`` is ``z_bar`` and
     ``λ`` is ``lambda`` when those are the allowed symbols; ``λ`` and the
     word ``lambda`` are ``lam`` when ``lam`` is (the course writes λ as
     ``lam``, since ``lambda`` is a Python keyword);
   - ``sigma'(z)``, ``σ′(z)`` (with ``'``, ``′`` or ``’``) are
     ``sigma_prime(z)`` when ``sigma_prime`` is an allowed function;
   - juxtaposition right after a divisor is refused as ambiguous
     (``(a - y)/a(1 - a)``: is ``(1 - a)`` in the denominator?) with a
     message saying how to write either meaning;
   - Unicode minus, times, middle dot, division sign, ² and ³ are understood.

   Limits: length (500 characters for students), nesting depth (40 levels
   of parentheses, calls, signs and powers), node count (250), number
   literals of at most 40 digits and exponents e±100, numeric exponents of
   at most 100 in magnitude, constant powers of at most 1000 digits, and at
   most 1024 bits in all the integers and fractions of the expression
   together (see below). So ``9**9**9`` or 10 kB of parentheses fail fast
   with a message.

2. **Python's ``ast`` walked node by node.** The parse tree is written out
   as a small Python expression whose only names are placeholders we
   generated (``_sym0``, ``_const_pi``, ``_fn_exp``); ``ast.parse`` (which
   only parses, it never runs anything) reads it back and a walker admits
   exactly: Expression, BinOp (+ - * / **), UnaryOp (+ -), Constant (int or
   float, read back exactly from its literal text), Name (a placeholder we
   created), Call (a placeholder function, one positional argument, no
   keywords). Every other node is refused. The walker builds the sympy
   expression directly from these nodes.

   **Numbers stay small.** sympy evaluates numbers as it builds: it
   multiplies the bases of numeric powers with a common exponent
   (``A^(-1/3)*B^(-1/3)`` is ``(A*B)^(-1/3)``) and then looks for perfect
   powers and small factors of the product, which on a 45,000-bit integer
   took minutes of CPU. So the walker keeps a size for every expression it
   builds, the bits of all its integers and fractions (numerators and
   denominators) added up, and before each sum, product, power or function
   it bounds the size of what sympy may build from it: a sum or a product
   holds at most the bits of its parts (plus one per part), a power with a
   rational exponent p/q at most ``|p|`` times the bits of its base. An
   expression whose bound passes ``max_number_bits`` is refused before sympy
   sees it; sympy's work on numbers of 1,000 bits takes milliseconds.

``sigma(u)``, ``sigmoid(u)`` and ``σ(u)`` mean ``1/(1 + exp(-u))``;
``sigma_prime(u)`` means its derivative ``sigma(u)*(1 - sigma(u))`` (not among
the default functions: allowed only where a question lists it); ``ln`` is
``log``; ``abs``/``Abs`` is the absolute value; ``e``/``E`` is Euler's number
and ``pi``/``π`` is pi (an allowed symbol of the same name shadows them).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import sympy

__all__ = [
    "ParseError",
    "Grammar",
    "Parsed",
    "parse",
    "KNOWN_FUNCTIONS",
    "DEFAULT_FUNCTIONS",
    "ALL_FUNCTIONS",
    "CONSTANTS",
]

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
_DISPLAY = {"sigmoid": "sigma", "sigmoid_prime": "sigma_prime"}

#: Spellings of sigma that a prime turns into sigma_prime (``sigma'``, ``σ′``).
_PRIMED = {"sigma": "sigma_prime", "sigmoid": "sigma_prime", "σ": "sigma_prime"}

#: Other names of a symbol called ``lam`` (lambda is a Python keyword, so the
#: course's derivations write the regularisation weight λ as ``lam``).
_LAM_ALIASES = ("λ", "lambda")

CONSTANTS: dict[str, str] = {"pi": "pi", "π": "pi", "e": "e", "E": "e"}

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "ρ": "rho", "τ": "tau", "φ": "phi", "ω": "omega",
}

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
_NAME_RE = re.compile(r"[^\W\d]\w*")

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


@lru_cache(maxsize=256)
def _sympy_symbols(symbols: tuple[str, ...]) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(s, real=True) for s in symbols)


class _Tok(NamedTuple):
    kind: str  # num, name, op, end
    text: str
    pos: int  # index in the normalised text


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: the sympy expression and how we read the text
    (with explicit ``*`` and parentheses, to show the student)."""

    expr: Any
    read_as: str


# ---------------------------------------------------------------------------
# Gate 1: tokenizer and recursive-descent parser
# ---------------------------------------------------------------------------


def _normalise(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        rep = _REPLACE.get(ch, ch)
        for c in rep:
            out.append(c)
            pos.append(i)
    pos.append(len(text))
    return "".join(out), pos


def _tokenize(norm: str, raise_at, primes: bool = False) -> list[_Tok]:
    """Tokens of ``norm``. With ``primes``, ``sigma'`` (any spelling of sigma
    followed by a prime) is the single name token ``sigma_prime``."""
    toks: list[_Tok] = []
    i = 0
    n = len(norm)
    while i < n:
        m = _TOKEN_RE.match(norm, i)
        if m is not None and primes and m.lastgroup == "name" and m.group() in _PRIMED \
                and norm.startswith("'", m.end()):
            toks.append(_Tok("name", _PRIMED[m.group()], i))
            i = m.end() + 1
            continue
        if m is None:
            ch = norm[i]
            hint = _CHAR_HINTS.get(ch)
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            raise_at(f"unexpected character {shown}" + (f" ({hint})" if hint else ""), i)
        kind = m.lastgroup
        if kind != "ws":
            toks.append(_Tok(kind, m.group(), i))
        i = m.end()
    toks.append(_Tok("end", "", n))
    return toks


class _Parser:
    def __init__(self, toks: list[_Tok], grammar: Grammar, raise_at) -> None:
        self.toks = toks
        self.g = grammar
        self.raise_at = raise_at
        self.i = 0
        self.depth = 0
        self.nodes = 0
        self.symbol_index = {s: k for k, s in enumerate(grammar.symbols)}
        self.aliases = grammar.aliases

    # -- helpers -----------------------------------------------------------
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def prev_text(self) -> str:
        return self.toks[self.i - 1].text if self.i > 0 else ""

    def error(self, msg: str, tok: _Tok) -> None:
        self.raise_at(msg, tok.pos)

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > self.g.max_depth:
            self.error(f"the expression is nested too deeply (more than {self.g.max_depth} levels)", tok)

    def leave(self) -> None:
        self.depth -= 1

    def node(self, t: tuple, tok: _Tok) -> tuple:
        self.nodes += 1
        if self.nodes > self.g.max_nodes:
            self.error(f"the expression is too long (more than {self.g.max_nodes} parts)", tok)
        return t

    @staticmethod
    def is_op(tok: _Tok, *ops: str) -> bool:
        return tok.kind == "op" and tok.text in ops

    def starts_primary(self, tok: _Tok) -> bool:
        return tok.kind in ("num", "name") or self.is_op(tok, "(")

    def allowed_list(self, what: str) -> str:
        items = self.g.symbols if what == "symbols" else self.g.functions
        return ", ".join(items) if items else "none"

    def resolve(self, name: str) -> tuple[str, Any]:
        if name in self.symbol_index:
            return "sym", name
        if name in self.g.functions:
            return "func", KNOWN_FUNCTIONS[name]
        if name in CONSTANTS:
            return "const", CONSTANTS[name]
        if name in self.aliases:
            return "sym", self.aliases[name]
        if name in KNOWN_FUNCTIONS:
            return "forbidden", name
        parts = self.split(name)
        if parts:
            return "split", parts
        return "unknown", name

    def split(self, name: str) -> list[str] | None:
        """'ay' -> ['a', 'y'] when every piece is an allowed symbol (longest first);
        failing that, pieces may be other spellings of symbols ('λw' -> ['lam', 'w'])."""
        if len(name) > 40:
            return None
        out = self._split(name, sorted(self.symbol_index, key=len, reverse=True))
        if out is None and self.aliases:
            pieces = sorted(set(self.symbol_index) | set(self.aliases), key=len, reverse=True)
            out = self._split(name, pieces)
            if out is not None:
                out = [self.aliases.get(p, p) for p in out]
        return out

    @staticmethod
    def _split(name: str, syms: list[str]) -> list[str] | None:
        memo: dict[int, list[str] | None] = {}

        def go(k: int) -> list[str] | None:
            if k == len(name):
                return []
            if k in memo:
                return memo[k]
            memo[k] = None
            for s in syms:
                if name.startswith(s, k):
                    rest = go(k + len(s))
                    if rest is not None:
                        memo[k] = [s] + rest
                        break
            return memo[k]

        out = go(0)
        return out if out and len(out) > 1 else None

    # -- grammar -----------------------------------------------------------
    def parse(self) -> tuple:
        tok = self.peek()
        if tok.kind == "end":
            self.error("the expression is empty", tok)
        tree = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, ")"):
                self.error("unmatched ')'", tok)
            if self.is_op(tok, "="):
                self.error("unexpected '=': give one expression (or 'name = expression')", tok)
            self.error(f"unexpected {tok.text!r}", tok)
        return tree

    def expr(self) -> tuple:
        start = self.peek()
        items = [("+", self.term())]
        while self.is_op(self.peek(), "+", "-"):
            op = self.take()
            items.append((op.text, self.term()))
        return items[0][1] if len(items) == 1 else self.node(("sum", items), start)

    def term(self) -> tuple:
        start = self.peek()
        first = self.factor()
        items = [("*", first)]
        after_div = False
        while True:
            tok = self.peek()
            if self.is_op(tok, "*", "/"):
                self.take()
                items.append((tok.text, self.factor()))
                after_div = tok.text == "/"
            elif self.starts_primary(tok):
                if after_div:
                    self.error(
                        "ambiguous: after '/', a product written without '*' could be meant inside or "
                        "outside the denominator; use parentheses, e.g. (a - y)/(a(1 - a)) or "
                        "((a - y)/a)*(1 - a)",
                        tok,
                    )
                if tok.kind == "num" and items[-1][1][0] == "num":
                    self.error("two numbers in a row: is an operator missing?", tok)
                items.append(("*", self.factor()))
            else:
                break
        return first if len(items) == 1 else self.node(("prod", items), start)

    def factor(self) -> tuple:
        tok = self.peek()
        if self.is_op(tok, "+", "-"):
            self.take()
            self.enter(tok)
            inner = self.factor()
            self.leave()
            return self.node(("neg" if tok.text == "-" else "pos", inner), tok)
        return self.power()

    def power(self) -> tuple:
        base = self.primary()
        tok = self.peek()
        if self.is_op(tok, "^", "**"):
            self.take()
            self.enter(tok)
            exponent = self.factor()
            self.leave()
            return self.node(("pow", base, exponent), tok)
        return base

    def number(self, tok: _Tok) -> tuple:
        text = tok.text
        mantissa, _, exponent = text.lower().partition("e")
        if len(mantissa) > 40:
            self.error("this number has too many digits (at most 40)", tok)
        if exponent and abs(int(exponent)) > 100:
            self.error("this number's exponent is too large (at most e±100)", tok)
        return self.node(("num", text), tok)

    def primary(self) -> tuple:
        tok = self.take()
        if tok.kind == "num":
            return self.number(tok)
        if self.is_op(tok, "("):
            self.enter(tok)
            inner = self.expr()
            self.leave()
            close = self.take()
            if not self.is_op(close, ")"):
                self.error("this '(' is never closed", tok)
            return inner
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "end":
            after = f" after {self.prev_text()!r}" if self.prev_text() else ""
            self.error(f"the expression ends too early: expected a number, a symbol, a function or '('{after}", tok)
        self.error(f"expected a number, a symbol, a function or '(' but found {tok.text!r}", tok)
        raise AssertionError  # unreachable

    def name(self, tok: _Tok) -> tuple:
        kind, value = self.resolve(tok.text)
        if kind == "sym":
            return self.node(("sym", value), tok)
        if kind == "const":
            return self.node(("const", value), tok)
        if kind == "split":
            items = [("*", self.node(("sym", s), tok)) for s in value]
            return self.node(("prod", items), tok)
        if kind == "func":
            return self.call(tok, value)
        if kind == "forbidden":
            self.error(
                f"the function {tok.text!r} is not allowed in this answer "
                f"(allowed functions: {self.allowed_list('functions')})",
                tok,
            )
        if self.is_op(self.peek(), "("):
            self.error(
                f"unknown function {tok.text!r} (allowed functions: {self.allowed_list('functions')})", tok
            )
        self.error(f"unknown symbol {tok.text!r} (allowed symbols: {self.allowed_list('symbols')})", tok)
        raise AssertionError  # unreachable

    def starts_bare_atom(self, tok: _Tok) -> bool:
        if tok.kind == "num":
            return True
        return tok.kind == "name" and self.resolve(tok.text)[0] in ("sym", "const", "split")

    def bare_atom(self) -> tuple:
        tok = self.take()
        atom = self.number(tok) if tok.kind == "num" else self.name(tok)
        nxt = self.peek()
        if self.is_op(nxt, "^", "**"):
            self.take()
            self.enter(nxt)
            exponent = self.factor()
            self.leave()
            atom = self.node(("pow", atom, exponent), nxt)
        return atom

    def call(self, tok: _Tok, canonical: str) -> tuple:
        self.enter(tok)
        power = None
        if self.is_op(self.peek(), "^", "**"):
            self.take()
            p = self.take()
            if p.kind != "num" or not p.text.isdigit():
                self.error(
                    f"after '{tok.text}^' write a whole number, e.g. {tok.text}^2(x), or write {tok.text}(x)^2", p
                )
            power = self.number(p)
        nxt = self.peek()
        if self.is_op(nxt, "("):
            self.take()
            arg = self.expr()
            close = self.take()
            if not self.is_op(close, ")"):
                self.error("this '(' is never closed", nxt)
        elif self.starts_bare_atom(nxt):
            items = [("*", self.bare_atom())]
            while self.starts_bare_atom(self.peek()):
                items.append(("*", self.bare_atom()))
            arg = items[0][1] if len(items) == 1 else self.node(("prod", items), nxt)
        else:
            self.error(f"put the argument of '{tok.text}' in parentheses, e.g. {tok.text}(z)", nxt)
        self.leave()
        out = self.node(("call", canonical, arg), tok)
        if power is not None:
            out = self.node(("pow", out, power), tok)
        return out


# ---------------------------------------------------------------------------
# Writing the tree out (as Python for gate 2, and readably for the student)
# ---------------------------------------------------------------------------

_ATOMS = ("num", "sym", "const", "call")


def _num_literal(text: str) -> str:
    if re.fullmatch(r"[0-9]+", text):
        return str(int(text))
    return text


def _emit(t: tuple, names: dict[str, str], pretty: bool) -> str:
    kind = t[0]
    if kind == "num":
        return _num_literal(t[1])
    if kind == "sym":
        return t[1] if pretty else names[t[1]]
    if kind == "const":
        return {"pi": "pi", "e": "e"}[t[1]] if pretty else f"_const_{t[1]}"
    if kind == "call":
        fname = _DISPLAY.get(t[1], t[1]) if pretty else f"_fn_{t[1]}"
        return f"{fname}({_emit(t[2], names, pretty)})"
    if kind in ("neg", "pos"):
        inner = t[1]
        s = _emit(inner, names, pretty)
        if inner[0] not in _ATOMS and inner[0] != "pow":
            s = f"({s})"
        return ("-" if kind == "neg" else "+") + s
    if kind == "pow":
        b = _emit(t[1], names, pretty)
        e = _emit(t[2], names, pretty)
        if t[1][0] not in ("sym", "const", "call") and not (t[1][0] == "num" and re.fullmatch(r"[0-9]+", t[1][1])):
            b = f"({b})"
        if t[2][0] not in _ATOMS:
            e = f"({e})"
        return f"{b}{'^' if pretty else '**'}{e}"
    if kind == "sum":
        out = []
        for k, (op, child) in enumerate(t[1]):
            s = _emit(child, names, pretty)
            if child[0] == "sum" or (k > 0 and child[0] in ("neg", "pos")):
                s = f"({s})"
            out.append(s if k == 0 else f" {op} {s}")
        return "".join(out)
    if kind == "prod":
        out = []
        for k, (op, child) in enumerate(t[1]):
            s = _emit(child, names, pretty)
            if child[0] in ("sum", "prod") or (k > 0 and child[0] in ("neg", "pos")):
                s = f"({s})"
            out.append(s if k == 0 else f"{op}{s}")
        return "".join(out)
    raise AssertionError(f"unexpected node {kind}")


# ---------------------------------------------------------------------------
# Gate 2: Python's ast, walked node by node with a whitelist
# ---------------------------------------------------------------------------


def _sigmoid(u: Any) -> Any:
    return 1 / (1 + sympy.exp(-u))


def _sigmoid_prime(u: Any) -> Any:
    return _sigmoid(u) * (1 - _sigmoid(u))


_SYMPY_FUNCTIONS = {
    "_fn_exp": sympy.exp,
    "_fn_log": sympy.log,
    "_fn_sqrt": sympy.sqrt,
    "_fn_sin": sympy.sin,
    "_fn_cos": sympy.cos,
    "_fn_tan": sympy.tan,
    "_fn_sinh": sympy.sinh,
    "_fn_cosh": sympy.cosh,
    "_fn_tanh": sympy.tanh,
    "_fn_sigmoid": _sigmoid,
    "_fn_sigmoid_prime": _sigmoid_prime,
    "_fn_abs": sympy.Abs,
}


class _Walker:
    def __init__(self, code: str, names: dict[str, Any], grammar: Grammar, raise_whole) -> None:
        self.code = code
        self.names = names
        self.g = grammar
        self.raise_whole = raise_whole
        self._sizes: dict[Any, int] = {}

    # -- the size of numbers ---------------------------------------------------
    def size(self, e: Any) -> int:
        """Bits of all the integers and fractions in ``e``, counted with repetition."""
        known = self._sizes.get(e)
        if known is not None:
            return known
        if e.is_Rational:
            n = int(e.p).bit_length() + int(e.q).bit_length()
        else:
            n = sum(self.size(a) for a in e.args)
        self._sizes[e] = n
        return n

    def bounded(self, bits: int) -> None:
        if bits > self.g.max_number_bits:
            self.raise_whole(
                f"the numbers in this expression are too large (more than {self.g.max_number_bits} bits, "
                f"about {int(self.g.max_number_bits * math.log10(2))} digits, in all its numbers together); "
                "write it with smaller numbers")

    def build(self, bound: int, make, *args: Any) -> Any:
        """``make(*args)`` once ``bound`` (what sympy may build from ``args``) is within the limit;
        the result's own size is checked too."""
        self.bounded(bound)
        out = make(*args)
        self.bounded(self.size(out))
        return out

    def numeric_size(self, e: Any) -> int:
        """Bits of the numbers in ``e`` that a power distributes over: a number, a power of a
        number, and such factors of a product (``(2*sqrt(3)*x)^2`` is ``12*x^2``)."""
        if e.is_Rational or (e.is_Pow and e.base.is_Rational):
            return self.size(e)
        if e.is_Mul:
            return sum(self.numeric_size(a) for a in e.args)
        return 0

    def power_bound(self, base: Any, exponent: Any) -> int:
        """Bits sympy may build for ``base**exponent``: for a rational exponent p/q, ``|p|``
        times the numbers the power distributes over, besides the base and the exponent."""
        scale = abs(int(exponent.p)) if exponent.is_Rational else 1
        return scale * self.numeric_size(base) + self.size(base) + self.size(exponent) + 1

    def refuse(self, node: ast.AST) -> None:
        self.raise_whole(f"this expression uses a construct that is not allowed ({type(node).__name__})")

    def walk(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.walk(node.body)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.Add, ast.Sub)):
                terms = []
                while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
                    terms.append((isinstance(node.op, ast.Sub), node.right))
                    node = node.left
                out = [self.walk(node)] + [(self.negate(self.walk(r)) if neg else self.walk(r))
                                           for neg, r in reversed(terms)]
                return self.build(sum(map(self.size, out)) + len(out), sympy.Add, *out)
            if isinstance(node.op, (ast.Mult, ast.Div)):
                factors = []
                while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
                    factors.append((isinstance(node.op, ast.Div), node.right))
                    node = node.left
                out = [self.walk(node)]
                for div, r in reversed(factors):
                    v = self.walk(r)
                    out.append(self.build(self.power_bound(v, sympy.S.NegativeOne), sympy.Pow, v, -1)
                               if div else v)
                return self.build(sum(map(self.size, out)) + len(out), sympy.Mul, *out)
            if isinstance(node.op, ast.Pow):
                return self.power(self.walk(node.left), self.walk(node.right))
            self.refuse(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return self.negate(self.walk(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.walk(node.operand)
            self.refuse(node)
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                self.refuse(node)
            # The code is ASCII, so column offsets are character offsets.
            text = self.code[node.col_offset:node.end_col_offset]
            if not re.fullmatch(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text):
                self.refuse(node)
            return sympy.Rational(text)
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load) or node.id not in self.names:
                self.refuse(node)
            return self.names[node.id]
        if isinstance(node, ast.Call):
            f = node.func
            if (
                not isinstance(f, ast.Name)
                or f.id not in _SYMPY_FUNCTIONS
                or len(node.args) != 1
                or node.keywords
                or isinstance(node.args[0], ast.Starred)
            ):
                self.refuse(node)
            arg = self.walk(node.args[0])
            # sqrt is a power 1/2; sigma adds a few small numbers around exp.
            return self.build(self.size(arg) + 8, _SYMPY_FUNCTIONS[f.id], arg)
        self.refuse(node)
        raise AssertionError  # unreachable

    def power(self, base: Any, exponent: Any) -> Any:
        if exponent.is_Number and exponent.is_finite:
            if not abs(exponent) <= self.g.max_exponent:
                self.raise_whole(f"an exponent is too large (at most {self.g.max_exponent} in magnitude)")
            if base.is_Number and base != 0 and base.is_finite:
                r = sympy.Rational(base) if base.is_Rational else None
                if r is not None:
                    size = max(abs(r.p), abs(r.q))
                    digits = float(abs(exponent)) * math.log10(size) if size > 1 else 0.0
                else:
                    digits = float(abs(exponent)) * abs(math.log10(abs(float(base))) if float(base) else 0)
                if digits > self.g.max_digits:
                    self.raise_whole(f"a power of numbers is too large (more than {self.g.max_digits} digits)")
        return self.build(self.power_bound(base, exponent), sympy.Pow, base, exponent)

    def negate(self, e: Any) -> Any:
        return self.build(self.size(e) + 2, sympy.Mul, sympy.S.NegativeOne, e)


# ---------------------------------------------------------------------------


def parse(text: str, grammar: Grammar) -> Parsed:
    """Parse ``text`` under ``grammar``; ParseError (with a position) when it
    is not an expression we accept."""
    if not isinstance(text, str):
        raise ParseError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > grammar.max_length:
        raise ParseError(f"the expression is too long ({len(text)} characters; at most {grammar.max_length})")
    norm, pos_map = _normalise(text)

    def raise_at(msg: str, i: int) -> None:
        raise ParseError(msg, pos_map[min(i, len(pos_map) - 1)], text)

    def raise_whole(msg: str) -> None:
        raise ParseError(msg, None, text)

    toks = _tokenize(norm, raise_at, primes="sigma_prime" in grammar.functions)
    tree = _Parser(toks, grammar, raise_at).parse()

    placeholders = {s: f"_sym{k}" for k, s in enumerate(grammar.symbols)}
    code = _emit(tree, placeholders, pretty=False)
    read_as = _emit(tree, {}, pretty=True)
    values: dict[str, Any] = {f"_sym{k}": s for k, s in enumerate(_sympy_symbols(grammar.symbols))}
    values["_const_pi"] = sympy.pi
    values["_const_e"] = sympy.E
    try:
        node = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ParseError("the expression could not be read (too complex)", None, text) from None
    try:
        expr = _Walker(code, values, grammar, raise_whole).walk(node)
    except RecursionError:
        raise ParseError("the expression is nested too deeply", None, text) from None
    return Parsed(expr, read_as)
