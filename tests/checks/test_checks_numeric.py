"""Number: decimals (rounded or truncated), sigfigs, tolerances, refusals."""

import math

import numpy as np
import pytest

from grader.engine.checks import CheckResult, ExpectedValueError, Number

# -- decimals ------------------------------------------------------------------

@pytest.mark.parametrize("got", [0.0821, 0.0822, 0.08217, 0.08214, 0.082167, 0.0821999])
def test_decimals_accepts_rounded_and_truncated(got):
    r = Number(decimals=4).check(got, 0.082167)
    assert r.passed, r.message
    assert r.fraction == 1.0


@pytest.mark.parametrize("got", [0.0820, 0.0823, 0.082, 0.08, 0.0824, -0.0822, 0.822])
def test_decimals_refuses_other_values(got):
    r = Number(decimals=4).check(got, 0.082167)
    assert not r.passed
    assert r.fraction == 0.0
    assert "4 decimal places" in r.message


def test_decimals_lecture_loss():
    assert Number(decimals=4).check(0.2984, 0.298371).passed
    assert Number(decimals=4).check(0.2983, 0.298371).passed  # truncated
    assert not Number(decimals=4).check(0.2985, 0.298371).passed


def test_decimals_message_never_contains_expected_but_detail_does():
    r = Number(decimals=4).check(0.0823, 0.082167)
    assert "0.082167" not in r.message and "0.0822" not in r.message and "0.0821" not in r.message
    assert "0.082167" in r.detail
    assert "0.0823" in r.message  # the student's own value is shown


def test_decimals_negative_values_truncate_toward_zero():
    n = Number(decimals=4)
    assert n.check(-0.0822, -0.082167).passed
    assert n.check(-0.0821, -0.082167).passed
    assert not n.check(-0.0823, -0.082167).passed
    assert not n.check(0.0822, -0.082167).passed


def test_decimals_ties_accept_half_up_and_half_even():
    n = Number(decimals=1)
    # 0.25 is exact in binary: half-up gives 0.3, half-even 0.2, truncation 0.2
    assert n.check(0.3, 0.25).passed
    assert n.check(0.2, 0.25).passed
    assert not n.check(0.1, 0.25).passed


def test_decimals_integers_and_zero_decimals():
    assert Number(decimals=0).check(3, 3.4).passed
    assert Number(decimals=0).check(4, 3.6).passed  # rounded
    assert Number(decimals=0).check(3, 3.6).passed  # truncated
    assert not Number(decimals=0).check(5, 3.6).passed
    assert Number(decimals=4).check(0, 0.00003).passed


def test_decimals_accepted_values_listed_in_data():
    r = Number(decimals=4).check(0.0821, 0.082167)
    assert sorted(r.data["accepted"]) == ["0.0821", "0.0822"]


def test_float32_student_value():
    assert Number(decimals=4).check(np.float32(0.0821), 0.082167).passed


# -- sigfigs ------------------------------------------------------------------

def test_sigfigs_rounded_and_truncated():
    n = Number(sigfigs=3)
    assert n.check(0.0822, 0.082167).passed
    assert n.check(0.0821, 0.082167).passed
    assert n.check(1.23e5, 123456.0).passed
    assert n.check(1.24e5, 123556.0).passed
    assert not n.check(1.25e5, 123556.0).passed
    assert not n.check(0.0823, 0.082167).passed
    assert "significant figures" in n.check(0.0823, 0.082167).message


def test_sigfigs_across_a_power_of_ten():
    n = Number(sigfigs=3)
    assert n.check(0.1, 0.099996).passed       # rounded up to 0.100
    assert n.check(0.0999, 0.099996).passed    # truncated
    assert not n.check(0.0998, 0.099996).passed
    assert n.check(0.1, 0.099996).data["accepted"] == ["0.100", "0.0999"]


def test_sigfigs_zero_expected():
    assert Number(sigfigs=3).check(0.0, 0.0).passed
    assert Number(sigfigs=3).check(1e-15, 0.0).passed
    assert not Number(sigfigs=3).check(1e-3, 0.0).passed


# -- tolerance -----------------------------------------------------------------

def test_default_tolerance():
    n = Number()
    assert (n.rtol, n.atol) == (1e-7, 1e-10)
    assert n.check(0.29837110, 0.298371).passed is False  # 3.7e-7 relative
    assert n.check(0.298371 * (1 + 5e-8), 0.298371).passed
    assert n.check(0, 0.0).passed
    assert not n.check(0.2984, 0.298371).passed


def test_rtol_atol_modes():
    assert Number(rtol=1e-3).check(1.0009, 1.0).passed
    assert not Number(rtol=1e-3).check(1.002, 1.0).passed
    assert Number(rtol=1e-3).atol == 0.0
    assert Number(atol=0.01).check(0.005, 0.0).passed
    assert not Number(atol=0.01).check(0.02, 0.0).passed


