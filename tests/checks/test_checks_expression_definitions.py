"""Expression with definitions (the lecture's notation), ExpressionForm (an
answer reads, its value unseen), and checks built from reference derivations.

Definitions are the author's text, read by the same whitelisting parser as
expected expressions; a student's answer can use the defined names but never
define one. Hostile definitions are refused when the check is built and run
nothing (a marker file would be created if they were evaluated)."""

import json
import time

import pytest
import sympy as sp

from grader.engine.checks import Check, Expression, ExpressionForm, check_from_spec, registered_kinds
from grader.engine.checks.mathparse import DEFAULT_FUNCTIONS
from reference.derivations import get_derivation

# seed 001's backward pass, written by hand with chained definitions
LOGISTIC = {
    "z": "w*x + b",
    "y": "sigma(z)",
    "L": "(y - t)^2/2",
    "R": "w^2/2",
    "L_bar": "1",
    "R_bar": "lam",
    "y_bar": "L_bar*(y - t)",
    "z_bar": "y_bar*sigma_prime(z)",
}
INPUTS = ("w", "b", "x", "t", "lam")
ALL = DEFAULT_FUNCTIONS + ("sigma_prime",)


def logistic(target=None, **kw):
    """The step ``target``: the signals from it on are not offered (the answer would be just its name)."""
    names = list(LOGISTIC)
    defs = {k: LOGISTIC[k] for k in (names[: names.index(target)] if target in names else names)}
    return Expression(symbols=INPUTS, functions=ALL, definitions=defs, target=target, **kw)


CHAIN = Expression(symbols=("t",), definitions={"x": "cos(t)", "y": "t**2"})
DF_DT = str(sp.diff(sp.Symbol("t") ** 2 + sp.exp(sp.cos(sp.Symbol("t")) * sp.Symbol("t") ** 2), sp.Symbol("t")))


@pytest.mark.parametrize(
    "check, expected, right, wrong",
    [
        (logistic("z_bar"), "y_bar*exp(-z)/(1 + exp(-z))**2",
         ["y_bar*y*(1 - y)", "z_bar = y_bar y (1 - y)", "y_bar sigma_prime(z)", "ybar σ′(z)",
          "y_bar*sigma(z)*(1 - sigma(z))", "(y - t) y (1 - y)", "L_bar (y - t) sigma'(w x + b)"],
         ["y_bar*y", "y_bar*(1 - y)", "y*(1 - y)", "y_bar sigma(z)", "(y - t) y"]),
        (logistic("w_bar"), "R_bar*w + x*z_bar",
         ["z_bar x + lam w", "w_bar = zbar x + λ w", "x z_bar + lambda w", "z_bar x + R_bar w",
          "x (y - t) sigma_prime(z) + lam w", "x y_bar y (1 - y) + 2 lam R / w"],
         ["z_bar x + lam", "z_bar x + R_bar", "z_bar + lam w", "x y_bar + lam w"]),
        (logistic("R_bar"), "lam", ["lam", "λ", "lambda", "L_bar*lam", "2 R lam / w^2"], ["R", "lam w", "1"]),
        (logistic("y_bar"), "y - t", ["y - t", "L_bar*(y - t)", "sigma(z) - t", "sigma(w x + b) - t"],
         ["t - y", "y", "z - t"]),
        (CHAIN, DF_DT,
         ["y exp(x y)(-sin t) + (1 + x exp(x y)) 2t", "y exp(xy)(-sin t) + (1 + x exp(xy)) 2 t",
          "2t + t exp(t^2 cos t)(2 cos t - t sin t)", "-y sin(t) exp(x y) + 2t + 2 t x exp(x y)"],
         ["y exp(x y) sin t + (1 + x exp(x y)) 2t", "y exp(x y)(-sin t)", "2t + y x"]),
    ],
    ids=["z_bar", "w_bar", "R_bar", "y_bar", "df_dt"],
)
def test_lecture_notation_is_accepted_and_wrong_answers_stay_wrong(check, expected, right, wrong):
    for answer in right:
        r = check.check(answer, expected)
        assert r.passed, f"{answer!r}: {r.message}"
    for answer in wrong:
        r = check.check(answer, expected)
        assert r.fraction == 0.0, f"{answer!r} should fail"
        assert r.message.startswith("not equivalent: at "), r.message
        assert "internal error" not in r.message


