"""``dlgrade similarity ASSIGNMENT [SUBMISSION...]``: evidence of similarity, ranked for a person to review.

Code: each submission as grading reads it, the student template removed, the
pairs ranked by the rare code they share (side-by-side pages in ``--out``).
Wrong answers: the same rare wrong reply to the same hidden case, read from
the grade output folder (``--graded``) or the gradebook (``--db``).
Exams: answers that fit a classmate's paper and not the student's own.
``--across`` adds other assignments of the same gradebook and lists the
pairs that come back, with submission times.

It never changes a grade and decides nothing: it says where to look.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.course.similarity import report
from grader.course.similarity.exam_variants import compare_papers, describe, papers_from_sheets
from grader.course.similarity.index import CodeEvidence, compare_class, make_document, template_kgrams
from grader.course.similarity.normalise import submission_code
from grader.course.similarity.recurring import recurring_pairs
from grader.course.similarity.wrong_answers import read_graded_folder, replies_of, shared_wrong_answers
from grader.engine.authoring import load_assignment


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("similarity", help="rank similarity evidence for review (never changes a grade)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment", help="assignment name (e.g. 01_backprop) or folder")
    p.add_argument("submissions", nargs="*", type=Path,
                   help="submissions or class folders (default: the files the gradebook recorded)")
    p.add_argument("--db", help="gradebook (SQLite file or postgresql:// URL): results, files and times")
    p.add_argument("--graded", type=Path, help="a `dlgrade grade --out` folder: per-case replies of each student")
    p.add_argument("--template", type=Path, action="append",
                   help="the students' template (default: student_template/ASSIGNMENT/MODULE.py beside "
                        "the assignments folder); repeatable")
    p.add_argument("--across", nargs="+", default=[], metavar="ASSIGNMENT",
                   help="other assignments in the same gradebook: list the pairs that come back")
    p.add_argument("--top", type=int, default=20, help="pairs shown per kind of evidence (default 20)")
    p.add_argument("--out", type=Path, help="folder for the HTML pages (default: similarity/ASSIGNMENT)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    assignment = load_assignment(args.assignment)
    gradebook = _open_gradebook(args.db)
    try:
        handed = _handed(gradebook, assignment.name)
        sources = _sources(assignment, args.submissions, handed)
        code = _code_evidence(assignment, sources, args.template)
        wrong = shared_wrong_answers(_replies(args.graded, handed))
        variants = _variant_evidence(assignment, sources)
        rankings = {(assignment.name, "code"): [(p.a, p.b) for p in code.pairs],
                    (assignment.name, "wrong answers"): [(p.a, p.b) for p in wrong]}
        times = {assignment.name: {s: h.submitted_at for s, h in handed.items()}}
        for other in args.across:
            other_assignment = load_assignment(other)
            other_handed = _handed(gradebook, other_assignment.name)
            if not other_handed:
                raise ValueError(f"--across {other}: the gradebook has no graded submission of it")
            other_code = _code_evidence(other_assignment, _sources(other_assignment, [], other_handed), None)
            rankings[(other_assignment.name, "code")] = [(p.a, p.b) for p in other_code.pairs]
            rankings[(other_assignment.name, "wrong answers")] = [
                (p.a, p.b) for p in shared_wrong_answers(_replies(None, other_handed))]
            times[other_assignment.name] = {s: h.submitted_at for s, h in other_handed.items()}
        recurring = recurring_pairs(rankings, top=args.top, times=times) if args.across else []
    finally:
        if gradebook is not None:
            gradebook.close()

    print(report.DISCLAIMER)
    print(f"\n{assignment.name}: code of {len(code.documents)} submissions, pairs by the rare code they share")
    print(report.text_table(["rank", "student", "student", "score", "passages", "share of each"],
                            [[p.rank, p.a, p.b, f"{p.score:.1f}", p.shared, f"{p.share_a:.0%} / {p.share_b:.0%}"]
                             for p in code.pairs[:args.top]]) if code.pairs else "  no pair shares rare code")
    wrong_rows = [[p.rank, p.a, p.b, f"{p.score:.1f}", ", ".join(p.cases[:4]) + (" ..." if len(p.cases) > 4 else "")]
                  for p in wrong[:args.top]]
    print("\nthe same rare wrong replies to the same cases")
    print(report.text_table(["rank", "student", "student", "score", "cases"], wrong_rows) if wrong_rows
          else "  none (or no per-case replies recorded: give --graded or --db)")
    sections = [report.table_section("The same rare wrong replies",
                                     "Pairs that gave the same wrong reply to the same hidden case, when few of "
                                     "the class gave it.", ["rank", "student", "student", "score", "cases"],
                                     wrong_rows)]
    if variants is not None:
        listed = variants.listed
        print("\nexam answers that fit a classmate's paper and not the student's own")
        print("\n".join(describe(m) for m in listed) if listed else "  none beyond what chance explains")
        sections.append(report.table_section(
            "Exam answers that fit a classmate's paper",
            "Each line: a student's answers that are wrong for their own paper but right for a classmate's, "
            "and how many pairs of this class would fit as well by chance alone.",
            ["student", "classmate's paper", "answers", "pairs expected by chance"],
            [[m.student, m.classmate, ", ".join(m.keys), f"{m.expected_by_chance:.2g}"] for m in listed]))
    if args.across:
        rows = [[p.a, p.b, "; ".join(f"{x.assignment} {x.kind} #{x.rank}" +
                                     (f" ({x.minutes_apart:.0f} min apart)" if x.minutes_apart is not None else "")
                                     for x in p.appearances)] for p in recurring]
        print("\npairs that come back across assignments")
        print(report.text_table(["student", "student", "where (rank; submission times apart)"], rows) if rows
              else "  none")
        sections.append(report.table_section("Pairs that come back", "Pairs near the top in two assignments or "
                                             "more.", ["student", "student", "where"], rows))
    out = args.out or Path("similarity") / assignment.name
    index = report.write_code_pages(out, assignment.name, code, top=args.top, extra_sections=sections)
    print(f"\npages: {index}")
    return 0


def _open_gradebook(db: str | None):
    if db is None:
        return None
    from grader.course.gradebook.store import Gradebook

    if "://" not in db and not Path(db).is_file():
        raise FileNotFoundError(f"--db {db}: no such gradebook")
    return Gradebook.open(db, create=False)


def _handed(gradebook, assignment: str) -> dict:
    if gradebook is None:
        return {}
    from grader.course.similarity.gradebook_view import counted_submissions

    return counted_submissions(gradebook, assignment)


def _sources(assignment, submissions: list[Path], handed: dict) -> dict[str, Path]:
    """Student → the file (or folder) handed in."""
    from grader.course.batch.parallel import find_submissions
    from grader.course.exam import is_exam
    from grader.engine.grading import submission_id_for

    if submissions:
        found = find_submissions(submissions, assignment.module, sheets=is_exam(assignment))
        return {submission_id_for(p): p for p in found}
    sources = {s: Path(h.source_path) for s, h in handed.items() if h.source_path}
    missing = sorted(s for s, p in sources.items() if not p.exists())
    if missing:
        print(f"note: {len(missing)} recorded submission file(s) no longer exist and are left out "
              f"(e.g. {missing[0]})", file=sys.stderr)
    if not sources and not handed:
        raise ValueError("no submissions: name them, or give --db with a gradebook that recorded them")
    return {s: p for s, p in sources.items() if p.exists()}


def _template_codes(assignment, templates: list[Path] | None) -> list[str]:
    if templates:
        return [submission_code(t, assignment.module) for t in templates]
    folder = Path(assignment.folder).resolve().parent.parent / "student_template" / assignment.name
    found = [folder / f"{assignment.module}{suffix}" for suffix in (".py", ".ipynb")]
    found = [p for p in found if p.is_file()]
    if not found:
        print(f"note: no template found in {folder} (give --template): nothing is subtracted", file=sys.stderr)
    return [submission_code(p) for p in found]


def _code_evidence(assignment, sources: dict[str, Path], templates: list[Path] | None) -> CodeEvidence:
    template = template_kgrams(*_template_codes(assignment, templates))
    documents = []
    for student, path in sorted(sources.items()):
        if path.suffix in (".toml", ".yaml", ".yml"):
            continue   # an answer sheet: compared below, as answers
        try:
            documents.append(make_document(student, submission_code(path, assignment.module), template))
        except (OSError, ValueError) as exc:
            print(f"note: {student}: left out of the code comparison ({exc})", file=sys.stderr)
    return compare_class(documents)


def _replies(graded: Path | None, handed: dict) -> dict:
    if graded is not None:
        if not graded.is_dir():
            raise FileNotFoundError(f"--graded {graded}: no such folder")
        return read_graded_folder(graded)
    return {s: replies_of(h.results) for s, h in handed.items()}


def _variant_evidence(assignment, sources: dict[str, Path]):
    from grader.course.exam import is_exam

    if not is_exam(assignment):
        return None
    papers, matchers, skipped = papers_from_sheets(assignment, sources)
    for line in skipped:
        print(f"note: {line}", file=sys.stderr)
    return compare_papers(papers, matchers)
