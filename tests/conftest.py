"""Shared fixtures: the collection on sys.path, state directories on disk, real ansible-playbook runs."""

import hashlib
import itertools
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
sys.path.insert(0, str(BUILD))
sys.path.insert(0, str(REPO / "tests"))

# The parse cache of every run in this session (in-process and through ansible-playbook) goes here.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="switchboard-test-cache-")
PARSE_CACHE = pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "switchboard" / "parsed"

DEMO_STATE = REPO / "inventories" / "demo" / "state"
SIP_DOMAIN = "pbx.test.example"


def _ensure_collection_link():
    link = BUILD / "ansible_collections" / "switchboard" / "pbx"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("../../..")


_ensure_collection_link()


def write_state(directory, files):
    """files: {relative name: dict or text}. Returns the directory."""
    directory = pathlib.Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return directory


def file_digest(path):
    """A SQLite database's bytes, its write-ahead log included (WAL mode commits land there first)."""
    if not os.path.exists(path):
        return None
    digest = hashlib.sha256(pathlib.Path(path).read_bytes())
    if os.path.exists(path + "-wal"):
        digest.update(pathlib.Path(path + "-wal").read_bytes())
    return digest.hexdigest()


class Playbook:
    """Runs playbooks/site.yml (or another) for real, against a state dir and a PBX DSN."""

    def __init__(self, tmp_path, dsn):
        self.tmp_path = tmp_path
        self.dsn = dsn
        self.state_dir = tmp_path / "state"
        self.report_dir = tmp_path / "reports"
        self.inventory = tmp_path / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"pbx": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
        self.outputs = []

    def env(self):
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(BUILD),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_LOCAL_TEMP=str(self.tmp_path / "ansible-tmp"), ANSIBLE_HOME=str(self.tmp_path / "ansible-home"))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def run(self, *extra, playbook="playbooks/site.yml", mode="merged", extra_vars=None, expect_rc=0):
        variables = {"switchboard_state_dir": str(self.state_dir), "switchboard_pbx_dsn": self.dsn,
                     "switchboard_sip_domain": SIP_DOMAIN, "switchboard_mode": mode,
                     "switchboard_report_dir": str(self.report_dir)}
        variables.update(extra_vars or {})
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(self.inventory),
                   str(REPO / playbook), "-e", json.dumps(variables)] + list(extra)
        done = subprocess.run(command, cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=300, check=False)
        output = done.stdout + done.stderr
        self.outputs.append(output)
        assert done.returncode == expect_rc, output
        return output


def recap_changed(output):
    for line in output.splitlines():
        if line.startswith("pbx ") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no play recap in:\n" + output)


@pytest.fixture
def sqlite_dsn(tmp_path):
    return "sqlite:///%s" % (tmp_path / "db" / "pbx.sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    from support import postgres
    if not postgres.available():
        pytest.fail("PostgreSQL 15 is not installed (make test installs it)")
    cluster = postgres.PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def kannel(tmp_path_factory):
    """A real Kannel (bearerbox, smsbox, fakesmsc as the phones) on free loopback ports for one test module;
    whatever the module did, Kannel's logs never hold its sendsms password."""
    from support import kannel as kannel_support
    if not kannel_support.available():
        pytest.fail("Kannel is not installed (make test installs kannel and kannel-extras)")
    server = kannel_support.KannelServer(tmp_path_factory.mktemp("kannel")).start()
    yield server
    server.stop()
    assert server.password not in server.logs()


@pytest.fixture
def sqlite_statements(monkeypatch):
    """Every SQL statement of the SQLite connections the engine opens from now on (SQLite's trace hook)."""
    from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database
    statements = []
    real_connect = database._connect_sqlite

    def traced(*args, **kwargs):
        db = real_connect(*args, **kwargs)
        db.connection.set_trace_callback(statements.append)
        return db
    monkeypatch.setattr(database, "_connect_sqlite", traced)
    return statements


_databases = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgres"])
def pbx_dsn(request, tmp_path):
    """A new, empty PBX database on each engine: the same behaviour tests run on both."""
    if request.param == "sqlite":
        return "sqlite:///%s" % (tmp_path / "db" / "pbx.sqlite")
    return request.getfixturevalue("pg_cluster").new_database("pbx_test_%d" % next(_databases))


def db_rows(dsn, sql, params=()):
    """Query the PBX database on either engine (``?`` placeholders)."""
    if dsn.startswith("sqlite:"):
        return sqlite_rows(dsn, sql, params)
    import psycopg2
    connection = psycopg2.connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else None
    finally:
        connection.commit()
        connection.close()


@pytest.fixture
def playbook(tmp_path, sqlite_dsn):
    return Playbook(tmp_path, sqlite_dsn)


def sqlite_rows(dsn, sql, params=()):
    connection = sqlite3.connect(dsn[len("sqlite://"):])
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.commit()
        connection.close()
