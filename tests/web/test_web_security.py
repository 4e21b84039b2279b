"""What the website refuses, each against a real server on 127.0.0.1: another student's
submission and report, an instructor page as a student, forged, expired and revoked tokens, a
1 GB upload (refused from its headers, without the server reading it), a path in a file name,
a missing CSRF token, and the attempts and cooldown rules. Each refusal changes nothing."""

from __future__ import annotations

import datetime as _dt
import json
import socket

import pytest
import sqlalchemy as sa
from web_support import EXAMPLES, Client, Server, issue_token, wait_until, write_course

REFERENCE = (EXAMPLES / "reference.py").read_bytes()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One course and server for the refusals below (each test uses students of its own):
    an hour's cooldown, uploads capped at 100 kB, one worker."""
    course_dir = write_course(tmp_path_factory.mktemp("site") / "course", cooldown=3600, max_bytes=100_000)
    server = Server(course_dir, workers=1).start()
    yield course_dir, server
    server.stop()


def uploads_in(course_dir, student: str | None = None) -> int:
    engine = sa.create_engine(f"sqlite:///{course_dir / 'gradebook.db'}")
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM web_uploads" + (" WHERE student = :s" if student else "")
            return conn.execute(sa.text(query), {"s": student}).scalar_one()
    finally:
        engine.dispose()


def graded(client: Client, upload_id: int):
    status, text = client.get(f"/api/v1/submissions/{upload_id}")
    return json.loads(text) if status == 200 and json.loads(text)["status"] == "done" else None


def test_students_see_only_their_own_and_no_instructor_page(site):
    course_dir, server = site
    alice_token, bob_token = issue_token(course_dir, "alice"), issue_token(course_dir, "bob")
    alice, bob = Client(server.base), Client(server.base)
    assert alice.sign_in(alice_token)[0] == 302
    assert bob.sign_in(bob_token)[0] == 302
    alice.get("/a/01_backprop")
    status, _ = alice.upload("/a/01_backprop/upload", "backprop.py", REFERENCE)
    assert status == 302
    upload_id = int(alice.last_headers["Location"].rsplit("/", 1)[-1])
    state = wait_until(lambda: graded(alice, upload_id), what="alice's grading")
    assert state["result"]["score"] == 31

    # Bob, with alice's ids: nothing, and the same answer as for an id that does not exist.
    for path in (f"/s/{upload_id}", f"/s/{upload_id}/report", f"/api/v1/submissions/{upload_id}"):
        status, text = bob.get(path)
        assert status == 404, path
        assert "alice" not in text and "31" not in text
    assert bob.get("/s/999999")[0] == 404
    status, text = alice.get(f"/s/{upload_id}/report")
    assert status == 200 and "Grading report" in text and "31" in text

    # Instructor pages and actions: refused to a student.
    bob.get("/a/01_backprop")
    for path in ("/instructor/", "/instructor/a/01_backprop", "/instructor/a/01_backprop/s/alice",
                 "/instructor/a/01_backprop/export.csv"):
        status, text = bob.get(path)
        assert status == 403 and "for instructors only" in text, path
    status, _ = bob.post_form("/instructor/a/01_backprop/s/alice/override",
                              {"score": "0", "reason": "bob was here"})
    assert status == 403
    assert json.loads(alice.get(f"/api/v1/submissions/{upload_id}")[1])["result"]["score"] == 31


def test_forged_expired_and_revoked_tokens(site):
    course_dir, server = site
    past = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=3)
    expired = issue_token(course_dir, "carol", now=past, days=1)
    valid = issue_token(course_dir, "dave")
    for token in ("forged-" + "x" * 40, expired, valid[:-2] + "AA"):
        client = Client(server.base)
        status, text = client.sign_in(token)
        assert status == 403 and "not valid" in text
        assert client.get("/a/01_backprop")[0] == 302    # still signed out: sent to the sign-in page
        status, text = client.get("/api/v1/assignments", headers={"Authorization": f"Bearer {token}"})
        assert status == 401 and "not valid" in json.loads(text)["error"]

    dave = Client(server.base)
    assert dave.sign_in(valid)[0] == 302
    assert dave.get("/a/01_backprop")[0] == 200
    from grader.course.web import tokens
    from grader.course.web.course import Course

    course = Course(course_dir)
    with course.writer.begin() as conn:
        assert tokens.revoke(conn, "dave") == 1
    course.close()
    assert dave.get("/a/01_backprop")[0] == 302          # the session ended with its token


