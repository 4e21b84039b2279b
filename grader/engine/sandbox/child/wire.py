"""Frames and plain-data encoding between the grader and the child runtime.

Self-contained (standard library, numpy imported lazily), because the child
runtime loads this file by path inside the sandbox; the parent imports the
same file as ``grader.engine.sandbox.child.wire``, so both sides share one format.

A frame is::

    b"DLG1" | uint32 json_length | uint64 blob_length | JSON (ASCII) | blob

The blob, when present, is an uncompressed ``.npz`` archive. Arrays inside
the JSON are ``{"__ndarray__": "a0"}`` references into it. Other tagged
values: ``{"__complex__": [re, im]}``, ``{"__tuple__": [...]}`` (requests
only; in replies tuples travel as lists), ``{"__slot__": [name, index]}``
(requests only) and ``{"__dict__": {...}}`` (a plain dict that would
otherwise look like a tag). Decoding never unpickles or evaluates anything:
the archive is read member by member with ``allow_pickle=False``, only
uncompressed members with numeric or boolean dtypes are accepted, and sizes
are checked before anything is read.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import struct
import sys
import time
import zipfile

MAGIC = b"DLG1"
HEADER = struct.Struct(">4sIQ")
MAX_DEPTH = 64                # nesting of lists/dicts in one value
MAX_ARRAYS = 100_000          # arrays in one frame
MAX_INT_BITS = 13_000         # about 4,000 decimal digits (Python's str<->int limit is 4,300)
# The JSON part of a frame is capped apart from the array blob: arrays travel in the
# blob, so JSON holds names, numbers and small lists. A cap on bytes alone is not
# enough: 256 MiB of "[[],[],...]" is 128 million lists, about 13 GB once parsed.
MAX_JSON_BYTES = 16 << 20     # bytes of the JSON part of one frame
MAX_JSON_VALUES = 1_000_000   # values (numbers, strings, lists, dicts, ...) in it
ARRAY_KINDS = frozenset("biufc")
TAGS = frozenset(("__ndarray__", "__complex__", "__tuple__", "__slot__", "__dict__"))
_MEMBER = re.compile(r"a\d{1,7}\.npy\Z")

PLAIN_DATA = ("None, bool, int, float, complex, str, list, tuple, dict with str keys, "
              "or a numpy array of numbers or booleans")


class WireError(Exception):
    """A malformed frame or value."""


class FrameTimeout(WireError):
    """The deadline passed before a whole frame arrived (or could be sent)."""


class FrameEOF(WireError):
    """The other side closed the pipe (or its process ended)."""


class Unsupported(Exception):
    """A value that is not plain data; ``what`` names it, ``where`` says where it sits."""

    def __init__(self, what: str, where: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.where = where

    def describe(self, prefix: str = "returned") -> str:
        where = f" at {self.where}" if self.where else ""
        return f"{prefix} {self.what}{where}, expected plain data: {PLAIN_DATA}"


class SlotMarker:
    """A decoded ``{"__slot__": [name, index]}``: resolved by the child runtime."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index) -> None:
        self.name = name
        self.index = index

    def __repr__(self) -> str:
        return f"SlotMarker({self.name!r}, {self.index!r})"


def _numpy():
    np = sys.modules.get("numpy")
    if np is None:
        import numpy as np  # noqa: F811 (lazy: the child starts without numpy)
    return np


def _type_name(value) -> str:
    try:
        name = type(value).__name__
        name = name if isinstance(name, str) else "object"
    except Exception:  # a hostile metaclass
        name = "object"
    return name[:80]


