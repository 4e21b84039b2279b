"""Results built from the real checks, for the report tests (no sandbox, no training).

(A module of its own, not conftest.py: other test folders have a conftest module too.)

``SECRET`` is an expected value planted in HIDDEN questions only: it (or
anything that gives it away, such as |got − SECRET|) must never reach a
student report. ``PUBLIC_EXPECTED`` is an expected value of a PUBLIC
question: its detail must be shown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from grader.engine.checks import Accuracy, ArrayClose
from grader.engine.checks.gradient import Gradient
from grader.engine.results import (
    ERROR,
    FAILED,
    NOT_IMPLEMENTED,
    PARTIAL,
    PASSED,
    CaseResult,
    LoadInfo,
    QuestionResult,
    SubmissionResult,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = 4817.29          # hidden expected value
SECRET_GAP = 4815.29      # |2.0 - SECRET|: with the student's 2.0 it would give SECRET away
PUBLIC_EXPECTED = 6.125   # public expected value: shown in the public question's detail
ISOLATION = "bubblewrap (pid/net/ipc/uts/mount namespaces), uid 61001, seccomp, rlimits"


def artifacts_dir() -> Path:
    """Where test artifacts (screenshots) go: $DLGRADE_ARTIFACTS or artifacts/ at the repository root (ignored)."""
    return Path(os.environ.get("DLGRADE_ARTIFACTS") or ROOT / "artifacts")


def case(label: str, checked, status: str | None = None, **extra) -> CaseResult:
    if status is None:
        status = PASSED if checked.fraction >= 1 else PARTIAL if checked.fraction > 0 else FAILED
    data = dict(checked.data)
    data.update(extra)
    return CaseResult(label, checked.fraction, status, checked.message, checked.detail, data=data)


def question(name: str, title: str, points: float, public: bool, cases: list[CaseResult]) -> QuestionResult:
    fraction = sum(c.fraction for c in cases) / len(cases)
    status = PASSED if fraction >= 1 else PARTIAL if fraction > 0 else (
        cases[0].status if all(c.status == cases[0].status for c in cases) else FAILED)
    return QuestionResult(name, title, points, round(points * fraction, 6), public, status, cases)


def backprop_like(submission: str = "ada", *, seed: int = 0, isolation: str = ISOLATION) -> SubmissionResult:
    """A 01-style result: public and hidden arrays, a gradient, an unimplemented function.

    Other seeds make the same mistakes with other numbers.
    """
    rng = np.random.default_rng(seed)
    exact = ArrayClose(rtol=1e-7, atol=1e-10)
    # public, wrong in one element: its expected value is shown
    public_expected = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, PUBLIC_EXPECTED]])
    public_got = public_expected.copy()
    public_got[1, 2] = 0.5 + seed
    # hidden, small: the student's 2.0 where SECRET is expected
    hidden_expected = np.array([[0.25, SECRET], [0.75, 1.5]])
    hidden_got = np.array([[0.25, 2.0], [0.75, 1.5]])
    # hidden, large (an NHWC tensor), wrong on a border
    big_expected = rng.normal(size=(2, 9, 9, 3))
    big_got = big_expected.copy()
    big_got[:, 0, :, :] += 1.0
    # hidden gradient: dx has the wrong sign, dW right
    x, w = rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    dout = rng.normal(size=(4, 3))
    dx, dw = dout @ w.T, x.T @ dout
    grad = Gradient(names=("dx", "dW"))
    grad_checked = grad.check({"out": x @ w, "grads": [-dx, dw], "probes": []},
                              {"out": x @ w, "grads": [dx, dw], "dout": dout, "directions": []})
    questions = [
        question("sigmoid_basics", "sigmoid on a small array", 1, True,
                 [case("sigmoid(2x3)", exact.check(public_got, public_expected))]),
        question("dense_forward_shape", "dense_forward returns (out, cache)", 1, True,
                 [case("dense_forward(2x3, 3x4, 4)", exact.check(np.ones((2, 4)), np.ones((2, 4))))]),
        question("sigmoid_stable", "sigmoid does not overflow", 2, False,
                 [case("sigmoid(2x2)", exact.check(hidden_got, hidden_expected)),
                  case("sigmoid(1x4)", exact.check(np.zeros(4), np.zeros(4)))]),
        question("conv_forward_same", "conv2d_forward with 'same' padding", 3, False,
                 [case("conv2d_forward(x 2x9x9x3)", exact.check(big_got, big_expected))]),
        question("dense_backward_gradients", "dense_backward: dx and dW", 4, False,
                 [case("dense_backward after dense_forward(4x5, 5x3)", grad_checked)]),
        question("relu_grad", "relu_grad", 2, False,
                 [CaseResult("relu_grad(3)", 0.0, NOT_IMPLEMENTED, "`relu_grad` is not implemented yet")]),
    ]
    return SubmissionResult(
        assignment="01_backprop", submission=submission, path=f"{submission}.py", questions=questions,
        load=LoadInfo(ok=True, seconds=0.31), isolation=isolation, seconds=0.84, sha256="ab" * 32,
        graded_at="2026-11-28T12:43:44+00:00", stdout="hello from the student\n")


def keras_like(submission: str = "grace") -> SubmissionResult:
    """A 04-style result: a trained model's accuracy with a confusion matrix and the training history."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 10, size=500)
    predicted = np.where(rng.random(500) < 0.93, y, (y + 3) % 10)
    accuracy = Accuracy(low=0.90, high=0.96, num_classes=10).check(predicted, y)
    history = {"loss": [1.2, 0.48, 0.33, 0.26, 0.22, 0.19], "accuracy": [0.61, 0.86, 0.9, 0.92, 0.93, 0.94]}
    task = {"history": history, "seconds": 31.1, "epochs": 6, "batch_size": 32}
    pixels_expected = rng.integers(0, 256, size=(3, 28, 28, 1)) / 255.0
    pixels_got = np.where(pixels_expected < 1.0, 0.0, 1.0)
    questions = [
        question("preprocess_pixels", "pixels / 255 as floats in [0, 1]", 2, False,
                 [case("x of preprocess on 3 real digits",
                       ArrayClose(rtol=1e-6, atol=1e-7).check(pixels_got, pixels_expected))]),
        question("trained_accuracy", "accuracy on held-out digits", 6, False,
                 [case("6 epochs, batch 32, seed 0", accuracy, task=task)]),
    ]
    load = LoadInfo(ok=True, kind="ok", seconds=8.9,
                    cells=[{"index": 3, "ok": False, "error": "NameError: name 'plt' is not defined"},
                           {"index": 4, "ok": True, "error": None}])
    return SubmissionResult(
        assignment="04_keras_mnist", submission=submission, path=f"{submission}.ipynb", questions=questions,
        load=load, isolation=ISOLATION, seconds=41.1, sha256="cd" * 32, graded_at="2026-11-28T12:48:00+00:00")


