"""On SQLite a bulk statement of a write transaction moves the change counter once, not once per row
(change_counter.counted_once: its row trigger set aside while it runs), and no write is ever left uncounted:
the trigger is back after it, after a failing one, after a rollback; writes outside a transaction and small ones
keep their row triggers; an apply's own bulk writes still leave an unchanged run that sees every write by hand.
Real SQLite files, writes by hand with SQL."""

import dataclasses
import sqlite3

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import change_counter
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import (
    _connect_sqlite, initialise, transaction)

BULK = change_counter.SQLITE_BULK_ROWS
INSERT_GRP = "INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')"


@pytest.fixture
def counted(tmp_path):
    """A SQLite platform whose counter and triggers are in place."""
    dsn = "sqlite:///%s" % (tmp_path / "pbx.sqlite")
    initialise(dsn)
    with transaction(dsn) as db:
        change_counter.ensure(db)
    return dsn


def counter(dsn):
    return int(db_rows(dsn, "SELECT value FROM sb_meta WHERE name = 'changes'")[0][0])


def complete(dsn):
    with transaction(dsn, check_mode=True) as db:
        return change_counter.complete(db)


def grp_rows(count, first=0):
    return [("u%d" % i, SIP_DOMAIN) for i in range(first, first + count)]


def test_a_bulk_statement_moves_the_counter_once_and_its_trigger_stays(counted):
    with transaction(counted) as db:
        db.executemany(INSERT_GRP, grp_rows(BULK))
        db.executemany("DELETE FROM grp WHERE username = ?", [("u%d" % i,) for i in range(BULK)])
        db.executemany(INSERT_GRP, grp_rows(3))  # small: counted by its row trigger
    assert counter(counted) == 1 + 1 + 3 and complete(counted)
    db_rows(counted, "UPDATE grp SET grp = 'other' WHERE username = 'u0'")  # by hand, afterwards
    assert counter(counted) == 6


def test_a_bulk_statement_outside_a_transaction_keeps_its_row_trigger(counted, tmp_path):
    db = _connect_sqlite(str(tmp_path / "pbx.sqlite"), 5)
    try:
        db.executemany(INSERT_GRP, grp_rows(BULK))  # autocommit: each row its own transaction
    finally:
        db.close()
    assert counter(counted) == BULK and complete(counted)


def test_a_failing_bulk_statement_leaves_the_trigger_in_place(counted):
    with transaction(counted) as db:
        with pytest.raises(sqlite3.IntegrityError):
            db.executemany(INSERT_GRP, grp_rows(BULK) + grp_rows(1))  # the last row repeats the first
        db.executemany(INSERT_GRP, grp_rows(2, first=BULK))  # the transaction goes on and commits
    assert counter(counted) == 1 + 2 and complete(counted)  # its rows before the failing one count too
    assert db_rows(counted, "SELECT count(*) FROM grp") == [(BULK + 2,)]


def test_a_rolled_back_bulk_statement_leaves_counter_and_trigger_as_they_were(counted):
    with pytest.raises(RuntimeError):
        with transaction(counted) as db:
            db.executemany(INSERT_GRP, grp_rows(BULK))
            raise RuntimeError("a failure after the bulk write")
    assert counter(counted) == 0 and complete(counted)
    assert db_rows(counted, "SELECT count(*) FROM grp") == [(0,)]


def test_without_its_trigger_a_bulk_statement_counts_nothing_and_makes_none(counted):
    db_rows(counted, "DROP TRIGGER sb_changes_grp_insert")
    with transaction(counted) as db:
        db.executemany(INSERT_GRP, grp_rows(BULK))
        assert change_counter.value(db) is None  # unknown, never unchanged
    assert counter(counted) == 0 and not complete(counted)


@pytest.fixture
def bulk_applied(tmp_path, monkeypatch):
    """An apply whose every bulk statement is counted once (a one-row threshold), as at 100k accounts."""
    monkeypatch.setattr(change_counter, "SQLITE_BULK_ROWS", 1)
    dsn = "sqlite:///%s" % (tmp_path / "db" / "pbx.sqlite")
    write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [
        {"number": "+3902123456%02d" % i, "group": "office", "type": "snom", "username": "70%02d" % i,
         "password": "Desk-%02d-pw" % i, "enabled": bool(i % 2)} for i in range(10)]}})
    options = engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    assert engine.run(options)["change_count"] == 11
    assert complete(dsn)
    return options


@pytest.mark.parametrize("statement, change", [
    ("UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = '7001'",
     "update accounts/+390212345601 (password)"),
    ("DELETE FROM grp WHERE username = '7002'", "update accounts/+390212345602 (disabled flag)"),
    ("DELETE FROM dbaliases WHERE alias_username = '+390212345603'", "update accounts/+390212345603 (number aliases)"),
])
def test_after_a_bulk_apply_an_unchanged_run_still_sees_a_write_by_hand(bulk_applied, statement, change):
    assert "unchanged_since" in engine.run(bulk_applied)
    db_rows(bulk_applied.dsn, statement)
    repaired = engine.run(bulk_applied)
    assert "unchanged_since" not in repaired and repaired["changes"] == [change]
    assert "unchanged_since" in engine.run(dataclasses.replace(bulk_applied, check_mode=True))
