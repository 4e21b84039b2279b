"""Activation functions and their derivatives.

Each function works elementwise on an array of any shape (a Python scalar
gives a numpy scalar). ``activation_forward`` / ``activation_backward`` wrap
them as a layer pair, like every other layer of the reference.
"""

import numpy as np

from reference._validate import as_float_array, require_same_shape

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def sigmoid(z):
    """
    The logistic function sigma(z) = 1 / (1 + exp(-z)), computed stably.

    exp is only ever applied to -|z| <= 0, so it cannot overflow:
    for z >= 0, sigma(z) = 1 / (1 + exp(-z));
    for z < 0,  sigma(z) = exp(z) / (1 + exp(z)).

    Inputs:
    - z: array of any shape.

    Returns:
    - a: array of the same shape, values in [0, 1].
    """
    z = as_float_array("sigmoid", "z", z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))[()]


def sigmoid_grad(z):
    """
    Derivative of the sigmoid with respect to its input: sigma(z) (1 - sigma(z)).

    Inputs:
    - z: array of any shape (the pre-activation, not sigma(z)).

    Returns:
    - dsigma/dz: array of the same shape.
    """
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """
    Hyperbolic tangent.

    Inputs:
    - z: array of any shape.

    Returns:
    - a: array of the same shape, values in [-1, 1].
    """
    return np.tanh(as_float_array("tanh", "z", z))


def tanh_grad(z):
    """
    Derivative of tanh with respect to its input: 1 - tanh(z)^2.

    Inputs:
    - z: array of any shape (the pre-activation).

    Returns:
    - dtanh/dz: array of the same shape.
    """
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """
    Rectified linear unit max(0, z).

    Inputs:
    - z: array of any shape.

    Returns:
    - a: array of the same shape.
    """
    return np.maximum(as_float_array("relu", "z", z), 0.0)


def relu_grad(z):
    """
    Derivative of relu with respect to its input: 1 where z > 0, else 0.

    relu is not differentiable at 0; like TensorFlow we use 0 there.

    Inputs:
    - z: array of any shape (the pre-activation).

    Returns:
    - drelu/dz: array of the same shape, float64 zeros and ones.
    """
    return (as_float_array("relu_grad", "z", z) > 0).astype(np.float64)


_FUNCTIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}


def activation_forward(z, kind):
    """
    Forward pass of an activation layer.

    Inputs:
    - z: array of any shape, e.g. (N, M) after a dense layer.
    - kind: "sigmoid", "tanh" or "relu".

    Returns a tuple of:
    - a: array of the same shape as z, the activation applied elementwise.
    - cache: (kind, z, a), for activation_backward.
    """
    if kind not in _FUNCTIONS:
        raise ValueError(
            f"activation_forward: kind must be one of {', '.join(map(repr, ACTIVATIONS))}, "
            f"got {kind!r}"
        )
    z = as_float_array("activation_forward", "z", z)
    a = _FUNCTIONS[kind](z)
    return a, (kind, z, a)


def activation_backward(da, cache):
    """
    Backward pass of an activation layer.

    Inputs:
    - da: upstream derivative dL/da, same shape as the forward output.
    - cache: (kind, z, a) from activation_forward.

    Returns:
    - dz: dL/dz, same shape as z.
    """
    kind, z, a = cache
    da = as_float_array("activation_backward", "da", da)
    require_same_shape("activation_backward", "da", da, "the forward output a", a)
    # The derivatives are written in terms of the output a where that is the
    # textbook form: sigma' = a (1 - a), tanh' = 1 - a^2.
    if kind == "sigmoid":
        local = a * (1.0 - a)
    elif kind == "tanh":
        local = 1.0 - a * a
    else:
        local = relu_grad(z)
    return da * local
