"""Answer sheets: read safely, graded question by question, every kind of bad sheet explained.

Each test starts from a sheet holding the student's expected answers (full
marks) and breaks one thing; the score must drop by exactly that answer's
points, and its message must say what is wrong. Nothing may raise.
"""

from __future__ import annotations

import os
import re

import pytest

from grader.course.exam.grading import grade_answer_sheet
from grader.engine.grading import grade_question
from grader.engine.results import FAILED, NOT_IMPLEMENTED, PASSED
from grader.engine.sandbox.types import LoadReport, Reply
from grader.engine.sheets import (
    ISOLATION,
    MAX_SHEET_BYTES,
    NEEDS_CODE,
    AnswerSheetSession,
    answer_keys,
    expected_answers,
    read_sheet,
    render_sheet,
)

STUDENT = "s1001"


@pytest.fixture(scope="module")
def paper(compiled_for):
    return compiled_for(STUDENT)


@pytest.fixture(scope="module")
def points(paper):
    return {k.key: k.points for k in answer_keys(paper)}


def case_of(result, key):
    for question in result.questions:
        for case in question.cases:
            if case.label == key:
                return case
    raise KeyError(key)


def messages(result) -> str:
    return "\n".join(c.message for q in result.questions for c in q.cases)


def lines_of(paper, answers: dict, drop=()) -> list[str]:
    text = render_sheet(paper, answers=answers)
    return [line for line in text.splitlines() if not any(line.startswith(f"{k} ") for k in drop)]


def test_the_key_sheet_scores_full_marks_in_toml_and_yaml(paper, key_sheet):
    for fmt in ("toml", "yaml"):
        result = grade_answer_sheet(paper, key_sheet(paper, STUDENT, fmt))
        assert result.score == result.max_score == 30, messages(result)
        assert result.load.ok and result.isolation == ISOLATION
        assert result.variant == paper.variant and len(result.sha256) == 64


def test_rounded_answers_within_the_stated_tolerance_pass(paper, key_sheet):
    exp = expected_answers(paper)
    rounded = {k: ([round(x, 4) for x in v] if isinstance(v, list) and v and isinstance(v[0], float)
                   else round(v, 4) if isinstance(v, float) else v) for k, v in exp.items()}
    result = grade_answer_sheet(paper, key_sheet(paper, "rounded", changes=rounded))
    assert result.score == 30, messages(result)


@pytest.mark.parametrize("key, bad, expect", [
    ("NET_LOSS", "0.1234x", "not a number"),                       # a string where a number belongs
    ("NET_LOSS", "QUOTED", "remove the quotes"),                    # the right number, in quotes
    ("NET_HIDDEN_A", [0.5], "shape"),                               # a list of the wrong length
    ("CORRELATION", [[1, 2, 3]], "shape"),                          # a matrix of the wrong shape
    ("POOL_GRADIENT", [[1, 2], [3]], "rows of different lengths"),  # a ragged matrix
    ("POOL_OUTPUT", [[1, "a"], [2, 3]], "numbers were expected"),
    ("DERIVATIVE", "2*x +* (", "could not read your expression"),  # a malformed expression
    ("DERIVATIVE", "exp(", "could not read your expression"),
    ("DERIVATIVE", [1, 2], "expression written as a string"),
    ("CONV_OUTPUT_SHAPE", "28x28x6", "a list of 3 items was expected"),
    ("CONV_PARAMETERS", True, "not correct"),
    ("NET_GRADIENT", float("nan"), "finite number"),
])
def test_one_bad_answer_costs_that_answer_only(paper, points, key_sheet, key, bad, expect):
    if bad == "QUOTED":
        bad = str(expected_answers(paper)[key])
    result = grade_answer_sheet(paper, key_sheet(paper, "bad", changes={key: bad}))
    assert result.score == pytest.approx(30 - points[key])
    case = case_of(result, key)
    assert case.fraction == 0 or key == "POOL_OUTPUT"
    assert expect in case.message, case.message
    assert result.load.ok


