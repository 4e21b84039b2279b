"""Test classes built from the assignments' examples: honest students, the template, planted copies."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from grader.course.similarity.index import Document, make_document, template_kgrams
from grader.course.similarity.normalise import normalised_tokens, submission_code

from .disguise import disguise

ROOT = Path(__file__).resolve().parents[2]
#: assignment -> the module name of its template
ASSIGNMENTS = {"01_backprop": "backprop", "02_softmax": "softmax", "03_cnn": "cnn", "04_keras_mnist": "mnist_cnn"}
TEMPLATE_ONLY = "template_only"


_DOCUMENTS: dict[tuple[str, str, str], Document] = {}


@functools.lru_cache(maxsize=None)
def template_code(assignment: str) -> str:
    return submission_code(ROOT / "student_template" / assignment / f"{ASSIGNMENTS[assignment]}.py")


def honest_class(assignment: str, seed: int = 0) -> dict[str, str]:
    return dict(_honest_class(assignment, seed))


@functools.lru_cache(maxsize=None)
def _honest_class(assignment: str, seed: int) -> dict[str, str]:
    """student -> code: every example (scripts and notebooks), plus a student who handed in the template.

    The examples are the master solution with one mistake each, word for word; real students who
    make the same mistake still write their own code. So each example gets a style of its own: its
    functions in its own order and a few statements of its own (as :func:`disguise` makes them,
    without renaming, which normalisation undoes anyway).
    """
    folder = ROOT / "assignments" / assignment / "examples"
    codes = {}
    for number, path in enumerate(sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))):
        code = submission_code(path)
        if not _parses(code):  # an example with a syntax error (02's broken cell) has no style to give
            continue
        codes[path.stem] = disguise(code, seed * 1000 + number, rename=False)
    codes[TEMPLATE_ONLY] = template_code(assignment)
    return codes


@functools.lru_cache(maxsize=None)
def _token_texts(code: str) -> tuple[str, ...]:
    return tuple(t.text for t in normalised_tokens(code))


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def distinctive_sources(codes: dict[str, str]) -> list[str]:
    """The students whose normalised code nobody else in the class has: a copy of them can be told apart.

    (A copy of the solution half the class wrote word for word is no evidence of anything, to any tool.)
    """
    seen: dict[tuple[str, ...], list[str]] = {}
    for student, code in codes.items():
        seen.setdefault(_token_texts(code), []).append(student)
    return sorted(group[0] for group in seen.values() if len(group) == 1 and group[0] != TEMPLATE_ONLY)


@functools.lru_cache(maxsize=None)
def _template_kgrams(assignment: str) -> frozenset[int]:
    return frozenset(template_kgrams(template_code(assignment)))


def documents(assignment: str, codes: dict[str, str]) -> list[Document]:
    """The class's documents (each made once per test session: the same code gives the same document)."""
    out = []
    for student, code in codes.items():
        key = (assignment, student, code)
        if key not in _DOCUMENTS:
            _DOCUMENTS[key] = make_document(student, code, _template_kgrams(assignment))
        out.append(_DOCUMENTS[key])
    return out


def with_copy(codes: dict[str, str], source: str, seed: int, **which) -> tuple[dict[str, str], str]:
    """``codes`` plus a disguised copy of ``source``; returns the class and the copier's name."""
    copier = f"copy_of_{source}"
    return {**codes, copier: _disguised(codes[source], 1_000_000 + seed, tuple(sorted(which.items())))}, copier


@functools.lru_cache(maxsize=None)
def _disguised(code: str, seed: int, which: tuple) -> str:
    return disguise(code, seed, **dict(which))
