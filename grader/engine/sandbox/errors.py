"""The sandbox's own failures, told apart from anything the student's code does."""


class SandboxUnavailable(RuntimeError):
    """Bubblewrap isolation was required (DLGRADE_SANDBOX=bwrap) but cannot be used here."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the student's code)."""
