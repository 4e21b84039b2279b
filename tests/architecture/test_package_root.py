"""Three places find the folder that holds the ``grader`` package: the sandbox (to hide the checkout
from a child when a Python root contains it), the checks worker (its PYTHONPATH) and the default
assignments folder. They follow the package wherever its modules live."""

from __future__ import annotations

from pathlib import Path

from grader.engine.authoring import default_assignments_dir
from grader.engine.checks.bounded import _package_root
from grader.engine.sandbox.python_view import _repo_root, hidden_paths

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_folder_holding_grader_is_the_checkout():
    assert (CHECKOUT / "grader" / "engine").is_dir() and (CHECKOUT / "reference").is_dir()
    assert Path(_repo_root()) == CHECKOUT
    assert Path(_package_root()) == CHECKOUT


def test_a_python_root_holding_the_checkout_hides_its_grader_and_answer_key():
    hidden = {path for path, _ in hidden_paths([str(CHECKOUT.parent)])}
    for name in ("grader", "reference", "assignments", "tests"):
        assert str(CHECKOUT / name) in hidden


def test_the_default_assignments_are_the_checkouts(tmp_path, monkeypatch):
    monkeypatch.delenv("DLGRADE_ASSIGNMENTS", raising=False)
    monkeypatch.delenv("DLGRADE_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)     # no ./assignments here
    assert default_assignments_dir() == CHECKOUT / "assignments"
