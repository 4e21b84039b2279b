"""Grading on a Dask cluster against grading on threads: the same class of assignment 01, four ways.

The class is assignment 01's example scripts copied under ``--students`` ids
(a distinct first line each, so every one is graded). ``dlgrade grade`` runs
into a fresh gradebook with ``--jobs 1``, ``--jobs 2``, ``--cluster local:1``
and ``--cluster local:2``; for each the script prints the wall time of the
whole command, submissions per minute and seconds per submission. It also
times a local cluster's start and stop alone, and from these it derives the
cluster's overhead per task (its wall time, less its start, less the threads'
wall time at the same width, per submission).

Then, on paper: 10,000 submissions of 01 and of 04 on 100 cores, from the
measured seconds per submission on one core (01) or the given core-seconds
(04: ``--seconds-04``, two threads per task), plus the measured overhead per
task, spread over the cores.

Usage: python benchmarks/cluster_scaling.py [--students 40] [--seconds-04 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_class(folder: Path, students: int) -> None:
    examples = sorted((ROOT / "assignments" / "01_backprop" / "examples").glob("*.py"))
    folder.mkdir(parents=True)
    for i in range(students):
        source = examples[i % len(examples)]
        (folder / f"student{i:03d}.py").write_text(f"# student {i}\n" + source.read_text())


def grade(classdir: Path, out: Path, how: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(classdir), "--out",
                          str(out), "--no-progress", *how], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(run.stdout + run.stderr)
    return seconds


def cluster_start_stop(workers: int) -> float:
    from grader.course.cluster.connect import open_client

    start = time.perf_counter()
    with open_client(f"local:{workers}"):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--seconds-04", type=float, default=15.0,
                        help="core-seconds to grade one submission of 04 (default: the issue's 15)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dlgrade-cluster-scaling-"))
    try:
        classdir = work / "class"
        write_class(classdir, args.students)
        ways = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"],
                "--cluster local:1": ["--cluster", "local:1"], "--cluster local:2": ["--cluster", "local:2"]}
        walls = {name: grade(classdir, work / name.replace(" ", "_").replace(":", "_"), how)
                 for name, how in ways.items()}
        starts = {n: cluster_start_stop(n) for n in (1, 2)}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.students
    print(f"{n} submissions of 01_backprop on {os.cpu_count()} CPUs (the whole command, start-up included)")
    for name, seconds in walls.items():
        print(f"  {name:18s} {seconds:7.1f} s   {n / seconds * 60:6.0f} per minute   {seconds / n:6.3f} s each")
    overheads = {}
    for width in (1, 2):
        overheads[width] = (walls[f"--cluster local:{width}"] - starts[width] - walls[f"--jobs {width}"]) / n
        print(f"  local:{width} start and stop {starts[width]:5.1f} s; overhead per task over --jobs {width}: "
              f"{overheads[width]:+.3f} s")

    overhead = max(0.0, overheads[1])
    per_01 = walls["--jobs 1"] / n   # one core, the command's own start-up spread over the class
    print("\nOn paper, 10,000 submissions on 100 cores (one scheduler, the driver recording):")
    hours_01 = 10_000 * (per_01 + overhead) / 100 / 3600
    print(f"  01: {per_01:.3f} s per submission on one core + {overhead:.3f} s overhead -> "
          f"{hours_01 * 60:.1f} min")
    hours_04 = 10_000 * (args.seconds_04 + 2 * overhead) / 100 / 3600
    print(f"  04: {args.seconds_04:g} core-seconds per submission (2 threads, 50 at a time) + overhead -> "
          f"{hours_04 * 60:.0f} min")


if __name__ == "__main__":
    main()
