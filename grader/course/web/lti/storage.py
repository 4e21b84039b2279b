"""The OIDC flow's one-time values in the database: a nonce is good for one launch, then gone.

pylti1p3 keeps nonces and launches in a "launch data storage". Its default
(the web session) cannot work here: the platform's launch is a cross-site POST,
and inside an LMS frame the session cookie may not come back. Keeping them in
the course database also makes a replayed launch token fail everywhere: the
launch consumes its nonce in a single DELETE, so a second use of the same token
(same nonce) finds nothing, whichever server process answers it.
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.session import SessionService

from grader.course.web.lti import tables as L

NONCE_SECONDS = 10 * 60       # from the login redirect to the launch: a person's click, not a session
LAUNCH_SECONDS = 12 * 3600    # a cached launch (deep linking, services) lives a working day


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class DatabaseStorage(LaunchDataStorage):
    """Key-value rows with an expiry in ``web_lti_store`` (no session id: every key is random)."""

    def __init__(self, engine, lifetime: int = LAUNCH_SECONDS):
        super().__init__()
        self.engine = engine
        self.lifetime = lifetime

    def get_session_cookie_name(self) -> None:
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str):
        with self.engine.begin() as conn:
            return conn.execute(sa.select(L.store.c.value).where(
                L.store.c.key == key[:200], L.store.c.expires_at > utcnow())).scalar()

    def set_value(self, key: str, value, exp: int | None = None) -> None:
        expires = utcnow() + _dt.timedelta(seconds=exp or self.lifetime)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(L.store).where(L.store.c.key == key[:200]))
            conn.execute(sa.insert(L.store).values(key=key[:200], value=value, expires_at=expires))

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def consume(self, key: str) -> bool:
        """Delete ``key`` if it is present and unexpired; True only for the one caller that did."""
        with self.engine.begin() as conn:
            deleted = conn.execute(sa.delete(L.store).where(
                L.store.c.key == key[:200], L.store.c.expires_at > utcnow())).rowcount
            conn.execute(sa.delete(L.store).where(L.store.c.expires_at <= utcnow()))
        return deleted == 1


class DatabaseSessionService(SessionService):
    """pylti1p3's session service over :class:`DatabaseStorage`, with nonces used once."""

    def __init__(self, storage: DatabaseStorage):
        self.data_storage = storage

    def save_nonce(self, nonce: str):
        self.data_storage.set_value(self._get_key("nonce", nonce), True, exp=NONCE_SECONDS)

    def check_nonce(self, nonce: str) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 120:
            return False
        return self.data_storage.consume(self._get_key("nonce", nonce))
