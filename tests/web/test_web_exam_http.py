"""Exams on the website over HTTP, against a real ``dlgrade serve`` on 127.0.0.1: the clock is the
server's, an extension moves one student's deadline, late work is refused or penalised as the
policy says, and a student reaches neither a classmate's paper nor a key.

The clock is driven by moving the stored opening time (``move_opening``), never by sleeping.
"""

from __future__ import annotations

import json
import re

import pytest
from exam_course import EXAM, exam_assignments, move_opening, write_exam_course
from web_support import Client, issue_tokens, wait_until


@pytest.fixture
def exam_env(tmp_path, monkeypatch):
    """(course folder, the server's environment): the midterm with the given policy, here and in the server."""
    def make(**policy):
        assignments = exam_assignments(tmp_path / "assignments", **policy)
        monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(assignments))
        return write_exam_course(tmp_path / "course"), {"DLGRADE_ASSIGNMENTS": str(assignments)}
    return make


def signed_in(server, token) -> Client:
    client = Client(server.base)
    client.sign_in(token)
    client.get(f"/exam/{EXAM}")
    return client


def save(client: Client, key: str, value) -> tuple[int, dict]:
    status, text = client.post_form(f"/exam/{EXAM}/save", {"key": key, "value": json.dumps(value)})
    return status, json.loads(text)


def sitting_row(course_dir, student: str, db: str | None = None):
    import sqlalchemy as sa

    from grader.course.web import exam_tables as X
    from grader.course.web.course import Course

    course = Course(course_dir, db=db)
    try:
        with course.engine.begin() as conn:
            return conn.execute(sa.select(X.sittings).where(X.sittings.c.student == student)).first()
    finally:
        course.close()


def open_exam(client: Client) -> None:
    status, _ = client.post_form(f"/exam/{EXAM}/open", {})
    assert status == 302
    status, page = client.get(f"/exam/{EXAM}")
    assert status == 200 and 'id="time-left"' in page


def test_after_the_deadline_answers_are_refused_and_the_saved_ones_handed_in(exam_env, start_server):
    course_dir, env = exam_env(duration=90, accept_late=False)
    tokens = issue_tokens(course_dir, ["ada"]) | issue_tokens(course_dir, ["prof"], "instructor")
    server = start_server(course_dir, workers=1, env=env)
    ada = signed_in(server, tokens["ada"])
    open_exam(ada)
    # An answer sheet fills the fields (read, never run); what does not fit is named, nothing else changes.
    status, _ = ada.upload(f"/exam/{EXAM}/sheet", "mine.toml",
                           b'NET_LOSS = 0.25\nCONV_PARAMETERS = 12\nCORRELATION = "abc"\nNOT_A_KEY = 1\n')
    assert status == 302
    status, page = ada.get(ada.last_headers["Location"].replace(server.base, ""))
    filled = re.search(r'id="sheet-filled">(.*?)</section>', page, re.S).group(1)
    assert "2 answers filled in" in filled
    assert "CORRELATION: not a matrix" in filled and "NOT_A_KEY: not a key of your paper" in filled
    assert 'id="in-NET_LOSS-0-0" value="0.25"' in page and 'id="in-CORRELATION-0-0" value=""' in page
    status, page = ada.upload(f"/exam/{EXAM}/sheet", "mine.py", b"NET_LOSS = 1\n")
    assert status == 415

    move_opening(course_dir, "ada", 90 + 1)           # within the 2-minute grace: still taken
    status, body = save(ada, "CONV_PARAMETERS", "13")
    assert status == 200, body

    move_opening(course_dir, "ada", 90 + 2.5)         # past the grace, and late work is not accepted
    # No request comes: the worker, idle, hands the saved answers in.
    wait_until(lambda: sitting_row(course_dir, "ada").ended_how == "deadline", timeout=60,
               what="the worker handing in the answers")
    status, body = save(ada, "NET_LOSS", "0.5")
    assert status == 403 and "ran out" in body["error"], body
    status, page = ada.post_form(f"/exam/{EXAM}/submit", {})
    assert status == 403 and "ran out" in page       # the server handed the saved answers in already
    status, page = ada.get(f"/exam/{EXAM}")
    assert 'id="handed-in"' in page and "when your time ran out" in page
    status, sheet = ada.get(f"/exam/{EXAM}/sheet.toml")
    assert re.search(r"^NET_LOSS = 0\.25$", sheet, re.M) and re.search(r"^CONV_PARAMETERS = 13$", sheet, re.M)
    # nor does an uploaded answer sheet get past the student's own clock
    ada.get(f"/a/{EXAM}")
    status, page = ada.upload(f"/a/{EXAM}/upload", "answers.toml", b"NET_LOSS = 0.5\n")
    assert status == 403 and "ran out" in page

    prof = signed_in(server, tokens["prof"])
    status, live = prof.get(f"/instructor/exam/{EXAM}")
    assert status == 200 and re.search(r'id="sitting-ada".*?\(deadline\)', live, re.S)
    status, side = prof.get(f"/instructor/exam/{EXAM}/s/ada")
    history = side.split('id="exam-history"')[1]
    # every save and the hand-in, each with its time; the refused save is not among them
    assert history.count("<td>save</td>") == 3 and history.count("<td>submit</td>") == 1
    assert "0.5" not in re.sub(r"<td>\d\d:\d\d:\d\d\.\d+</td>", "", history)


