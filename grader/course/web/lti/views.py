"""The LTI pages: the key set, the OIDC login, the launch, the landing in a frame, deep linking and the
instructor's page of grade sends and roster.

Launch errors get a page that says what was wrong (a forged signature, an
expired or already used token, an unknown platform) and what to do: launch
again from the LMS. When the browser dropped the cookie that ties the login to
the launch (third-party cookies blocked inside the LMS frame), the page offers
to open dlgrade in a new window, as the LTI guidance for browsers advises.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, redirect, request, session, url_for

from grader.course.web.lti import deeplink, exports, identity, keys, passback, roster
from grader.course.web.lti import tables as L
from grader.course.web.lti.launch import message_launch, oidc_login
from grader.course.web.lti.platforms import find
from grader.course.web.lti.setup import EXTENSION
from grader.course.web.view_helpers import app_page, assignment_or_404, course_of, csv_download, signed_in

bp = Blueprint("lti", __name__)
# The platform posts these cross-site: the state, nonce and signature protect them, not a CSRF token.
CSRF_EXEMPT = {"lti.login", "lti.launch"}
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id")
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
# A path on this site: printable ASCII without spaces (browsers drop tabs and newlines from a URL, so
# "/<tab>/evil.example" would become "//evil.example"), and not "//" or "/\\" (another host).
LOCAL_PATH = re.compile(r"/(?![/\\])[\x21-\x7e]*")


def lti():
    return current_app.extensions[EXTENSION]


def refused(message: str, status: int = 403, *, new_window: str | None = None):
    response = app_page("lti_refused.html", status=status, message=message, new_window=new_window)
    response.status_code = status
    return response


def require_enabled():
    if not lti().enabled:
        return refused("LTI is not set up for this course: register a platform in COURSE/lti/platforms/ "
                       "(see docs/lti.md)", 404)
    return None


@bp.get("/lti/jwks")
def jwks():
    """The tool's public key set, for the platforms to check what the tool signs."""
    response = jsonify(keys.jwks(keys.lti_folder(course_of().folder)))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/lti/login", methods=["GET", "POST"])
def login():
    """Third-party initiated login: check the browser keeps cookies here, then redirect to the platform."""
    if (off := require_enabled()) is not None:
        return off
    params = {k: request.values[k][:2000] for k in LOGIN_PARAMS if request.values.get(k)}
    if not params.get("iss") or not params.get("login_hint"):
        return refused("the LMS's login request lacks 'iss' or 'login_hint': launch dlgrade from the LMS", 400)
    if request.values.get("checked") != "1":
        # A page that tests the cookie in this browser (static script: the CSP allows no inline one);
        # it continues here when cookies work, and offers a new window when they do not.
        again = url_for("lti.login", **params, checked="1")
        return app_page("lti_cookie_check.html", continue_url=again)
    try:
        oidc = oidc_login(lti().config, lti().storage)
        oidc.pass_params_to_launch({"login": params})
        return oidc.redirect(url_for("lti.launch", _external=True))
    except Exception as exc:   # pylti1p3 raises plain Exception for an unknown issuer
        return refused(f"the LMS login was refused: {exc}. Is this platform registered (COURSE/lti/platforms/)?")


def explain(exc: Exception) -> str:
    text = str(exc)
    if "Signature verification failed" in text or "Unable to find public key" in text:
        return ("the launch token's signature does not match the platform's registered keys (forged, or the "
                "platform's key set changed): launch again from the LMS, or update key_set in the registration")
    if "expired" in text.lower():
        return "the launch token has expired: launch dlgrade again from the LMS"
    if "Invalid Nonce" in text:
        return ("this launch token was already used (or was not issued for a login here): launch dlgrade "
                "again from the LMS")
    if "not found in settings" in text or "Registration not found" in text:
        return f"the platform is not registered here ({text}): see docs/lti.md"
    if "deployment" in text.lower():
        return f"this deployment is not registered ({text}): add its id to deployment_ids"
    return f"the launch was refused: {text}"


@bp.post("/lti/launch")
def launch():
    if (off := require_enabled()) is not None:
        return off
    setup = lti()
    message = message_launch(setup.config, setup.storage)
    try:
        claims = message.get_launch_data()
    except Exception as exc:
        if "State not found" in str(exc):
            return cookie_blocked()
        return refused(explain(exc))
    platform = find(setup.platforms, claims["iss"], message.get_client_id())
    role = identity.role_of(claims.get(CLAIM + "roles") or [])
    if role is None:
        return refused("your LMS roles give no access to dlgrade (it knows learners and instructors): "
                       f"{claims.get(CLAIM + 'roles')}")
    user_id = identity.user_id_of(claims, platform)
    if user_id is None:
        return refused(f"the launch carries none of {list(platform.user_id_claims)} to tell who you are: "
                       "ask the LMS administrator to share it with dlgrade")
    if message.is_deep_link_launch() and role != "instructor":
        return refused("only an instructor can choose what dlgrade adds to the course")
    course = course_of()
    assignment = None
    with course.writer.begin() as conn:
        identity.remember(conn, platform, claims["sub"], user_id, role, name=claims.get("name"),
                          email=claims.get("email"))
        if message.is_resource_launch():
            assignment = record_link(conn, platform, claims)
        identity.sign_in(conn, user_id, role, message.get_launch_id())
    if role == "student":
        course.gradebook.add_student(user_id, name=claims.get("name") or None, email=claims.get("email") or None)
    if message.is_deep_link_launch():
        return redirect(url_for("lti.deep_link"))
    if assignment and role == "instructor":
        return redirect(url_for("lti.landing", to=url_for("instructor.assignment", name=assignment)))
    if assignment:
        return redirect(url_for("lti.landing", to=url_for("student.assignment", name=assignment)))
    return redirect(url_for("lti.landing", to=url_for("student.home")))


