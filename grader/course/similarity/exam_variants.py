"""Exam answers that are wrong for the student's own paper but right for a classmate's.

Every student's paper has its own numbers (:mod:`grader.course.exam.variants`), so
a classmate's right answer is, for anyone else, a very particular wrong one.
For each wrong answer we look up the classmates whose paper it answers (an
index of every paper's expected values, bucketed by the check's tolerance,
then the check itself confirms) and weigh each such match by how often wrong
answers to that key land on some classmate's value in this very class:

    p_k = (matches on key k + 0.5) / (wrong answers to k × (N − 1) + 1)

is the chance that one honest wrong answer fits one given classmate's paper
(for a pair under review, its own fit is left out of the count).
A key answered to three decimals in a class of thousands matches someone by
chance all the time (p_k is large); a 4×4 matrix of a classmate's numbers
never does. A pair (student, classmate) matched on the keys K has the chance
``P = ∏ p_k``; in a class of N students, each with W wrong answers, about

    expected = N × (N − 1) × C(W, |K|) × P

pairs would match this well by chance alone. A pair is listed for review
when that expectation is below ``alpha`` (default 0.01): in a hundred honest
classes like this one, about one would show a single such pair. The number
is shown with the pair, so the reader can weigh it; it is not a verdict.

Symbolic answers (an expression) are left out: matching one against every
classmate's expression would cost a sympy comparison per candidate.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

ALPHA = 0.01
#: The matches credited to every key before any is seen (Jeffreys' prior): a key no wrong answer has
#: matched yet is rare, not impossible.
PSEUDO_COUNT = 0.5


# ---------------------------------------------------------------------------
# Matching an answer to the papers it fits
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """How to find the papers an answer fits for one key.

    ``prepare(value)``: a value in the form the other three take (done once
    per value); ``buckets(value)``: the index keys of an expected value;
    ``probes(answer)``: the index keys to look an answer up under (a
    superset: every paper the answer fits is under one of them);
    ``accepts(answer, expected)``: full credit, by the check's own rule.
    """
    buckets: Callable[[Any], list]
    probes: Callable[[Any], list]
    accepts: Callable[[Any, Any], bool]
    prepare: Callable[[Any], Any] = lambda value: value


def tolerance_matcher(atol: float, confirm: Callable[[Any, Any], bool] | None = None) -> Matcher:
    """Numbers (or lists of numbers) within ``atol`` of each other, entry by entry.

    ``confirm(answer, expected)``, on the values as given, has the last word (a check's own rule).
    """
    width = 2 * atol if atol > 0 else 1e-9

    def prepare(value):
        flat = _flatten(value)
        return None if flat is None else (value, tuple(flat))

    def buckets(prepared):
        if prepared is None:
            return []
        return [(len(prepared[1]),) + tuple(math.floor(x / width) for x in prepared[1])]

    def probes(prepared):
        if prepared is None:
            return []
        flat = prepared[1]
        if len(flat) > 8:   # a large array: its own cell only (the check is the judge anyway)
            return buckets(prepared)
        keys = [(len(flat),)]
        for x in flat:
            cells = sorted({math.floor((x - atol) / width), math.floor((x + atol) / width)})
            keys = [k + (c,) for k in keys for c in cells]
        return keys

    def accepts(answer, expected):
        if answer is None or expected is None:
            return False
        a, e = answer[1], expected[1]
        if len(a) != len(e) or any(abs(x - y) > atol + 1e-12 for x, y in zip(a, e)):
            return False
        return confirm(answer[0], expected[0]) if confirm else True

    return Matcher(buckets, probes, accepts, prepare)


def exact_matcher(confirm: Callable[[Any, Any], bool] | None = None) -> Matcher:
    """Values equal as plain data (a shape, an integer count, a word); ``confirm`` has the last word."""
    def prepare(value):
        try:
            return value, json.dumps(_plain(value), sort_keys=True)
        except (TypeError, ValueError):
            return None

    def key(prepared):
        return [] if prepared is None else [prepared[1]]

    def accepts(answer, expected):
        if answer is None or expected is None or answer[1] != expected[1]:
            return False
        return confirm(answer[0], expected[0]) if confirm else True

    return Matcher(key, key, accepts, prepare)


def matcher_for_check(check: Any) -> Matcher | None:
    """The matcher for a compiled case's check, confirmed by the check itself; None for expressions."""
    kind = getattr(check, "kind", "")

    def full_credit(answer, expected) -> bool:
        try:
            return check.check(answer, expected).fraction >= 1.0
        except Exception:   # an answer the check cannot read fits no paper
            return False

    if kind in ("number", "array"):
        atol = float(getattr(check, "atol", 0.0) or 0.0)
        decimals = getattr(check, "decimals", None)
        if decimals is not None:
            atol = max(atol, 10.0 ** -decimals)
        if getattr(check, "rtol", 0.0) or getattr(check, "sigfigs", None):
            return rounded_matcher(full_credit)
        return tolerance_matcher(max(atol, 1e-12), full_credit)
    if kind in ("exact", "oneof"):
        return exact_matcher(full_credit)
    return None


def rounded_matcher(confirm: Callable[[Any, Any], bool]) -> Matcher:
    """A relative tolerance: candidates share three significant figures; the check decides."""
    def prepare(value):
        flat = _flatten(value)
        return None if flat is None else (value, tuple(float(f"{x:.3g}") for x in flat))

    def key(prepared):
        return [] if prepared is None else [prepared[1]]

    def accepts(answer, expected):
        return answer is not None and expected is not None and confirm(answer[0], expected[0])

    return Matcher(key, key, accepts, prepare)


def _flatten(value: Any) -> list[float] | None:
    out: list[float] = []

    def walk(v, depth):
        if depth > 4 or len(out) > 10_000:
            raise ValueError
        if isinstance(v, bool):
            raise ValueError
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                raise ValueError
            out.append(float(v))
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item, depth + 1)
        elif hasattr(v, "tolist"):
            walk(v.tolist(), depth)
        else:
            raise ValueError

    try:
        walk(value, 0)
    except (ValueError, RecursionError):
        return None
    return out


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


