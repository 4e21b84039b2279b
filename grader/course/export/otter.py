"""Export a dlgrade assignment as an otter-grader (otter-assign) master notebook.

    dlgrade export otter ASSIGNMENT --out DIR
    otter assign DIR/MODULE.ipynb DIST        # otter's student and autograder versions

What ``DIR`` holds::

    MODULE.ipynb            the otter-assign master notebook
    dlgrade_otter.py        replays a compiled case against the notebook's globals
    dlgrade_public.json/.npz   the public questions' cases (otter ``files``: students get them)
    dlgrade_hidden.json/.npz   the hidden questions' cases (otter ``autograder_files`` only)
    grader/                 dlgrade's checks (and what they import), so the export runs
                            wherever numpy and sympy are installed
    requirements.txt, README.md

The notebook is the master's cells (jupytext percent format) in order. A
code cell holding solutions becomes a ``# BEGIN SOLUTION NO PROMPT`` block
with the solution followed by a ``# BEGIN PROMPT`` block holding dlgrade's own
stub of that cell (the same ``raise NotImplementedError(hint)`` functions and
``NAME = None`` answers as the student template), so otter's student notebook
matches dlgrade's template. Each dlgrade question becomes an otter question
placed after the cell that defines the last name it exercises, its tests
calling dlgrade's checks on the compiled cases.

Mapping (see :func:`otter_tests`): a question keeps its points; a public
question's tests are visible, a hidden question's tests hidden; ``scoring="all"``
becomes otter's ``all_or_nothing``. Each case becomes one otter test worth the
case's share of the points (``points * weight / total weight``). Otter scores
a test all or nothing, so a case whose check gives partial credit in steps of
1/K (a :class:`~grader.engine.checks.Gradient` check of K gradients) becomes K tests,
the k-th passing when the check's fraction is at least k/K: otter then gives
the same score as dlgrade wherever a case's credit is a multiple of 1/K. Any
other partial credit (an ``ArrayClose(partial=True)`` share of elements, an
``Accuracy`` ramp) counts in otter only when it is full:
:func:`implied_otter_score` says what otter gives for a dlgrade result.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import grader
from grader.course.generate.markers import solution_source, student_source
from grader.engine.authoring import Case, CompiledAssignment, CompiledQuestion, load_assignment
from grader.engine.checks import Gradient

HELPER = Path(__file__).with_name("dlgrade_otter.py")
PUBLIC_DATA = "dlgrade_public.json"
HIDDEN_DATA = "dlgrade_hidden.json"
# What dlgrade_otter needs of `grader`: the engine's checks, data files, grading protocol and the child's wire format.
VENDORED = ("__init__.py", "engine/__init__.py", "engine/datafile.py", "engine/protocol", "engine/checks",
            "engine/sandbox")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
EPSILON = 1e-9

_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=\n]+)?=(?!=)", re.M)
_CLASS = re.compile(r"^class\s+([A-Za-z_]\w*)\b", re.M)


@dataclass
class OtterTest:
    """One otter test case made from (part of) one dlgrade case."""

    question: str
    case: int
    label: str
    points: float
    hidden: bool
    part: int = 1          # this test passes when the case's fraction >= part / parts
    parts: int = 1

    @property
    def function_name(self) -> str:
        suffix = f"_part{self.part}of{self.parts}" if self.parts > 1 else ""
        return f"test_{self.question}_{self.case}{suffix}"


@dataclass
class ExportReport:
    folder: Path
    notebook: Path
    questions: dict[str, list[OtterTest]] = field(default_factory=dict)
    max_score: float = 0.0


# --------------------------------------------------------------------------
# The mapping
# --------------------------------------------------------------------------

def credit_steps(case: Case) -> int:
    """K: the case's check gives credit in steps of 1/K (1: all or nothing in otter)."""
    check = case.check
    if not (isinstance(check, Gradient) and check.partial):
        return 1
    return len(check.names) + (1 if check.output else 0)   # a graded loss value is one more part


def otter_tests(question: CompiledQuestion) -> list[OtterTest]:
    """The otter tests of one question, with their points (summing to the question's points)."""
    total_weight = sum(c.weight for c in question.cases) or 1.0
    tests = []
    for index, case in enumerate(question.cases):
        steps = credit_steps(case)
        share = question.points * case.weight / total_weight / steps
        for part in range(1, steps + 1):
            tests.append(OtterTest(question.name, index, case.label, share, not question.public, part, steps))
    return tests


