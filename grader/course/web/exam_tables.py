"""The tables of exams sat on the website, beside the website's other tables (same ``MetaData``).

* ``web_exam_sittings``: one row per (exam, student) once the student opens
  the exam: when the clock started, the duration it started with, and when
  and how the sitting ended (``student``: the student submitted;
  ``deadline``: the server submitted the saved answers when time ran out;
  ``closed``: the instructor closed the exam).
* ``web_exam_answers``: the student's current answer to each key, as typed
  (JSON of text: a string, a list of strings or a list of rows of strings).
* ``web_exam_events``: the history, append-only: every opening, save,
  submission, extension and closing, with its time.
* ``web_exam_state``: per exam, when the instructor closed it.
"""

from __future__ import annotations

import sqlalchemy as sa

from grader.course.gradebook.schema import NAME, UTCDateTime
from grader.course.web.tables import metadata

sittings = sa.Table(
    "web_exam_sittings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, nullable=False),
    sa.Column("student", NAME, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("duration_minutes", sa.Float),                  # None: no time limit (the window only)
    sa.Column("ended_at", UTCDateTime),
    sa.Column("ended_how", sa.String(10)),
    sa.Column("upload_id", sa.Integer),                       # the upload its answers became
    sa.UniqueConstraint("assignment", "student"),
    sa.CheckConstraint("ended_how IS NULL OR ended_how IN ('student', 'deadline', 'closed')", name="how"),
)

answers = sa.Table(
    "web_exam_answers", metadata,
    sa.Column("assignment", NAME, primary_key=True),
    sa.Column("student", NAME, primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
)

events = sa.Table(
    "web_exam_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("assignment", NAME, nullable=False),
    sa.Column("student", NAME, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("key", sa.String(100)),
    sa.Column("value", sa.JSON),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "assignment", "student", "id"),
    sa.CheckConstraint("kind IN ('open', 'save', 'submit', 'extend', 'close')", name="kind"),
)

state = sa.Table(
    "web_exam_state", metadata,
    sa.Column("assignment", NAME, primary_key=True),
    sa.Column("closed_at", UTCDateTime),
)