def test_cookie_flags_and_headers(site):
    course_dir, server = site
    client = Client(server.base)
    status, _ = client.sign_in(issue_token(course_dir, "erin"))
    cookie = client.last_headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    status, _ = client.get("/a/01_backprop")
    assert "script-src 'self'" in client.last_headers["Content-Security-Policy"]
    assert client.last_headers["Referrer-Policy"] == "no-referrer"
    assert client.last_headers["X-Content-Type-Options"] == "nosniff"


def test_upload_refusals_change_nothing(site):
    course_dir, server = site
    token = issue_token(course_dir, "frank")
    frank = Client(server.base)
    frank.sign_in(token)
    frank.get("/a/01_backprop")

    # No CSRF token: refused, for an upload and for sign-out alike.
    status, text = frank.upload("/a/01_backprop/upload", "backprop.py", REFERENCE, csrf=False)
    assert status == 400 and "CSRF" in text
    assert frank.post_form("/signout", {}, csrf=False)[0] == 400
    assert frank.get("/a/01_backprop")[0] == 200          # still signed in: sign-out without CSRF did nothing

    # A path, or no plain name, in the file name; a suffix the assignment does not take.
    for name in ("../../etc/backprop.py", "/tmp/backprop.py", "..\\backprop.py", "sub/backprop.py"):
        status, text = frank.upload("/a/01_backprop/upload", name, REFERENCE)
        assert status == 400 and "is a path" in text, name
    status, text = frank.upload("/a/01_backprop/upload", "backprop.exe", REFERENCE)
    assert status == 415 and ".ipynb" in text
    status, text = frank.request("POST", "/api/v1/assignments/01_backprop/submissions?filename=../x.py",
                                 data=REFERENCE, headers={"Authorization": f"Bearer {token}"})
    assert status == 400 and "is a path" in json.loads(text)["error"]

    # Over the cap: refused.
    status, text = frank.upload("/a/01_backprop/upload", "backprop.py", b"#" * 300_000)
    assert status == 413
    assert uploads_in(course_dir, "frank") == 0

    # A 1 GB upload is refused from its Content-Length: the server answers after reading
    # only the headers and the first megabyte we send, and the connection is closed.
    sent = one_gigabyte_upload(server.base, token)
    assert sent < 64 << 20
    assert uploads_in(course_dir, "frank") == 0

    # The cooldown: a first upload is accepted, the second within the hour refused.
    assert frank.upload("/a/01_backprop/upload", "backprop.py", REFERENCE)[0] == 302
    frank.get("/a/01_backprop")
    status, text = frank.upload("/a/01_backprop/upload", "backprop.py", REFERENCE + b"\n# v2\n")
    assert status == 429 and "cooldown" in text
    assert uploads_in(course_dir, "frank") == 1


def one_gigabyte_upload(base: str, token: str) -> int:
    """Announce 1 GB, send up to 64 MB of it; return how many bytes went out before the server's answer."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall((f"POST /api/v1/assignments/01_backprop/submissions?filename=backprop.py HTTP/1.1\r\n"
                  f"Host: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
                  f"Content-Length: {1 << 30}\r\n\r\n").encode())
    sent, chunk, answer = 0, b"#" * (1 << 20), b""
    sock.settimeout(0.05)
    try:
        while sent < 64 << 20:
            try:
                answer += sock.recv(65536)
            except socket.timeout:
                pass
            if answer:
                break
            sock.settimeout(30)
            sock.sendall(chunk)
            sent += len(chunk)
            sock.settimeout(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.settimeout(30)
    try:
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    return sent


def test_attempts_limit(tmp_path, start_server, monkeypatch):
    course_dir = write_course(tmp_path / "course")
    policy_dir = tmp_path / "assignments"
    import shutil

    from web_support import ROOT

    shutil.copytree(ROOT / "assignments" / "01_backprop", policy_dir / "01_backprop")
    (policy_dir / "01_backprop" / "policy.toml").write_text("max_attempts = 2\n")
    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(policy_dir))
    server = start_server(course_dir, workers=0, env={"DLGRADE_ASSIGNMENTS": str(policy_dir)})
    token = issue_token(course_dir, "gina")
    gina = Client(server.base)
    gina.sign_in(token)
    gina.get("/a/01_backprop")
    for i in range(2):
        assert gina.upload("/a/01_backprop/upload", "backprop.py", REFERENCE + f"\n# {i}\n".encode())[0] == 302
        gina.get("/a/01_backprop")
    status, text = gina.upload("/a/01_backprop/upload", "backprop.py", REFERENCE + b"\n# 3\n")
    assert status == 403 and "all 2 attempts" in text
    status, text = gina.get("/a/01_backprop")
    assert "2 used, 0 left" in text
    assert uploads_in(course_dir) == 2
