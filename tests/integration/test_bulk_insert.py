"""Bulk INSERTs (Database.executemany) write exactly the rows given on both engines: on PostgreSQL a plain
INSERT becomes COPY FROM STDIN (pbx/pg_copy.py), whose text format must carry every character, NULL and
constant as an INSERT would, move the change counter, and fail inside the run's transaction. Real databases."""

import pytest

from conftest import SIP_DOMAIN, db_rows
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import change_counter, pg_copy
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import parse_dsn, redact_dsn, transaction

HOSTILE = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "%s and %%", "", "«Zürich» ☎",
           'quote \' and "double"', "end\\"]


def history(dsn):
    return db_rows(dsn, "SELECT at, account, event, detail FROM sb_history ORDER BY id")


def test_every_character_null_and_constant_arrives_as_given(pbx_dsn):
    rows = [("2026-01-01 00:00:0%d" % (i % 10), text, None if i % 3 else text) for i, text in enumerate(HOSTILE)]
    with transaction(pbx_dsn) as db:
        db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, 'created', ?)", rows)
        db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, ?, NULL)",
                       [("2026-01-02 00:00:00", "+390212345601", 7)])
    assert history(pbx_dsn) == [(at, account, "created", detail) for at, account, detail in rows] + [
        ("2026-01-02 00:00:00", "+390212345601", "7", None)]


def test_a_statement_that_is_not_a_plain_insert_runs_as_written(pbx_dsn):
    sql = "INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, 'a, b', ?)"
    assert pg_copy.copy_form(sql) is None  # the comma inside the constant: not translated
    with transaction(pbx_dsn) as db:
        db.executemany(sql, [("2026-01-01 00:00:00", "tab\there", None)])
    assert history(pbx_dsn) == [("2026-01-01 00:00:00", "tab\there", "a, b", None)]


def test_more_rows_than_one_copy_holds_all_arrive(pbx_dsn):
    count = pg_copy.ROWS_PER_COPY + 3
    with transaction(pbx_dsn) as db:
        db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, 'created', NULL)",
                       [("2026-01-01 00:00:00", "+39%010d" % i) for i in range(count)])
    assert db_rows(pbx_dsn, "SELECT count(*), count(DISTINCT account), min(account), max(account) FROM sb_history") == [
        (count, count, "+390000000000", "+39%010d" % (count - 1))]


def test_a_bulk_insert_moves_the_change_counter(pbx_dsn):
    with transaction(pbx_dsn) as db:
        change_counter.ensure(db)
    with transaction(pbx_dsn) as db:
        db.executemany("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')",
                       [("70%02d" % i, SIP_DOMAIN) for i in range(5)])
    moved = int(db_rows(pbx_dsn, "SELECT value FROM sb_meta WHERE name = 'changes'")[0][0])
    assert moved == (1 if pbx_dsn.startswith("postgresql") else 5)  # PostgreSQL counts once per transaction


def test_a_failing_bulk_insert_names_the_cause_and_writes_nothing(pbx_dsn):
    with transaction(pbx_dsn) as db:
        db.execute("INSERT INTO sb_meta (name, value) VALUES ('kept', 'yes')")
    with pytest.raises(SwitchboardError) as failed:
        with transaction(pbx_dsn) as db:
            db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, 'created', NULL)",
                           [("2026-01-01 00:00:00", "+390212345601")])
            db.executemany("INSERT INTO sb_meta (name, value) VALUES (?, ?)", [("first", "1"), ("kept", "again")])
    if pbx_dsn.startswith("postgresql"):
        cause = 'duplicate key value violates unique constraint "sb_meta_pkey" (Key (name)=(kept) already exists)'
    else:
        cause = "UNIQUE constraint failed: sb_meta.name"
    label = redact_dsn(pbx_dsn) if pbx_dsn.startswith("postgresql") else parse_dsn(pbx_dsn)[1]
    assert str(failed.value) == "the PBX database %s failed while writing: %s; nothing was written" % (label, cause)
    assert history(pbx_dsn) == []
    assert db_rows(pbx_dsn, "SELECT name FROM sb_meta WHERE name IN ('kept', 'first')") == [("kept",)]


@pytest.mark.parametrize("sql", [
    "INSERT INTO sb_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
    "INSERT INTO sb_meta (name, value) SELECT ?, ?",
    "UPDATE sb_meta SET value = ? WHERE name = ?",
    "INSERT INTO sb_meta (name, value) VALUES (?, lower(?))",
    "INSERT INTO sb_meta (name) VALUES (?, ?)",
])
def test_only_the_plain_insert_form_is_copied(sql):
    assert pg_copy.copy_form(sql) is None


def test_the_copy_form_of_a_plain_insert():
    assert pg_copy.copy_form("INSERT INTO grp (username, domain, grp, n, x) VALUES (?, ?, 'dis%abled', -1, NULL)") == (
        "COPY grp (username, domain, grp, n, x) FROM STDIN", "%s\t%s\tdis%%abled\t-1\t\\N\n")
