"""The fuzzer's expressions: the parser's own tokens, big numbers and numeric powers included.

Shared by tests/checks/test_checks_bounded.py, tests/exam/test_sheets_fuzzed.py
and benchmarks/fuzz_expressions.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

_NUMBERS = st.one_of(
    st.integers(0, 99).map(str),
    st.integers(10**20, 10**39).map(str),
    st.sampled_from(["0.5", "1e-99", "9e99", "1/3", "-1/3", "-2/3", "99"]),
)
_ATOMS = st.one_of(_NUMBERS, st.sampled_from(["a", "y", "pi", "e", "ay"]))


def expressions():
    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", " "]), inner).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
            st.tuples(inner, st.sampled_from(["^", "**"]), _NUMBERS | inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
            st.tuples(st.sampled_from(["exp", "log", "sqrt", "sin", "tanh", "sigma", "abs"]), inner)
              .map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda s: f"-({s})"),
        )
    return st.recursive(_ATOMS, extend, max_leaves=40).filter(lambda s: len(s) <= 500)
