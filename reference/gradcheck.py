"""Numerical gradients by central differences, to check backward passes.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

The error of this estimate is O(h^2) from truncation plus O(eps |f| / h)
from rounding; h = 1e-5 balances the two for float64 inputs of order one.
Each entry of x is perturbed in place and restored exactly afterwards.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """
    Gradient of a scalar function by central differences.

    Inputs:
    - f: function taking x (the same array object, perturbed in place) and
      returning a scalar.
    - x: float64 array of any shape; modified during the call and restored.
    - h: step.

    Returns:
    - grad: array of the same shape as x, grad[i] ~ df/dx[i].
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """
    Gradient of sum(f(x) * dout) by central differences: the vector-Jacobian
    product that a backward pass computes for an array-valued f.

    Inputs:
    - f: function taking x (perturbed in place) and returning an array of the
      shape of dout.
    - x: float64 array of any shape; modified during the call and restored.
    - dout: upstream derivative, shape of f(x).
    - h: step.

    Returns:
    - grad: array of the same shape as x, grad[i] ~ sum_j dout[j] df_j/dx[i].
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = np.array(f(x), dtype=np.float64)  # copy: f may return a view of x
        x[index] = original - h
        f_minus = np.array(f(x), dtype=np.float64)
        x[index] = original
        grad[index] = np.sum((f_plus - f_minus) * dout) / (2 * h)
    return grad


def relative_error(a, b):
    """
    Relative error between two arrays, scaled by the arrays' largest entries:

        max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny)

    Both maxima run over all elements (infinity norms). Unlike cs231n's
    per-element form, max_i |a_i - b_i| / max(|a_i| + |b_i|, 1e-8), entries
    that are zero up to rounding (a gradient through a dead relu or a
    zero-padded border) cannot dominate: they are measured against the scale
    of the whole array. tiny is the smallest positive float64, so two zero
    arrays have error 0 and a zero array against a non-zero one has error 1.

    Inputs:
    - a, b: arrays of the same shape (scalars allowed).

    Returns:
    - float in [0, 1].
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"relative_error: a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / max(scale, np.finfo(np.float64).tiny))
