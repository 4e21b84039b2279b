"""A sliding-window rate limit per key (an address, a user), in this process's memory.

Enough for one server process (``dlgrade serve`` runs one, with threads). With
several processes behind a balancer each counts on its own, so the limit a
client meets is at most that many times higher; the cooldown between
attempts, which matters for grading, is enforced in the database.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimit:
    def __init__(self, count: int, per_seconds: float):
        self.count = count
        self.per_seconds = per_seconds
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Count one request; 0.0 when allowed, else the seconds until one would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.per_seconds:
                hits.popleft()
            if len(hits) >= self.count:
                return max(0.001, hits[0] + self.per_seconds - now)
            hits.append(now)
            if len(self._hits) > 100_000:   # many keys: forget the idle ones
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return 0.0
