"""How an assignment declares its questions.

An assignment is a Python module (``assignments/NAME/questions.py``) that
builds an :class:`Assignment` and decorates one function per question::

    assignment = Assignment("01_backprop", title="Backprop", module="backprop")

    @assignment.question(points=2, public=True)
    def dense_forward(q):
        x, W, b = q.rng.normal(size=(4, 3)), q.rng.normal(size=(3, 5)), q.rng.normal(size=5)
        q.call("dense_forward", x, W, b, pick=0,
               expected=ref.dense_forward(x, W, b)[0], check=ArrayClose(rtol=1e-10))

A question function runs in the grading parent, never next to student code.
It draws its inputs from ``q.rng`` (seeded by the assignment, the question
and, for an exam, the student's variant), computes every expected value with
the reference implementation, and declares *cases*: a request to send to the
student's process, the expected answer and the check that compares them.
Compiling an assignment runs every question function once and yields plain
data (:class:`CompiledAssignment`), which can be stored, shipped in a student
template (public questions only) and graded without the reference.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.util
import inspect
import re
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.engine.checks import Check, Expression, Gradient
from grader.engine.compiled import Case, CompiledAssignment, CompiledQuestion
from grader.engine.protocol import Call, SlotRef, TaskRequest, TrainerRequest

# --------------------------------------------------------------------------
# Authoring: the decorator and the builder handed to question functions
# --------------------------------------------------------------------------


def slot(name: str, index: int | None = None) -> dict:
    """A call argument referring to a value an earlier call kept in the child (stored form of a SlotRef)."""
    return SlotRef(name, index).to_data()


def stable_seed(*parts: object) -> int:
    """A seed that depends only on ``parts`` (not on Python's hash salt)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _is_differentiable(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


@dataclass
class _Declared:
    name: str
    title: str
    points: float
    public: bool
    scoring: str
    build: Callable[["QuestionBuilder"], None]


class QuestionBuilder:
    """What a question function receives: a seeded rng and methods declaring cases."""

    def __init__(self, assignment: "Assignment", name: str, variant: str | None):
        self.rng = np.random.default_rng(stable_seed(assignment.name, name, variant or ""))
        self.variant = variant
        self.cases: list[Case] = []
        self.prompt_text = ""

    # -- what the student sees on a paper ------------------------------------
    def prompt(self, text: str) -> None:
        """The question's text on an exam paper or in the instructions (markdown)."""
        self.prompt_text = text

    # -- cases ---------------------------------------------------------------
    def call(self, fn: str, *args: Any, expected: Any, check: Check, kwargs: dict | None = None,
             pick: int | None = None, label: str | None = None, weight: float = 1.0) -> None:
        """Call ``fn(*args, **kwargs)`` in the submission; compare (element ``pick`` of) its result."""
        request = {"kind": "call", "calls": [_call(fn, args, kwargs, pick=pick)]}
        self._add(Case(label or f"{fn}{_shapes(args)}", request, expected, check, weight=weight))

    def answer(self, name: str, *, expected: Any, check: Check, label: str | None = None,
               weight: float = 1.0) -> None:
        """Compare the module-level name ``name`` of the submission (e.g. ``LOSS``)."""
        self._add(Case(label or name, {"kind": "get", "name": name}, expected, check, weight=weight))

    def expression(self, name: str, *, expected: Any, symbols: tuple[str, ...] | None = None,
                   label: str | None = None, target: str | None = None, domains: dict | None = None,
                   weight: float = 1.0, local: bool = False) -> None:
        """A symbolic answer: the string ``name`` in the submission must be equivalent to ``expected``.

        ``expected`` is a sympy expression (computed by sympy from a forward
        definition) or a string in the checker's grammar; ``symbols`` are then
        required. It may also be a reference ``Derivation``: the expected value
        is its ``expression``, or its ``local`` form (the step in the lecture's
        notation) with ``local=True``; the answer may use its symbols, its
        defined names standing for their definitions (passed to the check as
        text, ``str`` of each sympy expression) and its functions; ``symbols``,
        if given, replace its inputs (see ``Expression.for_derivation``).
        """
        if not isinstance(expected, (str, int, float)) and hasattr(expected, "definitions"):
            params = {"symbols": tuple(symbols)} if symbols is not None else {}
            check, text = Expression.for_derivation(expected, local=local, target=target,
                                                    domains=domains or {}, **params)
            self.answer(name, expected=text, check=check, label=label, weight=weight)
            return
        if symbols is None or local:
            raise TypeError("expression: give symbols (and no local=True) unless expected is a Derivation")
        check = Expression(symbols=tuple(symbols), target=target, domains=domains or {})
        self.answer(name, expected=str(expected), check=check, label=label, weight=weight)

    def gradient(self, forward: str, backward: str, *args: Any, reference: tuple[Callable, Callable],
                 names: tuple[str, ...] | None = None, kwargs: dict | None = None,
                 check: Check | None = None, directions: int = 1, h: float = 1e-6,
                 label: str | None = None, weight: float = 1.0) -> None:
        """Grade a backward pass against the reference and against the student's own forward.

        The child runs ``out, cache = forward(*args)``, then
        ``backward(dout, cache)`` (the cache never leaves the child), then the
        forward again at ``x ± h·v`` along ``directions`` random unit
        directions ``v`` per floating-point array argument ``x``. The parent
        gets ``out``, the gradients and the probe outputs, and the
        :class:`~grader.engine.checks.Gradient` check compares the gradients with the
        reference and with directional finite differences of the student's
        forward.
        """
        kwargs = kwargs or {}
        ref_forward, ref_backward = reference
        out, cache = ref_forward(*args, **kwargs)
        dout = self.rng.normal(size=np.shape(out))
        grads = ref_backward(dout, cache)
        single = not isinstance(grads, tuple)
        grads = [grads] if single else list(grads)

        calls = [_call(forward, args, kwargs, keep="forward", pick=0),
                 _call(backward, (dout, slot("forward", 1)), None)]
        probe_specs, probe_calls = self._probes(forward, args, kwargs, directions, h, pick=0)
        expected = {"out": out, "grads": grads, "dout": dout, "directions": probe_specs}
        self._add(Case(label or f"{backward} after {forward}{_shapes(args)}",
                       {"kind": "call", "calls": calls + probe_calls}, expected,
                       check or Gradient(names=names or _grad_names(args)), assemble="gradient",
                       meta={"single_gradient": single, "value_and_grad": False}, weight=weight))

    def loss_gradient(self, fn: str, *args: Any, reference: Callable, name: str = "dinput",
                      kwargs: dict | None = None, check: Check | None = None, directions: int = 2,
                      h: float = 1e-6, label: str | None = None, weight: float = 1.0) -> None:
        """Grade a loss returning ``(loss, dinput)``: the loss value and the gradient w.r.t. its first argument.

        Both are the answer: a wrong loss with a right gradient earns the
        gradient's share only (``Gradient(output="loss")``).
        """
        kwargs = kwargs or {}
        loss, dinput = reference(*args, **kwargs)
        probe_specs, probe_calls = self._probes(fn, args[:1], kwargs, directions, h, pick=0,
                                                 rest=args[1:])
        expected = {"out": loss, "grads": [dinput], "dout": 1.0, "directions": probe_specs}
        calls = [_call(fn, args, kwargs)] + probe_calls
        self._add(Case(label or f"{fn}{_shapes(args)} gradient", {"kind": "call", "calls": calls},
                       expected, check or Gradient(names=(name,), output="loss"), assemble="gradient",
                       meta={"single_gradient": True, "value_and_grad": True}, weight=weight))

    def task(self, task: str, *, params: dict, expected: Any, check: Check, target: str,
             extract: str | None = None, share: str | None = None, label: str | None = None,
             weight: float = 1.0) -> None:
        """Run a harness routine in the child (e.g. train the student's Keras model)."""
        request = TaskRequest(task, params, about=target).to_data()
        assemble = f"field:{extract}" if extract else "value"
        self._add(Case(label or task, request, expected, check, assemble=assemble, share=share,
                       weight=weight))

    def trainer_task(self, task: str, *, export: dict, params: dict, expected: Any, check: Check, target: str,
                     extract: str | None = None, share: str | None = None, label: str | None = None,
                     weight: float = 1.0) -> None:
        """Run ``task`` in the grader's trainer process, on the model the submission builds.

        The submission's process only runs ``keras_export_model`` with
        ``export`` (the builder's name and seed) and sends back the model's
        architecture; a second sandboxed process that runs no student code
        rebuilds it with fresh weights and runs ``task`` (``keras_train_saved``,
        ``keras_describe_saved``) with ``params``. See ``grader.engine.trainer``.
        """
        request = TrainerRequest(dict(export), task, params, about=target).to_data()
        assemble = f"field:{extract}" if extract else "value"
        self._add(Case(label or task, request, expected, check, assemble=assemble, share=share,
                       weight=weight))

    # -- helpers -------------------------------------------------------------
    def _probes(self, fn, diff_args, kwargs, directions, h, pick, rest=()):
        """Forward calls at x ± h·v for random unit directions v of each float array argument."""
        specs, calls = [], []
        all_args = list(diff_args) + list(rest)
        grad_index = 0
        for position, value in enumerate(diff_args):
            if not _is_differentiable(value):
                continue
            for _ in range(directions):
                v = self.rng.normal(size=value.shape)
                v /= np.linalg.norm(v) or 1.0
                for sign in (+1, -1):
                    shifted = list(all_args)
                    shifted[position] = value + sign * h * v
                    calls.append(_call(fn, shifted, kwargs, pick=pick))
                specs.append({"input": grad_index, "v": v, "h": h})
            grad_index += 1
        return specs, calls

    def _add(self, case: Case) -> None:
        case.origin = author_location()
        self.cases.append(case)


class Assignment:
    """An assignment (or exam) as its author writes it."""

    def __init__(self, name: str, *, title: str, module: str, limits: dict | None = None,
                 kind: str = "assignment", submissions: str = "files"):
        if kind not in ("assignment", "exam"):
            raise ValueError(f"kind must be 'assignment' or 'exam' (an exam draws each student's numbers), got {kind!r}")
        if submissions not in ("files", "folders"):
            raise ValueError(f"submissions must be 'files' (one file per student, named by the student's id) "
                             f"or 'folders' (one folder per student), got {submissions!r}")
        self.name = name
        self.submissions = submissions   # how students hand in: see grader.course.batch.parallel.find_submissions
        self.title = title
        self.module = module
        self.limits = dict(limits or {})
        self.kind = kind
        self._declared: list[_Declared] = []

    def question(self, points: float, *, public: bool = False, title: str | None = None,
                 scoring: str = "partial") -> Callable:
        """Decorator declaring a question; the function's name is the question's name."""
        if scoring not in ("partial", "all"):
            raise ValueError(f"scoring must be 'partial' or 'all', got {scoring!r}")

        def register(build: Callable[[QuestionBuilder], None]) -> Callable:
            name = build.__name__
            if any(d.name == name for d in self._declared):
                raise ValueError(f"{self.name}: two questions are named {name!r}")
            doc = (build.__doc__ or "").strip().splitlines()
            self._declared.append(_Declared(name, title or (doc[0] if doc else name), float(points),
                                            public, scoring, build))
            return build

        return register

    @property
    def question_names(self) -> list[str]:
        return [d.name for d in self._declared]

    @property
    def max_points(self) -> float:
        """The points of every declared question (what a grading's max_score will be), without compiling."""
        return float(sum(d.points for d in self._declared))

    def compile(self, variant: str | None = None) -> CompiledAssignment:
        """Run every question function; return the assignment as plain data."""
        questions = []
        for declared in self._declared:
            builder = QuestionBuilder(self, declared.name, variant)
            where = _definition_of(declared.build)
            try:
                declared.build(builder)
            except Exception as exc:
                raise AuthoringError.from_exception(exc, question=declared.name, fallback=where) from exc
            if not builder.cases:
                raise AuthoringError("declares no case: call q.call, q.answer, q.expression, q.gradient, "
                                     "q.loss_gradient or q.task in it", *where, question=declared.name)
            questions.append(CompiledQuestion(declared.name, declared.title, declared.points,
                                              declared.public, builder.cases, declared.scoring,
                                              builder.prompt_text, origin=where))
        return CompiledAssignment(self.name, self.title, self.module, questions, dict(self.limits),
                                  variant)


# --------------------------------------------------------------------------
# Finding assignments on disk
# --------------------------------------------------------------------------


def default_assignments_dir() -> Path:
    """``$DLGRADE_ASSIGNMENTS``, else ``$DLGRADE_COURSE/assignments`` (``dlgrade --course DIR``),
    else ``./assignments``, else the one beside this package."""
    import os

    if os.environ.get("DLGRADE_ASSIGNMENTS"):
        return Path(os.environ["DLGRADE_ASSIGNMENTS"])
    if os.environ.get("DLGRADE_COURSE"):
        return Path(os.environ["DLGRADE_COURSE"]) / "assignments"
    here = Path.cwd() / "assignments"
    if here.is_dir():
        return here
    import grader

    return Path(grader.__file__).resolve().parent.parent / "assignments"   # the checkout's


def default_template_root(assignment_dir: Path | None = None) -> Path:
    """Where generated student templates live: ``student_template/`` beside the assignments folder."""
    assignments = Path(assignment_dir).resolve().parent if assignment_dir else default_assignments_dir().resolve()
    return assignments.parent / "student_template"


def resolve_assignment_dir(name_or_path: str | Path) -> Path:
    """An assignment given by name (``01_backprop``) or by path to its folder."""
    path = Path(name_or_path)
    if (path / "questions.py").is_file():
        return path
    candidate = default_assignments_dir() / str(name_or_path)
    if (candidate / "questions.py").is_file():
        return candidate
    available = sorted(p.name for p in default_assignments_dir().glob("*/questions.py"))
    raise FileNotFoundError(
        f"no assignment {str(name_or_path)!r}: expected a folder holding questions.py "
        f"or one of {available}")


#: Modules an assignment's questions.py imported before dlgrade 0.2 put them in grader.engine.
MOVED_MODULES = {"grader.authoring": "grader.engine.authoring", "grader.checks": "grader.engine.checks",
                 "grader.datafile": "grader.engine.datafile", "grader.sheets": "grader.engine.sheets"}


def moved_module_hint(missing: str) -> str | None:
    """What to import instead when ``missing`` is a module dlgrade 0.2 moved (None otherwise)."""
    for old, new in MOVED_MODULES.items():
        if missing == old or missing.startswith(old + "."):
            return (f"since dlgrade 0.2 it is {new + missing.removeprefix(old)}: import from there "
                    "(docs/authoring.md)")
    return None


def load_assignment(name_or_path: str | Path) -> Assignment:
    """Import ``questions.py`` of an assignment and return its ``assignment`` object.

    The assignment folder is imported as a package of its own
    (``dlgrade_assignment_NAME``), so ``questions.py`` reaches the
    assignment's own answer-key code in ``key/`` by a relative import
    (``from .key import batchnorm``), and two assignments' ``key`` never mix.
    An error while importing is raised as :class:`AuthoringError` naming the
    file and line.
    """
    folder = resolve_assignment_dir(name_or_path)
    module_name = f"dlgrade_assignment_{_identifier(folder.name)}"
    for stale in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")]:
        del sys.modules[stale]  # a reload sees the files as they are now
    # questions.py is the package's own module, its folder the package's path: `.key` is folder/key.
    spec = importlib.util.spec_from_file_location(module_name, folder / "questions.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise AuthoringError(f"syntax error: {exc.msg}", exc.filename or str(folder / "questions.py"),
                             exc.lineno or 0) from exc
    except ModuleNotFoundError as exc:
        moved = moved_module_hint(exc.name or "")
        if moved:
            raise AuthoringError(f"{exc}: {moved}", str(folder / "questions.py"), 0) from exc
        raise AuthoringError.from_exception(exc, fallback=(str(folder / "questions.py"), 0)) from exc
    except Exception as exc:
        raise AuthoringError.from_exception(exc, fallback=(str(folder / "questions.py"), 0)) from exc
    assignment = getattr(module, "assignment", None)
    if not isinstance(assignment, Assignment):
        raise AuthoringError("must define `assignment = Assignment(...)`", str(folder / "questions.py"), 0)
    assignment.folder = folder
    return assignment


# --------------------------------------------------------------------------
# Authoring errors that name the file, the question and the line
# --------------------------------------------------------------------------

_THIS_FILE = str(Path(__file__).resolve())


class AuthoringError(ValueError):
    """A mistake in an assignment's sources, located: ``file:line: question NAME: message``."""

    def __init__(self, message: str, file: str, line: int, *, question: str | None = None):
        self.message, self.file, self.line, self.question = message, str(file), int(line or 0), question
        super().__init__(self.located())

    def located(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        about = f"question {self.question}: " if self.question else ""
        return f"{where}: {about}{self.message}"

    @classmethod
    def from_exception(cls, exc: BaseException, *, question: str | None = None,
                       fallback: tuple[str, int]) -> "AuthoringError":
        """The error ``exc`` raised while running the author's code, at the author's line.

        The line is the innermost frame of the traceback that is not dlgrade's
        nor a library's: a question function, ``questions.py`` or ``key/``.
        """
        if isinstance(exc, AuthoringError):
            return exc
        file, line = fallback
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            name = frame.f_code.co_filename
            if _is_author_file(name):
                file, line = name, lineno
        message = f"{type(exc).__name__}: {exc}" + _expected_options(exc)
        if isinstance(exc, ModuleNotFoundError) and exc.name and not exc.name.startswith("dlgrade_assignment_"):
            message += (" (an assignment's own answer-key code goes in its key/ folder and is imported "
                        "relatively: `from .key import NAME`)")
        return cls(message, file, line, question=question)


@functools.lru_cache(maxsize=1024)
def _is_author_file(filename: str) -> bool:
    """Code an instructor wrote: not dlgrade's, not the standard library's nor an installed package's."""
    path = Path(filename)
    if filename.startswith("<") or not path.is_absolute():
        return False
    if "site-packages" in path.parts or "dist-packages" in path.parts:
        return False
    grader_dir = Path(_THIS_FILE).parents[1]  # all of grader/, not only its engine
    reference_dir = grader_dir.parent / "reference"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return not any(path.resolve().is_relative_to(d) for d in (grader_dir, reference_dir, stdlib))


def author_location() -> tuple[str, int] | None:
    """(file, line) of the innermost caller outside dlgrade: where the author declared something."""
    frame = sys._getframe(1)
    while frame is not None:
        if _is_author_file(frame.f_code.co_filename):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return None


def _expected_options(exc: BaseException) -> str:
    """For a check or builder given an option it does not have: the options it has, and the likeliest."""
    match = re.match(r"(?:\w+\.)*?(\w+)\.(\w+)\(\) got an unexpected keyword argument '(\w+)'", str(exc))
    if not isinstance(exc, TypeError) or not match:
        return ""
    owner, method, wrong = match.groups()
    import grader.engine.checks

    target = getattr(grader.engine.checks, owner, None) or {"QuestionBuilder": QuestionBuilder,
                                                      "Assignment": Assignment}.get(owner)
    function = getattr(target, method, None)
    if function is None:
        return ""
    options = [p for p in inspect.signature(function).parameters if p not in ("self", "args", "kwargs")]
    close = difflib.get_close_matches(wrong, options, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f" ({owner} takes {', '.join(options)}{guess})"


def _definition_of(function: Callable) -> tuple[str, int]:
    code = function.__code__
    return code.co_filename, code.co_firstlineno


def _identifier(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def _call(fn: str, args, kwargs, *, keep: str | None = None, pick: int | None = None) -> dict:
    return Call(fn, list(args), dict(kwargs or {}), keep=keep, pick=pick).to_data()


def _shapes(args) -> str:
    parts = []
    for a in args:
        if isinstance(a, np.ndarray):
            parts.append("x".join(map(str, a.shape)) or "scalar")
        elif isinstance(a, (int, float, str)):
            parts.append(repr(a))
    return "(" + ", ".join(parts) + ")"


def _grad_names(args) -> tuple[str, ...]:
    count = sum(1 for a in args if _is_differentiable(a))
    return tuple(f"gradient of argument {i + 1}" for i in range(count))
