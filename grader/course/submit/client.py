"""The course website's HTTP API, from the student's side, with ``urllib`` alone.

``upload`` sends a file's bytes to ``POST /api/v1/assignments/NAME/submissions``
with the student's token as a bearer token; ``wait`` polls
``GET /api/v1/submissions/ID`` until the grading is done. Errors come back as
:class:`ApiError` with the server's message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

FINISHED = ("done", "failed")


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Client:
    def __init__(self, server: str, token: str, *, timeout: float = 30.0):
        parsed = urllib.parse.urlsplit(server)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"--server must be the site's address, e.g. https://grading.example.edu; got {server!r}")
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> dict:
        request = urllib.request.Request(self.server + path, data=body, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error") or exc.reason
            except (ValueError, AttributeError):
                message = str(exc.reason)
            raise ApiError(exc.code, message) from None

    def assignments(self) -> list[dict]:
        return self._request("GET", "/api/v1/assignments")["assignments"]

    def upload(self, assignment: str, path: Path) -> dict:
        query = urllib.parse.urlencode({"filename": Path(path).name})
        return self._request("POST", f"/api/v1/assignments/{urllib.parse.quote(assignment, safe='')}/submissions?"
                             f"{query}", Path(path).read_bytes(), {"Content-Type": "application/octet-stream"})

    def status(self, upload_id: int) -> dict:
        return self._request("GET", f"/api/v1/submissions/{int(upload_id)}")

    def wait(self, upload_id: int, *, timeout: float = 600.0, every: float = 1.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.status(upload_id)
            if state.get("status") in FINISHED:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"upload {upload_id} is still {state.get('status')} after {timeout:g} s; "
                                   f"it stays queued: check later with the same command and --id {upload_id}")
            time.sleep(every)
