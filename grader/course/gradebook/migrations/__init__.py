"""The gradebook's Alembic migrations, run by :meth:`grader.course.gradebook.Gradebook.open` itself.

Schema versions 1 and 2 came before Alembic and stay in :func:`grader.course.gradebook.schema.migrate`
(the number in ``gradebook_meta``). Every change since is an Alembic revision in ``versions/``,
applied in the same transaction that opens the gradebook: a new gradebook is created from
:data:`grader.course.gradebook.schema.metadata` and stamped with the newest revision; an older one
(round 1's included) is brought to version 2 and then upgraded revision by revision, in place.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

SCRIPTS = Path(__file__).parent


@lru_cache(maxsize=1)
def _scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config, ScriptDirectory.from_config(config)


def newest() -> str:
    """The newest revision this dlgrade knows."""
    return _scripts()[1].get_current_head()


def _run(conn: sa.Connection, destination: str, step) -> None:
    from alembic.runtime.environment import EnvironmentContext

    config, script = _scripts()
    with EnvironmentContext(config, script, fn=lambda revision, context: step(script, revision),
                            destination_rev=destination) as environment:
        environment.configure(connection=conn, transactional_ddl=True)
        environment.run_migrations()


def upgrade(conn: sa.Connection) -> None:
    """Apply every revision the gradebook lacks (in the caller's transaction)."""
    if current(conn) == newest():
        return
    _run(conn, "head", lambda script, revision: script._upgrade_revs("head", revision))


def stamp_newest(conn: sa.Connection) -> None:
    """Mark a gradebook just created from today's tables as holding every revision."""
    _run(conn, "head", lambda script, revision: script._stamp_revs("head", revision))


def current(conn: sa.Connection) -> str | None:
    """The gradebook's Alembic revision (None: before Alembic)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()
