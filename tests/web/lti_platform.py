"""A fake LMS for the LTI tests: its own RSA keys, launch tokens it signs, and its services (token, AGS,
NRPS) served by a real tiny HTTP server on 127.0.0.1.

Nothing is fetched from outside: the platform's key set is written inline into the course's
registration file. The service stub checks what a real platform checks: the OAuth2
client-credentials grant whose assertion must be a JWT signed by the tool's key (read from the
tool's own /lti/jwks), the scopes asked for, the bearer token on each call, the score's media
type and payload.
"""

from __future__ import annotations

import html
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

ISSUER = "https://lms.example.test"
CLIENT_ID = "dlgrade-client-7"
DEPLOYMENT = "deploy-1"
LOGIN_URL = "https://lms.example.test/auth"     # never contacted: the test reads the redirect's query
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Platform:
    def __init__(self, services_base: str = "http://127.0.0.1:9"):
        self.key = new_key()
        self.kid = "platform-key-1"
        self.services_base = services_base

    def jwks(self) -> dict:
        public = JWK.from_pem(self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        data = json.loads(public.export_public())
        data.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [data]}

    def register(self, course_dir: Path, *, login_url: str = LOGIN_URL) -> Path:
        folder = course_dir / "lti" / "platforms"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "fake.toml"
        path.write_text(
            f'issuer = "{ISSUER}"\nclient_id = "{CLIENT_ID}"\ndeployment_ids = ["{DEPLOYMENT}"]\n'
            f'auth_login_url = "{login_url}"\nauth_token_url = "{self.services_base}/token"\n'
            f"key_set = '{json.dumps(self.jwks())}'\n"
            'user_id_claims = ["lis_person_sourcedid", "sub"]\n')
        return path

    def id_token(self, nonce: str, *, sub: str, roles: list[str], sourcedid: str | None = None,
                 key=None, kid: str | None = None, expires_in: float = 300, link: str = "link-1",
                 custom: dict | None = None, message_type: str = "LtiResourceLinkRequest",
                 extra: dict | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "nonce": nonce, "iat": now - 5,
            "exp": int(now + expires_in), "name": f"User {sub}", "email": f"{sub}@example.test",
            CLAIM + "version": "1.3.0", CLAIM + "message_type": message_type,
            CLAIM + "deployment_id": DEPLOYMENT, CLAIM + "roles": roles,
            CLAIM + "context": {"id": "course-42", "title": "Deep learning"},
            CLAIM + "target_link_uri": "http://127.0.0.1/lti/launch",
        }
        if sourcedid:
            claims[CLAIM + "lis"] = {"person_sourcedid": sourcedid}
        if message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {"id": link}
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
                "scope": [LINEITEM_SCOPE, SCORE_SCOPE],
                "lineitems": f"{self.services_base}/lineitems",
                "lineitem": f"{self.services_base}/lineitems/1"}
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
                "context_memberships_url": f"{self.services_base}/memberships", "service_versions": ["2.0"]}
        if custom is not None:
            claims[CLAIM + "custom"] = custom
        claims.update(extra or {})
        return jwt.encode(claims, pem(key or self.key), algorithm="RS256", headers={"kid": kid or self.kid})


