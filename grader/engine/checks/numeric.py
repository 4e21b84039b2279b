"""Number: one real number, by tolerance, decimal places or significant figures.

The rule for ``decimals=k`` (and likewise ``sigfigs=k``)
---------------------------------------------------------
The accepted set is ``{round(expected, k), trunc(expected, k)}``, where round
is half-up or half-even (both are in the set; they differ only on exact
ties) and trunc cuts toward zero. The student's value, itself rounded to k
decimals (half-up or half-even), must be in that set. So for expected
0.082167 and k=4 the set is {0.0822, 0.0821}: 0.0821, 0.0822, 0.08217 and
0.08206 pass; 0.0820, 0.0823 and 0.082 fail. A student may give more digits
than asked, never fewer: 0.08 does not pass to 4 decimals.

All of this is done in decimal arithmetic on the shortest repr of the floats
(what the student typed), so 0.0821 is exactly 0.0821, not 0.08209999...

For ``sigfigs=k`` the quantum is the k-th significant digit of each value
(the student's rounded at its own magnitude), so 0.1 matches 0.099996 to 3
significant figures. An expected value of exactly 0 has no significant
figures: the student's value must then be 0 (|got| <= 1e-12).

NaN and inf never match a finite expected value; a non-finite expected value
(rare) matches only the same non-finite value.

Refused with a message: strings (even "0.2984": the message says to remove
the quotes), bools, None, complex numbers, containers of several values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, as_real_number, fmt_index, fmt_num, fmt_shape
from .base import Check, CheckResult, ExpectedValueError

__all__ = ["Number"]

_CTX = Context(prec=1200, Emax=10**6, Emin=-(10**6))
_ZERO_ATOL = 1e-12
_DEFAULT_RTOL = 1e-7
_DEFAULT_ATOL = 1e-10


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _as_float(x: int | float) -> float:
    if _is_int(x) and abs(x) > 10**300:
        return math.inf if x > 0 else -math.inf
    return float(x)


def _to_decimal(x: int | float) -> Decimal:
    if isinstance(x, int):
        return Decimal(x)
    return Decimal(repr(float(x)))


def _quantize(d: Decimal, quantum: Decimal, rounding: str) -> Decimal:
    return d.quantize(quantum, rounding=rounding, context=_CTX)


def _sig_quantum(d: Decimal, k: int) -> Decimal:
    return Decimal(1).scaleb(d.adjusted() - k + 1, context=_CTX)


def _magnitude_hint(g: float, e: float) -> str:
    """Instructor-facing hints about how got relates to expected (detail only)."""
    if e == 0 or not math.isfinite(g) or g == 0:
        return ""
    ratio = g / e
    if math.isclose(ratio, -1.0, rel_tol=1e-3):
        return " The value has the opposite sign."
    for p in range(1, 7):
        for r, word in ((10.0**p, "times"), (10.0**-p, "divided by")):
            if math.isclose(ratio, r, rel_tol=1e-3):
                return f" The value is the expected one {word} 10^{p} (units, percent or a misplaced decimal point?)."
    if math.isclose(abs(ratio), round(abs(ratio)), rel_tol=1e-6) and 2 <= abs(round(ratio)) <= 64:
        return f" The value is {round(ratio)} times the expected one (a missing average or factor?)."
    inv = 1 / ratio
    if math.isclose(abs(inv), round(abs(inv)), rel_tol=1e-6) and 2 <= abs(round(inv)) <= 64:
        return f" The value is the expected one divided by {round(inv)} (an extra average or factor?)."
    return ""


@dataclass(frozen=True)
class Number(Check):
    """One real number.

    Exactly one mode: ``decimals=k``, ``sigfigs=k``, or a tolerance
    (``rtol``/``atol``: ``|got - expected| <= atol + rtol*|expected|``; when
    neither is given rtol=1e-7, atol=1e-10; when only one is given the other
    is 0).
    """

    kind: ClassVar[str] = "number"

    rtol: float | None = None
    atol: float | None = None
    decimals: int | None = None
    sigfigs: int | None = None

    def __post_init__(self) -> None:
        modes = [self.decimals is not None, self.sigfigs is not None, self.rtol is not None or self.atol is not None]
        if sum(modes) > 1:
            raise ValueError("Number: give exactly one of decimals=, sigfigs= or rtol=/atol=")
        for name, lo, hi in (("decimals", 0, 30), ("sigfigs", 1, 30)):
            v = getattr(self, name)
            if v is not None and (not _is_int(v) or not lo <= v <= hi):
                raise ValueError(f"Number: {name} must be an integer in [{lo}, {hi}], got {v!r}")
        if self.decimals is None and self.sigfigs is None:
            rtol, atol = self.rtol, self.atol
            if rtol is None and atol is None:
                rtol, atol = _DEFAULT_RTOL, _DEFAULT_ATOL
            rtol = 0.0 if rtol is None else rtol
            atol = 0.0 if atol is None else atol
            for name, v in (("rtol", rtol), ("atol", atol)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"Number: {name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, "rtol", float(rtol))
            object.__setattr__(self, "atol", float(atol))

    @property
    def mode(self) -> str:
        if self.decimals is not None:
            return "decimals"
        if self.sigfigs is not None:
            return "sigfigs"
        return "tolerance"

    def describe(self) -> str:
        if self.decimals is not None:
            return f"to {self.decimals} decimal places, rounded or truncated"
        if self.sigfigs is not None:
            return f"to {self.sigfigs} significant figures, rounded or truncated"
        return f"within a relative tolerance of {self.rtol:g} and an absolute tolerance of {self.atol:g}"

    # ------------------------------------------------------------------
    def _expected(self, expected: Any) -> int | float:
        e, why = as_real_number(expected)
        if why is not None:
            raise ExpectedValueError(f"Number: the expected value is not a real number: {why}")
        return e

    def accepted(self, expected: Any) -> list[Decimal]:
        """The accepted values in decimals/sigfigs mode (empty in tolerance mode)."""
        e = self._expected(expected)
        if self.mode == "tolerance" or not math.isfinite(_as_float(e)):
            return []
        d = _to_decimal(e)
        if self.decimals is not None:
            q = Decimal(1).scaleb(-self.decimals)
        else:
            if d == 0:
                return [Decimal(0)]
            q = _sig_quantum(d, self.sigfigs)
        out: list[Decimal] = []
        for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN):
            v = _quantize(d, q, mode)
            if self.sigfigs is not None and v != 0 and v.adjusted() != d.adjusted():
                v = _quantize(v, _sig_quantum(v, self.sigfigs), ROUND_DOWN)  # 0.1000 -> 0.100
            if v not in out:
                out.append(v)
        return out

    def _student_rounded(self, g: int | float) -> list[Decimal]:
        d = _to_decimal(g)
        if self.decimals is not None:
            q = Decimal(1).scaleb(-self.decimals)
        else:
            if d == 0:
                return [Decimal(0)]
            q = _sig_quantum(d, self.sigfigs)
        return [_quantize(d, q, ROUND_HALF_UP), _quantize(d, q, ROUND_HALF_EVEN)]

    def _check(self, got: Any, expected: Any) -> CheckResult:
        if isinstance(expected, (list, tuple, np.ndarray)) and np.ndim(expected) >= 1:
            return self._check_each(got, np.asarray(expected))
        return self._check_scalar(got, expected)

    def _check_each(self, got: Any, expected: np.ndarray) -> CheckResult:
        """Several numbers (e.g. [z1, z2]): the same rule for each, all must pass."""
        if expected.dtype.kind not in "iuf" or expected.size == 0:
            raise ExpectedValueError(f"Number: the expected values are not real numbers (dtype {expected.dtype})")
        g, why = as_numeric_array(got)
        if why is not None:
            return CheckResult(0.0, f"expected {expected.size} numbers of shape {fmt_shape(expected.shape)}, "
                                    f"but your answer is {why}")
        if g.shape != expected.shape:
            return CheckResult(0.0, f"expected {expected.size} numbers of shape {fmt_shape(expected.shape)}, "
                                    f"but your answer has shape {fmt_shape(g.shape)}")
        results = [self._check_scalar(gi, ei) for gi, ei in zip(g.reshape(-1).tolist(), expected.reshape(-1).tolist())]
        wrong = [(i, r) for i, r in enumerate(results) if not r.passed]
        details = "\n".join(f"[{i}] {r.detail}" for i, r in enumerate(results))
        if not wrong:
            return CheckResult(1.0, f"correct ({self.describe()}, each of {len(results)} values)", detail=details)
        index = np.unravel_index(wrong[0][0], expected.shape)
        return CheckResult(0.0, f"{len(wrong)} of {len(results)} values are wrong; at {fmt_index(index)}: "
                                f"{wrong[0][1].message}", detail=details,
                           data={"wrong": [i for i, _ in wrong]})

    def _check_scalar(self, got: Any, expected: Any) -> CheckResult:
        e = self._expected(expected)
        g, why = as_real_number(got)
        if why is not None:
            return CheckResult(
                0.0,
                f"expected a single number, but your answer is {why}",
                detail=f"expected {fmt_num(e)}",
                data={"got": None, "expected": e, "reason": "type"},
            )
        gf, ef = _as_float(g), _as_float(e)
        data: dict[str, Any] = {"got": g, "expected": e}
        detail_head = f"expected {fmt_num(e)} ({self.describe()}); got {fmt_num(g)}."

        # Non-finite values.
        if not math.isfinite(ef):
            same = (math.isnan(ef) and math.isnan(gf)) or (ef == gf)
            return CheckResult(
                1.0 if same else 0.0,
                "correct" if same else f"your value {fmt_num(g)} is not correct",
                detail=detail_head,
                data=data,
            )
        if not math.isfinite(gf):
            what = "nan (not a number)" if math.isnan(gf) else fmt_num(g) if not _is_int(g) else "too large"
            return CheckResult(
                0.0,
                f"your value is {what}; a finite number was expected. Look for a division by "
                "zero, a log of 0 or an overflow in your computation.",
                detail=detail_head,
                data={**data, "reason": "non-finite"},
            )

        data["abs_diff"] = abs(gf - ef)
        hint = _magnitude_hint(gf, ef)
        if self.mode == "tolerance":
            ok = abs(gf - ef) <= self.atol + self.rtol * abs(ef)
            if ok:
                return CheckResult(1.0, f"correct ({self.describe()})", detail=detail_head, data=data)
            rel = abs(gf - ef) / abs(ef) if ef else math.inf
            return CheckResult(
                0.0,
                f"your value {fmt_num(g)} is not correct ({self.describe()})",
                detail=f"{detail_head} Absolute error {abs(gf - ef):.3g}, relative error {rel:.3g}.{hint}",
                data=data,
            )

        # decimals / sigfigs
        try:
            accepted = self.accepted(e)
            if self.sigfigs is not None and _as_float(e) == 0.0:
                ok = abs(gf) <= _ZERO_ATOL
                mine: list[Decimal] = []
            else:
                mine = self._student_rounded(g)
                ok = any(m in accepted for m in mine)
        except (InvalidOperation, OverflowError, ValueError):
            ok, mine, accepted = False, [], []
        data["accepted"] = [str(a) for a in accepted]
        unit = f"{self.decimals} decimal places" if self.decimals is not None else f"{self.sigfigs} significant figures"
        shown = f" (rounded to {unit}: {mine[0]})" if mine and str(mine[0]) != fmt_num(g) else ""
        detail = f"{detail_head} Accepted: {' or '.join(str(a) for a in accepted)}.{hint}"
        if ok:
            return CheckResult(1.0, f"correct ({self.describe()})", detail=detail, data=data)
        return CheckResult(
            0.0,
            f"your value {fmt_num(g)}{shown} is not correct to {unit}",
            detail=detail,
            data=data,
        )