def test_the_point_is_in_the_symbols_and_names_the_defined_ones_used():
    r = logistic("z_bar").check("y_bar*y", "y_bar*exp(-z)/(1 + exp(-z))**2")
    assert r.message.startswith("not equivalent: at w=")
    assert "(with y_bar, y computed from these)" in r.message or "(with y, y_bar computed from these)" in r.message
    assert set(r.data["point"]) <= set(INPUTS)
    assert "read as: y_bar*y" in r.message
    # the expected expression (as the author wrote it) is in the detail only
    assert "exp(-z)" not in r.message and "exp(-z)" in r.detail


def test_defined_names_are_allowed_and_listed():
    r = CHAIN.check("q + x", DF_DT)
    assert "unknown symbol 'q' (allowed symbols: t, x, y)" in r.message
    assert "x, y" in CHAIN.describe() and "stand for their definitions" in CHAIN.describe()
    assert CHAIN.allowed_names == ("t", "x", "y")


def test_definitions_are_substituted_until_no_defined_name_is_left():
    c = Expression(symbols=("t",), definitions={"a": "b + 1", "b": "c*2", "c": "t^2", "d": "a*b*c"})
    t = sp.Symbol("t", real=True)
    assert sp.simplify(c.expand(sp.Symbol("d", real=True)) - (2 * t**2 + 1) * 2 * t**2 * t**2) == 0
    assert c.check("d", "(2t^2 + 1)(2t^2) t^2").passed
    assert c.check("a - b", "1").passed
    assert not c.check("a", "b").passed


@pytest.mark.parametrize(
    "definitions, cycle",
    [
        ({"y": "y + 1"}, "y -> y"),
        ({"y": "z", "z": "y"}, "y -> z -> y"),
        ({"a": "b", "b": "c", "c": "t + a"}, "a -> b -> c -> a"),
        ({"u": "t", "a": "u + b", "b": "2 a"}, "a -> b -> a"),
    ],
)
def test_circular_definitions_are_refused_when_built(definitions, cycle):
    with pytest.raises(ValueError, match="definitions are circular: " + cycle.replace("->", r"\->")):
        Expression(symbols=("t",), definitions=definitions)


@pytest.mark.parametrize(
    "definitions, words",
    [
        ({"y": "__import__('os').system('touch {m}')"}, "cannot be read"),
        ({"y": "open('{m}', 'w')"}, "cannot be read"),
        ({"y": "eval('t')"}, "cannot be read"),
        ({"y": "(lambda: t)()"}, "cannot be read"),
        ({"y": "t.__class__"}, "cannot be read"),
        ({"y": "t; import os"}, "cannot be read"),
        ({"y": "q + t"}, "unknown symbol 'q'"),
        ({"y": "t +"}, "cannot be read"),
        ({"y": "9**9**9"}, "cannot be read"),
        ({"y": sp.Symbol("t")}, "must be a string"),
        ({"y": None}, "must be a string"),
        ({"a b": "t"}, "not a valid symbol name"),
        ({"t": "2"}, "both a symbol and a defined name"),
        ({"w_bar": "t"}, "the target 'w_bar' is a defined name"),
        ({"wbar": "t"}, "the target 'w_bar' is a defined name"),
        ([("y", "t")], "must be a dict"),
    ],
)
def test_bad_definitions_are_refused_and_run_nothing(definitions, words, tmp_path):
    marker = tmp_path / "marker"
    if isinstance(definitions, dict):
        definitions = {k: v.replace("{m}", str(marker)) if isinstance(v, str) else v for k, v in definitions.items()}
    with pytest.raises(ValueError, match=words):
        Expression(symbols=("t",), definitions=definitions, target="w_bar")
    assert not marker.exists()


