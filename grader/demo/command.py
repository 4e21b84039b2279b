"""``dlgrade demo``: generate the student templates and grade a class, end to end, offline.

A class of twelve students hands in every assignment; each student's
submission is one of the assignment's example submissions (the reference,
or a mistake students really make), so the gradebook at the end shows what
the grader does with each. Everything runs on embedded data: no network.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from grader.authoring import load_assignment
from grader.generate.build import generate_assignment, load_examples
from grader.generate.command import all_assignment_dirs
from grader.grade.command import grade_class
from grader.report import table

STUDENTS = ["ada", "ben", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jun", "kofi", "lena"]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate the templates and grade a demo class of every assignment",
                              description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default: ./demo)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded in parallel")
    p.add_argument("--assignments", nargs="*", help="only these assignments (default: all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def class_submissions(assignment_dir: Path, module: str, folder: Path) -> list[Path]:
    """Copy one example per student into ``folder``; student i gets example i (cycling)."""
    examples = load_examples(assignment_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, student in enumerate(STUDENTS):
        example = examples[i % len(examples)]
        source = assignment_dir / "examples" / example.file
        target = folder / f"{student}{source.suffix}"
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


def run(args: argparse.Namespace) -> int:
    dirs = all_assignment_dirs()
    if args.assignments:
        dirs = [d for d in dirs if d.name in args.assignments]
    if args.out.exists():
        shutil.rmtree(args.out)
    templates = args.out / "student_template"
    db = args.out / "gradebook.db"
    print(f"dlgrade demo: {len(dirs)} assignments, a class of {len(STUDENTS)}, results in {args.out}/\n")
    finals: dict[str, dict[str, str]] = {}
    for folder in dirs:
        generate_assignment(folder, templates)
        assignment = load_assignment(folder)
        submissions = class_submissions(folder, assignment.module, args.out / "submissions" / folder.name)
        print(f"== {folder.name}: {assignment.title}")
        outcome = grade_class(assignment, submissions, args.out / "graded" / folder.name, db=str(db),
                              jobs=args.jobs, progress=not args.no_progress)
        examples = load_examples(folder)
        rows = []
        for row in outcome.rows:
            student = row[0]
            example = examples[STUDENTS.index(student) % len(examples)]
            score = "-" if row[1] == "" else round(row[1], 2)
            rows.append([student, score, row[2], example.about])
            finals.setdefault(student, {})[folder.name] = f"{score:g}/{row[2]:g}" if score != "-" else "-"
        print(table(["student", "score", "max", "submitted"], rows, align="lrrl", max_width=120))
        print()
    print("== The class gradebook (final scores)")
    names = [d.name for d in dirs]
    print(table(["student", *names], [[s, *[finals.get(s, {}).get(n, "-") for n in names]] for s in STUDENTS],
                align="l" + "r" * len(names)))
    from grader.gradebook import Gradebook

    with Gradebook.open(db) as gradebook:
        gradebook.export_csv(args.out / "grades.csv", per_question_path=args.out / "grades_per_question.csv")
    print(f"\nTemplates:        {templates}/\n"
          f"Student reports:  {args.out}/graded/<assignment>/<student>/report.html (and report.txt)\n"
          f"Class reports:    {args.out}/graded/<assignment>/report.html\n"
          f"Gradebook:        {db}\n"
          f"LMS export:       {args.out / 'grades.csv'} and {args.out / 'grades_per_question.csv'}")
    return 0
