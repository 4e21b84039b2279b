"""Assignment 01: forward and backward passes (seeds 000, 001, 002, 004).

Every expected value below is computed by ``reference/``; the inputs are
drawn from each question's seeded generator ``q.rng``.
"""

import numpy as np

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Form, Number, ReluNetworkOutputs
from reference import activations as act
from reference import lectures
from reference.dense import dense_backward, dense_forward
from reference.losses import squared_error_loss

assignment = Assignment("01_backprop", title="Forward and backward passes", module="backprop",
                        limits={"wall_seconds": 60, "memory_bytes": 2 * 2**30})

VALUES = ArrayClose(rtol=1e-9, atol=1e-12)   # elementwise float64 functions
FOUR_DECIMALS = Number(decimals=4)           # rounded or truncated to 4 decimals
NETWORK = lectures.two_layer_network_example()
ANSWER_NAMES = ["HIDDEN_Z", "HIDDEN_A", "OUTPUT_Z", "OUTPUT_A", "LOSS", "DL_DW11_LAYER2",
                "DL_DW11_LAYER1", "W11_LAYER2_AFTER_STEP", "GIVEN_NETWORK_MSE"]
GIVEN_NETWORK = dict(W=[[1, 1], [1, 1]], c=[0, -1], w=[1, -1], b=0)


# -- public: the API is there and has the right shapes ------------------------

@assignment.question(points=1, public=True)
def sigmoid_basics(q):
    """sigmoid on a small array"""
    z = np.array([[-2.0, 0.0, 2.0]])
    q.call("sigmoid", z, expected=act.sigmoid(z), check=VALUES)


@assignment.question(points=1, public=True)
def dense_forward_shape(q):
    """dense_forward returns (out, cache) with out of shape (N, M)"""
    x, W, b = q.rng.normal(size=(2, 3)), q.rng.normal(size=(3, 4)), q.rng.normal(size=4)
    q.call("dense_forward", x, W, b, pick=0, expected=dense_forward(x, W, b)[0], check=VALUES)


@assignment.question(points=1, public=True)
def answers_are_numbers(q):
    """every numeric answer of parts 4 and 5 is filled in, with the right shape"""
    for name in ANSWER_NAMES:
        shape = (2,) if name.endswith(("_Z", "_A")) else ()
        q.answer(name, expected=None, check=Form(shape=shape), label=name)


# -- hidden: correctness ------------------------------------------------------

@assignment.question(points=2)
def sigmoid_stable(q):
    """sigmoid is exact and does not overflow at |z| = 1000"""
    for z in (q.rng.normal(size=(4, 5)) * 4, np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])):
        q.call("sigmoid", z, expected=act.sigmoid(z), check=VALUES)


@assignment.question(points=3)
def activation_derivatives(q):
    """sigmoid_grad, tanh_grad, relu and relu_grad, including relu_grad(0) = 0"""
    z = np.concatenate([q.rng.normal(size=11) * 3, [0.0]]).reshape(3, 4)
    q.call("sigmoid_grad", z, expected=act.sigmoid_grad(z), check=VALUES)
    q.call("tanh_grad", z, expected=act.tanh_grad(z), check=VALUES)
    q.call("relu", z, expected=act.relu(z), check=VALUES)
    q.call("relu_grad", z, expected=act.relu_grad(z), check=VALUES)


@assignment.question(points=2)
def dense_forward_values(q):
    """dense_forward on other shapes, a batch of 1 included"""
    for n, d, m in ((5, 4, 3), (1, 7, 2)):
        x, W, b = q.rng.normal(size=(n, d)), q.rng.normal(size=(d, m)), q.rng.normal(size=m)
        q.call("dense_forward", x, W, b, pick=0, expected=dense_forward(x, W, b)[0], check=VALUES)


@assignment.question(points=4)
def dense_backward_gradients(q):
    """dense_backward: dx, dW and db, checked against your forward too"""
    for n, d, m in ((4, 5, 3), (1, 3, 2)):
        x, W, b = q.rng.normal(size=(n, d)), q.rng.normal(size=(d, m)), q.rng.normal(size=m)
        q.gradient("dense_forward", "dense_backward", x, W, b,
                   reference=(dense_forward, dense_backward), names=("dx", "dW", "db"))


@assignment.question(points=3)
def activation_layer(q):
    """activation_forward / activation_backward for sigmoid, tanh and relu"""
    for kind in ("sigmoid", "tanh", "relu"):
        z = q.rng.normal(size=(3, 4))
        q.gradient("activation_forward", "activation_backward", z, kind,
                   reference=(act.activation_forward, act.activation_backward), names=("dz",),
                   label=f"activation {kind}")


@assignment.question(points=3)
def squared_error(q):
    """squared_error_loss: the loss and its gradient, averaged over the batch"""
    for n, k in ((4, 3), (1, 2), (6, 1)):
        y_pred, y = q.rng.normal(size=(n, k)), q.rng.normal(size=(n, k))
        q.loss_gradient("squared_error_loss", y_pred, y, reference=squared_error_loss,
                        name="dy_pred", label=f"squared_error_loss on ({n}, {k})")


@assignment.question(points=4)
def lecture_network_forward(q):
    """the 2-2-2 network's forward values and loss"""
    for name, value in (("HIDDEN_Z", NETWORK.z1), ("HIDDEN_A", NETWORK.a1),
                        ("OUTPUT_Z", NETWORK.z2), ("OUTPUT_A", NETWORK.a2)):
        q.answer(name, expected=value, check=FOUR_DECIMALS)
    q.answer("LOSS", expected=NETWORK.loss, check=FOUR_DECIMALS)


@assignment.question(points=4)
def lecture_network_backward(q):
    """dL/dw11 of both layers and w11 of layer 2 after one step"""
    q.answer("DL_DW11_LAYER2", expected=NETWORK.dL_dw11_layer2, check=FOUR_DECIMALS)
    q.answer("DL_DW11_LAYER1", expected=NETWORK.dL_dw11_layer1, check=Number(sigfigs=3))
    q.answer("W11_LAYER2_AFTER_STEP", expected=float(lectures.lecture_weight(NETWORK.W2_new, 1, 1)),
             check=FOUR_DECIMALS)


@assignment.question(points=2)
def xor_weights(q):
    """weights of a ReLU network that computes XOR exactly"""
    xor = lectures.xor_example()
    q.answer("XOR_WEIGHTS", expected=xor.targets,
             check=ReluNetworkOutputs(inputs=xor.inputs.tolist(), atol=1e-9))


@assignment.question(points=1)
def given_network_mse(q):
    """the MSE of the given ReLU network on the four XOR points"""
    q.answer("GIVEN_NETWORK_MSE", expected=lectures.xor_network(**GIVEN_NETWORK).mse,
             check=Number(rtol=1e-6, atol=1e-9))