def test_missing_and_blank_answers_are_not_answered(paper, points, tmp_path):
    answers = expected_answers(paper)
    lines = lines_of(paper, answers, drop=("NET_LOSS",))
    lines = [("CONV_PARAMETERS =" if ln.startswith("CONV_PARAMETERS ") else ln) for ln in lines]
    lines = [('DERIVATIVE = ""' if ln.startswith("DERIVATIVE ") else ln) for ln in lines]
    lines = [("POOL_OUTPUT = []" if ln.startswith("POOL_OUTPUT ") else ln) for ln in lines]
    path = tmp_path / "blanks.toml"
    path.write_text("\n".join(lines) + "\n")
    result = grade_answer_sheet(paper, path)
    lost = sum(points[k] for k in ("NET_LOSS", "CONV_PARAMETERS", "DERIVATIVE", "POOL_OUTPUT"))
    assert result.score == pytest.approx(30 - lost)
    for key in ("NET_LOSS", "CONV_PARAMETERS", "DERIVATIVE", "POOL_OUTPUT"):
        case = case_of(result, key)
        assert case.status == NOT_IMPLEMENTED and "is not answered" in case.message, case.message
    assert re.search(r"nothing after the = on line \d+", case_of(result, "CONV_PARAMETERS").message)
    assert "has no key NET_LOSS" in case_of(result, "NET_LOSS").message
    assert result.load.ok


def test_the_blank_sheet_grades_as_unanswered(paper, tmp_path):
    for fmt in ("toml", "yaml"):
        path = tmp_path / f"blank.{fmt}"
        path.write_text(render_sheet(paper, fmt=fmt, student_id=STUDENT))
        result = grade_answer_sheet(paper, path)
        assert result.score == 0 and result.load.ok
        assert all(c.status == NOT_IMPLEMENTED and "is not answered" in c.message
                   for q in result.questions for c in q.cases), messages(result)


def test_keys_in_another_case_or_with_dashes_get_a_hint(paper, points, tmp_path):
    text = render_sheet(paper, answers=expected_answers(paper))
    text = text.replace("NET_LOSS =", "net_loss =").replace("NET_GRADIENT =", "NET-GRADIENT =")
    text = text.replace("CORRELATION =", "CORELATION =")
    path = tmp_path / "keys.toml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    assert result.score == pytest.approx(30 - points["NET_LOSS"] - points["NET_GRADIENT"] - points["CORRELATION"])
    assert "it has 'net_loss' - write the key exactly as NET_LOSS" in case_of(result, "NET_LOSS").message
    assert "'NET-GRADIENT'" in case_of(result, "NET_GRADIENT").message
    assert "did you mean your key 'CORELATION'?" in case_of(result, "CORRELATION").message
    assert "keys no question asks for" in result.stderr


def test_an_answer_inside_a_table_is_found_and_explained(paper, points, tmp_path):
    answers = expected_answers(paper)
    text = render_sheet(paper, answers=answers).replace("# Question 5", "[answers]\n# Question 5")
    path = tmp_path / "table.toml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    assert result.score == pytest.approx(30 - points["DERIVATIVE"])
    assert "inside the table [answers]" in case_of(result, "DERIVATIVE").message


def test_a_file_that_is_not_toml_fails_to_load_with_line_and_column(paper, tmp_path):
    path = tmp_path / "notes.toml"
    path.write_text("My answers for the midterm:\n\nthe loss is 0.25, and the gradient is small!\n{[(\n")
    result = grade_answer_sheet(paper, path)
    assert result.score == 0 and not result.load.ok
    assert re.search(r"line \d+, column \d+", result.load.error), result.load.error
    for question in result.questions:
        for case in question.cases:
            assert "could not read your answer sheet:" in case.message, case.message


@pytest.mark.parametrize("content, expect", [
    (b"", None),
    (b"   \n# only comments\n\n", None),
])
def test_an_empty_sheet_answers_nothing(paper, tmp_path, content, expect):
    path = tmp_path / "empty.toml"
    path.write_bytes(content)
    result = grade_answer_sheet(paper, path)
    assert result.score == 0 and result.load.ok
    assert all("is not answered" in c.message for q in result.questions for c in q.cases)
    assert "empty" in result.stderr


