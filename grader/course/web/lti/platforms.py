"""Registrations: one TOML file per LMS platform in ``COURSE/lti/platforms/``, read into pylti1p3's tool config.

A platform file (``COURSE/lti/platforms/canvas.toml``; see docs/lti.md for
where each value is found in Canvas and Moodle)::

    issuer = "https://canvas.instructure.com"            # the platform's "iss"
    client_id = "10000000000042"                          # the tool's id on that platform ("aud")
    deployment_ids = ["17:8f3c..."]                       # deployments allowed to launch
    auth_login_url = "https://lms.example.edu/api/lti/authorize_redirect"   # OIDC authorization
    auth_token_url = "https://lms.example.edu/login/oauth2/token"           # service tokens (AGS, NRPS)
    auth_audience = ""                                    # optional; default: auth_token_url
    key_set_url = "https://lms.example.edu/api/lti/security/jwks"           # the platform's public keys
    # or, instead of key_set_url, the key set itself (JSON text), so nothing is fetched:
    # key_set = '{"keys": [{"kty": "RSA", "kid": "...", "n": "...", "e": "AQAB"}]}'
    user_id_claims = ["lis_person_sourcedid", "email", "sub"]   # optional: which claim is the course's user id
    frame_origins = ["https://lms.example.edu"]           # optional; default: auth_login_url's origin

Bad files get an error naming the file, the key and what was expected.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pylti1p3.tool_config import ToolConfDict

from grader.course.web.lti import keys

PLATFORMS_DIR = "platforms"
# Where a course's user id is read from, in order: the SIS id, the e-mail, the LMS's opaque id.
USER_ID_CLAIMS = ("lis_person_sourcedid", "email", "sub")
KNOWN_CLAIMS = ("lis_person_sourcedid", "email", "sub", "preferred_username")
REQUIRED = ("issuer", "client_id", "deployment_ids", "auth_login_url", "auth_token_url")
OPTIONAL = ("auth_audience", "key_set_url", "key_set", "user_id_claims", "frame_origins", "name")


@dataclass(frozen=True)
class Platform:
    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    auth_audience: str | None = None
    key_set_url: str | None = None
    key_set: dict | None = None
    user_id_claims: tuple[str, ...] = USER_ID_CLAIMS
    frame_origins: tuple[str, ...] = field(default=())

    def pylti_config(self) -> dict:
        return {"default": True, "client_id": self.client_id, "auth_login_url": self.auth_login_url,
                "auth_token_url": self.auth_token_url, "auth_audience": self.auth_audience or None,
                "key_set_url": self.key_set_url, "key_set": self.key_set,
                "deployment_ids": list(self.deployment_ids)}


def load_platform(path: Path) -> Platform:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; known keys: {sorted(REQUIRED + OPTIONAL)}")
    missing = [k for k in REQUIRED if not data.get(k)]
    if missing:
        raise ValueError(f"{path}: missing {missing}: every platform needs {list(REQUIRED)}")
    for key in ("issuer", "client_id", "auth_login_url", "auth_token_url"):
        if not isinstance(data[key], str):
            raise ValueError(f"{path}: {key} must be a string")
    ids = data["deployment_ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise ValueError(f"{path}: deployment_ids must be a list of non-empty strings, e.g. [\"1:abc\"]")
    key_set = data.get("key_set")
    if isinstance(key_set, str):
        try:
            key_set = json.loads(key_set)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: key_set is not JSON ({exc}); expected '{{\"keys\": [...]}}'") from None
    if key_set is not None and not (isinstance(key_set, dict) and isinstance(key_set.get("keys"), list)):
        raise ValueError(f"{path}: key_set must be a JWKS: an object with a list 'keys'")
    if not key_set and not data.get("key_set_url"):
        raise ValueError(f"{path}: give the platform's public keys: key_set_url, or key_set (a JWKS, inline)")
    claims = tuple(data.get("user_id_claims", USER_ID_CLAIMS))
    bad = [c for c in claims if c not in KNOWN_CLAIMS]
    if bad or not claims:
        raise ValueError(f"{path}: user_id_claims {list(claims)}: each must be one of {list(KNOWN_CLAIMS)}")
    origin = urlsplit(data["auth_login_url"])
    origins = tuple(data.get("frame_origins", [f"{origin.scheme}://{origin.netloc}"]))
    return Platform(name=data.get("name", path.stem), issuer=data["issuer"], client_id=data["client_id"],
                    deployment_ids=tuple(ids), auth_login_url=data["auth_login_url"],
                    auth_token_url=data["auth_token_url"], auth_audience=data.get("auth_audience") or None,
                    key_set_url=data.get("key_set_url") or None, key_set=key_set,
                    user_id_claims=claims, frame_origins=origins)


def load_platforms(course_folder: Path) -> list[Platform]:
    """Every registered platform of a course (none: LTI is off)."""
    folder = keys.lti_folder(course_folder) / PLATFORMS_DIR
    platforms = [load_platform(p) for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
    seen: set[tuple[str, str]] = set()
    for p in platforms:
        if (p.issuer, p.client_id) in seen:
            raise ValueError(f"{folder}: two files register issuer {p.issuer!r} with client id {p.client_id!r}")
        seen.add((p.issuer, p.client_id))
    return platforms


def tool_config(course_folder: Path, platforms: list[Platform]) -> ToolConfDict:
    """pylti1p3's configuration: every platform, with the tool's own key pair."""
    by_issuer: dict[str, list[dict]] = {}
    for p in platforms:
        by_issuer.setdefault(p.issuer, []).append(p.pylti_config())
    config = ToolConfDict(by_issuer)
    folder = keys.lti_folder(course_folder)
    private, public = keys.load_private(folder), keys.load_public(folder)
    for p in platforms:
        config.set_private_key(p.issuer, private, client_id=p.client_id)
        config.set_public_key(p.issuer, public, client_id=p.client_id)
    return config


def find(platforms: list[Platform], issuer: str, client_id: str | None) -> Platform | None:
    matches = [p for p in platforms if p.issuer == issuer and (client_id is None or p.client_id == client_id)]
    return matches[0] if matches else None
