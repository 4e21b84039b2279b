"""Gradient: a student's backward pass, diagnosed with their own forward.

``got`` (from the student's child process)::

    {"out":    the student's forward output,
     "grads":  the student's gradients, in the order of the forward's array inputs,
     "probes": [{"input": j, "plus": forward output at input_j + h*v,
                              "minus": forward output at input_j - h*v}, ...]}

``expected`` (from the reference)::

    {"out": reference forward output, "grads": reference gradients,
     "dout": the upstream gradient used (1.0 for a loss),
     "directions": [{"input": j, "v": direction array, "h": step}, ...]}

``probes[k]`` answers ``directions[k]``. From them the parent computes the
directional derivative of the student's OWN forward by central differences,
``sum(dout * (plus - minus)) / (2h)``, and compares it with what the
student's backward claims, ``sum(grad_j * v)``. That tells apart:

- a correct backward (the gradients match the reference);
- a backward that does not match its own forward (a sign error, a missing
  term): the directional derivatives disagree;
- a wrong forward with a backward consistent with it: the forward output
  differs from the reference and the directional derivatives agree;
- structural mistakes: None, wrong count, wrong shape (transposes).

Credit: the share of gradients that match the reference (``partial=True``,
the default) or all or nothing. When the forward output is itself part of
the answer (``output="loss"``: a loss returning ``(loss, dinput)``), it
counts as one more part, named ``output``: a wrong loss value with a right
gradient earns the gradient's share only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._coerce import as_numeric_array, as_real_number, describe_value
from .arrays import ArrayClose
from .base import Check, CheckResult, ExpectedValueError

__all__ = ["Gradient"]

_EPS = np.finfo(np.float64).eps


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _axes_text(axes: tuple[int, ...]) -> str:
    return f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}"


def _sums_of(dout_shape: tuple, shape: tuple) -> list[tuple[int, ...]]:
    """Every set of axes of ``dout`` whose sum (without keepdims) has ``shape``."""
    found = []
    for r in range(1, len(dout_shape) + 1):
        for axes in itertools.combinations(range(len(dout_shape)), r):
            if tuple(s for i, s in enumerate(dout_shape) if i not in axes) == tuple(shape):
                found.append(axes)
    return found


@dataclass(frozen=True)
class Gradient(Check):
    kind: ClassVar[str] = "gradient"

    rtol: float = 1e-6
    atol: float = 1e-9
    consistency_rtol: float = 1e-5
    names: tuple[str, ...] = ("dx", "dW", "db")
    partial: bool = True
    output: str = ""  # the forward output's name when it is graded too (e.g. "loss"); "" when it is not

    def __post_init__(self) -> None:
        for name in ("rtol", "atol", "consistency_rtol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"Gradient: {name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        names = self.names
        if isinstance(names, str):
            names = (names,)
        names = tuple(names)
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"Gradient: names must be non-empty strings, got {self.names!r}")
        object.__setattr__(self, "names", names)
        if not isinstance(self.output, str):
            raise ValueError(f"Gradient: output must be a name (or '' when it is not graded), got {self.output!r}")

    def describe(self) -> str:
        if self.output:
            return (
                f"the {self.output} value and the gradients, each within "
                f"|got - expected| <= {self.atol:g} + {self.rtol:g}*|expected|, "
                "the gradients also compared with finite differences of your own forward pass"
            )
        return (
            "gradients from your backward pass, each within "
            f"|got - expected| <= {self.atol:g} + {self.rtol:g}*|expected|, "
            "also compared with finite differences of your own forward pass"
        )

    def _name(self, i: int) -> str:
        return self.names[i] if i < len(self.names) else f"gradient {i}"

    # ------------------------------------------------------------------
    def _parse_expected(self, expected: Any) -> tuple[list[np.ndarray], Any, np.ndarray, list[dict]]:
        if not isinstance(expected, dict) or "grads" not in expected:
            raise ExpectedValueError("Gradient: expected must be a dict with 'grads' (and 'out', 'dout', 'directions')")
        raw = expected["grads"]
        if isinstance(raw, np.ndarray):
            raw = [raw]
        if not isinstance(raw, (list, tuple)) or not raw:
            raise ExpectedValueError("Gradient: expected['grads'] must be a non-empty list of arrays")
        grads = [ArrayClose.expected_array(g, "Gradient") for g in raw]
        dout = ArrayClose.expected_array(expected.get("dout", 1.0), "Gradient (dout)").astype(np.float64)
        directions = []
        for k, d in enumerate(expected.get("directions") or []):
            if not isinstance(d, dict) or not {"input", "v", "h"} <= set(d):
                raise ExpectedValueError(f"Gradient: direction {k} must be a dict with input, v and h")
            j = d["input"]
            h, why = as_real_number(d["h"])
            if why or not isinstance(j, (int, np.integer)) or isinstance(j, bool) or not 0 <= j < len(grads) or not h > 0:
                raise ExpectedValueError(f"Gradient: direction {k} has a bad input index or step")
            v = ArrayClose.expected_array(d["v"], "Gradient (direction)").astype(np.float64)
            if v.shape != grads[int(j)].shape:
                raise ExpectedValueError(f"Gradient: direction {k} has shape {v.shape}, gradient {j} {grads[int(j)].shape}")
            directions.append({"input": int(j), "v": v, "h": float(h)})
        return grads, expected.get("out"), dout, directions

    def _student_grads(self, raw: Any, n: int, first_shape: tuple) -> tuple[list | None, str | None]:
        names = ", ".join(self._name(i) for i in range(n))
        want = f"{_plural(n, 'gradient')} ({names}), in the order of the forward's inputs"
        if raw is None:
            return None, f"your backward returned nothing (None); expected {want}"
        if isinstance(raw, np.ndarray) or (isinstance(raw, (int, float, np.generic)) and not isinstance(raw, bool)):
            if n == 1:
                return [raw], None
            return None, f"your backward returned a single array; expected a tuple of {want}"
        if isinstance(raw, (list, tuple)):
            if n == 1:
                # Either a one-element tuple (dx,) or the gradient itself as a nested list.
                if len(raw) == 1:
                    arr, w = as_numeric_array(raw)
                    if w is None and arr.shape == first_shape:
                        return [raw], None
                    return [raw[0]], None
                return [raw], None
            if len(raw) != n:
                return None, f"your backward returned {_plural(len(raw), 'value')}; expected {want}"
            return list(raw), None
        return None, f"your backward returned {describe_value(raw)}; expected {want}"

    def _directional(self, probe: Any, direction: dict, dout: np.ndarray, grad: np.ndarray | None,
                     ref_grad: np.ndarray) -> dict | None:
        if not isinstance(probe, dict) or probe.get("input") != direction["input"]:
            return None
        plus, w1 = as_numeric_array(probe.get("plus"))
        minus, w2 = as_numeric_array(probe.get("minus"))
        if w1 or w2:
            return None
        plus = plus.astype(np.float64)
        minus = minus.astype(np.float64)
        if dout.ndim == 0 and plus.size == 1 and minus.size == 1:
            plus, minus = plus.reshape(()), minus.reshape(())
        if plus.shape != dout.shape or minus.shape != dout.shape:
            return None
        if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
            return None
        h, v = direction["h"], direction["v"]
        with np.errstate(all="ignore"):
            fd = float(np.sum(dout * (plus - minus)) / (2 * h))
            ref = float(np.sum(ref_grad.astype(np.float64) * v))
            floor = 64 * _EPS * float(np.sum(np.abs(dout * plus)) + np.sum(np.abs(dout * minus))) / (2 * h)
            floor += self.atol * float(np.sum(np.abs(v)))
        out = {"input": direction["input"], "fd": fd, "reference": ref, "backward": None,
               "consistent": None, "rel_error": None}
        if grad is None or grad.shape != v.shape or not math.isfinite(fd):
            return out
        with np.errstate(all="ignore"):
            an = float(np.sum(grad.astype(np.float64) * v))
        if not math.isfinite(an):
            return out
        diff = abs(fd - an)
        scale = max(abs(fd), abs(an))
        out["backward"] = an
        out["consistent"] = bool(diff <= self.consistency_rtol * scale + floor)
        out["rel_error"] = diff / max(scale, floor, 1e-300)
        return out

    def _summed_over_other_axes(self, name: str, grad: np.ndarray | None, expected: np.ndarray,
                                dout: np.ndarray) -> str:
        """"db is dout summed over axis 1; ..." when that is certain: the right gradient is dout
        summed over one set of axes, and the student's is dout summed over exactly one other set
        (by its shape or, when the shapes agree, by its values)."""
        if grad is None or dout.ndim == 0:
            return ""

        def sums_equal_to(arr: np.ndarray) -> list[tuple[int, ...]]:
            with np.errstate(all="ignore"):
                return [a for a in _sums_of(dout.shape, arr.shape)
                        if np.allclose(arr, dout.sum(axis=a), rtol=self.rtol, atol=self.atol)]

        right = sums_equal_to(expected.astype(np.float64))
        if len(right) != 1:
            return ""
        if grad.shape == expected.shape:
            others = [a for a in sums_equal_to(grad.astype(np.float64)) if a != right[0]]
        else:
            others = _sums_of(dout.shape, grad.shape)
        if len(others) != 1:
            return ""
        return (f"{name} is dout summed over {_axes_text(others[0])}; it should be dout summed over "
                f"{_axes_text(right[0])}")

    # ------------------------------------------------------------------
    def _check(self, got: Any, expected: Any) -> CheckResult:
        exp_grads, exp_out, dout, directions = self._parse_expected(expected)
        n = len(exp_grads)
        if not isinstance(got, dict):
            return CheckResult(0.0, f"no backward-pass results to check (received {describe_value(got)})",
                               data={"reason": "type"})
        grads, why = self._student_grads(got.get("grads"), n, exp_grads[0].shape)
        if why is not None:
            return CheckResult(0.0, why, data={"reason": "structure"})

        cmp = ArrayClose(rtol=self.rtol, atol=self.atol)
        results: list[CheckResult | None] = []
        arrays: list[np.ndarray | None] = []
        for i in range(n):
            if grads[i] is None:
                results.append(None)
                arrays.append(None)
                continue
            results.append(cmp.compare(grads[i], exp_grads[i], name=self._name(i)))
            arr, w = as_numeric_array(grads[i])
            arrays.append(arr if w is None else None)

        forward: CheckResult | None = None
        if "out" in got and exp_out is not None:
            forward = cmp.compare(got.get("out"), exp_out, name=self.output or "your forward output")
        forward_ok = None if forward is None else forward.passed

        probes = got.get("probes")
        probes = probes if isinstance(probes, (list, tuple)) else []
        by_input: dict[int, list[dict]] = {}
        for k, d in enumerate(directions):
            p = probes[k] if k < len(probes) else None
            j = d["input"]
            r = self._directional(p, d, dout, arrays[j], exp_grads[j])
            if r is not None:
                by_input.setdefault(j, []).append(r)

        per: list[dict] = []
        for i in range(n):
            res = results[i]
            info = by_input.get(i, [])
            flags = [r["consistent"] for r in info if r["consistent"] is not None]
            consistent = None if not flags else all(flags)
            rels = [r["rel_error"] for r in info if r["rel_error"] is not None]
            if res is None:
                status = "missing"
            elif res.passed:
                status = "ok"
            elif res.data.get("reason") in ("type", "shape", "dtype", "non-finite"):
                status = res.data["reason"]
            else:
                status = "wrong"
            per.append({"name": self._name(i), "index": i, "array": arrays[i], "status": status, "ok": status == "ok",
                        "consistent": consistent, "rel_error": max(rels) if rels else None,
                        "directional": info, "result": res})

        n_ok = sum(p["ok"] for p in per)
        output_graded = bool(self.output) and forward is not None
        parts = n + output_graded
        parts_ok = n_ok + (output_graded and forward_ok is True)
        data: dict[str, Any] = {
            "forward_ok": forward_ok,
            "n_correct": n_ok,
            "n": n,
            "gradients": [
                {k: v for k, v in p.items() if k not in ("result", "array")}
                | {"data": p["result"].data if p["result"] else {}}
                for p in per
            ],
        }
        if forward is not None:
            data["forward"] = forward.data  # the forward output compared with the reference's, for reports
        details: list[str] = []
        if forward is not None and not forward.passed:
            details.append(f"forward: {forward.detail or forward.message}")
        for p in per:
            if p["result"] is not None and p["result"].detail:
                details.append(f"{p['name']}: {p['result'].detail}")
            for k, r in enumerate(p["directional"]):
                if r["backward"] is not None:
                    details.append(
                        f"{p['name']} along random direction {k + 1}: your backward gives {r['backward']:.6g}, "
                        f"finite differences of your forward {r['fd']:.6g}, the reference gradient {r['reference']:.6g}"
                    )
        detail = "\n".join(details)

        if output_graded and not forward.passed and n_ok == n:
            # The gradient is right but the value is part of the answer too.
            why = forward.message.removeprefix(f"{self.output} is not correct: ")
            msg = (f"your {self.output} value is not correct ({why}), although your "
                   + ("gradients are" if n > 1 else "gradient is")
                   + f" right ({', '.join(p['name'] for p in per)}): the {self.output} value is part of the answer")
            return CheckResult(parts_ok / parts if self.partial else 0.0, msg, detail=detail, data=data)
        if n_ok == n:
            msg = "gradients correct: " + ", ".join(p["name"] for p in per) + (" match" if n > 1 else " matches")
            if n == 1:
                msg = f"gradient correct: {per[0]['name']} matches"
            if forward_ok is False:
                msg += " (note: your forward output itself is not correct: " + forward.message + ")"
            if output_graded:
                msg = f"{self.output} value and " + msg
            return CheckResult(1.0, msg, detail=detail, data=data)

        wrong = [p for p in per if not p["ok"]]
        if n == 1:
            lines = [f"{wrong[0]['name']} is not correct"]
        else:
            lines = [f"{len(wrong)} of {n} gradients are not correct ({', '.join(p['name'] for p in wrong)})"]
        if output_graded and forward_ok is False:
            lines[0] = f"your {self.output} value is not correct, and " + lines[0]
        valued = [p for p in wrong if p["status"] == "wrong"]
        if forward_ok is False:
            if valued and all(p["consistent"] is True for p in valued):
                lines.append(
                    "your forward is wrong (its output differs from the expected one), so the gradient of your "
                    "forward differs from the true one: your backward is consistent with your own forward, "
                    "so fix the forward first"
                )
            elif any(p["consistent"] is False for p in valued):
                lines.append(
                    "your forward is wrong (its output differs from the expected one), and your backward does "
                    "not match your own forward either"
                )
            else:
                lines.append("your forward is wrong (its output differs from the expected one); fix it first")
            lines.append(forward.message)
        for p in wrong:
            name, res = p["name"], p["result"]
            if p["status"] == "missing":
                lines.append(f"{name} is None - your backward did not compute or return it")
            elif p["status"] == "shape":
                got_shape = tuple(res.data.get("got_shape", ()))
                summed = self._summed_over_other_axes(name, p["array"], exp_grads[p["index"]], dout)
                if len(got_shape) >= 2 and got_shape == exp_grads[p["index"]].shape[::-1]:
                    lines.append(res.message + ". A gradient has the shape of the input it belongs to: did you "
                                 "forget or misplace a transpose (of W or another factor of a matrix product), or "
                                 "multiply in the wrong order?")
                elif summed:
                    lines.append(f"{res.message}: {summed}")
                else:
                    lines.append(res.message + ". A gradient has the shape of the input it belongs to")
            elif p["status"] != "wrong":
                lines.append(res.message)
            elif p["consistent"] is False:
                lines.append(
                    f"your backward does not match your own forward: {name} disagrees with the finite-difference "
                    f"gradient of your forward along a random direction (relative error {p['rel_error']:.1e}); "
                    + res.message
                )
            elif p["consistent"] is True and forward_ok is not False:
                lines.append(
                    f"{name} agrees with finite differences of your forward along a random direction but not "
                    f"with the correct gradient; " + res.message
                )
            else:
                lines.append(res.message)
            if p["status"] == "wrong":
                summed = self._summed_over_other_axes(name, p["array"], exp_grads[p["index"]], dout)
                if summed:
                    lines[-1] += f"; {summed}"
        fraction = parts_ok / parts if self.partial else 0.0
        return CheckResult(fraction, "\n".join(lines), detail=detail, data=data)
