"""Grades back to the LMS through Assignment and Grade Services: queued when released, retried, logged.

A score is sent when the policy lets the student see it (the assignment's
hidden results are shown: at once, after the due date, or on release) and the
LMS does not have it yet. The score is the gradebook's final score (attempts,
late rules and overrides applied): the gradebook is the only source. Every
send is a row that is never deleted, and every try adds a log line, so the
instructor sees what was sent, when, and what the platform answered.

A failed try is retried with exponential backoff (30 s, 1 min, 2 min, ... at
most an hour) up to ``MAX_ATTEMPTS`` tries; then the send is ``failed`` and
stays on the instructor's page until "retry now". A newer score for the same
person and line item supersedes an older one not yet delivered. A try is
claimed by an UPDATE, so two senders never send the same try; a sender killed
mid-try leaves the send due again after ``CLAIM_SECONDS``: nothing is lost.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading

import sqlalchemy as sa
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade

from grader.course.web.lti import services
from grader.course.web.lti import tables as L

log = logging.getLogger(__name__)
BACKOFF_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 3600.0
MAX_ATTEMPTS = 8
CLAIM_SECONDS = 120.0
PENDING = ("queued", "retrying")
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed try."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def queue_released(course, now: _dt.datetime | None = None) -> int:
    """Queue a send for every released final score the LMS does not have yet; returns how many."""
    now = now or utcnow()
    with course.engine.begin() as conn:
        links = conn.execute(sa.select(L.links).where(L.links.c.assignment.is_not(None),
                                                      L.links.c.lineitem.is_not(None))).all()
        released = {a for a in {link.assignment for link in links}
                    if a in course.assignments and course.hidden_visible(conn, course.assignments[a], now)}
    finals = {a: {s.student: s for s in course.gradebook.final_scores(a)} for a in released}
    queued = 0
    with course.writer.begin() as conn:
        for link in links:
            if link.assignment not in released:
                continue
            people = conn.execute(sa.select(L.users.c.subject, L.users.c.user_id).where(
                L.users.c.issuer == link.issuer, L.users.c.role == "student")).all()
            for subject, user_id in people:
                final = finals[link.assignment].get(user_id)
                if final is None or final.score is None or not final.max_score:
                    continue   # nothing counts yet, or the points are unknown until a grading records them
                last = conn.execute(sa.select(L.sends.c.score, L.sends.c.max_score).where(
                    L.sends.c.link_id == link.id, L.sends.c.subject == subject,
                    L.sends.c.status != "superseded").order_by(L.sends.c.id.desc()).limit(1)).first()
                if last is not None and (last.score, last.max_score) == (final.score, final.max_score):
                    continue
                conn.execute(sa.update(L.sends).where(L.sends.c.link_id == link.id, L.sends.c.subject == subject,
                                                      L.sends.c.status.in_(PENDING + ("failed",)))
                             .values(status="superseded", next_attempt_at=None))
                conn.execute(sa.insert(L.sends).values(
                    link_id=link.id, subject=subject, student=user_id, assignment=link.assignment,
                    score=float(final.score), max_score=float(final.max_score), status="queued", attempts=0,
                    next_attempt_at=now, created_at=now))
                queued += 1
    return queued


def retry_now(course, now: _dt.datetime | None = None) -> int:
    """Make every unsent (retrying or failed) send due now: the instructor's "retry now"."""
    with course.writer.begin() as conn:
        return conn.execute(sa.update(L.sends).where(L.sends.c.status.in_(("retrying", "failed")))
                            .values(status="retrying", next_attempt_at=now or utcnow())).rowcount