def record_link(conn, platform, claims) -> str | None:
    """Store the resource link (its assignment, its AGS line item, the roster URL); return the assignment."""
    course = course_of()
    link_id = (claims.get(CLAIM + "resource_link") or {}).get("id")
    context_id = (claims.get(CLAIM + "context") or {}).get("id") or ""
    custom = claims.get(CLAIM + "custom") or {}
    wanted = custom.get("assignment") if isinstance(custom, dict) else None
    existing = conn.execute(sa.select(L.links).where(L.links.c.issuer == platform.issuer,
                                                     L.links.c.resource_link_id == link_id)).first()
    assignment = wanted if wanted in course.assignments else (existing.assignment if existing else None)
    ags = claims.get(AGS_CLAIM) or {}
    nrps = claims.get(NRPS_CLAIM) or {}
    values = dict(client_id=platform.client_id, deployment_id=claims.get(CLAIM + "deployment_id", ""),
                  context_id=context_id, assignment=assignment, lineitem=ags.get("lineitem"),
                  ags_scopes=list(ags.get("scope") or []), memberships_url=nrps.get("context_memberships_url"),
                  updated_at=identity.tokens.utcnow())
    if existing is None:
        conn.execute(sa.insert(L.links).values(issuer=platform.issuer, resource_link_id=link_id, **values))
    else:
        conn.execute(sa.update(L.links).where(L.links.c.id == existing.id).values(**values))
    return assignment


def cookie_blocked():
    """The launch came without the login's cookie: offer the same login in a new window."""
    state = request.form.get("state", "")[:200]
    saved = lti().storage.get_value("lti1p3-" + state) if state.startswith("state-") else None
    params = (saved or {}).get("login") if isinstance(saved, dict) else None
    link = url_for("lti.login", **params, checked="1") if params else None
    return refused("your browser did not keep dlgrade's cookie inside the LMS page (third-party cookies "
                   "are blocked), so this launch cannot be tied to your login.", 401, new_window=link)


@bp.get("/lti/landing")
def landing():
    """Where a launch ends: the page asked for if the session cookie was kept, else a new-window offer."""
    target = request.args.get("to", "/")
    if not LOCAL_PATH.fullmatch(target):   # a path here, never another site
        target = "/"
    if g.get("identity") is None:
        return refused("your browser did not keep dlgrade's session inside the LMS page (third-party "
                       "cookies are blocked). Launch dlgrade again from the LMS and choose to open it in a "
                       "new window.", 401)
    return redirect(target)


@bp.route("/lti/deep-link", methods=["GET", "POST"])
@signed_in("instructor")
def deep_link():
    """The instructor picks an assignment; the tool signs the deep-linking response and posts it back."""
    launch_id = session.get("lti_launch")
    setup = lti()
    try:
        chosen = deeplink.restore(launch_id, setup)
    except Exception as exc:
        return refused(f"there is no deep-linking launch in this session ({exc}): start again from the LMS", 400)
    course = course_of()
    if request.method == "GET":
        return app_page("lti_deep_link.html", assignments=course.assignments.values())
    name = request.form.get("assignment", "")
    if name not in course.assignments:
        return refused(f"no assignment {name!r} in this course: pick one of the list", 400)
    form = deeplink.response_form(chosen, course.assignments[name], url_for("lti.launch", _external=True))
    response = app_page("lti_deep_link_return.html", **form)
    origin = urlsplit(form["return_url"])
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"form-action {origin.scheme}://{origin.netloc}; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'")
    return response


@bp.get("/instructor/lti")
@signed_in("instructor")
def sends_page():
    """Every grade send and its tries, the registered platforms and the roster from the LMS."""
    course = course_of()
    with course.engine.begin() as conn:
        sends = passback.sends_with_log(conn)
        people = conn.execute(sa.select(L.users).order_by(L.users.c.user_id)).all()
        links = conn.execute(sa.select(L.links).order_by(L.links.c.id)).all()
    return app_page("lti_instructor.html", sends=sends, people=people, links=links, platforms=lti().platforms)


@bp.post("/instructor/lti/send")
@signed_in("instructor")
def send_now():
    """Queue every released score that the LMS does not have yet, and try every send that is due."""
    course = course_of()
    retry_failed = request.form.get("retry_failed") == "1"
    passback.run_once(course, lti(), retry_failed=retry_failed)
    return redirect(url_for("lti.sends_page"))


@bp.post("/instructor/lti/roster")
@signed_in("instructor")
def roster_sync():
    course = course_of()
    try:
        count = roster.sync_all(course, lti())
    except roster.RosterError as exc:
        return refused(str(exc), exc.status)
    return redirect(url_for("lti.sends_page", synced=count))



@bp.get("/instructor/a/<name>/export-<lms>.csv")
@signed_in("instructor")
def export_for_lms(name: str, lms: str):
    """The assignment's final scores in Canvas's or Moodle's grade-import CSV."""
    a = assignment_or_404(name)
    writers = {"canvas": exports.canvas_csv, "moodle": exports.moodle_csv}
    if lms not in writers:
        return refused(f"no export for {lms[:20]!r}: there are canvas and moodle", 404)
    return csv_download(writers[lms](course_of(), a), f"{a.name}-{lms}.csv")
