"""Papers, keys and the dlgrade exam commands."""

from __future__ import annotations

import argparse
import csv
import html.parser
import json
import re
from pathlib import Path

import pytest

from grader.cli import exam as command
from grader.cli import main
from grader.course.exam import is_exam
from grader.course.exam.paper import html_document, markdown_to_html, render_paper
from grader.course.exam.roster import read_roster
from grader.course.policy import load_policy
from grader.engine.sheets import expected_answers, read_sheet

ROOT = Path(__file__).resolve().parents[2]
MIDTERM_DIR = ROOT / "assignments" / "midterm"


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dlgrade")
    command.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.run(args)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLGRADE_ASSIGNMENTS", str(ROOT / "assignments"))
    return tmp_path


def answer_strings(paper) -> list[str]:
    """Texts that would give answers away, as a key shows them."""
    exp = expected_answers(paper)
    out = [f"{exp['NET_LOSS']:.4f}", f"{exp['NET_GRADIENT']:.4f}", f"{exp['NET_WEIGHT_AFTER_STEP']:.4f}",
           f"{exp['NET_OUTPUT_A'][0]:.4f}", exp["DERIVATIVE"], json.dumps(exp["CORRELATION"]),
           json.dumps(exp["POOL_GRADIENT"]), str(exp["CONV_PARAMETERS"])]
    return out


def test_the_paper_shows_the_numbers_and_no_answers(compiled_for):
    paper = compiled_for("s1001")
    policy = load_policy(MIDTERM_DIR)
    md = render_paper(paper, student_id="s1001", policy=policy)
    key = render_paper(paper, student_id="s1001", policy=policy, key=True)
    for question in paper.questions:
        assert question.prompt.strip() in md and question.prompt.strip() in key
    assert "s1001" in md and paper.variant in md
    assert "90 minutes" in md and "up to 3 times" in md and "latest submission counts" in md
    assert "not accepted" in md and "grace of 2 minutes" in md
    given = paper.question("two_layer_network").cases[0].meta["given"]
    assert f"{given['W1'][0][0]:.2f}" in md
    exp = expected_answers(paper)
    for text in answer_strings(paper):
        assert text not in md.replace(f"{given['W1'][0][0]:.2f}", ""), text
    for k in ("NET_LOSS", "NET_GRADIENT"):
        assert f"`{k}` = `{exp[k]:.6g}`" in key
    assert f"`DERIVATIVE` = `\"{exp['DERIVATIVE']}\"`" in key
    assert "ANSWER KEY" in key and "ANSWER KEY" not in md
    for k in exp:
        assert f"`{k}`" in md          # every sheet key is on the paper


class _Checker(html.parser.HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            assert not name.startswith("on"), name
            assert not (value or "").lower().startswith(("http", "//", "javascript")), value
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()


def test_the_html_is_standalone_and_well_formed(compiled_for):
    paper = compiled_for("s1002")
    md = render_paper(paper, student_id="s1002", policy=load_policy(MIDTERM_DIR))
    page = html_document("midterm", md)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    assert not checker.tags & {"script", "link", "img", "iframe", "object"}
    assert "http" not in page and "@import" not in page and "url(" not in page
    assert "<table>" in page and "<pre><code>" in page and "<h2>" in page
    image = paper.question("correlation_by_hand").cases[0].meta["given"]["image"]
    assert "  ".join(str(v) for v in image[0]) in page


def test_markdown_rendering_escapes_everything():
    out = markdown_to_html("<script>alert(1)</script> **bold** *it* `a<b` x * y * z\n\n```\n<b>\n```\n- `k` & co")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<strong>bold</strong>" in out and "<em>it</em>" in out and "<code>a&lt;b</code>" in out
    assert "x * y * z" in out and "<pre><code>&lt;b&gt;</code></pre>" in out
    assert "<li><code>k</code> &amp; co</li>" in out


def test_paper_key_and_sheet_commands(in_tmp, compiled_for, capsys):
    assert run_cli("exam", "paper", "midterm", "--student", "s1001") == 0
    assert run_cli("exam", "key", "midterm", "--student", "s1001") == 0
    capsys.readouterr()
    assert run_cli("exam", "sheet", "midterm", "--student", "s1001") == 0
    printed = capsys.readouterr().out
    assert not (in_tmp / "s1001.toml").exists(), "without --out the sheet goes to the terminal only"
    assert run_cli("exam", "sheet", "midterm", "--student", "s1001", "--out", "s1001.toml") == 0
    assert (in_tmp / "s1001.toml").read_text(encoding="utf-8") == printed
    assert run_cli("exam", "sheet", "midterm", "--student", "s1001", "--format", "yaml", "--out", "sheets") == 0
    paper = compiled_for("s1001")
    md = (in_tmp / "papers" / "s1001" / "paper.md").read_text()
    assert md == render_paper(paper, student_id="s1001", policy=load_policy(MIDTERM_DIR))
    assert (in_tmp / "papers" / "s1001" / "paper.html").read_text().startswith("<!DOCTYPE html>")
    assert "ANSWER KEY" in (in_tmp / "keys" / "s1001" / "key.md").read_text()
    filled = read_sheet(in_tmp / "keys" / "s1001" / "s1001.key.toml")
    assert filled.values == expected_answers(paper)
    blank = (in_tmp / "s1001.toml").read_text()
    for line in blank.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z_0-9]+ =", line), line
    keys = [ln.split()[0] for ln in blank.splitlines() if ln and not ln.startswith("#")]
    assert keys == list(expected_answers(paper))
    assert (in_tmp / "sheets" / "s1001.yaml").is_file()


