# Example submission: DF_DT with sin(t) written as sqrt(1 - x^2), x = cos(t): right only where sin(t) >= 0, so wrong for t in (pi, 2 pi) and for negative t
# %% [markdown]
# # Assignment 02: softmax, cross-entropy and derivations
#
# You implement the output layers of a classifier in numpy: a numerically
# stable softmax, the softmax cross-entropy loss and the binary cross-entropy
# loss, each returning the loss and its gradient. Then you redo the lectures'
# derivations: the gradient of the softmax layer in the penguin example, and
# derivatives written as expressions (strings) that the grader checks
# symbolically.
#
# Conventions (the same in every assignment):
# - arrays are batch-first: logits are (N, K), one row per example;
# - losses return `(loss, dinput)`: the loss averaged over the batch and its
#   gradient with respect to the prediction (or the logits);
# - float64 throughout.
#
# Run `dlgrade check softmax.py` (or `dlgrade check softmax.ipynb`) to run
# the public checks before you submit. Hidden checks test more inputs.

# %%
import numpy as np

# %% [markdown]
# ## 1. Softmax
#
# softmax(z)_i = exp(z_i) / sum_j exp(z_j), along the last axis: for z of
# shape (N, K) each row sums to 1; a single vector (K,) works too.
# `np.exp(1000)` is inf: subtract each row's maximum first (the result does
# not change), so that `softmax(np.array([[1000.0, 0.0]]))` is `[[1, 0]]`.


# %%
def softmax(z):
    """Softmax along the last axis of z (any shape (..., K)); rows sum to 1, no overflow."""
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


# %% [markdown]
# ## 2. Softmax cross-entropy
#
# For logits (N, K) and labels y, either integer class labels of shape (N,)
# or one-hot rows of shape (N, K):
#
#     loss = 1/N * sum_n -log softmax(logits_n)[y_n]
#     dlogits = (softmax(logits) - onehot(y)) / N
#
# Compute the loss with log-softmax, log p = (z - max) - log sum exp(z - max),
# never as log(softmax(z)) (which is log(0) = -inf for a very unlikely class).


# %%
def softmax_cross_entropy(logits, y):
    """logits: (N, K); y: integer labels (N,) or one-hot (N, K). Returns (loss: float, dlogits (N, K))."""
    logits = np.asarray(logits, dtype=np.float64)
    n, k = logits.shape
    y = np.asarray(y)
    if y.ndim == 1:
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y] = 1.0
    else:
        onehot = y.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(onehot * log_p) / n
    dlogits = (softmax(logits) - onehot) / n
    return float(loss), dlogits


# %% [markdown]
# ## 3. Binary cross-entropy
#
# For probabilities a (e.g. sigmoid outputs, every entry strictly between 0
# and 1) and targets y of the same shape (N,) or (N, M):
#
#     loss = -1/N * sum over all entries of [y log a + (1 - y) log(1 - a)]
#     da = (-y/a + (1 - y)/(1 - a)) / N
#
# N = a.shape[0] is the batch size: the sum runs over every entry, and is
# divided by the number of examples, not by the number of entries.


# %%
def binary_cross_entropy(a, y):
    """a, y: same shape (N,) or (N, M), a in (0, 1). Returns (loss: float, da shaped like a)."""
    a = np.asarray(a, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = a.shape[0]
    loss = -np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a)) / n
    da = (-y / a + (1.0 - y) / (1.0 - a)) / n
    return float(loss), da


# %% [markdown]
# ## 4. The penguin example (seed 003)
#
# A softmax output layer over the classes penguin, building, chair, person,
# bird predicts y_hat = (0.5, 0, 0.1, 0.2, 0.1); the true class is penguin.
# With L = -sum_i y_i log y_hat_i, give dL/dz for the layer's scores z as a
# list of 5 numbers (at least 2 decimals).

# %%
SOFTMAX_GRADIENT = [-0.5, 0.0, 0.1, 0.2, 0.1]

# %% [markdown]
# ## 5. Derivatives as expressions
#
# Write each answer as a string, e.g. `"a*(1 - a)"`. Allowed: numbers, the
# symbols named in each question, + - * / and ^ (or **), parentheses, and the
# functions exp, log, sin, cos, tanh, sqrt and sigma (the logistic sigmoid).
#
# Binary cross-entropy of one example, L = -(y log a + (1 - y) log(1 - a)),
# with a = sigma(z):
# - `DL_DA`: dL/da, in a and y;
# - `DL_DZ`: dL/dz, in a and y;
# - `DSIGMA_DZ`: d sigma/dz, in z (you may use sigma(z)).
#
# The chain rule (seed 001): f = y + exp(x y) with x = cos t and y = t^2.
# - `DF_DT`: df/dt, in t; you may keep x and y, which stand for cos t and t^2
#   (the lecture's form), or put them in.

# %%
DL_DA = "-y/a + (1 - y)/(1 - a)"
DL_DZ = "a - y"
DSIGMA_DZ = "sigma(z)*(1 - sigma(z))"
DF_DT = "y exp(x y) (-sqrt(1 - x^2)) + (1 + x exp(x y)) 2t"

# %% [markdown]
# ## 6. The backward pass of regularised logistic least squares (seed 001)
#
# Forward: z = w x + b, y = sigma(z), L = (y - t)^2 / 2, R = w^2 / 2,
# L_reg = L + lam R (lam, or λ, is the lecture's lambda). Backward, in the
# lecture's bar notation (v_bar = dL_reg/dv), each step as the lecture writes
# it. You may use the inputs w, b, x, t, lam; the nodes z, y, L, R; the error
# signals computed before the step (L_reg_bar, R_bar, L_bar, y_bar, z_bar);
# each name stands for its value, so y*(1 - y) is sigma'(z) and lam is R_bar.
# sigma'(z) may be written sigma_prime(z). L_reg_bar = L_bar = 1 need not be
# written.
# - `Y_BAR`: y_bar (worked out in the instructions);
# - `R_BAR`: R_bar;
# - `Z_BAR`: z_bar, from y_bar;
# - `W_BAR`: w_bar, from z_bar and R_bar;
# - `B_BAR`: b_bar, from z_bar.

# %%
Y_BAR = "y - t"
R_BAR = "lam"
Z_BAR = "y_bar*sigma(z)*(1 - sigma(z))"
W_BAR = "z_bar*x + R_bar*w"
B_BAR = "z_bar"
