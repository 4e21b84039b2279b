"""The gradebook on SQLite and on PostgreSQL: recording, regrading, overrides, policy, export."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.course.gradebook import Gradebook, schema
from grader.course.policy import Policy


def _load(name: str):
    """A helper module of this folder, by path (whatever pytest's import mode)."""
    spec = importlib.util.spec_from_file_location(f"gradebook_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


factory = _load("factory")
at, UTC = factory.at, factory.UTC
DEADLINE = at(10, 23, 59)


def rows(gb, table, **where):
    query = sa.select(table)
    for key, value in where.items():
        query = query.where(table.c[key] == value)
    with gb.engine.connect() as conn:
        return conn.execute(query.order_by(*table.primary_key.columns)).all()


def final(gb, assignment, student, **kwargs):
    return next(s for s in gb.final_scores(assignment, **kwargs) if s.student == student)


# -- recording ----------------------------------------------------------------------
def test_record_writes_submission_grading_and_questions(gradebook, make_result):
    result = make_result(scores=(5, 3), variant="v7")
    grading_id = gradebook.record(result, student_id="s1", submitted_at=at(9))
    sub, = rows(gradebook, schema.submissions)
    assert (sub.assignment, sub.student, sub.sha256, sub.submitted_at, sub.attempt, sub.variant) == \
        ("a1", "s1", result.sha256, at(9), 1, "v7")
    assert sub.source_path == result.path and sub.counted and sub.late_status == "on time"
    grading, = rows(gradebook, schema.gradings)
    assert grading.id == grading_id and grading.is_current and grading.score == 8 and grading.max_score == 10
    assert grading.results == result.to_gradescope("instructor")     # the full instructor view
    assert grading.graded_at == at(20) and grading.grader_error is None
    questions = rows(gradebook, schema.question_results, grading_id=grading_id)
    assert [(q.question, q.score, q.max_score, q.status) for q in questions] == \
        [("q1", 5, 5, "passed"), ("q2", 3, 5, "partial")]
    assert "expected 5.0, got 3" in questions[1].message             # instructor view: details shown
    assignment, = rows(gradebook, schema.assignments)
    assert (assignment.name, assignment.max_score, assignment.kind) == ("a1", 10, "assignment")
    assert gradebook.students() == ["s1"]


def test_recording_the_same_content_again_changes_nothing(gradebook, make_result):
    result = make_result()
    first = gradebook.record(result, student_id="s1", submitted_at=at(9))
    again = gradebook.record(make_result(scores=(0, 0), sha=result.sha256), student_id="s1", submitted_at=at(9))
    assert again == first
    assert len(rows(gradebook, schema.submissions)) == 1
    assert len(rows(gradebook, schema.gradings)) == 1
    assert len(rows(gradebook, schema.question_results)) == 2
    assert gradebook.is_graded("a1", "s1", result.sha256)
    assert not gradebook.is_graded("a1", "s1", "0" * 64)
    assert not gradebook.is_graded("a2", "s1", result.sha256)
    assert gradebook.graded_hashes("a1") == {("s1", result.sha256)}


def test_regrade_adds_a_grading_and_keeps_history(gradebook, make_result):
    old = make_result(scores=(5, 3))
    first = gradebook.record(old, student_id="s1", submitted_at=at(9))
    new = make_result(scores=(5, 4.5), sha=old.sha256, graded_at=at(21))
    second = gradebook.record(new, student_id="s1", regrade=True)
    assert second != first
    gradings = rows(gradebook, schema.gradings)
    assert [(g.id, g.score, g.is_current) for g in gradings] == [(first, 8, False), (second, 9.5, True)]
    assert len(rows(gradebook, schema.submissions)) == 1
    assert len(rows(gradebook, schema.question_results)) == 4          # both gradings' questions kept
    assert final(gradebook, "a1", "s1").score == 9.5
    kinds = [(e.kind, e.score, e.current) for e in gradebook.history("s1", "a1") if "grading" in e.kind]
    assert kinds == [("grading", 8, False), ("regrading", 9.5, True)]


def test_a_grader_error_is_not_graded_and_the_next_record_grades_it(gradebook, make_result):
    broken = make_result(scores=(0, 0), grader_error="RuntimeError: grader bug")
    gradebook.record(broken, student_id="s1", submitted_at=at(9))
    assert not gradebook.is_graded("a1", "s1", broken.sha256)
    assert gradebook.graded_hashes("a1") == set()
    assert final(gradebook, "a1", "s1").score is None
    assert "grader error" in " ".join(final(gradebook, "a1", "s1").notes)
    fixed = make_result(scores=(5, 5), sha=broken.sha256)
    gradebook.record(fixed, student_id="s1")                            # no regrade=True needed
    assert gradebook.is_graded("a1", "s1", broken.sha256)
    assert [g.is_current for g in rows(gradebook, schema.gradings)] == [False, True]
    assert final(gradebook, "a1", "s1").score == 10


def test_a_failed_record_leaves_nothing_behind(gradebook, make_result):
    duplicate_questions = make_result(scores=(5, 3), names=("q1", "q1"))
    with pytest.raises(sa.exc.IntegrityError):
        gradebook.record(duplicate_questions, student_id="s1", submitted_at=at(9))
    for table in (schema.students, schema.assignments, schema.submissions, schema.gradings,
                  schema.question_results, schema.policy_history):
        assert rows(gradebook, table) == [], table.name


def test_times_must_be_timezone_aware_and_come_back_in_utc(gradebook, make_result):
    with pytest.raises(ValueError, match="timezone-aware"):
        gradebook.record(make_result(), student_id="s1", submitted_at=dt.datetime(2025, 1, 9, 12))
    zurich = dt.timezone(dt.timedelta(hours=1))
    gradebook.record(make_result(), student_id="s1", submitted_at=dt.datetime(2025, 1, 9, 13, tzinfo=zurich))
    sub, = rows(gradebook, schema.submissions)
    assert sub.submitted_at == at(9, 12) and sub.submitted_at.tzinfo == UTC


def test_reopening_keeps_everything_and_checks_the_schema_version(db_url, make_result):
    with Gradebook.open(db_url) as gb:
        gb.record(make_result(), student_id="s1", submitted_at=at(9))
    with Gradebook.open(db_url, create=False) as gb:
        assert gb.graded_hashes("a1") == {("s1", make_result().sha256)}
        with gb.engine.begin() as conn:
            assert conn.execute(sa.select(schema.meta.c.value)).scalar() == str(schema.SCHEMA_VERSION)
            conn.execute(sa.update(schema.meta).values(value="99"))
    with pytest.raises(ValueError, match="schema version 99"):
        Gradebook.open(db_url)


def test_sqlite_is_a_wal_file_with_foreign_keys(tmp_path, make_result):
    with pytest.raises(FileNotFoundError, match="no gradebook"):
        Gradebook.open(tmp_path / "missing.db", create=False)
    with Gradebook.open(tmp_path / "sub" / "gradebook.db") as gb:              # a Path means SQLite
        gb.record(make_result(), student_id="s1")
        with gb.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.insert(schema.submissions).values(
                    assignment="nope", student="s1", sha256="x", recorded_at=at(1), attempt=1,
                    attempt_given=False, late_minutes=0, late_days=0, late_status="", late_penalty=0,
                    over_limit=False, counted=False))


def test_the_database_refuses_an_override_without_a_reason(gradebook, make_result):
    gradebook.record(make_result(), student_id="s1")
    with pytest.raises(sa.exc.IntegrityError):
        with gradebook.engine.begin() as conn:
            conn.execute(sa.insert(schema.overrides).values(
                assignment="a1", student="s1", score=1, reason="  ", created_by="prof", created_at=at(1),
                active=True))


# -- overrides ------------------------------------------------------------------------
def test_overrides_apply_on_top_and_stay_in_history(gradebook, make_result):
    gradebook.record(make_result(scores=(5, 3)), student_id="s1", submitted_at=at(9))
    gradebook.record(make_result(student="s2", scores=(1, 1)), student_id="s2", submitted_at=at(9))

    first = gradebook.override("s1", "a1", 4, question="q2", reason="regex too strict", by="prof")
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.raw_score, s1.overridden) == (9, 9, True)
    assert [(q.question, q.score, q.overridden) for q in s1.questions] == [("q1", 5, False), ("q2", 4, True)]

    second = gradebook.override("s1", "a1", 4.5, question="q2", reason="on reflection", by="ta")
    assert final(gradebook, "a1", "s1").score == 9.5
    whole = gradebook.override("s1", "a1", 7, reason="academic integrity", by="prof")
    assert final(gradebook, "a1", "s1").score == 7
    assert final(gradebook, "a1", "s2").score == 2                    # others untouched

    assert gradebook.revoke_override("s1", "a1", reason="cleared", by="prof") == 1
    assert gradebook.revoke_override("s1", "a1", reason="again", by="prof") == 0
    assert final(gradebook, "a1", "s1").score == 9.5                  # the question override still holds

    stored = rows(gradebook, schema.overrides)
    assert [(o.id, o.question, o.score, o.active) for o in stored] == \
        [(first, "q2", 4, False), (second, "q2", 4.5, True), (whole, None, 7, False)]
    assert stored[0].deactivation_reason == f"replaced by override #{second}"
    assert (stored[2].deactivated_by, stored[2].deactivation_reason) == ("prof", "cleared")

    events = [(e.kind, e.question, e.score) for e in gradebook.history("s1", "a1") if "override" in e.kind]
    assert events == [("override", "q2", 4), ("override deactivated", "q2", None), ("override", "q2", 4.5),
                      ("override", None, 7), ("override deactivated", None, None)]


