"""``dlgrade demo``: generate the student templates and grade a class, end to end, offline.

A class of twelve students hands in every assignment; each student's
submission is one of the assignment's example submissions (the reference,
or a mistake students really make), so the gradebook at the end shows what
the grader does with each. Everything runs on embedded data: no network.
"""

from __future__ import annotations

import argparse
import datetime as _dt
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


def class_submissions(assignment_dir: Path, examples: list, folder: Path) -> list[Path]:
    """Copy one example per student into ``folder``; student i gets example i (cycling)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, student in enumerate(STUDENTS):
        example = examples[i % len(examples)]
        source = assignment_dir / "examples" / example.file
        target = folder / f"{student}{source.suffix}"
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


def exam_answers(compiled, i: int, others) -> dict:
    """Student i's answers: most write their own key; some make the mistakes an exam sees."""
    from grader.sheets import expected_answers

    answers = expected_answers(compiled)
    if i % 4 == 1:   # rounds too coarsely: one decimal on the network's values
        answers = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in answers.items()}
    elif i % 4 == 2:  # copies a classmate's sheet: a different paper
        answers = expected_answers(others)
    elif i % 4 == 3:  # leaves the derivative blank and writes one matrix transposed
        answers.pop("DERIVATIVE", None)
        if isinstance(answers.get("CORRELATION"), list):
            answers["CORRELATION"] = [list(row) for row in zip(*answers["CORRELATION"])]
    return answers


def run_exam(out: Path, db: Path, jobs: int, progress: bool) -> dict[str, str]:
    """The midterm: a paper per student, answer sheets, graded against each student's own paper."""
    import csv

    from grader.exam.paper import write_paper
    from grader.exam.variants import compile_for_student
    from grader.policy import load_policy
    from grader.sheets import render_sheet

    try:
        exam = load_assignment("midterm")
    except FileNotFoundError:
        return {}
    policy = load_policy(exam.folder)
    sheets = out / "submissions" / "midterm"
    sheets.mkdir(parents=True, exist_ok=True)
    papers = {student: compile_for_student(exam, student) for student in STUDENTS}
    for i, student in enumerate(STUDENTS):
        write_paper(papers[student], out / "papers" / student, student_id=student, policy=policy)
        classmate = papers[STUDENTS[(i + 1) % len(STUDENTS)]]
        (sheets / f"{student}.toml").write_text(
            render_sheet(papers[student], fmt="toml", answers=exam_answers(papers[student], i, classmate)))
    # Everyone starts when the exam opens and hands in an hour later.
    start = policy.opens_at
    manifest = out / "submissions" / "midterm-times.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "started_at", "submitted_at"])
        for student in STUDENTS:
            writer.writerow([student, start.isoformat(), (start + _dt.timedelta(hours=1)).isoformat()])
    from grader.grade.command import read_manifest

    print(f"== midterm: {exam.title} (a paper per student in {out / 'papers'}/)")
    outcome = grade_class(exam, sorted(sheets.glob("*.toml")), out / "graded" / "midterm", db=str(db), jobs=jobs,
                          progress=progress, times=read_manifest(manifest))
    notes = {1: "rounded to one decimal", 2: "copied a classmate's sheet", 3: "derivative blank, matrix transposed"}
    rows = [[row[0], row[1], row[2], notes.get(STUDENTS.index(row[0]) % 4, "own answers")] for row in outcome.rows]
    print(table(["student", "score", "max", "answer sheet"], rows, align="lrrl"))
    print()
    return {row[0]: f"{round(row[1], 2):g}/{row[2]:g}" for row in outcome.rows if row[1] != ""}


def gradebook_table(gradebook, names: list[str]) -> str:
    """Every student's final score on each of ``names``, read from the gradebook."""
    finals = {name: {s.student: s for s in gradebook.final_scores(name)} for name in names}

    def cell(student: str, name: str) -> str:
        s = finals[name].get(student)
        return "-" if s is None or s.score is None else f"{round(s.score, 2):g}/{s.max_score:g}"

    students = sorted({s for f in finals.values() for s in f}, key=lambda s: (s not in STUDENTS, s))
    return table(["student", *names], [[s, *[cell(s, n) for n in names]] for s in students],
                 align="l" + "r" * len(names))


def run(args: argparse.Namespace) -> int:
    dirs = all_assignment_dirs()
    if args.assignments:
        dirs = [d for d in dirs if d.name in args.assignments]
    if args.out.exists():
        shutil.rmtree(args.out)
    templates = args.out / "student_template"
    db = args.out / "gradebook.db"
    print(f"dlgrade demo: {len(dirs)} assignments, a class of {len(STUDENTS)}, results in {args.out}/\n")
    for folder in dirs:
        generate_assignment(folder, templates, examples=False)  # the committed examples are up to date
        assignment = load_assignment(folder)
        examples = load_examples(folder)
        if not examples:  # a new assignment: nothing to hand in for the demo class yet
            print(f"== {folder.name}: no examples/examples.toml yet, so no demo class (dlgrade validate notes it)\n")
            continue
        submissions = class_submissions(folder, examples, args.out / "submissions" / folder.name)
        print(f"== {folder.name}: {assignment.title}")
        outcome = grade_class(assignment, submissions, args.out / "graded" / folder.name, db=str(db),
                              jobs=args.jobs, progress=not args.no_progress)
        rows = []
        for row in outcome.rows:
            student = row[0]
            example = examples[STUDENTS.index(student) % len(examples)]
            score = "-" if row[1] == "" else round(row[1], 2)
            rows.append([student, score, row[2], example.about])
        print(table(["student", "score", "max", "submitted"], rows, align="lrrl", max_width=120))
        print()
    names = [d.name for d in dirs]
    if not args.assignments or "midterm" in args.assignments:
        if run_exam(args.out, db, args.jobs, not args.no_progress):
            names.append("midterm")
    from grader.gradebook import Gradebook

    print("== The class gradebook (final scores, policy and overrides applied)")
    with Gradebook.open(db) as gradebook:
        print(gradebook_table(gradebook, names))
        gradebook.export_csv(args.out / "grades.csv", per_question_path=args.out / "grades_per_question.csv")
    print(f"\nTemplates:        {templates}/\n"
          f"Student files:    {args.out}/graded/<assignment>/students/<student>/ (report.html, feedback.txt, "
          f"results.json: the only files to hand out)\n"
          f"Instructor files: {args.out}/graded/<assignment>/instructor/<student>/ (expected values: never hand "
          f"out)\n"
          f"Class reports:    {args.out}/graded/<assignment>/class-report.html and summary.csv\n"
          f"Gradebook:        {db}\n"
          f"LMS export:       {args.out / 'grades.csv'} and {args.out / 'grades_per_question.csv'}")
    return 0
