"""Plain behaviour: loading .py, notebooks and folders; calls, slots, replies of every kind."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sandbox_support import FAST, REPO, write_notebook, write_py

from grader.engine.sandbox import Call, Limits, LoadReport, Reply, SandboxSession, SlotRef, isolation_available
from grader.engine.sandbox.staging import choose_main

LAYERS = """
import numpy as np

LOSS = 0.2984
DL_DZ = "a - y"
SHAPES = {"W": (4, 2), "nested": [1, (2, 3)]}

def dense_forward(x, W, b):
    out = x @ W + b
    return out, (x, W, b)

def dense_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)

def echo(*args, **kwargs):
    return [list(args), kwargs]

def types_of(*args):
    return [type(a).__name__ for a in args]

def nan_ratio():
    return float("nan"), np.array([np.nan, np.inf, -np.inf, -0.0])

def raises():
    helper()

def helper():
    return {}["missing key"]

def not_implemented():
    raise NotImplementedError("TODO")

def returns_bytes():
    return b"abc"

def returns_function():
    return helper

def quits():
    import sys
    sys.exit(3)

class Counter:
    def __init__(self, start):
        self.n = start
    def add(self, k):
        self.n += k
        return self.n

COUNT = 3
print("loaded", COUNT)
"""


@pytest.fixture
def layers(tmp_path):
    return write_py(tmp_path, LAYERS)


def test_limits_are_a_frozen_dataclass_with_dict_round_trip():
    limits = Limits()
    assert limits == Limits.from_dict(limits.to_dict())
    assert limits.replace(request_seconds=2).request_seconds == 2.0
    assert dataclasses.replace(limits, processes=128).processes == 128
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.wall_seconds = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown sandbox limit"):
        Limits.from_dict({"wall_secs": 3})
    with pytest.raises(ValueError):
        Limits(request_seconds=0)


def test_isolation_available_says_why():
    ok, why = isolation_available()
    assert isinstance(ok, bool) and why
    assert isolation_available("none") == (False, "disabled by DLGRADE_SANDBOX=none")


def test_py_loads_and_calls_round_trip_exactly(layers, mode):
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    with SandboxSession(layers, limits=FAST, mode=mode) as s:
        assert s.load_report == LoadReport(True, None, "ok", [], s.load_report.seconds, "submission.py", [])
        assert s.isolation.startswith("bubblewrap" if mode == "bwrap" else "rlimits, timeout, seccomp (signals only")
        (fwd,) = s.call([Call("dense_forward", args=[x, W, b], pick=0)])
        assert fwd.ok and fwd.kind == "ok" and fwd.error is None and fwd.seconds >= 0
        expected = x @ W + b
        assert fwd.value.dtype == np.float64 and fwd.value.tobytes() == expected.tobytes()
        ints = s.call([Call("echo", args=[np.arange(6, dtype=np.int16).reshape(2, 3), np.array([True, False]),
                                          np.array([1 + 2j], dtype=np.complex64), np.float32(1.5)],
                            kwargs={"t": (1, 2), "s": "é"})])[0]
        assert ints.ok
        (a16, flags, c64, f32), kwargs = ints.value
        assert a16.dtype == np.int16 and a16.tolist() == [[0, 1, 2], [3, 4, 5]]
        assert flags.dtype == np.bool_ and c64.dtype == np.complex64 and f32 == 1.5
        assert kwargs == {"t": [1, 2], "s": "é"}
        # Tuples reach the student's function as tuples, arrays as writable numpy arrays.
        assert s.call([Call("types_of", args=[(1, 2), np.zeros(2), [1], {"a": 1}])])[0].value == \
            ["tuple", "ndarray", "list", "dict"]
        assert "loaded 3" in s.stdout


def test_keep_pick_and_slot_refs_keep_the_cache_in_the_child(layers, mode):
    rng = np.random.default_rng(2)
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    with SandboxSession(layers, limits=FAST, mode=mode) as s:
        fwd, bwd, whole, kept = s.call([
            Call("dense_forward", args=[x, W, b], keep="fwd", pick=0),
            Call("dense_backward", args=[dout, SlotRef("fwd", 1)]),
            Call("dense_forward", args=[x, W, b]),
            Call("dense_forward", args=[x, W, b], keep="other"),
        ])
        assert np.array_equal(fwd.value, x @ W + b)
        dx, dW, db = bwd.value
        assert np.allclose(dx, dout @ W.T) and np.allclose(dW, x.T @ dout) and np.allclose(db, dout.sum(0))
        assert isinstance(whole.value, list) and len(whole.value) == 2  # (out, cache) as a list
        assert kept.ok and kept.value is None                           # kept, never sent
        # Slots live across requests; a whole slot can be passed too.
        (again,) = s.call([Call("dense_backward", args=[dout], kwargs={"cache": SlotRef("other", 1)})])
        assert np.array_equal(again.value[1], dW)
        empty, bad_index, bad_pick = s.call([
            Call("dense_backward", args=[dout, SlotRef("never")]),
            Call("dense_backward", args=[dout, SlotRef("fwd", 7)]),
            Call("dense_backward", args=[dout, SlotRef("fwd", 1)], pick=9),
        ])
        assert empty.kind == "exception" and "slot 'never' is empty" in empty.error
        assert bad_index.kind == "unsupported" and "no element 7" in bad_index.error
        assert bad_pick.kind == "unsupported" and "element 9" in bad_pick.error
        # A failed call empties its slot: a backward never runs on an older forward's cache.
        failed, stale = s.call([Call("dense_forward", args=[x, W[:2], b], keep="fwd"),
                                Call("dense_backward", args=[dout, SlotRef("fwd", 1)])])
        assert failed.kind == "exception" and failed.error.startswith("ValueError: matmul")
        assert stale.kind == "exception" and "slot 'fwd' is empty" in stale.error
        # Objects in slots: construct, then call a method.
        made, added, added2 = s.call([Call("Counter", args=[10], keep="c"), Call("@c.add", args=[5]),
                                      Call("@c.add", args=[1])])
        assert made.value is None and added.value == 15 and added2.value == 16


def test_reply_kinds_for_what_a_student_gets_wrong(layers, mode):
    with SandboxSession(layers, limits=FAST, mode=mode) as s:
        missing, not_callable, raised, todo, raw, fn, exits, after = s.call([
            Call("dense_fwd"), Call("LOSS"), Call("raises"), Call("not_implemented"), Call("returns_bytes"),
            Call("returns_function"), Call("quits"), Call("echo", args=[1]),
        ])
        assert missing.kind == "missing" and "dense_fwd" in missing.error and not missing.ok
        assert not_callable.kind == "not_callable" and "float" in not_callable.error
        assert raised.kind == "exception"
        assert raised.error.splitlines()[0] == "KeyError: 'missing key'"   # the first line names the error
        assert 'File "submission.py"' in raised.error and "in helper" in raised.error and "in raises" in raised.error
        assert "runtime.py" not in raised.error  # the runtime's own frames are not shown
        assert todo.kind == "exception" and todo.error.startswith("NotImplementedError: TODO\n")
        assert raw.kind == "unsupported" and "returned a bytes" in raw.error
        assert fn.kind == "unsupported" and "returned a function" in fn.error
        assert exits.kind == "exception" and "sys.exit(3) was called" in exits.error
        assert after.ok and after.value == [[1], {}]  # SystemExit did not end the child
        assert s.restarts == 0


def test_get_names_and_nan(layers, mode):
    with SandboxSession(layers, limits=FAST, mode=mode) as s:
        assert s.get("LOSS").value == 0.2984
        assert s.get("DL_DZ").value == "a - y"
        assert s.get("SHAPES").value == {"W": [4, 2], "nested": [1, [2, 3]]}
        assert s.get("nope").kind == "missing"
        assert s.get("helper").kind == "unsupported"
        names = s.names()
        assert names.ok and names.value == sorted(names.value)
        assert {"LOSS", "dense_forward", "Counter", "COUNT"} <= set(names.value)
        assert "np" not in names.value  # modules are left out
        (nan,) = s.call([Call("nan_ratio")])
        scalar, arr = nan.value
        assert np.isnan(scalar) and np.isnan(arr[0]) and arr[1] == np.inf and arr[2] == -np.inf
        assert np.signbit(arr[3])


def test_a_py_that_raises_at_import_is_not_loaded(tmp_path, mode):
    path = write_py(tmp_path, """
        import numpy as np
        def fine():
            return 1
        x = np.zeros(3) @ np.zeros(4)
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        report = s.load_report
        assert not report.ok and report.kind == "exception"
        assert "ValueError: matmul" in report.error and 'File "submission.py", line 5' in report.error
        reply = s.call([Call("fine")])[0]
        assert reply.kind == "not_loaded" and "matmul" in reply.error
        assert s.get("x").kind == "not_loaded" and s.restarts == 0
        assert not s.alive


