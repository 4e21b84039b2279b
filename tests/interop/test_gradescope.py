"""The Gradescope autograder zip, run the way Gradescope runs it (without Gradescope).

The zip of 01_backprop is unpacked into a temporary ``autograder/source``
laid out as Gradescope lays it out, with ``submission/`` and ``results/``
beside it; ``setup.sh`` is not run (no network here): ``run_autograder``
runs with this environment's Python (``DLGRADE_GS_PYTHON``) and the paths
moved by ``DLGRADE_GS_ROOT``. Every ``results.json`` is validated against
Gradescope's results schema (``gradescope_results.schema.json``, written
from Gradescope's autograder specification).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.cli import gradescope as command
from grader.course.generate.markers import solution_source

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_backprop"
EXAMPLES = ROOT / "assignments" / ASSIGNMENT / "examples"
SCHEMA = Path(__file__).with_name("gradescope_results.schema.json")
MISTAKE = "missing_one_over_n"


def declared_score(name: str) -> float:
    examples = tomllib.loads((EXAMPLES / "examples.toml").read_text())["example"]
    return next(float(e["score"]) for e in examples if e["name"] == name)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    """Built through the command's own parser (the same code `dlgrade gradescope` runs)."""
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["gradescope", ASSIGNMENT, "--out", str(out)])
    assert args.run(args) == 0
    return out


