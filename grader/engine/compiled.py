"""An assignment compiled: plain data (cases, questions, the assignment), stored as JSON plus an
``.npz`` of arrays, shipped in a student template (public questions only) and graded without the
reference. :mod:`grader.engine.authoring` makes it from an assignment's ``questions.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine import datafile
from grader.engine.checks import Check, check_from_spec
from grader.engine.protocol import parse_request


@dataclass
class Case:
    """One request to the student's process and how to judge its answer.

    ``request`` is plain data, one of
        {"kind": "call", "calls": [{"fn", "args", "kwargs", "keep", "pick"}, ...]}
        {"kind": "get", "name": NAME}
        {"kind": "task", "task": TASK, "params": {...}}
        {"kind": "trainer", "export": {...}, "task": TASK, "params": {...}}
    where a call argument ``{"__slot__": NAME, "index": I}`` refers to a value
    kept in the child by an earlier call of the same request.
    ``assemble`` says how replies become the value handed to the check:
    ``"value"`` (the single reply), ``"gradient"`` (forward, backward and
    probe replies, see :meth:`QuestionBuilder.gradient`) or
    ``"field:NAME"`` (one entry of a task's dict reply). Their typed forms are
    :mod:`grader.engine.protocol`'s (``parse_request``, ``Assembly.parse``).
    """

    label: str
    request: dict
    expected: Any
    check: Check
    assemble: str = "value"
    meta: dict = field(default_factory=dict)
    weight: float = 1.0
    share: str | None = None  # cases with the same key reuse one reply (e.g. one training run)
    # Where the author declared the case: (file, line) in questions.py. Not part of the data, so
    # moving a line in questions.py never changes a generated file.
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)

    @property
    def target(self) -> str:
        """The name in the submission this case exercises (for messages)."""
        return parse_request(self.request).target

    def to_data(self) -> dict:
        return {
            "label": self.label,
            "request": self.request,
            "expected": self.expected,
            "check": self.check.to_spec(),
            "assemble": self.assemble,
            "meta": self.meta,
            "weight": self.weight,
            "share": self.share,
        }

    @classmethod
    def from_data(cls, data: dict) -> "Case":
        return cls(
            label=data["label"],
            request=data["request"],
            expected=data["expected"],
            check=check_from_spec(data["check"]),
            assemble=data["assemble"],
            meta=data.get("meta", {}),
            weight=data.get("weight", 1.0),
            share=data.get("share"),
        )


@dataclass
class CompiledQuestion:
    name: str
    title: str
    points: float
    public: bool
    cases: list[Case]
    scoring: str = "partial"  # "partial": weighted share of cases passed; "all": all or nothing
    prompt: str = ""          # markdown shown on an exam paper
    origin: tuple[str, int] | None = field(default=None, compare=False, repr=False)  # (file, def line)

    def to_data(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "points": self.points,
            "public": self.public,
            "scoring": self.scoring,
            "prompt": self.prompt,
            "cases": [case.to_data() for case in self.cases],
        }

    @classmethod
    def from_data(cls, data: dict) -> "CompiledQuestion":
        return cls(
            name=data["name"],
            title=data["title"],
            points=data["points"],
            public=data["public"],
            scoring=data.get("scoring", "partial"),
            prompt=data.get("prompt", ""),
            cases=[Case.from_data(c) for c in data["cases"]],
        )


@dataclass
class CompiledAssignment:
    """Everything needed to grade a submission, as plain data."""

    name: str
    title: str
    module: str
    questions: list[CompiledQuestion]
    limits: dict = field(default_factory=dict)
    variant: str | None = None

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions))

    def public_only(self) -> "CompiledAssignment":
        return dataclasses.replace(self, questions=[q for q in self.questions if q.public])

    def question(self, name: str) -> CompiledQuestion:
        for question in self.questions:
            if question.name == name:
                return question
        raise KeyError(f"{self.name} has no question {name!r}; it has {[q.name for q in self.questions]}")

    def to_data(self) -> dict:
        return {
            "format": "dlgrade-compiled-assignment/1",
            "name": self.name,
            "title": self.title,
            "module": self.module,
            "limits": self.limits,
            "variant": self.variant,
            "questions": [q.to_data() for q in self.questions],
        }

    @classmethod
    def from_data(cls, data: dict) -> "CompiledAssignment":
        if data.get("format") != "dlgrade-compiled-assignment/1":
            raise ValueError(f"not a compiled dlgrade assignment (format={data.get('format')!r})")
        return cls(
            name=data["name"],
            title=data["title"],
            module=data["module"],
            limits=data.get("limits", {}),
            variant=data.get("variant"),
            questions=[CompiledQuestion.from_data(q) for q in data["questions"]],
        )

    def save(self, path: Path) -> None:
        datafile.save(self.to_data(), path)

    @classmethod
    def load(cls, path: Path) -> "CompiledAssignment":
        return cls.from_data(datafile.load(path))
