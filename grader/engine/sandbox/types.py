"""What the parent sends to the child and what it gets back: plain data only.

The types are the grading protocol's (:mod:`grader.engine.protocol`), named
here too for the sandbox's own modules.
"""

from __future__ import annotations

from grader.engine.protocol import CHILD_KINDS, REPLY_KINDS, Call, CellReport, LoadReport, Reply, SlotRef

__all__ = ["CHILD_KINDS", "REPLY_KINDS", "Call", "Reply", "SlotRef", "CellReport", "LoadReport"]
