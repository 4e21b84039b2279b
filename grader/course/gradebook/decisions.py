"""The policy's decisions on a student's submissions and their final score, from rows (pure: no database)."""

from __future__ import annotations

import datetime as _dt

from grader.course.gradebook.values import QuestionScore, StudentScore
from grader.course.policy import (
    EARLY,
    IN_GRACE,
    NOT_ACCEPTED,
    ON_TIME,
    TIME_UNKNOWN,
    TOO_LATE,
    Attempt,
    Decision,
    Policy,
    counted_attempt,
    counting_rule,
    decide,
    is_accepted,
    penalised_score,
)


def decide_student(policy: Policy, rows, started_at: _dt.datetime | None) -> dict[int, tuple[Decision, bool]]:
    """The policy's decision on each of one student's submissions, and whether it is the counted one.

    Attempts are numbered by submission time (the time first recorded stands in for an
    unknown one), except those the caller numbered. The start of a timed exam is the
    recorded start, else the first submission's time.
    """
    if not rows:
        return {}
    known = [r.submitted_at for r in rows if r.submitted_at is not None]
    start = started_at or (min(known) if known else None)
    ordered = sorted(rows, key=lambda r: (r.submitted_at or r.recorded_at, r.id))
    decisions: dict[int, Decision] = {}
    attempts = []
    for rank, row in enumerate(ordered, 1):
        number = row.attempt if row.attempt_given else rank
        d = decide(policy, attempt=number, submitted_at=row.submitted_at, started_at=start)
        decisions[row.id] = d
        gradable = row.grading_id is not None and row.grader_error is None
        score = penalised_score(policy, row.score, row.graded_max, d.late_minutes) if gradable else None
        attempts.append(Attempt(number, score, key=row.id, accepted=is_accepted(d.late_status)))
    chosen = counted_attempt(policy, attempts)
    return {rid: (d, chosen is not None and chosen.key == rid) for rid, d in decisions.items()}


def student_score(policy: Policy, info, student: str, rows, decided, overrides, per_question) -> StudentScore:
    """The final score of one student and, in ``notes``, every reason it differs from the raw score."""
    whole = next((o for o in overrides if o.question is None), None)
    by_question = {o.question: o for o in overrides if o.question is not None}
    counted = next((r for r in rows if decided[r.id][1]), None)
    notes: list[str] = []
    over = sum(1 for r in rows if decided[r.id][0].over_limit)
    if over:
        notes.append(f"{over} attempt(s) over the limit of {policy.max_attempts}, not counted")
    errors = sum(1 for r in rows if r.grader_error is not None)
    if errors:
        notes.append(f"{errors} attempt(s) with a grader error: regrade")
    for row in rows:
        decision = decided[row.id][0]
        if row is not counted and not is_accepted(decision.late_status):
            notes.append(f"attempt {decision.attempt} {decision.late_status} "
                         f"(late by {_minutes(decision.late_minutes)}): recorded, does not count")
    questions: list[QuestionScore] = []
    late_minutes, late_status, penalty = 0.0, "", 0.0
    if counted is not None:
        decision = decided[counted.id][0]
        late_minutes, late_status = decision.late_minutes, decision.late_status
        for q in per_question.get(counted.grading_id, []):
            o = by_question.get(q.question)
            questions.append(QuestionScore(q.question, o.score if o else q.score, q.max_score,
                                           "overridden" if o else q.status, o is not None))
        max_score = counted.graded_max
        if len(rows) > 1:
            notes.append(f"attempt {decision.attempt} of {len(rows)} counts")
    else:
        max_score = info.max_score
        if rows and not errors:
            notes.append("no attempt counts")
    listed = {q.question for q in questions}
    for name, o in by_question.items():
        if name not in listed:
            questions.append(QuestionScore(name, o.score, None, "overridden", True))
    if counted is not None or by_question:
        raw = round(sum(q.score for q in questions), 6)
        penalised = penalised_score(policy, raw, max_score, late_minutes) if counted is not None else raw
        penalty = round(raw - penalised, 6)
        score: float | None = penalised
    else:
        raw = score = None
    if counted is not None:
        note = _late_note(policy, decided[counted.id][0], penalty)
        if note:
            notes.append(note)
    for o in by_question.values():
        notes.append(f"question {o.question} overridden to {o.score:g} by {o.created_by}: {o.reason}")
    if whole is not None:
        score = whole.score
        notes.append(f"override by {whole.created_by}: {whole.score:g} / {max_score:g} ({whole.reason})")
    return StudentScore(
        student=student, assignment=info.name, score=score, max_score=max_score, raw_score=raw,
        late_minutes=late_minutes, late_status=late_status, late_penalty=penalty,
        attempt=decided[counted.id][0].attempt if counted is not None else None, attempts=len(rows),
        submission_id=counted.id if counted is not None else None,
        grading_id=counted.grading_id if counted is not None else None,
        overridden=bool(whole is not None or by_question), questions=tuple(questions), notes=tuple(notes),
        counting=counting_rule(policy))


def _minutes(minutes: float) -> str:
    """``1 min``, ``61.5 min``: minutes as a student reads them."""
    return f"{round(minutes, 1):g} min"


def _late_note(policy: Policy, decision: Decision, penalty: float) -> str:
    """Why lateness changed (or did not change) the counted attempt's score; "" when on time."""
    status = decision.late_status
    if status in ("", ON_TIME):
        return ""
    if status == TIME_UNKNOWN:
        return "submission time unknown: treated as on time"
    if status == EARLY:
        return "submitted before the opening: no penalty"
    late = f"late by {_minutes(decision.late_minutes)}"
    if status == IN_GRACE:
        return f"{late}, within the {policy.late_grace_minutes:g} min grace: no penalty"
    if status in (NOT_ACCEPTED, TOO_LATE):
        return f"{status}: {late}; scores 0 (no accepted attempt to count instead)"
    if not penalty:
        return f"{late}: no penalty"
    percent = f"{decision.penalty_fraction:.0%}" if policy.late_penalty_basis == "score" else \
        f"{decision.penalty_fraction:.0%} of the maximum"
    return f"{late} ({decision.late_days} day(s)): penalty -{percent}, -{penalty:g} points"