def test_syntax_error_is_reported_with_its_line(tmp_path, bwrap):
    path = write_py(tmp_path, "def f(:\n    return 1\n")
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        assert s.load_report.kind == "exception"
        first = s.load_report.error.splitlines()[0]
        assert first.startswith("SyntaxError: ") and first.endswith("(submission.py, line 1)")
        assert "def f(:" in s.load_report.error


def test_notebook_cells_run_in_order_and_a_failing_cell_does_not_stop_the_rest(tmp_path, mode):
    path = write_notebook(tmp_path, [
        ("markdown", "# Homework 1"),
        """
        %matplotlib inline
        import numpy as np
        !pip install something
        files = !ls
        """,
        "def relu(x):\n    return np.maximum(x, 0)",
        "undefined_name + 1",
        "%time y = relu(np.array([-1.0, 2.0]))",
        "%%writefile helper.py\ndef twice(v):\n    return 2 * v\n",
        "from helper import twice\nimport sys\nsys.exit(0)",
        "%%bash\necho not python",
        "LOSS = twice(0.25)\nprint('done', y)\nget_ipython().run_line_magic('load_ext', 'autoreload')",
        "np.linalg.norm?",
    ])
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        report = s.load_report
        assert report.ok and report.kind == "ok" and report.main == "submission.ipynb"
        by_index = {c.index: c for c in report.cells}
        assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # markdown cell 0 is not code
        assert by_index[1].ok and any("%matplotlib inline" in n for n in by_index[1].notes)
        assert any("pip install" in n for n in by_index[1].notes)
        assert by_index[2].ok
        assert not by_index[3].ok and "NameError" in by_index[3].error and "<cell 3>" in by_index[3].error
        assert by_index[4].ok and by_index[5].ok and any("helper.py" in n for n in by_index[5].notes)
        assert not by_index[6].ok and "sys.exit(0) was called" in by_index[6].error
        assert by_index[7].ok and any("%%bash" in n for n in by_index[7].notes)
        assert by_index[8].ok and by_index[9].ok
        assert s.get("LOSS").value == 0.5
        assert s.call([Call("relu", args=[np.array([-2.0, 3.0])])])[0].value.tolist() == [0.0, 3.0]
        assert "done [-0.  2.]" in s.stdout or "done [0. 2.]" in s.stdout


