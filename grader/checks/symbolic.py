"""Expression: a symbolic answer (a derivation), checked for equivalence.

The student's text and the expected text (sympy's ``str`` of the
reference's derivative) are read by the same whitelisting parser
(:mod:`grader.checks.mathparse`; never ``eval``/``sympify``). Then:

1. if sympy's automatic canonical form already makes ``got - expected`` zero,
   the answer is correct;
2. both expressions are evaluated at ``points`` random points (50-digit
   arithmetic, each symbol drawn from its domain, default (0.05, 0.95) so
   that log(a), log(1 - a) and 1/a are defined; half of the points are
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

Equivalence is on the domains: ``sqrt(a^2)`` equals ``a`` when a is in
(0.05, 0.95).

An answer may be an equation ``lhs = rhs``: with ``target`` set, the left
side must name it (``w_bar = z_bar*x + R_bar*w``); without ``target`` the
left side is ignored. Only the right side is compared.
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
from .mathparse import DEFAULT_FUNCTIONS, Grammar, ParseError, Parsed, parse

__all__ = ["Expression", "DEFAULT_DOMAIN"]

DEFAULT_DOMAIN = (0.05, 0.95)
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

    def on_alarm(signum, frame):  # noqa: ARG001
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


@dataclass(frozen=True)
class Expression(Check):
    kind: ClassVar[str] = "expression"

    symbols: tuple[str, ...] = ("a", "y")
    functions: tuple[str, ...] = DEFAULT_FUNCTIONS
    points: int = 20
    seed: int = 0
    rtol: float = 1e-8
    domains: dict = field(default_factory=dict)
    target: str | None = None
    max_length: int = 500
    simplify_timeout: float = 1.0

    def __post_init__(self) -> None:
        grammar = Grammar(self.symbols, self.functions, max_length=self.max_length)  # validates names
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
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or self.max_length < 1:
            raise ValueError(f"Expression: max_length must be a positive integer, got {self.max_length!r}")
        domains = {}
        for name, dom in dict(self.domains or {}).items():
            if name not in self.symbols:
                raise ValueError(f"Expression: domain given for {name!r}, which is not one of the symbols {self.symbols}")
            try:
                lo, hi = (float(x) for x in dom)
            except (TypeError, ValueError):
                raise ValueError(f"Expression: the domain of {name!r} must be a pair (low, high), got {dom!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"Expression: the domain of {name!r} must have finite low < high, got {dom!r}")
            domains[name] = (lo, hi)
        object.__setattr__(self, "domains", domains)
        if self.target is not None and (not isinstance(self.target, str) or not self.target.strip()):
            raise ValueError(f"Expression: target must be a non-empty string or None, got {self.target!r}")

    @property
    def grammar(self) -> Grammar:
        return Grammar(self.symbols, self.functions, max_length=self.max_length)

    def describe(self) -> str:
        eq = f" (you may write it as '{self.target} = ...')" if self.target else ""
        return (
            f"an expression in {', '.join(self.symbols)} equivalent to the expected one{eq}; "
            f"functions allowed: {', '.join(self.functions) or 'none'}; '^' or '**' for powers, "
            "'*' may be left out (2x, a(1 - a))"
        )

    # ------------------------------------------------------------------
    def parse_expected(self, expected: Any) -> Parsed:
        if isinstance(expected, (int, float)) and not isinstance(expected, bool) and math.isfinite(expected):
            expected = repr(expected)
        if not isinstance(expected, str):
            raise ExpectedValueError(f"Expression: the expected value must be a string, got {type(expected).__name__}")
        if "=" in expected:
            expected = expected.split("=", 1)[1]
        try:
            return _parse_cached(expected, self.grammar.trusted())
        except ParseError as exc:
            raise ExpectedValueError(f"Expression: the expected expression {short(expected, 200)!r} cannot be read: {exc}") from None

    def _domain(self, name: str) -> tuple[float, float]:
        return self.domains.get(name, DEFAULT_DOMAIN)

    def _points(self):
        """Up to 10*points candidate points: dicts symbol name -> float."""
        rng = np.random.default_rng(self.seed)
        nice = max(1, self.points // 2)
        for k in range(10 * self.points):
            pt = {}
            for name in self.symbols:
                lo, hi = self._domain(name)
                v = float(rng.uniform(lo, hi))
                if k % self.points < nice:
                    r = round(v, 2)
                    if lo < r < hi:
                        v = r
                pt[name] = v
            yield pt

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

    def _got_text(self, got: Any) -> tuple[str | None, str | None]:
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

    def _check(self, got: Any, expected: Any) -> CheckResult:
        exp = self.parse_expected(expected)
        text, why = self._got_text(got)
        if why is not None:
            return CheckResult(0.0, why, data={"reason": "type"})
        if len(text) > self.max_length:
            return CheckResult(
                0.0,
                f"your expression is too long ({len(text)} characters; at most {self.max_length})",
                data={"reason": "parse"},
            )
        body, offset = text, 0
        if text.count("=") == 1 and "==" not in text:
            lhs, _, body = text.partition("=")
            offset = len(lhs) + 1
            name = "".join(lhs.split())
            if self.target is not None and _lhs_key(name) != _lhs_key(self.target):
                shown = short(name, 40) or "nothing"
                return CheckResult(
                    0.0,
                    f"the left-hand side of your equation is {shown!r}, but this question asks for "
                    f"{self.target}; write '{self.target} = ...' or just the expression",
                    data={"reason": "target", "lhs": name},
                )
        try:
            parsed = _parse_cached(body, self.grammar)
        except ParseError as exc:
            if offset:
                exc = exc.shifted(offset, text)
            pointer = exc.pointer()
            return CheckResult(
                0.0,
                f"could not read your expression: {exc}" + (f"\n{pointer}" if pointer else ""),
                detail=f"expected: {exp.read_as}",
                data={"reason": "parse", "position": exc.position, "error": exc.message},
            )
        read = f"(read as: {short(parsed.read_as, 200)})"
        data: dict[str, Any] = {"read_as": parsed.read_as, "got": text}
        ok_detail = f"expected: {exp.read_as}"

        try:
            identical = bool((parsed.expr - exp.expr) == 0)
        except Exception:
            identical = False
        if identical:
            return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "identical"})

        num = self._compare_numeric(parsed.expr, exp.expr)
        data["points_checked"] = num["n"]
        if num["verdict"] == "agree":
            return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "numeric"})

        if num["verdict"] == "unknown":
            # Too few points where the expected expression is defined and real:
            # only a symbolic proof can decide.
            if simplify_is_zero(parsed.expr - exp.expr, self.simplify_timeout):
                return CheckResult(1.0, f"correct {read}", detail=ok_detail, data={**data, "method": "simplify"})
            return CheckResult(
                0.0,
                f"could not confirm that your expression is equivalent to the expected one {read}",
                detail=ok_detail,
                data={**data, "method": "none"},
            )
        used = parsed.expr.free_symbols | exp.expr.free_symbols
        names = [s for s in self.symbols if any(str(u) == s for u in used)]
        pt = num["point"]
        where = "at " + ", ".join(f"{s}={_nstr(mpmath.mpf(repr(pt[s])))}" for s in names) + " " if names else ""
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