def test_a_huge_sheet_is_refused_without_reading_it(paper, tmp_path):
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:
        handle.write(b"NET_LOSS = 0.25\n")
        handle.seek(MAX_SHEET_BYTES * 40)
        handle.write(b"# end\n")
    result = grade_answer_sheet(paper, path)
    assert not result.load.ok and result.load.kind == "rejected"
    assert "at most 256 KB" in result.load.error
    assert result.score == 0 and len(result.questions) == len(paper.questions)


def test_binary_files_links_and_folders_are_refused(paper, tmp_path):
    docx = tmp_path / "word.toml"
    docx.write_bytes(b"PK\x03\x04" + os.urandom(300))
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"NET_LOSS: 0.3\n\0\0\0")
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path / "word.toml")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    for path, expect in ((docx, "not a plain text file"), (nul, "not a plain text file"),
                         (link, "is a link"), (folder, "folder")):
        result = grade_answer_sheet(paper, path)
        assert not result.load.ok and expect in result.load.error, result.load.error
        assert result.score == 0
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    result = grade_answer_sheet(paper, fifo)  # must not block
    assert not result.load.ok and "not a regular file" in result.load.error


def test_an_invalid_line_costs_its_own_answer_only(paper, points, tmp_path):
    """The whole file is not TOML; every other line is still read."""
    answers = expected_answers(paper)
    text = render_sheet(paper, answers=answers)
    loss = answers["NET_LOSS"]
    text = re.sub(r"^NET_LOSS = .*$", "NET_LOSS = " + f"{loss:.4f}".replace("0.", ".", 1), text, flags=re.M)
    text = re.sub(r"^NET_GRADIENT = .*$", "NET_GRADIENT = " + f"{answers['NET_GRADIENT']:.5f}".replace(".", ","),
                  text, flags=re.M)
    text = re.sub(r"^CORRELATION = \[\[", "CORRELATION = [[ ", text, flags=re.M)
    text = re.sub(r"^CORRELATION = (.*)\]\]$", r"CORRELATION = \1]", text, flags=re.M)  # not closed
    text = text + "\nthis line is not an answer\n"
    path = tmp_path / "lines.toml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    lost = points["NET_LOSS"] + points["NET_GRADIENT"] + points["CORRELATION"]
    assert result.score == pytest.approx(30 - lost), messages(result)
    assert result.load.ok
    assert "digit before the decimal point" in case_of(result, "NET_LOSS").message
    assert "decimal point, not a comma" in case_of(result, "NET_GRADIENT").message
    m = case_of(result, "CORRELATION").message
    assert "could not read your answer to `CORRELATION` on line" in m and "not closed" in m, m
    assert case_of(result, "NET_LOSS").status == FAILED
    assert "were ignored" in result.stderr and "not valid TOML" in result.stderr


def test_an_expression_without_quotes_is_read_as_text(paper, tmp_path):
    answers = expected_answers(paper)
    text = render_sheet(paper, answers=answers)
    text = re.sub(r'^DERIVATIVE = "(.*)"$', r"DERIVATIVE = \1   # forgot the quotes", text, flags=re.M)
    path = tmp_path / "unquoted.toml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    assert result.score == 30, messages(result)
    assert "not in quotes" in result.stderr


def test_multi_line_matrices_are_read(paper, tmp_path):
    answers = expected_answers(paper)
    rows = ",\n    ".join(str(r) for r in answers["POOL_GRADIENT"])
    text = render_sheet(paper, answers=answers)
    text = re.sub(r"^POOL_GRADIENT = .*$", lambda m: f"POOL_GRADIENT = [\n    {rows},\n]", text, flags=re.M)
    text = text.replace("NET_LOSS =", "NET_LOSS = \n# skipped\nNET_LOSS_OLD =")  # also make the file invalid
    path = tmp_path / "multi.toml"
    path.write_text(text)
    contents = read_sheet(path)
    assert contents.recovered and contents.values["POOL_GRADIENT"] == answers["POOL_GRADIENT"]


