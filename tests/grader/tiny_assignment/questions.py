"""A two-question assignment for tests of batch grading (fast to grade)."""


from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Number
from reference.activations import relu, sigmoid

assignment = Assignment("tiny", title="Two activations", module="tiny")


@assignment.question(points=1)
def relu_values(q):
    """relu on random values"""
    z = q.rng.normal(size=(3, 4))
    q.call("relu", z, expected=relu(z), check=ArrayClose())


@assignment.question(points=1)
def sigmoid_at_zero(q):
    """SIGMOID_AT_ZERO, a number"""
    q.answer("SIGMOID_AT_ZERO", expected=float(sigmoid(0.0)), check=Number(decimals=3))
