"""Accuracy: predictions of a trained model, credit between two thresholds.

``got``: predicted integer labels (N,), or an (N, K) array of scores or
probabilities (its argmax per row is the prediction). ``expected``: the true
labels (N,), or one-hot (N, K). Credit is 0 at or below ``low``, 1 at or
above ``high``, linear in between. The thresholds and the student's accuracy
are shown; nothing about the held-out labels is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, fmt_index, fmt_shape
from .base import Check, CheckResult, ExpectedValueError

__all__ = ["Accuracy"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@dataclass(frozen=True)
class Accuracy(Check):
    kind: ClassVar[str] = "accuracy"

    low: float = 0.90
    high: float = 0.97
    num_classes: int | None = None

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
                raise ValueError(f"Accuracy: {name} must be a number in [0, 1], got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.low > self.high:
            raise ValueError(f"Accuracy: low ({self.low}) must not exceed high ({self.high})")
        k = self.num_classes
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
            raise ValueError(f"Accuracy: num_classes must be an integer >= 2 or None, got {k!r}")

    def describe(self) -> str:
        return (
            f"accuracy on held-out data: no credit at or below {_pct(self.low)}, full credit at or above "
            f"{_pct(self.high)}, linear in between"
        )

    def credit(self, accuracy: float) -> float:
        if self.high == self.low:
            return 1.0 if accuracy >= self.high else 0.0
        return min(1.0, max(0.0, (accuracy - self.low) / (self.high - self.low)))

    def _labels_expected(self, expected: Any) -> tuple[np.ndarray, int]:
        y, why = as_numeric_array(expected)
        if why is not None:
            raise ExpectedValueError(f"Accuracy: the expected labels are not numeric: {why}")
        if y.ndim == 2:
            k = y.shape[1]
            y = np.argmax(y, axis=1)
        elif y.ndim == 1:
            if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
                raise ExpectedValueError("Accuracy: the expected labels are not integers")
            y = y.astype(np.int64)
            k = int(y.max()) + 1 if y.size else 0
        else:
            raise ExpectedValueError(f"Accuracy: expected labels of shape (N,) or (N, K), got {y.shape}")
        if y.size == 0:
            raise ExpectedValueError("Accuracy: no expected labels")
        if self.num_classes is not None:
            k = self.num_classes
        return y, max(k, 2)

    def _check(self, got: Any, expected: Any) -> CheckResult:
        y, k = self._labels_expected(expected)
        n = int(y.size)
        p, why = as_numeric_array(got)
        if why is not None:
            return CheckResult(0.0, f"expected predicted labels for {n} images, but got {why}", data={"reason": "type"})
        if p.ndim == 2:
            if p.shape[0] != n:
                return CheckResult(
                    0.0,
                    f"you returned predictions for {p.shape[0]} images (shape {fmt_shape(p.shape)}); expected {n}",
                    data={"reason": "shape"},
                )
            if p.shape[1] != k:
                return CheckResult(
                    0.0,
                    f"your predictions have {p.shape[1]} columns (shape {fmt_shape(p.shape)}); one score per class "
                    f"was expected ({k} classes)",
                    data={"reason": "shape"},
                )
            bad = ~np.isfinite(p.astype(np.float64))
            if bad.any():
                first = np.unravel_index(int(np.flatnonzero(bad)[0]), p.shape)
                return CheckResult(
                    0.0,
                    f"your predicted scores contain {int(bad.sum())} NaN or inf values (the first at index "
                    f"{fmt_index(first)}): did training diverge?",
                    data={"reason": "non-finite"},
                )
            labels = np.argmax(p, axis=1)
        elif p.ndim == 1:
            if p.shape[0] != n:
                return CheckResult(
                    0.0, f"you returned {p.shape[0]} predicted labels; expected {n}", data={"reason": "shape"}
                )
            if p.dtype.kind == "b":
                return CheckResult(0.0, "your predicted labels are booleans; integer class labels were expected",
                                   data={"reason": "dtype"})
            if p.dtype.kind == "f":
                with np.errstate(all="ignore"):
                    integral = np.isfinite(p) & (np.mod(p, 1) == 0)
                if not integral.all():
                    first = int(np.flatnonzero(~integral)[0])
                    return CheckResult(
                        0.0,
                        f"your predicted labels must be whole numbers (class indices), but the one at index "
                        f"[{first}] is {p[first]:.6g}; for probabilities return an (N, K) array or take the argmax",
                        data={"reason": "dtype"},
                    )
            labels = p
            out = (labels < 0) | (labels >= k)
            if out.any():
                first = int(np.flatnonzero(out)[0])
                return CheckResult(
                    0.0,
                    f"{int(out.sum())} predicted labels are outside the classes 0..{k - 1}; the first at index "
                    f"[{first}] is {labels[first]:.6g}",
                    data={"reason": "range"},
                )
            labels = labels.astype(np.int64)
        else:
            return CheckResult(
                0.0,
                f"your predictions have shape {fmt_shape(p.shape)}; expected labels of shape ({n},) or scores "
                f"of shape ({n}, {k})",
                data={"reason": "shape"},
            )
        correct = int(np.count_nonzero(labels == y))
        acc = correct / n
        credit = self.credit(acc)
        msg = (
            f"accuracy {_pct(acc)} ({correct} of {n} correct); credit rises linearly from {_pct(self.low)} "
            f"(none) to {_pct(self.high)} (full): {credit:.0%} of the points"
        )
        data: dict[str, Any] = {"accuracy": acc, "correct": correct, "n": n}
        if 0 <= int(y.min()) and int(y.max()) < k:
            # For reports: rows are the true classes, columns the predicted ones.
            data["confusion"] = np.bincount(y * k + labels, minlength=k * k).reshape(k, k)
            data["num_classes"] = k
        return CheckResult(credit, msg, data=data)
