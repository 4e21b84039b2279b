"""Who a launch is: the LMS's roles mapped to student or instructor, the course's user id, and the sign-in.

An LTI sign-in makes the same kind of session as a sign-in link: a row in the
website's token table (its secret is drawn and thrown away, so it can never be
typed in) whose id the session cookie holds. Revocation, expiry and every
page's access rules therefore work the same for both.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import session

from grader.course.web import tokens
from grader.course.web.lti import tables as L
from grader.course.web.lti.platforms import Platform

LIS = "https://purl.imsglobal.org/spec/lti/claim/lis"
ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
SESSION_DAYS = 0.5   # an LTI session lasts a working day; the LMS launches again after that

# Context roles (the user's role in this LMS course) that mean "teaches here" and "learns here".
TEACHING = ("Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant")
LEARNING = ("Learner", "Student")
CONTEXT_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership"


def context_role(role: str) -> str | None:
    """The principal context role a role names, or None for an institution or system role.

    ``...membership#Instructor`` and the short form ``Instructor`` name ``Instructor``; a sub-role
    names its principal role (``...membership/Instructor#TeachingAssistant``: ``Instructor``,
    ``...membership/Learner#Instructor``: ``Learner``). An institution role
    (``...institution/person#Instructor``) says what the user is elsewhere in the institution (a
    student here may teach another course), so it gives nothing here.
    """
    if role.startswith(CONTEXT_ROLE + "#"):
        return role[len(CONTEXT_ROLE) + 1:]
    if role.startswith(CONTEXT_ROLE + "/"):
        return role[len(CONTEXT_ROLE) + 1:].split("#", 1)[0]
    if ":" not in role and "/" not in role and "#" not in role:
        return role
    return None


def role_of(roles: list[str]) -> str | None:
    """'instructor' if a context role teaches, else 'student' if one learns, else None (e.g. an observer).

    Only the roles in this course count (:func:`context_role`); institution and system roles are ignored.
    """
    names = [context_role(r) for r in roles if isinstance(r, str)]
    if any(n in TEACHING for n in names):
        return "instructor"
    if any(n in LEARNING for n in names):
        return "student"
    return None


def user_id_of(claims: dict, platform: Platform) -> str | None:
    """The course's user id: the first of the platform's ``user_id_claims`` that the launch carries."""
    for name in platform.user_id_claims:
        if name == "lis_person_sourcedid":
            value = (claims.get(LIS) or {}).get("person_sourcedid")
        else:
            value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def remember(conn, platform: Platform, subject: str, user_id: str, role: str, *, name=None, email=None,
             source: str = "launch") -> None:
    """Record (or update) which course user an LMS subject is."""
    now = tokens.utcnow()
    where = (L.users.c.issuer == platform.issuer) & (L.users.c.subject == subject)
    values = dict(user_id=user_id, role=role, name=name, email=email, source=source, seen_at=now)
    if conn.execute(sa.update(L.users).where(where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(L.users).values(issuer=platform.issuer, subject=subject, **values))


def sign_in(conn, user_id: str, role: str, launch_id: str) -> tokens.Identity:
    """Start a website session for this user, exactly as a sign-in link does."""
    tokens.forget_expired(conn, user_id)   # each launch makes a short-lived token: the spent ones go
    token = tokens.issue(conn, user_id, role, days=SESSION_DAYS)
    identity = tokens.verify(conn, token)
    session.clear()
    session["tid"] = identity.token_id
    session["csrf"] = secrets.token_urlsafe(32)
    session["lti_launch"] = launch_id
    return identity

