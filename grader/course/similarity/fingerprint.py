"""Winnowing: the fingerprints of a token sequence (Schleimer, Wilkerson and Aiken, 2003).

Every run of ``k`` consecutive normalised tokens (a *k-gram*) gets a 64-bit
hash; in every window of ``window`` consecutive k-gram hashes the smallest is
kept. Two submissions that share a passage of at least ``k + window - 1``
tokens are then guaranteed to share a fingerprint, while a short
coincidence of fewer than ``k`` tokens never produces one. The hashes are
stable across processes (token texts are hashed with CRC-32, not Python's
salted ``hash``), so the same class always gives the same evidence.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .normalise import Token

#: Tokens per k-gram: about two short statements. Shorter matches are too common to mean anything.
DEFAULT_K = 12
#: k-grams per window: any shared passage of k + window - 1 = 19 tokens or more is seen.
DEFAULT_WINDOW = 8

_BASE = np.uint64(1_000_003)


@dataclass(frozen=True)
class Fingerprints:
    """The selected fingerprints of one document.

    ``hashes`` (F,) uint64 and ``starts`` (F,) int: the hash of a k-gram and
    the index of its first token; ``k`` is the k-gram length, so fingerprint
    ``i`` covers tokens ``starts[i] : starts[i] + k``.
    """
    hashes: np.ndarray
    starts: np.ndarray
    k: int


def token_ids(tokens: list[Token]) -> np.ndarray:
    """(T,) uint64: a stable number for each token text."""
    cache: dict[str, int] = {}
    ids = [cache.setdefault(t.text, zlib.crc32(t.text.encode()) + 1) for t in tokens]
    return np.asarray(ids, dtype=np.uint64)


def kgram_hashes(tokens: list[Token], k: int = DEFAULT_K) -> np.ndarray:
    """(T - k + 1,) uint64: a polynomial hash of each k-gram (arithmetic modulo 2**64)."""
    ids = token_ids(tokens)
    count = len(ids) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(k):
            hashes = hashes * _BASE + ids[offset:offset + count]
        # mix the bits so that the minimum of a window is not biased towards particular tokens
        hashes ^= hashes >> np.uint64(31)
        hashes *= np.uint64(0x9E3779B97F4A7C15)
        hashes ^= hashes >> np.uint64(29)
    return hashes


def winnow(tokens: list[Token], k: int = DEFAULT_K, window: int = DEFAULT_WINDOW) -> Fingerprints:
    """The fingerprints of ``tokens``: the smallest k-gram hash of every window (rightmost on ties)."""
    hashes = kgram_hashes(tokens, k)
    if len(hashes) == 0:
        return Fingerprints(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), k)
    if len(hashes) <= window:
        chosen = np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    else:
        windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
        # rightmost minimum of each window: argmin over the reversed window
        chosen = np.arange(len(windows)) + (window - 1 - np.argmin(windows[:, ::-1], axis=1))
        chosen = np.unique(chosen)
    return Fingerprints(hashes[chosen], chosen.astype(np.int64), k)
