"""A hostile student against an exam on the website, in-process (Flask's test client on the app
``dlgrade serve`` runs): what they send is refused with a message, never a crash, and nothing of
theirs reaches a page as markup."""

from __future__ import annotations

import io
import json
import re

import pytest

from conftest import issue_token
from exam_course import EXAM, exam_assignments, write_exam_course


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from grader.web.app import create_app
    from grader.web.course import Course

    folder = tmp_path_factory.mktemp("exam-hostile")
    patch = pytest.MonkeyPatch()
    patch.setenv("DLGRADE_ASSIGNMENTS", str(exam_assignments(folder / "assignments")))
    course_dir = write_exam_course(folder / "course")
    course = Course(course_dir)
    try:
        app = create_app(course, secure_cookies=False)
        app.config["course_dir"] = course_dir
        yield app
    finally:
        course.close()
        patch.undo()


def signed_in(app, user: str, role: str = "student"):
    """A test client signed in as ``user``, with its CSRF token as ``client.csrf``."""
    client = app.test_client()
    token = issue_token(app.config["course_dir"], user, role)
    form = client.get(f"/signin?token={token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/signin", data={"token": token, "csrf_token": csrf}).status_code == 302
    with client.session_transaction() as session:
        client.csrf = session["csrf"]
    return client


def opened(app, user: str):
    client = signed_in(app, user)
    assert client.post(f"/exam/{EXAM}/open", data={"csrf_token": client.csrf}).status_code == 302
    return client


@pytest.mark.parametrize("value", ["[" * 50_000, "[{\"a\":" * 20_000, '{"a":' * 20_000])
def test_an_answer_nested_too_deeply_is_refused_not_a_crash(app, value):
    client = opened(app, "deep")
    response = client.post(f"/exam/{EXAM}/save", data={"csrf_token": client.csrf, "key": "CORRELATION",
                                                       "value": value})
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["error"]
    # the sitting still takes a well-formed answer
    response = client.post(f"/exam/{EXAM}/save", data={"csrf_token": client.csrf, "key": "CORRELATION",
                                                       "value": json.dumps([["1", "2"], ["3", "4"]])})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_sheet_nested_too_deeply_fills_nothing_and_says_why(app):
    client = opened(app, "deepsheet")
    sheet = b"NET_LOSS = 0.5\nCORRELATION = " + b"[" * 50_000 + b"\n"
    response = client.post(f"/exam/{EXAM}/sheet", data={"csrf_token": client.csrf,
                                                        "file": (io.BytesIO(sheet), "answers.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 answer filled in" in page and "nested too deeply" in page