def test_definitions_may_not_get_domains_and_numbers_are_text():
    with pytest.raises(ValueError, match="a defined name"):
        Expression(symbols=("t",), definitions={"x": "cos(t)"}, domains={"x": (0, 1)})
    c = Expression(symbols=("t",), definitions={"one": 1, "half": 0.5})
    assert c.definitions == {"one": "1", "half": "0.5"}
    assert c.check("one + half + t", "t + 3/2").passed


@pytest.mark.parametrize(
    "answer, expected, passes",
    [
        ("y = 1", "1", True),          # the left side is ignored without a target: nothing is defined
        ("y = 1", "y", False),         # ... and y keeps its definition (t^2) on the expected side
        ("x = t", "x", False),
        ("x := t", "x", False),
        ("x = cos(t); x", "x", False),
        ("y == t", "y", False),
    ],
)
def test_a_student_cannot_define_a_name(answer, expected, passes):
    r = CHAIN.check(answer, expected)
    assert r.passed is passes, r.message
    assert "internal error" not in r.message


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch {m}')",
        "y.__class__",
        "x[0]",
        "(lambda q: q)(1)",
        "y = __import__('os')",
        "exec(\"open('{m}','w')\")",
        "y^y^y^y^y^y^y^y",
        "(" * 200 + "y" + ")" * 200,
        "sigma(" * 100 + "x" + ")" * 100,
        "xy" * 240,
    ],
)
def test_hostile_answers_with_definitions_are_refused_fast(text, tmp_path):
    marker = tmp_path / "marker"
    text = text.replace("{m}", str(marker))
    start = time.process_time()  # CPU seconds: a busy machine does not inflate them
    r = CHAIN.check(text, DF_DT)
    assert time.process_time() - start < 2.0, text[:40]
    assert r.fraction == 0.0
    assert "internal error" not in r.message
    assert not marker.exists()


# -- ExpressionForm ------------------------------------------------------------------


class Boom:
    """An expected value that must never be looked at."""

    def __getattribute__(self, name):
        raise AssertionError(f"ExpressionForm looked at expected.{name}")

    def __eq__(self, other):
        raise AssertionError("ExpressionForm compared expected")

    __hash__ = None


FORM = ExpressionForm(symbols=("w", "x", "z_bar", "R_bar", "lam"), target="w_bar")


@pytest.mark.parametrize("answer", ["z_bar*x + R_bar*w", "w_bar = x z_bar + λ w", "wbar = 0", "1 + 1", 3, 0.5,
                                    "z_bar x + R_bar"])
def test_form_passes_whatever_reads_without_looking_at_expected(answer):
    r = FORM.check(answer, Boom())
    assert r.passed, r.message
    assert r.message.startswith("reads as an expression (read as: ")
    assert "not checked here" in r.message


@pytest.mark.parametrize(
    "answer",
    ["z_bar x + q", "w_bar = z_bar*x + * R_bar*w", "b_bar = z_bar", "(z_bar", "z_bar x +", "", "sigma'(z_bar)",
     "x" * 600, None, True, [1], {"a": 1}, b"x", float("nan"), 10**50],
)
def test_form_failures_are_the_same_as_expressions(answer):
    full = Expression(symbols=("w", "x", "z_bar", "R_bar", "lam"), target="w_bar")
    r = FORM.check(answer, None)
    e = full.check(answer, "z_bar*x + R_bar*w")
    assert r.fraction == 0.0 and e.fraction == 0.0
    assert r.message == e.message
    assert "z_bar*x + R_bar*w" not in r.message + r.detail
    assert "internal error" not in r.message


def test_form_messages_point_at_the_problem():
    r = FORM.check("z_bar x + q", None)
    assert "unknown symbol 'q' (allowed symbols: w, x, z_bar, R_bar, lam) at position 11" in r.message
    assert r.message.splitlines()[-1].index("^") - 2 == 10
    assert r.data == {"reason": "parse", "position": 10, "error": r.data["error"]}
    r = FORM.check("b_bar = z_bar", None)
    assert "left-hand side" in r.message and r.data["reason"] == "target"


