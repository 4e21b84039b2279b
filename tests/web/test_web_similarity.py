"""The instructor's similarity page, against a real server on 127.0.0.1: four students upload (one a
disguised copy of another, under an id that is an HTML tag), no grading needed for code similarity.
The copied pair ranks first, its side-by-side view marks the shared passage with every piece of
submitted text escaped, and a student gets the 403 that every instructor page gives."""

from __future__ import annotations

import html
import importlib.util
import re

import pytest
from web_support import EXAMPLES, ROOT, Client, issue_token, issue_tokens, signed_in_test_client

from grader.course.similarity.normalise import submission_code
from grader.course.web.similarity import SUMMARY
from grader.course.web.view_helpers import REPORT_CSP

_spec = importlib.util.spec_from_file_location("similarity_tests_disguise", ROOT / "tests/similarity/disguise.py")
disguise_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(disguise_module)
disguise = disguise_module.disguise

INJECTION = "</pre><script>alert(1)</script>"
COPIER = "bob<img src=x onerror=alert(2)>"
PAGE = "/instructor/a/01_backprop/similarity"


def class_codes() -> dict[str, str]:
    """Student → code: three honest students in styles of their own, and a disguised copy of alice's
    (renamed, reordered, dead code, respaced), whose code carries a string that is HTML."""
    notes = ("\n\ndef notes(level):\n    parts = [level, level * 2, level ** 3]\n    if level > 2:\n"
             f'        parts.append(level - 1)\n    return "{INJECTION}", parts, len(parts) + level\n')
    alice = disguise(submission_code(EXAMPLES / "reference.py"), 1, rename=False) + notes
    return {"alice": alice, COPIER: disguise(alice, 7),
            "carol": disguise(submission_code(EXAMPLES / "sign_error_dx.py"), 2, rename=False),
            "dave": disguise(submission_code(EXAMPLES / "transposed_dW.py"), 3, rename=False)}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A course whose four students have uploaded; no worker, as code similarity reads only uploads."""
    from web_support import Server, write_course

    course_dir = write_course(tmp_path_factory.mktemp("similarity") / "course")
    server = Server(course_dir, workers=0).start()
    try:
        codes = class_codes()
        tokens = issue_tokens(course_dir, list(codes))
        for student, code in codes.items():
            client = Client(server.base)
            assert client.sign_in(tokens[student])[0] == 302
            client.get("/a/01_backprop")
            assert client.upload("/a/01_backprop/upload", "backprop.py", code.encode())[0] == 302, student
        instructor = Client(server.base)
        assert instructor.sign_in(issue_token(course_dir, "prof", "instructor"))[0] == 302
        yield course_dir, server, instructor, tokens
    finally:
        server.stop()


def code_rows(page: str) -> list[str]:
    table = re.search(r'<table id="code-pairs">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table, "the page has no table of code pairs"
    return re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)


def test_copied_pair_ranks_first_and_its_view_marks_the_shared_passage_escaped(site):
    _, _, instructor, _ = site
    status, page = instructor.get("/instructor/a/01_backprop")
    assert status == 200 and f'href="{PAGE}"' in page

    status, page = instructor.get(PAGE)
    assert status == 200
    assert SUMMARY in page
    assert "<img src=x" not in page and "<script>" not in page
    rows = code_rows(page)
    assert len(rows) == 6   # every pair of four students shares some rare code
    first = re.findall(r"<td>(.*?)</td>", rows[0])
    assert first[0] == "1" and {html.unescape(first[1]), html.unescape(first[2])} == {"alice", COPIER}
    assert html.escape(COPIER) in rows[0]

    link = html.unescape(re.search(r'class="pair-link" href="([^"]+)"', rows[0]).group(1))
    status, pair_page = instructor.get(link)
    assert status == 200
    assert instructor.last_headers["Content-Security-Policy"] == REPORT_CSP
    assert "<script>" not in pair_page and "<img src=x" not in pair_page
    assert html.escape(COPIER) in pair_page
    marked = re.findall(r"<mark>[^<]*" + re.escape(html.escape(INJECTION)), pair_page)
    assert len(marked) == 2, "the shared string is marked in both columns, escaped"


def test_unknown_pair_is_not_found(site):
    _, _, instructor, _ = site
    status, _ = instructor.get(f"{PAGE}/pair?a=alice&b=nobody")
    assert status == 404


def test_students_are_refused_the_page_and_the_pair_view(site):
    _, server, instructor, tokens = site
    status, page = instructor.get(PAGE)
    link = html.unescape(re.search(r'class="pair-link" href="([^"]+)"', code_rows(page)[0]).group(1))
    student = Client(server.base)
    assert student.sign_in(tokens["alice"])[0] == 302
    for path in (PAGE, link):
        status, text = student.get(path)
        assert status == 403 and "for instructors only" in text, path
        assert "notes" not in text and "bob" not in text


def test_a_class_over_the_cap_is_cut_and_the_page_says_so(site, monkeypatch):
    """With the cap at three, three of the four students are compared and the page says the class was cut.
    (In-process, so that the cap can be lowered: the same app the server runs, the same course on disk.)"""
    from grader.course.web import similarity
    from grader.course.web.app import create_app
    from grader.course.web.course import Course

    course_dir, _, _, _ = site
    monkeypatch.setattr(similarity, "MAX_STUDENTS", 3)
    course = Course(course_dir)
    try:
        evidence = similarity.class_evidence(course, course.assignments["01_backprop"])
        assert (evidence.students, len(evidence.code.documents), evidence.capped) == (4, 3, True)
        assert "dave" not in evidence.code.documents   # the first three by student id are kept

        client = signed_in_test_client(create_app(course, secure_cookies=False), course_dir, "prof2", "instructor")
        page = client.get(PAGE).get_data(as_text=True)
        assert 'id="similarity-capped"' in page and "4 students with an upload" in page
        assert "only the first 3" in page
    finally:
        course.close()
