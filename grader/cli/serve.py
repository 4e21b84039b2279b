"""``dlgrade serve``, ``dlgrade serve invite``, ``dlgrade serve revoke`` (``dlgrade worker``: :mod:`grader.cli.worker`).

    dlgrade serve --course COURSE                  the website on http://127.0.0.1:8000, with one local worker
    dlgrade serve --demo                           a demo course: the demo class, sign-in links printed
    dlgrade serve invite class.csv --course COURSE personal sign-in links (CSV: id[,name,email,role])
    dlgrade serve revoke alice --course COURSE     end alice's tokens and sessions
    dlgrade worker --course COURSE                 one more worker (here or on another host, same database)

The website runs under waitress, a production WSGI server (pure Python, any
platform). Behind a reverse proxy that terminates HTTPS, run it on 127.0.0.1
with ``--behind-proxy``: cookies are then ``Secure`` and the client's address
(for the sign-in rate limit) is taken from the proxy's ``X-Forwarded-For``.
Off loopback, cookies are always ``Secure``. For another
server: ``DLGRADE_COURSE=COURSE gunicorn 'grader.course.web.wsgi:app'``, and start the workers
with ``dlgrade worker``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from grader.cli.options import course_options, die_with_parent

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers) -> None:
    import flask  # noqa: F401  (the student kit has no Flask: the command shows as unavailable there)
    import waitress  # noqa: F401

    serve = subparsers.add_parser("serve", help="run the course website (and its workers)", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    course_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free port)")
    serve.add_argument("--workers", type=int, default=1, help="local grading workers to start (default: 1)")
    serve.add_argument("--threads", type=int, default=8, help="threads serving requests (default: 8)")
    serve.add_argument("--lease-seconds", type=float, default=30.0,
                       help="a worker's claim on a job lasts this long unless renewed (default: 30)")
    serve.add_argument("--behind-proxy", action="store_true",
                       help="behind one HTTPS reverse proxy: Secure cookies, client address from X-Forwarded-For")
    serve.add_argument("--insecure-cookies", action="store_true",
                       help="no Secure flag on cookies off loopback (only behind no TLS at all: not advised)")
    serve.add_argument("--demo", action="store_true", help="fill the course with the demo class and print "
                                                           "sign-in links (course default: ./demo-course)")
    serve.add_argument("--base-url", help="the site's public address, for printed links")
    serve.set_defaults(run=run_serve)
    actions = serve.add_subparsers(dest="action", metavar="ACTION")
    invite = actions.add_parser("invite", help="issue personal sign-in links from a class list")
    invite.add_argument("roster", type=Path, help="CSV with a column id (or student); optional name, email, role")
    course_options(invite, suppress=True)
    invite.add_argument("--days", type=float, default=120.0, help="days each token is valid (default: 120)")
    invite.add_argument("--out", type=Path, help="where to write the links (default: COURSE/invites.csv)")
    invite.add_argument("--base-url", default=argparse.SUPPRESS, help="the site's address (default: "
                                                                      "http://127.0.0.1:8000)")
    invite.set_defaults(run=run_invite)
    revoke = actions.add_parser("revoke", help="revoke every token of a user (their sessions end)")
    revoke.add_argument("user")
    course_options(revoke, suppress=True)
    revoke.set_defaults(run=run_revoke)
    lti_keys = actions.add_parser("lti-keys", help="make the tool's RSA key pair for LTI 1.3 (docs/lti.md)")
    course_options(lti_keys, suppress=True)
    lti_keys.add_argument("--replace", action="store_true", help="replace an existing pair (every platform "
                                                                  "must then be given the new public key)")
    lti_keys.set_defaults(run=run_lti_keys)



def open_course(args, *, demo: bool = False):
    """The course ``--course`` names (default ``./course``; ``--demo``: ``./demo-course``, filled
    with the demo class first)."""
    from grader.course.web.course import Course

    folder = args.course or Path("demo-course" if demo else "course")
    if demo:
        from grader.course.web.demo import prepare_course

        prepare_course(folder)
    return Course(folder, db=args.db)


# -- serve ----------------------------------------------------------------------------
def run_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from grader.course.web.app import UPLOAD_SLACK, create_app

    course = open_course(args, demo=args.demo)
    base = (args.base_url or f"http://{args.host}:{args.port}").rstrip("/")
    secure = (args.behind_proxy or args.host not in LOOPBACK) and not args.insecure_cookies
    app = create_app(course, secure_cookies=secure)
    if args.behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    # waitress 3 strips X-Forwarded-* unless told otherwise; behind the proxy, ProxyFix reads them instead.
    server = create_server(app, host=args.host, port=args.port, threads=args.threads,
                           max_request_body_size=course.config.max_upload_bytes + UPLOAD_SLACK,
                           ident="dlgrade", clear_untrusted_proxy_headers=not args.behind_proxy)
    if args.port == 0:
        base = args.base_url or f"http://{args.host}:{server.effective_port}"
    if args.demo:
        from grader.course.web.demo import demo_links

        for line in demo_links(course, base):
            print(line)
    workers = [start_worker(course, args) for _ in range(max(0, args.workers))]
    print(f"dlgrade: course {course.folder} on {base} (gradebook {course.gradebook.url}); "
          f"{len(workers)} local worker(s). Ctrl-C stops.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        course.close()
    return 0


def start_worker(course, args) -> subprocess.Popen:
    """A worker process that dies with this one (Linux: PR_SET_PDEATHSIG), so a killed server leaves none."""
    command = [sys.executable, "-m", "grader.cli", "worker", "--course", str(course.folder), "--db", course.db,
               "--lease-seconds", str(args.lease_seconds), "--exit-with-parent"]
    return subprocess.Popen(command, preexec_fn=die_with_parent if sys.platform == "linux" else None)


# -- invite and revoke ----------------------------------------------------------------
def run_invite(args: argparse.Namespace) -> int:
    from grader.course.web import tokens

    course = open_course(args)
    base = getattr(args, "base_url", None) or "http://127.0.0.1:8000"
    people = read_roster(args.roster)
    out = args.out or course.folder / "invites.csv"
    rows = []
    with course.writer.begin() as conn:
        for person in people:
            token = tokens.issue(conn, person["id"], person["role"], days=args.days)
            rows.append([person["id"], person["role"], signin_link(base, token)])
    for person in people:
        if person["role"] == "student":
            course.gradebook.add_student(person["id"], name=person.get("name") or None,
                                         email=person.get("email") or None)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "role", "link"])
        writer.writerows(rows)
    expires = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=args.days)
    print(f"{len(rows)} sign-in link(s) written to {out} (readable by you only; valid until "
          f"{expires:%Y-%m-%d}). Send each person their own link.")
    course.close()
    return 0


def signin_link(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/signin?token={token}"


def read_roster(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or [])
        key = "id" if "id" in fields else "student" if "student" in fields else None
        if key is None:
            raise ValueError(f"{path}: the class list needs a column 'id' (or 'student'); it has "
                             f"{sorted(fields) or 'no header'}")
        people = []
        for line, row in enumerate(reader, start=2):
            user = (row.get(key) or "").strip()
            role = (row.get("role") or "student").strip() or "student"
            if not user:
                raise ValueError(f"{path}:{line}: empty {key}")
            if role not in ("student", "instructor"):
                raise ValueError(f"{path}:{line}: role {role!r}: expected student or instructor")
            people.append({"id": user, "role": role, "name": (row.get("name") or "").strip(),
                           "email": (row.get("email") or "").strip()})
    return people


def run_revoke(args: argparse.Namespace) -> int:
    from grader.course.web import tokens

    course = open_course(args)
    with course.writer.begin() as conn:
        count = tokens.revoke(conn, args.user)
    course.close()
    print(f"{count} token(s) of {args.user} revoked")
    return 0 if count else 1


def run_lti_keys(args: argparse.Namespace) -> int:
    from grader.course.web.lti import keys

    folder = keys.lti_folder(args.course or Path("course"))
    try:
        private = keys.generate(folder, replace=args.replace)
    except FileExistsError as exc:
        print(f"dlgrade: {exc}", file=sys.stderr)
        return 1
    kid = keys.jwks(folder)["keys"][0]["kid"]
    print(f"private key {private} (mode 600, never share it); public key {folder / keys.PUBLIC_NAME}\n"
          f"key id {kid}; the platforms read the key set at BASE_URL/lti/jwks")
    return 0
