"""Code similarity: planted, disguised copies rank above every honest pair; the template alone scores nothing."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from grader.course.similarity.index import compare_class, holder_cap, make_document, template_kgrams
from grader.course.similarity.normalise import normalised_tokens, submission_code
from grader.course.similarity.report import pair_page, pair_page_name, write_code_pages

from .classes import ASSIGNMENTS, ROOT, TEMPLATE_ONLY, distinctive_sources, documents, honest_class, with_copy
from .disguise import as_notebook, disguise

DISGUISES = {
    "renamed": dict(rename=True, dead_code=False, reorder=False, relayout=False),
    "reordered": dict(rename=False, dead_code=False, reorder=True, relayout=False),
    "comments and whitespace": dict(rename=False, dead_code=False, reorder=False, relayout=True),
    "dead code": dict(rename=False, dead_code=True, reorder=False, relayout=False),
    "all at once": dict(),
}


def _pair(p) -> frozenset:
    return frozenset((p.a, p.b))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_untouched_template_alone_scores_nothing(assignment):
    """Handed in as the script or as the notebook, by one student or two."""
    notebook = ROOT / "student_template" / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"
    codes = {**honest_class(assignment), "notebook_template_only": submission_code(notebook)}
    evidence = compare_class(documents(assignment, codes))
    for student in (TEMPLATE_ONLY, "notebook_template_only"):
        assert len(evidence.documents[student].fingerprints.hashes) == 0
        assert evidence.best_score(student) == 0.0
        assert all(student not in (p.a, p.b) for p in evidence.pairs)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_planted_copy_ranks_above_every_honest_pair(assignment, tmp_path):
    """All distinctive examples copied at once, each with every disguise; one copy handed in as a notebook,
    and one copy of a copy."""
    honest = honest_class(assignment)
    sources = distinctive_sources(honest)
    assert len(sources) >= 4, "too few distinctive examples to build a test class"
    codes = dict(honest)
    planted = set()
    for seed, source in enumerate(sources):
        codes, copier = with_copy(codes, source, seed)
        planted.add(frozenset((source, copier)))
    # a copy handed in as a notebook, read the way grading reads it
    notebook = tmp_path / "notebook_copier.ipynb"
    notebook.write_text(as_notebook(disguise(honest[sources[0]], 77)))
    codes["notebook_copier"] = submission_code(notebook)
    planted |= {frozenset((sources[0], "notebook_copier")), frozenset((f"copy_of_{sources[0]}", "notebook_copier"))}
    # a copy of a copy
    codes["second_hand"] = disguise(codes[f"copy_of_{sources[1]}"], 78)
    planted |= {frozenset((f"copy_of_{sources[1]}", "second_hand")), frozenset((sources[1], "second_hand"))}

    evidence = compare_class(documents(assignment, codes))
    scores = {_pair(p): p.score for p in evidence.pairs}
    planted_scores = [scores.get(pair, 0.0) for pair in planted]
    honest_scores = [scores.get(frozenset(pair), 0.0) for pair in itertools.combinations(honest, 2)]
    assert min(planted_scores) > max(honest_scores), (min(planted_scores), max(honest_scores))
    for pair in planted:  # and each copier's strongest honest match is its source
        copier = max(pair, key=lambda s: s not in honest)
        honest_matches = {s: scores.get(frozenset((copier, s)), 0.0) for s in honest}
        if pair & set(honest):
            assert max(honest_matches, key=honest_matches.get) in pair


@pytest.mark.parametrize("disguise_name", DISGUISES)
@pytest.mark.parametrize("assignment", ["01_backprop", "03_cnn"])
def test_each_disguise_alone_leaves_the_copy_on_top(assignment, disguise_name):
    honest = honest_class(assignment, seed=3)
    for seed, source in enumerate(distinctive_sources(honest)[:3]):
        codes, copier = with_copy(honest, source, seed, **DISGUISES[disguise_name])
        evidence = compare_class(documents(assignment, codes))
        assert _pair(evidence.pairs[0]) == {source, copier}, (source, evidence.pairs[:2])


def test_names_literals_comments_and_spacing_do_not_change_the_tokens():
    code = "def f(x, n=3):\n    # square it\n    y = x * x + 1.5  # why not\n    return y, 'done'\n"
    disguised = "def g( a,k = 7 ):\n\n    b=a*a+2   # ...\n    return b , \"over\"\n"
    assert [t.text for t in normalised_tokens(code)] == [t.text for t in normalised_tokens(disguised)]
    # the API a student calls is kept: np.exp and np.log are different code
    assert [t.text for t in normalised_tokens("np.exp(x)")] != [t.text for t in normalised_tokens("np.log(x)")]


def test_code_that_does_not_tokenise_is_still_read():
    broken = "def f(x:\n    return x +* 'unterminated\n%timeit f(1)\n!pip install x\n"
    tokens = normalised_tokens(broken)
    assert tokens and {"def", "return"} <= {t.text for t in tokens}
    assert all(0 <= t.start <= t.end <= len(broken) for t in tokens)


def test_a_passage_shared_by_much_of_the_class_counts_for_nothing_and_costs_no_pairs():
    """120 students who all wrote the same helper (not in the template) and nothing else in common."""
    rng = np.random.default_rng(5)
    common = ("def helper(values):\n    total = 0\n    for v in values:\n        total = total + v * v\n"
              "    return total\n")
    codes = {}
    for i in range(120):
        own = "\n".join(f"x{j} = np.{rng.choice(['exp', 'log', 'sin', 'cos', 'tanh'])}(x{j - 1}) + {j}"
                        for j in range(1, 8))
        codes[f"s{i}"] = common + own + "\n"
    evidence = compare_class([make_document(s, c) for s, c in codes.items()])
    assert holder_cap(120) < 120
    # pairs may share short random runs of their own, never the helper everybody wrote
    helper_hashes = {h for h, n in evidence.holders.items() if n == 120}
    assert helper_hashes
    assert all(not (evidence.shared_hashes(p.a, p.b) & helper_hashes) for p in evidence.pairs)


def test_the_side_by_side_page_marks_the_shared_passage_and_escapes_everything(tmp_path):
    template = "def f(x):\n    raise NotImplementedError\n"
    hostile = ("def f(x):\n    '''</pre><script>alert(1)</script>'''\n    s = '<img src=x onerror=alert(2)>'\n"
               "    total = [v * 3 + 1 for v in x if v > 0]\n"
               "    return sum(total) / max(len(total), 1) - s.count('a')\n")
    honest = "def f(x):\n    return sorted(x)[len(x) // 2]\n"
    other = "def f(x):\n    out = 0.0\n    for v in x:\n        out += abs(v)\n    return out\n"
    evidence = compare_class([make_document(s, c, template_kgrams(template)) for s, c in
                              [("a", hostile), ("b", disguise(hostile, 1, reorder=False, dead_code=False)),
                               ("c", honest), ("d", other)]])
    top = evidence.pairs[0]
    assert {top.a, top.b} == {"a", "b"}
    page = pair_page(evidence, top, "hw<1>")
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "<mark>" in page and "hw&lt;1&gt;" in page
    index = write_code_pages(tmp_path / "sim", "hw<1>", evidence)
    assert "<script>" not in index.read_text() and any((tmp_path / "sim").glob("pair-*.html"))


def test_students_whose_ids_differ_only_in_odd_characters_get_pages_of_their_own(tmp_path):
    """Ids are made safe for file names; "x y" and "x_y" (or two long ids alike in their first 100
    characters) must still get a page each, or one pair's page would show another pair's code."""
    codes = honest_class("01_backprop")
    first, second = distinctive_sources(codes)[:2]
    long_id = "s" * 120
    codes = {**codes, "x y": codes[first], "x_y": codes[first], long_id + "1": codes[second],
             long_id + "2": codes[second]}
    evidence = compare_class(documents("01_backprop", codes))
    top = len(evidence.pairs)
    index = write_code_pages(tmp_path / "sim", "hw", evidence, top=top)
    assert len(list((tmp_path / "sim").glob("pair-*.html"))) == top
    index_text = index.read_text()
    for pair in evidence.pairs:
        page = (tmp_path / "sim" / pair_page_name(pair)).read_text()
        assert f"<h2>{pair.a}</h2>" in page and f"<h2>{pair.b}</h2>" in page
        assert f'href="{pair_page_name(pair)}"' in index_text


def test_submission_code_reads_no_link_and_no_pipe(tmp_path):
    """A folder submission (an assignment that takes folders) whose main file is a link, a folder that is
    a link, a file that is a link, a pipe: each is refused by name, nothing read through it."""
    secret = tmp_path / "outside" / "backprop.py"
    secret.parent.mkdir()
    secret.write_text("x = 'token_77aa'\n")
    linked_main = tmp_path / "mallory"
    linked_main.mkdir()
    (linked_main / "backprop.py").symlink_to(secret)
    linked_folder = tmp_path / "trudy"
    linked_folder.symlink_to(secret.parent)
    linked_file = tmp_path / "eve.py"
    linked_file.symlink_to(secret)
    pipe = tmp_path / "pipe.py"
    os.mkfifo(pipe)
    for path, words in ((linked_main, "is a link"), (linked_folder, "is a link"), (linked_file, "is a link"),
                        (pipe, "not a regular file")):
        with pytest.raises(ValueError, match=words):
            submission_code(path, "backprop")
    assert "token_77aa" in submission_code(secret.parent, "backprop")  # the real folder itself is read
