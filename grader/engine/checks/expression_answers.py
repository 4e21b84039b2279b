"""Reading an expression check's texts: the student's answer (text, left-hand side, parser),
the author's definitions (resolved, cycles refused) and a reference derivation's functions."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from ._coerce import describe_value, short
from .base import CheckResult
from .mathparse import Grammar, Parsed, ParseError, parse


def lhs_key(name: str) -> str:
    """'w_bar', 'wbar' and 'w _bar' name the same target."""
    return "".join(name.split()).replace("_", "")


@lru_cache(maxsize=512)
def parse_cached(text: str, grammar: Grammar) -> Parsed:
    return parse(text, grammar)


_MAX_DEFINITION_NODES = 20_000


def _count_nodes(e: Any, cap: int) -> int:
    n = 0
    for _ in sympy.preorder_traversal(e):
        n += 1
        if n > cap:
            break
    return n


def _definition_cycle(deps: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the dependency graph as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(deps[n]):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in deps:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


@lru_cache(maxsize=128)
def resolve_definitions(symbols: tuple[str, ...], items: tuple[tuple[str, str], ...]) -> dict:
    """{sympy symbol of a defined name: its definition in ``symbols`` only}.

    Each definition is read by the whitelisting parser (trusted limits: it is
    the author's text) with the symbols and the defined names allowed; then
    defined names are substituted, repeatedly, until none is left. ValueError
    for text that does not read, a circular definition, or one that grows too
    large."""
    names = tuple(n for n, _ in items)
    grammar = Grammar(symbols + names).trusted()
    parsed: dict[str, Any] = {}
    for name, text in items:
        try:
            parsed[name] = parse(text, grammar).expr
        except ParseError as exc:
            raise ValueError(f"Expression: the definition of {name!r}, {short(text, 200)!r}, cannot be read: {exc}") from None
    sym = dict(zip(names, (sympy.Symbol(n, real=True) for n in names)))
    deps = {n: {m for m in names if sym[m] in e.free_symbols} for n, e in parsed.items()}
    cycle = _definition_cycle(deps)
    if cycle:
        raise ValueError(
            "Expression: the definitions are circular: " + " -> ".join(cycle)
            + " (a defined name cannot depend on itself)"
        )
    step = {sym[n]: e for n, e in parsed.items()}
    defined = set(step)
    resolved: dict[Any, Any] = {}
    for name, e in parsed.items():
        for _ in range(len(names) + 1):  # an acyclic chain is at most len(names) deep
            if not (e.free_symbols & defined):
                break
            e = e.xreplace(step)
            if _count_nodes(e, _MAX_DEFINITION_NODES) > _MAX_DEFINITION_NODES:
                raise ValueError(f"Expression: the definition of {name!r} grows too large once the "
                                 "defined names in it are replaced")
        else:  # pragma: no cover - excluded by the cycle check
            raise ValueError(f"Expression: the definition of {name!r} does not resolve")
        resolved[sym[name]] = e
    return resolved


def read_answer(got: Any, grammar: Grammar, target: str | None, max_length: int
                 ) -> tuple[Parsed | None, str, CheckResult | None]:
    """The student's answer read as an expression: (parsed, text, None), or
    (None, text, failure) with the parser's message (position and caret), a
    wrong left-hand side, a non-string answer or a too long one. The failure
    carries no expected value."""
    text, why = _got_text(got)
    if why is not None:
        return None, "", CheckResult(0.0, why, data={"reason": "type"})
    if len(text) > max_length:
        return None, text, CheckResult(
            0.0,
            f"your expression is too long ({len(text)} characters; at most {max_length})",
            data={"reason": "parse"},
        )
    body, offset = text, 0
    if text.count("=") == 1 and "==" not in text:
        lhs, _, body = text.partition("=")
        offset = len(lhs) + 1
        name = "".join(lhs.split())
        if target is not None and lhs_key(name) != lhs_key(target):
            shown = short(name, 40) or "nothing"
            return None, text, CheckResult(
                0.0,
                f"the left-hand side of your equation is {shown!r}, but this question asks for "
                f"{target}; write '{target} = ...' or just the expression",
                data={"reason": "target", "lhs": name},
            )
    try:
        return parse_cached(body, grammar), text, None
    except ParseError as exc:
        if offset:
            exc = exc.shifted(offset, text)
        pointer = exc.pointer()
        return None, text, CheckResult(
            0.0,
            f"could not read your expression: {exc}" + (f"\n{pointer}" if pointer else ""),
            data={"reason": "parse", "position": exc.position, "error": exc.message},
        )


def _got_text(got: Any) -> tuple[str | None, str | None]:
    if isinstance(got, str):
        return got, None
    if isinstance(got, (bool, np.bool_)):
        return None, f"expected an expression written as a string, e.g. \"a - y\", but your answer is {describe_value(got)}"
    if isinstance(got, (int, np.integer)):
        if abs(int(got)) < 10**40:
            return str(int(got)), None
        return None, "a whole number that is too large; an expression written as a string was expected"
    if isinstance(got, (float, np.floating)) and math.isfinite(float(got)):
        return repr(float(got)), None
    return None, f"expected an expression written as a string, e.g. \"a - y\", but your answer is {describe_value(got)}"


def check_grammar_fields(owner: str, symbols: Any, functions: Any, target: Any, max_length: Any) -> Grammar:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"{owner}: max_length must be a positive integer, got {max_length!r}")
    if target is not None and (not isinstance(target, str) or not target.strip()):
        raise ValueError(f"{owner}: target must be a non-empty string or None, got {target!r}")
    return Grammar(symbols, functions, max_length=max_length)  # validates names


def is_derivation(obj: Any) -> bool:
    """A reference ``Derivation`` (duck-typed: the grader does not import the answer key)."""
    return all(hasattr(obj, a) for a in ("expression", "local", "inputs", "definitions", "functions", "constraints"))


def same_function(name: str, fn: Any) -> bool:
    """Whether the derivation's sympy Lambda ``fn`` means what the parser reads ``name(u)`` as."""
    u = sympy.Symbol("u", real=True)
    try:
        ours = parse(f"{name}(u)", Grammar(("u",), (name,))).expr
        for v in ("-1.3", "0.2", "2.1"):
            a = complex(sympy.N(ours.xreplace({u: sympy.Rational(v)}), 30))
            b = complex(sympy.N(fn(sympy.Rational(v)), 30))
            if abs(a - b) > 1e-20 * max(1.0, abs(a)):
                return False
        return True
    except Exception:
        return False
