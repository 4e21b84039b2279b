"""The midterm's expected answers, recomputed independently for 200 students.

For every student the test reads what each question drew (``meta["given"]``)
and recomputes each answer its own way: the 2-2-2 network by plain numpy
formulas and finite differences, conv sizes by the formula, correlation and
pooling by loops over pixels, the derivative by finite differences of the
forward function evaluated with numpy. It also checks that the paper shows
the drawn numbers and that the draws are well conditioned.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import sympy

from grader.engine.checks.mathparse import Grammar, parse

STUDENTS = [f"s{2024000 + n}" for n in range(200)]


@pytest.fixture(scope="module")
def papers(compiled_for):
    return {sid: compiled_for(sid) for sid in STUDENTS}


def _given(compiled, question):
    return compiled.question(question).cases[0].meta["given"]


def _expected(compiled, question):
    return {case.request["name"]: case.expected for case in compiled.question(question).cases}


# -- the 2-2-2 network ------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def network_loss(g, W1, b1, W2, b2):
    x, y = np.array(g["x"]), np.array(g["y"])
    a1 = sigmoid(W1 @ x + b1)       # the lecture's layout: rows are neurons
    a2 = sigmoid(W2 @ a1 + b2)
    return a1, a2, 0.5 * float(np.sum((a2 - y) ** 2))


def test_network_answers(papers):
    layers = Counter()
    for sid, compiled in papers.items():
        g = _given(compiled, "two_layer_network")
        exp = _expected(compiled, "two_layer_network")
        W1, b1, W2, b2 = (np.array(g[k], dtype=float) for k in ("W1", "b1", "W2", "b2"))
        a1, a2, loss = network_loss(g, W1, b1, W2, b2)
        np.testing.assert_allclose(exp["NET_HIDDEN_A"], a1, rtol=1e-12)
        np.testing.assert_allclose(exp["NET_OUTPUT_A"], a2, rtol=1e-12)
        assert exp["NET_LOSS"] == pytest.approx(loss, rel=1e-12)

        # backward by hand (deltas), and by central differences of the loss
        x, y = np.array(g["x"]), np.array(g["y"])
        delta2 = (a2 - y) * a2 * (1 - a2)
        delta1 = (W2.T @ delta2) * a1 * (1 - a1)
        grads = {1: np.outer(delta1, x), 2: np.outer(delta2, a1)}
        layer, i, j, lr = g["layer"], g["i"], g["j"], g["learning_rate"]
        grad = grads[layer][i - 1, j - 1]
        params = [W1.copy(), b1, W2.copy(), b2]
        h = 1e-6
        plus, minus = [p.copy() for p in params], [p.copy() for p in params]
        plus[2 * (layer - 1)][i - 1, j - 1] += h
        minus[2 * (layer - 1)][i - 1, j - 1] -= h
        numeric = (network_loss(g, *plus)[2] - network_loss(g, *minus)[2]) / (2 * h)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)
        assert exp["NET_GRADIENT"] == pytest.approx(grad, rel=1e-10)
        weight = (W1 if layer == 1 else W2)[i - 1, j - 1]
        assert exp["NET_WEIGHT_AFTER_STEP"] == pytest.approx(weight - lr * grad, rel=1e-10)

        # well conditioned: multiples of 0.05 in range, a loss and a gradient far from 0
        for k in ("W1", "b1", "W2", "b2"):
            values = np.array(g[k]).ravel()
            assert np.all(np.abs(values) <= 1.0) and np.all(values != 0)
            np.testing.assert_allclose(values * 20, np.round(values * 20), atol=1e-9)
        assert loss >= 0.02 and abs(grad) >= 0.01
        assert lr in (0.1, 0.25, 0.5, 1.0)
        layers[layer] += 1

        # the paper shows every drawn number
        prompt = compiled.question("two_layer_network").prompt
        for k in ("W1", "W2"):
            for r in (1, 2):
                for c in (1, 2):
                    value = g[k][r - 1][c - 1]
                    assert f"w^[{k[1]}]_{r}{c} = {value:5.2f}" in prompt, (sid, k, r, c)
        for r in (1, 2):
            assert f"b^[1]_{r} = {g['b1'][r - 1]:5.2f}" in prompt
            assert f"b^[2]_{r} = {g['b2'][r - 1]:5.2f}" in prompt
        assert f"x = ({g['x'][0]:.2f}, {g['x'][1]:.2f})" in prompt
        assert f"y = ({g['y'][0]:.2f}, {g['y'][1]:.2f})" in prompt
        assert f"dL/dw^[{layer}]_{i}{j}" in prompt and f"alpha = {lr:g}" in prompt
    assert layers[1] > 20 and layers[2] > 20


# -- convolution output size --------------------------------------------------------

def test_conv_answers(papers):
    for compiled in papers.values():
        g = _given(compiled, "conv_output_shape")
        exp = _expected(compiled, "conv_output_shape")
        k, s, p = g["k"], g["stride"], g["pad"]
        out = [(n + 2 * p - k) // s + 1 for n in (g["height"], g["width"])]
        assert all((n + 2 * p - k) % s == 0 for n in (g["height"], g["width"]))  # windows tile exactly
        assert exp["CONV_OUTPUT_SHAPE"] == [*out, g["filters"]]
        assert exp["CONV_PARAMETERS"] == k * k * g["channels"] * g["filters"] + g["filters"]
        prompt = compiled.question("conv_output_shape").prompt
        assert f"{g['filters']} filters of size {k} x {k}, stride {s}" in prompt
        assert f"padding {p}" in prompt
        assert f"{g['height']} x {g['width']} x {g['channels']}" in prompt


# -- correlation by hand ---------------------------------------------------------------

def _rows(matrix) -> list[str]:
    return ["  ".join(str(int(v)).rjust(max(len(str(int(u))) for row in matrix for u in row)) for v in row)
            for row in matrix]


def test_correlation_answers(papers):
    shapes = Counter()
    for compiled in papers.values():
        g = _given(compiled, "correlation_by_hand")
        image, kernel, s = np.array(g["image"]), np.array(g["kernel"]), g["stride"]
        n = image.shape[0]
        size = (n - 3) // s + 1
        out = np.zeros((size, size))
        for r in range(size):
            for c in range(size):
                total = 0
                for u in range(3):
                    for v in range(3):
                        total += image[r * s + u, c * s + v] * kernel[u, v]
                out[r, c] = total
        np.testing.assert_array_equal(_expected(compiled, "correlation_by_hand")["CORRELATION"], out)
        assert image.min() >= 0 and image.max() <= 3 and np.abs(kernel).max() <= 2
        prompt = compiled.question("correlation_by_hand").prompt
        for line in _rows(g["image"]) + _rows(g["kernel"]):
            assert line in prompt
        assert f"stride {s}" in prompt
        shapes[(n, s)] += 1
    assert set(shapes) == {(4, 1), (5, 1), (5, 2)}


# -- max pooling -----------------------------------------------------------------------

def test_pooling_answers(papers):
    configs = Counter()
    for compiled in papers.values():
        g = _given(compiled, "max_pooling")
        image, up = np.array(g["image"]), np.array(g["upstream"])
        p, s = g["pool"], g["stride"]
        n = image.shape[0]
        size = (n - p) // s + 1
        out = np.zeros((size, size))
        dx = np.zeros_like(image, dtype=float)
        for r in range(size):
            for c in range(size):
                window = image[r * s:r * s + p, c * s:c * s + p]
                assert (window == window.max()).sum() == 1, "a tie in a window"
                out[r, c] = window.max()
                u, v = np.unravel_index(np.argmax(window), window.shape)
                dx[r * s + u, c * s + v] += up[r, c]
        exp = _expected(compiled, "max_pooling")
        np.testing.assert_array_equal(exp["POOL_OUTPUT"], out)
        np.testing.assert_array_equal(exp["POOL_GRADIENT"], dx)
        assert np.all(up != 0)
        prompt = compiled.question("max_pooling").prompt
        for line in _rows(g["image"]) + _rows(g["upstream"]):
            assert line in prompt
        configs[(n, p, s)] += 1
    assert set(configs) == {(4, 2, 2), (6, 2, 2), (6, 3, 3)}


# -- the derivative --------------------------------------------------------------------

def _forward(g):
    """The drawn function as numpy, written here from the template's definition."""
    a, b, y = g["a"], g["b"], g["y"]
    return {
        "exp_quadratic": lambda v: np.exp(a * v**2 + b * v),
        "softplus": lambda v: np.log1p(np.exp(a * v)),
        "sigmoid_affine": lambda v: 1 / (1 + np.exp(-(a * v - b))),
        "tanh_squared": lambda v: np.tanh(a * v) ** 2,
        "power_exp": lambda v: v**a * np.exp(-b * v),
        "log_quadratic": lambda v: np.log(a * v**2 + b),
        "bce": lambda v: -(y * np.log(v) + (1 - y) * np.log(1 - v)),
        "chain_rule": lambda v: v**b + np.exp(np.cos(a * v) * v**b),
    }[g["template"]]


