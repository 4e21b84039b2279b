"""A Keras model's architecture, read from a ``.keras`` file and rebuilt with fresh weights.

Used by the grader's *trainer* process, a sandboxed child that runs no
student code: the student's process saves the model it built, the parent
hands the file's bytes to the trainer, and the trainer rebuilds the model
here before training it on data the grader made.

A ``.keras`` file is a zip holding ``config.json`` (the architecture and the
compile settings), ``metadata.json`` and ``model.weights.h5``. Only
``config.json`` is read: the weights file is never opened, so every weight
of the rebuilt model comes from its layers' initializers. Before Keras sees
the configuration, :func:`check_config` walks it and refuses anything that
could carry data or code into the trainer:

- every serialized object (a dict with ``class_name``) must be a built-in
  Keras class: ``module`` one of :data:`KERAS_MODULES`, a capitalised
  class name (no functions of Keras's utilities), no ``registered_name``
  of a custom object, no ``__lambda__``/``__numpy__``-style payloads, and
  none of the layers that wrap code (``Lambda``, ``TFSMLayer``...);
- no list (nested lists flattened) holds more than :data:`MAX_LIST_VALUES`
  values, and no string more than :data:`MAX_STRING_CHARS` characters: a
  constant initializer, a ``Normalization`` mean or a lookup vocabulary
  cannot hold a table of digits;
- the whole configuration holds at most :data:`MAX_TOTAL_VALUES` numbers
  (many short lists add up: a hundred layers of settings need a thousand);
- ``config.json`` is at most :data:`MAX_CONFIG_BYTES` bytes.

Keras's own ``safe_mode`` is on as well. Self-contained (standard library;
Keras imported by the caller): the child runtime loads this file by path.
"""

from __future__ import annotations

import json
import zipfile

MAX_CONFIG_BYTES = 256 * 1024
"""The architecture of the lecture's model takes 7 KiB; 256 KiB allows a hundred layers."""

MAX_LIST_VALUES = 64
"""Shapes, kernel sizes and strides are a few numbers; a list longer than this is data."""

MAX_TOTAL_VALUES = 4096
"""Numbers in the whole configuration: too few to tabulate a thousand digits."""

MAX_STRING_CHARS = 256

KERAS_MODULES = frozenset({
    "keras", "keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints",
    "keras.activations", "keras.losses", "keras.metrics", "keras.optimizers", "keras.optimizers.schedules",
    "keras.src.models.functional", "keras.src.models.sequential", "keras.src.models.model",
})
"""Where a serialized object may come from: Keras's public namespaces and its two model classes."""

CODE_LAYERS = frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
"""Built-in layers that run code given to them: refused even in Keras's safe mode."""


class ArchitectureRefused(ValueError):
    """The saved model cannot be rebuilt by the grader; the message says what to change."""


def read_config(path: str) -> dict:
    """The parsed ``config.json`` of the ``.keras`` file at ``path`` (size-capped, weights never read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise ArchitectureRefused("the saved model has no config.json: it is not a .keras file") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise ArchitectureRefused(
                    f"the model's configuration takes {info.file_size:,} bytes, more than the "
                    f"{MAX_CONFIG_BYTES:,} allowed: does a layer carry data?")
            with archive.open(info) as handle:
                raw = handle.read(MAX_CONFIG_BYTES + 1)
    except zipfile.BadZipFile as exc:
        raise ArchitectureRefused(f"the saved model is not a .keras file ({exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ArchitectureRefused(f"the model's configuration is larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArchitectureRefused(f"the model's configuration is not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ArchitectureRefused("the model's configuration is not a JSON object")
    check_config(config)
    total = _count_numbers(config)
    if total > MAX_TOTAL_VALUES:
        raise ArchitectureRefused(f"the model's configuration holds {total:,} numbers, more than the "
                                  f"{MAX_TOTAL_VALUES:,} its layers' settings can need: it may not carry data")
    return config


def check_config(config, where: str = "model") -> None:
    """Raise :class:`ArchitectureRefused` naming the first part of ``config`` that is not plain architecture."""
    if isinstance(config, dict):
        if "class_name" in config:
            _check_object(config, where)
        for key, value in config.items():
            if not isinstance(key, str) or len(key) > MAX_STRING_CHARS:
                raise ArchitectureRefused(f"{where}: a configuration key that is not a short string")
            check_config(value, f"{where}.{key}")
    elif isinstance(config, list):
        count = _count_values(config)
        if count > MAX_LIST_VALUES:
            raise ArchitectureRefused(
                f"{where} holds more than the {MAX_LIST_VALUES} values a layer's settings need: "
                "a model's configuration may describe layers, not carry data (constant initializers, "
                "Normalization statistics, lookup vocabularies)")
        for index, value in enumerate(config):
            check_config(value, f"{where}[{index}]")
    elif isinstance(config, str):
        if len(config) > MAX_STRING_CHARS:
            raise ArchitectureRefused(f"{where} is a string of {len(config)} characters, more than "
                                      f"{MAX_STRING_CHARS}")


def _check_object(obj: dict, where: str) -> None:
    name, module, registered = obj.get("class_name"), obj.get("module"), obj.get("registered_name")
    if name == "__keras_tensor__":  # a functional model's link between layers: a shape and a dtype
        return
    if not isinstance(name, str) or name.startswith("__"):
        raise ArchitectureRefused(f"{where}: a serialized {str(name)[:40]!r} (code or an array) is not allowed "
                                  "in a model's configuration")
    if module not in KERAS_MODULES or not name[:1].isupper():
        raise ArchitectureRefused(f"{where}: {name} comes from {str(module)[:60]!r}, not from Keras: "
                                  "only Keras's built-in layers, initializers, losses, metrics and optimizers can be used")
    if registered not in (None, name):
        raise ArchitectureRefused(f"{where}: {name} is a custom object ({str(registered)[:60]!r}): "
                                  "only Keras's built-in objects can be used")
    if name in CODE_LAYERS:
        raise ArchitectureRefused(f"{where}: a {name} layer runs code of its own and cannot be graded; "
                                  "use Keras's built-in layers")


def _count_numbers(value, depth: int = 0) -> int:
    if depth > 64:
        return MAX_TOTAL_VALUES + 1
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, (int, float)):
        return 1
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return sum(_count_numbers(item, depth + 1) for item in items)


def _count_values(items: list, depth: int = 0) -> int:
    if depth > 8:
        return MAX_LIST_VALUES + 1
    total = 0
    for item in items:
        total += _count_values(item, depth + 1) if isinstance(item, list) else 1
        if total > MAX_LIST_VALUES:
            break
    return total


def build_fresh(keras, config: dict):
    """The model ``config`` describes, built by Keras (safe mode, no custom objects) with fresh weights.

    The compile settings travel in ``config`` (``compile_config``) and are
    applied by Keras; an uncompiled model stays uncompiled.
    """
    model = keras.saving.deserialize_keras_object(config, custom_objects=None, safe_mode=True)
    if not isinstance(model, keras.Model):
        raise ArchitectureRefused(f"the saved object is a {type(model).__name__}, not a keras Model")
    return model
