"""Regrading after a question is fixed, through the instructor's page on a real server: the worker
compiles the edited question again, every upload gets a new grading, the old one stays in the
history, and the student's report shows the new score."""

from __future__ import annotations

import json
import re
import shutil

import sqlalchemy as sa
from web_support import EXAMPLES, ROOT, Client, issue_tokens, write_course

from grader.course.gradebook import schema as S
from grader.course.web.course import Course
from grader.course.web.worker import Worker

REFERENCE = (EXAMPLES / "reference.py").read_bytes()


def test_regrade_all_after_fixing_a_question(tmp_path, start_server, monkeypatch):
    assignments = tmp_path / "assignments"
    shutil.copytree(ROOT / "assignments" / "01_backprop", assignments / "01_backprop")
    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(assignments))
    course_dir = write_course(tmp_path / "course")
    keys = issue_tokens(course_dir, ["kim"])
    keys.update(issue_tokens(course_dir, ["prof"], "instructor"))
    server = start_server(course_dir, workers=0, env={"DLGRADE_ASSIGNMENTS": str(assignments)})
    kim, prof = Client(server.base), Client(server.base)
    status, text = kim.request("POST", "/api/v1/assignments/01_backprop/submissions?filename=backprop.py",
                               data=REFERENCE, headers={"Authorization": f"Bearer {keys['kim']}"})
    assert status == 202, text

    course = Course(course_dir)
    try:
        worker = Worker(course)
        assert worker.run(until_idle=True) == 1
        kim.sign_in(keys["kim"])
        assert json.loads(kim.get("/api/v1/submissions/1")[1])["result"]["max_score"] == 31

        # The instructor raises the points of one question, then regrades every upload.
        questions = assignments / "01_backprop" / "questions.py"
        source = questions.read_text()
        fixed = re.sub(r"@assignment\.question\(points=4", "@assignment.question(points=5", source, count=1)
        assert fixed != source
        questions.write_text(fixed)
        prof.sign_in(keys["prof"])
        prof.get("/instructor/a/01_backprop")
        assert prof.post_form("/instructor/a/01_backprop/regrade", {})[0] == 302
        assert prof.post_form("/instructor/a/01_backprop/regrade", {})[0] == 302   # asked twice: queued once
        assert worker.run(until_idle=True) == 1

        state = json.loads(kim.get("/api/v1/submissions/1")[1])
        assert state["status"] == "done" and state["result"]["score"] == state["result"]["max_score"] == 32
        with course.engine.begin() as conn:
            scores = conn.execute(sa.select(S.gradings.c.max_score, S.gradings.c.is_current)
                                  .order_by(S.gradings.c.id)).all()
        assert [tuple(r) for r in scores] == [(31.0, False), (32.0, True)]
        status, text = prof.get("/instructor/a/01_backprop/s/kim")
        assert "regrad" in text or "[superseded]" in text
    finally:
        course.close()
