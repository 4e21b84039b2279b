"""The student's HTML report: what it shows, and what it never shows (hidden expected values)."""

from __future__ import annotations

import argparse
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from report_cases import (
    PUBLIC_EXPECTED,
    ROOT,
    SECRET,
    SECRET_GAP,
    backprop_like,
    case,
    keras_like,
    load_json,
    not_loaded,
    question,
    read,
    write_result,
)

from grader.cli import report as report_command
from grader.course.feedback import rebuild_student_report, write_student_report
from grader.course.feedback.data import report_data, unpack_mask
from grader.course.feedback.student import result_from_json
from grader.engine.checks import Accuracy, ArrayClose


def secret_texts() -> list[str]:
    """Every way the planted hidden expected value (or what gives it away) could be written."""
    return [f"{SECRET:g}", f"{SECRET:.6g}", "4817.3", "4817", f"{SECRET_GAP:g}", "4815.3", "4815"]


def everything_written(folder: Path) -> str:
    """The report and every text file beside it (its figure data included)."""
    texts = [read(folder / "report.html")]
    files = folder / "report_files"
    if files.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in files.iterdir() if p.suffix in (".json", ".html")]
    return "\n".join(texts)


class Page(HTMLParser):
    """Tags and attributes of a page, and its text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


# --------------------------------------------------------------------------
# Hidden expected values never appear; public details do
# --------------------------------------------------------------------------


def test_the_planted_expected_value_is_in_the_instructor_files_but_not_in_the_student_report(tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    # The planted value is really there to be leaked: the instructor's files show it...
    assert "4817.29" in read(folder / "report.instructor.txt")
    assert "4817.29" in read(folder / "results.instructor.json")
    # ... and the check's data holds it (expected value at the worst element, |got - expected|).
    hidden_case = result.questions[2].cases[0]
    assert hidden_case.data["expected"] == SECRET and hidden_case.data["abs_diff"].max() == pytest.approx(SECRET_GAP)
    written = everything_written(folder)
    for text in secret_texts():
        assert text not in written, f"{text!r} (hidden expected value) leaked into the student report"
    # The student's own wrong value is shown, marked.
    assert '<td class="bad">2 <span aria-hidden="true">✗</span>' in written


def test_hidden_questions_show_no_detail_but_their_safe_message(tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    html = read(folder / "report.html")
    hidden = result.questions[2]
    assert not hidden.public and hidden.cases[0].detail  # it has a detail, which must stay out
    assert _html_text(hidden.cases[0].detail) not in html
    assert _html_text(hidden.cases[0].message) in html
    # The same for the gradient question: its detail names the reference gradient.
    grad = result.questions[4]
    for line in grad.cases[0].detail.splitlines():
        assert _html_text(line) not in html
    # Everything the student view of results.json says about a failing case is in the report.
    for q in result.questions:
        for failed in q.cases:
            if failed.status != "passed":
                assert _html_text(failed.message) in html


def test_the_report_says_everything_the_student_view_says(tmp_path):
    """Every line of QuestionResult.message("student") is in the report, and nothing of the instructor's more."""
    result = backprop_like()
    html = read(write_result(result, tmp_path) / "report.html")
    for q in result.questions:
        student_lines = {line.strip() for line in q.message("student").splitlines()}
        student_lines.discard("All checks passed.")    # the report lists these questions as passed
        for line in student_lines:
            line = re.sub(r"^\[[^\]]*\] ", "", line)          # "[label] message": label and message are shown apart
            for part in line.splitlines():
                assert _html_text(part) in html, part
        for line in q.message("instructor").splitlines():
            line = line.strip()
            if line and line not in student_lines:
                assert _html_text(line) not in html, line


