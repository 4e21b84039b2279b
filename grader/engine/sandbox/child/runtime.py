"""The child runtime: reads its configuration, loads the submission, serves requests.

Runs inside the sandbox next to the student's code, so nothing here is
trusted by the parent: it only ever sends plain data back, which the parent
validates. Imports the standard library only (numpy when a value needs it);
``wire``, ``loader``, ``tasks`` and ``confine`` are its sibling files, loaded by path
under private module names so a student's own ``tasks.py`` cannot clash.
"""

from __future__ import annotations

import os
import shutil
import sys
import types

wire = loader = tasks = confine = None  # set by main()



class _CallFailure(Exception):
    def __init__(self, kind: str, error: str) -> None:
        super().__init__(error)
        self.kind = kind
        self.error = error


def _a(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def _type_name(value) -> str:
    try:
        name = type(value).__name__
        return name[:80] if isinstance(name, str) else "object"
    except Exception:
        return "object"


class TaskContext:
    """What a harness task sees: the student's namespace and a guarded way to run their code."""

    def __init__(self, runtime: "Runtime") -> None:
        self._runtime = runtime
        self.workdir = runtime.workdir
        self.threads = runtime.threads
        self.namespace = runtime.namespace

    def callable(self, name: str):
        try:
            return self._runtime.resolve_callable(name)
        except _CallFailure as exc:
            raise tasks.TaskFailure(exc.kind, exc.error) from None

    def run_student(self, fn, *args, **kwargs):
        return self._runtime.guard(fn, *args, **kwargs)


class Runtime:
    def __init__(self, req: int, rep: int) -> None:
        self.req = req
        self.rep = rep
        self.pid = os.getpid()
        self.slots: dict = {}
        self.module = None
        self.namespace: dict = {}
        self.workdir = "/submission"
        self.threads = 1
        self.reply_bytes = 256 * 2**20

    # -- plumbing ---------------------------------------------------------
    def send(self, message: dict, arrays=()) -> None:
        wire.write_all(self.rep, wire.pack(message, arrays))

    def guard(self, fn, *args, **kwargs):
        """Run student code; a process the student forked never gets back into this runtime."""
        try:
            return fn(*args, **kwargs)
        finally:
            if os.getpid() != self.pid:
                os._exit(0)

    @staticmethod
    def flush() -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:  # the student's stream, or a full file
                pass

    # -- setup ------------------------------------------------------------
    def configure(self, config: dict) -> None:
        self.workdir = config["workdir"]
        self.threads = int(config.get("threads") or 1)
        self.reply_bytes = int(config["reply_bytes"])
        source = config.get("copy_from")
        if source:
            _copy_tree(source, self.workdir)
        try:
            self._confine(config)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.send({"t": "sandbox_error", "error": f"{type(exc).__name__}: {exc}"})
            raise SystemExit(3) from None
        loader.install_stand_ins()

    def _confine(self, config: dict) -> None:
        """The fallback confines itself here (``confine.py``); bubblewrap and setpriv did it already otherwise."""
        confine.confine(config, self.workdir, self.send)

    def load(self, config: dict) -> None:
        path = os.path.join(self.workdir, config["main"])
        name = config["module_name"]
        def progress(event: str, data: dict) -> None:
            self.flush()
            self.send({"t": event, **data})

        skip = config.get("skip_cells") or {}
        if config["kind"] == "ipynb":
            module, report = loader.load_ipynb(path, name, self.workdir, self.guard, skip, progress)
        else:
            cells = loader.py_cells(_read_source(path))
            if cells is None:
                module, report = loader.load_py(path, name, self.workdir, self.guard)
            else:
                module, report = loader.load_py_cells(path, name, cells, self.workdir, self.guard, skip, progress)
        self.module = module
        self.namespace = module.__dict__
        self.flush()
        self.send({"t": "loaded", "report": report})

    # -- requests ---------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                message, blob = wire.read_frame(self.req)
            except wire.FrameEOF:
                return
            kind = message.get("t")
            if kind == "exit":
                return
            rid = message.get("id")
            body = wire.decode(message.get("body"), wire.load_arrays(blob), request=True)
            if kind == "call":
                for index, call in enumerate(body):
                    self.reply(rid, index, *self.run_call(call))
            elif kind == "get":
                self.reply(rid, 0, *self.run_get(body))
            elif kind == "names":
                self.reply(rid, 0, "ok", self.public_names(), None)
            elif kind == "task":
                self.reply(rid, 0, *self.run_task(body))
            else:
                self.reply(rid, 0, "unsupported", None, f"unknown request {str(kind)[:40]!r}")
            self.flush()

    def reply(self, rid, index: int, kind: str, value, error, prefix: str = "returned") -> None:
        base = {"t": "reply", "id": rid, "i": index}
        self.flush()  # what the call printed is in the file before the parent hears back
        if kind == "ok":
            try:
                value = self.guard(numpy_of_tensors, value)
                obj, arrays = self.guard(wire.encode, value)
                frame = wire.pack({**base, "kind": "ok", "value": obj, "error": None}, arrays)
            except wire.Unsupported as exc:
                kind, error = "unsupported", exc.describe(prefix)
            except MemoryError:
                kind, error = "unsupported", "the value is too large to send (out of memory while encoding it)"
            except BaseException as exc:  # a container whose iteration raises
                kind, error = "unsupported", f"the value could not be read: {loader.describe_exception(exc, self.workdir)}"
            else:
                refusal = wire.frame_refusal(frame)
                if refusal:
                    kind, error = "unsupported", f"the value holds {refusal}"
                elif len(frame) <= self.reply_bytes:
                    wire.write_all(self.rep, frame)
                    return
                else:
                    kind, error = "unsupported", (f"the value takes {len(frame) / 2**20:.1f} MiB, more than the "
                                                  f"reply limit of {self.reply_bytes / 2**20:.1f} MiB")
        self.send({**base, "kind": kind, "value": None, "error": error})

    def public_names(self) -> list:
        return sorted(name for name, value in list(self.namespace.items())
                      if isinstance(name, str) and not name.startswith("_")
                      and not isinstance(value, types.ModuleType))

    def resolve_callable(self, name):
        if not isinstance(name, str) or not name:
            raise _CallFailure("missing", "no function name given")
        if name.startswith("@"):
            slot, _, rest = name[1:].partition(".")
            if slot not in self.slots:
                raise _CallFailure("missing", f"slot {slot!r} is empty")
            target, parts = self.slots[slot], rest.split(".") if rest else []
        else:
            first, *parts = name.split(".")
            if first not in self.namespace:
                raise _CallFailure("missing", f"no name {first!r} in the submission")
            target = self.namespace[first]
        for part in parts:
            if not part or part.startswith("_"):
                raise _CallFailure("missing", f"{name!r} is not a public attribute")
            try:
                target = self.guard(getattr, target, part)
            except Exception:
                raise _CallFailure("missing", f"no attribute {part!r} in {name!r}") from None
        if not callable(target):
            raise _CallFailure("not_callable", f"{_a(_type_name(target))}, not a function")
        return target

    def _resolve_args(self, value):
        if isinstance(value, wire.SlotMarker):
            if value.name not in self.slots:
                raise _CallFailure("exception", f"SlotError: slot {value.name!r} is empty: the call that "
                                                "keeps it failed, or the child was restarted since")
            stored = self.slots[value.name]
            if value.index is None:
                return stored
            if isinstance(stored, (tuple, list)) and type(value.index) is int:
                try:
                    return stored[value.index]
                except IndexError:
                    pass
            elif isinstance(stored, dict):
                try:
                    return stored[value.index]
                except (KeyError, TypeError):
                    pass
            raise _CallFailure("unsupported", f"returned {_a(_type_name(stored))} in slot {value.name!r} that "
                                              f"has no element {value.index!r}")
        if type(value) is list:
            return [self._resolve_args(v) for v in value]
        if type(value) is tuple:
            return tuple(self._resolve_args(v) for v in value)
        if type(value) is dict:
            return {k: self._resolve_args(v) for k, v in value.items()}
        return value

    def run_call(self, call: dict):
        keep, pick = call.get("keep"), call.get("pick")
        if keep is not None:
            self.slots.pop(keep, None)  # a failed call must not leave an older value behind
        try:
            target = self.resolve_callable(call.get("fn"))
            args = self._resolve_args(call.get("args") or [])
            kwargs = self._resolve_args(call.get("kwargs") or {})
        except _CallFailure as exc:
            return exc.kind, None, exc.error
        try:
            result = self.guard(target, *args, **kwargs)
        except BaseException as exc:  # the student's exception, SystemExit included
            return "exception", None, loader.describe_exception(exc, self.workdir)
        if keep is not None:
            self.slots[keep] = result
        if pick is not None:
            if not isinstance(result, (tuple, list)):
                return "unsupported", None, (f"returned {_a(_type_name(result))}, expected a tuple or list "
                                             f"to take element {pick} of")
            try:
                return "ok", result[pick], None
            except (IndexError, TypeError):
                return "unsupported", None, f"returned a sequence of length {len(result)}, expected element {pick}"
        if keep is not None:
            return "ok", None, None
        return "ok", result, None

    def run_get(self, name):
        if not isinstance(name, str) or name not in self.namespace:
            return "missing", None, f"no name {str(name)[:80]!r} in the submission"
        return "ok", self.namespace[name], None

    def run_task(self, body: dict):
        name, params = body.get("name"), body.get("params") or {}
        fn = tasks.TASKS.get(name)
        if fn is None:
            return "missing", None, f"no harness task named {str(name)[:80]!r}"
        try:
            return "ok", fn(TaskContext(self), **params), None
        except tasks.TaskFailure as exc:
            return exc.kind, None, exc.message
        except BaseException as exc:
            if os.getpid() != self.pid:
                os._exit(0)
            return "exception", None, loader.describe_exception(exc, self.workdir, library_frames=True)


TENSOR_MODULES = ("tensorflow", "keras", "jax", "jaxlib", "torch")


def numpy_of_tensors(value, depth: int = 0):
    """``value`` with every tensor of an array library (a ``tf.Tensor``...) turned into a numpy array.

    A student may return ``tf.cast(images, tf.float32) / 255`` where a
    numpy array was asked for: the values are what count, so the tensor
    travels as the array its ``.numpy()`` gives (same dtype). Tuples and
    lists are searched a few levels deep; anything else is left alone.
    """
    module = getattr(type(value), "__module__", "") or ""
    if module.split(".")[0] in TENSOR_MODULES and callable(getattr(value, "numpy", None)):
        try:
            return value.numpy()
        except Exception:  # a symbolic tensor: left for the encoder to refuse
            return value
    if depth < 4 and type(value) in (tuple, list):
        items = [numpy_of_tensors(item, depth + 1) for item in value]
        if any(new is not old for new, old in zip(items, value)):
            return type(value)(items)
    return value


def _copy_tree(source: str, target: str) -> None:
    for root, dirs, files in os.walk(source):
        rel = os.path.relpath(root, source)
        dest = target if rel == "." else os.path.join(target, rel)
        os.makedirs(dest, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(root, name), os.path.join(dest, name))


def _die_with_parent() -> None:
    """Linux: be killed when the process that started us ends (bubblewrap does this too)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, ImportError):
        pass


def main(argv: list, load_sibling) -> int:
    global wire, loader, tasks, confine
    _die_with_parent()
    confine = load_sibling("confine")
    wire = load_sibling("wire")
    loader = load_sibling("loader")
    tasks = load_sibling("tasks")
    req, rep = confine.high_fd(int(argv[1])), confine.high_fd(int(argv[2]))
    runtime = Runtime(req, rep)
    runtime.send({"t": "hello", "pid": os.getpid()})
    config, _ = wire.read_frame(req)
    runtime.configure(config)
    # The last word the grader takes from this process as the sandbox's own: from here on
    # student code runs, and anything it sends is the student's (see session.py).
    runtime.send({"t": "confined"})
    runtime.load(config)
    runtime.serve()
    runtime.flush()
    return 0


def _read_source(path: str) -> str:
    """A script's text as Python reads it (PEP 263 coding line, BOM); undecodable bytes become U+FFFD."""
    import tokenize

    try:
        with tokenize.open(path) as handle:
            return handle.read()
    except (SyntaxError, UnicodeDecodeError, LookupError):
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