def test_override_checks_its_arguments(gradebook, make_result):
    gradebook.record(make_result(), student_id="s1")
    with pytest.raises(ValueError, match="reason"):
        gradebook.override("s1", "a1", 5, reason="   ", by="prof")
    with pytest.raises(ValueError, match="by"):
        gradebook.override("s1", "a1", 5, reason="ok", by="")
    with pytest.raises(ValueError, match="no question 'q9'.*q1, q2"):
        gradebook.override("s1", "a1", 5, question="q9", reason="ok", by="prof")
    with pytest.raises(ValueError, match="no assignment 'a9'.*known: a1"):
        gradebook.override("s1", "a9", 5, reason="ok", by="prof")
    with pytest.raises(ValueError, match="no student 'S1'.*did you mean s1"):
        gradebook.override("S1", "a1", 5, reason="ok", by="prof")
    with pytest.raises(ValueError, match=">= 0"):
        gradebook.override("s1", "a1", float("nan"), reason="ok", by="prof")
    assert rows(gradebook, schema.overrides) == []
    # A student who never submitted (e.g. excused) can be given a score explicitly.
    gradebook.override("s9", "a1", 8, reason="excused, oral exam", by="prof", create_student=True)
    s9 = final(gradebook, "a1", "s9")
    assert (s9.score, s9.attempts, s9.attempt) == (8, 0, None)


