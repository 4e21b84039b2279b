"""Exam answers that fit a classmate's paper: copiers found with their source, honest classes list no one."""

from __future__ import annotations

import numpy as np
import pytest

from grader.course.exam.variants import compile_for_student
from grader.course.similarity.exam_variants import compare_papers, exact_matcher, papers_from_sheets, tolerance_matcher
from grader.engine.authoring import load_assignment
from grader.engine.sheets import expected_answers, render_sheet

from . import exam_simulation as sim
from .classes import ROOT

SALT = "similarity-tests-salt-0123456789"


@pytest.mark.parametrize("size", [100, 1000, 10_000])
def test_an_honest_class_with_common_mistakes_lists_no_one(size):
    papers = sim.honest_class(size, seed=size)
    evidence = compare_papers(papers, sim.matchers())
    assert evidence.listed == []
    # the class does contain the honest coincidences a naive rule would flag: wrong answers that fit
    # a classmate's paper (on a three-decimal key, in a big class, they are everywhere)
    if size >= 1000:
        assert max(evidence.chance_per_key.values()) > 5e-4


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("copied", [2, 3, 5])
def test_copying_answers_from_a_classmate_is_listed_with_the_right_source(copied, seed):
    papers = sim.honest_class(300, seed=1000 + seed)
    rng = np.random.default_rng(seed)
    copier, source = (int(i) for i in rng.choice(len(papers), 2, replace=False))
    # two answers: the paper's two most particular ones (a matrix and a gradient worked out by hand);
    # more: any keys at all, three-decimal numbers included
    keys = (["CORRELATION", "POOL_GRADIENT"] if copied == 2
            else [str(k) for k in rng.choice(sim.KEYS, copied, replace=False)])
    sim.plant_copier(papers, copier, source, keys)
    evidence = compare_papers(papers, sim.matchers())
    listed = evidence.listed
    assert listed, [m for m in evidence.matches if m.student == papers[copier].student][:1]
    assert {m.student for m in listed} == {papers[copier].student}
    assert listed[0].classmate == papers[source].student
    assert set(listed[0].keys) >= set(keys) - {k for k in keys if papers[copier].expected[k] ==
                                                 papers[source].expected[k]}


def test_two_three_decimal_answers_are_within_chance_in_a_large_class():
    """Why the weighting matters: two copied numbers to three decimals fit a classmate by chance often
    enough, in a class of 1,000, that listing them would list honest students too."""
    papers = sim.honest_class(1000, seed=7)
    sim.plant_copier(papers, 1, 2, ["HIDDEN_A", "LOSS"])
    evidence = compare_papers(papers, sim.matchers())
    match = [m for m in evidence.matches if m.student == papers[1].student and m.classmate == papers[2].student]
    assert match and not match[0].listed and match[0].expected_by_chance > 0.01


def test_matchers_find_every_paper_an_answer_fits():
    numbers = tolerance_matcher(0.001)

    def fits(matcher, answer, expected):
        a, e = matcher.prepare(answer), matcher.prepare(expected)
        found = bool(set(matcher.probes(a) if a else []) & set(matcher.buckets(e) if e else []))
        assert found or not matcher.accepts(a, e)      # the index never hides a paper the answer fits
        return matcher.accepts(a, e)

    for answer, expected in [(0.5004, 0.5), (0.4991, 0.5), (0.5019, 0.501), ([1.0, 2.0005], [1.0, 2.0])]:
        assert fits(numbers, answer, expected)
    assert not fits(numbers, 0.502, 0.5) and not fits(numbers, [1.0], [1.0, 2.0])
    assert not fits(numbers, "0.5", 0.5) and not fits(numbers, True, 1.0) and not fits(numbers, float("nan"), 0.5)
    exact = exact_matcher()
    assert fits(exact, [55, 27, 32], (55, 27, 32)) and not fits(exact, [55, 27, 31], [55, 27, 32])


def test_the_midterm_compiled_for_each_student_and_read_from_their_sheets(tmp_path):
    """Real papers: each student's variant compiled, each sheet read as grading reads it."""
    midterm = load_assignment(ROOT / "assignments" / "midterm")
    students = [f"st{i:02d}" for i in range(10)]
    compiled = {s: compile_for_student(midterm, s, salt=SALT) for s in students}
    mistakes = {   # honest mistakes, each on the student's own numbers
        "NET_LOSS": lambda v: round(2 * v, 4),
        "CONV_PARAMETERS": lambda v: v - 1,
        "CORRELATION": lambda v: [list(row) for row in zip(*v)] if len(v) > 1 and v != [list(r) for r in zip(*v)]
        else [[x + 1 for x in row] for row in v],
        "POOL_GRADIENT": lambda v: [[-x for x in row] for row in v],
        "NET_HIDDEN_A": lambda v: [round(1 - x, 4) for x in v],
    }
    source = expected_answers(compiled["st07"])
    copied = {key: source[key] for key in ("CORRELATION", "POOL_GRADIENT", "NET_HIDDEN_A")}
    sheets = {}
    for number, student in enumerate(students):
        answers = expected_answers(compiled[student])
        if student == "st04":
            answers.update(copied)
        else:
            for key in list(mistakes)[number % 5:number % 5 + 3]:
                answers[key] = mistakes[key](answers[key])
        sheets[student] = tmp_path / f"{student}.toml"
        sheets[student].write_text(render_sheet(compiled[student], answers=answers))
    papers, matchers, skipped = papers_from_sheets(midterm, sheets, salt=SALT)
    assert skipped == [] and len(papers) == len(students)
    assert matchers["DERIVATIVE"] is None          # expressions are not compared with classmates'
    evidence = compare_papers(papers, matchers)
    assert [(m.student, m.classmate) for m in evidence.listed] == [("st04", "st07")]
    assert set(evidence.listed[0].keys) == set(copied)
