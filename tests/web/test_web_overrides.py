"""The instructor's score override and its revocation through the pages, in-process (Flask's test
client on the app ``dlgrade serve`` runs): the gradebook's final score follows them, and an
override the gradebook refuses is a 400 that says why and changes nothing."""

from __future__ import annotations

import pytest
from web_support import signed_in_test_client, write_course

ASSIGNMENT = "01_backprop"   # 31 points
PAGE = f"/instructor/a/{ASSIGNMENT}/s/kim"


@pytest.fixture
def site(tmp_path):
    """(app, course): a course whose gradebook knows the student kim (no submission yet)."""
    from grader.course.web.app import create_app
    from grader.course.web.course import Course

    course_dir = write_course(tmp_path / "course")
    course = Course(course_dir)
    try:
        course.gradebook.add_student("kim")
        app = create_app(course, secure_cookies=False)
        app.config["course_dir"] = course_dir
        yield app, course
    finally:
        course.close()


def post(client, path: str, fields: dict):
    return client.post(path, data={"csrf_token": client.csrf, **fields})


def test_an_override_sets_the_final_score_and_its_revocation_takes_it_back(site):
    app, course = site
    prof = signed_in_test_client(app, app.config["course_dir"], "prof", "instructor")

    response = post(prof, f"{PAGE}/override", {"score": "20", "reason": "graded by hand"})
    assert (response.status_code, response.headers["Location"]) == (302, PAGE)
    final = course.gradebook.final_score(ASSIGNMENT, "kim")
    assert final.score == 20

    response = post(prof, f"{PAGE}/revoke-override", {"reason": "entered by mistake"})
    assert (response.status_code, response.headers["Location"]) == (302, PAGE)
    assert course.gradebook.final_score(ASSIGNMENT, "kim") is None   # no submission, no override


@pytest.mark.parametrize("path, fields, says", [
    (f"{PAGE}/override", {"score": "40", "reason": "bonus"}, "above the maximum"),
    (f"{PAGE}/override", {"score": "20", "reason": ""}, "give a reason"),
    (f"{PAGE}/override", {"score": "twenty", "reason": "by hand"}, "the score must be a number"),
    (f"/instructor/a/{ASSIGNMENT}/s/nobody/override", {"score": "20", "reason": "by hand"}, "no student"),
    (f"/instructor/a/{ASSIGNMENT}/s/nobody/revoke-override", {"reason": "by hand"}, "no student"),
])
def test_an_override_the_gradebook_refuses_is_a_400_that_says_why(site, path, fields, says):
    app, course = site
    prof = signed_in_test_client(app, app.config["course_dir"], "prof", "instructor")
    response = post(prof, path, fields)
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)
    assert course.gradebook.final_scores(ASSIGNMENT) == []


def test_a_student_cannot_override(site):
    app, course = site
    kim = signed_in_test_client(app, app.config["course_dir"], "kim")
    assert post(kim, f"{PAGE}/override", {"score": "31", "reason": "mine"}).status_code == 403
    assert post(kim, f"{PAGE}/revoke-override", {"reason": "mine"}).status_code == 403
    assert course.gradebook.final_scores(ASSIGNMENT) == []
