"""LayerStack: a Keras model's layers, compared row by row as ``model.summary()`` shows them.

``got`` and ``expected``: the ``layers`` list of the ``describe_model``
reply (dicts with ``class_name``, ``output_shape``, ``params`` and
``activation``). Both are first reduced to *summary rows* (:func:`summary_rows`):

- the input layer is not a row (Keras's summary of a Sequential model does
  not show it either);
- an ``Activation``, ``Softmax`` or ``ReLU`` layer right after a layer
  without an activation of its own is folded into that layer, so
  ``Dense(10)`` followed by ``Softmax()`` is the same row as
  ``Dense(10, activation="softmax")``;
- a row is its layer kind, its output shape, its number of parameters and
  its activation (``None`` and ``"linear"`` are the same).

The rows must match one for one. The message names the first difference
and what to do about it: a layer to remove, a layer to add, a kind, shape,
parameter count or activation to change. Dropout rates and initializers are
not compared (the summary does not show them).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Check, CheckResult, ExpectedValueError

__all__ = ["LayerStack", "summary_rows"]

ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu"}
"""Layers that only apply an activation, besides ``Activation`` itself (which names its own)."""


def _activation(value: Any) -> str | None:
    return None if value in (None, "linear") else str(value)


def _shape(value: Any) -> tuple | None:
    if not isinstance(value, list):
        return None
    return tuple(value)


def summary_rows(layers: Any) -> list[dict] | None:
    """The rows of ``layers`` (see the module docstring), or None when ``layers`` is not a layer list."""
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        return None
    rows: list[dict] = []
    for layer in layers:
        kind = str(layer.get("class_name"))
        if kind == "InputLayer":
            continue
        if kind == "Activation" or kind in ACTIVATION_LAYERS:
            name = _activation(layer.get("activation")) if kind == "Activation" else ACTIVATION_LAYERS[kind]
            previous = rows[-1] if rows else None
            if previous is not None and previous["activation"] is None and previous["can_activate"]:
                previous["activation"] = name
                continue
        rows.append({"kind": kind, "output_shape": _shape(layer.get("output_shape")),
                     "params": layer.get("params"), "activation": _activation(layer.get("activation")),
                     "can_activate": bool(layer.get("params"))})  # a Dense or a Conv2D, not a pooling
    return rows


def _show(row: dict) -> str:
    shape = "(" + ", ".join("None" if d is None else str(d) for d in row["output_shape"]) + ")" \
        if row["output_shape"] is not None else "an unknown shape"
    activation = f", {row['activation']}" if row["activation"] else ""
    return f"{row['kind']}{activation} with output {shape}"


@dataclass(frozen=True)
class LayerStack(Check):
    kind: ClassVar[str] = "layer_stack"

    def describe(self) -> str:
        return ("the model's layers as model.summary() shows them: kind, output shape and parameters of "
                "each, with its activation (an Activation or Softmax layer counts as its previous layer's)")

    def _check(self, got: Any, expected: Any) -> CheckResult:
        want = summary_rows(expected)
        if not want:
            raise ExpectedValueError("LayerStack: the expected value is not a list of layer descriptions")
        have = summary_rows(got)
        if have is None:
            return CheckResult(0.0, "the grader got no description of your model's layers")
        problem = _first_difference(have, want)
        if problem is None:
            return CheckResult(1.0, "correct")
        return CheckResult(0.0, problem + " (compare model.summary() with the table in the instructions)")


def _first_difference(have: list[dict], want: list[dict]) -> str | None:
    kinds_have = [row["kind"] for row in have]
    kinds_want = [row["kind"] for row in want]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, kinds_want, kinds_have, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        where = f"after layer {j1} ({have[j1 - 1]['kind']})" if j1 > 0 else "first"
        if tag == "insert":
            extra = ", ".join(f"layer {j + 1} ({_show(have[j])})" for j in range(j1, j2))
            return f"your model has a layer the architecture does not have: {extra}; remove it"
        if tag == "delete":
            missing = ", ".join(want[i]["kind"] for i in range(i1, i2))
            return f"your model lacks a {missing} layer {where}; add it"
        return (f"layer {j1 + 1} of your model is {have[j1]['kind']} where the architecture has "
                f"{want[i1]['kind']}")
    for index, (mine, theirs) in enumerate(zip(have, want), start=1):
        if mine["output_shape"] != theirs["output_shape"]:
            return (f"layer {index} ({_show(mine)}) should have output shape "
                    f"{_show(theirs).split(' with output ')[1]}: check its filters, units, padding or pooling")
        if mine["activation"] != theirs["activation"]:
            return (f"layer {index} ({mine['kind']}) has activation {mine['activation'] or 'none (linear)'}; "
                    f"the architecture uses {theirs['activation'] or 'none (linear)'}")
        if mine["params"] != theirs["params"]:
            return (f"layer {index} ({_show(mine)}) has {mine['params']:,} parameters where the architecture "
                    f"has {theirs['params']:,}: check its kernel size and use_bias")
    return None
