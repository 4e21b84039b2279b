"""Accuracy (model predictions), Exact and OneOf."""

import numpy as np
import pytest

from grader.engine.checks import Accuracy, Exact, ExpectedValueError, OneOf

Y = np.arange(1000) % 10


def predictions_with_accuracy(acc):
    pred = Y.copy()
    wrong = int(round((1 - acc) * Y.size))
    pred[:wrong] = (pred[:wrong] + 1) % 10
    return pred


@pytest.mark.parametrize("acc, credit", [(0.99, 1.0), (0.97, 1.0), (0.935, 0.5), (0.90, 0.0), (0.5, 0.0)])
def test_credit_is_linear_between_thresholds(acc, credit):
    r = Accuracy(low=0.90, high=0.97).check(predictions_with_accuracy(acc), Y)
    assert r.fraction == pytest.approx(credit)
    assert r.data["accuracy"] == pytest.approx(acc)
    assert f"{100 * acc:.1f}%" in r.message and "90.0%" in r.message and "97.0%" in r.message
    assert f"{credit:.0%} of the points" in r.message


def test_probabilities_are_argmaxed_and_one_hot_expected():
    probs = np.full((1000, 10), 0.01)
    probs[np.arange(1000), Y] = 0.91
    one_hot = np.eye(10)[Y]
    assert Accuracy().check(probs, Y).passed
    assert Accuracy().check(probs.astype(np.float32), one_hot).passed
    assert Accuracy().check(Y.tolist(), one_hot).passed
    assert Accuracy().check(Y.astype(np.float64), Y).passed  # whole-number floats are labels


@pytest.mark.parametrize(
    "got, words",
    [
        (Y[:998], "998 predicted labels; expected 1000"),
        (np.zeros((1000, 9)), "9 columns"),
        (np.zeros((10, 10)), "predictions for 10 images"),
        (Y + 0.5, "whole numbers"),
        (np.where(Y == 3, 10, Y), "outside the classes 0..9"),
        (np.where(Y == 3, -1, Y), "outside the classes 0..9"),
        (Y.astype(bool), "booleans"),
        (np.zeros((1000, 10, 1)), "shape (1000, 10, 1)"),
        (np.full((1000, 10), np.nan), "NaN or inf"),
        ("cats", "string"),
        (None, "None"),
        ([[1, 2], [3]], "cannot be read"),
    ],
)
def test_bad_predictions_fail_clearly(got, words):
    r = Accuracy(num_classes=10).check(got, Y)
    assert r.fraction == 0.0
    assert words in r.message, r.message
    assert "internal error" not in r.message


def test_accuracy_parameters():
    with pytest.raises(ValueError):
        Accuracy(low=0.98, high=0.97)
    with pytest.raises(ValueError):
        Accuracy(low=-0.1)
    with pytest.raises(ValueError):
        Accuracy(num_classes=1)
    step = Accuracy(low=0.9, high=0.9)
    assert step.check(predictions_with_accuracy(0.9), Y).fraction == 1.0
    assert step.check(predictions_with_accuracy(0.89), Y).fraction == 0.0
    with pytest.raises(ExpectedValueError):
        Accuracy().check(Y, "labels")
    assert "97.0%" in Accuracy().describe()


# -- Exact ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "got, expected",
    [
        ([28, 28, 6], [28, 28, 6]),
        ((28, 28, 6), [28, 28, 6]),
        (np.array([28, 28, 6]), [28, 28, 6]),
        ([np.int64(28), 28, 6], (28, 28, 6)),
        (6, 6),
        (6.0, 6),
        (np.int32(6), 6),
        ("valid ", "valid"),
        ({"pad": 1, "stride": [2, 2]}, {"stride": (2, 2), "pad": 1}),
        (None, None),
        (True, True),
        (float("nan"), float("nan")),
    ],
)
def test_exact_equal(got, expected):
    assert Exact().check(got, expected).passed


@pytest.mark.parametrize(
    "got, expected, words",
    [
        ([28, 28, 3], [28, 28, 6], "at [2] is 3"),
        ([28, 28], [28, 28, 6], "has 2 items; 3 were expected"),
        ("same", "valid", "'same'"),
        ("Valid", "valid", "'Valid'"),
        (True, 1, "bool"),
        (1, True, "True or False"),
        ("6", 6, "a number was expected: remove the quotes (write 6 instead of '6')"),
        ([28, " 28 "], [28, 28], "at [1] is ' 28 '; a number was expected: remove the quotes"),
        ("six", 6, "is 'six'; a number was expected"),
        (6.5, 6, "6.5"),
        ({"pad": 1}, {"pad": 1, "stride": 2}, "lacks the key 'stride'"),
        ({"pad": 1, "x": 2}, {"pad": 1}, "unexpected key 'x'"),
        (None, [1], "None"),
        ([[1, 2], [3, 5]], [[1, 2], [3, 4]], "at [1][1] is 5"),
    ],
)
def test_exact_differences_point_at_the_first(got, expected, words):
    r = Exact().check(got, expected)
    assert not r.passed
    assert words in r.message, r.message
    assert repr(expected) in r.detail or "expected" in r.detail


def test_exact_suggests_removing_quotes_only_around_a_number():
    assert "remove the quotes" in Exact().check("0.25", 0.25).message
    assert "remove the quotes" not in Exact().check("six", 6).message
    assert "remove the quotes" not in Exact().check("6", "7").message    # a string was expected


def test_exact_options():
    assert not Exact(strict_types=True).check(6.0, 6).passed
    assert Exact(strict_types=True).check(6, 6).passed
    assert Exact(ignore_case=True).check("VALID", "valid").passed
    deep = [1]
    for _ in range(500):
        deep = [deep]
    r = Exact().check(deep, [1])
    assert not r.passed and "internal error" not in r.message


def test_one_of():
    c = OneOf(values=("valid", "same"))
    assert c.check("same", None).passed
    r = c.check("full", None)
    assert not r.passed and "not one of the accepted answers" in r.message and "valid" not in r.message
    assert OneOf().check(0.0821, [0.0821, 0.0822]).passed
    assert not OneOf().check(0.0823, [0.0821, 0.0822]).passed
    with pytest.raises(ExpectedValueError):
        OneOf().check(1, None)


def floor_division_output_size(n, k, stride=1, pad=0):
    """A student's output size that is right in value but a float: np.floor returns one."""
    return np.floor((n + 2 * pad - k) / stride) + 1


def test_a_float_where_an_int_was_asked_for_is_named_as_such():
    got = floor_division_output_size(8, 3, 2, 1)  # np.float64(4.0)
    r = Exact(strict_types=True).check(got, 4)
    assert not r.passed
    assert r.message == "an int was asked for, you returned 4.0: use // (integer division) or int(...)"
    r = Exact(strict_types=True).check([28, floor_division_output_size(32, 5), 6], [28, 28, 6])
    assert r.message.startswith("an int was asked for at [1], you returned 28.0")
    # a fraction is wrong in value too; without strict types a float equal to the int still passes
    assert "you returned 4.5, which is not correct" in Exact().check(4.5, 4).message
    assert Exact().check(got, 4).passed
    # the hint is only given when an int was asked for
    assert "int was asked" not in Exact(strict_types=True).check(4, 4.0).message
