"""Form: the answer is there and has the right form (a number, or an array of a shape).

For public questions about numeric answers: a student learns that ``LOSS``
is still ``None`` or holds a string, without the public check giving the
value away (``expected`` is not used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, as_real_number, fmt_shape
from .base import Check, CheckResult

__all__ = ["Form"]


@dataclass(frozen=True)
class Form(Check):
    """``shape=()``: one finite number; ``shape=(2,)`` etc.: a finite numeric array of that shape."""

    kind: ClassVar[str] = "form"

    shape: tuple = ()

    def _check(self, got: Any, expected: Any) -> CheckResult:
        shape = tuple(self.shape)
        if shape == ():
            value, reason = as_real_number(got)
            if reason:
                return CheckResult(0.0, f"a number was expected, but your answer is {reason}")
            if not math.isfinite(value):
                return CheckResult(0.0, f"your answer is {value}; a finite number was expected")
            return CheckResult(1.0, "a number, as expected")
        array, reason = as_numeric_array(got)
        if reason:
            return CheckResult(0.0, f"an array of shape {fmt_shape(shape)} was expected, but your answer is {reason}")
        if array.shape != shape:
            return CheckResult(0.0, f"an array of shape {fmt_shape(shape)} was expected, "
                                    f"but your answer has shape {fmt_shape(array.shape)}")
        if array.dtype.kind == "b" or not np.all(np.isfinite(array.astype(np.float64))):
            return CheckResult(0.0, "every entry must be a finite number")
        return CheckResult(1.0, f"an array of shape {fmt_shape(shape)}, as expected")

    def describe(self) -> str:
        return "a finite number" if tuple(self.shape) == () else f"a finite array of shape {fmt_shape(self.shape)}"

    @classmethod
    def from_spec(cls, spec: dict) -> "Form":
        return cls(shape=tuple(spec.get("shape", ())))
