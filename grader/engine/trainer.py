"""Train a student's model in a second sandboxed process that runs none of the student's code.

The student's process only *builds* the model: the ``keras_export_model``
task saves its architecture (a ``.keras`` file without weights) and sends
the bytes back. This module writes them, with a grader-owned main module
that does nothing, into a folder of their own and opens a second
:class:`~grader.engine.sandbox.SandboxSession` on it, in the same sandbox mode and
under the same limits. Its tasks (``keras_describe_saved``,
``keras_train_saved``) rebuild the model from the configuration with fresh
weights (refusing custom objects and configurations that carry data, see
``grader/engine/sandbox/child/saved_model.py``), train it on data the grader made
and predict the held-out images. Replacing the training harness, or
anything else in the student's process, changes nothing here.

One export and one trainer process per submission, opened on the first
request that needs them and closed with :meth:`ModelTrainer.close`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from grader.engine.sandbox import Reply, SandboxSession

MAX_ARCHITECTURE_BYTES = 1 << 20
"""The saved architecture holds no weights; 1 MiB is four times the largest configuration allowed."""

UNUSED_BY_THE_TRAINER = ("sklearn", "pandas", "matplotlib")
"""Packages the trainer process never imports (Keras asks for them only if they are installed)."""

MODEL_FILE = "model.keras"
TRAINER_MODULE = "trainer"
TRAINER_SOURCE = f'''"""The grader's trainer: it loads no student code; its tasks read model.keras."""
import sys

# Keras imports these whenever they are installed, for what a trainer never does (scikit-learn
# wrappers, pandas inputs, plots): 2.5 of the 8.8 CPU-seconds of importing it, once per submission.
for _name in {UNUSED_BY_THE_TRAINER!r}:
    sys.modules.setdefault(_name, None)
'''


class ModelTrainer:
    """Runs trainer requests for the submission of ``student`` (an open session)."""

    def __init__(self, student: SandboxSession) -> None:
        self.student = student
        self._exports: dict[str, Reply] = {}
        self._sessions: dict[str, SandboxSession] = {}
        self._folders: list[str] = []

    def run(self, request: dict) -> Reply:
        """``request``: ``{"export": {task params}, "task": NAME, "params": {...}}``; one :class:`Reply`."""
        export = dict(request["export"])
        key = repr(sorted(export.items()))
        session = self._sessions.get(key)
        if session is None:
            failure = self._exports.get(key)
            if failure is not None:
                return failure
            reply = self.student.task("keras_export_model", params=export)
            architecture, why = _architecture(reply)
            if architecture is None:
                self._exports[key] = why
                return why
            session = self._open(architecture)
            self._sessions[key] = session
        if not session.load_report.ok:
            raise RuntimeError(f"the trainer process did not start: {session.load_report.error}")
        return _as_trainers_words(session.task(request["task"], params={"path": MODEL_FILE, **request["params"]}))

    def _open(self, architecture: bytes) -> SandboxSession:
        folder = tempfile.mkdtemp(prefix="dlgrade-trainer-")
        self._folders.append(folder)
        (Path(folder) / MODEL_FILE).write_bytes(architecture)
        (Path(folder) / f"{TRAINER_MODULE}.py").write_text(TRAINER_SOURCE)
        # Same mode, limits and trust as the student's session (the kit's `dlgrade check` grades the
        # student's own code, and then the architecture is theirs too).
        return SandboxSession(folder, limits=self.student.limits, module_name=TRAINER_MODULE,
                              mode=self.student.mode, own_code=getattr(self.student, "_own_code", False))

    @property
    def stderr(self) -> str:
        return "".join(session.stderr for session in self._sessions.values())

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders.clear()

    def __enter__(self) -> "ModelTrainer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _as_trainers_words(reply: Reply) -> Reply:
    """A failure of the trainer process is the grader's own verdict on the saved architecture:
    no student code ran there, so its words may be shown even for a hidden question."""
    if reply.ok or reply.kind != "unsupported":
        return reply
    return Reply.failure("refused", reply.error or "the grader refused the model's architecture", reply.seconds)


def _architecture(reply: Reply) -> tuple[bytes | None, Reply | None]:
    """The ``.keras`` bytes of an export reply, or a failed reply saying why there are none."""
    if not reply.ok:
        return None, reply
    value = reply.value.get("keras") if isinstance(reply.value, dict) else None
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 1:
        return None, Reply.failure("refused", "the model could not be saved as a .keras file")
    if value.size > MAX_ARCHITECTURE_BYTES:
        return None, Reply.failure("refused", f"the model's saved architecture takes {value.size:,} bytes, "
                                                  f"more than the {MAX_ARCHITECTURE_BYTES:,} allowed")
    return value.tobytes(), None
