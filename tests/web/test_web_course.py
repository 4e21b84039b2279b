"""A course folder: its secret is made once, private, and refused when others can read it; a
course.toml with a wrong key or value is refused with the key named."""

from __future__ import annotations

import os
import stat

import pytest
from web_support import write_course

from grader.course.web.course import Course, CourseConfig


def test_secret_is_private_and_stable(tmp_path):
    course = Course(write_course(tmp_path / "course"))
    try:
        key = course.secret_key()
        assert len(key) == 64 and course.secret_key() == key
        path = tmp_path / "course" / "secret_key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir() if p.name.startswith(".secret_key")] == []
        os.chmod(path, 0o644)
        with pytest.raises(PermissionError, match="readable by others: chmod 600"):
            course.secret_key()
    finally:
        course.close()


@pytest.mark.parametrize("text, message", [
    ('assignmnets = ["01_backprop"]\n', r"unknown key\(s\) \['assignmnets'\]"),
    ('hidden_results = "never"\n', "hidden_results = 'never': expected one of"),
    ("max_upload_bytes = -5\n", "max_upload_bytes must be a whole number of bytes > 0"),
    ("cooldown_seconds = 'soon'\n", "cooldown_seconds must be a number of seconds >= 0"),
    ("assignments = [\n", "not valid TOML"),
])
def test_bad_course_toml_is_named(tmp_path, text, message):
    path = tmp_path / "course.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        CourseConfig.load(path)


def test_tokens_are_stored_hashed_and_never_look_like_an_option():
    import sqlalchemy as sa

    from grader.course.web import tables as T
    from grader.course.web import tokens

    engine = sa.create_engine("sqlite://")
    T.metadata.create_all(engine)
    with engine.begin() as conn:
        issued = [tokens.issue(conn, f"s{i}", "student") for i in range(300)]
        stored = list(conn.execute(sa.select(T.tokens.c.token_sha256).order_by(T.tokens.c.id)).scalars())
        assert all(t.startswith("dlg_") and len(t) > 40 for t in issued)
        assert not set(issued) & set(stored) and stored == [tokens.token_hash(t) for t in issued]
        assert tokens.verify(conn, issued[7]).user_id == "s7"
        assert tokens.verify(conn, issued[7][:-1]) is None and tokens.verify(conn, "") is None
    engine.dispose()


def test_hidden_results_after_due_wait_for_the_longest_extension(tmp_path, monkeypatch):
    """``after_due``: not at the due date while a student still works on an extension (their
    latest one counts), from the end of the longest one on."""
    import datetime as dt

    import sqlalchemy as sa

    from grader.course.web import course as course_module
    from grader.course.web import tables as T

    due = dt.datetime(2026, 3, 10, 23, 59, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(course_module, "deadline", lambda policy: due)   # 01 as given has no due date
    course = Course(write_course(tmp_path / "course", hidden="after_due"))
    try:
        a = course.assignments["01_backprop"]
        after = due + dt.timedelta(minutes=1)
        with course.writer.begin() as conn:
            assert not course.hidden_visible(conn, a, now=due - dt.timedelta(minutes=1))
            assert course.hidden_visible(conn, a, now=after)
            for student, minutes in (("bob", 600), ("bob", 90), ("cy", 30)):   # bob's latest is 90 minutes
                conn.execute(sa.insert(T.extensions).values(
                    assignment=a.name, student=student, minutes=minutes, reason="illness", created_by="prof",
                    created_at=due))
            assert course.longest_extension_minutes(conn, a.name) == 90
            assert not course.hidden_visible(conn, a, now=after)
            assert not course.hidden_visible(conn, a, now=due + dt.timedelta(minutes=89))
            assert course.hidden_visible(conn, a, now=due + dt.timedelta(minutes=90))
    finally:
        course.close()


def test_the_course_gives_the_gradebook_each_assignments_points(tmp_path):
    """Before any grading, the gradebook knows 01's maximum, so an override given to a student who never
    uploaded is checked against it and shown out of it (the LMS sends score / maximum)."""
    from grader.engine.authoring import load_assignment

    course = Course(write_course(tmp_path / "course"))
    try:
        points = load_assignment("01_backprop").max_points
        assert points > 0
        course.gradebook.override("zoe", "01_backprop", 20, reason="oral exam", by="prof", create_student=True)
        final = course.gradebook.final_score("01_backprop", "zoe")
        assert (final.score, final.max_score) == (20, points)
        with pytest.raises(ValueError):
            course.gradebook.override("zoe", "01_backprop", points + 1, reason="typo", by="prof")
    finally:
        course.close()


def test_expired_tokens_of_a_user_are_forgotten_and_no_one_elses():
    import datetime as dt

    import sqlalchemy as sa

    from grader.course.web import tables as T
    from grader.course.web import tokens

    engine = sa.create_engine("sqlite://")
    T.metadata.create_all(engine)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        old = [tokens.issue(conn, "ann", "student", days=0.5, now=now - dt.timedelta(days=1)) for _ in range(3)]
        live = tokens.issue(conn, "ann", "student", days=1, now=now)
        other = tokens.issue(conn, "bob", "student", days=0.5, now=now - dt.timedelta(days=1))
        assert tokens.forget_expired(conn, "ann", now=now) == 3
        assert tokens.verify(conn, live, now=now).user_id == "ann"
        assert all(tokens.verify(conn, t, now=now - dt.timedelta(days=0.9)) is None for t in old)
        assert tokens.verify(conn, other, now=now - dt.timedelta(days=0.9)).user_id == "bob"
    engine.dispose()
