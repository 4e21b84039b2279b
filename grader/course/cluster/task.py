"""A grading task as plain data: everything a worker needs, nothing it must trust.

A task names the assignment (its folder and name), the student, the
submission's file name and bytes with their sha256, the limit overrides, the
exam variant the driver expects, and two versions: dlgrade's own and the
assignment's fingerprint. A worker compiles the assignment itself and refuses
a task whose versions differ from its own (:mod:`grader.course.cluster.worker`), so
a grading host with another checkout never grades against another answer key.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import reference
from grader.engine.grading import content_hash

#: Files that never change what a grading gives.
_IGNORED_PARTS = ("__pycache__",)


@dataclass(frozen=True)
class GradingTask:
    """One submission to grade, as plain data (str, bytes, dict): what crosses the wire to a worker."""
    assignment_name: str
    assignment_folder: str
    student: str
    file_name: str                      # the submission's own file name (its suffix says .py or .ipynb)
    source_path: str                    # where the driver read it: recorded as the submission's path
    content: bytes
    sha256: str                         # grader.engine.grading.content_hash: the file's name and bytes
    limit_overrides: dict = field(default_factory=dict)
    variant: str | None = None          # the exam variant the driver compiled for this student
    dlgrade_version: str = ""
    assignment_fingerprint: str = ""

    @property
    def key(self) -> str:
        """The Dask key: one per student and content, so the same content is never two tasks."""
        return f"grade-{self.assignment_name}-{self.student}-{self.sha256[:16]}"

    def to_dict(self) -> dict:
        return asdict(self)


def dlgrade_version() -> str:
    """The installed dlgrade's version (the distribution's metadata)."""
    try:
        return metadata.version("dlgrade")
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=None)
def assignment_fingerprint(folder: str) -> str:
    """sha256 over the assignment folder's files and the ``reference`` package's sources.

    Both decide the expected values; two hosts that agree on this grade alike.
    """
    digest = hashlib.sha256()
    roots = [("assignment", Path(folder)), ("reference", Path(reference.__file__).parent)]
    for label, root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root)
            if any(part in _IGNORED_PARTS or part.startswith(".") for part in relative.parts):
                continue
            if label == "reference" and path.suffix != ".py":
                continue
            digest.update(f"{label}/{relative.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def make_task(assignment, student: str, path: Path, *, variant: str | None = None,
              limit_overrides: dict | None = None) -> GradingTask:
    """The task for ``student``'s submission file ``path`` (a folder submission is refused: ValueError)."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"{path}: --cluster grades file submissions (.py, .ipynb, answer sheets); "
                         f"grade folder submissions without --cluster")
    content = path.read_bytes()
    return GradingTask(
        assignment_name=assignment.name, assignment_folder=str(Path(assignment.folder).resolve()),
        student=student, file_name=path.name, source_path=str(path), content=content,
        sha256=content_hash(path), limit_overrides=dict(limit_overrides or {}),
        variant=variant, dlgrade_version=dlgrade_version(),
        assignment_fingerprint=assignment_fingerprint(str(Path(assignment.folder).resolve())))
