"""grader.course.policy: loading policy.toml, lateness at its boundaries, which attempt counts."""

from __future__ import annotations

import datetime as dt

import pytest

from grader.course.policy import (
    EARLY,
    IN_GRACE,
    LATE,
    NOT_ACCEPTED,
    ON_TIME,
    TIME_UNKNOWN,
    TOO_LATE,
    Attempt,
    Policy,
    PolicyError,
    counted_attempt,
    deadline,
    decide,
    late_days,
    late_fraction,
    late_minutes,
    late_status,
    load_policy,
    penalised_score,
)

UTC = dt.timezone.utc
CLOSES = dt.datetime(2025, 1, 10, 23, 59, tzinfo=UTC)
DAY = 24 * 60


def after(minutes: float) -> dt.datetime:
    return CLOSES + dt.timedelta(minutes=minutes)


# -- loading -------------------------------------------------------------------------
FULL = """
kind = "exam"
timezone = "Europe/Zurich"
opens_at = 2025-01-20T09:00:00
closes_at = 2025-01-20T12:00:00+01:00
duration_minutes = 90
max_attempts = 3
counting = "last"
accept_late = true
late_grace_minutes = 5
late_penalty_per_day = 0.1
late_max_days = 3
late_penalty_basis = "max_score"
"""


def test_policy_toml_in_an_assignment_folder(tmp_path):
    (tmp_path / "policy.toml").write_text(FULL)
    p = load_policy(tmp_path)
    assert p.kind == "exam" and p.counting == "last" and p.max_attempts == 3
    assert p.opens_at == dt.datetime(2025, 1, 20, 8, 0, tzinfo=UTC)   # local time in the given zone
    assert p.closes_at == dt.datetime(2025, 1, 20, 11, 0, tzinfo=UTC)
    assert (p.late_grace_minutes, p.late_penalty_per_day, p.late_max_days) == (5, 0.1, 3)
    assert Policy.from_dict(p.to_dict()) == p


def test_a_folder_without_policy_toml_has_the_default_policy(tmp_path):
    p = load_policy(tmp_path)
    assert p == Policy() and not p.has_deadline and p.counting == "best" and p.max_attempts is None
    assert p.to_dict() == {}


@pytest.mark.parametrize("text, words", [
    ("late_penalty_perday = 0.1", ["unknown key 'late_penalty_perday'", "did you mean 'late_penalty_per_day'"]),
    ("counting = 'first'", ["counting = 'first'", '"best"', '"last"']),
    ("kind = 'quiz'", ["kind = 'quiz'", '"assignment" or "exam"']),
    ("late_penalty_per_day = 10", ["late_penalty_per_day = 10", "fraction between 0 and 1"]),
    ("late_penalty_per_day = -0.1", ["late_penalty_per_day = -0.1", "fraction"]),
    ("late_grace_minutes = 'five'", ["late_grace_minutes = 'five'", "number of minutes"]),
    ("max_attempts = 0", ["max_attempts = 0", "whole number >= 1"]),
    ("max_attempts = 1.5", ["max_attempts = 1.5", "whole number"]),
    ("max_attempts = true", ["max_attempts = True", "whole number"]),
    ("duration_minutes = 0", ["duration_minutes = 0", "> 0"]),
    ("accept_late = 'no'", ["accept_late = 'no'", "true or false"]),
    ("closes_at = 2025-01-20T12:00:00", ["closes_at = 2025-01-20T12:00:00 has no UTC offset", "timezone"]),
    ("closes_at = 2025-01-20", ["closes_at = 2025-01-20", "date *and time*"]),
    ("closes_at = 'tomorrow'", ["closes_at = 'tomorrow'", "date and time"]),
    ("timezone = 'Mars/Olympus'", ["timezone = 'Mars/Olympus'", "IANA zone"]),
    ("opens_at = 2025-01-20T12:00:00Z\ncloses_at = 2025-01-20T11:00:00Z", ["closes_at", "must be after opens_at"]),
    ("late_penalty_basis = 'points'", ["late_penalty_basis = 'points'", '"score"', '"max_score"']),
    ("counting = ", ["not valid TOML"]),
])
def test_bad_policy_files_name_the_key_and_what_was_expected(tmp_path, text, words):
    (tmp_path / "policy.toml").write_text(text + "\n")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "policy.toml") in message
    for word in words:
        assert word in message


def test_a_policy_built_in_code_is_validated_too():
    with pytest.raises(PolicyError, match="closes_at .* expected a date and time with a UTC offset"):
        Policy(closes_at=dt.datetime(2025, 1, 1))
    with pytest.raises(PolicyError, match="counting"):
        Policy(counting="worst")


# -- lateness -----------------------------------------------------------------------------
def test_late_minutes_from_the_deadline():
    p = Policy(closes_at=CLOSES)
    assert late_minutes(p, after(-10)) == 0.0
    assert late_minutes(p, CLOSES) == 0.0
    assert late_minutes(p, after(90.5)) == 90.5
    assert late_minutes(Policy(), after(10_000)) == 0.0     # no deadline: never late
    assert late_minutes(p, None) == 0.0                     # unknown time: never late
    with pytest.raises(ValueError, match="timezone-aware"):
        late_minutes(p, dt.datetime(2025, 1, 11))


