"""``read_sheet``: an answer sheet's file to its :class:`SheetContents`, never raising for what the file holds."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from grader.engine.sheets.contents import SheetContents, sanitize
from grader.engine.sheets.files import MAX_SHEET_BYTES, SheetRefused, decode_text, read_bytes, sheet_format
from grader.engine.sheets.toml_sheet import read_toml
from grader.engine.sheets.yaml_sheet import read_yaml


def read_sheet(path: str | os.PathLike, *, fmt: str | None = None,
               max_bytes: int = MAX_SHEET_BYTES) -> SheetContents:
    """Read an answer sheet; never raises for anything in the file."""
    path = Path(path)
    fmt = fmt or sheet_format(path)
    contents = SheetContents(format=fmt or "?", ok=False)
    if fmt not in ("toml", "yaml"):
        contents.kind = "rejected"
        contents.error = (f"{path.name} is not an answer sheet: an answer sheet is a .toml, .yaml or .yml file")
        return contents
    try:
        raw = read_bytes(path, max_bytes)
        digest = hashlib.sha256()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        contents.sha256 = digest.hexdigest()
        text = decode_text(raw, contents.notes)
    except SheetRefused as exc:
        contents.kind, contents.error = exc.kind, str(exc)
        return contents

    if fmt == "toml":
        read_toml(text, contents)
    else:
        read_yaml(text, contents)
    if contents.ok:
        sanitize(contents)
        if not contents.values and not contents.problems:
            contents.notes.append("your answer sheet is empty: no question is answered")
    return contents
