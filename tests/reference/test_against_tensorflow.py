"""The reference against TensorFlow, an independent implementation.

Forward values and gradients (tf.GradientTape with the same upstream
gradient) must agree to a relative error below TF_TOL = 1e-10
(relative_error: max abs difference over max magnitude), in float64.
TensorFlow is imported once per session by the `tf` fixture (conftest.py).
"""

import numpy as np
import pytest

from reference.activations import activation_backward, activation_forward
from reference.conv import conv2d_backward, conv2d_forward, same_padding
from reference.dense import dense_backward, dense_forward
from reference.gradcheck import relative_error
from reference.losses import binary_cross_entropy, softmax, softmax_cross_entropy, squared_error_loss
from reference.pooling import avgpool_backward, avgpool_forward, maxpool_backward, maxpool_forward

TF_TOL = 1e-10


def assert_matches(ours, theirs):
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != TensorFlow's {theirs.shape}"
    error = relative_error(ours, theirs)
    assert error < TF_TOL, f"relative error {error:.2e} against TensorFlow"


def tape_gradients(tf, function, inputs, upstream=None):
    """Value of function(*inputs) and its gradients w.r.t. every input, weighted by upstream."""
    tensors = [tf.constant(v) for v in inputs]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        value = function(*tensors)
    output_gradients = None if upstream is None else tf.constant(upstream)
    grads = tape.gradient(value, tensors, output_gradients=output_gradients)
    return value.numpy(), [g.numpy() for g in grads]


# ---------------------------------------------------------------- dense and activations


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "relu"])
def test_activations(tf, rng, kind):
    z = rng.standard_normal((6, 5)) * 3
    z[0, :3] = 0.0  # relu's kink: TensorFlow's gradient there is 0, like ours
    z[1, 0] = 40.0  # saturated sigmoid / tanh
    da = rng.standard_normal(z.shape)
    tf_function = {"sigmoid": tf.sigmoid, "tanh": tf.tanh, "relu": tf.nn.relu}[kind]
    value, (dz_tf,) = tape_gradients(tf, tf_function, [z], da)
    a, cache = activation_forward(z, kind)
    assert_matches(a, value)
    assert_matches(activation_backward(da, cache), dz_tf)


@pytest.mark.parametrize("n, d, m", [(1, 3, 2), (5, 4, 6)])
def test_dense(tf, rng, n, d, m):
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    dout = rng.standard_normal((n, m))
    value, tf_grads = tape_gradients(tf, lambda x_, W_, b_: tf.matmul(x_, W_) + b_, [x, W, b], dout)
    out, cache = dense_forward(x, W, b)
    assert_matches(out, value)
    for ours, theirs in zip(dense_backward(dout, cache), tf_grads):
        assert_matches(ours, theirs)


# ---------------------------------------------------------------- losses


def test_squared_error_loss(tf, rng):
    y_pred, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    value, (grad_tf, _) = tape_gradients(
        tf, lambda p, t: 0.5 * tf.reduce_sum((p - t) ** 2) / 4.0, [y_pred, y]
    )
    loss, dy_pred = squared_error_loss(y_pred, y)
    assert_matches(np.array(loss), value)
    assert_matches(dy_pred, grad_tf)


@pytest.mark.parametrize("shape", [(6,), (4, 3)])
def test_binary_cross_entropy(tf, rng, shape):
    logits = rng.standard_normal(shape) * 2
    y = rng.integers(0, 2, size=shape).astype(float)
    a = 1.0 / (1.0 + np.exp(-logits))
    n = shape[0]
    def formula(a_, y_):
        return -tf.reduce_sum(y_ * tf.math.log(a_) + (1 - y_) * tf.math.log(1 - a_)) / n

    value, (da_tf, _) = tape_gradients(tf, formula, [a, y])
    loss, da = binary_cross_entropy(a, y)
    assert_matches(np.array(loss), value)
    assert_matches(da, da_tf)
    # Same loss from TensorFlow's logits form, with our averaging convention.
    with_logits = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(y), logits=tf.constant(logits))
    assert_matches(np.array(loss), tf.reduce_sum(with_logits).numpy() / n)


def test_softmax(tf, rng):
    z = rng.standard_normal((3, 7)) * 5
    z[0, 0] = 1000.0
    assert_matches(softmax(z), tf.nn.softmax(tf.constant(z)).numpy())