def not_loaded(submission: str = "linus") -> SubmissionResult:
    msg = "not graded: your submission could not be loaded (SyntaxError: invalid syntax (line 12))"
    questions = [QuestionResult("sigmoid_basics", "sigmoid on a small array", 1, 0.0, True, ERROR,
                                [CaseResult("sigmoid(2x3)", 0.0, ERROR, msg)])]
    return SubmissionResult(
        assignment="01_backprop", submission=submission, path=f"{submission}.py", questions=questions,
        load=LoadInfo(ok=False, error="SyntaxError: invalid syntax (line 12)", kind="exception", seconds=0.05),
        isolation=ISOLATION, seconds=0.12, sha256="ef" * 32, graded_at="2026-11-28T12:50:00+00:00")


def write_result(result: SubmissionResult, out: Path, *, student_report: bool = True) -> Path:
    """What grading writes for one submission (results files), plus the student report."""
    from grader.course.feedback import write_student_report
    from grader.engine.result_files import write_result_files

    folder = out / result.submission
    write_result_files(result, folder)
    if student_report:
        write_student_report(result, folder)
    return folder


def make_class(tmp_path: Path) -> Path:
    """A class folder: five 01 submissions (two alike mistakes with other numbers, one not loaded, one
    graded without bubblewrap) and a results file that is not JSON."""
    out = tmp_path / "graded"
    write_result(backprop_like("ada", seed=0), out)
    write_result(backprop_like("alan", seed=1), out)
    write_result(backprop_like("barbara", seed=2, isolation="rlimits and timeout only (bwrap not found)"), out)
    write_result(not_loaded("linus"), out)
    perfect = backprop_like("edsger")
    for q in perfect.questions:
        q.score, q.status = q.points, PASSED
        for c in q.cases:
            c.status, c.fraction = PASSED, 1.0
    write_result(perfect, out)
    (out / "broken").mkdir()
    (out / "broken" / "results.instructor.json").write_text("{not json")
    return out


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_json(path: Path) -> dict:
    return json.loads(read(path))
