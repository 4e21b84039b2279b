"""Connecting to the gradebook's database: SQLite (default) or PostgreSQL.

SQLite: one file in WAL mode (readers never block the writer), foreign keys
on, ``synchronous=FULL`` (a committed grade survives a power cut, not only a
killed process), and a busy timeout so that a second process waits for the
lock instead of failing. Writing transactions start with ``BEGIN IMMEDIATE``:
they take the write lock at once, so two writers queue on the busy timeout
instead of one failing when it upgrades a read lock.

PostgreSQL: ``postgresql+psycopg://user@host/db`` (psycopg 3), READ COMMITTED;
the gradebook serialises the writes that concern one student with a row lock.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

BUSY_TIMEOUT_S = 60.0
WRITE_OPTION = "gradebook_write"


def database_url(target: str | Path) -> sa.engine.URL:
    """A URL from a URL string or a path (a path means an SQLite file)."""
    if isinstance(target, Path) or "://" not in str(target):
        return sa.engine.URL.create("sqlite", database=str(Path(target)))
    url = sa.engine.make_url(str(target))
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        # We ship with psycopg 3; a plain postgresql:// URL means it too.
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_path(url: sa.engine.URL) -> Path | None:
    """The file of an SQLite URL (None for an in-memory database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(url: sa.engine.URL) -> sa.engine.Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection, _record):
            dbapi_connection.isolation_level = None   # transactions are begun below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            write = connection.get_execution_options().get(WRITE_OPTION)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if backend == "postgresql":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"a PostgreSQL gradebook needs the psycopg driver ({exc.name} is missing): "
                f"pip install 'psycopg[binary]'") from exc
    raise ValueError(f"unsupported gradebook database {url.render_as_string(hide_password=True)!r}: "
                     f"expected an SQLite path or URL, or postgresql+psycopg://...")
