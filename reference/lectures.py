"""The lectures' worked examples, recomputed by the reference implementation.

Only the inputs of each example (the data, the initial weights, the image
and filter) are written here; every number the lecture derives from them is
computed by the functions of this package. tests/reference/test_lectures.py
compares them with the numbers printed in the lecture notes.

Notation of the 2-2-2 example (seed 000). The lecture writes
z^[l] = W^[l] a^[l-1] + b^[l] with w^[l]_{i,j} connecting input j to neuron i
(row = neuron, column = input). The reference's dense layer computes
z = x W + b with W of shape (D, M) (row = input, column = neuron), so
W = (lecture matrix)^T and the lecture's w_{i,j} is W[j - 1, i - 1];
``lecture_weight`` does that lookup.
"""

from dataclasses import dataclass

import numpy as np

from reference.activations import activation_backward, activation_forward, relu
from reference.conv import conv2d_forward, conv2d_output_shape, conv_output_size
from reference.dense import dense_backward, dense_forward
from reference.losses import one_hot, squared_error_loss
from reference.network import SGD, Activation, Dense, Sequential

# Seed 000 gives no learning rate for its gradient-descent step. 0.5 is the
# value of the classic worked example these weights come from (x = (0.05, 0.1),
# weights 0.15 .. 0.55), so the updated weights can be compared with it.
TWO_LAYER_LEARNING_RATE = 0.5


def lecture_weight(W, i, j):
    """
    The lecture's w_{i,j} (1-based, row = neuron i, column = input j) read
    from a weight matrix W of shape (D, M) in the reference's x W convention.
    """
    return W[j - 1, i - 1]


@dataclass(frozen=True)
class TwoLayerExample:
    """
    Seed 000's 2-2-2 sigmoid network on one example; arrays without a batch axis.

    Inputs: x (2,), y (2,), W1 (2, 2), b1 (2,), W2 (2, 2), b2 (2,), weights
    in the (D, M) convention. Forward: z1, a1, z2, a2 (= y_pred), each (2,),
    and loss = 1/2 * sum (a2 - y)^2. Backward: da2, dz2, dW2, db2, da1, dz1,
    dW1, db1 (dL/d of each). One gradient-descent step with learning_rate
    gives W1_new, b1_new, W2_new, b2_new and loss_new (the loss afterwards).
    """

    x: np.ndarray
    y: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    z1: np.ndarray
    a1: np.ndarray
    z2: np.ndarray
    a2: np.ndarray
    loss: float
    da2: np.ndarray
    dz2: np.ndarray
    dW2: np.ndarray
    db2: np.ndarray
    da1: np.ndarray
    dz1: np.ndarray
    dW1: np.ndarray
    db1: np.ndarray
    learning_rate: float
    W1_new: np.ndarray
    b1_new: np.ndarray
    W2_new: np.ndarray
    b2_new: np.ndarray
    loss_new: float

    @property
    def dL_dw11_layer2(self):
        """The lecture's dL/dw^[2]_{1,1}."""
        return float(lecture_weight(self.dW2, 1, 1))

    @property
    def dL_dw11_layer1(self):
        """The lecture's dL/dw^[1]_{1,1}."""
        return float(lecture_weight(self.dW1, 1, 1))


def two_layer_weights():
    """
    Seed 000's initial parameters in the reference's (D, M) convention.

    Returns:
    - dict with W1, b1, W2, b2, each float64; W = transpose of the lecture's
      [[w11, w12], [w21, w22]].
    """
    lecture_W1 = np.array([[0.15, 0.20], [0.25, 0.30]])  # rows: hidden neurons 1, 2
    lecture_W2 = np.array([[0.40, 0.45], [0.50, 0.55]])  # rows: output neurons 1, 2
    return {
        "W1": lecture_W1.T,
        "b1": np.array([0.35, 0.35]),
        "W2": lecture_W2.T,
        "b2": np.array([0.60, 0.60]),
    }


def two_layer_network(W1, b1, W2, b2):
    """The 2-2-2 network as a Sequential: Dense, sigmoid, Dense, sigmoid, squared error."""
    return Sequential(
        [Dense(W1, b1), Activation("sigmoid"), Dense(W2, b2), Activation("sigmoid")],
        loss="squared_error",
    )


