"""The composable numpy network: gradients of whole models against central
differences (relative error < GRAD_TOL = 1e-7), SGD, XOR, the 2-2-2 step."""

import numpy as np
import pytest

from reference.gradcheck import numerical_gradient, relative_error
from reference.lectures import (
    XOR_INPUTS,
    XOR_TARGETS,
    two_layer_network,
    two_layer_network_example,
    two_layer_weights,
    xor_training_example,
)
from reference.network import SGD, Activation, Conv2D, Dense, Flatten, MaxPool, Sequential

GRAD_TOL = 1e-7


def assert_model_gradients_match_central_differences(model, x, y):
    model.forward_backward(x, y)
    analytic = {name: grad.copy() for name, grad in model.grads().items()}
    params = model.params()
    assert analytic.keys() == params.keys()
    for name, param in params.items():
        # param is the layer's own array, perturbed in place by numerical_gradient.
        numeric = numerical_gradient(lambda _: model.loss_fn(model.forward(x), y)[0], param)
        error = relative_error(analytic[name], numeric)
        assert error < GRAD_TOL, f"{name}: relative error {error:.2e}"


def test_mlp_gradients(rng):
    model = Sequential(
        [Dense.random(3, 5, rng), Activation("tanh"), Dense.random(5, 4, rng), Activation("sigmoid"),
         Dense.random(4, 2, rng)],
        loss="squared_error",
    )  # fmt: skip
    assert_model_gradients_match_central_differences(model, rng.standard_normal((6, 3)), rng.standard_normal((6, 2)))


def test_small_cnn_gradients_with_softmax_cross_entropy(rng):
    model = Sequential(
        [
            Conv2D.random(3, 2, 3, rng, stride=1, padding="same"),
            Activation("tanh"),
            MaxPool(2, 2),
            Conv2D.random(2, 3, 2, rng, stride=2, padding=1),
            Flatten(),
            Dense.random(2 * 2 * 2, 3, rng),
        ],
        loss="softmax_cross_entropy",
    )
    x = rng.standard_normal((2, 6, 6, 2))
    assert model.forward(x).shape == (2, 3)
    assert_model_gradients_match_central_differences(model, x, np.array([0, 2]))


def test_params_and_grads_are_keyed_by_layer_and_name(rng):
    model = Sequential([Dense.random(2, 3, rng), Activation("relu"), Dense.random(3, 1, rng)])
    assert list(model.params()) == ["0.W", "0.b", "2.W", "2.b"]
    model.forward_backward(rng.standard_normal((4, 2)), rng.standard_normal((4, 1)))
    grads = model.grads()
    assert list(grads) == list(model.params())
    assert all(grads[k].shape == v.shape for k, v in model.params().items())


def test_sgd_updates_the_layers_parameters_in_place(rng):
    layer = Dense.random(2, 2, rng)
    model = Sequential([layer])
    W_before = layer.params["W"].copy()
    model.forward_backward(rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))
    dW = layer.grads["W"].copy()
    SGD(lr=0.25).step(model)
    np.testing.assert_allclose(layer.params["W"], W_before - 0.25 * dW, rtol=1e-15)
    assert model.params()["0.W"] is layer.params["W"]


def test_sgd_refuses_to_step_before_a_backward_pass(rng):
    with pytest.raises(ValueError, match=r"no gradient for parameter '0.W'"):
        SGD(0.1).step(Sequential([Dense.random(2, 2, rng)]))
    with pytest.raises(ValueError, match="lr must be positive, got 0"):
        SGD(0)


def test_bad_layer_and_loss_names_are_rejected():
    with pytest.raises(ValueError, match=r"'sigmoid', 'tanh', 'relu'.*got 'gelu'"):
        Activation("gelu")
    with pytest.raises(ValueError, match=r"'squared_error', 'softmax_cross_entropy'.*got 'hinge'"):
        Sequential([], loss="hinge")


def test_flatten_round_trips_the_shape(rng):
    layer = Flatten()
    x = rng.standard_normal((2, 3, 4, 5))
    out = layer.forward(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(layer.backward(out), x)


def test_an_mlp_learns_xor_from_a_fixed_seed():
    result = xor_training_example(seed=0)
    predictions = (result.outputs > 0.5).astype(float)
    np.testing.assert_array_equal(predictions, XOR_TARGETS)
    assert np.max(np.abs(result.outputs - XOR_TARGETS)) < 0.01
    assert result.losses[-1] < 1e-3 * result.losses[0]
    np.testing.assert_array_equal(result.model.forward(XOR_INPUTS)[:, 0], result.outputs)


def test_the_2_2_2_network_takes_the_lectures_gradient_step():
    example = two_layer_network_example()
    model = two_layer_network(**two_layer_weights())
    x, y = example.x[None], example.y[None]

    loss = model.forward_backward(x, y)
    assert loss == example.loss
    grads = model.grads()
    for name, expected in [("0.W", example.dW1), ("0.b", example.db1), ("2.W", example.dW2), ("2.b", example.db2)]:
        np.testing.assert_allclose(grads[name], expected, rtol=1e-15, err_msg=name)

    SGD(example.learning_rate).step(model)
    params = model.params()
    for name, expected in [("0.W", example.W1_new), ("0.b", example.b1_new), ("2.W", example.W2_new), ("2.b", example.b2_new)]:
        np.testing.assert_array_equal(params[name], expected, err_msg=name)
