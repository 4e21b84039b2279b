"""``dlgrade grades show / export / override / revoke / history``."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from grader.cli.grades import main
from grader.course.gradebook import Gradebook
from grader.course.policy import Policy

spec = importlib.util.spec_from_file_location("gradebook_tests_factory", Path(__file__).with_name("factory.py"))
factory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(factory)
at = factory.at


@pytest.fixture
def db(db_url):
    policy = Policy(closes_at=at(10), late_penalty_per_day=0.1)
    with Gradebook.open(db_url) as gb:
        gb.record(factory.make_result("a1", "alice", (5, 5)), student_id="alice", submitted_at=at(9), policy=policy)
        gb.record(factory.make_result("a1", "bob", (5, 3)), student_id="bob", submitted_at=at(11), policy=policy)
        gb.record(factory.make_result("a2", "bob", (1, 2)), student_id="bob", submitted_at=at(12))
    return db_url


def grades(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show(db, capsys):
    code, out, _ = grades(capsys, "show", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["student", "assignment", "score", "max", "attempt"]
    assert lines[2].split()[:5] == ["alice", "a1", "10", "10", "1/1"]
    assert lines[3].split()[:5] == ["bob", "a1", "7.2", "10", "1/1"] and "late (1440 min)" in lines[3]
    assert lines[4].split()[:4] == ["bob", "a2", "3", "10"]
    code, out, _ = grades(capsys, "show", "--db", db, "--student", "bob", "--assignment", "a1")
    assert code == 0 and "alice" not in out and "a2" not in out
    assert "question" in out and "q2" in out and "partial" in out          # per question for one student
    code, _, err = grades(capsys, "show", "--db", db, "--assignment", "nope")
    assert code == 2 and "no assignment 'nope'" in err and "a1, a2" in err


def test_export(db, capsys, tmp_path):
    out_file, per_question = tmp_path / "grades.csv", tmp_path / "questions.csv"
    code, out, _ = grades(capsys, "export", "--db", db, "--format", "csv", "--out", str(out_file),
                          "--per-question", str(per_question))
    assert code == 0 and str(out_file) in out
    assert list(csv.reader(out_file.open())) == [["student", "a1", "a2"], ["alice", "10", ""], ["bob", "7.2", "3"]]
    rows = list(csv.DictReader(per_question.open()))
    assert len(rows) == 6 + 1                                            # 3 x 2 questions, bob's late penalty
    assert sum(float(r["score"]) for r in rows if (r["student"], r["assignment"]) == ("bob", "a1")) == \
        pytest.approx(7.2) and {"question": "(late penalty)", "score": "-0.8"}.items() <= rows[4].items()
    with pytest.raises(SystemExit):
        main(["export", "--db", db, "--format", "xlsx", "--out", str(out_file)])


def test_override_revoke_and_history(db, capsys):
    code, out, _ = grades(capsys, "override", "--db", db, "bob", "a1", "--question", "q2", "--score", "5",
                          "--reason", "accepted the alternative derivation", "--by", "prof")
    assert code == 0 and "final score now 9 / 10" in out                 # (5 + 5) after 10 % late
    code, out, _ = grades(capsys, "override", "--db", db, "bob", "a1", "--score", "10",
                          "--reason", "extension granted", "--by", "prof")
    assert code == 0 and "final score now 10 / 10" in out
    code, out, _ = grades(capsys, "revoke", "--db", db, "bob", "a1", "--reason", "entered by mistake", "--by", "prof")
    assert code == 0 and "revoked; final score now 9 / 10" in out
    code, _, err = grades(capsys, "revoke", "--db", db, "bob", "a1", "--reason", "again", "--by", "prof")
    assert code == 1 and "no active override" in err

    code, out, _ = grades(capsys, "history", "--db", db, "bob", "a1")
    assert code == 0
    events = [line.split()[3] for line in out.splitlines()[2:]]
    assert events == ["submission", "grading", "override", "override", "override"]
    assert "extension granted [inactive]" in out and "deactivated by prof: entered by mistake" in out

    code, _, err = grades(capsys, "override", "--db", db, "bob", "a1", "--score", "1", "--reason", " ", "--by", "x")
    assert code == 2 and "reason" in err
    code, _, err = grades(capsys, "override", "--db", db, "carol", "a1", "--score", "1", "--reason", "r", "--by", "x")
    assert code == 2 and "--new-student" in err
    code, _, _ = grades(capsys, "override", "--db", db, "carol", "a1", "--score", "1", "--reason", "r", "--by", "x",
                        "--new-student")
    assert code == 0
    with pytest.raises(SystemExit):                                       # --reason is required
        main(["override", "--db", db, "bob", "a1", "--score", "1", "--by", "x"])
    capsys.readouterr()


def test_a_missing_gradebook_is_an_error_not_a_new_file(tmp_path, capsys):
    code, _, err = grades(capsys, "show", "--db", str(tmp_path / "nope.db"))
    assert code == 2 and "no gradebook at" in err
    assert not (tmp_path / "nope.db").exists()
