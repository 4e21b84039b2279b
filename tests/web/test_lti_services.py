"""The LMS's services against a stub platform on 127.0.0.1: grades sent back through AGS when the policy
releases them (a failed send retried, every try on the instructor's page, nothing lost), the roster read
through NRPS, and deep linking answered with a JWT the tool signs."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import jwt
import pytest
from lti_platform import CLIENT_ID, INSTRUCTOR, ISSUER, LEARNER, NRPS_SCOPE, SCORE_SCOPE, Platform, Services
from test_lti_launch import ASSIGNMENT, follow, launch, make_course, oidc_login
from web_support import EXAMPLES, Client

MAX_POINTS = 31   # 01_backprop's points
REFERENCE = (EXAMPLES / "reference.py").read_bytes()


def grade_queued(course_dir) -> None:
    from grader.course.web.course import Course
    from grader.course.web.worker import Worker

    course = Course(course_dir)
    try:
        assert Worker(course).run(until_idle=True) == 1
    finally:
        course.close()


def sign_in(site, platform, sub: str, roles: list[str], sourcedid: str, **claims) -> Client:
    client = Client(site.base)
    state, nonce = oidc_login(client, sub)
    status, text, _ = follow(client, launch(client, state, platform.id_token(
        nonce, sub=sub, roles=roles, sourcedid=sourcedid, **claims))[0])
    assert status == 200, text
    return client


def sends_table(client: Client) -> list[tuple[str, str, str]]:
    """(student, score, status) of every send on the instructor's LMS page, newest first."""
    status, text = client.get("/instructor/lti")
    assert status == 200, text
    rows = re.findall(r'<tr class="send-(\w+)" data-send="\d+">\s*<td>\d+</td><td>([^<]+)</td><td>[^<]+</td>\s*'
                      r"<td>([^<]+)</td>", text)
    return [(student, html.unescape(score), state) for state, student, score in rows]


@pytest.fixture
def stub(tmp_path, start_server):
    """A course registered with a fake platform whose services run on 127.0.0.1; the site is started."""
    class Stub:
        pass

    s = Stub()
    s.platform = Platform()
    s.course_dir = make_course(tmp_path, s.platform, hidden="on_release")
    s.site = None

    def start():
        s.site = start_server(s.course_dir, workers=0, env={"DLGRADE_LTI_SEND_SECONDS": "0"})
        return s.site

    s.start = start
    return s


