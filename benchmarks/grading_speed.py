"""How long grading one submission takes: dlgrade against otter-grader's `otter run`.

Both grade the same one-question numpy assignment (a `sigmoid` function
checked on one array) in the same run, on the same machine:

- dlgrade, per submission, from the start of the sandboxed child process to
  the finished result (the engine called in-process: what a batch pays per
  submission);
- dlgrade, one submission through the command line (`dlgrade grade`, a fresh
  Python process that also loads the grader and compiles the assignment);
- dlgrade, a batch of 40 submissions with `--jobs 2` (wall time / 40);
- dlgrade on assignment 01 (13 questions, 30 cases, gradient checks), per submission;
- `otter run` on an equivalent notebook and autograder zip (no container).

Usage: python benchmarks/grading_speed.py [--repeats N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = '''
import numpy as np
from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose
from reference.activations import sigmoid

assignment = Assignment("speed", title="One question", module="speed")

@assignment.question(points=1)
def sigmoid_values(q):
    """sigmoid on one array"""
    z = np.array([-2.0, 0.0, 2.0])
    q.call("sigmoid", z, expected=sigmoid(z), check=ArrayClose())
'''

SUBMISSION = "import numpy as np\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"

OTTER_TEST = '''
OK_FORMAT = False
from otter.test_files import test_case
name = "q1"
points = 1

@test_case(points=1, hidden=False)
def test_sigmoid(sigmoid, np):
    z = np.array([-2.0, 0.0, 2.0])
    assert np.allclose(sigmoid(z), 1 / (1 + np.exp(-z)))
'''


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout}\n{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from grader.course.generate.markers import solution_source
    from grader.engine.authoring import load_assignment
    from grader.engine.grading import grade_submission

    work = Path(tempfile.mkdtemp(prefix="dlgrade-speed-"))
    (work / "assignment").mkdir()
    (work / "assignment" / "questions.py").write_text(QUESTIONS)
    (work / "speed.py").write_text(SUBMISSION)
    compiled = load_assignment(work / "assignment").compile()

    rows = []
    # 1. engine per submission, child start to result
    grade_submission(compiled, work / "speed.py")  # warm the file cache
    engine_times = []
    for _ in range(max(args.repeats * 4, 20)):
        start = time.perf_counter()
        result = grade_submission(compiled, work / "speed.py")
        engine_times.append(time.perf_counter() - start)
        assert result.score == 1.0, result
    engine = statistics.median(engine_times)
    rows.append(("dlgrade, per submission (child start to result)", engine, result.isolation))

    # 2. one submission through the CLI
    cli = statistics.median(timed([sys.executable, "-m", "grader.cli", "grade", str(work / "assignment"),
                                   str(work / "speed.py"), "--out", str(work / f"cli{i}"), "--no-progress"], ROOT)
                            for i in range(args.repeats))
    rows.append(("dlgrade grade, one submission, whole command", cli, "Python start + imports + compile + grade"))

    # 3. a batch with two workers
    batch_dir = work / "batch"
    batch_dir.mkdir()
    for i in range(40):
        (batch_dir / f"s{i:02d}.py").write_text(f"# {i}\n" + SUBMISSION)
    batch = timed([sys.executable, "-m", "grader.cli", "grade", str(work / "assignment"), str(batch_dir),
                   "--out", str(work / "batch-out"), "--jobs", "2", "--no-progress"], ROOT) / 40
    rows.append(("dlgrade grade, batch of 40 with --jobs 2, per submission", batch, "wall time / 40"))

    # 4. assignment 01, per submission
    full = load_assignment(ROOT / "assignments" / "01_backprop").compile()
    reference = work / "backprop.py"
    reference.write_text(solution_source((ROOT / "assignments" / "01_backprop" / "master.py").read_text()))
    full_times = []
    for _ in range(args.repeats * 2):
        start = time.perf_counter()
        assert grade_submission(full, reference).score == full.max_score
        full_times.append(time.perf_counter() - start)
    rows.append(("dlgrade, assignment 01 (13 questions), per submission", statistics.median(full_times),
                 f"{sum(len(q.cases) for q in full.questions)} cases"))

    # 5. otter run on the equivalent notebook
    otter = shutil.which("otter") or str(Path(sys.executable).parent / "otter")
    otter_dir = work / "otter"
    (otter_dir / "tests").mkdir(parents=True)
    (otter_dir / "tests" / "q1.py").write_text(textwrap.dedent(OTTER_TEST))
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SUBMISSION)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, otter_dir / "speed.ipynb")
    timed([otter, "generate"], otter_dir)
    otter_time = statistics.median(timed([otter, "run", "-a", "autograder.zip", "speed.ipynb"], otter_dir)
                                   for _ in range(args.repeats))
    rows.append(("otter run, one submission (no container)", otter_time, "kernel start + notebook + tests"))

    from grader.engine.text_report import table

    print(table(["what", "seconds", "note"], [(w, f"{s:.3f}", n) for w, s, n in rows], align="lrl"))
    print(f"\nper submission, dlgrade engine vs otter run: {otter_time / engine:.1f}x faster; "
          f"whole command vs otter run: {otter_time / cli:.1f}x faster; batch: {otter_time / batch:.1f}x faster")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