# ---------------------------------------------------------------------------
# The class
# ---------------------------------------------------------------------------


@dataclass
class Paper:
    """One student's paper: ``expected`` and ``answers`` by answer key (plain data; absent: unanswered)."""
    student: str
    expected: dict[str, Any]
    answers: dict[str, Any]


@dataclass(frozen=True)
class VariantMatch:
    """``student``'s wrong answers that fit ``classmate``'s paper.

    ``keys``: those answer keys; ``wrong``: how many answers ``student`` got
    wrong in all; ``log10_chance``: log10 of ``P``; ``expected_by_chance``:
    how many pairs of this class would match this well by chance alone.
    """
    student: str
    classmate: str
    keys: tuple[str, ...]
    wrong: int
    log10_chance: float
    expected_by_chance: float
    listed: bool


@dataclass
class VariantEvidence:
    matches: list[VariantMatch]                       # every pair matched on two keys or more, strongest first
    chance_per_key: dict[str, float] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # keys not compared (expressions), and why

    @property
    def listed(self) -> list[VariantMatch]:
        return [m for m in self.matches if m.listed]


def compare_papers(papers: list[Paper], matchers: dict[str, Matcher | None], *,
                   alpha: float = ALPHA) -> VariantEvidence:
    """Every pair (student, classmate) whose paper fits two or more of the student's wrong answers."""
    n = len(papers)
    keys = [k for k, m in matchers.items() if m is not None]
    left_out = [f"{k}: not compared (answers of this kind are matched only to the student's own paper)"
                for k, m in matchers.items() if m is None]
    fits: dict[tuple[int, int], list[str]] = defaultdict(list)
    wrong_count = [0] * n
    matches_of: dict[str, int] = {}
    trials_of: dict[str, int] = {}
    for key in keys:
        matcher = matchers[key]
        expected = [matcher.prepare(p.expected[key]) if key in p.expected else None for p in papers]
        index: dict[Any, list[int]] = defaultdict(list)
        for i, value in enumerate(expected):
            for bucket in (matcher.buckets(value) if value is not None else ()):
                index[bucket].append(i)
        wrong_answers = matches = 0
        for i, paper in enumerate(papers):
            if key not in paper.answers or expected[i] is None:
                continue
            answer = matcher.prepare(paper.answers[key])
            if matcher.accepts(answer, expected[i]):
                continue
            wrong_answers += 1
            wrong_count[i] += 1
            seen = {i}
            for probe in (matcher.probes(answer) if answer is not None else ()):
                for j in index.get(probe, ()):
                    if j not in seen:
                        seen.add(j)
                        if matcher.accepts(answer, expected[j]):
                            fits[(i, j)].append(key)
                            matches += 1
        matches_of[key], trials_of[key] = matches, wrong_answers * max(n - 1, 1) + 1
    chance = {k: (matches_of[k] + PSEUDO_COUNT) / trials_of[k] for k in keys}
    found = []
    for (i, j), matched in fits.items():
        if len(matched) < 2:
            continue
        # the chance of each fit, estimated from the class without this very fit (leave one out)
        log_p = sum(math.log10((matches_of[k] - 1 + PSEUDO_COUNT) / trials_of[k]) for k in matched)
        log_expected = (math.log10(n) + math.log10(max(n - 1, 1))
                        + math.log10(math.comb(wrong_count[i], len(matched))) + log_p)
        expected_count = 10 ** log_expected
        found.append(VariantMatch(papers[i].student, papers[j].student, tuple(matched), wrong_count[i], log_p,
                                  expected_count, expected_count < alpha))
    found.sort(key=lambda m: (m.expected_by_chance, m.student, m.classmate))
    return VariantEvidence(found, chance, left_out)


