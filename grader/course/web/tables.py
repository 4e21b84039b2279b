"""The website's own tables, kept beside the gradebook's in the same database.

They hold what only the website needs: sign-in tokens, uploads (one row per
file a student hands in), the grading queue, per-student extensions and each
assignment's web settings (cooldown, when hidden results are shown, release).
Every score stays in the gradebook (:mod:`grader.course.gradebook`); a row here only
points at a gradebook grading by id. A separate ``MetaData`` keeps these
tables out of the gradebook's schema and migrations.
"""

from __future__ import annotations

import sqlalchemy as sa

from grader.course.gradebook.schema import NAME, UTCDateTime

WEB_SCHEMA_VERSION = 1

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
})

# A personal sign-in token: only its sha256 is stored.
tokens = sa.Table(
    "web_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", NAME, nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.CheckConstraint("role IN ('student', 'instructor')", name="role"),
)

# A file a student handed in. ``blob_sha256`` names its bytes in the blob store.
uploads = sa.Table(
    "web_uploads", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("student", NAME, nullable=False),
    sa.Column("assignment", NAME, nullable=False),
    sa.Column("blob_sha256", sa.String(64), nullable=False),
    sa.Column("suffix", sa.String(10), nullable=False),
    sa.Column("display_name", sa.String(120), nullable=False),   # shown, never used as a path
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
    sa.Column("grading_id", sa.Integer),                        # the gradebook's grading, once graded
    sa.Column("report_data", sa.JSON),                          # the report's figure data (student-safe)
    sa.Index(None, "student", "assignment"),
)

# The queue: one row per grading to do. Claimed by an UPDATE that sets a lease.
jobs = sa.Table(
    "web_jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("web_uploads.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("enqueued_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(120)),
    sa.Column("claims", sa.Integer, nullable=False, default=0),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("previous_grading_id", sa.Integer),   # regrade: the grading current when it was asked for
    sa.Column("grading_id", sa.Integer),
    sa.Column("error", sa.Text),
    sa.CheckConstraint("kind IN ('grade', 'regrade')", name="kind"),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    sa.Index(None, "status", "id"),
)

extensions = sa.Table(
    "web_extensions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, nullable=False),
    sa.Column("student", NAME, nullable=False),
    sa.Column("minutes", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "assignment", "student"),
)

settings = sa.Table(
    "web_settings", metadata,
    sa.Column("assignment", NAME, primary_key=True),
    sa.Column("cooldown_seconds", sa.Float, nullable=False),
    sa.Column("hidden_results", sa.String(20), nullable=False),
    sa.Column("released_at", UTCDateTime),
    sa.CheckConstraint("hidden_results IN ('at_once', 'after_due', 'on_release')", name="hidden"),
)

meta = sa.Table(
    "web_meta", metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
