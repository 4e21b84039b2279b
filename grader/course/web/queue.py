"""The grading queue: a table in the gradebook's database, claimed by UPDATE with a lease.

* :func:`enqueue` adds a job inside the caller's transaction, so an upload
  and its job are committed together or not at all.
* :func:`claim` takes the oldest job that is queued, or running with an
  expired lease (its worker was killed), in one ``UPDATE``: it sets
  ``status='running'``, the worker's name and a lease. On PostgreSQL the row
  is chosen with ``FOR UPDATE SKIP LOCKED``, so workers never wait on each
  other; SQLite serialises writers (``BEGIN IMMEDIATE``), which gives the same.
* A worker renews its lease while it grades (:func:`renew`) and ends the job
  with :func:`finish` or :func:`fail`, each only if it still holds the claim.

A killed worker's job is claimed again when its lease runs out. Grading it a
second time records nothing new: the gradebook keeps one grading per
(assignment, student, content) and a regrade job checks first whether its
regrading is already there (see :mod:`grader.course.web.worker`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa

from grader.course.web import tables as T

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_CLAIMS = 5   # a job that killed this many workers is failed, not retried for ever


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(frozen=True)
class Job:
    id: int
    upload_id: int
    kind: str
    claims: int
    previous_grading_id: int | None


def enqueue(conn, upload_id: int, *, kind: str = "grade", previous_grading_id: int | None = None) -> int:
    return conn.execute(sa.insert(T.jobs).values(
        upload_id=upload_id, kind=kind, status=QUEUED, enqueued_at=utcnow(), claims=0,
        previous_grading_id=previous_grading_id).returning(T.jobs.c.id)).scalar_one()


def claim(engine, worker: str, lease_seconds: float) -> Job | None:
    """Claim the next job for ``worker`` (a writing engine); None when there is nothing to do."""
    with engine.begin() as conn:
        now = utcnow()
        claimable = sa.or_(T.jobs.c.status == QUEUED,
                           sa.and_(T.jobs.c.status == RUNNING, T.jobs.c.lease_until < now))
        pick = sa.select(T.jobs.c.id).where(claimable).order_by(T.jobs.c.id).limit(1)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = conn.execute(
            sa.update(T.jobs).where(T.jobs.c.id == pick.scalar_subquery(), claimable)
            .values(status=RUNNING, claimed_by=worker, claims=T.jobs.c.claims + 1,
                    lease_until=now + _dt.timedelta(seconds=lease_seconds))
            .returning(T.jobs.c.id, T.jobs.c.upload_id, T.jobs.c.kind, T.jobs.c.claims,
                       T.jobs.c.previous_grading_id)).first()
    return Job(*row) if row is not None else None


def renew(engine, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the claim was lost (the lease ran out and another worker took it)."""
    with engine.begin() as conn:
        return conn.execute(sa.update(T.jobs).where(T.jobs.c.id == job_id, T.jobs.c.claimed_by == worker,
                                                    T.jobs.c.status == RUNNING)
                            .values(lease_until=utcnow() + _dt.timedelta(seconds=lease_seconds))).rowcount == 1


def finish(conn, job_id: int, worker: str, grading_id: int) -> bool:
    return conn.execute(sa.update(T.jobs).where(T.jobs.c.id == job_id, T.jobs.c.claimed_by == worker,
                                                T.jobs.c.status == RUNNING)
                        .values(status=DONE, grading_id=grading_id, finished_at=utcnow(),
                                lease_until=None)).rowcount == 1


def fail(engine, job_id: int, worker: str, error: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(sa.update(T.jobs).where(T.jobs.c.id == job_id, T.jobs.c.claimed_by == worker,
                                                    T.jobs.c.status == RUNNING)
                            .values(status=FAILED, error=error[:4000], finished_at=utcnow(),
                                    lease_until=None)).rowcount == 1


def counts(conn) -> dict[str, int]:
    rows = conn.execute(sa.select(T.jobs.c.status, sa.func.count()).group_by(T.jobs.c.status)).all()
    return {status: n for status, n in rows}
