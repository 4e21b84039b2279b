"""reference.derivations against numpy: finite differences of the forward definitions,
the closed forms the course states, and the numpy layer modules of reference/.

Finite differences are central, in float64, with step H = 1e-5: the truncation
error is O(H**2) ~ 1e-10 and the rounding error ~ 1e-16 / H ~ 1e-11 times the
function's size, so derivative values are compared with FD_RTOL = 1e-6 and
FD_ATOL = 1e-8. Closed forms and the numpy layers are compared with
rtol = atol = 1e-12 (the same numbers, computed another way).
"""

import dataclasses
import importlib

import numpy as np
import pytest
import sympy as sp

from reference import derivations as D
from reference.derivations import get_derivation, to_numpy_function

H = 1e-5
FD_RTOL, FD_ATOL = 1e-6, 1e-8
EXACT = dict(rtol=1e-12, atol=1e-12)
N_POINTS = 200


def central_difference(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def assert_fd_close(got, fd):
    np.testing.assert_allclose(got, fd, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


# numpy forward definitions, written independently of the sympy ones.
def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_bce(a, y):
    return -(y * np.log(a) + (1 - y) * np.log(1 - a))


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_softmax_ce(z, y):
    m = z.max(axis=-1, keepdims=True)
    log_softmax = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return -(y * log_softmax).sum(axis=-1)


def numpy_layers():
    """The other half of reference/: the numpy layer modules must agree with sympy."""
    return importlib.import_module("reference.activations"), importlib.import_module("reference.losses")


S = sp.Symbol
sigma = sp.Function("sigma")
sigma_prime = sp.Function("sigma_prime")


# --------------------------------------------------------------------------- sigmoid


def test_sigmoid_derivative(rng):
    d = D.sigmoid_derivative()
    f = to_numpy_function(d)
    z = rng.uniform(-8, 8, N_POINTS)
    assert_fd_close(f(z), central_difference(np_sigmoid, z))
    s = np_sigmoid(z)
    np.testing.assert_allclose(f(z), s * (1 - s), **EXACT)  # the course's sigma (1 - sigma)
    activations, _ = numpy_layers()
    np.testing.assert_allclose(activations.sigmoid_grad(z), f(z), **EXACT)


def test_sigmoid_derivative_symbolic_answers():
    d = D.sigmoid_derivative()
    z = S("z")
    assert d.is_equivalent(sigma(z) * (1 - sigma(z)))
    assert d.is_equivalent(sp.exp(-z) / (1 + sp.exp(-z)) ** 2)
    assert d.is_equivalent(sp.exp(z) / (1 + sp.exp(z)) ** 2)
    assert not d.is_equivalent(sigma(z))
    assert not d.is_equivalent(sigma(z) * (1 + sigma(z)))
    assert not d.is_equivalent(1 - sigma(z))
    assert d.symbols == ("z",) and d.function_names == ("sigma",)


# --------------------------------------------------------------------------- binary cross-entropy


def test_bce_derivative(rng):
    d = D.bce_derivative()
    f = to_numpy_function(d)
    assert d.inputs == ("a", "y")
    a = rng.uniform(0.02, 0.98, N_POINTS)
    y = np.concatenate([rng.integers(0, 2, N_POINTS // 2), rng.uniform(0, 1, N_POINTS // 2)])
    assert_fd_close(f(a, y), central_difference(lambda v: np_bce(v, y), a))
    np.testing.assert_allclose(f(a, y), -y / a + (1 - y) / (1 - a), **EXACT)
    _, losses = numpy_layers()
    loss, da = losses.binary_cross_entropy(a, y)
    n = a.shape[0]
    np.testing.assert_allclose(da * n, f(a, y), **EXACT)  # the layer averages over the batch
    np.testing.assert_allclose(loss, np_bce(a, y).mean(), **EXACT)


def test_bce_derivative_symbolic_answers():
    d = D.bce_derivative()
    a, y = S("a"), S("y")
    assert d.is_equivalent(-y / a + (1 - y) / (1 - a))
    assert d.is_equivalent((a - y) / (a * (1 - a)))
    assert not d.is_equivalent(-y / a - (1 - y) / (1 - a))
    assert not d.is_equivalent(a - y)


# --------------------------------------------------------------------------- through a sigmoid


def test_sigmoid_bce_dz_is_a_minus_y():
    d = D.sigmoid_bce_dz()
    a, y, z = S("a"), S("y"), S("z")
    assert sp.simplify(d.expression - (a - y)) == 0
    assert d.expression.free_symbols == {a, y}
    assert d.is_equivalent(a - y)
    assert not d.is_equivalent(y - a)
    # It is sympy's derivative of the forward in z, written with a = sigma(z).
    assert sp.simplify(d.expression.subs(a, 1 / (1 + sp.exp(-z))) - sp.diff(d.forward, z)) == 0


def test_sigmoid_bce_dz_numerically(rng):
    d = D.sigmoid_bce_dz()
    f = to_numpy_function(d)  # a function of (a, y)
    z = rng.uniform(-5, 5, N_POINTS)
    y = np.concatenate([rng.integers(0, 2, N_POINTS // 2), rng.uniform(0, 1, N_POINTS // 2)])
    a = np_sigmoid(z)
    assert_fd_close(f(a, y), central_difference(lambda v: np_bce(np_sigmoid(v), y), z))
    np.testing.assert_allclose(f(a, y), a - y, **EXACT)
    # The numpy layers chained: dL/dz = dL/da * sigma'(z).
    activations, losses = numpy_layers()
    _, da = losses.binary_cross_entropy(a, y)
    np.testing.assert_allclose(da * a.shape[0] * activations.sigmoid_grad(z), f(a, y),
                               rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- softmax cross-entropy


def _onehot(labels, k):
    return np.eye(k)[labels]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_softmax_cross_entropy_gradient(rng, k):
    d = D.softmax_cross_entropy_gradient(k)
    assert d.is_vector and d.expression.shape == (k, 1)
    assert D.verify_softmax_cross_entropy_gradient(d)
    f = to_numpy_function(d)
    z = rng.normal(0, 3, (N_POINTS, k))
    labels = rng.integers(0, k, N_POINTS)
    y = _onehot(labels, k)
    got = f(*z.T, *y.T)
    assert got.shape == (N_POINTS, k)
    fd = np.stack(
        [central_difference(lambda v, i=i: np_softmax_ce(z + np.outer(v - z[:, i], np.eye(k)[i]), y), z[:, i])
         for i in range(k)], axis=-1)
    assert_fd_close(got, fd)
    np.testing.assert_allclose(got, np_softmax(z) - y, **EXACT)  # softmax - onehot
    _, losses = numpy_layers()
    for targets in (labels, y):
        loss, dlogits = losses.softmax_cross_entropy(z, targets)
        np.testing.assert_allclose(dlogits * N_POINTS, got, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(loss, np_softmax_ce(z, y).mean(), rtol=1e-12)


def test_softmax_gradient_is_the_true_derivative_for_any_y(rng):
    # The expression is sympy's gradient without using sum(y) = 1: it matches
    # finite differences for soft labels too; only the closed form needs one-hot y.
    d = D.softmax_cross_entropy_gradient(3)
    f = to_numpy_function(d)
    z = rng.normal(0, 2, (50, 3))
    y = rng.uniform(0, 1, (50, 3))  # not normalised
    fd = np.stack(
        [central_difference(lambda v, i=i: np_softmax_ce(z + np.outer(v - z[:, i], np.eye(3)[i]), y), z[:, i])
         for i in range(3)], axis=-1)
    assert_fd_close(f(*z.T, *y.T), fd)


def test_softmax_gradient_symbolic_answers():
    d = get_derivation("softmax_cross_entropy_gradient")
    s = [S(f"s{i}") for i in (1, 2, 3)]
    y = [S(f"y{i}") for i in (1, 2, 3)]
    z = [S(f"z{i}") for i in (1, 2, 3)]
    total = sum(sp.exp(v) for v in z)
    assert d.is_equivalent(sp.ImmutableMatrix([si - yi for si, yi in zip(s, y)]))
    assert d.is_equivalent(sp.ImmutableMatrix([sp.exp(zi) / total - yi for zi, yi in zip(z, y)]))
    assert not d.is_equivalent(sp.ImmutableMatrix(s))
    assert not d.is_equivalent(sp.ImmutableMatrix([yi - si for si, yi in zip(s, y)]))
    assert not d.is_equivalent(s[0] - y[0])  # a scalar is not the gradient vector
    assert not d.is_equivalent(sp.ImmutableMatrix([s[0] - y[0], s[1] - y[1]]))


def test_softmax_gradient_check_rejects_a_wrong_gradient():
    d = D.softmax_cross_entropy_gradient(3)
    wrong = dataclasses.replace(d, expression=-d.expression)
    assert not D.verify_softmax_cross_entropy_gradient(wrong)
    with pytest.raises(ValueError):
        D.softmax_cross_entropy_gradient(1)


# --------------------------------------------------------------------------- chain rule (seed 001)


def test_chain_rule_example(rng):
    d = D.chain_rule_example()
    f = to_numpy_function(d)
    t = rng.uniform(-2, 2, N_POINTS)
    def np_f(t):  # f = y + exp(x y), x = cos t, y = t^2
        return t**2 + np.exp(np.cos(t) * t**2)

    assert_fd_close(f(t), central_difference(np_f, t))
    # The lecture's multivariate chain rule: df/dt = (y e^{xy})(-sin t) + (1 + x e^{xy}) 2t.
    x, y = np.cos(t), t**2
    lecture = y * np.exp(x * y) * (-np.sin(t)) + (1 + x * np.exp(x * y)) * 2 * t
    np.testing.assert_allclose(f(t), lecture, rtol=1e-12, atol=1e-12)


def test_chain_rule_symbolic_answers():
    d = D.chain_rule_example()
    t, x, y = S("t"), S("x"), S("y")
    assert d.is_equivalent(y * sp.exp(x * y) * (-sp.sin(t)) + (1 + x * sp.exp(x * y)) * 2 * t)
    assert d.is_equivalent(2 * t + sp.exp(t**2 * sp.cos(t)) * (2 * t * sp.cos(t) - t**2 * sp.sin(t)))
    assert not d.is_equivalent(y * sp.exp(x * y) * sp.sin(t) + (1 + x * sp.exp(x * y)) * 2 * t)
    assert d.inputs == ("t",) and set(d.symbols) == {"t", "x", "y"}


# --------------------------------------------------------------------------- logistic least squares


def _logistic_forward(w, b, x, t, lam):
    z = w * x + b
    y = np_sigmoid(z)
    L = 0.5 * (y - t) ** 2
    R = 0.5 * w**2
    return {"z": z, "y": y, "L": L, "R": R, "L_reg": L + lam * R}


# L_reg as a function of one node, every other quantity held at its forward value:
# the meaning of that node's error signal.
_DOWNSTREAM = {
    "L_reg": lambda v, p, n: v,
    "R": lambda v, p, n: n["L"] + p["lam"] * v,
    "L": lambda v, p, n: v + p["lam"] * n["R"],
    "y": lambda v, p, n: 0.5 * (v - p["t"]) ** 2 + p["lam"] * n["R"],
    "z": lambda v, p, n: 0.5 * (np_sigmoid(v) - p["t"]) ** 2 + p["lam"] * n["R"],
    "w": lambda v, p, n: _logistic_forward(v, p["b"], p["x"], p["t"], p["lam"])["L_reg"],
    "b": lambda v, p, n: _logistic_forward(p["w"], v, p["x"], p["t"], p["lam"])["L_reg"],
}


@pytest.fixture
def logistic_point(rng):
    p = {
        "w": rng.uniform(-2, 2, N_POINTS),
        "b": rng.uniform(-1, 1, N_POINTS),
        "x": rng.uniform(-2, 2, N_POINTS),
        "t": rng.uniform(0, 1, N_POINTS),
        "lam": rng.uniform(0, 0.5, N_POINTS),
    }
    return p, _logistic_forward(**p)


@pytest.mark.parametrize("bar", D.LOGISTIC_BACKWARD_ORDER)
def test_logistic_backward_matches_finite_differences(bar, logistic_point):
    p, nodes = logistic_point
    d = D.logistic_least_squares_backward()[bar]
    assert d.inputs == ("w", "b", "x", "t", "lam")
    v = bar[: -len("_bar")]
    got = to_numpy_function(d)(*(p[n] for n in d.inputs))
    value = p[v] if v in p else nodes[v]
    fd = central_difference(lambda u: _DOWNSTREAM[v](u, p, nodes), value)
    assert_fd_close(got, fd)


def test_logistic_backward_matches_the_lecture(logistic_point):
    # Seed 001's backward pass, in numpy: L_reg_bar = 1, R_bar = lam, L_bar = 1,
    # y_bar = y - t, z_bar = y_bar sigma'(z), w_bar = z_bar x + R_bar w, b_bar = z_bar.
    p, n = logistic_point
    backward = D.logistic_least_squares_backward()
    got = {bar: to_numpy_function(d)(*(p[k] for k in d.inputs)) for bar, d in backward.items()}
    y_bar = n["y"] - p["t"]
    z_bar = y_bar * n["y"] * (1 - n["y"])
    expected = {
        "L_reg_bar": np.ones(N_POINTS), "R_bar": p["lam"], "L_bar": np.ones(N_POINTS),
        "y_bar": y_bar, "z_bar": z_bar, "w_bar": z_bar * p["x"] + p["lam"] * p["w"], "b_bar": z_bar,
    }
    assert list(got) == list(D.LOGISTIC_BACKWARD_ORDER)
    for bar in got:
        np.testing.assert_allclose(got[bar], expected[bar], rtol=1e-10, atol=1e-12, err_msg=bar)
    activations, _ = numpy_layers()
    np.testing.assert_allclose(got["z_bar"], y_bar * activations.sigmoid_grad(n["z"]), rtol=1e-10, atol=1e-12)


def test_logistic_backward_symbolic_answers():
    bw = D.logistic_least_squares_backward()
    w, b, x, t, lam, z, y = (S(n) for n in ("w", "b", "x", "t", "lam", "z", "y"))
    y_bar, z_bar, R_bar, L_bar = S("y_bar"), S("z_bar"), S("R_bar"), S("L_bar")
    assert bw["L_reg_bar"].is_equivalent(sp.Integer(1))
    assert bw["R_bar"].is_equivalent(lam)
    assert bw["L_bar"].is_equivalent(sp.Integer(1))
    assert bw["y_bar"].is_equivalent(y - t)
    assert bw["y_bar"].is_equivalent(L_bar * (y - t))
    assert bw["z_bar"].is_equivalent(y_bar * sigma_prime(z))
    assert bw["z_bar"].is_equivalent(y_bar * sigma(z) * (1 - sigma(z)))
    assert bw["z_bar"].is_equivalent((y - t) * y * (1 - y))
    assert bw["w_bar"].is_equivalent(z_bar * x + R_bar * w)  # the curriculum's form
    assert bw["w_bar"].is_equivalent(z_bar * x + lam * w)
    assert bw["w_bar"].is_equivalent((sigma(w * x + b) - t) * sigma_prime(w * x + b) * x + lam * w)
    assert bw["b_bar"].is_equivalent(z_bar)
    # Wrong answers: the unregularised w_bar, a sign error, a missing sigma'.
    assert not bw["w_bar"].is_equivalent(z_bar * x)
    assert not bw["w_bar"].is_equivalent(z_bar * x - lam * w)
    assert not bw["z_bar"].is_equivalent(y_bar)
    assert not bw["b_bar"].is_equivalent(z_bar * x)
    # An answer may only use what comes before it: not itself, not a sibling leaf.
    assert "w_bar" not in bw["w_bar"].symbols and "b_bar" not in bw["w_bar"].symbols
    assert "w_bar" not in bw["b_bar"].symbols
    assert "z_bar" in bw["w_bar"].symbols and "R_bar" in bw["w_bar"].symbols
    assert "y_bar" not in bw["y_bar"].symbols


def test_logistic_leaf_gradients_are_sympys_derivatives_of_the_forward():
    bw = D.logistic_least_squares_backward()
    for bar in ("w_bar", "b_bar"):
        d = bw[bar]
        assert sp.simplify(sp.diff(d.forward, S(d.wrt)) - d.expression) == 0


# --------------------------------------------------------------------------- registry and contract


def test_registry_lists_every_derivation():
    assert set(D.DERIVATIONS) == {
        "sigmoid_derivative", "bce_derivative", "sigmoid_bce_dz", "softmax_cross_entropy_gradient",
        "chain_rule_example", *(f"logistic_least_squares.{b}" for b in D.LOGISTIC_BACKWARD_ORDER),
    }
    for name, build in D.DERIVATIONS.items():
        d = get_derivation(name)
        assert isinstance(d, D.Derivation)
        assert d.name == name
        assert build() == d
        assert d.description


def test_unknown_derivation():
    with pytest.raises(KeyError) as info:
        get_derivation("tanh_derivative")
    assert "tanh_derivative" in str(info.value) and "sigmoid_derivative" in str(info.value)


@pytest.mark.parametrize("name", sorted(D.DERIVATIONS))
def test_derivation_contract(name, rng):
    d = get_derivation(name)
    # Frozen.
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "x"  # type: ignore[misc]
    # Fully evaluated by sympy, in the inputs only, with plain symbols a parser can rebuild.
    expr = d.expression
    assert not expr.has(sp.Derivative) and not expr.has(sp.Subs)
    assert not expr.atoms(sp.core.function.AppliedUndef)
    assert {str(s) for s in expr.free_symbols} <= set(d.inputs) <= set(d.symbols)
    assert all(s == sp.Symbol(str(s)) for s in expr.free_symbols | d.forward.free_symbols)
    assert all(n.isidentifier() and n != "lambda" for n in d.symbols)
    assert set(d.symbols) == set(d.inputs) | {n for n, _ in d.definitions}
    for _, definition in d.definitions:
        assert {str(s) for s in definition.free_symbols} <= set(d.inputs)
    # Its own expression is equivalent to itself, and a perturbation of it is not.
    assert d.is_equivalent(expr)
    assert not d.is_equivalent(expr + 1 if not d.is_vector else expr + sp.ones(*expr.shape))
    # The numpy function broadcasts and is finite on a sensible domain.
    f = to_numpy_function(d)
    args = [rng.uniform(0.1, 0.9, 7) for _ in d.inputs]
    out = f(*args)
    assert out.shape == ((7,) if not d.is_vector else (7, expr.shape[0]))
    assert out.dtype == np.float64 and np.all(np.isfinite(out))


@pytest.mark.parametrize("name", ["sigmoid_derivative", "bce_derivative", "chain_rule_example"])
def test_expression_is_sympys_derivative_of_forward(name):
    d = get_derivation(name)
    assert sp.simplify(sp.diff(d.forward, S(d.wrt)) - d.expression) == 0


def test_expand_replaces_functions_definitions_and_constraints():
    t = S("t")
    d = D.chain_rule_example()
    assert d.expand(S("x") * S("y")) == sp.cos(t) * t**2
    z = S("z")
    assert sp.simplify(D.sigmoid_derivative().expand(sigma(z)) - 1 / (1 + sp.exp(-z))) == 0
    sm = D.softmax_cross_entropy_gradient(3)
    assert sm.expand(S("y3")) == 1 - S("y1") - S("y2")


def test_strings_are_never_sympified():
    d = D.sigmoid_bce_dz()
    with pytest.raises(TypeError, match="string"):
        d.is_equivalent("a - y")
    with pytest.raises(TypeError):
        d.expand("__import__('os')")
    assert D.logistic_least_squares_backward()["L_bar"].is_equivalent(1)  # plain numbers are fine


def test_logistic_backward_local_form_is_the_lectures():
    bw = D.logistic_least_squares_backward()
    w, x, t, y, z = (S(n) for n in ("w", "x", "t", "y", "z"))
    R_bar, z_bar, y_bar = S("R_bar"), S("z_bar"), S("y_bar")
    expected_local = {
        "L_reg_bar": 1, "R_bar": S("lam"), "L_bar": 1, "y_bar": y - t,
        "z_bar": y_bar * sp.diff(1 / (1 + sp.exp(-z)), z), "w_bar": z_bar * x + R_bar * w, "b_bar": z_bar,
    }
    for bar, d in bw.items():
        assert sp.simplify(d.local - expected_local[bar]) == 0, bar
        assert {str(s) for s in d.local.free_symbols} <= set(d.symbols)
        assert sp.simplify(d.expand(d.local) - d.expression) == 0, bar


@pytest.mark.parametrize("name, answer, form", [
    ("sigmoid_derivative", "sigma(z)*(1 - sigma(z))", "expression"),
    ("bce_derivative", "-y/a + (1-y)/(1-a)", "expression"),
    ("sigmoid_bce_dz", "a - y", "expression"),
    ("chain_rule_example", "2t + exp(t^2 cos(t))(2t cos(t) - t^2 sin(t))", "expression"),
    ("logistic_least_squares.w_bar", "(sigma(w x + b) - t) sigma(w x + b)(1 - sigma(w x + b)) x + lam w",
     "expression"),
    ("logistic_least_squares.w_bar", "z_bar x + R_bar w", "local"),
    ("logistic_least_squares.z_bar", "y_bar sigma(z)(1 - sigma(z))", "local"),
    ("logistic_least_squares.y_bar", "y - t", "local"),
])
def test_expected_strings_are_read_by_the_graders_parser(name, answer, form):
    # The grader's Expression check takes sympy's str() of a derivation as the expected text.
    from grader.engine.checks.symbolic import Expression

    expr = getattr(get_derivation(name), form)
    symbols = tuple(sorted(str(s) for s in expr.free_symbols))
    check = Expression(symbols=symbols)
    assert check.check(answer, str(expr)).fraction == 1.0
    assert check.check(f"2*({answer})", str(expr)).fraction == 0.0
