"""Talking to a platform's services (AGS, NRPS) with pylti1p3: a service token by the tool's signed JWT.

pylti1p3's connector asks the platform's token URL for an access token with an
OAuth2 client-credentials grant whose assertion is a JWT signed with the tool's
private key, then calls the service with it. The HTTP session ignores proxy
variables (``trust_env`` off): a course talks to its LMS directly, with a
timeout so a platform that hangs costs one failed try, not a stuck sender.
"""

from __future__ import annotations

import requests
from pylti1p3.service_connector import ServiceConnector

TIMEOUT_SECONDS = 20


class _TimedSession(requests.Session):
    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


def connector(setup, issuer: str, client_id: str) -> ServiceConnector:
    """A service connector for one registration (the tool's key signs its token requests)."""
    registration = setup.config.find_registration_by_params(issuer, client_id)
    session = _TimedSession()
    session.trust_env = False
    session.headers["User-Agent"] = "dlgrade-lti"
    return ServiceConnector(registration, requests_session=session)


def http_status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)
