# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway PostgreSQL 15 cluster on 127.0.0.1:<free port> for tests.

    with PostgresCluster() as pg:
        pg.dsn   # postgresql://switchboard:PASSWORD@127.0.0.1:PORT/switchboard

initdb and the server run as the `postgres` user (PostgreSQL refuses root)
in a temp dir it owns; unix sockets stay in that dir; host connections need
the password (scram-sha-256). The postmaster is a direct child of the test
process (no pg_ctl daemonizing, so it is reaped) and is stopped by its PID
with SIGINT (fast shutdown).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .ports import free_port, wait_tcp


def _bindir():
    for candidate in [os.environ.get("PG_BINDIR", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if candidate and os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    return None


PG_BINDIR = _bindir()


def available():
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return PG_BINDIR is not None and shutil.which("runuser") is not None


class PostgresCluster:
    def __init__(self, user="switchboard", database="switchboard", password=None, port=None):
        self.user, self.database = user, database
        self.password = password or secrets.token_hex(12)
        self.port = port
        self.dir = None
        self.pid = None
        self.proc = None
        self._log = None
        self.start_seconds = self.stop_seconds = None

    @property
    def dsn(self):
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (self.user, self.password, self.port, self.database)

    def _as_postgres(self, *cmd):
        proc = subprocess.run(["runuser", "-u", "postgres", "--"] + list(cmd), cwd=self.dir, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=60)
        if proc.returncode:
            raise RuntimeError("%s failed:\n%s" % (cmd[0], proc.stdout.decode("utf-8", "replace")))

    def start(self):
        if not available():
            raise RuntimeError("PostgreSQL server binaries or the postgres user are missing")
        started = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="sb-pg-")
        pg = pwd.getpwnam("postgres")
        os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        data = os.path.join(self.dir, "data")
        self.port = self.port or free_port("127.0.0.1", ("tcp",))
        self._as_postgres(os.path.join(PG_BINDIR, "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8",
                          "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256")
        self._log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(PG_BINDIR, "postgres"), "-D", data, "-c", "listen_addresses=127.0.0.1",
             "-p", str(self.port), "-k", self.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off"],
            cwd=self.dir, user=pg.pw_uid, group=pg.pw_gid, extra_groups=[], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        if not self._ready(30):
            self.stop()
            raise RuntimeError("PostgreSQL did not start on 127.0.0.1:%d" % self.port)
        import psycopg2  # only the postgres tests need it
        admin = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE ROLE %s LOGIN PASSWORD %%s" % self.user, (self.password,))
            cur.execute("CREATE DATABASE %s OWNER %s" % (self.database, self.user))
        admin.close()
        self.start_seconds = time.monotonic() - started
        return self

    def _ready(self, timeout):
        deadline = time.monotonic() + timeout
        sock = os.path.join(self.dir, ".s.PGSQL.%d" % self.port)
        while time.monotonic() < deadline and self.proc.poll() is None:
            if os.path.exists(sock) and wait_tcp("127.0.0.1", self.port, 0.2):
                try:
                    import psycopg2
                    psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname="postgres").close()
                    return True
                except psycopg2.OperationalError:  # "the database system is starting up"
                    pass
            time.sleep(0.05)
        return False

    def new_database(self, name):
        """A fresh, empty database owned by the test user; returns its DSN."""
        import psycopg2
        admin = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE %s OWNER %s" % (name, self.user))
        admin.close()
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (self.user, self.password, self.port, name)

    def stop(self, timeout=20.0):
        started = time.monotonic()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)  # fast shutdown
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout)
            self.proc = None
            self.pid = None
            self._log.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self.stop_seconds = time.monotonic() - started

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def log_text(cluster):
    return Path(cluster.dir, "server.log").read_text() if cluster.dir else ""
