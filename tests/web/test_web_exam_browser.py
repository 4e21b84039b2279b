"""An exam sat in a real headless Chromium against a real ``dlgrade serve`` on 127.0.0.1.

A student opens the midterm (the clock starts), types a number in scientific notation, a
fraction, a matrix into its grid and an expression, sees how the grader reads the expression
(a parse error pointing at the character, then the corrected formula), reloads and finds every
answer, and hands in. The instructor sees the hand-in in the live view, reads the paper,
answers and key side by side and releases the results; the student's score is then the score
``dlgrade grade`` gives the same answers written as an answer sheet. Screenshots go to
$DLGRADE_ARTIFACTS or artifacts/screenshots/ (as the other website tests do).

Without Chromium the test is skipped, unless DLGRADE_TEST_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from exam_course import EXAM, exam_assignments, write_exam_course
from test_web_browser import CHROMIUM, Tab, pytestmark  # noqa: F401  (the same skip without Chromium)
from web_support import ROOT, issue_tokens, wait_until

sys.path.insert(0, str(ROOT / "tests" / "feedback"))
from chromium_cdp import Browser  # noqa: E402


class ExamTab(Tab):
    def type_into(self, selector: str, text: str, *, replace: bool = True) -> None:
        """Focus a field and type ``text`` as a keyboard would (input events and all)."""
        self.js(f"(function () {{ var e = document.querySelector({selector!r}); e.focus(); "
                f"{'e.select();' if replace else ''} }})()")
        self.browser.send("Input.insertText", {"text": text}, session=self.page.session)

    def value(self, selector: str) -> str:
        return self.js(f"document.querySelector({selector!r}).value")

    def all_saved(self) -> bool:
        return self.js("document.getElementById('exam').getAttribute('data-pending') === '0'")

    def reload(self) -> None:
        self._forget_loads()
        self.browser.send("Page.reload", {}, session=self.page.session)
        self.browser.wait_event("Page.loadEventFired", self.page.session, timeout=60)


def test_a_student_sits_the_midterm_in_the_browser(tmp_path, monkeypatch):
    from grader.course.exam.variants import compile_for_student
    from grader.engine.authoring import load_assignment
    from grader.engine.sheets import expected_answers

    assignments = exam_assignments(tmp_path / "assignments")
    env = {"DLGRADE_ASSIGNMENTS": str(assignments)}
    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(assignments))
    course_dir = write_exam_course(tmp_path / "course", hidden="on_release")
    tokens = issue_tokens(course_dir, ["ada"]) | issue_tokens(course_dir, ["prof"], "instructor")
    key = expected_answers(compile_for_student(load_assignment(assignments / EXAM), "ada"))
    loss = f"{key['NET_LOSS']:.6e}"                              # scientific notation
    matrix = [[str(v) for v in row] for row in key["CORRELATION"]]
    matrix[0][0] = str(int(matrix[0][0]) + 1)                    # one entry wrong: partial credit
    derivative = key["DERIVATIVE"]

    from web_support import Server

    server = Server(course_dir, workers=1, env=env).start()
    try:
        with Browser(CHROMIUM, timeout=60) as student_browser, Browser(CHROMIUM, timeout=60) as instructor_browser:
            student = ExamTab(student_browser, f"{server.base}/signin?token={tokens['ada']}")
            student.click_and_load("#signin")
            student.go(f"{server.base}/a/{EXAM}")
            student.click_and_load("#exam-link a")
            assert "Your time starts when you open it" in student.text()
            student.shot("exam-01-start.png")
            student.click_and_load("#open-exam")
            assert student.text("#time-left").endswith("min") or ":" in student.text("#time-left")
            assert student.js("document.querySelectorAll('#grid-CORRELATION tr').length") == len(matrix)
            assert student.js("document.querySelectorAll('table.matrix').length") >= 3   # image, filter, ...
            # the derivative question's function, drawn as a formula (MathML: no script, no font fetched)
            assert student.js("document.querySelectorAll('.formulas math').length") >= 1

            student.type_into("#in-NET_LOSS-0-0", loss)
            student.type_into("#in-NET_GRADIENT-0-0", "1/4")
            for i, row in enumerate(matrix):
                for j, v in enumerate(row):
                    student.type_into(f"#in-CORRELATION-{i}-{j}", v)
            student.type_into("#in-DERIVATIVE-0-0", "2x exp(x")
            wait_until(lambda: student.js("document.querySelector('#preview-DERIVATIVE').getAttribute('data-state')")
                       == "error", timeout=30, what="the parse error")
            error = student.text("#preview-DERIVATIVE")
            assert "never closed" in error and "^" in error
            student.shot("exam-02-parse-error.png")
            student.type_into("#in-DERIVATIVE-0-0", derivative)
            wait_until(lambda: student.js("document.querySelector('#preview-DERIVATIVE').getAttribute('data-state')")
                       == "ok", timeout=30, what="the parsed preview")
            assert student.js("document.querySelectorAll('#preview-DERIVATIVE math').length") == 1
            assert "read as: " in student.text("#preview-DERIVATIVE")
            wait_until(student.all_saved, timeout=30, what="every answer saved")
            assert student.text("#reading-NET_GRADIENT") == "read as 0.25"
            assert student.text("#saved-NET_LOSS").startswith("saved ")
            student.shot("exam-03-typed.png")

            student.reload()                                    # nothing is lost
            assert student.value("#in-NET_LOSS-0-0") == loss
            assert student.value("#in-NET_GRADIENT-0-0") == "1/4"
            assert [[student.value(f"#in-CORRELATION-{i}-{j}") for j in range(len(row))]
                    for i, row in enumerate(matrix)] == matrix
            assert student.value("#in-DERIVATIVE-0-0") == derivative
            wait_until(lambda: student.js("document.querySelector('#preview-DERIVATIVE').getAttribute('data-state')")
                       == "ok", timeout=30, what="the preview after the reload")
            student.shot("exam-04-reloaded.png")

            # The connection drops while the student types: the answer is kept, and saved once it is back.
            offline = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
            student.browser.send("Network.enable", {}, session=student.page.session)
            student.browser.send("Network.emulateNetworkConditions", {"offline": True, **offline},
                                 session=student.page.session)
            student.type_into("#in-NET_WEIGHT_AFTER_STEP-0-0", "0.5")
            wait_until(lambda: "offline" in student.text("#save-state"), timeout=30, what="the offline notice")
            student.browser.send("Network.emulateNetworkConditions", {"offline": False, **offline},
                                 session=student.page.session)
            student.reload()
            assert student.value("#in-NET_WEIGHT_AFTER_STEP-0-0") == "0.5"
            wait_until(student.all_saved, timeout=30, what="the kept answer saved")
            student.reload()
            assert student.value("#in-NET_WEIGHT_AFTER_STEP-0-0") == "0.5"

            student.click_and_load("#submit-exam")
            assert "Handed in" in student.text("#handed-in")
            assert "when your instructor releases them" in student.text("#exam-withheld")
            assert student.js("document.querySelector('#in-NET_LOSS-0-0').disabled") is True
            student.shot("exam-05-handed-in.png")
            assert [e for e in student.errors() if "ERR_INTERNET_DISCONNECTED" not in e] == []   # but the drop

            instructor = ExamTab(instructor_browser, f"{server.base}/signin?token={tokens['prof']}")
            instructor.click_and_load("#signin")
            instructor.go(f"{server.base}/instructor/exam/{EXAM}")
            assert "(student)" in instructor.text("#sitting-ada")
            instructor.shot("exam-06-live.png")
            instructor.go(f"{server.base}/instructor/exam/{EXAM}/s/ada")
            side = instructor.text()
            assert "Key" in side and derivative in side and loss in side
            instructor.shot("exam-07-paper-answers-key.png")
            instructor.go(f"{server.base}/instructor/exam/{EXAM}")
            instructor.click_and_load("#release-results")
            assert "released" in instructor.text("#exam-state")
            assert instructor.errors() == []

            def released_score():
                student.go(f"{server.base}/exam/{EXAM}")
                return student.text("#exam-score")

            web_score = wait_until(released_score, timeout=240, what="the released score")
            student.shot("exam-08-score.png")
    finally:
        server.stop()

    # The same answers, written by hand as an answer sheet, graded by `dlgrade grade`.
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    rows = ", ".join("[" + ", ".join(row) + "]" for row in matrix)
    (sheets / "ada.toml").write_text(f"NET_LOSS = {loss}\nNET_GRADIENT = 0.25\nNET_WEIGHT_AFTER_STEP = 0.5\n"
                                     f"CORRELATION = [{rows}]\n"
                                     f"DERIVATIVE = {json.dumps(derivative)}\n")
    out = tmp_path / "graded"
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", EXAM, str(sheets / "ada.toml"), "--out",
                          str(out), "--db", str(tmp_path / "cli.db"), "--no-progress"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**__import__("os").environ, **env})
    assert run.returncode == 0, run.stdout + run.stderr
    with (out / "summary.csv").open() as handle:
        cli_score = float(next(r for r in csv.DictReader(handle) if r["student"] == "ada")["score"])
    got, total = (float(v) for v in web_score.split(" / "))
    assert total == 30
    assert 0 < got < total                        # partial: a wrong gradient, a wrong matrix entry
    assert got == cli_score, (web_score, cli_score)
