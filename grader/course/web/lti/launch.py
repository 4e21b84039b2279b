"""Checking a launch: pylti1p3's Flask message launch, with the signature checked before the nonce is spent.

pylti1p3 spends the nonce before it checks the signature, so a forged token
that carries a real nonce would burn it. Here the order is: the state (the
browser that logged in), the token's form, the registration, the signature and
its times (``exp`` and ``iat`` are required), the deployment, the message, and
only then the nonce, used once.
"""

from __future__ import annotations

from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest

from grader.course.web.lti.storage import DatabaseSessionService

JWT_OPTIONS = {"verify_aud": False, "require": ["exp", "iat"]}   # aud: checked against the registration


class Launch(FlaskMessageLaunch):
    def validate(self) -> "Launch":
        if self._restored:
            raise ValueError("a restored launch cannot be validated again")
        self._validated = True
        try:
            return (self.validate_state().validate_jwt_format().validate_registration()
                    .validate_jwt_signature().validate_deployment().validate_message()
                    .validate_nonce().save_launch_data())
        except Exception:
            self._validated = False
            raise


def message_launch(tool_config, storage) -> Launch:
    request = FlaskRequest()
    launch = Launch(request, tool_config, session_service=DatabaseSessionService(storage),
                    cookie_service=FlaskCookieService(request))
    return launch.set_jwt_verify_options(dict(JWT_OPTIONS))


def cached_launch(launch_id: str, tool_config, storage) -> Launch:
    """A launch validated earlier (deep linking, services), restored from the database."""
    request = FlaskRequest()
    return Launch.from_cache(launch_id, request, tool_config,
                             session_service=DatabaseSessionService(storage),
                             cookie_service=FlaskCookieService(request))


def oidc_login(tool_config, storage) -> FlaskOIDCLogin:
    request = FlaskRequest()
    return FlaskOIDCLogin(request, tool_config, session_service=DatabaseSessionService(storage),
                          cookie_service=FlaskCookieService(request))