def _article(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------

def encode(value, *, tuples: bool = False, special=None):
    """Turn ``value`` into (JSON-able object, list of arrays).

    ``tuples``: keep tuples as ``__tuple__`` tags (requests) instead of lists.
    ``special``: optional hook ``f(value) -> tagged object | None`` (the parent
    uses it for its ``SlotRef``). Raises :class:`Unsupported`.
    """
    arrays: list = []
    np = sys.modules.get("numpy")
    return _encode(value, arrays, tuples, special, np, 0), arrays


def _encode(v, arrays, tuples, special, np, depth):
    if depth > MAX_DEPTH:
        raise Unsupported(f"data nested deeper than {MAX_DEPTH} levels (or a container that contains itself)")
    t = type(v)
    if v is None or t is bool or t is str or t is float:
        return v
    if t is int:
        if v.bit_length() > MAX_INT_BITS:
            raise Unsupported("an int with more than 4000 digits")
        return v
    if t is complex:
        return {"__complex__": [v.real, v.imag]}
    if np is None:
        np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(v, np.ndarray):
            kind = v.dtype.kind
            if kind not in ARRAY_KINDS or v.dtype.fields is not None or v.dtype.hasobject:
                raise Unsupported(f"a numpy array of dtype {str(v.dtype)[:60]}")
            arr = v if t is np.ndarray else np.array(v, subok=False)
            if arr.dtype.subdtype is not None:  # pragma: no cover - numpy folds subarray dtypes into the shape
                raise Unsupported(f"a numpy array of dtype {str(v.dtype)[:60]}")
            if len(arrays) >= MAX_ARRAYS:
                raise Unsupported(f"more than {MAX_ARRAYS} arrays")
            arrays.append(arr)
            return {"__ndarray__": f"a{len(arrays) - 1}"}
        if isinstance(v, np.generic):
            kind = v.dtype.kind
            if kind == "b":
                return bool(v)
            if kind in "iu":
                return int(v)
            if kind == "f":
                return float(v)
            if kind == "c":
                c = complex(v)
                return {"__complex__": [c.real, c.imag]}
            raise Unsupported(f"a numpy scalar of dtype {str(v.dtype)[:60]}")
    if special is not None:
        tagged = special(v)
        if tagged is not None:
            return tagged
    if isinstance(v, (list, tuple)):
        out = []
        for i, item in enumerate(list(v)):
            try:
                out.append(_encode(item, arrays, tuples, special, np, depth + 1))
            except Unsupported as exc:
                exc.where = f"[{i}]" + exc.where
                raise
        if tuples and isinstance(v, tuple):
            return {"__tuple__": out}
        return out
    if isinstance(v, dict):
        out = {}
        for key, item in list(v.items()):
            if not isinstance(key, str):
                raise Unsupported(f"a dict with {_article(_type_name(key))} key")
            key = str.__str__(key)
            try:
                out[key] = _encode(item, arrays, tuples, special, np, depth + 1)
            except Unsupported as exc:
                exc.where = f"[{key[:40]!r}]" + exc.where
                raise
        if len(out) == 1 and next(iter(out)) in TAGS:
            return {"__dict__": out}
        return out
    # Subclasses of the scalar types: their plain value, read through the base type.
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return _encode(int.__index__(v), arrays, tuples, special, np, depth)
    if isinstance(v, float):
        return float.__float__(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, complex):
        c = complex.__complex__(v)
        return {"__complex__": [c.real, c.imag]}
    raise Unsupported(_article(_type_name(v)))


def pack(message: dict, arrays=()) -> bytes:
    """One frame: ``message`` (already JSON-able) plus the arrays it references."""
    text = json.dumps(message, allow_nan=True, ensure_ascii=True, separators=(",", ":"),
                      check_circular=False).encode("ascii")
    blob = b""
    if arrays:
        np = _numpy()
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=False, **{f"a{i}": a for i, a in enumerate(arrays)})
        blob = buf.getvalue()
    return HEADER.pack(MAGIC, len(text), len(blob)) + text + blob


# ---------------------------------------------------------------------------
# Reading and writing frames
# ---------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def json_values(text: bytes) -> int:
    """An upper bound on the number of values in the JSON ``text``, without parsing it:
    the commas, colons, brackets and braces outside strings, plus one."""
    bare = _JSON_STRING.sub(b"", text)
    return sum(bare.count(c) for c in (b",", b":", b"[", b"{")) + 1


