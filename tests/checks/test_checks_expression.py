"""Expression: the course's derivations in students' spellings, wrong answers,
malformed input, equations with a target. Expected strings are computed here
with sympy, the way the authoring code does (``str`` of a sympy derivative)."""

import math
import re
import threading

import pytest
import sympy as sp

from grader.engine.checks import ExpectedValueError, Expression

a, y, z, t = sp.symbols("a y z t", real=True)
sigma = 1 / (1 + sp.exp(-z))

# dL/da of binary cross-entropy
BCE = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
DL_DA = str(sp.diff(BCE, a))
# dL/dz through a sigmoid, in terms of a = sigma(z): dL/da * da/dz with da/dz = a(1 - a)
DL_DZ = str(sp.simplify(sp.diff(BCE, a) * a * (1 - a)))
# d sigma / dz
DSIGMA = str(sp.diff(sigma, z))
# seed 001's chain rule: f = y + exp(x y), x = cos t, y = t^2
_x, _y = sp.cos(t), t**2
DF_DT = str(sp.diff(_y + sp.exp(_x * _y), t))
# seed 001's regularised model: z = w x + b, R = w^2 / 2; w_bar = z_bar dz/dw + R_bar dR/dw
w, x, b, z_bar, R_bar = sp.symbols("w x b z_bar R_bar", real=True)
W_BAR = str(z_bar * sp.diff(w * x + b, w) + R_bar * sp.diff(w**2 / 2, w))


def test_expected_strings_are_what_sympy_prints():
    assert DL_DZ == "a - y"
    assert DSIGMA == "exp(-z)/(1 + exp(-z))**2"
    assert W_BAR == "R_bar*w + x*z_bar"
    assert "exp(t**2*cos(t))" in DF_DT


CASES = [
    (Expression(symbols=("a", "y")), DL_DZ,
     ["a - y", "-(y - a)", "a-y", "-y + a", "  a - y  ", "a \u2212 y", "(a - y)", "a*1 - y", "2(a - y)/2"],
     ["y - a", "a + y", "a(1 - a)(a - y)", "a", "a - y + 1"]),
    (Expression(symbols=("z",)), DSIGMA,
     ["sigma(z)*(1-sigma(z))", "sigma(z)(1 - sigma(z))", "exp(-z)/(1+exp(-z))^2", "σ(z)(1 − σ(z))",
      "sigmoid(z) - sigmoid(z)^2", "e^(-z)/(1 + e^(-z))^2", "1/(2 + exp(z) + exp(-z))", "exp(z)/(1+exp(z))**2",
      "sigma(z) sigma(-z)", "sigma(z)·(1 − sigma(z))"],
     ["sigma(z)", "sigma(z)(1 + sigma(z))", "exp(-z)/(1+exp(-z))", "1 - sigma(z)", "sigma(z)^2"]),
    (Expression(symbols=("a", "y")), DL_DA,
     ["-y/a + (1-y)/(1-a)", "(a - y)/(a(1 - a))", "(1-y)/(1-a) - y/a", "-(y/a) + (1 - y)/(1 - a)",
      "(a-y)/(a-a^2)", "(a - y)/(a*(1-a))", "-y a^-1 + (1 - y)(1 - a)^-1", "ay^0 (a - y)/(a^2 (1/a - 1))"],
     ["-y/a - (1-y)/(1-a)", "y/a", "(a-y)/a", "-y/a + (1-y)/(a-1)", "a - y"]),
    (Expression(symbols=("t",)), DF_DT,
     ["-t^2 sin(t) exp(t^2 cos(t)) + 2t(1 + cos(t) exp(t^2 cos(t)))",
      "2t exp(t^2 cos t) cos t + 2t - t^2 sin t exp(t^2 cos t)",
      "(t^2 exp(t^2 cos t))(-sin t) + (1 + cos t exp(t^2 cos t)) 2t",
      "exp(t**2*cos(t))*(2*t*cos(t) - t**2*sin(t)) + 2*t",
      "2t + e^(t² cos t)(2t cos t − t² sin t)"],
     ["2t exp(t^2 cos t)", "t^2 sin t exp(t^2 cos t) + 2t(1 + cos t exp(t^2 cos t))",
      "-t^2 sin(t) exp(t^2 cos(t)) + 2t", "2t - sin(t) exp(t^2 cos(t))"]),
    (Expression(symbols=("w", "x", "z_bar", "R_bar"), target="w_bar"), W_BAR,
     ["w_bar = z_bar*x + R_bar*w", "z_bar x + R_bar w", "w_bar = x z_bar + w R_bar", "wbar = zbar x + Rbar w",
      "  w_bar=R_bar*w+z_bar*x", "x*z_bar + w*R_bar"],
     ["w_bar = z_bar*x", "w_bar = z_bar*w + R_bar*x", "z_bar x - R_bar w", "z_bar + R_bar"]),
]


