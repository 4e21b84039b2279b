"""Hostile uses of the LTI side, in-process (Flask's test client on the app ``dlgrade serve`` runs):
the landing page never sends a signed-in user to another site, and only a role in the course
itself makes an LMS user an instructor (or a student) here."""

from __future__ import annotations

import pytest
from lti_platform import Platform
from web_support import signed_in_test_client, write_course


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One course with a registered platform for this file (each test signs in its own users)."""
    from grader.course.web.app import create_app
    from grader.course.web.course import Course
    from grader.course.web.lti import keys

    patch = pytest.MonkeyPatch()
    patch.setenv("DLGRADE_LTI_SEND_SECONDS", "0")    # no background grade sender
    course_dir = write_course(tmp_path_factory.mktemp("lti-hostile") / "course")
    keys.generate(course_dir / "lti")
    Platform().register(course_dir)
    course = Course(course_dir)
    try:
        app = create_app(course, secure_cookies=False)
        app.config["course_dir"] = course_dir
        yield app
    finally:
        course.close()
        patch.undo()


def signed_in_client(app, user: str):
    return signed_in_test_client(app, app.config["course_dir"], user)


@pytest.mark.parametrize("to", ["/\t/evil.example.test/", "/\n/evil.example.test/", "/\r\n/evil.example.test/",
                                "/ /evil.example.test/", "//evil.example.test/", "/\\evil.example.test/",
                                "https://evil.example.test/", "\t//evil.example.test/"])
def test_the_landing_page_never_redirects_off_the_site(app, to):
    """Browsers drop tabs and newlines inside a URL: "/<tab>/evil" must not become "//evil"."""
    client = signed_in_client(app, "s1")
    response = client.get("/lti/landing", query_string={"to": to})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_landing_page_keeps_a_path_on_the_site(app):
    client = signed_in_client(app, "s1")
    response = client.get("/lti/landing", query_string={"to": "/a/01_backprop?x=1"})
    assert (response.status_code, response.headers["Location"]) == (302, "/a/01_backprop?x=1")


LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize("roles, role", [
    # Canvas sends institution roles beside the course's: a student here who teaches another course
    ([LIS + "institution/person#Instructor", LIS + "membership#Learner"], "student"),
    ([LIS + "institution/person#Administrator", LIS + "system/person#SysAdmin", LIS + "membership#Learner"], "student"),
    # an observer here who is a student of the institution is no student of this course
    ([LIS + "institution/person#Student", LIS + "membership#Mentor"], None),
    ([LIS + "institution/person#Instructor"], None),
    # a sub-role counts as its principal role: Learner#Instructor is a learner
    ([LIS + "membership/Learner#Instructor", LIS + "membership#Learner"], "student"),
    ([LIS + "membership/Instructor#TeachingAssistant"], "instructor"),
    ([LIS + "membership#Instructor", LIS + "institution/person#Student"], "instructor"),
    (["Instructor"], "instructor"),
    (["Learner"], "student"),
])
def test_only_the_roles_in_this_course_decide_who_is_an_instructor(roles, role):
    from grader.course.web.lti.identity import role_of

    assert role_of(roles) == role
