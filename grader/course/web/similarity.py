"""Similarity evidence of one assignment, computed by the website from the stored uploads.

The same library and wording as ``dlgrade similarity`` (:mod:`grader.course.similarity`):
code compared by winnowed fingerprints, the students' template subtracted, and
the same rare wrong replies to the same hidden cases read from the gradebook.
It is evidence for a person to review: it changes no grade and accuses no one.

Each student's upload that counts is compared (the latest, until one is graded). Uploads are content-addressed blobs
of hostile text: they are read here as text only (a ``.py`` as capped UTF-8, a
notebook's code cells by the loader's JSON reader), never imported or run.

Cost: every request (the page and each pair view) computes afresh, with no
cache, in the request's thread. Measured with ``benchmarks/similarity_speed.py``
on a small shared machine: fingerprinting takes about 19 ms of CPU per
submission of assignment 01, the index and ranking 0.4 s for a class of 250
and 2 s for 500 (it grows faster than linearly). So a class of a few hundred
costs a few seconds a request, which is fine for a page an instructor opens
now and then; beyond :data:`MAX_STUDENTS` students only the first that many
(by student id) are compared, and the page says so (``dlgrade similarity``
takes the whole class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import schema as S
from grader.course.similarity.gradebook_view import counted_submissions
from grader.course.similarity.index import CodeEvidence, compare_class, make_document, template_kgrams
from grader.course.similarity.normalise import MAX_CODE_CHARS, MAX_NOTEBOOK_BYTES, submission_code
from grader.course.similarity.wrong_answers import WrongAnswerPair, replies_of, shared_wrong_answers
from grader.course.web import tables as T
from grader.course.web.course import Course, CourseAssignment
from grader.engine.sandbox.child.loader import notebook_code_cells

#: The most students compared on one request (a bound on work; the page says when it cuts).
MAX_STUDENTS = 300
#: The wording of ``dlgrade similarity``, shown at the top of every page.
SUMMARY = "evidence for a person to review; changes no grade; accuses no one"


@dataclass
class ClassEvidence:
    """What the instructor's similarity page shows for one assignment."""
    code: CodeEvidence
    wrong: list[WrongAnswerPair]
    students: int                                   # students with an upload
    left_out: list[str] = field(default_factory=list)   # "student: why", for uploads not compared
    capped: bool = False                            # more than MAX_STUDENTS students: only the first compared


def compared_uploads(conn, assignment: str) -> dict:
    """Student → the upload of ``assignment`` to compare: the one whose grading counts (the policy's
    choice), else their latest."""
    chosen = {}
    for row in conn.execute(sa.select(T.uploads).where(T.uploads.c.assignment == assignment)
                            .order_by(T.uploads.c.student, T.uploads.c.id)):
        chosen[row.student] = row   # the last (newest) wins
    counted = (sa.select(T.uploads)
               .join(S.gradings, S.gradings.c.id == T.uploads.c.grading_id)
               .join(S.submissions, S.submissions.c.id == S.gradings.c.submission_id)
               .where(T.uploads.c.assignment == assignment, S.submissions.c.counted)
               .order_by(T.uploads.c.student, T.uploads.c.id))
    for row in conn.execute(counted):
        chosen[row.student] = row
    return chosen


def upload_code(course: Course, upload) -> str:
    """The code of a stored upload, as text (capped at the similarity module's bound). Raises ValueError."""
    path = course.blobs.path(upload.blob_sha256)
    if upload.suffix == ".py":
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CODE_CHARS * 4)
        return raw.decode("utf-8", errors="replace")[:MAX_CODE_CHARS]
    if upload.suffix == ".ipynb":
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"a notebook larger than the {MAX_NOTEBOOK_BYTES:,} bytes read for similarity")
        cells = notebook_code_cells(str(path))
        return "\n".join(source.rstrip("\n") + "\n" for _, source in cells)[:MAX_CODE_CHARS]
    raise ValueError(f"a {upload.suffix} upload is an answer sheet, not code")


def template_codes(assignment: CourseAssignment) -> list[str]:
    """The students' template of ``assignment`` (student_template/NAME/MODULE.py or .ipynb), if any."""
    folder = Path(assignment.folder).resolve().parent.parent / "student_template" / assignment.name
    found = [folder / f"{assignment.module}{suffix}" for suffix in (".py", ".ipynb")]
    return [submission_code(p) for p in found if p.is_file()]


def class_evidence(course: Course, assignment: CourseAssignment) -> ClassEvidence:
    """Rank the code pairs and the shared rare wrong replies of ``assignment`` (see the module's cost note)."""
    with course.engine.begin() as conn:
        chosen = compared_uploads(conn, assignment.name)
    students = sorted(chosen)
    compared = students[:MAX_STUDENTS]
    template = template_kgrams(*template_codes(assignment))
    documents, left_out = [], []
    for student in compared:
        try:
            documents.append(make_document(student, upload_code(course, chosen[student]), template))
        except (OSError, ValueError) as exc:
            left_out.append(f"{student}: {exc}")
    handed = counted_submissions(course.gradebook, assignment.name)
    wanted = set(compared)
    replies = {s: replies_of(h.results) for s, h in handed.items() if s in wanted}
    return ClassEvidence(compare_class(documents), shared_wrong_answers(replies), len(students), left_out,
                         capped=len(students) > MAX_STUDENTS)
