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
    # HINT: // divides and rounds down, and gives an int for ints.
    raise NotImplementedError('conv_output_size: // divides and rounds down, and gives an int for ints.')


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
    # HINT: the output has ceil(n / stride) positions; pad just enough for that.
    raise NotImplementedError('same_padding: the output has ceil(n / stride) positions; pad just enough for that.')


def conv2d_forward(x, w, b, stride=1, padding=0):
    """x: (N, H, W, C_in), w: (KH, KW, C_in, C_out), b: (C_out,). Returns (out (N, H_out, W_out, C_out), cache)."""
    # HINT: pad x, then every output pixel is the dot product of one KH x KW x C_in patch with each filter.
    raise NotImplementedError('conv2d_forward: pad x, then every output pixel is the dot product of one KH x KW x C_in patch with each filter.')


def conv2d_backward(dout, cache):
    """dout: (N, H_out, W_out, C_out). Returns (dx, dw, db) with the shapes of x, w and b."""
    # HINT: out[i, j] read the patch at (i*stride, j*stride): send dout[i, j] back to that patch through w.
    raise NotImplementedError('conv2d_backward: out[i, j] read the patch at (i*stride, j*stride): send dout[i, j] back to that patch through w.')


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
    # HINT: remember where each maximum was; np.argmax returns the first of several equal maxima.
    raise NotImplementedError('maxpool_forward: remember where each maximum was; np.argmax returns the first of several equal maxima.')


def maxpool_backward(dout, cache):
    """dout: (N, H_out, W_out, C). Returns dx, shaped like x."""
    # HINT: np.add.at adds correctly when several windows send gradient to the same entry.
    raise NotImplementedError('maxpool_backward: np.add.at adds correctly when several windows send gradient to the same entry.')


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
SOBEL_OUTPUT = None  # TODO: your answer
SHAPE_SIX_5X5 = None  # TODO: your answer
SHAPE_TEN_3X3_PAD1 = None  # TODO: your answer
SHAPE_MNIST_STRIDE2_SAME = None  # TODO: your answer
