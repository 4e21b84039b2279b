"""The derivatives the course asks for, computed by sympy from their forward definitions.

No derivative is typed in here: each function writes the forward definition
(the lecture's), lets sympy differentiate it and returns a frozen
``Derivation``. The grader compares a student's expression with
``Derivation.expression`` (see ``Derivation.is_equivalent``), so an expected
derivative is never a hand-written formula.

Names a student may use in an answer are plain sympy symbols (no assumptions),
so a parser that builds ``sympy.Symbol(name)`` gets the same objects. Beyond the
inputs of a derivative, a ``Derivation`` can allow:

- ``functions``: named functions with their definition, e.g. ``sigma`` for the
  logistic sigmoid, so ``sigma(z)*(1 - sigma(z))`` is a valid answer;
- ``definitions``: named intermediate quantities, e.g. ``x = cos(t)`` in the
  chain-rule example or ``y_bar`` in the backward pass, so the lecture's own
  form of an answer is accepted;
- ``constraints``: facts about the domain applied to both sides before they are
  compared, e.g. ``y3 = 1 - y1 - y2`` for a one-hot label vector.

The regularisation weight of seed 001 (lambda) is the symbol ``lam``: ``lambda``
is a Python keyword and cannot appear in a parsed expression.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = [
    "DERIVATIONS",
    "LOGISTIC_BACKWARD_ORDER",
    "LOGISTIC_INPUTS",
    "SIGMA",
    "Derivation",
    "UnknownDerivationError",
    "bce_derivative",
    "chain_rule_example",
    "get_derivation",
    "logistic_least_squares_backward",
    "sigmoid_bce_dz",
    "sigmoid_derivative",
    "softmax_cross_entropy_gradient",
    "to_numpy_function",
    "verify_softmax_cross_entropy_gradient",
]

_U = sp.Symbol("u")
SIGMA = sp.Lambda(_U, 1 / (1 + sp.exp(-_U)))
"""The logistic sigmoid, sigma(u) = 1 / (1 + exp(-u)): the forward definition used everywhere."""


def _sym(name: str) -> sp.Symbol:
    return sp.Symbol(name)


@dataclass(frozen=True)
class Derivation:
    """A derivative computed by sympy from a forward definition.

    ``expression`` is the derivative in terms of ``inputs`` only (a scalar
    ``sympy.Expr``, or a column ``sympy.ImmutableMatrix`` for a gradient vector).
    ``symbols`` are the names a student's answer may use: the inputs plus the
    names in ``definitions``. ``forward`` is the expression sympy differentiated.
    """

    name: str
    description: str
    expression: sp.Basic
    symbols: tuple[str, ...]
    forward: sp.Basic
    wrt: str = ""
    """The variable differentiated with respect to (for a vector: its components' prefix)."""
    inputs: tuple[str, ...] = ()
    """The free variables of ``expression``, in the order ``to_numpy_function`` takes them.
    Defaults to ``symbols``."""
    definitions: tuple[tuple[str, sp.Expr], ...] = ()
    """(name, expression in the inputs) for named quantities an answer may use."""
    functions: tuple[tuple[str, sp.Lambda], ...] = ()
    """(name, sympy.Lambda) for functions an answer may call, e.g. ("sigma", SIGMA)."""
    constraints: tuple[tuple[str, sp.Expr], ...] = ()
    """(input name, replacement): domain facts substituted into both sides before comparing."""
    local: sp.Basic | None = None
    """For a step of a backward pass: the step in the lecture's notation, in the forward's
    nodes and the error signals it is computed from (e.g. ``R_bar*w + x*z_bar``); its names
    are all in ``symbols``, and ``expand(local)`` equals ``expression``."""

    def __post_init__(self) -> None:
        if not self.inputs:
            object.__setattr__(self, "inputs", self.symbols)

    @property
    def is_vector(self) -> bool:
        return isinstance(self.expression, sp.MatrixBase)

    @property
    def function_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.functions)

    def sympy_symbols(self) -> dict[str, sp.Symbol]:
        """The allowed names as the sympy symbols used in ``expression``."""
        return {name: _sym(name) for name in self.symbols}

    def expand(self, candidate: sp.Basic) -> sp.Basic:
        """``candidate`` rewritten in the inputs: functions and named quantities replaced by
        their definitions, then the constraints applied.

        ``candidate`` is a sympy object built by the caller's own parser (this never
        parses strings).
        """
        if isinstance(candidate, str):
            raise TypeError(
                f"{self.name}: expected a sympy expression, got a string; parse it with the "
                "grader's whitelisting parser first (strings are never sympified here)"
            )
        expr = candidate if isinstance(candidate, sp.Basic) else sp.sympify(candidate, strict=True)
        lambdas = dict(self.functions)
        if lambdas:
            expr = expr.replace(
                lambda e: isinstance(e, AppliedUndef) and e.func.__name__ in lambdas,
                lambda e: lambdas[e.func.__name__](*e.args),
            )
        if self.definitions:
            # Definitions are already in the inputs, so one simultaneous substitution suffices.
            expr = expr.xreplace({_sym(n): d for n, d in self.definitions})
        return self._constrain(expr)

    def _constrain(self, expr: sp.Basic) -> sp.Basic:
        if self.constraints:
            expr = expr.xreplace({_sym(n): r for n, r in self.constraints})
        return expr

    def is_equivalent(self, candidate: sp.Basic) -> bool:
        """Whether ``candidate`` equals ``expression`` (after ``expand``), by ``sympy.simplify``."""
        got = self.expand(candidate)
        want = self._constrain(self.expression)
        if isinstance(want, sp.MatrixBase):
            if not isinstance(got, sp.MatrixBase) or got.shape != want.shape:
                return False
            return all(sp.simplify(g - w) == 0 for g, w in zip(got, want))
        if isinstance(got, sp.MatrixBase):
            return False
        return sp.simplify(got - want) == 0


