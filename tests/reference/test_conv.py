"""Convolution: output sizes, forward against the definition, backward
against central differences (relative error < GRAD_TOL = 1e-7), errors."""

import numpy as np
import pytest

from reference.conv import (
    conv2d_backward,
    conv2d_forward,
    conv2d_output_shape,
    conv_output_size,
    same_padding,
)
from reference.gradcheck import numerical_gradient_array, relative_error

GRAD_TOL = 1e-7

# (x shape, w shape, stride, padding): odd and even sizes, non-square
# kernels, stride 1, 2, 3 with "same", "valid" and int padding, batch of 1.
CONV_CASES = [
    ((1, 5, 5, 1), (3, 3, 1, 1), 1, 0),
    ((2, 6, 5, 3), (3, 3, 3, 4), 1, "same"),
    ((2, 7, 7, 2), (3, 3, 2, 3), 2, "same"),
    ((2, 8, 6, 2), (2, 2, 2, 3), 2, "same"),
    ((1, 6, 7, 2), (4, 3, 2, 2), 3, "same"),
    ((2, 7, 6, 3), (3, 2, 3, 2), 1, 2),
    ((2, 6, 6, 2), (3, 3, 2, 2), 2, 1),
    ((1, 9, 9, 2), (5, 5, 2, 2), 3, "valid"),
    ((2, 5, 5, 2), (1, 1, 2, 3), 1, 0),
    ((3, 4, 4, 2), (4, 4, 2, 2), 1, "valid"),
]


def case_id(case):
    x_shape, w_shape, stride, padding = case
    return f"x{x_shape}-w{w_shape}-s{stride}-p{padding}"


def naive_conv2d(x, w, b, stride, pads):
    """The definition, one output number at a time (independent of the reference)."""
    (top, bottom), (left, right) = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    n, height, width, _ = xp.shape
    kh, kw, c_in, c_out = w.shape
    out_h = (height - kh) // stride + 1
    out_w = (width - kw) // stride + 1
    out = np.zeros((n, out_h, out_w, c_out))
    for i_n in range(n):
        for i in range(out_h):
            for j in range(out_w):
                for o in range(c_out):
                    patch = xp[i_n, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                    out[i_n, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return out


def pads_of(x_shape, w_shape, stride, padding):
    if padding == "same":
        return same_padding(x_shape[1], w_shape[0], stride), same_padding(x_shape[2], w_shape[1], stride)
    p = 0 if padding == "valid" else padding
    return (p, p), (p, p)


# ---------------------------------------------------------------- output sizes


@pytest.mark.parametrize("n", [1, 4, 5, 28, 32])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_output_size_counts_kernel_positions(n, k, stride, pad):
    if k > n + 2 * pad:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(n, k, stride, pad)
        return
    positions = [start for start in range(0, n + 2 * pad) if start % stride == 0 and start + k <= n + 2 * pad]
    assert conv_output_size(n, k, stride, pad) == len(positions)


@pytest.mark.parametrize("n", [1, 2, 5, 7, 28])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_n_over_stride_with_the_extra_zero_after(n, k, stride):
    before, after = same_padding(n, k, stride)
    assert 0 <= before <= after <= before + 1
    assert (n + before + after - k) // stride + 1 == -(-n // stride)
    # No superfluous zeros: if there is padding, the last window ends exactly on the last zero.
    out = -(-n // stride)
    assert before + after == 0 or (out - 1) * stride + k == n + before + after


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 5, 1, 0), r"kernel k=5 is larger than the padded input n \+ 2\*pad = 4"),
        ((4, 3, 0, 0), r"stride must be a positive int, got 0"),
        ((4, 3, 1, -1), r"pad must be a non-negative int, got -1"),
        ((4.0, 3, 1, 0), r"n must be a positive int, got 4.0"),
        ((4, 3, True, 0), r"stride must be a positive int, got True"),
    ],
)
def test_conv_output_size_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        conv_output_size(*args)


def test_conv2d_output_shape_agrees_with_the_forward(rng):
    for x_shape, w_shape, stride, padding in CONV_CASES:
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape)
        out, _ = conv2d_forward(x, w, np.zeros(w_shape[3]), stride, padding)
        assert conv2d_output_shape(x_shape, w_shape, stride, padding) == out.shape


# ---------------------------------------------------------------- forward and backward


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv2d_forward_matches_the_definition(rng, case):
    x_shape, w_shape, stride, padding = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[3])
    out, _ = conv2d_forward(x, w, b, stride, padding)
    expected = naive_conv2d(x, w, b, stride, pads_of(x_shape, w_shape, stride, padding))
    assert out.shape == expected.shape
    assert relative_error(out, expected) < 1e-14