def test_expression_form_matches_its_expression():
    check = logistic("w_bar")
    form = check.form()
    assert isinstance(form, ExpressionForm)
    assert form.symbols == INPUTS + tuple(LOGISTIC)
    assert form.functions == check.functions and form.target == "w_bar" and form.max_length == check.max_length
    for answer in ["z_bar x + lam w", "y_bar sigma'(z) x", "q", "w_bar = (", "b_bar = 1"]:
        assert form.check(answer, None).passed == ("could not read" not in check.check(answer, "R_bar*w + x*z_bar").message
                                                   and "left-hand side" not in check.check(answer, "1").message)


def test_form_parameters_are_validated():
    with pytest.raises(ValueError):
        ExpressionForm(symbols=("a b",))
    with pytest.raises(ValueError):
        ExpressionForm(functions=("eval",))
    with pytest.raises(ValueError):
        ExpressionForm(target="  ")
    with pytest.raises(ValueError):
        ExpressionForm(max_length=0)
    assert "only the form is checked" in FORM.describe() and "w_bar = ..." in FORM.describe()


# -- specs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        ExpressionForm(),
        FORM,
        ExpressionForm(symbols=("t", "x", "y"), functions=("exp", "sin", "cos"), max_length=100),
        logistic("z_bar"),
        CHAIN,
        Expression(symbols=("t",), definitions={"a": "b + 1", "b": "t"}, points=5, seed=2),
    ],
    ids=lambda c: c.kind,
)
def test_spec_round_trip(check):
    spec = check.to_spec()
    text = json.dumps(spec)
    again = check_from_spec(json.loads(text))
    assert type(again) is type(check) and again == check and again.to_spec() == spec
    assert type(check).from_spec(json.loads(text)) == check
    assert Check.from_spec(json.loads(text)) == check


def test_kinds_and_spec_errors():
    assert "expression_form" in registered_kinds()
    assert ExpressionForm().to_spec()["kind"] == "expression_form"
    assert "expected" not in ExpressionForm().to_spec()
    with pytest.raises(ValueError, match="unknown parameter"):
        check_from_spec({"kind": "expression_form", "definitions": {}})
    with pytest.raises(ValueError, match="circular"):
        check_from_spec({"kind": "expression", "symbols": ["t"], "definitions": {"y": "y"}})


# -- from reference derivations ------------------------------------------------------


@pytest.mark.parametrize(
    "name, local, answers",
    [
        ("sigmoid_derivative", False, ["sigma(z)(1 - sigma(z))"]),
        ("bce_derivative", False, ["(a - y)/(a(1 - a))"]),
        ("sigmoid_bce_dz", False, ["a - y"]),
        ("chain_rule_example", False, ["y exp(x y)(-sin t) + (1 + x exp(x y)) 2t"]),
        ("logistic_least_squares.y_bar", True, ["y - t", "L_bar (y - t)"]),
        ("logistic_least_squares.R_bar", True, ["lam", "λ"]),
        ("logistic_least_squares.z_bar", True, ["y_bar y (1 - y)", "y_bar sigma_prime(z)", "y_bar σ′(z)"]),
        ("logistic_least_squares.w_bar", False, ["z_bar x + λ w", "z_bar x + R_bar w"]),
        ("logistic_least_squares.w_bar", True, ["z_bar x + λ w", "(sigma(w x + b) - t) sigma'(w x + b) x + lam w"]),
        ("logistic_least_squares.b_bar", True, ["z_bar", "y_bar y (1 - y)"]),
    ],
)
def test_for_derivation(name, local, answers):
    d = get_derivation(name)
    check, expected = Expression.for_derivation(d, local=local)
    assert expected == str(d.local if local else d.expression)
    assert set(check.allowed_names) == set(d.symbols)
    assert set(check.symbols) == set(d.inputs) - set(check.definitions)
    assert check.definitions == {n: str(e) for n, e in d.definitions}
    assert ("sigma_prime" in check.functions) == ("sigma_prime" in d.function_names)
    for answer in answers:
        start = time.process_time()  # CPU seconds: a busy machine does not inflate them
        assert check.check(answer, expected).passed, answer
        assert time.process_time() - start < 1.0
        assert not check.check(f"2*({answer})", expected).passed
    assert check_from_spec(json.loads(json.dumps(check.to_spec()))) == check


