"""Max and average pooling: forward against the definition, backward against
central differences (relative error < GRAD_TOL = 1e-7), the tie rule, errors."""

import numpy as np
import pytest

from reference import pooling
from reference.gradcheck import numerical_gradient_array, relative_error
from reference.pooling import avgpool_backward, avgpool_forward, maxpool_backward, maxpool_forward

GRAD_TOL = 1e-7

# (x shape, pool, stride): windows that tile, overlap (stride < pool) or skip
# entries (stride > pool); odd sizes whose last row/column is left out; batch of 1.
POOL_CASES = [
    ((2, 4, 4, 3), 2, 2),
    ((1, 7, 7, 2), 3, 2),
    ((2, 5, 6, 2), 2, 1),
    ((1, 7, 5, 1), 2, 3),
    ((2, 9, 9, 2), 3, 3),
    ((1, 3, 3, 2), 3, 1),
]


def case_id(case):
    x_shape, pool, stride = case
    return f"x{x_shape}-pool{pool}-s{stride}"


def distinct_values(rng, shape):
    """Entries 0.01 apart in random order: no two entries of a window are
    within the finite-difference step of each other (max is smooth there)."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.01


def naive_pool(x, pool, stride, reduce):
    n, height, width, channels = x.shape
    out_h = (height - pool) // stride + 1
    out_w = (width - pool) // stride + 1
    out = np.zeros((n, out_h, out_w, channels))
    for i_n in range(n):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    window = x[i_n, i * stride : i * stride + pool, j * stride : j * stride + pool, c]
                    out[i_n, i, j, c] = reduce(window)
    return out


@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_maxpool_forward_and_backward(rng, case):
    x_shape, pool, stride = case
    x = distinct_values(rng, x_shape)
    out, cache = maxpool_forward(x, pool, stride)
    np.testing.assert_array_equal(out, naive_pool(x, pool, stride, np.max))

    dout = rng.standard_normal(out.shape)
    dx = maxpool_backward(dout, cache)
    numeric = numerical_gradient_array(lambda v: maxpool_forward(v, pool, stride)[0], x, dout)
    assert dx.shape == x_shape
    assert relative_error(dx, numeric) < GRAD_TOL


@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_avgpool_forward_and_backward(rng, case):
    x_shape, pool, stride = case
    x = rng.standard_normal(x_shape)
    out, cache = avgpool_forward(x, pool, stride)
    assert relative_error(out, naive_pool(x, pool, stride, np.mean)) < 1e-15

    dout = rng.standard_normal(out.shape)
    dx = avgpool_backward(dout, cache)
    numeric = numerical_gradient_array(lambda v: avgpool_forward(v, pool, stride)[0], x, dout)
    assert relative_error(dx, numeric) < GRAD_TOL


def test_maxpool_gradient_goes_to_the_first_maximum_in_row_major_order():
    # One 2x2 window per case; the max is shared by the marked entries.
    windows = {
        "all equal": [[5.0, 5.0], [5.0, 5.0]],
        "top-right and bottom-left": [[1.0, 7.0], [7.0, 2.0]],
        "bottom row": [[0.0, -1.0], [3.0, 3.0]],
    }
    first_maximum = {"all equal": (0, 0), "top-right and bottom-left": (0, 1), "bottom row": (1, 0)}
    for name, window in windows.items():
        x = np.array(window).reshape(1, 2, 2, 1)
        out, cache = maxpool_forward(x, 2, 2)
        dx = maxpool_backward(np.full(out.shape, 3.0), cache)
        expected = np.zeros((2, 2))
        expected[first_maximum[name]] = 3.0
        np.testing.assert_array_equal(dx[0, :, :, 0], expected, err_msg=name)


def test_maxpool_overlapping_windows_add_their_gradients():
    # The centre of a 3x3 input is the max of all four 2x2 windows (stride 1).
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0
    out, cache = maxpool_forward(x, 2, 1)
    dout = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    dx = maxpool_backward(dout, cache)
    assert dx[0, 1, 1, 0] == dout.sum()
    assert np.count_nonzero(dx) == 1


def test_pooling_keeps_channels_and_batch_apart(rng):
    x = distinct_values(rng, (3, 4, 4, 5))
    out, _ = maxpool_forward(x, 2, 2)
    for n in range(3):
        for c in range(5):
            single, _ = maxpool_forward(x[n : n + 1, :, :, c : c + 1], 2, 2)
            np.testing.assert_array_equal(out[n, :, :, c], single[0, :, :, 0])


@pytest.mark.parametrize("forward", [maxpool_forward, avgpool_forward])
def test_pooling_rejects_bad_input(forward):
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, H, W, C\), got shape \(4, 4, 1\)"):
        forward(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match=r"pool window 3x3 is larger than the input 2x5 \(x.shape=\(1, 2, 5, 1\)\)"):
        forward(np.zeros((1, 2, 5, 1)), pool=3, stride=1)
    with pytest.raises(ValueError, match=r"stride must be a positive int, got 0"):
        forward(np.zeros((1, 4, 4, 1)), pool=2, stride=0)
    with pytest.raises(ValueError, match=r"pool must be a positive int, got 2.5"):
        forward(np.zeros((1, 4, 4, 1)), pool=2.5)


@pytest.mark.parametrize(
    "forward, backward", [(maxpool_forward, maxpool_backward), (avgpool_forward, avgpool_backward)]
)
def test_pooling_backward_rejects_a_gradient_of_the_wrong_shape(forward, backward):
    _, cache = forward(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match=r"dout must have shape .* = \(2, 2, 2, 3\), got shape \(2, 4, 4, 3\)"):
        backward(np.zeros((2, 4, 4, 3)), cache)


@pytest.mark.parametrize("pool, stride", [(2, 2), (3, 2), (3, 1)])
def test_maxpool_in_groups_of_examples_is_the_same_as_in_one(rng, monkeypatch, pool, stride):
    # maxpool_forward pools a few examples at a time (to stay in cache); a group of one
    # example and a group holding the whole batch must give the same output and gradient.
    x = distinct_values(rng, (7, 9, 8, 3))
    dout = rng.standard_normal(maxpool_forward(x, pool, stride)[0].shape)
    results = []
    for group_bytes in (1, x.nbytes // 3, 2**40):
        monkeypatch.setattr(pooling, "_GROUP_BYTES", group_bytes)
        out, cache = maxpool_forward(x, pool, stride)
        results.append((out, maxpool_backward(dout, cache)))
    np.testing.assert_array_equal(results[0][0], naive_pool(x, pool, stride, np.max))
    for out, dx in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])
