"""Pairs that come back: the same two students high in the evidence of several assignments.

One assignment's top pair may be chance; the same pair near the top again and
again is worth more of a reviewer's time. For each assignment the pairs are
taken from the top of its ranking (its ``top`` first pairs, the rank within
that class being what counts); a pair is listed when it is there in two
assignments or more, with each one's rank and, where the gradebook knows
them, both students' submission times.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Appearance:
    assignment: str
    rank: int
    kind: str                                 # "code", "wrong answers" or "exam variants"
    submitted: tuple[_dt.datetime | None, _dt.datetime | None] = (None, None)

    @property
    def minutes_apart(self) -> float | None:
        a, b = self.submitted
        return None if a is None or b is None else abs((a - b).total_seconds()) / 60


@dataclass
class RecurringPair:
    a: str
    b: str
    appearances: list[Appearance] = field(default_factory=list)

    @property
    def assignments(self) -> list[str]:
        return sorted({x.assignment for x in self.appearances})


def recurring_pairs(rankings: dict[tuple[str, str], list[tuple[str, str]]], *, top: int = 10,
                    times: dict[str, dict[str, _dt.datetime | None]] | None = None) -> list[RecurringPair]:
    """``rankings``: (assignment, kind) → pairs of students, strongest first.

    ``times``: assignment → student → submission time. Returns the pairs seen in
    the top ``top`` of two assignments or more, those seen in most assignments first.
    """
    times = times or {}
    found: dict[tuple[str, str], RecurringPair] = {}
    for (assignment, kind), pairs in rankings.items():
        when = times.get(assignment, {})
        for rank, (a, b) in enumerate(pairs[:top], 1):
            a, b = sorted((a, b))
            pair = found.setdefault((a, b), RecurringPair(a, b))
            pair.appearances.append(Appearance(assignment, rank, kind, (when.get(a), when.get(b))))
    recurring = [p for p in found.values() if len(p.assignments) >= 2]
    recurring.sort(key=lambda p: (-len(p.assignments), sum(x.rank for x in p.appearances), p.a, p.b))
    return recurring
