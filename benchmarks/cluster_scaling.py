"""Grading on a Dask cluster against grading on threads: the same class of assignment 01, four ways.

The class is assignment 01's example scripts copied under ``--students`` ids
(a distinct first line each, so every one is graded). ``dlgrade grade`` runs
into a fresh gradebook with ``--jobs 1``, ``--jobs 2``, ``--cluster local:1``
and ``--cluster local:2``; for each the script prints the wall time of the
whole command, submissions per minute and seconds per submission. It also
times a local cluster's start and stop alone, and from these it derives the
cluster's overhead per task (its wall time, less its start, less the threads'
wall time at the same width, per submission), and the driver's own CPU per
submission on ``local:2`` (recording and writing the class folder; a local
cluster's scheduler runs in the driver's process and is counted too, so the
figure is an upper bound): one driver records a submission per that many
seconds at most.

Then assignment 04, measured: its reference solution graded as a class of
one and as a class of ``1 + --submissions-04`` with ``--jobs 1``; the
difference, per added submission, is what one more submission costs: the
machine's busy CPU-seconds (``/proc/stat``, so run it on an otherwise idle
machine) and the wall seconds of the one core it runs on. Compiling the
assignment (TensorFlow imported once per grading process) cancels out.

Then, on paper: 10,000 submissions of 01 and of 04 on 100 cores, from the
measured seconds per submission on one core, plus the measured overhead per
task, spread over the cores. 04's figure is the larger of its CPU-seconds and
its wall seconds times the threads its limits give each submission (the
cores a cluster reserves for it).

Usage: python benchmarks/cluster_scaling.py [--students 40] [--submissions-04 3]
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


def grade(classdir: Path, out: Path, how: list[str], assignment: str = "01_backprop") -> tuple[float, float]:
    """(wall seconds, the command's own CPU-seconds) of ``dlgrade grade``; on a cluster the command is the
    driver, and its own CPU is what recording and writing the class folder cost, children excluded."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        run = subprocess.Popen([sys.executable, "-m", "grader.cli", "grade", assignment, str(classdir), "--out",
                                str(out), "--no-progress", *how], cwd=ROOT, stdout=output, stderr=output)
        own_cpu = 0.0
        while run.poll() is None:
            own_cpu = process_cpu_seconds(run.pid) or own_cpu
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        if run.returncode != 0:
            output.seek(0)
            raise SystemExit(output.read().decode(errors="replace"))
    return seconds, own_cpu


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU-seconds of process ``pid`` alone (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cost_of_04(work: Path, added: int) -> tuple[float, float]:
    """(busy CPU-seconds, wall seconds) that one more submission of 04 costs, graded with ``--jobs 1``."""
    source = ROOT / "assignments" / "04_keras_mnist" / "examples" / "reference.py"
    measured = []
    for size in (1, 1 + added):
        classdir = work / f"class04_{size}"
        classdir.mkdir()
        for i in range(size):
            (classdir / f"student{i:03d}.py").write_text(f"# student {i}\n" + source.read_text())
        cpu = busy_cpu_seconds()
        wall, _ = grade(classdir, work / f"graded04_{size}", ["--jobs", "1"], assignment="04_keras_mnist")
        measured.append((busy_cpu_seconds() - cpu, wall))
    (cpu_1, wall_1), (cpu_n, wall_n) = measured
    return (cpu_n - cpu_1) / added, (wall_n - wall_1) / added


def cluster_start_stop(workers: int) -> float:
    from grader.course.cluster.connect import open_client

    start = time.perf_counter()
    with open_client(f"local:{workers}"):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--submissions-04", type=int, default=3,
                        help="submissions of 04 added to measure what one costs (0: skip 04)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dlgrade-cluster-scaling-"))
    try:
        classdir = work / "class"
        write_class(classdir, args.students)
        ways = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"],
                "--cluster local:1": ["--cluster", "local:1"], "--cluster local:2": ["--cluster", "local:2"]}
        measured = {name: grade(classdir, work / name.replace(" ", "_").replace(":", "_"), how)
                    for name, how in ways.items()}
        walls = {name: wall for name, (wall, _) in measured.items()}
        starts = {n: cluster_start_stop(n) for n in (1, 2)}
        cost_04 = cost_of_04(work, args.submissions_04) if args.submissions_04 > 0 else None
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

    driver = measured["--cluster local:2"][1] / n
    print(f"  the driver's own CPU on --cluster local:2: {driver:.3f} s per submission (recording, the class "
          f"folder; the assignment's compilation and the local scheduler, which runs in the driver's process, "
          f"included: an upper bound), at least {1 / driver:.0f} submissions a second")
    overhead = max(0.0, overheads[1])
    per_01 = walls["--jobs 1"] / n   # one core, the command's own start-up spread over the class
    print("\nOn paper, 10,000 submissions on 100 cores (one scheduler, the driver recording):")
    hours_01 = 10_000 * (per_01 + overhead) / 100 / 3600
    hours_driver = 10_000 * driver / 3600
    print(f"  01: {per_01:.3f} s per submission on one core + {overhead:.3f} s overhead -> "
          f"{hours_01 * 60:.1f} min on the workers; the one driver needs {hours_driver * 60:.0f} min")
    if cost_04 is None:
        return
    from grader.engine.authoring import load_assignment
    from grader.engine.sandbox import Limits

    threads = Limits.from_dict({**Limits().to_dict(), **load_assignment("04_keras_mnist").limits}).threads
    cpu_04, wall_04 = cost_04
    per_04 = max(cpu_04, wall_04 * threads)
    hours_04 = 10_000 * (per_04 + threads * overhead) / 100 / 3600
    print(f"  04: measured {cpu_04:.1f} CPU-seconds and {wall_04:.1f} wall seconds per submission "
          f"({threads} thread{'s' if threads > 1 else ''} each, {100 // threads} at a time) + overhead -> "
          f"{hours_04 * 60:.0f} min (the driver keeps up: {10_000 / (hours_04 * 3600):.1f} a second)")

if __name__ == "__main__":
    main()
