"""``dlgrade submit`` against a running server gives every example submission of assignment 01
the same score as ``dlgrade grade``; and it runs with the standard library and the engine alone
(Flask, SQLAlchemy, numpy and sympy made unimportable), as in the student kit."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys

import pytest
from web_support import EXAMPLES, ROOT, Client, issue_tokens

from grader.cli import main

EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))


def graded_by_dlgrade_grade(tmp_path) -> dict[str, float]:
    folder = tmp_path / "class"
    folder.mkdir()
    for path in EXAMPLE_FILES:
        shutil.copyfile(path, folder / path.name)
    out = tmp_path / "graded"
    subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(folder), "--out", str(out),
                    "--jobs", "2", "--no-progress"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    with (out / "summary.csv").open() as handle:
        return {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}


def submitted_score(output: str) -> float:
    found = re.search(r"^score: ([0-9.]+) / 31$", output, re.M)
    assert found, output
    return float(found.group(1))


def test_submit_scores_match_dlgrade_grade(course_dir, start_server, tmp_path, capsys):
    expected = graded_by_dlgrade_grade(tmp_path)
    assert len(expected) == len(EXAMPLE_FILES) >= 8
    students = {path.stem: f"st_{path.stem}" for path in EXAMPLE_FILES}
    tokens = issue_tokens(course_dir, list(students.values()))
    server = start_server(course_dir, workers=2)
    for path in EXAMPLE_FILES:
        capsys.readouterr()
        code = main(["submit", str(path), "--server", server.base, "--assignment", "01_backprop",
                     "--token", tokens[students[path.stem]], "--timeout", "300"])
        output = capsys.readouterr().out
        assert code == 0, output
        # summary.csv rounds to 4 decimals; the server prints the gradebook's score in full
        assert abs(submitted_score(output) - expected[path.stem]) <= 5e-5, (path.name, output)


@pytest.mark.parametrize("sandbox", ["auto", "none"])
def test_submit_needs_only_the_standard_library_and_the_engine(course_dir, start_server, tmp_path, sandbox):
    """In both sandbox modes: the server's worker grades with bubblewrap where it runs, and with
    the fallback when DLGRADE_SANDBOX=none."""
    token = issue_tokens(course_dir, ["kit_user"])["kit_user"]
    server = start_server(course_dir, workers=1, env={"DLGRADE_SANDBOX": sandbox} if sandbox == "none" else None)
    blocked = ["flask", "werkzeug", "waitress", "sqlalchemy", "numpy", "sympy", "psycopg", "jinja2"]
    program = ("import sys\n"
               f"for name in {blocked!r}: sys.modules[name] = None\n"
               "from grader.cli import main\n"
               "sys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, "DLGRADE_TOKEN": token}
    done = subprocess.run([sys.executable, "-c", program, "submit", str(EXAMPLES / "sign_error_dx.py"),
                           "--server", server.base, "--assignment", "01_backprop"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert submitted_score(done.stdout) == 29.666667
    assert "dense_backward_gradients" in done.stdout

    # A refusal is a clear message and exit status 2: the same file again.
    again = subprocess.run([sys.executable, "-c", program, "submit", str(EXAMPLES / "sign_error_dx.py"),
                            "--server", server.base, "--assignment", "01_backprop"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "identical to your upload" in again.stderr

    # The report says which isolation graded it.
    client = Client(server.base)
    client.sign_in(token)
    status, report = client.get("/s/1/report")
    assert status == 200
    from grader.engine.sandbox.isolation import isolation_available

    bubblewrap = sandbox == "auto" and isolation_available("bwrap")[0]
    assert ("bubblewrap (pid/net/ipc/uts/mount namespaces)" in report) == bubblewrap
    assert ("no namespaces" in report) == (not bubblewrap)