def test_public_details_and_expected_values_appear(tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    html = read(folder / "report.html")
    public = result.questions[0]
    assert public.public and f"expected {PUBLIC_EXPECTED:g}" in public.cases[0].detail
    assert _html_text(public.cases[0].detail) in html
    # the table of the student's values says how far off the wrong element is (public only)
    assert "off by 5.625" in html


def test_report_data_is_a_whitelist(tmp_path):
    result = backprop_like()
    data = report_data(result)
    text = json.dumps(data)
    assert "expected" not in text and "detail" not in text
    views = {(q["name"], c["label"]): c for q in data["questions"] for c in q["cases"]}
    public_view = views[("sigmoid_basics", "sigmoid(2x3)")]["arrays"][0]
    hidden_view = views[("sigmoid_stable", "sigmoid(2x2)")]["arrays"][0]
    assert "abs_diff" in public_view and "abs_diff" not in hidden_view       # magnitudes: public only
    assert hidden_view["got"] == [0.25, 2.0, 0.75, 1.5]                      # the student's own values
    assert unpack_mask(hidden_view["wrong"], hidden_view["shape"]).tolist() == [[False, True], [False, False]]
    grad_views = views[("dense_backward_gradients", "dense_backward after dense_forward(4x5, 5x3)")]["arrays"]
    assert [v["name"] for v in grad_views] == ["dx"]                         # dW is right: nothing to show
    big = views[("conv_forward_same", "conv2d_forward(x 2x9x9x3)")]["arrays"][0]
    assert big["shape"] == [2, 9, 9, 3] and "got" not in big                  # too big for a table of values
    mask = unpack_mask(big["wrong"], big["shape"])
    assert mask[:, 0].all() and not mask[:, 1:].any()


# --------------------------------------------------------------------------
# What the page holds
# --------------------------------------------------------------------------


def test_summary_statuses_and_grading_facts(tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    page = Page(read(folder / "report.html"))
    text = " ".join(" ".join(page.text).split())
    assert f"{result.score:g} / {result.max_score:g} points" in text
    assert "1 of 6 questions passed." in text
    for word in ("1 passed", "2 partial credit", "2 failed", "1 not implemented"):
        assert word in text
    assert result.isolation in text
    assert "840 ms" in text                                # how long grading took
    assert "hello from the student" not in text            # stdout stays hidden, as in results.json
    # every question is on the page, with an anchor the overview links to
    ids = {a.get("id") for _, a in page.tags}
    for q in result.questions:
        assert f"q-{q.name}" in ids


def test_offline_and_accessible(tmp_path):
    folder = write_result(backprop_like(), tmp_path)
    html = read(folder / "report.html")
    page = Page(html)
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", html)
    assert "Content-Security-Policy" in html
    images = page.all("img")
    assert images
    for img in images:
        assert img.get("alt"), img
        assert not img["src"].startswith(("/", "http")) and (folder / img["src"]).is_file()
    assert page.all("th") and all(a.get("scope") in ("col", "row") for a in page.all("th"))
    assert page.all("html")[0].get("lang") == "en"


def test_keras_report_has_training_curves_confusion_matrix_and_failed_cells(tmp_path):
    result = keras_like()
    folder = write_result(result, tmp_path)
    html = read(folder / "report.html")
    page = Page(html)
    alts = " ".join(img["alt"] for img in page.all("img"))
    assert "Training curves over 6 epochs" in alts and "loss from 1.2 to 0.19" in alts
    assert "Confusion matrix of 10 classes" in alts
    accuracy = result.questions[1].cases[0].data
    assert f"{100 * accuracy['accuracy']:.1f}%" in html
    assert "31.1 s" in html                                         # how long training took
    assert "Cell 3 raised" in html and "NameError: name &#x27;plt&#x27; is not defined" in html
    cm = np.array(json.loads(read(folder / "report_files" / "report-data.json"))["questions"][1]["cases"][0]
                  ["accuracy"]["confusion"])
    assert cm.shape == (10, 10) and cm.sum() == 500 and np.trace(cm) == accuracy["correct"]


def test_a_passed_accuracy_still_shows_the_accuracy(tmp_path):
    result = keras_like()
    q = result.questions[1]
    q.status, q.score = "passed", q.points
    q.cases[0].status, q.cases[0].fraction = "passed", 1.0
    html = read(write_result(result, tmp_path) / "report.html")
    passed_list = html[html.index("class=\"passed-list\""):]
    assert _html_text(q.cases[0].message) in passed_list
    rebuilt = read(rebuild_student_report(tmp_path / result.submission, tmp_path / "again"))
    assert _strip_times(rebuilt) == _strip_times(html)


def test_a_submission_that_did_not_load(tmp_path):
    folder = write_result(not_loaded(), tmp_path)
    html = read(folder / "report.html")
    assert "Your submission could not be loaded" in html
    assert "SyntaxError: invalid syntax (line 12)" in html
    assert not (folder / "report_files").exists()        # no figures, no figure data


def test_grader_errors_are_not_the_students_fault_and_their_trace_stays_out(tmp_path):
    result = not_loaded("kim")
    result.grader_error = "RuntimeError: bwrap: setting up uid map: Permission denied\nTraceback ..."
    html = read(write_result(result, tmp_path) / "report.html")
    assert "The grader had a problem" in html and "not your fault" in html
    assert "uid map" not in html


def test_a_large_report_stays_small(tmp_path):
    """Many failing questions with big arrays: figures are capped, the folder stays under 1 MB."""
    rng = np.random.default_rng(1)
    base = keras_like("big")
    check = ArrayClose(rtol=1e-6, atol=1e-7)
    questions = []
    for i in range(30):
        expected = rng.random((16, 28, 28, 1))
        got = np.where(rng.random(expected.shape) < 0.3, 0.0, expected)
        checked = check.check(got, expected)
        questions.append(question(f"q{i}", "pixels", 1, i % 2 == 0, [case("x", checked), case("y", checked)]))
    base.questions = questions + base.questions
    folder = write_result(base, tmp_path)
    report_files = [folder / "report.html", *(folder / "report_files").iterdir()]
    total = sum(p.stat().st_size for p in report_files)
    assert total < 1_000_000, total
    assert len(list((folder / "report_files").glob("*.png"))) <= 12


def test_odd_report_data_costs_a_figure_not_the_report(tmp_path, monkeypatch):
    from grader.course.feedback import figures

    result = keras_like()
    result.questions[1].cases[0].data["task"] = {"history": {"loss": ["not a number"]}, "seconds": "slow"}
    result.questions[0].cases[0].data["wrong"] = "not an array"
    html = read(write_result(result, tmp_path / "odd") / "report.html")
    assert "trained_accuracy" in html and "Training curves" not in html
    # a figure that cannot be drawn is left out with its description
    monkeypatch.setattr(figures, "_png", lambda *a, **k: 1 / 0)
    html = read(write_result(keras_like(), tmp_path / "broken") / "report.html")
    assert "(Figure left out: Confusion matrix of 10 classes" in html


def test_embedded_images_make_one_file(tmp_path):
    result = keras_like()
    path = write_student_report(result, tmp_path / "one", embed_images=True)
    html = read(path)
    assert html.count("src=\"data:image/png;base64,") == len(Page(html).all("img")) >= 2
    assert not list((tmp_path / "one").glob("report_files/*.png"))


def test_regenerating_removes_old_figures(tmp_path):
    folder = write_result(backprop_like(), tmp_path)
    old = set((folder / "report_files").glob("*.png"))
    assert old
    perfect = backprop_like()
    for q in perfect.questions:
        q.status = "passed"
        for c in q.cases:
            c.status = "passed"
    write_student_report(perfect, folder)
    assert not list(folder.glob("report_files/*.png"))


# --------------------------------------------------------------------------
# Rebuilt from JSON (dlgrade report --student)
# --------------------------------------------------------------------------


def test_rebuilt_from_json_equals_the_first_and_keeps_hidden_details_out(tmp_path):
    result = backprop_like()
    folder = write_result(result, tmp_path)
    first = read(folder / "report.html")
    rebuilt = rebuild_student_report(folder, tmp_path / "again")
    html = read(rebuilt)
    # the same content: the questions, the figures (from report-data.json) and the same safety
    assert _strip_times(html) == _strip_times(first)
    for text in secret_texts():
        assert text not in everything_written(tmp_path / "again")
    # results.json alone (student view) gives the same page too
    (tmp_path / "student_only").mkdir()
    (tmp_path / "student_only" / "results.json").write_text(read(folder / "results.json"))
    html_student_view = read(rebuild_student_report(tmp_path / "student_only"))
    assert "Figures" in html_student_view and "rebuilt from the results file alone" in html_student_view
    for text in secret_texts():
        assert text not in html_student_view


def test_rebuilt_without_figure_data_says_so(tmp_path):
    folder = write_result(backprop_like(), tmp_path)
    (folder / "report_files" / "report-data.json").unlink()
    html = read(rebuild_student_report(folder))
    assert "rebuilt from the results file alone" in html
    assert "<img" not in html


def test_figure_data_of_another_submission_is_not_used(tmp_path):
    folder = write_result(backprop_like(), tmp_path)
    data_file = folder / "report_files" / "report-data.json"
    data = load_json(data_file)
    data["sha256"] = "0" * 64
    data_file.write_text(json.dumps(data))
    html = read(rebuild_student_report(folder))
    assert "<img" not in html


def test_result_from_json_round_trip(tmp_path):
    result = keras_like()
    folder = write_result(result, tmp_path)
    back = result_from_json(load_json(folder / "results.instructor.json"))
    assert [(q.name, q.title, q.points, q.score, q.public, q.status) for q in back.questions] == \
        [(q.name, q.title, q.points, round(q.score, 4), q.public, q.status) for q in result.questions]
    assert back.load.cells == result.load.cells and back.isolation == result.isolation
    assert back.sha256 == result.sha256 and back.seconds == pytest.approx(result.seconds, abs=1e-3)
    with pytest.raises(ValueError):
        result_from_json({"tests": []})


def test_command_rebuilds_one_student(tmp_path, graded_class, capsys):
    (graded_class / "ada" / "report.html").unlink()
    assert _run_command([str(graded_class), "--student", "ada"]) == 0
    assert (graded_class / "ada" / "report.html").exists()
    assert capsys.readouterr().out.strip().endswith("report.html")
    assert _run_command([str(graded_class / "alan"), "--out", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "report.html").exists()
    assert _run_command([str(graded_class), "--student", "../ada"]) == 2


# --------------------------------------------------------------------------
# The checks' report data the report relies on
# --------------------------------------------------------------------------


def test_checks_give_the_report_its_data():
    checked = ArrayClose().check(np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert checked.data["wrong"].tolist() == [False, True, False]
    assert checked.data["got_values"].tolist() == [1.0, 5.0, 3.0]
    acc = Accuracy(num_classes=3).check(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
    assert acc.data["confusion"].tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_a_real_graded_submission(tmp_path):
    """Assignment 01's sign-error example graded through the sandbox: its report shows dx wrong everywhere."""
    from grader.engine.authoring import load_assignment
    from grader.engine.grading import grade_submission

    compiled = load_assignment("01_backprop").compile()
    result = grade_submission(compiled, ROOT / "assignments" / "01_backprop" / "examples" / "sign_error_dx.py")
    folder = write_result(result, tmp_path)
    html = read(folder / "report.html")
    assert "dense_backward_gradients" in html and "Partial credit" in html
    assert "dx</strong> (4, 5)" in html and "✗" in html
    q = next(q for q in result.questions if q.name == "dense_backward_gradients")
    assert not q.public
    for hidden in q.cases:
        for line in hidden.detail.splitlines():
            assert _html_text(line) not in html


# --------------------------------------------------------------------------


def _html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def _strip_times(html: str) -> str:
    return re.sub(r"Loading your code took</dt><dd>[^<]*", "", html)


def _run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    report_command.add_parser(sub)
    args = parser.parse_args(["report", *argv])
    return args.run(args)
