"""Code similarity across a class: template subtracted, an inverted index, rare fingerprints weighed.

Every submission's fingerprints go into one index (fingerprint → the students
holding it). Only the pairs that share a fingerprint are ever scored, and a
fingerprint held by a large part of the class (the template's leftovers, the
one obvious way to write ``x @ W + b``) is discounted to nothing: it says
nothing about any one pair. Cost grows with the number of fingerprints and
of small groups sharing one, not with the number of pairs of students.

A pair's *score* is the sum over the fingerprints the two share of
``log(N / holders)``: a passage only these two wrote weighs ``log(N / 2)``,
one a tenth of the class wrote weighs ``log(10)``, and one held by more than
``common_share`` of the class (or more than ``max_holders`` students) weighs
nothing. Scores are for ranking within this class, never against a fixed
threshold: two honest, correct solutions can be textually identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .fingerprint import DEFAULT_K, DEFAULT_WINDOW, Fingerprints, kgram_hashes, winnow
from .normalise import Token, normalised_tokens

#: A fingerprint held by more than this share of the class is common ground, not evidence.
COMMON_SHARE = 0.10
#: ... nor is one held by more than this many students, whatever the class size (and it bounds the work).
MAX_HOLDERS = 50
#: ... but one held by two or three students is always evidence, however small the class.
MIN_HOLDERS_CAP = 3


@dataclass
class Document:
    """One student's code, its tokens and its fingerprints with the template's removed."""
    student: str
    code: str
    tokens: list[Token]
    fingerprints: Fingerprints

    def spans(self, hashes: set[int]) -> list[tuple[int, int]]:
        """Character spans ``(start, end)`` in ``code`` covered by the fingerprints in ``hashes``, merged."""
        k = self.fingerprints.k
        spans = []
        for value, start in zip(self.fingerprints.hashes.tolist(), self.fingerprints.starts.tolist()):
            if value in hashes:
                last = min(start + k, len(self.tokens)) - 1
                spans.append((self.tokens[start].start, max(self.tokens[last].end, self.tokens[start].start)))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


@dataclass(frozen=True)
class CodePair:
    """Two students whose code shares rare passages.

    ``score``: the summed weight of the shared fingerprints; ``shared``: how
    many; ``share_a``/``share_b``: the part of each one's own distinctive
    weight that the other holds too (1.0: all of it); ``rank``: 1 for the
    strongest pair of the class; ``above_typical``: how many spreads (scaled
    median absolute deviations) the score lies above the class's typical best
    match, a sense of scale, not a verdict.
    """
    a: str
    b: str
    score: float
    shared: int
    share_a: float
    share_b: float
    rank: int = 0
    above_typical: float = 0.0


@dataclass
class CodeEvidence:
    """The ranked pairs of one class and what was needed to show them."""
    pairs: list[CodePair]
    documents: dict[str, Document]
    holders: dict[int, int] = field(default_factory=dict)   # fingerprint -> number of students holding it
    max_holders: int = 0

    def shared_hashes(self, a: str, b: str) -> set[int]:
        """The evidential fingerprints (held by at most ``max_holders``) that ``a`` and ``b`` share."""
        mine = set(self.documents[a].fingerprints.hashes.tolist())
        theirs = set(self.documents[b].fingerprints.hashes.tolist())
        return {h for h in mine & theirs if self.holders.get(h, 0) <= self.max_holders}

    def best_score(self, student: str) -> float:
        return max((p.score for p in self.pairs if student in (p.a, p.b)), default=0.0)


def make_document(student: str, code: str, template_kgrams: set[int] | frozenset = frozenset(), *,
                  k: int = DEFAULT_K, window: int = DEFAULT_WINDOW) -> Document:
    """Normalise and fingerprint ``code``; drop every fingerprint that is a k-gram of the template."""
    tokens = normalised_tokens(code)
    prints = winnow(tokens, k, window)
    if template_kgrams and len(prints.hashes):
        keep = ~np.isin(prints.hashes, np.fromiter(template_kgrams, dtype=np.uint64, count=len(template_kgrams)))
        prints = Fingerprints(prints.hashes[keep], prints.starts[keep], k)
    return Document(student, code, tokens, prints)


def template_kgrams(*template_codes: str, k: int = DEFAULT_K) -> set[int]:
    """Every k-gram hash of the template(s): all of them, so that no part of the template can count."""
    found: set[int] = set()
    for code in template_codes:
        found.update(kgram_hashes(normalised_tokens(code), k).tolist())
    return found


def holder_cap(class_size: int, common_share: float = COMMON_SHARE, max_holders: int = MAX_HOLDERS) -> int:
    """The most students that may hold a fingerprint for it to count as evidence."""
    return max(MIN_HOLDERS_CAP, min(max_holders, math.ceil(common_share * class_size)))


def compare_class(documents: list[Document], *, common_share: float = COMMON_SHARE,
                  max_holders: int = MAX_HOLDERS) -> CodeEvidence:
    """Rank the pairs of ``documents`` by the rare fingerprints they share."""
    n = len(documents)
    cap = holder_cap(n, common_share, max_holders)
    by_student = {d.student: d for d in documents}
    if n < 2:
        return CodeEvidence([], by_student, {}, cap)
    # (fingerprint, document) once per document, sorted by fingerprint: the inverted index, as arrays
    hashes = [np.unique(d.fingerprints.hashes) for d in documents]
    all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    owners = np.concatenate([np.full(len(h), i, dtype=np.int64) for i, h in enumerate(hashes)])
    order = np.argsort(all_hashes, kind="stable")
    all_hashes, owners = all_hashes[order], owners[order]
    unique, first, counts = np.unique(all_hashes, return_index=True, return_counts=True)
    holders = dict(zip(unique.tolist(), counts.tolist()))

    weight_of_count = np.zeros(cap + 1)
    weight_of_count[2:] = np.log(n / np.arange(2, cap + 1))
    own_weight = np.zeros(n)
    evidential = (counts >= 2) & (counts <= cap)
    np.add.at(own_weight, owners, np.where(np.repeat(evidential, counts), np.repeat(
        weight_of_count[np.minimum(counts, cap)], counts), 0.0))

    pair_keys, pair_weights = [], []
    for size in range(2, cap + 1):
        groups = first[counts == size]
        if len(groups) == 0:
            continue
        members = owners[groups[:, None] + np.arange(size)]          # (G, size): the holders of each fingerprint
        left, right = np.triu_indices(size, 1)
        a, b = members[:, left].ravel(), members[:, right].ravel()
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pair_keys.append(lo * n + hi)
        pair_weights.append(np.full(len(lo), weight_of_count[size]))
    if not pair_keys:
        return CodeEvidence([], by_student, holders, cap)
    keys, inverse = np.unique(np.concatenate(pair_keys), return_inverse=True)
    weights = np.concatenate(pair_weights)
    scores = np.bincount(inverse, weights=weights)
    shared = np.bincount(inverse)
    pairs = []
    for key, score, count in zip(keys.tolist(), scores.tolist(), shared.tolist()):
        i, j = divmod(key, n)
        pairs.append(CodePair(documents[i].student, documents[j].student, score, count,
                              _share(score, own_weight[i]), _share(score, own_weight[j])))
    return CodeEvidence(_ranked(pairs, [d.student for d in documents]), by_student, holders, cap)


def _share(score: float, own: float) -> float:
    return float(min(1.0, score / own)) if own > 0 else 0.0


def _ranked(pairs: list[CodePair], students: list[str]) -> list[CodePair]:
    """Pairs by score (ties by name), with their rank and distance above the class's typical best match."""
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    best = {s: 0.0 for s in students}
    for p in pairs:
        best[p.a] = max(best[p.a], p.score)
        best[p.b] = max(best[p.b], p.score)
    values = np.array(list(best.values()))
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    spread = spread if spread > 0 else max(1e-9, float(np.mean(np.abs(values - median))))
    return [CodePair(p.a, p.b, p.score, p.shared, p.share_a, p.share_b, rank,
                     (p.score - median) / spread) for rank, p in enumerate(pairs, 1)]
