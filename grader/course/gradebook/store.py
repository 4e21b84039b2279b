"""The gradebook: every submission, every grading, every override, in a real database.

Written with SQLAlchemy Core rather than the ORM: the gradebook is a handful of
tables written in short, explicit transactions, and Core keeps every statement
and every transaction boundary in sight (that is what makes "one result, one
transaction" checkable), holds no session state that could go stale while
another process writes, and lets the few dialect differences (``ON CONFLICT``,
partial indexes, ``FOR UPDATE``) be written where they matter. Callers get
frozen dataclasses, never rows.

Guarantees:

* ``record`` writes one submission's result in one transaction: the
  submission, its grading, its question results and the policy's decisions
  all appear together or not at all, whenever the process is killed.
* Recording the same content (assignment, student, sha256) again changes
  nothing, unless ``regrade=True`` or the current grading was a fault of the
  grader; then a new grading is added, the old one stays as history.
* Overrides are never deleted, only deactivated; the effective score is the
  counted attempt's current grading, with active overrides applied.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import sqlalchemy as sa

from grader.course.gradebook import migrations
from grader.course.gradebook import schema as S
from grader.course.gradebook.connection import WRITE_OPTION, database_url, make_engine, sqlite_path
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
    require_aware,
)
from grader.engine.results import SubmissionResult

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01"}   # serialization failure, deadlock detected


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


# -- what callers get ------------------------------------------------------------
@dataclass(frozen=True)
class QuestionScore:
    question: str
    score: float
    max_score: float | None
    status: str
    overridden: bool = False


@dataclass(frozen=True)
class StudentScore:
    """One student's final score on one assignment, and how it came about."""
    student: str
    assignment: str
    score: float | None          # final: counted attempt, late penalty, overrides; None: nothing counts
    max_score: float
    raw_score: float | None      # the counted attempt as graded (question overrides applied), before penalty
    late_minutes: float
    late_status: str
    late_penalty: float          # points taken off for lateness
    attempt: int | None          # the counted attempt's number
    attempts: int                # attempts recorded, counted or not
    submission_id: int | None
    grading_id: int | None
    overridden: bool             # an active override changed the score
    questions: tuple[QuestionScore, ...] = ()
    notes: tuple[str, ...] = ()  # every reason the final score differs from the raw one, in words
    counting: str = ""           # which attempt counts under the policy, in one sentence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what a student's report, a results file or a web page shows of this score."""
        return {
            "student": self.student, "assignment": self.assignment, "score": self.score,
            "max_score": self.max_score, "raw_score": self.raw_score, "late_minutes": self.late_minutes,
            "late_status": self.late_status, "late_penalty": self.late_penalty, "attempt": self.attempt,
            "attempts": self.attempts, "overridden": self.overridden, "reasons": list(self.notes),
            "counting": self.counting,
            "questions": [{"question": q.question, "score": q.score, "max_score": q.max_score,
                           "status": q.status, "overridden": q.overridden} for q in self.questions],
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One event in a student's record on an assignment."""
    when: _dt.datetime
    kind: str                    # start, submission, grading, override, override deactivated
    summary: str
    attempt: int | None = None
    question: str | None = None
    score: float | None = None
    max_score: float | None = None
    by: str | None = None
    reason: str | None = None
    current: bool | None = None  # grading: is the current one; override: is active
    id: int | None = None


@dataclass(frozen=True)
class AssignmentInfo:
    name: str
    title: str
    max_score: float
    kind: str
    policy: Policy


# -- the gradebook ---------------------------------------------------------------
class Gradebook:
    """A gradebook on SQLite (a path or ``sqlite:///...``) or PostgreSQL (``postgresql+psycopg://...``)."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        # Reads see one snapshot (SQLite's read transactions always do).
        self._reader = (engine.execution_options(isolation_level="REPEATABLE READ")
                        if engine.dialect.name == "postgresql" else engine)

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path, *, create: bool = True) -> "Gradebook":
        """Open (and with ``create``, create) the gradebook at a path or URL."""
        url = database_url(target)
        path = sqlite_path(url)
        if path is not None:
            if not path.exists() and not create:
                raise FileNotFoundError(f"no gradebook at {path}")
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
        gradebook = cls(make_engine(url))
        try:
            gradebook._initialise(create)
        except BaseException:
            gradebook.close()
            raise
        return gradebook

    def _initialise(self, create: bool) -> None:
        def tx(conn):
            if create:
                S.metadata.create_all(conn)
            elif not sa.inspect(conn).has_table(S.meta.name):
                raise ValueError(f"{self.url} is not a dlgrade gradebook (no {S.meta.name} table)")
            version = conn.execute(sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar()
            if version is None:     # just created from today's tables: it holds every revision
                conn.execute(sa.insert(S.meta).values(key="schema_version", value=str(S.SCHEMA_VERSION)))
                migrations.stamp_newest(conn)
                return
            if version.isdigit() and int(version) < S.SCHEMA_VERSION:
                S.migrate(conn, int(version))
                conn.execute(sa.update(S.meta).where(S.meta.c.key == "schema_version")
                             .values(value=str(S.SCHEMA_VERSION)))
            elif version != str(S.SCHEMA_VERSION):
                raise ValueError(f"{self.url} has gradebook schema version {version}; this dlgrade "
                                 f"reads version {S.SCHEMA_VERSION}")
            migrations.upgrade(conn)   # the Alembic revisions since version 2, in this transaction

        try:
            self._write(tx)
        except sa.exc.DBAPIError:
            time.sleep(0.2)   # another process created the tables at the same moment
            self._write(tx)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------
    def _write(self, work: Callable[[sa.Connection], T], *, tries: int = 5) -> T:
        """Run ``work`` in one writing transaction, retrying what PostgreSQL asks to retry."""
        for attempt in range(tries):
            try:
                with self._writer.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate in RETRYABLE_SQLSTATES and attempt < tries - 1:
                    time.sleep(0.05 * 2 ** attempt)
                    continue
                raise
        raise AssertionError("unreachable")

    def _read(self):
        return self._reader.begin()

    # -- assignments and students -----------------------------------------------------
    def add_assignment(self, name: str, *, title: str | None = None, max_score: float | None = None,
                       policy: Policy | None = None) -> None:
        """Create or update an assignment. A changed policy is kept in ``policy_history`` and
        its decisions are recomputed for every submission, in the same transaction."""
        name = _text(name, "assignment")

        def tx(conn):
            changed = self._ensure_assignment(conn, name, policy, max_score=max_score, title=title)
            if changed:
                self._refresh_assignment(conn, name)

        self._write(tx)

    def add_student(self, student_id: str, *, name: str | None = None, email: str | None = None) -> None:
        """Add a student to the roster (or update their name and email)."""
        student_id = _text(student_id, "student_id")

        def tx(conn):
            self._ensure_student(conn, student_id)
            values = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
            if values:
                conn.execute(sa.update(S.students).where(S.students.c.id == student_id).values(**values))

        self._write(tx)

    def record_start(self, student_id: str, assignment: str, started_at: _dt.datetime) -> None:
        """Record when a student started a timed exam. The first recorded start is kept."""
        student_id = _text(student_id, "student_id")
        assignment = _text(assignment, "assignment")
        require_aware(started_at, "started_at")

        def tx(conn):
            self._ensure_assignment(conn, assignment, None)
            self._ensure_student(conn, student_id)
            if self._insert_start(conn, assignment, student_id, started_at):
                self._refresh(conn, assignment, student_id)

        self._write(tx)

    def assignments(self) -> list[AssignmentInfo]:
        with self._read() as conn:
            rows = conn.execute(sa.select(S.assignments).order_by(S.assignments.c.name)).all()
        return [AssignmentInfo(r.name, r.title, r.max_score, r.kind, Policy.from_dict(r.policy))
                for r in rows]

    def students(self) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(sa.select(S.students.c.id).order_by(S.students.c.id)).scalars())

    def policy(self, assignment: str) -> Policy:
        with self._read() as conn:
            return self._policy(conn, assignment)

    # -- recording results ---------------------------------------------------------------
    def record(self, result: SubmissionResult, *, student_id: str, submitted_at: _dt.datetime | None = None,
               attempt: int | None = None, policy: Policy | None = None, regrade: bool = False,
               started_at: _dt.datetime | None = None, source_path: str | Path | None = None,
               run_id: str | None = None) -> int:
        """Write one graded submission in one transaction; returns the id of its current grading.

        ``submitted_at`` (timezone-aware) decides lateness; None means unknown (never late).
        ``attempt`` numbers the attempt explicitly; by default attempts are numbered in
        order of ``submitted_at``. ``policy`` (if given) becomes the assignment's policy.
        ``started_at`` records the student's start of a timed exam (if none is recorded yet).
        Idempotent for the same (assignment, student, sha256) unless ``regrade`` is true or
        the current grading was a fault of the grader: then a new grading is added and
        becomes current; the earlier ones stay as history.

        ``run_id`` names this grading run of this submission (a cluster task): a grading already
        recorded under it is returned unchanged, even under ``regrade``, so a result delivered
        twice adds one grading (the column is unique besides).
        """
        student_id = _text(student_id, "student_id")
        assignment = _text(result.assignment, "result.assignment")
        require_aware(submitted_at, "submitted_at")
        require_aware(started_at, "started_at")
        if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1):
            raise ValueError(f"attempt must be a whole number >= 1, got {attempt!r}")
        if not result.sha256:
            raise ValueError(f"result for {result.submission!r} has no sha256 of its content")
        for q in result.questions:
            if not (math.isfinite(q.score) and math.isfinite(q.points)):
                raise ValueError(f"{result.submission}: question {q.name} has a non-finite score "
                                 f"({q.score!r} of {q.points!r})")
        results_json = _plain(result.to_gradescope("instructor"))
        graded_at = _parse_time(result.graded_at) or utcnow()
        questions = [dict(position=i, question=q.name, title=q.title, score=float(q.score),
                          max_score=float(q.points), status=q.status, public=bool(q.public),
                          message=q.message("instructor"))
                     for i, q in enumerate(result.questions)]
        path = str(source_path if source_path is not None else result.path) or None

        def tx(conn):
            if run_id is not None:
                already = conn.execute(sa.select(S.gradings.c.id).where(S.gradings.c.run_id == run_id)).scalar()
                if already is not None:
                    return already
            now = utcnow()
            policy_changed = self._ensure_assignment(
                conn, assignment, policy, max_score=result.max_score if result.questions else None)
            self._ensure_student(conn, student_id)
            if started_at is not None:
                self._insert_start(conn, assignment, student_id, started_at)
            sub = conn.execute(sa.select(S.submissions.c.id).where(
                S.submissions.c.assignment == assignment, S.submissions.c.student == student_id,
                S.submissions.c.sha256 == result.sha256)).first()
            if sub is None:
                submission_id = conn.execute(sa.insert(S.submissions).values(
                    assignment=assignment, student=student_id, sha256=result.sha256,
                    submitted_at=submitted_at, recorded_at=now, source_path=path, variant=result.variant,
                    attempt=attempt or 0, attempt_given=attempt is not None, late_minutes=0.0, late_days=0,
                    late_status="", late_penalty=0.0, over_limit=False, counted=False,
                ).returning(S.submissions.c.id)).scalar_one()
            else:
                submission_id = sub.id
                current = conn.execute(sa.select(S.gradings.c.id, S.gradings.c.grader_error).where(
                    S.gradings.c.submission_id == submission_id, S.gradings.c.is_current)).first()
                if current is not None and not regrade and current.grader_error is None:
                    if policy_changed:
                        self._refresh_assignment(conn, assignment)
                    return current.id
                conn.execute(sa.update(S.gradings).where(S.gradings.c.submission_id == submission_id,
                                                         S.gradings.c.is_current).values(is_current=False))
            grading_id = conn.execute(sa.insert(S.gradings).values(
                submission_id=submission_id, graded_at=graded_at, recorded_at=now,
                score=float(result.score), max_score=float(result.max_score), isolation=result.isolation or "",
                seconds=float(result.seconds or 0.0), loaded=bool(result.load.ok),
                grader_error=result.grader_error, results=results_json, is_current=True, run_id=run_id,
            ).returning(S.gradings.c.id)).scalar_one()
            if questions:
                conn.execute(sa.insert(S.question_results), [dict(q, grading_id=grading_id) for q in questions])
            if policy_changed:
                self._refresh_assignment(conn, assignment)
            else:
                self._refresh(conn, assignment, student_id)
            return grading_id

        return self._write(tx)

    def is_graded(self, assignment: str, student_id: str, sha256: str) -> bool:
        """Whether this content has a current grading that is not a grader fault (what a resumed batch skips)."""
        with self._read() as conn:
            return conn.execute(
                sa.select(S.gradings.c.id)
                .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
                .where(S.submissions.c.assignment == assignment, S.submissions.c.student == student_id,
                       S.submissions.c.sha256 == sha256, S.gradings.c.is_current,
                       S.gradings.c.grader_error.is_(None))).first() is not None

    def graded_hashes(self, assignment: str) -> set[tuple[str, str]]:
        """(student, sha256) of every submission of ``assignment`` that is graded (see :meth:`is_graded`)."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(S.submissions.c.student, S.submissions.c.sha256)
                .join(S.gradings, S.submissions.c.id == S.gradings.c.submission_id)
                .where(S.submissions.c.assignment == assignment, S.gradings.c.is_current,
                       S.gradings.c.grader_error.is_(None))).all()
        return {(r.student, r.sha256) for r in rows}

    # -- overrides ---------------------------------------------------------------------
    def override(self, student_id: str, assignment: str, score: float, *, reason: str, by: str,
                 question: str | None = None, create_student: bool = False, force: bool = False) -> int:
        """Set a student's score on a question or (``question=None``) the whole assignment.

        Replaces (deactivates) the active override of the same target; revoking the new one
        restores it. The student must be known to the gradebook unless ``create_student``.
        A score outside [0, max] (the assignment's, or the question's) is refused unless
        ``force``; below 0 never. Returns the override's id.
        """
        student_id = _text(student_id, "student_id")
        reason = _text(reason, "reason (why the score is overridden)")
        by = _text(by, "by (who overrides)")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or score < 0:
            raise ValueError(f"override score must be a number >= 0, got {score!r}")
        if question is not None:
            question = _text(question, "question")

        def tx(conn):
            info = self._require_assignment(conn, assignment)
            if not create_student:
                self._require_student(conn, student_id)
            self._ensure_student(conn, student_id)
            if question is not None:
                known = self._question_names(conn, assignment)
                if known and question not in known:
                    raise ValueError(f"{assignment} has no question {question!r}; its questions: "
                                     f"{', '.join(sorted(known))}")
            top = self._question_max(conn, assignment, question) if question is not None else info.max_score
            if top and score > top and not force:
                target = f"question {question}" if question is not None else assignment
                raise ValueError(f"override score {score:g} is above the maximum of {target} ({top:g}); "
                                 f"give --force (force=True) if that is meant (e.g. a bonus)")
            now = utcnow()
            previous = self._deactivate(conn, student_id, assignment, question, now=now, by=by,
                                        reason="replaced by a new override")
            override_id = conn.execute(sa.insert(S.overrides).values(
                assignment=assignment, student=student_id, question=question, score=float(score),
                reason=reason, created_by=by, created_at=now, active=True,
                replaces=previous[0] if previous else None).returning(S.overrides.c.id)).scalar_one()
            if previous:
                conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(previous))
                             .values(deactivation_reason=f"replaced by override #{override_id}"))
            return override_id

        return self._write(tx)

    def revoke_override(self, student_id: str, assignment: str, *, reason: str, by: str,
                        question: str | None = None) -> int:
        """Deactivate the active override of this target (kept as history) and restore the one it
        replaced, if any, so that the score is what it was before. Returns how many were revoked (0 or 1)."""
        reason = _text(reason, "reason")
        by = _text(by, "by")

        def tx(conn):
            self._require_assignment(conn, assignment)
            self._require_student(conn, student_id)
            self._ensure_student(conn, student_id)
            target = S.overrides.c.question.is_(None) if question is None else S.overrides.c.question == question
            replaced = conn.execute(sa.select(S.overrides.c.replaces).where(
                S.overrides.c.assignment == assignment, S.overrides.c.student == student_id, target,
                S.overrides.c.active)).scalar()
            now = utcnow()
            revoked = self._deactivate(conn, student_id, assignment, question, now=now, by=by, reason=reason)
            if revoked and replaced is not None:
                # Restored as a new row (a copy), so that the replaced one keeps its own history.
                old = conn.execute(sa.select(S.overrides).where(S.overrides.c.id == replaced)).one()
                restored = conn.execute(sa.insert(S.overrides).values(
                    assignment=old.assignment, student=old.student, question=old.question, score=old.score,
                    reason=old.reason, created_by=old.created_by, created_at=now, active=True,
                    replaces=old.replaces).returning(S.overrides.c.id)).scalar_one()
                conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(revoked)).values(
                    deactivation_reason=f"{reason} (override #{old.id} restored as #{restored})"))
            return len(revoked)

        return self._write(tx)

    def remove(self, student_id: str, assignment: str | None = None, *, reason: str, by: str,
               attempt: int | None = None) -> str:
        """Delete a mistaken record, keeping what was deleted (and who, why) in ``removals``.

        ``attempt``: that one submission (all its gradings) of ``student_id`` on ``assignment``.
        Without it: the student's whole record on ``assignment`` (submissions, start, overrides).
        Without ``assignment``: the student, from every assignment and from the roster.
        Returns what was removed, in words.
        """
        student_id = _text(student_id, "student_id")
        reason = _text(reason, "reason (why it is removed)")
        by = _text(by, "by (who removes)")
        if attempt is not None and assignment is None:
            raise ValueError("an attempt is removed from an assignment: name the assignment too")

        def tx(conn):
            self._require_student(conn, student_id)
            if assignment is not None:
                self._require_assignment(conn, assignment)
            subs = S.submissions
            query = sa.select(subs).where(subs.c.student == student_id)
            if assignment is not None:
                query = query.where(subs.c.assignment == assignment)
            rows = conn.execute(query.order_by(subs.c.id)).all()
            if attempt is not None:
                rows = [r for r in rows if r.attempt == attempt]
                if not rows:
                    raise ValueError(f"{student_id} has no attempt {attempt} on {assignment}")
            elif assignment is not None and not rows and not self._has_overrides(conn, student_id, assignment):
                raise ValueError(f"{student_id} has nothing recorded on {assignment}")
            snapshot = self._snapshot(conn, rows)
            ids = [r.id for r in rows]
            grading_ids = list(conn.execute(sa.select(S.gradings.c.id).where(
                S.gradings.c.submission_id.in_(ids))).scalars()) if ids else []
            if grading_ids:
                conn.execute(sa.delete(S.question_results).where(S.question_results.c.grading_id.in_(grading_ids)))
                conn.execute(sa.delete(S.gradings).where(S.gradings.c.id.in_(grading_ids)))
            if ids:
                conn.execute(sa.delete(subs).where(subs.c.id.in_(ids)))
            if attempt is None:
                scope = [S.overrides.c.student == student_id]
                starts = [S.starts.c.student == student_id]
                if assignment is not None:
                    scope.append(S.overrides.c.assignment == assignment)
                    starts.append(S.starts.c.assignment == assignment)
                snapshot["overrides"] = [_row_data(o) for o in conn.execute(sa.select(S.overrides).where(*scope))]
                conn.execute(sa.delete(S.overrides).where(*scope))
                conn.execute(sa.delete(S.starts).where(*starts))
            if attempt is not None:
                what = f"attempt {attempt} (sha256 {rows[0].sha256[:12]})"
            elif assignment is not None:
                what = f"the whole record ({len(rows)} submission(s))"
            else:
                what = f"the student, from every assignment and the roster ({len(rows)} submission(s))"
                conn.execute(sa.delete(S.students).where(S.students.c.id == student_id))
            conn.execute(sa.insert(S.removals).values(
                assignment=assignment, student=student_id, what=what, snapshot=_plain(snapshot),
                reason=reason, removed_by=by, removed_at=utcnow()))
            if assignment is not None and attempt is not None:
                self._refresh(conn, assignment, student_id)
            return what

        return self._write(tx)

    # -- reading scores ------------------------------------------------------------------
    def final_scores(self, assignment: str, policy: Policy | None = None) -> list[StudentScore]:
        """Every student's final score on ``assignment``, sorted by student.

        With ``policy``, the scores that policy would give (nothing is written); by
        default the assignment's recorded policy.
        """
        with self._read() as conn:
            info = self._require_assignment(conn, assignment)
            policy = policy or Policy.from_dict(info.policy)
            subs = self._submission_rows(conn, assignment)
            starts = dict(conn.execute(sa.select(S.starts.c.student, S.starts.c.started_at)
                                       .where(S.starts.c.assignment == assignment)).all())
            active = conn.execute(sa.select(S.overrides).where(S.overrides.c.assignment == assignment,
                                                                S.overrides.c.active)
                                  .order_by(S.overrides.c.id)).all()
            by_student: dict[str, list] = defaultdict(list)
            for row in subs:
                by_student[row.student].append(row)
            overrides_of: dict[str, list] = defaultdict(list)
            for row in active:
                overrides_of[row.student].append(row)
            decided = {s: _decide_student(policy, rows, starts.get(s)) for s, rows in by_student.items()}
            counted_gradings = [row.grading_id for s, rows in by_student.items() for row in rows
                                if decided[s][row.id][1]]
            per_question = self._question_rows(conn, counted_gradings)
        scores = []
        for student in sorted(set(by_student) | set(overrides_of)):
            scores.append(_student_score(policy, info, student, by_student.get(student, []),
                                         decided.get(student, {}), overrides_of.get(student, []), per_question))
        return scores

    def final_score(self, assignment: str, student_id: str) -> StudentScore | None:
        """One student's final score on ``assignment`` with every reason it differs from the raw
        score (``notes``) and the counting rule; None when nothing is recorded for them.

        This is the one record every view of a score is rendered from: the student's files,
        the class report, the summary and exports, a web page.
        """
        return next((s for s in self.final_scores(assignment) if s.student == student_id), None)

    def shown_results(self, assignment: str, student_id: str, final: StudentScore | None = None) -> dict | None:
        """The results (instructor view, as recorded) that a student's report shows: the counted
        attempt's current grading, else the latest attempt's; None when nothing is graded.
        ``final``: the student's :meth:`final_score`, when the caller has it already."""
        final = final if final is not None else self.final_score(assignment, student_id)
        with self._read() as conn:
            g, subs = S.gradings, S.submissions
            query = (sa.select(g.c.results).join(subs, subs.c.id == g.c.submission_id)
                     .where(subs.c.assignment == assignment, subs.c.student == student_id, g.c.is_current))
            if final is not None and final.grading_id is not None:
                query = query.where(g.c.id == final.grading_id)
            else:
                query = query.order_by(sa.func.coalesce(subs.c.submitted_at, subs.c.recorded_at).desc(),
                                       subs.c.id.desc())
            return conn.execute(query.limit(1)).scalar()

    def history(self, student_id: str, assignment: str) -> list[HistoryEntry]:
        """Every start, submission, grading and override of a student on an assignment, in time order."""
        entries: list[tuple[_dt.datetime, int, HistoryEntry]] = []
        with self._read() as conn:
            start = conn.execute(sa.select(S.starts.c.started_at).where(
                S.starts.c.assignment == assignment, S.starts.c.student == student_id)).scalar()
            if start is not None:
                entries.append((start, 0, HistoryEntry(start, "start", "started (recorded start)")))
            subs = conn.execute(sa.select(S.submissions).where(
                S.submissions.c.assignment == assignment, S.submissions.c.student == student_id)).all()
            attempt_of = {}
            for s in subs:
                attempt_of[s.id] = s.attempt
                when = s.submitted_at or s.recorded_at
                flags = [s.late_status]
                if s.late_minutes and s.late_status != "on time":
                    flags.append(f"{s.late_minutes:g} min after the deadline")
                if s.late_penalty:
                    flags.append(f"penalty {s.late_penalty:.0%}")
                if s.over_limit:
                    flags.append("over the limit")
                if s.counted:
                    flags.append("counted")
                variant = f", variant {s.variant}" if s.variant else ""
                entries.append((when, 1, HistoryEntry(
                    when, "submission", f"attempt {s.attempt} submitted (sha256 {s.sha256[:12]}{variant}): "
                                        + ", ".join(f for f in flags if f),
                    attempt=s.attempt, current=bool(s.counted), id=s.id)))
            gradings = conn.execute(sa.select(S.gradings).where(
                S.gradings.c.submission_id.in_(list(attempt_of)) if attempt_of else sa.false())
                .order_by(S.gradings.c.id)).all()
            seen: set[int] = set()
            for g in gradings:
                kind = "regrading" if g.submission_id in seen else "grading"
                seen.add(g.submission_id)
                text = f"attempt {attempt_of[g.submission_id]} graded: {g.score:g} / {g.max_score:g}"
                if g.grader_error:
                    text += f" (grader error: {g.grader_error})"
                elif not g.loaded:
                    text += " (did not load)"
                text += " [current]" if g.is_current else " [superseded]"
                entries.append((g.graded_at, 2, HistoryEntry(
                    g.graded_at, kind, text, attempt=attempt_of[g.submission_id], score=g.score,
                    max_score=g.max_score, current=bool(g.is_current), id=g.id)))
            overrides = conn.execute(sa.select(S.overrides).where(
                S.overrides.c.assignment == assignment, S.overrides.c.student == student_id)
                .order_by(S.overrides.c.id)).all()
            for o in overrides:
                target = f"question {o.question}" if o.question else "the whole assignment"
                entries.append((o.created_at, 4, HistoryEntry(
                    o.created_at, "override", f"override #{o.id}: {target} set to {o.score:g} by {o.created_by}: "
                                              f"{o.reason}" + ("" if o.active else " [inactive]"),
                    question=o.question, score=o.score, by=o.created_by, reason=o.reason,
                    current=bool(o.active), id=o.id)))
                if o.deactivated_at is not None:
                    entries.append((o.deactivated_at, 3, HistoryEntry(
                        o.deactivated_at, "override deactivated",
                        f"override #{o.id} deactivated by {o.deactivated_by}: {o.deactivation_reason}",
                        question=o.question, by=o.deactivated_by, reason=o.deactivation_reason, id=o.id)))
            removals = conn.execute(sa.select(S.removals).where(
                S.removals.c.student == student_id,
                sa.or_(S.removals.c.assignment == assignment, S.removals.c.assignment.is_(None)))
                .order_by(S.removals.c.id)).all()
            for r in removals:
                entries.append((r.removed_at, 5, HistoryEntry(
                    r.removed_at, "removal", f"removed {r.what} by {r.removed_by}: {r.reason}",
                    by=r.removed_by, reason=r.reason, id=r.id)))
        entries.sort(key=lambda e: (e[0], e[1], e[2].id or 0))
        return [e for _, _, e in entries]

    # -- internals ---------------------------------------------------------------------------
    def _dialect_insert(self, conn, table):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _ensure_assignment(self, conn, name: str, policy: Policy | None, *, max_score: float | None = None,
                           title: str | None = None) -> bool:
        """Create the assignment if needed, update what changed; True when its policy changed."""
        now = utcnow()
        row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == name)).first()
        if row is None:
            start = policy or Policy()
            inserted = conn.execute(self._dialect_insert(conn, S.assignments).values(
                name=name, title=title or name, max_score=float(max_score or 0.0), kind=start.kind,
                policy=start.to_dict(), created_at=now, updated_at=now).on_conflict_do_nothing()
                .returning(S.assignments.c.name)).first()
            if inserted is not None:   # (rowcount is not reliable for ON CONFLICT on every driver)
                conn.execute(sa.insert(S.policy_history).values(assignment=name, policy=start.to_dict(), set_at=now))
                return False
            row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == name)).first()
        values: dict[str, Any] = {}
        changed = policy is not None and Policy.from_dict(row.policy) != policy
        if changed:
            values.update(policy=policy.to_dict(), kind=policy.kind)
            conn.execute(sa.insert(S.policy_history).values(assignment=name, policy=policy.to_dict(), set_at=now))
        if max_score is not None and float(max_score) != row.max_score:
            values["max_score"] = float(max_score)
        if title is not None and title != row.title:
            values["title"] = title
        if values:
            conn.execute(sa.update(S.assignments).where(S.assignments.c.name == name)
                         .values(updated_at=now, **values))
        return changed

    def _ensure_student(self, conn, student_id: str) -> None:
        """Create the student if needed and lock their row until the transaction ends (PostgreSQL)."""
        conn.execute(self._dialect_insert(conn, S.students).values(id=student_id, created_at=utcnow())
                     .on_conflict_do_nothing())
        conn.execute(sa.select(S.students.c.id).where(S.students.c.id == student_id).with_for_update())

    def _insert_start(self, conn, assignment, student_id, started_at) -> bool:
        return conn.execute(self._dialect_insert(conn, S.starts).values(
            assignment=assignment, student=student_id, started_at=started_at, recorded_at=utcnow())
            .on_conflict_do_nothing().returning(S.starts.c.student)).first() is not None

    def _require_assignment(self, conn, assignment: str):
        row = conn.execute(sa.select(S.assignments).where(S.assignments.c.name == assignment)).first()
        if row is None:
            known = list(conn.execute(sa.select(S.assignments.c.name).order_by(S.assignments.c.name)).scalars())
            raise ValueError(f"no assignment {assignment!r} in the gradebook; known: "
                             f"{', '.join(known) or '(none)'}")
        return row

    def _require_student(self, conn, student_id: str) -> None:
        if conn.execute(sa.select(S.students.c.id).where(S.students.c.id == student_id)).first() is None:
            import difflib

            known = {k.lower(): k for k in conn.execute(sa.select(S.students.c.id)).scalars()}
            close = [known[k] for k in difflib.get_close_matches(student_id.lower(), list(known), n=3)]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"no student {student_id!r} in the gradebook{hint}; add them to the roster "
                             f"first, or allow a new student (create_student=True, --new-student)")

    def _question_max(self, conn, assignment: str, question: str) -> float | None:
        return conn.execute(
            sa.select(sa.func.max(S.question_results.c.max_score))
            .join(S.gradings, S.gradings.c.id == S.question_results.c.grading_id)
            .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
            .where(S.submissions.c.assignment == assignment, S.question_results.c.question == question)).scalar()

    def _has_overrides(self, conn, student_id: str, assignment: str) -> bool:
        return conn.execute(sa.select(S.overrides.c.id).where(
            S.overrides.c.student == student_id, S.overrides.c.assignment == assignment)).first() is not None

    def _snapshot(self, conn, submissions) -> dict:
        """What removing ``submissions`` deletes, as plain data: each with its gradings' scores."""
        out = []
        for sub in submissions:
            gradings = conn.execute(sa.select(S.gradings.c.id, S.gradings.c.graded_at, S.gradings.c.score,
                                              S.gradings.c.max_score, S.gradings.c.is_current)
                                    .where(S.gradings.c.submission_id == sub.id)).all()
            out.append(dict(_row_data(sub), gradings=[_row_data(g) for g in gradings]))
        return {"submissions": out}

    def _policy(self, conn, assignment: str) -> Policy:
        return Policy.from_dict(self._require_assignment(conn, assignment).policy, source=f"{assignment} policy")

    def _question_names(self, conn, assignment: str) -> set[str]:
        return set(conn.execute(
            sa.select(S.question_results.c.question).distinct()
            .join(S.gradings, S.gradings.c.id == S.question_results.c.grading_id)
            .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
            .where(S.submissions.c.assignment == assignment)).scalars())

    def _deactivate(self, conn, student_id, assignment, question, *, now, by, reason) -> list[int]:
        target = S.overrides.c.question.is_(None) if question is None else S.overrides.c.question == question
        ids = list(conn.execute(sa.select(S.overrides.c.id).where(
            S.overrides.c.assignment == assignment, S.overrides.c.student == student_id, target,
            S.overrides.c.active)).scalars())
        if ids:
            conn.execute(sa.update(S.overrides).where(S.overrides.c.id.in_(ids)).values(
                active=False, deactivated_at=now, deactivated_by=by, deactivation_reason=reason))
        return ids

    def _submission_rows(self, conn, assignment: str, student_id: str | None = None):
        g = S.gradings
        query = (sa.select(S.submissions, g.c.id.label("grading_id"), g.c.score, g.c.max_score.label("graded_max"),
                           g.c.grader_error)
                 .select_from(S.submissions.outerjoin(g, sa.and_(g.c.submission_id == S.submissions.c.id,
                                                                 g.c.is_current)))
                 .where(S.submissions.c.assignment == assignment))
        if student_id is not None:
            query = query.where(S.submissions.c.student == student_id)
        return conn.execute(query.order_by(S.submissions.c.id)).all()

    def _question_rows(self, conn, grading_ids: list[int]) -> dict[int, list]:
        out: dict[int, list] = defaultdict(list)
        for chunk in range(0, len(grading_ids), 500):
            ids = grading_ids[chunk:chunk + 500]
            for row in conn.execute(sa.select(S.question_results).where(S.question_results.c.grading_id.in_(ids))
                                    .order_by(S.question_results.c.grading_id, S.question_results.c.position)):
                out[row.grading_id].append(row)
        return out

    def _refresh(self, conn, assignment: str, student_id: str, policy: Policy | None = None) -> None:
        """Recompute and store the policy's decisions on one student's submissions."""
        policy = policy or self._policy(conn, assignment)
        rows = self._submission_rows(conn, assignment, student_id)
        start = conn.execute(sa.select(S.starts.c.started_at).where(
            S.starts.c.assignment == assignment, S.starts.c.student == student_id)).scalar()
        decided = _decide_student(policy, rows, start)
        for row in rows:
            decision, counted = decided[row.id]
            values = dict(attempt=decision.attempt, late_minutes=decision.late_minutes,
                          late_days=decision.late_days, late_status=decision.late_status,
                          late_penalty=decision.penalty_fraction, over_limit=decision.over_limit, counted=counted)
            if any(getattr(row, k) != v for k, v in values.items()):
                conn.execute(sa.update(S.submissions).where(S.submissions.c.id == row.id).values(**values))

    def _refresh_assignment(self, conn, assignment: str) -> None:
        policy = self._policy(conn, assignment)
        students = conn.execute(sa.select(S.submissions.c.student).distinct()
                                .where(S.submissions.c.assignment == assignment)).scalars().all()
        for student in students:
            self._refresh(conn, assignment, student, policy)


# -- decisions (pure) -------------------------------------------------------------------
def _decide_student(policy: Policy, rows, started_at: _dt.datetime | None) -> dict[int, tuple[Decision, bool]]:
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


def _student_score(policy: Policy, info, student: str, rows, decided, overrides, per_question) -> StudentScore:
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


# -- small helpers --------------------------------------------------------------------------
def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.utcoffset() is not None else value.replace(tzinfo=_dt.timezone.utc)


def _row_data(row) -> dict:
    """A database row as plain JSON-ready data (times as ISO 8601)."""
    return {k: (v.isoformat() if isinstance(v, _dt.datetime) else v) for k, v in row._mapping.items()}


def _plain(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (PostgreSQL's json rejects NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


__all__: Iterable[str] = ("Gradebook", "StudentScore", "QuestionScore", "HistoryEntry", "AssignmentInfo")
