"""Submission times: from an LMS manifest, or, without one, the files' modification times (and a warning).

A manifest is a CSV with the columns ``student``, ``submitted_at`` and optionally
``started_at`` (ISO 8601); a time without a zone is in ``policy.toml``'s
``timezone``. File times are when a file was last written or copied, not when
it was handed in, so with a deadline :func:`warn_file_times` says how many
submissions they make late and what that costs.
"""

from __future__ import annotations

import csv
import datetime as _dt
import sys
from pathlib import Path

from grader.course.batch.preflight import Refused


def modification_time(path: Path) -> _dt.datetime:
    """When a submission was last changed: its newest file's modification time, in UTC."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    newest = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
    return _dt.datetime.fromtimestamp(newest, _dt.timezone.utc)


def read_manifest(path: Path, timezone: str | None = None
                  ) -> dict[str, tuple[_dt.datetime | None, _dt.datetime | None]]:
    """student -> (submitted_at, started_at) from a CSV an LMS exports.

    A time without a zone is in ``timezone`` (policy.toml's); without one it is an error.
    """
    times = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"student", "submitted_at"} - set(reader.fieldnames or [])
        if missing:
            raise Refused(f"{path}: the manifest needs the columns student and submitted_at; "
                          f"missing {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            student = (row["student"] or "").strip()
            if not student:
                raise Refused(f"{path}:{line}: the row names no student")
            if student in times:
                raise Refused(f"{path}:{line}: a second row for {student!r}: one row per submission")
            times[student] = (_when(row["submitted_at"] or "", path, line, "submitted_at", timezone),
                              _when(row.get("started_at") or "", path, line, "started_at", timezone))
    return times


def warn_file_times(assignment, policy, submissions: list[Path]) -> None:
    """Say loudly that file times stand in for submission times, and what that does to the scores."""
    from grader.course.exam import is_exam
    from grader.course.policy import late_status

    if not policy.has_deadline:
        return
    due = policy.closes_at
    late = []
    if due is not None:
        for path in submissions:
            minutes = (modification_time(path) - due).total_seconds() / 60.0
            if minutes > 0 and late_status(policy, minutes) not in ("on time", "in grace"):
                late.append((path, late_status(policy, minutes)))
    if not late and not is_exam(assignment):
        return
    lines = ["WARNING: no --manifest: each submission's time is its file's modification time, which is when "
             "the file was last written or copied here, not when the student handed it in."]
    if late:
        statuses = sorted({status for _, status in late})
        effect = ("they score 0" if set(statuses) <= {"not accepted", "too late"}
                  else "they lose the late penalty (or score 0 beyond late_max_days)")
        lines.append(f"{len(late)} of {len(submissions)} are dated after the deadline ({due.isoformat()}) and are "
                     f"recorded as {' / '.join(statuses)}: {effect}.")
    lines.append("Give --manifest times.csv (student, submitted_at[, started_at]) with the times your LMS "
                 "recorded to grade by the real times.")
    print("\n".join(lines), file=sys.stderr)


def _when(text: str, path: Path, line: int, column: str, timezone: str | None) -> _dt.datetime | None:
    if not text.strip():
        return None
    try:
        value = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refused(f"{path}:{line}: {column} {text!r} is not an ISO 8601 time "
                      "(e.g. 2026-11-28T14:05:00+01:00)") from None
    if value.tzinfo is None:
        if timezone is None:
            raise Refused(f"{path}:{line}: {column} {text!r} has no time zone and policy.toml sets no "
                          "timezone: add one to the time (e.g. +00:00) or timezone = \"...\" to policy.toml")
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value
