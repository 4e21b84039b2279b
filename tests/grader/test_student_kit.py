"""What students download: the template and the grading engine, never the answer key.

The kit is built through the command line, unpacked, and its engine runs
`dlgrade check` from the kit's own `grader` package with the answer key and
the instructor's extras (databases, Jupyter tooling, TensorFlow) made
unimportable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from fill_template import fill

from grader.course.generate.markers import solution_source

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ["reference", "assignments", "sqlalchemy", "psycopg", "jupytext", "nbformat", "matplotlib",
           "tensorflow", "keras", "otter", "mlxtend", "tqdm", "yaml"]


def kit(tmp_path: Path) -> Path:
    run = subprocess.run([sys.executable, "-m", "grader.cli", "student-kit", "01_backprop", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return tmp_path / "01_backprop-student.zip"


def check_with_kit_engine(engine: Path, submission: Path) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        class Blocked(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ModuleNotFoundError(f"{{name}} is not in the student kit", name=name)
        sys.meta_path.insert(0, Blocked())
        sys.path.insert(0, {str(engine)!r})
        import grader
        assert grader.__file__.startswith({str(engine)!r}), grader.__file__
        from grader.cli import main
        sys.exit(main(["check", {str(submission)!r}]))
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=submission.parent, capture_output=True, text=True,
                          timeout=300)


def test_the_kit_holds_no_answer_key(tmp_path):
    path = kit(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        text = {n: archive.read(n).decode("utf-8", "replace") for n in names if not n.endswith(".npz")}
    assert "01_backprop/backprop.py" in names and "01_backprop/backprop.ipynb" in names
    assert "dlgrade-engine/pyproject.toml" in names and "README.md" in names
    assert not any(n.startswith(("reference/", "assignments/")) or "/reference/" in n for n in names)
    assert not any(n.endswith(("master.py", "questions.py", "examples.toml")) for n in names)
    public = json.loads(text["01_backprop/checks/public.json"])
    assert public["questions"] and all(q["public"] for q in public["questions"])
    solution_line = "return dout @ W.T, x.T @ dout, dout.sum(axis=0)"  # a line of the master solution
    assert solution_line in (ROOT / "assignments" / "01_backprop" / "master.py").read_text()
    assert not any(solution_line in body for body in text.values())


def test_the_kit_engine_runs_dlgrade_check_alone(tmp_path):
    path = kit(tmp_path)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(path).extractall(unpacked)
    engine, template = unpacked / "dlgrade-engine", unpacked / "01_backprop" / "backprop.py"

    untouched = check_with_kit_engine(engine, template)
    assert untouched.returncode == 1, untouched.stdout + untouched.stderr
    assert "TODO" in untouched.stdout and "not implemented yet" in untouched.stdout

    solution = solution_source((ROOT / "assignments" / "01_backprop" / "master.py").read_text())
    template.write_text(fill(template.read_text(), solution))
    solved = check_with_kit_engine(engine, template)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "3 of 3 public questions pass" in solved.stdout
