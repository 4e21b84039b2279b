"""ArrayClose: a numeric array compared elementwise with a tolerance.

Order of the checks, each with its own message:
1. the value can be read as a real numeric array (lists when ``allow_list``;
   complex, object and string arrays never pass);
2. shape (the message names the received and the expected shape: shapes are
   part of the API, not of the answer, so this is safe for hidden questions);
3. dtype kind (``dtype_kind``, e.g. "f": floats required);
4. NaN/inf where the expected value is finite (how many, where the first is);
5. ``|got - expected| <= atol + rtol*|expected|`` elementwise; the worst
   element (largest error relative to its tolerance) is reported: its index
   and the student's value in the message, the expected value and the errors
   in the detail.
With ``partial=True`` the credit is the share of elements within tolerance,
otherwise all or nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, fmt_index, fmt_num, fmt_shape, kind_name
from .base import Check, CheckResult, ExpectedValueError

__all__ = ["ArrayClose", "padding_added", "shape_hint"]

# Arrays up to this many elements keep the student's values in ``data["got_values"]`` for reports.
REPORT_VALUES_MAX = 1024


def padding_added(got_shape: tuple, expected_shape: tuple) -> tuple[int, ...] | None:
    """The growth of each axis when ``got_shape`` is ``expected_shape`` grown along two or
    more axes (of three or more) and equal along the others: the shape of an image that
    still carries its padding (conv's dx before the crop). None otherwise."""
    if len(got_shape) != len(expected_shape) or len(got_shape) < 3:
        return None
    growth = tuple(int(g) - int(e) for g, e in zip(got_shape, expected_shape))
    if min(growth) < 0 or sum(d > 0 for d in growth) < 2:
        return None
    return growth


def shape_hint(got_shape: tuple, expected_shape: tuple) -> str:
    """What a wrong shape says about the mistake, only when that is certain from the shapes."""
    if len(got_shape) >= 2 and tuple(got_shape) == tuple(expected_shape)[::-1]:
        return " - it looks transposed"
    growth = padding_added(tuple(got_shape), tuple(expected_shape))
    if growth is not None:
        grown = [d for d in growth if d]
        if all(d == grown[0] and d % 2 == 0 for d in grown):
            return f" - it is the padded shape ({grown[0] // 2} too many on each side of the padded axes): crop the padding"
        axes = ", ".join(str(i) for i, d in enumerate(growth) if d)
        return f" - larger along axes {axes} only: it looks like the padded shape: crop the padding"
    if int(np.prod(got_shape)) == int(np.prod(expected_shape)) and len(got_shape) != len(expected_shape):
        return " - same number of elements: a reshape may be missing"
    if sorted(got_shape) == sorted(expected_shape):
        return " - the same sizes in a different order: are the axes swapped?"
    return ""


def _relation_hint(g: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str:
    """How the whole array relates to the expected one (instructor detail only)."""
    def close(a: np.ndarray) -> bool:
        with np.errstate(all="ignore"):
            return bool(np.all(np.abs(a - e) <= atol + rtol * np.abs(e)))

    try:
        if e.size == 0 or not np.all(np.isfinite(g)):
            return ""
        if np.any(e != 0) and close(-g):
            return " The whole array has the opposite sign."
        if g.ndim == 2 and g.shape[0] == g.shape[1] and close(g.T):
            return " The array is the transpose of the expected one."
        nz = np.abs(e) > 1e-12 * max(1.0, float(np.max(np.abs(e))))
        if np.count_nonzero(nz) >= 1:
            with np.errstate(all="ignore"):
                ratios = g[nz] / e[nz]
            r = float(np.median(ratios))
            if math.isfinite(r) and r != 0 and not math.isclose(r, 1.0, rel_tol=1e-6) and close(g / r):
                return f" The array is the expected one times {r:.6g} (a missing or extra factor, e.g. 1/N?)."
        if g.size > 1 and close(np.flip(g)):
            return " The array is the expected one reversed."
    except Exception:  # hints are best effort
        return ""
    return ""


@dataclass(frozen=True)
class ArrayClose(Check):
    kind: ClassVar[str] = "array"

    rtol: float = 1e-7
    atol: float = 1e-10
    dtype_kind: str | None = None
    allow_list: bool = True
    partial: bool = False
    dtype: str | None = None   # an exact dtype, e.g. "float32" (checked after dtype_kind)

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"ArrayClose: {name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.dtype is not None:
            try:
                exact = np.dtype(self.dtype)
            except TypeError:
                raise ValueError(f"ArrayClose: dtype must name a numpy dtype, got {self.dtype!r}") from None
            if exact.kind not in "biuf":
                raise ValueError(f"ArrayClose: dtype must be a numeric or bool dtype, got {self.dtype!r}")
            object.__setattr__(self, "dtype", exact.name)
        if self.dtype_kind is not None:
            if not isinstance(self.dtype_kind, str) or not self.dtype_kind or set(self.dtype_kind) - set("biuf"):
                raise ValueError(
                    f"ArrayClose: dtype_kind must be None or numpy kind letters among 'biuf', got {self.dtype_kind!r}"
                )

    def describe(self) -> str:
        kinds = ""
        if self.dtype_kind:
            kinds = " of " + " or ".join(kind_name(k) for k in self.dtype_kind)
        if self.dtype:
            kinds = f" of dtype {self.dtype}"
        return (
            f"an array{kinds} with the expected shape, every element within "
            f"|got - expected| <= {self.atol:g} + {self.rtol:g}*|expected|"
            + (" (partial credit per element)" if self.partial else "")
        )

    def _check(self, got: Any, expected: Any) -> CheckResult:
        return self.compare(got, expected, name="your array")

    @staticmethod
    def expected_array(expected: Any, who: str = "ArrayClose") -> np.ndarray:
        e, why = as_numeric_array(expected, allow_list=True)
        if why is not None:
            raise ExpectedValueError(f"{who}: the expected value is not a numeric array: {why}")
        return e

    def compare(self, got: Any, expected: Any, name: str = "your array") -> CheckResult:
        """The comparison, with ``name`` ("your array", "dW", ...) in the messages."""
        e = self.expected_array(expected)
        Name = name[:1].upper() + name[1:] if name.startswith(("your ", "the ")) else name
        g, why = as_numeric_array(got, allow_list=self.allow_list)
        if why is not None:
            return CheckResult(
                0.0,
                f"{Name} should be an array of shape {fmt_shape(e.shape)}, but it is {why}",
                data={"reason": "type", "expected_shape": list(e.shape)},
            )
        shapes = {"got_shape": list(g.shape), "expected_shape": list(e.shape)}
        if g.shape != e.shape:
            return CheckResult(
                0.0,
                f"{Name} has shape {fmt_shape(g.shape)}, expected shape {fmt_shape(e.shape)}"
                + shape_hint(g.shape, e.shape),
                data={"reason": "shape", **shapes},
            )
        if self.dtype_kind and g.dtype.kind not in self.dtype_kind:
            wanted = " or ".join(kind_name(k) for k in self.dtype_kind)
            extra = ""
            if "f" in self.dtype_kind and g.dtype.kind in "iu":
                extra = " (integer arithmetic or an integer-typed array, e.g. np.zeros_like of an int array, truncates values)"
            return CheckResult(
                0.0,
                f"{Name} holds {kind_name(g.dtype.kind)} (dtype {g.dtype}), but {wanted} are expected{extra}",
                data={"reason": "dtype", "got_dtype": str(g.dtype), **shapes},
            )
        if self.dtype and g.dtype.name != self.dtype:
            return CheckResult(
                0.0,
                f"{Name} has dtype {g.dtype}, but dtype {self.dtype} is expected (convert with .astype(np.{self.dtype}))",
                data={"reason": "dtype", "got_dtype": str(g.dtype), **shapes},
            )
        n = int(e.size)
        if n == 0:
            return CheckResult(1.0, f"{Name} is empty, as expected", data={"reason": "ok", **shapes})

        gf = g.astype(np.float64, copy=False)
        ef = e.astype(np.float64, copy=False)
        e_finite = np.isfinite(ef)
        bad = ~np.isfinite(gf) & e_finite
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            first = np.unravel_index(int(np.flatnonzero(bad)[0]), g.shape)
            v = gf[first]
            what = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return CheckResult(
                0.0,
                f"{Name} contains {n_bad} non-finite value{'s' if n_bad != 1 else ''} (NaN or inf) out of {n}; "
                f"the first is {what} at index {fmt_index(first)}. Look for a division by zero, a log of 0 "
                "or an overflow (e.g. exp of a large number).",
                data={"reason": "non-finite", "n_nonfinite": n_bad, "first_index": [int(i) for i in first], **shapes},
            )

        with np.errstate(all="ignore"):
            abs_diff = np.abs(gf - ef)
            tol = self.atol + self.rtol * np.abs(ef)
            ok = abs_diff <= tol
            # Expected non-finite entries match only the same value.
            if not e_finite.all():
                same = (gf == ef) | (np.isnan(gf) & np.isnan(ef))
                ok = np.where(e_finite, ok, same)
                abs_diff = np.where(e_finite, abs_diff, np.where(same, 0.0, np.inf))
            n_wrong = int(n - np.count_nonzero(ok))
        data: dict[str, Any] = {"abs_diff": abs_diff, "n": n, "n_wrong": n_wrong, **shapes}
        # For reports: which elements are out of tolerance, and (small arrays) the student's own values.
        data["wrong"] = ~ok
        if n <= REPORT_VALUES_MAX:
            data["got_values"] = gf.copy()
        if n_wrong == 0:
            worst = float(np.max(abs_diff)) if n else 0.0
            data["max_abs_diff"] = worst
            return CheckResult(
                1.0,
                f"{Name} is correct: all {n} element{'s' if n != 1 else ''} within tolerance",
                detail=f"largest absolute error {worst:.3g}",
                data=data,
            )
        with np.errstate(all="ignore"):
            score = np.where(ok, -1.0, np.where(tol > 0, abs_diff / np.where(tol > 0, tol, 1.0), np.inf))
        flat = int(np.argmax(score))
        idx = np.unravel_index(flat, g.shape)
        gv, ev = g[idx], e[idx]
        err = float(abs_diff[idx])
        rel = err / abs(float(ev)) if float(ev) != 0 else math.inf
        where = f" at index {fmt_index(idx)}" if g.ndim else ""
        data.update(
            worst_index=[int(i) for i in idx],
            got=gv.item(),
            expected=ev.item(),
            worst_abs_error=err,
            worst_rel_error=rel,
            fraction_wrong=n_wrong / n,
        )
        if n == 1:
            msg = f"{Name} is not correct: your value is {fmt_num(gv)}"
        else:
            msg = (
                f"{Name}: {n_wrong} of {n} elements ({n_wrong / n:.0%}) are not within tolerance; "
                f"the worst is{where}, where your value is {fmt_num(gv)}"
            )
        detail = (
            f"At index {fmt_index(idx) if g.ndim else '()'}: expected {fmt_num(ev)}, got {fmt_num(gv)}, "
            f"absolute error {err:.3g}, relative error {rel:.3g} "
            f"(tolerance: {self.atol:g} + {self.rtol:g}*|expected|)."
            + _relation_hint(gf, ef, self.rtol, self.atol)
        )
        fraction = (n - n_wrong) / n if self.partial else 0.0
        return CheckResult(fraction, msg, detail=detail, data=data)
