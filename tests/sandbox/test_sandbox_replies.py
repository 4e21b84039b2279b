"""What comes out of the child is bounded and never taken for the sandbox's word, in both modes.

A submission can write to the reply pipe itself (the runtime object is in its
own process), so these tests forge frames the way an attacker would.
"""

from __future__ import annotations

import tracemalloc

from sandbox_support import FAST, write_py

from grader.engine.sandbox import Call, SandboxSession
from grader.engine.sandbox.child import wire

#: Bytes the parent may allocate while refusing a hostile frame (it reads at most 16 MiB of JSON).
PARENT_PEAK_BYTES = 120 << 20

FIND_RUNTIME = """
import gc
def runtime():
    return next(o for o in gc.get_objects() if type(o).__name__ == "Runtime")
"""


def test_a_forged_sandbox_error_is_the_students_not_a_grader_fault(tmp_path, mode):
    path = write_py(tmp_path, FIND_RUNTIME + """
runtime().send({"t": "sandbox_error", "error": "not your fault"})
runtime().send({"t": "landlock_failed", "error": "forged"})
def f():
    return 1
""")
    with SandboxSession(path, limits=FAST, mode=mode) as s:   # no SandboxError: nothing of ours failed
        report = s.load_report
        assert not report.ok and report.kind == "protocol", report
        assert "only the sandbox may send" in report.error
        assert "forged" not in s.isolation
        assert s.call([Call("f")])[0].kind == "not_loaded"


def test_a_forged_sandbox_error_in_a_call_fails_that_call_only(tmp_path, mode):
    path = write_py(tmp_path, FIND_RUNTIME + """
def forge():
    runtime().send({"t": "sandbox_error", "error": "not your fault"})
    return 0
def f():
    return 1
""")
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        assert s.load_report.ok
        forged = s.call([Call("forge")])[0]
        assert not forged.ok and forged.kind == "protocol"
        assert s.call([Call("f")])[0].value == 1


def test_a_value_with_too_many_plain_items_is_refused_by_the_child_with_a_message(tmp_path, mode):
    path = write_py(tmp_path, """
def many():
    return [[] for _ in range(1_200_000)]
def f():
    return 1
""")
    with SandboxSession(path, limits=FAST.replace(request_seconds=20.0), mode=mode) as s:
        reply = s.call([Call("many")])[0]
        assert reply.kind == "unsupported" and "values besides arrays" in reply.error, reply
        assert "numpy array" in reply.error
        assert s.call([Call("f")])[0].value == 1


def test_a_raw_frame_of_empty_lists_is_refused_before_it_is_parsed(tmp_path, mode):
    # 12 MiB of "[[],[],...]": 4 million values; parsed, a 256 MiB one took 12.8 GB.
    path = write_py(tmp_path, FIND_RUNTIME + """
import os, struct
def bomb(size):
    text = b"[" + b"[]," * (size // 3) + b"[]]"
    os.write(runtime().rep, struct.pack(">4sIQ", b"DLG1", len(text), 0) + text)
    return 0
def f():
    return 1
""")
    limits = FAST.replace(request_seconds=20.0)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        for size in (12 << 20, 20 << 20):   # under the JSON cap, and over it
            tracemalloc.start()
            try:
                reply = s.call([Call("bomb", args=[size])])[0]
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert not reply.ok and reply.kind == "protocol", reply
            assert "values" in reply.error or "JSON part" in reply.error, reply.error
            assert peak < PARENT_PEAK_BYTES, f"the parent peaked at {peak >> 20} MiB"
            assert s.call([Call("f")])[0].value == 1


def test_json_values_counts_outside_strings():
    assert wire.json_values(b'{"a": [1, 2, 3]}') == 6   # the dict, its key, the list, three numbers
    assert wire.json_values(b'"[[[,,,:::{{{"') == 1
    assert wire.json_values(b'["a\\"[,", 1]') == 3
