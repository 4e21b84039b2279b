"""Fixtures of the website tests: a course folder, a gradebook database (SQLite or PostgreSQL) and
real servers stopped after the test. The helpers they use are in web_support.py.

PostgreSQL: the gradebook tests' throwaway server (tests/gradebook/conftest.py), skipped with the
reason where none can be started.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from web_support import ROOT, Server, write_course

_spec = importlib.util.spec_from_file_location("web_tests_gradebook_conftest", ROOT / "tests/gradebook/conftest.py")
_gradebook_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gradebook_conftest)
PostgresServer = _gradebook_conftest.PostgresServer


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh gradebook database: an SQLite file, or a new database on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "course" / "gradebook.db")
        return
    server = request.getfixturevalue("postgres_server")
    _gradebook_conftest._require(server)
    url, drop = server.new_database()
    yield url
    drop()


@pytest.fixture
def course_dir(tmp_path) -> Path:
    return write_course(tmp_path / "course")


@pytest.fixture
def start_server():
    """``start(course_dir, **Server options)``: a running server, stopped when the test ends."""
    servers = []

    def start(course_dir: Path, **kwargs) -> Server:
        server = Server(course_dir, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