def unpack(zip_path: Path, target: Path) -> None:
    """Unpack as `unzip` does: with the permission bits stored in the zip."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = archive.extract(info, target)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)


def autograder_root(tmp_path: Path, autograder_zip: Path, files: dict[str, Path | str]) -> Path:
    """``tmp_path/autograder/{source,submission,results}`` with ``files`` in the submission."""
    root = tmp_path / "autograder"
    unpack(autograder_zip, root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content)
    (root / "submission_metadata.json").write_text(json.dumps({"id": 123456, "users": []}))
    return root


def run_autograder(root: Path, **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    environment = {**os.environ, "DLGRADE_GS_ROOT": str(root), "DLGRADE_GS_PYTHON": sys.executable, **env}
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = root / "results" / "results.json"
    assert results.is_file(), done.stdout + done.stderr
    return json.loads(results.read_text()), done


# --------------------------------------------------------------------------
# The zip
# --------------------------------------------------------------------------

def test_zip_layout_and_scripts(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        names = set(infos)
        for script in ("setup.sh", "run_autograder"):
            assert script in names, f"{script} must be at the root of the zip"
            mode = (infos[script].external_attr >> 16) & 0o777
            assert mode & 0o111 == 0o111, f"{script} is not executable in the zip ({oct(mode)})"
            assert archive.read(script).startswith(b"#!/usr/bin/env bash\n"), script
        manifest = json.loads(archive.read("autograder.json"))
        texts = {n: archive.read(n).decode("utf-8", "replace") for n in names if not n.endswith(".npz")}
    assert {"compiled/assignment.json", "compiled/assignment.npz", "requirements.txt",
            "dlgrade/pyproject.toml", "dlgrade/grader/engine/gradescope_runner.py"} <= names

    # The answer key never ships: no reference package, no master, no question definitions.
    for name in names:
        parts = Path(name).parts
        assert "reference" not in parts and not name.startswith("reference"), name
        assert Path(name).name not in ("master.py", "questions.py"), name
        assert "assignments" not in parts and "__pycache__" not in parts, name
    solution_lines = [line.strip() for line in
                      solution_source((ROOT / "assignments" / ASSIGNMENT / "master.py").read_text()).splitlines()]
    telltale = "return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))"
    assert telltale in solution_lines, "the test's telltale line of the solution moved: update it"
    assert not [n for n, text in texts.items() if telltale in text], "the master solution's code is in the zip"

    # Hidden questions ship as data (the zip is for Gradescope, never for students).
    hidden = [q for q in manifest["questions"] if not q["public"]]
    public = [q for q in manifest["questions"] if q["public"]]
    assert hidden and public and manifest["max_score"] == 31
    assert all(q["name"] in texts["compiled/assignment.json"] for q in hidden)

    # Unpacked as Gradescope unpacks it, both scripts are executable bash scripts that parse.
    unpack(autograder_zip, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        assert path.stat().st_mode & stat.S_IXUSR
        subprocess.run(["bash", "-n", str(path)], check=True)
    setup = (tmp_path / "setup.sh").read_text()
    assert "apt-get install" in setup and "bubblewrap" in setup and "python3-venv" in setup
    assert "tensorflow" not in (tmp_path / "requirements.txt").read_text(), "01 trains no Keras model"


ALL = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/questions.py"))


@pytest.mark.parametrize("name", ALL)
def test_every_assignment_builds_without_its_answer_key_and_exams_are_refused(name, tmp_path):
    from grader.course.exam import is_exam
    from grader.course.gradescope.build import build_autograder
    from grader.engine.authoring import load_assignment

    if is_exam(load_assignment(name)):
        with pytest.raises(ValueError, match="exam"):
            build_autograder(name, tmp_path / "a.zip")
        return
    report = build_autograder(name, tmp_path / "a.zip")
    with zipfile.ZipFile(report.path) as archive:
        names = archive.namelist()
        requirements = archive.read("requirements.txt").decode()
    assert not [n for n in names if n.startswith(("reference/", "assignments/")) or n.endswith("master.py")]
    assert ("tensorflow-cpu==" in requirements) == report.needs_tensorflow


def test_building_twice_gives_the_same_bytes(tmp_path):
    from grader.course.gradescope.build import build_autograder

    first = build_autograder(ASSIGNMENT, tmp_path / "first.zip").path
    second = build_autograder(ASSIGNMENT, tmp_path / "second.zip").path
    assert first.read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------
# Grading, as Gradescope runs it
# --------------------------------------------------------------------------

def test_reference_scores_full_marks(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / "reference.py"})
    results, done = run_autograder(root)
    validator.validate(results)
    assert results["score"] == 31, results["output"]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == 31
    # The bundled grader graded it (not the one installed here), in the sandbox.
    assert f"from {root / 'source' / 'dlgrade' / 'grader'}" in done.stdout, done.stdout
    assert results["extra_data"]["submission"] == "gradescope-123456"
    visibility = {t["number"]: t["visibility"] for t in results["tests"]}
    assert visibility["sigmoid_basics"] == "visible" and visibility["squared_error"] == "after_published"
    assert results["stdout_visibility"] == "hidden"


def test_example_mistake_gets_its_declared_score(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / f"{MISTAKE}.py"})
    results, _ = run_autograder(root)
    validator.validate(results)
    assert results["score"] == pytest.approx(declared_score(MISTAKE), abs=1e-3)
    failed = [t["number"] for t in results["tests"] if t["status"] == "failed"]
    assert failed == ["squared_error"], results


def test_without_bubblewrap_a_submission_cannot_kill_the_grader_and_leave_fake_results(
        autograder_zip, tmp_path, validator):
    """A container that forbids bubblewrap: the child sees the grader and results/ on disk.

    The submission is the reference plus a first cell that SIGKILLs its
    parent (the grader) and writes a perfect results.json of its own. It must
    get the reference's score from the real grader, nothing more.
    """
    root = autograder_root(tmp_path, autograder_zip, {})
    fake = json.dumps({"score": 1000, "output": "forged", "tests": []})
    attack = (
        "# %%\nimport os, signal\n"
        "for path in ('/autograder/results/results.json', "
        f"{str(root / 'results' / 'results.json')!r}):\n"
        f"    try:\n        open(path, 'w').write({fake!r})\n    except OSError:\n        pass\n"
        "try:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept PermissionError:\n    KILL = 'refused'\n\n"
    )
    (root / "submission" / "backprop.py").write_text(attack + (EXAMPLES / "reference.py").read_text())
    results, done = run_autograder(root, DLGRADE_SANDBOX="none")
    validator.validate(results)
    assert results["score"] == 31 and "forged" not in results.get("output", ""), results
    from grader.engine.sandbox.isolation import FALLBACK_SECCOMP_WORDS

    assert FALLBACK_SECCOMP_WORDS in results["extra_data"]["isolation"], results["extra_data"]


def test_self_check_reports_the_isolation_grading_will_use(autograder_zip, tmp_path):
    """setup.sh's --self-check names the same isolation line that grading then records."""
    from grader.engine.sandbox.isolation import fallback_description

    root = autograder_root(tmp_path, autograder_zip, {})
    env = {**os.environ, "PYTHONPATH": str(root / "source" / "dlgrade"), "DLGRADE_SANDBOX": "none"}
    done = subprocess.run([sys.executable, "-m", "grader.engine.gradescope_runner", "--self-check",
                           "--source", str(root / "source")], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == f"sandbox: {fallback_description('disabled by DLGRADE_SANDBOX=none')}"


@pytest.mark.parametrize("allowed", [False, True], ids=["default", "allow-weak-sandbox"])
def test_self_check_fails_the_build_where_strangers_code_would_be_refused(tmp_path, monkeypatch, capsys, allowed):
    """In a container with neither bubblewrap nor Landlock the image build fails, naming the remedy,
    unless the zip was built with --allow-weak-sandbox (then grading there is accepted and said so)."""
    from grader.course.gradescope.build import build_autograder
    from grader.engine import gradescope_runner as runner
    from grader.engine.sandbox import landlock
    from grader.engine.sandbox.isolation import ENV_ALLOW_WEAK

    built = build_autograder(ASSIGNMENT, tmp_path / "ag.zip", pin=False, allow_weak_sandbox=allowed)
    unpack(built.path, tmp_path / "source")
    monkeypatch.setenv("DLGRADE_SANDBOX", "none")
    monkeypatch.setenv(ENV_ALLOW_WEAK, "")  # recorded, so the runner's own setting is undone after the test
    monkeypatch.delenv(ENV_ALLOW_WEAK)
    monkeypatch.setattr(landlock, "abi", lambda: (0, "no Landlock (as in a container that refuses it)"))
    status = runner.main(["--self-check", "--source", str(tmp_path / "source")])
    out = capsys.readouterr().out
    if allowed:
        assert status == 0 and "a weak sandbox" in out, out
        assert os.environ[ENV_ALLOW_WEAK] == "1"
    else:
        assert status == 1, out
        assert "every submission would be refused" in out and "--allow-weak-sandbox" in out, out


def test_notebook_in_an_uploaded_folder(autograder_zip, tmp_path, validator):
    """A zip upload unpacked as one folder holding the notebook (and a stray file)."""
    root = autograder_root(tmp_path, autograder_zip, {
        "homework1/backprop.ipynb": EXAMPLES / "reference_notebook.ipynb",
        "homework1/notes.txt": "my notes\n",
        "__MACOSX/homework1/._backprop.ipynb": "junk",
    })
    results, _ = run_autograder(root)
    validator.validate(results)
    assert results["score"] == 31, results["output"]


def test_no_gradable_file_says_what_to_upload(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"answers.txt": "I could not finish\n"})
    results, _ = run_autograder(root)
    validator.validate(results)
    assert results["score"] == 0 and "backprop.py" in results["output"]
    assert len(results["tests"]) == 13 and all(t["score"] == 0 for t in results["tests"])


