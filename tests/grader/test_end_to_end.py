"""A whole class graded through `dlgrade grade`: ordinary mistakes and hostile submissions.

Every submission is assignment 01's master solution or its untouched student
template, plus one change. The expected scores follow from the change:

- a change confined to `tanh_grad` (hang, crash, exit, lie, cheat inside it)
  costs exactly the cases that call `tanh_grad`: 31 - 1.75 = 29.25;
- the solution is a script in cells (`# %%`), run cell by cell like its
  notebook: hostile code appended to the last cell costs what that cell
  defines if the cell never finishes (the XOR answers: 31 - 3 - 1/9 of the
  public form check = 27.8889), nothing if it raises after defining them;
- the same hostile code in a script without cells breaks its import: 0;
- cheating added to the untouched template earns what the template earns: 0.

All of them are graded in ONE batch with two workers: each gets the score it
earned, the grader is unharmed and every other submission is still graded.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from grader.course.generate.markers import solution_source

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "assignments" / "01_backprop"
FULL = 31.0
WITHOUT_TANH_GRAD = 29.25   # tanh_grad appears in 1 of 4 cases of a 3-point question and 1 of 3 of another
WITHOUT_LAST_CELL = 27.8889  # XOR_WEIGHTS (2) and GIVEN_NETWORK_MSE (1, and 1/9 of the 1-point form check)
LIMITS = ["--limit", "request_seconds=3", "--limit", "load_seconds=6", "--limit", "wall_seconds=40"]

REFERENCE = solution_source((ASSIGNMENT / "master.py").read_text())
TEMPLATE = (ROOT / "student_template" / "01_backprop" / "backprop.py").read_text()
NO_CELLS = "".join(line for line in REFERENCE.splitlines(True) if not line.startswith("# %%"))


def replaces_tanh_grad(body: str) -> str:
    """The reference, with tanh_grad redefined at the end of the module."""
    return REFERENCE + "\n\ndef tanh_grad(z):\n" + textwrap.indent(textwrap.dedent(body), "    ") + "\n"


def at_import(code: str, base: str = REFERENCE) -> str:
    return base + "\n" + textwrap.dedent(code) + "\n"


LIAR = """
class Liar:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0.0
    def __rsub__(self, other): return 0.0
    def __abs__(self): return 0.0
    def __float__(self): return 0.2984
    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.zeros((3, 4))
