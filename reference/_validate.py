"""Input checks shared by the reference layers.

Every check raises ``ValueError`` with a message that names the function, what
was expected and what was received, so that a student (or a grader author)
reading the message knows what to fix without opening the source.
"""

import operator

import numpy as np


def as_float_array(func, name, value):
    """Return ``value`` as a float64 ndarray (no copy if it already is one).

    Inputs:
    - func: name of the calling function, used in error messages.
    - name: name of the argument, used in error messages.
    - value: array-like of real numbers.

    Returns:
    - ndarray of dtype float64.
    """
    array = np.asarray(value)
    if array.dtype == np.float64:
        return array
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{func}: {name} must hold real numbers, got dtype {array.dtype}"
        )
    return array.astype(np.float64)


def require_ndim(func, name, array, ndim, layout):
    """Check that ``array`` has ``ndim`` axes; ``layout`` names them, e.g. "(N, H, W, C)"."""
    if array.ndim != ndim:
        raise ValueError(
            f"{func}: {name} must be {ndim}-D {layout}, got shape {array.shape}"
        )


def require_shape(func, name, array, shape, layout):
    """Check that ``array.shape == shape``; ``layout`` names the axes, e.g. "(C_out,)"."""
    if array.shape != tuple(shape):
        raise ValueError(
            f"{func}: {name} must have shape {layout} = {tuple(shape)}, "
            f"got shape {array.shape}"
        )


def require_same_shape(func, name_a, a, name_b, b):
    """Check that two arrays have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{func}: {name_a} and {name_b} must have the same shape, "
            f"got {name_a}.shape={a.shape} and {name_b}.shape={b.shape}"
        )


def positive_int(func, name, value):
    """Return ``value`` as a Python int, checking that it is an integer >= 1."""
    number = _integer(func, name, value, "a positive int")
    if number < 1:
        raise ValueError(f"{func}: {name} must be a positive int, got {value!r}")
    return number


def non_negative_int(func, name, value):
    """Return ``value`` as a Python int, checking that it is an integer >= 0."""
    number = _integer(func, name, value, "a non-negative int")
    if number < 0:
        raise ValueError(
            f"{func}: {name} must be a non-negative int, got {value!r}"
        )
    return number


def _integer(func, name, value, what):
    # bool is an int subclass, but stride=True is always a mistake.
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{func}: {name} must be {what}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{func}: {name} must be {what}, got {value!r}") from None
