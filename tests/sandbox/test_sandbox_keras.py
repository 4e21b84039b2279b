"""Harness tasks that run Keras in the child: fit and predict, describe, load a saved model safely."""

from __future__ import annotations

import numpy as np
import pytest
from sandbox_support import write_py

from grader.engine.sandbox import Call, Limits, SandboxSession

pytestmark = pytest.mark.keras

MODEL = """
import numpy as np
import keras

def build_model():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model

def build_logits():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    return model

def build_uncompiled():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])

def not_a_model():
    return [1, 2]

def save_models():
    build_model().save("model.keras")
    unsafe = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(3)])
    unsafe.save("unsafe.keras")
    return sorted(__import__("os").listdir("."))
"""


def test_keras_tasks(tmp_path, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)).astype(np.int64)
    path = write_py(tmp_path, MODEL)
    limits = Limits(wall_seconds=120, request_seconds=60, load_seconds=60)
    params = dict(builder="build_model", x_train=x[:80], y_train=y[:80], x_test=x[80:], epochs=3, batch_size=16,
                  seed=1, validation_split=0.25)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        assert s.load_report.ok, s.load_report
        first = s.task("keras_fit_predict", params)
        assert first.ok, first.error
        result = first.value
        assert result["predictions"].dtype == np.int64 and result["predictions"].shape == (16,)
        probabilities = result["probabilities"]
        assert probabilities.dtype == np.float32 and probabilities.shape == (16, 3)
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
        assert np.array_equal(result["predictions"], probabilities.argmax(axis=1))
        assert set(result["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert len(result["history"]["loss"]) == 3 == result["epochs"]
        assert all(isinstance(v, float) for v in result["history"]["loss"]) and result["seconds"] > 0
        assert result["outputs_were_logits"] is False
        # The same seed gives the same model.
        again = s.task("keras_fit_predict", params)
        assert np.array_equal(again.value["probabilities"], probabilities)

        described = s.task("keras_describe", {"builder": "build_model"})
        assert described.ok, described.error
        d = described.value
        assert d["class_name"] == "Sequential" and d["input_shape"] == [None, 8] and d["output_shape"] == [None, 3]
        assert [layer["class_name"] for layer in d["layers"]] == ["Dense", "Dropout", "Dense"]
        assert [layer["params"] for layer in d["layers"]] == [8 * 16 + 16, 0, 16 * 3 + 3]
        assert [layer["activation"] for layer in d["layers"]] == ["relu", None, "softmax"]
        assert d["layers"][0]["config"]["units"] == 16 and d["layers"][1]["config"]["rate"] == 0.1
        assert d["total_params"] == 195 == d["trainable_params"]
        assert d["compiled"] is True and d["loss"] == "sparse_categorical_crossentropy"
        assert d["optimizer"] == "Adam" and abs(d["learning_rate"] - 0.01) < 1e-6 and d["metrics"] == ["accuracy"]

        logits = s.task("keras_fit_predict", {**params, "builder": "build_logits", "epochs": 1})
        assert logits.ok, logits.error
        assert logits.value["outputs_were_logits"] is True and logits.value["labels_one_hot"] is True
        assert np.allclose(logits.value["probabilities"].sum(axis=1), 1, atol=1e-5)

        uncompiled = s.task("keras_fit_predict", {**params, "builder": "build_uncompiled", "epochs": 1})
        assert uncompiled.ok and uncompiled.value["compiled_by_grader"] is True  # trained as the course compiles
        assert logits.value["compiled_by_grader"] is False
        wrong = s.task("keras_describe", {"builder": "not_a_model"})
        assert wrong.kind == "unsupported" and "returned a list, expected a keras Model" in wrong.error
        assert s.task("keras_describe", {"builder": "build_modle"}).kind == "missing"

        saved = s.get("save_models")
        assert saved.kind == "unsupported"  # a function is not data
        assert s.call([Call("save_models")])[0].value == ["model.keras", "submission.py", "unsafe.keras"]
        loaded = s.task("keras_load_predict", {"path": "model.keras", "x_test": x[80:]})
        assert loaded.ok, loaded.error
        assert loaded.value["predictions"].shape == (16,) and loaded.value["model"]["total_params"] == 195
        unsafe = s.task("keras_load_predict", {"path": "unsafe.keras", "x_test": x[80:]})
        assert unsafe.kind == "exception" and "unsafe" in unsafe.error.lower()
        outside = s.task("keras_load_predict", {"path": "../etc/passwd", "x_test": x[80:]})
        assert outside.kind == "missing"
