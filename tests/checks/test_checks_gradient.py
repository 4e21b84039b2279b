"""Gradient: a backward pass graded against the truth and against the student's own forward.

The dense layer and the loss are written here (not imported from the
reference); ``run`` plays the part of the harness: it runs a student's
forward and backward and probes the forward at x ± h·v, as the child would.
"""

import numpy as np
import pytest

from grader.engine.checks import ExpectedValueError, Gradient

H = 1e-6


# -- a correct dense layer and some wrong ones ---------------------------------

def dense_forward(x, W, b):
    return x @ W + b, (x, W, b)


def dense_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def backward_sign_error(dout, cache):
    x, W, b = cache
    return dout @ W.T, -(x.T @ dout), dout.sum(axis=0)


def forward_double_bias(x, W, b):
    return x @ W + 2 * b, (x, W, b)


def backward_double_bias(dout, cache):  # consistent with forward_double_bias
    x, W, b = cache
    return dout @ W.T, x.T @ dout, 2 * dout.sum(axis=0)


def forward_scaled(x, W, b):
    return 2 * (x @ W) + b, (x, W, b)


def backward_scaled(dout, cache):  # consistent with forward_scaled
    x, W, b = cache
    return 2 * dout @ W.T, 2 * x.T @ dout, dout.sum(axis=0)


def backward_transposed_dW(dout, cache):
    x, W, b = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def backward_dx_without_transpose(dout, cache):
    x, W, b = cache
    return dout, x.T @ dout, dout.sum(axis=0)  # (N, M) instead of (N, D)


def run(forward, backward, args, ref_forward=dense_forward, ref_backward=dense_backward, seed=0, directions=1):
    """What the harness does: returns (got, expected) for the Gradient check."""
    rng = np.random.default_rng(seed)
    out_ref, cache_ref = ref_forward(*args)
    dout = rng.normal(size=np.shape(out_ref))
    grads_ref = list(ref_backward(dout, cache_ref))
    out, cache = forward(*args)
    grads = backward(dout, cache)
    grads = list(grads) if isinstance(grads, tuple) else grads
    dirs, probes = [], []
    for j, a in enumerate(args):
        for _ in range(directions):
            v = rng.normal(size=a.shape)
            v /= np.linalg.norm(v)
            plus = list(args)
            minus = list(args)
            plus[j] = a + H * v
            minus[j] = a - H * v
            dirs.append({"input": j, "v": v, "h": H})
            probes.append({"input": j, "plus": forward(*plus)[0], "minus": forward(*minus)[0]})
    got = {"out": out, "grads": grads, "probes": probes}
    expected = {"out": out_ref, "grads": grads_ref, "dout": dout, "directions": dirs}
    return got, expected


@pytest.fixture
def args():
    rng = np.random.default_rng(42)
    return rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)


def test_correct_backward(args):
    got, exp = run(dense_forward, dense_backward, args)
    r = Gradient().check(got, exp)
    assert r.passed, r.message
    assert r.message.startswith("gradients correct")
    assert r.data["forward_ok"] is True
    assert all(g["consistent"] for g in r.data["gradients"])


def test_sign_error_does_not_match_own_forward(args):
    got, exp = run(dense_forward, backward_sign_error, args)
    r = Gradient().check(got, exp)
    assert not r.passed
    assert r.fraction == pytest.approx(2 / 3)
    assert "your backward does not match your own forward" in r.message
    assert "dW disagrees with the finite-difference gradient of your forward along a random direction" in r.message
    assert "relative error" in r.message
    assert "forward is wrong" not in r.message
    by_name = {g["name"]: g for g in r.data["gradients"]}
    assert by_name["dW"]["consistent"] is False
    assert by_name["dW"]["rel_error"] > 0.5
    assert by_name["dx"]["ok"] and by_name["db"]["ok"]


def test_wrong_forward_with_consistent_backward(args):
    got, exp = run(forward_double_bias, backward_double_bias, args)
    r = Gradient().check(got, exp)
    assert not r.passed
    assert r.fraction == pytest.approx(2 / 3)  # dx and dW are still right
    assert "your forward is wrong" in r.message
    assert "gradient of your forward differs from the true one" in r.message
    assert "consistent with your own forward" in r.message
    assert "db" in r.message
    assert r.data["forward_ok"] is False


def test_wrong_forward_all_gradients_consistent(args):
    got, exp = run(forward_scaled, backward_scaled, args)
    r = Gradient().check(got, exp)
    assert r.fraction == pytest.approx(1 / 3)
    assert "your forward is wrong" in r.message and "fix the forward first" in r.message


