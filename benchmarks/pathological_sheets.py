"""How long the answer-sheet reader takes on the sheets that make it work hardest.

    python benchmarks/pathological_sheets.py [--runs 5]

The test suite bounds this work with a CPU limit (tests/exam/test_sheets.py);
this script measures it: the median wall and CPU seconds per sheet.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "exam"))

from test_sheets import PATHOLOGICAL_SHEETS  # noqa: E402

from grader.engine.sheets import read_sheet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in sorted(PATHOLOGICAL_SHEETS.items()):
            path = Path(tmp) / name
            path.write_text(text)
            wall, cpu = [], []
            for _ in range(args.runs):
                w, c = time.perf_counter(), time.process_time()
                read_sheet(path)
                wall.append(time.perf_counter() - w)
                cpu.append(time.process_time() - c)
            print(f"{name:14s} {len(text) / 1024:6.0f} KiB  wall {statistics.median(wall):6.3f} s  "
                  f"cpu {statistics.median(cpu):6.3f} s  (median of {args.runs})")


if __name__ == "__main__":
    main()
