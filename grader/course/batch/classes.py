"""A whole class graded into its gradebook, then its class folder written from the gradebook.

Each result is recorded in its own transaction as soon as it is done; a
batch interrupted (even by SIGKILL) is finished by running it again: a
submission whose content is already graded is skipped unless ``regrade``.
Nothing is recorded when a check of :mod:`grader.course.batch.preflight` fails.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from grader.course.batch.parallel import GradeJob, grade_many
from grader.course.batch.preflight import Refused, admit_to_roster, check_manifest, check_sheet_owners
from grader.course.batch.times import modification_time, read_manifest, warn_file_times
from grader.course.exam.variants import compiler_for
from grader.course.feedback.class_folder import summary_rows
from grader.engine.grading import content_hash, submission_id_for


@dataclass
class ClassOutcome:
    """What one batch did: graded now, skipped (same content), the summary table, grader errors."""

    graded: int
    skipped: int
    headers: list[str]
    rows: list[list]
    grader_errors: list[str]


def grade_class(assignment, submissions: list[Path], out: Path, *, db: str | None = None, jobs: int = 1,
                regrade: bool = False, times: dict | None = None, new_students: bool = False,
                limit_overrides: dict | None = None, progress: bool = True,
                cluster: str | None = None) -> ClassOutcome:
    """Grade ``submissions`` into the gradebook, skipping content already graded, then write ``out``'s
    class folder from the gradebook (:mod:`grader.course.feedback.class_folder`).

    ``times`` (from :func:`read_manifest`): student -> (submitted_at, started_at); None means
    the files' modification times. Raises :class:`Refused`, before anything is recorded, for an
    id the roster does not know (unless ``new_students``), a manifest that does not match the
    submissions, or an exam sheet that names another student.

    ``cluster`` (``local:N``, a scheduler's address or file): grade on a Dask cluster
    (:mod:`grader.course.cluster`) instead of ``jobs`` threads; this process still records every result.
    """
    from grader.course.feedback.class_folder import gradebook_reference, keep_grading_extras, write_class_folder
    from grader.course.gradebook import Gradebook
    from grader.course.policy import load_policy

    policy = load_policy(assignment.folder)
    ids = {submission_id_for(path): path for path in submissions}
    if times is not None:
        check_manifest(times, ids)
    else:
        warn_file_times(assignment, policy, submissions)
    check_sheet_owners(assignment, ids)
    if cluster:
        check_cluster(cluster, assignment)
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(db or out / "gradebook.db") as gradebook:
        admit_to_roster(gradebook, sorted(ids), new_students=new_students)
        done = set() if regrade else gradebook.graded_hashes(assignment.name)
        jobs_to_run, skipped = [], 0
        compile_for = compiler_for(assignment)
        for student, path in ids.items():
            if (student, content_hash(path)) in done:
                skipped += 1
                continue
            jobs_to_run.append(GradeJob(path, student, compile_for(student)))
        if skipped:
            print(f"{skipped} submission(s) already graded with the same content: skipped "
                  "(--regrade grades them again)", file=sys.stderr)

        def record(result, figures: dict | None = None, run_id: str | None = None) -> None:
            submitted_at, started_at = (times or {}).get(result.submission, (None, None))
            gradebook.record(result, student_id=result.submission, policy=policy, regrade=regrade,
                             submitted_at=submitted_at or modification_time(Path(result.path)),
                             started_at=started_at, run_id=run_id)
            keep_grading_extras(out, result, figures=figures)

        if cluster:
            from grader.course.cluster import grade_class_on_cluster

            results = grade_class_on_cluster(cluster, assignment, jobs_to_run, on_result=record,
                                             progress=progress, limit_overrides=limit_overrides)
        else:
            results = grade_many(jobs_to_run, workers=jobs, on_result=record, progress=progress,
                                 limit_overrides=limit_overrides)
        gradebook.add_assignment(assignment.name, policy=policy)   # a changed policy applies without regrading
        finals = write_class_folder(gradebook, assignment.name, out, question_names=assignment.question_names,
                                    gradebook_file=gradebook_reference(out, db))
    headers, rows = summary_rows(finals, assignment.question_names)
    return ClassOutcome(len(results), skipped, headers, rows, [r.submission for r in results if r.grader_error])


def check_cluster(spec: str, assignment) -> None:
    """Refuse (before anything is recorded) a bad ``--cluster`` value, or folder submissions on one."""
    from grader.course.cluster.connect import check_spec

    try:
        check_spec(spec)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if getattr(assignment, "submissions", "files") == "folders":
        raise Refused(f"--cluster grades file submissions; {assignment.name} takes folders: grade it "
                      f"without --cluster")



__all__ = ["ClassOutcome", "Refused", "check_cluster", "grade_class", "read_manifest"]
