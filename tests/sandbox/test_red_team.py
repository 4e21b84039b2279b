"""What a red-team round did to the gradebook from a graded submission, replayed in both sandbox modes.

One attacker, graded by ``dlgrade grade`` in a batch with a correct
classmate, tries everything that worked against the root fallback once:
connecting to the PostgreSQL server's unix socket (raw, and with psycopg as
a trusted local user), reading every process's command line for the
gradebook's password, listing the grader's open files, writing the SQLite
gradebook, and planting a ``.pth`` file in site-packages. The gradebook is
a real PostgreSQL server with password authentication (whose other
database, which the attacker also goes for, trusts every local user), or an
SQLite file. Each runs in the bubblewrap mode and in the fallback. Afterwards the gradebook holds no
table the attacker made and no override, nothing is planted, the classmate
has full marks and the attacker has what the untouched template earns (0).
"""

from __future__ import annotations

import csv
import glob
import os
import secrets
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from sandbox_support import REPO

ASSIGNMENT = REPO / "assignments" / "01_backprop"
TEMPLATE = (REPO / "student_template" / "01_backprop" / "backprop.py").read_text()
PASSWORD = "red-team-" + secrets.token_hex(8)
PLANTED = "zz_dlgrade_planted.pth"
LIMITS = ["--limit", "request_seconds=3", "--limit", "load_seconds=20", "--limit", "wall_seconds=60"]


def _site_dirs() -> list[str]:
    """Every site-packages a planted .pth would run from in the next dlgrade command."""
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    return sorted(d for d in dirs if os.path.isdir(d))


def attacker(socket_dir: str, databases: list[str], sqlite_file: str) -> str:
    return TEMPLATE + f'''

import glob as _glob, os as _os, socket as _socket, sys as _sys

def _attack():
    # 1. the PostgreSQL server's unix socket, raw and as a trusted local user
    try:
        _s = _socket.socket(_socket.AF_UNIX)
        _s.connect({socket_dir!r} + "/.s.PGSQL.5432")
        print("ATTACK unix socket connected")
    except OSError as _e:
        print("unix socket refused:", _e)
    for _db in {databases!r}:
        try:
            import psycopg
            with psycopg.connect(host={socket_dir!r}, user="postgres", dbname=_db, connect_timeout=2) as _c:
                _c.execute("CREATE TABLE pwned (x int)")
                print("ATTACK postgres", _db)
        except Exception as _e:
            print("postgres refused:", type(_e).__name__)
    # 2. every command line on the machine (the grader's --db URL, the server's socket folder)
    for _p in _glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(_p, "rb") as _h:
                print("CMDLINE", _h.read().replace(b"\\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    # 3. the grader's open files
    try:
        print("ATTACK fds of the parent", _os.listdir("/proc/%d/fd" % _os.getppid()))
    except OSError as _e:
        print("parent fds refused:", _e)
    # 4. the SQLite gradebook
    try:
        import sqlite3
        _c = sqlite3.connect({sqlite_file!r})
        _c.execute("CREATE TABLE pwned (x int)")
        _c.commit()
        print("ATTACK sqlite written")
    except Exception as _e:
        print("sqlite refused:", type(_e).__name__)
    # 5. a .pth that would run in the next dlgrade command
    for _d in set({_site_dirs()!r} + [p for p in _sys.path if "-packages" in p]):
        try:
            with open(_os.path.join(_d, {PLANTED!r}), "w") as _h:
                _h.write("import os\\n")
            print("ATTACK planted in", _d)
        except OSError:
            pass

_attack()
'''


def _start_cluster(bindir: str, folder: str, user: tuple[int, int] | None) -> None:
    """A PostgreSQL cluster on a unix socket only: database gb_trust on trust, everything else on a password."""
    kwargs = dict(user=user[0], group=user[1], extra_groups=[]) if user else {}

    def pg(program: str, *args: str) -> None:
        subprocess.run([os.path.join(bindir, program), *args], check=True, cwd=folder, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60, env={**os.environ, "LC_ALL": "C"}, **kwargs)

    pwfile = os.path.join(folder, "pw")
    Path(pwfile).write_text(PASSWORD + "\n")
    if user:
        os.chown(pwfile, *user)
    data = os.path.join(folder, "data")
    pg("initdb", "-D", data, "-A", "scram-sha-256", "--pwfile", pwfile, "-U", "postgres", "-E", "UTF8",
       "--no-sync", "--no-instructions")
    hba = Path(data) / "pg_hba.conf"
    hba.write_text("local gb_trust all trust\nlocal all all scram-sha-256\n")
    pg("pg_ctl", "-D", data, "-l", os.path.join(folder, "log"), "-w", "-t", "30", "-o",
       f"-k {folder} -c listen_addresses='' -F -c max_connections=30", "start")


