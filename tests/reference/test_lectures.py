"""The lecture notes' worked examples, reproduced by the reference.

The numbers typed in this file are the ones printed in the lecture notes
(tests/../shared/seeds), compared at the precision the lecture prints them.
They are the only typed expected numbers of the project: everything else is
derived by the reference and checked against TensorFlow and finite differences.
"""

import math

import numpy as np
import pytest

from reference.conv import conv_output_size
from reference.gradcheck import numerical_gradient, relative_error
from reference.lectures import (
    lecture_weight,
    output_size_examples,
    sobel_example,
    softmax_gradient_example,
    two_layer_network_example,
    two_layer_weights,
    xor_example,
    xor_network,
)
from reference.losses import softmax, softmax_cross_entropy, squared_error_loss


def decimals(value, k):
    return round(float(value), k)


def truncated(value, k):
    return math.floor(float(value) * 10**k) / 10**k


# ---------------------------------------------------------------- seed 000: the 2-2-2 network


@pytest.fixture(scope="module")
def example():
    return two_layer_network_example()


def test_the_weights_are_the_lectures_in_the_x_W_convention(example):
    # z1_1 = w11 x1 + w12 x2 + b1 with the lecture's w11 = 0.15, w12 = 0.2.
    assert lecture_weight(example.W1, 1, 1) == 0.15
    assert lecture_weight(example.W1, 1, 2) == 0.2
    assert lecture_weight(example.W1, 2, 1) == 0.25
    assert lecture_weight(example.W2, 1, 2) == 0.45
    assert example.z1[0] == pytest.approx(0.15 * 0.05 + 0.2 * 0.1 + 0.35, rel=1e-15)


def test_forward_pass_matches_the_lecture(example):
    assert [decimals(v, 4) for v in example.z1] == [0.3775, 0.3925]
    assert [decimals(v, 4) for v in example.a1] == [0.5933, 0.5969]
    assert [decimals(v, 3) for v in example.z2] == [1.106, 1.225]
    assert [decimals(v, 4) for v in example.a2] == [0.7514, 0.7729]


def test_loss_matches_the_lecture(example):
    assert decimals(example.loss, 4) == 0.2984
    # L = 1/2 * sum (y_pred - y)^2 (the errata's reading of the lecture's formula).
    assert example.loss == pytest.approx(0.5 * np.sum((example.a2 - example.y) ** 2), rel=1e-15)


def test_dL_dw11_of_layer_2_matches_the_lecture(example):
    value = example.dL_dw11_layer2
    assert decimals(value, 4) == 0.0822  # 0.082167 rounded
    assert truncated(value, 4) == 0.0821  # as the lecture prints it
    # The lecture's chain: dL/dy1 * dy1/dz1 * dz1/dw11.
    a2, y, a1 = example.a2, example.y, example.a1
    assert value == pytest.approx((a2[0] - y[0]) * a2[0] * (1 - a2[0]) * a1[0], rel=1e-14)


def test_dL_dw11_of_layer_1_sums_the_two_paths_of_the_lecture(example):
    a2, y, a1, x = example.a2, example.y, example.a1, example.x
    paths = sum(
        (a2[k] - y[k]) * a2[k] * (1 - a2[k]) * lecture_weight(example.W2, k + 1, 1)
        for k in range(2)
    )
    assert example.dL_dw11_layer1 == pytest.approx(paths * a1[0] * (1 - a1[0]) * x[0], rel=1e-14)


def test_all_gradients_match_central_differences(example):
    def loss_with(W1, b1, W2, b2):
        return two_layer_network_example(weights=dict(W1=W1, b1=b1, W2=W2, b2=b2)).loss

    params = {k: v.copy() for k, v in two_layer_weights().items()}
    gradients = {"W1": example.dW1, "b1": example.db1, "W2": example.dW2, "b2": example.db2}
    for name, analytic in gradients.items():
        numeric = numerical_gradient(lambda v: loss_with(**{**params, name: v}), params[name])
        assert relative_error(analytic, numeric) < 1e-7, name


