"""An instructor's new assignment, from `dlgrade new` to every place it ships, in a course folder of its own.

`dlgrade new` scaffolds it; the test edits it as an instructor would (a new
function in the master, its answer key in the assignment's own key/, a new
question and a new example); then validate, generate, student-kit, grade,
gradescope and export otter run on it. The key's code never reaches the
template, the kit, the Gradescope zip, the otter export or the sandbox.
"""

from __future__ import annotations

import csv
import os
import shutil
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest
from authoring_support import ROOT, dlgrade, repository_state

NAME, MODULE = "05_batchnorm", "batchnorm"
# A string only the answer key holds: wherever it shows up, the key leaked.
KEY_MARK = "answer-key-only-3f9c1e"

CENTER_MASTER = '''

# %% [markdown]
# ## 5. Centering
#
# Subtract each feature's mean over the batch: x (N, D) -> (N, D), columns of mean 0.


# %%
def center(x):
    """x: (N, D). Returns x minus its column means (N, D)."""
    # BEGIN SOLUTION
    # HINT: the mean over the batch is the mean along axis 0.
    return x - x.mean(axis=0)
    # END SOLUTION
'''

CENTER_KEY = f'''

def center(x):
    """{KEY_MARK}: x minus its column means."""
    return x - np.mean(x, axis=0, keepdims=True)
'''

CENTER_QUESTION = '''

@assignment.question(points=2)
def centering(q):
    """center: every column has mean 0"""
    x = q.rng.normal(size=(6, 3)) * 2 + 1
    q.call("center", x, expected=center(x), check=ArrayClose(rtol=1e-10, atol=1e-12))
'''

