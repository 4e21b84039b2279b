"""The frame format: exact round trips, and nothing but plain data accepted from the child."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import zipfile

import numpy as np
import pytest

from grader.engine.sandbox import Limits, SlotRef
from grader.engine.sandbox.channel import encode_request
from grader.engine.sandbox.child import wire


def roundtrip(value, *, request=False):
    """Encode, send through a real pipe, read the frame back and decode it."""
    obj, arrays = wire.encode(value, tuples=request)
    frame = wire.pack({"value": obj}, arrays)
    r, w = os.pipe()
    writer = threading.Thread(target=wire.write_all, args=(w, frame))
    writer.start()
    try:
        message, blob = wire.read_frame(r)
    finally:
        writer.join()
        os.close(r)
        os.close(w)
    return wire.decode(message["value"], wire.load_arrays(blob), request=request)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                   "uint64", "float16", "float32", "float64", "complex64", "complex128"])
def test_arrays_keep_dtype_shape_and_bits(dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 2)) * 100).astype(dtype)
    back = roundtrip(arr)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()
    assert back.flags.writeable


def test_float64_bit_exact_including_specials():
    values = np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308, 1 / 3])
    back = roundtrip(values)
    assert back.view(np.uint64).tolist() == values.view(np.uint64).tolist()
    scalars = roundtrip([0.1, -0.0, float("nan"), float("inf"), 1 / 3])
    assert scalars[0] == 0.1 and str(scalars[1]) == "-0.0" and np.isnan(scalars[2]) and scalars[3] == np.inf
    assert scalars[4] == 1 / 3


def test_non_contiguous_fortran_big_endian_and_zero_size_arrays():
    a = np.arange(24.0).reshape(4, 6)[:, ::2]
    f = np.asfortranarray(np.arange(12).reshape(3, 4))
    be = np.arange(5, dtype=">f8")
    z = np.zeros((0, 3))
    s = np.array(7.5)
    back = roundtrip([a, f, be, z, s])
    assert np.array_equal(back[0], a) and np.array_equal(back[1], f) and np.array_equal(back[2], be)
    assert back[2].dtype == np.float64 and back[2].dtype.isnative
    assert back[3].shape == (0, 3) and back[4].shape == () and back[4] == 7.5


def test_plain_python_values():
    value = {"a": [1, 2.5, None, True, "é\u2603\udc80"], "t": (1, (2, 3)), "c": 1 + 2j, "big": 2**100,
             "n": {"__ndarray__": "not a tag, a student's dict"}, "np": np.float32(0.5), "i": np.int64(-3),
             "b": np.bool_(True), "z": np.complex64(1 - 1j)}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, None, True, "é\u2603\udc80"]
    assert back["t"] == [1, [2, 3]]            # tuples come back as lists
    assert back["c"] == 1 + 2j and back["big"] == 2**100
    assert back["n"] == {"__ndarray__": "not a tag, a student's dict"}
    assert back["np"] == 0.5 and type(back["np"]) is float
    assert back["i"] == -3 and type(back["i"]) is int
    assert back["b"] is True and back["z"] == 1 - 1j


def test_requests_keep_tuples_and_slot_refs():
    obj, arrays = encode_request([(1, 2), SlotRef("fwd", 1), {"k": SlotRef("x")}])
    message = {"value": obj}
    frame = wire.pack(message, arrays)
    decoded = wire.decode(json.loads(frame[wire.HEADER.size:]), {}, request=True)["value"]
    assert decoded[0] == (1, 2)
    assert isinstance(decoded[1], wire.SlotMarker) and decoded[1].name == "fwd" and decoded[1].index == 1
    assert decoded[2]["k"].name == "x" and decoded[2]["k"].index is None
    with pytest.raises(wire.WireError):
        wire.decode(obj, {}, request=False)  # a reply may not carry slot references


@pytest.mark.parametrize("value, what", [
    (b"bytes", "a bytes"), ({1: "x"}, "a dict with an int key"), ({1, 2}, "a set"),
    (np.array(["a"]), "a numpy array of dtype <U1"), (np.array([object()]), "dtype object"),
    (object(), "an object"), (lambda: 1, "a function"), (2**20000, "more than 4000 digits"),
    (np.datetime64("2020-01-01"), "numpy scalar of dtype datetime64"),
], ids=["bytes", "int-key", "set", "str-array", "object-array", "object", "function", "huge-int", "datetime"])
def test_not_plain_data_is_refused_with_its_type(value, what):
    with pytest.raises(wire.Unsupported) as info:
        wire.encode(value)
    assert what in info.value.describe()


def test_nesting_and_self_reference_are_refused():
    deep = []
    for _ in range(200):
        deep = [deep]
    loop = []
    loop.append(loop)
    for value in (deep, loop):
        with pytest.raises(wire.Unsupported, match="nested deeper"):
            wire.encode(value)


def test_where_an_unsupported_value_sits():
    with pytest.raises(wire.Unsupported) as info:
        wire.encode({"grads": [np.zeros(2), b"x"]})
    assert info.value.describe().startswith("returned a bytes at ['grads'][1]")


# --- the parent side never trusts the child --------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {_EVIL_MARKER}",))


_EVIL_MARKER = "/tmp/dlgrade-test-pickle-ran"


def _npz_with(members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_object_arrays_in_an_archive_are_refused_and_never_unpickled():
    if os.path.exists(_EVIL_MARKER):
        os.unlink(_EVIL_MARKER)
    payload = io.BytesIO()
    np.save(payload, np.array([_Evil()], dtype=object), allow_pickle=True)
    blob = _npz_with({"a0.npy": payload.getvalue()})
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.load_arrays(blob)
    assert not os.path.exists(_EVIL_MARKER)


def test_structured_and_string_dtypes_are_refused():
    for arr in (np.zeros(2, dtype=[("a", "f8")]), np.array(["x"]), np.array([b"x"]), np.zeros(2, "M8[s]")):
        payload = io.BytesIO()
        np.save(payload, arr)
        with pytest.raises(wire.WireError, match="dtype"):
            wire.load_arrays(_npz_with({"a0.npy": payload.getvalue()}))


def test_compressed_members_and_odd_names_are_refused():
    payload = io.BytesIO()
    np.save(payload, np.zeros(1000))
    with pytest.raises(wire.WireError, match="compressed"):
        wire.load_arrays(_npz_with({"a0.npy": payload.getvalue()}, zipfile.ZIP_DEFLATED))
    with pytest.raises(wire.WireError, match="unexpected archive member"):
        wire.load_arrays(_npz_with({"../x.npy": payload.getvalue()}))
    with pytest.raises(wire.WireError, match="malformed"):
        wire.load_arrays(b"PK\x03\x04 not really a zip")


def test_array_whose_data_does_not_match_its_header_is_refused():
    payload = io.BytesIO()
    np.save(payload, np.zeros(10))
    with pytest.raises(wire.WireError, match="does not match"):
        wire.load_arrays(_npz_with({"a0.npy": payload.getvalue()[:-8]}))


def test_frames_bigger_than_the_limit_are_refused_before_reading():
    r, w = os.pipe()
    try:
        os.write(w, wire.HEADER.pack(wire.MAGIC, 10, 2**40))
        with pytest.raises(wire.WireError, match="more than the limit"):
            wire.read_frame(r, max_bytes=Limits().reply_bytes)
        os.write(w, b"GARBAGE!" * 4)
        with pytest.raises(wire.WireError, match="bad frame header"):
            wire.read_frame(r)
    finally:
        os.close(r)
        os.close(w)


def test_malformed_json_and_tags_are_refused():
    for text in (b"[1,2]", b"{bad json", b"\xff\xfe", b"[" * 100000 + b"]" * 100000):
        r, w = os.pipe()
        os.set_blocking(w, False)
        try:
            frame = wire.HEADER.pack(wire.MAGIC, len(text), 0) + text
            if len(frame) > 60000:
                text = b"[" * 30000 + b"]" * 30000
                frame = wire.HEADER.pack(wire.MAGIC, len(text), 0) + text
            os.write(w, frame)
            with pytest.raises(wire.WireError):
                message, _ = wire.read_frame(r)
                wire.decode(message, {})
        finally:
            os.close(r)
            os.close(w)
    for bad in ({"__ndarray__": "a9"}, {"__complex__": [1]}, {"__slot__": ["x", None]}, {"__tuple__": 3}):
        with pytest.raises(wire.WireError):
            wire.decode(bad, {})


def test_an_array_cannot_be_referenced_twice():
    arrays = {"a0": np.zeros(2)}
    with pytest.raises(wire.WireError, match="twice"):
        wire.decode([{"__ndarray__": "a0"}, {"__ndarray__": "a0"}], arrays)


def _hung(signum, frame):
    raise AssertionError("read_frame ignored its deadline and hung")


def test_read_times_out_instead_of_hanging():
    import time

    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        os.write(w, wire.HEADER.pack(wire.MAGIC, 100, 0) + b"{")
        # A hang guard, not a speed test: were the deadline ignored, the alarm would end the read.
        signal.signal(signal.SIGALRM, _hung)
        signal.alarm(30)
        try:
            with pytest.raises(wire.FrameTimeout):
                wire.read_frame(r, deadline=time.monotonic() + 0.2)
        finally:
            signal.alarm(0)
    finally:
        os.close(r)
        os.close(w)
