"""A hostile student against an exam on the website, in-process (Flask's test client on the app
``dlgrade serve`` runs): what they send is refused with a message, never a crash, and nothing of
theirs reaches a page as markup."""

from __future__ import annotations

import io
import json
import re

import pytest
from exam_course import EXAM, exam_assignments, write_exam_course
from web_support import signed_in_test_client


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from grader.course.web.app import create_app
    from grader.course.web.course import Course

    folder = tmp_path_factory.mktemp("exam-hostile")
    patch = pytest.MonkeyPatch()
    patch.setenv("DLGRADE_ASSIGNMENTS", str(exam_assignments(folder / "assignments")))
    course_dir = write_exam_course(folder / "course")
    course = Course(course_dir)
    try:
        app = create_app(course, secure_cookies=False)
        app.config["course_dir"] = course_dir
        yield app
    finally:
        course.close()
        patch.undo()


def signed_in(app, user: str, role: str = "student"):
    """A test client signed in as ``user``, with its CSRF token as ``client.csrf``."""
    return signed_in_test_client(app, app.config["course_dir"], user, role)


def opened(app, user: str):
    client = signed_in(app, user)
    assert client.post(f"/exam/{EXAM}/open", data={"csrf_token": client.csrf}).status_code == 302
    return client


@pytest.mark.parametrize("value", ["[" * 50_000, "[{\"a\":" * 20_000, '{"a":' * 20_000])
def test_an_answer_nested_too_deeply_is_refused_not_a_crash(app, value):
    client = opened(app, "deep")
    response = client.post(f"/exam/{EXAM}/save", data={"csrf_token": client.csrf, "key": "CORRELATION",
                                                       "value": value})
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["error"]
    # the sitting still takes a well-formed answer
    response = client.post(f"/exam/{EXAM}/save", data={"csrf_token": client.csrf, "key": "CORRELATION",
                                                       "value": json.dumps([["1", "2"], ["3", "4"]])})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_sheet_nested_too_deeply_fills_nothing_and_says_why(app):
    client = opened(app, "deepsheet")
    sheet = b"NET_LOSS = 0.5\nCORRELATION = " + b"[" * 50_000 + b"\n"
    response = client.post(f"/exam/{EXAM}/sheet", data={"csrf_token": client.csrf,
                                                        "file": (io.BytesIO(sheet), "answers.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 answer filled in" in page and "nested too deeply" in page


def test_a_save_racing_the_hand_in_is_on_the_sheet_handed_in(tmp_path, monkeypatch, db_url):
    """Two tabs: one saves an answer while the other hands in. The hand-in waits for the save, so the
    answer the student was told is saved is the one on the sheet (on PostgreSQL the hand-in read the
    answers before the save committed, and a "saved" answer was missing from the sheet)."""
    import threading

    import sqlalchemy as sa

    from grader.course.web import exams
    from grader.course.web import tables as T
    from grader.course.web.course import Course

    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(exam_assignments(tmp_path / "assignments")))
    course = Course(write_exam_course(tmp_path / "course"), db=db_url)
    try:
        a = course.assignments[EXAM]
        exams.open_exam(course, a, "ann")
        field = next(f for f in exams.fields_of(exams.PAPERS.compiled(a, "ann")) if f.key == "NET_LOSS")
        exams.save_answer(course, a, field, "ann", "0.1")

        saving, go_on = threading.Event(), threading.Event()
        record_event = exams.record_event

        def save_held_open(conn, exam, student, kind, *args, **kwargs):   # the save, paused before its commit
            record_event(conn, exam, student, kind, *args, **kwargs)
            if kind == "save":
                saving.set()
                go_on.wait(60)

        monkeypatch.setattr(exams, "record_event", save_held_open)
        saver = threading.Thread(target=exams.save_answer, args=(course, a, field, "ann", "0.2"))
        saver.start()
        assert saving.wait(60)
        handed_in = {}
        submitter = threading.Thread(target=lambda: handed_in.update(upload=exams.submit(course, a, "ann")))
        submitter.start()
        submitter.join(3)          # unlocked, the hand-in ran to its end here without the save
        go_on.set()
        saver.join(60)
        submitter.join(60)
        with course.engine.begin() as conn:
            upload = conn.execute(sa.select(T.uploads).where(T.uploads.c.id == handed_in["upload"])).one()
            assert exams.saved_answers(conn, EXAM, "ann")["NET_LOSS"] == "0.2"
        sheet = course.blobs.read(upload.blob_sha256).decode()
        assert re.search(r"^NET_LOSS = 0\.2$", sheet, re.M), sheet
    finally:
        course.close()


def test_a_crafted_link_puts_no_text_on_a_students_paper(app):
    """What a sheet filled in is shown after the upload; a link that carries text of its own (or a
    classmate's real outcome, whose sheet's unknown keys are text of the classmate's choosing) shows none."""
    ann, bob = opened(app, "ann-link"), opened(app, "bob-link")
    spoof = "Your exam was voided: e-mail your answers to the proctor"
    page = ann.get(f"/exam/{EXAM}", query_string={"filled": 3, "left_out": spoof}).get_data(as_text=True)
    assert 'id="time-left"' in page and spoof not in page and 'id="sheet-filled"' not in page

    sheet = f'NET_LOSS = 0.5\n"{spoof}" = 1\n'.encode()
    response = bob.post(f"/exam/{EXAM}/sheet", data={"csrf_token": bob.csrf,
                                                     "file": (io.BytesIO(sheet), "answers.toml")},
                        content_type="multipart/form-data")
    assert response.status_code == 302
    bobs_page = bob.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 answer filled in" in bobs_page and spoof in bobs_page     # bob's own outcome, shown to bob
    page = ann.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="time-left"' in page and spoof not in page and 'id="sheet-filled"' not in page


def test_after_handing_in_on_the_page_no_sheet_upload_changes_the_answers(app):
    """The paper says a handed-in exam can no longer be changed: an answer sheet uploaded through the
    assignment's upload form afterwards, while time remains, is refused, and no new upload is stored."""
    import sqlalchemy as sa

    from grader.course.web import tables as T
    from grader.course.web.course import Course

    cy = opened(app, "cy-handed-in")
    assert cy.post(f"/exam/{EXAM}/submit", data={"csrf_token": cy.csrf}).status_code == 302
    response = cy.post(f"/a/{EXAM}/upload", data={"csrf_token": cy.csrf,
                                                  "file": (io.BytesIO(b"NET_LOSS = 0.5\n"), "answers.toml")},
                       content_type="multipart/form-data")
    assert response.status_code == 409 and "can no longer be changed" in response.get_data(as_text=True)
    course = Course(app.config["course_dir"])
    try:
        with course.engine.begin() as conn:
            uploads = conn.execute(sa.select(T.uploads.c.display_name)
                                   .where(T.uploads.c.student == "cy-handed-in")).scalars().all()
    finally:
        course.close()
    assert len(uploads) == 1      # the hand-in's own sheet only


def test_a_user_id_no_variant_can_be_made_for_gets_a_clear_refusal_not_a_crash(app):
    """An id from an LMS may hold characters a per-student variant cannot be made for (here Greek
    letters): the paper and the sheet download say so with a 403, they do not fail with a 500."""
    client = opened(app, "Σωκράτης")
    for path in (f"/exam/{EXAM}", f"/exam/{EXAM}/sheet.toml"):
        response = client.get(path)
        assert response.status_code == 403, (path, response.status_code)
        assert "your user id cannot sit" in response.get_data(as_text=True)
