# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBX database: Kamailio's standard tables plus the project's own, on SQLite or PostgreSQL.

A run reads in one transaction that takes no lock (a snapshot: Kamailio and readers go on), then writes in
a second, short one under the write lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), each
waited for at most ``lock_timeout`` seconds. The write transaction is committed, or rolled back in check
mode and on any error; a database error is reported with its own cause, never the cleanup's.
SQL is written with ``?`` placeholders and translated for psycopg2.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from urllib.parse import urlparse

from ..errors import SwitchboardError
from . import bulk_new_tables, change_counter, migrations, pg_copy

KAMAILIO_SCHEMA_DIRS = {"sqlite": "/usr/share/kamailio/db_sqlite", "postgres": "/usr/share/kamailio/postgres"}
KAMAILIO_SCHEMA_PACKAGES = {"sqlite": "kamailio-sqlite-modules", "postgres": "kamailio-postgres-modules"}
# The Kamailio modules whose tables the platform uses (usrloc: registered clients, permissions: trusted peers).
KAMAILIO_MODULES = ("standard", "auth_db", "alias_db", "group", "avpops", "usrloc", "permissions")
LOCK_TIMEOUT = 30  # seconds a run waits for the write lock
APPLICATION_NAME = "switchboard"  # how PostgreSQL's pg_stat_activity names our sessions
ADVISORY_KEY = "hashtext('switchboard.pbx')"  # one Switchboard writer per PostgreSQL database
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
BATCH_ROWS = 10000  # rows per fetch of a bulk read on PostgreSQL (query_batched)


def parse_dsn(dsn):
    """Return (engine, target): ('sqlite', '/abs/path') or ('postgres', dsn)."""
    url = urlparse(dsn or "")
    if url.scheme == "sqlite":
        return "sqlite", _sqlite_path(dsn, url)
    if url.scheme in ("postgresql", "postgres"):
        return "postgres", dsn
    raise SwitchboardError("switchboard_pbx_dsn %r: use sqlite:///ABSOLUTE/PATH or postgresql://USER:PASSWORD@HOST:PORT/DB"
                           % redact_dsn(dsn))


def _sqlite_path(dsn, url):
    """sqlite:///var/lib/pbx.sqlite is /var/lib/pbx.sqlite. What looks relative (sqlite:pbx.sqlite,
    sqlite://db/pbx.sqlite, sqlite:///./pbx.sqlite, sqlite:///pbx.sqlite in SQLAlchemy's reading) is refused:
    it would otherwise land at the filesystem root or wherever the module happens to run."""
    path = url.path
    parts = path.split("/")
    if (url.netloc or not path.startswith("/") or "." in parts or ".." in parts or "~" in path
            or os.path.dirname("/" + path.lstrip("/")) == "/" or url.query or url.fragment or path.endswith("/")):
        raise SwitchboardError("switchboard_pbx_dsn %r: a SQLite DSN is sqlite:///ABSOLUTE/PATH to a file below a "
                               "directory, e.g. sqlite:///var/lib/switchboard/pbx.sqlite; relative paths and files "
                               "at the filesystem root are refused" % dsn)
    return "/" + os.path.normpath(path).lstrip("/")


def redact_dsn(dsn):
    url = urlparse(dsn or "")
    if url.password:
        return dsn.replace(":%s@" % url.password, ":********@", 1)
    return dsn


