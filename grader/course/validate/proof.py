"""``validate``'s steps: the cheap ones (no student code runs) and the sandboxed ones.

Cheap, run by ``dlgrade generate`` too:
  - ``questions.py`` imports and every question compiles (errors at their line);
  - the master's solution markers pair up and it parses;
  - every function and name a question asks for is defined in the master;
  - ``examples/examples.toml`` reads and its edits apply;
  - the public checks carry no value a hidden question expects.
Sandboxed (the master and its mutants run like submissions):
  - the master scores full marks;
  - each example scores its declared score;
  - the generated template is up to date;
  - each question fails at least one plausible wrong answer (mutation testing).
"""

from __future__ import annotations

import difflib
import re
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from grader.course.generate.build import (
    EXAMPLES,
    MASTER,
    Example,
    apply_replacements,
    example_source,
    load_examples,
    stale_files,
)
from grader.course.generate.markers import MarkerError, solution_source
from grader.course.validate.findings import ERROR, NOTE, Finding, Report
from grader.course.validate.mutation import Mutant, definitions, mutants_of
from grader.engine.authoring import Assignment, AuthoringError, CompiledAssignment, CompiledQuestion, load_assignment
from grader.engine.protocol import runs_a_model

TOLERANCE = 1e-3            # an example's score against its declared score (examples.toml has 6 figures)
DEFAULT_MUTANTS = 30        # mutants graded per assignment, at most
MUTANTS_PER_QUESTION = 4    # tried on one question before it is reported as never failing
# A mutant is graded under tighter limits than a student: a wrong edit that loops costs seconds, not minutes.
MUTANT_LIMITS = {"request_seconds": 5.0, "load_seconds": 15.0, "wall_seconds": 30.0, "cpu_seconds": 30,
                 "max_restarts": 1}
# Checks that test only an answer's form (a public question's), never its value: no mutant should fail them.
FORM_ONLY = ("form", "expression_form")


@dataclass
class Loaded:
    """An assignment as the cheap steps found it (``compiled`` is None if it does not compile)."""

    folder: Path
    assignment: Assignment | None
    compiled: CompiledAssignment | None
    master: str | None


# ---------------------------------------------------------------------------
# The cheap steps
# ---------------------------------------------------------------------------

def cheap_checks(folder: Path, report: Report) -> Loaded:
    """Every step that runs no submission: load, compile, names, examples.toml, public values."""
    folder = Path(folder)
    loaded = Loaded(folder, None, None, None)
    try:
        loaded.assignment = load_assignment(folder)
        if loaded.assignment.kind == "exam":
            loaded.compiled = loaded.assignment.compile(variant="validate")
            report.steps.append("questions.py compiles (an exam: a sample paper; its answers are sheets, "
                                "so there is no master to run)")
            return loaded
        loaded.compiled = loaded.assignment.compile()
        report.steps.append(f"questions.py compiles: {len(loaded.compiled.questions)} questions, "
                            f"{loaded.compiled.max_score:g} points")
    except AuthoringError as exc:
        report.add(Finding(_show(exc.file), exc.line, exc.message, exc.question))
    master_path = folder / MASTER
    if not master_path.is_file():
        report.add(Finding(_show(master_path), 0, "missing: the master solution with solution markers"))
        return loaded
    loaded.master = _read_master(master_path, report)
    if loaded.compiled is not None and loaded.master is not None:
        _check_names(loaded, report)
        _check_public_values(loaded.compiled, report)
    _check_examples_toml(folder, loaded.master, report)
    return loaded


def _read_master(path: Path, report: Report) -> str | None:
    source = path.read_text()
    try:
        solution_source(source)
    except MarkerError as exc:
        match = re.match(r"line (\d+): (.*)", str(exc))
        report.add(Finding(_show(path), int(match.group(1)) if match else 0, match.group(2) if match else str(exc)))
        return None
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        report.add(Finding(_show(path), exc.lineno or 0, f"syntax error: {exc.msg}"))
        return None
    return source


def requested_names(question: CompiledQuestion) -> Iterator[tuple[str, str, Any]]:
    """(kind, name, case) for every name of the submission a question uses."""
    for case in question.cases:
        request = case.request
        if request["kind"] == "call":
            for name in dict.fromkeys(call["fn"] for call in request["calls"]):
                yield "calls", name, case
        elif request["kind"] == "get":
            yield "reads", request["name"], case
        elif request.get("target", "").isidentifier():
            yield "trains", request["target"], case


