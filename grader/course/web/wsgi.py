"""The website for any WSGI server: ``DLGRADE_COURSE=course gunicorn 'grader.course.web.wsgi:app'``.

``DLGRADE_COURSE`` names the course folder, ``DLGRADE_DB`` (optional) the
gradebook URL. Cookies are ``Secure``: serve it behind HTTPS. Workers are not
started here; run ``dlgrade worker`` beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.course.web.app import create_app
from grader.course.web.course import Course

if "DLGRADE_COURSE" not in os.environ:
    raise RuntimeError("set DLGRADE_COURSE to the course folder (and DLGRADE_DB for a PostgreSQL gradebook)")

app = create_app(Course(Path(os.environ["DLGRADE_COURSE"]), db=os.environ.get("DLGRADE_DB")))
