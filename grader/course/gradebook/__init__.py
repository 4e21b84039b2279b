"""The gradebook: submissions, gradings (with history), overrides and final scores in a database.

SQLite by default (``Gradebook.open("graded/gradebook.db")``), PostgreSQL through
the same code (``Gradebook.open("postgresql+psycopg://user@host/db")``).
"""

from grader.course.gradebook.schema import SCHEMA_VERSION
from grader.course.gradebook.store import AssignmentInfo, Gradebook, HistoryEntry, QuestionScore, StudentScore

__all__ = ["Gradebook", "StudentScore", "QuestionScore", "HistoryEntry", "AssignmentInfo", "SCHEMA_VERSION"]
