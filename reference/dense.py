"""Fully connected (dense, affine) layer."""

from reference._validate import (
    as_float_array,
    require_ndim,
    require_shape,
)


def dense_forward(x, W, b):
    """
    Forward pass of a dense layer: out = x W + b.

    Row n of x is one example; column m of W holds the weights of output
    neuron m. (A lecture that writes z = W x with W[i, j] connecting input j
    to neuron i uses the transpose of this W.)

    Inputs:
    - x: inputs, shape (N, D).
    - W: weights, shape (D, M).
    - b: biases, shape (M,).

    Returns a tuple of:
    - out: outputs, shape (N, M).
    - cache: (x, W), for dense_backward.
    """
    func = "dense_forward"
    x = as_float_array(func, "x", x)
    W = as_float_array(func, "W", W)
    b = as_float_array(func, "b", b)
    require_ndim(func, "x", x, 2, "(N, D)")
    require_ndim(func, "W", W, 2, "(D, M)")
    if x.shape[1] != W.shape[0]:
        raise ValueError(
            f"{func}: x has {x.shape[1]} features but W expects {W.shape[0]} "
            f"(x.shape={x.shape}, W.shape={W.shape})"
        )
    require_shape(func, "b", b, (W.shape[1],), "(M,)")
    out = x @ W + b
    return out, (x, W)


def dense_backward(dout, cache):
    """
    Backward pass of a dense layer.

    Inputs:
    - dout: upstream derivative dL/dout, shape (N, M).
    - cache: (x, W) from dense_forward.

    Returns a tuple of:
    - dx: dL/dx, shape (N, D).
    - dW: dL/dW, shape (D, M).
    - db: dL/db, shape (M,).
    """
    x, W = cache
    dout = as_float_array("dense_backward", "dout", dout)
    require_shape("dense_backward", "dout", dout, (x.shape[0], W.shape[1]), "(N, M)")
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
