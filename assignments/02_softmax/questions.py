"""Assignment 02: softmax, cross-entropy and derivations (seeds 001, 002, 003).

Every expected value below is computed by ``reference/``: numbers by its
losses and lecture examples, expressions by sympy differentiating the forward
definitions in ``reference.derivations``. Inputs are drawn from each
question's seeded generator ``q.rng``.
"""

import numpy as np

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Expression, Form, Number
from reference import lectures
from reference.derivations import get_derivation
from reference.losses import binary_cross_entropy, one_hot, softmax, softmax_cross_entropy

assignment = Assignment("02_softmax", title="Softmax, cross-entropy and derivations", module="softmax",
                        limits={"wall_seconds": 60, "memory_bytes": 2 * 2**30})

VALUES = ArrayClose(rtol=1e-9, atol=1e-12)   # elementwise float64 functions
LOSS = Number(rtol=1e-9, atol=1e-12)         # a loss returned as one float

# Every symbolic answer: name -> (derivation, expected in its local form?, target).
# The local form is the lecture's step (``R_bar*w + x*z_bar``); both forms mean the
# same once the derivation's definitions are put in, the local one reads better in
# feedback. An answer may use the derivation's defined names (x and y in df/dt;
# the nodes z, y, L, R and the earlier error signals in the backward pass), each
# standing for its definition, and its functions (sigma_prime in the backward pass).
EXPRESSIONS = {
    "DL_DA": ("bce_derivative", False, None),
    "DL_DZ": ("sigmoid_bce_dz", False, None),
    "DSIGMA_DZ": ("sigmoid_derivative", False, None),
    "DF_DT": ("chain_rule_example", False, None),
    "Y_BAR": ("logistic_least_squares.y_bar", True, "y_bar"),
    "R_BAR": ("logistic_least_squares.R_bar", True, "R_bar"),
    "Z_BAR": ("logistic_least_squares.z_bar", True, "z_bar"),
    "W_BAR": ("logistic_least_squares.w_bar", True, "w_bar"),
    "B_BAR": ("logistic_least_squares.b_bar", True, "b_bar"),
}

# Where each symbol is drawn when an answer is compared with the expected one:
# a prediction a = sigma(z) and a label y are probabilities, the regularisation
# strength lam is positive; every other symbol (z, t, w, b, x) is any real number,
# negative or far from zero, so that an answer right only near 0.5 is not accepted.
DOMAINS = {"a": "probability", "y": "probability", "lam": "positive"}


def labels(q, n, k):
    """Integer labels (N,) drawn so that they are not all the same class."""
    y = q.rng.integers(0, k, size=n)
    if n > 1 and np.all(y == y[0]):
        y[-1] = (y[0] + 1) % k
    return y


def probabilities(q, shape):
    """Values in (0.05, 0.95): a +- h stays a probability for finite differences."""
    return q.rng.uniform(0.05, 0.95, size=shape)


def expression_answer(q, name):
    """The hidden check of the symbolic answer ``name``: equivalent to sympy's derivative."""
    derivation, local, target = EXPRESSIONS[name]
    derivation = get_derivation(derivation)
    q.expression(name, expected=derivation, local=local, target=target, domains=domains_of(derivation))


def domains_of(derivation):
    """The domains of the derivation's independent symbols that are not "real"."""
    return {s: DOMAINS[s] for s in derivation.inputs if s in DOMAINS and s not in dict(derivation.definitions)}


def expression_form(name):
    """The public check of ``name``: it reads with the names and functions its hidden
    check allows (the expected value is not shipped)."""
    derivation, local, target = EXPRESSIONS[name]
    check, _ = Expression.for_derivation(get_derivation(derivation), local=local, target=target)
    return check.form()


# -- public: the API is there, answers are filled in ---------------------------

@assignment.question(points=1, public=True)
def softmax_basics(q):
    """softmax of a small (2, 3) array"""
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    q.call("softmax", z, expected=softmax(z), check=VALUES)


@assignment.question(points=1, public=True)
def cross_entropy_returns_pair(q):
    """softmax_cross_entropy returns (loss, dlogits) with dlogits of shape (N, K), for integer labels"""
    logits, y = q.rng.normal(size=(3, 4)), labels(q, 3, 4)
    q.call("softmax_cross_entropy", logits, y, pick=0, expected=None, check=Form(),
           label="softmax_cross_entropy(3x4, 3) loss")
    q.call("softmax_cross_entropy", logits, y, pick=1, expected=None, check=Form(shape=(3, 4)),
           label="softmax_cross_entropy(3x4, 3) dlogits")


@assignment.question(points=1, public=True)
def bce_returns_pair(q):
    """binary_cross_entropy returns (loss, da) with da shaped like a"""
    a, y = probabilities(q, (4, 1)), q.rng.integers(0, 2, size=(4, 1)).astype(np.float64)
    q.call("binary_cross_entropy", a, y, pick=0, expected=None, check=Form(),
           label="binary_cross_entropy(4x1, 4x1) loss")
    q.call("binary_cross_entropy", a, y, pick=1, expected=None, check=Form(shape=(4, 1)),
           label="binary_cross_entropy(4x1, 4x1) da")


@assignment.question(points=1, public=True)
def gradient_answer_form(q):
    """SOFTMAX_GRADIENT is filled in: a list of 5 numbers"""
    q.answer("SOFTMAX_GRADIENT", expected=None, check=Form(shape=(5,)))


@assignment.question(points=1, public=True)
def expressions_read(q):
    """every expression answer (Parts 5 and 6) reads as an expression with the allowed names"""
    for name in EXPRESSIONS:
        q.answer(name, expected=None, check=expression_form(name))


# -- hidden: the functions ----------------------------------------------------

