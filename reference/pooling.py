"""Max and average pooling over square windows, NHWC, "valid" padding.

A pool x pool window slides with step ``stride`` over H and W; each channel
is pooled on its own. Output size per axis: floor((n - pool) / stride) + 1.

Both layers loop over the pool * pool offsets (p, q) inside a window, never
over pixels: the (p, q) entry of every window at once is the strided slice
x[:, p::stride, q::stride, :] (cut to the output size), so each step of the
loop is one vectorised operation on whole arrays.

Max pooling's forward pass is separable: the max over a window is the max
over its columns of the max over its rows, so it takes 2 (pool - 1)
elementwise maxima instead of pool^2 - 1, and it runs a few examples at a
time so that the row maxima stay in the CPU's cache (pooling is bound by
memory traffic, not arithmetic). The backward pass finds each window's
maximum again from x and the output, so the forward pass keeps no index.
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
    argmax: object  # unused (None): average pooling needs no index


class _MaxPoolCache(NamedTuple):
    x: np.ndarray  # the input (N, H, W, C), not copied: do not change it before the backward pass
    pool: int
    stride: int
    out: np.ndarray  # the output (N, H_out, W_out, C): each window's maximum


# Examples pooled at a time: about this many bytes of input, so that what one group
# works on (its row maxima, its masks) stays in the CPU's cache from step to step.
_GROUP_BYTES = 2**20


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
    n, height, width, channels = x.shape
    out = np.empty(out_shape)
    group = max(1, _GROUP_BYTES // (height * width * channels * x.itemsize))
    for start in range(0, n, group):
        _max_of_windows(x[start : start + group], pool, stride, out[start : start + group])
    return out, _MaxPoolCache(x, pool, stride, out)


def _max_of_windows(x, pool, stride, out):
    """out[n, i, j, c] = max of x[n, i*stride : i*stride + pool, j*stride : j*stride + pool, c].

    Rows first: rows[n, i, w, c] is the max over the window's rows at column w;
    then the max of rows over the window's columns.
    """
    _, out_h, out_w, _ = out.shape
    rows_span = (out_h - 1) * stride + 1
    cols_span = (out_w - 1) * stride + 1
    rows = x[:, 0:rows_span:stride].copy()
    for p in range(1, pool):
        np.maximum(rows, x[:, p : p + rows_span : stride], out=rows)
    out[...] = rows[:, :, 0:cols_span:stride]
    for q in range(1, pool):
        np.maximum(out, rows[:, :, q : q + cols_span : stride], out=out)


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
    x, pool, stride, out = cache
    dout = as_float_array(func, "dout", dout)
    require_shape(func, "dout", dout, out.shape, "(N, H_out, W_out, C)")
    n, height, width, channels = x.shape

    dx = np.zeros(x.shape)
    group = max(1, _GROUP_BYTES // (height * width * channels * x.itemsize))
    for start in range(0, n, group):
        window = slice(start, start + group)
        _route_to_maxima(x[window], pool, stride, out[window], dout[window], dx[window])
    return dx


def _route_to_maxima(x, pool, stride, out, dout, dx):
    """dx += each window's dout at the first entry (row-major) equal to the window's max."""
    _, out_h, out_w, _ = out.shape
    offsets = _window_offsets(pool)
    unclaimed = np.ones(out.shape, dtype=bool)  # windows whose max has not been met yet
    is_max = np.empty(out.shape, dtype=bool)
    for k, (p, q) in enumerate(offsets):
        np.equal(_at_offset(x, p, q, out_h, out_w, stride), out, out=is_max)
        is_max &= unclaimed
        if k < len(offsets) - 1:
            unclaimed ^= is_max  # is_max only holds unclaimed windows: this clears them
        dx_at_offset = _at_offset(dx, p, q, out_h, out_w, stride)
        if stride >= pool:  # windows do not overlap: each entry of dx belongs to one window at most
            np.multiply(dout, is_max, out=dx_at_offset)
        else:
            dx_at_offset += dout * is_max


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