# -- policy ----------------------------------------------------------------------------
def test_best_or_last_attempt(gradebook, make_result):
    for day, scores in [(5, (5, 3)), (6, (5, 5)), (7, (2, 2))]:
        gradebook.record(make_result(scores=scores), student_id="s1", submitted_at=at(day))
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.attempt, s1.attempts) == (10, 2, 3)                       # best by default
    assert final(gradebook, "a1", "s1", policy=Policy(counting="last")).score == 4  # what-if: nothing written
    assert [s.counted for s in rows(gradebook, schema.submissions)] == [False, True, False]

    gradebook.add_assignment("a1", policy=Policy(counting="last"))                  # recorded: recomputed
    assert final(gradebook, "a1", "s1").score == 4
    assert [s.counted for s in rows(gradebook, schema.submissions)] == [False, False, True]
    assert [Policy.from_dict(p.policy).counting for p in rows(gradebook, schema.policy_history)] == \
        ["best", "last"]


def test_attempts_are_numbered_by_submission_time_whatever_the_recording_order(gradebook, make_result):
    for day, scores in [(7, (1, 1)), (5, (2, 2)), (6, (3, 3))]:
        gradebook.record(make_result(scores=scores), student_id="s1", submitted_at=at(day))
    subs = rows(gradebook, schema.submissions)
    assert [(s.submitted_at.day, s.attempt) for s in subs] == [(7, 3), (5, 1), (6, 2)]
    explicit = make_result(scores=(4, 4))
    gradebook.record(explicit, student_id="s2", submitted_at=at(8), attempt=2)
    assert rows(gradebook, schema.submissions, student="s2")[0].attempt == 2


