"""An expression's value at a point, in 50-digit mpmath arithmetic, and ``simplify`` under a time limit."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import mpmath
import sympy

_DPS = 50
_OVERFLOW = 460.0  # exp(460) ~ 1e200: larger intermediate values count as undefined
TINY = 1e-30  # absolute floor for comparisons; values are computed to 50 digits


class _Undefined(Exception):
    pass


class _Timeout(Exception):
    pass


_UNDEFINED_ATOMS = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


def mpmath_context() -> Any:
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


def value_at(e: Any, env: dict, ctx: Any) -> tuple[str, Any]:
    """('ok', value) | ('undefined', None) | ('complex', value)."""
    try:
        v = _evaluate(e, env, ctx)
    except (_Undefined, ZeroDivisionError, OverflowError, ValueError):
        return "undefined", None
    v = ctx.mpc(v)
    if abs(v.imag) > TINY * max(1, abs(v.real)):
        return "complex", v
    return "ok", v.real


def nstr(v: Any) -> str:
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
