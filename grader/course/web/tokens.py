"""Personal sign-in tokens: issued by the instructor, stored hashed, expiring, revocable.

A token is ``dlg_`` and 32 random bytes (URL-safe base64). Only its sha256 is stored: with
that much entropy a plain hash cannot be reversed, and a leaked database gives
no one a way in. A token is valid until it expires or is revoked; revoking
ends every session signed in with it at the next request.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from grader.course.web import tables as T

ROLES = ("student", "instructor")
# A recognisable prefix: secret scanners can spot a leaked token, and a token never starts with "-"
# (which a command line would take for an option, e.g. `dlgrade submit --token -abc`).
TOKEN_PREFIX = "dlg_"


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Identity:
    token_id: int
    user_id: str
    role: str

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"


def issue(conn, user_id: str, role: str, *, days: float = 120.0, now: _dt.datetime | None = None) -> str:
    """A new token for ``user_id`` (returned once, stored only as its hash)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if not user_id or not user_id.strip():
        raise ValueError("a token needs a user id")
    if days <= 0:
        raise ValueError(f"a token must live a positive number of days, got {days!r}")
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(sa.insert(T.tokens).values(token_sha256=token_hash(token), user_id=user_id.strip(), role=role,
                                            created_at=now, expires_at=now + _dt.timedelta(days=days)))
    return token


def forget_expired(conn, user_id: str, now: _dt.datetime | None = None) -> int:
    """Delete ``user_id``'s expired tokens (an LMS launch makes one each time); how many."""
    return conn.execute(sa.delete(T.tokens).where(T.tokens.c.user_id == user_id,
                                                  T.tokens.c.expires_at <= (now or utcnow()))).rowcount


def verify(conn, token: str, now: _dt.datetime | None = None) -> Identity | None:
    """The identity of a valid token; None for an unknown, expired or revoked one."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    wanted = token_hash(token)
    row = conn.execute(sa.select(T.tokens).where(T.tokens.c.token_sha256 == wanted)).first()
    if row is None or not hmac.compare_digest(row.token_sha256, wanted):
        return None
    return identity_of(row, now)


def identity_by_id(conn, token_id: int, now: _dt.datetime | None = None) -> Identity | None:
    """The identity of a signed-in session's token, if that token is still valid."""
    row = conn.execute(sa.select(T.tokens).where(T.tokens.c.id == token_id)).first()
    return identity_of(row, now) if row is not None else None


def identity_of(row, now: _dt.datetime | None = None) -> Identity | None:
    if row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return Identity(row.id, row.user_id, row.role)


def revoke(conn, user_id: str, now: _dt.datetime | None = None) -> int:
    """Revoke every token of ``user_id``; returns how many were still valid."""
    return conn.execute(sa.update(T.tokens).where(T.tokens.c.user_id == user_id, T.tokens.c.revoked_at.is_(None))
                        .values(revoked_at=now or utcnow())).rowcount
