"""Midterm exam: per-student variants of the lecture's worked examples.

Every number a student sees is drawn from the question's seeded generator
``q.rng`` (seeded by the exam, the question and the student's variant id,
see ``grader/course/exam/variants.py``); every expected answer is computed from
that draw by ``reference/`` or by sympy. Nothing is typed in by hand.

Each question records what it drew in its cases' ``meta["given"]`` (plain
data), so the tests can recompute every answer independently, and states its
points, answer keys, answer forms and tolerances in its prompt (markdown),
from which the paper is rendered.

The answer keys (``NET_LOSS`` ...) are the names a student writes in the
answer sheet (TOML/YAML) or, equally, the module-level names of a ``.py``
submission.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Exact, Expression, Number
from grader.engine.checks.symbolic import describe_domain
from reference import lectures
from reference.conv import conv2d_forward, conv2d_output_shape
from reference.derivations import SIGMA, bce_derivative
from reference.pooling import maxpool_backward, maxpool_forward

# An exam: each student's numbers are drawn from their variant (``dlgrade exam ...``); see also policy.toml.
assignment = Assignment("midterm", title="Midterm exam: backprop, convolutions and derivatives",
                        module="midterm", limits={"wall_seconds": 60}, kind="exam")

# -- tolerances, stated on the paper -------------------------------------------
VALUE_TOL = 0.001       # forward values, loss, updated weight (hand computation, 4 decimals)
GRADIENT_TOL = 0.0005   # one gradient
INTEGER_TOL = 1e-6      # integer answers given as numbers (correlation, pooling)

#: The sheet key of every answer, by question (the order of the paper).
KEYS = {
    "two_layer_network": ["NET_HIDDEN_A", "NET_OUTPUT_A", "NET_LOSS", "NET_GRADIENT", "NET_WEIGHT_AFTER_STEP"],
    "conv_output_shape": ["CONV_OUTPUT_SHAPE", "CONV_PARAMETERS"],
    "correlation_by_hand": ["CORRELATION"],
    "max_pooling": ["POOL_OUTPUT", "POOL_GRADIENT"],
    "derivative": ["DERIVATIVE"],
}


# -- helpers -------------------------------------------------------------------

def _num(v: float, places: int = 2) -> str:
    """A drawn number as printed on the paper (-0.0 printed as 0)."""
    text = f"{float(v):.{places}f}"
    return "0." + "0" * places if text == "-0." + "0" * places else text


def _grid(lo: float, hi: float, step: float = 0.05, nonzero: bool = True) -> np.ndarray:
    values = np.round(np.arange(lo, hi + step / 2, step), 2)
    return values[values != 0] if nonzero else values


def _matrix_block(m: np.ndarray, width: int | None = None) -> str:
    """An integer matrix as a fixed-width block (a code block in the markdown)."""
    m = np.asarray(m)
    cells = [[str(int(v)) for v in row] for row in m]
    width = width or max(len(c) for row in cells for c in row)
    return "\n".join("  ".join(c.rjust(width) for c in row) for row in cells)


def _code(block: str) -> str:
    return "```\n" + block + "\n```"


class _Parts:
    """The answers of one question: declares each case and writes the list the paper shows."""

    def __init__(self, q, given: dict):
        self.q = q
        self.given = given
        self.lines: list[str] = []
        self.points = 0.0

    def answer(self, letter: str, key: str, points: float, what: str, form: str, *, expected, check) -> None:
        self.q.answer(key, expected=expected, check=check, weight=points, label=key)
        self.q.cases[-1].meta["given"] = self.given
        self.q.cases[-1].meta["form"] = form
        self.q.cases[-1].meta["what"] = what
        self.q.cases[-1].meta["part"] = letter
        self.points += points
        self.lines.append(f"- ({letter}) `{key}` ({points:g} point{'s' if points != 1 else ''}): {what}, {form}.")

    def block(self) -> str:
        return "\n".join(self.lines)


# -- 1. the 2-2-2 network (seed 000) ----------------------------------------------

NETWORK_POINTS = 10
LEARNING_RATES = (0.1, 0.25, 0.5, 1.0)


def draw_network(rng: np.random.Generator) -> dict:
    """Inputs, targets, weights and biases (multiples of 0.05), the weight asked about, the step size.

    Redrawn until the loss is at least 0.02 and the asked gradient at least
    0.01 in magnitude, so no answer is a near-zero that a wrong method also gives.
    """
    for _ in range(1000):
        given = {
            "x": rng.choice(_grid(0.05, 1.0), size=2).tolist(),
            "y": rng.choice(_grid(0.05, 0.95), size=2).tolist(),
            # the lecture's layout: row i = neuron i, column j = input j
            "W1": rng.choice(_grid(-1.0, 1.0), size=(2, 2)).tolist(),
            "b1": rng.choice(_grid(-1.0, 1.0), size=2).tolist(),
            "W2": rng.choice(_grid(-1.0, 1.0), size=(2, 2)).tolist(),
            "b2": rng.choice(_grid(-1.0, 1.0), size=2).tolist(),
            "layer": int(rng.integers(1, 3)),
            "i": int(rng.integers(1, 3)),
            "j": int(rng.integers(1, 3)),
            "learning_rate": float(rng.choice(LEARNING_RATES)),
        }
        ex = network_example(given)
        grad = _asked(ex, given, "gradient")
        if ex.loss >= 0.02 and abs(grad) >= 0.01:
            return given
    raise RuntimeError("draw_network: no well-conditioned draw in 1000 tries")  # pragma: no cover


def network_example(given: dict) -> lectures.TwoLayerExample:
    """The reference's forward pass, backward pass and step for a drawn network."""
    weights = {
        "W1": np.array(given["W1"]).T,  # the reference's (D, M) convention: W = lecture matrix transposed
        "b1": np.array(given["b1"]),
        "W2": np.array(given["W2"]).T,
        "b2": np.array(given["b2"]),
    }
    return lectures.two_layer_network_example(given["x"], given["y"], weights=weights,
                                              learning_rate=given["learning_rate"])