def _check_names(loaded: Loaded, report: Report) -> None:
    defined = definitions(loaded.master)
    public_names = [n for n in defined if not n.startswith("_")]
    missing: set = set()
    for question in loaded.compiled.questions:
        for kind, name, case in requested_names(question):
            key = (question.name, name, case.origin)
            if name in defined or key in missing:
                continue  # a call in a loop declares many cases: one finding
            missing.add(key)
            close = difflib.get_close_matches(name, public_names, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            file, line = case.origin or question.origin or ("questions.py", 0)
            report.add(Finding(_show(file), line, f"{kind} {name!r}, which {MASTER} does not define{guess}",
                               question.name))
    if not missing:
        report.steps.append(f"every name the questions use is defined in {MASTER}")


def _value_leaves(case) -> list[np.ndarray]:
    """The expected values of a case a student could copy: arrays of 4+ entries, non-integer numbers."""
    expected = case.expected
    if case.assemble == "gradient" and isinstance(expected, dict):
        expected = [expected.get("out"), *expected.get("grads", [])]
    leaves = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)) and not _numeric(value):
            for v in value:
                walk(v)
        elif _numeric(value):
            array = np.asarray(value, dtype=np.float64)
            if array.size >= 4 or (array.size == 1 and np.isfinite(array).all() and float(array.flat[0]) % 1):
                leaves.append(array)

    walk(expected)
    return leaves


def _numeric(value) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return False
    try:
        return np.asarray(value).dtype.kind in "iuf"
    except ValueError:
        return False


def _check_public_values(compiled: CompiledAssignment, report: Report) -> None:
    hidden = [(q, c, leaf) for q in compiled.questions if not q.public for c in q.cases for leaf in _value_leaves(c)]
    leaks = 0
    for question in (q for q in compiled.questions if q.public):
        for case in question.cases:
            for leaf in _value_leaves(case):
                for other, other_case, value in hidden:
                    if value.shape == leaf.shape and np.allclose(value, leaf, rtol=1e-12, atol=0):
                        leaks += 1
                        file, line = case.origin or question.origin
                        where = f" ({_show(other_case.origin[0])}:{other_case.origin[1]})" if other_case.origin else ""
                        report.add(Finding(_show(file), line,
                                           f"its public case {case.label!r} ships the value hidden question "
                                           f"{other.name} expects in {other_case.label!r}{where}: a student reads it "
                                           "in checks/public.npz; give one of them other inputs", question.name))
                        break
    if not leaks:
        report.steps.append("the public checks carry no value a hidden question expects")


def _check_examples_toml(folder: Path, master: str | None, report: Report) -> None:
    path = folder / EXAMPLES
    if not path.is_file():
        report.add(Finding(_show(path), 0, "no examples yet: add realistic wrong submissions and the score "
                           "each must get (see docs/authoring.md)", severity=NOTE))
        return
    text = path.read_text()
    try:
        examples = load_examples(folder)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        report.add(Finding(_show(path), int(line.group(1)) if line else 0, f"not TOML: {exc}"))
        return
    except ValueError as exc:
        report.add(Finding(_show(path), 0, str(exc).replace(f"{path}: ", "")))
        return
    if master is None:
        return
    solution = solution_source(master)
    for example in examples:
        if example.generated:
            try:
                apply_replacements(solution, example.replace, f"example {example.name}")
            except ValueError as exc:
                report.add(Finding(_show(path), example_line(text, example.name), str(exc)))
        elif not (folder / "examples" / example.file).exists():
            report.add(Finding(_show(path), example_line(text, example.name),
                               f"example {example.name}: file {example.file!r} is not in examples/"))


def example_line(toml_text: str, name: str) -> int:
    """The line of ``name = "NAME"`` in examples.toml (0 if not found)."""
    for number, line in enumerate(toml_text.splitlines(), start=1):
        if re.match(rf'\s*name\s*=\s*["\']{re.escape(name)}["\']\s*$', line):
            return number
    return 0


# ---------------------------------------------------------------------------
# The sandboxed steps
# ---------------------------------------------------------------------------

def grade_source(compiled: CompiledAssignment, source: str, *, overrides: dict | None = None,
                 notebook: bool = False):
    """Grade ``source`` as a submission (``MODULE.py`` or ``.ipynb``) through the sandbox."""
    from grader.engine.grading import grade_submission

    with tempfile.TemporaryDirectory(prefix="dlgrade-validate-") as tmp:
        path = Path(tmp) / f"{compiled.module}{'.ipynb' if notebook else '.py'}"
        path.write_text(source)
        return grade_submission(compiled, path, submission_id=compiled.module, limit_overrides=overrides)


