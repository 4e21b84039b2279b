"""Which files and folders are submissions (the same rule for a batch and for Gradescope's upload)."""

from __future__ import annotations

from pathlib import Path

SUBMISSION_SUFFIXES = (".py", ".ipynb")


def is_submission(path: Path, module: str, suffixes: tuple[str, ...] = SUBMISSION_SUFFIXES) -> bool:
    """Whether ``path`` is a submission of ``module``: a file with one of ``suffixes``, or a folder
    holding ``module`` with one of them or exactly one such file."""
    if path.is_file():
        return path.suffix in suffixes
    if path.is_dir():
        if any((path / f"{module}{s}").is_file() for s in suffixes):
            return True
        mains = [p for p in path.iterdir() if p.is_file() and p.suffix in suffixes]
        return len(mains) == 1
    return False