def _asked(ex: lectures.TwoLayerExample, given: dict, what: str) -> float:
    layer, i, j = given["layer"], given["i"], given["j"]
    if what == "gradient":
        matrix = ex.dW1 if layer == 1 else ex.dW2
    else:
        matrix = ex.W1_new if layer == 1 else ex.W2_new
    return float(lectures.lecture_weight(matrix, i, j))


@assignment.question(points=NETWORK_POINTS)
def two_layer_network(q):
    """the 2-2-2 sigmoid network: forward pass, loss, one gradient, one step"""
    given = draw_network(q.rng)
    ex = network_example(given)
    x, y, W1, b1, W2, b2 = (given[k] for k in ("x", "y", "W1", "b1", "W2", "b2"))
    layer, i, j, lr = given["layer"], given["i"], given["j"], given["learning_rate"]

    parts = _Parts(q, given)
    value = Number(atol=VALUE_TOL)
    parts.answer("a", "NET_HIDDEN_A", 2, "the hidden activations [a^[1]_1, a^[1]_2]",
                 "a list of 2 numbers", expected=ex.a1, check=value)
    parts.answer("b", "NET_OUTPUT_A", 2, "the outputs [a^[2]_1, a^[2]_2] (the prediction y-hat)",
                 "a list of 2 numbers", expected=ex.a2, check=value)
    parts.answer("c", "NET_LOSS", 2, "the loss L", "a number", expected=ex.loss, check=value)
    parts.answer("d", "NET_GRADIENT", 2, f"the derivative dL/dw^[{layer}]_{i}{j} of the loss with respect to "
                 f"the weight w^[{layer}]_{i}{j}", "a number",
                 expected=_asked(ex, given, "gradient"), check=Number(atol=GRADIENT_TOL))
    parts.answer("e", "NET_WEIGHT_AFTER_STEP", 2, f"the weight w^[{layer}]_{i}{j} after one step of gradient "
                 f"descent with learning rate alpha = {lr:g} on this one example",
                 "a number", expected=_asked(ex, given, "step"), check=value)
    assert parts.points == NETWORK_POINTS

    def row(name, W, b, r):
        return (f"w^[{name}]_{r}1 = {_num(W[r - 1][0]):>5}   w^[{name}]_{r}2 = {_num(W[r - 1][1]):>5}   "
                f"b^[{name}]_{r} = {_num(b[r - 1]):>5}")

    table = "\n".join([row(1, W1, b1, 1), row(1, W1, b1, 2), row(2, W2, b2, 1), row(2, W2, b2, 2)])
    q.prompt(f"""\
The lecture's 2-2-2 network: two inputs, a hidden layer of two sigmoid neurons (layer 1) and an
output layer of two sigmoid neurons (layer 2). Neuron i of layer l computes

```
z^[l]_i = w^[l]_i1 * a^[l-1]_1 + w^[l]_i2 * a^[l-1]_2 + b^[l]_i
a^[l]_i = sigma(z^[l]_i) = 1 / (1 + exp(-z^[l]_i))
```

where a^[0] = x is the input: w^[l]_ij connects input j of the layer to its neuron i. The loss of
one example is L = 1/2 * ((a^[2]_1 - y_1)^2 + (a^[2]_2 - y_2)^2).

Your network and training example:

{_code(f"x = ({_num(x[0])}, {_num(x[1])})    y = ({_num(y[0])}, {_num(y[1])})" + chr(10) + chr(10) + table)}

Compute:

{parts.block()}

Tolerance: give numbers to at least 4 decimal places. A number within {VALUE_TOL:g} of the exact value
gets full marks ({GRADIENT_TOL:g} for the derivative in (d)); a list counts only if both of its numbers do.
""")


