"""One submission running in a sandboxed child process, driven with plain data.

The parent (this module) owns every deadline, every limit and every
decision; the child runtime (``grader/engine/sandbox/child``) only loads the
submission and answers requests. Nothing the child sends is unpickled or
evaluated: frames are validated by :mod:`grader.engine.sandbox.child.wire`.

One job, though over 500 lines: the life of one child as the student's
code sees it. Loading (re-run without a cell that hangs or kills it), the
exchange of requests and replies, restarts and the wall budget share one
child, one budget and one lock, so they stay together. How the child is
isolated is its launcher's (``launchers/``); the pipes and the checking of
what comes through them are ``channel.py``'s.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Sequence

from grader.engine.sandbox import isolation, landlock, procfs, staging
from grader.engine.sandbox.channel import (
    ChildChannel,
    FairDeadline,
    cell_report,
    clean_error,
    decode_reply,
    encode_request,
    int_or_none,
)
from grader.engine.sandbox.child import tasks as child_tasks
from grader.engine.sandbox.child import wire
from grader.engine.sandbox.errors import SandboxError
from grader.engine.sandbox.launchers.base import Launcher
from grader.engine.sandbox.limits import Limits
from grader.engine.sandbox.staging import SESSION_PREFIX, Rejected
from grader.engine.sandbox.types import Call, CellReport, LoadReport, Reply


class _State:
    """What must be cleaned up even if the session object is dropped without close()."""

    def __init__(self) -> None:
        self.child: ChildChannel | None = None
        self.launcher: Launcher | None = None
        self.session_dir: str | None = None
        self.stdout_fd = -1
        self.stderr_fd = -1

    def kill_child(self, grace: float = 0.0) -> int | None:
        """Kill the child and everything it started; return how it ended.

        ``grace``: seconds to let a child whose pipe closed end on its own
        first, so that its own exit status (not our SIGKILL) is reported.
        """
        child, self.child = self.child, None
        if child is None:
            return None
        natural = None
        if grace > 0:
            try:
                natural = child.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                natural = None
        code = self.launcher.kill(child.proc)
        child.close_fds()
        return natural if natural is not None else code

    def cleanup(self) -> None:
        self.kill_child()
        for name in ("stdout_fd", "stderr_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self.launcher is not None:
            self.launcher.release()
        if self.session_dir:
            shutil.rmtree(self.session_dir, ignore_errors=True)
            self.session_dir = None


class SandboxSession:
    """Run ``submission`` in an isolated child; talk to it with plain data.

    ``submission``: a ``.py`` file, a ``.ipynb`` notebook, or a directory
    holding one main ``.py``/``.ipynb`` (``module_name.py`` or
    ``module_name.ipynb`` preferred) plus data files. The files are copied
    into a private working directory the child sees as ``/submission``.

    ``mode``: ``"bwrap"`` (bubblewrap required), ``"none"`` (rlimits, a
    timeout and seccomp, no namespaces) or ``"auto"``; default: the ``DLGRADE_SANDBOX`` variable,
    else auto. ``slot``: which uid slot to use (``None``: the first free).

    The child is started and the submission loaded in the constructor; see
    :attr:`load_report`. Use as a context manager, or call :meth:`close`.

    ``own_code``: the submission is the code of whoever runs the grader (the
    student kit's ``dlgrade check``). A stranger's code (the default) is not
    run in a fallback without seccomp and Landlock unless
    ``DLGRADE_ALLOW_WEAK_SANDBOX=1``: :class:`isolation.SandboxUnavailable`.
    A session is driven by one thread at a time (calls are serialised by a
    lock). The child is tied to the thread that started it (it dies with
    that thread), so start and use a session in one thread.
    """

    def __init__(self, submission: str | os.PathLike, limits: Limits | None = None,
                 module_name: str = "submission", slot: int | None = None, *, mode: str | None = None,
                 own_code: bool = False) -> None:
        self.limits = limits if limits is not None else Limits()
        if not isinstance(self.limits, Limits):
            raise TypeError("limits must be a Limits")
        if not isinstance(module_name, str) or not module_name.isidentifier() or module_name.startswith("_"):
            raise ValueError(f"module_name must be a public Python identifier, not {module_name!r}")
        self.module_name = module_name
        self.submission = Path(submission)
        if not self.submission.exists():
            raise FileNotFoundError(f"no such submission: {self.submission}")
        self.restarts = 0
        self.seconds = 0.0
        self.load_reports: list[LoadReport] = []
        self._lock = threading.RLock()
        self._closed = False
        self._loaded_ok = False
        self._stdout_cache: str | None = None
        self._stderr_cache: str | None = None
        self._skip_cells: dict[str, str] = {}
        self._slot_arg = slot
        self._own_code = own_code
        self._state = _State()
        self._finalizer = weakref.finalize(self, _State.cleanup, self._state)
        try:
            self._setup(isolation.requested_mode(mode))
            self.load_report = self._first_load()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ setup
    def _setup(self, mode: str) -> None:
        launcher_class, why_not_bwrap = isolation.choose_launcher(mode)
        state = self._state
        staging.sweep_stale_session_dirs()
        state.session_dir = tempfile.mkdtemp(prefix=f"{SESSION_PREFIX}{os.getpid()}-")
        self.workdir = os.path.join(state.session_dir, "files")
        os.mkdir(self.workdir, 0o755)
        os.chmod(self.workdir, 0o755)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._stdout_path = os.path.join(state.session_dir, "stdout")
        self._stderr_path = os.path.join(state.session_dir, "stderr")
        state.stdout_fd = os.open(self._stdout_path, flags, 0o600)
        state.stderr_fd = os.open(self._stderr_path, flags, 0o600)
        self._launcher = state.launcher = launcher_class(
            self.limits, state.session_dir, self.workdir, slot=self._slot_arg, own_code=self._own_code,
            why_not_bwrap=why_not_bwrap)
        self._launcher.prepare()

    @property
    def mode(self) -> str:
        """``"bwrap"`` or ``"none"``: the launcher that isolates the child."""
        return self._launcher.mode

    @property
    def uid(self) -> int | None:
        """The uid the student's code runs as, where it is a slot's (None: the grader's own)."""
        return self._launcher.uid

    @property
    def isolation(self) -> str:
        """The isolation line of every result: how the child is confined, in words."""
        return self._launcher.isolation

    # ---------------------------------------------------------------- loading
    def _first_load(self) -> LoadReport:
        notes: list[str] = []
        try:
            main, kind, total_bytes, total_files = staging.copy_submission(
                self.submission, self.workdir, self.module_name, notes)
        except Rejected as exc:
            return self._record_load(LoadReport(False, str(exc), exc.kind, [], 0.0, None, notes))
        self._launcher.files_copied(total_bytes, total_files)
        self._main, self._main_kind = main, kind
        report = self._load(notes)
        self._loaded_ok = report.ok
        return report

    def _record_load(self, report: LoadReport) -> LoadReport:
        self.load_reports.append(report)
        return report

    def _load(self, notes: list[str]) -> LoadReport:
        """Start a child and load the submission; re-run without a cell (of a notebook or a
        percent-format script) that hangs or kills it."""
        cells_before: list[CellReport] = []
        while True:
            report, running_cell = self._start_and_load()
            report.notes = notes + report.notes
            if (report.ok or running_cell is None
                    or report.kind not in ("timeout", "crashed")
                    or self.restarts >= self.limits.max_restarts or self._budget_left() <= 0):
                if cells_before and not report.cells:
                    report.cells = cells_before
                return self._record_load(report)
            # A cell hung or killed the process: run the submission again without it.
            if report.kind == "timeout":
                reason = f"it did not finish within the load time limit of {self.limits.load_seconds:g} s"
            else:
                reason = (report.error or "the process died").split(" in cell ")[0]
            self._skip_cells[str(running_cell)] = f"{reason}; the submission was run again without this cell"
            self.restarts += 1
            cells_before = report.cells
            self.load_reports.append(report)
            notes = notes + [f"cell {running_cell}: {reason}; the submission was run again without it"]

    def _start_and_load(self) -> tuple[LoadReport, int | None]:
        """(report, index of the notebook cell that was running when the load failed)."""
        started = time.monotonic()
        budget_left = self._budget_left()
        if budget_left <= 0:
            return LoadReport(False, self._budget_message(), "budget", [], 0.0, self._main), None
        limit = min(self.limits.load_seconds, budget_left)
        deadline = started + limit
        deadline_kind = "timeout" if self.limits.load_seconds <= budget_left else "budget"
        cells: list[CellReport] = []
        running: int | None = None

        def finish(ok: bool, kind: str, error: str | None):
            elapsed = time.monotonic() - started
            self.seconds += elapsed
            return LoadReport(ok, clean_error(error), kind, cells, round(elapsed, 6), self._main), running

        try:
            child = self._spawn()
        except OSError as exc:
            raise SandboxError(f"the sandbox could not be started: {exc}") from exc
        self._state.child = child
        try:
            message, _ = self._read(child, deadline)
            if message.get("t") != "hello":
                raise wire.WireError("the child did not start with a greeting")
            self._enter_cgroup(child)
        except wire.FrameTimeout:
            self._kill()
            return finish(False, deadline_kind, f"the sandbox did not start within {limit:g} s")
        except wire.FrameEOF:
            code = self._kill(grace=2.0)
            if not self.load_reports:  # nothing of the student's has run yet: the sandbox itself failed
                raise SandboxError(f"the sandbox did not start ({self._launcher.describe_exit(code)}): "
                                             f"{self._read_capped(self._stderr_path)[-2000:].strip()}") from None
            return finish(False, "crashed", f"the sandbox did not start ({self._launcher.describe_exit(code)})")
        except wire.WireError as exc:
            self._kill()
            return finish(False, "protocol", f"the child sent malformed data: {exc}")
        fair = FairDeadline(started, limit, child.members(self._launcher.cgroup)) if deadline_kind == "timeout" else None
        try:
            wire.write_all(child.req_w, wire.pack(self._config(child.proc.pid)), deadline)
            confined = False  # the runtime says "confined" before any of the student's code runs
            while True:
                message, _ = self._read(child, deadline) if fair is None else self._read_fair(child, fair)
                kind = message.get("t")
                if not confined:
                    # Only the runtime speaks before "confined": its word about the sandbox is trusted.
                    if kind == "sandbox_error":
                        self._kill()
                        raise SandboxError(f"the sandbox could not confine the child: "
                                                     f"{str(message.get('error'))[:300]}")
                    if kind == "landlock_failed":
                        self._landlock_failed(str(message.get("error"))[:300])
                        continue
                    if kind != "confined":
                        raise wire.WireError(f"unexpected message {str(kind)[:40]!r} before the child was confined")
                    confined = True
                    continue
                if kind in ("sandbox_error", "landlock_failed", "confined"):
                    # After "confined", only student code could send these: never a grader fault.
                    raise wire.WireError(f"a {kind!r} message after the student's code started, which only "
                                         "the sandbox may send")
                if kind == "cell_start":
                    running = int_or_none(message.get("index"))
                elif kind == "cell":
                    cells.append(cell_report(message))
                    running = None
                elif kind == "loaded":
                    break
                else:
                    raise wire.WireError(f"unexpected message {str(kind)[:40]!r} while loading")
        except wire.FrameTimeout:
            self._kill()
            where = f" (in cell {running})" if running is not None else ""
            if deadline_kind == "budget":
                return finish(False, "budget", self._budget_message() + where)
            what = "notebook" if self._main_kind == "ipynb" else "import"
            waited = f", {fair.moved:.1f} s more given for a busy machine" if fair is not None and fair.moved else ""
            return finish(False, "timeout", f"loading the submission timed out after {limit:g} s{where}{waited} "
                                            f"(an infinite loop or slow code at {what} time?)")
        except wire.FrameEOF:
            code = self._kill(grace=2.0)
            where = f"in cell {running}" if running is not None else (
                "during import" if self._main_kind == "py" else "while loading the notebook")
            return finish(False, "crashed", f"{self._launcher.describe_exit(code)} {where}")
        except wire.WireError as exc:
            self._kill()
            return finish(False, "protocol", f"the child sent malformed data while loading: {exc}")
        report = message.get("report")
        try:
            if not isinstance(report, dict) or type(report.get("ok")) is not bool:
                raise wire.WireError("a malformed load report")
            reported_cells = report.get("cells") or []
            if not isinstance(reported_cells, list):
                raise wire.WireError("a malformed load report")
            cells = [cell_report(c) for c in reported_cells if isinstance(c, dict)] or cells
        except wire.WireError as exc:
            self._kill()
            return finish(False, "protocol", f"the child sent {exc}")
        kind = report.get("kind") if report.get("kind") in ("ok", "exception") else "protocol"
        ok = report["ok"] and kind == "ok"
        if not ok:
            self._kill()  # nothing can be asked of a submission that did not load
        return finish(ok, kind, None if ok else (report.get("error") or "the submission could not be loaded"))

    def _landlock_failed(self, error: str) -> None:
        """The child could not apply its Landlock rules: it runs without them, and the isolation line says so."""
        version, _ = landlock.abi()
        words = landlock.describe(version)
        launcher = self._launcher
        if words in launcher.isolation:
            launcher.isolation = launcher.isolation.replace(words, f"no landlock (the child could not apply it: {error})")

    def _config(self, child_pid: int) -> dict:
        """The child's configuration: what to load, its limits, and (from the launcher) where it works and
        what it must confine itself with."""
        limits = self.limits
        rlimits = {"AS": [limits.memory_bytes, limits.memory_bytes],
                   "CPU": [limits.cpu_seconds, limits.cpu_seconds + 1],
                   "FSIZE": [limits.file_bytes, limits.file_bytes],
                   "CORE": [0, 0]}
        config = {"main": self._main, "kind": self._main_kind, "module_name": self.module_name,
                  "sys_path": isolation.child_sys_path(), "rlimits": rlimits, "threads": limits.threads,
                  "reply_bytes": limits.reply_bytes, "skip_cells": dict(self._skip_cells)}
        config.update(self._launcher.child_config(child_pid, rlimits))
        return config

    def _spawn(self) -> ChildChannel:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        launched_fds: tuple[int, ...] = ()
        try:
            launch = self._launcher.command(req_r, rep_w)
            launched_fds = launch.pass_fds
            proc = subprocess.Popen(launch.argv, stdin=subprocess.DEVNULL, stdout=self._state.stdout_fd,
                                    stderr=self._state.stderr_fd, pass_fds=[req_r, rep_w, *launched_fds],
                                    cwd=launch.cwd, env=self._launcher.environment(), start_new_session=True,
                                    close_fds=True)
        except BaseException:
            for fd in (req_w, rep_r):
                os.close(fd)
            raise
        finally:
            for fd in (req_r, rep_w, *launched_fds):
                os.close(fd)
        os.set_blocking(req_w, False)
        os.set_blocking(rep_r, False)
        return ChildChannel(proc, req_w, rep_r)

    def _enter_cgroup(self, child: ChildChannel) -> None:
        """Move the started child (under bubblewrap: its few processes) into the session's control groups.

        Called once it has said hello: it now waits for its configuration, so
        none of the student's code has run and nothing is forking.
        """
        group = self._launcher.cgroup
        if group is None:
            return
        try:
            for pid in procfs.process_tree(child.proc.pid):
                group.add(pid)
        except OSError as exc:
            self._kill()
            raise SandboxError(f"the child could not be put in its control group: {exc}") from None

    # ------------------------------------------------------------- plumbing
    def _read(self, child: ChildChannel, deadline: float):
        return child.read(deadline, self.limits.reply_bytes)

    def _read_fair(self, child: ChildChannel, deadline: FairDeadline):
        return child.read_fair(deadline, self.limits.reply_bytes)

    def _kill(self, grace: float = 0.0) -> int | None:
        return self._state.kill_child(grace)

    def _budget_left(self) -> float:
        return self.limits.wall_seconds - self.seconds

    def _budget_message(self) -> str:
        return f"the submission's time budget of {self.limits.wall_seconds:g} s is spent"

    @staticmethod
    def _read_capped(path: str, limit: int = 1 << 20) -> str:
        try:
            with open(path, "rb") as handle:
                return handle.read(limit).decode("utf-8", errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------- requests
    def _request(self, kind: str, body: Any, count: int, timeout: float | None) -> list[Reply]:
        """Send one request, read ``count`` replies. Never raises for what the child does."""
        obj, arrays = encode_request(body)
        with self._lock:
            if self._closed:
                raise RuntimeError("the sandbox session is closed")
            if not self._loaded_ok:
                error = f"the submission could not be loaded: {self.load_report.error or self.load_report.kind}"
                return [Reply.failure("not_loaded", error)] * count
            if self._budget_left() <= 0:
                return [Reply.failure("budget", self._budget_message())] * count
            if self._state.child is None:
                if self.restarts >= self.limits.max_restarts:
                    return [Reply.failure("restarts", f"the child was restarted {self.restarts} times already; "
                                                      "no more restarts are allowed")] * count
                self.restarts += 1
                report = self._load([])
                if not report.ok:
                    self._kill()
                    return [Reply.failure(report.kind, f"restarting the submission failed: {report.error}",
                                          report.seconds)] * count
            return self._exchange(kind, obj, arrays, count, timeout)

    def _exchange(self, kind: str, obj: Any, arrays: list, count: int, timeout: float | None) -> list[Reply]:
        child = self._state.child
        started = time.monotonic()
        request_seconds = self.limits.request_seconds if timeout is None else float(timeout)
        budget_left = self._budget_left()
        limit = min(request_seconds, budget_left)
        deadline = started + limit
        deadline_kind = "timeout" if request_seconds <= budget_left else "budget"
        rid = child.next_id
        child.next_id += 1
        replies: list[Reply] = []
        mark = started

        def fail_rest(kind_: str, error: str) -> list[Reply]:
            now = time.monotonic()
            first = True
            while len(replies) < count:
                replies.append(Reply.failure(kind_, error if first else f"not run: {error}", now - mark if first else 0.0))
                first = False
            return replies

        fair = FairDeadline(started, limit, child.members(self._launcher.cgroup)) if deadline_kind == "timeout" else None
        try:
            try:
                wire.write_all(child.req_w, wire.pack({"t": kind, "id": rid, "body": obj}, arrays), deadline)
            except wire.FrameEOF:
                pass  # the child is gone; reading says how
            while len(replies) < count:
                message, blob = self._read(child, deadline) if fair is None else self._read_fair(child, fair)
                replies.append(decode_reply(message, blob, rid, len(replies), time.monotonic() - mark,
                                            self.limits.reply_bytes))
                mark = time.monotonic()
        except wire.FrameTimeout:
            self._kill()
            if deadline_kind == "budget":
                fail_rest("budget", self._budget_message())
            else:
                fail_rest("timeout", f"timed out after {limit:g} s")
        except wire.FrameEOF:
            code = self._kill(grace=2.0)
            fail_rest("crashed", f"{self._launcher.describe_exit(code)} during the request")
        except wire.WireError as exc:
            self._kill()
            fail_rest("protocol", f"the child sent malformed data: {exc}")
        finally:
            self.seconds += time.monotonic() - started
        return replies

    # ------------------------------------------------------------- public API
    def call(self, calls: Sequence[Call], *, timeout: float | None = None) -> list[Reply]:
        """Run a batch of calls in order; one :class:`Reply` per call.

        ``timeout`` overrides ``limits.request_seconds`` for this batch (the
        wall budget still applies).
        """
        calls = list(calls)
        for c in calls:
            if not isinstance(c, Call):
                raise TypeError(f"call() takes Call objects, not {type(c).__name__}")
        if not calls:
            return []
        body = [{"fn": c.fn, "args": list(c.args), "kwargs": dict(c.kwargs), "keep": c.keep, "pick": c.pick}
                for c in calls]
        return self._request("call", body, len(calls), timeout)

    def get(self, name: str, *, timeout: float | None = None) -> Reply:
        """A module-level name of the submission, as plain data."""
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        return self._request("get", name, 1, timeout)[0]

    def names(self, *, timeout: float | None = None) -> Reply:
        """The sorted public names of the submission's module (modules left out)."""
        return self._request("names", None, 1, timeout)[0]

    def task(self, name: str, params: dict | None = None, *, timeout: float | None = None) -> Reply:
        """Run a harness task (``grader/engine/sandbox/child/tasks.py``) in the child."""
        params = dict(params or {})
        fn = child_tasks.TASKS.get(name)
        if fn is None:
            raise ValueError(f"no harness task {name!r}; known: {sorted(child_tasks.TASKS)}")
        try:
            inspect.signature(fn).bind(None, **params)
        except TypeError as exc:
            raise TypeError(f"task {name!r}: {exc}") from None
        return self._request("task", {"name": name, "params": params}, 1, timeout)[0]

    @property
    def stdout(self) -> str:
        """What the student's code printed on stdout (capped at ``limits.file_bytes``)."""
        if self._stdout_cache is not None:
            return self._stdout_cache
        return self._read_capped(self._stdout_path, self.limits.file_bytes)

    @property
    def stderr(self) -> str:
        if self._stderr_cache is not None:
            return self._stderr_cache
        return self._read_capped(self._stderr_path, self.limits.file_bytes)

    @property
    def alive(self) -> bool:
        return self._state.child is not None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            state = self._state
            state.kill_child()
            if state.session_dir and hasattr(self, "_stderr_path"):
                self._stdout_cache = self._read_capped(self._stdout_path, self.limits.file_bytes)
                self._stderr_cache = self._read_capped(self._stderr_path, self.limits.file_bytes)
            else:
                self._stdout_cache = self._stderr_cache = ""
            self._closed = True
            self._finalizer()

    def __enter__(self) -> "SandboxSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SandboxSession {self.submission.name} {self.mode} restarts={self.restarts}>"
