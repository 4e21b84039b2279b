"""What a harness task reports besides its graded value, cut to what the reports show.

A task (train the student's Keras model, say) runs in the student's process,
so everything it returns is the student's to forge: a history of 6,000
metrics x 10,000 values made the grading parent peak at 10.5 GB and wrote a
240 MB report file. The report keeps only the known metrics, at most one
value per epoch of the run the grader asked for, and plain numbers.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["KNOWN_METRICS", "MAX_EPOCHS", "task_report"]

#: The metric names Keras records for the models the course asks for (with and without "val_").
KNOWN_METRICS = tuple(prefix + name for prefix in ("", "val_") for name in (
    "loss", "accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
    "binary_accuracy", "top_k_categorical_accuracy",
))
#: Epochs kept when the request does not say how many it asked for.
MAX_EPOCHS = 1000


def task_report(value: Any, params: dict | None) -> dict:
    """``{"history": {metric: [float per epoch]}, "seconds", "epochs", "batch_size"}`` from a task's reply.

    ``params`` are the request's (``epochs`` bounds the values kept per metric).
    Anything else, or anything malformed, is left out.
    """
    if not isinstance(value, dict):
        return {}
    asked = (params or {}).get("epochs")
    epochs = asked if type(asked) is int and 0 < asked <= MAX_EPOCHS else MAX_EPOCHS
    out: dict[str, Any] = {}
    history = value.get("history")
    if isinstance(history, dict):
        kept = {}
        for metric in KNOWN_METRICS:
            values = history.get(metric)
            if isinstance(values, list):
                numbers = [_number(v) for v in values[:epochs]]
                if all(v is not None for v in numbers):
                    kept[metric] = numbers
        out["history"] = kept
    for key in ("seconds", "epochs", "batch_size"):
        number = _number(value.get(key))
        if number is not None and math.isfinite(number):
            out[key] = number
    return out


def _number(v: Any) -> float | int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, int):
        return v if abs(v) < 2**53 else None
    return v