# -- 2. convolution output size (seeds 001, 002) ----------------------------------

CONV_POINTS = 4


def draw_conv(rng: np.random.Generator) -> dict:
    """A conv layer whose windows tile the padded input exactly along both axes."""
    for _ in range(1000):
        k = int(rng.choice([3, 5, 7]))
        stride = int(rng.choice([1, 2, 3]))
        pad = int(rng.integers(0, k // 2 + 1))
        height, width = (int(v) for v in rng.integers(8, 65, size=2))
        if all((n + 2 * pad - k) % stride == 0 for n in (height, width)):
            return {"height": height, "width": width, "channels": int(rng.choice([1, 3, 8, 16, 32])),
                    "filters": int(rng.choice([4, 6, 8, 10, 12, 16, 32, 64])), "k": k, "stride": stride,
                    "pad": pad}
    raise RuntimeError("draw_conv: no valid configuration in 1000 tries")  # pragma: no cover


@assignment.question(points=CONV_POINTS)
def conv_output_shape(q):
    """the output shape and parameter count of a convolution layer"""
    g = draw_conv(q.rng)
    shape = conv2d_output_shape((1, g["height"], g["width"], g["channels"]),
                                (g["k"], g["k"], g["channels"], g["filters"]), g["stride"], g["pad"])
    kernel = np.zeros((g["k"], g["k"], g["channels"], g["filters"]))  # the layer's weights (HWIO) ...
    bias = np.zeros(g["filters"])                                        # ... and biases
    parts = _Parts(q, g)
    parts.answer("a", "CONV_OUTPUT_SHAPE", 3, "the shape of the layer's output for one image, "
                 "[height, width, channels]", "a list of 3 whole numbers",
                 expected=[int(v) for v in shape[1:]], check=Exact())
    parts.answer("b", "CONV_PARAMETERS", 1, "the number of trainable parameters of the layer "
                 "(weights and biases)", "a whole number", expected=int(kernel.size + bias.size), check=Exact())
    assert parts.points == CONV_POINTS
    q.prompt(f"""\
A convolution layer with {g['filters']} filters of size {g['k']} x {g['k']}, stride {g['stride']} and zero
padding {g['pad']} (that many rows and columns of zeros added on each side) takes an input of height
{g['height']}, width {g['width']} and {g['channels']} channel{'s' if g['channels'] != 1 else ''}
({g['height']} x {g['width']} x {g['channels']}). Each filter has one bias.

{parts.block()}

These answers are exact: no tolerance.
""")


# -- 3. cross-correlation by hand (seed 002's Sobel exercise) --------------------

CORRELATION_POINTS = 5


def draw_correlation(rng: np.random.Generator) -> dict:
    """An n x n image of integers 0..3, a 3 x 3 integer filter, a stride (valid padding)."""
    for _ in range(1000):
        n = int(rng.choice([4, 5]))
        stride = 1 if n == 4 else int(rng.choice([1, 2]))
        image = rng.integers(0, 4, size=(n, n))
        kernel = rng.integers(-2, 3, size=(3, 3))
        out = correlate(image, kernel, stride)
        if np.count_nonzero(kernel) >= 4 and len(np.unique(kernel)) >= 3 and len(np.unique(out)) >= 2:
            return {"image": image.tolist(), "kernel": kernel.tolist(), "stride": stride}
    raise RuntimeError("draw_correlation: no usable draw in 1000 tries")  # pragma: no cover


def correlate(image, kernel, stride) -> np.ndarray:
    """The reference conv layer on one single-channel image, no bias, valid padding."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    n, k = image.shape[0], kernel.shape[0]
    out, _ = conv2d_forward(image.reshape(1, n, n, 1), kernel.reshape(k, k, 1, 1), np.zeros(1),
                            stride=stride, padding="valid")
    return out[0, :, :, 0]


@assignment.question(points=CORRELATION_POINTS)
def correlation_by_hand(q):
    """cross-correlate a small integer image with a 3 x 3 filter by hand"""
    g = draw_correlation(q.rng)
    parts = _Parts(q, g)
    parts.answer("a", "CORRELATION", CORRELATION_POINTS, "the output of the layer",
                 "a matrix written as a list of rows, e.g. [[1, 2], [3, 4]]",
                 expected=correlate(g["image"], g["kernel"], g["stride"]),
                 check=ArrayClose(rtol=0.0, atol=INTEGER_TOL, partial=True))
    n = len(g["image"])
    q.prompt(f"""\
Cross-correlate (as a convolution layer does, and as in the lecture's Sobel exercise: the filter is
*not* flipped) this {n} x {n} image with this 3 x 3 filter, with stride {g['stride']} and no padding
("valid"), no bias:

{_code("image:" + chr(10) + _matrix_block(g["image"]) + chr(10) + chr(10) + "filter:" + chr(10) + _matrix_block(g["kernel"]))}

{parts.block()}

The answer is exact (integers). Each entry of the matrix is worth the same share of the points; a
matrix of the wrong shape scores 0.
""")


# -- 4. max pooling and its gradient (seeds 001, 002) -----------------------------

POOLING_POINTS = 5
POOL_CONFIGS = ((4, 2, 2), (6, 2, 2), (6, 3, 3))  # (n, pool, stride): windows do not overlap


def draw_pooling(rng: np.random.Generator) -> dict:
    """An image whose windows each hold distinct integers 0..9 (no ties), an upstream gradient."""
    n, pool, stride = POOL_CONFIGS[int(rng.integers(len(POOL_CONFIGS)))]
    image = np.zeros((n, n), dtype=int)
    for r in range(0, n, pool):
        for c in range(0, n, pool):
            image[r:r + pool, c:c + pool] = rng.choice(10, size=pool * pool, replace=False).reshape(pool, pool)
    out = n // pool
    upstream = rng.choice([-3, -2, -1, 1, 2, 3], size=(out, out))
    return {"image": image.tolist(), "pool": pool, "stride": stride, "upstream": upstream.tolist()}


def pool(given: dict) -> tuple[np.ndarray, np.ndarray]:
    """The reference max-pool forward and backward on one single-channel image."""
    image = np.asarray(given["image"], dtype=np.float64)
    n = image.shape[0]
    out, cache = maxpool_forward(image.reshape(1, n, n, 1), pool=given["pool"], stride=given["stride"])
    upstream = np.asarray(given["upstream"], dtype=np.float64).reshape(out.shape)
    dx = maxpool_backward(upstream, cache)
    return out[0, :, :, 0], dx[0, :, :, 0]


@assignment.question(points=POOLING_POINTS)
def max_pooling(q):
    """max pooling by hand, and its gradient routed back to the inputs"""
    g = draw_pooling(q.rng)
    out, dx = pool(g)
    n, p = len(g["image"]), g["pool"]
    parts = _Parts(q, g)
    parts.answer("a", "POOL_OUTPUT", 2, "the output of the pooling layer",
                 "a matrix written as a list of rows",
                 expected=out, check=ArrayClose(rtol=0.0, atol=INTEGER_TOL, partial=True))
    parts.answer("b", "POOL_GRADIENT", 3, f"the gradient dL/dx of the loss with respect to the {n} x {n} input",
                 "a matrix written as a list of rows",
                 expected=dx, check=ArrayClose(rtol=0.0, atol=INTEGER_TOL))
    assert parts.points == POOLING_POINTS
    q.prompt(f"""\
A max-pooling layer with {p} x {p} windows and stride {g['stride']} (no padding) takes this {n} x {n} input x
(no window holds two equal largest values):

{_code(_matrix_block(g["image"]))}

During backpropagation the gradient of the loss with respect to the layer's output, dL/d(output), is

{_code(_matrix_block(g["upstream"]))}

{parts.block()}

The answers are exact (integers). In (a) each entry is worth the same share of the points; (b) counts
only if the whole matrix is right.
""")


# -- 5. a derivative, by sympy (seeds 001, 003) -----------------------------------

DERIVATIVE_POINTS = 6
_DERIVATIVE_FUNCTIONS = "exp, log (natural logarithm), sqrt, sin, cos, tan, tanh, sigma"


def _forward(template: str, var: sp.Symbol, a: int, b: int, y: sp.Rational) -> sp.Expr:
    """The forward definition of a drawn derivative question (sympy differentiates it)."""
    if template == "exp_quadratic":
        return sp.exp(a * var**2 + b * var)
    if template == "softplus":
        return sp.log(1 + sp.exp(a * var))
    if template == "sigmoid_affine":
        return SIGMA(a * var - b)
    if template == "tanh_squared":
        return sp.tanh(a * var) ** 2
    if template == "power_exp":
        return var**a * sp.exp(-b * var)
    if template == "log_quadratic":
        return sp.log(a * var**2 + b)
    if template == "chain_rule":  # seed 001: f = y + exp(x y), x = cos(a t), y = t^b
        x, yy = sp.cos(a * var), var**b
        return yy + sp.exp(x * yy)
    raise ValueError(f"unknown derivative template {template!r}")


#: template -> (variable, how the paper states the function; {a}, {b}, {y}, {y1} are the draw)
DERIVATIVE_TEMPLATES = {
    "exp_quadratic": ("x", "f(x) = exp({a}x^2 + {b}x)"),
    "softplus": ("x", "f(x) = log(1 + exp({a}x))"),
    "sigmoid_affine": ("x", "f(x) = sigma({a}x - {b}),  where sigma(u) = 1/(1 + exp(-u))"),
    "tanh_squared": ("x", "f(x) = tanh({a}x)^2"),
    "power_exp": ("x", "f(x) = x^{a} exp(-{b}x)"),
    "log_quadratic": ("x", "f(x) = log({a}x^2 + {b})"),
    "bce": ("a", "L(a) = -({y} log(a) + {y1} log(1 - a)),  the binary cross-entropy of a prediction a "
                 "for the label y = {y}"),
    "chain_rule": ("t", "f = y + exp(x y),  where x = cos({a}t) and y = t^{b}"),
}
#: where the variable is drawn when an answer is compared: a prediction of the
#: binary cross-entropy is a probability; x and t are any real number
_DOMAINS = {"x": "real", "a": "probability", "t": "real"}
#: what the student gives, by variable
_ASKED = {"x": "df/dx", "a": "dL/da", "t": "df/dt (written in t only: replace x and y by their definitions)"}


def draw_derivative(rng: np.random.Generator) -> dict:
    template = str(rng.choice(list(DERIVATIVE_TEMPLATES)))
    a, b = (int(v) for v in rng.integers(2, 6, size=2))
    y = int(rng.integers(1, 10))  # the label y = y/10 of the binary cross-entropy
    if template == "chain_rule":
        b = int(rng.integers(2, 4))
    return {"template": template, "a": a, "b": b, "y": y / 10}


def derivative_expected(given: dict) -> tuple[str, sp.Expr]:
    """(the variable, sympy's derivative of the drawn forward definition)."""
    var_name, _ = DERIVATIVE_TEMPLATES[given["template"]]
    var = sp.Symbol(var_name)
    y = sp.Rational(round(given["y"] * 10), 10)
    if given["template"] == "bce":  # reference.derivations: dL/da, at the drawn label
        d = bce_derivative()
        return var_name, d.expression.subs(sp.Symbol("y"), y)
    return var_name, sp.diff(_forward(given["template"], var, given["a"], given["b"], y), var)


def derivative_statement(given: dict) -> str:
    _, text = DERIVATIVE_TEMPLATES[given["template"]]
    return text.format(a=given["a"], b=given["b"], y=f"{given['y']:.1f}", y1=f"{1 - given['y']:.1f}")


@assignment.question(points=DERIVATIVE_POINTS)
def derivative(q):
    """a derivative, given symbolically"""
    g = draw_derivative(q.rng)
    var, expected = derivative_expected(g)
    parts = _Parts(q, g)
    asked = _ASKED[var]
    parts.answer("a", "DERIVATIVE", DERIVATIVE_POINTS, f"the derivative {asked.split(' ')[0]}",
                 f'an expression in {var}, in double quotes, e.g. "2*{var}*exp({var}^2)"',
                 expected=str(expected), check=Expression(symbols=(var,), domains={var: _DOMAINS[var]}))
    q.prompt(f"""\
Give the derivative {asked} of

{_code(derivative_statement(g))}

{parts.block()}

Write the expression with numbers, the variable {var}, + - * / and ^ (or **) for powers, parentheses,
and the functions {_DERIVATIVE_FUNCTIONS} (sigma(u) = 1/(1 + exp(-u))). Any expression equal to the
derivative gets full marks: it is compared with the derivative by sympy and at 20 points, {var}
being {describe_domain(_DOMAINS[var])}. An expression that cannot be read scores 0.
""")
