"""``dlgrade worker``: its parser lives beside ``serve``'s (grader.web.command)."""

from grader.web.command import add_worker_parser as add_parser

__all__ = ["add_parser"]
