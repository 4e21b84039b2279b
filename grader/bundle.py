"""The grading engine as a package of its own: the ``grader`` package without the answer key.

What ships to places the instructor does not control (a Gradescope
autograder, the kit students install to run ``dlgrade check``) is the
``grader`` package and the compiled questions as data, never ``reference/``,
the masters or ``questions.py``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import grader

SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # fixed timestamps: building twice gives the same bytes


def engine_files(prefix: str) -> list[tuple[Path, str]]:
    """(file, archive name under ``prefix``) for every file of the ``grader`` package (no caches)."""
    root = Path(grader.__file__).resolve().parent
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIPPED_DIRS for part in rel.parts) or path.suffix in SKIPPED_SUFFIXES:
            continue
        if path.is_file() and not path.is_symlink():
            out.append((path, f"{prefix}/grader/{rel.as_posix()}"))
    return out


def engine_pyproject(*, version: str, description: str, dependencies: list[str], python_requires: str) -> str:
    """A pyproject.toml installing the bundled ``grader`` package and its ``dlgrade`` command."""
    deps = ", ".join(f'"{d}"' for d in dependencies)
    return f"""\
# dlgrade's grading engine (package `grader`), without the answer key.
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "dlgrade"
version = "{version}"
description = "{description}"
requires-python = "{python_requires}"
dependencies = [{deps}]

[project.scripts]
dlgrade = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
"*" = ["*.md", "*.txt", "*.json", "*.html", "*.css"]
"""


def write_zip(entries: list[tuple[str, bytes, int]], out: Path) -> None:
    """(name, bytes, unix mode) entries into a zip with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload, mode in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix: the permission bits below are honoured by unzip
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, payload)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
