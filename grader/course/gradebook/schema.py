"""The gradebook's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

History is kept by adding rows, never by rewriting them: a regrade adds a
``gradings`` row and moves ``is_current``; an override is deactivated, never
deleted; a policy change is appended to ``policy_history``. The only columns
that change after insertion are the flags that say what is current
(``gradings.is_current``, ``overrides.active`` and its deactivation fields) and
the policy's decisions on ``submissions`` (attempt number, lateness, penalty,
over the limit, counted), which are recomputed in the same transaction as
any change that affects them.

A mistaken submission or student can be removed (``dlgrade grades remove``):
its rows are deleted, and a ``removals`` row keeps what was removed (a
snapshot as JSON), by whom and why, so the history still tells it.

Schema versions: 1, the first; 2 adds ``overrides.replaces`` (the override a
new one replaced, restored when the new one is revoked) and ``removals``.
:func:`migrate` brings a version-1 gradebook to version 2 in place. Every
change since is an Alembic revision (:mod:`grader.course.gradebook.migrations`):
the first adds ``gradings.run_id``, unique, the id of one grading run of one
submission (a cluster task), so that a result delivered twice is recorded once.
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 2

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

NAME = sa.String(200)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as UTC; always read back aware (UTC).

    SQLite keeps no offset, so the value is converted to UTC before it is
    written and marked UTC when it is read; PostgreSQL stores ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"gradebook times must be timezone-aware, got {value!r}")
        value = value.astimezone(_dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc)


meta = sa.Table(
    "gradebook_meta", metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

students = sa.Table(
    "students", metadata,
    sa.Column("id", NAME, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

assignments = sa.Table(
    "assignments", metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("kind IN ('assignment', 'exam')", name="kind"),
)

policy_history = sa.Table(
    "policy_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, sa.ForeignKey("assignments.name"), nullable=False, index=True),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("set_at", UTCDateTime, nullable=False),
)

# A student's start of a timed exam, when recorded explicitly (first one wins).
starts = sa.Table(
    "starts", metadata,
    sa.Column("assignment", NAME, sa.ForeignKey("assignments.name"), primary_key=True),
    sa.Column("student", NAME, sa.ForeignKey("students.id"), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

submissions = sa.Table(
    "submissions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, sa.ForeignKey("assignments.name"), nullable=False),
    sa.Column("student", NAME, sa.ForeignKey("students.id"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("submitted_at", UTCDateTime),        # NULL: unknown (never late)
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("source_path", sa.Text),
    sa.Column("variant", sa.String(200)),
    # What the policy decided (recomputed whenever the student's attempts change).
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("attempt_given", sa.Boolean, nullable=False),  # the caller numbered it
    sa.Column("late_minutes", sa.Float, nullable=False),
    sa.Column("late_days", sa.Integer, nullable=False),
    sa.Column("late_status", sa.String(30), nullable=False),
    sa.Column("late_penalty", sa.Float, nullable=False),     # fraction 0..1
    sa.Column("over_limit", sa.Boolean, nullable=False),
    sa.Column("counted", sa.Boolean, nullable=False),
    sa.UniqueConstraint("assignment", "student", "sha256"),
    sa.Index(None, "assignment", "student"),
)

gradings = sa.Table(
    "gradings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False, index=True),
    sa.Column("graded_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("score", sa.Float, nullable=False),       # as graded, before any policy
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("isolation", sa.Text, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("loaded", sa.Boolean, nullable=False),
    sa.Column("grader_error", sa.Text),                # a fault of the grader: regrade it
    sa.Column("results", sa.JSON, nullable=False),      # results.json, instructor view
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.String(100)),                # NULL: not recorded under a run id (Alembic 0001)
)
# A run id is recorded once: a re-executed task of the same run cannot add a second grading.
sa.Index("uq_gradings_run_id", gradings.c.run_id, unique=True)
# At most one current grading per submission.
sa.Index("uq_gradings_current", gradings.c.submission_id, unique=True,
         sqlite_where=gradings.c.is_current, postgresql_where=gradings.c.is_current)

question_results = sa.Table(
    "question_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("grading_id", sa.Integer, sa.ForeignKey("gradings.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("question", NAME, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("message", sa.Text, nullable=False),     # instructor view
    sa.UniqueConstraint("grading_id", "question"),
)

overrides = sa.Table(
    "overrides", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, sa.ForeignKey("assignments.name"), nullable=False),
    sa.Column("student", NAME, sa.ForeignKey("students.id"), nullable=False),
    sa.Column("question", NAME),                        # NULL: the whole assignment
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("deactivated_at", UTCDateTime),
    sa.Column("deactivated_by", sa.Text),
    sa.Column("deactivation_reason", sa.Text),
    sa.Column("replaces", sa.Integer),                  # the override this one replaced (restored on revoke)
    sa.CheckConstraint("length(trim(reason)) > 0", name="reason_required"),
    sa.CheckConstraint("length(trim(created_by)) > 0", name="by_required"),
    sa.Index(None, "assignment", "student"),
)
# At most one active override per target (a question, or the whole assignment).
sa.Index("uq_overrides_active", overrides.c.assignment, overrides.c.student,
         sa.func.coalesce(overrides.c.question, ""), unique=True,
         sqlite_where=overrides.c.active, postgresql_where=overrides.c.active)

removals = sa.Table(
    "removals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME),                      # NULL: the student was removed from every assignment
    sa.Column("student", NAME, nullable=False),
    sa.Column("what", sa.Text, nullable=False),         # "attempt 2 (sha256 ...)", "the whole record", ...
    sa.Column("snapshot", sa.JSON, nullable=False),     # the removed rows, as plain data
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("removed_by", sa.Text, nullable=False),
    sa.Column("removed_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("length(trim(reason)) > 0", name="reason_required"),
    sa.CheckConstraint("length(trim(removed_by)) > 0", name="by_required"),
    sa.Index(None, "student", "assignment"),
)


def migrate(conn: sa.Connection, version: int) -> None:
    """Bring a gradebook of schema ``version`` to :data:`SCHEMA_VERSION` (in the caller's transaction)."""
    if version == 1:
        conn.execute(sa.text("ALTER TABLE overrides ADD COLUMN replaces INTEGER"))
        removals.create(conn, checkfirst=True)
        version = 2
    if version != SCHEMA_VERSION:
        raise ValueError(f"gradebook schema version {version} cannot be migrated to {SCHEMA_VERSION}")