"""


def weak_fallback() -> bool:
    """Whether this run grades in a fallback without Landlock (allowed for this test, and then files can be read)."""
    from grader.engine.sandbox import isolation, landlock

    return not isolation.isolation_available()[0] and not landlock.abi()[0]


def build_class(folder: Path, server_port: int) -> dict[str, float]:
    """Write the submissions; return {student id: the score it must get}."""
    # Files, read (not merely looked up: a path's existence is no secret in the fallback, its content is).
    secret_paths = [ROOT / "assignments" / "01_backprop" / "master.py", ROOT / "reference" / "__init__.py",
                    ROOT / "tests" / "conftest.py", folder / "reference.py"]
    cases: dict[str, tuple[str, float]] = {
        # ordinary submissions
        "reference": (REFERENCE, FULL),
        "template_untouched": (TEMPLATE, 0.0),
        # activation_backward looks tanh_grad up for every kind, so all of that question is lost too
        "missing_tanh_grad": (REFERENCE.replace("def tanh_grad(z):", "def tanh_grad_renamed(z):"),
                              WITHOUT_TANH_GRAD - 2.0),
        # the cell holding the activations does not compile: every question using them is lost
        "syntax_error": (REFERENCE.replace("def relu(z):", "def relu(z)"), 22.0),
        "tanh_grad_wrong_shape": (replaces_tanh_grad("return np.ones(3)"), WITHOUT_TANH_GRAD),
        "tanh_grad_nan": (replaces_tanh_grad("return np.full(np.shape(z), np.nan)"), WITHOUT_TANH_GRAD),
        # hostile inside one function
        "loop_in_function": (replaces_tanh_grad("while True:\n    pass"), WITHOUT_TANH_GRAD),
        "alloc_20gb_in_function": (replaces_tanh_grad("return np.ones(20 * 2**30 // 8)"), WITHOUT_TANH_GRAD),
        "fork_bomb_in_function": (replaces_tanh_grad("import os\nwhile True:\n    os.fork()"), WITHOUT_TANH_GRAD),
        "sys_exit_in_function": (replaces_tanh_grad("import sys\nsys.exit(0)"), WITHOUT_TANH_GRAD),
        "os_exit_in_function": (replaces_tanh_grad("import os\nos._exit(0)"), WITHOUT_TANH_GRAD),
        "print_1gb_in_function": (replaces_tanh_grad("line = 'x' * 2**20\nfor _ in range(2**10):\n    print(line)\nreturn 1 - np.tanh(z) ** 2"),
                                  WITHOUT_TANH_GRAD),
        "lying_object": (at_import(LIAR) + "\n\ndef tanh_grad(z):\n    return Liar()\n", WITHOUT_TANH_GRAD),
        "pickled_payload": (replaces_tanh_grad("import pickle, os\nreturn pickle.dumps(os.system)"), WITHOUT_TANH_GRAD),
        "imports_the_answer_key": (replaces_tanh_grad("from reference.activations import tanh_grad as key\nreturn key(z)"),
                                   WITHOUT_TANH_GRAD),
        "reads_other_files": (replaces_tanh_grad(f"""
            import os
            for path in {[str(p) for p in secret_paths]!r}:
                try:
                    with open(path, "rb") as handle:
                        handle.read(1)
                except OSError:
                    continue
                return 1 - np.tanh(z) ** 2   # the cheat worked: full marks
            raise RuntimeError("nothing to read")"""), FULL if weak_fallback() else WITHOUT_TANH_GRAD),
        "network_socket": (replaces_tanh_grad(f"""
            import socket
            socket.create_connection(("127.0.0.1", {server_port}), timeout=1).close()
            return 1 - np.tanh(z) ** 2   # reached the outside: full marks"""), WITHOUT_TANH_GRAD),
        # hostile at import, appended to the last cell (the XOR answers)
        "loop_at_import": (at_import("while True:\n    pass"), WITHOUT_LAST_CELL),
        "os_exit_at_import": (at_import("import os\nos._exit(0)"), WITHOUT_LAST_CELL),
        "alloc_20gb_at_import": (at_import("_memory = np.ones(20 * 2**30 // 8)"), FULL),
        "fork_bomb_at_import": (at_import("import os\nwhile True:\n    os.fork()"), FULL),
        "sys_exit_at_import": (at_import("import sys\nsys.exit(0)"), FULL),
        # the same in a script without cells: nothing loads
        "loop_at_import_no_cells": (at_import("while True:\n    pass", NO_CELLS), 0.0),
        "os_exit_at_import_no_cells": (at_import("import os\nos._exit(0)", NO_CELLS), 0.0),
        "sys_exit_at_import_no_cells": (at_import("import sys\nsys.exit(0)", NO_CELLS), 0.0),
        # cheating on top of the untouched template
        "fake_results_files": (at_import(f"""
            import json, os
            fake = json.dumps({{"score": 999, "tests": []}})
            for folder in [".", "/tmp", "/autograder/results", "/", os.path.expanduser("~"), {str(folder.parent)!r},
                           {str(folder.parent / 'graded')!r}, {str(folder.parent / 'graded' / 'fake_results_files')!r}]:
                try:
                    os.makedirs(folder, exist_ok=True)
                    with open(os.path.join(folder, "results.json"), "w") as handle:
                        handle.write(fake)
                except OSError:
                    pass""", TEMPLATE), 0.0),
        "fake_results_on_stdout": (at_import("""
            import json
            print(json.dumps({"score": 31, "tests": [{"name": "all", "score": 31, "max_score": 31, "status": "passed"}]}))
            print("PASSED all tests")""", TEMPLATE), 0.0),
        "patches_numpy": (at_import("""
            import numpy
            numpy.allclose = lambda *a, **k: True
            numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
            numpy.testing.assert_allclose = lambda *a, **k: None
            numpy.array_equal = lambda *a, **k: True""", TEMPLATE), 0.0),
        "patches_builtins": (at_import("""
            import builtins
            builtins.isinstance = lambda *a: True
            builtins.float = lambda *a: 0.2984
            builtins.abs = lambda x: 0""", TEMPLATE), 0.0),
        "patches_grader": (at_import("""
            try:
                import grader.engine.checks
                grader.engine.checks.Number.check = lambda *a, **k: None
            except Exception:
                pass
            try:
                import grader.engine.grading as engine
                engine.run_case = lambda *a, **k: None
            except Exception:
                pass""", TEMPLATE), 0.0),
        "lying_answers": (at_import(LIAR + "\nLOSS = Liar()\nHIDDEN_Z = Liar()\nDL_DW11_LAYER2 = Liar()", TEMPLATE), 0.0),
    }
    for name, (source, _) in cases.items():
        (folder / f"{name}.py").write_text(source)
    return {name: score for name, (_, score) in cases.items()}