@pytest.mark.parametrize("check, expected, right, wrong", CASES, ids=["dL_dz", "dsigma", "dL_da", "chain", "w_bar"])
def test_curriculum_derivations(check, expected, right, wrong):
    for answer in right:
        r = check.check(answer, expected)
        assert r.passed, f"{answer!r}: {r.message}"
        assert r.message.startswith("correct")
    for answer in wrong:
        r = check.check(answer, expected)
        assert r.fraction == 0.0, f"{answer!r} should fail"
        assert r.message.startswith("not equivalent: at "), r.message
        assert "your expression gives" in r.message
        assert "internal error" not in r.message


def test_not_equivalent_message_shows_point_and_student_value_only():
    r = Expression(symbols=("a", "y")).check("a + y", "a - y")
    assert r.message.startswith("not equivalent: at a=")
    point = r.data["point"]
    assert set(point) == {"a", "y"}
    assert float(r.data["got_value"]) == pytest.approx(point["a"] + point["y"], rel=1e-5)
    assert r.data["expected_value"] not in re.findall(r"-?[0-9.]+", r.message)
    assert "a - y" not in r.message  # the expected expression is in the detail only
    assert "a - y" in r.detail and r.data["expected_value"] in r.detail
    assert "(read as: a + y)" in r.message


def test_read_as_shows_implicit_multiplication():
    r = Expression(symbols=("z",)).check("sigma(z)(1 - sigma(z))", DSIGMA)
    assert "read as: sigma(z)*(1 - sigma(z))" in r.message
    r = Expression(symbols=("t",)).check("2t exp(t^2 cos t)", DF_DT)
    assert "read as: 2*t*exp(t^2*cos(t))" in r.message


def test_undefined_and_complex_student_values():
    r = Expression(symbols=("a", "y")).check("1/(a - a)", "a - y")
    assert not r.passed and "undefined" in r.message
    r = Expression(symbols=("a", "y")).check("log(a - 2)", "a - y")
    assert not r.passed and "not a real number" in r.message


def test_domains_matter():
    c = Expression(symbols=("a",), domains={"a": "positive"})
    assert c.check("sqrt(a^2)", "a").passed
    c = Expression(symbols=("a",), domains={"a": (-0.9, -0.1)})
    r = c.check("sqrt(a^2)", "a")
    assert not r.passed and "at a=-" in r.message


def test_the_default_domain_has_negatives_and_values_far_from_zero():
    c = Expression(symbols=("a",))
    r = c.check("sqrt(a^2)", "a")
    assert not r.passed and "not equivalent: at a=-" in r.message
    values = [p["a"] for p in c._points()]
    assert min(values) < -5 and max(values) > 5 and min(abs(v) for v in values) < 0.2