# --------------------------------------------------------------------------- numpy


def to_numpy_function(derivation: Derivation) -> Callable[..., np.ndarray]:
    """``derivation.expression`` as a numpy function of ``derivation.inputs`` (positional).

    Arguments broadcast; the result is a float64 array of their broadcast shape,
    with a trailing axis of length k for a k-component gradient vector.
    """
    args = [_sym(n) for n in derivation.inputs]
    expr = derivation.expression
    if derivation.is_vector:
        components = [sp.lambdify(args, e, modules="numpy") for e in expr]

        def vector_fn(*values):
            values = [np.asarray(v, dtype=np.float64) for v in values]
            shape = np.broadcast_shapes(*(v.shape for v in values))
            parts = [np.broadcast_to(np.asarray(f(*values), dtype=np.float64), shape)
                     for f in components]
            return np.stack(parts, axis=-1)

        vector_fn.__name__ = derivation.name.replace(".", "_")
        return vector_fn

    f = sp.lambdify(args, expr, modules="numpy")

    def scalar_fn(*values):
        values = [np.asarray(v, dtype=np.float64) for v in values]
        shape = np.broadcast_shapes(*(v.shape for v in values))
        return np.array(np.broadcast_to(np.asarray(f(*values), dtype=np.float64), shape))

    scalar_fn.__name__ = derivation.name.replace(".", "_")
    return scalar_fn


# --------------------------------------------------------------------------- derivations


@functools.lru_cache(maxsize=None)
def sigmoid_derivative() -> Derivation:
    """d sigma / dz for sigma(z) = 1 / (1 + exp(-z)); answers may use ``sigma``."""
    z = _sym("z")
    forward = SIGMA(z)
    return Derivation(
        name="sigmoid_derivative",
        description="d sigma/dz, where sigma(z) = 1/(1 + exp(-z))",
        expression=sp.diff(forward, z),
        symbols=("z",),
        forward=forward,
        wrt="z",
        functions=(("sigma", SIGMA),),
    )


@functools.lru_cache(maxsize=None)
def bce_derivative() -> Derivation:
    """dL/da for the binary cross-entropy L = -(y log a + (1 - y) log(1 - a))."""
    a, y = _sym("a"), _sym("y")
    forward = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
    return Derivation(
        name="bce_derivative",
        description="dL/da for L = -(y log(a) + (1 - y) log(1 - a))",
        expression=sp.diff(forward, a),
        symbols=("a", "y"),
        forward=forward,
        wrt="a",
    )