def test_scrub_deletes_the_hidden_data_before_student_code_runs(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / "reference.py"})
    results, _ = run_autograder(root, DLGRADE_GS_SCRUB="yes")
    validator.validate(results)
    assert results["score"] == 31
    assert not list((root / "source" / "compiled").iterdir())


# --------------------------------------------------------------------------
# A crashing run still writes a valid results.json
# --------------------------------------------------------------------------

def test_grader_crash_writes_a_failure_result(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / "reference.py"})
    (root / "source" / "compiled" / "assignment.json").write_text("{ this is not JSON")
    results, done = run_autograder(root)
    validator.validate(results)
    assert results["score"] == 0
    assert "autograder failed" in results["output"]
    assert len(results["tests"]) == 13 and all(t["score"] == 0 for t in results["tests"])
    assert "JSONDecodeError" in results["extra_data"]["autograder_error"]
    assert "Traceback" in done.stdout  # for the instructor


def test_sandbox_fault_is_an_autograder_failure_not_a_grade(autograder_zip, tmp_path, validator):
    """The engine records a fault of the sandbox as grader_error: no score stands."""
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / "reference.py"})
    results, _ = run_autograder(root, DLGRADE_SANDBOX="no-such-mode")
    validator.validate(results)
    assert results["score"] == 0 and results["output"].startswith("The autograder failed")
    assert all(t["score"] == 0 and t["status"] == "failed" for t in results["tests"])
    assert "DLGRADE_SANDBOX" in results["extra_data"]["autograder_error"]


def test_interpreter_failure_writes_a_failure_result(autograder_zip, tmp_path, validator):
    root = autograder_root(tmp_path, autograder_zip, {"backprop.py": EXAMPLES / "reference.py"})
    results, _ = run_autograder(root, DLGRADE_GS_PYTHON=str(tmp_path / "no-such-python"))
    validator.validate(results)
    assert results["score"] == 0 and "autograder failed" in results["output"]
    assert "status 127" in results["output"]


def test_schema_rejects_what_gradescope_does_not_know(validator):
    """The schema is strict enough to catch a broken results.json."""
    good = {"score": 1.0, "tests": [{"name": "a", "score": 1.0, "max_score": 1.0, "status": "passed"}]}
    validator.validate(good)
    for bad in ({"tests": [{"name": "no score anywhere"}]},
                {"score": "31"},
                {"score": 1, "visibility": "students"},
                {"score": 1, "tests": [{"score": 1, "status": "partial"}]},
                {"score": 1, "tests": [{"score": 1, "max_points": 1}]}):
        assert not validator.is_valid(bad), bad