# ---------------------------------------------------------------------------
# From a real exam: each student's compiled variant and answer sheet
# ---------------------------------------------------------------------------


def papers_from_sheets(assignment: Any, sheets: dict[str, Any], *, salt: str | None = None
                       ) -> tuple[list[Paper], dict[str, Matcher | None], list[str]]:
    """Compile each student's variant and read each answer sheet the way grading reads it.

    ``sheets``: student id → path of the answer sheet (``.toml``/``.yaml``).
    Returns the papers, the matcher of every answer key, and the students
    left out with the reason (a submission that is code, not a sheet).
    """
    from grader.course.exam.variants import compile_for_student
    from grader.engine.sheets import AnswerSheetSession, answer_keys, answer_sheet_of

    papers, matchers, skipped = [], {}, []
    for student, path in sorted(sheets.items()):
        sheet = answer_sheet_of(path)
        if sheet is None:
            skipped.append(f"{student}: not an answer sheet (only sheets are compared with classmates' papers)")
            continue
        compiled = compile_for_student(assignment, student, salt=salt)
        keys = answer_keys(compiled)
        session = AnswerSheetSession(sheet, expected_names=[k.key for k in keys])
        answers = {}
        for k in keys:
            reply = session.get(k.key)
            if reply.ok and reply.value is not None:
                answers[k.key] = reply.value
            matchers.setdefault(k.key, matcher_for_check(k.check))
        papers.append(Paper(student, {k.key: _plain(k.expected) for k in keys}, answers))
    return papers, matchers, skipped


def describe(match: VariantMatch) -> str:
    """One line for the instructor, in neutral words."""
    return (f"{match.student}: {len(match.keys)} of {match.wrong} answers that do not fit their own paper fit "
            f"{match.classmate}'s ({', '.join(match.keys)}); pairs matching this well by chance in this class: "
            f"about {match.expected_by_chance:.2g}")

