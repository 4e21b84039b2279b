"""An assignment written for dlgrade 0.1 imports ``grader.authoring`` and ``grader.checks``; since
0.2 they are in ``grader.engine``. Loading it says so, naming the file and the new import."""

from __future__ import annotations

import pytest

from grader.engine.authoring import AuthoringError, load_assignment


def write_assignment(folder, first_line: str):
    folder.mkdir()
    (folder / "questions.py").write_text(first_line + "\n\nassignment = None\n")
    return folder


@pytest.mark.parametrize("line, new", [
    ("from grader.authoring import Assignment", "grader.engine.authoring"),
    ("from grader.checks import ArrayClose", "grader.engine.checks"),
    ("from grader.checks.numeric import Number", "grader.engine.checks"),   # Python names the package
])
def test_an_import_of_a_moved_module_names_where_it_is_now(tmp_path, line, new):
    folder = write_assignment(tmp_path / "old_course", line)
    with pytest.raises(AuthoringError) as caught:
        load_assignment(folder)
    message = str(caught.value)
    assert message.startswith(str(folder / "questions.py"))
    assert f"since dlgrade 0.2 it is {new}: import from there" in message


def test_another_missing_module_gets_no_such_hint(tmp_path):
    folder = write_assignment(tmp_path / "course", "import no_such_module_of_the_author")
    with pytest.raises(AuthoringError) as caught:
        load_assignment(folder)
    assert "no_such_module_of_the_author" in str(caught.value)
    assert "since dlgrade 0.2" not in str(caught.value)
