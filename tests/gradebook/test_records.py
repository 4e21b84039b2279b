"""A grade a student may contest: revoke restores, overrides stay in range, removals stay in history,
the final score says why, and a not-accepted attempt never wipes an accepted one (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.course.gradebook import Gradebook, schema
from grader.course.policy import Attempt, Policy, counted_attempt


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"gradebook_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


factory = _load("factory")
at = factory.at
LAST_NO_LATE = Policy(closes_at=at(10), counting="last", accept_late=False)


def test_revoke_restores_the_override_it_replaced(gradebook, make_result):
    gradebook.record(make_result(scores=(5, 3)), student_id="s1", submitted_at=at(9))
    gradebook.override("s1", "a1", 9, reason="regrade request", by="prof")
    gradebook.override("s1", "a1", 2, reason="copied", by="ta")
    assert gradebook.final_score("a1", "s1").score == 2
    assert gradebook.revoke_override("s1", "a1", reason="not copied after all", by="prof") == 1
    final = gradebook.final_score("a1", "s1")
    assert final.score == 9 and "override by prof: 9 / 10 (regrade request)" in final.notes
    assert gradebook.revoke_override("s1", "a1", reason="graded score stands", by="prof") == 1
    assert gradebook.final_score("a1", "s1").score == 8 and not gradebook.final_score("a1", "s1").overridden
    history = " | ".join(e.summary for e in gradebook.history("s1", "a1"))
    assert "replaced by override #2" in history and "override #1 restored as #3" in history


def test_an_override_outside_the_range_needs_force(gradebook, make_result):
    gradebook.record(make_result(scores=(5, 3)), student_id="s1", submitted_at=at(9))
    with pytest.raises(ValueError, match=r"above the maximum of a1 \(10\).*force"):
        gradebook.override("s1", "a1", 50, reason="typo", by="prof")
    with pytest.raises(ValueError, match=r"above the maximum of question q2 \(5\)"):
        gradebook.override("s1", "a1", 6, question="q2", reason="typo", by="prof")
    with pytest.raises(ValueError, match=">= 0"):
        gradebook.override("s1", "a1", -1, reason="typo", by="prof", force=True)
    assert gradebook.final_score("a1", "s1").score == 8               # nothing was recorded
    gradebook.override("s1", "a1", 11, reason="bonus for the best project", by="prof", force=True)
    assert gradebook.final_score("a1", "s1").score == 11


def test_a_not_accepted_attempt_never_wipes_an_accepted_one_under_last(gradebook, make_result):
    gradebook.add_assignment("a1", policy=LAST_NO_LATE)
    gradebook.record(make_result(scores=(5, 3), sha="a" * 64), student_id="s1", submitted_at=at(9))
    gradebook.record(make_result(scores=(5, 5), sha="b" * 64), student_id="s1", submitted_at=at(11))
    final = gradebook.final_score("a1", "s1")
    assert (final.score, final.attempt, final.attempts) == (8, 1, 2)
    assert any("attempt 2 not accepted" in n and "does not count" in n for n in final.notes)
    assert "your latest attempt" in final.counting and "not accepted" in final.counting
    # Only late attempts: the latest of them counts, and scores 0, saying why.
    gradebook.record(make_result(student="s2", scores=(5, 5)), student_id="s2", submitted_at=at(12))
    late = gradebook.final_score("a1", "s2")
    assert late.score == 0 and any(n.startswith("not accepted: late by") for n in late.notes)


def test_counted_attempt_prefers_accepted_attempts():
    attempts = [Attempt(1, 4.0), Attempt(2, 0.0, accepted=False)]
    assert counted_attempt(Policy(counting="last"), attempts).number == 1
    assert counted_attempt(Policy(counting="last"), [Attempt(1, 0.0, accepted=False)]).number == 1


def test_a_late_penalty_is_explained(gradebook, make_result):
    gradebook.add_assignment("a1", policy=Policy(closes_at=at(10), late_penalty_per_day=0.1))
    gradebook.record(make_result(scores=(5, 5)), student_id="s1", submitted_at=at(10, 12, 1))
    final = gradebook.final_score("a1", "s1")
    assert final.score == 9 and final.raw_score == 10
    assert "late by 1 min (1 day(s)): penalty -10%, -1 points" in final.notes
    assert final.to_dict()["reasons"] == list(final.notes) and final.to_dict()["score"] == 9


def test_remove_deletes_a_mistaken_submission_and_keeps_it_in_history(gradebook, make_result):
    gradebook.record(make_result(scores=(5, 3), sha="a" * 64), student_id="s1", submitted_at=at(9))
    gradebook.record(make_result(scores=(1, 1), sha="b" * 64), student_id="s1", submitted_at=at(9, 13))
    gradebook.record(make_result(student="sheets2"), student_id="sheets2", submitted_at=at(9))
    assert gradebook.remove("s1", "a1", attempt=2, reason="wrong file", by="prof").startswith("attempt 2")
    assert gradebook.final_score("a1", "s1").attempts == 1
    assert gradebook.remove("sheets2", reason="a folder graded as a student", by="prof")
    assert "sheets2" not in gradebook.students() and gradebook.final_score("a1", "sheets2") is None
    with gradebook.engine.connect() as conn:
        removed = conn.execute(sa.select(schema.removals).order_by(schema.removals.c.id)).all()
    assert [(r.student, r.removed_by) for r in removed] == [("s1", "prof"), ("sheets2", "prof")]
    assert removed[0].snapshot["submissions"][0]["sha256"] == "b" * 64
    assert removed[0].snapshot["submissions"][0]["gradings"][0]["score"] == 2
    kinds = [(e.kind, e.summary) for e in gradebook.history("s1", "a1")]
    assert ("removal", "removed attempt 2 (sha256 bbbbbbbbbbbb) by prof: wrong file") in kinds
    assert any(k == "removal" for k, _ in [(e.kind, e) for e in gradebook.history("sheets2", "a1")])
    with pytest.raises(ValueError, match="no student 'nobody'"):
        gradebook.remove("nobody", reason="x", by="prof")


def test_a_version_1_gradebook_is_migrated(tmp_path, make_result):
    path = tmp_path / "old.db"
    with Gradebook.open(path) as gb:
        gb.record(make_result(), student_id="s1", submitted_at=at(9))
        with gb.engine.begin() as conn:   # as version 1 left it: no removals, no overrides.replaces, no run ids
            conn.execute(sa.text("DROP TABLE removals"))
            conn.execute(sa.text("ALTER TABLE overrides DROP COLUMN replaces"))
            conn.execute(sa.text("DROP INDEX uq_gradings_run_id"))
            conn.execute(sa.text("ALTER TABLE gradings DROP COLUMN run_id"))
            conn.execute(sa.text("DROP TABLE alembic_version"))
            conn.execute(sa.update(schema.meta).values(value="1"))
    with Gradebook.open(path, create=False) as gb:
        gb.override("s1", "a1", 9, reason="r", by="prof")
        gb.override("s1", "a1", 7, reason="r2", by="prof")
        gb.revoke_override("s1", "a1", reason="back", by="prof")
        assert gb.final_score("a1", "s1").score == 9
        gb.record(make_result(scores=(1.0, 1.0)), student_id="s1", submitted_at=at(10), run_id="r1")  # run ids
        with gb.engine.connect() as conn:
            assert conn.execute(sa.select(schema.meta.c.value)).scalar() == str(schema.SCHEMA_VERSION)