def test_papers_for_a_class_and_grading_them(in_tmp, compiled_for, capsys):
    (in_tmp / "class.csv").write_text("Name,Student ID\nAna,s1001\nBo,s1002\nAna again,s1001\n")
    assert run_cli("exam", "papers", "midterm", "--students", "class.csv", "--out", "handout", "--keys", "keys") == 0
    assert "listed twice" in capsys.readouterr().err
    for sid in ("s1001", "s1002"):
        folder = in_tmp / "handout" / sid
        assert sorted(p.name for p in folder.iterdir()) == ["paper.html", "paper.md", f"{sid}.toml"]
        assert compiled_for(sid).variant in (folder / "paper.md").read_text()
        assert (in_tmp / "keys" / sid / "key.html").is_file()
    rows = list(csv.DictReader((in_tmp / "handout" / "index.csv").open()))
    assert [r["student"] for r in rows] == ["s1001", "s1002"]

    # nothing handed out holds an answer, the salt, or a key
    salt = (MIDTERM_DIR / "secret.toml").read_text().split('"')[1]
    handout = "".join(p.read_text() for p in (in_tmp / "handout").rglob("*") if p.is_file())
    assert salt not in handout and "ANSWER KEY" not in handout
    for sid in ("s1001", "s1002"):
        md = (in_tmp / "handout" / sid / "paper.md").read_text()
        for text in answer_strings(compiled_for(sid))[:5]:
            assert text not in md

    # the keys, copied as sheets, grade to full marks; a blank sheet to zero (graded as any assignment)
    (in_tmp / "s1001.toml").write_text((in_tmp / "keys" / "s1001" / "s1001.key.toml").read_text())
    (in_tmp / "times.csv").write_text("student,submitted_at\ns1001,2025-03-10T10:00:00\n"
                                      "s1002,2025-03-10T10:00:00\n")
    assert main(["grade", "midterm", "s1001.toml", "handout/s1002/s1002.toml", "--out", "graded",
                 "--manifest", "times.csv", "--no-progress", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"s1001\s+30\s+30", out) and re.search(r"s1002\s+0\s+30", out)
    results = json.loads((in_tmp / "graded" / "students" / "s1001" / "results.json").read_text())
    assert results["score"] == 30


def test_exam_grade_points_to_dlgrade_grade(in_tmp, capsys):
    assert run_cli("exam", "grade", "midterm", "s1001.toml") == 2
    assert "dlgrade grade EXAM SHEETS" in capsys.readouterr().err


def test_keys_never_go_inside_the_handout(in_tmp):
    (in_tmp / "class.txt").write_text("s1001\n")
    with pytest.raises(ValueError, match="apart from --out"):
        run_cli("exam", "papers", "midterm", "--students", "class.txt", "--out", "handout", "--keys", "handout/keys")


def test_only_exams_have_papers(in_tmp):
    with pytest.raises(ValueError, match="not an exam"):
        run_cli("exam", "paper", "01_backprop", "--student", "s1001")


def test_variant_command(in_tmp, capsys, compiled_for):
    assert run_cli("exam", "variant", "midterm", "--student", "s1001", "--student", "s1002") == 0
    lines = capsys.readouterr().out.split()
    assert lines == ["s1001", compiled_for("s1001").variant, "s1002", compiled_for("s1002").variant]


def test_roster_files(tmp_path):
    (tmp_path / "a.txt").write_text("# class\ns1\n\ns2\ns1\n")
    assert read_roster(tmp_path / "a.txt") == (["s1", "s2"], ["line 5: s1 is listed twice (one paper made)"])
    (tmp_path / "b.csv").write_text("email,name\nana@x.org,Ana\nbo@x.org,Bo\n")
    assert read_roster(tmp_path / "b.csv")[0] == ["ana@x.org", "bo@x.org"]
    (tmp_path / "c.txt").write_text("s1\n../../etc\n")
    with pytest.raises(ValueError, match="line 2: not a valid student id"):
        read_roster(tmp_path / "c.txt")
    (tmp_path / "d.txt").write_text("\n# nobody\n")
    with pytest.raises(ValueError, match="no student ids"):
        read_roster(tmp_path / "d.txt")


def test_the_exam_folder(midterm):
    assert is_exam(midterm)
    policy = load_policy(MIDTERM_DIR)
    assert policy.kind == "exam" and policy.duration_minutes == 90 and policy.counting == "last"
    assert policy.max_attempts == 3 and policy.accept_late is False
    assert policy.opens_at < policy.closes_at
    assert not (MIDTERM_DIR / "master.py").exists()  # no student template is generated from an exam