CENTER_EXAMPLE = '''
[[example]]
name = "center_by_row"
about = "the mean taken over each row instead of each column"
score = 10
[[example.replace]]
find = "return x - x.mean(axis=0)"
with = "return x - x.mean(axis=1, keepdims=True)"
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the new assignment, edited by its instructor."""
    course = tmp_path_factory.mktemp("course")
    before = repository_state()
    run = dlgrade("new", NAME, "--module", MODULE, "--title", "Batch normalisation", course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    folder = course / "assignments" / NAME
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "master.py", "questions.py", "instructions.md", "policy.toml", "examples/examples.toml",
        "key/__init__.py", "key/scale_shift.py"}

    # The instructor's edits: a function, its key, a question, an example.
    (folder / "master.py").write_text((folder / "master.py").read_text() + CENTER_MASTER)
    (folder / "key" / "centering.py").write_text("import numpy as np\n" + CENTER_KEY)
    questions = (folder / "questions.py").read_text().replace(
        "from .key.scale_shift import", "from .key.centering import center\nfrom .key.scale_shift import")
    (folder / "questions.py").write_text(questions + CENTER_QUESTION)
    examples = (folder / "examples" / "examples.toml").read_text().replace("score = 10\n", "score = 12\n", 1)
    examples = examples.replace('score = 9\n', 'score = 11\n')
    (folder / "examples" / "examples.toml").write_text(examples + CENTER_EXAMPLE)
    yield course
    assert repository_state() == before, "a command wrote into the repository"


def test_validate_proves_the_edited_assignment(course):
    run = dlgrade("validate", NAME, course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{NAME}: valid" in run.stdout
    for step in ("every name the questions use is defined in master.py",
                 "the master scores full marks through the sandbox (12/12",
                 "each of the 3 examples scores its declared score",
                 "the public checks carry no value a hidden question expects",
                 "mutation testing:"):
        assert step in run.stdout, run.stdout
    assert "not generated yet" in run.stdout  # before `generate`: a note, not an error


def test_generate_writes_the_course_template_then_validate_sees_it_up_to_date(course):
    run = dlgrade("generate", NAME, course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    template = course / "student_template" / NAME
    assert sorted(p.name for p in template.iterdir()) == ["batchnorm.ipynb", "batchnorm.py", "checks",
                                                          "instructions.md"]
    stub = (template / "batchnorm.py").read_text()
    assert "raise NotImplementedError('center: the mean over the batch is the mean along axis 0.')" in stub
    assert (course / "assignments" / NAME / "examples" / "center_by_row.py").is_file()
    check = dlgrade("generate", "--check", NAME, course=course)
    assert check.returncode == 0, check.stdout + check.stderr
    run = dlgrade("validate", NAME, "--mutants", "0", "--no-examples", course=course)
    assert run.returncode == 0 and "the student template is up to date" in run.stdout, run.stdout


def test_generate_out_writes_only_where_it_is_told(course, tmp_path):
    out, cwd = tmp_path / "templates", tmp_path / "elsewhere"
    cwd.mkdir()
    examples = course / "assignments" / NAME / "examples"
    stamps = {p: p.stat().st_mtime_ns for p in examples.iterdir()}
    run = dlgrade("generate", NAME, "--out", str(out), course=course, cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (out / NAME / "batchnorm.py").is_file()
    assert {p: p.stat().st_mtime_ns for p in examples.iterdir()} == stamps, "examples were rewritten"
    assert list(cwd.iterdir()) == []
    run = dlgrade("generate", NAME, "--out", str(out), "--examples-out", str(tmp_path / "ex"), course=course, cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "ex" / NAME / "center_by_row.py").is_file()


def test_grade_gives_every_example_its_declared_score(course, tmp_path):
    run = dlgrade("grade", NAME, str(course / "assignments" / NAME / "examples"), "--out", str(tmp_path / "graded"),
                  "--no-progress", course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    with (tmp_path / "graded" / "summary.csv").open() as handle:
        scores = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
    declared = tomllib.loads((course / "assignments" / NAME / "examples" / "examples.toml").read_text())
    assert scores == {e["name"]: e["score"] for e in declared["example"]}


def _texts_of_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_student_kit_holds_no_answer_key(course, tmp_path):
    run = dlgrade("student-kit", NAME, "--out", str(tmp_path / "kits"), course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    files = _texts_of_zip(tmp_path / "kits" / f"{NAME}-student.zip")
    assert f"{NAME}/batchnorm.py" in files and f"{NAME}/checks/public.json" in files
    assert not [n for n in files if n.endswith(("questions.py", "master.py")) or "/key/" in n]
    assert not [n for n, data in files.items() if KEY_MARK.encode() in data]


def test_gradescope_zip_holds_no_answer_key(course, tmp_path):
    out = tmp_path / "autograder.zip"
    run = dlgrade("gradescope", NAME, "--out", str(out), course=course)
    assert run.returncode == 0, run.stdout + run.stderr
    files = _texts_of_zip(out)
    assert "compiled/assignment.json" in files
    assert not [n for n in files if n.endswith(("questions.py", "master.py")) or "/key/" in n]
    assert not [n for n, data in files.items() if KEY_MARK.encode() in data]


def test_export_otter_writes_a_valid_master_notebook_without_the_key(course, tmp_path):
    # `otter assign` and `otter run` on an export are tested in tests/interop/test_otter.py; here the
    # export of a course outside the repository is produced, valid, and free of the key's code.
    out = tmp_path / "otter"
    run = dlgrade("export", "otter", NAME, "--out", str(out), course=course, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    notebook = nbformat.read(out / "batchnorm.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert any("def center(x)" in cell.source for cell in notebook.cells)
    assert not [p for p in out.rglob("*") if p.is_file() and KEY_MARK.encode() in p.read_bytes()]


def _require_mode(mode: str) -> None:
    from grader.engine.sandbox import isolation_available

    if mode == "bwrap":
        ok, why = isolation_available("auto")
        if not ok:
            if os.geteuid() == 0 and shutil.which("bwrap"):
                pytest.fail(f"bubblewrap is installed and this is root, yet isolation is unavailable: {why}")
            pytest.skip(f"bubblewrap isolation cannot run here: {why}")
    else:
        from grader.engine.sandbox import landlock

        version, why = landlock.abi()
        if not version:
            pytest.skip(f"without Landlock the fallback child reads what its user may (README, limits): {why}")


@pytest.mark.parametrize("mode", ["bwrap", "none"])
def test_the_sandbox_child_cannot_read_the_key_or_the_assignments(course, tmp_path, mode):
    """The master, with MEAN_OF_SQUARES right only if every read of the key and assignments/ is refused."""
    _require_mode(mode)
    folder = course / "assignments" / NAME
    secrets = [folder / "key" / "centering.py", folder / "questions.py",
               ROOT / "assignments" / "01_backprop" / "questions.py"]
    probe = f'''
# %%
def _refused(path):
    try:
        with open(path) as handle:
            handle.read()
    except OSError:
        return True
    return False


MEAN_OF_SQUARES = 7.5 if all(_refused(p) for p in {[str(p) for p in secrets]!r}) else 0.0
'''
    from grader.course.generate.markers import solution_source

    submission = tmp_path / "batchnorm.py"
    submission.write_text(solution_source((folder / "master.py").read_text()).replace(
        "MEAN_OF_SQUARES = 7.5", "MEAN_OF_SQUARES = None") + probe)
    run = dlgrade("grade", NAME, str(submission), "--out", str(tmp_path / "graded"), "--no-progress",
                  course=course, env={"DLGRADE_SANDBOX": mode})
    assert run.returncode == 0, run.stdout + run.stderr
    with (tmp_path / "graded" / "summary.csv").open() as handle:
        row = next(csv.DictReader(handle))
    assert float(row["mean_of_squares"]) == 1.0, ((tmp_path / "graded" / "batchnorm" / "report.txt").read_text())
    assert float(row["score"]) == 12.0