def test_wrong_forward_and_inconsistent_backward(args):
    got, exp = run(forward_double_bias, backward_sign_error, args)
    r = Gradient().check(got, exp)
    assert "your forward is wrong" in r.message
    assert "does not match your own forward" in r.message


def test_transposed_dW(args):
    got, exp = run(dense_forward, backward_transposed_dW, args)
    r = Gradient().check(got, exp)
    assert r.fraction == pytest.approx(2 / 3)
    assert "dW has shape (3, 5), expected shape (5, 3)" in r.message
    assert "transpose" in r.message


def test_dx_of_another_shape_gets_no_transpose_hint(args):
    # dout returned as dx: (N, M) for (N, D) is not the transpose of anything
    got, exp = run(dense_forward, backward_dx_without_transpose, args)
    r = Gradient().check(got, exp)
    assert "dx has shape (4, 3), expected shape (4, 5)" in r.message
    assert "transpose" not in r.message
    assert "A gradient has the shape of the input it belongs to" in r.message


def test_structure_errors(args):
    got, exp = run(dense_forward, dense_backward, args)
    g = dict(got)
    g["grads"] = got["grads"][:2]
    r = Gradient().check(g, exp)
    assert not r.passed and "returned 2 values; expected 3 gradients (dx, dW, db)" in r.message
    g["grads"] = [got["grads"][0], got["grads"][1], None]
    r = Gradient().check(g, exp)
    assert r.fraction == pytest.approx(2 / 3) and "db is None" in r.message
    for bad, words in [(None, "returned nothing"), ({"dx": 1}, "dict"), (got["grads"][0], "single array"),
                       ("dx", "string")]:
        g["grads"] = bad
        r = Gradient().check(g, exp)
        assert not r.passed and words in r.message, r.message
    r = Gradient().check("not a dict", exp)
    assert not r.passed and "no backward-pass results" in r.message


def test_gradient_entries_of_the_wrong_kind(args):
    got, exp = run(dense_forward, dense_backward, args)
    g = dict(got, grads=[got["grads"][0], "dW", np.full(3, np.nan)])
    r = Gradient().check(g, exp)
    assert r.fraction == pytest.approx(1 / 3)
    assert "dW should be an array of shape (5, 3)" in r.message
    assert "db contains 3 non-finite values" in r.message


def test_without_probes_still_graded_against_reference(args):
    got, exp = run(dense_forward, backward_sign_error, args)
    g = dict(got, probes=None)
    r = Gradient().check(g, exp)
    assert r.fraction == pytest.approx(2 / 3)
    assert "does not match your own forward" not in r.message
    assert "dW" in r.message and "not within tolerance" in r.message
    g = dict(got, probes=[{"input": 0, "plus": "junk", "minus": None}, 7])
    assert Gradient().check(g, exp).fraction == pytest.approx(2 / 3)


def test_all_or_nothing(args):
    got, exp = run(dense_forward, backward_sign_error, args)
    assert Gradient(partial=False).check(got, exp).fraction == 0.0


def backward_scaled_dW(dout, cache):
    x, W, b = cache
    return dout @ W.T, 1.5 * (x.T @ dout), dout.sum(axis=0)


def test_message_hides_reference_values(args):
    got, exp = run(dense_forward, backward_scaled_dW, args)
    r = Gradient().check(got, exp)
    assert "does not match your own forward" in r.message
    for value in exp["grads"][1].flat:
        assert f"{value:.6g}" not in r.message
    assert "the reference gradient" in r.detail
    worst = tuple(r.data["gradients"][1]["data"]["worst_index"])
    assert f"{exp['grads'][1][worst]:.6g}" in r.detail


def test_correct_gradients_with_wrong_forward_output_pass_with_a_note(args):
    got, exp = run(dense_forward, dense_backward, args)
    g = dict(got, out=got["out"] + 1.0)
    r = Gradient().check(g, exp)
    assert r.passed and "note: your forward output itself is not correct" in r.message


# -- a loss: (loss, dinput) with a scalar output and dout = 1 ------------------

def mse(y_pred, y):
    n = y_pred.shape[0]
    return 0.5 * np.sum((y_pred - y) ** 2) / n, (y_pred - y) / n


def mse_no_average_grad(y_pred, y):
    n = y_pred.shape[0]
    return 0.5 * np.sum((y_pred - y) ** 2) / n, (y_pred - y)


def mse_no_average(y_pred, y):
    return 0.5 * np.sum((y_pred - y) ** 2), (y_pred - y)


