"""Specs round-trip through JSON for every check; CheckResult; no student value
makes any check raise."""

import dataclasses
import json
import math

import numpy as np
import pytest

from grader.engine.checks import (
    Accuracy,
    ArrayClose,
    Check,
    CheckResult,
    Exact,
    Expression,
    Gradient,
    Number,
    OneOf,
    check_from_spec,
    registered_kinds,
)

CHECKS = [
    Number(),
    Number(decimals=4),
    Number(sigfigs=3),
    Number(rtol=1e-3, atol=1e-6),
    ArrayClose(),
    ArrayClose(rtol=1e-5, atol=0.0, dtype_kind="f", allow_list=False, partial=True),
    Gradient(),
    Gradient(rtol=1e-4, names=("dy_pred",), partial=False),
    Expression(),
    Expression(symbols=("w", "x", "z_bar", "R_bar"), functions=("exp", "log"), points=7, seed=3, rtol=1e-6,
               domains={"x": (-1.0, 1.0)}, target="w_bar", max_length=300, simplify_timeout=0.5),
    Accuracy(),
    Accuracy(low=0.5, high=0.8, num_classes=10),
    Exact(),
    Exact(strict_types=True, ignore_case=True),
    OneOf(values=("valid", "same")),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: f"{c.kind}")
def test_spec_round_trip_through_json(check):
    spec = check.to_spec()
    assert spec["kind"] == check.kind
    text = json.dumps(spec)
    again = check_from_spec(json.loads(text))
    assert type(again) is type(check)
    assert again == check
    assert again.to_spec() == spec
    assert type(check).from_spec(json.loads(text)) == check
    assert isinstance(check.describe(), str) and check.describe()


def test_kinds_are_registered():
    kinds = {"number", "array", "gradient", "expression", "accuracy", "exact", "one_of"}
    assert {c.kind for c in CHECKS} == kinds
    assert kinds <= set(registered_kinds())


def test_spec_errors():
    with pytest.raises(ValueError, match="unknown check kind 'nope'"):
        check_from_spec({"kind": "nope"})
    with pytest.raises(ValueError, match="kind"):
        check_from_spec({"rtol": 1e-3})
    with pytest.raises(ValueError, match="unknown parameter"):
        check_from_spec({"kind": "number", "tolerance": 1})
    with pytest.raises(ValueError, match="spec of kind 'array'"):
        Number.from_spec({"kind": "array"})
    with pytest.raises(ValueError):
        check_from_spec("number")
    with pytest.raises(ValueError):
        check_from_spec({"kind": "number", "decimals": 4, "rtol": 1e-3})


def test_checks_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Number(decimals=4).decimals = 3


def test_check_result():
    r = CheckResult(1.5, "m")
    assert r.fraction == 1.0 and r.passed and r.detail == "" and r.data == {}
    assert CheckResult(-1, "m").fraction == 0.0
    assert CheckResult(math.nan, "m").fraction == 0.0
    assert not CheckResult(0.999, "m").passed
    r = CheckResult(0.5, "m", "d", {"abs_diff": np.array([0.1, np.nan]), "i": np.int64(3), "t": (1, 2)})
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == {
        "fraction": 0.5, "passed": False, "message": "m", "detail": "d",
        "data": {"abs_diff": [0.1, "nan"], "i": 3, "t": [1, 2]},
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.fraction = 1.0
    assert CheckResult(1.0, "a", data={"x": np.zeros(2)}) == CheckResult(1.0, "a", data={"x": np.ones(2)})


# -- nothing a student sends can make a check raise -----------------------------

def _deep(n):
    v = [1.0]
    for _ in range(n):
        v = [v]
    return v


WEIRD = [
    None, True, False, 0, -1, 10**400, -(10**5000), 1.5, math.nan, math.inf, -math.inf, 1 + 2j,
    "", "0.5", "a - y", "x" * 10000, "\x00\ud800", b"bytes", [], [[]], [[], []], [1, [2]], [[1, 2], [3]],
    [None], ["a", "b"], [1, "a"], [True, 0.5], (1, 2), {"a": 1}, {}, {"grads": None}, {"grads": [None, None, None]},
    {"grads": "x", "out": "y", "probes": "z"}, {"grads": [1, 2, 3], "probes": [{"input": "0"}, None, {}]},
    {1: 2}, _deep(200), np.array([]), np.zeros((0, 3)), np.zeros((3, 0)), np.zeros((2, 3)), np.zeros(10**6),
    np.array(np.nan), np.array([1 + 2j]), np.array(["x"]), np.array([None], dtype=object), np.float64(1),
    np.int8(3), np.uint64(2**63), np.bool_(True), np.array([2**63], dtype=np.uint64), np.full((2, 3), np.inf),
    np.zeros((1,) * 32), np.array([1, 2], dtype=np.float16), object(), Ellipsis, set([1]), frozenset(), range(3),
]

EXPECTED = {
    "number": 0.082167,
    "array": np.arange(6.0).reshape(2, 3),
    "gradient": {"out": np.ones((2, 3)), "grads": [np.ones((2, 2)), np.ones((2, 3)), np.ones(3)],
                 "dout": np.ones((2, 3)), "directions": [{"input": 1, "v": np.ones((2, 3)), "h": 1e-6}]},
    "expression": "a - y",
    "accuracy": np.arange(6) % 3,
    "exact": [28, 28, 6],
    "one_of": None,
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: f"{c.kind}")
def test_weird_values_give_clean_failing_results(check):
    expected = EXPECTED[check.kind]
    if check.kind == "expression" and check.target:
        expected = "R_bar*w + x*z_bar"
    for got in WEIRD:
        r = check.check(got, expected)
        assert isinstance(r, CheckResult)
        assert 0.0 <= r.fraction <= 1.0
        assert "internal error" not in r.message, (check.kind, repr(got)[:60], r.detail[-600:])
        assert r.message


def test_weird_values_inside_gradient_results():
    check = Gradient()
    expected = EXPECTED["gradient"]
    for bad in WEIRD:
        for got in ({"out": bad, "grads": [np.ones((2, 2)), np.ones((2, 3)), np.ones(3)], "probes": bad},
                    {"out": np.ones((2, 3)), "grads": [bad, np.ones((2, 3)), bad],
                     "probes": [{"input": 1, "plus": bad, "minus": bad}]},
                    {"out": np.ones((2, 3)), "grads": [np.ones((2, 2)), bad, np.ones(3)],
                     "probes": [{"input": 1, "plus": np.ones((2, 3)), "minus": np.ones((2, 3))}]}):
            r = check.check(got, expected)
            assert "internal error" not in r.message, (repr(bad)[:60], r.detail[-600:])


def test_a_bug_in_a_check_becomes_a_failing_result():
    @dataclasses.dataclass(frozen=True)
    class Broken(Check):
        def _check(self, got, expected):
            raise RuntimeError("boom")

    r = Broken().check(1, 1)
    assert r.fraction == 0.0 and "internal error RuntimeError" in r.message and "boom" in r.detail