def test_an_answer_right_only_on_half_the_circle_fails_and_says_where():
    # -sin(t) written as -sqrt(1 - x^2) with x = cos(t): right only where sin(t) >= 0
    c = Expression(symbols=("t",), definitions={"x": "cos(t)"})
    r = c.check("-sqrt(1 - x^2)", "-sin(t)")
    assert not r.passed
    t = r.data["point"]["t"]
    assert math.sin(t) < 0, "the point shown is one where the answer is wrong"
    assert f"at t={t:g} (with x computed from these) your expression gives" in r.message
    assert f"{-abs(math.sin(t)):.6g}"[:6] in r.message
    assert f"{-math.sin(t):.6g}" not in re.findall(r"-?[0-9.]+", r.message)  # the expected value stays hidden
    assert c.check("-sin(t)", "-sin(t)").passed


@pytest.mark.parametrize("domain, low, high, integer", [
    ("probability", 0.0, 1.0, False), ("(0, 1)", 0.0, 1.0, False), ("positive", 0.0, 11.0, False),
    ("negative", -11.0, 0.0, False), ("positive integer", 1, 20, True), ("integer", -20, 20, True),
    ((2.0, 3.0), 2.0, 3.0, False),
])
def test_named_domains_draw_inside_them(domain, low, high, integer):
    c = Expression(symbols=("n",), domains={"n": domain})
    values = [p["n"] for p in c._points()]
    assert all(low < v < high if not integer else low <= v <= high for v in values), values
    assert all(v == int(v) for v in values) == integer
    assert Expression.from_spec(c.to_spec()) == c


def test_domains_given_by_the_question_decide():
    probabilities = Expression(symbols=("a", "y"), domains={"a": "probability", "y": "probability"})
    assert probabilities.check("(a - y)/(a*(1 - a))", "-y/a + (1 - y)/(1 - a)").passed
    # sigma'(z) as a*(1 - a) with a = sigma(z) in (0, 1): a*sqrt((1 - a)^2) is the same there only
    assert probabilities.check("a*sqrt((1 - a)^2)", "a*(1 - a)").passed
    r = Expression(symbols=("a",)).check("a*sqrt((1 - a)^2)", "a*(1 - a)")
    assert not r.passed and "not equivalent: at a=" in r.message
    assert r.data["point"]["a"] > 1


def test_unknown_domain_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown domain 'complex' for 'a'; known: 'real'"):
        Expression(symbols=("a",), domains={"a": "complex"})


@pytest.mark.parametrize(
    "answer, words, column",
    [
        ("a - * y", "expected a number, a symbol, a function or '(' but found '*'", 5),
        ("a +", "ends too early", 4),
        ("(a - y", "'(' is never closed", 1),
        ("a - y)", "unmatched ')'", 6),
        ("a - q", "unknown symbol 'q' (allowed symbols: a, y)", 5),
        ("foo(a)", "unknown function 'foo'", 1),
        ("a - y,", "unexpected character ','", 6),
        ("a_y", "unknown symbol 'a_y'", 1),
        ("(a - y)/a(1 - a)", "ambiguous", 10),
        ("", "empty", None),
        ("a = y = 1", "unexpected '='", 3),
        ("a^^2", "found '^'", 3),
        ("sigma'(z)", "primes", 6),
        ("\\frac{a}{y}", "LaTeX", 1),
    ],
)
def test_malformed_input_reports_position_and_what_was_expected(answer, words, column):
    r = Expression(symbols=("a", "y")).check(answer, "a - y")
    assert r.fraction == 0.0
    assert r.message.startswith("could not read your expression"), r.message
    assert words in r.message, r.message
    if column is not None:
        assert f"at position {column}" in r.message
        assert r.data["position"] == column - 1
        assert "^" in r.message.splitlines()[-1]


def test_forbidden_function():
    c = Expression(symbols=("a", "y"), functions=("exp", "log"))
    r = c.check("sin(a) - y", "a - y")
    assert "the function 'sin' is not allowed" in r.message and "exp, log" in r.message


