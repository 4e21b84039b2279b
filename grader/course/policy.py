"""When an assignment or exam accepts work, how lateness costs, which attempt counts.

A :class:`Policy` is plain data (a frozen dataclass) read from ``policy.toml`` in
an assignment folder; the functions below are pure: they take a policy and
facts about a submission and return a decision. The gradebook records every
decision it takes with them (late minutes, late status, penalty, attempt
number, over the limit, counted), so a grade can always be explained.

``policy.toml`` (every key optional; keys are the field names of :class:`Policy`)::

    kind = "exam"                     # or "assignment" (the default)
    timezone = "Europe/Zurich"        # for dates written without an offset
    opens_at = 2025-01-20T09:00:00
    closes_at = 2025-01-20T12:00:00
    duration_minutes = 90             # per student, from the student's start
    max_attempts = 3                  # further attempts are recorded, not counted
    counting = "best"                 # or "last"
    accept_late = true                # false: a late attempt is recorded, scored 0
    late_grace_minutes = 5
    late_penalty_per_day = 0.1        # 10 % per day or part of a day
    late_max_days = 3                 # later than this: scored 0
    late_penalty_basis = "score"      # or "max_score"

The rules
---------
*Deadline.* A student's deadline is ``closes_at``; with ``duration_minutes`` it
is ``started_at + duration`` or ``closes_at``, whichever comes first. A
student's start is the time recorded for them explicitly (the gradebook's
``record_start``, e.g. when the exam variant was handed out); where none was
recorded, it is the time of their first submission. No deadline: nothing is
late.

*Late minutes* are the minutes from the deadline to the submission (0 when on
time). Within ``late_grace_minutes`` a submission is on time ("in grace").
Beyond it, lateness is counted in days or parts of a day *from the deadline*
(the grace does not shift the days): 6 minutes late with 5 minutes' grace is
one day late, exactly 24 h late is one day, 24 h and 1 minute is two.

*Penalty.* ``late_penalty_per_day`` is a fraction per late day, capped at 1.
With ``late_penalty_basis = "score"`` (the default) the student keeps
``score * (1 - fraction)``; with ``"max_score"`` they lose
``fraction * max_score`` points (never below zero). More than
``late_max_days`` days late, or late at all with ``accept_late = false``:
the attempt is recorded and marked, and scores 0 (an instructor can override).

A submission before ``opens_at`` is recorded and marked "before opening",
without penalty.

*Attempts* are numbered in order of submission time. Attempts beyond
``max_attempts`` are recorded and marked "over the limit", and never count.
``counting = "best"`` counts the attempt with the highest score after the
late penalty (the earliest of equals); ``"last"`` counts the latest attempt
within the limit. An attempt whose grading failed for a fault of the grader
has no score and is never chosen.

*An attempt that was not accepted never wipes one that was.* An attempt
"not accepted" (late with ``accept_late = false``) or "too late" (beyond
``late_max_days``) counts only when no accepted attempt can count. So under
``"last"`` a late second sheet leaves the on-time first one counting (the
late one stays in the record, marked); a student whose only attempts were not
accepted gets 0 from the latest of them. Under ``"best"`` the rule changes
nothing in practice (such an attempt scores 0), but it is the same rule.
:func:`counting_rule` states the rule in words for the student's report.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

POLICY_FILE = "policy.toml"
KINDS = ("assignment", "exam")
COUNTING = ("best", "last")
PENALTY_BASES = ("score", "max_score")
MINUTES_PER_DAY = 24 * 60

# Late statuses, as recorded in the gradebook.
ON_TIME = "on time"
IN_GRACE = "in grace"
LATE = "late"
TOO_LATE = "too late"             # beyond late_max_days: scored 0
NOT_ACCEPTED = "not accepted"     # late with accept_late = false: scored 0
TIME_UNKNOWN = "time unknown"     # no submission time: never late
EARLY = "before opening"          # before opens_at: recorded and marked, not penalised


class PolicyError(ValueError):
    """A policy file or value that is not valid; the message names the key."""


@dataclass(frozen=True)
class Policy:
    kind: str = "assignment"
    opens_at: _dt.datetime | None = None
    closes_at: _dt.datetime | None = None
    duration_minutes: float | None = None
    timezone: str | None = None
    accept_late: bool = True
    late_grace_minutes: float = 0.0
    late_penalty_per_day: float = 0.0
    late_max_days: float | None = None
    late_penalty_basis: str = "score"
    max_attempts: int | None = None
    counting: str = "best"

    def __post_init__(self) -> None:
        _validate(self, "Policy")

    # -- plain data ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings with their offset; defaults left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            out[f.name] = value.isoformat() if isinstance(value, _dt.datetime) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "policy") -> "Policy":
        """Build a policy from plain data (TOML or JSON), naming any bad key in the error."""
        if not isinstance(data, dict):
            raise PolicyError(f"{source}: expected a table of policy keys, got {type(data).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise PolicyError(f"{source}: unknown key '{key}'{hint}; known keys: {', '.join(known)}")
        zone = _zone(data.get("timezone"), source)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("opens_at", "closes_at") and value is not None:
                value = _datetime(key, value, zone, source)
            values[key] = value
        try:
            return cls(**values)
        except PolicyError as exc:
            raise PolicyError(f"{source}: {str(exc).removeprefix('Policy: ')}") from None

    @property
    def has_deadline(self) -> bool:
        return self.closes_at is not None or self.duration_minutes is not None


def load_policy(path: str | Path) -> Policy:
    """The policy in ``path``: a ``policy.toml`` file, or an assignment folder.

    A folder without ``policy.toml`` has the default policy: no dates, no late
    rules, unlimited attempts, the best attempt counts.
    """
    path = Path(path)
    if path.is_dir():
        path = path / POLICY_FILE
        if not path.exists():
            return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no policy file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    return Policy.from_dict(data, source=str(path))


# -- validation ----------------------------------------------------------------
def _validate(p: Policy, source: str) -> None:
    def bad(key: str, expected: str) -> PolicyError:
        return PolicyError(f"{source}: {key} = {getattr(p, key)!r}: expected {expected}")

    if p.kind not in KINDS:
        raise bad("kind", " or ".join(f'"{k}"' for k in KINDS))
    if p.counting not in COUNTING:
        raise bad("counting", '"best" (the highest score counts) or "last" (the latest attempt counts)')
    if p.late_penalty_basis not in PENALTY_BASES:
        raise bad("late_penalty_basis", '"score" (keep score x (1 - penalty)) or "max_score" '
                                        '(lose penalty x max_score points)')
    if not isinstance(p.accept_late, bool):
        raise bad("accept_late", "true or false")
    for key in ("opens_at", "closes_at"):
        value = getattr(p, key)
        if value is not None and (not isinstance(value, _dt.datetime) or value.utcoffset() is None):
            raise bad(key, "a date and time with a UTC offset, e.g. 2025-01-20T12:00:00+01:00 "
                           "(or set timezone)")
    if p.opens_at and p.closes_at and p.closes_at <= p.opens_at:
        raise PolicyError(f"{source}: closes_at ({p.closes_at.isoformat()}) must be after "
                          f"opens_at ({p.opens_at.isoformat()})")
    if p.timezone is not None:
        _zone(p.timezone, source)
    _number(p, "duration_minutes", bad, positive=True, optional=True, expected="a number of minutes > 0")
    _number(p, "late_grace_minutes", bad, expected="a number of minutes >= 0")
    _number(p, "late_max_days", bad, optional=True, expected="a number of days >= 0")
    _number(p, "late_penalty_per_day", bad, expected="a fraction between 0 and 1 (0.1 = 10 % per day)")
    if p.late_penalty_per_day > 1:
        raise bad("late_penalty_per_day", "a fraction between 0 and 1 (0.1 = 10 % per day)")
    if p.max_attempts is not None and (isinstance(p.max_attempts, bool) or not isinstance(p.max_attempts, int)
                                       or p.max_attempts < 1):
        raise bad("max_attempts", "a whole number >= 1 (leave it out for unlimited attempts)")


def _number(p: Policy, key: str, bad, *, expected: str, positive: bool = False, optional: bool = False) -> None:
    value = getattr(p, key)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(key, expected)
    if value < 0 or (positive and value == 0):
        raise bad(key, expected)


def _zone(name: Any, source: str) -> _dt.tzinfo | None:
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str):
        raise PolicyError(f"{source}: timezone = {name!r}: expected an IANA zone name such as \"Europe/Zurich\"")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(f"{source}: timezone = {name!r}: expected an IANA zone name such as "
                          f"\"Europe/Zurich\" or \"UTC\"") from None


def _datetime(key: str, value: Any, zone: _dt.tzinfo | None, source: str) -> _dt.datetime:
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise PolicyError(f"{source}: {key} = {value!r}: expected a date and time such as "
                              f"2025-01-20T12:00:00+01:00") from None
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        raise PolicyError(f"{source}: {key} = {value.isoformat()}: expected a date *and time*, "
                          f"e.g. {value.isoformat()}T23:59:00+01:00")
    if not isinstance(value, _dt.datetime):
        raise PolicyError(f"{source}: {key} = {value!r}: expected a date and time such as "
                          f"2025-01-20T12:00:00+01:00")
    if value.utcoffset() is None:
        if zone is None:
            raise PolicyError(f"{source}: {key} = {value.isoformat()} has no UTC offset: write it as "
                              f"{value.isoformat()}+01:00 (or Z for UTC), or set timezone = \"...\"")
        value = value.replace(tzinfo=zone)
    return value


# -- decisions -----------------------------------------------------------------
def require_aware(value: _dt.datetime | None, what: str) -> _dt.datetime | None:
    if value is not None and (not isinstance(value, _dt.datetime) or value.utcoffset() is None):
        raise ValueError(f"{what} must be a timezone-aware datetime (e.g. with tzinfo=timezone.utc), "
                         f"got {value!r}")
    return value


def deadline(policy: Policy, started_at: _dt.datetime | None = None) -> _dt.datetime | None:
    """A student's deadline: ``closes_at``, or ``started_at + duration`` if that comes first."""
    require_aware(started_at, "started_at")
    candidates = []
    if policy.closes_at is not None:
        candidates.append(policy.closes_at)
    if policy.duration_minutes is not None and started_at is not None:
        candidates.append(started_at + _dt.timedelta(minutes=policy.duration_minutes))
    return min(candidates) if candidates else None


