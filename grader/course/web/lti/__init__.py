"""LTI 1.3: launches from an LMS (Canvas, Moodle, ...) into the website, and grades sent back.

Modules, one job each: ``keys`` (the tool's RSA key pair and its JWKS),
``platforms`` (the registration files), ``tables`` (the LTI tables),
``storage`` (nonces and launches in the database), ``launch`` (checking a
launch with pylti1p3), ``identity`` (roles, user ids, the sign-in),
``passback`` (grades to the LMS through AGS, retried and logged), ``roster``
(names and roles through NRPS), ``deeplink`` (the assignment picked in the
LMS), ``exports`` (Canvas's and Moodle's grade-import CSVs), ``setup`` (a
course's LTI side), ``views`` (the pages); ``dlgrade serve lti-keys`` is in
:mod:`grader.cli.serve`. docs/lti.md says how to register the tool in Canvas
and Moodle.
"""

from __future__ import annotations

import os

from grader.course.web.lti import keys
from grader.course.web.lti.setup import EXTENSION, SEND_EVERY_SECONDS, SEND_EVERY_VARIABLE, LtiSetup, setup_for


def install(app, course) -> LtiSetup:
    """Add the LTI pages to the website; with platforms registered, let their origins frame it.

    Over HTTPS the session cookie becomes ``SameSite=None; Secure``: inside an LMS frame the site is
    a third party, and a ``Lax`` cookie would not come back on the frame's own requests.
    """
    from grader.course.web.lti import views

    lti = setup_for(course)
    app.extensions[EXTENSION] = lti
    app.register_blueprint(views.bp)
    app.config.setdefault("DLGRADE_CSRF_EXEMPT", set()).update(views.CSRF_EXEMPT)
    if lti.enabled:
        app.config["DLGRADE_FRAME_ANCESTORS"] = sorted({o for p in lti.platforms for o in p.frame_origins})
        if app.config.get("SESSION_COOKIE_SECURE"):
            app.config["SESSION_COOKIE_SAMESITE"] = "None"
        every = float(os.environ.get(SEND_EVERY_VARIABLE, SEND_EVERY_SECONDS))
        if every > 0:
            from grader.course.web.lti.passback import start_sender

            start_sender(course, lti, every)
    return lti


__all__ = ["LtiSetup", "install", "keys", "setup_for"]
