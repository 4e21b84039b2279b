"""The check protocol: results, the base class, the registry of kinds.

A check is a small frozen dataclass holding its parameters. ``check(got,
expected)`` runs in the grading parent on plain data and returns a
:class:`CheckResult`; it never raises because of ``got`` (the student's
value, untrusted). A malformed ``expected`` (the reference's value, trusted)
is an authoring bug and raises :class:`ExpectedValueError`.
"""

from __future__ import annotations

import dataclasses
import math
import traceback
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "CheckResult",
    "Check",
    "ExpectedValueError",
    "check_from_spec",
    "registered_kinds",
]


class ExpectedValueError(ValueError):
    """The expected value (computed by the reference) is not usable by a check.

    This is a bug in an assignment's definition, never the student's fault, so
    it propagates out of ``check()`` instead of becoming a failing result.
    """


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    ``fraction``: credit in [0, 1] (clamped; NaN becomes 0).
    ``message``: for the student; never contains the expected value, so it is
    safe for hidden questions. ``detail``: may show expected versus got (public
    questions, instructors). ``data``: plain values for reports.
    """

    fraction: float
    message: str
    detail: str = ""
    data: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            f = float(self.fraction)
        except (TypeError, ValueError):
            f = 0.0
        if math.isnan(f):
            f = 0.0
        object.__setattr__(self, "fraction", min(1.0, max(0.0, f)))
        object.__setattr__(self, "message", str(self.message))
        object.__setattr__(self, "detail", str(self.detail))
        if self.data is None:
            object.__setattr__(self, "data", {})

    @property
    def passed(self) -> bool:
        return self.fraction == 1.0

    def to_dict(self) -> dict:
        """A JSON-able view: arrays become lists, non-finite floats strings."""
        return {
            "fraction": self.fraction,
            "passed": self.passed,
            "message": self.message,
            "detail": self.detail,
            "data": jsonable(self.data),
        }


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Plain JSON-compatible copy of report data (arrays to lists, nan to 'nan')."""
    if _depth > 50:
        return repr(value)[:200]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, (complex, np.complexfloating)):
        return repr(complex(value))
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return jsonable(value.tolist(), _depth + 1)
        return repr(value)[:200]
    if isinstance(value, dict):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, _depth + 1) for v in value]
    return repr(value)[:200]


_REGISTRY: dict[str, type["Check"]] = {}


def registered_kinds() -> list[str]:
    return sorted(_REGISTRY)


class Check:
    """Base class. Subclasses are frozen dataclasses that set ``kind`` and
    implement ``_check``; ``check`` wraps it so that nothing a student returns
    can raise out of it."""

    kind: ClassVar[str] = ""
    #: Whether grading runs this check in a worker process under a CPU limit
    #: (checks that read student text: see :mod:`grader.engine.checks.bounded`).
    runs_in_worker: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            other = _REGISTRY.get(kind)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"check kind {kind!r} is already registered by {other.__name__}")
            _REGISTRY[kind] = cls

    # -- grading -----------------------------------------------------------
    def check(self, got: Any, expected: Any) -> CheckResult:
        try:
            return self._check(got, expected)
        except ExpectedValueError:
            raise
        except Exception as exc:  # a bug of ours, triggered by odd input
            return CheckResult(
                0.0,
                "the grader could not check this answer (internal error "
                f"{type(exc).__name__}); please report this to the course staff",
                detail="".join(traceback.format_exception(exc))[-4000:],
                data={"internal_error": type(exc).__name__},
            )

    def _check(self, got: Any, expected: Any) -> CheckResult:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - every subclass overrides
        return self.kind

    # -- specs ---------------------------------------------------------------
    def to_spec(self) -> dict:
        spec: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            spec[f.name] = _spec_value(getattr(self, f.name))
        return spec

    @classmethod
    def from_spec(cls, spec: dict) -> "Check":
        if not isinstance(spec, dict):
            raise ValueError(f"a check spec must be a dict, got {type(spec).__name__}")
        spec = dict(spec)
        kind = spec.pop("kind", None)
        target = cls
        if cls is Check or not cls.__dict__.get("kind"):
            if kind not in _REGISTRY:
                raise ValueError(
                    f"unknown check kind {kind!r}; known kinds: {', '.join(registered_kinds())}"
                )
            target = _REGISTRY[kind]
        elif kind is not None and kind != cls.kind:
            raise ValueError(f"spec of kind {kind!r} given to {cls.__name__} (kind {cls.kind!r})")
        names = {f.name for f in dataclasses.fields(target)}  # type: ignore[arg-type]
        unknown = sorted(set(spec) - names)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for check kind {target.kind!r}; "
                f"known: {', '.join(sorted(names))}"
            )
        return target(**spec)


def _spec_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_spec_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _spec_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spec_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_from_spec(spec: dict) -> Check:
    """Build a check from its spec (a dict with ``kind``); ValueError for unknown kinds."""
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"a check spec must be a dict with a 'kind' key, got {spec!r:.200}")
    return Check.from_spec(spec)