def json_refusal(text: bytes) -> str | None:
    """Why the JSON part of a frame is refused (too many bytes or values), or None."""
    if len(text) > MAX_JSON_BYTES:
        return (f"{len(text) / 2**20:.1f} MiB of plain data besides arrays, more than the limit of "
                f"{MAX_JSON_BYTES >> 20} MiB (return numbers in a numpy array)")
    count = json_values(text)
    if count > MAX_JSON_VALUES:
        return (f"about {count:,} values besides arrays, more than the limit of {MAX_JSON_VALUES:,} "
                "(return numbers in a numpy array)")
    return None


def frame_refusal(frame: bytes) -> str | None:
    """:func:`json_refusal` of a packed frame's JSON part."""
    _, text_len, _ = HEADER.unpack_from(frame)
    return json_refusal(frame[HEADER.size:HEADER.size + text_len])


def write_all(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write ``data``; with a deadline the fd must be non-blocking."""
    view = memoryview(data)
    poller = None
    while view:
        if deadline is not None:
            if poller is None:
                poller = select.poll()
                poller.register(fd, select.POLLOUT)
            left = deadline - time.monotonic()
            if left <= 0:
                raise FrameTimeout("timed out writing to the child")
            if not poller.poll(max(1, int(left * 1000))):
                continue
        try:
            written = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise FrameEOF(str(exc)) from None
        view = view[written:]


def read_exact(fd: int, n: int, deadline: float | None = None, pidfd: int | None = None) -> bytearray:
    """Read exactly ``n`` bytes. With a deadline the fd must be non-blocking.

    ``pidfd``: a process fd polled alongside; when that process has ended and
    the pipe holds nothing more, :class:`FrameEOF` is raised.
    """
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    poller = None
    if deadline is not None or pidfd is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
    while got < n:
        if poller is not None:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FrameTimeout("timed out")
                timeout = max(1, int(left * 1000))
            else:
                timeout = None
            events = dict(poller.poll(timeout))
            if not events:
                continue
            if fd not in events and pidfd in events:
                # The process ended; whatever it wrote is readable now or never.
                try:
                    chunk = os.readv(fd, [view[got:]])
                except BlockingIOError:
                    raise FrameEOF("the process ended") from None
                if chunk == 0:
                    raise FrameEOF("the process ended")
                got += chunk
                continue
        try:
            count = os.readv(fd, [view[got:]])
        except BlockingIOError:
            continue
        if count == 0:
            raise FrameEOF("end of stream")
        got += count
    return buf


def read_frame(fd: int, *, deadline: float | None = None, max_bytes: int | None = None,
               pidfd: int | None = None):
    """Read one frame; return (message, blob). Raises WireError and its subclasses."""
    head = read_exact(fd, HEADER.size, deadline, pidfd)
    magic, text_len, blob_len = HEADER.unpack(bytes(head))
    if magic != MAGIC:
        raise WireError(f"bad frame header {bytes(head[:8])!r}")
    if max_bytes is not None and text_len + blob_len > max_bytes:
        raise WireError(f"a frame of {text_len + blob_len} bytes, more than the limit of {max_bytes}")
    if text_len > MAX_JSON_BYTES:  # refused before a byte of it is read
        raise WireError(f"a frame whose JSON part has {text_len} bytes, more than the limit of {MAX_JSON_BYTES}")
    text = read_exact(fd, text_len, deadline, pidfd) if text_len else bytearray()
    blob = bytes(read_exact(fd, blob_len, deadline, pidfd)) if blob_len else b""
    refusal = json_refusal(bytes(text))
    if refusal:
        raise WireError(f"a frame with {refusal}")
    try:
        message = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed JSON in a frame: {str(exc)[:200]}") from None
    if deadline is not None and time.monotonic() > deadline:
        raise FrameTimeout("timed out")
    if not isinstance(message, dict):
        raise WireError("a frame whose JSON is not an object")
    return message, blob


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

def load_arrays(blob: bytes, max_bytes: int | None = None) -> dict:
    """The arrays of an ``.npz`` blob, validated; never unpickles."""
    if not blob:
        return {}
    if max_bytes is not None and len(blob) > max_bytes:
        raise WireError(f"an array archive of {len(blob)} bytes, more than the limit of {max_bytes}")
    np = _numpy()
    fmt = np.lib.format
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        infos = archive.infolist()
    except Exception as exc:  # zipfile raises many kinds on crafted input
        raise WireError(f"a malformed array archive: {type(exc).__name__}: {str(exc)[:200]}") from None
    if len(infos) > MAX_ARRAYS:
        raise WireError(f"an archive of {len(infos)} arrays")
    total = 0
    arrays = {}
    for info in infos:
        name = info.filename
        if not _MEMBER.match(name) or name[:-4] in arrays:
            raise WireError(f"an unexpected archive member {name[:60]!r}")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise WireError("a compressed archive member (only stored members are accepted)")
        total += info.file_size
        if total > len(blob):
            raise WireError("archive members larger than the archive")
        try:
            data = archive.read(info)
        except Exception as exc:  # bad CRC, truncated member, encryption flags...
            raise WireError(f"a malformed array archive: {type(exc).__name__}: {str(exc)[:200]}") from None
        arrays[name[:-4]] = _read_npy(data, fmt, np)
    return arrays


def _read_npy(data: bytes, fmt, np):
    stream = io.BytesIO(data)
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(stream)
        else:
            raise WireError(f"an unsupported .npy version {version}")
    except WireError:
        raise
    except Exception as exc:  # numpy raises ValueError / SyntaxError / TypeError on bad headers
        raise WireError(f"a malformed .npy header: {str(exc)[:200]}") from None
    if (dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None
            or dtype.hasobject):
        raise WireError(f"an array of dtype {str(dtype)[:60]} (only numbers and booleans are accepted)")
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise WireError("an array with a malformed shape")
    count = 1
    for d in shape:
        count *= d
    offset = stream.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise WireError("an array whose data does not match its shape")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    arr = arr.reshape(shape, order="F" if fortran else "C").copy(order="K")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def decode(obj, arrays: dict, *, request: bool = False):
    """Turn a decoded JSON value back into plain data, resolving tags.

    ``request=False`` (the parent reading a reply): tuples become lists and a
    slot tag is an error. ``request=True`` (the child reading a request):
    tuples stay tuples and slot tags become :class:`SlotMarker`.
    """
    used: set = set()
    return _decode(obj, arrays, request, used, 0)


def _decode(v, arrays, request, used, depth):
    if depth > MAX_DEPTH + 2:
        raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
    t = type(v)
    if v is None or t is bool or t is str or t is float:
        return v
    if t is int:
        if v.bit_length() > MAX_INT_BITS:
            raise WireError("an int with too many digits")
        return v
    if t is list:
        return [_decode(x, arrays, request, used, depth + 1) for x in v]
    if t is not dict:
        raise WireError(f"an unexpected JSON value of type {t.__name__}")
    if len(v) == 1:
        (key, inner), = v.items()
        if key == "__ndarray__":
            if type(inner) is not str or inner not in arrays:
                raise WireError("a reference to a missing array")
            if inner in used:
                raise WireError("an array referenced twice")
            used.add(inner)
            return arrays[inner]
        if key == "__complex__":
            if (type(inner) is not list or len(inner) != 2
                    or not all(type(x) in (int, float) for x in inner)):
                raise WireError("a malformed complex number")
            return complex(inner[0], inner[1])
        if key == "__tuple__":
            if type(inner) is not list:
                raise WireError("a malformed tuple")
            items = [_decode(x, arrays, request, used, depth + 1) for x in inner]
            return tuple(items) if request else items
        if key == "__slot__":
            if not request:
                raise WireError("a slot reference in a reply")
            if (type(inner) is not list or len(inner) != 2 or type(inner[0]) is not str
                    or not (inner[1] is None or type(inner[1]) in (int, str))):
                raise WireError("a malformed slot reference")
            return SlotMarker(inner[0], inner[1])
        if key == "__dict__":
            if type(inner) is not dict:
                raise WireError("a malformed escaped dict")
            return {k: _decode(x, arrays, request, used, depth + 1) for k, x in inner.items()}
    return {k: _decode(x, arrays, request, used, depth + 1) for k, x in v.items()}