def test_attempts_over_the_limit_are_recorded_marked_and_not_counted(gradebook, make_result):
    policy = Policy(max_attempts=2)
    for day, scores in [(5, (1, 1)), (6, (2, 2)), (7, (5, 5))]:
        gradebook.record(make_result(scores=scores), student_id="s1", submitted_at=at(day), policy=policy)
    subs = rows(gradebook, schema.submissions)
    assert [(s.attempt, s.over_limit, s.counted) for s in subs] == [(1, False, False), (2, False, True),
                                                                    (3, True, False)]
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.attempt, s1.attempts) == (4, 2, 3)
    assert "1 attempt(s) over the limit of 2" in s1.notes[0]
    assert "over the limit" in gradebook.history("s1", "a1")[2].summary


def test_late_penalty_is_recorded_and_applied(gradebook, make_result):
    policy = Policy(closes_at=DEADLINE, late_grace_minutes=5, late_penalty_per_day=0.1, late_max_days=3)
    cases = {"ontime": (DEADLINE, 10), "grace": (DEADLINE + dt.timedelta(minutes=5), 10),
             "day1": (DEADLINE + dt.timedelta(minutes=6), 9), "day2": (DEADLINE + dt.timedelta(days=1, minutes=1), 8),
             "day3": (DEADLINE + dt.timedelta(days=3), 7), "toolate": (DEADLINE + dt.timedelta(days=3, minutes=1), 0)}
    for student, (when, _) in cases.items():
        gradebook.record(make_result(student=student, scores=(5, 5)), student_id=student, submitted_at=when,
                         policy=policy)
    scores = {s.student: s for s in gradebook.final_scores("a1")}
    assert {k: scores[k].score for k in cases} == {k: v for k, (_, v) in cases.items()}
    assert scores["day2"].late_penalty == 2 and scores["day2"].raw_score == 10
    assert scores["toolate"].late_status == "too late"
    stored = {s.student: s for s in rows(gradebook, schema.submissions)}
    assert (stored["day2"].late_minutes, stored["day2"].late_days, stored["day2"].late_penalty) == (1441, 2, 0.2)
    assert (stored["grace"].late_status, stored["grace"].late_penalty) == ("in grace", 0)
    # "best" compares scores after the penalty: the late 10 (9 after it) still beats an on-time 8.
    gradebook.record(make_result(student="day1", scores=(4, 4)), student_id="day1", submitted_at=at(9))
    assert final(gradebook, "a1", "day1").score == 9


def test_no_late_submissions_scores_zero_and_the_instructor_can_override(gradebook, make_result):
    policy = Policy(closes_at=DEADLINE, accept_late=False)
    gradebook.record(make_result(scores=(5, 5)), student_id="s1", submitted_at=DEADLINE + dt.timedelta(hours=2),
                     policy=policy)
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.raw_score, s1.late_status) == (0, 10, "not accepted")
    assert "not accepted" in gradebook.history("s1", "a1")[0].summary
    gradebook.override("s1", "a1", 10, reason="medical certificate", by="prof")
    assert final(gradebook, "a1", "s1").score == 10


def test_a_better_late_attempt_loses_to_an_on_time_one_after_its_penalty(gradebook, make_result):
    policy = Policy(closes_at=DEADLINE, late_penalty_per_day=0.5)
    gradebook.record(make_result(scores=(4, 3)), student_id="s1", submitted_at=at(9), policy=policy)
    gradebook.record(make_result(scores=(5, 5)), student_id="s1", submitted_at=DEADLINE + dt.timedelta(hours=1))
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.attempt) == (7, 1)                         # 7 on time beats 10 * 0.5


def test_exam_duration_runs_from_the_recorded_start_or_the_first_submission(gradebook, make_result):
    policy = Policy(kind="exam", opens_at=at(15, 8), closes_at=at(15, 18), duration_minutes=60)
    gradebook.add_assignment("exam1", title="Midterm", policy=policy)
    gradebook.record_start("s1", "exam1", at(15, 9))
    gradebook.record_start("s1", "exam1", at(15, 11))            # the first recorded start is kept
    gradebook.record(make_result("exam1", "s1", (5, 5)), student_id="s1", submitted_at=at(15, 10, 30))
    # No recorded start: the first submission starts the clock.
    gradebook.record(make_result("exam1", "s2", (5, 5)), student_id="s2", submitted_at=at(15, 10, 0))
    gradebook.record(make_result("exam1", "s2", (4, 4)), student_id="s2", submitted_at=at(15, 10, 50))
    # Started late: the closing time comes first.
    gradebook.record(make_result("exam1", "s3", (5, 5)), student_id="s3", submitted_at=at(15, 18, 10),
                     started_at=at(15, 17, 30))
    scores = {s.student: s for s in gradebook.final_scores("exam1")}
    assert (scores["s1"].late_minutes, scores["s1"].late_status, scores["s1"].score) == (30, "late", 10)
    assert [s.late_minutes for s in rows(gradebook, schema.submissions, student="s2")] == [0, 0]
    assert scores["s3"].late_minutes == 10
    assert gradebook.assignments()[0].kind == "exam" and gradebook.assignments()[0].title == "Midterm"
    assert gradebook.history("s1", "exam1")[0].kind == "start"


