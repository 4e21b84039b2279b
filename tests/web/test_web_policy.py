"""The website's policy, against a real server: hidden questions held back until the instructor
releases them; a closed assignment that takes no late work refuses an upload until the instructor
extends the student's deadline, and the gradebook then records the upload on time."""

from __future__ import annotations

import datetime as _dt
import json
import shutil

from web_support import EXAMPLES, ROOT, Client, issue_tokens, wait_until, write_course

REFERENCE = (EXAMPLES / "reference.py").read_bytes()


def api_upload(client: Client, token: str, body: bytes):
    status, text = client.request("POST", "/api/v1/assignments/01_backprop/submissions?filename=backprop.py",
                                  data=body, headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(text)


def test_hidden_results_wait_for_release_and_extensions_open_a_closed_assignment(tmp_path, start_server,
                                                                                 monkeypatch):
    assignments = tmp_path / "assignments"
    shutil.copytree(ROOT / "assignments" / "01_backprop", assignments / "01_backprop")
    closed = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)).isoformat(timespec="seconds")
    (assignments / "01_backprop" / "policy.toml").write_text(f'closes_at = "{closed}"\naccept_late = false\n')
    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(assignments))
    course_dir = write_course(tmp_path / "course", hidden="on_release")
    keys = issue_tokens(course_dir, ["hal"])
    keys.update(issue_tokens(course_dir, ["prof"], "instructor"))
    server = start_server(course_dir, workers=1, env={"DLGRADE_ASSIGNMENTS": str(assignments)})
    hal, prof = Client(server.base), Client(server.base)

    # Closed, no late work: refused, nothing stored.
    status, body = api_upload(hal, keys["hal"], REFERENCE)
    assert status == 403 and "takes no late work" in body["error"]

    # The instructor extends hal's deadline by two hours (the form needs a reason).
    prof.sign_in(keys["prof"])
    prof.get("/instructor/a/01_backprop")
    status, text = prof.post_form("/instructor/a/01_backprop/s/hal/extend", {"minutes": "120", "reason": ""})
    assert status == 400 and "give a reason" in text
    status, _ = prof.post_form("/instructor/a/01_backprop/s/hal/extend",
                               {"minutes": "120", "reason": "illness, certificate seen"})
    assert status == 302
    status, body = api_upload(hal, keys["hal"], REFERENCE)
    assert status == 202, body
    upload_id = body["id"]

    def graded():
        status, text = hal.get(f"/api/v1/submissions/{upload_id}", headers={"Authorization": f"Bearer {keys['hal']}"})
        state = json.loads(text)
        return state if state["status"] == "done" else None

    state = wait_until(graded, what="hal's grading")
    public = {q["name"] for q in state["result"]["questions"]}
    assert state["result"]["hidden_held_back"] == 10 and len(public) == 3
    assert all(q["public"] for q in state["result"]["questions"])
    assert state["result"]["score"] == 3 and state["result"]["max_score"] == 3

    # Released: every question, the full score; and the gradebook has it on time.
    prof.get("/instructor/a/01_backprop")
    assert prof.post_form("/instructor/a/01_backprop/settings", {"release": "release"})[0] == 302
    state = graded()
    assert state["result"]["hidden_held_back"] == 0 and state["result"]["score"] == 31
    status, text = prof.get("/instructor/a/01_backprop/s/hal")
    assert "on time, counted" in text and "extension 120 min" in text
