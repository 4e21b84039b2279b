"""The grader's trainer process: the student's process only builds the model; training happens elsewhere.

A tiny Keras model (8 features, 3 classes) keeps each training run to a
second or two. The submission replaces the grader's tasks in its own process
with forgeries; what the trainer reports is still a real training run of the
architecture, rebuilt with fresh weights. Both sandbox modes.
"""

from __future__ import annotations

import numpy as np
import pytest
from sandbox_support import write_py

from grader.engine.sandbox import Limits, SandboxSession
from grader.engine.trainer import ModelTrainer

pytestmark = pytest.mark.keras

SUBMISSION = """
import sys
import numpy as np
import keras


def build_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_with_table():
    table = keras.initializers.Constant(np.arange(8 * 30, dtype=float).reshape(8, 30).tolist())
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(30, kernel_initializer=table),
                             keras.layers.Dense(3, activation="softmax")])


def _forged(ctx, x_test=None, **params):
    n = 1 if x_test is None else len(x_test)
    return {"predictions": np.full(n, 2), "probabilities": np.eye(3, dtype=np.float32)[np.full(n, 2)],
            "history": {}, "outputs_were_logits": False, "layers": [], "compiled": True}


for _module in list(sys.modules.values()):
    if isinstance(getattr(_module, "TASKS", None), dict):
        for _name in ("keras_train_saved", "keras_describe_saved", "keras_fit_predict", "keras_describe"):
            _module.TASKS[_name] = _forged
"""


def test_training_runs_in_the_trainer_not_in_the_students_process(tmp_path, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 8)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = np.eye(3, dtype=np.float32)[labels]
    train = {"x_train": x[:96], "y_train": y[:96], "x_test": x[96:], "epochs": 3, "batch_size": 16, "seed": 0}
    limits = Limits(wall_seconds=180, request_seconds=90, load_seconds=90)
    with SandboxSession(write_py(tmp_path, SUBMISSION), limits=limits, mode=mode) as student, \
            ModelTrainer(student) as trainer:
        assert student.load_report.ok, student.load_report
        forged = student.task("keras_fit_predict", {**train, "builder": "build_model"})
        assert forged.ok and forged.value["history"] == {}  # the student's own process is theirs to forge

        trained = trainer.run({"export": {"builder": "build_model", "seed": 0}, "task": "keras_train_saved",
                               "params": train})
        assert trained.ok, trained.error
        assert len(trained.value["history"]["loss"]) == 3 and trained.value["compiled_by_grader"] is False
        assert trained.value["predictions"].shape == (24,)
        described = trainer.run({"export": {"builder": "build_model", "seed": 0}, "task": "keras_describe_saved",
                                 "params": {"seed": 0}})
        assert [layer["params"] for layer in described.value["layers"]] == [27]
        assert described.value["loss"] == "categorical_crossentropy"
        assert len(trainer._sessions) == 1  # one export, one trainer process, for both requests

        refused = trainer.run({"export": {"builder": "build_with_table", "seed": 0}, "task": "keras_train_saved",
                               "params": train})
        assert refused.kind == "refused"
        assert "cannot rebuild your model" in refused.error and "holds more than the 64 values" in refused.error
        trainer_isolation = next(iter(trainer._sessions.values())).isolation
        assert ("bubblewrap" in trainer_isolation) == (mode == "bwrap")


def test_the_trainers_module_keeps_unused_packages_out_of_its_keras(tmp_path):
    """What Keras would import only because it is installed never loads in the trainer; Keras still trains."""
    import subprocess
    import sys

    from grader.engine.trainer import TRAINER_SOURCE, UNUSED_BY_THE_TRAINER

    probe = TRAINER_SOURCE + (
        "import keras, numpy as np\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='categorical_crossentropy')\n"
        "model.fit(np.zeros((8, 4)), np.eye(2)[[0, 1] * 4], epochs=1, verbose=0)\n"
        f"print(sorted(name for name in {UNUSED_BY_THE_TRAINER!r} if sys.modules.get(name) is not None))\n")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"
