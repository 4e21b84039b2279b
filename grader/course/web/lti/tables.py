"""The LMS's tables, beside the website's in the same database.

What only the LTI side needs: one-time launch state (nonces, cached launches),
who an LMS user is here, which LMS link points at which assignment, the grades
to send and a log of every try. Scores are never stored here as truth: a send
row copies the gradebook's final score at the moment it was queued, so the log
says exactly what was sent. A separate ``MetaData`` keeps these tables out of
the gradebook's and the website's schemas.
"""

from __future__ import annotations

import sqlalchemy as sa

from grader.course.gradebook.schema import NAME, UTCDateTime

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
})

# Short-lived values of the OIDC flow (a nonce until its launch consumes it, a launch's claims).
store = sa.Table(
    "web_lti_store", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# An LMS user (issuer + subject) and the course's user id they sign in as.
users = sa.Table(
    "web_lti_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("issuer", sa.String(300), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("user_id", NAME, nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("source", sa.String(10), nullable=False),      # 'launch' or 'roster'
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("issuer", "subject"),
)

# A resource link (or the course context) in an LMS: its assignment and its services' endpoints.
links = sa.Table(
    "web_lti_links", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("issuer", sa.String(300), nullable=False),
    sa.Column("client_id", sa.String(300), nullable=False),
    sa.Column("deployment_id", sa.String(300), nullable=False),
    sa.Column("context_id", sa.String(300), nullable=False),
    sa.Column("resource_link_id", sa.String(300), nullable=False),
    sa.Column("assignment", NAME),
    sa.Column("lineitem", sa.Text),            # AGS: where this link's scores go
    sa.Column("ags_scopes", sa.JSON),
    sa.Column("memberships_url", sa.Text),     # NRPS: the course's roster
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("issuer", "resource_link_id"),
)

# One score to send to one line item for one LMS user. Never deleted: the instructor's record.
sends = sa.Table(
    "web_lti_sends", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("web_lti_links.id"), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("student", NAME, nullable=False),
    sa.Column("assignment", NAME, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),      # queued, retrying, sent, failed, superseded
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint("status IN ('queued', 'retrying', 'sent', 'failed', 'superseded')", name="status"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "link_id", "subject"),
)

# Every try of every send: when, how it ended, what the platform said.
send_log = sa.Table(
    "web_lti_send_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("send_id", sa.Integer, sa.ForeignKey("web_lti_sends.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("error", sa.Text),
)