def run_loss(fn, y_pred, y, seed=0):
    rng = np.random.default_rng(seed)
    loss_ref, d_ref = mse(y_pred, y)
    loss, d = fn(y_pred, y)
    dirs, probes = [], []
    for _ in range(2):
        v = rng.normal(size=y_pred.shape)
        v /= np.linalg.norm(v)
        dirs.append({"input": 0, "v": v, "h": H})
        probes.append({"input": 0, "plus": fn(y_pred + H * v, y)[0], "minus": fn(y_pred - H * v, y)[0]})
    return ({"out": loss, "grads": [d], "probes": probes},
            {"out": loss_ref, "grads": [d_ref], "dout": 1.0, "directions": dirs})


def test_loss_gradient():
    rng = np.random.default_rng(1)
    y_pred, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    check = Gradient(names=("dy_pred",))
    assert check.check(*run_loss(mse, y_pred, y)).passed
    r = check.check(*run_loss(mse_no_average_grad, y_pred, y))
    assert not r.passed and "does not match your own forward" in r.message and "dy_pred" in r.message
    r = check.check(*run_loss(mse_no_average, y_pred, y))
    assert not r.passed and "your forward is wrong" in r.message and "consistent" in r.message
    # a bare array for a single gradient is accepted
    got, exp = run_loss(mse, y_pred, y)
    assert check.check(dict(got, grads=got["grads"][0]), exp).passed
    assert check.check(dict(got, grads=got["grads"][0].tolist()), exp).passed


def test_bad_expected_raises(args):
    with pytest.raises(ExpectedValueError):
        Gradient().check({"grads": []}, {"out": 1.0})
    got, exp = run(dense_forward, dense_backward, args)
    bad = dict(exp, directions=[{"input": 7, "v": np.zeros(3), "h": H}])
    with pytest.raises(ExpectedValueError):
        Gradient().check(got, bad)


def test_names_beyond_the_given_ones(args):
    got, exp = run(dense_forward, backward_sign_error, args)
    r = Gradient(names=("dx",)).check(got, exp)
    assert "gradient 1" in r.message


# -- a loss whose value is wrong although its gradient is right ----------------
# The loss value is part of a loss question's answer (Gradient(output="loss")).

def half_squared_error(y_pred, y):
    diff = y_pred - y
    return 0.5 * np.sum(diff ** 2), diff


def squared_error_without_the_half(y_pred, y):  # the gradient is the one of the half
    diff = y_pred - y
    return np.sum(diff ** 2), diff


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.mean(np.log(probs[np.arange(n), labels]))
    d = probs.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


def cross_entropy_averaged_over_classes(logits, labels):
    loss, d = cross_entropy(logits, labels)
    return loss / logits.shape[1], d


def cross_entropy_in_place_softmax(logits, labels):
    """Softmax written into the logits, then the loss from the (now) probabilities as if logits."""
    n = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    probs = logits
    log_z = np.log(np.exp(logits).sum(axis=1))
    loss = np.mean(log_z - logits[np.arange(n), labels])
    d = probs.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


def run_value_and_grad(fn, reference, x, *rest, seed=0):
    """The harness for a loss: each call gets its own copy of the arguments, as in the child."""
    rng = np.random.default_rng(seed)
    loss_ref, d_ref = reference(x.copy(), *rest)
    loss, d = fn(x.copy(), *rest)
    dirs, probes = [], []
    for _ in range(2):
        v = rng.normal(size=x.shape)
        v /= np.linalg.norm(v)
        dirs.append({"input": 0, "v": v, "h": H})
        probes.append({"input": 0, "plus": fn(x + H * v, *rest)[0], "minus": fn(x - H * v, *rest)[0]})
    return ({"out": loss, "grads": [d], "probes": probes},
            {"out": loss_ref, "grads": [d_ref], "dout": 1.0, "directions": dirs})


@pytest.mark.parametrize("wrong, reference", [
    (squared_error_without_the_half, half_squared_error),
    (cross_entropy_averaged_over_classes, cross_entropy),
    (cross_entropy_in_place_softmax, cross_entropy),
])
def test_a_wrong_loss_value_with_a_right_gradient_costs_its_share(wrong, reference):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4))
    second = rng.integers(0, 4, size=5) if reference is cross_entropy else rng.normal(size=(5, 4))
    check = Gradient(names=("dinput",), output="loss")
    got, exp = run_value_and_grad(wrong, reference, x, second)
    r = check.check(got, exp)
    assert r.fraction == pytest.approx(1 / 2), r.message
    assert r.message.startswith("your loss value is not correct"), r.message
    assert "gradient is" in r.message and "All" not in r.message
    assert r.data["forward_ok"] is False
    right = check.check(*run_value_and_grad(reference, reference, x, second))
    assert right.passed and right.message.startswith("loss value and gradient correct"), right.message


