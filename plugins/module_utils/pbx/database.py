# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBX database: Kamailio's standard tables plus the project's own, on SQLite or PostgreSQL.

One connection, one transaction per run: ``commit()`` or ``rollback()`` (check mode).
SQL is written with ``?`` placeholders and translated for psycopg2.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from urllib.parse import urlparse

from ..errors import SwitchboardError

KAMAILIO_SCHEMA_DIRS = {"sqlite": "/usr/share/kamailio/db_sqlite", "postgres": "/usr/share/kamailio/postgres"}
KAMAILIO_SCHEMA_PACKAGES = {"sqlite": "kamailio-sqlite-modules", "postgres": "kamailio-postgres-modules"}
# The Kamailio modules whose tables the platform uses (usrloc: registered clients, permissions: trusted peers).
KAMAILIO_MODULES = ("standard", "auth_db", "alias_db", "group", "avpops", "usrloc", "permissions")

PROJECT_SCHEMA_VERSION = 1
TRUSTED_PEERS_TABLE = "CREATE TABLE sb_trusted_peers (name VARCHAR(64) PRIMARY KEY, data TEXT NOT NULL)"
PROJECT_TABLES = """
CREATE TABLE sb_schema (version INTEGER NOT NULL);
CREATE TABLE sb_provisioning_profiles (name VARCHAR(64) PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE sb_networks (name VARCHAR(64) PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE sb_groups (name VARCHAR(64) PRIMARY KEY,
    provisioning_profile VARCHAR(64) REFERENCES sb_provisioning_profiles(name), data TEXT NOT NULL);
CREATE TABLE sb_numbers (number VARCHAR(32) PRIMARY KEY, group_name VARCHAR(64) REFERENCES sb_groups(name),
    state VARCHAR(16) NOT NULL, data TEXT NOT NULL);
CREATE TABLE sb_accounts (number VARCHAR(32) PRIMARY KEY,
    group_name VARCHAR(64) NOT NULL REFERENCES sb_groups(name),
    username VARCHAR(64) NOT NULL UNIQUE, last_status VARCHAR(32) NOT NULL,
    last_status_date VARCHAR(32) NOT NULL, data TEXT NOT NULL);
CREATE TABLE sb_account_numbers (number VARCHAR(32) PRIMARY KEY,
    account VARCHAR(32) NOT NULL REFERENCES sb_accounts(number), role VARCHAR(16) NOT NULL);
CREATE INDEX sb_account_numbers_account_idx ON sb_account_numbers (account);
CREATE TABLE sb_devices (name VARCHAR(64) PRIMARY KEY, group_name VARCHAR(64) REFERENCES sb_groups(name),
    ip VARCHAR(64) NOT NULL, data TEXT NOT NULL);
CREATE TABLE sb_channels (device VARCHAR(64) NOT NULL REFERENCES sb_devices(name), idx INTEGER NOT NULL,
    extension VARCHAR(32) REFERENCES sb_accounts(number), PRIMARY KEY (device, idx));
CREATE INDEX sb_channels_extension_idx ON sb_channels (extension);
CREATE TABLE sb_journal (at VARCHAR(32) NOT NULL, kind VARCHAR(32) NOT NULL, object_key VARCHAR(64) NOT NULL,
    action VARCHAR(16) NOT NULL, fields TEXT NOT NULL);
"""


def parse_dsn(dsn):
    """Return (engine, target): ('sqlite', '/abs/path') or ('postgres', dsn)."""
    url = urlparse(dsn or "")
    if url.scheme == "sqlite":
        path = url.path
        if not url.netloc == "" or not os.path.isabs(path) or path in ("", "/"):
            raise SwitchboardError("switchboard_pbx_dsn %r: a SQLite DSN is sqlite:///ABSOLUTE/PATH" % dsn)
        return "sqlite", path
    if url.scheme in ("postgresql", "postgres"):
        return "postgres", dsn
    raise SwitchboardError("switchboard_pbx_dsn %r: use sqlite:///ABSOLUTE/PATH or postgresql://USER:PASSWORD@HOST:PORT/DB"
                           % redact_dsn(dsn))


def redact_dsn(dsn):
    url = urlparse(dsn or "")
    if url.password:
        return dsn.replace(":%s@" % url.password, ":********@", 1)
    return dsn


def _statements(sql):
    return [s.strip() for s in sql.split(";\n") if s.strip() and not s.strip().startswith("--")]


