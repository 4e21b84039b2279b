"""Per-student exam variants: a keyed hash of the student's id under the exam's secret salt.

A student's variant id is ``HMAC-SHA256(salt, exam name, student id)``,
cut to 16 hex digits (64 bits). It is stable (the same student always gets
the same paper) and cannot be computed from the id alone: without the salt
a student cannot work out a classmate's variant, nor choose their own.

The variant id seeds every question's ``q.rng`` (through
``Assignment.compile(variant=...)``), so a student's numbers are a function
of (exam, question, variant id) and every expected answer is computed from
them by the reference.

Where the salt lives
--------------------
``DLGRADE_EXAM_SALT`` (any non-empty value of at least 16 characters)
overrides everything; otherwise the ``salt`` key of ``secret.toml`` in the
exam's folder. That file is instructor-only: nothing a student receives
(papers, answer sheets, templates) is ever built from it or copies it.
Changing the salt changes every variant, so fix it before papers go out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from grader.engine.authoring import Assignment, CompiledAssignment

SALT_ENV = "DLGRADE_EXAM_SALT"
SECRET_FILE = "secret.toml"
MIN_SALT_CHARS = 16
VARIANT_HEX_DIGITS = 16
_DOMAIN = b"dlgrade-exam-variant/1"
_STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


class ExamSaltError(ValueError):
    """No usable salt for an exam; the message says where one is looked for."""


def normalize_student_id(student_id: object) -> str:
    """A student id as used for variants and file names: surrounding spaces removed.

    Ids are case-sensitive. Allowed: letters, digits and ``. _ @ + -``,
    starting with a letter or digit, at most 100 characters (so an id is
    also a safe file name).
    """
    if not isinstance(student_id, str):
        raise ValueError(f"a student id must be text, got {type(student_id).__name__}")
    sid = student_id.strip()
    if not _STUDENT_ID.fullmatch(sid):
        shown = sid if len(sid) <= 40 else sid[:37] + "..."
        raise ValueError(
            f"not a valid student id: {shown!r} (letters, digits and . _ @ + - only, starting "
            "with a letter or digit, at most 100 characters)")
    return sid


def _check_salt(salt: str, where: str) -> str:
    if not isinstance(salt, str) or not salt.strip():
        raise ExamSaltError(f"{where}: the salt is empty")
    if len(salt) < MIN_SALT_CHARS:
        raise ExamSaltError(f"{where}: the salt is too short ({len(salt)} characters; at least "
                            f"{MIN_SALT_CHARS}) - make one with: python -c \"import secrets; "
                            "print(secrets.token_hex(32))\"")
    return salt


def load_salt(exam_folder: str | os.PathLike | None, exam_name: str = "") -> str:
    """The exam's salt: ``$DLGRADE_EXAM_SALT``, else ``salt`` in ``EXAM_FOLDER/secret.toml``."""
    env = os.environ.get(SALT_ENV)
    if env:
        return _check_salt(env, f"${SALT_ENV}")
    label = exam_name or (Path(exam_folder).name if exam_folder is not None else "this exam")
    if exam_folder is None:
        raise ExamSaltError(f"no salt for exam {label!r}: set {SALT_ENV} (the exam's folder is unknown, "
                            f"so its {SECRET_FILE} cannot be read)")
    path = Path(exam_folder) / SECRET_FILE
    if not path.is_file():
        raise ExamSaltError(
            f"no salt for exam {label!r}: set {SALT_ENV}, or create {path} holding a line "
            "salt = \"...\" (e.g. the output of: python -c \"import secrets; print(secrets.token_hex(32))\"); "
            "keep that file with the instructor, never give it to students")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExamSaltError(f"{path}: not valid TOML: {exc}") from None
    salt = data.get("salt")
    if not isinstance(salt, str):
        raise ExamSaltError(f"{path}: expected a line salt = \"...\" (a string), "
                            f"got {'nothing' if salt is None else type(salt).__name__}")
    return _check_salt(salt, str(path))


def variant_id(exam_name: str, student_id: str, salt: str) -> str:
    """The variant of ``student_id`` in ``exam_name``: 16 hex digits of HMAC-SHA256 under ``salt``."""
    sid = normalize_student_id(student_id)
    _check_salt(salt, "variant_id")
    message = _DOMAIN + b"\0" + json.dumps([str(exam_name), sid], ensure_ascii=True).encode()
    return hmac.new(salt.encode("utf-8"), message, hashlib.sha256).hexdigest()[:VARIANT_HEX_DIGITS]


def exam_salt(assignment: "Assignment") -> str:
    """The salt of an exam loaded with :func:`grader.engine.authoring.load_assignment`."""
    return load_salt(getattr(assignment, "folder", None), assignment.name)


def student_variant(assignment: "Assignment", student_id: str, *, salt: str | None = None) -> str:
    """The variant id of ``student_id`` in ``assignment`` (salt: given, else :func:`exam_salt`)."""
    return variant_id(assignment.name, student_id, salt if salt is not None else exam_salt(assignment))


def compile_for_student(assignment: "Assignment", student_id: str, *,
                        salt: str | None = None) -> "CompiledAssignment":
    """``assignment`` compiled for one student: every question's numbers are that student's."""
    return assignment.compile(variant=student_variant(assignment, student_id, salt=salt))


def compiler_for(assignment):
    """student id -> CompiledAssignment: one compilation, or each student's own variant of an exam."""
    from grader.course.exam import is_exam

    if is_exam(assignment):
        salt = exam_salt(assignment)
        return lambda student: compile_for_student(assignment, student, salt=salt)
    compiled = assignment.compile()
    return lambda student: compiled


__all__ = ["SALT_ENV", "SECRET_FILE", "ExamSaltError", "normalize_student_id", "load_salt", "variant_id",
           "exam_salt", "student_variant", "compile_for_student", "compiler_for"]
