"""`dlgrade check` says why a cell failed, first, with its line, and what the check is waiting on.

Each submission is assignment 01's master solution (a `# %%` script) with one
cell broken in a way students break them: a syntax error, an `import torch`
that fails before `import numpy as np`, a cell that never finishes, a cell
that prints past the output cap. The public checks come from the student
template, as a student runs them.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.cli.check import Progress
from grader.course.generate.markers import solution_source

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = solution_source((ROOT / "assignments" / "01_backprop" / "master.py").read_text())
CHECKS = ROOT / "student_template" / "01_backprop" / "checks" / "public.json"
DENSE_CELL = "# %%\ndef dense_forward(x, W, b):"


def line_of(source: str, text: str) -> int:
    return source[: source.index(text)].count("\n") + 1


def check(tmp_path: Path, name: str, source: str, *limits: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    args = [arg for limit in limits for arg in ("--limit", limit)]
    return subprocess.run([sys.executable, "-m", "grader.cli", "check", str(path), "--checks", str(CHECKS), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def before_the_table(stdout: str) -> str:
    return stdout.split("question", 1)[0]


# One submission with three broken cells (one `dlgrade check` run, to keep the suite fast):
# the cell that defines dense_forward starts with a line that does not compile, a cell
# before it never finishes, a cell after it prints past a 64 KiB output cap.
ENDLESS = "# %%\nwhile True:\n    pass\n\n\n"
LOUD = "# %%\nfor _ in range(100):\n    print('x' * 4096)\n\n\n"
BROKEN = REFERENCE.replace(DENSE_CELL, ENDLESS + "# %%\ndef broken(:\n    pass\n\n\n" + DENSE_CELL[len("# %%\n"):])
BROKEN = BROKEN.replace("# %%\ndef squared_error_loss", LOUD + "# %%\ndef squared_error_loss", 1)
TORCH_FIRST = REFERENCE.replace("# %%\nimport numpy as np", "# %%\nimport torch\nimport numpy as np", 1)


@pytest.fixture(scope="module")
def broken_cells(tmp_path_factory):
    assert BROKEN.count("# %%\n") == REFERENCE.count("# %%\n") + 2, "the cells to break are where they were"
    return check(tmp_path_factory.mktemp("broken"), "broken_cells", BROKEN, "load_seconds=3", "wall_seconds=40",
                 f"file_bytes={64 * 1024}")


@pytest.fixture(scope="module")
def torch_first(tmp_path_factory):
    return check(tmp_path_factory.mktemp("torch"), "torch_first", TORCH_FIRST)


def test_a_syntax_error_in_a_cell_is_shown_first_with_its_line(broken_cells):
    run = broken_cells
    assert run.returncode == 1
    top = before_the_table(run.stdout)
    marker = line_of(BROKEN, "# %%\ndef broken(:")
    assert f"The cell at line {marker} raised: SyntaxError: invalid syntax" in top, run.stdout
    assert f"line {marker + 1})" in top  # the line of the error itself
    assert "fix these first" in top
    # the question that misses dense_forward points back to the (first) failed cell
    first = line_of(BROKEN, ENDLESS)
    assert (f"`dense_forward` is not defined in your submission (the cell at line {first} and 2 other cell(s) "
            "of your file raised an error, shown at the top: fix that first)") in run.stdout


def test_a_failing_import_is_shown_first_and_explains_the_missing_names(torch_first):
    run = torch_first
    top = before_the_table(run.stdout)
    marker = line_of(TORCH_FIRST, "# %%\nimport torch")
    assert f"The cell at line {marker} raised: ModuleNotFoundError: No module named 'torch'" in top, run.stdout
    assert f"line {marker + 1}" in top and "import torch" in top
    assert "name 'np' is not defined" in run.stdout.split("question", 1)[1]
    assert "fix that first" in run.stdout.split("question", 1)[1]


def test_a_cell_that_never_finishes_is_named_with_the_time_limit(broken_cells):
    top = before_the_table(broken_cells.stdout)
    marker = line_of(BROKEN, ENDLESS)
    assert (f"The cell at line {marker} was not run: it did not finish within the load time limit of 3 s; "
            "the submission was run again without this cell") in top, broken_cells.stdout


def test_output_past_the_cap_names_the_cap_and_its_size(broken_cells):
    top = before_the_table(broken_cells.stdout)
    marker = line_of(BROKEN, LOUD)
    assert f"The cell at line {marker} raised: OSError: [Errno 27] File too large" in top, broken_cells.stdout
    assert "more than the output cap: 64 KiB per file (the file_bytes limit)" in top


def test_every_failed_cell_comes_before_the_questions_in_the_order_of_the_file(broken_cells):
    top = before_the_table(broken_cells.stdout)
    found = [int(n) for n in re.findall(r"^The cell at line (\d+)", top, flags=re.M)]
    assert found == sorted(found) and len(found) == 3


def test_check_shows_each_step_on_standard_error(torch_first):
    steps = re.findall(r"^checking: (.*) \.\.\.$", torch_first.stderr, flags=re.M)
    assert steps[0].startswith("loading torch_first.py (its cells run, up to ")
    assert steps[1:] == ["question 1 of 3: sigmoid_basics", "question 2 of 3: dense_forward_shape",
                         "question 3 of 3: answers_are_numbers"]
    assert "checking:" not in torch_first.stdout


def test_progress_reminds_while_a_step_goes_on():
    stream = io.StringIO()
    with Progress(stream, every=1.0) as progress:
        progress.step("question 1 of 1: slow")
        waited = 0.0
        while "still on" not in stream.getvalue() and waited < 30:
            time.sleep(0.2)
            waited += 0.2
    assert "checking: question 1 of 1: slow ...\n" in stream.getvalue()
    assert re.search(r"checking: still on question 1 of 1: slow \(\d+ s\)", stream.getvalue())


@pytest.mark.parametrize("view", ["student", "instructor"])
def test_reports_and_gradescope_show_the_failed_cell_first(tmp_path, view):
    from grader.engine.authoring import CompiledAssignment
    from grader.engine.grading import grade_submission
    from grader.engine.text_report import text_report

    path = tmp_path / "torch_first.py"
    path.write_text(TORCH_FIRST)
    result = grade_submission(CompiledAssignment.load(CHECKS), path)
    marker = line_of(TORCH_FIRST, "# %%\nimport torch")
    first = f"The cell at line {marker} raised: ModuleNotFoundError: No module named 'torch'"
    assert result.to_gradescope(view)["output"].startswith(first)
    report = text_report(result, view)
    assert report.index(first) < report.index("question")


def test_the_student_page_names_the_failed_cell_by_its_line(tmp_path):
    from grader.engine.authoring import CompiledAssignment
    from grader.engine.grading import grade_submission

    path = tmp_path / "torch_first.py"
    path.write_text(TORCH_FIRST)
    from grader.course.feedback import write_result_folder

    result = grade_submission(CompiledAssignment.load(CHECKS), path)
    write_result_folder(result, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    marker = line_of(TORCH_FIRST, "# %%\nimport torch")
    assert f"The cell at line {marker} raised:" in html and "1 cell raised an error" in html
    assert "No module named &#x27;torch&#x27;" in html
