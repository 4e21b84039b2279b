"""2-D convolution layer (cross-correlation, as in TensorFlow), NHWC / HWIO.

    out[n, i, j, o] = b[o] + sum_{p, q, c} xp[n, i*s + p, j*s + q, c] * w[p, q, c, o]

where xp is x zero-padded and s the stride. Like every deep-learning library
(and the lectures), the kernel is not flipped.

How it is computed: a strided view of the padded input lists, for every
output pixel, the KH x KW x C_in patch under the kernel (no copy); flattening
those patches into the rows of a matrix ("im2col") turns the whole layer into
one matrix product with the kernel reshaped to (KH*KW*C_in, C_out). Each row
ends with a constant 1 and the weight matrix with the bias row (cs231n's
"bias trick"), so that one product also adds the bias. The backward pass
reuses that matrix for dw and db (one product again), and scatters the patch
gradients back onto the image with one vectorised add per kernel offset
(col2im).
"""

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference._validate import (
    as_float_array,
    non_negative_int,
    positive_int,
    require_shape,
)

PADDING_MODES = ("valid", "same")


def conv_output_size(n, k, stride=1, pad=0):
    """
    Output length of a convolution along one axis: floor((n + 2 pad - k) / stride) + 1.

    Inputs:
    - n: input length (H or W), a positive int.
    - k: kernel length, a positive int.
    - stride: step between kernel positions, a positive int.
    - pad: zeros added on EACH side, a non-negative int.

    Returns:
    - int, the output length (>= 1).
    """
    func = "conv_output_size"
    n = positive_int(func, "n", n)
    k = positive_int(func, "k", k)
    stride = positive_int(func, "stride", stride)
    pad = non_negative_int(func, "pad", pad)
    if k > n + 2 * pad:
        raise ValueError(
            f"{func}: kernel k={k} is larger than the padded input n + 2*pad = {n + 2 * pad}"
        )
    return (n + 2 * pad - k) // stride + 1