def test_a_key_given_twice_is_ambiguous(paper, points, tmp_path):
    answers = expected_answers(paper)
    for fmt in ("toml", "yaml"):
        text = render_sheet(paper, fmt=fmt, answers=answers)
        sep = " = " if fmt == "toml" else ": "
        text += f"NET_LOSS{sep}0.5\n"
        path = tmp_path / f"twice.{fmt}"
        path.write_text(text)
        result = grade_answer_sheet(paper, path)
        assert result.score == pytest.approx(30 - points["NET_LOSS"])
        assert "answered twice" in case_of(result, "NET_LOSS").message


def test_yaml_specifics(paper, points, tmp_path):
    answers = expected_answers(paper)
    text = render_sheet(paper, fmt="yaml", answers=answers)
    text = re.sub(r"^NET_GRADIENT: .*$", f"NET_GRADIENT: {answers['NET_GRADIENT']:.6e}", text, flags=re.M)
    text = re.sub(r'^DERIVATIVE: "(.*)"$', r"DERIVATIVE: \1", text, flags=re.M)  # unquoted is a string in YAML
    path = tmp_path / "plain.yaml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    assert result.score == 30, messages(result)  # 1.234560e-02 is a number, not a string

    broken = re.sub(r"^NET_LOSS: .*$", "NET_LOSS: [0.1, 0.2", text, flags=re.M)
    path.write_text(broken + "\nthis is not yaml [\n")
    result = grade_answer_sheet(paper, path)
    assert result.load.ok and result.score == pytest.approx(30 - points["NET_LOSS"]), messages(result)
    assert "could not read your answer to `NET_LOSS` on line" in case_of(result, "NET_LOSS").message

    path.write_text("- 0.25\n- 0.5\n")
    result = grade_answer_sheet(paper, path)
    assert not result.load.ok and "KEY: value" in result.load.error

    path.write_text("NET_LOSS: !!python/object/apply:os.system ['true']\n")
    result = grade_answer_sheet(paper, path)
    assert result.score == 0 and "NET_LOSS" in case_of(result, "NET_LOSS").message

    path.write_text("a: &x [*x]\nNET_LOSS: 2020-01-01\n")  # a self-referential list, a date
    result = grade_answer_sheet(paper, path)
    assert "'2020-01-01', not a number" in case_of(result, "NET_LOSS").message


def test_alias_bombs_are_bounded(paper, tmp_path):
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for n in range(1, 12):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    lines.append("NET_LOSS: *a11")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    result = grade_answer_sheet(paper, path)
    assert result.score == 0
    assert "too large" in case_of(result, "NET_LOSS").message


def test_encodings(paper, key_sheet, tmp_path):
    text = key_sheet(paper, "utf").read_text()
    for name, data in (("bom", b"\xef\xbb\xbf" + text.encode()), ("utf16", text.encode("utf-16")),
                       ("latin", ("# r\xe9ponses\n" + text).encode("latin-1"))):
        path = tmp_path / f"{name}.toml"
        path.write_bytes(data)
        result = grade_answer_sheet(paper, path)
        assert result.score == 30, (name, messages(result))
    assert "not valid UTF-8" in result.stderr


def test_the_session_speaks_the_engine_interface(paper, key_sheet, tmp_path):
    path = key_sheet(paper, STUDENT)
    with AnswerSheetSession(path, limits=None, module_name="midterm", slot=3) as session:
        assert isinstance(session.load_report, LoadReport) and session.load_report.ok
        assert session.isolation == ISOLATION and session.stdout == "" and session.stderr == ""
        assert session.names().value == sorted(expected_answers(paper))
        reply = session.get("NET_LOSS")
        assert isinstance(reply, Reply) and reply.ok and reply.value == expected_answers(paper)["NET_LOSS"]
        calls = session.call([object(), object()])
        assert [r.ok for r in calls] == [False, False] and all(NEEDS_CODE in r.error for r in calls)
        assert not session.task("train", params={}).ok
        for question in paper.questions:  # the engine's own grading loop
            assert grade_question(session, question, {}).status == PASSED
    assert not session.alive


