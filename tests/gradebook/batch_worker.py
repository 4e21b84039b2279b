"""A resumable batch in miniature: record a fixed plan of results, skipping what is already graded.

``python batch_worker.py URL`` prints "ready" once the gradebook is open, then one
line per result it records. The kill tests SIGKILL it at random moments and run
it again until it finishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.course.gradebook import Gradebook  # noqa: E402
from grader.course.policy import Policy  # noqa: E402

_spec = importlib.util.spec_from_file_location("gradebook_tests_factory", HERE / "factory.py")
factory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(factory)

UTC = dt.timezone.utc
POLICIES = {
    "a1": Policy(closes_at=dt.datetime(2025, 1, 10, 23, 59, tzinfo=UTC), late_grace_minutes=5,
                 late_penalty_per_day=0.1, late_max_days=3, max_attempts=3),
    "exam": Policy(kind="exam", closes_at=dt.datetime(2025, 1, 15, 18, tzinfo=UTC), duration_minutes=60,
                   counting="last"),
}
N = 60


def plan():
    """(assignment, student, result, submitted_at), the same on every run."""
    items = []
    for i in range(N):
        assignment = "a1" if i % 3 else "exam"
        student = f"s{i % 8:02d}"
        scores = ((i * 7) % 6, (i * 3) % 6, (i * 5) % 6 * 0.5)
        sha = hashlib.sha256(f"submission {i}".encode()).hexdigest()
        if assignment == "a1":
            submitted = dt.datetime(2025, 1, 8, tzinfo=UTC) + dt.timedelta(hours=7 * i)
        else:
            submitted = dt.datetime(2025, 1, 15, 9, tzinfo=UTC) + dt.timedelta(minutes=11 * i)
        result = factory.make_result(assignment, student, scores, sha=sha, variant=f"v{i % 4}",
                                     graded_at=submitted + dt.timedelta(hours=1))
        items.append((assignment, student, result, submitted))
    return items


def run(url: str, *, announce: bool = False) -> int:
    recorded = 0
    with Gradebook.open(url) as gb:
        if announce:
            print("ready", flush=True)
        for assignment, student, result, submitted in plan():
            if gb.is_graded(assignment, student, result.sha256):
                continue
            gb.record(result, student_id=student, submitted_at=submitted, policy=POLICIES[assignment])
            recorded += 1
            if announce:
                print(recorded, flush=True)
    return recorded


if __name__ == "__main__":
    run(sys.argv[1], announce=True)
