"""Schema migrations and the whole-schema check, on SQLite and PostgreSQL.

A database made by the first release (schema version 1, git 2ae0d3a) is upgraded in place by the next run,
its data kept; a table that was dropped is named, never met with a bare ``no such table``."""

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared, engine, gather
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.store import OBJECT_TABLES, Actual, Writer
from ansible_collections.switchboard.pbx.plugins.module_utils.plan import make_plan

# The project's tables exactly as release 1 (git 2ae0d3a, database.PROJECT_TABLES) created them. Frozen:
# this copy must never follow later changes, it is what databases in the field have.
V1_DDL = """
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

STATE = {"provisioning_profiles": [{"name": "mobile", "base_url": "http://127.0.0.1:5080"}],
         "groups": [{"name": "office", "provisioning_profile": "mobile"}],
         "numbers": [{"number": "+390212345699", "group": "office"}],
         "accounts": [{"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
                       "password": "Desk-7001-pw", "additional_numbers": ["101"]},
                      {"number": "+393471234567", "group": "office", "type": "pgsm", "activation": "wizard"}]}


RELEASE_1_PREFERENCES = ("sb_acl", "sb_net")  # later releases add the caller ID and voice channel rows
# Release 1 wrote no caller ID rows: the first run on its database adds them (the main number, SPEC §2).
RELEASE_1_UPGRADE_CHANGES = ["update accounts/+390212345601 (caller ID number)",
                             "update accounts/+393471234567 (caller ID number)"]


def release_1_database(dsn, state_dir, domain=SIP_DOMAIN):
    """What release 1 left behind: Kamailio's tables, the version-1 project tables and the rows the engine
    writes (the row format of those tables has not changed since, but release 1 wrote no usr_preferences rows
    other than the ACL's), and no record of the SIP domain. Planned against an empty database: today's
    read_actual reads tables release 1 did not have."""
    engine_name, target = database.parse_dsn(dsn)
    if engine_name == "sqlite":
        import os
        os.makedirs(os.path.dirname(target), exist_ok=True)
        db = database._connect_sqlite(target, 30)
        db.query("PRAGMA journal_mode=WAL")
    else:
        db = database._connect_postgres(dsn)
    db.begin_write(30)
    for _module, sql in database.kamailio_schema(engine_name):
        for statement in database.migrations.statements(sql):
            db.execute(statement)
    for statement in database.migrations.statements(V1_DDL):
        db.execute(statement)
    db.execute("INSERT INTO sb_schema (version) VALUES (1)")
    loaded, _warnings = declared.load(str(state_dir))
    empty = Actual({kind: {} for kind in list(OBJECT_TABLES) + ["accounts"]}, {}, {})
    changes, problems, _warnings = make_plan(loaded, empty, domain, "merged", {})
    assert not problems
    engine.apply_changes(Writer(db, domain, engine.now()), changes)
    db.execute("DELETE FROM usr_preferences WHERE attribute NOT IN (%s)"
               % ", ".join("'%s'" % a for a in RELEASE_1_PREFERENCES))
    db.commit()
    db.close()


def run(tmp_path, dsn, check=False, domain=SIP_DOMAIN):
    return engine.run(engine.Options(str(tmp_path / "state"), dsn, domain, check_mode=check,
                                     report_dir=str(tmp_path / "reports")))


def test_a_release_1_database_is_upgraded_in_place_and_keeps_its_data(tmp_path, pbx_dsn):
    state_dir = write_state(tmp_path / "state", {"s.yml": STATE})
    release_1_database(pbx_dsn, state_dir)
    before = db_rows(pbx_dsn, "SELECT number, username, data FROM sb_accounts ORDER BY number")
    subscribers = db_rows(pbx_dsn, "SELECT username, ha1 FROM subscriber ORDER BY username")

    # Readers and check runs see the upgraded schema but leave the database as it is.
    assert sorted(gather.read(pbx_dsn, SIP_DOMAIN)[0].objects["accounts"]) == ["+390212345601", "+393471234567"]
    assert run(tmp_path, pbx_dsn, check=True)["changes"] == RELEASE_1_UPGRADE_CHANGES
    assert db_rows(pbx_dsn, "SELECT version FROM sb_schema") == [(1,)]

    assert run(tmp_path, pbx_dsn)["changes"] == RELEASE_1_UPGRADE_CHANGES
    assert db_rows(pbx_dsn, "SELECT version FROM sb_schema") == [(6,)]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_trusted_peers") == [(0,)]
    assert db_rows(pbx_dsn, "SELECT value FROM usr_preferences WHERE attribute = 'sb_main' ORDER BY 1") == [
        ("+390212345601",), ("+393471234567",)]
    assert db_rows(pbx_dsn, "SELECT name, value FROM sb_meta WHERE name = 'sip_domain'") == [("sip_domain", SIP_DOMAIN)]
    assert db_rows(pbx_dsn, "SELECT number, username, data FROM sb_accounts ORDER BY number") == before
    assert db_rows(pbx_dsn, "SELECT username, ha1 FROM subscriber ORDER BY username") == subscribers
    assert db_rows(pbx_dsn, "SELECT alias_username FROM dbaliases ORDER BY 1") == [("+390212345601",), ("+393471234567",), ("101",)]
    assert run(tmp_path, pbx_dsn)["changes"] == []


def test_a_new_database_is_made_by_the_same_migrations(tmp_path, pbx_dsn):
    assert database.initialise(pbx_dsn)[-6:] == ["migration 1 (the project's tables)",
                                                 "migration 2 (sb_meta: the platform's SIP domain)",
                                                 "migration 3 (sb_trusted_peers: names and descriptions of trusted peers)",
                                                 "migration 4 (sb_sms_outbox, sb_tokens, sb_history, sb_client_keys: "
                                                 "the activation lifecycle)",
                                                 "migration 5 (sb_applies: the audit trail of applies)",
                                                 "migration 6 (an index of accounts by lifecycle status)"]
    assert database.initialise(pbx_dsn) == []
    assert db_rows(pbx_dsn, "SELECT version FROM sb_schema") == [(6,)]


def test_a_dropped_table_is_named_and_nothing_is_written(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn)
    db_rows(pbx_dsn, "DROP TABLE dbaliases")
    db_rows(pbx_dsn, "DROP TABLE sb_numbers")
    journal = db_rows(pbx_dsn, "SELECT count(*) FROM sb_journal")
    message = ("the PBX database is damaged: tables dbaliases (Kamailio's alias_db module), sb_numbers (Switchboard) "
               "are missing although the schema was created: restore them from a backup, or run "
               "switchboard.pbx.database with recreate_missing_tables: true to create them empty (the next "
               "switchboard.pbx.platform run then repairs their rows from the declared state); nothing was written")
    for attempt in (lambda: run(tmp_path, pbx_dsn), lambda: run(tmp_path, pbx_dsn, check=True),
                    lambda: gather.read(pbx_dsn, SIP_DOMAIN), lambda: database.initialise(pbx_dsn)):
        with pytest.raises(SwitchboardError) as failure:
            attempt()
        assert str(failure.value) == message
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_journal") == journal

    assert database.initialise(pbx_dsn, recreate_missing=True) == [
        "dbaliases (recreated empty)", "sb_numbers (recreated empty)"]
    assert db_rows(pbx_dsn, "SELECT table_version FROM version WHERE table_name = 'dbaliases'") == [(1,)]
    result = run(tmp_path, pbx_dsn)
    assert result["changes"] == ["create numbers/+390212345699", "update accounts/+390212345601 (number aliases)",
                                 "update accounts/+393471234567 (number aliases)"]
    assert db_rows(pbx_dsn, "SELECT alias_username FROM dbaliases ORDER BY 1") == [("+390212345601",), ("+393471234567",), ("101",)]


def test_a_kamailio_table_never_created_is_created(tmp_path, pbx_dsn):
    """A database made before a module's tables were needed (no row in Kamailio's version table)."""
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn)
    db_rows(pbx_dsn, "DROP TABLE trusted")
    db_rows(pbx_dsn, "DELETE FROM version WHERE table_name = 'trusted'")
    assert database.initialise(pbx_dsn) == ["Kamailio's permissions table trusted"]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM trusted") == [(0,)]


def test_a_database_from_a_newer_release_is_refused(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn)
    db_rows(pbx_dsn, "UPDATE sb_schema SET version = 99")
    with pytest.raises(SwitchboardError) as failure:
        run(tmp_path, pbx_dsn)
    assert str(failure.value) == ("the PBX database has Switchboard schema version 99, newer than this collection "
                                  "knows (6): upgrade the switchboard.pbx collection; nothing was written")
