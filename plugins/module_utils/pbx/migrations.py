# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project's schema as numbered migrations, and the check that the whole schema is there.

``sb_schema.version`` says which migrations a database has. A new database runs all of them, one made
by an earlier release runs the ones it lacks, in the run's own transaction (rolled back in check mode).
A migration is never edited once released: a schema change is a new migration at the end of the list.

Kamailio's tables come from the Debian package's schema files, one file per module. Kamailio's
``version`` table has a row per table a file created: a missing table with a row was dropped (an error
naming it), a module with neither tables nor rows was never created (it is created now).
"""

from __future__ import annotations

import re

from ..errors import SwitchboardError

# Version 1: the schema of the first release (git 2ae0d3a), frozen.
V1_PROJECT_TABLES = """
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

# Version 2: facts about the platform itself, first of all the SIP domain it was built for (SPEC §2:
# every HA1 depends on it, so a run for another domain is refused instead of duplicating the platform).
V2_META = """
CREATE TABLE sb_meta (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
"""

# Version 3: trusted peers (carriers, gateways) keep their name and description here; their addresses
# are Kamailio's own `address` rows (permissions module), which have no room for a description.
V3_TRUSTED_PEERS = """
CREATE TABLE sb_trusted_peers (name VARCHAR(64) PRIMARY KEY, data TEXT NOT NULL);
"""

# Version 4: the activation lifecycle (issue 7). Every SMS is an outbox row written in the apply's own
# transaction, unique per (account, stage, generation), so that it is sent at most once; tokens are kept
# as sha256 only; the history is the account's timeline. No foreign keys: history survives a deletion.
# sb_history.id is SQLite's rowid there; on PostgreSQL the id column is made SERIAL (database.ensure_schema).
V4_ACTIVATION = """
CREATE TABLE sb_sms_outbox (id VARCHAR(96) PRIMARY KEY, account VARCHAR(32) NOT NULL, stage VARCHAR(16) NOT NULL,
    generation INTEGER NOT NULL, state VARCHAR(16) NOT NULL, to_number VARCHAR(32) NOT NULL,
    created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL, detail TEXT,
    UNIQUE (account, stage, generation));
CREATE TABLE sb_tokens (token_hash VARCHAR(64) PRIMARY KEY, account VARCHAR(32) NOT NULL, purpose VARCHAR(16) NOT NULL,
    message_id VARCHAR(96), expires_at VARCHAR(32) NOT NULL, used_at VARCHAR(32));
CREATE INDEX sb_tokens_account_idx ON sb_tokens (account);
CREATE TABLE sb_history (id INTEGER PRIMARY KEY, at VARCHAR(32) NOT NULL, account VARCHAR(32) NOT NULL,
    event VARCHAR(32) NOT NULL, detail TEXT);
CREATE INDEX sb_history_account_idx ON sb_history (account);
CREATE TABLE sb_client_keys (account VARCHAR(32) PRIMARY KEY, public_key TEXT NOT NULL, uploaded_at VARCHAR(32) NOT NULL);
"""

# Version 5: the audit trail (issue 9). One row per apply that took the write lock (no-op applies too: an auditor
# wants every run that could have written), written in the apply's own transaction: a rolled-back apply leaves none.
# Who ran it, through which door, from which git commit of the state, the plan file's sha256 and the counts;
# never a secret (no DSN, no password). sb_applies.id is made SERIAL on PostgreSQL (for_engine), as sb_history.id.
V5_AUDIT = """
CREATE TABLE sb_applies (id INTEGER PRIMARY KEY, at VARCHAR(32) NOT NULL, operator VARCHAR(255) NOT NULL,
    controller_user VARCHAR(255), door VARCHAR(64) NOT NULL, mode VARCHAR(16) NOT NULL, state_dir TEXT,
    state_commit VARCHAR(64), state_dirty INTEGER, plan_sha256 VARCHAR(64) NOT NULL, plan_file TEXT,
    change_count INTEGER NOT NULL, summary TEXT NOT NULL);
"""

# Version 6: every run asks which accounts were installed and wait for their activation SMS (dispatch):
# without an index that is a scan of every account, the largest cost of an unchanged run at 100k.
V6_STATUS_INDEX = """
CREATE INDEX sb_accounts_last_status_idx ON sb_accounts (last_status);
"""

# (version, what it does, DDL)
MIGRATIONS = (
    (1, "the project's tables", V1_PROJECT_TABLES),
    (2, "sb_meta: the platform's SIP domain", V2_META),
    (3, "sb_trusted_peers: names and descriptions of trusted peers", V3_TRUSTED_PEERS),
    (4, "sb_sms_outbox, sb_tokens, sb_history, sb_client_keys: the activation lifecycle", V4_ACTIVATION),
    (5, "sb_applies: the audit trail of applies", V5_AUDIT),
    (6, "an index of accounts by lifecycle status", V6_STATUS_INDEX),
)
LATEST = MIGRATIONS[-1][0]

