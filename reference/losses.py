"""Loss functions and softmax.

Every loss returns ``(loss, dinput)``: the scalar loss as a Python float and
its gradient with respect to the prediction (or the logits). The first axis
is the batch; losses are averaged over the batch, so the gradient carries a
factor 1/N.
"""

import numpy as np

from reference._validate import as_float_array, require_ndim, require_same_shape


def _batch_size(func, name, array):
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(
            f"{func}: {name} must have a non-empty batch axis (N, ...), "
            f"got shape {array.shape}"
        )
    return array.shape[0]


def squared_error_loss(y_pred, y):
    """
    Squared error, halved and averaged over the batch:
    loss = 1/(2N) * sum_n ||y_pred[n] - y[n]||^2.

    For one example this is the lecture's L = 1/2 * sum_k (y_pred_k - y_k)^2.

    Inputs:
    - y_pred: predictions, shape (N, ...) (typically (N, K) or (N,)).
    - y: targets, same shape as y_pred.

    Returns a tuple of:
    - loss: float.
    - dy_pred: dL/dy_pred = (y_pred - y) / N, same shape as y_pred.
    """
    func = "squared_error_loss"
    y_pred = as_float_array(func, "y_pred", y_pred)
    y = as_float_array(func, "y", y)
    require_same_shape(func, "y_pred", y_pred, "y", y)
    n = _batch_size(func, "y_pred", y_pred)
    diff = y_pred - y
    loss = 0.5 * np.sum(diff * diff) / n
    return float(loss), diff / n


def binary_cross_entropy(a, y):
    """
    Binary cross-entropy of probabilities a against targets y, averaged over
    the batch: loss = -1/N * sum_n sum_j [y log a + (1 - y) log(1 - a)].

    Convention: the per-example loss is the SUM over that example's outputs,
    and the mean is taken over the batch axis only (N = a.shape[0]). For the
    common case of one sigmoid output per example, a of shape (N,) or (N, 1),
    this is the plain mean over the N examples (Keras's binary_crossentropy).

    Inputs:
    - a: predicted probabilities, shape (N, ...), every entry strictly in (0, 1)
      (e.g. sigmoid outputs; log(0) is undefined, so 0 and 1 are rejected).
    - y: targets in [0, 1] (usually 0 or 1), same shape as a.

    Returns a tuple of:
    - loss: float.
    - da: dL/da = (-y/a + (1 - y)/(1 - a)) / N, same shape as a.
    """
    func = "binary_cross_entropy"
    a = as_float_array(func, "a", a)
    y = as_float_array(func, "y", y)
    require_same_shape(func, "a", a, "y", y)
    n = _batch_size(func, "a", a)
    if not np.all((a > 0) & (a < 1)):
        raise ValueError(
            f"{func}: a must hold probabilities strictly between 0 and 1, "
            f"got values in [{a.min()}, {a.max()}]"
        )
    if not np.all((y >= 0) & (y <= 1)):
        raise ValueError(
            f"{func}: y must hold targets in [0, 1], got values in [{y.min()}, {y.max()}]"
        )
    loss = -np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a)) / n
    da = (-y / a + (1.0 - y) / (1.0 - a)) / n
    return float(loss), da


def softmax(z):
    """
    Softmax along the last axis, computed stably.

    Subtracting the row maximum leaves the result unchanged and keeps every
    exponent <= 0, so softmax(1000) does not overflow.

    Inputs:
    - z: scores (logits), shape (..., K).

    Returns:
    - p: probabilities, same shape as z, each row summing to 1.
    """
    z = as_float_array("softmax", "z", z)
    if z.ndim == 0:
        raise ValueError("softmax: z must have a class axis (..., K), got a scalar")
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(labels, num_classes):
    """
    One-hot encoding of integer class labels.

    Inputs:
    - labels: integer labels, shape (N,), each in [0, num_classes).
    - num_classes: K.

    Returns:
    - y: float64 array of shape (N, K) with y[n, labels[n]] = 1, zeros elsewhere.
    """
    labels = _integer_labels("one_hot", labels, num_classes)
    y = np.zeros((labels.shape[0], num_classes))
    y[np.arange(labels.shape[0]), labels] = 1.0
    return y


def _integer_labels(func, labels, num_classes):
    labels = np.asarray(labels)
    require_ndim(func, "integer labels y", labels, 1, "(N,)")
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{func}: integer labels must have an integer dtype, got dtype {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{func}: labels must lie in [0, {num_classes}) for {num_classes} classes, "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    return labels


def softmax_cross_entropy(logits, y):
    """
    Softmax followed by cross-entropy, averaged over the batch:
    loss = 1/N * sum_n [logsumexp(logits[n]) - sum_k y[n, k] logits[n, k]].

    The loss is computed with log-sum-exp (never log(softmax)), so it is finite
    for any finite logits.

    Inputs:
    - logits: scores, shape (N, K).
    - y: either integer class labels, shape (N,), each in [0, K); or targets of
      shape (N, K) whose rows are probability distributions (one-hot rows are
      the usual case; each row must be non-negative and sum to 1).

    Returns a tuple of:
    - loss: float.
    - dlogits: dL/dlogits = (softmax(logits) - onehot) / N, shape (N, K).
    """
    func = "softmax_cross_entropy"
    logits = as_float_array(func, "logits", logits)
    require_ndim(func, "logits", logits, 2, "(N, K)")
    n, k = logits.shape
    _batch_size(func, "logits", logits)
    y = np.asarray(y)
    if y.ndim == 1:
        if y.shape[0] != n:
            raise ValueError(
                f"{func}: integer labels y must have shape (N,) = ({n},), got shape {y.shape}"
            )
        targets = one_hot(_integer_labels(func, y, k), k)
    elif y.ndim == 2:
        targets = as_float_array(func, "y", y)
        if targets.shape != logits.shape:
            raise ValueError(
                f"{func}: one-hot y must have the shape of logits (N, K) = {logits.shape}, "
                f"got shape {targets.shape}"
            )
        if np.any(targets < 0) or not np.allclose(targets.sum(axis=1), 1.0, rtol=0, atol=1e-9):
            raise ValueError(
                f"{func}: each row of y (N, K) must be a probability distribution "
                "(non-negative, summing to 1)"
            )
    else:
        raise ValueError(
            f"{func}: y must be integer labels (N,) or one-hot (N, K), got shape {y.shape}"
        )

    row_max = logits.max(axis=1, keepdims=True)
    log_sum_exp = row_max[:, 0] + np.log(np.exp(logits - row_max).sum(axis=1))
    loss = np.sum(log_sum_exp - np.sum(targets * logits, axis=1)) / n
    dlogits = (softmax(logits) - targets) / n
    return float(loss), dlogits