def check_master(loaded: Loaded, report: Report) -> bool:
    """The master's solution scores full marks; else each question short of them, at its line."""
    result = grade_source(loaded.compiled, solution_source(loaded.master))
    if not result.load.ok:
        report.add(Finding(_show(loaded.folder / MASTER), 0, f"the solution does not load: {result.load.error}"))
    if result.grader_error:
        report.add(Finding(_show(loaded.folder / MASTER), 0, f"the grader failed: {result.grader_error.splitlines()[0]}"))
    short = [q for q in result.questions if q.score < q.points - 1e-9]
    for question in short:
        origin = loaded.compiled.question(question.name).origin or ("questions.py", 0)
        failing = next((c for c in question.cases if c.fraction < 1), None)
        why = f" [{failing.label}] {failing.message}" if failing else ""
        report.add(Finding(_show(origin[0]), origin[1], f"the master scores {question.score:g}/{question.points:g}"
                           f" through the sandbox:{why} (a wrong master answer, or a wrong expected value)",
                           question.name))
    if not short and result.load.ok and not result.grader_error:
        report.steps.append(f"the master scores full marks through the sandbox ({result.score:g}/"
                            f"{loaded.compiled.max_score:g}; {result.isolation.split(',')[0]})")
        return True
    return False


def check_examples(loaded: Loaded, report: Report, jobs: int = 2) -> None:
    """Each example scores the score examples.toml declares."""
    path = loaded.folder / EXAMPLES
    if not path.is_file() or any(f.file == _show(path) and f.severity == ERROR for f in report.findings):
        return
    examples = load_examples(loaded.folder)
    text = path.read_text()

    def grade(example: Example):
        if example.generated:
            return grade_source(loaded.compiled, example_source(loaded.folder, example), notebook=example.notebook)
        from grader.engine.grading import grade_submission
        return grade_submission(loaded.compiled, loaded.folder / "examples" / example.file,
                                submission_id=example.name)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(grade, examples))
    wrong = 0
    for example, result in zip(examples, results):
        if abs(result.score - example.score) > TOLERANCE:
            wrong += 1
            lost = "; ".join(f"{q.name} {q.score:g}/{q.points:g}" for q in result.questions if q.score < q.points)
            report.add(Finding(_show(path), example_line(text, example.name),
                               f"example {example.name} declares {example.score:g} but scores {result.score:g}"
                               f" ({lost or 'full marks'})"))
    if not wrong:
        report.steps.append(f"each of the {len(examples)} examples scores its declared score")


def check_template(loaded: Loaded, report: Report, template_root: Path) -> None:
    """The generated template under ``template_root`` matches a fresh generation."""
    if not (Path(template_root) / loaded.compiled.name).is_dir():
        report.add(Finding(_show(Path(template_root) / loaded.compiled.name), 0,
                           f"not generated yet: `dlgrade generate {loaded.folder.name}` writes it", severity=NOTE))
        return
    stale = stale_files([loaded.folder], Path(template_root))
    for line in stale:
        file, _, what = line.partition(": ")
        report.add(Finding(_show(file), 0, f"{what}: run `dlgrade generate {loaded.folder.name}`"))
    if not stale:
        report.steps.append("the student template is up to date")


def mutation_targets(question: CompiledQuestion) -> list[str]:
    """The names a question grades, or [] when it is exempt (form checks only, or a training task)."""
    if any(runs_a_model(c.request) for c in question.cases):
        return []
    if all(c.check.kind in FORM_ONLY for c in question.cases):
        return []
    return list(dict.fromkeys(name for _, name, _ in requested_names(question)))


