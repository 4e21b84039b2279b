"""The test suite's root. Its folder is on sys.path, so helpers here (fill_template) import by name."""

import os

import pytest


@pytest.fixture(autouse=True)
def _environment_restored():
    """Each test leaves ``os.environ`` as it found it.

    Code under test may set variables for its own children (the Gradescope runner accepts a weak
    sandbox, ``--course`` names the course); monkeypatch restores only what it was told of, and a
    leaked variable would change what every later test sees.
    """
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