@functools.lru_cache(maxsize=None)
def sigmoid_bce_dz() -> Derivation:
    """dL/dz of the binary cross-entropy through a sigmoid, a = sigma(z), written in a and y.

    sympy differentiates L(sigma(z), y) with respect to z, which gives an
    expression in exp(-z) and y. To write it in a and y, z is replaced by the
    inverse of the sigmoid, z = log(a / (1 - a)) (that is, exp(-z) = (1 - a)/a),
    and the result simplified; it simplifies to a - y. The rewrite is checked:
    putting a = sigma(z) back must give sympy's derivative again.
    """
    a, y, z = _sym("a"), _sym("y"), _sym("z")
    loss_in_a = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
    forward = loss_in_a.subs(a, SIGMA(z))
    dl_dz = sp.diff(forward, z)
    in_a = sp.simplify(dl_dz.subs(z, sp.log(a / (1 - a))))
    if in_a.free_symbols - {a, y}:
        raise ArithmeticError(f"sigmoid_bce_dz: z was not eliminated: {in_a}")
    if sp.simplify(in_a.subs(a, SIGMA(z)) - dl_dz) != 0:
        raise ArithmeticError("sigmoid_bce_dz: the rewrite in a does not match dL/dz")
    return Derivation(
        name="sigmoid_bce_dz",
        description=(
            "dL/dz for L = -(y log(a) + (1 - y) log(1 - a)) with a = sigma(z), "
            "written in terms of a and y"
        ),
        expression=in_a,
        symbols=("a", "y"),
        forward=forward,
        wrt="z",
    )


def _softmax_symbols(k: int) -> tuple[list[sp.Symbol], list[sp.Symbol]]:
    return [_sym(f"z{i}") for i in range(1, k + 1)], [_sym(f"y{i}") for i in range(1, k + 1)]


def _softmax(zs: list[sp.Symbol]) -> list[sp.Expr]:
    total = sp.Add(*[sp.exp(zj) for zj in zs])
    return [sp.exp(zi) / total for zi in zs]


@functools.lru_cache(maxsize=None)
def softmax_cross_entropy_gradient(k: int = 3) -> Derivation:
    """The gradient of L = -sum_i y_i log softmax(z)_i with respect to z1..zk.

    ``expression`` is the k x 1 column of sympy's partial derivatives, valid for
    any y; for a one-hot y (sum of y_i = 1, recorded in ``constraints`` as
    y_k = 1 - y_1 - ... - y_{k-1}) each component equals softmax(z)_i - y_i
    (``verify_softmax_cross_entropy_gradient`` checks that). Answers may use
    z1..zk, y1..yk and s1..sk (the softmax outputs).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"softmax_cross_entropy_gradient: k must be an int >= 2, got {k!r}")
    zs, ys = _softmax_symbols(k)
    probs = _softmax(zs)
    forward = -sp.Add(*[yi * sp.log(pi) for yi, pi in zip(ys, probs)])
    grad = sp.ImmutableMatrix([sp.simplify(sp.diff(forward, zi)) for zi in zs])
    return Derivation(
        name="softmax_cross_entropy_gradient" if k == 3 else f"softmax_cross_entropy_gradient_k{k}",
        description=(
            f"dL/dz_i for L = -sum_i y_i log softmax(z)_i, {k} classes, one-hot y; "
            "a column of the k partial derivatives"
        ),
        expression=grad,
        symbols=tuple(str(s) for s in zs + ys) + tuple(f"s{i}" for i in range(1, k + 1)),
        forward=forward,
        wrt="z",
        inputs=tuple(str(s) for s in zs + ys),
        definitions=tuple((f"s{i}", p) for i, p in enumerate(probs, start=1)),
        constraints=((str(ys[-1]), 1 - sp.Add(*ys[:-1])),),
    )


def verify_softmax_cross_entropy_gradient(derivation: Derivation | None = None, k: int = 3) -> bool:
    """Check that sympy's gradient equals softmax(z) - y for a one-hot y.

    Two checks: symbolically, with y_k = 1 - sum of the other y_i, every component
    minus (softmax(z)_i - y_i) simplifies to 0; and for each of the k one-hot
    vectors substituted exactly, the same holds.
    """
    d = derivation if derivation is not None else softmax_cross_entropy_gradient(k)
    k = d.expression.shape[0]
    zs, ys = _softmax_symbols(k)
    probs = _softmax(zs)
    target = [p - y for p, y in zip(probs, ys)]
    for g, t in zip(d.expression, target):
        if sp.simplify(d._constrain(g) - d._constrain(t)) != 0:
            return False
    for c in range(k):
        onehot = {y: int(i == c) for i, y in enumerate(ys)}
        for g, t in zip(d.expression, target):
            if sp.simplify(g.xreplace(onehot) - t.xreplace(onehot)) != 0:
                return False
    return True


@functools.lru_cache(maxsize=None)
def chain_rule_example() -> Derivation:
    """Seed 001's multivariate chain rule: f = y + exp(x y), x = cos t, y = t^2; df/dt.

    sympy differentiates the composition f(x(t), y(t)) with respect to t.
    Answers may use t, and x and y standing for cos(t) and t**2 (the lecture's
    form ``y*exp(x*y)*(-sin(t)) + (1 + x*exp(x*y))*2*t``).
    """
    t, x, y = _sym("t"), _sym("x"), _sym("y")
    f = y + sp.exp(x * y)
    inner = {x: sp.cos(t), y: t**2}
    forward = f.subs(inner)
    return Derivation(
        name="chain_rule_example",
        description="df/dt for f = y + exp(x*y), x = cos(t), y = t**2",
        expression=sp.diff(forward, t),
        symbols=("t", "x", "y"),
        forward=forward,
        wrt="t",
        inputs=("t",),
        definitions=(("x", inner[x]), ("y", inner[y])),
    )


# ----------------------------------------------------------- logistic least squares (seed 001)

_SIGMA_PRIME = sp.Lambda(_U, sp.diff(SIGMA(_U), _U))
"""sigma'(u), by sympy; answers in the backward pass may write it as ``sigma_prime(z)``."""


