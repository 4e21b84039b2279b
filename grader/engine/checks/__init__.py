"""Checks: compare a student's answer (plain data from the child process)
with the expected value (computed by the reference), in the grading parent.

Every check is a frozen dataclass with ``check(got, expected) ->
CheckResult``, ``describe()``, ``to_spec()`` and ``from_spec()``;
``check_from_spec(spec)`` builds one from its plain-dict spec. See
docs in each module for the exact rules.
"""

from .architecture import LayerStack
from .arrays import ArrayClose
from .base import Check, CheckResult, ExpectedValueError, check_from_spec, registered_kinds
from .exact import Exact, OneOf
from .form import Form
from .gradient import Gradient
from .model import Accuracy
from .network import ReluNetworkOutputs
from .numeric import Number
from .symbolic import Expression, ExpressionForm

__all__ = [
    "CheckResult",
    "Check",
    "ExpectedValueError",
    "Number",
    "ArrayClose",
    "Gradient",
    "Expression",
    "ExpressionForm",
    "Accuracy",
    "LayerStack",
    "Exact",
    "OneOf",
    "Form",
    "ReluNetworkOutputs",
    "check_from_spec",
    "registered_kinds",
]