def _cause(exc):
    """A driver's message on one line: its first line, and PostgreSQL's DETAIL if any (psycopg2's messages
    go on with advice such as "This probably means the server terminated abnormally")."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    details = [line[len("DETAIL:"):].strip().rstrip(".") for line in lines[1:] if line.startswith("DETAIL:")]
    return lines[0] + "".join(" (%s)" % detail for detail in details)


class Database:
    """A connection. Transactions are explicit (BEGIN ... COMMIT) on both engines."""

    def __init__(self, engine, connection, label):
        self.engine = engine
        self.connection = connection
        self.label = label  # how messages name the database (no password)
        self.schema_work = None  # what the schema needed when this transaction began
        self.new_tables = set()  # the tables this transaction created: nobody else sees them before its commit
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
        with bulk_new_tables.built_after(self, sql, len(rows)):
            if self.engine == "postgres":
                self._postgres_many(sql, rows)
            else:
                with change_counter.counted_once(self, sql, len(rows)):
                    self._cursor.executemany(sql, rows)

    def _postgres_many(self, sql, rows):
        copy = pg_copy.copy_form(sql)
        if copy:
            pg_copy.copy_rows(self._cursor, copy, rows)
            return
        from psycopg2.extras import execute_batch
        execute_batch(self._cursor, self._sql(sql), rows, page_size=1000)

    def query(self, sql, params=()):
        self._cursor.execute(self._sql(sql), params)
        return self._cursor.fetchall()

    def query_batched(self, sql, params=()):
        """query() for a bulk read (a whole table, 100k rows and more). PostgreSQL's rows come through a
        server-side cursor, BATCH_ROWS at a time: a plain query holds the whole result in the client library's
        memory beside its Python rows, and the blocks it frees are left as holes among the objects the read
        keeps (~50 MiB at 100k accounts). A cursor lives in a transaction: outside one, and on SQLite (which
        hands over rows one by one anyway), this is query()."""
        if self.engine != "postgres":
            return self.query(sql, params)
        from psycopg2.extensions import TRANSACTION_STATUS_IDLE
        if self.connection.get_transaction_status() == TRANSACTION_STATUS_IDLE:
            return self.query(sql, params)
        self.execute("DECLARE sb_batched NO SCROLL CURSOR FOR " + sql, params)
        rows = []
        while True:
            batch = self.query("FETCH FORWARD %d FROM sb_batched" % BATCH_ROWS)
            rows.extend(batch)
            if len(batch) < BATCH_ROWS:
                break
        self.execute("CLOSE sb_batched")
        return rows

    # -- transactions --------------------------------------------------------
    def begin_read(self):
        """A snapshot that takes no lock: SQLite in WAL mode and PostgreSQL's MVCC let writers go on."""
        self.execute("BEGIN" if self.engine == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def begin_write(self, lock_timeout):
        """The write lock, waited for at most ``lock_timeout`` seconds, then a clear error."""
        if self.engine == "sqlite":
            try:
                self.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                raise SwitchboardError("the PBX database %s stayed locked by another writer (Kamailio or another "
                                       "Switchboard run) for %s s (lock_timeout): nothing was written, run again "
                                       "or raise lock_timeout" % (self.label, lock_timeout))
            return
        import psycopg2.errors
        self.execute("BEGIN")
        self.execute("SET LOCAL lock_timeout = %d" % max(1, int(lock_timeout * 1000)))
        try:
            self.execute("SELECT pg_advisory_xact_lock(%s)" % ADVISORY_KEY)
        except psycopg2.errors.LockNotAvailable:
            self.execute("ROLLBACK")
            raise SwitchboardError("the PBX database %s is being written by another Switchboard run, %s: waited %s s "
                                   "(lock_timeout), nothing was written; run again once it is done, or raise "
                                   "lock_timeout" % (self.label, self._lock_holders(), lock_timeout))
        self.execute("SET LOCAL lock_timeout = DEFAULT")  # the bound is for our lock, not Kamailio's rows

    def _lock_holders(self):
        rows = self.query(
            "SELECT a.pid, a.application_name, host(a.client_addr), "
            "to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.objid = (%s::bigint & 4294967295)::oid" % ADVISORY_KEY)
        if not rows:
            return "whose session could not be seen (it may have just finished)"
        return "; ".join("held by PostgreSQL session pid %s (application %r, client %s, transaction since %s UTC)"
                         % (pid, name or "", address or "local socket", since) for pid, name, address, since in rows)

    def data_version(self):
        """Changes whenever another connection commits: SQLite's data_version; PostgreSQL's snapshot (xmin,
        xmax and the transactions in progress: the same text means nothing committed in between)."""
        if self.engine == "sqlite":
            return self.query("PRAGMA data_version")[0][0]
        return self.query("SELECT pg_current_snapshot()::text")[0][0]

    def commit(self):
        self.execute("COMMIT")
        self.new_tables = set()

    def rollback_quietly(self):
        """Ends whatever is left of a transaction. Its own errors are never the story: a SQLite that rolled
        back by itself (disk full) or a lost PostgreSQL connection must not hide the real cause."""
        self.new_tables = set()
        with contextlib.suppress(Exception):
            if self.engine == "sqlite" and self.connection.in_transaction:
                self.execute("ROLLBACK")
            elif self.engine == "postgres" and not self.connection.closed:
                self.execute("ROLLBACK")

    def close(self):
        self.rollback_quietly()
        with contextlib.suppress(Exception):
            self.connection.close()

    # -- schema --------------------------------------------------------------
    def tables(self):
        if self.engine == "postgres":  # the tables the search path finds
            sql = "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {row[0].lower() for row in self.query(sql)}

    def plan_schema(self):
        """What the schema needs: SQL to create or migrate, or tables that were dropped."""
        tables = self.tables()
        work = migrations.SchemaWork()
        version_rows = {r[0].lower() for r in self.query("SELECT table_name FROM version")} if "version" in tables else set()
        migrations.kamailio_work(work, kamailio_schema(self.engine), tables, version_rows)
        version = self.query("SELECT max(version) FROM sb_schema")[0][0] if "sb_schema" in tables else None
        migrations.project_work(work, tables, version)
        return work

    def ensure_schema(self, recreate_missing=False):
        """Create or migrate the schema inside the current transaction. Returns what it created.
        A table that was dropped is an error naming it, or recreated empty with ``recreate_missing``."""
        work = self.plan_schema()
        if work.dropped and not recreate_missing:
            raise SwitchboardError(migrations.dropped_message(work.dropped))
        executed = [statement for table, _owner in work.dropped for statement in work.missing_sql[table]] + work.sql
        for statement in executed:
            self.execute(migrations.for_engine(statement, self.engine))
        self.new_tables.update(table for statement in executed for table in migrations.tables_in(statement))
        return work.created + ["%s (recreated empty)" % table for table, _owner in work.dropped]

    def check_domain(self, sip_domain, record):
        """The platform's SIP domain is recorded once; a run for another domain is refused (SPEC §2)."""
        rows = self.query("SELECT value FROM sb_meta WHERE name = 'sip_domain'")
        domain = rows[0][0] if rows else self._domain_found(sip_domain)
        if domain != sip_domain:
            raise SwitchboardError(
                "the PBX database belongs to the SIP domain %r, this run is for %r (sip_domain, the inventory's "
                "switchboard_sip_domain): every HA1 is made with the domain, a run for another one would duplicate "
                "the platform with new credentials; check the inventory; nothing was written" % (domain, sip_domain))
        if not rows and record:
            self.execute("INSERT INTO sb_meta (name, value) VALUES ('sip_domain', ?)", (domain,))

    def platform_domain(self):
        """The SIP domain the platform records (or, before it recorded one, the domain of its subscribers)."""
        rows = self.query("SELECT value FROM sb_meta WHERE name = 'sip_domain'")
        return rows[0][0] if rows else self._domain_found(None)

    def _domain_found(self, sip_domain):
        """A database made before the domain was recorded: the domain of its subscriber rows."""
        found = sorted(row[0] for row in self.query("SELECT DISTINCT domain FROM subscriber"))
        if len(found) == 1:
            return found[0]
        if found and sip_domain not in found:
            raise SwitchboardError("the PBX database has subscriber rows in several SIP domains (%s) and records none "
                                   "as its own: run once with switchboard_sip_domain set to the platform's domain; "
                                   "nothing was written" % ", ".join(repr(d) for d in found))
        return sip_domain


def kamailio_schema(engine):
    """[(module, its create SQL)] from the Debian package."""
    directory = KAMAILIO_SCHEMA_DIRS[engine]
    texts = []
    for module in KAMAILIO_MODULES:
        path = os.path.join(directory, "%s-create.sql" % module)
        try:
            with open(path) as handle:
                texts.append((module, handle.read()))
        except OSError:
            raise SwitchboardError("Kamailio's schema file %s is missing: install the Debian package %s"
                                   % (path, KAMAILIO_SCHEMA_PACKAGES[engine]))
    return texts


def database_exists(dsn):
    """Whether connecting can create nothing: a PostgreSQL database, or a SQLite file already there."""
    engine, target = parse_dsn(dsn)
    return engine == "postgres" or os.path.exists(target)


def _sqlite_is_empty(path):
    """A file that does not exist, or exists with nothing in it (no page, no write-ahead log)."""
    return all(not os.path.exists(path + suffix) or os.path.getsize(path + suffix) == 0 for suffix in ("", "-wal"))


def _connect_postgres(dsn):
    try:
        import psycopg2
    except ImportError:
        raise SwitchboardError("a postgresql:// DSN needs the Python package psycopg2 on the managed host")
    try:
        connection = psycopg2.connect(dsn, connect_timeout=10, application_name=APPLICATION_NAME)
    except psycopg2.Error as exc:
        raise SwitchboardError("cannot connect to %s: %s" % (redact_dsn(dsn), _cause(exc)))
    connection.autocommit = True  # BEGIN/COMMIT are explicit, as on SQLite
    return Database("postgres", connection, redact_dsn(dsn))


def _connect_sqlite(path, lock_timeout, label=None):
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=lock_timeout)
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise SwitchboardError("cannot open the PBX database %s: %s" % (label or path, _cause(exc)))
    return Database("sqlite", connection, label or path)


