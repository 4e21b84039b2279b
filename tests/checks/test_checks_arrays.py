"""ArrayClose: shape, dtype, non-finite values, tolerance, worst element, partial credit."""

import numpy as np
import pytest

from grader.engine.checks import ArrayClose, ExpectedValueError, check_from_spec

EXP = np.arange(12, dtype=np.float64).reshape(3, 4) / 7.0


def test_equal_and_within_tolerance_pass():
    c = ArrayClose()
    assert c.check(EXP.copy(), EXP).passed
    assert c.check(EXP * (1 + 5e-8), EXP).passed
    r = c.check(EXP, EXP)
    assert "all 12 elements" in r.message


def test_list_accepted_when_allowed_and_refused_otherwise():
    assert ArrayClose().check(EXP.tolist(), EXP).passed
    r = ArrayClose(allow_list=False).check(EXP.tolist(), EXP)
    assert not r.passed and "numpy array was expected" in r.message


def test_wrong_shape_names_both_shapes():
    r = ArrayClose().check(np.zeros((4, 3)), EXP)
    assert not r.passed
    assert "(4, 3)" in r.message and "(3, 4)" in r.message
    assert "transposed" in r.message
    assert r.data["got_shape"] == [4, 3] and r.data["expected_shape"] == [3, 4]
    r = ArrayClose().check(np.zeros(12), EXP)
    assert "(12,)" in r.message and "reshape" in r.message
    r = ArrayClose().check(np.zeros((3, 5)), EXP)
    assert "(3, 5)" in r.message and "(3, 4)" in r.message


def test_empty_and_huge_wrong_shapes_fail_cleanly():
    for got in (np.array([]), np.zeros((0, 4)), np.zeros((1000, 1000)), [], [[]]):
        r = ArrayClose().check(got, EXP)
        assert not r.passed
        assert "shape" in r.message
        assert "internal error" not in r.message


def test_dtype_kind_float_required():
    exp = np.array([[0.0, 1.0], [-1.0, -1.0]])
    got = np.array([[0, 1], [-1, -1]])
    assert ArrayClose().check(got, exp).passed  # no kind requirement by default
    r = ArrayClose(dtype_kind="f").check(got, exp)
    assert not r.passed
    assert "integers" in r.message and "floating-point" in r.message
    assert ArrayClose(dtype_kind="f").check(got.astype(np.float32), exp).passed
    assert ArrayClose(dtype_kind="iu").check(got, exp).passed


@pytest.mark.parametrize(
    "got, words",
    [
        (EXP.astype(np.complex128), "complex"),
        (np.array(EXP.tolist(), dtype=object), "Python objects"),
        ([["a", "b", "c", "d"]] * 3, "strings"),
        ([[1, 2], [3]], "rows of different lengths"),
        ([[1, 2, 3, None]] * 3, "not a rectangular table"),
        ("[[0, 1]]", "string"),
        ({"x": 1}, "dict"),
        (None, "None"),
        (3.0, "shape ()"),
    ],
)
def test_unreadable_values(got, words):
    r = ArrayClose().check(got, EXP)
    assert not r.passed
    assert words in r.message, r.message
    assert "internal error" not in r.message


def test_nan_and_inf_are_counted_and_located():
    got = EXP.copy()
    got[1, 2] = np.nan
    got[2, 0] = np.inf
    r = ArrayClose(atol=1e9).check(got, EXP)
    assert not r.passed
    assert "2 non-finite values" in r.message and "[1, 2]" in r.message
    assert r.data["first_index"] == [1, 2]


def test_worst_element_reported_with_student_value_only():
    got = EXP.copy()
    got[0, 1] += 1e-3
    got[2, 3] += 0.5
    r = ArrayClose().check(got, EXP)
    assert not r.passed and r.fraction == 0.0
    assert "2 of 12 elements" in r.message
    assert "[2, 3]" in r.message
    assert f"{got[2, 3]:.6g}" in r.message
    assert f"{EXP[2, 3]:.6g}" not in r.message
    assert f"{EXP[2, 3]:.6g}" in r.detail  # expected value in the detail
    assert "absolute error 0.5" in r.detail
    assert r.data["worst_index"] == [2, 3]
    assert r.data["abs_diff"].shape == (3, 4)
    assert r.data["got"] == pytest.approx(got[2, 3])
    assert r.data["expected"] == pytest.approx(EXP[2, 3])


