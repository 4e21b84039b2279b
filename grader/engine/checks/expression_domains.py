"""The domains of an expression's symbols (named ones, intervals) and a random value drawn from one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_MAGNITUDES = (0.05, 10.0)  # |value| for real, positive and negative symbols, drawn log-uniformly
_INTEGERS = 20  # integer symbols are drawn from 1..20 (positive) or -20..20

#: The domains a question may give a symbol by name, and what they mean.
NAMED_DOMAINS = {
    "real": f"a real number, negative or positive, {_MAGNITUDES[0]:g} <= |value| <= {_MAGNITUDES[1]:g}",
    "positive": f"a positive real number, {_MAGNITUDES[0]:g} <= value <= {_MAGNITUDES[1]:g}",
    "negative": f"a negative real number, {_MAGNITUDES[0]:g} <= |value| <= {_MAGNITUDES[1]:g}",
    "probability": "a number strictly between 0 and 1",
    "positive integer": f"an integer from 1 to {_INTEGERS}",
    "integer": f"an integer from -{_INTEGERS} to {_INTEGERS}",
}
_DOMAIN_ALIASES = {"(0,1)": "probability", "unit": "probability", "unit interval": "probability",
                   "count": "positive integer"}
_PROBABILITY = (0.01, 0.99)
DEFAULT_DOMAIN = "real"


def read_domain(name: str, dom: Any) -> str | tuple[float, float]:
    """A domain as given by a question: a name of :data:`NAMED_DOMAINS` (or an
    alias such as "(0, 1)"), or an interval (low, high) with finite low < high."""
    if isinstance(dom, str):
        key = " ".join(dom.lower().replace("_", " ").split())
        key = _DOMAIN_ALIASES.get(key.replace(" ", ""), _DOMAIN_ALIASES.get(key, key))
        if key not in NAMED_DOMAINS:
            raise ValueError(f"Expression: unknown domain {dom!r} for {name!r}; known: "
                             f"{', '.join(map(repr, NAMED_DOMAINS))}, or an interval (low, high)")
        return key
    try:
        lo, hi = (float(x) for x in dom)
    except (TypeError, ValueError):
        raise ValueError(f"Expression: the domain of {name!r} must be a name ({', '.join(NAMED_DOMAINS)}) "
                         f"or a pair (low, high), got {dom!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"Expression: the domain of {name!r} must have finite low < high, got {dom!r}")
    return (lo, hi)


def describe_domain(dom: str | tuple[float, float]) -> str:
    """What a domain means, for instructions and papers ("a number strictly between 0 and 1")."""
    if isinstance(dom, str):
        return NAMED_DOMAINS[read_domain("symbol", dom)]
    lo, hi = dom
    return f"a number between {lo:g} and {hi:g}"


def draw(dom: str | tuple[float, float], rng: np.random.Generator, readable: bool) -> float:
    """One value from a domain; ``readable``: rounded to two decimals when that stays inside it."""
    if dom in ("positive integer", "integer"):
        return float(rng.integers(1 if dom == "positive integer" else -_INTEGERS, _INTEGERS + 1))
    if isinstance(dom, tuple) or dom == "probability":
        lo, hi = dom if isinstance(dom, tuple) else _PROBABILITY
        v = float(rng.uniform(lo, hi))
        if readable and lo < round(v, 2) < hi:
            v = round(v, 2)
        return v
    lo, hi = (math.log(m) for m in _MAGNITUDES)
    v = math.exp(float(rng.uniform(lo, hi)))
    if readable and round(v, 2) > 0:
        v = round(v, 2)
    negative = dom == "negative" or (dom == "real" and rng.random() < 0.5)
    return -v if negative else v