def _database_errors(engine):
    if engine == "postgres":
        import psycopg2
        return (sqlite3.Error, psycopg2.Error)
    return (sqlite3.Error,)


@contextlib.contextmanager
def _reported(db, doing):
    """Database errors become one sentence with the driver's own cause, whatever the cleanup then says."""
    try:
        yield
    except _database_errors(db.engine) as exc:
        db.rollback_quietly()
        if doing == "committing" and db.engine == "postgres":
            raise SwitchboardError("the PBX database %s failed while committing: %s; whether the change was committed "
                                   "is unknown: the next run (or a check run) shows it" % (db.label, _cause(exc)))
        raise SwitchboardError("the PBX database %s failed while %s: %s; nothing was written"
                               % (db.label, doing, _cause(exc)))


class CreatedMeanwhile(SwitchboardError):
    """A new SQLite file was created by another run while this one built its own: plan again on that one."""


class Session:
    """One run's connection: ``reading()`` a snapshot without the write lock, then ``writing()``."""

    def __init__(self, dsn, sip_domain=None, check_mode=False, lock_timeout=LOCK_TIMEOUT):
        self.engine, self.target = parse_dsn(dsn)
        self.dsn, self.sip_domain, self.check_mode, self.lock_timeout = dsn, sip_domain, check_mode, lock_timeout
        self.db = None
        self.created = []  # what the write transaction created in the schema
        self._read_marker = None  # (Database, data_version, change counter or None) of the last snapshot
        self.read_needed_schema_work = False  # the snapshot was read with a migration or creation rolled back

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.db is not None:
            self.db.close()
            self.db = None

    def _connection(self):
        """The connection to the existing database, kept from reading to writing."""
        if self.db is None:
            self.db = (_connect_postgres(self.dsn) if self.engine == "postgres"
                       else _connect_sqlite(self.target, self.lock_timeout))
        return self.db

    def _memory(self):
        return _connect_sqlite(":memory:", self.lock_timeout, label=self.target)

    def _begin_writing(self, db, recreate_missing):
        """The write lock, then the schema made whole and the domain recorded, in this transaction."""
        db.begin_write(self.lock_timeout)
        self.created = db.ensure_schema(recreate_missing)
        if self.sip_domain is not None:
            db.check_domain(self.sip_domain, record=True)

    @contextlib.contextmanager
    def reading(self):
        """A snapshot with the whole schema checked and the domain verified; always rolled back.

        A SQLite file that does not exist or is empty, or a PostgreSQL database without tables, reads as an
        empty platform (an in-memory database: nothing is touched). A database whose schema needs a migration
        is read under the write lock, the migration run and rolled back (only until a run writes it)."""
        db = None
        if not (self.engine == "sqlite" and _sqlite_is_empty(self.target)):
            db = self._connection()
            with _reported(db, "reading"):
                db.begin_read()
                self.read_needed_schema_work = bool(db.plan_schema().sql)
                if self.read_needed_schema_work:
                    db.rollback_quietly()
                    if db.tables():
                        db.begin_write(self.lock_timeout)
                    else:
                        db = None
        if db is None:
            db = self._memory()
            db.begin_read()
        try:
            with _reported(db, "reading"):
                db.ensure_schema()  # an in-memory database, or a migration that is rolled back
                if self.sip_domain is not None:
                    db.check_domain(self.sip_domain, record=False)
                counted = None if self.read_needed_schema_work else change_counter.value(db)
                self._read_marker = (db, db.data_version(), counted)
                yield db
        finally:
            if db is self.db:
                db.rollback_quietly()
            else:
                db.close()

    def unchanged_since_read(self, db):
        """Whether nothing the plan reads changed between the snapshot and this write transaction: nobody
        committed anything at all (on PostgreSQL: in the whole cluster), or the platform's change counter
        (change_counter.py: triggers on every table the read reads) is where the snapshot saw it. Without the
        counter, a commit elsewhere (Kamailio's registrations in its location table, another database of the
        cluster) made the whole platform be read again under the write lock."""
        marker = self._read_marker
        if marker is None or marker[0] is not db:
            return False
        _db, version, counted = marker
        if version is not None and db.data_version() == version:
            return True
        return counted is not None and change_counter.value(db) == counted

    def writing(self, recreate_missing=False):
        """The write transaction with the schema created or migrated in it; committed when the body returns,
        rolled back in check mode. ``self.created`` says what the schema needed."""
        new = self.engine == "sqlite" and not os.path.exists(self.target)
        if new or self.check_mode and self.engine == "sqlite" and _sqlite_is_empty(self.target):
            return self._new_sqlite(recreate_missing)
        return self._existing_writing(recreate_missing)

    @contextlib.contextmanager
    def _existing_writing(self, recreate_missing):
        db = self._connection()
        if self.engine == "sqlite" and _sqlite_is_empty(self.target):
            with _reported(db, "writing"):
                db.query("PRAGMA journal_mode=WAL")  # an empty file, like a new one: Kamailio reads while we write
        with _reported(db, "writing"):
            self._begin_writing(db, recreate_missing)
            yield db
        if self.check_mode:
            db.rollback_quietly()
            return
        with _reported(db, "committing"):
            db.commit()

    @contextlib.contextmanager
    def _new_sqlite(self, recreate_missing):
        """A new SQLite file is built under a name of its own beside its path and linked into place only once
        committed: a failing run leaves nothing, and never removes a database another run made meanwhile.
        In check mode it is an in-memory database and nothing at all is touched on disk."""
        if self.check_mode:
            db = self._memory()
            try:
                with _reported(db, "writing"):
                    self._begin_writing(db, recreate_missing)
                    yield db
            finally:
                db.close()
            return
        made = _make_directories(os.path.dirname(self.target))
        building = None
        try:
            building = _temporary_beside(self.target)
            db = _connect_sqlite(building, self.lock_timeout, label=self.target)
            try:
                with _reported(db, "writing"):
                    self._begin_writing(db, recreate_missing)
                    yield db
                with _reported(db, "committing"):
                    db.commit()
                    db.query("PRAGMA journal_mode=WAL")  # Kamailio reads while we write
            finally:
                db.close()
            _link_into_place(building, self.target)
        except BaseException:
            _remove_quietly(building)
            _remove_directories(made)
            raise
        _remove_quietly(building)