def test_worst_is_relative_to_tolerance():
    exp = np.array([1000.0, 1e-6])
    got = np.array([1000.0 + 1e-3, 2e-6])  # 1e-6 relative vs 100% relative
    r = ArrayClose(rtol=1e-7, atol=0).check(got, exp)
    assert r.data["worst_index"] == [1]


def test_partial_credit():
    got = EXP.copy()
    got[0, :3] += 1.0
    r = ArrayClose(partial=True).check(got, EXP)
    assert r.fraction == pytest.approx(9 / 12)
    assert not r.passed
    assert ArrayClose(partial=False).check(got, EXP).fraction == 0.0


def test_hints_in_detail_only():
    r = ArrayClose().check(-EXP, EXP)
    assert "opposite sign" in r.detail and "opposite sign" not in r.message
    r = ArrayClose().check(EXP * 4, EXP)
    assert "times 4" in r.detail
    sq = np.arange(9.0).reshape(3, 3)
    assert "transpose" in ArrayClose().check(sq.T, sq).detail


def test_scalar_and_zero_d():
    assert ArrayClose().check(0.5, np.array(0.5)).passed
    r = ArrayClose().check(0.6, np.array(0.5))
    assert not r.passed and "0.6" in r.message


def test_non_finite_expected_entries_match_only_the_same():
    exp = np.array([1.0, np.inf, np.nan])
    assert ArrayClose().check(np.array([1.0, np.inf, np.nan]), exp).passed
    assert not ArrayClose().check(np.array([1.0, -np.inf, np.nan]), exp).passed


def test_bool_and_integer_arrays_compare_by_value():
    exp = np.array([0.0, 1.0, 1.0])
    assert ArrayClose().check(np.array([False, True, True]), exp).passed
    assert ArrayClose().check(np.array([0, 1, 1], dtype=np.uint8), exp).passed


def test_empty_expected():
    assert ArrayClose().check(np.zeros((0, 3)), np.zeros((0, 3))).passed


def test_bad_expected_and_parameters():
    with pytest.raises(ExpectedValueError):
        ArrayClose().check(EXP, "x")
    with pytest.raises(ValueError):
        ArrayClose(dtype_kind="c")
    with pytest.raises(ValueError):
        ArrayClose(rtol=-1.0)


def test_describe():
    d = ArrayClose(dtype_kind="f", partial=True).describe()
    assert "floating-point" in d and "partial" in d


def test_exact_dtype():
    check = ArrayClose(dtype="float32", rtol=1e-6)
    expected = np.array([[0.0, 0.5]], dtype=np.float32)
    assert check.check(np.array([[0.0, 0.5]], dtype=np.float32), expected).passed
    wrong = check.check(np.array([[0.0, 0.5]]), expected)
    assert not wrong.passed and "dtype float64, but dtype float32 is expected" in wrong.message
    assert check_from_spec(check.to_spec()) == check
    assert "dtype float32" in check.describe()
    with pytest.raises(ValueError, match="numpy dtype"):
        ArrayClose(dtype="float33")


def test_a_padded_shape_is_told_to_crop_and_no_other_hint_is_given():
    expected = np.zeros((1, 6, 6, 2))
    r = ArrayClose().check(np.zeros((1, 8, 8, 2)), expected)
    assert r.message == ("Your array has shape (1, 8, 8, 2), expected shape (1, 6, 6, 2) - it is the padded shape "
                         "(1 too many on each side of the padded axes): crop the padding")
    # asymmetric ("same" padding with a stride): still the padded shape
    r = ArrayClose().check(np.zeros((1, 7, 9, 2)), np.zeros((1, 6, 7, 2)))
    assert "larger along axes 1, 2 only: it looks like the padded shape: crop the padding" in r.message
    # smaller, or grown along one axis only: no padding hint, no transpose hint
    for shape in ((1, 4, 4, 2), (1, 8, 6, 2), (2, 6, 6, 2)):
        message = ArrayClose().check(np.zeros(shape), expected).message
        assert "padd" not in message and "transpose" not in message, message
