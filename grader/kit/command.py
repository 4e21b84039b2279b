"""``dlgrade student-kit [ASSIGNMENT...] --out DIR``: what students download, one zip per assignment.

A kit holds the assignment's template (the stubs as a script and a notebook,
the instructions, the public checks as data) and dlgrade's grading engine
without the answer key, so that a student can install it and run
``dlgrade check`` before submitting::

    NAME/                 backprop.py, backprop.ipynb, instructions.md, checks/public.json(.npz)
    dlgrade-engine/       pyproject.toml, grader/...  (pip install ./dlgrade-engine)
    README.md

No ``reference/``, no master, no ``questions.py``, no hidden question.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from grader.authoring import load_assignment, resolve_assignment_dir
from grader.bundle import engine_files, engine_pyproject, write_zip

# What `dlgrade check` imports: numpy in the child and for the data, sympy for symbolic checks.
CHECK_DEPENDENCIES = ["numpy>=1.26", "sympy>=1.12"]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("student-kit", help="zip what students receive: template + engine, no answer key",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="*", help="assignment names or folders (default: all)")
    p.add_argument("--out", type=Path, default=Path("student-kits"), help="output folder (default: ./student-kits)")
    p.set_defaults(run=run)


def readme(name: str, module: str, title: str, needs_tensorflow: bool) -> str:
    extra = ("\nThis assignment uses Keras: also `pip install tensorflow` (or `tensorflow-cpu`).\n"
             if needs_tensorflow else "")
    return f"""# {title}

Your files are in `{name}/`: `{module}.py` and `{module}.ipynb` hold the same
stubs (work in either and hand in that one), `instructions.md` says what to
do.

To run the public checks on your work before you submit:

```
pip install ./dlgrade-engine
cd {name}
dlgrade check {module}.py        # or {module}.ipynb
```
{extra}
The checks run your code in a separate process (isolated with bubblewrap on
Linux where it is installed, with time and memory limits elsewhere) and print
every public question with what to look at. Hidden questions test more inputs
when you submit.
"""


def build_kit(assignment_dir: Path, out_dir: Path) -> Path:
    from grader.authoring import CompiledAssignment
    from grader.generate.build import generate_assignment
    from grader.gradescope.build import _dlgrade_version, needs_tensorflow

    assignment = load_assignment(assignment_dir)
    if assignment.kind == "exam":
        raise ValueError(f"{assignment.name} is an exam: students get papers (dlgrade exam papers), not a kit")
    version = _dlgrade_version()
    with tempfile.TemporaryDirectory(prefix="dlgrade-kit-") as tmp:
        generate_assignment(assignment_dir, Path(tmp), examples=False)
        template = Path(tmp) / assignment.name
        entries = [(f"{assignment.name}/{p.relative_to(template).as_posix()}", p.read_bytes(), 0o644)
                   for p in sorted(template.rglob("*")) if p.is_file()]
        compiled = CompiledAssignment.load(template / "checks" / "public.json")
    entries.append(("README.md", readme(assignment.name, assignment.module, assignment.title,
                                        needs_tensorflow(compiled)).encode(), 0o644))
    entries.append(("dlgrade-engine/pyproject.toml",
                    engine_pyproject(version=version, python_requires=">=3.11", dependencies=CHECK_DEPENDENCIES,
                                     description="dlgrade's grading engine, to run `dlgrade check`").encode(), 0o644))
    entries += [(name, path.read_bytes(), 0o644) for path, name in engine_files("dlgrade-engine")]
    out = out_dir / f"{assignment.name}-student.zip"
    write_zip(entries, out)
    return out


def run(args: argparse.Namespace) -> int:
    from grader.generate.command import all_assignment_dirs

    dirs = [resolve_assignment_dir(a) for a in args.assignments] or all_assignment_dirs()
    for folder in dirs:
        path = build_kit(folder, args.out)
        print(f"{folder.name}: {path} ({path.stat().st_size // 1024} kB)")
    if not dirs:
        print("no assignments found", file=sys.stderr)
        return 2
    return 0