def test_one_gradient_descent_step(example):
    alpha = example.learning_rate
    assert alpha == 0.5  # seed 000 names no rate; 0.5 is documented in reference.lectures
    np.testing.assert_allclose(example.W1_new, example.W1 - alpha * example.dW1, rtol=1e-15)
    np.testing.assert_allclose(example.b1_new, example.b1 - alpha * example.db1, rtol=1e-15)
    np.testing.assert_allclose(example.W2_new, example.W2 - alpha * example.dW2, rtol=1e-15)
    np.testing.assert_allclose(example.b2_new, example.b2 - alpha * example.db2, rtol=1e-15)
    assert example.loss_new < example.loss
    loss_after, _ = squared_error_loss(
        two_layer_network_example(
            weights=dict(W1=example.W1_new, b1=example.b1_new, W2=example.W2_new, b2=example.b2_new)
        ).a2[None],
        example.y[None],
    )
    assert example.loss_new == pytest.approx(loss_after, rel=1e-15)


# ---------------------------------------------------------------- seed 001: XOR


def test_the_lectures_relu_network_computes_xor_exactly():
    result = xor_example()
    np.testing.assert_array_equal(result.outputs, result.targets)
    np.testing.assert_array_equal(result.targets, [0, 1, 1, 0])
    assert result.mse == 0.0


def test_xor_mse_of_another_network_is_the_mean_of_squared_errors():
    result = xor_network(W=[[1, 0], [0, 1]], c=[0, 0], w=[1, 1], b=0)
    np.testing.assert_array_equal(result.outputs, result.inputs.sum(axis=1))
    assert result.mse == pytest.approx(np.mean((result.targets - result.outputs) ** 2), rel=1e-15)
    assert result.mse > 0


# ---------------------------------------------------------------- seed 002: Sobel


def test_sobel_exercise_matches_the_lecture():
    result = sobel_example()
    np.testing.assert_array_equal(result.image, [[2, 0, 3, 1], [1, 1, 0, 0], [1, 0, 2, 0], [1, 0, 1, 2]])
    np.testing.assert_array_equal(result.kernel, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(result.output, [[0, 1], [-1, -1]])


# ---------------------------------------------------------------- seed 003: softmax gradient


def test_softmax_gradient_matches_the_lecture():
    result = softmax_gradient_example()
    np.testing.assert_allclose(result.dL_dz, [-0.5, 0, 0.1, 0.2, 0.1], rtol=0, atol=1e-15)


def test_softmax_cross_entropy_backward_has_the_lectures_closed_form(rng):
    # The closed form y_hat - y used above is what softmax_cross_entropy returns.
    logits = rng.standard_normal((1, 5))
    _, dlogits = softmax_cross_entropy(logits, np.array([0]))
    np.testing.assert_allclose(dlogits[0], softmax(logits)[0] - np.eye(5)[0], rtol=1e-15)


# ---------------------------------------------------------------- output sizes (seeds 001, 002)


def test_output_sizes_match_the_lectures():
    shapes = {example.description: example.output_shape for example in output_size_examples()}
    assert shapes["32x32x3 image, six 5x5 filters"] == (28, 28, 6)
    assert shapes["k=3, s=1, p=1 keeps the size (any w_in; shown for 32)"][:2] == (32, 32)
    assert shapes["(n, f, s, p) = (1, 3, 1, 0), w = 4 (VALID)"][:2] == (2, 2)
    assert shapes["(n, f, s, p) = (1, 3, 1, 1), w = 4 (SAME)"][:2] == (4, 4)
    assert shapes["Sobel exercise, valid"][:2] == (2, 2)
    assert shapes["MNIST, 16 5x5 filters, stride 2, SAME"] == (14, 14, 16)
    assert shapes["CIFAR, 16 5x5 filters, stride 2, SAME"] == (16, 16, 16)
    # The digit recogniser's summary (seed 001): 28x28x8, 14x14x8, 14x14x16, 7x7x16.
    assert shapes["digit recogniser conv 1: 8 5x5 same"] == (28, 28, 8)
    assert shapes["digit recogniser pool 1: 2x2"] == (14, 14, 8)
    assert shapes["digit recogniser conv 2: 16 3x3 same"] == (14, 14, 16)
    assert shapes["digit recogniser pool 2: 2x2 stride 2"] == (7, 7, 16)


@pytest.mark.parametrize("w_in", [4, 7, 28, 32, 224])
def test_k3_s1_p1_keeps_any_size(w_in):
    assert conv_output_size(w_in, 3, 1, 1) == w_in