def deliver_due(course, setup, now: _dt.datetime | None = None) -> int:
    """Try every send that is due; returns how many were delivered."""
    now = now or utcnow()
    with course.engine.begin() as conn:
        due = conn.execute(sa.select(L.sends, L.links.c.issuer, L.links.c.client_id, L.links.c.lineitem,
                                     L.links.c.ags_scopes)
                           .join(L.links, L.links.c.id == L.sends.c.link_id)
                           .where(L.sends.c.status.in_(PENDING), L.sends.c.next_attempt_at <= now)
                           .order_by(L.sends.c.id)).all()
    delivered = 0
    connectors: dict[tuple[str, str], object] = {}
    for send in due:
        if not claim(course, send, now):
            continue
        attempt = send.attempts + 1
        try:
            key = (send.issuer, send.client_id)
            if key not in connectors:
                connectors[key] = services.connector(setup, *key)
            post_score(connectors[key], send)
        except Exception as exc:   # any failure is one failed try, logged; the send stays
            log.warning("grade send %s failed (try %d): %s", send.id, attempt, exc)
            finish(course, send.id, ok=False, attempt=attempt, error=str(exc)[:2000],
                   http_status=services.http_status(exc), now=now)
        else:
            finish(course, send.id, ok=True, attempt=attempt, now=now)
            delivered += 1
    return delivered


def claim(course, send, now: _dt.datetime) -> bool:
    with course.writer.begin() as conn:
        return conn.execute(sa.update(L.sends).where(
            L.sends.c.id == send.id, L.sends.c.attempts == send.attempts, L.sends.c.status.in_(PENDING))
            .values(attempts=send.attempts + 1,
                    next_attempt_at=now + _dt.timedelta(seconds=CLAIM_SECONDS))).rowcount == 1


def post_score(connector, send) -> None:
    scopes = list(send.ags_scopes or [])
    if SCORE_SCOPE not in scopes:
        raise PermissionError(f"the platform did not grant the score scope ({SCORE_SCOPE}) for this link; "
                              f"granted: {scopes}")
    grade = (Grade().set_score_given(send.score).set_score_maximum(send.max_score)
             .set_activity_progress("Completed").set_grading_progress("FullyGraded")
             .set_timestamp(send.created_at.astimezone(_dt.timezone.utc).isoformat())
             .set_user_id(send.subject))
    AssignmentsGradesService(connector, {"scope": scopes, "lineitem": send.lineitem}).put_grade(grade)


def finish(course, send_id: int, *, ok: bool, attempt: int, error: str | None = None,
           http_status: int | None = None, now: _dt.datetime | None = None) -> None:
    now = max(now or utcnow(), utcnow())
    with course.writer.begin() as conn:
        conn.execute(sa.insert(L.send_log).values(send_id=send_id, at=now, ok=ok, http_status=http_status,
                                                  error=error))
        if ok:
            values = dict(status="sent", sent_at=now, next_attempt_at=None, last_error=None)
        elif attempt >= MAX_ATTEMPTS:
            values = dict(status="failed", next_attempt_at=None, last_error=error)
        else:
            values = dict(status="retrying", last_error=error,
                          next_attempt_at=now + _dt.timedelta(seconds=backoff(attempt)))
        # A send superseded while its try was in flight stays superseded.
        conn.execute(sa.update(L.sends).where(L.sends.c.id == send_id, L.sends.c.status != "superseded")
                     .values(**values))


def run_once(course, setup, *, retry_failed: bool = False) -> int:
    """Queue what is released, then try what is due; returns how many were delivered."""
    queue_released(course)
    if retry_failed:
        retry_now(course)
    return deliver_due(course, setup)


def sends_with_log(conn) -> list[tuple]:
    """Every send, newest first, each with its tries: what the instructor's page shows."""
    sends = conn.execute(sa.select(L.sends).order_by(L.sends.c.id.desc())).all()
    tries: dict[int, list] = {}
    for row in conn.execute(sa.select(L.send_log).order_by(L.send_log.c.id)).all():
        tries.setdefault(row.send_id, []).append(row)
    return [(send, tries.get(send.id, [])) for send in sends]


def start_sender(course, setup, every_seconds: float) -> threading.Event:
    """A daemon thread that runs :func:`run_once` every ``every_seconds``; set the event to stop it."""
    stop = threading.Event()

    def loop():
        while not stop.wait(every_seconds):
            try:
                run_once(course, setup)
            except Exception:   # the next round tries again; a sender never takes the website down
                log.exception("grade sender round failed")

    threading.Thread(target=loop, name="dlgrade-lti-sender", daemon=True).start()
    return stop
