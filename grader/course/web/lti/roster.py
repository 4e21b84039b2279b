"""The class list from the LMS through Names and Role Provisioning Services.

Each course context seen in a launch has a memberships URL; syncing reads every
page of it and records each active member as a course user (student or
instructor, by the same role mapping as a launch, and the same user id rule).
Members the LMS lists as ``Inactive`` are skipped: they keep their records but
are not added. Students join the gradebook's class list too, so exports and
grade sends cover those who never launched.
"""

from __future__ import annotations

import sqlalchemy as sa
from pylti1p3.names_roles import NamesRolesProvisioningService

from grader.course.web.lti import identity, services
from grader.course.web.lti import tables as L
from grader.course.web.lti.platforms import find


class RosterError(RuntimeError):
    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.status = status   # 409: nothing to sync yet; 502: the platform failed


def member_claims(member: dict) -> dict:
    """A membership in the shape of launch claims, so one user-id rule serves both."""
    return {"sub": member.get("user_id"), "email": member.get("email"),
            "preferred_username": member.get("preferred_username"),
            identity.LIS: {"person_sourcedid": member.get("lis_person_sourcedid")}}


def sync_all(course, setup) -> int:
    """Sync every course context that has a memberships URL; returns how many members were recorded."""
    with course.engine.begin() as conn:
        contexts = conn.execute(sa.select(L.links.c.issuer, L.links.c.client_id, L.links.c.memberships_url)
                                .where(L.links.c.memberships_url.is_not(None)).distinct()).all()
    if not contexts:
        raise RosterError("no LMS course has shared its roster yet: launch dlgrade from the LMS course first "
                          "(the launch carries the roster's address)", 409)
    recorded = 0
    for issuer, client_id, url in contexts:
        platform = find(setup.platforms, issuer, client_id)
        if platform is None:
            continue
        try:
            nrps = NamesRolesProvisioningService(services.connector(setup, issuer, client_id),
                                                 {"context_memberships_url": url})
            members = nrps.get_members()
        except Exception as exc:
            raise RosterError(f"the roster could not be read from {platform.name} ({url}): {exc}") from exc
        recorded += record_members(course, platform, members)
    return recorded


def record_members(course, platform, members: list[dict]) -> int:
    students = []
    recorded = 0
    with course.writer.begin() as conn:
        for member in members:
            if member.get("status", "Active") != "Active" or not member.get("user_id"):
                continue
            role = identity.role_of(member.get("roles") or [])
            user_id = identity.user_id_of(member_claims(member), platform)
            if role is None or user_id is None:
                continue
            identity.remember(conn, platform, member["user_id"], user_id, role, name=member.get("name"),
                              email=member.get("email"), source="roster")
            recorded += 1
            if role == "student":
                students.append((user_id, member.get("name"), member.get("email")))
    for user_id, name, email in students:
        course.gradebook.add_student(user_id, name=name or None, email=email or None)
    return recorded
