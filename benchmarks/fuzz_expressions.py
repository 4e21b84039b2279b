"""The expression fuzzer of the test suite, run longer: the most CPU any check took.

    python benchmarks/fuzz_expressions.py [--examples 2000]

tests/checks/test_checks_bounded.py runs the same fuzzer for a bounded number
of cases and asserts that no check of fuzzed text takes more than a small
fixed CPU budget; this runs many more cases and prints the slowest ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "checks"))
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_strategies import expressions  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_checks_bounded import FUZZ_CPU_BUDGET  # noqa: E402

from grader.engine.checks import Expression  # noqa: E402

EXPECTED = ["a - y", "a*(1 - a)", "log(a - 2)", "exp(a) / y"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    args = parser.parse_args()
    timings: list[tuple[float, str, str]] = []
    check = Expression(symbols=("a", "y"))

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(text=expressions(), expected=st.sampled_from(EXPECTED))
    def run(text: str, expected: str) -> None:
        started = time.process_time()
        result = check.check(text, expected)
        timings.append((time.process_time() - started, text, result.message[:60]))

    run()
    timings.sort(reverse=True)
    over = sum(1 for t, _, _ in timings if t >= FUZZ_CPU_BUDGET)
    print(f"{len(timings)} checks; the slowest {timings[0][0]:.3f} s of CPU; "
          f"{over} at or over the suite's budget of {FUZZ_CPU_BUDGET:g} s")
    for cpu, text, message in timings[:5]:
        print(f"  {cpu:.3f} s  {text[:70]!r} -> {message}")


if __name__ == "__main__":
    main()
