"""Plain data on disk: a JSON document whose arrays live in a sibling ``.npz``.

Compiled checks (the public checks a student runs locally, the cases of an
exam variant) are stored this way. Nothing here can execute code when read:
the JSON is parsed by :mod:`json` and the arrays by ``numpy.load`` with
``allow_pickle=False``.

Encoding: an ndarray becomes ``{"__ndarray__": "a7"}`` in the JSON and the
array ``a7`` in the ``.npz``; tuples become lists; numpy scalars become
Python scalars. Non-finite floats are written as JSON's ``NaN``/``Infinity``
extensions, which :mod:`json` reads back.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ARRAY_KEY = "__ndarray__"
_ALLOWED_KINDS = "biufc"


def split_arrays(obj: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """Replace every ndarray in ``obj`` by a reference; return (json_obj, arrays)."""
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _ALLOWED_KINDS:
                raise TypeError(f"cannot store an array of dtype {value.dtype}: numeric arrays only")
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {ARRAY_KEY: key}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError("dictionary keys must be strings")
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot store a {type(value).__name__}: plain data only")

    return walk(obj), arrays


def join_arrays(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of :func:`split_arrays`."""
    if isinstance(obj, dict):
        if set(obj) == {ARRAY_KEY}:
            return arrays[obj[ARRAY_KEY]]
        return {k: join_arrays(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_arrays(v, arrays) for v in obj]
    return obj


def dumps(obj: Any) -> tuple[str, bytes]:
    """Encode plain data as (JSON text, npz bytes)."""
    doc, arrays = split_arrays(obj)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return json.dumps(doc, indent=1, sort_keys=True), buffer.getvalue()


def loads(text: str, blob: bytes) -> Any:
    """Decode what :func:`dumps` wrote."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return join_arrays(json.loads(text), arrays)


def save(obj: Any, path: Path) -> None:
    """Write ``path`` (JSON) and ``path.with_suffix('.npz')``."""
    path = Path(path)
    text, blob = dumps(obj)
    path.write_text(text + "\n")
    # A fixed timestamp inside the zip keeps regenerated files byte-identical,
    # so "the template is up to date" can be checked by comparing bytes.
    _write_deterministic_npz(blob, path.with_suffix(".npz"))


def load(path: Path) -> Any:
    path = Path(path)
    return loads(path.read_text(), path.with_suffix(".npz").read_bytes())


def _write_deterministic_npz(blob: bytes, target: Path) -> None:
    source = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dest:
        for name in sorted(source.namelist()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dest.writestr(info, source.read(name))
    target.write_bytes(out.getvalue())