def test_late_work_is_penalised_when_the_policy_takes_it(exam_env, start_server):
    course_dir, env = exam_env(duration=90, accept_late=True)
    tokens = issue_tokens(course_dir, ["ada"]) | issue_tokens(course_dir, ["prof"], "instructor")
    server = start_server(course_dir, workers=1, env=env)
    ada = signed_in(server, tokens["ada"])
    open_exam(ada)
    move_opening(course_dir, "ada", 90 + 10)          # 10 minutes late: taken, penalised
    status, page = ada.get(f"/exam/{EXAM}")
    assert 'id="late"' in page
    assert save(ada, "CONV_PARAMETERS", "12")[0] == 200
    status, _ = ada.post_form(f"/exam/{EXAM}/submit", {})
    assert status == 302

    from grader.course.web.course import Course

    def final():
        course = Course(course_dir)
        try:
            return next((s for s in course.gradebook.final_scores(EXAM) if s.student == "ada"), None)
        finally:
            course.close()

    score = wait_until(final, timeout=240, what="the graded exam")
    assert score.late_minutes >= 8                        # counted from the student's own deadline
    assert any("late" in note for note in score.notes), score.notes

    # Graded, but not released: no score, no report, not even of the public questions.
    upload_id = sitting_row(course_dir, "ada").upload_id
    status, page = ada.get(f"/exam/{EXAM}")
    assert 'id="exam-withheld"' in page and 'id="exam-score"' not in page
    status, text = ada.get(f"/s/{upload_id}/report")
    assert status == 403 and "not released" in text
    status, text = ada.get(f"/api/v1/submissions/{upload_id}")
    assert status == 200 and "result" not in json.loads(text)
    prof = signed_in(server, tokens["prof"])
    prof.get(f"/instructor/exam/{EXAM}")
    assert prof.post_form(f"/instructor/exam/{EXAM}/release", {})[0] == 302
    status, page = ada.get(f"/exam/{EXAM}")
    assert f'id="exam-score">{score.score:g} / 30<' in page
    assert ada.get(f"/s/{upload_id}/report")[0] == 200
    assert json.loads(ada.get(f"/api/v1/submissions/{upload_id}")[1])["result"]["score"] is not None


def test_an_extension_moves_that_students_deadline_only(exam_env, start_server, db_url):
    course_dir, env = exam_env(duration=90)
    db = None if db_url.endswith(".db") else db_url
    tokens = issue_tokens(course_dir, ["ada", "bob"], db=db) | issue_tokens(course_dir, ["prof"], "instructor", db=db)
    server = start_server(course_dir, workers=1, env=env, db=db)
    ada, bob = signed_in(server, tokens["ada"]), signed_in(server, tokens["bob"])
    open_exam(ada)
    open_exam(bob)
    bob.get(f"/a/{EXAM}")                             # bob hands in a sheet instead of typing
    status, _ = bob.upload(f"/a/{EXAM}/upload", "answers.toml", b"NET_LOSS = 0.25\n")
    assert status == 302
    prof = signed_in(server, tokens["prof"])
    prof.get(f"/instructor/exam/{EXAM}")
    status, _ = prof.post_form(f"/instructor/exam/{EXAM}/s/ada/extend", {"minutes": "30", "reason": "accommodation"})
    assert status == 302

    for student in ("ada", "bob"):
        move_opening(course_dir, student, 100, db=db)        # past 90 min (+2 grace); ada has 120
    assert save(ada, "NET_LOSS", "0.25")[0] == 200
    status, body = save(bob, "NET_LOSS", "0.25")
    assert status == 403, body
    status, live = prof.get(f"/instructor/exam/{EXAM}")
    ada_row = re.search(r'id="sitting-ada">(.*?)</tr>', live, re.S).group(1)
    bob_row = re.search(r'id="sitting-bob">(.*?)</tr>', live, re.S).group(1)
    assert "(+30 min)" in ada_row and "<td class=\"ended\">no</td>" in ada_row
    assert "(+30 min)" not in bob_row and "(deadline)" in bob_row
    # bob typed nothing after his sheet: his time running out hands nothing more in, so the sheet stands
    assert sitting_row(course_dir, "bob", db).upload_id is None
    assert len(re.findall(r'href="/s/\d+"', bob.get(f"/a/{EXAM}")[1])) == 1
    status, page = ada.get(f"/exam/{EXAM}")
    assert "with your extension of 30 min" in page

    # Closing the exam hands ada's paper in now, and no one opens it any more.
    status, _ = prof.post_form(f"/instructor/exam/{EXAM}/close", {})
    assert status == 302
    assert sitting_row(course_dir, "ada", db).ended_how == "closed"
    assert sitting_row(course_dir, "bob", db).ended_how == "deadline"
    status, body = save(ada, "NET_LOSS", "0.5")
    assert status == 403 and "closed" in body["error"]
    cy = signed_in(server, issue_tokens(course_dir, ["cy"], db=db)["cy"])
    status, page = cy.post_form(f"/exam/{EXAM}/open", {})
    assert status == 403 and "closed" in page