def test_invalid_notebook_is_a_load_error(tmp_path, bwrap):
    path = tmp_path / "submission.ipynb"
    path.write_text("{not json")
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        assert not s.load_report.ok and "not valid JSON" in s.load_report.error


def test_folder_with_helper_module_data_file_and_writes_to_cwd(tmp_path, mode):
    folder = tmp_path / "alice"
    folder.mkdir()
    np.save(folder / "weights.npy", np.arange(4.0))
    (folder / "data").mkdir()
    (folder / "data" / "cfg.json").write_text(json.dumps({"scale": 3}))
    write_py(folder, "def scale(v):\n    return v * 3\n", name="mathutil.py")
    write_py(folder, """
        import json, numpy as np
        from mathutil import scale
        W = np.load("weights.npy")
        CFG = json.load(open("data/cfg.json"))
        np.save("written.npy", W)       # the working directory is writable
        def scaled():
            return scale(np.load("written.npy"))
    """, name="hw1.py")
    with SandboxSession(folder, limits=FAST, mode=mode, module_name="hw1") as s:
        assert s.load_report.ok and s.load_report.main == "hw1.py"
        assert s.get("CFG").value == {"scale": 3}
        assert s.call([Call("scaled")])[0].value.tolist() == [0.0, 3.0, 6.0, 9.0]
    assert not (folder / "written.npy").exists()  # the original folder is never touched