@assignment.question(points=2)
def softmax_stable(q):
    """softmax does not overflow at logits of +-1000; rows sum to 1"""
    offsets = np.array([[1000.0], [-1000.0], [0.0], [1000.0]])
    cases = [np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -999.0], [1000.0, -1000.0, 0.0]]),
             q.rng.normal(size=(4, 5)) * 3 + offsets]
    for z in cases:
        q.call("softmax", z, expected=softmax(z), check=VALUES)


@assignment.question(points=1)
def softmax_shapes(q):
    """softmax on a batch of 1, on K = 2 classes, on a single vector (K,) and on spread-out logits"""
    for shape, scale in (((1, 5), 3), ((3, 2), 3), ((5,), 3), ((4, 6), 50)):
        z = q.rng.normal(size=shape) * scale
        q.call("softmax", z, expected=softmax(z), check=VALUES)


@assignment.question(points=3)
def cross_entropy_gradient(q):
    """softmax_cross_entropy with integer labels: the loss and dlogits, averaged over the batch"""
    for n, k in ((4, 3), (1, 5), (6, 2)):
        logits, y = q.rng.normal(size=(n, k)) * 2, labels(q, n, k)
        q.loss_gradient("softmax_cross_entropy", logits, y, reference=softmax_cross_entropy,
                        name="dlogits", label=f"softmax_cross_entropy on ({n}, {k}), integer labels")


@assignment.question(points=2)
def cross_entropy_label_forms(q):
    """integer labels (N,) and the same labels one-hot (N, K) give the same loss and dlogits"""
    n, k = 5, 4
    logits, y = q.rng.normal(size=(n, k)) * 2, labels(q, n, k)
    for form, target in (("integer labels", y), ("one-hot labels", one_hot(y, k))):
        q.loss_gradient("softmax_cross_entropy", logits, target, reference=softmax_cross_entropy,
                        name="dlogits", label=f"softmax_cross_entropy on ({n}, {k}), {form}")


@assignment.question(points=1)
def cross_entropy_large_logits(q):
    """softmax_cross_entropy is finite and exact at logits of +-1000"""
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    y = np.array([0, 2])
    loss, dlogits = softmax_cross_entropy(logits, y)
    q.call("softmax_cross_entropy", logits, y, pick=0, expected=loss, check=LOSS,
           label="softmax_cross_entropy loss at +-1000")
    q.call("softmax_cross_entropy", logits, y, pick=1, expected=dlogits, check=VALUES,
           label="softmax_cross_entropy dlogits at +-1000")


@assignment.question(points=3)
def bce_gradient(q):
    """binary_cross_entropy: the loss and da, for one output per example"""
    for shape in ((5, 1), (1, 1), (6,)):
        a = probabilities(q, shape)
        y = q.rng.integers(0, 2, size=shape).astype(np.float64)
        q.loss_gradient("binary_cross_entropy", a, y, reference=binary_cross_entropy, name="da",
                        label=f"binary_cross_entropy on {shape}")


@assignment.question(points=1)
def bce_averaging(q):
    """binary_cross_entropy with several outputs per example (N, M): divided by N, not N*M"""
    a = probabilities(q, (3, 4))
    y = q.rng.integers(0, 2, size=(3, 4)).astype(np.float64)
    q.loss_gradient("binary_cross_entropy", a, y, reference=binary_cross_entropy, name="da",
                    label="binary_cross_entropy on (3, 4)")


@assignment.question(points=1)
def bce_near_0_and_1(q):
    """binary_cross_entropy for probabilities close to 0 and 1"""
    a = np.array([1e-6, 1.0 - 1e-6, 1e-6, 1.0 - 1e-6, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    loss, da = binary_cross_entropy(a, y)
    q.call("binary_cross_entropy", a, y, pick=0, expected=loss, check=LOSS,
           label="binary_cross_entropy loss near 0 and 1")
    q.call("binary_cross_entropy", a, y, pick=1, expected=da, check=VALUES,
           label="binary_cross_entropy da near 0 and 1")


# -- hidden: the penguin example ------------------------------------------------

@assignment.question(points=2)
def penguin_gradient(q):
    """dL/dz of the softmax layer in the penguin example"""
    q.answer("SOFTMAX_GRADIENT", expected=lectures.softmax_gradient_example().dL_dz,
             check=Number(decimals=2))


# -- hidden: derivations, one question each --------------------------------------

@assignment.question(points=1)
def bce_derivative(q):
    """DL_DA: dL/da of the binary cross-entropy"""
    expression_answer(q, "DL_DA")


@assignment.question(points=1)
def bce_through_sigmoid(q):
    """DL_DZ: dL/dz of the binary cross-entropy through a sigmoid, in a and y"""
    expression_answer(q, "DL_DZ")


@assignment.question(points=1)
def sigmoid_derivative(q):
    """DSIGMA_DZ: d sigma/dz"""
    expression_answer(q, "DSIGMA_DZ")


@assignment.question(points=2)
def chain_rule(q):
    """DF_DT: df/dt of f = y + exp(x y), x = cos t, y = t^2, in t (x and y may be kept)"""
    expression_answer(q, "DF_DT")


@assignment.question(points=1)
def backward_y_r_b(q):
    """Y_BAR, R_BAR and B_BAR of the logistic backward pass"""
    for name in ("Y_BAR", "R_BAR", "B_BAR"):
        expression_answer(q, name)


@assignment.question(points=1)
def backward_z(q):
    """Z_BAR: z_bar of the logistic backward pass"""
    expression_answer(q, "Z_BAR")


@assignment.question(points=2)
def backward_w(q):
    """W_BAR: w_bar of the logistic backward pass (w reaches the loss along two paths)"""
    expression_answer(q, "W_BAR")
