"""Each authoring mistake is caught by `dlgrade validate` and named with its file, question and line.

Every test starts from the assignment `dlgrade new` writes (which validates
as it stands), makes one mistake an instructor makes, and reads the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from authoring_support import dlgrade

from grader.course.scaffold.files import write_assignment
from grader.course.validate.proof import validate

NAME = "05_scale"


@pytest.fixture
def course(tmp_path) -> Path:
    write_assignment(tmp_path / "assignments" / NAME, name=NAME, module="scale", title="Scale and shift")
    return tmp_path


def edit(path: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` in ``path``; return the 1-based line where it starts."""
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return text[:text.index(old)].count("\n") + 1


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if fragment in line)


def errors(report) -> list[str]:
    return [str(f) for f in report.errors]


def test_the_scaffold_validates_as_it_stands(course):
    report = validate(course / "assignments" / NAME, mutants=8)
    assert report.ok, report.text()


def test_a_misspelled_name_is_reported_at_the_call(course):
    questions = course / "assignments" / NAME / "questions.py"
    edit(questions, 'q.call("scale_shift_forward", x, gamma, beta, pick=0,\n               expected=scale_shift',
         'q.call("scale_shift_forwrd", x, gamma, beta, pick=0,\n               expected=scale_shift')
    line = line_of(questions, '"scale_shift_forwrd"')
    report = validate(course / "assignments" / NAME, mutants=0, examples=False)
    assert errors(report) == [f"{questions}:{line}: question forward_values: calls 'scale_shift_forwrd', which "
                              "master.py does not define; did you mean 'scale_shift_forward'?"]
    # `generate` runs the cheap part first and writes nothing
    run = dlgrade("generate", NAME, course=course)
    assert run.returncode == 1 and f"questions.py:{line}: question forward_values" in run.stderr, run.stderr
    assert not (course / "student_template").exists()


def test_a_wrong_master_answer_is_reported_at_its_question(course):
    folder = course / "assignments" / NAME
    edit(folder / "master.py", "MEAN_OF_SQUARES = 7.5  # SOLUTION", "MEAN_OF_SQUARES = 7.0  # SOLUTION")
    report = validate(folder, mutants=0, examples=False)
    line = _decorator_line(folder / "questions.py", "mean_of_squares")
    assert len(report.errors) == 1, report.text()
    finding = report.errors[0]
    assert (finding.file, finding.line, finding.question) == (str(folder / "questions.py"), line, "mean_of_squares")
    assert finding.message.startswith("the master scores 0/1 through the sandbox"), finding.message


def _decorator_line(questions: Path, function: str) -> int:
    lines = questions.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
    return index  # the decorator is on the line above `def`: 1-based, that is `index`


def test_a_question_no_mutation_can_fail_is_reported(course):
    questions = course / "assignments" / NAME / "questions.py"
    questions.write_text(questions.read_text() + '''

@assignment.question(points=1)
def mean_of_squares_roughly(q):
    """MEAN_OF_SQUARES, within 100 (a tolerance no wrong answer can miss)"""
    q.answer("MEAN_OF_SQUARES", expected=7.5, check=Number(atol=100))
''')
    report = validate(course / "assignments" / NAME, mutants=12, examples=False)
    line = _decorator_line(questions, "mean_of_squares_roughly")
    assert len(report.errors) == 1, report.text()
    finding = report.errors[0]
    assert (finding.file, finding.line, finding.question) == (str(questions), line, "mean_of_squares_roughly")
    assert "no plausible wrong answer fails it" in finding.message and "MEAN_OF_SQUARES" in finding.message
    assert "master.py:" in finding.message  # where the tried edits are


def test_a_bad_check_option_is_reported_at_its_line_with_the_options(course):
    questions = course / "assignments" / NAME / "questions.py"
    line = edit(questions, "check=Number(decimals=2)", "check=Number(decimal=2)")
    run = dlgrade("validate", NAME, course=course)
    assert run.returncode == 1, run.stdout + run.stderr
    # run from the course folder, the file is named as the instructor would type it
    expected = (f"assignments/{NAME}/questions.py:{line}: question mean_of_squares: TypeError: Number.__init__() got an unexpected "
                "keyword argument 'decimal'")
    assert expected in run.stdout, run.stdout
    assert "did you mean 'decimals'?" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_a_helper_beside_the_master_points_to_key(course):
    questions = course / "assignments" / NAME / "questions.py"
    line = edit(questions, "from .key.scale_shift import", "from bn_reference import")
    report = validate(course / "assignments" / NAME, mutants=0)
    [finding] = report.errors
    assert (finding.file, finding.line) == (str(questions), line)
    assert "No module named 'bn_reference'" in finding.message and "key/" in finding.message


def test_an_edit_that_does_not_apply_names_its_example(course):
    examples = course / "assignments" / NAME / "examples" / "examples.toml"
    edit(examples, 'find = "dbeta = dout.sum(axis=0)"', 'find = "dbeta = dout.sum(0)"')
    report = validate(course / "assignments" / NAME, mutants=0)
    [finding] = report.errors
    assert (finding.file, finding.line) == (str(examples), line_of(examples, 'name = "dbeta_not_summed"'))
    assert "occurs 0 times in the solution" in finding.message


def test_a_wrong_declared_score_names_the_example(course):
    examples = course / "assignments" / NAME / "examples" / "examples.toml"
    edit(examples, "score = 9", "score = 8")
    report = validate(course / "assignments" / NAME, mutants=0)
    [finding] = report.errors
    assert (finding.file, finding.line) == (str(examples), line_of(examples, 'name = "dbeta_not_summed"'))
    assert "declares 8 but scores 9 (backward 2/3)" in finding.message


def test_unpaired_markers_are_reported_at_their_line(course):
    master = course / "assignments" / NAME / "master.py"
    edit(master, "    # END SOLUTION\n\n\n# %% [markdown]\n# ## 2.", "\n\n\n# %% [markdown]\n# ## 2.")
    report = validate(course / "assignments" / NAME, mutants=0)
    assert [(f.file, f.message) for f in report.errors] == [
        (str(master), "BEGIN SOLUTION inside the block opened on line " + str(line_of(master, "BEGIN SOLUTION")))]


def test_an_assignment_without_examples_is_valid_and_says_so(course):
    (course / "assignments" / NAME / "examples" / "examples.toml").unlink()
    report = validate(course / "assignments" / NAME, mutants=0)
    assert report.ok, report.text()
    assert any("no examples yet" in str(f) for f in report.findings)
