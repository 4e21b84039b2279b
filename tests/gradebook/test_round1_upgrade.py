"""A gradebook written by round 1's code (schema version 1) upgrades in place to today's schema
(version 2 by the gradebook's own step, then the Alembic revisions), keeping every grading and
override, and then records under run ids.

The fixture ``data/round1_gradebook.db`` was written by the round-1 code itself
(``data/make_round1_gradebook.py``), and ``data/round1_gradebook.json`` holds what
that code read back from it: its row counts and final scores.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.course.gradebook import Gradebook, migrations, schema

DATA = Path(__file__).parent / "data"
TABLES = ("students", "submissions", "gradings", "question_results", "overrides")


def _round1(tmp_path: Path) -> Path:
    path = tmp_path / "gradebook.db"
    shutil.copyfile(DATA / "round1_gradebook.db", path)
    return path


def _rows(gb: Gradebook, table: sa.Table) -> list:
    with gb.engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(table.c.id)).all()


def test_a_round1_gradebook_upgrades_in_place_keeping_every_grading_and_override(tmp_path):
    path = _round1(tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as db:     # as round 1 left it
        assert db.execute("SELECT value FROM gradebook_meta WHERE key = 'schema_version'").fetchone() == ("1",)
    expected = json.loads((DATA / "round1_gradebook.json").read_text())

    with Gradebook.open(path, create=False) as gb:    # opening it migrates it
        with gb.engine.connect() as conn:
            assert conn.execute(sa.select(schema.meta.c.value)).scalar() == str(schema.SCHEMA_VERSION)
            assert migrations.current(conn) == migrations.newest()      # and every Alembic revision
            counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        assert counts == expected["counts"]
        for assignment, finals in expected["finals"].items():
            assert {s.student: s.score for s in gb.final_scores(assignment)} == finals
        overrides = _rows(gb, schema.overrides)
        assert [(o.student, o.assignment, o.score, o.active) for o in overrides] == [
            ("ben", "a1", 7.0, True), ("ben", "a2", 5.0, False)]
        assert all(g.run_id is None for g in _rows(gb, schema.gradings))
        history = [e.kind for e in gb.history("ana", "a1")]   # two attempts, the first graded twice
        assert sorted(history) == ["grading", "grading", "regrading", "submission", "submission"]


def test_an_upgraded_gradebook_records_a_run_id_once(tmp_path, make_result):
    path = _round1(tmp_path)
    with Gradebook.open(path, create=False) as gb:
        before = len(_rows(gb, schema.gradings))
        result = make_result("a1", "ana", (5.0, 5.0))
        first = gb.record(result, student_id="ana", regrade=True, run_id="run-1:ana")
        again = gb.record(result, student_id="ana", regrade=True, run_id="run-1:ana")   # delivered twice
        assert again == first
        assert len(_rows(gb, schema.gradings)) == before + 1
        other = gb.record(result, student_id="ana", regrade=True, run_id="run-2:ana")   # another run regrades
        assert other != first and len(_rows(gb, schema.gradings)) == before + 2
        row = {k: v for k, v in _rows(gb, schema.gradings)[-1]._mapping.items() if k != "id"}
        with pytest.raises(sa.exc.IntegrityError), gb.engine.begin() as conn:   # the database refuses it too
            conn.execute(sa.insert(schema.gradings).values(**{**row, "is_current": False}))


def test_a_version_2_gradebook_before_alembic_gets_the_first_revision(db_url, make_result):
    """On SQLite and PostgreSQL: a gradebook as version 2 left it (no run ids, no alembic_version)."""
    with Gradebook.open(db_url) as gb:
        gb.record(make_result("a1", "ana"), student_id="ana")
        with gb.engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX uq_gradings_run_id"))
            conn.execute(sa.text("ALTER TABLE gradings DROP COLUMN run_id"))
            conn.execute(sa.text("DROP TABLE alembic_version"))
    with Gradebook.open(db_url, create=False) as gb:
        with gb.engine.connect() as conn:
            assert migrations.current(conn) == migrations.newest()
        result = make_result("a1", "ana", (1.0, 1.0))
        first = gb.record(result, student_id="ana", run_id="run-1:ana")
        assert gb.record(result, student_id="ana", regrade=True, run_id="run-1:ana") == first
        assert [g.run_id for g in _rows(gb, schema.gradings)] == [None, "run-1:ana"]