def late_minutes(policy: Policy, submitted_at: _dt.datetime | None,
                 started_at: _dt.datetime | None = None) -> float:
    """Minutes from the student's deadline to ``submitted_at``; 0.0 when on time or unknown."""
    require_aware(submitted_at, "submitted_at")
    due = deadline(policy, started_at)
    if submitted_at is None or due is None:
        return 0.0
    return round(max(0.0, (submitted_at - due).total_seconds() / 60.0), 4)


def late_days(policy: Policy, minutes: float) -> int:
    """Whole days (or parts of a day) late, counted from the deadline; 0 within the grace."""
    if minutes <= policy.late_grace_minutes or minutes <= 0:
        return 0
    return math.ceil(minutes / MINUTES_PER_DAY - 1e-9)


def late_status(policy: Policy, minutes: float, *, time_known: bool = True) -> str:
    """``on time``, ``in grace``, ``late``, ``too late`` or ``not accepted``."""
    if not time_known:
        return TIME_UNKNOWN
    if minutes <= 0:
        return ON_TIME
    if minutes <= policy.late_grace_minutes:
        return IN_GRACE
    if not policy.accept_late:
        return NOT_ACCEPTED
    if policy.late_max_days is not None and minutes > policy.late_max_days * MINUTES_PER_DAY:
        return TOO_LATE
    return LATE


