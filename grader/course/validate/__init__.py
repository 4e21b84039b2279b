"""Proving an assignment before a student sees it (``dlgrade validate``)."""