LOGISTIC_INPUTS = ("w", "b", "x", "t", "lam")
"""Inputs of the regularised logistic least squares model; ``lam`` is the lecture's lambda."""

_LOGISTIC_GRAPH: tuple[tuple[str, Callable[[dict[str, sp.Symbol]], sp.Expr]], ...] = (
    ("z", lambda s: s["w"] * s["x"] + s["b"]),
    ("y", lambda s: SIGMA(s["z"])),
    ("L", lambda s: sp.Rational(1, 2) * (s["y"] - s["t"]) ** 2),
    ("R", lambda s: sp.Rational(1, 2) * s["w"] ** 2),
    ("L_reg", lambda s: s["L"] + s["lam"] * s["R"]),
)
"""The forward pass of seed 001, node by node, in topological order."""

LOGISTIC_BACKWARD_ORDER = ("L_reg_bar", "R_bar", "L_bar", "y_bar", "z_bar", "w_bar", "b_bar")
"""The error signals of the backward pass, in the order the lecture computes them."""


@functools.lru_cache(maxsize=None)
def _logistic_backward() -> dict[str, Derivation]:
    sym = {n: _sym(n) for n in LOGISTIC_INPUTS + tuple(n for n, _ in _LOGISTIC_GRAPH)}
    local = {name: build(sym) for name, build in _LOGISTIC_GRAPH}  # in parent node symbols

    # Each node's value in the inputs only.
    in_inputs: dict[str, sp.Expr] = {}
    for name, _ in _LOGISTIC_GRAPH:
        in_inputs[name] = local[name].xreplace({sym[n]: e for n, e in in_inputs.items()})
    l_reg_composed = in_inputs["L_reg"]

    # Reverse mode, as in the lecture: v_bar = sum over the children c of v of
    # c_bar * d(c)/d(v), every local derivative d(c)/d(v) taken by sympy.
    nodes = [n for n, _ in _LOGISTIC_GRAPH]
    bars_local: dict[str, sp.Expr] = {"L_reg": sp.Integer(1)}  # in node and bar symbols
    order = ["R", "L", "y", "z", "w", "b"]  # reverse topological order below L_reg
    for v in order:
        terms = [
            _sym(f"{c}_bar") * sp.diff(local[c], sym[v])
            for c in nodes
            if sym[v] in local[c].free_symbols
        ]
        bars_local[v] = sp.Add(*terms)

    # The lecture's notation: each step in nodes and child bars, with the bars that are
    # identically 1 (L_reg_bar, and L_bar = L_reg_bar) written as 1.
    ones = {_sym("L_reg_bar"): sp.Integer(1)}
    local_form: dict[str, sp.Expr] = {}
    for v in ["L_reg"] + order:
        e = bars_local[v].xreplace(ones)
        local_form[v] = e
        if e == 1:
            ones[_sym(f"{v}_bar")] = sp.Integer(1)

    # Everything the bars may mention, in the inputs.
    env: dict[sp.Symbol, sp.Expr] = {sym[n]: e for n, e in in_inputs.items()}
    bars_in_inputs: dict[str, sp.Expr] = {}
    for v in ["L_reg"] + order:
        e = bars_local[v].xreplace({_sym(f"{n}_bar"): x for n, x in bars_in_inputs.items()})
        bars_in_inputs[v] = sp.simplify(e.xreplace(env))

    # Check against direct differentiation: L_reg written with v as a free symbol
    # (every node after v in topological order substituted) and differentiated by v.
    for v in ["L_reg"] + order:
        expr = sym["L_reg"]
        after = nodes[nodes.index(v) + 1:] if v in nodes else nodes
        for n in reversed(after):
            expr = expr.xreplace({sym[n]: local[n]})
        direct = sp.diff(expr, sym[v]).xreplace(env) if v != "L_reg" else sp.Integer(1)
        if sp.simplify(direct - bars_in_inputs[v]) != 0:
            raise ArithmeticError(f"logistic backward pass: {v}_bar disagrees with d L_reg/d {v}")

    allowed_nodes = ("z", "y", "L", "R")
    result: dict[str, Derivation] = {}
    earlier: list[tuple[str, sp.Expr]] = []
    for bar in LOGISTIC_BACKWARD_ORDER:
        v = bar[: -len("_bar")]
        defs = tuple((n, in_inputs[n]) for n in allowed_nodes) + tuple(earlier)
        result[bar] = Derivation(
            name=f"logistic_least_squares.{bar}",
            description=(
                f"{bar} = dL_reg/d{v} in seed 001's regularised univariate logistic least squares: "
                "z = w*x + b, y = sigma(z), L = (y - t)**2/2, R = w**2/2, L_reg = L + lam*R"
            ),
            expression=bars_in_inputs[v],
            symbols=LOGISTIC_INPUTS + tuple(n for n, _ in defs),
            forward=l_reg_composed,
            wrt=v,
            inputs=LOGISTIC_INPUTS,
            definitions=defs,
            functions=(("sigma", SIGMA), ("sigma_prime", _SIGMA_PRIME)),
            local=local_form[v],
        )
        if v in nodes:  # w_bar and b_bar (leaves) are not offered to each other
            earlier.append((bar, bars_in_inputs[v]))
    return result


