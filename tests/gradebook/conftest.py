"""Fixtures: the gradebook tests run against SQLite and against a real PostgreSQL server.

PostgreSQL: ``DLGRADE_TEST_POSTGRES_URL`` (a server where the user may create
databases), or else a throwaway cluster started for the session in a temporary
folder (``initdb`` + ``pg_ctl``, a unix socket only, no TCP; as the ``postgres``
user when the tests run as root). Each test gets a fresh database. Where no
server can be started the PostgreSQL half is skipped with the reason, unless
``DLGRADE_TEST_REQUIRE_POSTGRES=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"gradebook_tests_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


factory = _load("factory")


@pytest.fixture
def make_result():
    return factory.make_result


# -- PostgreSQL ------------------------------------------------------------------
class PostgresServer:
    """A server to create test databases on: started here, or given by URL."""

    def __init__(self):
        self.base_url: str | None = None
        self.reason: str | None = None
        self._folder: str | None = None
        self._bindir: str | None = None
        self._user: tuple[int, int] | None = None

    def start(self) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            self.reason = "the psycopg driver is not installed (pip install 'psycopg[binary]')"
            return
        given = os.environ.get("DLGRADE_TEST_POSTGRES_URL")
        if given:
            self.base_url = given
            return
        self._bindir = _postgres_bindir()
        if self._bindir is None:
            self.reason = ("no PostgreSQL server programs (initdb, pg_ctl) on PATH or in "
                           "/usr/lib/postgresql/*/bin: install the postgresql package")
            return
        if os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                self.reason = "running as root, and there is no 'postgres' user to run a PostgreSQL server as"
                return
            self._user = (entry.pw_uid, entry.pw_gid)
        self._folder = tempfile.mkdtemp(prefix="dlgrade-pg-")   # short: a unix socket path is short
        if self._user:
            os.chown(self._folder, *self._user)
        data = os.path.join(self._folder, "data")
        log = os.path.join(self._folder, "server.log")
        try:
            self._pg("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                     "--no-instructions")
            self._pg("pg_ctl", "-D", data, "-l", log, "-w", "-t", "30", "-o",
                     f"-k {self._folder} -c listen_addresses='' -F -c full_page_writes=off "
                     f"-c synchronous_commit=off -c max_connections=50", "start")
        except (subprocess.CalledProcessError, OSError) as exc:
            output = getattr(exc, "stdout", "") or ""
            if os.path.exists(log):
                output += Path(log).read_text(errors="replace")
            self.reason = f"could not start a PostgreSQL server: {exc}: {output.strip()[-800:]}"
            self.stop()
            return
        self.base_url = f"postgresql+psycopg://postgres@/postgres?host={self._folder}"

    def _pg(self, program: str, *args: str) -> None:
        kwargs = {}
        if self._user:
            kwargs = dict(user=self._user[0], group=self._user[1], extra_groups=[])
        subprocess.run([os.path.join(self._bindir, program), *args], check=True, cwd=self._folder,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                       env={**os.environ, "LC_ALL": "C"}, **kwargs)

    def stop(self) -> None:
        if self._folder is None:
            return
        data = os.path.join(self._folder, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            try:
                self._pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
            except (subprocess.CalledProcessError, OSError):
                pass
        shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None

    def new_database(self) -> tuple[str, callable]:
        import sqlalchemy as sa

        name = f"dlgrade_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.engine.make_url(self.base_url).set(database=name)

        def drop():
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

        return url.render_as_string(hide_password=False), drop


def _postgres_bindir() -> str | None:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return os.path.dirname(on_path)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb") + glob.glob("/usr/local/pgsql/bin/initdb")
    candidates.sort(key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")],
                    reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def _require(server: PostgresServer) -> None:
    if server.base_url is None:
        if os.environ.get("DLGRADE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (DLGRADE_TEST_REQUIRE_POSTGRES=1): {server.reason}")
        pytest.skip(server.reason)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty gradebook database: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gradebook.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    _require(server)
    url, drop = server.new_database()
    yield url
    drop()


@pytest.fixture
def gradebook(db_url):
    from grader.course.gradebook import Gradebook

    with Gradebook.open(db_url) as gb:
        yield gb