def test_a_wrong_loss_value_and_a_wrong_gradient_earn_nothing():
    rng = np.random.default_rng(4)
    y_pred, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    r = Gradient(names=("dy_pred",), output="loss").check(*run_loss(mse_no_average, y_pred, y))
    assert r.fraction == 0.0
    assert r.message.startswith("your loss value is not correct, and dy_pred is not correct")


def test_output_must_be_a_name():
    with pytest.raises(ValueError, match="output must be a name"):
        Gradient(output=None)


# -- hints only when true: a bias gradient summed over the wrong axis, a padded dx --

def backward_db_over_features(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)


def test_db_summed_over_the_wrong_axis_says_so_and_not_transpose(args):
    got, exp = run(dense_forward, backward_db_over_features, args)  # dout is (4, 3): db (4,) for (3,)
    r = Gradient().check(got, exp)
    assert r.fraction == pytest.approx(2 / 3)
    assert "db has shape (4,), expected shape (3,): db is dout summed over axis 1; it should be dout summed " \
           "over axis 0" in r.message
    assert "transpose" not in r.message


def test_db_summed_over_the_wrong_axis_of_a_square_dout_is_told_by_its_values():
    rng = np.random.default_rng(5)
    args = rng.normal(size=(3, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)  # dout is (3, 3)
    got, exp = run(dense_forward, backward_db_over_features, args)
    r = Gradient().check(got, exp)
    assert "db is dout summed over axis 1; it should be dout summed over axis 0" in r.message
    # a db wrong in another way gets no such hint
    got["grads"][2] = got["grads"][2] + 1.0
    r = Gradient().check(got, exp)
    assert "db" in r.message and "summed over" not in r.message


def conv_forward(x, w, pad=1):
    """A stride-1 cross-correlation with zero padding: x (N, H, W, C), w (K, K, C, F)."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    k = w.shape[0]
    out_h, out_w = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            out[:, i, j, :] = np.tensordot(xp[:, i:i + k, j:j + k, :], w, axes=3)
    return out, (xp, w, pad)


def conv_backward_padded_dx(dout, cache):
    """dx of the padded input, not cropped back to x's shape."""
    xp, w, pad = cache
    k = w.shape[0]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            dxp[:, i:i + k, j:j + k, :] += np.tensordot(dout[:, i, j, :], w, axes=(1, 3))
            dw += np.tensordot(xp[:, i:i + k, j:j + k, :], dout[:, i, j, :], axes=(0, 0))
    return dxp, dw


def conv_backward(dout, cache):
    dxp, dw = conv_backward_padded_dx(dout, cache)
    pad = cache[2]
    return dxp[:, pad:-pad, pad:-pad, :], dw


def test_dx_with_the_padding_left_on_is_told_to_crop_it():
    rng = np.random.default_rng(6)
    args = rng.normal(size=(1, 6, 6, 2)), rng.normal(size=(3, 3, 2, 4))
    assert Gradient(names=("dx", "dw")).check(*run(conv_forward, conv_backward, args, conv_forward,
                                                   conv_backward)).passed
    got, exp = run(conv_forward, conv_backward_padded_dx, args, conv_forward, conv_backward)
    r = Gradient(names=("dx", "dw")).check(got, exp)
    assert r.fraction == pytest.approx(1 / 2)
    assert ("dx has shape (1, 8, 8, 2), expected shape (1, 6, 6, 2) - it is the padded shape (1 too many on each "
            "side of the padded axes): crop the padding") in r.message
    assert "transpose" not in r.message


def test_loss_gradient_questions_grade_the_loss_value():
    from grader.engine.authoring import Assignment

    course = Assignment("losses", title="losses", module="losses")

    @course.question(points=2)
    def squared_error(q):
        """the loss and its gradient"""
        y_pred, y = q.rng.normal(size=(4, 3)), q.rng.normal(size=(4, 3))
        q.loss_gradient("half_squared_error", y_pred, y, reference=half_squared_error, name="dy_pred")

    case = course.compile().question("squared_error").cases[0]
    assert case.check.output == "loss"
    y_pred, y = (case.request["calls"][0]["args"][i] for i in (0, 1))
    loss, d = squared_error_without_the_half(y_pred, y)
    got = {"out": loss, "grads": [d], "probes": []}
    r = case.check.check(got, case.expected)
    assert r.fraction == pytest.approx(1 / 2) and r.message.startswith("your loss value is not correct")