def two_layer_network_example(
    x=(0.05, 0.1), y=(0.01, 0.99), weights=None, learning_rate=TWO_LAYER_LEARNING_RATE
):
    """
    Forward pass, backward pass and one gradient-descent step of seed 000's
    2-2-2 sigmoid network, with the loss L = 1/2 * sum_k (y_pred_k - y_k)^2.

    The forward and backward passes are written out layer by layer, as in the
    lecture; the step is taken by the composable network (Sequential + SGD),
    which updates weights and biases.

    Inputs:
    - x: input, 2 numbers.
    - y: target, 2 numbers.
    - weights: dict with W1, b1, W2, b2 in the (D, M) convention; the
      lecture's by default (exam variants pass their own draw).
    - learning_rate: step size alpha.

    Returns:
    - TwoLayerExample.
    """
    params = two_layer_weights() if weights is None else weights
    W1, b1, W2, b2 = (np.array(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    batch_x = np.array(x, dtype=np.float64).reshape(1, -1)
    batch_y = np.array(y, dtype=np.float64).reshape(1, -1)

    z1, dense1 = dense_forward(batch_x, W1, b1)
    a1, act1 = activation_forward(z1, "sigmoid")
    z2, dense2 = dense_forward(a1, W2, b2)
    a2, act2 = activation_forward(z2, "sigmoid")
    loss, da2 = squared_error_loss(a2, batch_y)

    dz2 = activation_backward(da2, act2)
    da1, dW2, db2 = dense_backward(dz2, dense2)
    dz1 = activation_backward(da1, act1)
    _, dW1, db1 = dense_backward(dz1, dense1)

    model = two_layer_network(W1, b1, W2, b2)
    model.forward_backward(batch_x, batch_y)
    SGD(learning_rate).step(model)
    new = model.params()
    loss_new, _ = squared_error_loss(model.forward(batch_x), batch_y)

    return TwoLayerExample(
        x=batch_x[0], y=batch_y[0], W1=W1, b1=b1, W2=W2, b2=b2,
        z1=z1[0], a1=a1[0], z2=z2[0], a2=a2[0], loss=loss,
        da2=da2[0], dz2=dz2[0], dW2=dW2, db2=db2, da1=da1[0], dz1=dz1[0], dW1=dW1, db1=db1,
        learning_rate=learning_rate,
        W1_new=new["0.W"], b1_new=new["0.b"], W2_new=new["2.W"], b2_new=new["2.b"],
        loss_new=loss_new,
    )  # fmt: skip


XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([0.0, 1.0, 1.0, 0.0])


@dataclass(frozen=True)
class XorExample:
    """
    A ReLU network f(x) = w^T max(0, W^T x + c) + b on the four XOR points.

    inputs (4, 2), targets (4,), the parameters W (2, 2), c (2,), w (2,),
    b (float), hidden (4, 2) = max(0, x W + c), outputs (4,), and
    mse = 1/4 * sum (f*(x) - f(x))^2 (seed 001's J(theta)).
    """

    inputs: np.ndarray
    targets: np.ndarray
    W: np.ndarray
    c: np.ndarray
    w: np.ndarray
    b: float
    hidden: np.ndarray
    outputs: np.ndarray
    mse: float


def xor_network(W, c, w, b):
    """
    Evaluate f(x) = w^T max(0, W^T x + c) + b on the four XOR points.

    Inputs:
    - W: hidden weights, shape (2, 2) (rows: inputs, columns: hidden units).
    - c: hidden biases, shape (2,).
    - w: output weights, shape (2,).
    - b: output bias, a number.

    Returns:
    - XorExample.
    """
    W = np.array(W, dtype=np.float64)
    c = np.array(c, dtype=np.float64)
    w = np.array(w, dtype=np.float64)
    z, _ = dense_forward(XOR_INPUTS, W, c)
    hidden = relu(z)
    outputs, _ = dense_forward(hidden, w.reshape(-1, 1), np.array([b], dtype=np.float64))
    outputs = outputs[:, 0]
    mse = float(np.mean((XOR_TARGETS - outputs) ** 2))
    return XorExample(XOR_INPUTS, XOR_TARGETS, W, c, w, float(b), hidden, outputs, mse)


def xor_example():
    """
    Seed 001's solution of XOR (Goodfellow et al., section 6.1):
    W = [[1, 1], [1, 1]], c = (0, -1), w = (1, -2), b = 0, which computes
    XOR exactly (outputs 0, 1, 1, 0; MSE 0).

    Returns:
    - XorExample.
    """
    return xor_network(W=[[1, 1], [1, 1]], c=[0, -1], w=[1, -2], b=0)


@dataclass(frozen=True)
class XorTraining:
    """A 2-layer MLP trained on XOR: the model, its loss per step and final outputs (4,)."""

    model: Sequential
    losses: np.ndarray
    outputs: np.ndarray


def xor_training_example(seed=0, hidden=4, steps=2000, learning_rate=0.1):
    """
    Learn XOR with a 2-layer MLP: Dense(2, hidden), tanh, Dense(hidden, 1),
    squared error, full-batch gradient descent from Glorot-uniform weights
    drawn with numpy's default_rng(seed).

    Returns:
    - XorTraining.
    """
    rng = np.random.default_rng(seed)
    model = Sequential(
        [Dense.random(2, hidden, rng), Activation("tanh"), Dense.random(hidden, 1, rng)],
        loss="squared_error",
    )
    optimizer = SGD(learning_rate)
    targets = XOR_TARGETS.reshape(-1, 1)
    losses = np.empty(steps)
    for step in range(steps):
        losses[step] = model.forward_backward(XOR_INPUTS, targets)
        optimizer.step(model)
    return XorTraining(model, losses, model.forward(XOR_INPUTS)[:, 0])


@dataclass(frozen=True)
class SobelExample:
    """Seed 002: a 4x4 image (4, 4), the 3x3 Sobel filter (3, 3), their valid cross-correlation (2, 2)."""

    image: np.ndarray
    kernel: np.ndarray
    output: np.ndarray


def sobel_example():
    """
    Seed 002's exercise: cross-correlate the 4x4 image with the Sobel filter,
    "valid" padding, stride 1.

    Returns:
    - SobelExample.
    """
    image = np.array([[2, 0, 3, 1], [1, 1, 0, 0], [1, 0, 2, 0], [1, 0, 1, 2]], dtype=np.float64)
    kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64)
    out, _ = conv2d_forward(
        image.reshape(1, 4, 4, 1), kernel.reshape(3, 3, 1, 1), np.zeros(1), padding="valid"
    )
    return SobelExample(image, kernel, out[0, :, :, 0])


@dataclass(frozen=True)
class SoftmaxGradientExample:
    """Seed 003: predicted probabilities y_hat (K,), the true class (0-based), one-hot y, dL/dz (K,)."""

    y_hat: np.ndarray
    label: int
    y: np.ndarray
    dL_dz: np.ndarray


def softmax_gradient_example():
    """
    Seed 003's softmax output layer: y_hat = (0.5, 0, 0.1, 0.2, 0.1) for the
    classes penguin, building, chair, person, bird, true class 1 (penguin,
    index 0). With L = -sum_i y_i log y_hat_i and y_hat = softmax(z), the
    gradient is dL/dz = y_hat - y.

    The lecture's y_hat is illustrative (it sums to 0.9 and has a 0, so no
    logits produce it); the gradient is therefore taken in the closed form
    that softmax_cross_entropy's backward pass uses (without its 1/N, N = 1).

    Returns:
    - SoftmaxGradientExample.
    """
    y_hat = np.array([0.5, 0.0, 0.1, 0.2, 0.1])
    label = 0
    y = one_hot(np.array([label]), y_hat.shape[0])[0]
    return SoftmaxGradientExample(y_hat, label, y, y_hat - y)


@dataclass(frozen=True)
class OutputSizeExample:
    """
    A convolution or pooling layer of the lecture notes: the seed it comes
    from, its settings, and its input and output shapes (H, W, C).
    """

    source: str
    description: str
    input_shape: tuple
    kernel_size: int
    filters: int  # output channels; for pooling, the input's channels
    stride: int
    padding: object  # int, "valid" or "same"
    output_shape: tuple


def _conv_example(source, description, input_shape, kernel_size, filters, stride, padding):
    height, width, channels = input_shape
    _, out_h, out_w, out_c = conv2d_output_shape(
        (1, height, width, channels), (kernel_size, kernel_size, channels, filters),
        stride, padding,
    )  # fmt: skip
    return OutputSizeExample(
        source, description, input_shape, kernel_size, filters, stride, padding,
        (out_h, out_w, out_c),
    )  # fmt: skip


def _pool_example(source, description, input_shape, pool, stride):
    height, width, channels = input_shape
    out_shape = (conv_output_size(height, pool, stride), conv_output_size(width, pool, stride), channels)
    return OutputSizeExample(
        source, description, input_shape, pool, channels, stride, "valid", out_shape
    )


def output_size_examples():
    """
    The output-size examples of the lecture notes, computed with
    conv2d_output_shape / conv_output_size.

    Returns:
    - list of OutputSizeExample.
    """
    return [
        _conv_example("001", "32x32x3 image, six 5x5 filters", (32, 32, 3), 5, 6, 1, 0),
        _conv_example(
            "001", "k=3, s=1, p=1 keeps the size (any w_in; shown for 32)", (32, 32, 3), 3, 10, 1, 1
        ),
        _conv_example("002", "(n, f, s, p) = (1, 3, 1, 0), w = 4 (VALID)", (4, 4, 1), 3, 1, 1, 0),
        _conv_example("002", "(n, f, s, p) = (1, 3, 1, 1), w = 4 (SAME)", (4, 4, 1), 3, 1, 1, 1),
        _conv_example("002", "Sobel exercise, valid", (4, 4, 1), 3, 1, 1, "valid"),
        _conv_example("002", "MNIST, 16 5x5 filters, stride 2, SAME", (28, 28, 1), 5, 16, 2, "same"),
        _conv_example("002", "CIFAR, 16 5x5 filters, stride 2, SAME", (32, 32, 3), 5, 16, 2, "same"),
        _conv_example("001", "digit recogniser conv 1: 8 5x5 same", (28, 28, 1), 5, 8, 1, "same"),
        _pool_example("001", "digit recogniser pool 1: 2x2", (28, 28, 8), 2, 2),
        _conv_example("001", "digit recogniser conv 2: 16 3x3 same", (14, 14, 8), 3, 16, 1, "same"),
        _pool_example("001", "digit recogniser pool 2: 2x2 stride 2", (14, 14, 16), 2, 2),
    ]
