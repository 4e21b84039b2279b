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

This module holds the two check classes; what they stand on has a module
each: :mod:`.expression_answers` (reading the answer, the definitions),
:mod:`.expression_values` (values at points, ``simplify`` under a time
limit) and :mod:`.expression_domains` (the symbols' domains).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy

from ._coerce import short
from .base import Check, CheckResult, ExpectedValueError
from .expression_answers import (
    check_grammar_fields,
    is_derivation,
    lhs_key,
    parse_cached,
    read_answer,
    resolve_definitions,
    same_function,
)
from .expression_domains import DEFAULT_DOMAIN, NAMED_DOMAINS, describe_domain, draw, read_domain
from .expression_values import TINY, mpmath_context, nstr, simplify_is_zero, value_at
from .mathparse import DEFAULT_FUNCTIONS, KNOWN_FUNCTIONS, Grammar, Parsed, ParseError

__all__ = ["Expression", "ExpressionForm", "DEFAULT_DOMAIN", "NAMED_DOMAINS", "describe_domain"]


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
        grammar = check_grammar_fields("Expression", self.symbols, self.functions, self.target, self.max_length)
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
            domains[name] = read_domain(name, dom)
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
        if self.target is not None and any(lhs_key(n) == lhs_key(self.target) for n in defs):
            raise ValueError(f"Expression: the target {self.target!r} is a defined name, so the answer "
                             f"'{self.target}' would be accepted")
        resolve_definitions(self.symbols, tuple(defs.items()))  # reads them, refuses cycles
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
        return resolve_definitions(self.symbols, tuple(self.definitions.items()))

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
        if not is_derivation(derivation):
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
                if not same_function(fname, fn):
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
            return parse_cached(expected, self.grammar.trusted())  # defined names allowed
        except ParseError as exc:
            raise ExpectedValueError(f"Expression: the expected expression {short(expected, 200)!r} cannot be read: {exc}") from None

    def _domain(self, name: str) -> str | tuple[float, float]:
        return self.domains.get(name, DEFAULT_DOMAIN)

    def _points(self):
        """Up to 10*points candidate points: dicts symbol name -> float."""
        rng = np.random.default_rng(self.seed)
        nice = max(1, self.points // 2)
        for k in range(10 * self.points):
            yield {name: draw(self._domain(name), rng, readable=k % self.points < nice)
                   for name in self.symbols}

    def _compare_numeric(self, got: Any, exp: Any) -> dict:
        """{'verdict': 'agree'|'disagree'|'unknown', 'point', 'got_value', 'expected_value', 'how', 'n'}"""
        syms = dict(zip(self.symbols, sympy.symbols(self.symbols, real=True)))
        n_valid = 0
        first_bad: dict | None = None
        ctx = mpmath_context()
        for pt in self._points():
            env = {syms[k]: ctx.mpf(repr(v)) for k, v in pt.items()}
            ek, ev = value_at(exp, env, ctx)
            if ek != "ok":
                continue
            gk, gv = value_at(got, env, ctx)
            n_valid += 1
            ok = gk == "ok" and abs(gv - ev) <= self.rtol * max(abs(gv), abs(ev)) + TINY
            if not ok:
                first_bad = {
                    "point": pt,
                    "how": gk,
                    "got_value": None if gv is None else nstr(gv),
                    "expected_value": nstr(ev),
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
        parsed, text, failure = read_answer(got, self.grammar, self.target, self.max_length)
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
        where = "at " + ", ".join(f"{s}={nstr(mpmath.mpf(repr(pt[s])))}" for s in names) + " " if names else ""
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
        grammar = check_grammar_fields("ExpressionForm", self.symbols, self.functions, self.target, self.max_length)
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
        parsed, text, failure = read_answer(got, self.grammar, self.target, self.max_length)
        if failure is not None:
            return failure
        return CheckResult(
            1.0,
            f"reads as an expression (read as: {short(parsed.read_as, 200)}); whether it is right "
            "is not checked here",
            data={"read_as": parsed.read_as, "got": text},
        )
