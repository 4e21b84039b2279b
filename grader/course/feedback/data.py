"""What the student report draws, taken out of the checks' data: the one gate for figures.

``report_data(result)`` reads each case's ``CaseResult.data`` and keeps only
what a student may see, by a whitelist of fields:

- arrays (ArrayClose, and each gradient and forward output of a Gradient
  check) that have wrong elements: their shape, counts and the mask of wrong
  elements (packed bits); for small arrays the student's OWN values; for
  PUBLIC questions also |yours − expected| per element. A hidden question
  never gets the magnitude: with the student's own values it would give the
  expected value up to its sign.
- the accuracy of a trained model: accuracy, correct, n and the confusion
  matrix on the held-out digits (it tells nothing beyond the student's own
  predictions' quality);
- a harness task's training run (``data["task"]``): the history per epoch,
  seconds, epochs, batch size; one entry per distinct run.

Nothing else (no ``expected``, no ``detail``, no worst-element value) is
copied. The result is plain JSON; ``write_student_report`` saves it beside the
report (``report_files/report-data.json``) so that a report can be rebuilt
later from the JSON on disk alone.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from grader.engine.protocol import STUDENT, shows_details

FORMAT = "dlgrade-report-data/1"
MASK_MAX = 1 << 18          # arrays with more elements get no figure
TABLE_MAX = 144             # the student's own values kept for arrays this small (a table of values)
MAGNITUDE_MAX = 4096        # |yours - expected| kept (public questions) for arrays this small

_TASK_FIELDS = ("history", "seconds", "epochs", "batch_size")


def report_data(result) -> dict:
    """The student-safe figure data of a :class:`~grader.engine.results.SubmissionResult` (plain JSON)."""
    questions = []
    training: list[dict] = []
    seen_runs: set[str] = set()
    for q in result.questions:
        cases = []
        for case in q.cases:
            try:
                item = case_data(case.data or {}, public=shows_details(STUDENT, q.public),
                                 passed=case.status == "passed")
                task = _task(case.data or {})
            except Exception:  # report data is best effort; a report never fails for it
                item, task = {}, None
            if task is not None:
                key = json.dumps(task, sort_keys=True)
                if key not in seen_runs:
                    seen_runs.add(key)
                    training.append({"question": q.name, "case": case.label, **task})
            if item:
                cases.append({"label": case.label, **item})
        if cases:
            questions.append({"name": q.name, "cases": cases})
    return {"format": FORMAT, "assignment": result.assignment, "submission": result.submission,
            "sha256": result.sha256, "questions": questions, "training": training}


def case_data(data: dict, *, public: bool, passed: bool) -> dict:
    out: dict[str, Any] = {}
    arrays = []
    if not passed:
        if _is_array_data(data):
            view = array_view("your output", data, public=public)
            if view:
                arrays.append(view)
        forward = data.get("forward")
        if isinstance(forward, dict) and _is_array_data(forward):
            view = array_view("your forward output", forward, public=public)
            if view:
                arrays.append(view)
        for grad in data.get("gradients") or []:
            if isinstance(grad, dict) and isinstance(grad.get("data"), dict) and _is_array_data(grad["data"]):
                view = array_view(str(grad.get("name", "gradient")), grad["data"], public=public)
                if view:
                    arrays.append(view)
    if arrays:
        out["arrays"] = arrays
    accuracy = _accuracy(data)
    if accuracy:
        out["accuracy"] = accuracy
    return out


def _is_array_data(data: dict) -> bool:
    return isinstance(data.get("wrong"), np.ndarray) and "got_shape" in data and "n_wrong" in data


def array_view(name: str, data: dict, *, public: bool) -> dict | None:
    wrong = np.asarray(data["wrong"], dtype=bool)
    n_wrong = int(np.count_nonzero(wrong))
    if n_wrong == 0 or wrong.size > MASK_MAX or wrong.ndim == 0 or wrong.size <= 1:
        return None
    view: dict[str, Any] = {"name": name, "shape": [int(s) for s in wrong.shape], "n": int(wrong.size),
                            "n_wrong": n_wrong, "wrong": pack_mask(wrong)}
    got = data.get("got_values")
    if isinstance(got, np.ndarray) and got.shape == wrong.shape and got.size <= TABLE_MAX:
        view["got"] = [_num(v) for v in got.astype(np.float64).ravel()]
    diff = data.get("abs_diff")
    if public and isinstance(diff, np.ndarray) and diff.shape == wrong.shape and diff.size <= MAGNITUDE_MAX:
        view["abs_diff"] = [_num(v) for v in diff.astype(np.float64).ravel()]
    return view


def _accuracy(data: dict) -> dict | None:
    if not {"accuracy", "correct", "n"} <= set(data):
        return None
    out = {"accuracy": float(data["accuracy"]), "correct": int(data["correct"]), "n": int(data["n"])}
    cm = data.get("confusion")
    if cm is not None:
        cm = np.asarray(cm)
        if cm.ndim == 2 and cm.shape[0] == cm.shape[1] and cm.dtype.kind in "iu" and cm.shape[0] <= 100:
            out["confusion"] = cm.astype(int).tolist()
    return out


def _task(data: dict) -> dict | None:
    task = data.get("task")
    if not isinstance(task, dict):
        return None
    out: dict[str, Any] = {}
    history = task.get("history")
    if isinstance(history, dict):
        clean = {}
        for key, values in history.items():
            if isinstance(values, (list, tuple)) and len(values) <= 10_000:
                clean[str(key)] = [_num(v) for v in values]
        out["history"] = clean
    for key in _TASK_FIELDS[1:]:
        value = task.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = value
    return out or None


# --------------------------------------------------------------------------
# Plain-JSON encodings
# --------------------------------------------------------------------------


def pack_mask(mask: np.ndarray) -> str:
    return base64.b64encode(np.packbits(np.asarray(mask, dtype=bool).ravel()).tobytes()).decode("ascii")


def unpack_mask(text: str, shape: list[int]) -> np.ndarray:
    n = int(np.prod(shape)) if shape else 1
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))[:n]
    if bits.size != n:
        raise ValueError("mask of the wrong size")
    return bits.astype(bool).reshape(shape)


def _num(v: Any) -> float | str:
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def numbers(values: list) -> np.ndarray:
    """Back from :func:`_num`'s encoding to floats."""
    return np.array([float(v) for v in values], dtype=np.float64)


def valid(data: Any, sha256: str | None = None) -> bool:
    """Whether ``data`` is report data (of the submission with ``sha256``, when given)."""
    return (isinstance(data, dict) and data.get("format") == FORMAT
            and (sha256 is None or data.get("sha256") == sha256))
