"""Speed of `dlgrade similarity`: a code class of 1,000 (and, on paper, 10,000), and exam classes.

Code: a class of N submissions of assignment 01 made from its examples, each
with a style of its own (functions reordered, statements of its own, new
layout and comments; the test suite's disguises) plus one disguised copy per
50 students. Timed: reading and fingerprinting every submission (linear in
N), then the class index and ranking. The script measures N = 250, 500 and
1,000 and extrapolates to 10,000: fingerprinting linearly, the index from
the growth it measured (it sorts the class's fingerprints, and the pairs it
scores are bounded by the holder cap, not by N squared).

Exam: simulated answer-level classes (the tests' simulation) of 1,000 and
10,000, timed for real.

Usage: python benchmarks/similarity_speed.py [--students 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from similarity import exam_simulation  # noqa: E402
from similarity.classes import honest_class, template_code  # noqa: E402
from similarity.disguise import disguise  # noqa: E402

from grader.course.similarity.exam_variants import compare_papers  # noqa: E402
from grader.course.similarity.index import compare_class, make_document, template_kgrams  # noqa: E402


def make_class(n: int) -> dict[str, str]:
    examples = honest_class("01_backprop")
    names = sorted(examples)
    codes = {}
    for i in range(n):
        if i % 50 == 49:
            codes[f"s{i:05d}"] = disguise(codes[f"s{i - 1:05d}"], 10_000_000 + i)
        else:
            codes[f"s{i:05d}"] = disguise(examples[names[i % len(names)]], i, rename=False)
    return codes


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    sizes = sorted({max(50, args.students // 4), max(50, args.students // 2), args.students})
    print(f"making a class of {args.students} (not timed) ...", flush=True)
    codes = make_class(args.students)
    template = template_kgrams(template_code("01_backprop"))
    students = sorted(codes)
    (documents, wall, cpu) = timed(lambda: [make_document(s, codes[s], template) for s in students])
    per_doc = cpu / len(students)
    print(f"fingerprinting {len(students)} submissions: {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"({1000 * per_doc:.1f} ms CPU each)")
    index_cpu = {}
    for n in sizes:
        evidence, wall, cpu = timed(compare_class, documents[:n])
        index_cpu[n] = cpu
        print(f"index and ranking, class of {n}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
              f"{len(evidence.pairs)} pairs scored (of {n * (n - 1) // 2} possible)")
    small, large = sizes[0], sizes[-1]
    growth = math.log(max(index_cpu[large], 1e-3) / max(index_cpu[small], 1e-3)) / math.log(large / small)
    index_10k = index_cpu[large] * (10_000 / large) ** max(growth, 1.0)
    print(f"on paper, a class of 10,000: fingerprinting {10_000 * per_doc:.0f} s CPU; index and ranking "
          f"{index_10k:.1f} s CPU (measured growth N^{growth:.2f}, taken as at least linear)")
    for n in (1000, 10_000):
        papers = exam_simulation.honest_class(n, seed=1)
        evidence, wall, cpu = timed(compare_papers, papers, exam_simulation.matchers())
        print(f"exam variants, simulated class of {n}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
              f"{len(evidence.matches)} pairs fitting on two answers or more, {len(evidence.listed)} listed")


if __name__ == "__main__":
    main()
