"""``dlgrade similarity``: from a graded class (gradebook or grade folder) to ranked evidence and pages."""

from __future__ import annotations

import datetime as _dt

from grader.cli import main
from grader.course.exam.variants import compile_for_student, load_salt
from grader.course.similarity.recurring import recurring_pairs
from grader.course.similarity.wrong_answers import CaseReply, read_graded_folder, shared_wrong_answers
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet

from .classes import ROOT, honest_class, with_copy


def test_code_evidence_from_a_class_folder(tmp_path, capsys):
    codes = honest_class("01_backprop")
    codes, copier = with_copy(codes, "sign_error_dx", 5)
    folder = tmp_path / "class"
    folder.mkdir()
    for student, code in codes.items():
        (folder / f"{student}.py").write_text(code)
    assert main(["similarity", "01_backprop", str(folder), "--out", str(tmp_path / "pages"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.startswith("1 "))
    assert "sign_error_dx" in first and copier in first
    assert "not a finding" in out and "Nothing here changes a grade" in out
    pages = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert "index.html" in pages and any("sign_error_dx" in p for p in pages)


def test_an_exam_graded_into_a_gradebook(tmp_path, capsys):
    """Sheets graded by `dlgrade grade`; similarity reads the gradebook: files, replies and exam papers."""
    midterm = load_assignment(ROOT / "assignments" / "midterm")
    salt = load_salt(midterm.folder)
    students = [f"u{i:02d}" for i in range(10)]
    compiled = {s: compile_for_student(midterm, s, salt=salt) for s in students}
    source = expected_answers(compiled["u06"])
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    for number, student in enumerate(students):
        answers = expected_answers(compiled[student])
        answers["NET_LOSS"] = round(answers["NET_LOSS"] * (2 + number), 4)     # everyone's own mistakes
        answers["CONV_PARAMETERS"] = answers["CONV_PARAMETERS"] - 1 - number
        answers["CORRELATION"] = [[x + 1 + number for x in row] for row in answers["CORRELATION"]]
        answers["POOL_GRADIENT"] = [[-x for x in row] for row in answers["POOL_GRADIENT"]]
        answers["NET_HIDDEN_A"] = [round(1 - x, 4) for x in answers["NET_HIDDEN_A"]]
        if student in ("u01", "u02"):
            answers["DERIVATIVE"] = "exp(x) + 12345"                           # the same odd wrong answer
        if student == "u03":
            answers.update({k: source[k] for k in ("CORRELATION", "POOL_GRADIENT", "NET_HIDDEN_A")})
        (sheets / f"{student}.toml").write_text(render_sheet(compiled[student], answers=answers))
    graded = tmp_path / "graded"
    assert main(["grade", "midterm", str(sheets), "--out", str(graded), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["similarity", "midterm", "--db", str(graded / "gradebook.db"), "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    wrong = out.split("the same rare wrong replies")[1].split("exam answers")[0]
    assert wrong.splitlines()[2].split()[:3] == ["1", "u01", "u02"] and "derivative/DERIVATIVE" in wrong
    exam = out.split("fit a classmate's paper and not the student's own")[1]
    assert exam.strip().startswith("u03: 3 of") and "u06's" in exam
    assert "u03" in (tmp_path / "p" / "index.html").read_text()
    # the grade folder holds the same replies
    replies = read_graded_folder(graded)
    assert replies["u01"]["derivative/DERIVATIVE"] == replies["u02"]["derivative/DERIVATIVE"]


def test_a_wrong_reply_that_much_of_the_class_gives_is_no_evidence():
    common, rare = CaseReply("failed", "c" * 16), CaseReply("failed", "r" * 16)
    replies = {f"s{i:02d}": {"q/case1": common, "q/case2": CaseReply("passed", "p" * 16)} for i in range(30)}
    replies["s01"]["q/case2"] = replies["s02"]["q/case2"] = rare
    pairs = shared_wrong_answers(replies)
    assert [(p.a, p.b, p.cases) for p in pairs] == [("s01", "s02", ("q/case2",))]


def test_pairs_that_come_back_are_listed_with_their_submission_times():
    t = _dt.datetime(2026, 3, 1, 12, 0, tzinfo=_dt.timezone.utc)
    rankings = {("a1", "code"): [("x", "y"), ("p", "q")], ("a2", "code"): [("q", "p"), ("m", "n")],
                ("a2", "wrong answers"): [("y", "x")], ("a3", "code"): [("p", "q")]}
    times = {"a1": {"p": t, "q": t + _dt.timedelta(minutes=3)}}
    found = recurring_pairs(rankings, times=times)
    assert [(p.a, p.b, p.assignments) for p in found] == [("p", "q", ["a1", "a2", "a3"]), ("x", "y", ["a1", "a2"])]
    assert found[0].appearances[0].minutes_apart == 3.0


def test_a_link_in_the_class_folder_is_left_out_not_read(tmp_path, capsys):
    """The grader refuses a submission that is a link; similarity, run as root like it, must not read the
    target into the instructor's pages either (a root-only file, a classmate's work)."""
    secret = tmp_path / "outside" / "backprop.py"
    secret.parent.mkdir()
    secret.write_text("def sigmoid(z):\n    return 'token_5ee1 of a root-only file'\n")
    secret.chmod(0o600)
    codes = honest_class("01_backprop")
    folder = tmp_path / "class"
    folder.mkdir()
    for student, code in list(codes.items())[:4]:
        (folder / f"{student}.py").write_text(code)
    (folder / "eve.py").symlink_to(secret)
    (folder / "mallory").mkdir()
    (folder / "mallory" / "backprop.py").symlink_to(secret)
    (folder / "trudy").symlink_to(secret.parent)
    assert main(["similarity", "01_backprop", str(folder), "--out", str(tmp_path / "pages"), "--top", "50"]) == 0
    captured = capsys.readouterr()
    assert "note: eve: left out of the code comparison (eve.py is a link" in captured.err
    pages = "".join(p.read_text() for p in (tmp_path / "pages").iterdir())
    assert "token_5ee1" not in pages + captured.out
