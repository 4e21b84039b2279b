"""A :class:`~grader.engine.results.SubmissionResult` as JSON text, and back: what a worker returns.

JSON and never pickle: the driver reads a worker's answer with ``json.loads``
and builds the dataclasses itself, field by field, so nothing a worker sends
can make the driver run code. Numbers in a case's ``data`` (numpy arrays and
scalars from the checks) become lists and floats; the figure data a report
needs is computed on the worker and sent beside the result.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from grader.engine.results import CaseResult, LoadInfo, QuestionResult, SubmissionResult

FORMAT = "dlgrade-cluster-result/1"


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars made lists and Python numbers (JSON's own types)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "tolist"):          # numpy arrays and scalars
        return _plain(value.tolist())
    return str(value)


def result_to_json(result: SubmissionResult, *, figures: dict | None = None) -> str:
    """The text a worker returns: the result's fields and the report's figure data."""
    return json.dumps({"format": FORMAT, "result": _plain(dataclasses.asdict(result)), "figures": figures},
                      allow_nan=False)


def result_from_json(text: str) -> tuple[SubmissionResult, dict | None]:
    """The result and figure data in ``text``; ValueError naming what is wrong when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"a worker returned {type(text).__name__}, expected JSON text")
    payload = json.loads(text)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"a worker returned something other than {FORMAT!r}")
    data = payload["result"]
    questions = [QuestionResult(**{**q, "cases": [CaseResult(**c) for c in q["cases"]]})
                 for q in data["questions"]]
    result = SubmissionResult(**{**data, "questions": questions, "load": LoadInfo(**data["load"])})
    figures = payload.get("figures")
    return result, figures if isinstance(figures, dict) else None
