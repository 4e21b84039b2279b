"""The demo: a class of twelve students hands in every assignment, end to end, offline (``dlgrade demo``).

Each student's submission is one of the assignment's example submissions
(the reference, or a mistake students really make), so the gradebook at the
end shows what the grader does with each. Everything runs on embedded data:
no network.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from pathlib import Path

from grader.course.batch.classes import grade_class
from grader.course.generate.build import all_assignment_dirs, generate_assignment, load_examples
from grader.engine.authoring import load_assignment
from grader.engine.text_report import table

STUDENTS = ["ada", "ben", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jun", "kofi", "lena"]


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
    from grader.engine.sheets import expected_answers

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

    from grader.course.exam.paper import write_paper
    from grader.course.exam.variants import compile_for_student
    from grader.course.policy import load_policy
    from grader.engine.sheets import render_sheet

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
    from grader.course.batch.classes import read_manifest

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


def run_demo(out: Path, *, jobs: int, assignments: list[str] | None = None, progress: bool = True) -> int:
    """Generate the templates into ``out`` and grade a demo class of every assignment (or of
    ``assignments``) into one gradebook, printing each class's table; 0 when done."""
    dirs = all_assignment_dirs()
    if assignments:
        dirs = [d for d in dirs if d.name in assignments]
    if out.exists():
        shutil.rmtree(out)
    templates = out / "student_template"
    db = out / "gradebook.db"
    print(f"dlgrade demo: {len(dirs)} assignments, a class of {len(STUDENTS)}, results in {out}/\n")
    for folder in dirs:
        generate_assignment(folder, templates, examples=False)  # the committed examples are up to date
        assignment = load_assignment(folder)
        examples = load_examples(folder)
        if not examples:  # a new assignment: nothing to hand in for the demo class yet
            print(f"== {folder.name}: no examples/examples.toml yet, so no demo class (dlgrade validate notes it)\n")
            continue
        submissions = class_submissions(folder, examples, out / "submissions" / folder.name)
        print(f"== {folder.name}: {assignment.title}")
        outcome = grade_class(assignment, submissions, out / "graded" / folder.name, db=str(db),
                              jobs=jobs, progress=progress)
        rows = []
        for row in outcome.rows:
            student = row[0]
            example = examples[STUDENTS.index(student) % len(examples)]
            score = "-" if row[1] == "" else round(row[1], 2)
            rows.append([student, score, row[2], example.about])
        print(table(["student", "score", "max", "submitted"], rows, align="lrrl", max_width=120))
        print()
    names = [d.name for d in dirs]
    if not assignments or "midterm" in assignments:
        if run_exam(out, db, jobs, progress):
            names.append("midterm")
    from grader.course.gradebook import Gradebook
    from grader.course.gradebook.export import export_csv

    print("== The class gradebook (final scores, policy and overrides applied)")
    with Gradebook.open(db) as gradebook:
        print(gradebook_table(gradebook, names))
        export_csv(gradebook, out / "grades.csv", per_question_path=out / "grades_per_question.csv")
    print(f"\nTemplates:        {templates}/\n"
          f"Student files:    {out}/graded/<assignment>/students/<student>/ (report.html, feedback.txt, "
          f"results.json: the only files to hand out)\n"
          f"Instructor files: {out}/graded/<assignment>/instructor/<student>/ (expected values: never hand "
          f"out)\n"
          f"Class reports:    {out}/graded/<assignment>/class-report.html and summary.csv\n"
          f"Gradebook:        {db}\n"
          f"LMS export:       {out / 'grades.csv'} and {out / 'grades_per_question.csv'}")
    return 0