def logistic_least_squares_backward() -> dict[str, Derivation]:
    """Seed 001's backward pass of the regularised univariate logistic least squares model.

    Forward: z = w x + b, y = sigma(z), L = (y - t)^2 / 2, R = w^2 / 2,
    L_reg = L + lam R. Returns the error signals in the lecture's order
    (``LOGISTIC_BACKWARD_ORDER``: L_reg_bar, R_bar, L_bar, y_bar, z_bar, w_bar,
    b_bar), each a ``Derivation`` whose expression is in w, b, x, t, lam.

    They are computed by reverse-mode accumulation over the computation graph
    (each local derivative by sympy), as the lecture does, and each is checked
    against sympy differentiating L_reg directly with respect to that node. An
    answer may use the forward's nodes z, y, L, R, the bars computed before it
    in the lecture's order (so ``z_bar*x + R_bar*w`` is a valid w_bar), and the
    functions ``sigma`` and ``sigma_prime``. ``Derivation.local`` holds each step as
    the lecture writes it (``y - t``, ``R_bar*w + x*z_bar``, ...).
    """
    return dict(_logistic_backward())


# --------------------------------------------------------------------------- registry


class UnknownDerivationError(KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def _logistic_part(bar: str) -> Derivation:
    return _logistic_backward()[bar]


DERIVATIONS: dict[str, Callable[[], Derivation]] = {
    "sigmoid_derivative": sigmoid_derivative,
    "bce_derivative": bce_derivative,
    "sigmoid_bce_dz": sigmoid_bce_dz,
    "softmax_cross_entropy_gradient": softmax_cross_entropy_gradient,
    "chain_rule_example": chain_rule_example,
    **{
        f"logistic_least_squares.{bar}": functools.partial(_logistic_part, bar)
        for bar in LOGISTIC_BACKWARD_ORDER
    },
}
"""Every derivation the grader can ask for, by name."""


def get_derivation(name: str) -> Derivation:
    """The derivation called ``name`` (a key of ``DERIVATIONS``)."""
    try:
        build = DERIVATIONS[name]
    except KeyError:
        raise UnknownDerivationError(
            f"unknown derivation {name!r}; known: {', '.join(DERIVATIONS)}"
        ) from None
    return build()