def test_for_derivation_parameters():
    d = get_derivation("chain_rule_example")
    check, _ = Expression.for_derivation(d, symbols=d.symbols, target="df_dt")  # defined names left to definitions
    assert check.symbols == ("t",) and check.target == "df_dt"
    check, _ = Expression.for_derivation(d, definitions={})  # the author may turn them off
    assert check.allowed_names == ("t",)
    assert "unknown symbol 'x'" in check.check("x", "t").message
    with pytest.raises(ValueError, match="vector"):
        Expression.for_derivation(get_derivation("softmax_cross_entropy_gradient"))
    with pytest.raises(ValueError, match="no local form"):
        Expression.for_derivation(get_derivation("bce_derivative"), local=True)
    with pytest.raises(TypeError):
        Expression.for_derivation("a - y")


def test_for_derivation_refuses_a_function_the_parser_reads_otherwise():
    import dataclasses

    u = sp.Symbol("u")
    d = get_derivation("logistic_least_squares.z_bar")
    wrong = dataclasses.replace(d, functions=(("sigma", sp.Lambda(u, sp.tanh(u))),))
    with pytest.raises(ValueError, match="'sigma' does not mean"):
        Expression.for_derivation(wrong)
    unknown = dataclasses.replace(d, functions=(("relu", sp.Lambda(u, sp.Max(u, 0))),))
    with pytest.raises(ValueError, match="'relu' is not known"):
        Expression.for_derivation(unknown)


def test_question_builder_takes_a_derivation():
    from grader.engine.authoring import Assignment

    a = Assignment("t_expr", title="t", module="m")

    @a.question(points=1)
    def q1(q):
        q.expression("W_BAR", expected=get_derivation("logistic_least_squares.w_bar"), local=True, target="w_bar")
        q.expression("DF_DT", expected=get_derivation("chain_rule_example"))
        q.expression("DL_DZ", expected="a - y", symbols=("a", "y"))  # the plain form is unchanged

    cases = a.compile().questions[0].cases
    w, df, dl = cases
    assert w.expected == "R_bar*w + x*z_bar" and w.check.target == "w_bar" and w.check.definitions
    assert w.check.check("w_bar = z_bar x + λ w", w.expected).passed
    assert df.check.check("y exp(x y)(-sin t) + (1 + x exp(x y)) 2t", df.expected).passed
    assert dl.check == Expression(symbols=("a", "y")) and dl.expected == "a - y"
    from grader.engine.authoring import AuthoringError

    a2 = Assignment("t2", title="t", module="m")

    @a2.question(points=1)
    def q2(q):
        q.expression("X", expected="a")

    with pytest.raises(AuthoringError, match="question q2: TypeError: expression: give symbols") as raised:
        a2.compile()
    assert isinstance(raised.value.__cause__, TypeError)


def test_assignment_02_public_forms_match_its_hidden_checks():
    """Each public ExpressionForm of assignment 02 reads exactly what its hidden Expression reads."""
    from grader.engine.authoring import load_assignment

    compiled = load_assignment("02_softmax").compile()
    forms = {c.label: c.check for q in compiled.questions if q.public for c in q.cases
             if isinstance(c.check, ExpressionForm)}
    hidden = {c.label: c for q in compiled.questions if not q.public for c in q.cases
              if isinstance(c.check, Expression)}
    assert forms and set(forms) == set(hidden)
    for label, case in hidden.items():
        assert forms[label] == case.check.form(), label
        assert case.check.check(case.expected, case.expected).passed, label  # the expected reads and matches itself
