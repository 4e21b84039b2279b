"""The otter-grader export: otter itself grades dlgrade's assignment from it.

`dlgrade export otter 01_backprop` writes an otter-assign master notebook;
`otter assign` turns it into otter's student and autograder versions, and
`otter run` (otter's grading without containers) grades notebooks with the
autograder zip otter produced. otter runs take several seconds each, so the
suite makes three: the reference (full marks), an example mistake (its
declared score) and the same mistake with a cell patching dlgrade's checks,
which otter's kernel lets through and dlgrade's sandbox does not.

Mapping checked here (see grader/course/export/otter.py): one otter test per case,
worth the case's share of its question's points, and K tests for a check with
credit in steps of 1/K; so otter's score is `implied_otter_score(...)` of
dlgrade's result, which equals dlgrade's own score for every example of 01.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.cli import export as command
from grader.course.export import otter
from grader.course.generate.markers import solution_source
from grader.course.generate.notebook import notebook_from_percent_script
from grader.engine.authoring import load_assignment
from grader.engine.grading import grade_submission

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_backprop"
FOLDER = ROOT / "assignments" / ASSIGNMENT
EXAMPLES = FOLDER / "examples"
MISTAKE = "missing_one_over_n"
DECLARED = {e["name"]: float(e["score"]) for e in tomllib.loads((EXAMPLES / "examples.toml").read_text())["example"]}
TELLTALE = "return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))"   # a line of the master solution
CHEAT = ("import grader.engine.checks as _checks\n"
         "_checks.Check.check = lambda self, got, expected: _checks.CheckResult(1.0, 'correct')\n")


@pytest.fixture(scope="module")
def compiled():
    return load_assignment(ASSIGNMENT).compile()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The export, made through the command's own parser (what `dlgrade export otter` runs)."""
    out = tmp_path_factory.mktemp("otter-export")
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["export", "otter", ASSIGNMENT, "--out", str(out)])
    assert args.run(args) == 0
    return out


@pytest.fixture(scope="module")
def assigned(exported, tmp_path_factory) -> Path:
    """`otter assign` on the export (its own run of the tests is left to the otter runs below)."""
    pytest.importorskip("ipykernel", reason="otter runs notebooks in a Jupyter kernel: install ipykernel")
    dist = tmp_path_factory.mktemp("otter-dist") / "dist"
    done = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests", "backprop.ipynb", str(dist)],
                          cwd=exported, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return dist


def otter_zip(dist: Path) -> Path:
    zips = list((dist / "autograder").glob("backprop-autograder_*.zip"))
    assert len(zips) == 1, zips
    return zips[0]


