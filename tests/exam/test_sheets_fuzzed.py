"""A fuzzer of answer sheets: whatever a sheet holds, grading it stays within a small CPU budget.

Sheets are made of the midterm's keys with fuzzed values: numbers of any
size, nested lists, strings, expressions (the big-number attacks included),
stray brackets and quotes. The grading process's own CPU is measured with
``time.process_time``; the symbolic checks run in a worker whose CPU limit
would show as a case with reason ``cpu_budget``, which must never happen.
benchmarks/fuzz_expressions.py runs the expression half longer.
"""

from __future__ import annotations

import time

import pytest

from grader.course.exam.grading import grade_answer_sheet
from grader.engine.sheets import answer_keys

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extras")
from fuzz_strategies import expressions  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: CPU seconds the grading process may spend on one fuzzed sheet (sympy's import is already paid).
SHEET_CPU_BUDGET = 3.0

_SCALARS = st.one_of(
    st.integers(-10**50, 10**50).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "1e999", "-0.0", "''", '"x"', "nan", "inf", "0x1F", "1979-05-27"]),
)


def _values():
    lists = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=6).map(lambda xs: "[" + ", ".join(xs) + "]"),
                         max_leaves=30)
    quoted = expressions().map(lambda e: '"' + e.replace('"', "") + '"')
    return st.one_of(lists, quoted, expressions(), st.text(max_size=40).map(lambda t: t.replace("\n", " ")))


@pytest.fixture(scope="module")
def paper(compiled_for):
    return compiled_for("fuzz0001")


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_fuzzed_sheets_are_graded_within_a_small_cpu_budget(paper, tmp_path, data):
    keys = [k.key for k in answer_keys(paper)]
    fmt = data.draw(st.sampled_from(["toml", "yaml"]))
    sep = " = " if fmt == "toml" else ": "
    lines = [f"{key}{sep}{data.draw(_values())}" for key in keys]
    path = tmp_path / f"sheet.{fmt}"
    path.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    result = grade_answer_sheet(paper, path)
    cpu = time.process_time() - started
    assert cpu < SHEET_CPU_BUDGET, f"{cpu:.2f} s of CPU for {path.read_text()[:300]!r}"
    assert result.grader_error is None
    for question in result.questions:
        for case in question.cases:
            assert case.data.get("reason") != "cpu_budget", case.message
            assert "internal grader error" not in case.message, case.message   # the words a grader fault uses


def test_a_control_character_in_a_yaml_sheet_costs_only_its_answers(paper, tmp_path):
    # Found by the fuzzer: PyYAML's reader refused it while being built, outside the error handling.
    keys = [k.key for k in answer_keys(paper)]
    path = tmp_path / "sheet.yaml"
    path.write_text("\n".join(f"{key}: \x05~" for key in keys) + "\n")
    result = grade_answer_sheet(paper, path)
    assert result.grader_error is None and result.load.ok
    messages = [c.message for q in result.questions for c in q.cases]
    assert all("unacceptable character #x0005" in m for m in messages), messages