def late_fraction(policy: Policy, minutes: float) -> float:
    """The penalty as a fraction: 0 on time, 1 when the attempt scores 0."""
    status = late_status(policy, minutes)
    if status in (NOT_ACCEPTED, TOO_LATE):
        return 1.0
    if status != LATE:
        return 0.0
    return min(1.0, round(late_days(policy, minutes) * policy.late_penalty_per_day, 10))


def penalised_score(policy: Policy, score: float, max_score: float, late_minutes: float) -> float:
    """``score`` after the late penalty for ``late_minutes`` (never below 0)."""
    fraction = late_fraction(policy, late_minutes)
    if fraction == 0:
        return score
    if fraction >= 1:
        return 0.0
    if policy.late_penalty_basis == "max_score":
        return round(max(0.0, score - fraction * max_score), 6)
    return round(max(0.0, score * (1.0 - fraction)), 6)


@dataclass(frozen=True)
class Attempt:
    """One attempt as :func:`counted_attempt` sees it: its number and its score after penalty.

    ``score`` is None when the attempt has no valid grading (a fault of the grader).
    """
    number: int
    score: float | None
    key: Any = None   # the caller's handle (e.g. a submission id), returned untouched
    accepted: bool = True   # False: "not accepted" or "too late"; counts only when nothing accepted can


