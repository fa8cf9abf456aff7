"""The apply that creates the schema fills its new tables with their plain indexes built (and PostgreSQL's foreign
keys checked) once, afterwards (pbx/bulk_new_tables.py): the database it leaves has every index and foreign key of
a schema made the usual way, a table that existed before the transaction never loses one, a row that breaks a
foreign key is refused with the same message, and a failing insert puts them back. Real SQLite and PostgreSQL."""

import sqlite3

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database, bulk_new_tables
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise, transaction

STATE = {"groups": [{"name": "office"}], "accounts": [
    {"number": "+3902123456%02d" % i, "group": "office", "type": "snom", "username": "70%02d" % i,
     "password": "Desk-%02d-pw" % i, "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.0.%d.0/24" % i}]} for i in range(5)]}


def indexes(dsn):
    if dsn.startswith("sqlite"):
        return db_rows(dsn, "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
    return db_rows(dsn, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1") + \
        db_rows(dsn, "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                     "WHERE contype = 'f' ORDER BY 1, 2")


@pytest.fixture
def dropped(monkeypatch):
    """Every index and foreign key the run drops, by name (the bulk threshold down to one row: five accounts are a bulk)."""
    monkeypatch.setattr(bulk_new_tables, "BULK_ROWS", 1)
    names = []
    real_execute = database.Database.execute

    def execute(db, sql, params=()):
        if sql.startswith(("DROP INDEX ", "ALTER TABLE ")) and " DROP " in " %s " % sql:
            names.append(sql.split()[-1])
        return real_execute(db, sql, params)
    monkeypatch.setattr(database.Database, "execute", execute)
    return names


def test_the_apply_that_creates_the_schema_leaves_every_index_as_a_schema_made_alone(
        tmp_path, pbx_dsn, dropped, request):
    write_state(tmp_path / "state", {"s.yml": STATE})
    result = engine.run(engine.Options(str(tmp_path / "state"), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "r")))
    assert result["message"] == "created 5 accounts and 1 group"
    assert {"subscriber_username_idx", "usr_preferences_uda_idx", "dbaliases_target_idx"} <= set(dropped)
    if pbx_dsn.startswith("postgresql"):
        assert {"sb_accounts_group_name_fkey", "sb_account_numbers_account_fkey"} <= set(dropped)
    alone = ("sqlite:///%s" % (tmp_path / "alone.sqlite") if pbx_dsn.startswith("sqlite")
             else request.getfixturevalue("pg_cluster").new_database("alone_%s" % pbx_dsn.rsplit("_", 1)[1]))
    initialise(alone)
    assert indexes(pbx_dsn) == indexes(alone)
    assert db_rows(pbx_dsn, "SELECT count(*) FROM usr_preferences") == [(15,)]


def test_a_table_that_existed_before_the_transaction_keeps_its_indexes(tmp_path, pbx_dsn, dropped):
    initialise(pbx_dsn)
    with transaction(pbx_dsn) as db:
        db.executemany("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                       [("+3902123456%02d" % i, SIP_DOMAIN, "70%02d" % i, SIP_DOMAIN) for i in range(5)])
    assert dropped == []
    assert db_rows(pbx_dsn, "SELECT count(*) FROM dbaliases") == [(5,)]


def test_a_failing_insert_into_a_new_table_reports_its_own_error(pbx_dsn, dropped):
    with pytest.raises(SwitchboardError) as failed:
        with transaction(pbx_dsn) as db:  # creates the schema: every table is new
            db.executemany("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                           [("+390212345601", SIP_DOMAIN, "7001", SIP_DOMAIN), (None, SIP_DOMAIN, "7002", SIP_DOMAIN)])
    assert {"dbaliases_alias_user_idx", "dbaliases_alias_idx", "dbaliases_target_idx"} <= set(dropped)
    assert ("NOT NULL constraint failed: dbaliases.alias_username" if pbx_dsn.startswith("sqlite") else
            'null value in column "alias_username" of relation "dbaliases" violates not-null constraint') in str(failed.value)


def test_a_failing_insert_puts_the_indexes_back_in_a_transaction_that_goes_on(tmp_path, dropped):
    """SQLite undoes only the failing statement: the transaction may go on and commit."""
    dsn = "sqlite:///%s" % (tmp_path / "pbx.sqlite")
    with transaction(dsn) as db:
        with pytest.raises(sqlite3.IntegrityError):
            db.executemany("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                           [("+390212345601", SIP_DOMAIN, "7001", SIP_DOMAIN), (None, SIP_DOMAIN, "7002", SIP_DOMAIN)])
    assert {"dbaliases_alias_user_idx", "dbaliases_alias_idx", "dbaliases_target_idx"} <= set(dropped)
    assert indexes(dsn) == indexes(str(initialised(tmp_path / "alone.sqlite")))
    assert db_rows(dsn, "SELECT alias_username FROM dbaliases") == [("+390212345601",)]


def initialised(path):
    dsn = "sqlite:///%s" % path
    initialise(dsn)
    return dsn


def test_a_row_that_breaks_a_foreign_key_is_refused_with_the_usual_message(pbx_dsn, dropped):
    rows = [("+3902123456%02d" % i, "nowhere", "70%02d" % i, "created", "2026-01-01 00:00:00", "{}") for i in range(3)]
    insert = "INSERT INTO sb_accounts (number, group_name, username, last_status, last_status_date, data) VALUES (?, ?, ?, ?, ?, ?)"
    messages = []
    for new in (True, False):  # the table made by this transaction, then one that existed before it
        with pytest.raises(SwitchboardError) as refused:
            with transaction(pbx_dsn) as db:
                db.executemany(insert, rows)
        messages.append(str(refused.value))
        if new:
            initialise(pbx_dsn)
    if pbx_dsn.startswith("postgresql"):
        assert "sb_accounts_group_name_fkey" in dropped
        assert 'violates foreign key constraint "sb_accounts_group_name_fkey" (Key (group_name)=(nowhere) is not ' \
               'present in table "sb_groups")' in messages[0]
    else:
        assert "FOREIGN KEY constraint failed" in messages[0]
    assert messages[0] == messages[1]