def test_derivative_answers(papers, questions_module):
    templates = Counter()
    points = np.array([0.13, 0.31, 0.5, 0.67, 0.88])
    for compiled in papers.values():
        question = compiled.question("derivative")
        g = question.cases[0].meta["given"]
        var = questions_module.DERIVATIVE_TEMPLATES[g["template"]][0]
        check = question.cases[0].check
        assert tuple(check.symbols) == (var,)
        parsed = parse(question.cases[0].expected, Grammar((var,)).trusted())
        derivative = sympy.lambdify(sympy.Symbol(var, real=True), parsed.expr, "numpy")
        f, h = _forward(g), 1e-6
        numeric = (f(points + h) - f(points - h)) / (2 * h)
        np.testing.assert_allclose(np.asarray(derivative(points), dtype=float), numeric, rtol=1e-5, atol=1e-7)
        # the paper states the function with the drawn numbers
        statement = questions_module.derivative_statement(g)
        assert statement in question.prompt
        if g["template"] == "bce":
            assert f"y = {g['y']:.1f}" in statement
        elif g["template"] == "chain_rule":
            assert f"cos({g['a']}t)" in statement and f"t^{g['b']}" in statement
        else:
            assert str(g["a"]) in statement
        templates[g["template"]] += 1
    assert set(templates) == set(questions_module.DERIVATIVE_TEMPLATES)