def test_an_exam_deadline_is_the_start_plus_duration_or_the_closing_time_whichever_first():
    p = Policy(kind="exam", closes_at=CLOSES, duration_minutes=90)
    early_start = CLOSES - dt.timedelta(hours=5)
    late_start = CLOSES - dt.timedelta(minutes=30)
    assert deadline(p, early_start) == early_start + dt.timedelta(minutes=90)
    assert deadline(p, late_start) == CLOSES
    assert deadline(p, None) == CLOSES
    assert late_minutes(p, early_start + dt.timedelta(minutes=100), early_start) == 10
    assert deadline(Policy(duration_minutes=60), None) is None


@pytest.mark.parametrize("minutes, status, days, fraction", [
    (0, ON_TIME, 0, 0.0),
    (5, IN_GRACE, 0, 0.0),             # the grace boundary itself is on time
    (5.01, LATE, 1, 0.1),              # past the grace: days counted from the deadline
    (DAY, LATE, 1, 0.1),               # exactly one day
    (DAY + 1, LATE, 2, 0.2),           # one day and a minute: two days
    (3 * DAY, LATE, 3, 0.3),           # exactly late_max_days
    (3 * DAY + 0.5, TOO_LATE, 4, 1.0),  # beyond: scored 0
])
def test_late_penalty_at_the_boundaries(minutes, status, days, fraction):
    p = Policy(closes_at=CLOSES, late_grace_minutes=5, late_penalty_per_day=0.1, late_max_days=3)
    assert late_status(p, minutes) == status
    assert late_days(p, minutes) == days
    assert late_fraction(p, minutes) == pytest.approx(fraction)
    assert penalised_score(p, 8.0, 10.0, minutes) == pytest.approx(8.0 * (1 - fraction))


def test_the_penalty_is_capped_at_the_whole_score():
    p = Policy(closes_at=CLOSES, late_penalty_per_day=0.4)
    assert late_fraction(p, 3 * DAY) == 1.0
    assert penalised_score(p, 8.0, 10.0, 3 * DAY) == 0.0


def test_penalty_basis_score_or_max_score():
    by_score = Policy(closes_at=CLOSES, late_penalty_per_day=0.25)
    by_max = Policy(closes_at=CLOSES, late_penalty_per_day=0.25, late_penalty_basis="max_score")
    assert penalised_score(by_score, 6.0, 10.0, 60) == 4.5     # keeps 75 % of 6
    assert penalised_score(by_max, 6.0, 10.0, 60) == 3.5       # loses 2.5 of 10 points
    assert penalised_score(by_max, 2.0, 10.0, 60) == 0.0       # never below zero


def test_no_late_submissions_scores_a_late_attempt_zero_after_the_grace():
    p = Policy(closes_at=CLOSES, accept_late=False, late_grace_minutes=5)
    assert late_status(p, 5) == IN_GRACE and penalised_score(p, 9, 10, 5) == 9
    assert late_status(p, 5.5) == NOT_ACCEPTED and penalised_score(p, 9, 10, 5.5) == 0.0


def test_decide_records_everything():
    p = Policy(opens_at=CLOSES - dt.timedelta(days=7), closes_at=CLOSES, late_penalty_per_day=0.1, max_attempts=2)
    d = decide(p, attempt=3, submitted_at=after(30))
    assert (d.attempt, d.late_minutes, d.late_days, d.late_status, d.penalty_fraction, d.over_limit) == \
        (3, 30.0, 1, LATE, 0.1, True)
    assert decide(p, attempt=1, submitted_at=None).late_status == TIME_UNKNOWN
    assert decide(p, attempt=1, submitted_at=CLOSES - dt.timedelta(days=8)).late_status == EARLY


# -- attempts -------------------------------------------------------------------------------
def test_best_counts_the_highest_score_and_the_earliest_of_equals():
    attempts = [Attempt(1, 6.0), Attempt(2, 9.0), Attempt(3, 9.0), Attempt(4, 2.0)]
    assert counted_attempt(Policy(), attempts).number == 2
    assert counted_attempt(Policy(counting="last"), attempts).number == 4


def test_attempts_over_the_limit_never_count():
    attempts = [Attempt(1, 6.0), Attempt(2, 5.0), Attempt(3, 10.0)]
    assert counted_attempt(Policy(max_attempts=2), attempts).number == 1
    assert counted_attempt(Policy(max_attempts=2, counting="last"), attempts).number == 2


def test_an_attempt_without_a_score_never_counts():
    assert counted_attempt(Policy(counting="last"), [Attempt(1, 4.0), Attempt(2, None)]).number == 1
    assert counted_attempt(Policy(), [Attempt(1, None)]) is None
    assert counted_attempt(Policy(), []) is None