def same_padding(n, k, stride=1):
    """
    Zero padding of TensorFlow's "same" mode along one axis.

    "same" makes the output length ceil(n / stride) (= n for stride 1). The
    padding needed for that is split as evenly as possible; an odd total puts
    the extra zero after the input (bottom/right), as TensorFlow does.

    Inputs:
    - n: input length, a positive int.
    - k: kernel length, a positive int.
    - stride: a positive int.

    Returns:
    - (before, after): zeros to add before and after the input.
    """
    func = "same_padding"
    n = positive_int(func, "n", n)
    k = positive_int(func, "k", k)
    stride = positive_int(func, "stride", stride)
    out = -(-n // stride)  # ceil(n / stride)
    total = max((out - 1) * stride + k - n, 0)
    before = total // 2
    return before, total - before


def _padding_per_side(func, height, width, kh, kw, stride, padding):
    """((top, bottom), (left, right)) zeros for an int, "valid" or "same" padding."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return same_padding(height, kh, stride), same_padding(width, kw, stride)
        raise ValueError(_bad_padding_message(func, padding))
    try:
        pad = non_negative_int(func, "padding", padding)
    except ValueError:
        raise ValueError(_bad_padding_message(func, padding)) from None
    return (pad, pad), (pad, pad)


def _bad_padding_message(func, padding):
    return (
        f"{func}: padding must be a non-negative int, 'valid' or 'same', got {padding!r}"
    )


def _check_conv_args(func, x_shape, w_shape, b_shape, stride, padding):
    """Validate shapes and settings; return (stride, ((top, bottom), (left, right)), out_shape)."""
    if len(x_shape) != 4:
        raise ValueError(f"{func}: x must be 4-D (N, H, W, C), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(
            f"{func}: w must be 4-D (KH, KW, C_in, C_out), got shape {tuple(w_shape)}"
        )
    n, height, width, channels = x_shape
    kh, kw, c_in, c_out = w_shape
    if channels != c_in:
        raise ValueError(
            f"{func}: x has {channels} channels but w expects {c_in} "
            f"(x.shape={tuple(x_shape)}, w.shape={tuple(w_shape)})"
        )
    if b_shape is not None and tuple(b_shape) != (c_out,):
        raise ValueError(
            f"{func}: b must have shape (C_out,) = ({c_out},), got shape {tuple(b_shape)}"
        )
    if min(x_shape) == 0 or min(w_shape) == 0:
        raise ValueError(
            f"{func}: x and w must not have empty axes "
            f"(x.shape={tuple(x_shape)}, w.shape={tuple(w_shape)})"
        )
    stride = positive_int(func, "stride", stride)
    (top, bottom), (left, right) = _padding_per_side(
        func, height, width, kh, kw, stride, padding
    )
    padded_h, padded_w = height + top + bottom, width + left + right
    if kh > padded_h or kw > padded_w:
        raise ValueError(
            f"{func}: kernel {kh}x{kw} is larger than the padded input "
            f"{padded_h}x{padded_w} (x.shape={tuple(x_shape)}, "
            f"w.shape={tuple(w_shape)}, padding={padding!r})"
        )
    out_h = (padded_h - kh) // stride + 1
    out_w = (padded_w - kw) // stride + 1
    return stride, ((top, bottom), (left, right)), (n, out_h, out_w, c_out)


def conv2d_output_shape(x_shape, w_shape, stride=1, padding=0):
    """
    Shape of conv2d_forward's output, without computing it.

    Inputs:
    - x_shape: (N, H, W, C_in).
    - w_shape: (KH, KW, C_in, C_out).
    - stride: a positive int.
    - padding: a non-negative int (zeros on each side), "valid" or "same".

    Returns:
    - (N, H_out, W_out, C_out).
    """
    _, _, out_shape = _check_conv_args(
        "conv2d_output_shape", tuple(x_shape), tuple(w_shape), None, stride, padding
    )
    return out_shape


class _ConvCache(NamedTuple):
    x_shape: tuple  # (N, H, W, C_in)
    padded_shape: tuple  # (N, H + top + bottom, W + left + right, C_in)
    pads: tuple  # ((top, bottom), (left, right))
    stride: int
    out_shape: tuple  # (N, H_out, W_out, C_out)
    w: np.ndarray  # (KH, KW, C_in, C_out)
    cols: np.ndarray  # (N * H_out * W_out, KH * KW * C_in + 1), im2col with a column of ones


def _pad_image(x, pads):
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def _im2col(xp, kh, kw, stride):
    """
    Rows of patches from a padded image, each followed by a 1:
    shape (N * H_out * W_out, KH * KW * C + 1).

    sliding_window_view gives every KH x KW window as a view, shape
    (N, H', W', C, KH, KW); taking every stride-th window and moving C last
    orders each patch like the HWIO kernel, so that row r of the result
    lines up with w.reshape(KH * KW * C_in, C_out). The copy into the
    result is the only copy of the patches.
    """
    windows = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    patches = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, H_out, W_out, KH, KW, C)
    n, out_h, out_w = patches.shape[:3]
    cols = np.empty((n * out_h * out_w, kh * kw * xp.shape[3] + 1))
    np.copyto(cols[:, :-1].reshape(patches.shape), patches)
    cols[:, -1] = 1.0
    return cols


def conv2d_forward(x, w, b, stride=1, padding=0):
    """
    Forward pass of a 2-D convolution layer (cross-correlation, TensorFlow's conv2d).

    Inputs:
    - x: input images, shape (N, H, W, C_in).
    - w: filters, shape (KH, KW, C_in, C_out).
    - b: biases, shape (C_out,).
    - stride: step between kernel positions, a positive int (same in H and W).
    - padding: zeros added around the image, one of
        an int p: p zeros on every side;
        "valid": no padding;
        "same": TensorFlow's "same" (output ceil(H / stride) x ceil(W / stride);
                see same_padding), also for stride > 1.

    Returns a tuple of:
    - out: shape (N, H_out, W_out, C_out), with
      H_out = floor((H + pad_top + pad_bottom - KH) / stride) + 1, W_out alike.
    - cache: for conv2d_backward.
    """
    func = "conv2d_forward"
    x = as_float_array(func, "x", x)
    w = as_float_array(func, "w", w)
    b = as_float_array(func, "b", b)
    stride, pads, out_shape = _check_conv_args(func, x.shape, w.shape, b.shape, stride, padding)
    kh, kw, c_in, c_out = w.shape

    xp = _pad_image(x, pads)
    cols = _im2col(xp, kh, kw, stride)
    weights_and_bias = np.vstack([w.reshape(kh * kw * c_in, c_out), b])
    out = cols @ weights_and_bias
    cache = _ConvCache(x.shape, xp.shape, pads, stride, out_shape, w, cols)
    return out.reshape(out_shape), cache


def conv2d_backward(dout, cache):
    """
    Backward pass of a 2-D convolution layer.

    Inputs:
    - dout: upstream derivative dL/dout, shape (N, H_out, W_out, C_out).
    - cache: from conv2d_forward.

    Returns a tuple of:
    - dx: dL/dx, shape (N, H, W, C_in).
    - dw: dL/dw, shape (KH, KW, C_in, C_out).
    - db: dL/db, shape (C_out,).
    """
    func = "conv2d_backward"
    x_shape, padded_shape, pads, stride, out_shape, w, cols = cache
    kh, kw, c_in, c_out = w.shape
    _, out_h, out_w, _ = out_shape
    dout = as_float_array(func, "dout", dout)
    require_shape(func, "dout", dout, out_shape, "(N, H_out, W_out, C_out)")
    dout_rows = dout.reshape(-1, c_out)

    # The last column of cols is all ones, so the last row of this product
    # is db = sum of dout over all output pixels.
    dweights_and_bias = cols.T @ dout_rows
    dw = dweights_and_bias[:-1].reshape(w.shape)
    db = dweights_and_bias[-1]

    # col2im. Output pixel (i, j) read xp[i*s + p, j*s + q] through w[p, q],
    # so the gradient of the patch entry at kernel offset (p, q) is
    # w[p, q] . dout[i, j], and for a fixed offset these entries land on the
    # strided sub-grid xp[p::s, q::s]. One matmul gives all of them, laid out
    # offset-major (KH, KW, C_in, N, H_out, W_out) so that each offset's block
    # is contiguous; it is added onto a channels-first gradient of the padded
    # image, one vectorised add per kernel offset.
    dpatches = (w.reshape(-1, c_out) @ dout_rows.T).reshape(kh, kw, c_in, *out_shape[:3])
    n, padded_h, padded_w, _ = padded_shape
    dxp = np.zeros((c_in, n, padded_h, padded_w))
    row_end = (out_h - 1) * stride + 1
    col_end = (out_w - 1) * stride + 1
    for p in range(kh):
        for q in range(kw):
            dxp[:, :, p : p + row_end : stride, q : q + col_end : stride] += dpatches[p, q]

    (top, _), (left, _) = pads
    dx = dxp[:, :, top : top + x_shape[1], left : left + x_shape[2]]
    return np.ascontiguousarray(dx.transpose(1, 2, 3, 0)), dw, db
