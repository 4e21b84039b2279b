"""Checks of student text are bounded: the parser's number sizes, a worker's CPU limit, a fuzzer.

CPU time is measured with ``time.process_time`` (this process's CPU, not the
wall clock), so a busy machine does not change the verdicts.
"""

from __future__ import annotations

import json
import time

import pytest

from grader.engine.checks import ExpectedValueError, Expression, ExpressionForm
from grader.engine.checks.bounded import _result_from, check_bounded
from grader.engine.checks.mathparse import Grammar, ParseError, parse

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extras")
from fuzz_strategies import expressions  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: CPU seconds any single check of fuzzed text may take in this process.
FUZZ_CPU_BUDGET = 2.0

# The red-team's answer: products of big numbers raised to a negative rational
# power. sympy combines them into one base and factors it (14.5 s of CPU for
# this one before the parser bounded numbers; minutes for longer ones).
BIG = "(99999999999999999999999999999999999999^25+%d)"
ATTACK = "*".join((BIG % k) + "^(-1/3)" for k in range(1, 5))


def cpu_of(fn, *args, **kwargs):
    started = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - started


def test_the_red_teams_answer_is_refused_by_the_parser_at_once():
    assert len(ATTACK) == 211
    with pytest.raises(ParseError, match="numbers in this expression are too large"):
        _, cpu = cpu_of(parse, ATTACK, Grammar(("a", "y")))
    result, cpu = cpu_of(Expression(symbols=("a", "y")).check, ATTACK, "a - y")
    assert result.fraction == 0.0 and "too large" in result.message and "internal" not in result.message
    assert cpu < 0.5


@pytest.mark.parametrize("text", [
    "2^(1/3)*3^(1/3)*5^(1/3)*7^(1/3)",       # combined by sympy into one small base: fine
    "(10^30+1)^(-1/2)*(10^30+3)^(-1/2)",      # two 100-bit bases: 200 bits together
    "2^100*2^100*2^100 - a",                  # a 300-bit number
    "sqrt(2) a^2 / 3",
])
def test_ordinary_numbers_still_read(text):
    parse(text, Grammar(("a", "y")))


@pytest.mark.parametrize("text", [
    "10^99*10^99*10^99*10^99",                          # one number of 1316 bits
    "(10^200+1)^(-1/3)*(10^200+7)^(-1/3)",               # 1330 bits once sympy multiplies the bases
    "*".join(f"(2^200+{k})^(-2/3)" for k in range(1, 6)),
    "sqrt(10^150+1)*sqrt(10^150+3)*sqrt(10^150+7)",
])
def test_expressions_whose_numbers_grow_past_the_bound_are_refused(text):
    with pytest.raises(ParseError, match="too large"):
        parse(text, Grammar(("a", "y")))


def test_checks_of_text_run_in_the_worker_with_the_same_verdicts():
    check = Expression(symbols=("a", "y"))
    for got in ["a - y", "y - a", "a(1 - a", 3, None, ATTACK]:
        here, there = check.check(got, "a - y"), check_bounded(check, got, "a - y")
        assert (there.fraction, there.message, there.detail) == (here.fraction, here.message, here.detail)
    form = ExpressionForm(symbols=("a",))
    assert check_bounded(form, "2a", None).passed


def test_a_check_past_its_cpu_budget_scores_zero_and_the_next_check_still_runs():
    # simplify on this answer takes about 20 s of CPU; the worker is ended after 1 s.
    slow = Expression(symbols=("a", "y"), simplify_timeout=600)
    heavy = "(a+y)^30*(a-y)^20*sin(a+y)^7*cos(a-y)^5 - tanh(a)^9*exp(a*y)^3"
    # The expected value has no real value anywhere (its log is of a negative number), so no sampled
    # point can decide and simplify must run.
    result, parent_cpu = cpu_of(check_bounded, slow, heavy, "log(-1 - a^2 - y^2)", cpu_seconds=1)
    assert result.fraction == 0.0
    assert "more than 1 s of computing time" in result.message and result.data["reason"] == "cpu_budget"
    assert parent_cpu < 0.5  # the work was the worker's, not this process's
    assert check_bounded(Expression(symbols=("a", "y")), "a - y", "a - y").passed


def test_an_unusable_expected_value_is_still_an_authoring_error():
    with pytest.raises(ExpectedValueError):
        check_bounded(Expression(symbols=("a",)), "a", "a +* unreadable")


@pytest.mark.parametrize("raw", [
    b"not json", b"[1, 2]", b'{"fraction": "1", "message": "", "detail": "", "data": {}}',
    b'{"fraction": 1.0, "message": 3, "detail": "", "data": {}}',
    b'{"fraction": 1.0, "message": "", "detail": "", "data": []}',
    json.dumps({"fraction": 1.0, "message": "", "detail": "", "data": {"x": [[[[[[[[[[1]]]]]]]]]]}}).encode(),
    json.dumps({"fraction": 1.0, "message": "", "detail": "", "data": {"x": list(range(5000))}}).encode(),
])
def test_a_reply_that_is_not_what_the_worker_writes_is_never_a_score(raw):
    result = _result_from(raw)
    assert result.fraction == 0.0 and "internal error" in result.message


# --------------------------------------------------------------------------
# The fuzzer: expressions made of the parser's own tokens, big numbers included
# --------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(text=expressions(), expected=st.sampled_from(["a - y", "a*(1 - a)", "log(a - 2)", "exp(a) / y"]))
def test_fuzzed_expressions_never_take_more_than_a_small_cpu_budget(text, expected):
    result, cpu = cpu_of(Expression(symbols=("a", "y")).check, text, expected)
    assert cpu < FUZZ_CPU_BUDGET, f"{cpu:.2f} s of CPU for {text!r}"
    assert "internal error" not in result.message, (text, result.detail)
