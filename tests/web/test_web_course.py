"""A course folder: its secret is made once, private, and refused when others can read it; a
course.toml with a wrong key or value is refused with the key named."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import write_course
from grader.web.course import Course, CourseConfig


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
