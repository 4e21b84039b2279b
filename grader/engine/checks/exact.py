"""Exact and OneOf: equality of plain data (ints, strings, lists, shapes).

Normalisation before comparing: tuples are lists, numpy arrays and scalars
are their Python values, strings are stripped (and case-folded with
``ignore_case``). Numbers compare by value (6 == 6.0) unless
``strict_types``; a bool never equals a number. NaN equals NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import describe_value, fmt_num, looks_numeric_string, short
from .base import Check, CheckResult, ExpectedValueError

__all__ = ["Exact", "OneOf"]

_MAX_DEPTH = 64


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist() if v.dtype.kind in "biufcUS" else v
    if isinstance(v, np.generic):
        return v.item()
    return v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _show(v: Any) -> str:
    if _is_number(v):
        return fmt_num(v)
    if isinstance(v, str):
        return short(repr(v))
    return describe_value(v)


def _where(path: tuple) -> str:
    return "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in path)


class _Cmp:
    def __init__(self, strict_types: bool, ignore_case: bool) -> None:
        self.strict = strict_types
        self.ignore_case = ignore_case

    def norm_str(self, s: str) -> str:
        s = s.strip()
        return s.casefold() if self.ignore_case else s

    def diff(self, got: Any, exp: Any, path: tuple = ()) -> str | None:
        """None when equal, else a sentence about the first difference that
        shows the student's value and the kind (not the value) expected."""
        if len(path) > _MAX_DEPTH:
            return "your value is nested too deeply"
        got, exp = _plain(got), _plain(exp)
        at = f" at {_where(path)}" if path else ""
        if isinstance(exp, bool) or isinstance(got, bool):
            if isinstance(exp, bool) and isinstance(got, bool) and got == exp:
                return None
            if isinstance(exp, bool) and not isinstance(got, bool):
                return f"your value{at} is {_show(got)}; True or False was expected"
            return f"your value{at} is {_show(got)}, which is not correct"
        if _is_number(exp):
            if not _is_number(got):
                hint = ""
                if isinstance(got, str) and looks_numeric_string(got):
                    hint = f": remove the quotes (write {short(got.strip())} instead of {short(repr(got))})"
                return f"your value{at} is {_show(got)}; a number was expected{hint}"
            if isinstance(exp, int) and isinstance(got, float) and (self.strict or not got.is_integer()):
                # repr, not fmt_num: "4.0" shows the float that "4" would hide
                fix = ": use // (integer division) or int(...)" if got.is_integer() else ""
                wrong = "" if self.strict and got == exp else ", which is not correct"
                return f"an int was asked for{at}, you returned {short(repr(got))}{wrong}{fix}"
            if self.strict and type(got) is not type(exp):
                kind = "an integer" if isinstance(exp, int) else "a float"
                return f"your value{at} is {_show(got)} of type {type(got).__name__}; {kind} was expected"
            if isinstance(got, float) and isinstance(exp, float) and math.isnan(got) and math.isnan(exp):
                return None
            try:
                equal = got == exp
            except (OverflowError, ValueError):
                equal = False
            return None if equal else f"your value{at} is {_show(got)}, which is not correct"
        if isinstance(exp, str):
            if not isinstance(got, str):
                return f"your value{at} is {_show(got)}; a string was expected"
            return None if self.norm_str(got) == self.norm_str(exp) else f"your value{at} is {_show(got)}, which is not correct"
        if exp is None:
            return None if got is None else f"your value{at} is {_show(got)}; None was expected"
        if isinstance(exp, (list, tuple)):
            if not isinstance(got, (list, tuple)):
                return f"your value{at} is {_show(got)}; a list of {len(exp)} items was expected"
            if len(got) != len(exp):
                return f"your value{at} has {len(got)} items; {len(exp)} were expected"
            for i, (g, e) in enumerate(zip(got, exp)):
                d = self.diff(g, e, path + (i,))
                if d:
                    return d
            return None
        if isinstance(exp, dict):
            if not isinstance(got, dict):
                return f"your value{at} is {_show(got)}; a dict was expected"
            missing = [k for k in exp if k not in got]
            extra = [k for k in got if k not in exp]
            if missing:
                return f"your dict{at} lacks the key {missing[0]!r}"
            if extra:
                return f"your dict{at} has an unexpected key {short(repr(extra[0]), 40)}"
            for k in exp:
                d = self.diff(got[k], exp[k], path + (k,))
                if d:
                    return d
            return None
        try:
            return None if bool(got == exp) else f"your value{at} is {_show(got)}, which is not correct"
        except Exception:
            return f"your value{at} is {_show(got)}, which is not correct"


@dataclass(frozen=True)
class Exact(Check):
    kind: ClassVar[str] = "exact"

    strict_types: bool = False
    ignore_case: bool = False

    def describe(self) -> str:
        return "exactly the expected value" + (" (case does not matter)" if self.ignore_case else "")

    def _check(self, got: Any, expected: Any) -> CheckResult:
        d = _Cmp(self.strict_types, self.ignore_case).diff(got, expected)
        if d is None:
            return CheckResult(1.0, "correct")
        return CheckResult(0.0, d, detail=f"expected {short(repr(_plain(expected)), 400)}")


@dataclass(frozen=True)
class OneOf(Check):
    """The answer must equal one of several accepted values: ``values`` when
    given, else ``expected`` (a list of accepted values)."""

    kind: ClassVar[str] = "one_of"

    values: tuple = ()
    strict_types: bool = False
    ignore_case: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values or ()))

    def describe(self) -> str:
        return "one of the accepted answers" + (" (case does not matter)" if self.ignore_case else "")

    def _check(self, got: Any, expected: Any) -> CheckResult:
        options = list(self.values) if self.values else expected
        if not isinstance(options, (list, tuple)) or not options:
            raise ExpectedValueError("OneOf: no accepted values (give values= or a non-empty list as expected)")
        cmp = _Cmp(self.strict_types, self.ignore_case)
        for opt in options:
            if cmp.diff(got, opt) is None:
                return CheckResult(1.0, "correct")
        return CheckResult(
            0.0,
            f"your answer {_show(_plain(got))} is not one of the accepted answers",
            detail=f"accepted: {short(repr(list(options)), 400)}",
            data={},
        )