def test_same_padding_keeps_the_size_at_stride_1_and_upper_case_is_accepted(rng):
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 4, 3, 5))
    out, _ = conv2d_forward(x, w, np.zeros(5), 1, "same")
    out_upper, _ = conv2d_forward(x, w, np.zeros(5), 1, "SAME")
    assert out.shape == (2, 7, 6, 5)
    np.testing.assert_array_equal(out, out_upper)


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv2d_backward_matches_central_differences(rng, case):
    x_shape, w_shape, stride, padding = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[3])
    out, cache = conv2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)

    def forward(x_=x, w_=w, b_=b):
        return conv2d_forward(x_, w_, b_, stride, padding)[0]

    assert dx.shape == x_shape and dw.shape == w_shape and db.shape == b.shape
    assert relative_error(dx, numerical_gradient_array(lambda v: forward(x_=v), x, dout)) < GRAD_TOL
    assert relative_error(dw, numerical_gradient_array(lambda v: forward(w_=v), w, dout)) < GRAD_TOL
    assert relative_error(db, numerical_gradient_array(lambda v: forward(b_=v), b, dout)) < GRAD_TOL


def test_conv2d_forward_does_not_modify_its_inputs(rng):
    x = rng.standard_normal((2, 5, 5, 2))
    w = rng.standard_normal((3, 3, 2, 2))
    b = rng.standard_normal(2)
    copies = x.copy(), w.copy(), b.copy()
    out, cache = conv2d_forward(x, w, b, 2, "same")
    conv2d_backward(np.ones_like(out), cache)
    for original, copy in zip((x, w, b), copies):
        np.testing.assert_array_equal(original, copy)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, stride, padding, message",
    [
        ((5, 5, 3), (3, 3, 3, 4), (4,), 1, 0, r"x must be 4-D \(N, H, W, C\), got shape \(5, 5, 3\)"),
        ((1, 5, 5, 3), (3, 3, 3), (4,), 1, 0, r"w must be 4-D \(KH, KW, C_in, C_out\), got shape \(3, 3, 3\)"),
        (
            (2, 5, 5, 3), (3, 3, 4, 8), (8,), 1, 0,
            r"x has 3 channels but w expects 4 \(x.shape=\(2, 5, 5, 3\), w.shape=\(3, 3, 4, 8\)\)",
        ),
        ((1, 5, 5, 3), (3, 3, 3, 4), (3,), 1, 0, r"b must have shape \(C_out,\) = \(4,\), got shape \(3,\)"),
        (
            (1, 2, 2, 1), (5, 5, 1, 1), (1,), 1, 1,
            r"kernel 5x5 is larger than the padded input 4x4 \(x.shape=\(1, 2, 2, 1\), w.shape=\(5, 5, 1, 1\), padding=1\)",
        ),
        ((1, 3, 3, 1), (4, 4, 1, 1), (1,), 1, "valid", r"kernel 4x4 is larger than the padded input 3x3"),
        ((1, 5, 5, 1), (3, 3, 1, 1), (1,), 1, "full", r"padding must be a non-negative int, 'valid' or 'same', got 'full'"),
        ((1, 5, 5, 1), (3, 3, 1, 1), (1,), 1, -1, r"padding must be a non-negative int, 'valid' or 'same', got -1"),
        ((1, 5, 5, 1), (3, 3, 1, 1), (1,), 1, 1.5, r"got 1.5"),
        ((1, 5, 5, 1), (3, 3, 1, 1), (1,), 0, 0, r"stride must be a positive int, got 0"),
        ((1, 5, 5, 1), (3, 3, 1, 1), (1,), 2.0, 0, r"stride must be a positive int, got 2.0"),
    ],
)
def test_conv2d_forward_rejects_bad_input_naming_shapes(x_shape, w_shape, b_shape, stride, padding, message):
    with pytest.raises(ValueError, match=message):
        conv2d_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), stride, padding)


def test_conv2d_backward_rejects_a_gradient_of_the_wrong_shape():
    out, cache = conv2d_forward(np.zeros((2, 5, 5, 1)), np.zeros((3, 3, 1, 4)), np.zeros(4))
    assert out.shape == (2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"dout must have shape .* = \(2, 3, 3, 4\), got shape \(2, 5, 5, 4\)"):
        conv2d_backward(np.zeros((2, 5, 5, 4)), cache)
