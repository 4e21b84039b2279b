"""LTI 1.3 launches from a fake LMS into a real ``dlgrade serve`` on 127.0.0.1: the OIDC login, a student's
and an instructor's launch signed into the website's own sessions, and every bad token refused with a
page that says why (forged, expired, replayed, unknown deployment, a launch whose cookie was lost)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from lti_platform import CLIENT_ID, INSTRUCTOR, ISSUER, LEARNER, LOGIN_URL, Platform, new_key
from web_support import ROOT, Client, Server, write_course

ASSIGNMENT = "01_backprop"


def make_course(tmp_path, platform: Platform, **kwargs):
    from grader.course.web.lti import keys

    course_dir = write_course(tmp_path / "course", **kwargs)
    keys.generate(course_dir / "lti")
    platform.register(course_dir)
    return course_dir


@pytest.fixture(scope="module")
def platform():
    return Platform()


@pytest.fixture(scope="module")
def site(tmp_path_factory, platform):
    """One server for the launch tests of this file (each test signs in users of its own)."""
    course_dir = make_course(tmp_path_factory.mktemp("lti"), platform)
    server = Server(course_dir, workers=0, env={"DLGRADE_LTI_SEND_SECONDS": "0"}).start()
    yield server
    server.stop()


def oidc_login(client: Client, login_hint: str) -> tuple[str, str]:
    """The platform's third-party login, through the cookie check; returns (state, nonce)."""
    query = urlencode({"iss": ISSUER, "login_hint": login_hint, "client_id": CLIENT_ID,
                       "target_link_uri": client.base + "/lti/launch", "lti_message_hint": "hint-9"})
    status, text = client.get("/lti/login?" + query)
    assert status == 200 and 'id="lti-cookie-check"' in text, text
    continue_url = html.unescape(re.search(r'data-continue="([^"]+)"', text).group(1))
    assert 'id="lti-new-window"' in text and 'target="_blank"' in text
    status, _ = client.get(continue_url)
    assert status == 302
    location = client.last_headers["Location"]
    assert location.startswith(LOGIN_URL + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == [client.base + "/lti/launch"]
    assert query["client_id"] == [CLIENT_ID] and query["login_hint"] == [login_hint]
    assert query["lti_message_hint"] == ["hint-9"] and query["response_mode"] == ["form_post"]
    return query["state"][0], query["nonce"][0]


def launch(client: Client, state: str, id_token: str):
    return client.post_form("/lti/launch", {"state": state, "id_token": id_token}, csrf=False)


def follow(client: Client, status: int) -> tuple[int, str, str]:
    """Follow redirects from the last response; returns (status, text, final path)."""
    path = ""
    text = ""
    while status in (301, 302, 303):
        path = urlsplit(client.last_headers["Location"]).path + (
            "?" + urlsplit(client.last_headers["Location"]).query if urlsplit(client.last_headers["Location"]).query
            else "")
        status, text = client.get(path)
    return status, text, path


def test_student_and_instructor_launch_into_the_website(site, platform):
    student = Client(site.base)
    state, nonce = oidc_login(student, "u-17")
    token = platform.id_token(nonce, sub="u-17", roles=[LEARNER], sourcedid="s123",
                              custom={"assignment": ASSIGNMENT})
    status, text = launch(student, state, token)
    assert status == 302, text
    status, text, path = follow(student, status)
    assert (status, path) == (200, f"/a/{ASSIGNMENT}"), text
    assert "s123 (student)" in text                      # the course's user id: the SIS id
    assert student.get("/instructor/")[0] == 403          # a student session, like a sign-in link's
    assert student.get("/lti/landing?to=/\\evil.example.test/")[0] == 302   # never off the site
    assert student.last_headers["Location"].endswith("/") and "evil" not in student.last_headers["Location"]

    teacher = Client(site.base)
    state, nonce = oidc_login(teacher, "u-1")
    token = platform.id_token(nonce, sub="u-1", roles=[INSTRUCTOR], sourcedid="prof",
                              custom={"assignment": ASSIGNMENT})
    status, text, path = follow(teacher, launch(teacher, state, token)[0])
    assert (status, path) == (200, f"/instructor/a/{ASSIGNMENT}"), text
    assert "prof (instructor)" in text
    assert 'href="/instructor/lti"' in teacher.get("/instructor/")[1]   # the LMS page, from the course page

    # The pages may be framed by the LMS's origin only.
    csp = teacher.last_headers["Content-Security-Policy"]
    assert "frame-ancestors https://lms.example.test" in csp and "X-Frame-Options" not in teacher.last_headers


def test_a_teaching_assistant_is_an_instructor_and_an_observer_is_refused(site, platform):
    ta = Client(site.base)
    state, nonce = oidc_login(ta, "u-2")
    token = platform.id_token(nonce, sub="u-2", link="link-2", roles=[
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"])
    status, text, path = follow(ta, launch(ta, state, token)[0])
    assert path == "/instructor/" and "u-2 (instructor)" in text   # no SIS id: the LMS's sub

    observer = Client(site.base)
    state, nonce = oidc_login(observer, "u-3")
    token = platform.id_token(nonce, sub="u-3", roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"])
    status, text = launch(observer, state, token)
    assert status == 403 and "roles give no access" in text


def test_forged_expired_replayed_and_unknown_tokens_are_refused(site, platform):
    client = Client(site.base)
    state, nonce = oidc_login(client, "u-17")

    # Forged: the same kid, another key. Refused before the nonce is spent.
    forged = platform.id_token(nonce, sub="u-17", roles=[INSTRUCTOR], key=new_key())
    status, text = launch(client, state, forged)
    assert status == 403 and "signature does not match" in text, text
    assert client.get("/instructor/")[0] == 302          # not signed in

    expired = platform.id_token(nonce, sub="u-17", roles=[LEARNER], expires_in=-60)
    status, text = launch(client, state, expired)
    assert status == 403 and "expired" in text, text

    wrong_deployment = platform.id_token(nonce, sub="u-17", roles=[LEARNER], extra={
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deploy-other"})
    status, text = launch(client, state, wrong_deployment)
    assert status == 403 and "deployment" in text, text

    # The genuine token still works (the refused ones did not burn its nonce) ...
    genuine = platform.id_token(nonce, sub="u-17", roles=[LEARNER], sourcedid="s123")
    assert launch(client, state, genuine)[0] == 302
    # ... once: replayed, its nonce is gone.
    status, text = launch(client, state, genuine)
    assert status == 403 and "already used" in text, text
    # A token for a nonce this site never issued.
    status, text = launch(client, state, platform.id_token("made-up-nonce", sub="u-17", roles=[LEARNER]))
    assert status == 403 and "already used" in text


def test_an_unregistered_platform_is_refused_at_login(site):
    client = Client(site.base)
    query = urlencode({"iss": "https://other-lms.test", "login_hint": "x", "checked": "1"})
    status, text = client.get("/lti/login?" + query)
    assert status == 403 and "registered" in text
    status, text = client.get("/lti/login?checked=1")
    assert status == 400 and "login_hint" in text


def test_a_launch_whose_login_cookie_was_blocked_offers_a_new_window(site, platform):
    framed = Client(site.base)
    state, nonce = oidc_login(framed, "u-17")
    framed.jar.clear()      # what a browser blocking third-party cookies in the LMS frame does
    token = platform.id_token(nonce, sub="u-17", roles=[LEARNER])
    status, text = launch(framed, state, token)
    assert status == 401 and "third-party cookies" in text
    link = html.unescape(re.search(r'id="lti-new-window" href="([^"]+)"', text).group(1))
    assert 'target="_blank"' in text
    # The new window starts the same login again, past the cookie check, and launches normally.
    window = Client(site.base)
    status, _ = window.get(link)
    assert status == 302
    query = parse_qs(urlsplit(window.last_headers["Location"]).query)
    assert query["login_hint"] == ["u-17"] and query["lti_message_hint"] == ["hint-9"]
    token = platform.id_token(query["nonce"][0], sub="u-17", roles=[LEARNER], sourcedid="s123")
    status, text, path = follow(window, launch(window, query["state"][0], token)[0])
    assert status == 200 and "s123 (student)" in text

    # A session cookie dropped after the launch: the landing page says so instead of a sign-in form.
    status, text = Client(site.base).get("/lti/landing?to=/a/01_backprop")
    assert status == 401 and "new window" in text


def test_the_key_command_makes_a_private_key_for_the_owner_only(tmp_path):
    from grader.course.web.lti import keys

    course_dir = write_course(tmp_path / "course")
    command = [sys.executable, "-m", "grader.cli", "serve", "lti-keys", "--course", str(course_dir)]
    made = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (course_dir / "lti" / "tool_private.pem").stat().st_mode & 0o777 == 0o600
    assert keys.jwks(course_dir / "lti")["keys"][0]["kid"] in made.stdout
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "--replace" in again.stderr   # the platforms know the first key


def test_jwks_serves_the_public_key_only(site):
    from grader.course.web.lti import keys

    status, text = Client(site.base).get("/lti/jwks")
    [key] = json.loads(text)["keys"]
    assert status == 200 and key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key                         # no private part
    assert key == keys.jwks(site.course_dir / "lti")["keys"][0]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_launch_and_replay_with_a_postgresql_gradebook(tmp_path, platform, start_server, db_url):
    course_dir = make_course(tmp_path, platform)
    site = start_server(course_dir, db=db_url, workers=0, env={"DLGRADE_LTI_SEND_SECONDS": "0"})
    client = Client(site.base)
    state, nonce = oidc_login(client, "u-17")
    token = platform.id_token(nonce, sub="u-17", roles=[LEARNER], sourcedid="s123",
                              custom={"assignment": ASSIGNMENT})
    status, text, path = follow(client, launch(client, state, token)[0])
    assert (status, path) == (200, f"/a/{ASSIGNMENT}") and "s123 (student)" in text
    status, text = launch(client, state, token)
    assert status == 403 and "already used" in text


def test_over_https_the_cookies_can_come_back_to_a_frame(tmp_path, start_server):
    """Behind an HTTPS proxy, the login's state cookie and the session cookie are SameSite=None; Secure:
    inside the LMS's frame the site is a third party, and a Lax cookie would not come back."""
    platform = Platform()
    course_dir = make_course(tmp_path, platform)
    site = start_server(course_dir, workers=0, args=("--behind-proxy",), env={"DLGRADE_LTI_SEND_SECONDS": "0"})
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
    client = Client(site.base)
    query = urlencode({"iss": ISSUER, "login_hint": "u-17", "client_id": CLIENT_ID, "checked": "1"})
    status, _ = client.get("/lti/login?" + query, headers=https)
    assert status == 302
    state_cookie = client.last_headers["Set-Cookie"]
    assert "SameSite=None" in state_cookie and "Secure" in state_cookie and "HttpOnly" in state_cookie
    params = parse_qs(urlsplit(client.last_headers["Location"]).query)
    state, nonce = params["state"][0], params["nonce"][0]
    token = platform.id_token(nonce, sub="u-17", roles=[LEARNER], sourcedid="s123")
    status, _ = client.request("POST", "/lti/launch", data=urlencode({"state": state, "id_token": token}).encode(),
                               headers={**https, "Content-Type": "application/x-www-form-urlencoded",
                                        "Cookie": state_cookie.split(";")[0]})
    assert status == 302
    session_cookie = [c for c in client.last_headers.get_all("Set-Cookie") if c.startswith("dlgrade_session=")]
    assert session_cookie and "SameSite=None" in session_cookie[0] and "Secure" in session_cookie[0]
