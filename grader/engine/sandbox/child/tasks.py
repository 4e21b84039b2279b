"""Harness tasks: grader-owned routines that run in the child, next to the student's code.

A task receives a context (the student's namespace and helpers) and plain
parameters, and returns plain data. Self-contained (standard library; numpy
and Keras imported only when a task needs them): the child runtime loads
this file by path, and the parent imports it as
``grader.engine.sandbox.child.tasks`` only to check task names and parameters.

Everything here runs where the student's code runs, so nothing the parent
must trust is decided here: a task returns predictions, never a score, and
the labels of held-out data are never sent to the child.
"""

from __future__ import annotations

import os
import time

TASKS: dict = {}


class TaskFailure(Exception):
    """A task that cannot give a result; ``kind`` is the reply kind (missing, unsupported, exception...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def task(fn):
    """Register ``fn(ctx, **params)`` under its name."""
    TASKS[fn.__name__] = fn
    return fn


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # TensorFlow is loaded only when a task needs it
    return keras


def _threading(threads: int | None) -> None:
    try:
        import tensorflow as tf
    except ImportError:
        return
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError:  # already initialised (the student's code used TF first)
            pass


def _build(ctx, builder, builder_args, builder_kwargs, seed):
    keras = _keras()
    fn = ctx.callable(builder)
    _threading(ctx.threads)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = ctx.run_student(fn, *(builder_args or ()), **(builder_kwargs or {}))
    if not isinstance(model, keras.Model):
        raise TaskFailure("unsupported", f"{builder} returned {_a(type(model).__name__)}, expected a keras Model")
    return keras, model


def _a(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def _plain(value, depth: int = 0):
    """Best-effort plain data for configuration values (anything else becomes its name)."""
    if depth > 6:
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    return name if isinstance(name, str) else type(value).__name__


def _shape(tensor_or_shape):
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    try:
        return [None if d is None else int(d) for d in shape]
    except TypeError:
        return None


def _name_of(obj):
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    name = getattr(obj, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):
        return name
    return type(obj).__name__


def _compiled(model) -> bool:
    compiled = getattr(model, "compiled", None)
    if isinstance(compiled, bool):
        return compiled
    return getattr(model, "optimizer", None) is not None


def _outputs(np, raw):
    outputs = np.asarray(raw, dtype=np.float32)
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise TaskFailure("unsupported", f"the model's output has shape {list(outputs.shape)}, "
                                         "expected (samples, classes)")
    finite = bool(np.isfinite(outputs).all())
    looks_like_probabilities = (finite and bool((outputs >= 0).all())
                                and bool(np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3)))
    if looks_like_probabilities or not finite:
        probabilities = outputs
    else:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probabilities = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    predictions = np.argmax(outputs, axis=1).astype(np.int64)
    return predictions, probabilities, not looks_like_probabilities


@task
def keras_fit_predict(ctx, builder, x_train, y_train, x_test, epochs, batch_size, seed,
                      validation_split=0.0, builder_args=None, builder_kwargs=None,
                      one_hot="auto", deterministic=True):
    """Build the student's model with ``builder``, fit it, predict ``x_test``.

    Returns ``predictions`` (int labels), ``probabilities`` ((N, classes)
    float32; a softmax of the outputs when the model ends in logits, flagged
    by ``outputs_were_logits``), ``history`` (lists of floats per metric),
    ``seconds`` (fit + predict) and ``epochs``. With ``one_hot="auto"``
    integer labels are one-hot encoded when the model was compiled with a
    (non-sparse) categorical cross-entropy.
    """
    import numpy as np
    keras, model = _build(ctx, builder, builder_args, builder_kwargs, seed)
    if deterministic:
        try:
            import tensorflow as tf
            tf.config.experimental.enable_op_determinism()
        except Exception:  # another backend, or TF already configured
            pass
    return _fit_predict(ctx, np, model, x_train, y_train, x_test, epochs, batch_size, validation_split, one_hot)


def _fit_predict(ctx, np, model, x_train, y_train, x_test, epochs, batch_size, validation_split=0.0,
                 one_hot="auto"):
    """Fit ``model`` (compiled as the course does if it is not) and predict ``x_test``; see keras_fit_predict."""
    compiled_by_grader = not _compiled(model)
    if compiled_by_grader:
        # Not compiling costs the question that asks for it, not the training: train it as the course does.
        ctx.run_student(model.compile, optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    y = np.asarray(y_train)
    loss_name = str(_name_of(getattr(model, "loss", None)) or "").lower()
    encoded = False
    if (one_hot == "auto" and y.ndim == 1 and y.dtype.kind in "iu" and "categorical" in loss_name
            and "sparse" not in loss_name):
        classes = _shape(model.outputs[0])[-1] if getattr(model, "outputs", None) else int(y.max()) + 1
        y = np.eye(int(classes), dtype=np.float32)[y]
        encoded = True
    started = time.perf_counter()
    history = ctx.run_student(model.fit, x_train, y, epochs=int(epochs), batch_size=int(batch_size),
                              validation_split=float(validation_split), verbose=0, shuffle=True)
    raw = ctx.run_student(model.predict, x_test, batch_size=max(int(batch_size), 256), verbose=0)
    seconds = time.perf_counter() - started
    predictions, probabilities, logits = _outputs(np, raw)
    hist = {}
    for key, values in dict(getattr(history, "history", {}) or {}).items():
        try:
            hist[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError):
            continue
    return {"predictions": predictions, "probabilities": probabilities, "history": hist,
            "seconds": float(seconds), "epochs": len(hist.get("loss", [])),
            "outputs_were_logits": bool(logits), "labels_one_hot": encoded,
            "compiled_by_grader": compiled_by_grader}


_CONFIG_KEYS = ("units", "filters", "kernel_size", "strides", "padding", "pool_size", "rate", "use_bias",
                "dilation_rate", "target_shape", "axis", "momentum", "epsilon", "input_dim", "output_dim",
                "return_sequences", "data_format", "groups", "depth_multiplier", "size", "interpolation")


@task
def keras_describe(ctx, builder, builder_args=None, builder_kwargs=None, seed=0):
    """Plain data about the model ``builder`` returns: shapes, layers, parameters, compilation."""
    keras, model = _build(ctx, builder, builder_args, builder_kwargs, seed)
    return describe_model(model)


def describe_model(model) -> dict:
    layers = []
    for layer in model.layers:
        try:
            config = layer.get_config()
        except Exception:
            config = {}
        essentials = {k: _plain(config[k]) for k in _CONFIG_KEYS if k in config}
        activation = getattr(layer, "activation", None)
        try:
            output_shape = _shape(layer.output)
        except Exception:  # a layer that was never called
            output_shape = None
        try:
            params = int(layer.count_params())
        except Exception:  # not built
            params = None
        layers.append({
            "class_name": type(layer).__name__,
            "name": str(layer.name),
            "output_shape": output_shape,
            "params": params,
            "trainable": bool(getattr(layer, "trainable", True)),
            "activation": _name_of(activation) if activation is not None else None,
            "config": essentials,
        })
    try:
        input_shape = _shape(model.inputs[0]) if getattr(model, "inputs", None) else None
    except Exception:
        input_shape = None
    try:
        output_shape = _shape(model.outputs[0]) if getattr(model, "outputs", None) else None
    except Exception:
        output_shape = None
    built = bool(getattr(model, "built", False))
    try:
        total = int(model.count_params()) if built else None
    except Exception:
        total = None
    trainable = None
    if built:
        try:
            trainable = int(sum(int(w.numpy().size) for w in model.trainable_weights))
        except Exception:
            trainable = None
    compiled = _compiled(model)
    optimizer = getattr(model, "optimizer", None) if compiled else None
    learning_rate = None
    if optimizer is not None:
        try:
            learning_rate = float(keras_value(optimizer.learning_rate))
        except Exception:  # a schedule
            learning_rate = None
    metrics = []
    if compiled:
        try:
            metrics = _plain((model.get_compile_config() or {}).get("metrics")) or []
        except Exception:
            metrics = []
    return {
        "class_name": type(model).__name__,
        "name": str(model.name),
        "built": built,
        "input_shape": input_shape,
        "output_shape": output_shape,
        "layers": layers,
        "total_params": total,
        "trainable_params": trainable,
        "compiled": compiled,
        "loss": _name_of(getattr(model, "loss", None)) if compiled else None,
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "learning_rate": learning_rate,
        "metrics": metrics if isinstance(metrics, list) else [metrics],
    }


def keras_value(variable):
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return float(value)


@task
def keras_load_predict(ctx, path, x_test, batch_size=256):
    """Load a model the student submitted (``path`` inside the submission, Keras safe mode) and predict."""
    import numpy as np
    full = os.path.realpath(os.path.join(ctx.workdir, str(path)))
    if not (full + os.sep).startswith(os.path.realpath(ctx.workdir) + os.sep) or not os.path.exists(full):
        raise TaskFailure("missing", f"no file {path!s} in the submission")
    keras = _keras()
    _threading(ctx.threads)
    model = ctx.run_student(keras.models.load_model, full, compile=False, safe_mode=True)
    raw = ctx.run_student(model.predict, x_test, batch_size=int(batch_size), verbose=0)
    predictions, probabilities, logits = _outputs(np, raw)
    return {"predictions": predictions, "probabilities": probabilities, "outputs_were_logits": bool(logits),
            "model": describe_model(model)}


# -- a model handed from the student's process to the grader's trainer process ------------------------

def _saved_model():
    """The sibling ``saved_model.py``, loaded by path as the child runtime loads its siblings."""
    import importlib.util
    import sys
    name = "_dlgrade_child_saved_model"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@task
def keras_export_model(ctx, builder, seed=0, builder_args=None, builder_kwargs=None):
    """Build the student's model and return its architecture as the bytes of a ``.keras`` file.

    Runs in the student's process. The file holds ``config.json`` (layers
    and compile settings) and ``metadata.json``, never the weights: the
    grader's trainer builds the model again from the configuration alone,
    with fresh weights. Returns ``{"keras": uint8 array}``.
    """
    import io
    import json
    import zipfile

    import numpy as np
    keras, model = _build(ctx, builder, builder_args, builder_kwargs, seed)
    # What model.save() writes as config.json, without writing the weights anywhere.
    config = ctx.run_student(keras.saving.serialize_keras_object, model)
    try:
        config_json = json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise TaskFailure("unsupported", f"the model's configuration cannot be saved ({exc})") from None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", config_json)
        archive.writestr("metadata.json", json.dumps({"keras_version": keras.__version__}))
    data = buffer.getvalue()
    return {"keras": np.frombuffer(data, dtype=np.uint8).copy()}


def _fresh_model(ctx, path, seed):
    """The model of the ``.keras`` file ``path`` in the working directory, rebuilt with fresh weights."""
    saved_model = _saved_model()
    keras = _keras()
    _threading(ctx.threads)
    full = os.path.join(ctx.workdir, str(path))
    try:
        config = saved_model.read_config(full)
        keras.utils.set_random_seed(int(seed))
        model = saved_model.build_fresh(keras, config)
    except saved_model.ArchitectureRefused as exc:
        raise TaskFailure("unsupported", f"the grader cannot rebuild your model: {exc}") from None
    except Exception as exc:  # Keras refusing the configuration (safe mode, an unknown layer)
        raise TaskFailure("unsupported", f"the grader cannot rebuild your model from its saved architecture "
                                         f"({type(exc).__name__}: {str(exc)[:300]})") from None
    return keras, model


@task
def keras_describe_saved(ctx, path, seed=0):
    """Describe the model saved at ``path`` (see ``describe_model``), rebuilt with fresh weights."""
    keras, model = _fresh_model(ctx, path, seed)
    return describe_model(model)


@task
def keras_train_saved(ctx, path, x_train, y_train, x_test, epochs, batch_size, seed, one_hot="auto"):
    """Rebuild the model saved at ``path`` with fresh weights (seed ``seed``), fit it, predict ``x_test``.

    Runs in the grader's trainer process, where no student code runs. The
    reply is that of ``keras_fit_predict``.
    """
    import numpy as np
    keras, model = _fresh_model(ctx, path, seed)
    try:
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
    except Exception:  # another backend
        pass
    return _fit_predict(ctx, np, model, x_train, y_train, x_test, epochs, batch_size, one_hot=one_hot)


@task
def sandbox_info(ctx):
    """Where the child runs: identity, limits and paths (for tests and diagnostics)."""
    import resource
    import sys
    limits = {}
    for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE"):
        limits[name] = list(resource.getrlimit(getattr(resource, name)))
    try:
        status = open("/proc/self/status").read()
        caps = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines()
                if line.startswith(("Cap", "NoNewPrivs", "Seccomp"))}
    except OSError:
        caps = {}
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": list(os.getgroups()),
            "pid": os.getpid(), "cwd": os.getcwd(), "path": list(sys.path), "rlimits": limits,
            "status": caps, "hostname": os.uname().nodename, "python": sys.version.split()[0],
            "env": sorted(os.environ)}