def otter_run(dist: Path, notebook: Path, out: Path) -> tuple[float, dict]:
    """Grade ``notebook`` with otter's autograder zip; return otter's total score and its results."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(otter_zip(dist)),
                           "-o", str(out), str(notebook)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    scores = {t["name"]: t["score"] for t in results["tests"] if t.get("score") is not None}
    return sum(scores.values()), scores


def example_notebook(name: str, tmp_path: Path, extra_cell: str | None = None) -> Path:
    source = (EXAMPLES / f"{name}.py").read_text()
    notebook = nbformat.reads(notebook_from_percent_script(source), as_version=4)
    if extra_cell:
        notebook.cells.append(nbformat.v4.new_code_cell(extra_cell))
    path = tmp_path / f"{name}.ipynb"
    path.write_text(nbformat.writes(notebook))
    return path


# --------------------------------------------------------------------------
# The export itself (no otter run)
# --------------------------------------------------------------------------

def test_master_notebook_follows_otter_assign_format(exported, compiled):
    notebook = nbformat.read(exported / "backprop.ipynb", as_version=4)
    raw = [c.source for c in notebook.cells if c.cell_type == "raw"]
    assert raw[0].startswith("# ASSIGNMENT CONFIG")
    begins = [s for s in raw if s.startswith("# BEGIN QUESTION")]
    placed = [s.split("name:")[1].strip().strip('"') for s in begins]
    assert sorted(placed) == sorted(q.name for q in compiled.questions)
    # A question follows the cell defining what it exercises: sigmoid's first, the answers' last.
    assert placed[0] == "sigmoid_basics" and placed[-1] == "given_network_mse"
    for marker in ("# BEGIN TESTS", "# END TESTS", "# END QUESTION"):
        assert sum(s == marker for s in raw) == len(compiled.questions), marker

    tests = [c.source for c in notebook.cells if c.cell_type == "code" and "# BEGIN TEST CONFIG" in c.source]
    assert len(tests) == sum(len(otter.otter_tests(q)) for q in compiled.questions)
    assert all("dlgrade_otter.replay(env" in t and "check.check(got, expected)" in t for t in tests)
    hidden = {q.name for q in compiled.questions if not q.public}
    for source in tests:
        question = source.split("replay(env, '")[1].split("'")[0]
        assert ("hidden: true" in source) == (question in hidden), source

    # Points: each question keeps its points, spread over its otter tests.
    for question in compiled.questions:
        assert sum(t.points for t in otter.otter_tests(question)) == pytest.approx(question.points)
    # Partial credit of a gradient check of dx, dW, db: three tests per case.
    gradients = otter.otter_tests(compiled.question("dense_backward_gradients"))
    assert [(t.case, t.part, t.parts) for t in gradients] == [(0, 1, 3), (0, 2, 3), (0, 3, 3),
                                                               (1, 1, 3), (1, 2, 3), (1, 3, 3)]

    # Hidden cases are only in the autograder's data file.
    config = raw[0]
    assert "autograder_files:\n  - dlgrade_hidden.json" in config
    public_data = (exported / "dlgrade_public.json").read_text()
    assert all(f'"{name}"' not in public_data for name in hidden)


def test_vendored_checks_are_self_contained(exported):
    """Where otter grades, `grader` is the copy shipped with the export, complete for the tests."""
    probe = ("import sys, dlgrade_otter, grader\n"
             "from grader.engine.checks import check_from_spec\n"
             "mine = [m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'grader'"
             " and getattr(m, '__file__', None)]\n"
             "print(all(f.startswith(sys.argv[1]) for f in mine), len(mine))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(exported)], cwd=exported, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    inside, count = done.stdout.split()
    assert inside == "True" and int(count) > 5


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the unstable sigmoid example overflows
def test_replay_in_process_agrees_with_dlgrade_case_by_case(exported, compiled, monkeypatch):
    """Without otter: every example's notebook namespace, replayed through dlgrade_otter, gets
    the same per-case credit as dlgrade's sandboxed grading, hence otter's implied score is the
    declared one for every example."""
    import importlib.util

    from grader.engine.sandbox.child.loader import py_cells

    spec = importlib.util.spec_from_file_location("dlgrade_otter_under_test", exported / "dlgrade_otter.py")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    monkeypatch.chdir(exported)

    for path in sorted(EXAMPLES.glob("*.py")):
        namespace = {"__name__": "backprop"}
        for _, cell in py_cells(path.read_text()):   # as its notebook runs: a failing cell costs only itself
            try:
                exec(compile(cell, str(path), "exec"), namespace)
            except Exception:
                pass
        result = grade_submission(compiled, path)
        for question, graded in zip(compiled.questions, result.questions):
            for index, case_result in enumerate(graded.cases):
                try:
                    got, expected, check = helper.replay(namespace, question.name, index)
                    fraction = check.check(got, expected).fraction
                except helper.CaseFailure:
                    fraction = 0.0
                assert fraction == pytest.approx(case_result.fraction), \
                    f"{path.name} {question.name}[{index}]: replay {fraction}, dlgrade {case_result.fraction}"
        implied = otter.implied_otter_score(compiled, result)
        assert implied == pytest.approx(DECLARED[path.stem], abs=1e-3), path.name
        assert implied == pytest.approx(result.score, abs=1e-3), path.name


def test_otter_assign_keeps_solutions_and_hidden_cases_from_students(assigned):
    student = assigned / "student"
    assert not list(student.glob("dlgrade_hidden*")), "hidden cases in the student folder"
    notebook = (student / "backprop.ipynb").read_text()
    assert TELLTALE not in notebook and "BEGIN PROMPT" not in notebook and "BEGIN SOLUTION" not in notebook
    template = (ROOT / "student_template" / ASSIGNMENT / "backprop.py").read_text()
    stubs = [line.strip() for line in template.splitlines() if "NotImplementedError" in line or "TODO" in line]
    assert stubs and all(json.dumps(s)[1:-1] in notebook for s in stubs), "the student notebook has dlgrade's stubs"
    with zipfile.ZipFile(otter_zip(assigned)) as archive:
        names = set(archive.namelist())
    assert {"files/dlgrade_hidden.json", "files/dlgrade_hidden.npz", "files/dlgrade_otter.py",
            "files/grader/engine/checks/__init__.py", "tests/squared_error.py"} <= names
    autograder_notebook = (assigned / "autograder" / "backprop.ipynb").read_text()
    assert json.dumps(TELLTALE)[1:-1] in autograder_notebook
    assert TELLTALE in solution_source((FOLDER / "master.py").read_text())


def test_exams_are_refused(tmp_path):
    from grader.course.exam import is_exam

    names = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/questions.py"))
    exams = [name for name in names if is_exam(load_assignment(name))]
    assert exams, "the course ships an exam (assignments/midterm): this test needs one"
    with pytest.raises(ValueError, match="exam"):
        otter.export_otter(exams[0], tmp_path)


# --------------------------------------------------------------------------
# otter run: three notebooks
# --------------------------------------------------------------------------

def test_otter_grades_the_reference_to_full_marks(assigned, tmp_path, compiled):
    total, scores = otter_run(assigned, EXAMPLES / "reference_notebook.ipynb", tmp_path / "out")
    assert total == pytest.approx(compiled.max_score)
    assert scores == pytest.approx({q.name: q.points for q in compiled.questions})


def test_otter_gives_the_example_mistake_its_declared_score(assigned, tmp_path, compiled):
    notebook = example_notebook(MISTAKE, tmp_path)
    total, scores = otter_run(assigned, notebook, tmp_path / "out")
    dlgrade = grade_submission(compiled, notebook)
    assert dlgrade.score == pytest.approx(DECLARED[MISTAKE], abs=1e-3)
    assert total == pytest.approx(otter.implied_otter_score(compiled, dlgrade), abs=1e-6)
    assert total == pytest.approx(DECLARED[MISTAKE], abs=1e-3)
    assert [name for name, score in scores.items() if score < compiled.question(name).points - 1e-9] == ["squared_error"]


def test_patching_the_checks_fools_otter_but_not_dlgrade(assigned, tmp_path, compiled):
    """OTTER_SECURITY.md, measured: the same notebook, graded by both."""
    notebook = example_notebook(MISTAKE, tmp_path, extra_cell=CHEAT)
    total, _ = otter_run(assigned, notebook, tmp_path / "out")
    assert total == pytest.approx(compiled.max_score), "otter's kernel ran the patched checks"
    dlgrade = grade_submission(compiled, notebook)
    assert dlgrade.score == pytest.approx(DECLARED[MISTAKE], abs=1e-3)
    failed_cells = [c for c in dlgrade.load.cells if not c["ok"]]
    assert len(failed_cells) == 1 and "No module named 'grader'" in failed_cells[0]["error"]
