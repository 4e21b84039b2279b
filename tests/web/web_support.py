"""Helpers of the website tests: a course folder, tokens, a real server (``dlgrade serve``) on 127.0.0.1
and an HTTP client that signs in through the pages (CSRF included).

A module of its own, not conftest.py: every test folder has a conftest module, and which one
``from conftest import`` finds depends on the order pytest collects the folders in.

The server runs as a child process, started and stopped by the test; ``--port 0`` picks a free
port, read back from the server's first line.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assignments" / "01_backprop" / "examples"


def write_course(folder: Path, *, cooldown: float = 0, hidden: str = "at_once", max_bytes: int = 200_000,
                 extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(
        f'assignments = ["01_backprop"]\ncooldown_seconds = {cooldown}\nhidden_results = "{hidden}"\n'
        f"max_upload_bytes = {max_bytes}\n{extra}")
    return folder


def issue_token(course_dir: Path, user: str, role: str = "student", *, db: str | None = None, **kwargs) -> str:
    from grader.course.web import tokens
    from grader.course.web.course import Course

    course = Course(course_dir, db=db)
    try:
        with course.writer.begin() as conn:
            return tokens.issue(conn, user, role, **kwargs)
    finally:
        course.close()


def issue_tokens(course_dir: Path, users: list[str], role: str = "student", *, db: str | None = None) -> dict:
    from grader.course.web import tokens
    from grader.course.web.course import Course

    course = Course(course_dir, db=db)
    try:
        with course.writer.begin() as conn:
            return {user: tokens.issue(conn, user, role) for user in users}
    finally:
        course.close()


def signed_in_test_client(app, course_dir: Path, user: str, role: str = "student", *, db: str | None = None):
    """A Flask test client of ``app`` signed in as ``user`` through the sign-in form (a real token, the
    form's CSRF token), with the session's CSRF token as ``client.csrf`` for the POSTs that follow."""
    client = app.test_client()
    token = issue_token(course_dir, user, role, db=db)
    form = client.get(f"/signin?token={token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/signin", data={"token": token, "csrf_token": csrf}).status_code == 302
    with client.session_transaction() as session:
        client.csrf = session["csrf"]
    return client


class Server:
    """``dlgrade serve`` in a child process on 127.0.0.1 (a free port)."""

    def __init__(self, course_dir: Path, *, db: str | None = None, workers: int = 1, lease: float = 3.0,
                 env: dict | None = None, demo: bool = False, args: tuple[str, ...] = ()):
        self.course_dir, self.db, self.workers, self.lease, self.demo = course_dir, db, workers, lease, demo
        self.args = args
        self.demo_links: dict[str, str] = {}
        self.env = {**os.environ, "DLGRADE_ASSIGNMENTS": str(ROOT / "assignments"), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> "Server":
        command = [sys.executable, "-m", "grader.cli", "serve", "--course", str(self.course_dir), "--port", "0",
                   "--workers", str(self.workers), "--lease-seconds", str(self.lease)]
        if self.demo:
            command.append("--demo")
        command += list(self.args)
        if self.db:
            command += ["--db", self.db]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=self.env, cwd=ROOT, start_new_session=True)
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the server stopped before serving:\n" + "".join(lines))
            lines.append(line)
            link = re.match(r"(student|instructor) \w+: +(\S+)$", line.strip())
            if link:
                self.demo_links[link.group(1)] = link.group(2)
            found = re.search(r" on (http://127\.0\.0\.1:\d+) ", line)
            if found:
                self.base = found.group(1)
                break
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()
        return self

    def _read_rest(self) -> None:
        self.output = []
        for line in self.proc.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL the server's whole process group (its workers die with it)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # anything it left behind
            except ProcessLookupError:
                pass


class Client:
    """A browser-like HTTP client: cookies, the CSRF token scraped from the last page."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.csrf = ""
        self.last_headers = {}

    def request(self, method: str, path: str, *, data: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            response = self.opener.open(request, timeout=60)
            status, body, hdrs = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, hdrs = exc.code, exc.read(), exc.headers
        text = body.decode("utf-8", "replace")
        found = re.search(r'name="csrf_token" value="([^"]+)"', text)
        if found:
            self.csrf = found.group(1)
        self.last_headers = hdrs
        return status, text

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post_form(self, path: str, fields: dict, *, csrf: bool = True):
        fields = dict(fields, **({"csrf_token": self.csrf} if csrf else {}))
        return self.request("POST", path, data=urllib.parse.urlencode(fields).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def upload(self, path: str, file_name: str, content: bytes, *, csrf: bool = True):
        boundary = "dlgradeboundary7f3a"
        parts = []
        if csrf:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{self.csrf}\r\n'
                         .encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, data=b"".join(parts),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def sign_in(self, token: str):
        self.get(f"/signin?token={token}")
        return self.post_form("/signin", {"token": token})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_until(predicate, *, timeout: float = 180.0, every: float = 0.3, what: str = "the condition"):
    """Poll ``predicate`` until it is true (a bound on waiting, not an assertion on speed)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(every)
