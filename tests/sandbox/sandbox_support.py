"""Helpers of the sandbox tests: short limits for hostile submissions, real submission files written
into tmp_path, and the processes a sandbox left behind.

A module of its own, not conftest.py: every test folder has a conftest module, and which one
``from conftest import`` finds depends on the order pytest collects the folders in.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grader.engine.sandbox import Limits, isolation, isolation_available

REPO = Path(__file__).resolve().parents[2]

#: Short limits for hostile submissions: the whole suite has to stay fast.
FAST = Limits(wall_seconds=30.0, request_seconds=2.0, load_seconds=3.0, max_restarts=3,
              file_bytes=1 << 20, tmp_bytes=8 << 20)


def write_py(directory: Path, code: str, name: str = "submission.py") -> Path:
    path = Path(directory) / name
    path.write_text(textwrap.dedent(code))
    return path


def write_notebook(directory: Path, cells: list, name: str = "submission.ipynb") -> Path:
    """``cells``: code strings, or ("markdown", text) pairs."""
    nb_cells = []
    for cell in cells:
        if isinstance(cell, tuple):
            nb_cells.append({"cell_type": cell[0], "metadata": {}, "source": cell[1]})
        else:
            source = textwrap.dedent(cell).strip("\n")
            nb_cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                             "source": source.splitlines(True)})
    nb = {"cells": nb_cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = Path(directory) / name
    path.write_text(json.dumps(nb, indent=1))
    return path


def bwrap_usable() -> bool:
    return isolation_available("auto")[0]


def leftover_processes(uid: int | None) -> list[int]:
    if uid is None:
        return []
    return isolation.processes_of_uid(uid, include_zombies=False)