_CREATE_TABLE = re.compile(r"CREATE TABLE\s+(\w+)", re.IGNORECASE)
_CREATE_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+\w+\s+ON\s+(\w+)", re.IGNORECASE)
_VERSION_ROW = re.compile(r"INSERT INTO version\s*\(table_name, table_version\)\s*values\s*\('(\w+)'", re.IGNORECASE)


def statements(sql):
    return [s.strip() for s in sql.split(";\n") if s.strip() and not s.strip().startswith("--")]


def for_engine(statement, engine):
    """SQLite numbers an INTEGER PRIMARY KEY by itself (its rowid); PostgreSQL needs SERIAL for that."""
    return statement.replace("id INTEGER PRIMARY KEY", "id SERIAL PRIMARY KEY") if engine == "postgres" else statement


def table_of(statement):
    """The table a CREATE TABLE / CREATE INDEX / Kamailio version row statement is about, else None."""
    match = _CREATE_TABLE.match(statement) or _CREATE_INDEX.match(statement) or _VERSION_ROW.match(statement)
    return match.group(1).lower() if match else None


def tables_in(sql):
    return [table_of(s) for s in statements(sql) if _CREATE_TABLE.match(s)]


def project_tables(version):
    """The project's tables a database at ``version`` has."""
    return [t for v, _what, sql in MIGRATIONS if v <= version for t in tables_in(sql)]


def statements_for(sql, tables):
    """The statements of ``sql`` that (re)create ``tables`` and their indexes."""
    return [s for s in statements(sql) if table_of(s) in tables]


class SchemaWork:
    """What a database needs: SQL to run (creations, migrations) or tables that were dropped."""

    def __init__(self):
        self.sql = []  # statements, in order
        self.created = []  # human-readable: what the statements create
        self.dropped = []  # (table, owner) that should exist and do not
        self.missing_sql = {}  # table -> statements recreating it empty (for the database door's repair)


def kamailio_work(work, modules, tables, version_rows):
    """modules: [(module, its create SQL)] from the Debian package; tables: the tables present;
    version_rows: the table names in Kamailio's version table (empty when that table is missing)."""
    every = [(module, s) for module, sql in modules for s in statements(sql)]
    expected = [(module, table_of(s)) for module, s in every if _CREATE_TABLE.match(s)]
    others_present = any(t in tables for _m, t in expected if t != "version")
    for module, table in expected:
        if table in tables:
            continue
        recreate = [s for _m, s in every if table_of(s) == table]
        if not others_present or (table != "version" and "version" in tables and table not in version_rows):
            work.sql.extend(recreate)  # never created (a new database, or a module added since)
            work.created.append("Kamailio's %s table %s" % (module, table))
            continue
        work.dropped.append((table, "Kamailio's %s module" % module))
        if table == "version":  # its rows say which tables exist: Kamailio checks them at start
            recreate += [s for _m, s in every if _VERSION_ROW.match(s) and table_of(s) in tables]
        else:  # its version row is still there
            recreate = [s for s in recreate if not _VERSION_ROW.match(s)]
        work.missing_sql[table] = recreate


def project_work(work, tables, version):
    """version: sb_schema's, or None when sb_schema is missing."""
    if version is None:
        leftovers = [t for t in project_tables(LATEST) if t in tables]
        if leftovers:
            work.dropped.append(("sb_schema", "Switchboard"))
            return
        version = 0
    if version > LATEST:
        raise SwitchboardError("the PBX database has Switchboard schema version %d, newer than this collection knows "
                               "(%d): upgrade the switchboard.pbx collection; nothing was written" % (version, LATEST))
    for table in project_tables(version):
        if table not in tables:
            work.dropped.append((table, "Switchboard"))
            work.missing_sql[table] = [s for _v, _w, sql in MIGRATIONS for s in statements_for(sql, [table])]
    for number, what, sql in MIGRATIONS:
        if number > version:
            work.sql.extend(statements(sql))
            work.created.append("migration %d (%s)" % (number, what))
    if version < LATEST:
        work.sql.append("DELETE FROM sb_schema")
        work.sql.append("INSERT INTO sb_schema (version) VALUES (%d)" % LATEST)


def dropped_message(dropped):
    names = ", ".join("%s (%s)" % (table, owner) for table, owner in dropped)
    return ("the PBX database is damaged: table%s %s %s missing although the schema was created: restore %s from a "
            "backup, or run switchboard.pbx.database with recreate_missing_tables: true to create %s empty (the next "
            "switchboard.pbx.platform run then repairs their rows from the declared state); nothing was written"
            % ("s" if len(dropped) > 1 else "", names, "are" if len(dropped) > 1 else "is",
               "them" if len(dropped) > 1 else "it", "them" if len(dropped) > 1 else "it"))
