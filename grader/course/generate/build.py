"""Build what students receive, and the example submissions, from an assignment's master.

An assignment folder holds::

    questions.py     the questions (an ``Assignment``)
    master.py        the solution with solution markers, cells in jupytext's percent format
    instructions.md  what the student reads
    examples/examples.toml   realistic submissions and the score each must get

From it, ``dlgrade generate`` writes ``student_template/NAME/``::

    MODULE.py, MODULE.ipynb   the same stubs, as a script and as a notebook
    instructions.md
    checks/public.json(.npz)  the public questions, expected values included, as data

and ``examples/*.py`` for every example defined as edits of the solution.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.generate.compare import data_files_differ
from grader.course.generate.markers import solution_source, student_source
from grader.course.generate.notebook import notebook_from_percent_script
from grader.engine.authoring import default_assignments_dir, load_assignment

MASTER = "master.py"


def all_assignment_dirs() -> list[Path]:
    """The course's assignment folders (each holds a ``master.py``), sorted by name."""
    return sorted(p.parent for p in default_assignments_dir().glob(f"*/{MASTER}"))
EXAMPLES = Path("examples") / "examples.toml"


@dataclass
class Example:
    """A realistic submission and the score it must get."""

    name: str
    about: str
    score: float
    file: str                      # relative to the examples folder
    replace: list[tuple[str, str]] = field(default_factory=list)
    generated: bool = True
    notebook: bool = False


def load_examples(assignment_dir: Path) -> list[Example]:
    path = assignment_dir / EXAMPLES
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text())
    examples = []
    for entry in data.get("example", []):
        for key in ("name", "about", "score"):
            if key not in entry:
                raise ValueError(f"{path}: an [[example]] lacks {key!r} ({entry.get('name', '?')})")
        notebook = bool(entry.get("notebook", False))
        default_file = entry["name"] + (".ipynb" if notebook else ".py")
        replace = [(r["find"], r["with"]) for r in entry.get("replace", [])]
        examples.append(Example(entry["name"], entry["about"], float(entry["score"]),
                                entry.get("file", default_file), replace,
                                generated="file" not in entry, notebook=notebook))
    names = [e.name for e in examples]
    if len(names) != len(set(names)):
        raise ValueError(f"{path}: example names must be unique, got {names}")
    return examples


def apply_replacements(source: str, replacements: list[tuple[str, str]], where: str) -> str:
    for find, new in replacements:
        count = source.count(find)
        if count != 1:
            raise ValueError(f"{where}: {find!r} occurs {count} times in the solution; it must occur exactly once")
        source = source.replace(find, new)
    return source


def example_source(assignment_dir: Path, example: Example) -> str:
    solution = solution_source((assignment_dir / MASTER).read_text())
    source = apply_replacements(solution, example.replace, f"example {example.name}")
    header = f"# Example submission: {example.about}\n"
    return notebook_from_percent_script(header + source) if example.notebook else header + source


def generate_assignment(assignment_dir: Path, template_root: Path, *, examples: bool = True,
                        examples_dir: Path | None = None) -> list[Path]:
    """Write the student template of one assignment to ``template_root/NAME`` and, with
    ``examples``, its generated example submissions to ``examples_dir`` (default: the
    assignment's own ``examples/``); return the paths written.

    Public checks whose data equal the files already there within
    :mod:`grader.course.generate.compare`'s tolerance are kept byte for byte, so
    generating on a CPU with another BLAS kernel changes nothing.
    """
    assignment = load_assignment(assignment_dir)
    master = (assignment_dir / MASTER).read_text()
    stub = student_source(master)
    target = template_root / assignment.name
    previous = _read_public_checks(target / "checks" / "public.json")
    if target.exists():
        shutil.rmtree(target)
    (target / "checks").mkdir(parents=True)
    written = [target / f"{assignment.module}.py", target / f"{assignment.module}.ipynb",
               target / "checks" / "public.json"]
    written[0].write_text(stub)
    written[1].write_text(notebook_from_percent_script(stub))
    assignment.compile().public_only().save(written[2])
    if previous is not None and not _public_checks_differ(written[2], previous):
        for path, data in previous.items():
            path.write_bytes(data)
    instructions = assignment_dir / "instructions.md"
    if instructions.is_file():
        shutil.copyfile(instructions, target / "instructions.md")
        written.append(target / "instructions.md")
    examples_dir = Path(examples_dir) if examples_dir is not None else assignment_dir / "examples"
    for example in load_examples(assignment_dir) if examples else []:
        if example.generated:
            path = examples_dir / example.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(example_source(assignment_dir, example))
            written.append(path)
    return written


def _read_public_checks(path: Path) -> dict[Path, bytes] | None:
    """The bytes of committed public checks (``.json`` and ``.npz``), or None if there are none."""
    pair = [path, path.with_suffix(".npz")]
    if not all(p.is_file() for p in pair):
        return None
    return {p: p.read_bytes() for p in pair}


def _public_checks_differ(fresh: Path, previous: dict[Path, bytes]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "public.json"
        for path, data in previous.items():
            (Path(tmp) / path.name).write_bytes(data)
        return bool(data_files_differ(fresh, copy))


def stale_files(assignment_dirs: list[Path], template_root: Path) -> list[str]:
    """Files that differ from a fresh generation (empty when everything is up to date)."""
    differences = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment_dir in assignment_dirs:
            copy = Path(tmp) / "assignments" / assignment_dir.name
            shutil.copytree(assignment_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
            fresh_root = Path(tmp) / "student_template"
            generate_assignment(copy, fresh_root)
            pairs = [(fresh_root / copy.name, template_root / copy.name),
                     (copy / "examples", assignment_dir / "examples")]
            for fresh, committed in pairs:
                if fresh.exists():
                    differences += _compare_trees(fresh, committed)
    return differences


def _compare_trees(fresh: Path, committed: Path) -> list[str]:
    out = []
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    committed_files = ({p.relative_to(committed) for p in committed.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
                       if committed.exists() else set())
    for rel in sorted(fresh_files | committed_files):
        a, b = fresh / rel, committed / rel
        if rel not in committed_files:
            out.append(f"{b}: missing")
        elif rel not in fresh_files:
            out.append(f"{b}: not generated any more")
        elif rel.suffix == ".npz" and rel.with_suffix(".json") in fresh_files:
            continue  # compared with its .json, as data
        elif rel.suffix == ".json" and rel.with_suffix(".npz") in fresh_files:
            moved = data_files_differ(a, b) if rel.with_suffix(".npz") in committed_files else ["no .npz"]
            out += [f"{b}: out of date: {what}" for what in moved]
        elif not filecmp.cmp(a, b, shallow=False):
            out.append(f"{b}: out of date")
    return out