def test_modes_are_exclusive_and_validated():
    with pytest.raises(ValueError):
        Number(decimals=4, rtol=1e-3)
    with pytest.raises(ValueError):
        Number(decimals=4, sigfigs=3)
    with pytest.raises(ValueError):
        Number(decimals=-1)
    with pytest.raises(ValueError):
        Number(sigfigs=0)
    with pytest.raises(ValueError):
        Number(decimals=2.5)
    with pytest.raises(ValueError):
        Number(rtol=-1)
    with pytest.raises(ValueError):
        Number(rtol=math.nan)


# -- non-finite ----------------------------------------------------------------

@pytest.mark.parametrize("check", [Number(), Number(decimals=4), Number(sigfigs=3), Number(atol=1e9)])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_nan_and_inf_never_match_a_finite_value(check, bad):
    r = check.check(bad, 0.082167)
    assert not r.passed
    assert "finite number was expected" in r.message


def test_non_finite_expected_matches_only_itself():
    assert Number().check(math.inf, math.inf).passed
    assert not Number().check(-math.inf, math.inf).passed
    assert not Number().check(1e308, math.inf).passed
    assert Number().check(math.nan, math.nan).passed


# -- what counts as a number ---------------------------------------------------

def test_numeric_string_fails_with_advice():
    r = Number(decimals=4).check("0.2984", 0.298371)
    assert not r.passed
    assert "string" in r.message and "remove the quotes" in r.message
    assert "0.298371" not in r.message


@pytest.mark.parametrize(
    "got, words",
    [
        (True, "bool"),
        (np.bool_(False), "bool"),
        ("abc", "string"),
        (None, "None"),
        ([0.1, 0.2], "list of 2 items"),
        ([], "list of 0 items"),
        ({"value": 0.3}, "dict"),
        (np.array([0.1, 0.2]), "array of shape (2,)"),
        (np.array([]), "array of shape (0,)"),
        (np.array([True]), "booleans"),
        (1 + 2j, "complex"),
        (np.complex128(0.3), "complex"),
        (np.array(["0.3"]), "strings"),
    ],
)
def test_refusals_say_what_was_received(got, words):
    r = Number(decimals=4).check(got, 0.3)
    assert not r.passed
    assert words in r.message, r.message
    assert "internal error" not in r.message


@pytest.mark.parametrize("got", [0.3, np.float64(0.3), np.float32(0.3), [0.3], (0.3,), [[0.3]], np.array(0.3),
                                 np.array([0.3]), np.array([[0.3]])])
def test_accepted_containers_of_one_number(got):
    assert Number(decimals=4).check(got, 0.3).passed


def test_ints_and_numpy_ints():
    assert Number().check(3, 3.0).passed
    assert Number().check(np.int64(3), 3).passed
    assert Number(decimals=2).check(np.uint8(3), 3.001).passed


def test_huge_int_does_not_crash():
    r = Number(decimals=4).check(10**400, 0.3)
    assert not r.passed and "internal error" not in r.message
    r = Number().check(-(10**5000), 0.3)
    assert not r.passed and "internal error" not in r.message


def test_bad_expected_raises_expected_value_error():
    with pytest.raises(ExpectedValueError):
        Number().check(0.3, "0.3")
    with pytest.raises(ExpectedValueError):
        Number().check(0.3, [1.0, "2.0"])


def test_several_numbers_each_to_four_decimals():
    expected = np.array([0.59326999, 0.59688438])
    assert Number(decimals=4).check([0.5932, 0.5969], expected).passed  # truncated, rounded
    wrong = Number(decimals=4).check([0.5932, 0.5979], expected)
    assert not wrong.passed and "1 of 2 values are wrong; at [1]" in wrong.message
    assert "0.5968" not in wrong.message and "0.5969" not in wrong.message  # safe for hidden questions
    shape = Number(decimals=4).check([0.5932], expected)
    assert not shape.passed and "shape (2,)" in shape.message and "shape (1,)" in shape.message
    assert not Number(decimals=4).check(0.5932, expected).passed
    assert not Number(decimals=4).check(None, expected).passed


def test_describe():
    assert Number(decimals=4).describe() == "to 4 decimal places, rounded or truncated"
    assert "significant figures" in Number(sigfigs=3).describe()
    assert "relative tolerance" in Number().describe()


def test_result_type_and_data():
    r = Number(decimals=4).check(0.0822, 0.082167)
    assert isinstance(r, CheckResult)
    assert r.data["got"] == 0.0822 and r.data["expected"] == 0.082167
    assert r.data["abs_diff"] == pytest.approx(0.000033)
