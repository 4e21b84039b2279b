"""Gate 2: Python's ``ast`` of the emitted tree, walked node by node with a whitelist into sympy,
with the size of every number bounded before sympy builds it."""

from __future__ import annotations

import ast
import math
import re
from functools import lru_cache
from typing import Any

import sympy

from .grammar import Grammar


@lru_cache(maxsize=256)
def sympy_symbols(symbols: tuple[str, ...]) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(s, real=True) for s in symbols)


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


class Walker:
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
