"""Throughput of batch grading: a class of 200 submissions of assignment 01.

The class is made of assignment 01's example submissions (the reference and
the mistakes, scripts and notebooks), each copied under 200 student ids with
a distinct first line so that every one is graded. `dlgrade grade` runs with
`--jobs N` into a fresh gradebook; the script prints submissions per minute,
seconds per submission and the size of the gradebook and of the results.

Usage: python benchmarks/batch_throughput.py [--students 200] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    examples = sorted((ROOT / "assignments" / "01_backprop" / "examples").glob("*.py"))
    work = Path(tempfile.mkdtemp(prefix="dlgrade-throughput-"))
    classdir = work / "class"
    classdir.mkdir()
    for i in range(args.students):
        source = examples[i % len(examples)]
        (classdir / f"student{i:03d}.py").write_text(f"# student {i}\n" + source.read_text())

    out = work / "graded"
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(classdir), "--out", str(out),
                          "--jobs", str(args.jobs), "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(run.stdout + run.stderr)

    db = out / "gradebook.db"
    print(f"{args.students} submissions of 01_backprop, --jobs {args.jobs}, on {__import__('os').cpu_count()} CPUs")
    print(f"  wall time           {seconds:8.1f} s (the whole command, start-up included)")
    print(f"  throughput          {args.students / seconds * 60:8.0f} submissions per minute")
    print(f"  per submission      {seconds / args.students:8.3f} s")
    print(f"  gradebook           {db.stat().st_size / 1e6:8.2f} MB ({db.stat().st_size / args.students / 1e3:.1f} kB "
          "per submission, full results JSON included)")
    print(f"  result files        {(folder_size(out) - db.stat().st_size) / 1e6:8.2f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
