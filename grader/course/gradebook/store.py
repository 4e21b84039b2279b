"""The gradebook: every submission, every grading, every override, in a real database.

Written with SQLAlchemy Core rather than the ORM: the gradebook is a handful of
tables written in short, explicit transactions, and Core keeps every statement
and every transaction boundary in sight (that is what makes "one result, one
transaction" checkable), holds no session state that could go stale while
another process writes, and lets the few dialect differences (``ON CONFLICT``,
partial indexes, ``FOR UPDATE``) be written where they matter. Callers get
frozen dataclasses, never rows.

Guarantees:

* ``record`` writes one submission's result in one transaction: the
  submission, its grading, its question results and the policy's decisions
  all appear together or not at all, whenever the process is killed.
* Recording the same content (assignment, student, sha256) again changes
  nothing, unless ``regrade=True`` or the current grading was a fault of the
  grader; then a new grading is added, the old one stays as history.
* Overrides are never deleted, only deactivated; the effective score is the
  counted attempt's current grading, with active overrides applied.

:class:`Gradebook` is put together from one part per job: :mod:`.roster`
(assignments, students, starts), :mod:`.recording` (results),
:mod:`.corrections` (overrides, removals) and :mod:`.reading` (final scores,
shown results, history), all on :mod:`.core` (transactions and the queries
they share); the policy's decisions are computed in :mod:`.decisions`, and
callers get the frozen dataclasses of :mod:`.values`.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import migrations
from grader.course.gradebook import schema as S
from grader.course.gradebook.connection import database_url, make_engine, sqlite_path
from grader.course.gradebook.corrections import CorrectionsMixin
from grader.course.gradebook.reading import ReadingMixin
from grader.course.gradebook.recording import RecordingMixin
from grader.course.gradebook.roster import RosterMixin
from grader.course.gradebook.values import AssignmentInfo, HistoryEntry, QuestionScore, StudentScore

__all__ = ["Gradebook", "StudentScore", "QuestionScore", "HistoryEntry", "AssignmentInfo"]


class Gradebook(RosterMixin, RecordingMixin, CorrectionsMixin, ReadingMixin):
    """A gradebook on SQLite (a path or ``sqlite:///...``) or PostgreSQL (``postgresql+psycopg://...``)."""

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path, *, create: bool = True) -> "Gradebook":
        """Open (and with ``create``, create) the gradebook at a path or URL."""
        url = database_url(target)
        path = sqlite_path(url)
        if path is not None:
            if not path.exists() and not create:
                raise FileNotFoundError(f"no gradebook at {path}")
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
        gradebook = cls(make_engine(url))
        try:
            gradebook._initialise(create)
        except BaseException:
            gradebook.close()
            raise
        return gradebook

    def _initialise(self, create: bool) -> None:
        def tx(conn):
            if create:
                S.metadata.create_all(conn)
            elif not sa.inspect(conn).has_table(S.meta.name):
                raise ValueError(f"{self.url} is not a dlgrade gradebook (no {S.meta.name} table)")
            version = conn.execute(sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar()
            if version is None:     # just created from today's tables: it holds every revision
                conn.execute(sa.insert(S.meta).values(key="schema_version", value=str(S.SCHEMA_VERSION)))
                migrations.stamp_newest(conn)
                return
            if version.isdigit() and int(version) < S.SCHEMA_VERSION:
                S.migrate(conn, int(version))
                conn.execute(sa.update(S.meta).where(S.meta.c.key == "schema_version")
                             .values(value=str(S.SCHEMA_VERSION)))
            elif version != str(S.SCHEMA_VERSION):
                raise ValueError(f"{self.url} has gradebook schema version {version}; this dlgrade "
                                 f"reads version {S.SCHEMA_VERSION}")
            migrations.upgrade(conn)   # the Alembic revisions since version 2, in this transaction

        try:
            self._write(tx)
        except sa.exc.DBAPIError:
            time.sleep(0.2)   # another process created the tables at the same moment
            self._write(tx)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
