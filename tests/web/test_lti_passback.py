"""The grade sender on its own, with time moved by hand: a failed send is tried again when its backoff
is over (not before), a try whose sender died after claiming it is taken up again once the claim runs
out, a send that keeps failing stops at MAX_ATTEMPTS and stays listed until "retry now", and no score
is lost or sent twice. The platform is the stub of lti_platform.py on 127.0.0.1."""

from __future__ import annotations

import datetime as _dt
import os
import signal
import subprocess
import sys

import sqlalchemy as sa
from lti_platform import CLIENT_ID, DEPLOYMENT, ISSUER, LINEITEM_SCOPE, SCORE_SCOPE, Platform, Services
from web_support import ROOT, wait_until, write_course

from grader.course.web.course import Course
from grader.course.web.lti import identity, keys, passback, setup_for
from grader.course.web.lti import tables as L

ASSIGNMENT = "01_backprop"


def seconds(n: float) -> _dt.timedelta:
    return _dt.timedelta(seconds=n)


def send_rows(course) -> list[tuple]:
    with course.engine.begin() as conn:
        return [tuple(r) for r in conn.execute(sa.select(L.sends.c.score, L.sends.c.status, L.sends.c.attempts)
                                               .order_by(L.sends.c.id)).all()]


def tries(course) -> list[bool]:
    with course.engine.begin() as conn:
        return list(conn.execute(sa.select(L.send_log.c.ok).order_by(L.send_log.c.id)).scalars())


def override(course, score: float) -> None:
    course.gradebook.override("kim", ASSIGNMENT, score, reason="graded by hand", by="prof")


def linked_course(course_dir, services) -> tuple[Course, object]:
    """A course whose student kim (LMS subject u-17) has 20 points and a link with a line item."""
    course = Course(course_dir)
    setup = setup_for(course)
    course.gradebook.add_assignment(ASSIGNMENT, max_score=31)
    course.gradebook.add_student("kim")
    override(course, 20)
    [registered] = setup.platforms
    with course.writer.begin() as conn:
        identity.remember(conn, registered, "u-17", "kim", "student")
        conn.execute(sa.insert(L.links).values(
            issuer=ISSUER, client_id=CLIENT_ID, deployment_id=DEPLOYMENT, context_id="course-42",
            resource_link_id="link-1", assignment=ASSIGNMENT, lineitem=f"{services.base}/lineitems/1",
            ags_scopes=[LINEITEM_SCOPE, SCORE_SCOPE], updated_at=passback.utcnow()))
    return course, setup


def registered_course(tmp_path, platform, services):
    course_dir = write_course(tmp_path / "course")          # hidden results shown at once: released
    keys.generate(course_dir / "lti")
    services.tool_jwks = keys.jwks(course_dir / "lti")
    platform.services_base = services.base
    platform.register(course_dir)
    return course_dir


def test_retries_follow_the_backoff_and_nothing_is_lost(tmp_path):
    platform = Platform()
    with Services("") as services:
        course_dir = registered_course(tmp_path, platform, services)
        course, setup = linked_course(course_dir, services)
        try:

            t0 = passback.utcnow()
            services.fail_scores = 1
            assert passback.queue_released(course, t0) == 1
            assert passback.queue_released(course, t0) == 0                 # queued once
            assert passback.deliver_due(course, setup, t0) == 0
            assert send_rows(course) == [(20.0, "retrying", 1)] and services.score_posts == 1
            assert passback.deliver_due(course, setup, t0 + seconds(passback.backoff(1) - 5)) == 0
            assert services.score_posts == 1                                 # not due yet: not tried
            assert passback.deliver_due(course, setup, t0 + seconds(passback.backoff(1) + 5)) == 1
            assert send_rows(course) == [(20.0, "sent", 2)] and tries(course) == [False, True]

            # A sender that claims a try and dies before it ends: the claim runs out, the send is taken up.
            override(course, 25)
            t1 = t0 + seconds(100)
            assert passback.queue_released(course, t1) == 1
            with course.engine.begin() as conn:
                pending = conn.execute(sa.select(L.sends).where(L.sends.c.status == "queued")).one()
            assert passback.claim(course, pending, t1)
            assert passback.deliver_due(course, setup, t1 + seconds(1)) == 0
            assert passback.deliver_due(course, setup, t1 + seconds(passback.CLAIM_SECONDS + 1)) == 1
            assert send_rows(course)[-1] == (25.0, "sent", 2)

            # A platform that keeps failing: MAX_ATTEMPTS tries, then "failed", kept; "retry now" delivers.
            override(course, 27)
            services.fail_scores = 10 ** 6
            t = t1 + seconds(1000)
            passback.queue_released(course, t)
            for _ in range(passback.MAX_ATTEMPTS + 2):
                passback.deliver_due(course, setup, t)
                t += seconds(passback.BACKOFF_MAX_SECONDS + 1)
            assert send_rows(course)[-1] == (27.0, "failed", passback.MAX_ATTEMPTS)
            services.fail_scores = 0
            assert passback.run_once(course, setup) == 0                     # failed stays failed ...
            assert passback.run_once(course, setup, retry_failed=True) == 1  # ... until retry now
            assert send_rows(course)[-1] == (27.0, "sent", passback.MAX_ATTEMPTS + 1)

            assert [s["scoreGiven"] for s in services.scores] == [20, 25, 27]
            assert services.problems == []
        finally:
            course.close()


def test_backoff_doubles_up_to_an_hour():
    assert [passback.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert passback.backoff(20) == passback.BACKOFF_MAX_SECONDS == 3600


def test_a_sender_killed_mid_send_loses_nothing(tmp_path):
    """SIGKILL the sender while the platform holds its score request; the send is delivered later, once."""
    platform = Platform()
    with Services("") as services:
        course_dir = registered_course(tmp_path, platform, services)
        course, setup = linked_course(course_dir, services)
        try:
            services.hang_next_score = True
            script = ("import sys; from pathlib import Path; from grader.course.web.course import Course; "
                      "from grader.course.web.lti import passback, setup_for; "
                      "c = Course(Path(sys.argv[1])); passback.run_once(c, setup_for(c))")
            sender = subprocess.Popen([sys.executable, "-c", script, str(course_dir)], cwd=ROOT,
                                      env={**os.environ, "DLGRADE_ASSIGNMENTS": str(ROOT / "assignments")})
            try:
                wait_until(lambda: services.score_posts == 1, timeout=120, what="the sender's score request")
                os.kill(sender.pid, signal.SIGKILL)
                sender.wait(timeout=30)
            finally:
                if sender.poll() is None:
                    sender.kill()
                services.released.set()
            assert sender.returncode == -signal.SIGKILL
            # Killed mid-try: the send is claimed (one try counted), nothing logged, nothing recorded.
            assert send_rows(course) == [(20.0, "queued", 1)] and tries(course) == [] and services.scores == []
            now = passback.utcnow()
            assert passback.deliver_due(course, setup, now) == 0                  # still claimed
            later = now + seconds(passback.CLAIM_SECONDS + 1)
            assert passback.queue_released(course, later) == 0                     # not queued again
            assert passback.deliver_due(course, setup, later) == 1
            assert send_rows(course) == [(20.0, "sent", 2)] and tries(course) == [True]
            assert [s["scoreGiven"] for s in services.scores] == [20] and services.problems == []
        finally:
            course.close()