def test_unknown_submission_time_is_never_late(gradebook, make_result):
    gradebook.record(make_result(), student_id="s1", policy=Policy(closes_at=at(1)))
    s1 = final(gradebook, "a1", "s1")
    assert (s1.score, s1.late_status) == (8, "time unknown")


# -- history and export -----------------------------------------------------------------
def test_history_is_in_time_order(gradebook, make_result):
    gradebook.record(make_result(scores=(1, 1), graded_at=at(9, 13)), student_id="s1", submitted_at=at(9))
    gradebook.record(make_result(scores=(2, 2), graded_at=at(10, 13)), student_id="s1", submitted_at=at(10))
    gradebook.record(make_result(scores=(3, 3), graded_at=at(11, 13), sha=make_result(scores=(1, 1)).sha256),
                     student_id="s1", regrade=True)
    gradebook.override("s1", "a1", 9, reason="bonus", by="prof")
    history = gradebook.history("s1", "a1")
    assert [e.kind for e in history] == ["submission", "grading", "submission", "grading", "regrading", "override"]
    assert [e.when for e in history] == sorted(e.when for e in history)
    assert [e.attempt for e in history[:5]] == [1, 1, 2, 2, 1]
    assert gradebook.history("nobody", "a1") == []


def test_csv_export_one_row_per_student_one_column_per_assignment(gradebook, make_result, tmp_path):
    gradebook.add_student("s0", name="Ada", email="ada@example.org")   # on the roster, nothing submitted
    gradebook.record(make_result("a1", "s1", (5, 3)), student_id="s1", submitted_at=at(9))
    gradebook.record(make_result("a1", "s1", (5, 4)), student_id="s1", submitted_at=at(9, 13))
    gradebook.record(make_result("a1", "s2", (2.25, 0)), student_id="s2", submitted_at=at(9))
    gradebook.record(make_result("b2", "s2", (1, 2, 3), points=3), student_id="s2", submitted_at=at(9))
    gradebook.override("s2", "a1", 1, question="q2", reason="partial credit", by="ta")
    grades, per_question = tmp_path / "out" / "grades.csv", tmp_path / "out" / "questions.csv"
    from grader.course.gradebook.export import export_csv

    export_csv(gradebook, grades, per_question_path=per_question)
    assert list(csv.reader(grades.open())) == [
        ["student", "a1", "b2"],
        ["s0", "", ""],
        ["s1", "9", ""],
        ["s2", "3.25", "6"],
    ]
    assert list(csv.reader(per_question.open())) == [
        ["student", "assignment", "question", "score", "max"],
        ["s1", "a1", "q1", "5", "5"],
        ["s1", "a1", "q2", "4", "5"],
        ["s2", "a1", "q1", "2.25", "5"],
        ["s2", "a1", "q2", "1", "5"],
        ["s2", "b2", "q1", "1", "3"],
        ["s2", "b2", "q2", "2", "3"],
        ["s2", "b2", "q3", "3", "3"],
    ]
    assert sorted(p.name for p in grades.parent.iterdir()) == ["grades.csv", "questions.csv"]  # no temp files


def test_a_second_process_can_read_while_one_writes(db_url, make_result):
    with Gradebook.open(db_url) as writer, Gradebook.open(db_url) as reader:
        writer.record(make_result(), student_id="s1")
        with writer._writer.begin() as conn:            # a write transaction in progress...
            conn.execute(sa.update(schema.students).values(name="x"))
            assert reader.graded_hashes("a1") == {("s1", make_result().sha256)}   # ...does not block readers