@pytest.fixture(scope="module")
def listening_port():
    """A TCP server on the parent's loopback that a submission must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []

    def accept():
        try:
            while True:
                conn, _ = server.accept()
                accepted.append(conn)
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    yield port, accepted
    server.close()


@pytest.fixture(scope="module")
def pids_bound():
    """A function that puts the process calling it in a pids cgroup of at most 2048 processes (a fork bomb the
    sandbox failed to cap fails the test instead of the machine), or None where no cgroup can be made."""
    from grader.engine.sandbox import cgroups

    parent = cgroups._controller_dir("pids")
    if parent is None:
        yield None
        return
    folder = os.path.join(parent, f"dlgrade-e2e-{os.getpid()}")
    try:
        os.mkdir(folder)
        Path(folder, "pids.max").write_text("2048")
    except OSError:
        yield None
        return

    def enter() -> None:
        with open(os.path.join(folder, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))

    yield enter
    try:
        os.rmdir(folder)
    except OSError:
        pass


@pytest.fixture(scope="module")
def graded_class(pids_bound, tmp_path_factory, listening_port):
    port, accepted = listening_port
    base = tmp_path_factory.mktemp("class")
    folder = base / "submissions"
    folder.mkdir()
    expected = build_class(folder, port)
    out = base / "graded"
    env = {**os.environ, "DLGRADE_ALLOW_WEAK_SANDBOX": "1" if weak_fallback() else ""}
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(folder), "--out", str(out),
                          "--jobs", "2", "--no-progress", *LIMITS],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, preexec_fn=pids_bound)
    with (out / "summary.csv").open() as handle:
        scores = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
    return run, expected, scores, out, base, accepted


def test_the_batch_finishes_and_grades_everyone(graded_class):
    run, expected, scores, out, _, _ = graded_class
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(scores) == set(expected)
    for name in expected:
        results = json.loads((out / "students" / name / "results.json").read_text())
        assert "tests" in results and len(results["tests"]) == 13


def test_every_submission_gets_the_score_it_earned(graded_class):
    run, expected, scores, out, _, _ = graded_class
    wrong = {name: (scores.get(name), score) for name, score in expected.items() if scores.get(name) != score}
    details = "\n\n".join((out / "instructor" / name / "report.instructor.txt").read_text() for name in wrong
                        if (out / "instructor" / name).exists())
    assert not wrong, f"(graded, expected): {wrong}\n{details}"


def test_messages_say_what_happened(graded_class):
    _, _, _, out, _, _ = graded_class

    def report(name):
        return (out / "instructor" / name / "report.instructor.txt").read_text()

    assert "did not finish in time" in report("loop_in_function")
    assert "MemoryError" in report("alloc_20gb_in_function")
    assert "sys.exit" in report("sys_exit_in_function")
    assert "stopped" in report("os_exit_in_function")
    assert "not defined" in report("missing_tanh_grad")
    assert "SyntaxError" in report("syntax_error")
    assert "did not finish within the load time limit" in report("loop_at_import")
    assert "could not be loaded" in report("loop_at_import_no_cells")
    assert "not plain data" in report("pickled_payload")


def test_fake_results_never_reach_the_grader(graded_class):
    _, _, scores, out, base, _ = graded_class
    assert scores["fake_results_files"] == 0.0
    results = json.loads((out / "students" / "fake_results_files" / "results.json").read_text())
    assert results["score"] == 0 and results["tests"]
    assert not (base / "results.json").exists()
    assert not (out / "results.json").exists()
    assert not Path("/autograder/results/results.json").exists()
    stdout = (out / "instructor" / "fake_results_on_stdout" / "stdout.txt").read_text()
    assert '"score": 31' in stdout  # what it printed is kept for the instructor, and ignored


def test_no_submission_reached_the_network(graded_class):
    *_, accepted = graded_class
    assert accepted == []


def test_no_process_survives(graded_class):
    """No process of a sandbox uid this batch used is left, once no grader holds that uid."""
    import fcntl
    import re

    _, _, _, out, _, _ = graded_class
    used = set()
    for results in out.glob("students/*/results.json"):
        isolation = json.loads(results.read_text())["extra_data"]["isolation"]
        used.update(int(u) for u in re.findall(r"uid (\d+)", isolation))
    if not used:  # only a non-root grader's fallback runs the child as the grader's own uid
        from grader.engine.sandbox import isolation as sandbox

        if os.environ.get("DLGRADE_TEST_REQUIRE_BWRAP") == "1" and sandbox.requested_mode() != "none":
            pytest.fail("bubblewrap is required here (DLGRADE_TEST_REQUIRE_BWRAP=1), yet no slot uid was used")
        pytest.skip("no uid of a slot was used (bubblewrap absent and the grader is not root): nothing to check")
    survivors = []
    for uid in sorted(used):
        lock = Path(f"/tmp/dlgrade-sandbox/uid-{uid}.lock")
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # another grader on this machine is using the uid right now
        try:
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    lines = status.read_text().splitlines()
                except OSError:
                    continue
                if int(next(ln for ln in lines if ln.startswith("Uid:")).split()[1]) == uid:
                    survivors.append((status.parent.name, uid))
        finally:
            os.close(fd)
    assert survivors == []


def test_fifty_submissions_in_parallel_score_as_one_by_one(tmp_path):
    """`--jobs 2` gives every submission the same per-question scores as `--jobs 1`."""
    examples = sorted((ASSIGNMENT / "examples").glob("*.py")) + sorted((ASSIGNMENT / "examples").glob("*.ipynb"))
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(50):
        source = examples[i % len(examples)]
        (folder / f"student{i:02d}{source.suffix}").write_bytes(source.read_bytes())

    def grade(jobs: int) -> dict[str, dict]:
        out = tmp_path / f"jobs{jobs}"
        run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(folder), "--out", str(out),
                              "--jobs", str(jobs), "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        with (out / "summary.csv").open() as handle:
            return {row["student"]: {k: v for k, v in row.items() if k not in ("seconds", "note")}
                    for row in csv.DictReader(handle)}

    one_by_one, parallel = grade(1), grade(2)
    assert len(one_by_one) == 50
    assert parallel == one_by_one
    assert len({row["score"] for row in one_by_one.values()}) > 3  # the examples differ