@pytest.mark.parametrize("n, k", [(1, 3), (6, 5)])
def test_softmax_cross_entropy(tf, rng, n, k):
    logits = rng.standard_normal((n, k)) * 3
    labels = rng.integers(0, k, size=n)
    onehot = np.eye(k)[labels]

    def dense_labels(z, t):
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=t, logits=z))

    value, (dlogits_tf, _) = tape_gradients(tf, dense_labels, [logits, onehot])
    sparse = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(labels), logits=tf.constant(logits))
    ).numpy()
    for y in (labels, onehot):
        loss, dlogits = softmax_cross_entropy(logits, y)
        assert_matches(np.array(loss), value)
        assert_matches(np.array(loss), sparse)
        assert_matches(dlogits, dlogits_tf)


# ---------------------------------------------------------------- convolution

# (x shape, w shape, stride, padding): TensorFlow's "VALID" and "SAME"
# (including stride > 1, odd sizes and even kernels, where "same" pads
# asymmetrically) and explicit int padding.
TF_CONV_CASES = [
    ((2, 7, 6, 3), (3, 3, 3, 4), 1, "valid"),
    ((1, 5, 5, 2), (3, 3, 2, 2), 1, "same"),
    ((2, 7, 7, 3), (3, 3, 3, 2), 2, "same"),
    ((2, 8, 7, 2), (2, 4, 2, 3), 2, "same"),
    ((1, 9, 8, 2), (5, 5, 2, 3), 3, "same"),
    ((2, 6, 6, 2), (3, 3, 2, 2), 2, "valid"),
    ((2, 6, 5, 3), (3, 3, 3, 4), 1, 1),
    ((1, 7, 7, 1), (5, 5, 1, 2), 2, 2),
    ((2, 4, 4, 3), (1, 1, 3, 5), 1, 0),
]


def tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    return [[0, 0], [padding, padding], [padding, padding], [0, 0]]  # explicit-padding form


@pytest.mark.parametrize(
    "case", TF_CONV_CASES, ids=lambda c: f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}"
)
def test_conv2d(tf, rng, case):
    x_shape, w_shape, stride, padding = case
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[3])
    out, cache = conv2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape)

    def tf_conv(x_, w_, b_):
        return tf.nn.bias_add(tf.nn.conv2d(x_, w_, strides=stride, padding=tf_padding(padding)), b_)

    value, tf_grads = tape_gradients(tf, tf_conv, [x, w, b], dout)
    assert_matches(out, value)
    for ours, theirs in zip(conv2d_backward(dout, cache), tf_grads):
        assert_matches(ours, theirs)


def test_same_padding_is_tensorflows(tf, rng):
    # TensorFlow's "SAME" equals explicit padding with our (before, after) split.
    for n, k, stride in [(7, 3, 2), (8, 2, 2), (8, 4, 3), (5, 5, 1), (6, 1, 2)]:
        x = tf.constant(rng.standard_normal((1, n, n, 1)))
        w = tf.constant(rng.standard_normal((k, k, 1, 1)))
        before, after = same_padding(n, k, stride)
        explicit = [[0, 0], [before, after], [before, after], [0, 0]]
        assert_matches(
            tf.nn.conv2d(x, w, stride, explicit).numpy(), tf.nn.conv2d(x, w, stride, "SAME").numpy()
        )


# ---------------------------------------------------------------- pooling

TF_POOL_CASES = [((2, 6, 6, 3), 2, 2), ((1, 7, 7, 2), 3, 2), ((2, 5, 6, 2), 2, 1), ((1, 9, 9, 1), 3, 3)]


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", TF_POOL_CASES, ids=lambda c: f"x{c[0]}-pool{c[1]}-s{c[2]}")
def test_maxpool(tf, rng, case, ties):
    x_shape, pool, stride = case
    # Integer values in {0, 1, 2} make most windows hold their max several
    # times: the gradient must go where TensorFlow sends it.
    x = rng.integers(0, 3, size=x_shape).astype(float) if ties else rng.standard_normal(x_shape)
    out, cache = maxpool_forward(x, pool, stride)
    dout = rng.standard_normal(out.shape)
    value, (dx_tf,) = tape_gradients(tf, lambda x_: tf.nn.max_pool2d(x_, pool, stride, "VALID"), [x], dout)
    assert_matches(out, value)
    assert_matches(maxpool_backward(dout, cache), dx_tf)


@pytest.mark.parametrize("case", TF_POOL_CASES, ids=lambda c: f"x{c[0]}-pool{c[1]}-s{c[2]}")
def test_avgpool(tf, rng, case):
    x_shape, pool, stride = case
    x = rng.standard_normal(x_shape)
    out, cache = avgpool_forward(x, pool, stride)
    dout = rng.standard_normal(out.shape)
    value, (dx_tf,) = tape_gradients(tf, lambda x_: tf.nn.avg_pool2d(x_, pool, stride, "VALID"), [x], dout)
    assert_matches(out, value)
    assert_matches(avgpool_backward(dout, cache), dx_tf)
