"""Simulated exam classes, at the level of answers: no paper is compiled, no sheet is written.

The exam has the midterm's kinds of answers: five numbers to three or four
decimals, a shape, a parameter count, an integer matrix and two pooling
arrays. Every student has their own numbers (their variant). An honest
student answers each key right, or with one of the course's common
mistakes applied to their *own* numbers, or with a slip; a copier writes a
classmate's right answers for some keys.
"""

from __future__ import annotations

import numpy as np

from grader.course.similarity.exam_variants import Paper, exact_matcher, tolerance_matcher

NUMBER_KEYS = {"HIDDEN_A": (0.0, 1.0, 0.001), "OUTPUT_A": (0.0, 1.0, 0.001), "LOSS": (0.02, 1.5, 0.001),
               "GRADIENT": (-0.3, 0.3, 0.0005), "WEIGHT_AFTER_STEP": (-1.0, 1.0, 0.001)}
KEYS = list(NUMBER_KEYS) + ["OUTPUT_SHAPE", "PARAMETERS", "CORRELATION", "POOL_OUTPUT", "POOL_GRADIENT"]


def matchers() -> dict:
    out = {key: tolerance_matcher(atol) for key, (_, _, atol) in NUMBER_KEYS.items()}
    out.update(OUTPUT_SHAPE=exact_matcher(), PARAMETERS=exact_matcher(), CORRELATION=tolerance_matcher(1e-6),
               POOL_OUTPUT=tolerance_matcher(1e-6), POOL_GRADIENT=tolerance_matcher(1e-6))
    return out


def _expected(rng: np.random.Generator, n: int) -> list[dict]:
    numbers = {key: rng.uniform(lo, hi, n) for key, (lo, hi, _) in NUMBER_KEYS.items()}
    k = rng.choice([3, 5, 7], n)
    channels = rng.choice([1, 3, 8, 16], n)
    filters = rng.choice([8, 16, 32, 64], n)
    size = rng.integers(4, 61, (n, 2))
    correlation = rng.integers(-20, 21, (n, 2, 2))
    pool = rng.integers(0, 10, (n, 2, 2))
    gradient = np.zeros((n, 4, 4), dtype=int)   # one nonzero entry in each 2x2 window: where its max was
    rows, cols = rng.integers(0, 2, (n, 2, 2)), rng.integers(0, 2, (n, 2, 2))
    window_row, window_col = np.meshgrid(np.arange(2), np.arange(2), indexing="ij")
    gradient[np.arange(n)[:, None, None], 2 * window_row + rows, 2 * window_col + cols] = rng.choice(
        [-3, -2, -1, 1, 2, 3], (n, 2, 2))
    return [{**{key: float(numbers[key][i]) for key in NUMBER_KEYS},
             "OUTPUT_SHAPE": [int(size[i, 0]), int(size[i, 1]), int(filters[i])],
             "PARAMETERS": int((k[i] * k[i] * channels[i] + 1) * filters[i]),
             "CORRELATION": correlation[i].tolist(), "POOL_OUTPUT": pool[i].tolist(),
             "POOL_GRADIENT": gradient[i].tolist()} for i in range(n)]


def _mistake(key: str, value, rng: np.random.Generator):
    """A common mistake, applied to the student's own right answer."""
    if key in NUMBER_KEYS:
        return round(rng.choice([lambda v: 1 - v, lambda v: -v, lambda v: 2 * v, lambda v: v / 2])(value), 4)
    if key == "OUTPUT_SHAPE":
        return [value[0] + 1, value[1] + 1, value[2]]           # no floor, or no +1
    if key == "PARAMETERS":
        return int(value - value // rng.choice([3 * 3 * 8 + 1, 10, 28]))  # forgot the bias, roughly
    array = np.asarray(value)
    return (array.T if key == "CORRELATION" else np.where(array != 0, 1, 0) if key == "POOL_GRADIENT"
            else array - 1).tolist()


def _slip(key: str, value, rng: np.random.Generator):
    """A one-off error of arithmetic."""
    if key in NUMBER_KEYS:
        return round(value + rng.choice([-1, 1]) * rng.uniform(0.002, 0.3), 4)
    if key == "OUTPUT_SHAPE":
        return [value[0] + int(rng.integers(-3, 4)) or 1, value[1], value[2]]
    if key == "PARAMETERS":
        return int(value + rng.integers(1, 500))
    array = np.asarray(value).copy()
    index = tuple(int(rng.integers(0, s)) for s in array.shape)
    array[index] += int(rng.choice([-2, -1, 1, 2]))
    return array.tolist()


def _as_written(key: str, value):
    return round(value, 4) if key in NUMBER_KEYS else value


def honest_class(n: int, seed: int, *, right: float = 0.7, mistake: float = 0.2) -> list[Paper]:
    """``n`` honest students: each key right with probability ``right``, else a common mistake or a slip."""
    rng = np.random.default_rng(seed)
    papers = []
    for i, expected in enumerate(_expected(rng, n)):
        draws = rng.random(len(KEYS))
        answers = {}
        for key, u in zip(KEYS, draws):
            if u < right:
                answers[key] = _as_written(key, expected[key])
            elif u < right + mistake:
                answers[key] = _mistake(key, expected[key], rng)
            elif u < 0.97:
                answers[key] = _slip(key, expected[key], rng)
            # else: left blank
        papers.append(Paper(f"s{i:05d}", expected, answers))
    return papers


def plant_copier(papers: list[Paper], copier: int, source: int, keys: list[str]) -> None:
    """``copier`` writes ``source``'s right answers (as ``source`` would write them) for ``keys``."""
    for key in keys:
        papers[copier].answers[key] = _as_written(key, papers[source].expected[key])
