"""A student kit: the assignment's template and the grading engine, without the answer key.

    NAME/                 backprop.py, backprop.ipynb, instructions.md, checks/public.json(.npz)
    dlgrade-engine/       pyproject.toml, grader/...  (pip install ./dlgrade-engine)
    README.md

The engine is :func:`grader.course.bundle.engine_files`: ``grader/engine`` and
the ``check`` command, nothing of the instructor's tools.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from grader.course.bundle import dlgrade_version, engine_files, engine_pyproject, write_zip
from grader.engine.authoring import load_assignment

# What `dlgrade check` imports: numpy in the child and for the data, sympy for symbolic checks.
CHECK_DEPENDENCIES = ["numpy>=1.26", "sympy>=1.12"]


def readme(name: str, module: str, title: str, needs_tensorflow: bool) -> str:
    """The kit's README.md: how to install the engine and run the public checks."""
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
    """Write ``out_dir/NAME-student.zip`` for the assignment in ``assignment_dir``; its path."""
    from grader.course.generate.build import generate_assignment
    from grader.course.gradescope.build import needs_tensorflow
    from grader.engine.authoring import CompiledAssignment

    assignment = load_assignment(assignment_dir)
    if assignment.kind == "exam":
        raise ValueError(f"{assignment.name} is an exam: students get papers (dlgrade exam papers), not a kit")
    version = dlgrade_version()
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
