"""ReluNetworkOutputs: weights that make f(x) = w . relu(W^T x + c) + b produce given outputs.

Any weights that compute the targets pass, not just the lecture's: the check
evaluates the student's network on ``inputs`` in the parent and compares the
outputs with ``expected`` (the targets, e.g. XOR of the four points).
``got`` is a dict ``{"W": (D, H), "c": (H,), "w": (H,), "b": number}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, as_real_number, fmt_num, fmt_shape
from .base import Check, CheckResult

__all__ = ["ReluNetworkOutputs"]


@dataclass(frozen=True)
class ReluNetworkOutputs(Check):
    kind: ClassVar[str] = "relu_network_outputs"

    inputs: tuple = ()       # (P, D) points, as nested lists
    atol: float = 1e-9

    def _check(self, got: Any, expected: Any) -> CheckResult:
        x = np.asarray(self.inputs, dtype=np.float64)
        targets = np.asarray(expected, dtype=np.float64).reshape(-1)
        if not isinstance(got, dict) or set(got) != {"W", "c", "w", "b"}:
            keys = sorted(got) if isinstance(got, dict) else None
            return CheckResult(0.0, 'a dict {"W": ..., "c": ..., "w": ..., "b": ...} was expected'
                               + (f"; yours has the keys {keys}" if keys is not None else ""))
        d = x.shape[1]
        W, reason = as_numeric_array(got["W"])
        if reason or W.ndim != 2 or W.shape[0] != d:
            return CheckResult(0.0, f"W must be an array of shape ({d}, H): " + (reason or f"got shape {fmt_shape(W.shape)}"))
        h = W.shape[1]
        c, reason_c = as_numeric_array(got["c"])
        w, reason_w = as_numeric_array(got["w"])
        b, reason_b = as_real_number(got["b"])
        for name, arr, why in (("c", c, reason_c), ("w", w, reason_w)):
            if why or arr.shape != (h,):
                return CheckResult(0.0, f"{name} must have shape ({h},) to match W: "
                                   + (why or f"got shape {fmt_shape(arr.shape)}"))
        if reason_b:
            return CheckResult(0.0, f"b must be a number: {reason_b}")
        with np.errstate(all="ignore"):
            outputs = np.maximum(x @ W.astype(np.float64) + c, 0.0) @ w.astype(np.float64) + b
        wrong = np.flatnonzero(~(np.abs(outputs - targets) <= self.atol))
        data = {"outputs": outputs, "targets": targets}
        if wrong.size:
            i = int(wrong[0])
            point = ", ".join(fmt_num(v) for v in x[i])
            return CheckResult(0.0, f"your network gives {fmt_num(outputs[i])} at ({point}), "
                               f"which is wrong at {wrong.size} of {len(targets)} points",
                               detail=f"outputs {outputs.tolist()}, targets {targets.tolist()}", data=data)
        return CheckResult(1.0, "your network computes the targets exactly", data=data)

    def describe(self) -> str:
        return f"the ReLU network's outputs on {len(self.inputs)} points, within {self.atol:g}"

    @classmethod
    def from_spec(cls, spec: dict) -> "ReluNetworkOutputs":
        return cls(inputs=tuple(map(tuple, spec["inputs"])), atol=float(spec.get("atol", 1e-9)))