class Database:
    """A connection with an open transaction."""

    def __init__(self, engine, connection, dsn, created=False):
        self.engine = engine
        self.connection = connection
        self.dsn = dsn
        self.created = created
        self.schema_created = False
        self._cursor = connection.cursor()

    # -- SQL -----------------------------------------------------------------
    def _sql(self, sql):
        return sql.replace("?", "%s") if self.engine == "postgres" else sql

    def execute(self, sql, params=()):
        self._cursor.execute(self._sql(sql), params)

    def executemany(self, sql, rows):
        rows = list(rows)
        if not rows:
            return
        if self.engine == "postgres":
            from psycopg2.extras import execute_batch
            execute_batch(self._cursor, self._sql(sql), rows, page_size=1000)
        else:
            self._cursor.executemany(sql, rows)

    def query(self, sql, params=()):
        self._cursor.execute(self._sql(sql), params)
        return self._cursor.fetchall()

    def commit(self):
        self.connection.commit() if self.engine == "postgres" else self.execute("COMMIT")

    def rollback(self):
        self.connection.rollback() if self.engine == "postgres" else self.execute("ROLLBACK")

    def close(self):
        self.connection.close()

    def discard(self):
        """Roll back and, when this run created the SQLite file, remove it: nothing is left behind."""
        self.rollback()
        self.close()
        if self.created and self.engine == "sqlite":
            _engine, path = parse_dsn(self.dsn)
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)

    # -- schema --------------------------------------------------------------
    def has_table(self, name):
        if self.engine == "postgres":  # the table as the search path finds it
            return self.query("SELECT to_regclass(?)", (name,))[0][0] is not None
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def ensure_schema(self):
        """Create Kamailio's and the project's tables when missing. Returns True when it created any."""
        created = False
        if not self.has_table("version"):
            for sql in kamailio_schema(self.engine):
                for statement in _statements(sql):
                    self.execute(statement)
            created = True
        if not self.has_table("sb_schema"):
            for statement in _statements(PROJECT_TABLES):
                self.execute(statement)
            self.execute("INSERT INTO sb_schema (version) VALUES (?)", (PROJECT_SCHEMA_VERSION,))
            created = True
        if not self.has_table("sb_trusted_peers"):  # databases made before trusted peers existed
            self.execute(TRUSTED_PEERS_TABLE)
            created = True
        return created


def kamailio_schema(engine):
    directory = KAMAILIO_SCHEMA_DIRS[engine]
    texts = []
    for module in KAMAILIO_MODULES:
        path = os.path.join(directory, "%s-create.sql" % module)
        try:
            with open(path) as handle:
                texts.append(handle.read())
        except OSError:
            raise SwitchboardError("Kamailio's schema file %s is missing: install the Debian package %s"
                                   % (path, KAMAILIO_SCHEMA_PACKAGES[engine]))
    return texts


def database_exists(dsn):
    """Whether connecting can create nothing: a PostgreSQL database, or a SQLite file already there."""
    engine, target = parse_dsn(dsn)
    return engine == "postgres" or os.path.exists(target)


def connect(dsn, check_mode=False):
    """Open the database and begin the run's transaction.

    In check mode a SQLite file that does not exist yet is not created: the run works on an
    empty in-memory database instead, so the plan is the same and nothing is written.
    """
    engine, target = parse_dsn(dsn)
    if engine == "postgres":
        try:
            import psycopg2
        except ImportError:
            raise SwitchboardError("a postgresql:// DSN needs the Python package psycopg2 on the managed host")
        try:
            connection = psycopg2.connect(target, connect_timeout=10)
        except psycopg2.Error as exc:
            raise SwitchboardError("cannot connect to %s: %s" % (redact_dsn(dsn), str(exc).strip()))
        database = Database(engine, connection, dsn)
        # One run at a time: SQLite's BEGIN IMMEDIATE does this for the file, this for the database.
        database.execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.pbx'))")
        return database
    exists = os.path.exists(target)
    if not exists and check_mode:
        target = ":memory:"
    elif not exists:
        directory = os.path.dirname(target)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise SwitchboardError("cannot create the directory %r for the PBX database: %s" % (directory, exc.strerror))
    try:
        connection = sqlite3.connect(target, isolation_level=None, timeout=30)
        if not exists and target != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")  # Kamailio reads while we write
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise SwitchboardError("cannot open the PBX database %s: %s" % (target, exc))
    return Database(engine, connection, dsn, created=not exists)


@contextlib.contextmanager
def transaction(dsn, check_mode=False):
    """The run's one transaction, schema ensured: committed on success, rolled back in check mode
    or on any error (a SQLite file this run created is then removed)."""
    db = connect(dsn, check_mode=check_mode)
    try:
        db.schema_created = db.ensure_schema()
        yield db
    except BaseException:
        db.discard()
        raise
    if check_mode:
        db.discard()
    else:
        db.commit()
        db.close()


def initialise(dsn, check_mode=False):
    """Create the schema if missing; returns whether anything was created."""
    with transaction(dsn, check_mode) as db:
        return db.schema_created