def test_released_grades_reach_the_lms_a_failed_send_is_retried_and_logged(stub):
    # The services need the tool's JWKS URL, the registration needs the services' address: start the stub
    # on a port first, then register it, then start the site.
    with Services("http://placeholder") as services:
        stub.platform.services_base = services.base
        stub.platform.register(stub.course_dir)
        site = stub.start()
        services.tool_jwks_url = site.base + "/lti/jwks"
        kim = sign_in(site, stub.platform, "u-17", [LEARNER], "kim", custom={"assignment": ASSIGNMENT})
        prof = sign_in(site, stub.platform, "u-1", [INSTRUCTOR], "prof", custom={"assignment": ASSIGNMENT})

        # kim hands in through the website; a worker grades it (full marks), then the instructor
        # overrides it to 20: the final score the gradebook gives is what goes to the LMS.
        kim.get(f"/a/{ASSIGNMENT}")
        assert kim.upload(f"/a/{ASSIGNMENT}/upload", "backprop.py", REFERENCE)[0] in (302, 303)
        grade_queued(stub.course_dir)
        prof.get(f"/instructor/a/{ASSIGNMENT}/s/kim")
        status, text = prof.post_form(f"/instructor/a/{ASSIGNMENT}/s/kim/override",
                                      {"score": "20", "reason": "graded by hand"})
        assert status == 302, text

        # Not released yet (hidden results on release): nothing is sent.
        prof.get("/instructor/lti")
        assert prof.post_form("/instructor/lti/send", {})[0] == 302
        assert sends_table(prof) == [] and services.scores == []

        # Released; the platform fails the first try with a 503.
        prof.get(f"/instructor/a/{ASSIGNMENT}")
        assert prof.post_form(f"/instructor/a/{ASSIGNMENT}/settings", {"release": "release"})[0] == 302
        services.fail_scores = 1
        prof.get("/instructor/lti")
        prof.post_form("/instructor/lti/send", {})
        assert sends_table(prof) == [("kim", f"20 / {MAX_POINTS}", "retrying")]
        status, text = prof.get("/instructor/lti")
        assert "503" in text and "the gradebook is busy" in text and "failed" in text
        assert services.scores == []

        # Asked again before the backoff is over: still waiting. "Retry now": delivered.
        prof.post_form("/instructor/lti/send", {})
        assert sends_table(prof) == [("kim", f"20 / {MAX_POINTS}", "retrying")]
        prof.post_form("/instructor/lti/send", {"retry_failed": "1"})
        assert sends_table(prof) == [("kim", f"20 / {MAX_POINTS}", "sent")]
        status, text = prof.get("/instructor/lti")
        assert re.findall(r'<td class="try-result">(\w+)</td>', text) == ["failed", "ok"]

        assert services.problems == []
        [score] = services.scores
        assert score["userId"] == "u-17"                   # the LMS's own id for kim
        assert (score["scoreGiven"], score["scoreMaximum"]) == (20, MAX_POINTS)
        assert all(set(r["scopes"]) >= {SCORE_SCOPE} for r in services.token_requests)

        # The same score is not sent twice; a changed one is, and the page keeps both.
        prof.post_form("/instructor/lti/send", {})
        assert len(services.scores) == 1
        prof.get(f"/instructor/a/{ASSIGNMENT}/s/kim")
        prof.post_form(f"/instructor/a/{ASSIGNMENT}/s/kim/override", {"score": "25", "reason": "regraded"})
        prof.get("/instructor/lti")
        prof.post_form("/instructor/lti/send", {})
        assert [s["scoreGiven"] for s in services.scores] == [20, 25]
        assert sends_table(prof) == [("kim", f"25 / {MAX_POINTS}", "sent"), ("kim", f"20 / {MAX_POINTS}", "sent")]

        # The LMS pages are the instructor's: a student is refused.
        assert kim.get("/instructor/lti")[0] == 403
        assert kim.get(f"/instructor/a/{ASSIGNMENT}/export-canvas.csv")[0] == 403

    # The same final score in the LMSs' grade-import files.
    status, text = prof.get(f"/instructor/a/{ASSIGNMENT}/export-canvas.csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and len(rows[0]) == 6
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == MAX_POINTS
    [kim_row] = [r for r in rows[2:] if r[2] == "kim"]
    assert kim_row[0] == "User u-17" and kim_row[3] == "kim" and float(kim_row[5]) == 25
    status, text = prof.get(f"/instructor/a/{ASSIGNMENT}/export-moodle.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    [kim_row] = [r for r in rows if r["ID number"] == "kim"]
    assert kim_row["Email address"] == "u-17@example.test" and float(kim_row[list(kim_row)[-1]]) == 25
    assert (kim_row["First name"], kim_row["Last name"]) == ("User", "u-17")
    assert prof.get(f"/instructor/a/{ASSIGNMENT}/export-blackboard.csv")[0] == 404


def test_a_send_to_a_platform_that_refuses_the_token_fails_visibly(stub):
    with Services("http://127.0.0.1:9/wrong-jwks") as services:   # cannot check the tool's key: 400
        stub.platform.services_base = services.base
        stub.platform.register(stub.course_dir)
        site = stub.start()
        kim = sign_in(site, stub.platform, "u-17", [LEARNER], "kim", custom={"assignment": ASSIGNMENT})
        prof = sign_in(site, stub.platform, "u-1", [INSTRUCTOR], "prof", custom={"assignment": ASSIGNMENT})
        kim.get(f"/a/{ASSIGNMENT}")
        kim.upload(f"/a/{ASSIGNMENT}/upload", "backprop.py", REFERENCE)
        grade_queued(stub.course_dir)
        prof.get(f"/instructor/a/{ASSIGNMENT}/s/kim")
        prof.post_form(f"/instructor/a/{ASSIGNMENT}/s/kim/override", {"score": "7", "reason": "by hand"})
        prof.get(f"/instructor/a/{ASSIGNMENT}")
        prof.post_form(f"/instructor/a/{ASSIGNMENT}/settings", {"release": "release"})
        prof.get("/instructor/lti")
        prof.post_form("/instructor/lti/send", {})
        assert sends_table(prof) == [("kim", f"7 / {MAX_POINTS}", "retrying")]
        assert services.scores == [] and services.problems and "/token" in services.problems[0]
        status, text = prof.get("/instructor/lti")
        assert "400" in text


def test_roster_sync_through_nrps(stub):
    members = [
        {"user_id": "u-17", "roles": [LEARNER], "name": "Kim", "email": "kim@example.test",
         "lis_person_sourcedid": "kim", "status": "Active"},
        {"user_id": "u-18", "roles": [LEARNER], "name": "Lee", "email": "lee@example.test",
         "lis_person_sourcedid": "lee", "status": "Active"},
        {"user_id": "u-19", "roles": [LEARNER], "name": "Gone", "lis_person_sourcedid": "gone",
         "status": "Inactive"},
        {"user_id": "u-1", "roles": [INSTRUCTOR], "name": "Prof", "lis_person_sourcedid": "prof"},
    ]
    with Services("http://placeholder", members=members) as services:
        stub.platform.services_base = services.base
        stub.platform.register(stub.course_dir)
        site = stub.start()
        services.tool_jwks_url = site.base + "/lti/jwks"
        prof = sign_in(site, stub.platform, "u-1", [INSTRUCTOR], "prof", custom={"assignment": ASSIGNMENT})
        prof.get("/instructor/lti")
        status, text = prof.post_form("/instructor/lti/roster", {})
        assert status == 302, text
        status, text = prof.get("/instructor/lti")
        people = re.findall(r"<tr><td>([^<]+)</td><td>(\w+)</td><td>[^<]*</td><td>[^<]*</td><td>(\w+)</td></tr>",
                            text.split('id="lti-people"')[1])
        assert sorted(people) == [("kim", "student", "roster"), ("lee", "student", "roster"),
                                  ("prof", "instructor", "roster")]
        assert services.problems == [] and [r["scopes"] for r in services.token_requests] == [[NRPS_SCOPE]]

    from grader.course.web.course import Course

    course = Course(stub.course_dir)
    try:
        assert {"kim", "lee"} <= set(course.gradebook.students()) and "gone" not in course.gradebook.students()
    finally:
        course.close()


def test_deep_linking_returns_a_link_signed_by_the_tool(stub):
    stub.platform.register(stub.course_dir)
    site = stub.start()
    return_url = "https://lms.example.test/deep_links/return"
    settings = {"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
        "deep_link_return_url": return_url, "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"], "data": "opaque-42"}}
    prof = sign_in(site, stub.platform, "u-1", [INSTRUCTOR], "prof", message_type="LtiDeepLinkingRequest",
                   extra=settings)
    status, text = prof.get("/lti/deep-link")
    assert status == 200 and f'value="{ASSIGNMENT}"' in text
    status, text = prof.post_form("/lti/deep-link", {"assignment": ASSIGNMENT})
    assert status == 200, text
    assert f'action="{return_url}"' in text
    assert "form-action https://lms.example.test" in prof.last_headers["Content-Security-Policy"]
    token = html.unescape(re.search(r'name="JWT" value="([^"]+)"', text).group(1))

    jwks = json.loads(prof.get("/lti/jwks")[1])
    header = jwt.get_unverified_header(token)
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=ISSUER)
    assert claims["iss"] == CLIENT_ID
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-42"
    [item] = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == site.base + "/lti/launch"
    assert item["custom"] == {"assignment": ASSIGNMENT}
    assert item["lineItem"]["scoreMaximum"] == MAX_POINTS and item["lineItem"]["resourceId"] == ASSIGNMENT

    # A student cannot answer a deep-linking request, and an unknown assignment is refused.
    assert prof.post_form("/lti/deep-link", {"assignment": "99_nothing"})[0] == 400
    kim = sign_in(site, stub.platform, "u-17", [LEARNER], "kim", custom={"assignment": ASSIGNMENT})
    assert kim.get("/lti/deep-link")[0] == 403
    student = Client(site.base)
    state, nonce = oidc_login(student, "u-18")
    status, text = launch(student, state, stub.platform.id_token(
        nonce, sub="u-18", roles=[LEARNER], message_type="LtiDeepLinkingRequest", extra=settings))
    assert status == 403 and "only an instructor" in text
    assert student.get("/")[0] == 302                                 # and not signed in