def implied_otter_score(compiled: CompiledAssignment, result) -> float:
    """The score otter gives, under this mapping, to a submission dlgrade graded as ``result``."""
    by_name = {q.name: q for q in result.questions}
    total = 0.0
    for question in compiled.questions:
        graded = by_name[question.name]
        fractions = [c.fraction for c in graded.cases]
        tests = otter_tests(question)
        passed = [fractions[t.case] >= t.part / t.parts - EPSILON for t in tests]
        if question.scoring == "all":
            total += question.points if all(passed) else 0.0
        else:
            total += sum(t.points for t, ok in zip(tests, passed) if ok)
    return total


# --------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------

def otter_code_cell(source: str) -> str:
    """A master code cell in otter's syntax: the solution, then dlgrade's stub as otter's prompt."""
    stub, solution = student_source(source), solution_source(source)
    if stub.strip() == solution.strip():
        return source
    quote = next((q for q in ("'''", '"""') if q not in stub), None)
    if quote is None:  # cannot wrap the stub in a string: otter's own stripping (the student gets `...`)
        return source
    return "\n".join([
        "# BEGIN SOLUTION NO PROMPT",
        solution.strip("\n"),
        "# END SOLUTION",
        f"_ = r{quote}  # BEGIN PROMPT",
        stub.strip("\n"),
        f"{quote}  # END PROMPT",
    ])


def defined_names(source: str) -> set[str]:
    """Module-level names a cell defines (functions, classes, assignments)."""
    return set(_DEF.findall(source)) | set(_ASSIGN.findall(source)) | set(_CLASS.findall(source))


def targets(question: CompiledQuestion) -> set[str]:
    """The submission's names a question exercises."""
    names = set()
    for case in question.cases:
        request = case.request
        if request["kind"] == "call":
            names.update(c["fn"].split(".")[0] for c in request["calls"] if not c["fn"].startswith("@"))
        elif request["kind"] == "get":
            names.add(request["name"])
        elif isinstance(request.get("target"), str):
            names.add(request["target"].split(".")[0])
    return names


def test_cell_source(test: OtterTest) -> str:
    config = [f"points: {test.points!r}", f"hidden: {'true' if test.hidden else 'false'}"]
    label = test.label.replace("\\", "/").replace('"""', "'''")
    if test.parts > 1:
        label += f" (credit {test.part} of {test.parts})"
        verdict = (f"    assert result.fraction >= {test.part} / {test.parts} - 1e-9, result.message")
    else:
        verdict = "    assert result.passed, result.message"
    return "\n".join([
        '""" # BEGIN TEST CONFIG',
        *config,
        '""" # END TEST CONFIG',
        f"def {test.function_name}(env):",
        f'    """{label}"""',
        "    import dlgrade_otter",
        f"    got, expected, check = dlgrade_otter.replay(env, {test.question!r}, {test.case})",
        "    result = check.check(got, expected)",
        verdict,
    ])


def question_cells(question: CompiledQuestion) -> list:
    # The points are on the tests (they sum to the question's points); a question total as well
    # would make otter reject a sum that exceeds it by a rounding error.
    config = {"name": question.name}
    if question.scoring == "all":
        config["all_or_nothing"] = True
    header = "# BEGIN QUESTION\n" + "\n".join(f"{k}: {json.dumps(v)}" for k, v in config.items())
    points = f"{question.points:g} point{'s' if question.points != 1 else ''}"
    checked = "public tests: run them with the check cell below" if question.public else \
        "hidden tests, run when your work is graded"
    prompt = f"**Question `{question.name}`** ({points}; {checked}): {question.title}."
    if question.prompt:
        prompt += "\n\n" + question.prompt
    cells = [nbformat.v4.new_raw_cell(header), nbformat.v4.new_markdown_cell(prompt),
             nbformat.v4.new_raw_cell("# BEGIN TESTS")]
    cells += [nbformat.v4.new_code_cell(test_cell_source(t)) for t in otter_tests(question)]
    cells += [nbformat.v4.new_raw_cell("# END TESTS"), nbformat.v4.new_raw_cell("# END QUESTION")]
    return cells


def config_cell(compiled: CompiledAssignment, vendor: bool) -> str:
    files = ["dlgrade_otter.py", PUBLIC_DATA, _npz(PUBLIC_DATA)] + (["grader"] if vendor else [])
    lines = [
        "# ASSIGNMENT CONFIG",
        f"# {compiled.name} ({compiled.title}), exported by `dlgrade export otter`:",
        "# the tests replay dlgrade's compiled cases and call dlgrade's checks.",
        "requirements: requirements.txt",
        "files:", *[f"  - {f}" for f in files],
        "autograder_files:", f"  - {HIDDEN_DATA}", f"  - {_npz(HIDDEN_DATA)}",
        "tests:", "  ok_format: false",
        "init_cell: true",
        "check_all_cell: false",
        "export_cell: false",
        "run_tests: true",
        "solutions_pdf: false",
        "template_pdf: false",
        "strip_solutions_from_all_cells: true",
        "generate:", "  pdf: false", "  show_stdout: false", "  show_hidden: false",
    ]
    return "\n".join(lines)


