"""A whitelisting parser for students' mathematical expressions.

Nothing a student types is ever given to ``eval``, ``exec``, ``compile`` in
exec/eval mode, ``sympy.sympify`` or ``parse_expr``. The text passes two
independent gates:

1. **A tokenizer and recursive-descent parser of our own** (:mod:`.tokens`, :mod:`.parser`).
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

2. **Python's ``ast`` walked node by node** (:mod:`.emit`, :mod:`.walker`). The parse tree is written out
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
from typing import Any

import sympy

from .emit import emit
from .grammar import ALL_FUNCTIONS, CONSTANTS, DEFAULT_FUNCTIONS, KNOWN_FUNCTIONS, Grammar, Parsed, ParseError
from .parser import Parser
from .tokens import normalise, tokenize
from .walker import Walker, sympy_symbols

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

#: The walker's name before the package was split (tests hand gate 2 Python of their own).
_Walker = Walker


def parse(text: str, grammar: Grammar) -> Parsed:
    """Parse ``text`` under ``grammar``; ParseError (with a position) when it
    is not an expression we accept."""
    if not isinstance(text, str):
        raise ParseError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > grammar.max_length:
        raise ParseError(f"the expression is too long ({len(text)} characters; at most {grammar.max_length})")
    norm, pos_map = normalise(text)

    def raise_at(msg: str, i: int) -> None:
        raise ParseError(msg, pos_map[min(i, len(pos_map) - 1)], text)

    def raise_whole(msg: str) -> None:
        raise ParseError(msg, None, text)

    toks = tokenize(norm, raise_at, primes="sigma_prime" in grammar.functions)
    tree = Parser(toks, grammar, raise_at).parse()

    placeholders = {s: f"_sym{k}" for k, s in enumerate(grammar.symbols)}
    code = emit(tree, placeholders, pretty=False)
    read_as = emit(tree, {}, pretty=True)
    values: dict[str, Any] = {f"_sym{k}": s for k, s in enumerate(sympy_symbols(grammar.symbols))}
    values["_const_pi"] = sympy.pi
    values["_const_e"] = sympy.E
    try:
        node = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ParseError("the expression could not be read (too complex)", None, text) from None
    try:
        expr = Walker(code, values, grammar, raise_whole).walk(node)
    except RecursionError:
        raise ParseError("the expression is nested too deeply", None, text) from None
    return Parsed(expr, read_as)