def check_mutations(loaded: Loaded, report: Report, max_mutants: int = DEFAULT_MUTANTS) -> None:
    """Every question that grades values fails at least one plausible wrong answer."""
    from grader.engine.grading import limits_for

    compiled, questions = loaded.compiled, loaded.compiled.questions
    own = limits_for(compiled).to_dict()
    overrides = {name: min(value, own[name]) for name, value in MUTANT_LIMITS.items()}
    targets = {q.name: mutation_targets(q) for q in questions}
    killed: dict[str, Mutant] = {}
    tried: dict[str, list[Mutant]] = {q.name: [] for q in questions}
    graded = 0
    for question in questions:
        if not targets[question.name] or question.name in killed:
            continue
        for mutant in _mutants_for(loaded.master, targets[question.name], MUTANTS_PER_QUESTION):
            if graded >= max_mutants:
                break
            affected = [q for q in questions if mutant.target in targets[q.name]]
            subset = CompiledAssignment(compiled.name, compiled.title, compiled.module, affected,
                                        dict(compiled.limits), compiled.variant)
            result = grade_source(subset, solution_source(mutant.source), overrides=overrides)
            graded += 1
            for q in affected:
                tried[q.name].append(mutant)
            for outcome in result.questions:
                if outcome.score < outcome.points - 1e-9:
                    killed.setdefault(outcome.name, mutant)
            if question.name in killed:
                break
    survivors = 0
    for question in questions:
        if not targets[question.name] or question.name in killed:
            continue
        file, line = question.origin or ("questions.py", 0)
        names = ", ".join(targets[question.name])
        if not tried[question.name]:
            has_sites = any(True for _ in _mutants_for(loaded.master, targets[question.name], 1))
            message = (f"not mutation-tested: the budget of {max_mutants} mutants was spent first "
                       "(--mutants N to raise it)") if has_sites else (
                f"not mutation-tested: {MASTER} has no solution code for {names} to edit")
            report.add(Finding(_show(file), line, message, question.name, severity=NOTE))
            continue
        survivors += 1
        examples = "; ".join(f"{m.description} ({MASTER}:{m.line})" for m in tried[question.name][:2])
        report.add(Finding(_show(file), line,
                           f"no plausible wrong answer fails it: {len(tried[question.name])} edits of {names} "
                           f"all score full marks (e.g. {examples}); add a case they fail (other inputs, "
                           "a tighter tolerance)", question.name))
    exempt = sum(1 for q in questions if not targets[q.name])
    if not survivors:
        report.steps.append(f"mutation testing: {graded} mutants of the master graded; every question that "
                            f"grades values fails one ({exempt} form-only or training questions exempt)")


def _mutants_for(master: str, names: list[str], limit: int) -> Iterator[Mutant]:
    """Up to ``limit`` mutants, alternating between the names so each gets edited."""
    streams = [mutants_of(master, name) for name in names]
    count = 0
    while streams and count < limit:
        for stream in list(streams):
            mutant = next(stream, None)
            if mutant is None:
                streams.remove(stream)
                continue
            yield mutant
            count += 1
            if count >= limit:
                return


# ---------------------------------------------------------------------------
# All of it
# ---------------------------------------------------------------------------

def without_tasks(compiled: CompiledAssignment) -> tuple[CompiledAssignment, list[str]]:
    """``compiled`` without the questions that train a model (costly), and their names."""
    kept = [q for q in compiled.questions if not any(runs_a_model(c.request) for c in q.cases)]
    dropped = [q.name for q in compiled.questions if q not in kept]
    return CompiledAssignment(compiled.name, compiled.title, compiled.module, kept, dict(compiled.limits),
                              compiled.variant), dropped


def validate(folder: Path, *, template_root: Path | None = None, examples: bool = True,
             mutants: int = DEFAULT_MUTANTS, jobs: int = 2, tasks: bool = True) -> Report:
    """Prove one assignment: the cheap steps, then (if they pass) the sandboxed ones.

    ``tasks=False`` leaves out the questions that train a model (minutes each):
    the master is proved on the others and the examples, whose declared scores
    count every question, are not graded.
    """
    folder = Path(folder)
    report = Report(folder.name)
    loaded = cheap_checks(folder, report)
    if not report.ok or loaded.compiled is None or loaded.master is None:
        return report
    report.assignment = loaded.compiled.name
    if not tasks:
        loaded.compiled, dropped = without_tasks(loaded.compiled)
        if dropped:
            examples = False
            report.add(Finding(_show(folder / "questions.py"), 0, f"not run (--no-tasks): {', '.join(dropped)} "
                               "train a model; the examples were not graded either", severity=NOTE))
    if not check_master(loaded, report):
        return report  # the examples and the mutants are measured against a master that scores full marks
    if examples:
        check_examples(loaded, report, jobs)
    if template_root is not None:
        check_template(loaded, report, template_root)
    if mutants > 0:
        check_mutations(loaded, report, mutants)
    return report


def _show(path) -> str:
    """A path as the instructor typed it: relative to the current folder when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
