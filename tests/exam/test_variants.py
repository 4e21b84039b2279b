"""Variant ids: per student, stable, keyed by the exam's salt; the exam compiled per student."""

from __future__ import annotations

import hashlib
import re

import pytest

from grader.course.exam.variants import (
    SALT_ENV,
    ExamSaltError,
    compile_for_student,
    load_salt,
    normalize_student_id,
    student_variant,
    variant_id,
)
from grader.engine.checks.base import jsonable

SALT = "a-test-salt-of-enough-length-0123456789"


def test_variant_is_stable_and_differs_between_students():
    a1, a2 = variant_id("midterm", "s1001", SALT), variant_id("midterm", "s1001", SALT)
    b = variant_id("midterm", "s1002", SALT)
    assert a1 == a2
    assert a1 != b
    assert re.fullmatch(r"[0-9a-f]{16}", a1)


def test_variant_depends_on_salt_and_exam_and_not_on_the_id_alone():
    base = variant_id("midterm", "s1001", SALT)
    assert variant_id("midterm", "s1001", SALT + "x") != base
    assert variant_id("final", "s1001", SALT) != base
    # without the salt, no plain hash of the id gives the variant
    for text in ("s1001", "midterm s1001", "midterm\0s1001", '["midterm", "s1001"]'):
        assert hashlib.sha256(text.encode()).hexdigest()[:16] != base


def test_variants_spread_over_a_class():
    ids = {variant_id("midterm", f"s{n:04d}", SALT) for n in range(2000)}
    assert len(ids) == 2000


def test_student_ids_are_checked_and_trimmed():
    assert normalize_student_id("  s1001\n") == "s1001"
    assert variant_id("midterm", " s1001 ", SALT) == variant_id("midterm", "s1001", SALT)
    assert normalize_student_id("ana.lopez+2@uni.example") == "ana.lopez+2@uni.example"
    for bad in ("", "   ", "../etc/passwd", "a b", "-rf", "x" * 101, "s1001/../../x"):
        with pytest.raises(ValueError, match="not a valid student id"):
            normalize_student_id(bad)
    with pytest.raises(ValueError):
        normalize_student_id(1001)


def test_salt_from_the_exam_folder_and_from_the_environment(tmp_path, monkeypatch, midterm):
    (tmp_path / "secret.toml").write_text(f'salt = "{SALT}"\n')
    assert load_salt(tmp_path) == SALT
    monkeypatch.setenv(SALT_ENV, "another-salt-from-the-environment")
    assert load_salt(tmp_path) == "another-salt-from-the-environment"
    # the environment changes every variant of the real exam
    in_file = student_variant(midterm, "s1001", salt=load_salt(midterm.folder))
    monkeypatch.delenv(SALT_ENV)
    assert student_variant(midterm, "s1001") != in_file


def test_missing_or_bad_salt_is_a_clear_error(tmp_path):
    with pytest.raises(ExamSaltError, match=rf"set {SALT_ENV}.*secret.toml"):
        load_salt(tmp_path, "midterm")
    (tmp_path / "secret.toml").write_text("salt = \n")
    with pytest.raises(ExamSaltError, match="not valid TOML"):
        load_salt(tmp_path)
    (tmp_path / "secret.toml").write_text('salt = "short"\n')
    with pytest.raises(ExamSaltError, match="too short"):
        load_salt(tmp_path)
    (tmp_path / "secret.toml").write_text("other = 1\n")
    with pytest.raises(ExamSaltError, match='salt = "..."'):
        load_salt(tmp_path)
    with pytest.raises(ExamSaltError, match=SALT_ENV):
        load_salt(None, "midterm")


def test_two_students_get_different_papers_and_one_student_always_the_same(midterm, salt, compiled_for):
    a, b = compiled_for("s1001"), compiled_for("s1002")
    assert a.variant != b.variant
    assert a.variant == variant_id("midterm", "s1001", salt)
    again = compile_for_student(midterm, "s1001", salt=salt)
    assert jsonable(again.to_data()) == jsonable(a.to_data())
    for qa, qb in zip(a.questions, b.questions):
        if qa.name != "conv_output_shape":  # a small space of configurations: may repeat
            assert qa.prompt != qb.prompt, qa.name
    assert [q.prompt for q in again.questions] == [q.prompt for q in a.questions]


def test_the_paper_changes_with_the_salt(midterm, compiled_for):
    other = compile_for_student(midterm, "s1001", salt=SALT)
    mine = compiled_for("s1001")
    assert other.variant != mine.variant
    assert [q.prompt for q in other.questions] != [q.prompt for q in mine.questions]