@pytest.fixture(scope="module")
def postgres_with_auth():
    """(socket folder, stop) of a throwaway server, or a skip (a failure with DLGRADE_TEST_REQUIRE_POSTGRES=1)."""
    pytest.importorskip("psycopg")
    candidates = [os.path.dirname(p) for p in (shutil.which("initdb"),) if p] + sorted(
        (os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")), reverse=True)
    reason = "no PostgreSQL server programs (initdb, pg_ctl)"
    user = None
    if os.geteuid() == 0:
        import pwd

        try:
            entry = pwd.getpwnam("postgres")
            user = (entry.pw_uid, entry.pw_gid)
        except KeyError:
            candidates, reason = [], "running as root, and no 'postgres' user to run a server as"
    folder = tempfile.mkdtemp(prefix="dlgrade-rt-")
    os.chmod(folder, 0o755)  # as /var/run/postgresql: every local user may reach the socket
    if user:
        os.chown(folder, *user)
    started = False
    if candidates:
        try:
            _start_cluster(candidates[0], folder, user)
            started = True
        except (subprocess.CalledProcessError, OSError) as exc:
            reason = f"could not start a PostgreSQL server: {exc} {getattr(exc, 'stdout', '')}"
    if not started:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("DLGRADE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (DLGRADE_TEST_REQUIRE_POSTGRES=1): {reason}")
        pytest.skip(reason)
    import sqlalchemy as sa

    admin = sa.create_engine(f"postgresql+psycopg://postgres:{PASSWORD}@/postgres?host={folder}",
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE gb_password")
        conn.exec_driver_sql("CREATE DATABASE gb_trust")
    admin.dispose()
    yield folder
    bindir = candidates[0]
    kwargs = dict(user=user[0], group=user[1], extra_groups=[]) if user else {}
    subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", os.path.join(folder, "data"), "-m", "immediate", "-w",
                    "stop"], cwd=folder, capture_output=True, timeout=60, **kwargs)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["bwrap", "none"])
def sandbox_mode(request):
    if request.param == "bwrap":
        request.getfixturevalue("bwrap")
    return request.param


@pytest.mark.parametrize("gradebook", ["sqlite", "postgres"])
def test_the_attacker_scores_what_the_template_scores_and_touches_nothing(tmp_path, sandbox_mode, gradebook,
                                                                           request):
    socket_dir = request.getfixturevalue("postgres_with_auth") if gradebook != "sqlite" else "/nonexistent"
    out = tmp_path / "graded"
    sqlite_file = out / "gradebook.db"
    env = {**os.environ, "DLGRADE_SANDBOX": sandbox_mode}
    env.pop("DLGRADE_ALLOW_WEAK_SANDBOX", None)
    if gradebook == "postgres":  # the grader's database needs the password; gb_trust, beside it, none
        env["DLGRADE_DB"] = f"postgresql+psycopg://postgres:{PASSWORD}@/gb_password?host={socket_dir}"
    else:
        env.pop("DLGRADE_DB", None)
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "attacker.py").write_text(attacker(socket_dir, ["gb_password", "gb_trust", "postgres"],
                                                 str(sqlite_file)))
    (folder / "template.py").write_text(TEMPLATE)
    from grader.course.generate.markers import solution_source

    (folder / "classmate.py").write_text(solution_source((ASSIGNMENT / "master.py").read_text()))
    for stale in _site_dirs():
        assert not os.path.exists(os.path.join(stale, PLANTED))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(folder), "--out", str(out),
                          "--jobs", "2", "--no-progress", *LIMITS], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    with (out / "summary.csv").open() as handle:
        scores = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores == {"attacker": scores["template"], "template": 0.0, "classmate": 31.0}, scores

    said = (out / "instructor" / "attacker" / "stdout.txt").read_text()
    assert "ATTACK" not in said, said
    assert PASSWORD not in said
    assert "grader.cli" not in said  # no other process's command line was readable, the grader's included
    assert "unix socket refused" in said or gradebook == "sqlite"
    planted = [d for d in _site_dirs() if os.path.exists(os.path.join(d, PLANTED))]
    for directory in planted:
        os.unlink(os.path.join(directory, PLANTED))
    assert planted == []

    import sqlalchemy as sa

    url = env.get("DLGRADE_DB") or f"sqlite:///{sqlite_file}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            overrides = conn.exec_driver_sql("SELECT count(*) FROM overrides").scalar_one()
    finally:
        engine.dispose()
    assert "pwned" not in tables and "overrides" in tables
    assert overrides == 0
    if gradebook != "sqlite":
        for database in ("gb_password", "gb_trust"):
            engine = sa.create_engine(f"postgresql+psycopg://postgres:{PASSWORD}@/{database}?host={socket_dir}")
            try:
                with engine.connect() as conn:
                    assert "pwned" not in sa.inspect(conn).get_table_names()
            finally:
                engine.dispose()


def test_a_password_on_the_command_line_is_refused(tmp_path):
    """ps and /proc/PID/cmdline show a command line to every process; the message says where the URL goes."""
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grades", "show", "--db",
                          "postgresql+psycopg://teacher:s3cret@/gradebook?host=/nowhere"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "DLGRADE_DB" in run.stderr and "password" in run.stderr
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "01_backprop", str(tmp_path), "--db",
                          "postgresql://teacher:s3cret@localhost/gradebook"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "DLGRADE_DB_FILE" in run.stderr


def test_the_gradebook_url_comes_from_a_private_file(tmp_path, monkeypatch):
    from grader.course.gradebook.credentials import CredentialError, gradebook_location

    url_file = tmp_path / "db-url"
    url_file.write_text("sqlite:///" + str(tmp_path / "gb.db") + "\n")
    monkeypatch.delenv("DLGRADE_DB", raising=False)
    monkeypatch.setenv("DLGRADE_DB_FILE", str(url_file))
    os.chmod(url_file, 0o644)
    with pytest.raises(CredentialError, match="chmod 600"):
        gradebook_location(None)
    os.chmod(url_file, 0o600)
    assert gradebook_location(None) == "sqlite:///" + str(tmp_path / "gb.db")
    assert gradebook_location("other.db") == "other.db"
    monkeypatch.setenv("DLGRADE_DB", "env.db")
    assert gradebook_location(None) == "env.db"
