"""A script in jupytext's percent format runs cell by cell, like the notebook made from it.

The student template is one source as a .py and as an .ipynb: a failing cell
must cost the same in both, only what that cell defines.
"""

from __future__ import annotations

from sandbox_support import FAST, write_notebook, write_py

from grader.engine.sandbox import Call, SandboxSession

SCRIPT = """\
# %% [markdown]
# A markdown cell: comments only.

# %%
A = 1

# %%
B = A + undefined_name

# %%
def f(x):
    return x + A

# %%
C = 3 +
"""


def test_a_failing_cell_of_a_script_costs_only_that_cell(tmp_path, mode):
    path = write_py(tmp_path, SCRIPT)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        report = s.load_report
        assert report.ok, report
        failed = {c.index: c.error for c in report.cells if not c.ok}
        assert set(failed) == {2, 4}
        assert "NameError: name 'undefined_name' is not defined" in failed[2]
        assert "line 8" in failed[2]                       # the script's own line number
        assert "SyntaxError" in failed[4]
        assert s.get("A").value == 1
        assert s.call([Call("f", args=[1])])[0].value == 2
        assert s.get("B").kind == "missing" and s.get("C").kind == "missing"


def test_the_script_and_its_notebook_load_alike(tmp_path, mode):
    cells = SCRIPT.split("# %%\n")[1:]  # the code cells (the markdown cell is the first chunk)
    notebook = write_notebook(tmp_path, cells)
    script = write_py(tmp_path, SCRIPT)
    loaded = {}
    for path in (notebook, script):
        with SandboxSession(path, limits=FAST, mode=mode) as s:
            loaded[path.suffix] = (s.load_report.ok, s.get("A").value, s.get("B").kind, s.get("C").kind)
    assert loaded[".py"] == loaded[".ipynb"] == (True, 1, "missing", "missing")


def test_a_script_cell_that_hangs_is_skipped(tmp_path, bwrap):
    path = write_py(tmp_path, "# %%\nA = 1\n# %%\nwhile True:\n    pass\n# %%\nB = A + 1\n")
    with SandboxSession(path, limits=FAST.replace(load_seconds=1.0), mode=bwrap) as s:
        assert s.load_report.ok
        assert s.get("B").value == 2 and s.restarts == 1


def test_a_script_without_cells_still_loads_as_one_module(tmp_path, mode):
    path = write_py(tmp_path, "A = 1\nB = A + undefined_name\n")
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        assert not s.load_report.ok and "NameError" in s.load_report.error