class Services:
    """The platform's token, AGS and NRPS endpoints on 127.0.0.1, checking every request."""

    def __init__(self, tool_jwks_url: str, *, members: list[dict] | None = None, tool_jwks: dict | None = None):
        self.tool_jwks_url = tool_jwks_url
        self.tool_jwks = tool_jwks          # the tool's key set itself, for tests without a website
        self.score_posts = 0                # score requests received, accepted or not
        self.hang_next_score = False        # hold the next score request unanswered until `released`
        self.released = threading.Event()
        self.members = members or []
        self.scores: list[dict] = []        # accepted score payloads
        self.problems: list[str] = []       # every request refused, and why
        self.token_requests: list[dict] = []
        self.fail_scores = 0                # answer the next N score posts with a 503
        self.tokens: dict[str, list[str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Services":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def tool_key(self, kid: str):
        if self.tool_jwks is not None:
            keys = self.tool_jwks["keys"]
        else:
            with urllib.request.urlopen(self.tool_jwks_url, timeout=30) as response:
                keys = json.load(response)["keys"]
        match = [k for k in keys if k.get("kid") == kid]
        if not match:
            raise ValueError(f"no tool key with kid {kid!r} at {self.tool_jwks_url}")
        return jwt.PyJWK(match[0]).key

    def check_token_request(self, form: dict) -> str:
        if form.get("grant_type") != "client_credentials":
            raise ValueError(f"grant_type {form.get('grant_type')!r}")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise ValueError("client_assertion_type")
        assertion = form.get("client_assertion", "")
        kid = jwt.get_unverified_header(assertion).get("kid")
        claims = jwt.decode(assertion, self.tool_key(kid), algorithms=["RS256"], audience=f"{self.base}/token",
                            options={"require": ["exp", "iat", "jti"]})
        if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID:
            raise ValueError(f"assertion iss/sub {claims['iss']!r}/{claims['sub']!r}, expected {CLIENT_ID!r}")
        scopes = form.get("scope", "").split()
        if not scopes or not set(scopes) <= {SCORE_SCOPE, LINEITEM_SCOPE, NRPS_SCOPE}:
            raise ValueError(f"scopes {scopes}")
        token = "at-" + uuid.uuid4().hex
        self.tokens[token] = scopes
        self.token_requests.append({"scopes": scopes, "kid": kid})
        return token

    def bearer_scopes(self, headers) -> list[str]:
        value = headers.get("Authorization", "")
        if not value.startswith("Bearer ") or value[7:] not in self.tokens:
            raise PermissionError("no valid bearer token")
        return self.tokens[value[7:]]

    def check_score(self, headers, body: bytes) -> dict:
        if SCORE_SCOPE not in self.bearer_scopes(headers):
            raise PermissionError("the token lacks the score scope")
        if headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
            raise ValueError(f"content type {headers.get('Content-Type')!r}")
        score = json.loads(body)
        for field in ("userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress", "timestamp"):
            if field not in score:
                raise ValueError(f"score without {field}")
        if not 0 <= score["scoreGiven"] <= score["scoreMaximum"]:
            raise ValueError("scoreGiven outside [0, scoreMaximum]")
        if (score["activityProgress"], score["gradingProgress"]) != ("Completed", "FullyGraded"):
            raise ValueError("progress")
        return score

    def _handler(self):
        services = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status: int, data: dict | None = None, content_type: str = "application/json"):
                body = json.dumps(data or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def refuse(self, status: int, why: Exception):
                services.problems.append(f"{self.command} {self.path}: {why}")
                self.reply(status, {"error": str(why)})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/token":
                    try:
                        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                        token = services.check_token_request(form)
                    except Exception as exc:
                        return self.refuse(400, exc)
                    return self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
                if self.path == "/lineitems/1/scores":
                    services.score_posts += 1
                    if services.hang_next_score:      # a request whose sender dies: never recorded
                        services.hang_next_score = False
                        services.released.wait(120)
                        return None
                    try:
                        score = services.check_score(self.headers, body)
                    except PermissionError as exc:
                        return self.refuse(401, exc)
                    except Exception as exc:
                        return self.refuse(400, exc)
                    if services.fail_scores > 0:
                        services.fail_scores -= 1
                        return self.reply(503, {"error": "the gradebook is busy"})
                    services.scores.append(score)
                    return self.reply(200, {})
                return self.refuse(404, ValueError("no such endpoint"))

            def page(self, body: str):
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.startswith("/auth?"):        # the platform's OIDC authorization: a plain page here
                    return self.page("<!DOCTYPE html><title>LMS authorization</title><p id='lms-auth'>ok</p>")
                if self.path.startswith("/course?"):      # an LMS course page that frames the tool
                    src = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["frame"][0]
                    return self.page("<!DOCTYPE html><title>LMS course</title>"
                                     f"<iframe id='tool' src='{html.escape(src, quote=True)}'></iframe>")
                if self.path.startswith("/memberships"):
                    try:
                        if NRPS_SCOPE not in services.bearer_scopes(self.headers):
                            raise PermissionError("the token lacks the memberships scope")
                    except PermissionError as exc:
                        return self.refuse(401, exc)
                    return self.reply(200, {"id": f"{services.base}/memberships",
                                            "context": {"id": "course-42"}, "members": services.members},
                                      "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
                return self.refuse(404, ValueError("no such endpoint"))

        return Handler
