"""The instructor's class report: pass rates, grouped failures, problems, isolation, on a constructed class."""

from __future__ import annotations

import argparse
import re

import pytest
from report_cases import ISOLATION, read

from grader.cli import report as report_command
from grader.course.feedback import write_instructor_report
from grader.course.feedback.instructor import isolation_group, isolation_kind, load_class, normalise_message


@pytest.mark.parametrize("message, expected", [
    ("Your array: 20 of 20 elements (100%) are not within tolerance; the worst is at index [3, 0], where your "
     "value is -4.41749",
     "Your array: # of # elements (#%) are not within tolerance; the worst is at index [#, #], where your value is #"),
    ("relative error 2.0e+00; tolerance 1e-06*|expected|", "relative error #; tolerance #*|expected|"),
    ("x has shape (2, 5, 5, 3), expected shape (2, 5, 5, 4)", "x has shape (#, #, #, #), expected shape (#, #, #, #)"),
    # numbers inside names stay: dtypes, layer names, W2, conv2d, 01_backprop
    ("float64 array from conv2d in 01_backprop, W2 is .5", "float64 array from conv2d in 01_backprop, W2 is #"),
    ("line one  12\n\n  line two +3.5 ", "line one #\nline two #"),
])
def test_normalise_message(message, expected):
    assert normalise_message(message) == expected


def test_pass_rates_and_counts(graded_class):
    cls = load_class(graded_class)
    assert sorted(s.student for s in cls.submissions) == ["ada", "alan", "barbara", "edsger", "linus"]
    assert [name for name, _ in cls.unreadable] == ["broken"]
    qs = cls.questions
    # four 01 submissions graded fully (ada, alan, barbara fail the same way; edsger passes everything);
    # linus did not load and has one question only
    basics = qs["sigmoid_basics"]
    assert basics.n == 5 and basics.statuses == {"failed": 3, "passed": 1, "error": 1}
    assert basics.pass_rate == pytest.approx(1 / 5)
    stable = qs["sigmoid_stable"]
    assert stable.n == 4 and stable.statuses == {"partial": 3, "passed": 1}
    assert stable.share("partial") == pytest.approx(3 / 4)
    assert qs["dense_forward_shape"].pass_rate == 1.0
    assert qs["relu_grad"].statuses == {"not implemented": 3, "passed": 1}


def test_failures_group_across_different_numbers(graded_class):
    cls = load_class(graded_class)
    groups = cls.questions["sigmoid_basics"].common_failures()
    # ada, alan and barbara's wrong values differ (0.5, 1.5, 2.5): one group of three students
    top = groups[0]
    assert sorted(top.students) == ["ada", "alan", "barbara"] and top.cases == 3
    assert "where your value is #" in top.message
    assert len({s for s in top.students}) == len(top.students)
    # the load failure is its own group
    assert [g.students for g in groups[1:]] == [["linus"]]
    assert "could not be loaded" in groups[1].message
    # a student counts once per group however many of their checks fail with it
    grad = cls.questions["dense_backward_gradients"].common_failures()
    assert len(grad) == 1 and sorted(grad[0].students) == ["ada", "alan", "barbara"]


def test_the_report_page(graded_class):
    path = write_instructor_report(graded_class)
    assert path == graded_class / "report.html"
    html = read(path)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "5 submissions" in text and "full marks" in text
    # the pass-rate table row of sigmoid_basics: 20% passed, 0% partial, 80% without credit
    row = re.search(r"<th scope=\"row\">sigmoid_basics</th>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[:5] == ["public", "1", "20%", "0%", "80%"]
    # grouped failures with counts and links to the students' own reports
    assert "where your value is #" in html
    assert "<a href=\"ada/report.html\">ada</a>" in html
    # problems: the submission that did not load, the unreadable file, the fallback isolation
    assert "Did not load (1)" in html
    assert "SyntaxError: invalid syntax (line 12)" in html
    assert "Unreadable results files (1)" in html and "broken" in html
    assert "1 submission ran without bubblewrap" in text
    assert "rlimits and timeout only (bwrap not found)" in html
    # the slowest submissions and isolation in force
    assert "Slowest submissions" in html
    assert isolation_group(ISOLATION) in html
    # figures: a histogram and the pass-rate bars, saved beside the page, with alt texts
    images = re.findall(r"<img src=\"([^\"]+)\" alt=\"([^\"]+)\"", html)
    assert len(images) == 2 and all((graded_class / src).is_file() for src, _ in images)
    assert "Histogram of 5 scores" in images[0][1] and "lowest pass rate is sigmoid_basics at 20%" in images[1][1]


def test_grader_errors_and_failed_cells_are_listed(graded_class):
    import json

    results = graded_class / "alan" / "results.instructor.json"
    data = json.loads(results.read_text())
    data["extra_data"]["grader_error"] = "RuntimeError: the sandbox could not start\nTraceback: ..."
    data["extra_data"]["load"]["cells"] = [{"index": 7, "ok": False, "error": "ZeroDivisionError: division by zero"}]
    results.write_text(json.dumps(data))
    html = read(write_instructor_report(graded_class, graded_class / "elsewhere" / "class.html"))
    assert "Grader errors (1)" in html and "RuntimeError: the sandbox could not start" in html
    assert "Notebook cells that raised (1)" in html and "ZeroDivisionError: division by zero" in html
    assert "1 grader error" in html
    # written elsewhere: links to the students' reports are relative to the page
    assert "<a href=\"../ada/report.html\">ada</a>" in html
    assert (graded_class / "elsewhere" / "class_files").is_dir()


def test_isolation_kinds():
    assert isolation_kind(ISOLATION) == "isolated"
    assert isolation_kind("rlimits and timeout only (no bwrap); the student's code runs as root") == "fallback"
    assert isolation_kind("rlimits, timeout, seccomp (signals only to itself, no IP sockets) and landlock ABI 7 "
                          "(files: its own and the Python runtime), no namespaces (bwrap not found)") == "fallback"
    assert isolation_kind("answer sheet: no code was run") == "no code"
    assert isolation_kind("") == "unknown"
    assert isolation_group(ISOLATION) == isolation_group(ISOLATION.replace("61001", "61002"))


def test_an_empty_folder(tmp_path):
    html = read(write_instructor_report(tmp_path))
    assert "No <code>*/results.instructor.json</code> found" in html
    with pytest.raises(FileNotFoundError):
        write_instructor_report(tmp_path / "missing")


def test_command_writes_the_class_report_and_every_students(graded_class, capsys):
    for name in ("ada", "alan"):
        (graded_class / name / "report.html").unlink()
    parser = argparse.ArgumentParser()
    report_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["report", str(graded_class), "--all-students"])
    assert args.run(args) == 0
    assert capsys.readouterr().out.strip() == str(graded_class / "report.html")
    assert (graded_class / "ada" / "report.html").exists() and (graded_class / "alan" / "report.html").exists()
    args = parser.parse_args(["report", str(graded_class / "nowhere")])
    assert args.run(args) == 2