def over_limit(policy: Policy, number: int) -> bool:
    return policy.max_attempts is not None and number > policy.max_attempts


def counted_attempt(policy: Policy, attempts: Iterable[Attempt]) -> Attempt | None:
    """The attempt that counts, or None when no attempt can count."""
    eligible = [a for a in attempts if not over_limit(policy, a.number) and a.score is not None]
    if not eligible:
        return None
    accepted = [a for a in eligible if a.accepted]
    eligible = accepted or eligible
    if policy.counting == "last":
        return max(eligible, key=lambda a: a.number)
    return min(eligible, key=lambda a: (-a.score, a.number))


def is_accepted(status: str) -> bool:
    """Whether an attempt with this late status was accepted (it may still carry a penalty)."""
    return status not in (NOT_ACCEPTED, TOO_LATE)


def counting_rule(policy: Policy) -> str:
    """Which attempt counts under ``policy``, in one sentence for a student."""
    which = ("the attempt with the highest score after any late penalty (the earliest of equal scores)"
             if policy.counting == "best" else "your latest attempt")
    limit = (f" among your first {policy.max_attempts} attempt(s); later ones are recorded but never count"
             if policy.max_attempts is not None else "")
    late = ("; an attempt that was not accepted (too late) counts only if no accepted attempt exists"
            if policy.has_deadline else "")
    return f"What counts: {which}{limit}{late}."


@dataclass(frozen=True)
class Decision:
    """Everything the policy decides about one submission."""
    attempt: int
    late_minutes: float
    late_days: int
    late_status: str
    penalty_fraction: float
    over_limit: bool


def decide(policy: Policy, *, attempt: int, submitted_at: _dt.datetime | None,
           started_at: _dt.datetime | None = None) -> Decision:
    minutes = late_minutes(policy, submitted_at, started_at)
    status = late_status(policy, minutes, time_known=submitted_at is not None)
    if status == ON_TIME and policy.opens_at is not None and submitted_at < policy.opens_at:
        status = EARLY
    return Decision(
        attempt=attempt,
        late_minutes=minutes,
        late_days=late_days(policy, minutes),
        late_status=status,
        penalty_fraction=late_fraction(policy, minutes),
        over_limit=over_limit(policy, attempt),
    )


__all__: Sequence[str] = (
    "Policy", "PolicyError", "load_policy", "deadline", "late_minutes", "late_days", "late_status",
    "late_fraction", "penalised_score", "Attempt", "counted_attempt", "over_limit", "Decision", "decide",
    "is_accepted", "counting_rule",
    "ON_TIME", "IN_GRACE", "LATE", "TOO_LATE", "NOT_ACCEPTED", "TIME_UNKNOWN", "EARLY",
)
