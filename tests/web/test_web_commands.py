"""The commands around the website: ``dlgrade serve invite`` (personal links, a file only its owner
reads, the course's secret made 0600), a class list it cannot read, ``dlgrade serve --demo`` (its
printed links sign a student and the instructor in), and the sign-in rate limit."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

from web_support import ROOT, Client, Server

ENV = {**os.environ, "DLGRADE_ASSIGNMENTS": str(ROOT / "assignments")}


def dlgrade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)


def test_invite_writes_private_links_that_sign_in(course_dir, start_server, tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email,role\nivy,Ivy I,ivy@example.edu,\nprof,,,instructor\n")
    done = dlgrade("serve", "invite", str(roster), "--course", str(course_dir), "--base-url", "http://site")
    assert done.returncode == 0, done.stderr
    invites = course_dir / "invites.csv"
    assert stat.S_IMODE(invites.stat().st_mode) == 0o600
    links = dict(re.findall(r"^(\w+),\w+,(http://site/signin\?token=\S+)$", invites.read_text(), re.M))
    assert set(links) == {"ivy", "prof"}
    assert links["ivy"].split("token=")[1] not in (course_dir / "gradebook.db").read_bytes().decode("latin-1")

    server = start_server(course_dir, workers=0)
    assert stat.S_IMODE((course_dir / "secret_key").stat().st_mode) == 0o600
    ivy = Client(server.base)
    status, _ = ivy.sign_in(links["ivy"].split("token=")[1])
    assert status == 302 and ivy.last_headers["Location"] == "/"
    prof = Client(server.base)
    prof.sign_in(links["prof"].split("token=")[1])
    assert prof.get("/instructor/")[0] == 200

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nIvy,ivy@example.edu\n")
    done = dlgrade("serve", "invite", str(bad), "--course", str(course_dir))
    assert done.returncode == 2 and "needs a column 'id'" in done.stderr

    done = dlgrade("serve", "revoke", "ivy", "--course", str(course_dir))
    assert done.returncode == 0 and "1 token(s) of ivy revoked" in done.stdout
    assert ivy.get("/a/01_backprop")[0] == 302


def test_demo_prints_links_that_work_and_sign_in_is_rate_limited(tmp_path):
    server = Server(tmp_path / "demo", workers=0, demo=True).start()
    try:
        config = (tmp_path / "demo" / "course.toml").read_text()
        assert "01_backprop" in config
        from grader.course.web import tables as T
        from grader.course.web.course import Course

        course = Course(tmp_path / "demo")
        import sqlalchemy as sa

        with course.engine.begin() as conn:
            queued = conn.execute(sa.select(sa.func.count()).select_from(T.jobs)).scalar_one()
        course.close()
        assert queued == 11
        student, instructor = server.demo_links["student"], server.demo_links["instructor"]
        ada = Client(server.base)
        assert ada.sign_in(student.split("token=")[1])[0] == 302
        status, text = ada.get("/a/01_backprop")
        assert status == 200 and "Forward and backward passes" in text
        prof = Client(server.base)
        prof.sign_in(instructor.split("token=")[1])
        status, text = prof.get("/instructor/a/01_backprop")
        assert status == 200 and "grading(s) waiting" in text

        # Ten sign-ins a minute per address: ada and prof used two, a stranger gets eight tries.
        stranger = Client(server.base)
        statuses = [stranger.sign_in("not-a-token-" + "z" * 30)[0] for _ in range(9)]
        assert statuses == [403] * 8 + [429]
    finally:
        server.stop()


def test_behind_a_proxy_cookies_are_secure(course_dir, start_server):
    from web_support import issue_token

    token = issue_token(course_dir, "una")
    server = start_server(course_dir, workers=0, args=("--behind-proxy",))
    una = Client(server.base)
    una.get(f"/signin?token={token}")
    assert "Secure" in una.last_headers["Set-Cookie"] and "HttpOnly" in una.last_headers["Set-Cookie"]