def test_target_equation():
    c = Expression(symbols=("w", "x", "z_bar", "R_bar"), target="w_bar")
    r = c.check("b_bar = z_bar*x + R_bar*w", W_BAR)
    assert not r.passed and "left-hand side" in r.message and "w_bar" in r.message
    r = c.check("w_bar = z_bar*x + * R_bar*w", W_BAR)
    assert "could not read" in r.message and "at position 19" in r.message
    assert r.message.splitlines()[-1].index("^") - 2 == 18  # the caret under the '*' of the full answer
    # without a target, the left side is ignored
    assert Expression(symbols=("a", "y")).check("dL/dz = a - y", "a - y").passed


@pytest.mark.parametrize(
    "got, words",
    [(None, "None"), (True, "bool"), ([1, 2], "list"), ({"a": 1}, "dict"), (b"a - y", "bytes")],
)
def test_non_string_answers(got, words):
    r = Expression(symbols=("a", "y")).check(got, "a - y")
    assert r.fraction == 0.0 and "string" in r.message
    assert "internal error" not in r.message


def test_numbers_are_accepted_as_constant_expressions():
    assert Expression(symbols=("a",)).check(2, "2").passed
    assert Expression(symbols=("a",)).check(0.5, "1/2").passed
    r = Expression(symbols=("a",)).check(3, "2")
    assert not r.passed and r.message.startswith("not equivalent: your expression gives 3")


def test_works_outside_the_main_thread():
    results = {}

    def work():
        c = Expression(symbols=("z",))
        results["right"] = c.check("sigma(z)(1 - sigma(z))", DSIGMA)
        results["wrong"] = c.check("sigma(z)", DSIGMA)

    th = threading.Thread(target=work)
    th.start()
    th.join(30)
    assert results["right"].passed
    assert not results["wrong"].passed and "not equivalent" in results["wrong"].message


def test_simplify_decides_when_points_cannot():
    # the expected expression is undefined at every point of the domain, so
    # only sympy can decide; it proves equality and refutes the other answer
    c = Expression(symbols=("a",), domains={"a": (1.5, 2.5)})
    r = c.check("log(1 - a) + sin(a)^2 + cos(a)^2 - 1", "log(1 - a)")
    assert r.passed and r.data["method"] == "simplify"
    r = c.check("log(1 - a) + 1", "log(1 - a)")
    assert not r.passed and "could not confirm" in r.message
    # simplify runs under a time limit; out of time means not confirmed
    quick = Expression(symbols=("a",), domains={"a": (1.5, 2.5)}, simplify_timeout=1e-4)
    r = quick.check("log(1 - a) + sin(a)^2 + cos(a)^2 - 1", "log(1 - a)")
    assert not r.passed and "could not confirm" in r.message


def test_simplify_time_limit_restores_an_outer_timer():
    import signal

    from grader.engine.checks.symbolic import simplify_is_zero

    fired = []
    old = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        assert simplify_is_zero(sp.sin(a) ** 2 + sp.cos(a) ** 2 - 1, 1.0) is True
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 3.0 < remaining <= 5.0
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_bad_expected_and_parameters():
    with pytest.raises(ExpectedValueError):
        Expression(symbols=("a",)).check("a", "a + q")
    with pytest.raises(ExpectedValueError):
        Expression(symbols=("a",)).check("a", None)
    with pytest.raises(ValueError):
        Expression(symbols=("a b",))
    with pytest.raises(ValueError):
        Expression(symbols=("a",), functions=("eval",))
    with pytest.raises(ValueError):
        Expression(symbols=("a",), domains={"q": (0, 1)})
    with pytest.raises(ValueError):
        Expression(symbols=("a",), domains={"a": (1, 0)})


def test_describe():
    d = Expression(symbols=("w", "x"), target="w_bar").describe()
    assert "w, x" in d and "w_bar = ..." in d and "'^'" in d
