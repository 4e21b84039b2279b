"""Activations, dense layer, losses and the gradient-check helpers.

Every backward pass is compared with central differences of its own forward
pass (reference.gradcheck, h = 1e-5) and must agree to a relative error
below GRAD_TOL = 1e-7 (relative_error: max abs difference over max
magnitude).
"""

import warnings

import numpy as np
import pytest

from reference.activations import (
    activation_backward,
    activation_forward,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    tanh,
    tanh_grad,
)
from reference.dense import dense_backward, dense_forward
from reference.gradcheck import numerical_gradient, numerical_gradient_array, relative_error
from reference.losses import (
    binary_cross_entropy,
    one_hot,
    softmax,
    softmax_cross_entropy,
    squared_error_loss,
)

GRAD_TOL = 1e-7


def assert_close_gradient(analytic, numeric):
    assert analytic.shape == numeric.shape
    error = relative_error(analytic, numeric)
    assert error < GRAD_TOL, f"relative error {error:.2e} >= {GRAD_TOL:.0e}"


def away_from_zero(rng, shape, margin=0.05):
    """Normal samples pushed at least `margin` away from 0, where relu has its kink."""
    z = rng.standard_normal(shape)
    return z + np.sign(z) * margin


# ---------------------------------------------------------------- activations


def test_sigmoid_matches_its_definition(rng):
    z = rng.uniform(-20, 20, size=(5, 7))
    np.testing.assert_allclose(sigmoid(z), 1.0 / (1.0 + np.exp(-z)), rtol=1e-15, atol=0)


def test_sigmoid_is_stable_at_large_inputs():
    z = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning fails the test
        a = sigmoid(z)
        grad = sigmoid_grad(z)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(grad))
    assert a[0] == 0.0 and a[-1] == 1.0 and a[2] == 0.5
    np.testing.assert_allclose(a[::-1], 1.0 - a, rtol=0, atol=1e-300)  # sigma(-z) = 1 - sigma(z)
    assert 0.0 < a[1] < 1e-320  # exp(-745) survives as a subnormal, no 1 - 1 cancellation


def test_activation_functions_accept_scalars():
    assert sigmoid(0.0) == 0.5
    assert np.ndim(sigmoid(3.0)) == 0
    assert relu(-2.0) == 0.0 and relu(2.5) == 2.5
    assert tanh(0.0) == 0.0


def test_relu_gradient_is_zero_at_zero_like_tensorflow():
    z = np.array([-1.0, -0.0, 0.0, 1e-300, 2.0])
    np.testing.assert_array_equal(relu_grad(z), (z > 0).astype(float))
    assert relu_grad(0.0) == 0.0


@pytest.mark.parametrize(
    "function, derivative", [(sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)]
)
@pytest.mark.parametrize("shape", [(1,), (3, 4), (2, 3, 5)])
def test_elementwise_derivatives_match_central_differences(rng, function, derivative, shape):
    z = away_from_zero(rng, shape) * 2
    numeric = numerical_gradient_array(function, z, np.ones(shape))
    assert_close_gradient(derivative(z), numeric)


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("shape", [(1, 1), (4, 6), (2, 3, 4)])
def test_activation_backward_matches_central_differences(rng, kind, shape):
    z = away_from_zero(rng, shape) * 2
    da = rng.standard_normal(shape)
    a, cache = activation_forward(z, kind)
    dz = activation_backward(da, cache)
    numeric = numerical_gradient_array(lambda v: activation_forward(v, kind)[0], z, da)
    assert a.shape == shape
    assert_close_gradient(dz, numeric)


def test_activation_forward_rejects_unknown_kind_and_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'sigmoid', 'tanh', 'relu'.*got 'softplus'"):
        activation_forward(np.zeros(3), "softplus")


def test_activation_backward_rejects_mismatched_gradient_shape():
    _, cache = activation_forward(np.zeros((2, 3)), "tanh")
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        activation_backward(np.zeros((3, 2)), cache)


# ---------------------------------------------------------------- dense


@pytest.mark.parametrize("n, d, m", [(1, 3, 2), (4, 5, 3), (7, 1, 6)])
def test_dense_backward_matches_central_differences(rng, n, d, m):
    x = rng.standard_normal((n, d))
    W = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    out, cache = dense_forward(x, W, b)
    dx, dW, db = dense_backward(dout, cache)

    assert out.shape == (n, m)
    assert_close_gradient(dx, numerical_gradient_array(lambda v: dense_forward(v, W, b)[0], x, dout))
    assert_close_gradient(dW, numerical_gradient_array(lambda v: dense_forward(x, v, b)[0], W, dout))
    assert_close_gradient(db, numerical_gradient_array(lambda v: dense_forward(x, W, v)[0], b, dout))


