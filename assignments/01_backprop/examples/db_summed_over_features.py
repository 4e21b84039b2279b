# Example submission: db of the dense layer summed over the features (axis 1) instead of the batch (axis 0): the message says over which axis dout was summed, not to transpose
# %% [markdown]
# # Assignment 01: forward and backward passes
#
# You implement the building blocks of a neural network in numpy: activations
# and their derivatives, a dense layer, the squared-error loss, each as a
# forward/backward pair. Then you redo the lecture's 2-2-2 network by hand and
# give the weights of a ReLU network that computes XOR.
#
# Conventions (the same in every assignment):
# - arrays are batch-first: `x` is (N, D), `W` is (D, M), `b` is (M,);
# - every layer is a pair `*_forward(...) -> (out, cache)` and
#   `*_backward(dout, cache) -> gradients`, the gradients in the order of the
#   forward's inputs;
# - losses return `(loss, dinput)`: the loss averaged over the batch and its
#   gradient with respect to the prediction;
# - float64 throughout.
#
# Run `dlgrade check backprop.py` (or `dlgrade check backprop.ipynb`) to run
# the public checks before you submit. Hidden checks test more inputs.

# %%
import numpy as np

# %% [markdown]
# ## 1. Activations and their derivatives
#
# sigma(z) = 1 / (1 + exp(-z)). For large negative z, `np.exp(-z)` overflows:
# compute it so that `sigmoid(np.array([-1000.0, 1000.0]))` gives `[0, 1]`
# without a warning. The derivatives are with respect to z.


# %%
def sigmoid(z):
    """The logistic function of an array z of any shape; returns an array of the same shape."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """d sigma / dz at z (any shape)."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_grad(z):
    """d tanh / dz at z (any shape)."""
    t = np.tanh(np.asarray(z, dtype=np.float64))
    return 1.0 - t * t


def relu(z):
    """max(0, z), elementwise."""
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def relu_grad(z):
    """1.0 where z > 0, else 0.0 (we use 0 at z = 0, like TensorFlow)."""
    return (np.asarray(z, dtype=np.float64) > 0).astype(np.float64)


# %% [markdown]
# ## 2. Layers as forward/backward pairs
#
# `dense_forward(x, W, b)` computes `out = x @ W + b` for x (N, D), W (D, M),
# b (M,) and returns `(out, cache)`. `dense_backward(dout, cache)` receives
# dL/dout (N, M) and returns `(dx, dW, db)` with the shapes of x, W and b.
#
# `activation_forward(z, kind)` applies "sigmoid", "tanh" or "relu";
# `activation_backward(da, cache)` returns dL/dz.


# %%
def dense_forward(x, W, b):
    """out = x @ W + b. x: (N, D), W: (D, M), b: (M,). Returns (out (N, M), cache)."""
    out = x @ W + b
    return out, (x, W)


def dense_backward(dout, cache):
    """dout: (N, M). Returns (dx (N, D), dW (D, M), db (M,))."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)


def activation_forward(z, kind):
    """a = g(z) for kind in "sigmoid", "tanh", "relu". Returns (a, cache)."""
    functions = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": relu}
    if kind not in functions:
        raise ValueError(f"kind must be sigmoid, tanh or relu, got {kind!r}")
    return functions[kind](z), (z, kind)


def activation_backward(da, cache):
    """da: dL/da, same shape as z. Returns dL/dz."""
    z, kind = cache
    derivatives = {"sigmoid": sigmoid_grad, "tanh": tanh_grad, "relu": relu_grad}
    return da * derivatives[kind](z)


# %% [markdown]
# ## 3. The squared-error loss
#
# For predictions y_pred and targets y of shape (N, K):
# loss = 1/(2N) * sum over the batch of ||y_pred_i - y_i||^2.
# Return `(loss, dy_pred)`, dy_pred = dL/dy_pred (same shape as y_pred).


# %%
def squared_error_loss(y_pred, y):
    """Returns (loss: float, dy_pred: array shaped like y_pred)."""
    n = y_pred.shape[0]
    diff = y_pred - y
    return float(0.5 * np.sum(diff * diff) / n), diff / n


# %% [markdown]
# ## 4. The lecture's 2-2-2 network, by hand
#
# x = (0.05, 0.1), target y = (0.01, 0.99), sigmoid activations in both layers,
# layer 1: w11 = 0.15, w12 = 0.2, w21 = 0.25, w22 = 0.3, b1 = b2 = 0.35;
# layer 2: w11 = 0.4, w12 = 0.45, w21 = 0.5, w22 = 0.55, b1 = b2 = 0.6
# (w_ij is the weight from input j to neuron i). The loss is
# L = 1/2 * sum_k (y_pred_k - y_k)^2.
#
# Give each answer to at least 4 decimals (rounded or truncated both count),
# except DL_DW11_LAYER1, which is small: give it to 3 significant figures.
# Lists are [neuron 1, neuron 2].

# %%
HIDDEN_Z = [0.3775, 0.3925]          # z of layer 1
HIDDEN_A = [0.59327, 0.59688]        # a = sigma(z) of layer 1
OUTPUT_Z = [1.10591, 1.22492]        # z of layer 2
OUTPUT_A = [0.75137, 0.77293]        # the prediction
LOSS = 0.29837
DL_DW11_LAYER2 = 0.08217             # dL/dw11 of layer 2
DL_DW11_LAYER1 = 0.000439            # dL/dw11 of layer 1: two paths (3 significant figures)
W11_LAYER2_AFTER_STEP = 0.35892      # w11 of layer 2 after one gradient step with alpha = 0.5

# %% [markdown]
# ## 5. XOR with a ReLU hidden layer
#
# f(x) = w . relu(W^T x + c) + b with W (2, 2), c (2,), w (2,), b a number.
# Give weights for which f computes XOR exactly on the four points
# (0,0) -> 0, (0,1) -> 1, (1,0) -> 1, (1,1) -> 0, as a dictionary
# `XOR_WEIGHTS = {"W": ..., "c": ..., "w": ..., "b": ...}`.
#
# Then give the mean squared error J = 1/4 sum over the four points of
# (XOR(x) - f(x))^2 of the network with W = [[1, 1], [1, 1]], c = [0, -1],
# w = [1, -1], b = 0.

# %%
XOR_WEIGHTS = {"W": [[1.0, 1.0], [1.0, 1.0]], "c": [0.0, -1.0], "w": [1.0, -2.0], "b": 0.0}
GIVEN_NETWORK_MSE = 0.25
