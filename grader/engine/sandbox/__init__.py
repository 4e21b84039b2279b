"""Run a student's submission in an isolated child process and talk to it with plain data.

The child is started through bubblewrap (new pid, network, IPC, UTS and
mount namespaces; a filesystem view holding only the Python runtime, the
child runtime and the submission's own files) and runs as a dedicated
non-root uid per slot, under rlimits and a seccomp filter. Where bubblewrap
cannot be used it falls back to rlimits, a timeout, seccomp and Landlock
(the child confines itself), and says so in :attr:`SandboxSession.isolation`.

    with SandboxSession(path, limits=Limits(request_seconds=5)) as s:
        if s.load_report.ok:
            out, = s.call([Call("dense_forward", args=[x, W, b], pick=0)])
"""

from grader.engine.sandbox.isolation import SandboxError, SandboxUnavailable, isolation_available
from grader.engine.sandbox.limits import Limits
from grader.engine.sandbox.session import SandboxSession
from grader.engine.sandbox.types import REPLY_KINDS, Call, CellReport, LoadReport, Reply, SlotRef

__all__ = ["Limits", "SandboxSession", "Call", "SlotRef", "Reply", "LoadReport", "CellReport",
           "isolation_available", "SandboxError", "SandboxUnavailable", "REPLY_KINDS"]
