"""Checks of a batch before anything is graded: the roster, the manifest, who an exam sheet belongs to.

Each raises :class:`Refused` with a message that names what is wrong and what
to do; :func:`grader.course.batch.classes.grade_class` runs them all before it records
anything.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path


class Refused(ValueError):
    """A batch that cannot be graded as given; nothing was recorded. The message says what to change."""


def admit_to_roster(gradebook, ids: list[str], *, new_students: bool) -> None:
    """Check the batch's ids against the roster; the first batch into an empty gradebook becomes it."""
    known = set(gradebook.students())
    unknown = [i for i in ids if i not in known]
    if known and unknown and not new_students:
        lines = []
        for student in unknown:
            close = difflib.get_close_matches(student, sorted(known), n=3)
            lines.append(f"  {student}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        raise Refused(f"{len(unknown)} submission id(s) the gradebook's roster does not know:\n"
                      + "\n".join(lines) + "\nRename the file to the student's id, or give --new-student "
                      "if they are new to the class.")
    for student in unknown:   # all at once, before any grading: a resumed batch finds them known
        gradebook.add_student(student)


def check_manifest(times: dict, ids: dict[str, Path]) -> None:
    """Every submission has a row and every row a submission; else one error naming them all."""
    rows_alone = sorted(set(times) - set(ids))
    subs_alone = sorted(set(ids) - set(times))
    if not rows_alone and not subs_alone:
        return
    lines = []
    for student in rows_alone:
        close = difflib.get_close_matches(student, subs_alone or sorted(ids), n=1)
        lines.append(f"  manifest row {student!r} matches no submission"
                     + (f" (the submission {close[0]!r} has no row: a typo?)" if close else ""))
    for student in subs_alone:
        close = difflib.get_close_matches(student, rows_alone, n=1)
        lines.append(f"  submission {student!r} ({ids[student]}) has no manifest row"
                     + (f" (the row {close[0]!r} matches no submission)" if close else ""))
    raise Refused("the manifest does not match the submissions:\n" + "\n".join(lines)
                  + "\nFix the manifest (or the file names) so that each submission has exactly one row.")


SHEET_OWNER = re.compile(r"^#.*\bstudent\s+([^\s,()]+)")


def check_sheet_owners(assignment, ids: dict[str, Path]) -> None:
    """An exam sheet whose header names another student than its file's name is refused."""
    from grader.course.batch.parallel import SHEET_SUFFIXES
    from grader.course.exam import is_exam

    if not is_exam(assignment):
        return
    wrong = []
    for student, path in ids.items():
        if not (path.is_file() and path.suffix in SHEET_SUFFIXES + (".py",)):
            continue
        owner = sheet_owner(path)
        if owner is not None and owner != student:
            wrong.append(f"  {path}: the file is {student}'s, but its header says it is the sheet of "
                         f"student {owner}")
    if wrong:
        raise Refused("answer sheet(s) handed in under another student's name:\n" + "\n".join(wrong)
                      + "\nEach sheet is graded against its student's own paper: check who handed it in, "
                        "and name the file by that student's id.")


def sheet_owner(path: Path, lines: int = 5) -> str | None:
    """The student a sheet's header names (``# student ID, variant V``), or None when it names none."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for _ in range(lines):
                match = SHEET_OWNER.match(handle.readline())
                if match:
                    return match.group(1)
    except OSError:
        return None
    return None