def master_notebook(compiled: CompiledAssignment, master_source: str, vendor: bool = True):
    import jupytext

    master_cells = jupytext.reads(master_source, fmt="py:percent").cells
    defined_at: dict[str, int] = {}
    for index, cell in enumerate(master_cells):
        if cell.cell_type == "code":
            for name in defined_names(solution_source(cell.source)):
                defined_at[name] = index
    after: dict[int, list[CompiledQuestion]] = {}
    for question in compiled.questions:
        wanted = targets(question)
        place = len(master_cells) - 1
        if wanted and wanted <= set(defined_at):
            place = max(defined_at[name] for name in wanted)
        after.setdefault(place, []).append(question)

    cells = [nbformat.v4.new_raw_cell(config_cell(compiled, vendor))]
    for index, cell in enumerate(master_cells):
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
        elif cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(otter_code_cell(cell.source)))
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source))
        for question in after.get(index, []):
            cells.extend(question_cells(question))
    notebook = nbformat.v4.new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return notebook


# --------------------------------------------------------------------------
# The export folder
# --------------------------------------------------------------------------

def export_otter(assignment: str | Path, out: Path, *, vendor: bool = True) -> ExportReport:
    """Write the otter-assign master notebook of ``assignment`` and its support files into ``out``."""
    from grader.course.gradescope.build import refuse_exam

    loaded = load_assignment(assignment)
    refuse_exam(loaded, "an otter notebook")
    master_path = loaded.folder / "master.py"
    if not master_path.is_file():
        raise FileNotFoundError(f"{loaded.name} has no master.py: the otter notebook is made from the master's cells")
    compiled = loaded.compile()
    master = master_path.read_text()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    notebook_path = out / f"{compiled.module}.ipynb"
    notebook_path.write_text(nbformat.writes(master_notebook(compiled, master, vendor), version=4) + "\n")
    public = [q for q in compiled.questions if q.public]
    hidden = [q for q in compiled.questions if not q.public]
    CompiledAssignment(compiled.name, compiled.title, compiled.module, public, compiled.limits,
                       compiled.variant).save(out / PUBLIC_DATA)
    CompiledAssignment(compiled.name, compiled.title, compiled.module, hidden, compiled.limits,
                       compiled.variant).save(out / HIDDEN_DATA)
    shutil.copyfile(HELPER, out / HELPER.name)
    if vendor:
        vendor_checks(out / "grader")
    (out / "requirements.txt").write_text("numpy>=1.26\nsympy>=1.12\n")
    (out / "README.md").write_text(readme(compiled, notebook_path.name))
    return ExportReport(out, notebook_path, {q.name: otter_tests(q) for q in compiled.questions},
                        compiled.max_score)


def vendor_checks(target: Path) -> None:
    """Copy the part of the ``grader`` package the tests import (checks, data files, the wire format)."""
    source = Path(grader.__file__).resolve().parent
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in VENDORED:
        path = source / name
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=ignore)
        else:
            shutil.copyfile(path, target / name)


def readme(compiled: CompiledAssignment, notebook: str) -> str:
    rows = []
    for question in compiled.questions:
        tests = otter_tests(question)
        rows.append(f"| `{question.name}` | {question.points:g} | {'public' if question.public else 'hidden'} "
                    f"| {len(tests)} | {'all or nothing' if question.scoring == 'all' else 'per test'} |")
    return "\n".join([
        f"# {compiled.name} as an otter-grader assignment",
        "",
        "Made by `dlgrade export otter`. Build otter's student and autograder versions with",
        "",
        f"    otter assign {notebook} dist",
        "",
        "and grade a notebook without containers with",
        "",
        f"    otter run -a dist/autograder/{compiled.module}-autograder_*.zip SUBMISSION.ipynb",
        "",
        "The tests replay dlgrade's compiled cases (`dlgrade_public.json`, `dlgrade_hidden.json`)",
        "through `dlgrade_otter.py` and call dlgrade's checks (`grader/`). Hidden cases ship only",
        "in otter's autograder zip.",
        "",
        "Grading inside otter's kernel runs the checks in the student's own process: a notebook can",
        "patch them, read the hidden cases or hang the grader. dlgrade's own grading does not have",
        "these holes; see OTTER_SECURITY.md in dlgrade's `grader/course/export`.",
        "",
        "| question | points | tests | otter tests | scoring |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "A case whose check gives partial credit in steps of 1/K (a gradient check of K gradients)",
        "is K otter tests; otherwise one otter test per case, all or nothing.",
        "",
    ])


def _npz(json_name: str) -> str:
    return json_name[: -len(".json")] + ".npz"