def test_choosing_the_main_file(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    assert "no .py or .ipynb" in choose_main(a, "submission")
    (a / "notes.txt").write_text("x")
    (a / "work.py").write_text("from util import f\n")
    (a / "util.py").write_text("def f(): pass\n")
    assert choose_main(a, "submission").name == "work.py"      # the one nothing imports
    (a / "hw.ipynb").write_text("{}")
    assert choose_main(a, "submission").name == "hw.ipynb"      # one notebook wins over helpers
    (a / "submission.py").write_text("")
    assert choose_main(a, "submission").name == "submission.py"
    b = tmp_path / "b"
    b.mkdir()
    (b / "x.py").write_text("")
    (b / "y.py").write_text("")
    assert "several candidate files" in choose_main(b, "submission")


def test_folder_without_code_and_wrong_file_type(tmp_path, bwrap):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "readme.txt").write_text("hi")
    with SandboxSession(folder, limits=FAST, mode=bwrap) as s:
        assert s.load_report.kind == "missing" and not s.load_report.ok
        assert s.call([Call("f")])[0].kind == "not_loaded"
    other = tmp_path / "answers.txt"
    other.write_text("42")
    with SandboxSession(other, limits=FAST, mode=bwrap) as s:
        assert s.load_report.kind == "missing"
    with pytest.raises(FileNotFoundError):
        SandboxSession(tmp_path / "nope.py")


def test_bad_requests_are_the_grader_s_errors(layers, bwrap):
    with SandboxSession(layers, limits=FAST, mode=bwrap) as s:
        with pytest.raises(TypeError):
            s.call([Call("echo", args=[object()])])
        with pytest.raises(ValueError, match="no harness task"):
            s.task("no_such_task")
        with pytest.raises(TypeError, match="unexpected keyword"):
            s.task("keras_describe", params={"builder": "f", "colour": "red"})
        assert s.call([]) == []
        assert s.call([Call("echo", args=[2])])[0].value == [[2], {}]
    with pytest.raises(RuntimeError, match="closed"):
        s.call([Call("echo")])


def test_reply_dataclass_shape():
    reply = Reply(True, 1, None, "ok", 0.5)
    assert (reply.ok, reply.value, reply.error, reply.kind, reply.seconds) == (True, 1, None, "ok", 0.5)
    assert Reply.failure("timeout", "late").ok is False


def test_child_environment_is_clean_and_deterministic(tmp_path, mode, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("DLGRADE_SECRET", "instructor-only")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")       # as the dlgrade command sets it for itself
    path = write_py(tmp_path, """
        import os, sys
        def env():
            return dict(os.environ)
        def hashes():
            return [hash("abc"), list({"x", "y", "z", "w"})]
        def modules():
            return sorted(m for m in sys.modules if m.split(".")[0] in ("grader", "reference", "tensorflow", "keras"))
    """)
    limits = FAST.replace(threads=2)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        env, first, mods = [r.value for r in s.call([Call("env"), Call("hashes"), Call("modules")])]
    with SandboxSession(path, limits=limits, mode=mode) as s:
        second = s.call([Call("hashes")])[0].value
    assert first == second                                   # PYTHONHASHSEED=0
    assert "HTTP_PROXY" not in env and "DLGRADE_SECRET" not in env
    assert env["OMP_NUM_THREADS"] == "2" == env["OPENBLAS_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"]
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["LANG"] == "C.UTF-8"
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "1"               # TensorFlow's fast kernels on every CPU
    assert env["KERAS_HOME"].endswith(".keras") and env["MPLCONFIGDIR"] == env["HOME"]
    if mode == "bwrap":
        assert env["HOME"] == "/tmp"
    assert mods == []                                        # nothing heavy is imported for the student


def test_sandbox_info_reports_the_isolation(tmp_path, bwrap):
    path = write_py(tmp_path, "X = 1\n")
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        info = s.task("sandbox_info").value
        assert info["uid"] == s.uid == info["euid"] and info["uid"] >= 1000 and info["groups"] == []
        assert info["cwd"] == "/submission" and info["hostname"] == "sandbox"
        assert info["pid"] < 10                                 # its own pid namespace
        assert info["status"]["CapEff"] == "0000000000000000" and info["status"]["NoNewPrivs"] == "1"
        assert info["rlimits"]["RLIMIT_AS"] == [FAST.memory_bytes] * 2
        assert info["rlimits"]["RLIMIT_NPROC"] == [FAST.processes] * 2
        assert info["rlimits"]["RLIMIT_FSIZE"] == [FAST.file_bytes] * 2
        assert not any(p.startswith(str(REPO)) and "site-packages" not in p for p in info["path"][1:])


def test_large_arrays_cross_both_ways(layers, mode):
    big = np.random.default_rng(3).standard_normal((2000, 1000))  # 16 MB each way, far beyond a pipe buffer
    with SandboxSession(layers, limits=FAST.replace(reply_bytes=64 << 20), mode=mode) as s:
        (reply,) = s.call([Call("echo", args=[big])])
    assert reply.ok and reply.value[0][0].tobytes() == big.tobytes()
