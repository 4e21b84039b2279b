"""The trainer rebuilds a model from its configuration only: built-in Keras objects, no data, no code.

Configurations are written by hand, as ``config.json`` inside a ``.keras``
zip, the way a submission that replaces the grader's export task could
write them. No TensorFlow is needed to refuse them.
"""

from __future__ import annotations

import copy
import json
import zipfile

import pytest

from grader.engine.sandbox.child import saved_model
from grader.engine.sandbox.child.saved_model import ArchitectureRefused, check_config, read_config


def keras_object(module, class_name, config, registered_name=None):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}


def dense(units, **extra):
    return keras_object("keras.layers", "Dense", {
        "name": f"dense_{units}", "units": units, "activation": "softmax",
        "kernel_initializer": keras_object("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": keras_object("keras.initializers", "Zeros", {}), **extra})


def model(*layers, compile_config=None):
    config = keras_object("keras", "Sequential", {
        "name": "m", "layers": [keras_object("keras.layers", "InputLayer", {"batch_shape": [None, 784]}),
                                *layers]})
    if compile_config is not None:
        config["compile_config"] = compile_config
    return config


ADAM = {"optimizer": keras_object("keras.optimizers", "Adam", {"learning_rate": 0.001}),
        "loss": "categorical_crossentropy", "metrics": ["accuracy"]}


def write_keras(tmp_path, config, *, raw: bytes | None = None):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", raw if raw is not None else json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3"}))
    return path


def test_a_plain_architecture_is_read(tmp_path):
    config = model(keras_object("keras.layers", "Flatten", {}), dense(10), compile_config=ADAM)
    assert read_config(str(write_keras(tmp_path, config))) == config


def refusal(config) -> str:
    with pytest.raises(ArchitectureRefused) as caught:
        check_config(config)
    return str(caught.value)


def test_a_constant_initializer_carrying_a_table_is_refused():
    table = [[float(i % 10)] * 10 for i in range(100)]
    config = model(dense(10, kernel_initializer=keras_object("keras.initializers", "Constant", {"value": table})))
    assert "holds more than the 64 values" in refusal(config) and "kernel_initializer" in refusal(config)
    scalar = model(dense(10, kernel_initializer=keras_object("keras.initializers", "Constant", {"value": 0.5})))
    check_config(scalar)  # a constant is fine; a table is not


def test_many_short_lists_add_up_to_a_refusal(tmp_path):
    layers = [keras_object("keras.layers", "Normalization", {"mean": [0.5] * 60, "variance": [1.0] * 60})
              for _ in range(40)]
    with pytest.raises(ArchitectureRefused, match="holds 4,8.. numbers"):
        read_config(str(write_keras(tmp_path, model(*layers))))


@pytest.mark.parametrize("evil, words", [
    (keras_object("builtins", "Exec", {}), "not from Keras"),
    (keras_object("keras.src.utils.file_utils", "get_file", {}), "not from Keras"),
    (keras_object("keras.layers", "Lookup", {}, registered_name="Custom>Lookup"), "custom object"),
    (keras_object("keras.layers", "Lambda", {"function": {"class_name": "__lambda__"}}), "runs code"),
    ({"class_name": "__lambda__", "config": {"code": "AAAA"}}, "'__lambda__'"),
    ({"class_name": "__numpy__", "config": {"value": [1, 2]}}, "'__numpy__'"),
])
def test_code_and_custom_objects_are_refused(evil, words):
    assert words in refusal(model(evil))


def test_a_refusal_deep_in_the_compile_settings_is_found():
    compile_config = copy.deepcopy(ADAM)
    compile_config["loss"] = keras_object("my_losses", "Lookup", {})
    assert "compile_config.loss" in refusal(model(dense(10), compile_config=compile_config))


def test_long_strings_are_refused():
    assert "characters" in refusal(model(dense(10, name="x" * 5000)))


def test_not_a_keras_file_or_too_large_a_configuration(tmp_path):
    not_zip = tmp_path / "junk.keras"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ArchitectureRefused, match="not a .keras file"):
        read_config(str(not_zip))
    big = write_keras(tmp_path, None, raw=b" " * (saved_model.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ArchitectureRefused, match="more than the 262,144 allowed"):
        read_config(str(big))
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ArchitectureRefused, match="no config.json"):
        read_config(str(tmp_path / "empty.keras"))
    with pytest.raises(ArchitectureRefused, match="not JSON"):
        read_config(str(write_keras(tmp_path, None, raw=b"{nope")))