def _temporary_beside(target):
    """.NAME.new-PID-RANDOM: a run killed while building (kill -9) leaves one; the next run removes it."""
    _remove_abandoned(target)
    try:
        handle, path = tempfile.mkstemp(prefix=".%s.new-%d-" % (os.path.basename(target), os.getpid()),
                                        dir=os.path.dirname(target))
    except OSError as exc:
        raise SwitchboardError("cannot create the PBX database %s: %s" % (target, exc.strerror))
    os.close(handle)
    return path


def _remove_abandoned(target):
    directory, prefix = os.path.dirname(target), ".%s.new-" % os.path.basename(target)
    for name in os.listdir(directory):
        pid = name[len(prefix):].split("-")[0]
        if name.startswith(prefix) and pid.isdigit() and not _process_exists(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _link_into_place(building, target):
    for suffix in ("-wal", "-journal"):
        if os.path.exists(building + suffix) and os.path.getsize(building + suffix):
            raise SwitchboardError("the new PBX database %s could not be finished (%s left behind): nothing was "
                                   "written" % (target, os.path.basename(building + suffix)))
    try:
        os.link(building, target)  # never replaces: a file that appeared meanwhile is someone else's
    except FileExistsError:
        raise CreatedMeanwhile("the PBX database %s was created by another run meanwhile" % target)
    except OSError as exc:
        raise SwitchboardError("cannot create the PBX database %s: %s" % (target, exc.strerror))


def _remove_quietly(path):
    if path:
        for suffix in SQLITE_SUFFIXES:
            with contextlib.suppress(OSError):
                os.unlink(path + suffix)


def _make_directories(directory):
    """Creates what is missing of ``directory``; returns the directories made, deepest first."""
    made = []
    while directory and not os.path.isdir(directory):
        made.append(directory)
        directory = os.path.dirname(directory)
    try:
        for path in reversed(made):
            os.mkdir(path, 0o755)
    except OSError as exc:
        _remove_directories(made)
        raise SwitchboardError("cannot create the directory %r for the PBX database: %s" % (made[0], exc.strerror))
    return made


def _remove_directories(made):
    for path in made:
        with contextlib.suppress(OSError):
            os.rmdir(path)


@contextlib.contextmanager
def transaction(dsn, check_mode=False, sip_domain=None, lock_timeout=LOCK_TIMEOUT):
    """One transaction for a door. ``check_mode=True``: a snapshot to read, no lock taken, never written;
    otherwise the write transaction, committed when the body returns. With ``sip_domain`` the database
    must belong to that domain."""
    with Session(dsn, sip_domain, check_mode, lock_timeout) as session:
        with (session.reading() if check_mode else session.writing()) as db:
            yield db


def initialise(dsn, check_mode=False, recreate_missing=False, lock_timeout=LOCK_TIMEOUT):
    """Create or migrate the schema; returns what was created (empty when nothing was)."""
    with Session(dsn, check_mode=check_mode, lock_timeout=lock_timeout) as session:
        with session.writing(recreate_missing) as _db:
            pass
        return session.created
