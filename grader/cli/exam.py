"""``dlgrade exam ...``: per-student papers, keys and answer sheets.

    dlgrade exam paper  EXAM --student ID [--out DIR]       the student's paper (markdown + HTML)
    dlgrade exam key    EXAM --student ID [--out DIR]       the instructor's key for that paper
    dlgrade exam sheet  EXAM --student ID [--format F]      a blank answer sheet (toml, yaml or py)
    dlgrade exam papers EXAM --students FILE --out DIR      papers and sheets for a whole class
    dlgrade exam variant EXAM --student ID...               print variant ids

An exam is graded like any assignment, into the gradebook with its policy:
``dlgrade grade EXAM SHEETS... --out DIR --manifest times.csv``.

EXAM is an exam's name (``midterm``) or folder. Variants need the exam's
salt: ``DLGRADE_EXAM_SALT`` or the exam folder's ``secret.toml``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from grader.course.exam import is_exam
from grader.course.exam.paper import write_paper
from grader.course.exam.variants import compile_for_student, exam_salt, normalize_student_id, variant_id
from grader.course.policy import load_policy
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet
from grader.engine.textsafe import spreadsheet_row

SHEET_EXTENSIONS = {"toml": ".toml", "yaml": ".yaml", "py": ".py"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("exam", help="per-student exam papers, keys and answer sheets",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="exam_command", required=True, metavar="ACTION")

    def common(name: str, help_: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_, description=help_)
        q.add_argument("exam", help="exam name (e.g. midterm) or folder")
        return q

    q = common("paper", "write a student's paper as paper.md and paper.html")
    q.add_argument("--student", required=True, help="the student's id")
    q.add_argument("--out", type=Path, default=Path("papers"), help="folder (default ./papers); "
                   "the paper goes to OUT/ID/")
    q.set_defaults(run=run_paper)

    q = common("key", "write the instructor's key of a student's paper (key.md, key.html, ID.key.toml)")
    q.add_argument("--student", required=True, help="the student's id")
    q.add_argument("--out", type=Path, default=Path("keys"), help="folder (default ./keys); OUT/ID/")
    q.set_defaults(run=run_key)

    q = common("sheet", "write a student's blank answer sheet")
    q.add_argument("--student", required=True, help="the student's id")
    q.add_argument("--format", choices=sorted(SHEET_EXTENSIONS), default="toml", help="default toml")
    q.add_argument("--out", default="-", help="a file (NAME.toml ...) or a folder (OUT/ID.toml); "
                   "default - : the terminal, so nothing is written unless asked")
    q.set_defaults(run=run_sheet)

    q = common("papers", "papers and blank answer sheets for a whole class")
    q.add_argument("--students", type=Path, required=True,
                   help="class list: one id per line, or a CSV with a student_id (or id, email ...) column")
    q.add_argument("--out", type=Path, required=True, help="folder for the students' files (OUT/ID/)")
    q.add_argument("--keys", type=Path, default=None,
                   help="also write every key, into this separate folder (never inside --out)")
    q.add_argument("--format", choices=sorted(SHEET_EXTENSIONS), default="toml",
                   help="answer sheet format (default toml)")
    q.set_defaults(run=run_papers)

    q = sub.add_parser("grade", help=argparse.SUPPRESS, add_help=False)
    q.add_argument("rest", nargs=argparse.REMAINDER)
    q.set_defaults(run=run_grade)

    q = common("variant", "print the variant id of students")
    q.add_argument("--student", required=True, action="append", help="a student's id (repeatable)")
    q.set_defaults(run=run_variant)


def _load_exam(name: str):
    assignment = load_assignment(name)
    if not is_exam(assignment):
        raise ValueError(f"{assignment.name} is not an exam: an exam's questions.py declares "
                         "Assignment(..., kind=\"exam\")")
    return assignment


def _policy(assignment):
    return load_policy(assignment.folder)


def run_paper(args: argparse.Namespace) -> int:
    assignment = _load_exam(args.exam)
    sid = normalize_student_id(args.student)
    compiled = compile_for_student(assignment, sid)
    written = write_paper(compiled, args.out / sid, student_id=sid, policy=_policy(assignment))
    print(f"{sid} (variant {compiled.variant}): wrote {', '.join(map(str, written))}")
    return 0


def run_key(args: argparse.Namespace) -> int:
    assignment = _load_exam(args.exam)
    sid = normalize_student_id(args.student)
    compiled = compile_for_student(assignment, sid)
    written = write_key(compiled, args.out / sid, sid, _policy(assignment))
    print(f"{sid} (variant {compiled.variant}): wrote {', '.join(map(str, written))} - instructor only")
    return 0


def write_key(compiled, folder: Path, sid: str, policy) -> list[Path]:
    written = write_paper(compiled, folder, student_id=sid, policy=policy, key=True)
    filled = folder / f"{sid}.key.toml"
    filled.write_text(render_sheet(compiled, answers=expected_answers(compiled), student_id=sid), encoding="utf-8")
    return written + [filled]


def run_sheet(args: argparse.Namespace) -> int:
    assignment = _load_exam(args.exam)
    sid = normalize_student_id(args.student)
    compiled = compile_for_student(assignment, sid)
    text = render_sheet(compiled, fmt=args.format, student_id=sid)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    name = f"{sid}{SHEET_EXTENSIONS[args.format]}"
    out = Path(args.out)
    if out.is_dir() or not out.suffix:  # a folder (made if needed)
        out = out / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{sid} (variant {compiled.variant}): wrote {out}")
    return 0


def _inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


def run_papers(args: argparse.Namespace) -> int:
    from grader.course.exam.roster import read_roster

    assignment = _load_exam(args.exam)
    if args.keys is not None and (_inside(args.keys, args.out) or _inside(args.out, args.keys)):
        raise ValueError(f"--keys ({args.keys}) must be a folder apart from --out ({args.out}): "
                         "the keys must never be handed out with the papers")
    ids, warnings = read_roster(args.students)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    policy = _policy(assignment)
    salt = exam_salt(assignment)
    ext = SHEET_EXTENSIONS[args.format]
    args.out.mkdir(parents=True, exist_ok=True)
    index_rows = []
    for sid in ids:
        compiled = compile_for_student(assignment, sid, salt=salt)
        folder = args.out / sid
        write_paper(compiled, folder, student_id=sid, policy=policy, sheet_name=f"{sid}{ext}")
        (folder / f"{sid}{ext}").write_text(render_sheet(compiled, fmt=args.format, student_id=sid),
                                            encoding="utf-8")
        if args.keys is not None:
            write_key(compiled, args.keys / sid, sid, policy)
        index_rows.append((sid, compiled.variant))
    for folder in [args.out] + ([args.keys] if args.keys is not None else []):
        with (folder / "index.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "variant"])
            writer.writerows(spreadsheet_row(row) for row in index_rows)
    print(f"{len(ids)} papers written under {args.out}/<id>/ (paper.md, paper.html, <id>{ext})"
          + (f"; keys under {args.keys}/<id>/" if args.keys is not None else ""))
    return 0


GRADE_MOVED = ("dlgrade exam grade is gone: an exam is graded like any assignment, with its policy "
               "(deadline, attempts) and into the gradebook:\n"
               "    dlgrade grade EXAM SHEETS... --out DIR --manifest times.csv\n"
               "(each sheet against its student's own paper; see dlgrade grade --help). "
               "dlgrade exam keeps papers, keys and sheets.")


def run_grade(args: argparse.Namespace) -> int:
    print(GRADE_MOVED, file=sys.stderr)
    return 2


def run_variant(args: argparse.Namespace) -> int:
    assignment = _load_exam(args.exam)
    salt = exam_salt(assignment)
    for student in args.student:
        sid = normalize_student_id(student)
        print(f"{sid}\t{variant_id(assignment.name, sid, salt)}")
    return 0


def run(args: argparse.Namespace) -> int:
    return args.run(args)
