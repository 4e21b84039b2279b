"""LayerStack compares a model's layers as Keras's summary shows them, and says what to fix.

The layer descriptions are written by hand in the form of the child's
``describe_model`` reply (no TensorFlow needed): the lecture's digit
recogniser, and the ways students get it wrong.
"""

from __future__ import annotations

import pytest

from grader.engine.checks import LayerStack, check_from_spec
from grader.engine.checks.base import ExpectedValueError


def layer(kind, shape, params=0, activation=None):
    return {"class_name": kind, "name": kind.lower(), "output_shape": list(shape), "params": params,
            "trainable": True, "activation": activation, "config": {}}


def conv1(activation="relu"):
    return layer("Conv2D", (None, 28, 28, 8), 208, activation)


LECTURE = [
    conv1(),
    layer("MaxPooling2D", (None, 14, 14, 8)),
    layer("Dropout", (None, 14, 14, 8)),
    layer("Conv2D", (None, 14, 14, 16), 1168, "relu"),
    layer("MaxPooling2D", (None, 7, 7, 16)),
    layer("Dropout", (None, 7, 7, 16)),
    layer("Flatten", (None, 784)),
    layer("Dense", (None, 256), 200960, "relu"),
    layer("Dropout", (None, 256)),
    layer("Dense", (None, 10), 2570, "softmax"),
]


def check(got):
    return LayerStack().check(got, LECTURE)


def test_the_lecture_model_passes_with_or_without_an_input_layer():
    assert check(LECTURE).passed
    assert check([layer("InputLayer", (None, 28, 28, 1))] + LECTURE).passed


def test_activation_and_softmax_layers_count_as_the_activation_argument():
    split = ([conv1(activation="linear"), layer("Activation", (None, 28, 28, 8), activation="relu")]
             + LECTURE[1:9]
             + [layer("Dense", (None, 10), 2570, "linear"), layer("Softmax", (None, 10))])
    assert check(split).passed
    relu_layer = [conv1(activation=None), layer("ReLU", (None, 28, 28, 8))] + LECTURE[1:]
    assert check(relu_layer).passed


def test_a_missing_dropout_costs_the_points_and_says_where_to_add_it():
    without = [row for row in LECTURE if row["class_name"] != "Dropout"]
    result = check(without)
    assert result.fraction == 0
    assert "lacks a Dropout layer after layer 2 (MaxPooling2D); add it" in result.message


def test_an_extra_rescaling_layer_costs_the_points_and_says_to_remove_it():
    result = check([layer("Rescaling", (None, 28, 28, 1))] + LECTURE)
    assert result.fraction == 0
    assert "layer 1 (Rescaling with output (None, 28, 28, 1)); remove it" in result.message


def test_an_activation_layer_that_doubles_an_activation_is_an_extra_layer():
    doubled = LECTURE[:-1] + [LECTURE[-1], layer("Softmax", (None, 10))]
    assert "remove it" in check(doubled).message


def test_other_filters_name_the_layer_and_its_shape():
    fewer = [layer("Conv2D", (None, 28, 28, 4), 104, "relu")] + LECTURE[1:]
    result = check(fewer)
    assert result.fraction == 0
    assert result.message.startswith("layer 1 (Conv2D, relu with output (None, 28, 28, 4)) should have "
                                     "output shape (None, 28, 28, 8)")


def test_a_wrong_activation_or_parameter_count_is_named():
    assert "has activation none (linear); the architecture uses softmax" in check(
        LECTURE[:-1] + [layer("Dense", (None, 10), 2570)]).message
    no_bias = [layer("Conv2D", (None, 28, 28, 8), 200, "relu")] + LECTURE[1:]
    assert "has 200 parameters where the architecture has 208" in check(no_bias).message


def test_a_different_layer_kind_is_named():
    avg = LECTURE[:1] + [layer("AveragePooling2D", (None, 14, 14, 8))] + LECTURE[2:]
    assert "layer 2 of your model is AveragePooling2D where the architecture has MaxPooling2D" in check(avg).message


def test_bad_input_is_a_clear_failure_and_the_spec_round_trips():
    assert check(None).fraction == 0 and "no description" in check(None).message
    assert check([1, 2]).fraction == 0
    with pytest.raises(ExpectedValueError):
        LayerStack().check(LECTURE, [])
    assert check_from_spec(LayerStack().to_spec()) == LayerStack()