def test_the_stated_function_is_the_differentiated_one(papers, questions_module):
    """The text on the paper, read by the grader's own parser, has the expected derivative."""
    for compiled in list(papers.values())[:60]:
        g = compiled.question("derivative").cases[0].meta["given"]
        if g["template"] in ("chain_rule", "bce"):
            continue  # stated with words around the formula
        var = questions_module.DERIVATIVE_TEMPLATES[g["template"]][0]
        text = questions_module.derivative_statement(g).split("=", 1)[1].split(",")[0]
        stated = parse(text, Grammar((var,)).trusted()).expr
        expected = parse(compiled.question("derivative").cases[0].expected, Grammar((var,)).trusted()).expr
        v = sympy.Symbol(var, real=True)
        for point in (0.2, 0.45, 0.7):
            got = float(sympy.diff(stated, v).subs(v, point))
            assert got == pytest.approx(float(expected.subs(v, point)), rel=1e-9)


# -- the paper as a whole -------------------------------------------------------------

def test_points_and_tolerances_are_on_the_paper(papers, questions_module):
    compiled = papers[STUDENTS[0]]
    assert compiled.max_score == 30
    for question in compiled.questions:
        total = sum(c.weight for c in question.cases)
        assert total == question.points, question.name
        for case in question.cases:
            assert f"`{case.request['name']}` ({case.weight:g} point" in question.prompt
    net = compiled.question("two_layer_network").prompt
    assert f"within {questions_module.VALUE_TOL:g}" in net and f"{questions_module.GRADIENT_TOL:g}" in net
    assert "no tolerance" in compiled.question("conv_output_shape").prompt
    assert "exact" in compiled.question("correlation_by_hand").prompt
    assert [[c.request["name"] for c in q.cases] for q in compiled.questions] == list(questions_module.KEYS.values())


def test_every_answer_is_derived_not_typed(questions_module):
    """No expected value is a literal: the question functions only call the reference and sympy."""
    import inspect

    source = inspect.getsource(questions_module)
    for literal in ("0.2984", "0.0821", "0.0822", "0.5933"):
        assert literal not in source.split("def _num")[1]
    assert math.isclose(questions_module.VALUE_TOL, 0.001)
