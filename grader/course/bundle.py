"""The grading engine as a package of its own: ``grader/engine`` and the ``check`` command.

What ships to places the instructor does not control (a Gradescope
autograder, the kit students install to run ``dlgrade check``) is the
engine and the compiled questions as data, never ``reference/``, the
masters, ``questions.py`` or the instructor's tools (:mod:`grader.course`).
"""

from __future__ import annotations

import importlib.metadata
import io
import zipfile
from pathlib import Path

import grader

SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # fixed timestamps: building twice gives the same bytes


#: What ships of the ``grader`` package, relative to it: the engine and the ``check`` command.
ENGINE_PARTS = ("__init__.py", "engine", "cli/__init__.py", "cli/__main__.py", "cli/check.py", "cli/options.py")


def engine_files(prefix: str) -> list[tuple[Path, str]]:
    """(file, archive name under ``prefix``) for every file of :data:`ENGINE_PARTS` (no caches)."""
    root = Path(grader.__file__).resolve().parent
    out = []
    for part in ENGINE_PARTS:
        top = root / part
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            rel = path.relative_to(root)
            if any(p in SKIPPED_DIRS for p in rel.parts) or path.suffix in SKIPPED_SUFFIXES:
                continue
            if path.is_file() and not path.is_symlink():
                out.append((path, f"{prefix}/grader/{rel.as_posix()}"))
    return out


def installed_version(name: str) -> str | None:
    """The installed distribution ``name``'s version, None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def dlgrade_version() -> str:
    """This dlgrade's version ("0.0.0" when it runs from a folder that was never installed)."""
    return installed_version("dlgrade") or "0.0.0"


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
