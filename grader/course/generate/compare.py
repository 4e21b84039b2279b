"""Compare generated data within a stated tolerance, so another CPU does not change the tree.

numpy's BLAS picks its kernel by CPU (or ``OPENBLAS_CORETYPE``); two kernels
sum in different orders and the expected values of the public checks then
differ in their last bits (1.8e-15 was measured on one array of 03_cnn).
Those values are compared with students' answers at ``rtol=1e-9`` or looser,
so a difference within :data:`RTOL` and :data:`ATOL` is the same value:
``dlgrade generate`` keeps the committed file and ``generate --check`` calls
it up to date. Anything larger is reported with where it is and by how much.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from grader.engine import datafile

# |fresh - committed| <= ATOL + RTOL * |committed|, elementwise: a thousand times tighter than
# the tightest tolerance a check uses (rtol=1e-9), far above a BLAS kernel's rounding (~1e-15).
RTOL = 1e-12
ATOL = 1e-13


def data_differences(fresh: Any, committed: Any, where: str = "", limit: int = 5) -> list[str]:
    """Where ``fresh`` and ``committed`` (plain data with arrays) differ beyond the tolerance.

    Each entry names the path inside the document (``questions[3].cases[0].expected``)
    and, for numbers, the largest difference and the element where it is.
    """
    out: list[str] = []
    _walk(fresh, committed, where, out, limit)
    return out


def _walk(a: Any, b: Any, where: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in the {'committed' if key in b else 'fresh'} file")
            else:
                _walk(a[key], b[key], f"{where}.{key}" if where else key, out, limit)
        return
    if isinstance(a, list) and isinstance(b, list) and not _numeric_list(a) and not _numeric_list(b):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} entries now, {len(b)} committed")
            return
        for index, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{where}[{index}]", out, limit)
        return
    if _is_number_like(a) and _is_number_like(b):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            out.append(f"{where}: shape {x.shape} now, {y.shape} committed")
        elif x.dtype.kind != y.dtype.kind and not {x.dtype.kind, y.dtype.kind} <= set("iuf"):
            out.append(f"{where}: dtype {x.dtype} now, {y.dtype} committed")
        elif not np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
            out.append(f"{where}: {_largest_move(x, y)}")
        return
    if a != b:
        out.append(f"{where}: {_short(a)} now, {_short(b)} committed")


def _largest_move(x: np.ndarray, y: np.ndarray) -> str:
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    moved = np.abs(xf - yf)
    moved = np.where(np.isnan(xf) & np.isnan(yf), 0.0, moved)
    moved = np.where(np.isnan(moved), np.inf, moved)
    index = np.unravel_index(int(np.argmax(moved)), moved.shape) if moved.shape else ()
    element = f"[{', '.join(map(str, index))}]" if index else ""
    return (f"value{element} moved by {float(moved[index]):.3g} ({float(yf[index])!r} committed, "
            f"{float(xf[index])!r} now; tolerance rtol={RTOL:g}, atol={ATOL:g})")


def _is_number_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biufc"
    return isinstance(value, list) and _numeric_list(value)


def _numeric_list(value: list) -> bool:
    try:
        array = np.asarray(value)
    except ValueError:  # ragged
        return False
    return array.dtype.kind in "iuf" and array.size > 0


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def data_files_differ(fresh_json: Path, committed_json: Path) -> list[str]:
    """Differences between two data files (``.json`` + ``.npz``) beyond the tolerance."""
    try:
        committed = datafile.load(committed_json)
    except (OSError, ValueError) as exc:
        return [f"the committed file cannot be read ({type(exc).__name__}: {exc})"]
    return data_differences(datafile.load(fresh_json), committed)
