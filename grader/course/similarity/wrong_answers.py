"""The same rare wrong reply to the same hidden case, from two students.

Grading records a digest of every case's reply in the instructor's results
(``reply_digest``, see :func:`grader.engine.results.reply_digest`). Renaming
variables cannot change what a function returns: two students whose code
returns the same wrong array on a hidden case, when few of the class return
that array, share something worth a look. As with code, a wrong reply held
by a large part of the class is a common mistake, not evidence, and each
shared reply weighs ``log(answered / holders)``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .index import COMMON_SHARE, MAX_HOLDERS, holder_cap

#: Statuses of a reply that was wrong (not missing, not an error or a timeout: those have no reply).
WRONG_STATUSES = ("failed", "partial")


@dataclass(frozen=True)
class CaseReply:
    status: str
    digest: str


@dataclass(frozen=True)
class WrongAnswerPair:
    """Two students who gave the same rare wrong replies; ``cases``: ``question/case`` labels."""
    a: str
    b: str
    score: float
    cases: tuple[str, ...]
    rank: int = 0


def replies_of(results: dict) -> dict[str, CaseReply]:
    """``question/case`` → the reply, from a ``results.instructor.json`` document (or its ``extra_data``).

    Results written before digests were recorded simply have none.
    """
    extra = results.get("extra_data", results) if isinstance(results, dict) else {}
    out = {}
    for question in extra.get("questions") or []:
        if not isinstance(question, dict):
            continue
        for case in question.get("cases") or []:
            if isinstance(case, dict) and isinstance(case.get("reply_digest"), str):
                out[f"{question.get('name')}/{case.get('label')}"] = CaseReply(str(case.get("status")),
                                                                               case["reply_digest"])
    return out


def read_graded_folder(folder: str | Path) -> dict[str, dict[str, CaseReply]]:
    """Every ``FOLDER/instructor/<student>/results.instructor.json`` (what ``dlgrade grade --out FOLDER``
    writes; older folders: ``FOLDER/<student>/``)."""
    out = {}
    split = (Path(folder) / "instructor").is_dir()
    for path in sorted(Path(folder).glob(("instructor/" if split else "") + "*/results.instructor.json")):
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable results file ({exc})") from None
        out[path.parent.name] = replies_of(results)
    return out


def shared_wrong_answers(replies: dict[str, dict[str, CaseReply]], *, common_share: float = COMMON_SHARE,
                         max_holders: int = MAX_HOLDERS) -> list[WrongAnswerPair]:
    """Pairs of students ranked by the rare wrong replies they share."""
    cap = holder_cap(len(replies), common_share, max_holders)
    answered: dict[str, int] = defaultdict(int)
    holders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for student, cases in replies.items():
        for case, reply in cases.items():
            answered[case] += 1
            if reply.status in WRONG_STATUSES:
                holders[(case, reply.digest)].append(student)
    scores: dict[tuple[str, str], float] = defaultdict(float)
    shared: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (case, _), students in holders.items():
        if not 2 <= len(students) <= cap:
            continue
        weight = math.log(answered[case] / len(students))
        for a in students:
            for b in students:
                if a < b:
                    scores[(a, b)] += weight
                    shared[(a, b)].append(case)
    pairs = sorted(((a, b) for a, b in scores), key=lambda p: (-scores[p], p))
    return [WrongAnswerPair(a, b, scores[(a, b)], tuple(sorted(shared[(a, b)])), rank)
            for rank, (a, b) in enumerate(pairs, 1)]
