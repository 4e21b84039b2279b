# Example submission: conv2d_backward sums db over every axis but the batch, (1, 2, 3), instead of every axis but the channels: db has the batch's shape, and the message says over which axes dout was summed (every db of conv_backward and conv_same_tensorflow_rule)
# %% [markdown]
# # Assignment 03: convolution and pooling, forward and backward
#
# You implement the two layers that make a CNN in numpy: a 2-D convolution
# (cross-correlation, as in TensorFlow) with stride and padding, and max
# pooling, each as a forward/backward pair. Then you redo the lecture's
# examples: the Sobel filter on a 4x4 image and the output sizes of
# convolution layers.
#
# Conventions (the same in every assignment):
# - images are NHWC, as in TensorFlow: `x` is (N, H, W, C);
# - conv filters are HWIO: `w` is (KH, KW, C_in, C_out); biases are (C_out,);
# - every layer is a pair `*_forward(...) -> (out, cache)` and
#   `*_backward(dout, cache) -> gradients`, the gradients in the order of the
#   forward's inputs;
# - float64 throughout.
#
# Run `dlgrade check cnn.py` (or `dlgrade check cnn.ipynb`) to run the public
# checks before you submit. Hidden checks test more inputs.

# %%
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# %% [markdown]
# ## 1. Output size
#
# Along one axis, a kernel of size k sliding with step `stride` over an input
# of size n with `pad` zeros added on each side has
# floor((n + 2 pad - k) / stride) + 1 positions.


# %%
def conv_output_size(n, k, stride=1, pad=0):
    """Output length along one axis (an int)."""
    return (n + 2 * pad - k) // stride + 1


# %% [markdown]
# ## 2. Convolution
#
#     out[n, i, j, o] = b[o] + sum over p, q, c of xp[n, i*stride + p, j*stride + q, c] * w[p, q, c, o]
#
# where xp is x with zeros added around H and W. The kernel is not flipped
# (cross-correlation, like every deep-learning library). `padding` is an int
# (that many zeros on every side), "valid" (none) or "same" (TensorFlow's:
# the output is ceil(H / stride) x ceil(W / stride); the zeros needed for
# that are split between the two sides, the odd one after the input).


# %%
def same_padding(n, k, stride):
    """TensorFlow's "same" padding along one axis: (zeros before, zeros after)."""
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def conv2d_forward(x, w, b, stride=1, padding=0):
    """x: (N, H, W, C_in), w: (KH, KW, C_in, C_out), b: (C_out,). Returns (out (N, H_out, W_out, C_out), cache)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape[:2]
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = (same_padding(x.shape[1], kh, stride), same_padding(x.shape[2], kw, stride))
    else:
        pads = ((padding, padding), (padding, padding))
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (N, H_out, W_out, C, KH, KW)
    out = np.einsum("nijcpq,pqco->nijo", windows, w) + b
    return out, (x.shape, xp, pads, stride, w)


def conv2d_backward(dout, cache):
    """dout: (N, H_out, W_out, C_out). Returns (dx, dw, db) with the shapes of x, w and b."""
    x_shape, xp, pads, stride, w = cache
    kh, kw = w.shape[:2]
    _, out_h, out_w, _ = dout.shape
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    db = dout.sum(axis=(1, 2, 3))
    dw = np.einsum("nijcpq,nijo->pqco", windows, dout)
    dxp = np.zeros_like(xp)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + (out_h - 1) * stride + 1, stride)
            cols = slice(q, q + (out_w - 1) * stride + 1, stride)
            dxp[:, rows, cols, :] += dout @ w[p, q].T
    top, left = pads[0][0], pads[1][0]
    dx = dxp[:, top:top + x_shape[1], left:left + x_shape[2], :]
    return dx, dw, db


# %% [markdown]
# ## 3. Max pooling
#
# A pool x pool window slides with step `stride` over H and W ("valid": no
# padding), each channel on its own; the output is the maximum of each
# window. The backward pass sends each window's gradient to the entry that
# held its maximum; on a tie, to the first of the tied entries in row-major
# order (smallest row, then smallest column). Windows overlap when
# stride < pool: an entry that is the maximum of several windows receives
# the sum of their gradients.


# %%
def maxpool_forward(x, pool=2, stride=2):
    """x: (N, H, W, C). Returns (out (N, H_out, W_out, C), cache)."""
    x = np.asarray(x, dtype=np.float64)
    n, _, _, c = x.shape
    windows = sliding_window_view(x, (pool, pool), axis=(1, 2))[:, ::stride, ::stride]  # (N, H_out, W_out, C, P, P)
    out_h, out_w = windows.shape[1:3]
    flat = windows.reshape(n, out_h, out_w, c, pool * pool)
    argmax = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, pool, stride, argmax)


def maxpool_backward(dout, cache):
    """dout: (N, H_out, W_out, C). Returns dx, shaped like x."""
    x_shape, pool, stride, argmax = cache
    n, out_h, out_w, c = dout.shape
    p, q = np.divmod(argmax, pool)
    rows = np.arange(out_h)[None, :, None, None] * stride + p
    cols = np.arange(out_w)[None, None, :, None] * stride + q
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, None, None, :]
    dx = np.zeros(x_shape)
    np.add.at(dx, (batch, rows, cols, channel), dout)
    return dx


# %% [markdown]
# ## 4. The lecture's examples
#
# `SOBEL_OUTPUT`: the 4x4 image 2 0 3 1 / 1 1 0 0 / 1 0 2 0 / 1 0 1 2
# cross-correlated with the Sobel filter 1 0 -1 / 2 0 -2 / 1 0 -1, "valid"
# padding, stride 1, as a 2x2 list of lists (rows first).
#
# Output shapes (H_out, W_out, C_out) as lists of 3 ints:
# - `SHAPE_SIX_5X5`: a 32x32x3 image through six 5x5 filters, stride 1, no padding;
# - `SHAPE_TEN_3X3_PAD1`: a 32x32x3 image through ten 3x3 filters, stride 1, padding 1;
# - `SHAPE_MNIST_STRIDE2_SAME`: a 28x28x1 image through sixteen 5x5 filters,
#   stride 2, "same" padding.

# %%
SOBEL_OUTPUT = [[0, 1], [-1, -1]]
SHAPE_SIX_5X5 = [28, 28, 6]
SHAPE_TEN_3X3_PAD1 = [32, 32, 10]
SHAPE_MNIST_STRIDE2_SAME = [14, 14, 16]
