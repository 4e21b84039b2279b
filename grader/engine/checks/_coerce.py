"""Reading untrusted student values as numbers and arrays, and formatting them.

Every function here takes anything a child process can send back (None, bool,
int, float, str, nested lists, dicts, numeric numpy arrays) and returns either
a value or a sentence saying what was received instead. Nothing raises.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_KIND_NAMES = {
    "b": "booleans",
    "i": "integers",
    "u": "unsigned integers",
    "f": "floating-point numbers",
    "c": "complex numbers",
    "O": "Python objects",
    "U": "strings",
    "S": "bytes",
    "V": "raw records",
    "M": "dates",
    "m": "time deltas",
}

MAX_SHOWN = 60


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, f"dtype kind {kind!r}")


def short(text: str, limit: int = MAX_SHOWN) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_num(x: Any) -> str:
    """A number for a message: 6 significant digits, ints as they are."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        n = int(x)
        if abs(n) < 10**20:
            return str(n)
        digits = len(str(abs(n))) if abs(n) < 10**4000 else None
        return f"{'-' if n < 0 else ''}an integer of {digits or 'over 4000'} digits"
    if isinstance(x, (complex, np.complexfloating)):
        return f"{complex(x):.6g}"
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError, OverflowError):
        return short(repr(x))


def fmt_shape(shape: Any) -> str:
    shape = tuple(int(s) for s in shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def fmt_index(index: Any) -> str:
    index = tuple(int(i) for i in index)
    if len(index) == 1:
        return f"[{index[0]}]"
    return "[" + ", ".join(str(i) for i in index) + "]"


def describe_value(value: Any) -> str:
    """What a value is, for 'expected X, but your answer is ...' sentences."""
    if value is None:
        return "None (no value)"
    if isinstance(value, (bool, np.bool_)):
        return f"a bool ({bool(value)})"
    if isinstance(value, str):
        return f"the string {short(repr(value))}"
    if isinstance(value, (int, np.integer)):
        return f"the integer {fmt_num(value)}"
    if isinstance(value, (float, np.floating)):
        return f"the number {fmt_num(value)}"
    if isinstance(value, (complex, np.complexfloating)):
        return f"the complex number {fmt_num(value)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {fmt_shape(value.shape)} holding {kind_name(value.dtype.kind)} (dtype {value.dtype})"
    if isinstance(value, (list, tuple)):
        what = "list" if isinstance(value, list) else "tuple"
        n = len(value)
        return f"a {what} of {n} item{'s' if n != 1 else ''}"
    if isinstance(value, dict):
        return f"a dict with {len(value)} key{'s' if len(value) != 1 else ''}"
    return f"a value of type {type(value).__name__}"


def looks_numeric_string(s: str) -> bool:
    try:
        float(s.strip())
    except (ValueError, OverflowError):
        return False
    return bool(s.strip())


def as_real_number(value: Any, _depth: int = 0) -> tuple[int | float | None, str | None]:
    """A student's single number as a Python int or float, or (None, reason).

    Accepted: int, float, numpy integer/float scalars, numeric arrays holding
    exactly one value, lists/tuples holding exactly one number (nested
    singletons too). Refused with a reason: None, bool, str (even "0.2984"),
    complex, containers of several values, anything else. An int beyond the
    float range comes back as +-inf, so callers may use float()/math.isfinite.
    """
    if _depth > 32:
        return None, "a value nested too deeply"
    if value is None:
        return None, "None (no value) - did you assign it?"
    if isinstance(value, (bool, np.bool_)):
        return None, f"a bool ({bool(value)}), which is not a number"
    if isinstance(value, str):
        if looks_numeric_string(value):
            return None, (
                f"the string {short(repr(value))}, not a number: remove the quotes "
                f"(write {short(value.strip())} instead of {short(repr(value))})"
            )
        return None, f"the string {short(repr(value))}, not a number"
    if isinstance(value, (int, np.integer)):
        n = int(value)
        if abs(n) > 10**300:  # beyond float range: treat as an overflow, as float() callers expect
            return (math.inf if n > 0 else -math.inf), None
        return n, None
    if isinstance(value, (float, np.floating)):
        return float(value), None
    if isinstance(value, (complex, np.complexfloating)):
        return None, f"the complex number {fmt_num(value)}; a real number was expected"
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind == "b":
            return None, f"an array of booleans (shape {fmt_shape(value.shape)}), not a number"
        if kind not in "iuf":
            return None, f"an array of {kind_name(kind)} (dtype {value.dtype}), not a number"
        if value.size != 1:
            return None, (
                f"an array of shape {fmt_shape(value.shape)} ({value.size} values); "
                "a single number was expected"
            )
        return as_real_number(value.reshape(-1)[0], _depth + 1)
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            return None, f"{describe_value(value)}; a single number was expected"
        return as_real_number(value[0], _depth + 1)
    return None, describe_value(value)


def as_numeric_array(value: Any, allow_list: bool = True) -> tuple[np.ndarray | None, str | None]:
    """A student's array as a numpy array of a real numeric or bool dtype.

    Lists/tuples (nested, rectangular) and scalars are converted when
    ``allow_list``. Complex, object, string and other dtypes are refused with
    a reason.
    """
    if value is None:
        return None, "None (no value) - did your function return it?"
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, str):
        return None, f"{describe_value(value)}; an array was expected"
    elif isinstance(value, dict):
        return None, f"{describe_value(value)}; an array was expected"
    elif isinstance(value, (list, tuple, bool, int, float, complex, np.generic)):
        if not allow_list:
            return None, f"{describe_value(value)}; a numpy array was expected (use np.array(...))"
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
            reason = "rows of different lengths" if "inhomogeneous" in str(exc) else "not a rectangular table of numbers"
            return None, f"{describe_value(value)} that cannot be read as an array ({reason})"
    else:
        return None, f"{describe_value(value)}; an array was expected"
    kind = arr.dtype.kind
    if kind == "c":
        return None, f"an array of complex numbers (dtype {arr.dtype}); real numbers were expected"
    if kind not in "biuf":
        if kind == "O" and isinstance(value, (list, tuple)):
            return None, (
                f"{describe_value(value)} that is not a rectangular table of numbers "
                "(rows of different lengths, or items that are not numbers)"
            )
        return None, f"an array of {kind_name(kind)} (dtype {arr.dtype}); numbers were expected"
    return arr, None


def finite_float(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return v