def test_dense_forward_computes_x_times_W_plus_b(rng):
    x = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 2))
    b = rng.standard_normal(2)
    out, _ = dense_forward(x, W, b)
    expected = [[sum(x[i, k] * W[k, j] for k in range(4)) + b[j] for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_dense_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\), got shape \(3,\)"):
        dense_forward(np.zeros(3), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"x has 3 features but W expects 4 \(x.shape=\(2, 3\), W.shape=\(4, 2\)\)"):
        dense_forward(np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have shape \(M,\) = \(2,\), got shape \(3,\)"):
        dense_forward(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(3))
    _, cache = dense_forward(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"dout must have shape .* = \(2, 2\), got shape \(2, 3\)"):
        dense_backward(np.zeros((2, 3)), cache)


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("shape", [(1, 1), (5,), (4, 3)])
def test_squared_error_loss_value_and_gradient(rng, shape):
    y_pred = rng.standard_normal(shape)
    y = rng.standard_normal(shape)
    loss, dy_pred = squared_error_loss(y_pred, y)
    n = shape[0]
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.sum((y_pred - y) ** 2) / (2 * n), rel=1e-14)
    numeric = numerical_gradient(lambda v: squared_error_loss(v, y)[0], y_pred)
    assert_close_gradient(dy_pred, numeric)


@pytest.mark.parametrize("shape", [(1,), (6,), (4, 1), (3, 5)])
def test_binary_cross_entropy_value_and_gradient(rng, shape):
    a = rng.uniform(0.05, 0.95, size=shape)
    y = rng.integers(0, 2, size=shape).astype(float)
    loss, da = binary_cross_entropy(a, y)
    per_element = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    assert loss == pytest.approx(per_element.sum() / shape[0], rel=1e-14)
    numeric = numerical_gradient(lambda v: binary_cross_entropy(v, y)[0], a)
    assert_close_gradient(da, numeric)


def test_binary_cross_entropy_through_a_sigmoid_has_gradient_a_minus_y(rng):
    # The lecture's dz = a - y (seed 002), per example; the batch mean adds 1/N.
    z = rng.standard_normal(8)
    y = rng.integers(0, 2, size=8).astype(float)
    a, cache = activation_forward(z, "sigmoid")
    _, da = binary_cross_entropy(a, y)
    np.testing.assert_allclose(activation_backward(da, cache), (a - y) / 8, rtol=1e-12)


def test_binary_cross_entropy_rejects_probabilities_outside_the_open_interval():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        binary_cross_entropy(np.array([0.5, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
        binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"a.shape=\(2,\) and y.shape=\(3,\)"):
        binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, 1.0, 1.0]))


def test_softmax_rows_are_distributions_and_shift_invariant(rng):
    z = rng.standard_normal((4, 6)) * 3
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(softmax(z + 50.0), p, rtol=1e-13)


def test_softmax_and_cross_entropy_are_stable_at_1000():
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(z)
        loss, dlogits = softmax_cross_entropy(z, np.array([2, 0]))
    assert np.all(np.isfinite(p)) and np.isfinite(loss) and np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(p[1], np.full(3, 1 / 3), rtol=1e-15)
    # Example 0 puts all its mass 2000 below the winner: its loss is 2000;
    # example 1 is uniform over 3 classes: log 3. Mean over the batch.
    assert loss == pytest.approx((2000.0 + np.log(3.0)) / 2, rel=1e-15)


@pytest.mark.parametrize("n, k", [(1, 2), (5, 4), (3, 10)])
def test_softmax_cross_entropy_gradient_with_labels_and_one_hot(rng, n, k):
    logits = rng.standard_normal((n, k)) * 2
    labels = rng.integers(0, k, size=n)
    targets = one_hot(labels, k)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    loss_1h, dlogits_1h = softmax_cross_entropy(logits, targets)

    assert loss == pytest.approx(loss_1h, rel=1e-15)
    np.testing.assert_array_equal(dlogits, dlogits_1h)
    np.testing.assert_allclose(dlogits, (softmax(logits) - targets) / n, rtol=1e-15)
    expected_loss = -np.mean(np.log(softmax(logits)[np.arange(n), labels]))
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    numeric = numerical_gradient(lambda v: softmax_cross_entropy(v, labels)[0], logits)
    assert_close_gradient(dlogits, numeric)


def test_softmax_cross_entropy_validates_labels():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\) for 4 classes, got values in \[0, 4\]"):
        softmax_cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\).*\[-1, 1\]"):
        softmax_cross_entropy(logits, np.array([0, 1, -1]))
    with pytest.raises(ValueError, match=r"integer labels y must have shape \(N,\) = \(3,\), got shape \(2,\)"):
        softmax_cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="integer dtype, got dtype float64"):
        softmax_cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape of logits \(N, K\) = \(3, 4\), got shape \(3, 5\)"):
        softmax_cross_entropy(logits, np.eye(5)[:3])
    with pytest.raises(ValueError, match="probability distribution"):
        softmax_cross_entropy(logits, np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match=r"logits must be 2-D \(N, K\), got shape \(4,\)"):
        softmax_cross_entropy(np.zeros(4), np.array([1]))


def test_squared_error_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"y_pred.shape=\(4, 2\) and y.shape=\(4,\)"):
        squared_error_loss(np.zeros((4, 2)), np.zeros(4))


# ---------------------------------------------------------------- gradcheck


def test_numerical_gradient_restores_its_input_and_differentiates(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    np.testing.assert_array_equal(x, before)
    assert relative_error(grad, np.cos(x) * x + np.sin(x)) < 1e-9


def test_numerical_gradient_array_is_the_vector_jacobian_product(rng):
    x = rng.standard_normal(5)
    dout = rng.standard_normal(5)
    before = x.copy()
    grad = numerical_gradient_array(np.exp, x, dout)
    np.testing.assert_array_equal(x, before)
    assert relative_error(grad, np.exp(x) * dout) < 1e-9


def test_relative_error_is_scaled_by_the_largest_entries(rng):
    a = rng.standard_normal(10)
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(3), np.ones(3)) == 1.0
    b = a + 1e-9
    assert relative_error(1e6 * a, 1e6 * b) == pytest.approx(relative_error(a, b), rel=1e-6)
    # A tiny entry that is off by rounding does not dominate the error.
    c = np.array([1.0, 1e-17])
    assert relative_error(c, np.array([1.0, 2e-17])) < 1e-16
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))
