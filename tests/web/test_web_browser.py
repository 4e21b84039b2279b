"""The website in a real headless Chromium (Debian's package, driven over the DevTools pipe by
tests/feedback/chromium_cdp.py) against a real ``dlgrade serve`` on 127.0.0.1.

A student signs in with their link, uploads a submission through the form, watches it go from
queued to graded without reloading (the page's own script polls), and reads the report. The
instructor signs in, finds the student in the class table and overrides the score with a
reason; the student sees the override. No page logs an error (a Content-Security-Policy
violation would). Screenshots of each page go to $DLGRADE_ARTIFACTS or artifacts/screenshots/.

Without Chromium the test is skipped, unless DLGRADE_TEST_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from web_support import EXAMPLES, ROOT, issue_token, wait_until

sys.path.insert(0, str(ROOT / "tests" / "feedback"))
from chromium_cdp import Browser, find_chromium  # noqa: E402

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("DLGRADE_TEST_REQUIRE_BROWSER") == "1":
    raise RuntimeError("DLGRADE_TEST_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")

SCREENSHOTS = Path(os.environ.get("DLGRADE_ARTIFACTS") or ROOT / "artifacts") / "screenshots"


class Tab:
    """One page of a browser, with the few moves a person makes."""

    def __init__(self, browser: Browser, url: str):
        self.browser = browser
        self.page = browser.open(url)

    def _forget_loads(self) -> None:
        self.browser._events = [e for e in self.browser._events
                                if not (e.get("method") == "Page.loadEventFired"
                                        and e.get("sessionId") == self.page.session)]

    def go(self, url: str) -> None:
        self._forget_loads()
        self.browser.send("Page.navigate", {"url": url}, session=self.page.session)
        self.browser.wait_event("Page.loadEventFired", self.page.session, timeout=60)

    def click_and_load(self, selector: str) -> None:
        self._forget_loads()
        self.page.evaluate(f"document.querySelector({selector!r}).click()")
        self.browser.wait_event("Page.loadEventFired", self.page.session, timeout=60)

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def text(self, selector: str = "body") -> str:
        return self.js(f"(document.querySelector({selector!r}) || {{innerText: ''}}).innerText")

    def fill(self, selector: str, value: str) -> None:
        self.js(f"document.querySelector({selector!r}).value = {value!r}")

    def choose_file(self, selector: str, path: Path) -> None:
        root = self.browser.send("DOM.getDocument", {}, session=self.page.session)["root"]["nodeId"]
        node = self.browser.send("DOM.querySelector", {"nodeId": root, "selector": selector},
                                 session=self.page.session)["nodeId"]
        self.browser.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node},
                          session=self.page.session)

    def shot(self, name: str) -> None:
        self.page.screenshot(SCREENSHOTS / name)

    def errors(self) -> list[str]:
        self.browser.drain(0.2)
        self.page.collect()
        return self.page.log.errors()


def test_student_uploads_sees_graded_reads_report_and_override(course_dir, start_server, tmp_path):
    student_token = issue_token(course_dir, "ada")
    instructor_token = issue_token(course_dir, "prof", "instructor")
    server = start_server(course_dir, workers=1)
    submission = tmp_path / "backprop.py"
    shutil.copyfile(EXAMPLES / "sign_error_dx.py", submission)

    with Browser(CHROMIUM, timeout=60) as student_browser, Browser(CHROMIUM, timeout=60) as instructor_browser:
        # The student: sign in from the link, see the assignment, upload.
        student = Tab(student_browser, f"{server.base}/signin?token={student_token}")
        student.shot("web-01-signin.png")
        student.click_and_load("#signin")
        assert "Your assignments" in student.text() and "Forward and backward passes" in student.text()
        student.shot("web-02-student-home.png")
        student.go(f"{server.base}/a/01_backprop")
        assert "0 used" in student.text("#attempts")
        student.choose_file("#file", submission)
        student.click_and_load("#upload")
        first_status = student.text("#status")
        assert first_status in ("queued", "running", "done"), first_status
        student.shot("web-03-queued.png")
        # Graded without a reload: the page's script fills in the score and the report link.
        score = wait_until(lambda: student.text("#graded-score"), timeout=240, what="the grade on the page")
        assert score.startswith("29.67 / 31")
        assert student.text("#status") == "done"
        student.shot("web-04-graded.png")
        student.click_and_load("#report-link")
        report = student.text()
        assert "Grading report" in report and "29.67" in report and "dense_backward_gradients" in report
        student.shot("web-05-report.png")
        assert student.errors() == []

        # The instructor: the class table, the student's page, an override with a reason.
        instructor = Tab(instructor_browser, f"{server.base}/signin?token={instructor_token}")
        instructor.click_and_load("#signin")
        instructor.go(f"{server.base}/instructor/a/01_backprop")
        table = instructor.text("#class-table")
        assert "ada" in table and "29.6667" in table
        rates = instructor.text("#pass-rates")
        assert re.search(r"dense_backward_gradients\s+0 / 1 \(0 %\)", rates), rates
        assert "1×" in rates                                  # its failure, among the common ones
        instructor.shot("web-06-class-table.png")
        instructor.click_and_load("#class-table a")
        assert "ada" in instructor.text("h1")
        instructor.fill("#override-score", "30")
        instructor.fill("#override-reason", "sign convention of dx accepted on appeal")
        instructor.click_and_load("#override")
        assert instructor.text("#final-score") == "30"
        assert "sign convention of dx accepted on appeal" in instructor.text()
        instructor.shot("web-07-override.png")
        assert instructor.errors() == []

        # The student sees the override, with its reason.
        student.go(f"{server.base}/a/01_backprop")
        assert student.text("#final-score") == "30 / 31"
        assert "sign convention of dx accepted on appeal" in student.text("#final")
        student.shot("web-08-student-sees-override.png")
        # And the instructor's pages stay closed to the student.
        student.go(f"{server.base}/instructor/a/01_backprop")
        assert "for instructors only" in student.text()
        assert all("status of 403" in e for e in student.errors())   # the refused page itself, nothing else
