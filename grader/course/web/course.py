"""A course on disk: its settings, its gradebook, its uploads and its secret.

A course is a folder::

    COURSE/
      course.toml      which assignments, the database, upload and policy defaults
      secret_key       signs session cookies; made here on first use, mode 0600, never committed
      gradebook.db     the gradebook (SQLite), unless course.toml names a PostgreSQL URL
      uploads/         the uploaded files, by the sha256 of their bytes

``course.toml`` (every key optional)::

    assignments = ["01_backprop", "02_softmax"]   # default: every assignment found
    db = "postgresql+psycopg://user@host/course"  # default: COURSE/gradebook.db
    max_upload_bytes = 2_000_000
    cooldown_seconds = 60            # between two attempts of one student
    hidden_results = "after_due"     # "at_once", "after_due" or "on_release"

The assignments' dates, attempts and late rules are their ``policy.toml``
(:mod:`grader.course.policy`), the same as for ``dlgrade grade``.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import Gradebook
from grader.course.gradebook.connection import WRITE_OPTION
from grader.course.policy import Policy, deadline, load_policy
from grader.course.web import exam_tables  # noqa: F401  (its tables join the website's metadata)
from grader.course.web import tables as T
from grader.course.web.storage import BlobStore
from grader.engine.submission_files import SUBMISSION_SUFFIXES

CONFIG_NAME = "course.toml"
SECRET_NAME = "secret_key"
HIDDEN_MODES = ("at_once", "after_due", "on_release")
SHEET_SUFFIXES = (".toml", ".yaml", ".yml")


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(frozen=True)
class CourseConfig:
    assignments: tuple[str, ...] = ()
    db: str | None = None
    max_upload_bytes: int = 2_000_000
    cooldown_seconds: float = 60.0
    hidden_results: str = "after_due"

    @classmethod
    def load(cls, path: Path) -> "CourseConfig":
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        config = cls(**{**data, "assignments": tuple(data.get("assignments", ()))})
        if config.hidden_results not in HIDDEN_MODES:
            raise ValueError(f"{path}: hidden_results = {config.hidden_results!r}: expected one of {HIDDEN_MODES}")
        if not isinstance(config.max_upload_bytes, int) or config.max_upload_bytes < 1:
            raise ValueError(f"{path}: max_upload_bytes must be a whole number of bytes > 0")
        if not isinstance(config.cooldown_seconds, (int, float)) or config.cooldown_seconds < 0:
            raise ValueError(f"{path}: cooldown_seconds must be a number of seconds >= 0")
        return config


@dataclass
class CourseAssignment:
    """What the website knows of one assignment (the master is never loaded by the web process)."""
    name: str
    title: str
    module: str
    kind: str
    folder: Path
    policy: Policy

    @property
    def suffixes(self) -> tuple[str, ...]:
        return SUBMISSION_SUFFIXES + (SHEET_SUFFIXES if self.kind == "exam" else ())


@dataclass(frozen=True)
class Settings:
    cooldown_seconds: float
    hidden_results: str
    released_at: _dt.datetime | None


class Course:
    def __init__(self, folder: Path, *, db: str | None = None):
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config = CourseConfig.load(self.folder / CONFIG_NAME)
        self.db = db or self.config.db or str(self.folder / "gradebook.db")
        self.gradebook = Gradebook.open(self.db)
        self.engine = self.gradebook.engine
        self.writer = self.engine.execution_options(**{WRITE_OPTION: True})
        with self.writer.begin() as conn:
            T.metadata.create_all(conn)
        self.blobs = BlobStore(self.folder / "uploads")
        self.assignments: dict[str, CourseAssignment] = {}
        self._load_assignments()

    def _load_assignments(self) -> None:
        from grader.course.generate.build import all_assignment_dirs
        from grader.engine.authoring import load_assignment

        names = list(self.config.assignments) or [d.name for d in all_assignment_dirs()]
        for name in names:
            assignment = load_assignment(name)
            policy = load_policy(assignment.folder)
            self.assignments[assignment.name] = CourseAssignment(
                assignment.name, assignment.title, assignment.module, assignment.kind, assignment.folder, policy)
            self.gradebook.add_assignment(assignment.name, title=assignment.title, max_score=assignment.max_points,
                                          policy=policy)

    def close(self) -> None:
        self.gradebook.close()

    # -- the secret --------------------------------------------------------------
    def secret_key(self) -> bytes:
        """The key that signs session cookies: made on first use, readable by the owner only."""
        path = self.folder / SECRET_NAME
        if not path.exists():
            # Written whole to a private temporary file, then linked into place: a process killed
            # half-way leaves no empty key, and of two servers starting at once the first one wins.
            temp = self.folder / f".{SECRET_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(32).hex().encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(temp, path)
                except FileExistsError:
                    pass
            finally:
                temp.unlink(missing_ok=True)
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others: chmod 600 {path}")
        key = path.read_bytes()
        if len(key) < 32:
            raise ValueError(f"{path} holds no usable key ({len(key)} bytes): delete it and start again "
                             "(everyone signs in again)")
        return key

    # -- per-assignment web settings and extensions ---------------------------------
    def settings(self, conn, assignment: str) -> Settings:
        row = conn.execute(sa.select(T.settings).where(T.settings.c.assignment == assignment)).first()
        if row is None:
            return Settings(float(self.config.cooldown_seconds), self.config.hidden_results, None)
        return Settings(row.cooldown_seconds, row.hidden_results, row.released_at)

    def save_settings(self, conn, assignment: str, **values) -> None:
        current = self.settings(conn, assignment)
        merged = {"cooldown_seconds": current.cooldown_seconds, "hidden_results": current.hidden_results,
                  "released_at": current.released_at, **values}
        if merged["hidden_results"] not in HIDDEN_MODES:
            raise ValueError(f"hidden_results must be one of {HIDDEN_MODES}")
        conn.execute(sa.delete(T.settings).where(T.settings.c.assignment == assignment))
        conn.execute(sa.insert(T.settings).values(assignment=assignment, **merged))

    def extension_minutes(self, conn, assignment: str, student: str) -> float:
        """The student's extension on ``assignment``: the latest granted one (0 without)."""
        value = conn.execute(sa.select(T.extensions.c.minutes).where(
            T.extensions.c.assignment == assignment, T.extensions.c.student == student)
            .order_by(T.extensions.c.id.desc()).limit(1)).scalar()
        return float(value or 0.0)

    def due(self, assignment: CourseAssignment, extension_minutes: float = 0.0) -> _dt.datetime | None:
        due = deadline(assignment.policy)
        return due + _dt.timedelta(minutes=extension_minutes) if due is not None else None

    def hidden_visible(self, conn, assignment: CourseAssignment, now: _dt.datetime | None = None) -> bool:
        """Whether students see their hidden questions' results now.

        ``after_due``: from the due date moved by the longest extension any student holds, so no
        student still working can be handed a classmate's results.
        """
        settings = self.settings(conn, assignment.name)
        if settings.released_at is not None or settings.hidden_results == "at_once":
            return True
        if settings.hidden_results == "after_due":
            due = deadline(assignment.policy)
            if due is None:
                return True
            # Not before the last student's extended deadline: classmates would pass results on.
            last = due + _dt.timedelta(minutes=self.longest_extension_minutes(conn, assignment.name))
            return (now or utcnow()) >= last
        return False

    def longest_extension_minutes(self, conn, assignment: str) -> float:
        """The longest extension any student holds on ``assignment`` (each student's latest one counts)."""
        latest: dict[str, float] = {}
        for row in conn.execute(sa.select(T.extensions.c.student, T.extensions.c.minutes)
                                .where(T.extensions.c.assignment == assignment).order_by(T.extensions.c.id)):
            latest[row.student] = float(row.minutes)
        return max(latest.values(), default=0.0)