def test_a_question_that_needs_code_fails_with_a_message(paper, key_sheet):
    from grader.engine.authoring import Assignment
    from grader.engine.checks import Number

    exercise = Assignment("code", title="code", module="code")

    @exercise.question(points=1)
    def needs_code(q):
        q.call("sigmoid", 0.0, expected=0.5, check=Number())

    compiled = exercise.compile()
    result = grade_answer_sheet(compiled, key_sheet(paper, "code"))
    assert result.score == 0
    assert NEEDS_CODE in result.questions[0].cases[0].message


def test_other_extensions_are_not_sheets(paper, tmp_path):
    path = tmp_path / "answers.txt"
    path.write_text("NET_LOSS = 0.3\n")
    result = grade_answer_sheet(paper, path)
    assert not result.load.ok and ".toml, .yaml or .yml" in result.load.error


#: Sheets that make a parser work hardest for their size: many open brackets, long
#: multi-line strings, lines that never close (benchmarks/pathological_sheets.py times them).
PATHOLOGICAL_SHEETS = {
    "open.toml": "\n".join(f"K{s} = [\n" + "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,\n" * 199 for s in range(25)),
    "strings.toml": "\n".join(f'K{s} = """\n' + "text\n" * 199 for s in range(25)),
    "lines.toml": "K = [[1, [2, [3\n" * 5000,
    "open.yaml": "".join(f"K{s}: [1,\n" for s in range(4000)),
    # thousands of [ a line: PyYAML's scanner walks every open [ at every token (seconds a line);
    # tomllib's parser recurses once per [ (a RecursionError, which read_sheet must not raise)
    "deep.yaml": "".join(f"K{s}: " + "[" * 3000 + "\n" for s in range(80)),
    "deep.toml": "".join(f"K{s} = " + "[" * 3000 + "\n" for s in range(80)),
    "deep_tables.toml": "K = " + "{a = " * 50_000 + "\n",
}
#: CPU seconds a pathological sheet may take to read, enforced by the kernel (RLIMIT_CPU).
SHEET_CPU_SECONDS = 20

_READ_UNDER_RLIMIT = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
from grader.engine.sheets import read_sheet
before = resource.getrusage(resource.RUSAGE_SELF)
contents = read_sheet(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"ok": contents.ok, "error": contents.error,
                   "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}}))
"""


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL_SHEETS))
def test_pathological_sheets_are_read_within_a_cpu_budget(name, tmp_path):
    # The work is bounded by the kernel, not timed: a reader that loops is killed at the limit.
    import json
    import subprocess
    import sys

    path = tmp_path / name
    path.write_text(PATHOLOGICAL_SHEETS[name])
    assert path.stat().st_size <= MAX_SHEET_BYTES  # within the size a sheet may have
    done = subprocess.run([sys.executable, "-c", _READ_UNDER_RLIMIT.format(cpu=SHEET_CPU_SECONDS), str(path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{name}: killed or failed (rc {done.returncode}): {done.stderr[-500:]}"
    outcome = json.loads(done.stdout)
    assert outcome["ok"] or outcome["error"]


def test_a_python_sheet_saved_as_toml_still_reads(paper, points, tmp_path):
    answers = expected_answers(paper)
    text = render_sheet(paper, fmt="py", answers={k: v for k, v in answers.items() if k != "NET_LOSS"})
    path = tmp_path / "python.toml"
    path.write_text(text)
    result = grade_answer_sheet(paper, path)
    assert result.score == pytest.approx(30 - points["NET_LOSS"]), messages(result)
    assert "is not answered" in case_of(result, "NET_LOSS").message


def test_yaml_without_pyyaml_is_a_clear_load_error(paper, key_sheet, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    result = grade_answer_sheet(paper, key_sheet(paper, "y", "yaml"))
    assert not result.load.ok and "use .toml" in result.load.error
