"""Where the gradebook is, without its password ever on a command line.

Every process on the machine can read every other's command line
(``/proc/PID/cmdline``, ``ps``), a sandboxed submission included. So a
PostgreSQL URL that carries a password is taken only from the environment
(``DLGRADE_DB``; another user's environment is not readable) or from a file
that only its owner may read (``DLGRADE_DB_FILE``, mode 0600). A password
given with ``--db`` is refused with a message that says where to put it.
"""

from __future__ import annotations

import os
import stat

import sqlalchemy as sa

ENV_DB = "DLGRADE_DB"
ENV_DB_FILE = "DLGRADE_DB_FILE"


class CredentialError(ValueError):
    """A gradebook location that would expose its password, or a credentials file that is not private."""


def _password_of(location: str) -> str | None:
    if "://" not in location:
        return None  # an SQLite path
    try:
        return sa.engine.make_url(location).password
    except sa.exc.ArgumentError:
        return None  # not a URL: opening it says what is wrong


def read_private_file(path: str) -> str:
    """The first line of ``path``, which must be a regular file of this user that no one else may read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise CredentialError(f"${ENV_DB_FILE}: cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise CredentialError(f"${ENV_DB_FILE}: {path} must be a file of yours that only you may read "
                                  f"(chmod 600 {path}); it is mode {stat.filemode(info.st_mode)}")
        text = handle.read(64 * 1024).strip()
    if not text:
        raise CredentialError(f"${ENV_DB_FILE}: {path} is empty; expected a gradebook URL on its first line")
    return text.splitlines()[0].strip()


def gradebook_location(command_line: str | None, default: str | None = None) -> str | None:
    """The gradebook to use: ``--db``, else ``$DLGRADE_DB``, else the URL in ``$DLGRADE_DB_FILE``, else ``default``.

    Raises :class:`CredentialError` for a password on the command line.
    """
    if command_line:
        if _password_of(command_line):
            raise CredentialError(
                "a password in --db is visible to every process on this machine (ps, /proc/PID/cmdline), "
                f"graded submissions included: put the URL in ${ENV_DB}, or in a file only you may read "
                f"(chmod 600) named by ${ENV_DB_FILE}, and leave --db out")
        return command_line
    if os.environ.get(ENV_DB):
        return os.environ[ENV_DB]
    if os.environ.get(ENV_DB_FILE):
        return read_private_file(os.environ[ENV_DB_FILE])
    return default
