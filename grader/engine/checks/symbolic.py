"""Expression: a symbolic answer (a derivation), checked for equivalence.

The student's text and the expected text (sympy's ``str`` of the
reference's derivative) are read by the same whitelisting parser
(:mod:`grader.engine.checks.mathparse`; never ``eval``/``sympify``). Then:

1. if sympy's automatic canonical form already makes ``got - expected`` zero,
   the answer is correct;
2. both expressions are evaluated at ``points`` random points (50-digit
   arithmetic, each symbol drawn from its domain; half of the points are
   rounded to two decimals so that messages are readable). Points where the
   expected expression is undefined or not real are skipped. All points
   agree within ``rtol`` -> correct;
3. a point where they differ -> not equivalent; the point is reported with
   the student's value only: "not equivalent: at a=0.3, y=0.71 your
   expression gives 2.1" (the expected value goes to the detail);
4. too few points where the expected expression is defined and real to
   decide: ``sympy.simplify(got - expected) == 0`` decides, under a time
   limit (``simplify_timeout`` seconds, enforced with SIGALRM in the main
   thread; elsewhere it is skipped and the answer is not confirmed).

So the rule is: correct if sympy proves it or all points agree; wrong if a
point disagrees. Points decide first because evaluation at 50 digits is
fast, bounded, and not fooled where simplify gives up on a true identity;
two different analytic expressions agreeing at 20 random points does not
happen, and disagreement at a point is a proof of non-equivalence.

Equivalence is on the domains, which a question gives per symbol
(``domains={"a": "probability", "t": "real"}``, see :data:`NAMED_DOMAINS`,
or an interval ``(low, high)``). The default, ``"real"``, draws negative
and positive values from near zero to far from it (magnitudes 0.05 to 10),
so ``sqrt(a^2)`` is not ``a``, nor ``-sqrt(1 - cos(t)^2)`` ``-sin(t)``;
a symbol that only makes sense in (0, 1) (a probability, a sigmoid's
output) must be given that domain.

An answer may be an equation ``lhs = rhs``: with ``target`` set, the left
side must name it (``w_bar = z_bar*x + R_bar*w``); without ``target`` the
left side is ignored. Only the right side is compared.

``definitions`` ({name: expression}) name intermediate quantities of the
lecture, e.g. ``{"x": "cos(t)", "y": "t**2"}`` for df/dt, or ``y =
sigma(w*x + b)`` in a backward pass. Their names are allowed in the answer
besides ``symbols`` (the independent variables, the only ones drawn at random
points); before comparing, every defined name in the answer and in the
expected expression is replaced by its definition, repeatedly until none is
left, so ``y*(1 - y)`` is read as ``sigma(w*x + b)*(1 - sigma(w*x + b))``. A
definition may use other defined names; circular definitions are refused when
the check is built. Definitions are the author's text, read by the same
whitelisting parser as the expected expression (never ``eval``/``sympify``);
nothing a student writes can define a name (``y = ...`` as an answer is an
equation whose left side names the target, nothing more).

:class:`ExpressionForm` (kind ``expression_form``) reads an answer exactly as
:class:`Expression` does (text, left-hand side, parser) and passes when it
reads, without looking at an expected value: for public questions, whose
expected values are shipped to students.

:meth:`Expression.for_derivation` builds the check and the expected text from
a reference ``Derivation`` (its expression or its local form, its inputs, its
definitions as text, its functions).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy

from ._coerce import describe_value, short
from .base import Check, CheckResult, ExpectedValueError
from .mathparse import DEFAULT_FUNCTIONS, KNOWN_FUNCTIONS, Grammar, Parsed, ParseError, parse

__all__ = ["Expression", "ExpressionForm", "DEFAULT_DOMAIN", "NAMED_DOMAINS", "describe_domain"]

_MAGNITUDES = (0.05, 10.0)  # |value| for real, positive and negative symbols, drawn log-uniformly
_INTEGERS = 20  # integer symbols are drawn from 1..20 (positive) or -20..20

#: The domains a question may give a symbol by name, and what they mean.
NAMED_DOMAINS = {
    "real": f"a real number, negative or positive, {_MAGNITUDES[0]:g} <= |value| <= {_MAGNITUDES[1]:g}",
    "positive": f"a positive real number, {_MAGNITUDES[0]:g} <= value <= {_MAGNITUDES[1]:g}",
    "negative": f"a negative real number, {_MAGNITUDES[0]:g} <= |value| <= {_MAGNITUDES[1]:g}",
    "probability": "a number strictly between 0 and 1",
    "positive integer": f"an integer from 1 to {_INTEGERS}",
    "integer": f"an integer from -{_INTEGERS} to {_INTEGERS}",
}
_DOMAIN_ALIASES = {"(0,1)": "probability", "unit": "probability", "unit interval": "probability",
                   "count": "positive integer"}
_PROBABILITY = (0.01, 0.99)
DEFAULT_DOMAIN = "real"
_DPS = 50
_OVERFLOW = 460.0  # exp(460) ~ 1e200: larger intermediate values count as undefined
_TINY = 1e-30  # absolute floor for comparisons; values are computed to 50 digits


class _Undefined(Exception):
    pass


class _Timeout(Exception):
    pass


_UNDEFINED_ATOMS = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


def _context() -> Any:
    """A private mpmath context at _DPS digits (the global one is shared
    between threads; ours is not)."""
    ctx = mpmath.MPContext()
    ctx.dps = _DPS
    return ctx


def _evaluate(e: Any, env: dict, ctx: Any) -> Any:
    """Numeric value of a sympy expression built by our parser, in the mpmath
    context ``ctx``. Raises _Undefined for division by zero, overflow, nan, or
    a node we do not know."""

    def guard(v: Any) -> Any:
        if not ctx.isfinite(v):
            raise _Undefined
        return v

    if e.is_Symbol:
        return env[e]
    if any(e is u for u in _UNDEFINED_ATOMS):
        raise _Undefined
    if e.is_Integer:
        return ctx.mpf(int(e))
    if e.is_Rational:
        return ctx.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return ctx.mpf(e._mpf_)
    if e is sympy.pi:
        return +ctx.pi
    if e is sympy.E:
        return +ctx.e
    if e.is_Add:
        total = ctx.mpf(0)
        for arg in e.args:
            total += _evaluate(arg, env, ctx)
        return guard(total)
    if e.is_Mul:
        prod = ctx.mpf(1)
        for arg in e.args:
            prod *= _evaluate(arg, env, ctx)
        return guard(prod)
    if e.is_Pow:
        b = _evaluate(e.base, env, ctx)
        x = _evaluate(e.exp, env, ctx)
        if b == 0:
            if ctx.re(x) <= 0:
                raise _Undefined
            return ctx.mpf(0)
        log_mag = ctx.re(x) * ctx.log(abs(b)) - ctx.im(x) * ctx.arg(b)
        if log_mag > _OVERFLOW:
            raise _Undefined
        return guard(ctx.power(b, x))
    if isinstance(e, sympy.Function) and len(e.args) == 1:
        u = _evaluate(e.args[0], env, ctx)
        f = e.func
        if f is sympy.exp:
            if ctx.re(u) > _OVERFLOW:
                raise _Undefined
            return ctx.exp(u)
        if f is sympy.log:
            if u == 0:
                raise _Undefined
            return ctx.log(u)
        if f in (sympy.sin, sympy.cos, sympy.tan):
            if abs(ctx.im(u)) > _OVERFLOW:
                raise _Undefined
            return guard({sympy.sin: ctx.sin, sympy.cos: ctx.cos, sympy.tan: ctx.tan}[f](u))
        if f in (sympy.sinh, sympy.cosh, sympy.tanh):
            if abs(ctx.re(u)) > _OVERFLOW:
                raise _Undefined
            return guard({sympy.sinh: ctx.sinh, sympy.cosh: ctx.cosh, sympy.tanh: ctx.tanh}[f](u))
        if f is sympy.Abs:
            return abs(u)
    raise _Undefined


def _value(e: Any, env: dict, ctx: Any) -> tuple[str, Any]:
    """('ok', value) | ('undefined', None) | ('complex', value)."""
    try:
        v = _evaluate(e, env, ctx)
    except (_Undefined, ZeroDivisionError, OverflowError, ValueError):
        return "undefined", None
    v = ctx.mpc(v)
    if abs(v.imag) > _TINY * max(1, abs(v.real)):
        return "complex", v
    return "ok", v.real


def _nstr(v: Any) -> str:
    if type(v).__name__ == "mpc":  # each mpmath context has its own mpc class
        return mpmath.nstr(v, 6)
    s = mpmath.nstr(v, 6, min_fixed=-4, max_fixed=7)
    return s[:-2] if s.endswith(".0") else s


def simplify_is_zero(diff: Any, timeout: float) -> bool | None:
    """True if sympy.simplify proves diff == 0; False if it does not; None if
    it ran out of time or cannot be time-limited here (not the main thread)."""
    if timeout <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return None

    armed = [True]

    def on_alarm(signum, frame):
        if armed[0]:  # a late alarm after simplify returned is ignored
            raise _Timeout

    start = time.monotonic()
    try:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:
        return None
    old_delay, _ = signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            result = bool(sympy.simplify(diff) == 0)
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        return result
    except _Timeout:
        return None
    except Exception:
        return False
    finally:
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay > 0:  # give back what an outer timer had left
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, old_delay - (time.monotonic() - start)))


def _lhs_key(name: str) -> str:
    """'w_bar', 'wbar' and 'w _bar' name the same target."""
    return "".join(name.split()).replace("_", "")


@lru_cache(maxsize=512)
def _parse_cached(text: str, grammar: Grammar) -> Parsed:
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
def _resolve_definitions(symbols: tuple[str, ...], items: tuple[tuple[str, str], ...]) -> dict:
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


def _read_answer(got: Any, grammar: Grammar, target: str | None, max_length: int
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
        if target is not None and _lhs_key(name) != _lhs_key(target):
            shown = short(name, 40) or "nothing"
            return None, text, CheckResult(
                0.0,
                f"the left-hand side of your equation is {shown!r}, but this question asks for "
                f"{target}; write '{target} = ...' or just the expression",
                data={"reason": "target", "lhs": name},
            )
    try:
        return _parse_cached(body, grammar), text, None
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


def _check_grammar_fields(owner: str, symbols: Any, functions: Any, target: Any, max_length: Any) -> Grammar:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"{owner}: max_length must be a positive integer, got {max_length!r}")
    if target is not None and (not isinstance(target, str) or not target.strip()):
        raise ValueError(f"{owner}: target must be a non-empty string or None, got {target!r}")
    return Grammar(symbols, functions, max_length=max_length)  # validates names


def _is_derivation(obj: Any) -> bool:
    """A reference ``Derivation`` (duck-typed: the grader does not import the answer key)."""
    return all(hasattr(obj, a) for a in ("expression", "local", "inputs", "definitions", "functions", "constraints"))


def _same_function(name: str, fn: Any) -> bool:
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


def _read_domain(name: str, dom: Any) -> str | tuple[float, float]:
    """A domain as given by a question: a name of :data:`NAMED_DOMAINS` (or an
    alias such as "(0, 1)"), or an interval (low, high) with finite low < high."""
    if isinstance(dom, str):
        key = " ".join(dom.lower().replace("_", " ").split())
        key = _DOMAIN_ALIASES.get(key.replace(" ", ""), _DOMAIN_ALIASES.get(key, key))
        if key not in NAMED_DOMAINS:
            raise ValueError(f"Expression: unknown domain {dom!r} for {name!r}; known: "
                             f"{', '.join(map(repr, NAMED_DOMAINS))}, or an interval (low, high)")
        return key
    try:
        lo, hi = (float(x) for x in dom)
    except (TypeError, ValueError):
        raise ValueError(f"Expression: the domain of {name!r} must be a name ({', '.join(NAMED_DOMAINS)}) "
                         f"or a pair (low, high), got {dom!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"Expression: the domain of {name!r} must have finite low < high, got {dom!r}")
    return (lo, hi)


def describe_domain(dom: str | tuple[float, float]) -> str:
    """What a domain means, for instructions and papers ("a number strictly between 0 and 1")."""
    if isinstance(dom, str):
        return NAMED_DOMAINS[_read_domain("symbol", dom)]
    lo, hi = dom
    return f"a number between {lo:g} and {hi:g}"


def _draw(dom: str | tuple[float, float], rng: np.random.Generator, readable: bool) -> float:
    """One value from a domain; ``readable``: rounded to two decimals when that stays inside it."""
    if dom in ("positive integer", "integer"):
        return float(rng.integers(1 if dom == "positive integer" else -_INTEGERS, _INTEGERS + 1))
    if isinstance(dom, tuple) or dom == "probability":
        lo, hi = dom if isinstance(dom, tuple) else _PROBABILITY
        v = float(rng.uniform(lo, hi))
        if readable and lo < round(v, 2) < hi:
            v = round(v, 2)
        return v
    lo, hi = (math.log(m) for m in _MAGNITUDES)
    v = math.exp(float(rng.uniform(lo, hi)))
    if readable and round(v, 2) > 0:
        v = round(v, 2)
    negative = dom == "negative" or (dom == "real" and rng.random() < 0.5)
    return -v if negative else v


@dataclass(frozen=True)
class Expression(Check):
    kind: ClassVar[str] = "expression"
    runs_in_worker: ClassVar[bool] = True  # sympy on student text: see grader.engine.checks.bounded

    symbols: tuple[str, ...] = ("a", "y")
    functions: tuple[str, ...] = DEFAULT_FUNCTIONS
    points: int = 20
    seed: int = 0
    rtol: float = 1e-8
    domains: dict = field(default_factory=dict)
    target: str | None = None
    max_length: int = 500
    simplify_timeout: float = 1.0
    definitions: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        grammar = _check_grammar_fields("Expression", self.symbols, self.functions, self.target, self.max_length)
        object.__setattr__(self, "symbols", grammar.symbols)
        object.__setattr__(self, "functions", grammar.functions)
        if isinstance(self.points, bool) or not isinstance(self.points, int) or not 1 <= self.points <= 1000:
            raise ValueError(f"Expression: points must be an integer in [1, 1000], got {self.points!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"Expression: seed must be an integer, got {self.seed!r}")
        for name in ("rtol", "simplify_timeout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"Expression: {name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        domains = {}
        for name, dom in dict(self.domains or {}).items():
            if name not in self.symbols:
                if isinstance(self.definitions, dict) and name in self.definitions:
                    raise ValueError(f"Expression: domain given for {name!r}, a defined name; domains are for "
                                     f"the symbols {self.symbols}, whose values a defined name is computed from")
                raise ValueError(f"Expression: domain given for {name!r}, which is not one of the symbols {self.symbols}")
            domains[name] = _read_domain(name, dom)
        object.__setattr__(self, "domains", domains)
        object.__setattr__(self, "definitions", self._checked_definitions())

    def _checked_definitions(self) -> dict:
        raw = self.definitions if self.definitions is not None else {}
        if not isinstance(raw, dict):
            raise ValueError(f"Expression: definitions must be a dict {{name: expression}}, got {type(raw).__name__}")
        defs: dict[str, str] = {}
        for name, text in raw.items():
            if isinstance(text, (int, float)) and not isinstance(text, bool) and math.isfinite(text):
                text = repr(text)
            if not isinstance(text, str):
                raise ValueError(
                    f"Expression: the definition of {name!r} must be a string in the checker's grammar "
                    f"(e.g. str(sympy_expression)), got {type(text).__name__}"
                )
            defs[name] = text
        if not defs:
            return {}
        Grammar(tuple(defs))  # valid, distinct names
        both = [n for n in defs if n in self.symbols]
        if both:
            raise ValueError(
                f"Expression: {', '.join(map(repr, both))} is both a symbol and a defined name; symbols are the "
                "independent variables, a defined name stands for its definition"
            )
        if self.target is not None and any(_lhs_key(n) == _lhs_key(self.target) for n in defs):
            raise ValueError(f"Expression: the target {self.target!r} is a defined name, so the answer "
                             f"'{self.target}' would be accepted")
        _resolve_definitions(self.symbols, tuple(defs.items()))  # reads them, refuses cycles
        return defs

    @property
    def allowed_names(self) -> tuple[str, ...]:
        """The names an answer may use: the symbols, then the defined names."""
        return self.symbols + tuple(self.definitions)

    @property
    def grammar(self) -> Grammar:
        return Grammar(self.allowed_names, self.functions, max_length=self.max_length)

    def _substitutions(self) -> dict:
        if not self.definitions:
            return {}
        return _resolve_definitions(self.symbols, tuple(self.definitions.items()))

    def expand(self, expr: Any) -> Any:
        """``expr`` (built by the parser) with every defined name replaced by its definition."""
        subs = self._substitutions()
        return expr.xreplace(subs) if subs else expr

    def describe(self) -> str:
        eq = f" (you may write it as '{self.target} = ...')" if self.target else ""
        defined = (f"; you may also use {', '.join(self.definitions)}, which stand for their definitions"
                   if self.definitions else "")
        return (
            f"an expression in {', '.join(self.symbols)} equivalent to the expected one{eq}{defined}; "
            f"functions allowed: {', '.join(self.functions) or 'none'}; '^' or '**' for powers, "
            "'*' may be left out (2x, a(1 - a))"
        )

    def form(self) -> "ExpressionForm":
        """The public check of this question: the answer reads with the same names,
        functions, target and length limit (its value is not looked at)."""
        return ExpressionForm(symbols=self.allowed_names, functions=self.functions, target=self.target,
                              max_length=self.max_length)

    @classmethod
    def for_derivation(cls, derivation: Any, *, local: bool = False, **params: Any) -> tuple["Expression", str]:
        """``(check, expected text)`` for a reference ``Derivation``.

        The expected text is ``str`` of its ``expression`` (or of its ``local``
        form, the step in the lecture's notation, with ``local=True``). Unless
        given in ``params``: the symbols are its inputs (given symbols that are
        defined names are left to their definitions), the definitions its
        ``definitions`` as text (``str`` of each sympy expression), the
        functions the default ones plus its own (e.g. ``sigma_prime``), each
        checked to mean what the parser reads. Other ``params`` (target,
        domains, ...) go to the check.
        """
        if not _is_derivation(derivation):
            raise TypeError(f"Expression.for_derivation: not a Derivation: {type(derivation).__name__}")
        name = getattr(derivation, "name", "derivation")
        if isinstance(derivation.expression, sympy.MatrixBase):
            raise ValueError(f"{name}: a vector derivation; ask for one component at a time")
        if derivation.constraints:
            raise ValueError(f"{name}: derivations with constraints are not supported by Expression")
        expr = derivation.local if local else derivation.expression
        if expr is None:
            raise ValueError(f"{name}: has no local form")
        params = dict(params)
        if "definitions" not in params:
            params["definitions"] = {n: str(e) for n, e in derivation.definitions}
        defined = set(params["definitions"] or {})
        symbols = params.get("symbols", derivation.inputs)
        params["symbols"] = tuple(s for s in ((symbols,) if isinstance(symbols, str) else symbols)
                                  if s not in defined)
        if "functions" not in params:
            extra = []
            for fname, fn in derivation.functions:
                if fname not in KNOWN_FUNCTIONS:
                    raise ValueError(f"{name}: the function {fname!r} is not known to the expression parser")
                if not _same_function(fname, fn):
                    raise ValueError(f"{name}: the function {fname!r} does not mean what the parser reads it as")
                if fname not in DEFAULT_FUNCTIONS:
                    extra.append(fname)
            params["functions"] = DEFAULT_FUNCTIONS + tuple(extra)
        return cls(**params), str(expr)

    # ------------------------------------------------------------------
    def parse_expected(self, expected: Any) -> Parsed:
        if isinstance(expected, (int, float)) and not isinstance(expected, bool) and math.isfinite(expected):
            expected = repr(expected)
        if not isinstance(expected, str):
            raise ExpectedValueError(f"Expression: the expected value must be a string, got {type(expected).__name__}")
        if "=" in expected:
            expected = expected.split("=", 1)[1]
        try:
            return _parse_cached(expected, self.grammar.trusted())  # defined names allowed
        except ParseError as exc:
            raise ExpectedValueError(f"Expression: the expected expression {short(expected, 200)!r} cannot be read: {exc}") from None

    def _domain(self, name: str) -> str | tuple[float, float]:
        return self.domains.get(name, DEFAULT_DOMAIN)

    def _points(self):
        """Up to 10*points candidate points: dicts symbol name -> float."""
        rng = np.random.default_rng(self.seed)
        nice = max(1, self.points // 2)
        for k in range(10 * self.points):
            yield {name: _draw(self._domain(name), rng, readable=k % self.points < nice)
                   for name in self.symbols}

    def _compare_numeric(self, got: Any, exp: Any) -> dict:
        """{'verdict': 'agree'|'disagree'|'unknown', 'point', 'got_value', 'expected_value', 'how', 'n'}"""
        syms = dict(zip(self.symbols, sympy.symbols(self.symbols, real=True)))
        n_valid = 0
        first_bad: dict | None = None
        ctx = _context()
        for pt in self._points():
            env = {syms[k]: ctx.mpf(repr(v)) for k, v in pt.items()}
            ek, ev = _value(exp, env, ctx)
            if ek != "ok":
                continue
            gk, gv = _value(got, env, ctx)
            n_valid += 1
            ok = gk == "ok" and abs(gv - ev) <= self.rtol * max(abs(gv), abs(ev)) + _TINY
            if not ok:
                first_bad = {
                    "point": pt,
                    "how": gk,
                    "got_value": None if gv is None else _nstr(gv),
                    "expected_value": _nstr(ev),
                }
                break
            if n_valid >= self.points:
                break
        if first_bad is not None:
            return {"verdict": "disagree", "n": n_valid, **first_bad}
        if n_valid >= max(1, min(self.points, 3)):
            return {"verdict": "agree", "n": n_valid}
        return {"verdict": "unknown", "n": n_valid}

    def _check(self, got: Any, expected: Any) -> CheckResult:
        exp = self.parse_expected(expected)
        parsed, text, failure = _read_answer(got, self.grammar, self.target, self.max_length)
        if failure is not None:
            if failure.data.get("reason") == "parse" and "position" in failure.data:
                return CheckResult(failure.fraction, failure.message, detail=f"expected: {exp.read_as}",
                                   data=failure.data)
            return failure
        read = f"(read as: {short(parsed.read_as, 200)})"
        data: dict[str, Any] = {"read_as": parsed.read_as, "got": text}
        ok_detail = f"expected: {exp.read_as}"

        got_expr, exp_expr = self.expand(parsed.expr), self.expand(exp.expr)
        try:
            identical = bool((got_expr - exp_expr) == 0)
        except Exception:
            identical = False
        if identical:
            return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "identical"})

        num = self._compare_numeric(got_expr, exp_expr)
        data["points_checked"] = num["n"]
        if num["verdict"] == "agree":
            return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "numeric"})

        if num["verdict"] == "unknown":
            # Too few points where the expected expression is defined and real:
            # only a symbolic proof can decide.
            if simplify_is_zero(got_expr - exp_expr, self.simplify_timeout):
                return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "simplify"})
            return CheckResult(
                0.0,
                f"could not confirm that your expression is equivalent to the expected one {read}",
                detail=ok_detail,
                data={**data, "method": "none"},
            )
        used = got_expr.free_symbols | exp_expr.free_symbols
        names = [s for s in self.symbols if any(str(u) == s for u in used)]
        pt = num["point"]
        where = "at " + ", ".join(f"{s}={_nstr(mpmath.mpf(repr(pt[s])))}" for s in names) + " " if names else ""
        mine = {str(u) for u in parsed.expr.free_symbols}
        defined_used = [n for n in self.definitions if n in mine]
        if defined_used and where:
            where += f"(with {', '.join(defined_used)} computed from these) "
        if num["how"] == "undefined":
            says = "is undefined (a division by zero, or an overflow?)"
        elif num["how"] == "complex":
            says = f"is not a real number ({num['got_value']}: a log or square root of a negative number?)"
        else:
            says = f"gives {num['got_value']}"
        data.update(method="numeric", point={s: pt[s] for s in names}, got_value=num["got_value"],
                    expected_value=num["expected_value"])
        return CheckResult(
            0.0,
            f"not equivalent: {where}your expression {says} {read}",
            detail=f"{ok_detail}; there it gives {num['expected_value']}",
            data=data,
        )


@dataclass(frozen=True)
class ExpressionForm(Check):
    """The answer reads as an expression with the allowed symbols and functions.

    The same reading as :class:`Expression` (a string, or a number; the length
    limit; ``lhs = rhs`` with the left side naming ``target`` when it is set;
    the whitelisting parser), and the same messages (position and caret,
    unknown symbol with the allowed list). ``expected`` is never used, so the
    check can be public: it tells a student that an answer will be read,
    not whether it is right. ``symbols`` are all the names an answer may use
    (for a question with definitions, the symbols and the defined names:
    :meth:`Expression.form` builds the matching check).
    """

    kind: ClassVar[str] = "expression_form"
    runs_in_worker: ClassVar[bool] = True

    symbols: tuple[str, ...] = ("a", "y")
    functions: tuple[str, ...] = DEFAULT_FUNCTIONS
    target: str | None = None
    max_length: int = 500

    def __post_init__(self) -> None:
        grammar = _check_grammar_fields("ExpressionForm", self.symbols, self.functions, self.target, self.max_length)
        object.__setattr__(self, "symbols", grammar.symbols)
        object.__setattr__(self, "functions", grammar.functions)

    @property
    def grammar(self) -> Grammar:
        return Grammar(self.symbols, self.functions, max_length=self.max_length)

    def describe(self) -> str:
        eq = f" (you may write it as '{self.target} = ...')" if self.target else ""
        return (
            f"an expression that reads, in {', '.join(self.symbols) or 'numbers only'}{eq}; "
            f"functions allowed: {', '.join(self.functions) or 'none'} (only the form is checked here, "
            "not the value)"
        )

    def _check(self, got: Any, expected: Any) -> CheckResult:  # expected is not used
        parsed, text, failure = _read_answer(got, self.grammar, self.target, self.max_length)
        if failure is not None:
            return failure
        return CheckResult(
            1.0,
            f"reads as an expression (read as: {short(parsed.read_as, 200)}); whether it is right "
            "is not checked here",
            data={"read_as": parsed.read_as, "got": text},
        )
