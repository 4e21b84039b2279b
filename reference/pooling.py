"""Max and average pooling over square windows, NHWC, "valid" padding.

A pool x pool window slides with step ``stride`` over H and W; each channel
is pooled on its own. Output size per axis: floor((n - pool) / stride) + 1.

Both layers loop over the pool * pool offsets (p, q) inside a window, never
over pixels: the (p, q) entry of every window at once is the strided slice
x[:, p::stride, q::stride, :] (cut to the output size), so each step of the
loop is one vectorised operation on whole arrays.
"""

from typing import NamedTuple

import numpy as np

from reference._validate import (
    as_float_array,
    positive_int,
    require_ndim,
    require_shape,
)


class _PoolCache(NamedTuple):
    x_shape: tuple  # (N, H, W, C)
    pool: int
    stride: int
    out_shape: tuple  # (N, H_out, W_out, C)
    argmax: object  # max-pool: (N, H_out, W_out, C) offset index k = p * pool + q; else None


def _check_pool_args(func, x, pool, stride):
    require_ndim(func, "x", x, 4, "(N, H, W, C)")
    pool = positive_int(func, "pool", pool)
    stride = positive_int(func, "stride", stride)
    n, height, width, channels = x.shape
    if pool > height or pool > width:
        raise ValueError(
            f"{func}: pool window {pool}x{pool} is larger than the input "
            f"{height}x{width} (x.shape={x.shape})"
        )
    out_shape = (n, (height - pool) // stride + 1, (width - pool) // stride + 1, channels)
    return pool, stride, out_shape


def _window_offsets(pool):
    """Offsets (p, q) inside a window in row-major order, the order TensorFlow scans them."""
    return [(p, q) for p in range(pool) for q in range(pool)]


def _at_offset(array, p, q, out_h, out_w, stride):
    """The entries at offset (p, q) of every window: a view of shape (N, H_out, W_out, C)."""
    return array[
        :,
        p : p + (out_h - 1) * stride + 1 : stride,
        q : q + (out_w - 1) * stride + 1 : stride,
        :,
    ]


def maxpool_forward(x, pool=2, stride=2):
    """
    Forward pass of max pooling.

    Inputs:
    - x: input, shape (N, H, W, C).
    - pool: window height and width, a positive int <= H, W.
    - stride: step between windows, a positive int. stride < pool gives
      overlapping windows.

    Returns a tuple of:
    - out: shape (N, H_out, W_out, C), the maximum of each window, with
      H_out = floor((H - pool) / stride) + 1 and W_out alike.
    - cache: for maxpool_backward; records which entry of each window held the max.
    """
    func = "maxpool_forward"
    x = as_float_array(func, "x", x)
    pool, stride, out_shape = _check_pool_args(func, x, pool, stride)
    _, out_h, out_w, _ = out_shape

    offsets = _window_offsets(pool)
    out = _at_offset(x, *offsets[0], out_h, out_w, stride).copy()
    # argmax[n, i, j, c] = k: the max of that window is at offset k (row-major).
    argmax = np.zeros(out_shape, dtype=np.min_scalar_type(len(offsets) - 1))
    for k, (p, q) in enumerate(offsets[1:], start=1):
        candidate = _at_offset(x, p, q, out_h, out_w, stride)
        # Strictly larger only: on a tie the entry met first in row-major
        # order keeps the max, which is where TensorFlow sends the gradient.
        larger = candidate > out
        np.maximum(out, candidate, out=out)
        # argmax = k where larger, else unchanged; written as arithmetic
        # because masked assignment on a random mask is several times slower.
        argmax += larger * (k - argmax)
    return out, _PoolCache(x.shape, pool, stride, out_shape, argmax)


def maxpool_backward(dout, cache):
    """
    Backward pass of max pooling.

    Each window's upstream gradient goes to the one input entry that held its
    maximum. Tie rule (as tf.nn.max_pool2d's gradient on CPU): when several
    entries of a window share the maximum, the first of them in row-major
    order (smallest row, then smallest column) gets the whole gradient. When
    windows overlap (stride < pool) an input entry can be the max of several
    windows; its gradient is the sum of theirs.

    Inputs:
    - dout: upstream derivative dL/dout, shape (N, H_out, W_out, C).
    - cache: from maxpool_forward.

    Returns:
    - dx: dL/dx, shape (N, H, W, C).
    """
    func = "maxpool_backward"
    x_shape, pool, stride, out_shape, argmax = cache
    dout = as_float_array(func, "dout", dout)
    require_shape(func, "dout", dout, out_shape, "(N, H_out, W_out, C)")
    _, out_h, out_w, _ = out_shape

    dx = np.zeros(x_shape)
    for k, (p, q) in enumerate(_window_offsets(pool)):
        dx_at_offset = _at_offset(dx, p, q, out_h, out_w, stride)
        dx_at_offset += dout * (argmax == k)
    return dx


def avgpool_forward(x, pool=2, stride=2):
    """
    Forward pass of average pooling.

    Inputs:
    - x: input, shape (N, H, W, C).
    - pool: window height and width, a positive int <= H, W.
    - stride: step between windows, a positive int.

    Returns a tuple of:
    - out: shape (N, H_out, W_out, C), the mean of each window, with
      H_out = floor((H - pool) / stride) + 1 and W_out alike.
    - cache: for avgpool_backward.
    """
    func = "avgpool_forward"
    x = as_float_array(func, "x", x)
    pool, stride, out_shape = _check_pool_args(func, x, pool, stride)
    _, out_h, out_w, _ = out_shape

    total = np.zeros(out_shape)
    for p, q in _window_offsets(pool):
        total += _at_offset(x, p, q, out_h, out_w, stride)
    out = total / (pool * pool)
    return out, _PoolCache(x.shape, pool, stride, out_shape, None)


def avgpool_backward(dout, cache):
    """
    Backward pass of average pooling: every entry of a window receives
    1 / pool^2 of the window's upstream gradient (summed over overlapping windows).

    Inputs:
    - dout: upstream derivative dL/dout, shape (N, H_out, W_out, C).
    - cache: from avgpool_forward.

    Returns:
    - dx: dL/dx, shape (N, H, W, C).
    """
    func = "avgpool_backward"
    x_shape, pool, stride, out_shape, _ = cache
    dout = as_float_array(func, "dout", dout)
    require_shape(func, "dout", dout, out_shape, "(N, H_out, W_out, C)")
    _, out_h, out_w, _ = out_shape

    share = dout / (pool * pool)
    dx = np.zeros(x_shape)
    for p, q in _window_offsets(pool):
        dx_at_offset = _at_offset(dx, p, q, out_h, out_w, stride)
        dx_at_offset += share
    return dx