def test_a_student_reaches_neither_a_classmates_paper_nor_a_key(exam_env, start_server, tmp_path):
    course_dir, env = exam_env(duration=90)
    tokens = issue_tokens(course_dir, ["ada", "bob"])
    server = start_server(course_dir, workers=1, env=env)
    ada, bob = signed_in(server, tokens["ada"]), signed_in(server, tokens["bob"])
    open_exam(ada)
    open_exam(bob)
    save(bob, "NET_LOSS", "0.123456")

    import tomllib

    from grader.course.exam.variants import compile_for_student, exam_salt
    from grader.engine.authoring import load_assignment
    from grader.engine.sheets import expected_answers

    exam = load_assignment(env["DLGRADE_ASSIGNMENTS"] + "/" + EXAM)
    salt = exam_salt(exam)
    ada_paper, bob_paper = compile_for_student(exam, "ada", salt=salt), compile_for_student(exam, "bob", salt=salt)
    seen = []
    for path in (f"/exam/{EXAM}", f"/exam/{EXAM}/sheet.toml", f"/exam/{EXAM}/state",
                 f"/exam/{EXAM}/preview?key=DERIVATIVE&text=x"):
        status, text = ada.get(path)
        assert status == 200, path
        seen.append(text)
    everything = "\n".join(seen)
    assert ada_paper.variant in everything and bob_paper.variant not in everything
    assert salt not in everything
    key = expected_answers(ada_paper)
    assert f'"{key["DERIVATIVE"]}"' not in everything and str(key["NET_LOSS"]) not in everything
    assert "0.123456" not in everything                     # bob's answer
    blank = tomllib.loads("\n".join(ln for ln in seen[1].splitlines() if not ln.rstrip().endswith("=")))
    assert blank == {}                                      # ada's sheet: nothing filled in but what she typed

    for path in (f"/instructor/exam/{EXAM}", f"/instructor/exam/{EXAM}/s/bob", f"/instructor/exam/{EXAM}/s/ada"):
        status, text = ada.get(path)
        assert status == 403 and "for instructors only" in text, path
    status, _ = ada.post_form(f"/instructor/exam/{EXAM}/s/ada/extend", {"minutes": "60", "reason": "x"})
    assert status == 403
    status, _ = ada.post_form(f"/instructor/exam/{EXAM}/close", {})
    assert status == 403
    # a key the paper does not have, another exam's or a made-up one: refused, nothing saved
    status, body = save(ada, "../bob/NET_LOSS", "1")
    assert status == 404
    status, text = ada.post_form(f"/exam/{EXAM}/save", {"key": "NET_LOSS", "value": '"1"'}, csrf=False)
    assert status == 400 and "CSRF" in text


def test_the_expression_preview_is_rate_limited_per_student(exam_env):
    """The preview parses in the web process: past the limit a student gets 429 with Retry-After, and a
    classmate is not slowed. (In-process, so that the limit can be lowered: the same app the server runs.)"""
    from web_support import signed_in_test_client

    from grader.course.web.app import create_app
    from grader.course.web.course import Course

    course_dir, _ = exam_env()
    course = Course(course_dir)
    try:
        app = create_app(course, secure_cookies=False, preview_limit=(3, 60.0))
        client_of = {student: signed_in_test_client(app, course_dir, student) for student in ("ann", "bob")}
        ask = f"/exam/{EXAM}/preview?key=DERIVATIVE&text=2*x"
        answers = [client_of["ann"].get(ask) for _ in range(4)]
        assert [r.status_code for r in answers[:3]] == [200] * 3 and answers[0].get_json()["ok"], answers[0].get_data()
        assert answers[3].status_code == 429 and "too many requests" in answers[3].get_json()["error"]
        assert int(answers[3].headers["Retry-After"]) >= 1
        assert client_of["bob"].get(ask).status_code == 200
    finally:
        course.close()
